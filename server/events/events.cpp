#include "server/events/events.h"

#include <spdlog/spdlog.h>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <set>

#include "core/text/utf8.h"
#include "onvif/events/basic_subscription.h"
#include "server/events/notify.h"
#include "server/http/metrics.h"
#include "server/hub/hub.h"

namespace zaulek::server {

namespace asio = boost::asio;
using nlohmann::json;
using std::chrono::milliseconds;

namespace {

constexpr std::size_t kMaxTopic = 1024;
constexpr std::size_t kMaxItemText = 256;
constexpr std::size_t kMaxItemsJson = 8000;                     // the catalogue takes 8192
constexpr auto kWriteInterval = std::chrono::milliseconds(10);  // between transactions
// After a batch the catalogue could not take (locked, disk full, I/O error):
// the first retry, doubled up to the last.
constexpr auto kRetryFirst = std::chrono::milliseconds(100);
constexpr auto kRetryMost = std::chrono::milliseconds(5000);

// Valid UTF-8 (core/text/utf8.h: surrogates, overlong forms, F5..FF and
// truncated sequences replaced) with control characters replaced by '?',
// cut at `max` bytes on a character boundary.
std::string clean(std::string_view s, std::size_t max) {
  std::string out = to_valid_utf8(s, max);
  for (char& c : out)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  return out;
}

std::string items_json(const onvif::Items& items) {
  json j = json::object();
  std::size_t size = 2;
  for (const auto& [k, v] : items) {
    std::string key = clean(k, kMaxItemText), value = clean(v, kMaxItemText);
    if (key.empty() || j.contains(key)) continue;
    std::size_t add = json(key).dump().size() + json(value).dump().size() + 2;
    if (size + add > kMaxItemsJson) break;
    size += add;
    j[key] = value;
  }
  return j.dump();
}

}  // namespace

storage::Event to_stored_event(const std::string& camera_id, const onvif::ReceivedEvent& e) {
  storage::Event s;
  s.camera_id = camera_id;
  s.time_ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(e.time.time_since_epoch()).count();
  s.kind = std::string(onvif::to_string(e.event.kind));
  s.state = std::string(onvif::to_string(e.event.state));
  s.topic = clean(e.event.topic, kMaxTopic);
  s.source = items_json(e.event.source);
  s.data = items_json(e.event.data);
  return s;
}

json event_json(const storage::Event& e) {
  auto object = [](const std::string& text) {
    auto j = json::parse(text, nullptr, false);
    return j.is_object() ? j : json::object();
  };
  return {{"id", e.id ? json(std::to_string(e.id)) : json(nullptr)},
          {"camera_id", e.camera_id},
          {"time", format_rfc3339(WallTime{std::chrono::duration_cast<WallTime::duration>(
                       std::chrono::nanoseconds(e.time_ns))})},
          {"kind", e.kind},
          {"state", e.state},
          {"topic", e.topic},
          {"source", object(e.source)},
          {"data", object(e.data)}};
}

// One camera: resolve its events XAddr (GetSystemDateAndTime for the token
// clock, then GetServices/GetCapabilities), then run the PullPoint
// subscription; when the camera answers CreatePullPointSubscription with
// ActionNotSupported, a Basic Notification subscription instead (for as
// long as this subscriber lives: a changed camera gets a new one, which
// tries PullPoint again). On its own strand.
class EventService::Subscriber : public std::enable_shared_from_this<Subscriber> {
 public:
  Subscriber(asio::io_context& ioc, EventService* service, std::string id, std::string url,
             onvif::Credentials credentials)
      : strand_(asio::make_strand(ioc)),
        service_(service),
        id_(std::move(id)),
        url_(std::move(url)),
        credentials_(std::move(credentials)),
        options_(service->options_.subscription),
        clock_(service->clock_),
        timer_(strand_) {}

  void start() {
    asio::post(strand_, [self = shared_from_this()] { self->resolve(); });
  }
  void stop() {
    asio::post(strand_, [self = shared_from_this()] {
      self->stopped_ = true;
      self->timer_.cancel();
      if (self->client_) self->client_->cancel();
      if (self->sub_) self->sub_->stop([self] {});
      if (self->basic_) self->basic_->stop([self] {});
      self->service_->set_mode(self->id_, "");
    });
  }

