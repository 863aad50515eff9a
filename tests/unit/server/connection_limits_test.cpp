#include "server/http/connection_limits.h"

#include <gtest/gtest.h>

#include <future>

#include "server/http/slow_pool.h"
#include "server/http/transport.h"
#include "tests/unit/eventually.h"

namespace zaulek::server {
namespace {

using Admit = AddressTable::Admit;

TEST(AddressTable, UnauthenticatedConnectionsHaveTheSmallerBudget) {
  AddressTable t;
  EXPECT_EQ(t.admit("10.0.0.1", 4, 2), Admit::ok);
  EXPECT_EQ(t.admit("10.0.0.1", 4, 2), Admit::ok);
  EXPECT_EQ(t.admit("10.0.0.1", 4, 2), Admit::unauthenticated);
  // Another address has its own budget.
  EXPECT_EQ(t.admit("10.0.0.2", 4, 2), Admit::ok);
  EXPECT_EQ(t.count("10.0.0.1"), std::make_pair(2, 2));
}

TEST(AddressTable, AuthenticatedConnectionsCountAgainstThePerAddressLimitOnly) {
  AddressTable t;
  for (int i = 0; i < 4; ++i) {
    ASSERT_EQ(t.admit("10.0.0.1", 4, 1), Admit::ok) << i;
    t.authenticated("10.0.0.1");
  }
  EXPECT_EQ(t.count("10.0.0.1"), std::make_pair(4, 0));
  EXPECT_EQ(t.admit("10.0.0.1", 4, 1), Admit::per_address);
  t.release("10.0.0.1", true);
  EXPECT_EQ(t.admit("10.0.0.1", 4, 1), Admit::ok);
  EXPECT_EQ(t.count("10.0.0.1"), std::make_pair(4, 1));
}

TEST(AddressTable, AnAddressIsForgottenWhenItsLastConnectionCloses) {
  AddressTable t;
  ASSERT_EQ(t.admit("10.0.0.1", 4, 2), Admit::ok);
  ASSERT_EQ(t.admit("10.0.0.1", 4, 2), Admit::ok);
  t.authenticated("10.0.0.1");
  t.release("10.0.0.1", true);
  EXPECT_EQ(t.count("10.0.0.1"), std::make_pair(1, 1));
  t.release("10.0.0.1", false);
  EXPECT_EQ(t.count("10.0.0.1"), std::make_pair(0, 0));
  EXPECT_EQ(t.admit("10.0.0.1", 1, 1), Admit::ok);
}

// A trusted proxy's connection counts against no address until a request
// names its client, then against that client until it is answered; a
// WebSocket (never uncharged) keeps its place.
TEST(ConnectionSlot, ProxiedConnectionsCountEachRequestAgainstItsClient) {
  Metrics m;
  AddressTable t;
  {
    transport::ConnectionSlot proxy(m, t, "");
    ASSERT_TRUE(proxy.proxied());
    EXPECT_EQ(m.connections_open.load(), 1);
    EXPECT_EQ(proxy.charge("10.0.0.7", 2, 1), Admit::ok);
    EXPECT_EQ(t.count("10.0.0.7"), std::make_pair(1, 1));
    proxy.mark_authenticated();
    EXPECT_EQ(t.count("10.0.0.7"), std::make_pair(1, 0));
    proxy.uncharge();
    EXPECT_EQ(t.count("10.0.0.7"), std::make_pair(0, 0));
    // The next request is another client's.
    EXPECT_EQ(proxy.charge("10.0.0.8", 2, 1), Admit::ok);
    EXPECT_EQ(t.count("10.0.0.8"), std::make_pair(1, 1));
    // A client over its budget: refused, nothing counted for it.
    transport::ConnectionSlot other(m, t, "");
    EXPECT_EQ(other.charge("10.0.0.8", 2, 1), Admit::unauthenticated);
    EXPECT_EQ(t.count("10.0.0.8"), std::make_pair(1, 1));
    other.uncharge();  // nothing to give back
    EXPECT_EQ(t.count("10.0.0.8"), std::make_pair(1, 1));
  }
  // Closed while charged (a WebSocket ends): given back.
  EXPECT_EQ(t.count("10.0.0.8"), std::make_pair(0, 0));
  EXPECT_EQ(m.connections_open.load(), 0);
  // A direct connection is never uncharged by a request's end.
  ASSERT_EQ(t.admit("10.0.0.9", 2, 2), Admit::ok);
  {
    transport::ConnectionSlot direct(m, t, "10.0.0.9");
    EXPECT_FALSE(direct.proxied());
    direct.uncharge();
    EXPECT_EQ(t.count("10.0.0.9"), std::make_pair(1, 1));
  }
  EXPECT_EQ(t.count("10.0.0.9"), std::make_pair(0, 0));
}

// At most max_in_flight jobs running or waiting; beyond, refused and
// counted; a finished job frees its place.
TEST(SlowPool, RefusesBeyondItsBoundAndCounts) {
  SlowPool pool(1, 2);
  std::promise<void> release;
  std::shared_future<void> go = release.get_future().share();
  std::atomic<int> ran{0};
  auto job = [&ran, go] {
    go.wait();
    ++ran;
  };
  EXPECT_TRUE(pool.try_post(job));  // running
  EXPECT_TRUE(pool.try_post(job));  // waiting for the one thread
  EXPECT_FALSE(pool.try_post(job));
  EXPECT_EQ(pool.in_flight(), 2);
  EXPECT_EQ(pool.accepted(), 2u);
  EXPECT_EQ(pool.rejected(), 1u);
  release.set_value();
  EXPECT_TRUE(testing::eventually([&] { return pool.in_flight() == 0; }));
  EXPECT_EQ(ran.load(), 2);
  EXPECT_TRUE(pool.try_post([&ran] { ++ran; }));
  pool.join();
  EXPECT_EQ(ran.load(), 3);
  EXPECT_EQ(pool.in_flight(), 0);
}

}  // namespace
}  // namespace zaulek::server
