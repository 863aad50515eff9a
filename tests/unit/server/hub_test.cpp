// The hub on a real io_context: per-role streams, seq without gaps, one
// serialization shared by every session, bounded ring and replay, shutdown.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>

#include <chrono>

#include "core/clock.h"
#include "server/hub/hub.h"

namespace zaulek::server {
namespace {

struct Recorder : HubSubscriber {
  std::vector<SharedMessage> got;
  bool gone = false;
  std::string revoked_reason;
  void deliver(SharedMessage m) override { got.push_back(std::move(m)); }
  void going_away() override { gone = true; }
  void revoked(std::string reason) override { revoked_reason = std::move(reason); }
};

// A subscriber sharing a strand with others: the hub hands it messages on
// that strand (deliver_here), never through deliver().
struct LaneRecorder : HubSubscriber {
  explicit LaneRecorder(const Lane& l) : lane_(l) {}
  const Lane& lane_;
  std::vector<SharedMessage> got;
  int posted = 0, off_lane = 0;
  const Lane* lane() const override { return &lane_; }
  void deliver_here(const SharedMessage& m) override {
    if (!lane_.running_in_this_thread()) ++off_lane;
    got.push_back(m);
  }
  void deliver(SharedMessage) override { ++posted; }
  void going_away() override {}
  void revoked(std::string) override {}
};

nlohmann::json parse(const SharedMessage& m) {
  return nlohmann::json::parse(*m);
}

TEST(Hub, PerRoleStreamsAndSharedSerialization) {
  boost::asio::io_context ioc;
  FakeClock clock;
  Hub hub(ioc, clock, 4);
  auto op1 = std::make_shared<Recorder>(), op2 = std::make_shared<Recorder>(),
       admin = std::make_shared<Recorder>();
  std::uint64_t start = 99;
  hub.subscribe(op1, Role::operator_, [&](std::uint64_t s) { start = s; });
  hub.subscribe(op2, Role::operator_, [](std::uint64_t) {});
  hub.subscribe(admin, Role::administrator, [](std::uint64_t) {});
  ioc.run();
  ioc.restart();
  EXPECT_EQ(start, 0u);
  EXPECT_EQ(hub.sessions(), 3u);

  hub.publish("event", {{"kind", "motion"}});
  hub.publish("audit", {{"action", "user.create"}}, RoleSet{Role::administrator});
  hub.publish("alarm", {{"id", "7"}});
  ioc.run();
  ioc.restart();

  ASSERT_EQ(op1->got.size(), 2u);
  ASSERT_EQ(admin->got.size(), 3u);
  EXPECT_EQ(parse(op1->got[0])["seq"], 1);
  EXPECT_EQ(parse(op1->got[0])["type"], "event");
  EXPECT_EQ(parse(op1->got[0])["kind"], "motion");
  EXPECT_EQ(parse(op1->got[1])["seq"], 2);  // no gap for the operator
  EXPECT_EQ(parse(op1->got[1])["type"], "alarm");
  EXPECT_EQ(parse(admin->got[1])["type"], "audit");
  EXPECT_EQ(parse(admin->got[2])["seq"], 3);
  // The same serialized string object for every session of a role.
  EXPECT_EQ(op1->got[0].get(), op2->got[0].get());
  EXPECT_EQ(hub.published(), 3u);
}

TEST(Hub, LaneSubscribersAreServedOnTheirLane) {
  boost::asio::io_context ioc;
  FakeClock clock;
  Hub hub(ioc, clock, 8);
  Lane lane_a = boost::asio::make_strand(ioc), lane_b = boost::asio::make_strand(ioc);
  auto a1 = std::make_shared<LaneRecorder>(lane_a), a2 = std::make_shared<LaneRecorder>(lane_a),
       b1 = std::make_shared<LaneRecorder>(lane_b);
  auto direct = std::make_shared<Recorder>();
  for (auto& s : {a1, a2, b1}) hub.subscribe(s, Role::operator_, [](std::uint64_t) {});
  hub.subscribe(direct, Role::operator_, [](std::uint64_t) {});
  ioc.run();
  ioc.restart();
  EXPECT_EQ(hub.sessions(), 4u);
  for (int i = 0; i < 5; ++i) hub.publish("event", {{"n", i}});
  ioc.run();
  ioc.restart();
  for (auto& s : {a1, a2, b1}) {
    ASSERT_EQ(s->got.size(), 5u);
    EXPECT_EQ(s->posted, 0);
    EXPECT_EQ(s->off_lane, 0);
    for (int i = 0; i < 5; ++i) {  // in order, seq without gaps
      EXPECT_EQ(parse(s->got[static_cast<std::size_t>(i)])["n"], i);
      EXPECT_EQ(parse(s->got[static_cast<std::size_t>(i)])["seq"], i + 1);
    }
  }
  EXPECT_EQ(a1->got[3].get(), b1->got[3].get());  // one serialization for every lane
  ASSERT_EQ(direct->got.size(), 5u);
  EXPECT_EQ(direct->got[4].get(), a2->got[4].get());

  // Unsubscribed: no more messages; the others on its lane still get theirs.
  hub.unsubscribe(a1.get(), Role::operator_);
  hub.publish("event", {{"n", 5}});
  ioc.run();
  ioc.restart();
  EXPECT_EQ(a1->got.size(), 5u);
  EXPECT_EQ(a2->got.size(), 6u);
  EXPECT_EQ(b1->got.size(), 6u);
  EXPECT_EQ(hub.sessions(), 3u);

  // Gone without unsubscribing: skipped at once, counted out by the next
  // sweep (at most once a second, from publish).
  b1.reset();
  hub.publish("event", {{"n", 6}});
  ioc.run();
  ioc.restart();
  EXPECT_EQ(a2->got.size(), 7u);
  EXPECT_EQ(hub.sessions(), 3u);  // not yet: no second has passed
  clock.advance(std::chrono::milliseconds(1100));
  hub.publish("event", {{"n", 7}});
  ioc.run();
  EXPECT_EQ(hub.sessions(), 2u);
  EXPECT_EQ(a2->got.size(), 8u);
}

TEST(Hub, ReplayIsBoundedByTheRing) {
  boost::asio::io_context ioc;
  FakeClock clock;
  Hub hub(ioc, clock, 4);
  for (int i = 1; i <= 10; ++i) hub.publish("job", {{"n", i}});
  ReplayResult all, recent, none;
  hub.replay(Role::investigator, 0, 10, [&](ReplayResult r) { all = std::move(r); });
  hub.replay(Role::investigator, 7, 10, [&](ReplayResult r) { recent = std::move(r); });
  hub.replay(Role::investigator, 10, 10, [&](ReplayResult r) { none = std::move(r); });
  ioc.run();
  EXPECT_FALSE(all.complete);  // 1..6 left the 4-message ring
  EXPECT_EQ(all.oldest, 7u);
  ASSERT_EQ(all.messages.size(), 4u);
  EXPECT_EQ(parse(all.messages.front())["seq"], 7);
  EXPECT_TRUE(recent.complete);
  ASSERT_EQ(recent.messages.size(), 3u);
  EXPECT_EQ(parse(recent.messages[0])["n"], 8);
  EXPECT_EQ(parse(recent.messages[2])["n"], 10);
  EXPECT_TRUE(none.messages.empty());
  EXPECT_TRUE(none.complete);
}

TEST(Hub, UnsubscribeDeadSubscribersAndShutdown) {
  boost::asio::io_context ioc;
  FakeClock clock;
  Hub hub(ioc, clock);
  auto a = std::make_shared<Recorder>();
  auto b = std::make_shared<Recorder>();
  hub.subscribe(a, Role::operator_, [](std::uint64_t) {});
  hub.subscribe(b, Role::operator_, [](std::uint64_t) {});
  ioc.run();
  ioc.restart();
  hub.unsubscribe(a.get(), Role::operator_);
  hub.publish("camera", {{"status", "online"}});
  ioc.run();
  ioc.restart();
  EXPECT_TRUE(a->got.empty());
  EXPECT_EQ(b->got.size(), 1u);
  EXPECT_EQ(hub.sessions(), 1u);
  hub.shutdown();
  ioc.run();
  ioc.restart();
  EXPECT_TRUE(b->gone);
  EXPECT_FALSE(a->gone);
  // After shutdown new subscribers are told to go away at once.
  auto c = std::make_shared<Recorder>();
  bool subscribed = false;
  hub.subscribe(c, Role::operator_, [&](std::uint64_t) { subscribed = true; });
  ioc.run();
  EXPECT_TRUE(c->gone);
  EXPECT_FALSE(subscribed);
}

// Streams per audience (role, visible cameras): sessions with the same set
// share one stream (seq, ring, serialized messages); a camera's message goes
// only to the streams that may see the camera, seq contiguous in each.
TEST(Hub, StreamsPerCameraSet) {
  boost::asio::io_context ioc;
  FakeClock clock;
  Hub hub(ioc, clock, 16);
  auto all = std::make_shared<Recorder>(), a1 = std::make_shared<Recorder>(),
       a2 = std::make_shared<Recorder>(), b = std::make_shared<Recorder>(),
       ab = std::make_shared<Recorder>(), admin = std::make_shared<Recorder>();
  using Set = std::vector<std::string>;
  Subscription s_all, s_a1, s_a2, s_b, s_ab, s_admin;
  hub.subscribe(all, Audience{Role::operator_, std::nullopt}, 1,
                [&](Subscription s) { s_all = s; });
  hub.subscribe(a1, Audience{Role::operator_, Set{"cam-a"}}, 2, [&](Subscription s) { s_a1 = s; });
  hub.subscribe(a2, Audience{Role::operator_, Set{"cam-a"}}, 3, [&](Subscription s) { s_a2 = s; });
  hub.subscribe(b, Audience{Role::operator_, Set{"cam-b"}}, 4, [&](Subscription s) { s_b = s; });
  // Unsorted with a duplicate: the same set as {cam-a, cam-b}.
  hub.subscribe(ab, Audience{Role::operator_, Set{"cam-b", "cam-a", "cam-b"}}, 5,
                [&](Subscription s) { s_ab = s; });
  // An administrator sees every camera whatever the set says.
  hub.subscribe(admin, Audience{Role::administrator, Set{"cam-a"}}, 6,
                [&](Subscription s) { s_admin = s; });
  ioc.run();
  ioc.restart();
  ASSERT_TRUE(s_all.ok && s_a1.ok && s_a2.ok && s_b.ok && s_ab.ok && s_admin.ok);
  EXPECT_EQ(s_all.stream, Hub::role_stream(Role::operator_));
  EXPECT_EQ(s_admin.stream, Hub::role_stream(Role::administrator));
  EXPECT_EQ(s_a1.stream, s_a2.stream);
  EXPECT_NE(s_a1.stream, s_b.stream);
  EXPECT_NE(s_a1.stream, s_ab.stream);
  EXPECT_EQ(hub.streams(), 6u);  // three role streams + {a}, {b}, {a, b}
  EXPECT_EQ(hub.sessions(), 6u);

  hub.publish("event", {{"n", 1}}, RoleSet::all(), "cam-a");
  hub.publish("event", {{"n", 2}}, RoleSet::all(), "cam-b");
  hub.publish("job", {{"n", 3}});  // no camera: every stream of the role
  hub.publish("event", {{"n", 4}}, RoleSet::all(), "cam-c");
  hub.publish("audit", {{"n", 5}}, RoleSet{Role::administrator});
  hub.publish("alarm", {{"n", 6}}, RoleSet::all(), "cam-a");
  ioc.run();
  ioc.restart();

  auto ns = [](const Recorder& r) {
    std::vector<int> out;
    for (auto& m : r.got) out.push_back(parse(m)["n"].get<int>());
    return out;
  };
  auto seqs = [](const Recorder& r) {
    std::vector<std::uint64_t> out;
    for (auto& m : r.got) out.push_back(parse(m)["seq"].get<std::uint64_t>());
    return out;
  };
  EXPECT_EQ(ns(*all), (std::vector<int>{1, 2, 3, 4, 6}));
  EXPECT_EQ(ns(*a1), (std::vector<int>{1, 3, 6}));
  EXPECT_EQ(ns(*b), (std::vector<int>{2, 3}));
  EXPECT_EQ(ns(*ab), (std::vector<int>{1, 2, 3, 6}));
  EXPECT_EQ(ns(*admin), (std::vector<int>{1, 2, 3, 4, 5, 6}));
  // seq grows by one per message each console receives, from its hello.
  for (auto* r : {all.get(), a1.get(), b.get(), ab.get(), admin.get()}) {
    auto q = seqs(*r);
    const Subscription& sub = r == all.get()  ? s_all
                              : r == a1.get() ? s_a1
                              : r == b.get()  ? s_b
                              : r == ab.get() ? s_ab
                                              : s_admin;
    for (std::size_t i = 0; i < q.size(); ++i) EXPECT_EQ(q[i], sub.last_seq + 1 + i);
  }
  // One serialization per stream, shared by its sessions.
  ASSERT_EQ(a2->got.size(), a1->got.size());
  for (std::size_t i = 0; i < a1->got.size(); ++i) EXPECT_EQ(a1->got[i].get(), a2->got[i].get());
  EXPECT_EQ(hub.published(), 6u);

  // Replay of a restricted stream: exactly its own messages.
  ReplayResult r;
  hub.replay(s_a1.stream, s_a1.last_seq, s_a1.last_seq + 3, [&](ReplayResult x) { r = x; });
  ioc.run();
  ioc.restart();
  EXPECT_TRUE(r.complete);
  ASSERT_EQ(r.messages.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) EXPECT_EQ(r.messages[i].get(), a1->got[i].get());
  ReplayResult tail;
  hub.replay(s_b.stream, s_b.last_seq + 1, s_b.last_seq + 2, [&](ReplayResult x) { tail = x; });
  ioc.run();
  ioc.restart();
  EXPECT_TRUE(tail.complete);
  ASSERT_EQ(tail.messages.size(), 1u);
  EXPECT_EQ(parse(tail.messages[0])["n"], 3);
}

// Beyond its guaranteed part (keep), a ring grows up to `most` while all
// rings together stay within the budget; over the budget the stream being
// published to is cut back to `keep`, never below; a dropped stream's bytes
// leave the account.
TEST(Hub, RingGrowsWithinTheBudgetAndKeepsItsGuaranteedPart) {
  boost::asio::io_context ioc;
  FakeClock clock;
  // Room for 16 messages on every stream: the ring stops at `most`.
  Hub roomy(ioc, clock, RingLimits{4, 16, 1u << 20});
  for (int i = 1; i <= 20; ++i) roomy.publish("job", {{"n", i}});
  ReplayResult r;
  roomy.replay(Role::investigator, 4, 20, [&](ReplayResult x) { r = std::move(x); });
  ioc.run();
  ioc.restart();
  EXPECT_TRUE(r.complete);  // 5..20: more than `keep`, all of `most`
  EXPECT_EQ(r.oldest, 5u);
  ASSERT_EQ(r.messages.size(), 16u);
  EXPECT_EQ(parse(r.messages.front())["n"], 5);
  EXPECT_GT(roomy.ring_bytes(), 3 * 16 * 30u);  // three role streams of 16 messages
  EXPECT_LT(roomy.ring_bytes(), 3 * 16 * 300u);

  // A budget for about 20 messages in all, three role streams: each keeps
  // at least 4, none grows past what the budget allows.
  Hub tight(ioc, clock, RingLimits{4, 16, 20 * 130});
  for (int i = 1; i <= 40; ++i) tight.publish("job", {{"n", i}});
  ioc.run();
  ioc.restart();
  EXPECT_LE(tight.ring_bytes(), 20 * 130u + 3 * 130u);
  std::size_t total = 0;
  for (Role role : {Role::operator_, Role::administrator, Role::investigator}) {
    tight.replay(role, 0, 40, [&](ReplayResult x) { r = std::move(x); });
    ioc.run();
    ioc.restart();
    EXPECT_FALSE(r.complete);
    EXPECT_GE(r.messages.size(), 4u);
    EXPECT_LE(r.messages.size(), 16u);
    EXPECT_EQ(parse(r.messages.back())["n"], 40);  // the newest always stay
    total += r.messages.size();
  }
  EXPECT_LT(total, 3 * 16u);

  // A restricted stream's ring is counted, and uncounted when it is dropped.
  Hub h(ioc, clock, RingLimits{4, 16, 1u << 20}, 4, std::chrono::seconds{0});
  auto a = std::make_shared<Recorder>();
  Subscription sa;
  h.subscribe(a, Audience{Role::operator_, std::vector<std::string>{"cam-a"}}, 1,
              [&](Subscription x) { sa = x; });
  ioc.run();
  ioc.restart();
  ASSERT_TRUE(sa.ok);
  for (int i = 0; i < 10; ++i) h.publish("event", {{"n", i}}, RoleSet::all(), "cam-a");
  ioc.run();
  ioc.restart();
  const std::size_t with_restricted = h.ring_bytes();
  h.unsubscribe(a.get(), sa.stream);
  ioc.run();
  ioc.restart();
  // A new camera set's subscription sweeps idle streams at once.
  auto b = std::make_shared<Recorder>();
  h.subscribe(b, Audience{Role::operator_, std::vector<std::string>{"cam-b"}}, 2,
              [](Subscription) {});
  ioc.run();
  ioc.restart();
  EXPECT_EQ(h.streams(), 4u);  // the roles' and cam-b's; cam-a's went
  EXPECT_LT(h.ring_bytes(), with_restricted);
}

// Restricted streams are capped; one without sessions is dropped after the
// idle time, and a resume of it then reports the gap; a new stream's seq
// starts above every seq given out so far.
TEST(Hub, StreamCapIdleDropAndSeqBase) {
  boost::asio::io_context ioc;
  FakeClock clock;
  Hub hub(ioc, clock, 16, 2, std::chrono::seconds{0});
  using Set = std::vector<std::string>;
  for (int i = 0; i < 5; ++i) hub.publish("event", {{"n", i}}, RoleSet::all(), "cam-a");
  auto a = std::make_shared<Recorder>(), b = std::make_shared<Recorder>(),
       c = std::make_shared<Recorder>();
  Subscription sa, sb, sc;
  hub.subscribe(a, Audience{Role::operator_, Set{"cam-a"}}, 1, [&](Subscription s) { sa = s; });
  hub.subscribe(b, Audience{Role::investigator, Set{"cam-a"}}, 2, [&](Subscription s) { sb = s; });
  hub.subscribe(c, Audience{Role::operator_, Set{"cam-c"}}, 3, [&](Subscription s) { sc = s; });
  ioc.run();
  ioc.restart();
  ASSERT_TRUE(sa.ok);
  ASSERT_TRUE(sb.ok);
  EXPECT_NE(sa.stream, sb.stream);  // same cameras, another role: another stream
  EXPECT_EQ(sa.last_seq, 5u);       // not below the 5 messages published before
  EXPECT_FALSE(sc.ok);
  EXPECT_NE(sc.refused.find("too many"), std::string::npos);
  EXPECT_EQ(hub.streams(), 5u);

  hub.publish("event", {{"n", 5}}, RoleSet::all(), "cam-a");
  ioc.run();
  ioc.restart();
  ASSERT_EQ(a->got.size(), 1u);
  EXPECT_EQ(parse(a->got[0])["seq"], 6);

  // a leaves: its stream goes at the next subscription, which now fits.
  hub.unsubscribe(a.get(), sa.stream);
  hub.subscribe(c, Audience{Role::operator_, Set{"cam-c"}}, 3, [&](Subscription s) { sc = s; });
  ioc.run();
  ioc.restart();
  ASSERT_TRUE(sc.ok);
  EXPECT_EQ(hub.streams(), 5u);
  EXPECT_EQ(sc.last_seq, hub.published());
  ReplayResult gone;
  hub.replay(sa.stream, 5, 6, [&](ReplayResult x) { gone = x; });
  // A console back on a new stream of the same set, resuming from the old
  // stream's seq 6: the new stream starts at 6, so nothing was missed ...
  auto a_again = std::make_shared<Recorder>();
  Subscription sa2;
  hub.subscribe(a_again, Audience{Role::operator_, Set{"cam-a"}}, 1,
                [&](Subscription s) { sa2 = s; });
  ioc.run();
  ioc.restart();
  EXPECT_FALSE(gone.complete);
  EXPECT_TRUE(gone.messages.empty());
  EXPECT_FALSE(sa2.ok);  // b's and c's streams fill the cap of 2
  hub.unsubscribe(c.get(), sc.stream);
  hub.subscribe(a_again, Audience{Role::operator_, Set{"cam-a"}}, 1,
                [&](Subscription s) { sa2 = s; });
  ioc.run();
  ioc.restart();
  ASSERT_TRUE(sa2.ok);
  EXPECT_NE(sa2.stream, sa.stream);
  EXPECT_GE(sa2.last_seq, 6u);
  // ... and one that counted further than this stream cannot resume on it.
  ReplayResult ahead;
  hub.replay(sa2.stream, sa2.last_seq + 3, sa2.last_seq, [&](ReplayResult x) { ahead = x; });
  ioc.run();
  ioc.restart();
  EXPECT_FALSE(ahead.complete);
}

TEST(Hub, CloseUserRevokesOnlyThatUsersSessions) {
  boost::asio::io_context ioc;
  FakeClock clock;
  clock.advance(std::chrono::hours{1});  // off the epoch, SessionUser's "never refused"
  Hub hub(ioc, clock);
  auto mine = std::make_shared<Recorder>(), mine2 = std::make_shared<Recorder>(),
       other = std::make_shared<Recorder>();
  hub.subscribe(mine, Audience{Role::operator_, std::vector<std::string>{"cam-a"}}, 7,
                [](Subscription) {});
  hub.subscribe(mine2, Audience{Role::operator_, std::nullopt}, 7, [](Subscription) {});
  hub.subscribe(other, Audience{Role::operator_, std::vector<std::string>{"cam-a"}}, 8,
                [](Subscription) {});
  hub.close_user(7, "visible cameras changed; reconnect");
  ioc.run();
  EXPECT_EQ(mine->revoked_reason, "visible cameras changed; reconnect");
  EXPECT_EQ(mine2->revoked_reason, "visible cameras changed; reconnect");
  EXPECT_TRUE(other->revoked_reason.empty());

  // A session of user 7 authenticated before the close (with the old set)
  // that subscribes only now is refused too; one authenticated after is not.
  auto before = clock.monotonic() - std::chrono::seconds{1};
  auto late = std::make_shared<Recorder>(), fresh = std::make_shared<Recorder>(),
       same_instant = std::make_shared<Recorder>();
  bool late_done = false;
  Subscription fresh_sub;
  ioc.restart();
  hub.subscribe(late, Audience{Role::operator_, std::vector<std::string>{"cam-a"}},
                SessionUser{7, before}, [&](Subscription) { late_done = true; });
  // Authenticated at the very instant of the close: it may have read the old set.
  hub.subscribe(same_instant, Audience{Role::operator_, std::nullopt},
                SessionUser{7, clock.monotonic()}, [](Subscription) {});
  ioc.run();
  EXPECT_EQ(same_instant->revoked_reason, "visible cameras changed; reconnect");
  ioc.restart();
  clock.advance(std::chrono::milliseconds{1});
  hub.subscribe(fresh, Audience{Role::operator_, std::nullopt}, SessionUser{7, clock.monotonic()},
                [&](Subscription s) { fresh_sub = s; });
  ioc.run();
  EXPECT_FALSE(late_done);
  EXPECT_EQ(late->revoked_reason, "visible cameras changed; reconnect");
  EXPECT_TRUE(fresh_sub.ok);
  EXPECT_TRUE(fresh->revoked_reason.empty());
}

TEST(Hub, CloseSessionRevokesOnlyThatSessionsSockets) {
  boost::asio::io_context ioc;
  FakeClock clock;
  Hub hub(ioc, clock);
  auto a1 = std::make_shared<Recorder>(), a2 = std::make_shared<Recorder>(),
       b = std::make_shared<Recorder>(), other = std::make_shared<Recorder>();
  // User 7 with two sockets on login session 100 and one on session 101.
  hub.subscribe(a1, Audience{Role::operator_, std::nullopt}, SessionUser{7, {}, 100},
                [](Subscription) {});
  hub.subscribe(a2, Audience{Role::operator_, std::vector<std::string>{"cam-a"}},
                SessionUser{7, {}, 100}, [](Subscription) {});
  hub.subscribe(b, Audience{Role::operator_, std::nullopt}, SessionUser{7, {}, 101},
                [](Subscription) {});
  hub.subscribe(other, Audience{Role::operator_, std::nullopt}, SessionUser{8, {}, 102},
                [](Subscription) {});
  hub.close_session(100, close_reason::kLoggedOut);
  hub.close_session(0, "ignored: no session");
  ioc.run();
  EXPECT_EQ(a1->revoked_reason, "logged out");
  EXPECT_EQ(a2->revoked_reason, "logged out");
  EXPECT_TRUE(b->revoked_reason.empty());
  EXPECT_TRUE(other->revoked_reason.empty());

  // A socket of session 100 that subscribes only now (its token was checked
  // just before the logout) is refused with the same reason.
  auto late = std::make_shared<Recorder>();
  bool late_done = false;
  ioc.restart();
  hub.subscribe(late, Audience{Role::operator_, std::nullopt}, SessionUser{7, {}, 100},
                [&](Subscription) { late_done = true; });
  ioc.run();
  EXPECT_FALSE(late_done);
  EXPECT_EQ(late->revoked_reason, "logged out");

  // The memory of closed sessions is bounded: the oldest is forgotten first.
  ioc.restart();
  for (std::int64_t id = 1000; id < 1000 + static_cast<std::int64_t>(Hub::kClosedSessions); ++id)
    hub.close_session(id, close_reason::kSessionRevoked);
  ioc.run();
  auto forgotten = std::make_shared<Recorder>(), remembered = std::make_shared<Recorder>();
  Subscription forgotten_sub;
  ioc.restart();
  hub.subscribe(forgotten, Audience{Role::operator_, std::nullopt}, SessionUser{7, {}, 100},
                [&](Subscription s) { forgotten_sub = s; });
  hub.subscribe(remembered, Audience{Role::operator_, std::nullopt}, SessionUser{7, {}, 1000},
                [](Subscription) {});
  ioc.run();
  EXPECT_TRUE(forgotten_sub.ok);
  EXPECT_EQ(remembered->revoked_reason, "session revoked");
}

}  // namespace
}  // namespace zaulek::server