 private:
  void resolve() {
    if (stopped_) return;
    client_ = onvif::Client::create(strand_, url_, credentials_, {options_.call_timeout}, clock_);
    auto self = shared_from_this();
    client_->get_system_date_and_time([self](Result<WallTime> t) {
      if (self->stopped_) return;
      if (!t) return self->retry(t.error().message);
      self->client_->get_service_addrs([self](Result<onvif::ServiceAddrs> r) {
        if (self->stopped_) return;
        if (!r) return self->retry(r.error().message);
        self->subscribe(r->events.empty() ? self->url_ : r->events);
      });
    });
  }

  void retry(const std::string& reason) {
    if (backoff_.count() == 0 || backoff_ >= milliseconds(8000))
      spdlog::warn("events {}: cannot read the camera's services: {}", id_, reason);
    backoff_ =
        backoff_.count() == 0 ? options_.retry_min : std::min(options_.retry_max, backoff_ * 2);
    timer_.expires_after(backoff_);
    timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      if (!ec) self->resolve();
    });
  }

  void on_state(onvif::SubscriptionState s, const std::string& reason, const char* mode) {
    const auto& health = service_->options_.on_subscription_health;
    if (s == onvif::SubscriptionState::active) {
      spdlog::info("events {}: subscribed ({})", id_, mode);
      if (logged_failure_ && health) health(id_, false, "");
      logged_failure_ = false;
    } else if (s == onvif::SubscriptionState::failed && !logged_failure_) {
      // Once per outage: a camera that stays away retries quietly.
      spdlog::warn("events {}: subscription failed, re-subscribing: {} ({})", id_, reason, mode);
      logged_failure_ = true;
      if (health) health(id_, true, reason);
    }
  }

  void subscribe(const std::string& events_url) {
    if (stopped_) return;
    events_url_ = events_url;
    auto self = shared_from_this();
    excess_seen_ = 0;
    sub_ = onvif::PullPointSubscription::create(
        strand_, url_, events_url, credentials_, options_, clock_,
        [self](std::vector<onvif::ReceivedEvent> events) {
          // Notifications beyond our MessageLimit were cut off: counted too.
          std::uint64_t dropped = 0;
          if (self->sub_) {
            dropped = self->sub_->excess() - self->excess_seen_;
            self->excess_seen_ = self->sub_->excess();
          }
          if (dropped > 0 && !self->logged_excess_) {
            self->logged_excess_ = true;
            spdlog::warn(
                "events {}: the camera answers PullMessages with more than the {} notifications "
                "asked for; the rest are cut off and counted as suppressed",
                self->id_, self->options_.message_limit);
          }
          self->service_->submit(self->id_, std::move(events), dropped);
        },
        [self](onvif::SubscriptionState s, const std::string& reason) {
          if (s == onvif::SubscriptionState::active) {
            self->service_->set_mode(self->id_, "pullpoint");
          } else if (s == onvif::SubscriptionState::failed &&
                     reason.rfind("CreatePullPointSubscription:", 0) == 0 &&
                     onvif::is_action_not_supported(reason)) {
            // No PullPoint on this camera: Basic Notification instead (posted,
            // so the PullPoint subscription is not stopped from its own callback).
            asio::post(self->strand_, [self, reason] { self->fall_back(reason); });
            return;
          }
          self->on_state(s, reason, "PullPoint");
        });
    sub_->start();
  }

  void fall_back(const std::string& reason) {
    if (stopped_ || basic_) return;
    if (sub_) sub_->stop([self = shared_from_this()] {});
    sub_.reset();
    auto* notify = service_->options_.notify;
    if (!notify) {
      spdlog::error("events {}: the camera has no PullPoint ({}) and Basic Notification is off",
                    id_, reason);
      return;
    }
    spdlog::info("events {}: the camera has no PullPoint; using Basic Notification", id_);
    std::weak_ptr<Subscriber> weak = shared_from_this();
    auto self = shared_from_this();
    basic_ = onvif::BasicSubscription::create(
        strand_, url_, events_url_, credentials_, options_, clock_,
        [weak, notify, strand = strand_]() {
          // Called on the strand before each Subscribe: a fresh secret URL.
          return notify->open(
              [weak, strand](const std::string& url, std::vector<onvif::Notification> notes) {
                // On an HTTP thread: over to the subscriber's strand.
                asio::post(strand, [weak, url, notes = std::move(notes)]() mutable {
                  if (auto s = weak.lock())
                    if (s->basic_) s->basic_->deliver(url, std::move(notes));
                });
              });
        },
        [notify](const std::string& url) { notify->close(url); },
        [self](std::vector<onvif::ReceivedEvent> events) {
          self->service_->submit(self->id_, std::move(events));
        },
        [self](onvif::SubscriptionState s, const std::string& reason) {
          if (s == onvif::SubscriptionState::active)
            self->service_->set_mode(self->id_, "basic_notification");
          self->on_state(s, reason, "Basic Notification");
        });
    service_->set_mode(id_, "basic_notification");
    basic_->start();
  }

  asio::strand<asio::io_context::executor_type> strand_;
  EventService* service_;
  std::string id_, url_;
  onvif::Credentials credentials_;
  onvif::SubscriptionOptions options_;
  Clock& clock_;
  asio::steady_timer timer_;
  std::shared_ptr<onvif::Client> client_;
  std::shared_ptr<onvif::PullPointSubscription> sub_;
  std::shared_ptr<onvif::BasicSubscription> basic_;
  std::string events_url_;
  milliseconds backoff_{0};
  bool stopped_ = false;
  bool logged_failure_ = false;
  std::uint64_t excess_seen_ = 0;  // sub_->excess() already passed to submit()
  bool logged_excess_ = false;
};

