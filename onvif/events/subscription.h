// One camera's ONVIF PullPoint subscription on Asio: CreatePullPointSubscription,
// a PullMessages long-poll loop (one pending operation, no thread), Renew
// before the TerminationTime, Unsubscribe on stop, and a fresh subscription
// after any failure (fault, timeout, lost connection, unreadable reply,
// subscription gone after a camera reboot) with capped, jittered backoff.
//
// Transport: onvif/client's Client::call (Beast, bounded replies, deadline
// per call, HTTP digest retry). Requests carry a WS-UsernameToken whose
// Created is on the camera's clock (GetSystemDateAndTime before each
// subscription). A subscription without reference parameters (no
// SubscriptionId) is addressed by its URL alone; when the camera sends some,
// they are echoed as SOAP headers.
//
// Threading: create it on a strand; every callback runs there. stop() must
// be called on that strand too; after its `done` nothing else is called.
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
  int message_limit = 100;
  std::chrono::milliseconds retry_min{500};
  std::chrono::milliseconds retry_max{30000};
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

class PullPointSubscription : public std::enable_shared_from_this<PullPointSubscription> {
 public:
  using OnEvents = std::function<void(std::vector<ReceivedEvent>)>;
  using OnState = std::function<void(SubscriptionState, const std::string& reason)>;

  // device_url: for GetSystemDateAndTime; events_url: the events service XAddr.
  static std::shared_ptr<PullPointSubscription> create(boost::asio::any_io_executor executor,
                                                       std::string device_url,
                                                       std::string events_url,
                                                       Credentials credentials,
                                                       SubscriptionOptions options, Clock& clock,
                                                       OnEvents on_events, OnState on_state);
  void start();
  // Cancels the pull, Unsubscribes (bounded by call_timeout), then `done`.
  void stop(std::function<void()> done = {});

  SubscriptionState state() const { return state_; }
  std::uint64_t subscriptions() const { return subscriptions_; }  // successful Creates
  std::uint64_t renewals() const { return renewals_; }
  std::uint64_t failures() const { return failures_; }

 private:
  PullPointSubscription(boost::asio::any_io_executor executor, std::string device_url,
                        std::string events_url, Credentials credentials,
                        SubscriptionOptions options, Clock& clock, OnEvents on_events,
                        OnState on_state);
  RequestAuth auth() const;
  void subscribe();
  void pull();
  void renew();
  void schedule_renew(std::chrono::milliseconds lifetime);
  void fail(const std::string& reason);
  void set_state(SubscriptionState s, const std::string& reason);

  boost::asio::any_io_executor executor_;
  std::string device_url_, events_url_;
  Credentials credentials_;
  SubscriptionOptions options_;
  Clock& clock_;
  OnEvents on_events_;
  OnState on_state_;
  std::shared_ptr<Client> control_, puller_;
  boost::asio::steady_timer renew_timer_, retry_timer_;
  std::mt19937 rng_;
  SubscriptionState state_ = SubscriptionState::stopped;
  SubscriptionRef ref_;
  std::uint64_t generation_ = 0;  // bumps on failure/stop: older callbacks are ignored
  std::chrono::milliseconds backoff_{0};
  bool stopping_ = false;
  std::uint64_t subscriptions_ = 0, renewals_ = 0, failures_ = 0;
};

}  // namespace zaulek::onvif
