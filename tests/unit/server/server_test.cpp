// Unit tests for the request path without sockets: route table and access,
// dispatcher order of checks (with a real SQLite catalogue and a fake clock),
// login rate limiting, static file confinement, command line parsing.
#include <gtest/gtest.h>

#include <boost/asio/post.hpp>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/crypto.h"
#include "server/api/api.h"
#include "server/app/cli.h"
#include "server/http/dispatch.h"
#include "server/http/static_files.h"
#include "server/run_contained.h"
#include "server/security/rate_limiter.h"
#include "server/security/users.h"

namespace zaulek::server {
namespace {

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    path_ =
        fs::temp_directory_path() / ("zaulek-server-test-" + crypto::random_token().substr(0, 12));
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

TEST(Routes, MatchesPatternsAndReports405) {
  Router r;
  r.add({"GET", "/api/v1/cameras/{id}", Access::roles, RoleSet::all(), false, false, nullptr});
  r.add({"DELETE",
         "/api/v1/cameras/{id}",
         Access::roles,
         {Role::administrator},
         false,
         false,
         nullptr});
  std::map<std::string, std::string> params;
  auto m = r.match("GET", "/api/v1/cameras/42", &params);
  ASSERT_NE(m.route, nullptr);
  EXPECT_EQ(params.at("id"), "42");
  m = r.match("POST", "/api/v1/cameras/42", nullptr);
  EXPECT_EQ(m.route, nullptr);
  EXPECT_TRUE(m.path_known);
  EXPECT_EQ(m.allowed_methods, (std::vector<std::string>{"GET", "DELETE"}));
  m = r.match("GET", "/api/v1/cameras/42/", nullptr);
  EXPECT_FALSE(m.path_known);
  m = r.match("GET", "/api/v1/cameras", nullptr);
  EXPECT_FALSE(m.path_known);
}

TEST(Routes, AccessDecisions) {
  Route pub{"GET", "/healthz", Access::public_, {}, false, false, nullptr};
  Route admin{"GET", "/x", Access::roles, {Role::administrator}, false, false, nullptr};
  Route metrics{"GET", "/metrics", Access::loopback_or_roles, {Role::administrator}, false,
                false, nullptr};
  Principal op;
  op.role = Role::operator_;
  Principal ad;
  ad.role = Role::administrator;
  EXPECT_EQ(check_access(pub, std::nullopt, false), 0);
  EXPECT_EQ(check_access(admin, std::nullopt, true), 401);
  EXPECT_EQ(check_access(admin, op, true), 403);
  EXPECT_EQ(check_access(admin, ad, false), 0);
  // /metrics: anonymous from loopback only; elsewhere administrators.
  EXPECT_EQ(check_access(metrics, std::nullopt, true), 0);
  EXPECT_EQ(check_access(metrics, std::nullopt, false), 401);
  EXPECT_EQ(check_access(metrics, op, false), 403);
  EXPECT_EQ(check_access(metrics, ad, false), 0);
}

TEST(RateLimiter, BlocksAfterMaxFailuresWithinWindowOnly) {
  FakeClock clock;
  RateLimiter rl(clock, 3, std::chrono::seconds{60});
  for (int i = 0; i < 2; ++i) rl.record_failure("user:a");
  EXPECT_FALSE(rl.blocked_for("user:a"));
  clock.advance(std::chrono::seconds{10});
  rl.record_failure("user:a");
  auto b = rl.blocked_for("user:a");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->count(), 50);  // the first failure leaves the window in 50 s
  EXPECT_FALSE(rl.blocked_for("user:b"));
  clock.advance(std::chrono::seconds{50});
  EXPECT_FALSE(rl.blocked_for("user:a"));
  rl.record_failure("user:a");
  rl.record_failure("user:a");
  EXPECT_TRUE(rl.blocked_for("user:a"));
  rl.reset("user:a");
  EXPECT_FALSE(rl.blocked_for("user:a"));
}

TEST(RateLimiter, TracksABoundedNumberOfKeys) {
  FakeClock clock;
  RateLimiter rl(clock, 2, std::chrono::seconds{60}, 100);
  for (int i = 0; i < 1000; ++i) rl.record_failure("addr:" + std::to_string(i));
  EXPECT_LE(rl.tracked_keys(), 100u);
}

TEST(BackoffLimiter, DelaysGrowPerKeyAndAreForgotten) {
  using std::chrono::seconds;
  FakeClock clock;
  BackoffLimiter bl(clock, 3, seconds{80});  // first delay 80/8 = 10 s, then 20, 40, 80
  bl.record_failure("olga@a");
  bl.record_failure("olga@a");
  EXPECT_FALSE(bl.blocked_for("olga@a"));
  bl.record_failure("olga@a");
  EXPECT_EQ(bl.blocked_for("olga@a"), seconds{10});
  EXPECT_FALSE(bl.blocked_for("olga@b"));  // another key is untouched
  clock.advance(seconds{4});
  EXPECT_EQ(bl.blocked_for("olga@a"), seconds{6});
  int expected[] = {20, 40, 80, 80, 80};
  clock.advance(seconds{6});
  for (int d : expected) {
    EXPECT_FALSE(bl.blocked_for("olga@a"));
    bl.record_failure("olga@a");
    EXPECT_EQ(bl.blocked_for("olga@a"), seconds{d});
    clock.advance(seconds{d});
  }
  // Quiet for the window beyond the last delay: forgotten, counting starts again.
  clock.advance(seconds{80});
  EXPECT_FALSE(bl.blocked_for("olga@a"));
  bl.record_failure("olga@a");
  EXPECT_FALSE(bl.blocked_for("olga@a"));
  bl.record_failure("olga@a");
  bl.record_failure("olga@a");
  EXPECT_EQ(bl.blocked_for("olga@a"), seconds{10});
  bl.reset("olga@a");
  EXPECT_FALSE(bl.blocked_for("olga@a"));
}

TEST(BackoffLimiter, TracksABoundedNumberOfKeys) {
  FakeClock clock;
  BackoffLimiter bl(clock, 2, std::chrono::seconds{60}, 100);
  for (int i = 0; i < 1000; ++i) bl.record_failure("k" + std::to_string(i));
  EXPECT_LE(bl.tracked_keys(), 100u);
}

TEST(ClientAddress, XForwardedForCountsOnlyFromTrustedProxies) {
  const std::vector<std::string> trusted{"127.0.0.1", "10.0.0.0/8"};
  auto client = [&](const std::string& peer, const std::string& xff) {
    return client_address(peer, xff, trusted).address;
  };
  EXPECT_EQ(client("127.0.0.1", ""), "127.0.0.1");
  EXPECT_TRUE(client_address("127.0.0.1", "", trusted).loopback);
  EXPECT_EQ(client("127.0.0.1", "192.0.2.5"), "192.0.2.5");
  EXPECT_FALSE(client_address("127.0.0.1", "192.0.2.5", trusted).loopback);
  // Trusted hops are skipped; entries left of the first untrusted one are the
  // client's own text and are not believed.
  EXPECT_EQ(client("127.0.0.1", "192.0.2.5, 10.1.2.3"), "192.0.2.5");
  EXPECT_EQ(client("127.0.0.1", "127.0.0.1, 192.0.2.5"), "192.0.2.5");
  EXPECT_EQ(client("10.9.9.9", "10.0.0.1,10.0.0.2"), "10.0.0.1");
  // From an untrusted peer the header changes nothing.
  EXPECT_EQ(client("192.0.2.66", "127.0.0.1"), "192.0.2.66");
  EXPECT_FALSE(client_address("192.0.2.66", "127.0.0.1", trusted).loopback);
  EXPECT_EQ(client_address("127.0.0.1", "192.0.2.5", {}).address, "127.0.0.1");
  EXPECT_TRUE(client_address("127.0.0.1", "192.0.2.5", {}).loopback);
  // Anything but an IP literal stops at the proxy that passed it on.
  EXPECT_EQ(client("127.0.0.1", "not-an-ip"), "127.0.0.1");
  EXPECT_EQ(client("127.0.0.1", "192.0.2.5:4711"), "127.0.0.1");
  EXPECT_EQ(client("127.0.0.1", "192.0.2.5,"), "127.0.0.1");
  EXPECT_EQ(client("127.0.0.1", "192.0.2.5, unknown, 10.0.0.3"), "10.0.0.3");
  EXPECT_EQ(client("127.0.0.1", "[2001:db8::1]"), "2001:db8::1");
  EXPECT_EQ(client("127.0.0.1", " ::ffff:192.0.2.5 "), "192.0.2.5");
  EXPECT_EQ(client("127.0.0.1", "::1"), "::1");
  EXPECT_TRUE(client_address("127.0.0.1", "::1", trusted).loopback);
}

TEST(Helpers, BearerCookieContentTypeDepth) {
  EXPECT_EQ(bearer_token("Bearer abc"), "abc");
  EXPECT_EQ(bearer_token("bearer   abc "), "abc");
  EXPECT_EQ(bearer_token("Basic abc"), "");
  EXPECT_EQ(cookie_value("a=1; zaulek_session=tok; b=2", "zaulek_session"), "tok");
  EXPECT_EQ(cookie_value("xzaulek_session=tok", "zaulek_session"), "");
  EXPECT_TRUE(json_content_type("application/json; charset=utf-8"));
  EXPECT_TRUE(json_content_type("Application/JSON"));
  EXPECT_FALSE(json_content_type("text/plain"));
  EXPECT_FALSE(json_content_type(""));
  EXPECT_TRUE(json_depth_ok(R"({"a":[1,{"b":"[[[["}]})", 3));
  EXPECT_FALSE(json_depth_ok(std::string(100, '['), 32));
  bool ok = true;
  EXPECT_EQ(percent_decode("a%2Fb+c", true, &ok), "a/b c");
  EXPECT_TRUE(ok);
  percent_decode("%4", false, &ok);
  EXPECT_FALSE(ok);
  ok = true;
  percent_decode("%zz", false, &ok);
  EXPECT_FALSE(ok);
  std::string path;
  std::map<std::string, std::string> query;
  parse_target("/api/v1/audit?after=5&limit=10&x", path, query, &ok);
  EXPECT_TRUE(ok);
  EXPECT_EQ(path, "/api/v1/audit");
  EXPECT_EQ(query.at("after"), "5");
  EXPECT_EQ(query.at("limit"), "10");
  EXPECT_EQ(query.at("x"), "");
}

TEST(StaticFiles, ServesOnlyInsideRoot) {
  TempDir dir;
  fs::create_directories(dir.path() / "web" / "css");
  std::ofstream(dir.path() / "web" / "index.html") << "<h1>hi</h1>";
  std::ofstream(dir.path() / "web" / "css" / "a.css") << "body{}";
  std::ofstream(dir.path() / "secret.txt") << "secret";
  std::ofstream(dir.path() / "web" / ".env") << "hidden";
  fs::create_symlink(dir.path() / "secret.txt", dir.path() / "web" / "link.txt");
  auto root = dir.path() / "web";
  auto r = serve_static(root, "/");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "<h1>hi</h1>");
  EXPECT_EQ(r.content_type, "text/html; charset=utf-8");
  EXPECT_EQ(serve_static(root, "/css/a.css").content_type, "text/css; charset=utf-8");
  for (const char* bad : {"/../secret.txt", "/css/../../secret.txt", "/.env", "/link.txt", "/css/",
                          "/css", "/nope.html", "/a\\..\\secret.txt"}) {
    auto resp = serve_static(root, bad);
    EXPECT_EQ(resp.status, 404) << bad;
    EXPECT_EQ(resp.body.find("secret"), std::string::npos) << bad;
  }
}

TEST(Users, Validation) {
  EXPECT_TRUE(validate_user_name("adam.k-1_x"));
  EXPECT_FALSE(validate_user_name(""));
  EXPECT_FALSE(validate_user_name(".adam"));
  EXPECT_FALSE(validate_user_name("a b"));
  EXPECT_FALSE(validate_user_name(std::string(65, 'a')));
  EXPECT_FALSE(validate_password(""));
  EXPECT_EQ(validate_password("1234567").error().message, "password must be at least 8 characters");
  EXPECT_TRUE(validate_password("12345678"));
  EXPECT_FALSE(validate_password(std::string(1025, 'x')));
}

TEST(CommandLine, Parses) {
  auto cl = parse_command_line({"--config", "z.toml"});
  ASSERT_TRUE(cl);
  EXPECT_EQ(cl->mode, CommandLine::Mode::run);
  cl = parse_command_line({"--config=z.toml", "--check"});
  ASSERT_TRUE(cl);
  EXPECT_EQ(cl->mode, CommandLine::Mode::check);
  cl = parse_command_line({"--config", "z.toml", "user", "add", "ala", "--role", "investigator"});
  ASSERT_TRUE(cl);
  EXPECT_EQ(cl->mode, CommandLine::Mode::user_add);
  EXPECT_EQ(cl->user_name, "ala");
  EXPECT_EQ(cl->role, Role::investigator);
  for (auto [word, mode] : {std::pair{"passwd", CommandLine::Mode::user_passwd},
                            std::pair{"disable", CommandLine::Mode::user_disable},
                            std::pair{"enable", CommandLine::Mode::user_enable},
                            std::pair{"list", CommandLine::Mode::user_list}}) {
    cl = parse_command_line({"--config", "z.toml", "user", word, "ala"});
    ASSERT_TRUE(cl) << word << ": " << cl.error().message;
    EXPECT_EQ(cl->mode, mode);
    EXPECT_EQ(cl->user_name, "ala");
  }
  cl = parse_command_line({"--config", "z.toml", "user", "list"});
  ASSERT_TRUE(cl);
  EXPECT_EQ(cl->mode, CommandLine::Mode::user_list);
  EXPECT_EQ(cl->user_name, "");
  EXPECT_EQ(parse_command_line({"--version"})->mode, CommandLine::Mode::version);
  EXPECT_EQ(parse_command_line({"--list-routes"})->mode, CommandLine::Mode::list_routes);
  const std::string head = "42:" + std::string(64, 'a');
  cl = parse_command_line({"--config", "z.toml", "audit", "verify", "--head", head});
  ASSERT_TRUE(cl) << cl.error().message;
  EXPECT_EQ(cl->mode, CommandLine::Mode::audit_verify);
  EXPECT_EQ(cl->head, (storage::AuditHead{42, std::string(64, 'a')}));
  const std::string head_message =
      "--head takes ID:HASH as the log writes it, e.g. 42:" + std::string(64, '0');
  const std::string short_head = "42:abc", zero_head = "0:" + std::string(64, 'a');

  struct Bad {
    std::vector<std::string_view> args;
    std::string message;
  };
  for (const Bad& b : std::vector<Bad>{
           {{}, "--config FILE is required"},
           {{"--config"}, "--config needs a value"},
           {{"--config", "z", "--bogus"}, "unknown option '--bogus'"},
           {{"--config", "z", "--log-level", "loud"}, "unknown log level 'loud'"},
           {{"--config", "z", "user", "add", "ala"},
            "user add needs --role operator|administrator|investigator"},
           {{"--config", "z", "user", "add", "ala", "--role", "king"},
            "unknown role 'king' (operator, administrator or investigator)"},
           {{"--config", "z", "user", "del", "ala"},
            "the user command is: user add NAME --role ROLE, user passwd|disable|enable NAME, "
            "or user list [NAME]"},
           {{"--config", "z", "user", "passwd"}, "user passwd needs exactly one NAME"},
           {{"--config", "z", "user", "list", "a", "b"}, "user list takes at most one NAME"},
           {{"--config", "z", "user", "disable", "ala", "--role", "operator"},
            "--role and --cameras belong to user add"},
           {{"--config", "z", "--check", "user", "enable", "ala"},
            "--check cannot be combined with user enable"},
           {{"--config", "z", "frobnicate"}, "unknown command 'frobnicate'"},
           {{"--config", "z", "audit"}, "the audit command is: audit verify [--head ID:HASH]"},
           {{"--config", "z", "audit", "verify", "--head", short_head}, head_message},
           {{"--config", "z", "audit", "verify", "--head", zero_head}, head_message},
           {{"--config", "z", "--head", head}, "--head belongs to audit verify"},
       }) {
    auto r = parse_command_line(b.args);
    ASSERT_FALSE(r) << b.message;
    EXPECT_EQ(r.error().message, b.message);
  }
  std::ostringstream out, err;
  std::istringstream in;
  EXPECT_EQ(run_main({"--nope"}, in, out, err), 2);
  EXPECT_NE(err.str().find("usage: zaulekd"), std::string::npos);
}

// Test code only: libsodium's minimum Argon2id cost, so that logins take
// microseconds. The daemon's floor is the configuration's (OWASP's minimum).
constexpr crypto::HashCost kTestHashCost{8, 1};

// The dispatcher against a real catalogue file and a fake clock.
class DispatchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    crypto::init();
    auto c = storage::Catalog::open(dir_.path() / "zaulek.db", clock_);
    ASSERT_TRUE(c) << c.error().message;
    catalog_ = std::move(*c);
    audit_ = std::make_unique<AuditLog>(*catalog_, clock_);
    auth_ = std::make_unique<Auth>(*catalog_, *audit_, clock_, std::chrono::seconds{3600}, 3,
                                   std::chrono::seconds{60}, kTestHashCost);
    ctx_.catalog = catalog_.get();
    ctx_.audit = audit_.get();
    ctx_.auth = auth_.get();
    ctx_.metrics = &metrics_;
    ctx_.clock = &clock_;
    register_routes(router_, ctx_);
    dispatcher_ = std::make_unique<Dispatcher>(router_, *auth_);
    ASSERT_TRUE(create_user(*catalog_, *audit_, "adam", Role::administrator, "adam-password",
                            kTestHashCost, "test", ""));
    ASSERT_TRUE(create_user(*catalog_, *audit_, "olga", Role::operator_, "olga-password",
                            kTestHashCost, "test", ""));
  }

  Outcome call(std::string method, std::string path, std::string body = {},
               std::map<std::string, std::string> headers = {}) {
    Request r;
    r.method = std::move(method);
    r.target = path;
    bool ok = true;
    parse_target(r.target, r.path, r.query, &ok);
    r.body = std::move(body);
    r.headers = std::move(headers);
    r.remote = remote_addr_;
    return dispatcher_->handle(r, false);
  }

  nlohmann::json login(const std::string& user, const std::string& pw, int expect = 200) {
    auto o = call("POST", "/api/v1/auth/login",
                  nlohmann::json{{"username", user}, {"password", pw}}.dump(),
                  {{"content-type", "application/json"}});
    EXPECT_EQ(o.response.status, expect) << o.response.body;
    return nlohmann::json::parse(o.response.body);
  }

  std::string code(const Outcome& o) {
    return nlohmann::json::parse(o.response.body)["error"]["code"].get<std::string>();
  }

  TempDir dir_;
  FakeClock clock_;
  std::string remote_addr_ = "192.0.2.7";  // the client address call() gives
  std::unique_ptr<storage::Catalog> catalog_;
  std::unique_ptr<AuditLog> audit_;
  std::unique_ptr<Auth> auth_;
  Metrics metrics_;
  ApiContext ctx_;
  Router router_;
  std::unique_ptr<Dispatcher> dispatcher_;
};

TEST_F(DispatchTest, OrderOfChecks) {
  EXPECT_EQ(call("GET", "/nope").response.status, 404);
  EXPECT_EQ(call("PUT", "/api/v1/users").response.status, 405);
  EXPECT_EQ(call("POST", "/api/v1/users", "{}").response.status, 401);
  auto olga = login("olga", "olga-password")["token"].get<std::string>();
  auto o = call("POST", "/api/v1/users", "not json", {{"authorization", "Bearer " + olga}});
  EXPECT_EQ(o.response.status, 403);  // role before content checks
  EXPECT_EQ(code(o), "permission_denied");
  auto adam = login("adam", "adam-password")["token"].get<std::string>();
  o = call("POST", "/api/v1/users", "{}", {{"authorization", "Bearer " + adam}});
  EXPECT_EQ(o.response.status, 415);
  o = call("POST", "/api/v1/users", "{nope",
           {{"authorization", "Bearer " + adam}, {"content-type", "application/json"}});
  EXPECT_EQ(o.response.status, 400);
  EXPECT_EQ(code(o), "invalid_argument");
  o = call("POST", "/api/v1/users", std::string(1000, '['),
           {{"authorization", "Bearer " + adam}, {"content-type", "application/json"}});
  EXPECT_EQ(o.response.status, 400);
  o = call("GET", "/api/v1/audit?limit=0", "", {{"authorization", "Bearer " + adam}});
  EXPECT_EQ(o.response.status, 400);
  // Four rows so far: two users created, two logins. Paged by id.
  o = call("GET", "/api/v1/audit?limit=3", "", {{"authorization", "Bearer " + adam}});
  EXPECT_EQ(o.response.status, 200);
  auto page = nlohmann::json::parse(o.response.body);
  ASSERT_EQ(page["entries"].size(), 3u);
  EXPECT_EQ(page["entries"][0]["action"], "user.create");
  auto next = page["next_after"].get<std::string>();
  o = call("GET", "/api/v1/audit?after=" + next, "", {{"authorization", "Bearer " + adam}});
  page = nlohmann::json::parse(o.response.body);
  ASSERT_EQ(page["entries"].size(), 1u);
  EXPECT_EQ(page["entries"][0]["action"], "auth.login");
  EXPECT_EQ(page["entries"][0]["actor"], "adam");
  EXPECT_EQ(page["entries"][0]["remote"], "192.0.2.7");
}

// A deferred route (the snapshot's) is checked like any other, then handed
// back to the transport to run: the dispatcher never calls it, and an
// unauthenticated or unauthorized caller never reaches it.
TEST_F(DispatchTest, DeferredRoutesAreAuthorizedThenHandedBack) {
  const Route* snap = nullptr;
  for (const auto& r : router_.routes())
    if (r.pattern == "/api/v1/cameras/{id}/snapshot.jpg") snap = &r;
  ASSERT_NE(snap, nullptr);
  EXPECT_TRUE(snap->deferred);
  EXPECT_FALSE(snap->handler);
  auto o = call("GET", "/api/v1/cameras/cam-1/snapshot.jpg");
  EXPECT_EQ(o.response.status, 401);
  EXPECT_EQ(o.pending, nullptr);
  auto olga = login("olga", "olga-password")["token"].get<std::string>();
  o = call("GET", "/api/v1/cameras/cam-1/snapshot.jpg", "", {{"authorization", "Bearer " + olga}});
  EXPECT_EQ(o.pending, snap);
  EXPECT_EQ(o.route_label, "/api/v1/cameras/{id}/snapshot.jpg");
  // Run as the transport does: without a snapshot service the reply is a
  // clear 503, given once.
  Request r;
  r.method = "GET";
  r.params["id"] = "cam-1";
  r.principal = Principal{};
  int replies = 0;
  Response got;
  o.pending->deferred(r, [&](Response resp) {
    ++replies;
    got = std::move(resp);
  });
  EXPECT_EQ(replies, 1);
  EXPECT_EQ(got.status, 503);
  Outcome answered;
  answered.response = got;
  EXPECT_EQ(code(answered), "unavailable");
}

TEST_F(DispatchTest, CookieNeedsCsrfForStateChanges) {
  auto body = login("adam", "adam-password");
  std::string cookie = "zaulek_session=" + body["token"].get<std::string>();
  EXPECT_EQ(call("GET", "/api/v1/auth/me", "", {{"cookie", cookie}}).response.status, 200);
  auto o = call("POST", "/api/v1/auth/logout", "", {{"cookie", cookie}});
  EXPECT_EQ(o.response.status, 403);
  o = call("POST", "/api/v1/auth/logout", "", {{"cookie", cookie}, {"x-csrf-token", "wrong"}});
  EXPECT_EQ(o.response.status, 403);
  o = call("POST", "/api/v1/auth/logout", "",
           {{"cookie", cookie}, {"x-csrf-token", body["csrf_token"].get<std::string>()}});
  EXPECT_EQ(o.response.status, 200);
  EXPECT_EQ(call("GET", "/api/v1/auth/me", "", {{"cookie", cookie}}).response.status, 401);
}

TEST_F(DispatchTest, TokenExpires) {
  auto token = login("olga", "olga-password")["token"].get<std::string>();
  std::map<std::string, std::string> h{{"authorization", "Bearer " + token}};
  EXPECT_EQ(call("GET", "/api/v1/auth/me", "", h).response.status, 200);
  clock_.advance(std::chrono::seconds{3599});
  EXPECT_EQ(call("GET", "/api/v1/auth/me", "", h).response.status, 200);
  clock_.advance(std::chrono::seconds{2});
  auto o = call("GET", "/api/v1/auth/me", "", h);
  EXPECT_EQ(o.response.status, 401);
  EXPECT_EQ(code(o), "unauthenticated");
}

int retry_after(const Outcome& o) {
  for (auto& [k, v] : o.response.headers)
    if (k == "Retry-After") return std::stoi(v);
  return -1;
}

// Limit 3 failures, window 60 s: a (user, address) pair waits 8 s (60/8 rounded
// up), then 15 s, ...; the same user elsewhere is never refused; an address
// is refused after 12 failures for any users.
TEST_F(DispatchTest, LoginThrottledPerUserAndAddressAndAudited) {
  const std::string olga_ok = R"({"username":"olga","password":"olga-password"})";
  const std::map<std::string, std::string> json{{"content-type", "application/json"}};
  for (int i = 0; i < 3; ++i) login("olga", "wrong-password", 401);
  // Even the right password is refused now at this address, with Retry-After.
  auto o = call("POST", "/api/v1/auth/login", olga_ok, json);
  EXPECT_EQ(o.response.status, 429);
  EXPECT_EQ(retry_after(o), 8);
  // Another user at the same address is not refused.
  login("adam", "adam-password");
  // Nor is olga at her own workstation.
  remote_addr_ = "192.0.2.8";
  login("olga", "olga-password");
  // Back at the guessing address, the delay doubles with each further failure.
  remote_addr_ = "192.0.2.7";
  clock_.advance(std::chrono::seconds{8});
  login("olga", "wrong-password", 401);
  o = call("POST", "/api/v1/auth/login", olga_ok, json);
  EXPECT_EQ(o.response.status, 429);
  EXPECT_EQ(retry_after(o), 15);
  clock_.advance(std::chrono::seconds{15});
  login("olga", "olga-password");
  // A success clears the pair: one failure is not refused again.
  login("olga", "wrong-password", 401);
  login("olga", "olga-password");
  // An address trying many names is refused after 4 x 3 failures.
  remote_addr_ = "192.0.2.9";
  for (int i = 0; i < 12; ++i) login("ghost" + std::to_string(i), "x", 401);
  login("adam", "adam-password", 429);
  remote_addr_ = "192.0.2.10";
  login("adam", "adam-password");
  // Unknown users fail like wrong passwords.
  auto unknown = call("POST", "/api/v1/auth/login", R"({"username":"ghost","password":"x"})", json);
  EXPECT_EQ(unknown.response.status, 401);
  EXPECT_EQ(nlohmann::json::parse(unknown.response.body)["error"]["message"],
            "wrong user name or password");
  auto rows = catalog_->list_audit(0, 1000);
  ASSERT_TRUE(rows);
  int failed = 0, limited = 0;
  for (auto& e : *rows) {
    if (e.action == "auth.login_failed") ++failed;
    if (e.action == "auth.login_limited") ++limited;
    EXPECT_EQ(e.detail.find("wrong-password"), std::string::npos);
  }
  EXPECT_EQ(failed, 3 + 1 + 1 + 12 + 1);
  EXPECT_EQ(limited, 3);
}

TEST(MetricsLabels, UnknownMethodsAreOneLabel) {
  EXPECT_EQ(method_label("GET"), "GET");
  EXPECT_EQ(method_label("PATCH"), "PATCH");
  EXPECT_EQ(method_label("get"), "other");
  EXPECT_EQ(method_label(std::string(8192, 'X')), "other");
  EXPECT_EQ(method_label(""), "other");
  Metrics m;
  for (int i = 0; i < 1500; ++i) m.observe_request("unmatched", "M" + std::to_string(i), 400, 0);
  m.observe_request("unmatched", "GET", 404, 0);
  const std::string text = m.render("test", {});
  EXPECT_NE(text.find("method=\"other\",status=\"400\"} 1500"), std::string::npos) << text;
  EXPECT_EQ(text.find("M1499"), std::string::npos);
}

TEST(RunContained, AThrowingHandlerIsCountedAndTheOthersRun) {
  boost::asio::io_context ioc;
  const auto before = camera_faults(CameraFault::escaped_handler);
  int ran = 0;
  boost::asio::post(ioc, [] { throw std::runtime_error("camera said \xed\xa0\x80 nonsense"); });
  boost::asio::post(ioc, [&ran] { ++ran; });
  boost::asio::post(ioc, [] { throw 42; });
  boost::asio::post(ioc, [&ran] { ++ran; });
  run_contained(ioc, "test");  // returns once the work is done, not at the first throw
  EXPECT_EQ(ran, 2);
  EXPECT_EQ(camera_faults(CameraFault::escaped_handler), before + 2);
}

}  // namespace
}  // namespace zaulek::server