EventService::EventService(asio::io_context& ioc, storage::Catalog& catalog, Hub* hub,
                           SecretBox box, Clock& clock, EventsOptions options)
    : ioc_(ioc),
      catalog_(catalog),
      hub_(hub),
      box_(std::move(box)),
      clock_(clock),
      options_(options),
      strand_(ioc.get_executor()),
      resync_timer_(strand_),
      write_timer_(strand_),
      budget_(clock, options_.budget),
      summary_timer_(strand_) {}

EventService::~EventService() {
  writer_.join();  // the batch being written finishes; nothing posts back after this
}

void EventService::start() {
  asio::post(strand_, [this] {
    if (!stopped_) sync();
  });
}

void EventService::stop() {
  asio::post(strand_, [this] {
    stopped_ = true;
    resync_timer_.cancel();
    for (auto& [id, entry] : cameras_)
      if (entry.subscriber) entry.subscriber->stop();
    cameras_.clear();
    summary_timer_.cancel();
    summarize();  // what was suppressed since the last tick is told, not lost
    // What is published but not written goes to the writer now, after the
    // batch it may be writing (the destructor waits for both).
    write_timer_.cancel();
    auto rest = std::move(unwritten_);
    unwritten_.clear();
    if (!rest.empty())
      asio::post(writer_, [this, rest = std::move(rest)] {
        for (std::size_t i = 0; i < rest.size(); i += storage::Catalog::kMaxBatch)
          store({rest.begin() + static_cast<std::ptrdiff_t>(i),
                 rest.begin() + static_cast<std::ptrdiff_t>(
                                    std::min(rest.size(), i + storage::Catalog::kMaxBatch))},
                true);
      });
  });
}

void EventService::camera_changed(const std::string& camera_id) {
  asio::post(strand_, [this, camera_id] {
    // Before the first full sync, that sync reads this camera's row anyway.
    if (stopped_ || !synced_) return;
    sync_camera(camera_id);
  });
}

void EventService::sync() {
  synced_ = true;
  auto rows = catalog_.list_cameras();
  if (!rows) {
    spdlog::warn("events: cannot list cameras: {}", rows.error().message);
    return resync_later();
  }
  std::set<std::string> listed;
  for (const auto& c : *rows) listed.insert(c.id);
  std::vector<std::string> gone;
  for (const auto& [id, entry] : cameras_)
    if (!listed.count(id)) gone.push_back(id);
  for (const auto& id : gone) apply(id, nullptr);
  for (const auto& c : *rows) apply(c.id, &c);
}

