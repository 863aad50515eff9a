// The WebSocket hub: other modules publish JSON messages; every console
// session whose audience may see them receives them.
//
// Streams per audience: an audience is a role and, for a user restricted to
// some cameras (server/security/visibility.h), that set of cameras. Sessions of the
// same audience share one stream: its sequence number, growing by one per
// message of that stream, so that a console sees seq without gaps and can ask
// for what it missed ({"type":"resume"}); its replay ring; and its serialized
// messages (each message is serialized once per stream and shared by all the
// stream's sessions: the cost is per stream, not per session).
//
// A message about a camera goes to the streams of its roles that may see the
// camera; a message without a camera (e.g. audit) to every stream of its roles.
// The three unrestricted role streams live for the whole run; a restricted
// stream is made when its first session subscribes (at most max_streams of
// them; beyond, the subscription is refused) and dropped once it has had no
// session for idle_ttl (a console resuming it later gets complete = false and
// reloads). A new stream's seq starts at the number of messages published so
// far, so it is never below any seq another stream gave out: a console that
// resumes across a dropped stream always sees the gap.
//
// Threading: all hub state lives on the hub's strand; publish() may be called
// from any thread. Subscribers must not block in deliver(): they post to
// their own strand. Subscribers that share a strand (a "lane": plain
// WebSocket consoles are spread over one lane per I/O thread) get one post per
// lane and message, whose handler hands the message to each of them in turn
// (deliver_here): with 200 consoles that is 2 posts per message, not 200.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>
#include <nlohmann/json_fwd.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/clock.h"
#include "core/role.h"

namespace zaulek::server {

using SharedMessage = std::shared_ptr<const std::string>;
using Lane = boost::asio::strand<boost::asio::io_context::executor_type>;

class HubSubscriber {
 public:
  virtual ~HubSubscriber() = default;
  // Runs on the hub's strand: must only queue/post, never block.
  virtual void deliver(SharedMessage message) = 0;
  // The strand every handler of this subscriber runs on, when it shares one
  // with other subscribers (read once, at subscribe; must outlive the hub's
  // use of it); nullptr: the hub calls deliver() instead.
  virtual const Lane* lane() const { return nullptr; }
  // Runs on lane(): queue the message (as deliver() would, without the post).
  virtual void deliver_here(const SharedMessage& message) { deliver(message); }
  // Service shutdown: close with 1001 (going away).
  virtual void going_away() = 0;
  // The user's visible cameras changed (or the stream was refused): close
  // with `reason`, so that the console reconnects with its new audience.
  virtual void revoked(std::string reason) = 0;
};

// Why a console's WebSocket was closed with 1008 (policy violation): one
// reason per cause, documented in docs/events.md and the OpenAPI.
namespace close_reason {
inline constexpr const char* kLoggedOut = "logged out";
inline constexpr const char* kSessionExpired = "session expired";
inline constexpr const char* kSessionRevoked = "session revoked";
inline constexpr const char* kPasswordChanged = "password changed";
inline constexpr const char* kUserDisabled = "account disabled";
inline constexpr const char* kCamerasChanged = "visible cameras changed; reconnect";
inline constexpr const char* kRoleChanged = "role changed; reconnect";
// The session left the catalogue without this daemon ending it (the command
// line's user passwd or user disable while zaulekd runs).
inline constexpr const char* kSessionEnded = "session ended";
}  // namespace close_reason

// Who a stream is for. `cameras`: sorted, no duplicates; nullopt = every camera.
struct Audience {
  Role role = Role::operator_;
  std::optional<std::vector<std::string>> cameras;
  bool operator==(const Audience&) const = default;
};

// Whose session it is. `authenticated`: when its user's row was read, on the
// hub's Clock (see close_user); the default, the epoch, is never refused.
// `session_id`: the login session (catalogue id) it was opened with, for
// close_session; 0: none.
struct SessionUser {
  SessionUser(std::int64_t id = 0, std::chrono::steady_clock::time_point at = {},  // NOLINT
              std::int64_t session = 0)
      : user_id(id), authenticated(at), session_id(session) {}
  std::int64_t user_id;
  std::chrono::steady_clock::time_point authenticated;
  std::int64_t session_id;
};

struct Subscription {
  bool ok = false;
  std::uint64_t stream = 0;    // for replay() and unsubscribe()
  std::uint64_t last_seq = 0;  // every later message of the stream is delivered live
  std::string refused;         // why, when !ok
};

// How much of a stream's past the hub keeps for resume: always its last
// `keep` messages, and up to `most` while all streams' rings together hold
// less than `budget_bytes` (the restricted streams, up to kMaxStreams of
// them, would otherwise cost `most` each). A number alone is a fixed ring.
struct RingLimits {
  RingLimits(std::size_t fixed)
      : keep(fixed), most(fixed) {}  // NOLINT(google-explicit-constructor)
  RingLimits(std::size_t keep_, std::size_t most_, std::size_t budget)
      : keep(keep_), most(most_), budget_bytes(budget) {}
  std::size_t keep = 1024;
  std::size_t most = 1024;
  std::size_t budget_bytes = 0;
};

struct ReplayResult {
  std::vector<SharedMessage> messages;  // in seq order
  std::uint64_t oldest = 0;             // oldest seq still in the ring (0: ring empty)
  bool complete = true;                 // false: some requested messages already left the ring
};

class Hub {
 public:
  static constexpr std::size_t kMaxStreams = 256;
  static constexpr std::chrono::seconds kIdleTtl{300};
  // 1,024 messages per stream always; up to 8,192 (2 s at 4,000 messages/s,
  // more than a console's queue bound in server/app/service.cpp, so that a
  // console closed at that bound can still resume) within 64 MiB in all.
  static RingLimits default_ring() { return {1024, 8192, 64u << 20}; }

