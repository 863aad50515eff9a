// The sites API's pure parts (server/api/sites.h): the ?site= filter, a site
// id in a body, the plan_x/plan_y pair; and the route table's per-route body
// bound (server/http/routes.h) that lets a plan upload be larger than other
// requests.
#include "server/api/sites.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace zaulek::server {
namespace {

using nlohmann::json;

Request with_site(const std::string& v) {
  Request r;
  r.query["site"] = v;
  return r;
}

TEST(ApiSites, SiteQueryIsAnIdOrNone) {
  EXPECT_FALSE(site_query(Request{})->has_value());
  EXPECT_FALSE(site_query(with_site(""))->has_value());
  EXPECT_EQ(**site_query(with_site("none")), 0);
  EXPECT_EQ(**site_query(with_site("17")), 17);
  for (const char* bad : {"0", "-1", "x", "1.5", "17 ", "99999999999999999999", "None"}) {
    auto r = site_query(with_site(bad));
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().kind, ErrorKind::invalid_argument);
    EXPECT_EQ(r.error().message, "query parameter 'site' must be a site id or none");
  }
}

TEST(ApiSites, SiteIdFieldTakesAnIntegerAStringOrNull) {
  EXPECT_EQ(**site_id_field(json(3), "site_id"), 3);
  EXPECT_EQ(**site_id_field(json("3"), "site_id"), 3);
  EXPECT_FALSE(site_id_field(json(nullptr), "site_id")->has_value());
  for (const json& bad : {json(0), json(-2), json(1.5), json("x"), json(true), json::array()}) {
    auto r = site_id_field(bad, "site_id");
    ASSERT_FALSE(r.ok()) << bad.dump();
    EXPECT_EQ(r.error().message, "'site_id' must be a site id or null");
  }
}

TEST(ApiSites, PlanPointComesAsAPairInZeroToOne) {
  EXPECT_FALSE(plan_point_fields(json::object())->has_value());  // nothing to change
  auto cleared = plan_point_fields(json{{"plan_x", nullptr}, {"plan_y", nullptr}});
  ASSERT_TRUE(cleared.ok() && cleared->has_value());
  EXPECT_FALSE(cleared->value().has_value());
  auto set = plan_point_fields(json{{"plan_x", 0}, {"plan_y", 1.0}});
  ASSERT_TRUE(set.ok());
  EXPECT_EQ(set->value(), (storage::PlanPoint{0, 1}));
  struct Case {
    json body;
    const char* message;
  };
  for (const auto& [body, message] : std::vector<Case>{
           {{{"plan_x", 0.5}}, "'plan_x' and 'plan_y' are given together"},
           {{{"plan_y", 0.5}}, "'plan_x' and 'plan_y' are given together"},
           {{{"plan_x", 1.01}, {"plan_y", 0}}, "'plan_x' must be a number from 0 to 1"},
           {{{"plan_x", 0}, {"plan_y", -0.01}}, "'plan_y' must be a number from 0 to 1"},
           {{{"plan_x", "0.5"}, {"plan_y", 0}}, "'plan_x' must be a number from 0 to 1"},
           {{{"plan_x", 0.5}, {"plan_y", nullptr}},
            "'plan_y' must be a number from 0 to 1 (or both null)"}}) {
    auto r = plan_point_fields(body);
    ASSERT_FALSE(r.ok()) << body.dump();
    EXPECT_EQ(r.error().message, message) << body.dump();
  }
}

TEST(ApiSites, PlanUploadRouteHasItsOwnBodyBound) {
  Router router;
  ApiContext ctx;  // no services: --list-routes' context
  register_site_routes(router, ctx);
  const std::size_t server = 1024 * 1024;
  EXPECT_EQ(router.body_limit("PUT", "/api/v1/sites/7/plan", server), kMaxPlanBytes);
  EXPECT_EQ(router.body_limit("POST", "/api/v1/sites", server), server);
  EXPECT_EQ(router.body_limit("GET", "/api/v1/sites/7/plan", server), server);
  EXPECT_EQ(router.body_limit("PUT", "/nowhere", server), server);
  EXPECT_EQ(router.max_body_limit(server), kMaxPlanBytes);
  EXPECT_EQ(router.max_body_limit(64 * 1024 * 1024), 64u * 1024 * 1024);
}

}  // namespace
}  // namespace zaulek::server