void EventService::sync_camera(const std::string& id) {
  auto row = catalog_.find_camera(id);
  if (!row && row.error().kind != ErrorKind::not_found) {
    spdlog::warn("events {}: cannot read the camera: {}", id, row.error().message);
    return resync_later();
  }
  apply(id, row ? &*row : nullptr);
}

// No notification comes again for a change whose read failed (database
// busy, I/O error): every camera is read again after resync_retry, until a
// read succeeds. While reads succeed, nothing re-reads the catalogue.
void EventService::resync_later() {
  if (stopped_ || resync_armed_) return;
  resync_armed_ = true;
  resync_timer_.expires_after(options_.resync_retry);
  resync_timer_.async_wait([this](boost::system::error_code ec) {
    resync_armed_ = false;
    if (!ec && !stopped_) sync();
  });
}

// Camera `id`'s subscriber made to match its row (`c`; nullptr: the camera
// is gone).
void EventService::apply(const std::string& id, const storage::Camera* c) {
  auto it = cameras_.find(id);
  if (!c) {
    if (it == cameras_.end()) return;
    spdlog::info("events {}: camera removed, unsubscribing", id);
    if (it->second.subscriber) it->second.subscriber->stop();
    cameras_.erase(it);
    return;
  }
  std::string fingerprint = c->onvif_url + '\n' + c->username + '\n' +
                            std::string(c->password_enc.begin(), c->password_enc.end());
  if (it != cameras_.end() && it->second.fingerprint == fingerprint) return;
  if (it != cameras_.end() && it->second.subscriber) it->second.subscriber->stop();
  Entry entry{fingerprint, nullptr};
  onvif::Credentials credentials{c->username, ""};
  if (!c->password_enc.empty()) {
    auto password = box_.open(c->password_enc);
    if (!password) {
      spdlog::error("events {}: cannot open the stored credentials: {}", id,
                    password.error().message);
      cameras_[id] = std::move(entry);
      return;
    }
    credentials.password = std::move(*password);
  }
  entry.subscriber =
      std::make_shared<Subscriber>(ioc_, this, id, c->onvif_url, std::move(credentials));
  entry.subscriber->start();
  cameras_[id] = std::move(entry);
}

void EventService::set_mode(const std::string& camera_id, std::string mode) {
  std::lock_guard lock(modes_mu_);
  if (mode.empty())
    modes_.erase(camera_id);
  else
    modes_[camera_id] = std::move(mode);
}

std::string EventService::mode(const std::string& camera_id) const {
  std::lock_guard lock(modes_mu_);
  auto it = modes_.find(camera_id);
  return it == modes_.end() ? std::string() : it->second;
}

std::string EventService::metrics_text() const {
  std::string out =
      "# HELP zaulek_event_subscription_mode How each camera's events arrive "
      "(pullpoint, basic_notification).\n"
      "# TYPE zaulek_event_subscription_mode gauge\n";
  {
    std::lock_guard lock(modes_mu_);
    for (const auto& [id, mode] : modes_)
      out += "zaulek_event_subscription_mode{camera=\"" + id + "\",mode=\"" + mode + "\"} 1\n";
  }
  append_metric(out, "zaulek_events_stored_total", "counter",
                "Camera events written to the catalogue.", stored_);
  append_metric(out, "zaulek_events_store_retries_total", "counter",
                "Event batches the catalogue could not take at once (kept and retried).",
                store_retries_);
  append_metric(out, "zaulek_events_store_failures_total", "counter",
                "Camera events published but never written (over the backlog bound, or refused).",
                store_failures_);
  out +=
      "# HELP zaulek_events_suppressed_total Camera events over the camera's budget (rate, "
      "burst, or beyond the PullMessages MessageLimit), counted and summarized, not published.\n"
      "# TYPE zaulek_events_suppressed_total counter\n";
  for (const auto& [id, n] : budget_.totals())
    out += "zaulek_events_suppressed_total{camera=\"" + id + "\"} " + std::to_string(n) + "\n";
  return out;
}

std::uint64_t EventService::suppressed() const {
  std::uint64_t n = 0;
  for (const auto& [id, count] : budget_.totals()) n += count;
  return n;
}

