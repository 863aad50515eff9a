#include "onvif/events/basic_subscription.h"

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
    : SubscriptionBase(std::move(executor), std::move(device_url), std::move(events_url),
                       std::move(credentials), options, clock, std::move(on_events),
                       std::move(on_state)),
      open_consumer_(std::move(open_consumer)),
      close_consumer_(std::move(close_consumer)) {}

void BasicSubscription::ended() {
  if (consumer_.empty()) return;
  if (close_consumer_) close_consumer_(consumer_);
  consumer_.clear();
}

void BasicSubscription::forget() {
  open_consumer_ = nullptr;
  close_consumer_ = nullptr;
}

void BasicSubscription::send_subscribe(std::uint64_t gen) {
  ended();  // a consumer URL is never reused across subscriptions
  consumer_ = open_consumer_ ? open_consumer_() : std::string();
  if (consumer_.empty())
    return fail("Subscribe: no consumer URL to give the camera (see events.notify_url)");
  auto self = this->self();
  auto lifetime = options_.lifetime;
  control_->call(
      events_url_,
      [self, lifetime, consumer = consumer_](bool with_token) {
        return make_subscribe(with_token ? self->auth() : RequestAuth{}, consumer, lifetime);
      },
      true,
      [self, gen, lifetime](Result<std::string> body) {
        if (!self->current(gen)) return;
        if (!body) return self->fail("Subscribe: " + body.error().message);
        auto r = parse_subscribe(*body, self->clock_.realtime(), lifetime);
        if (!r) return self->fail("Subscribe: " + r.error().message);
        if (r->lifetime <= milliseconds(0))
          return self->fail("Subscribe: TerminationTime is not in the future");
        self->subscribed(std::move(r->ref), r->lifetime);
      },
      Client::Idempotent::no);
}

void BasicSubscription::deliver(const std::string& consumer_url,
                                std::vector<Notification> notifications) {
  if (stopping_ || consumer_url.empty() || consumer_url != consumer_) return;
  if (notifications.empty() || !on_events_) return;
  // A Notify may arrive before the SubscribeResponse does: the camera knows
  // the URL only from our Subscribe, so it is ours either way.
  auto out = received(notifications, clock_.realtime());
  notifications_ += out.size();
  delivered();
  on_events_(std::move(out));
}

}  // namespace zaulek::onvif
