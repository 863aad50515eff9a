#include <gtest/gtest.h>
#include <stdlib.h>

#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <string>

#include "config/config.h"
#include "config/schema.h"

namespace zaulek::config {
namespace {

namespace fs = std::filesystem;
using Env = std::map<std::string, std::string>;

EnvLookup env_of(Env env) {
  return [env = std::move(env)](std::string_view name) -> std::optional<std::string> {
    auto it = env.find(std::string(name));
    if (it == env.end()) return std::nullopt;
    return it->second;
  };
}

Result<Config> parse_text(std::string_view text, Env env = {}) {
  return parse(text, "zaulekd.toml", env_of(std::move(env)));
}

std::string error_of(std::string_view text, Env env = {}) {
  auto r = parse_text(text, std::move(env));
  if (r.ok()) return "(no error)";
  EXPECT_EQ(r.error().kind, ErrorKind::invalid_argument);
  return r.error().message;
}

std::string read_all(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "zaulek-config-XXXXXX").string();
    if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }
  fs::path write(const std::string& name, std::string_view text) const {
    auto p = path_ / name;
    std::ofstream(p, std::ios::binary) << text;
    return p;
  }

 private:
  fs::path path_;
};

const fs::path kSource = ZAULEK_SOURCE_DIR;

TEST(ConfigDefaults, EmptyFileGivesTheDefaults) {
  auto cfg = parse_text("");
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  EXPECT_EQ(to_toml(*cfg), to_toml(Config{}));
  EXPECT_EQ(cfg->server.listen, "127.0.0.1:8080");
  EXPECT_EQ(cfg->server.host, "127.0.0.1");
  EXPECT_EQ(cfg->server.port, 8080);
  EXPECT_FALSE(cfg->server.tls_cert);
  EXPECT_EQ(cfg->storage.path, fs::path("/var/lib/zaulek"));
  EXPECT_EQ(cfg->retention.max_age_days, 90);
  EXPECT_EQ(cfg->retention.min_free_percent, 10);
  EXPECT_EQ(cfg->discovery.interfaces, std::vector<std::string>{"lo"});
  EXPECT_EQ(cfg->log.level, "info");
  EXPECT_EQ(cfg->source, fs::path("zaulekd.toml"));
}

TEST(ConfigDefaults, ExampleFileParsesAndEqualsDefaults) {
  auto path = kSource / "config" / "zaulekd.example.toml";
  auto cfg = load_file(path, env_of({}));
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  EXPECT_EQ(to_toml(*cfg), to_toml(Config{}));
  EXPECT_EQ(cfg->source, path);
}

TEST(ConfigDefaults, ExampleFileDocumentsEveryKey) {
  const std::string text = read_all(kSource / "config" / "zaulekd.example.toml");
  for (const auto& dotted : field_keys()) {
    auto key = dotted.substr(dotted.find('.') + 1);
    bool set = text.find("\n" + key + " = ") != std::string::npos;
    bool commented = text.find("\n# " + key + " = ") != std::string::npos;
    EXPECT_TRUE(set || commented) << dotted << " is missing from zaulekd.example.toml";
  }
}

TEST(ConfigDefaults, DocsAreGeneratedFromTheTable) {
  const std::string on_disk = read_all(kSource / "docs" / "config.md");
  EXPECT_EQ(on_disk, reference_markdown())
      << "docs/config.md is out of date: run `cmake --build BUILD --target config-docs`";
  for (const auto& dotted : field_keys()) {
    EXPECT_NE(on_disk.find("`" + env_var_name(dotted) + "`"), std::string::npos) << dotted;
  }
}

