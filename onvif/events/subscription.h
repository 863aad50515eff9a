// One camera's ONVIF PullPoint subscription on Asio: CreatePullPointSubscription,
// a PullMessages long-poll loop (one pending operation, no thread), Renew
// before the TerminationTime, Unsubscribe on stop, and a fresh subscription
// after any failure (fault, timeout, lost connection, unreadable reply,
// subscription gone after a camera reboot) with capped, jittered backoff
// (the life it shares with BasicSubscription is in subscription_base.h).
//
// Budget: a reply with more notifications than the MessageLimit we asked
// for is cut to the limit and the rest counted (excess()), not treated as a
// failure: re-subscribing would only meet the same camera again, and its
// first `limit` events still arrive. After an empty or full reply the next
// pull starts no sooner than min_pull_interval after the previous one
// started, after a partial one busy_pull_interval (a timer on the strand),
// so a camera that answers at once is pulled a bounded number of times.
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

#include <memory>
#include <string>

#include "onvif/events/subscription_base.h"

namespace zaulek::onvif {

class PullPointSubscription final : public SubscriptionBase {
 public:
  // device_url: for GetSystemDateAndTime; events_url: the events service XAddr.
  static std::shared_ptr<PullPointSubscription> create(boost::asio::any_io_executor executor,
                                                       std::string device_url,
                                                       std::string events_url,
                                                       Credentials credentials,
                                                       SubscriptionOptions options, Clock& clock,
                                                       OnEvents on_events, OnState on_state);

 private:
  PullPointSubscription(boost::asio::any_io_executor executor, std::string device_url,
                        std::string events_url, Credentials credentials,
                        SubscriptionOptions options, Clock& clock, OnEvents on_events,
                        OnState on_state);
  std::shared_ptr<PullPointSubscription> self() {
    return std::static_pointer_cast<PullPointSubscription>(shared_from_this());
  }
  void send_subscribe(std::uint64_t gen) override;
  void ended() override;
  void pull();
  void pull_later(std::chrono::milliseconds interval);  // pull(), `interval` after the last

  std::shared_ptr<Client> puller_;  // its own connection: the long-poll blocks it
  boost::asio::steady_timer pace_timer_;
  MonoTime pull_started_{};
};

}  // namespace zaulek::onvif
