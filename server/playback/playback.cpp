#include "server/playback/playback.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <deque>
#include <nlohmann/json.hpp>

#include "media/live/codec_string.h"
#include "media/live/fmp4.h"

namespace zaulek::server {

namespace asio = boost::asio;
using nlohmann::json;
using playback::Output;

namespace {

using Bytes = std::shared_ptr<const std::string>;

// While the reader waits at the live edge it looks again this often (the
// recorder writes at least every 200 ms).
constexpr std::chrono::milliseconds kEdgePoll{100};
// At the edge this long with nothing new: the frame held for its duration
// goes out (the camera stopped, or a gap begins).
constexpr std::chrono::milliseconds kEdgeFlush{1'000};
// Frames read per turn on the strand before other viewers get theirs.
constexpr int kReadsPerTurn = 32;
// Messages waiting for the init segment, or errors for a client that does
// not read: beyond this they are dropped.
constexpr std::size_t kMaxPendingText = 16;

Bytes text(const json& j) {
  return std::make_shared<const std::string>(j.dump());
}

std::string when(std::int64_t ns) {
  return format_rfc3339(
      WallTime{std::chrono::duration_cast<WallTime::duration>(std::chrono::nanoseconds(ns))});
}

std::int64_t to_90k(std::int64_t ns) {
  return ns / 100'000 * 9 + (ns % 100'000) * 9 / 100'000;
}

}  // namespace

class PlaybackViewer final : public WsSource, public std::enable_shared_from_this<PlaybackViewer> {
 public:
  PlaybackViewer(asio::io_context& io, const Clock& clock,
                 std::shared_ptr<PlaybackService::Counters> c, playback::Archive archive,
                 std::string camera, std::string user, std::int64_t from_ns, int speed)
      : strand_(asio::make_strand(io)),
        timer_(strand_),
        clock_(clock),
        c_(std::move(c)),
        archive_(std::move(archive)),
        player_(from_ns, speed),
        camera_(std::move(camera)),
        user_(std::move(user)) {}

  // --- WsSource: from the transport; each only posts to the strand ---

  void open(std::shared_ptr<WsPeer> peer) override {
    ++c_->viewers;
    ++c_->opened;
    asio::post(strand_, [self = shared_from_this(), peer = std::move(peer)]() mutable {
      self->peer_ = std::move(peer);
      self->begin();
    });
  }

  void written() override {
    asio::post(strand_, [self = shared_from_this()] {
      self->in_flight_ = false;
      self->pump();
    });
  }

  void closed() override {
    --c_->viewers;
    asio::post(strand_, [self = shared_from_this()] {
      self->gone_ = true;
      self->peer_.reset();
      self->timer_.cancel();
      self->outq_.clear();
    });
  }

  std::optional<std::string> message(const json& j) override {
    const std::string type = j.at("type").get<std::string>();
    if (type == "seek") {
      auto t = j.find("time");
      WallTime w;
      if (t == j.end() || !t->is_string() || t->get_ref<const std::string&>().size() > 64 ||
          !parse_rfc3339(t->get_ref<const std::string&>(), w))
        return "'time' must be an RFC 3339 time";
      // Only the latest seek matters: a burst of them costs one.
      seek_to_ = std::chrono::duration_cast<std::chrono::nanoseconds>(w.time_since_epoch()).count();
      if (!seek_queued_.exchange(true))
        asio::post(strand_, [self = shared_from_this()] { self->seek(); });
      return std::nullopt;
    }
    if (type == "speed") {
      auto v = j.find("value");
      if (v == j.end() || !v->is_number_integer() || !playback::valid_speed(v->get<int>()))
        return "'value' must be 1, 2, 4 or 8";
      asio::post(strand_, [self = shared_from_this(), s = v->get<int>()] {
        self->player_.set_speed(s);
        self->pump();
      });
      return std::nullopt;
    }
    if (type == "pause" || type == "play") {
      asio::post(strand_, [self = shared_from_this(), pause = type == "pause"] {
        if (pause)
          self->player_.pause();
        else
          self->player_.play();
        self->pump();
      });
      return std::nullopt;
    }
    return "unknown message type (playback takes seek, speed, pause, play, ping)";
  }

  // Any thread: the server stops.
  void shutdown() {
    asio::post(strand_, [self = shared_from_this()] {
      if (self->peer_) self->peer_->close("server shutting down");
    });
  }

 private:
  // --- on the strand ---

  void begin() {
    if (gone_ || !peer_) return;
    auto st = archive_.open(player_.target_ns());
    if (!st) {
      ++c_->read_errors;
      peer_->send(text({{"type", "error"}, {"message", st.error().message}}), false);
      peer_->close("no footage");
      return;
    }
    pump();
  }