TEST(ConfigDefaults, ToTomlRoundTrips) {
  auto cfg = parse_text(R"([server]
listen = "[::1]:0"
tls_cert = "/etc/zaulek/tls/cert.pem"
tls_key = "/etc/zaulek/tls/key.pem"
threads = 8
max_body_bytes = 2048
web_root = "/srv/web"
[auth]
session_ttl_minutes = 60
[storage]
path = "/data/zaulek"
[retention]
max_age_days = 30
min_free_percent = 0
[recording]
segment_seconds = 5
pre_event_s = 0
post_event_s = 600
[discovery]
interfaces = ["eth0", "eth1"]
trusted_networks = ["10.20.0.0/16", "fd00::/8", "192.168.1.7"]
timeout_ms = 100
[log]
level = "debug"
)");
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  EXPECT_EQ(cfg->server.host, "::1");
  EXPECT_EQ(cfg->server.port, 0);
  EXPECT_EQ(cfg->server.tls_key, fs::path("/etc/zaulek/tls/key.pem"));
  EXPECT_EQ(cfg->server.max_body_bytes, 2048u);
  EXPECT_EQ(cfg->auth.session_ttl, std::chrono::minutes(60));
  EXPECT_EQ(cfg->recording.post_event, std::chrono::seconds(600));
  EXPECT_EQ(cfg->discovery.default_timeout, std::chrono::milliseconds(100));
  EXPECT_EQ(cfg->discovery.interfaces, (std::vector<std::string>{"eth0", "eth1"}));
  EXPECT_EQ(cfg->discovery.trusted_networks,
            (std::vector<std::string>{"10.20.0.0/16", "fd00::/8", "192.168.1.7"}));
  auto again = parse_text(to_toml(*cfg));
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ(to_toml(*again), to_toml(*cfg));
  EXPECT_NE(to_toml(*cfg), to_toml(Config{}));
}

TEST(ConfigListen, AcceptedForms) {
  struct Case {
    std::string toml, host;
    std::uint16_t port;
  };
  const Case cases[] = {
      {"[server]\nlisten = \"127.0.0.1:0\"", "127.0.0.1", 0},
      {"[server]\nlisten = \"127.9.8.7:65535\"", "127.9.8.7", 65535},
      {"[server]\nlisten = \"[::1]:8443\"", "::1", 8443},
      {"[server]\nlisten = \"0.0.0.0:80\"\nallow_plain_http = true", "0.0.0.0", 80},
      {"[server]\nlisten = \"[::]:443\"\ntls_cert = \"/c.pem\"\ntls_key = \"/k.pem\"", "::", 443},
      {"server.listen = \"[::ffff:127.0.0.1]:81\"", "::ffff:127.0.0.1", 81},
  };
  for (const auto& c : cases) {
    auto cfg = parse_text(c.toml);
    ASSERT_TRUE(cfg.ok()) << c.toml << ": " << cfg.error().message;
    EXPECT_EQ(cfg->server.host, c.host) << c.toml;
    EXPECT_EQ(cfg->server.port, c.port) << c.toml;
  }
}

