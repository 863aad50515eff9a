#include "onvif/events/subscription.h"

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

std::shared_ptr<PullPointSubscription> PullPointSubscription::create(
    asio::any_io_executor executor, std::string device_url, std::string events_url,
    Credentials credentials, SubscriptionOptions options, Clock& clock, OnEvents on_events,
    OnState on_state) {
  return std::shared_ptr<PullPointSubscription>(new PullPointSubscription(
      std::move(executor), std::move(device_url), std::move(events_url), std::move(credentials),
      options, clock, std::move(on_events), std::move(on_state)));
}

PullPointSubscription::PullPointSubscription(asio::any_io_executor executor, std::string device_url,
                                             std::string events_url, Credentials credentials,
                                             SubscriptionOptions options, Clock& clock,
                                             OnEvents on_events, OnState on_state)
    : executor_(executor),
      device_url_(std::move(device_url)),
      events_url_(std::move(events_url)),
      credentials_(credentials),
      options_(options),
      clock_(clock),
      on_events_(std::move(on_events)),
      on_state_(std::move(on_state)),
      control_(Client::create(executor, device_url_, credentials, {options.call_timeout}, clock)),
      puller_(Client::create(executor, device_url_, credentials,
                             {options.pull_timeout + options.call_timeout}, clock)),
      renew_timer_(executor),
      retry_timer_(executor),
      rng_(std::random_device{}()) {}

RequestAuth PullPointSubscription::auth() const {
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

void PullPointSubscription::set_state(SubscriptionState s, const std::string& reason) {
  if (s == state_ && s != SubscriptionState::failed) return;
  state_ = s;
  if (on_state_) on_state_(s, reason);
}

void PullPointSubscription::start() {
  stopping_ = false;
  subscribe();
}

void PullPointSubscription::subscribe() {
  if (stopping_) return;
  const auto gen = ++generation_;
  set_state(SubscriptionState::subscribing, "");
  auto self = shared_from_this();
  control_->get_system_date_and_time([self, gen](Result<WallTime> t) {
    if (gen != self->generation_ || self->stopping_) return;
    if (!t) return self->fail("GetSystemDateAndTime: " + t.error().message);
    auto lifetime = self->options_.lifetime;
    self->control_->call(
        self->events_url_,
        [self, lifetime](bool with_token) {
          return make_create_pull_point(with_token ? self->auth() : RequestAuth{}, lifetime);
        },
        true,
        [self, gen](Result<std::string> body) {
          if (gen != self->generation_ || self->stopping_) return;
          if (!body) return self->fail("CreatePullPointSubscription: " + body.error().message);
          auto r = parse_create_pull_point(*body, self->clock_.realtime());
          if (!r) return self->fail("CreatePullPointSubscription: " + r.error().message);
          if (r->lifetime <= milliseconds(0))
            return self->fail("CreatePullPointSubscription: TerminationTime is not in the future");
          self->ref_ = std::move(r->ref);
          ++self->subscriptions_;
          self->backoff_ = milliseconds(0);
          self->set_state(SubscriptionState::active, "");
          self->schedule_renew(r->lifetime);
          self->pull();
        },
        Client::Idempotent::no);
  });
}

void PullPointSubscription::pull() {
  if (stopping_) return;
  const auto gen = generation_;
  auto self = shared_from_this();
  puller_->call(
      ref_.address,
      [self](bool with_token) {
        return make_pull_messages(with_token ? self->auth() : RequestAuth{}, self->ref_,
                                  self->options_.pull_timeout, self->options_.message_limit);
      },
      true,
      [self, gen](Result<std::string> body) {
        if (gen != self->generation_ || self->stopping_) return;
        if (!body) return self->fail("PullMessages: " + body.error().message);
        const WallTime now = self->clock_.realtime();
        auto r = parse_pull_messages(*body, now);
        if (!r) return self->fail("PullMessages: " + r.error().message);
        if (!r->notifications.empty() && self->on_events_) {
          std::vector<ReceivedEvent> out;
          out.reserve(r->notifications.size());
          const auto offset = self->control_->clock_offset();
          for (const auto& n : r->notifications) {
            ReceivedEvent e{normalize(n), now};
            WallTime t;
            if (!n.utc_time.empty() && parse_rfc3339(n.utc_time, t)) e.time = t - offset;
            out.push_back(std::move(e));
          }
          self->on_events_(std::move(out));
          if (gen != self->generation_ || self->stopping_) return;
        }
        self->pull();
      });
}

void PullPointSubscription::schedule_renew(milliseconds lifetime) {
  const auto gen = generation_;
  renew_timer_.expires_after(renew_after(lifetime));
  renew_timer_.async_wait([self = shared_from_this(), gen](boost::system::error_code ec) {
    if (ec || gen != self->generation_ || self->stopping_) return;
    self->renew();
  });
}

void PullPointSubscription::renew() {
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
        if (gen != self->generation_ || self->stopping_) return;
        if (!body) return self->fail("Renew: " + body.error().message);
        auto r = parse_renew(*body, self->clock_.realtime());
        if (!r) return self->fail("Renew: " + r.error().message);
        if (*r <= milliseconds(0)) return self->fail("Renew: TerminationTime is not in the future");
        ++self->renewals_;
        self->schedule_renew(*r);
      });
}

void PullPointSubscription::fail(const std::string& reason) {
  if (stopping_) return;
  const auto gen = ++generation_;
  ++failures_;
  renew_timer_.cancel();
  puller_->cancel();
  control_->cancel();
  ref_ = {};
  set_state(SubscriptionState::failed, reason);
  backoff_ =
      backoff_.count() == 0 ? options_.retry_min : std::min(options_.retry_max, backoff_ * 2);
  std::uniform_real_distribution<double> jitter(0.8, 1.2);
  auto wait = milliseconds(static_cast<std::int64_t>(backoff_.count() * jitter(rng_)));
  retry_timer_.expires_after(wait);
  retry_timer_.async_wait([self = shared_from_this(), gen](boost::system::error_code ec) {
    if (ec || gen != self->generation_ || self->stopping_) return;
    self->subscribe();
  });
}

void PullPointSubscription::stop(std::function<void()> done) {
  if (stopping_) {
    if (done) asio::post(executor_, std::move(done));
    return;
  }
  stopping_ = true;
  ++generation_;
  renew_timer_.cancel();
  retry_timer_.cancel();
  puller_->cancel();
  control_->cancel();
  auto self = shared_from_this();
  auto finish = [self, done = std::move(done)]() mutable {
    self->state_ = SubscriptionState::stopped;
    if (self->on_state_) self->on_state_(SubscriptionState::stopped, "");
    self->on_events_ = nullptr;
    self->on_state_ = nullptr;
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
