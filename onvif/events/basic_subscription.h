// One camera's ONVIF Basic Notification subscription (WS-BaseNotification)
// on Asio, for cameras without a PullPoint: wsnt:Subscribe with our
// consumer URL as ConsumerReference and an InitialTerminationTime, Renew
// before the TerminationTime, Unsubscribe on stop, and a fresh subscription
// after any failure (fault, timeout, lost connection, unreadable reply)
// with capped, jittered backoff — the life it shares with
// PullPointSubscription (subscription_base.h), except that the camera POSTs
// wsnt:Notify to us instead of being polled.
//
// The consumer side is not here (onvif/ knows nothing of our HTTP server):
// before each Subscribe, `open_consumer` gives a fresh consumer URL (the
// server puts a new random token into it), and `close_consumer` retires it
// when that subscription ends (failure, stop). The server hands what
// arrives at a URL to deliver() on this subscription's strand; notifications
// for a URL that is no longer current are dropped (a late Notify of a
// subscription we gave up on).
//
// Threading: create it on a strand; every callback runs there. stop() and
// deliver() must be called on that strand too.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "onvif/events/subscription_base.h"

namespace zaulek::onvif {

class BasicSubscription final : public SubscriptionBase {
 public:
  using OpenConsumer = std::function<std::string()>;  // "" = none available (a failure)
  using CloseConsumer = std::function<void(const std::string& url)>;

  static std::shared_ptr<BasicSubscription> create(boost::asio::any_io_executor executor,
                                                   std::string device_url, std::string events_url,
                                                   Credentials credentials,
                                                   SubscriptionOptions options, Clock& clock,
                                                   OpenConsumer open_consumer,
                                                   CloseConsumer close_consumer, OnEvents on_events,
                                                   OnState on_state);
  // Notifications that arrived at `consumer_url` (ignored unless current).
  void deliver(const std::string& consumer_url, std::vector<Notification> notifications);

  const std::string& consumer_url() const { return consumer_; }
  std::uint64_t notifications() const { return notifications_; }

 private:
  BasicSubscription(boost::asio::any_io_executor executor, std::string device_url,
                    std::string events_url, Credentials credentials, SubscriptionOptions options,
                    Clock& clock, OpenConsumer open_consumer, CloseConsumer close_consumer,
                    OnEvents on_events, OnState on_state);
  std::shared_ptr<BasicSubscription> self() {
    return std::static_pointer_cast<BasicSubscription>(shared_from_this());
  }
  void send_subscribe(std::uint64_t gen) override;
  // The camera may still hold the old subscription (e.g. a Renew that timed
  // out): its URL is retired, so whatever it still sends there is refused.
  void ended() override;
  void forget() override;

  OpenConsumer open_consumer_;
  CloseConsumer close_consumer_;
  std::string consumer_;  // the consumer URL of the current subscription
  std::uint64_t notifications_ = 0;
};

}  // namespace zaulek::onvif
