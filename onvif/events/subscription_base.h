// What a PullPoint subscription (subscription.h) and a Basic Notification
// subscription (basic_subscription.h) share: the subscription's life. Renew
// before the TerminationTime; after any failure, a fresh subscription with
// capped, jittered backoff; Unsubscribe on stop; state changes and
// counters; WS-UsernameToken on the camera's clock; notifications turned
// into ReceivedEvents. A subclass only says how it subscribes and what else
// it cancels when a subscription ends.
//
// Backoff: retry_min doubling to retry_max (x0.8..1.2 jitter) per failure.
// A successful subscribe does not reset it (a camera that accepts Create
// and then faults every PullMessages would otherwise be called every
// retry_min forever); only a subscription that has been active for
// healthy_after and still delivers (a pull, a Notify or a Renew succeeds)
// resets it.
//
// Threading: create it on a strand; every callback runs there. start() and
// stop() must be called on that strand too; after stop's `done` nothing
// else is called.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "core/clock.h"
#include "onvif/client/client.h"
#include "onvif/events/normalize.h"
#include "onvif/events/replies.h"

namespace zaulek::onvif {

struct SubscriptionOptions {
  std::chrono::milliseconds lifetime{60000};     // InitialTerminationTime / Renew
  std::chrono::milliseconds pull_timeout{5000};  // PullMessages Timeout (long-poll)
  std::chrono::milliseconds call_timeout{5000};  // every other call; pulls get pull_timeout + this
  int message_limit = 100;  // PullMessages MessageLimit; a longer reply is cut to it
  // A PullMessages reply that comes back sooner than this after the pull
  // started, empty or with MessageLimit notifications, makes the next pull
  // wait for the rest (a camera answering at once is not called thousands
  // of times a second). A reply with some events but fewer than the limit
  // waits only for busy_pull_interval: a camera with a few events a second
  // keeps its latency, and each such pull brings under message_limit
  // notifications, so the notifications read per second stay bounded alike.
  std::chrono::milliseconds min_pull_interval{100};
  std::chrono::milliseconds busy_pull_interval{10};
  std::chrono::milliseconds retry_min{500};
  std::chrono::milliseconds retry_max{60000};
  std::chrono::milliseconds healthy_after{60000};  // delivering this long resets the backoff
};

// The renew deadline for a subscription with `lifetime` left: a fifth of it
// before the end, at least 1 s and at most 10 s early (never negative).
std::chrono::milliseconds renew_after(std::chrono::milliseconds lifetime);

struct ReceivedEvent {
  NormalizedEvent event;
  WallTime time;  // the camera's UtcTime moved to our clock; receipt time if unreadable
};

enum class SubscriptionState { subscribing, active, failed, stopped };
std::string_view to_string(SubscriptionState state);

class SubscriptionBase : public std::enable_shared_from_this<SubscriptionBase> {
 public:
  using OnEvents = std::function<void(std::vector<ReceivedEvent>)>;
  using OnState = std::function<void(SubscriptionState, const std::string& reason)>;

  virtual ~SubscriptionBase() = default;
  void start();
  // Cancels what is pending, Unsubscribes (bounded by call_timeout), then `done`.
  void stop(std::function<void()> done = {});

  SubscriptionState state() const { return state_; }
  std::uint64_t subscriptions() const { return subscriptions_; }  // successful subscribes
  std::uint64_t renewals() const { return renewals_; }
  std::uint64_t failures() const { return failures_; }
  // The wait before the next re-subscribe (0 once healthy; see above).
  std::chrono::milliseconds backoff() const { return backoff_; }
  // Notifications a camera sent beyond the MessageLimit we asked for, cut
  // off and not delivered (the caller counts them as suppressed).
  std::uint64_t excess() const { return excess_; }

 protected:
  SubscriptionBase(boost::asio::any_io_executor executor, std::string device_url,
                   std::string events_url, Credentials credentials, SubscriptionOptions options,
                   Clock& clock, OnEvents on_events, OnState on_state);

  // The subclass's subscribe call (CreatePullPointSubscription, Subscribe),
  // once the camera's clock is known; it ends in subscribed() or fail().
  // `gen` is this attempt's generation (see current()).
  virtual void send_subscribe(std::uint64_t gen) = 0;
  // What else a subscription's end (failure or stop) cancels.
  virtual void ended() {}
  // Handlers the subclass drops once stopped.
  virtual void forget() {}

  RequestAuth auth() const;
  void set_state(SubscriptionState s, const std::string& reason);
  // The camera accepted: remember it, Renew in time (the backoff stays).
  void subscribed(SubscriptionRef ref, std::chrono::milliseconds lifetime);
  // The subscription works (a pull, a Notify or a Renew succeeded): resets
  // the backoff once it has been active for healthy_after.
  void delivered();
  void fail(const std::string& reason);
  // Camera times (UtcTime) moved to our clock; `now` where there is none.
  std::vector<ReceivedEvent> received(const std::vector<Notification>& notifications,
                                      WallTime now) const;
  bool current(std::uint64_t gen) const { return gen == generation_ && !stopping_; }

  boost::asio::any_io_executor executor_;
  std::string device_url_, events_url_;
  Credentials credentials_;
  SubscriptionOptions options_;
  Clock& clock_;
  OnEvents on_events_;
  OnState on_state_;
  std::shared_ptr<Client> control_;
  SubscriptionRef ref_;
  std::uint64_t generation_ = 0;  // bumps on failure/stop: older callbacks are ignored
  bool stopping_ = false;
  std::uint64_t excess_ = 0;

 private:
  void subscribe();
  void schedule_renew(std::chrono::milliseconds lifetime);
  void renew();

  boost::asio::steady_timer renew_timer_, retry_timer_;
  std::mt19937 rng_;
  SubscriptionState state_ = SubscriptionState::stopped;
  std::chrono::milliseconds backoff_{0};
  MonoTime active_since_{};
  std::uint64_t subscriptions_ = 0, renewals_ = 0, failures_ = 0;
};

}  // namespace zaulek::onvif