  void seek() {
    seek_queued_ = false;
    if (gone_ || !peer_) return;
    const std::int64_t t = seek_to_;
    ++c_->seeks;
    auto st = archive_.open(t);
    if (!st) {
      // Playback goes on where it was.
      say({{"type", "error"}, {"message", st.error().message}});
      return pump();
    }
    player_.seek(t);
    at_edge_ = false;
    pump();
  }

  void pump() {
    if (gone_ || !peer_) return;
    read_ahead();
    while (!in_flight_) {
      if (!outq_.empty()) {
        send_front();
        break;
      }
      auto o = player_.take(clock_.monotonic());
      if (!o) break;
      convert(*o);
    }
    schedule();
  }

  void read_ahead() {
    for (int i = 0; i < kReadsPerTurn && player_.wants_frames(); ++i) {
      auto r = archive_.next();
      if (!r) {
        ++c_->read_errors;
        spdlog::warn("playback {}: {}", camera_, r.error().message);
        mark_edge();
        return;
      }
      if (!*r) {
        mark_edge();
        return;
      }
      at_edge_ = false;
      player_.push(std::move(**r));
    }
    more_ = player_.wants_frames();
  }

  void mark_edge() {
    const MonoTime now = clock_.monotonic();
    if (!at_edge_) edge_since_ = now;
    at_edge_ = true;
    more_ = false;
    player_.at_edge(now - edge_since_ >= kEdgeFlush);
  }

  void schedule() {
    if (gone_ || in_flight_) return;  // written() pumps again
    const MonoTime now = clock_.monotonic();
    std::optional<MonoTime> at = player_.next_due(now);
    if (at_edge_ && (!at || *at > now + kEdgePoll)) at = now + kEdgePoll;
    if (!at && more_ && !player_.paused()) at = now;
    if (!at) return;  // paused or full: a message or written() pumps
    if (*at <= now) {
      asio::post(strand_, [self = shared_from_this()] { self->pump(); });
      return;
    }
    timer_.expires_after(*at - now);
    timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
      if (!ec) self->pump();
    });
  }

  void send_front() {
    auto [bytes, binary] = std::move(outq_.front());
    outq_.pop_front();
    if (binary) {
      ++c_->fragments;
      c_->bytes += bytes->size();
    }
    in_flight_ = true;
    peer_->send(std::move(bytes), binary);
  }

  // A text message in stream order; before the first init segment they wait.
  void say(const json& j) {
    auto& q = muxer_ ? outq_ : before_init_;
    if (q.size() < kMaxPendingText + 4) q.push_back({text(j), false});
  }

  void convert(const Output& o) {
    switch (o.kind) {
      case Output::Kind::start:
        say({{"type", "start"},
             {"time", when(o.time_ns)},
             {"keyframe", when(o.at_ns)},
             {"media_time", static_cast<double>(o.media_ns) / 1e9},
             {"speed", o.speed}});
        return;
      case Output::Kind::gap:
        say({{"type", "gap"},
             {"from", when(o.time_ns)},
             {"to", when(o.at_ns)},
             {"media_time", static_cast<double>(o.media_ns) / 1e9}});
        return;
      case Output::Kind::live:
        say({{"type", "live"}});
        return;
      case Output::Kind::speed:
        say({{"type", "speed"}, {"value", o.speed}});
        return;
      case Output::Kind::paused:
        say({{"type", "paused"}});
        return;
      case Output::Kind::playing:
        say({{"type", "playing"}});
        return;
      case Output::Kind::frame:
        break;
    }
    const auto& f = o.frame;
    if (!f.data) return;
    if (f.keyframe) {
      auto k = media::live::keyframe_info(f.codec, *f.data);
      if (k && (!muxer_ || k->params != params_ || f.codec != codec_)) {
        open_muxer(f.codec, *k);
      } else if (!k && !muxer_) {
        ++c_->mux_errors;
        return;
      }
    }
    if (!muxer_) return;  // waiting for a keyframe the muxer can start with
    auto frag = muxer_->fragment(*f.data, to_90k(o.dts_ns), to_90k(o.pts_ns), to_90k(o.duration_ns),
                                 f.keyframe);
    if (!frag) {
      ++c_->mux_errors;
      spdlog::warn("playback {}: {}; waiting for the next keyframe", camera_, frag.error().message);
      muxer_.reset();
      return;
    }
    outq_.push_back({std::make_shared<const std::string>(std::move(*frag)), true});
  }

  void open_muxer(media::Codec codec, media::live::KeyframeInfo& k) {
    muxer_.reset();
    auto m = media::live::Fmp4Muxer::open(codec, k.width, k.height, k.params);
    if (!m) {
      ++c_->mux_errors;
      spdlog::warn("playback {}: {}", camera_, m.error().message);
      return;
    }
    muxer_ = std::move(*m);
    params_ = std::move(k.params);
    codec_ = codec;
    outq_.push_back({text({{"type", "init"},
                           {"codec", k.codec_string},
                           {"width", k.width},
                           {"height", k.height},
                           {"camera_id", camera_}}),
                     false});
    outq_.push_back({std::make_shared<const std::string>(muxer_->init()), true});
    for (auto& m2 : before_init_) outq_.push_back(std::move(m2));
    before_init_.clear();
  }

  asio::strand<asio::io_context::executor_type> strand_;
  asio::steady_timer timer_;
  const Clock& clock_;
  std::shared_ptr<PlaybackService::Counters> c_;
  // On the strand.
  playback::Archive archive_;
  playback::Player player_;
  std::string camera_;
  std::string user_;
  std::shared_ptr<WsPeer> peer_;
  std::deque<std::pair<Bytes, bool>> outq_;  // made, not yet sent (one access unit's worth)
  std::deque<std::pair<Bytes, bool>> before_init_;
  std::unique_ptr<media::live::Fmp4Muxer> muxer_;
  std::vector<std::uint8_t> params_;
  media::Codec codec_ = media::Codec::h264;
  bool in_flight_ = false;
  bool gone_ = false;
  bool at_edge_ = false;
  bool more_ = false;  // the last turn stopped at its budget, not at the edge
  MonoTime edge_since_{};
  // From the transport's strand.
  std::atomic<std::int64_t> seek_to_{0};
  std::atomic<bool> seek_queued_{false};
};

