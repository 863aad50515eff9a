// The WebSocket hub: other modules publish JSON messages; every console
// session whose role may see them receives them. One stream per role, each
// with its own sequence number growing by one per message, so that a console
// sees seq without gaps and can ask for what it missed ({"type":"resume"}).
// Each message is serialized once per stream and shared by all sessions.
//
// Threading: all hub state lives on the hub's strand; publish() may be called
// from any thread. Subscribers must not block in deliver(): they post to
// their own strand.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>
#include <nlohmann/json_fwd.hpp>

#include <array>
#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/role.h"

namespace zaulek::server {

using SharedMessage = std::shared_ptr<const std::string>;

class HubSubscriber {
 public:
  virtual ~HubSubscriber() = default;
  // Runs on the hub's strand: must only queue/post, never block.
  virtual void deliver(SharedMessage message) = 0;
  // Service shutdown: close with 1001 (going away).
  virtual void going_away() = 0;
};

struct ReplayResult {
  std::vector<SharedMessage> messages;  // in seq order
  std::uint64_t oldest = 0;             // oldest seq still in the ring (0: ring empty)
  bool complete = true;                 // false: some requested messages already left the ring
};

class Hub {
 public:
  explicit Hub(boost::asio::io_context& ioc, std::size_t ring_size = 1024);

  // Adds {"type": type, "seq": n} to `fields` (an object) and sends it to the
  // streams of the roles in `audience`.
  void publish(std::string type, nlohmann::json fields, RoleSet audience = RoleSet::all());

  // `done(last_seq)` runs on the hub strand once subscribed: every later
  // message of this role's stream will be delivered live.
  void subscribe(std::weak_ptr<HubSubscriber> subscriber, Role role,
                 std::function<void(std::uint64_t last_seq)> done);
  void unsubscribe(const HubSubscriber* subscriber, Role role);
  // Messages of `role`'s stream with after < seq <= upto.
  void replay(Role role, std::uint64_t after, std::uint64_t upto,
              std::function<void(ReplayResult)> done);
  // Tells every subscriber to close (service shutdown); new subscribers are refused.
  void shutdown();

  std::uint64_t published() const { return published_; }
  std::size_t sessions() const { return sessions_; }

 private:
  struct Stream {
    std::uint64_t seq = 0;
    std::deque<std::pair<std::uint64_t, SharedMessage>> ring;
    std::vector<std::weak_ptr<HubSubscriber>> subscribers;
  };
  Stream& stream(Role role);

  boost::asio::strand<boost::asio::io_context::executor_type> strand_;
  std::size_t ring_size_;
  std::array<Stream, 3> streams_;
  bool stopped_ = false;
  std::atomic<std::uint64_t> published_{0};
  std::atomic<std::size_t> sessions_{0};
};

}  // namespace zaulek::server