// MediaMTX-style: every error by its exact text.
TEST(ConfigErrors, ExactMessages) {
  struct Case {
    const char* name;
    std::string toml;
    std::string expected;
  };
  const Case cases[] = {
      {"syntax", "[server\nlisten = 1\n",
       "zaulekd.toml:1:8: Error while parsing table header: expected ']', saw '\\n'"},
      {"duplicate key", "[log]\nlevel = \"info\"\nlevel = \"debug\"\n",
       "zaulekd.toml:3:9: Error while parsing key-value pair: cannot redefine existing string "
       "'level'"},
      {"unknown section", "[camera]\nx = 1\n", "zaulekd.toml:1:2: unknown section [camera]"},
      {"unknown top-level key", "listen = \"127.0.0.1:1\"\n",
       "zaulekd.toml:1:1: unknown key listen"},
      {"unknown key", "[server]\nlisen = \"127.0.0.1:1\"\n",
       "zaulekd.toml:2:1: unknown key server.lisen"},
      {"unknown dotted key", "retention.max_age = 3\n",
       "zaulekd.toml:1:11: unknown key retention.max_age"},
      {"section not a table", "server = 5\n",
       "zaulekd.toml:1:1: server: expected a table, got an integer"},
      {"array of tables", "[[server]]\nthreads = 2\n",
       "zaulekd.toml:1:3: server: expected a table, got an array"},
      {"string for integer", "[server]\nthreads = \"4\"\n",
       "zaulekd.toml:2:11: server.threads: expected an integer, got a string"},
      {"float for integer", "[server]\nthreads = 2.5\n",
       "zaulekd.toml:2:11: server.threads: expected an integer, got a floating-point number"},
      {"string for boolean", "[server]\nallow_plain_http = \"yes\"\n",
       "zaulekd.toml:2:20: server.allow_plain_http: expected a boolean (true or false), got a "
       "string"},
      {"integer for string", "[server]\nlisten = 8080\n",
       "zaulekd.toml:2:10: server.listen: expected a string, got an integer"},
      {"threads too low", "[server]\nthreads = 0\n",
       "zaulekd.toml:2:11: server.threads: 0 is out of range 1..64"},
      {"header limit too high", "[server]\nmax_header_bytes = 1048577\n",
       "zaulekd.toml:2:20: server.max_header_bytes: 1048577 is out of range 1024..1048576"},
      {"max_age_days too high", "[retention]\nmax_age_days = 3651\n",
       "zaulekd.toml:2:16: retention.max_age_days: 3651 is out of range 1..3650"},
      {"max_age_days zero", "[retention]\nmax_age_days = 0\n",
       "zaulekd.toml:2:16: retention.max_age_days: 0 is out of range 1..3650"},
      {"min_free_percent too high", "[retention]\nmin_free_percent = 91\n",
       "zaulekd.toml:2:20: retention.min_free_percent: 91 is out of range 0..90"},
      {"negative min_free_percent", "[retention]\nmin_free_percent = -1\n",
       "zaulekd.toml:2:20: retention.min_free_percent: -1 is out of range 0..90"},
      {"segment too short", "[recording]\nsegment_seconds = 4\n",
       "zaulekd.toml:2:19: recording.segment_seconds: 4 is out of range 5..600"},
      {"segment too long", "[recording]\nsegment_seconds = 601\n",
       "zaulekd.toml:2:19: recording.segment_seconds: 601 is out of range 5..600"},
      {"huge integer", "[auth]\nlogin_window_s = 9223372036854775807\n",
       "zaulekd.toml:2:18: auth.login_window_s: 9223372036854775807 is out of range 1..86400"},
      {"listen without port", "[server]\nlisten = \"127.0.0.1\"\n",
       "zaulekd.toml:2:10: server.listen: expected \"host:port\" or \"[IPv6]:port\", got "
       "\"127.0.0.1\""},
      {"listen port too big", "[server]\nlisten = \"127.0.0.1:65536\"\n",
       "zaulekd.toml:2:10: server.listen: port must be a number 0..65535, got \"65536\" in "
       "\"127.0.0.1:65536\""},
      {"listen negative port", "[server]\nlisten = \"127.0.0.1:-1\"\n",
       "zaulekd.toml:2:10: server.listen: port must be a number 0..65535, got \"-1\" in "
       "\"127.0.0.1:-1\""},
      {"listen empty port", "[server]\nlisten = \"127.0.0.1:\"\n",
       "zaulekd.toml:2:10: server.listen: port must be a number 0..65535, got \"\" in "
       "\"127.0.0.1:\""},
      {"listen host name", "[server]\nlisten = \"localhost:8080\"\n",
       "zaulekd.toml:2:10: server.listen: host \"localhost\" is not an IPv4 address (names are not "
       "resolved) in \"localhost:8080\""},
      {"listen empty host", "[server]\nlisten = \":8080\"\n",
       "zaulekd.toml:2:10: server.listen: missing host in \":8080\" (use 0.0.0.0 for every "
       "address)"},
      {"listen bare IPv6", "[server]\nlisten = \"::1:8080\"\n",
       "zaulekd.toml:2:10: server.listen: IPv6 address must be in brackets, e.g. \"[::1]:8080\", "
       "got \"::1:8080\""},
      {"listen IPv6 no colon", "[server]\nlisten = \"[::1]8080\"\n",
       "zaulekd.toml:2:10: server.listen: expected \"[IPv6]:port\", got \"[::1]8080\""},
      {"listen IPv6 unclosed", "[server]\nlisten = \"[::1:8080\"\n",
       "zaulekd.toml:2:10: server.listen: missing ']' after IPv6 address in \"[::1:8080\""},
      {"listen bad IPv6", "[server]\nlisten = \"[zz]:80\"\n",
       "zaulekd.toml:2:10: server.listen: \"zz\" is not an IPv6 address in \"[zz]:80\""},
      {"listen NUL", "[server]\nlisten = \"127.0.0.1:80\\u0000\"\n",
       "zaulekd.toml:2:10: server.listen: must not contain a NUL character"},
      {"cert without key", "[server]\ntls_cert = \"/etc/zaulek/cert.pem\"\n",
       "zaulekd.toml:2:12: server.tls_cert: set without server.tls_key; set both or neither"},
      {"key without cert", "[server]\ntls_key = \"/etc/zaulek/key.pem\"\n",
       "zaulekd.toml:2:11: server.tls_key: set without server.tls_cert; set both or neither"},
      {"empty cert path", "[server]\ntls_cert = \"\"\n",
       "zaulekd.toml:2:12: server.tls_cert: must not be empty"},
      {"plain http on any address", "[server]\nlisten = \"0.0.0.0:8080\"\n",
       "zaulekd.toml:2:10: server.listen: plain HTTP on non-loopback address 0.0.0.0 sends "
       "passwords in clear text; set server.tls_cert and server.tls_key, or "
       "server.allow_plain_http = true"},
      {"plain http on IPv6 any", "[server]\nlisten = \"[::]:8080\"\n",
       "zaulekd.toml:2:10: server.listen: plain HTTP on non-loopback address :: sends passwords in "
       "clear text; set server.tls_cert and server.tls_key, or server.allow_plain_http = true"},
      {"plain http on LAN", "[server]\nlisten = \"192.168.1.10:80\"\nallow_plain_http = false\n",
       "zaulekd.toml:2:10: server.listen: plain HTTP on non-loopback address 192.168.1.10 sends "
       "passwords in clear text; set server.tls_cert and server.tls_key, or "
       "server.allow_plain_http = true"},
      {"unknown log level", "[log]\nlevel = \"verbose\"\n",
       "zaulekd.toml:2:9: log.level: unknown value \"verbose\"; expected one of trace, debug, "
       "info, warn, error, critical, off"},
      {"log level case", "[log]\nlevel = \"INFO\"\n",
       "zaulekd.toml:2:9: log.level: unknown value \"INFO\"; expected one of trace, debug, info, "
       "warn, error, critical, off"},
      {"empty storage path", "[storage]\npath = \"\"\n",
       "zaulekd.toml:2:8: storage.path: must not be empty"},
      {"interfaces not an array", "[discovery]\ninterfaces = \"eth0\"\n",
       "zaulekd.toml:2:14: discovery.interfaces: expected an array of strings, got a string"},
      {"interfaces entry type", "[discovery]\ninterfaces = [\"eth0\", 1]\n",
       "zaulekd.toml:2:14: discovery.interfaces: entry 1: expected a string, got an integer"},
      {"interface name too long", "[discovery]\ninterfaces = [\"a-very-long-interface\"]\n",
       "zaulekd.toml:2:14: discovery.interfaces: entry \"a-very-long-interface\" is not an "
       "interface name (1..15 characters)"},
      {"interface name empty", "[discovery]\ninterfaces = [\"\"]\n",
       "zaulekd.toml:2:14: discovery.interfaces: entry \"\" is not an interface name (1..15 "
       "characters)"},
      {"trusted network not a network",
       "[discovery]\ntrusted_networks = [\"10.0.0.0/8\", \"lan\"]\n",
       "zaulekd.toml:2:20: discovery.trusted_networks: entry \"lan\": not an IP network "
       "(10.1.0.0/16, fd00::/8)"},
      {"trusted network prefix too long", "[discovery]\ntrusted_networks = [\"10.0.0.0/33\"]\n",
       "zaulekd.toml:2:20: discovery.trusted_networks: entry \"10.0.0.0/33\": prefix length must "
       "be 0..32"},
      {"trusted network with a NUL", "[discovery]\ntrusted_networks = [\"10.0.0.1\\u0000\"]\n",
       "zaulekd.toml:2:20: discovery.trusted_networks: entry \"10.0.0.1\\u0000\": not an IP "
       "network (10.1.0.0/16, fd00::/8)"},
      {"trusted proxy not an address", "[server]\ntrusted_proxies = [\"proxy.local\"]\n",
       "zaulekd.toml:2:19: server.trusted_proxies: entry \"proxy.local\": not an IP network "
       "(10.1.0.0/16, fd00::/8)"},
      {"discovery timeout too low", "[discovery]\ntimeout_ms = 99\n",
       "zaulekd.toml:2:14: discovery.timeout_ms: 99 is out of range 100..60000"},
      {"control characters are escaped", "[log]\nlevel = \"a\\u001b[31m\"\n",
       "zaulekd.toml:2:9: log.level: unknown value \"a\\u001b[31m\"; expected one of trace, debug, "
       "info, warn, error, critical, off"},
      {"unknown key is escaped", "[server]\n\"a\\u001b[2J\" = 1\n",
       "zaulekd.toml:2:1: unknown key server.a\\u001b[2J"},
      {"unknown section is escaped", "[\"\\u0007x\"]\n",
       "zaulekd.toml:1:2: unknown section [\\u0007x]"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(error_of(c.toml), c.expected) << "case: " << c.name;
  }
}

TEST(ConfigErrors, TooManyInterfaces) {
  std::string list = "[discovery]\ninterfaces = [";
  for (int i = 0; i < 65; ++i) list += (i ? ", \"if" : "\"if") + std::to_string(i) + "\"";
  list += "]\n";
  EXPECT_EQ(error_of(list),
            "zaulekd.toml:2:14: discovery.interfaces: has 65 entries; at most 64 allowed");
}

TEST(ConfigErrors, TextTooLarge) {
  std::string big(kMaxFileBytes + 1, '#');
  EXPECT_EQ(error_of(big), "zaulekd.toml: file is 1048577 bytes; at most 1048576 allowed");
}

TEST(ConfigErrors, FirstErrorInTheFileIsReported) {
  // [server] sorts after [log] and "threads" after "level": file order must still win.
  EXPECT_EQ(error_of("[server]\nthreads = 0\n[log]\nlevel = \"x\"\n"),
            "zaulekd.toml:2:11: server.threads: 0 is out of range 1..64");
  EXPECT_EQ(error_of("[server]\nthreads = 0\nlisten = 1\n[zz]\n"),
            "zaulekd.toml:2:11: server.threads: 0 is out of range 1..64");
  EXPECT_EQ(error_of("[zz]\n[server]\nthreads = 0\n"), "zaulekd.toml:1:2: unknown section [zz]");
}

TEST(ConfigEnv, OverridesTheFile) {
  auto cfg = parse_text("[server]\nthreads = 4\n[log]\nlevel = \"warn\"\n",
                        {{"ZAULEK_SERVER_THREADS", "8"},
                         {"ZAULEK_LOG_LEVEL", "debug"},
                         {"ZAULEK_SERVER_LISTEN", "[::1]:9000"},
                         {"ZAULEK_SERVER_ALLOW_PLAIN_HTTP", "true"},
                         {"ZAULEK_RETENTION_MAX_AGE_DAYS", "30"},
                         {"ZAULEK_DISCOVERY_INTERFACES", " eth0 , eth1"},
                         {"ZAULEK_STORAGE_PATH", "/srv/zaulek"},
                         {"ZAULEK_NOT_A_KEY", "1"},  // not a config key: ignored
                         {"ZAULEK_SERVER", "x"}});
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  EXPECT_EQ(cfg->server.threads, 8);
  EXPECT_EQ(cfg->log.level, "debug");
  EXPECT_EQ(cfg->server.host, "::1");
  EXPECT_EQ(cfg->server.port, 9000);
  EXPECT_TRUE(cfg->server.allow_plain_http);
  EXPECT_EQ(cfg->retention.max_age_days, 30);
  EXPECT_EQ(cfg->discovery.interfaces, (std::vector<std::string>{"eth0", "eth1"}));
  EXPECT_EQ(cfg->storage.path, fs::path("/srv/zaulek"));
}

TEST(ConfigEnv, EmptyListAndBooleans) {
  auto cfg = parse_text(
      "", {{"ZAULEK_DISCOVERY_INTERFACES", ""}, {"ZAULEK_SERVER_ALLOW_PLAIN_HTTP", "0"}});
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  EXPECT_TRUE(cfg->discovery.interfaces.empty());
  EXPECT_FALSE(cfg->server.allow_plain_http);
}

TEST(ConfigEnv, RelativePathIsRelativeToWorkingDirectory) {
  auto cfg = parse_text("", {{"ZAULEK_STORAGE_PATH", "data/../rec"}});
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  EXPECT_EQ(cfg->storage.path, fs::current_path() / "rec");
}

TEST(ConfigEnv, ErrorsNameTheVariable) {
  struct Case {
    const char* name;
    std::string toml;
    Env env;
    std::string expected;
  };
  const Case cases[] = {
      {"bad listen",
       "",
       {{"ZAULEK_SERVER_LISTEN", "0.0.0.0:99999"}},
       "environment variable ZAULEK_SERVER_LISTEN: server.listen: port must be a number "
       "0..65535, got \"99999\" in \"0.0.0.0:99999\""},
      {"not an integer",
       "",
       {{"ZAULEK_SERVER_THREADS", "4x"}},
       "environment variable ZAULEK_SERVER_THREADS: server.threads: expected an integer, got "
       "\"4x\""},
      {"empty integer",
       "",
       {{"ZAULEK_SERVER_THREADS", ""}},
       "environment variable ZAULEK_SERVER_THREADS: server.threads: expected an integer, got "
       "\"\""},
      {"integer overflow",
       "",
       {{"ZAULEK_AUTH_LOGIN_WINDOW_S", "99999999999999999999"}},
       "environment variable ZAULEK_AUTH_LOGIN_WINDOW_S: auth.login_window_s: expected an "
       "integer, got \"99999999999999999999\""},
      {"out of range",
       "",
       {{"ZAULEK_RETENTION_MAX_AGE_DAYS", "4000"}},
       "environment variable ZAULEK_RETENTION_MAX_AGE_DAYS: retention.max_age_days: 4000 is out "
       "of range 1..3650"},
      {"bad boolean",
       "",
       {{"ZAULEK_SERVER_ALLOW_PLAIN_HTTP", "yes"}},
       "environment variable ZAULEK_SERVER_ALLOW_PLAIN_HTTP: server.allow_plain_http: expected "
       "true or false, got \"yes\""},
      {"bad level",
       "",
       {{"ZAULEK_LOG_LEVEL", "loud"}},
       "environment variable ZAULEK_LOG_LEVEL: log.level: unknown value \"loud\"; expected one "
       "of trace, debug, info, warn, error, critical, off"},
      {"empty storage",
       "",
       {{"ZAULEK_STORAGE_PATH", ""}},
       "environment variable ZAULEK_STORAGE_PATH: storage.path: must not be empty"},
      {"empty list entry",
       "",
       {{"ZAULEK_DISCOVERY_INTERFACES", "eth0,,eth1"}},
       "environment variable ZAULEK_DISCOVERY_INTERFACES: discovery.interfaces: entry \"\" is "
       "not an interface name (1..15 characters)"},
      {"plain http from env",
       "",
       {{"ZAULEK_SERVER_LISTEN", "0.0.0.0:8080"}},
       "environment variable ZAULEK_SERVER_LISTEN: server.listen: plain HTTP on non-loopback "
       "address 0.0.0.0 sends passwords in clear text; set server.tls_cert and "
       "server.tls_key, or server.allow_plain_http = true"},
      {"key from env, cert missing",
       "",
       {{"ZAULEK_SERVER_TLS_KEY", "/k.pem"}},
       "environment variable ZAULEK_SERVER_TLS_KEY: server.tls_key: set without "
       "server.tls_cert; set both or neither"},
      {"env does not hide a file error",
       "[server]\nthreads = 0\n",
       {{"ZAULEK_SERVER_THREADS", "2"}},
       "zaulekd.toml:2:11: server.threads: 0 is out of range 1..64"},
  };
  for (const auto& c : cases) EXPECT_EQ(error_of(c.toml, c.env), c.expected) << "case: " << c.name;
}

TEST(ConfigEnv, ProcessEnvironmentIsRead) {
  TempDir dir;
  auto path = dir.write("z.toml", "[log]\nlevel = \"warn\"\n");
  ASSERT_EQ(setenv("ZAULEK_LOG_LEVEL", "error", 1), 0);
  auto cfg = load_file(path);
  unsetenv("ZAULEK_LOG_LEVEL");
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  EXPECT_EQ(cfg->log.level, "error");
}

TEST(ConfigFile, RelativePathsResolveAgainstTheFilesDirectory) {
  TempDir dir;
  fs::create_directories(dir.path() / "etc");
  auto path = dir.write("etc/zaulekd.toml",
                        "[server]\ntls_cert = \"tls/cert.pem\"\ntls_key = \"../tls/key.pem\"\n"
                        "web_root = \"./web\"\n[storage]\npath = \"rec\"\n");
  auto cfg = load_file(path, env_of({}));
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  EXPECT_EQ(cfg->storage.path, dir.path() / "etc" / "rec");
  EXPECT_EQ(cfg->server.tls_cert, dir.path() / "etc" / "tls" / "cert.pem");
  EXPECT_EQ(cfg->server.tls_key, dir.path() / "tls" / "key.pem");
  EXPECT_EQ(cfg->server.web_root, dir.path() / "etc" / "web");
  EXPECT_EQ(cfg->source, path);
}

TEST(ConfigFile, ErrorsNameTheRealFile) {
  TempDir dir;
  auto path = dir.write("zaulekd.toml", "# comment\n\n[retention]\n  max_age_days = 5000\n");
  auto cfg = load_file(path, env_of({}));
  ASSERT_FALSE(cfg.ok());
  EXPECT_EQ(cfg.error().kind, ErrorKind::invalid_argument);
  EXPECT_EQ(cfg.error().message,
            path.string() + ":4:18: retention.max_age_days: 5000 is out of range 1..3650");
}

TEST(ConfigFile, MissingDirectoryAndOversizedFiles) {
  TempDir dir;
  auto missing = load_file(dir.path() / "nope.toml", env_of({}));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().kind, ErrorKind::not_found);
  EXPECT_EQ(missing.error().message,
            (dir.path() / "nope.toml").string() + ": cannot read: No such file or directory");

  auto directory = load_file(dir.path(), env_of({}));
  ASSERT_FALSE(directory.ok());
  EXPECT_EQ(directory.error().message, dir.path().string() + ": not a regular file");

  auto big = dir.write("big.toml", std::string(kMaxFileBytes + 10, '#'));
  auto too_big = load_file(big, env_of({}));
  ASSERT_FALSE(too_big.ok());
  EXPECT_EQ(too_big.error().message, big.string() + ": file is larger than 1048576 bytes");

  auto device = load_file("/dev/zero", env_of({}));
  ASSERT_FALSE(device.ok());
  EXPECT_EQ(device.error().message, "/dev/zero: not a regular file");
}