void EventService::submit(std::string camera_id, std::vector<onvif::ReceivedEvent> events,
                          std::uint64_t dropped) {
  // The budget first, on the camera's thread: a flood costs a count, not a
  // conversion, a hop to the service strand and a publish per event.
  const std::size_t pass = budget_.admit(camera_id, events.size(), dropped);
  const bool over = pass < events.size() || dropped > 0;
  events.erase(events.begin() + static_cast<std::ptrdiff_t>(pass), events.end());
  if (events.empty() && !over) return;
  std::vector<storage::Event> stored;
  stored.reserve(events.size());
  for (const auto& e : events) stored.push_back(to_stored_event(camera_id, e));
  // Dispatched, not posted: called on an I/O thread (the camera's strand)
  // with the service strand idle, the events are published right here,
  // without a hop to another thread and the wake-up it costs.
  asio::dispatch(strand_, [this, over, stored = std::move(stored)]() mutable {
    if (!stored.empty()) {
      pending_.insert(pending_.end(), std::make_move_iterator(stored.begin()),
                      std::make_move_iterator(stored.end()));
      flush();
    }
    if (over) arm_summary();
  });
}

// A tick every summary_interval while any camera is over its budget: each
// such camera gets one summary per tick, so a flood that goes on is told
// once per interval and one that has ended at most one interval later.
void EventService::arm_summary() {
  if (summary_armed_ || stopped_) return;
  summary_armed_ = true;
  summary_timer_.expires_after(options_.summary_interval);
  summary_timer_.async_wait([this](boost::system::error_code ec) {
    summary_armed_ = false;
    if (ec || stopped_) return;
    summarize();
  });
}

void EventService::summarize() {
  auto summaries = budget_.take_summaries();
  std::set<std::string> over;
  for (const auto& s : summaries) {
    over.insert(s.camera_id);
    if (!over_budget_.count(s.camera_id))
      spdlog::warn(
          "events {}: over its budget ({}/s, burst {}); the excess is counted and "
          "summarized as {} events",
          s.camera_id, budget_.options().per_second, budget_.options().burst, kRateLimitedTopic);
    storage::Event e;
    e.camera_id = s.camera_id;
    e.time_ns =
        std::chrono::duration_cast<std::chrono::nanoseconds>(s.to.time_since_epoch()).count();
    e.kind = "other";
    e.state = "pulse";
    e.topic = kRateLimitedTopic;
    e.source = json{{"Subsystem", "events"}}.dump();
    e.data = json{{"suppressed", s.count},
                  {"from", format_rfc3339(s.from)},
                  {"to", format_rfc3339(s.to)},
                  {"max_per_second", budget_.options().per_second},
                  {"burst", budget_.options().burst}}
                 .dump();
    pending_.push_back(std::move(e));
  }
  for (const auto& id : over_budget_)
    if (!over.count(id)) spdlog::info("events {}: within its budget again", id);
  over_budget_ = std::move(over);
  if (summaries.empty()) return;
  flush();
  arm_summary();  // the flood may go on; the next tick with nothing to tell stops
}

// Each event is published as soon as it has an id (reserved, not written):
// the consoles and the rules (on_published) do not wait for the disk. The
// rows follow on writer_, one transaction per batch, at most one batch per
// kWriteInterval: what is published meanwhile forms the next (at 2,000
// events/s a transaction per event cost a tenth of a core in commits).
void EventService::flush() {
  for (std::size_t done = 0; done < pending_.size();) {
    std::size_t n = std::min<std::size_t>(pending_.size() - done, storage::Catalog::kMaxBatch);
    auto first = catalog_.reserve_event_ids(static_cast<int>(n));
    if (!first)
      spdlog::error("events: no ids for {} events (published without one): {}", n,
                    first.error().message);
    if (first) published_id_.store(*first + static_cast<std::int64_t>(n) - 1);
    for (std::size_t i = 0; i < n; ++i) {
      storage::Event& e = pending_[done + i];
      if (first) e.id = *first + static_cast<std::int64_t>(i);
      if (hub_) hub_->publish("event", event_json(e), RoleSet::all(), e.camera_id);
    }
    done += n;
  }
  if (options_.on_published) options_.on_published(pending_);
  unwritten_.insert(unwritten_.end(), std::make_move_iterator(pending_.begin()),
                    std::make_move_iterator(pending_.end()));
  pending_.clear();
  bound_unwritten();
  write();
}