  // `clock`: idle streams' age, the prune throttle and close_user's time
  // (compared with SessionUser::authenticated, read from the same clock).
  explicit Hub(boost::asio::io_context& ioc, Clock& clock, RingLimits ring = default_ring(),
               std::size_t max_streams = kMaxStreams,
               std::chrono::steady_clock::duration idle_ttl = kIdleTtl);

  // Adds {"type": type, "seq": n} to `fields` (an object) and sends it to the
  // streams of the roles in `audience`; with a `camera_id`, only to those
  // that may see that camera. From an I/O thread with the hub's strand idle
  // the message is handed to the lanes before publish() returns (dispatch:
  // no wake-up of another thread); otherwise it is queued on the strand.
  void publish(std::string type, nlohmann::json fields, RoleSet audience = RoleSet::all(),
               std::string camera_id = {});
  // The same for a message that names several cameras (an audit entry about
  // a user's camera set, a rule): only to the streams that may see all of them.
  void publish_about(std::string type, nlohmann::json fields, RoleSet audience,
                     std::vector<std::string> cameras);

  // `done` runs on the hub strand. `user` lets close_user() find the session.
  void subscribe(std::weak_ptr<HubSubscriber> subscriber, Audience audience, SessionUser user,
                 std::function<void(Subscription)> done);
  void unsubscribe(const HubSubscriber* subscriber, std::uint64_t stream);
  // Messages of `stream` with after < seq <= upto; complete = false when some
  // left the ring, the stream no longer exists, or after > upto (the console
  // counted on another stream).
  void replay(std::uint64_t stream, std::uint64_t after, std::uint64_t upto,
              std::function<void(ReplayResult)> done);
  // Every session of the user is told revoked(reason); so is every later
  // subscription of the user authenticated before now (it may carry the
  // audience from before the change that made the caller close them).
  void close_user(std::int64_t user_id, std::string reason);
  // Every WebSocket opened with that login session is told revoked(reason)
  // (logout, revocation); so is a later subscription with it (a WebSocket
  // authenticated just before the session ended). The hub remembers the
  // last kClosedSessions closed ids for that.
  void close_session(std::int64_t session_id, std::string reason);
  // A socket that takes no hub messages (a live view) but ends with its
  // login session all the same: close_user, close_session and shutdown reach
  // it as they reach subscribers; a session already closed is refused at
  // once (revoked). unwatch when the socket closes.
  void watch(std::weak_ptr<HubSubscriber> socket, SessionUser user);
  void unwatch(const HubSubscriber* socket);
  static constexpr std::size_t kClosedSessions = 4096;
  // The login sessions (ids, each once) that have a subscriber now; `done`
  // runs on the hub's strand: it must only post.
  void open_sessions(std::function<void(std::vector<std::int64_t>)> done);
  // Tells every subscriber to close (service shutdown); new subscribers are refused.
  void shutdown();