// Hostile bytes: mutated copies of the example file must give a value or an error, never a
// crash (the sanitizer build runs this too). Bounded: 3000 inputs.
TEST(ConfigFuzz, MutatedExampleNeverCrashes) {
  const std::string base = read_all(kSource / "config" / "zaulekd.example.toml");
  ASSERT_FALSE(base.empty());
  std::mt19937 rng(12345);
  int errors = 0, ok = 0;
  for (int i = 0; i < 3000; ++i) {
    std::string text = base;
    int edits = 1 + static_cast<int>(rng() % 8);
    for (int e = 0; e < edits; ++e) {
      std::size_t pos = rng() % text.size();
      switch (rng() % 4) {
        case 0:
          text[pos] = static_cast<char>(rng() % 256);
          break;
        case 1:
          text.erase(pos, 1 + rng() % 16);
          break;
        case 2:
          text.insert(pos, std::string(1 + rng() % 4, "[]\"=,\n\\{}"[rng() % 9]));
          break;
        default:
          text.insert(pos, text.substr(rng() % text.size(), rng() % 64));
          break;
      }
      if (text.empty()) text = "x";
    }
    auto r = parse_text(text);
    if (r.ok()) {
      ++ok;
    } else {
      ++errors;
      EXPECT_EQ(r.error().message.rfind("zaulekd.toml", 0), 0u) << r.error().message;
    }
  }
  EXPECT_GT(errors, 0);
  EXPECT_EQ(ok + errors, 3000);
}

