#include "sim/events.h"

#include "core/text/text.h"

#include <spdlog/spdlog.h>
#include <boost/asio/steady_timer.hpp>

#include <cmath>
#include <fstream>
#include <random>
#include <sstream>

namespace zaulek::sim {

namespace asio = boost::asio;

namespace {
constexpr std::size_t kMaxScriptBytes = 1 << 20;
constexpr double kMaxScriptSeconds = 7 * 24 * 3600.0;
}  // namespace

Result<std::vector<ScriptEvent>> parse_script(std::string_view text, const std::string& file_name,
                                              int cameras) {
  std::vector<ScriptEvent> out;
  int line_no = 0;
  std::size_t pos = 0;
  while (pos < text.size()) {
    auto nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    const std::string line(text.substr(pos, nl - pos));
    pos = nl + 1;
    ++line_no;
    auto fail = [&](const std::string& msg) {
      return make_error(ErrorKind::invalid_argument,
                        file_name + ":" + std::to_string(line_no) + ": " + msg);
    };
    std::istringstream in(line);
    std::string secs, cam, kind, state, extra;
    if (!(in >> secs) || secs[0] == '#') continue;  // blank or comment
    if (!(in >> cam >> kind >> state)) {
      return fail("expected '<seconds> <camera|*> <kind> <start|stop>'");
    }
    if (in >> extra) return fail("unexpected '" + extra + "' after the state");
    ScriptEvent ev;
    double s = 0;
    if (!parse_number(secs, s) || !std::isfinite(s) || s < 0 || s > kMaxScriptSeconds) {
      return fail("bad time '" + secs + "' (seconds since start, 0 to 604800)");
    }
    ev.at = std::chrono::milliseconds(static_cast<std::int64_t>(std::llround(s * 1000)));
    if (cam == "*") {
      ev.camera = -1;
    } else {
      int idx = -1;
      if (!parse_number(cam, idx) || idx < 0 || idx >= cameras) {
        return fail("bad camera '" + cam + "' (0 to " + std::to_string(cameras - 1) + " or *)");
      }
      ev.camera = idx;
    }
    if (!known_event_kind(kind)) {
      return fail("unknown kind '" + kind + "' (motion, line_crossing, field_detection, tamper)");
    }
    ev.event.kind = kind;
    if (state == "start") {
      ev.event.state = true;
    } else if (state == "stop") {
      ev.event.state = false;
    } else {
      return fail("bad state '" + state + "' (start or stop)");
    }
    out.push_back(ev);
  }
  return out;
}

Result<std::vector<ScriptEvent>> load_script(const std::string& file_name, int cameras) {
  std::ifstream f(file_name, std::ios::binary);
  if (!f) return make_error(ErrorKind::invalid_argument, file_name + ": cannot open");
  std::string text(kMaxScriptBytes + 1, '\0');
  f.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(f.gcount()));
  if (text.size() > kMaxScriptBytes) {
    return make_error(ErrorKind::invalid_argument, file_name + ": larger than 1 MiB");
  }
  return parse_script(text, file_name, cameras);
}

struct EventScheduler::Impl : std::enable_shared_from_this<Impl> {
  asio::io_context& io;
  Fleet& fleet;
  std::vector<std::unique_ptr<asio::steady_timer>> timers;         // script, in order
  std::vector<std::unique_ptr<asio::steady_timer>> random_timers;  // one per camera
  std::mt19937_64 rng;
  double per_minute = 0;
  bool stopped = false;

  Impl(asio::io_context& i, Fleet& f) : io(i), fleet(f) {}

  void fire(int camera, const EventSpec& ev) {
    auto& c = *fleet.cameras[static_cast<std::size_t>(camera)];
    auto t = fire_event(c, ev);
    if (t) {
      spdlog::info("camera {}: event {} {} at {}", camera, ev.kind, ev.state ? "start" : "stop",
                   format_rfc3339(*t, 6));
    } else {
      spdlog::warn("camera {}: event {} {} not fired: {}", camera, ev.kind,
                   ev.state ? "start" : "stop", t.error().message);
    }
  }

  void schedule_random(int camera) {
    std::exponential_distribution<double> gap(per_minute / 60.0);
    const auto wait = std::chrono::milliseconds(static_cast<std::int64_t>(gap(rng) * 1000));
    const auto length =
        std::chrono::milliseconds(std::uniform_int_distribution<std::int64_t>(1000, 5000)(rng));
    auto& timer = *random_timers[static_cast<std::size_t>(camera)];
    timer.expires_after(wait);
    timer.async_wait([self = shared_from_this(), camera, length, &timer](auto ec) {
      if (ec || self->stopped) return;
      self->fire(camera, EventSpec{"motion", true});
      timer.expires_after(length);
      timer.async_wait([self, camera](auto ec2) {
        if (ec2 || self->stopped) return;
        self->fire(camera, EventSpec{"motion", false});
        self->schedule_random(camera);
      });
    });
  }
};

EventScheduler::EventScheduler(asio::io_context& io, Fleet& fleet)
    : impl_(std::make_shared<Impl>(io, fleet)) {}

EventScheduler::~EventScheduler() {
  stop();
}

void EventScheduler::start(std::vector<ScriptEvent> script, std::optional<RandomEvents> random) {
  const auto t0 = std::chrono::steady_clock::now();
  for (const auto& ev : script) {
    auto timer = std::make_unique<asio::steady_timer>(impl_->io, t0 + ev.at);
    timer->async_wait([self = impl_, ev](auto ec) {
      if (ec || self->stopped) return;
      if (ev.camera >= 0) {
        self->fire(ev.camera, ev.event);
      } else {
        for (std::size_t i = 0; i < self->fleet.cameras.size(); ++i) {
          self->fire(static_cast<int>(i), ev.event);
        }
      }
    });
    impl_->timers.push_back(std::move(timer));
  }
  if (random && random->per_minute > 0) {
    impl_->rng.seed(random->seed);
    impl_->per_minute = random->per_minute;
    for (std::size_t i = 0; i < impl_->fleet.cameras.size(); ++i) {
      impl_->random_timers.push_back(std::make_unique<asio::steady_timer>(impl_->io));
    }
    for (std::size_t i = 0; i < impl_->fleet.cameras.size(); ++i) {
      impl_->schedule_random(static_cast<int>(i));
    }
  }
}

void EventScheduler::stop() {
  impl_->stopped = true;
  for (auto& t : impl_->timers) t->cancel();
  for (auto& t : impl_->random_timers) t->cancel();
}

}  // namespace zaulek::sim