  // The unrestricted stream of a role (also for the calls below).
  static std::uint64_t role_stream(Role role);
  void subscribe(std::weak_ptr<HubSubscriber> subscriber, Role role,
                 std::function<void(std::uint64_t last_seq)> done);
  void unsubscribe(const HubSubscriber* subscriber, Role role) {
    unsubscribe(subscriber, role_stream(role));
  }
  void replay(Role role, std::uint64_t after, std::uint64_t upto,
              std::function<void(ReplayResult)> done) {
    replay(role_stream(role), after, upto, std::move(done));
  }

  std::uint64_t published() const { return published_; }
  std::size_t sessions() const { return sessions_; }
  std::size_t streams() const { return streams_count_; }  // restricted ones included
  std::size_t ring_bytes() const { return ring_bytes_; }  // any thread

 private:
  struct Subscriber {
    std::weak_ptr<HubSubscriber> ptr;
    std::int64_t user_id = 0;
    std::int64_t session_id = 0;
    const Lane* lane = nullptr;
  };
  // A stream's subscribers on one lane, as the lane's handler reads them: a
  // snapshot, remade when the stream's subscribers change (rarely), shared
  // by every message's handler meanwhile.
  struct LaneMembers {
    const Lane* lane = nullptr;
    std::shared_ptr<const std::vector<std::weak_ptr<HubSubscriber>>> members;
  };
  struct Stream {
    std::uint64_t id = 0;
    Audience audience;
    bool permanent = false;
    std::uint64_t seq = 0;
    std::deque<std::pair<std::uint64_t, SharedMessage>> ring;
    std::vector<Subscriber> subscribers;  // all, laned or not
    std::vector<LaneMembers> lanes;
    std::size_t direct = 0;  // subscribers without a lane
    std::chrono::steady_clock::time_point idle_since;
  };
  Stream* find(std::uint64_t id);
  void drop_idle(std::chrono::steady_clock::time_point now, bool throttled);
  // After a change to s.subscribers: remakes s.lanes, s.direct and, when it
  // has none left, s.idle_since (callers count sessions_).
  void subscribers_changed(Stream& s, std::chrono::steady_clock::time_point now);
  // Subscribers gone without unsubscribing, from every stream: throttled, at
  // most once a second (a lane's are not locked at publish, so publish
  // cannot notice them); at once when publish found a direct one gone.
  void prune_dead(std::chrono::steady_clock::time_point now, bool throttled);

  boost::asio::strand<boost::asio::io_context::executor_type> strand_;
  Clock& clock_;
  RingLimits ring_;
  std::size_t max_streams_;
  std::chrono::steady_clock::duration idle_ttl_;
  std::vector<std::unique_ptr<Stream>> streams_;  // the role streams first, then restricted ones
  // user -> (when close_user ran, why): bounded by the number of users.
  std::unordered_map<std::int64_t, std::pair<std::chrono::steady_clock::time_point, std::string>>
      closed_users_;
  // Sessions closed (id -> why), oldest first in closed_order_: bounded by
  // kClosedSessions. A session id is never reused (storage AUTOINCREMENT).
  std::unordered_map<std::int64_t, std::string> closed_sessions_;
  std::deque<std::int64_t> closed_order_;
  std::vector<Subscriber> watchers_;  // watch(): no lane, no stream
  // The reason `user` may not (or no longer) keep a socket open; empty if it may.
  std::string closed_reason(const SessionUser& user) const;
  std::uint64_t next_id_ = 4;
  std::chrono::steady_clock::time_point last_sweep_{};
  std::chrono::steady_clock::time_point last_prune_{};
  bool stopped_ = false;
  std::atomic<std::uint64_t> published_{0};
  std::atomic<std::size_t> sessions_{0};
  std::atomic<std::size_t> streams_count_{3};
  // Every stream's ring, estimated (text + bookkeeping); changed on strand_ only.
  std::atomic<std::size_t> ring_bytes_{0};
};

}  // namespace zaulek::server
