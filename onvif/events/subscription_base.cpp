#include "onvif/events/subscription_base.h"

#include <boost/asio/post.hpp>

#include <algorithm>

#include "onvif/auth.h"

namespace zaulek::onvif {

namespace asio = boost::asio;
using std::chrono::milliseconds;

milliseconds renew_after(milliseconds lifetime) {
  milliseconds early =
      std::clamp<milliseconds>(lifetime / 5, milliseconds(1000), milliseconds(10000));
  return std::max(milliseconds(0), lifetime - early);
}

std::string_view to_string(SubscriptionState state) {
  switch (state) {
    case SubscriptionState::subscribing:
      return "subscribing";
    case SubscriptionState::active:
      return "active";
    case SubscriptionState::failed:
      return "failed";
    case SubscriptionState::stopped:
      return "stopped";
  }
  return "stopped";
}

SubscriptionBase::SubscriptionBase(asio::any_io_executor executor, std::string device_url,
                                   std::string events_url, Credentials credentials,
                                   SubscriptionOptions options, Clock& clock, OnEvents on_events,
                                   OnState on_state)
    : executor_(executor),
      device_url_(std::move(device_url)),
      events_url_(std::move(events_url)),
      credentials_(credentials),
      options_(options),
      clock_(clock),
      on_events_(std::move(on_events)),
      on_state_(std::move(on_state)),
      control_(Client::create(executor, device_url_, credentials, {options.call_timeout}, clock)),
      renew_timer_(executor),
      retry_timer_(executor),
      rng_(std::random_device{}()) {}

RequestAuth SubscriptionBase::auth() const {
  RequestAuth a;
  if (credentials_.username.empty()) return a;
  auto t = make_username_token(credentials_.username, credentials_.password,
                               clock_.realtime() + control_->clock_offset());
  a.username = std::move(t.username);
  a.password_digest = std::move(t.password_digest);
  a.nonce_base64 = std::move(t.nonce_base64);
  a.created = std::move(t.created);
  return a;
}

void SubscriptionBase::set_state(SubscriptionState s, const std::string& reason) {
  if (s == state_ && s != SubscriptionState::failed) return;
  state_ = s;
  if (on_state_) on_state_(s, reason);
}

void SubscriptionBase::start() {
  stopping_ = false;
  subscribe();
}

void SubscriptionBase::subscribe() {
  if (stopping_) return;
  const auto gen = ++generation_;
  set_state(SubscriptionState::subscribing, "");
  control_->get_system_date_and_time([self = shared_from_this(), gen](Result<WallTime> t) {
    if (!self->current(gen)) return;
    if (!t) return self->fail("GetSystemDateAndTime: " + t.error().message);
    self->send_subscribe(gen);
  });
}

void SubscriptionBase::subscribed(SubscriptionRef ref, milliseconds lifetime) {
  ref_ = std::move(ref);
  ++subscriptions_;
  active_since_ = clock_.monotonic();
  set_state(SubscriptionState::active, "");
  schedule_renew(lifetime);
}

void SubscriptionBase::delivered() {
  if (backoff_.count() != 0 && clock_.monotonic() - active_since_ >= options_.healthy_after)
    backoff_ = milliseconds(0);
}

std::vector<ReceivedEvent> SubscriptionBase::received(
    const std::vector<Notification>& notifications, WallTime now) const {
  std::vector<ReceivedEvent> out;
  out.reserve(notifications.size());
  const auto offset = control_->clock_offset();
  for (const auto& n : notifications) {
    ReceivedEvent e{normalize(n), now};
    if (!is_occurrence(e.event)) continue;
    WallTime t;
    if (!n.utc_time.empty() && parse_rfc3339(n.utc_time, t)) e.time = t - offset;
    out.push_back(std::move(e));
  }
  return out;
}

void SubscriptionBase::schedule_renew(milliseconds lifetime) {
  const auto gen = generation_;
  renew_timer_.expires_after(renew_after(lifetime));
  renew_timer_.async_wait([self = shared_from_this(), gen](boost::system::error_code ec) {
    if (ec || !self->current(gen)) return;
    self->renew();
  });
}

void SubscriptionBase::renew() {
  const auto gen = generation_;
  auto self = shared_from_this();
  auto lifetime = options_.lifetime;
  control_->call(
      ref_.address,
      [self, lifetime](bool with_token) {
        return make_renew(with_token ? self->auth() : RequestAuth{}, self->ref_, lifetime);
      },
      true,
      [self, gen](Result<std::string> body) {
        if (!self->current(gen)) return;
        if (!body) return self->fail("Renew: " + body.error().message);
        auto r = parse_renew(*body, self->clock_.realtime());
        if (!r) return self->fail("Renew: " + r.error().message);
        if (*r <= milliseconds(0)) return self->fail("Renew: TerminationTime is not in the future");
        ++self->renewals_;
        self->delivered();
        self->schedule_renew(*r);
      });
}

void SubscriptionBase::fail(const std::string& reason) {
  if (stopping_) return;
  const auto gen = ++generation_;
  ++failures_;
  renew_timer_.cancel();
  control_->cancel();
  ended();
  ref_ = {};
  set_state(SubscriptionState::failed, reason);
  backoff_ =
      backoff_.count() == 0 ? options_.retry_min : std::min(options_.retry_max, backoff_ * 2);
  std::uniform_real_distribution<double> jitter(0.8, 1.2);
  auto wait = milliseconds(static_cast<std::int64_t>(backoff_.count() * jitter(rng_)));
  retry_timer_.expires_after(wait);
  retry_timer_.async_wait([self = shared_from_this(), gen](boost::system::error_code ec) {
    if (ec || !self->current(gen)) return;
    self->subscribe();
  });
}

void SubscriptionBase::stop(std::function<void()> done) {
  if (stopping_) {
    if (done) asio::post(executor_, std::move(done));
    return;
  }
  stopping_ = true;
  ++generation_;
  renew_timer_.cancel();
  retry_timer_.cancel();
  control_->cancel();
  ended();
  auto self = shared_from_this();
  auto finish = [self, done = std::move(done)]() mutable {
    self->state_ = SubscriptionState::stopped;
    if (self->on_state_) self->on_state_(SubscriptionState::stopped, "");
    self->on_events_ = nullptr;
    self->on_state_ = nullptr;
    self->forget();
    if (done) done();
  };
  if (ref_.address.empty()) return asio::post(executor_, std::move(finish));
  auto ref = ref_;
  ref_ = {};
  control_->call(
      ref.address,
      [self, ref](bool with_token) {
        return make_unsubscribe(with_token ? self->auth() : RequestAuth{}, ref);
      },
      true, [finish = std::move(finish)](Result<std::string>) mutable { finish(); });
}

}  // namespace zaulek::onvif
