// One camera's ONVIF Basic Notification subscription (WS-BaseNotification)
// on Asio, for cameras without a PullPoint: wsnt:Subscribe with our
// consumer URL as ConsumerReference and an InitialTerminationTime, Renew
// before the TerminationTime, Unsubscribe on stop, and a fresh subscription
// after any failure (fault, timeout, lost connection, unreadable reply)
// with capped, jittered backoff — the same life as PullPointSubscription,
// except that the camera POSTs wsnt:Notify to us instead of being polled.
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

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>

#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "onvif/events/subscription.h"

namespace zaulek::onvif {

class BasicSubscription : public std::enable_shared_from_this<BasicSubscription> {
 public:
  using OnEvents = PullPointSubscription::OnEvents;
  using OnState = PullPointSubscription::OnState;
  using OpenConsumer = std::function<std::string()>;  // "" = none available (a failure)
  using CloseConsumer = std::function<void(const std::string& url)>;

  static std::shared_ptr<BasicSubscription> create(boost::asio::any_io_executor executor,
                                                   std::string device_url, std::string events_url,
                                                   Credentials credentials,
                                                   SubscriptionOptions options, Clock& clock,
                                                   OpenConsumer open_consumer,
                                                   CloseConsumer close_consumer, OnEvents on_events,
                                                   OnState on_state);
  void start();
  // Unsubscribes (bounded by call_timeout), retires the consumer URL, then `done`.
  void stop(std::function<void()> done = {});
  // Notifications that arrived at `consumer_url` (ignored unless current and active).
  void deliver(const std::string& consumer_url, std::vector<Notification> notifications);

  SubscriptionState state() const { return state_; }
  const std::string& consumer_url() const { return consumer_; }
  std::uint64_t subscriptions() const { return subscriptions_; }
  std::uint64_t renewals() const { return renewals_; }
  std::uint64_t failures() const { return failures_; }
  std::uint64_t notifications() const { return notifications_; }

 private:
  BasicSubscription(boost::asio::any_io_executor executor, std::string device_url,
                    std::string events_url, Credentials credentials, SubscriptionOptions options,
                    Clock& clock, OpenConsumer open_consumer, CloseConsumer close_consumer,
                    OnEvents on_events, OnState on_state);
  RequestAuth auth() const;
  void subscribe();
  void renew();
  void schedule_renew(std::chrono::milliseconds lifetime);
  void fail(const std::string& reason);
  void retire_consumer();
  void set_state(SubscriptionState s, const std::string& reason);

  boost::asio::any_io_executor executor_;
  std::string device_url_, events_url_;
  Credentials credentials_;
  SubscriptionOptions options_;
  Clock& clock_;
  OpenConsumer open_consumer_;
  CloseConsumer close_consumer_;
  OnEvents on_events_;
  OnState on_state_;
  std::shared_ptr<Client> control_;
  boost::asio::steady_timer renew_timer_, retry_timer_;
  std::mt19937 rng_;
  SubscriptionState state_ = SubscriptionState::stopped;
  SubscriptionRef ref_;
  std::string consumer_;          // the consumer URL of the current subscription
  std::uint64_t generation_ = 0;  // bumps on failure/stop: older callbacks are ignored
  std::chrono::milliseconds backoff_{0};
  bool stopping_ = false;
  std::uint64_t subscriptions_ = 0, renewals_ = 0, failures_ = 0, notifications_ = 0;
};

}  // namespace zaulek::onvif