PlaybackService::PlaybackService(storage::Catalog& catalog, std::filesystem::path root,
                                 const Clock& clock, playback::OpenSegmentLookup open_segment)
    : catalog_(catalog),
      root_(std::move(root)),
      clock_(clock),
      open_segment_(std::move(open_segment)),
      counters_(std::make_shared<Counters>()) {}

PlaybackService::~PlaybackService() {
  stop();
}

void PlaybackService::start() {
  if (!threads_.empty()) return;
  work_.emplace(ioc_.get_executor());
  for (int i = 0; i < kThreads; ++i)
    threads_.emplace_back([this] {
      for (;;) {
        try {
          ioc_.run();
          return;
        } catch (const std::exception& e) {
          spdlog::error("playback: {}", e.what());
        }
      }
    });
}

void PlaybackService::stop() {
  shutdown();
  work_.reset();
  ioc_.stop();
  for (auto& t : threads_)
    if (t.joinable()) t.join();
  threads_.clear();
}

Result<bool> PlaybackService::has_footage(const std::string& camera_id, std::int64_t t_ns) {
  auto rows = catalog_.list_segments(camera_id, t_ns, INT64_MAX / 4, 1);
  if (!rows) return rows.error();
  if (!rows->empty()) return true;
  return open_segment_ && open_segment_(camera_id).has_value();
}

std::shared_ptr<WsSource> PlaybackService::viewer(const std::string& camera_id,
                                                  std::int64_t from_ns, int speed,
                                                  const std::string& user) {
  auto v = std::make_shared<PlaybackViewer>(
      ioc_, clock_, counters_, playback::Archive(catalog_, root_, camera_id, open_segment_),
      camera_id, user, from_ns, speed);
  std::lock_guard lock(mu_);
  std::erase_if(viewers_, [](const std::weak_ptr<PlaybackViewer>& w) { return w.expired(); });
  viewers_.push_back(v);
  return v;
}

void PlaybackService::shutdown() {
  std::vector<std::weak_ptr<PlaybackViewer>> all;
  {
    std::lock_guard lock(mu_);
    all.swap(viewers_);
  }
  for (auto& w : all)
    if (auto v = w.lock()) v->shutdown();
}

std::string PlaybackService::metrics_text() const {
  const Counters& c = *counters_;
  std::string s;
  auto line = [&s](const char* name, const char* type, const char* help, auto value) {
    s += fmt::format("# HELP {} {}\n# TYPE {} {}\n{} {}\n", name, help, name, type, name, value);
  };
  line("zaulek_playback_viewers", "gauge", "Playback viewers connected.", c.viewers.load());
  line("zaulek_playback_viewers_opened_total", "counter", "Playback viewers that connected.",
       c.opened.load());
  line("zaulek_playback_fragments_sent_total", "counter",
       "Media segments (one access unit each) written to playback viewers.", c.fragments.load());
  line("zaulek_playback_sent_bytes_total", "counter", "Bytes of media written to playback viewers.",
       c.bytes.load());
  line("zaulek_playback_seeks_total", "counter", "Seeks done (a burst of seeks counts once).",
       c.seeks.load());
  line("zaulek_playback_read_errors_total", "counter",
       "Catalogue or file errors while reading footage back.", c.read_errors.load());
  line("zaulek_playback_mux_errors_total", "counter",
       "Access units the fMP4 muxer refused (the viewer then waits for a keyframe).",
       c.mux_errors.load());
  return s;
}

}  // namespace zaulek::server
