#include "server/http/connection_limits.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace zaulek::server
