#include "onvif/events/basic_subscription.h"

#include <boost/asio/post.hpp>

#include <algorithm>

#include "onvif/auth.h"

namespace zaulek::onvif {

namespace asio = boost::asio;
using std::chrono::milliseconds;

std::shared_ptr<BasicSubscription> BasicSubscription::create(
    asio::any_io_executor executor, std::string device_url, std::string events_url,
    Credentials credentials, SubscriptionOptions options, Clock& clock, OpenConsumer open_consumer,
    CloseConsumer close_consumer, OnEvents on_events, OnState on_state) {
  return std::shared_ptr<BasicSubscription>(
      new BasicSubscription(std::move(executor), std::move(device_url), std::move(events_url),
                            std::move(credentials), options, clock, std::move(open_consumer),
                            std::move(close_consumer), std::move(on_events), std::move(on_state)));
}

BasicSubscription::BasicSubscription(asio::any_io_executor executor, std::string device_url,
                                     std::string events_url, Credentials credentials,
                                     SubscriptionOptions options, Clock& clock,
                                     OpenConsumer open_consumer, CloseConsumer close_consumer,
                                     OnEvents on_events, OnState on_state)
    : executor_(executor),
      device_url_(std::move(device_url)),
      events_url_(std::move(events_url)),
      credentials_(credentials),
      options_(options),
      clock_(clock),
      open_consumer_(std::move(open_consumer)),
      close_consumer_(std::move(close_consumer)),
      on_events_(std::move(on_events)),
      on_state_(std::move(on_state)),
      control_(Client::create(executor, device_url_, credentials, {options.call_timeout}, clock)),
      renew_timer_(executor),
      retry_timer_(executor),
      rng_(std::random_device{}()) {}

RequestAuth BasicSubscription::auth() const {
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

void BasicSubscription::set_state(SubscriptionState s, const std::string& reason) {
  if (s == state_ && s != SubscriptionState::failed) return;
  state_ = s;
  if (on_state_) on_state_(s, reason);
}

void BasicSubscription::start() {
  stopping_ = false;
  subscribe();
}

void BasicSubscription::retire_consumer() {
  if (consumer_.empty()) return;
  if (close_consumer_) close_consumer_(consumer_);
  consumer_.clear();
}

void BasicSubscription::subscribe() {
  if (stopping_) return;
  const auto gen = ++generation_;
  set_state(SubscriptionState::subscribing, "");
  auto self = shared_from_this();
  control_->get_system_date_and_time([self, gen](Result<WallTime> t) {
    if (gen != self->generation_ || self->stopping_) return;
    if (!t) return self->fail("GetSystemDateAndTime: " + t.error().message);
    self->retire_consumer();
    self->consumer_ = self->open_consumer_ ? self->open_consumer_() : std::string();
    if (self->consumer_.empty())
      return self->fail("Subscribe: no consumer URL to give the camera (see events.notify_url)");
    auto lifetime = self->options_.lifetime;
    self->control_->call(
        self->events_url_,
        [self, lifetime, consumer = self->consumer_](bool with_token) {
          return make_subscribe(with_token ? self->auth() : RequestAuth{}, consumer, lifetime);
        },
        true,
        [self, gen, lifetime](Result<std::string> body) {
          if (gen != self->generation_ || self->stopping_) return;
          if (!body) return self->fail("Subscribe: " + body.error().message);
          auto r = parse_subscribe(*body, self->clock_.realtime(), lifetime);
          if (!r) return self->fail("Subscribe: " + r.error().message);
          if (r->lifetime <= milliseconds(0))
            return self->fail("Subscribe: TerminationTime is not in the future");
          self->ref_ = std::move(r->ref);
          ++self->subscriptions_;
          self->backoff_ = milliseconds(0);
          self->set_state(SubscriptionState::active, "");
          self->schedule_renew(r->lifetime);
        },
        Client::Idempotent::no);
  });
}

void BasicSubscription::deliver(const std::string& consumer_url,
                                std::vector<Notification> notifications) {
  if (stopping_ || consumer_url.empty() || consumer_url != consumer_) return;
  if (notifications.empty() || !on_events_) return;
  // A Notify may arrive before the SubscribeResponse does: the camera knows
  // the URL only from our Subscribe, so it is ours either way.
  const WallTime now = clock_.realtime();
  const auto offset = control_->clock_offset();
  std::vector<ReceivedEvent> out;
  out.reserve(notifications.size());
  for (const auto& n : notifications) {
    ReceivedEvent e{normalize(n), now};
    WallTime t;
    if (!n.utc_time.empty() && parse_rfc3339(n.utc_time, t)) e.time = t - offset;
    out.push_back(std::move(e));
  }
  notifications_ += out.size();
  on_events_(std::move(out));
}

void BasicSubscription::schedule_renew(milliseconds lifetime) {
  const auto gen = generation_;
  renew_timer_.expires_after(renew_after(lifetime));
  renew_timer_.async_wait([self = shared_from_this(), gen](boost::system::error_code ec) {
    if (ec || gen != self->generation_ || self->stopping_) return;
    self->renew();
  });
}

void BasicSubscription::renew() {
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

void BasicSubscription::fail(const std::string& reason) {
  if (stopping_) return;
  const auto gen = ++generation_;
  ++failures_;
  renew_timer_.cancel();
  control_->cancel();
  // The camera may still hold the old subscription (e.g. a Renew that timed
  // out): its URL is retired, so whatever it still sends there is refused.
  retire_consumer();
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

void BasicSubscription::stop(std::function<void()> done) {
  if (stopping_) {
    if (done) asio::post(executor_, std::move(done));
    return;
  }
  stopping_ = true;
  ++generation_;
  renew_timer_.cancel();
  retry_timer_.cancel();
  control_->cancel();
  retire_consumer();
  auto self = shared_from_this();
  auto finish = [self, done = std::move(done)]() mutable {
    self->state_ = SubscriptionState::stopped;
    if (self->on_state_) self->on_state_(SubscriptionState::stopped, "");
    self->on_events_ = nullptr;
    self->on_state_ = nullptr;
    self->open_consumer_ = nullptr;
    self->close_consumer_ = nullptr;
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
