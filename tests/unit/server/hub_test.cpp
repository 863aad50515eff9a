// The hub on a real io_context: per-role streams, seq without gaps, one
// serialization shared by every session, bounded ring and replay, shutdown.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>

#include "server/hub.h"

namespace zaulek::server {
namespace {

struct Recorder : HubSubscriber {
  std::vector<SharedMessage> got;
  bool gone = false;
  void deliver(SharedMessage m) override { got.push_back(std::move(m)); }
  void going_away() override { gone = true; }
};

nlohmann::json parse(const SharedMessage& m) {
  return nlohmann::json::parse(*m);
}

TEST(Hub, PerRoleStreamsAndSharedSerialization) {
  boost::asio::io_context ioc;
  Hub hub(ioc, 4);
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

TEST(Hub, ReplayIsBoundedByTheRing) {
  boost::asio::io_context ioc;
  Hub hub(ioc, 4);
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
  Hub hub(ioc);
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

}  // namespace
}  // namespace zaulek::server