TEST(ConfigFuzz, DeepNestingIsRefused) {
  std::string deep = "x = " + std::string(5000, '[') + std::string(5000, ']') + "\n";
  EXPECT_NE(error_of(deep).find("zaulekd.toml:1:"), std::string::npos);
  std::string inline_deep = "x = ";
  for (int i = 0; i < 5000; ++i) inline_deep += "{a = ";
  EXPECT_NE(error_of(inline_deep).find("zaulekd.toml:1:"), std::string::npos);
}

TEST(ConfigEvents, NotifyUrl) {
  auto empty = parse_text("");
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->events.notify_url, "");
  for (const char* good :
       {"http://10.20.0.5:8080", "https://zaulek.example:8443", "http://[::1]:8080/base"}) {
    auto c = parse_text(std::string("[events]\nnotify_url = \"") + good + "\"\n");
    ASSERT_TRUE(c.ok()) << good << ": " << c.error().message;
    EXPECT_EQ(c->events.notify_url, good);
  }
  for (const char* bad : {"ftp://10.0.0.1", "10.0.0.1:8080", "http://", "http://h/?x=1",
                          "http://user@h:1", "http://h 1"}) {
    auto c = parse_text(std::string("[events]\nnotify_url = \"") + bad + "\"\n");
    ASSERT_FALSE(c.ok()) << bad;
    EXPECT_NE(c.error().message.find("zaulekd.toml:2:"), std::string::npos) << c.error().message;
    EXPECT_NE(c.error().message.find("events.notify_url"), std::string::npos) << c.error().message;
  }
}

}  // namespace
}  // namespace zaulek::config