void EventService::bound_unwritten() {
  if (unwritten_.size() <= options_.max_unwritten) return;
  // The disk has not kept up for minutes: memory is bounded, the oldest go.
  std::size_t drop = unwritten_.size() - options_.max_unwritten;
  store_failures_ += drop;
  spdlog::error("events: {} events not written for want of disk time; dropping the oldest", drop);
  unwritten_.erase(unwritten_.begin(), unwritten_.begin() + static_cast<std::ptrdiff_t>(drop));
}

void EventService::write() {
  if (writing_ || write_waiting_ || unwritten_.empty()) return;
  auto now = clock_.monotonic();
  if (!stopped_ && now < next_write_) {
    write_waiting_ = true;
    // next_write_ is on clock_, which need not be the timer's: wait for what
    // is left, and once the timer has fired the pause is served.
    write_timer_.expires_after(next_write_ - now);
    write_timer_.async_wait([this](boost::system::error_code) {
      write_waiting_ = false;
      next_write_ = MonoTime::min();
      write();
    });
    return;
  }
  next_write_ = now + kWriteInterval;
  std::size_t n = std::min<std::size_t>(unwritten_.size(), storage::Catalog::kMaxBatch);
  std::vector<storage::Event> batch(
      std::make_move_iterator(unwritten_.begin()),
      std::make_move_iterator(unwritten_.begin() + static_cast<std::ptrdiff_t>(n)));
  unwritten_.erase(unwritten_.begin(), unwritten_.begin() + static_cast<std::ptrdiff_t>(n));
  writing_ = true;
  asio::post(writer_, [this, batch = std::move(batch)]() mutable {
    const bool done = store(batch, false);
    asio::post(strand_, [this, done, batch = std::move(batch)]() mutable {
      writing_ = false;
      if (done) {
        retry_delay_ = std::chrono::milliseconds(0);
      } else if (stopped_) {
        // stop() has drained unwritten_ already: this batch gets its last try.
        asio::post(writer_, [this, batch = std::move(batch)] { store(batch, true); });
      } else {
        // Back in front, in order, for a retry after a growing pause; what
        // is published meanwhile queues behind it (bounded as ever).
        unwritten_.insert(unwritten_.begin(), std::make_move_iterator(batch.begin()),
                          std::make_move_iterator(batch.end()));
        retry_delay_ = std::clamp(retry_delay_ * 2, kRetryFirst, kRetryMost);
        next_write_ = clock_.monotonic() + retry_delay_;
        bound_unwritten();
      }
      write();  // what was published meanwhile, or the retry
    });
  });
}

// On writer_: one transaction. True when the batch is done with: written,
// or refused for good (logged and counted). False when the catalogue could
// not take it now (locked past the busy timeout, disk full, I/O error) and
// this is not the final try: nothing of it was written, the caller retries.
bool EventService::store(const std::vector<storage::Event>& batch, bool final_try) {
  auto ids = catalog_.add_events(batch);
  if (ids && ids->size() == batch.size()) {
    stored_ += batch.size();
  } else {
    const bool transient = !ids && (ids.error().kind == ErrorKind::unavailable ||
                                    ids.error().kind == ErrorKind::resource_exhausted);
    if (transient && !final_try) {
      ++store_retries_;
      spdlog::warn("events: could not store {} events yet (kept, retried): {}", batch.size(),
                   ids.error().message);
      return false;
    }
    store_failures_ += batch.size();
    spdlog::error("events: could not store {} events: {}", batch.size(),
                  ids ? std::string("id count mismatch") : ids.error().message);
  }
  std::int64_t highest = 0;
  for (const auto& e : batch) highest = std::max(highest, e.id);
  {
    std::lock_guard lock(written_mu_);
    written_id_ = std::max(written_id_, highest);
  }
  written_cv_.notify_all();
  return true;
}

bool EventService::wait_written(std::chrono::milliseconds bound) {
  const std::int64_t target = published_id_.load();
  std::unique_lock lock(written_mu_);
  return written_cv_.wait_for(lock, bound, [&] { return written_id_ >= target; });
}

}  // namespace zaulek::server
