// Staged loading: defaults (the Config struct) -> TOML file -> ZAULEK_* environment ->
// cross-field validation. Each key is declared once in kFields below; that table drives
// parsing, range checks, the environment names, to_toml() and docs/config.md.
#include "config/config.h"

#include <arpa/inet.h>

#include <toml++/toml.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <fstream>
#include <span>
#include <sstream>
#include <system_error>
#include <variant>

#include "config/rules_toml.h"
#include "config/schema.h"
#include "core/log.h"

namespace zaulek::config {
namespace {

namespace fs = std::filesystem;

using Strings = std::vector<std::string>;
// A field's value on its way in or out: the one representation the table speaks.
using Value = std::variant<bool, std::int64_t, std::string, Strings>;

enum class Kind {
  boolean,
  integer,        // min..max
  string,         // checked by Field::check
  path,           // non-empty; relative resolves against the config file's directory
  optional_path,  // like path; unset by default
  string_list,    // min..max entries, each 1..15 characters (an interface name)
  choice,         // one of Field::choices
};

struct Field {
  std::string_view section;
  std::string_view key;
  Kind kind;
  std::int64_t min = 0;
  std::int64_t max = 0;
  std::span<const std::string_view> choices = {};
  // Extra check for strings; returns what is wrong, or empty.
  std::string (*check)(const std::string&) = nullptr;
  std::string_view range_note = {};  // for docs, when min..max does not say it
  std::string_view description;
  Value (*get)(const Config&);
  void (*set)(Config&, Value&&);
};

constexpr std::string_view kIngests[] = {"native", "gstreamer"};
constexpr std::string_view kLogLevels[] = {"trace", "debug",    "info", "warn",
                                           "error", "critical", "off"};

constexpr std::int64_t kMiB = 1024 * 1024;
constexpr std::size_t kMaxInterfaces = 64;
constexpr std::size_t kMaxInterfaceName = 15;  // IFNAMSIZ - 1

// An IP network "ADDRESS[/BITS]"; returns what is wrong, or empty.
std::string check_network(const std::string& text) {
  const auto slash = text.find('/');
  const std::string addr = text.substr(0, slash);
  unsigned char buf[16];
  int max = 0;
  if (inet_pton(AF_INET, addr.c_str(), buf) == 1)
    max = 32;
  else if (inet_pton(AF_INET6, addr.c_str(), buf) == 1)
    max = 128;
  else
    return "not an IP network (10.1.0.0/16, fd00::/8)";
  if (slash == std::string::npos) return {};
  const std::string bits = text.substr(slash + 1);
  if (bits.empty() || bits.size() > 3 ||
      bits.find_first_not_of("0123456789") != std::string::npos || std::stoi(bits) > max)
    return "prefix length must be 0.." + std::to_string(max);
  return {};
}

// "host:port" or "[v6]:port"; host must be an IP literal (the server binds it as is).
std::string split_listen(const std::string& text, std::string& host, std::uint16_t& port) {
  std::string h, p;
  if (!text.empty() && text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string::npos) return "missing ']' after IPv6 address in \"" + text + "\"";
    h = text.substr(1, close - 1);
    if (close + 1 >= text.size() || text[close + 1] != ':')
      return "expected \"[IPv6]:port\", got \"" + text + "\"";
    p = text.substr(close + 2);
    in6_addr a6;
    if (inet_pton(AF_INET6, h.c_str(), &a6) != 1)
      return "\"" + h + "\" is not an IPv6 address in \"" + text + "\"";
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string::npos)
      return "expected \"host:port\" or \"[IPv6]:port\", got \"" + text + "\"";
    h = text.substr(0, colon);
    p = text.substr(colon + 1);
    if (h.find(':') != std::string::npos)
      return "IPv6 address must be in brackets, e.g. \"[::1]:8080\", got \"" + text + "\"";
    if (h.empty()) return "missing host in \"" + text + "\" (use 0.0.0.0 for every address)";
    in_addr a4;
    if (inet_pton(AF_INET, h.c_str(), &a4) != 1)
      return "host \"" + h + "\" is not an IPv4 address (names are not resolved) in \"" + text +
             "\"";
  }
  unsigned value = 0;
  auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), value);
  if (p.empty() || ec != std::errc() || end != p.data() + p.size() || value > 65535)
    return "port must be a number 0..65535, got \"" + p + "\" in \"" + text + "\"";
  host = h;
  port = static_cast<std::uint16_t>(value);
  return {};
}

// "" or http(s)://host[:port][/path] without query, fragment, user info or spaces.
std::string check_notify_url(const std::string& text) {
  if (text.empty()) return {};
  if (text.size() > 256) return "longer than 256 characters";
  std::string_view rest = text;
  if (rest.rfind("http://", 0) == 0)
    rest.remove_prefix(7);
  else if (rest.rfind("https://", 0) == 0)
    rest.remove_prefix(8);
  else
    return "must start with http:// or https://, got \"" + text + "\"";
  if (rest.empty() || rest.front() == '/' || rest.front() == ':')
    return "missing host in \"" + text + "\"";
  for (char ch : rest)
    if (ch == '?' || ch == '#' || ch == '@' || static_cast<unsigned char>(ch) <= 0x20 || ch == 0x7f)
      return "must be a plain base URL (no query, fragment, user info or spaces), got \"" + text +
             "\"";
  return {};
}

std::string check_listen(const std::string& text) {
  std::string host;
  std::uint16_t port = 0;
  return split_listen(text, host, port);
}

bool is_loopback_host(const std::string& host) {
  in_addr a4;
  if (inet_pton(AF_INET, host.c_str(), &a4) == 1) return (ntohl(a4.s_addr) >> 24) == 127;
  in6_addr a6;
  if (inet_pton(AF_INET6, host.c_str(), &a6) == 1) {
    if (IN6_IS_ADDR_LOOPBACK(&a6)) return true;
    // ::ffff:127.x.y.z
    return IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127;
  }
  return false;
}

std::int64_t as_int(const Value& v) {
  return std::get<std::int64_t>(v);
}
std::string as_str(Value&& v) {
  return std::get<std::string>(std::move(v));
}
Value opt_path(const std::optional<fs::path>& p) {
  return p ? p->string() : std::string();
}
std::optional<fs::path> to_opt_path(Value&& v) {
  auto s = as_str(std::move(v));
  if (s.empty()) return std::nullopt;
  return fs::path(s);
}

// The one declaration of every key. Keep in step with config.h; docs/config.md is generated
// from this (build target config-docs) and a unit test fails when it is out of date.
const Field kFields[] = {
    // [server]
    {.section = "server",
     .key = "listen",
     .kind = Kind::string,
     .check = check_listen,
     .range_note = "`IPv4:port` or `[IPv6]:port`, port 0..65535 (0: any free port)",
     .description = "Address for HTTP and WebSocket. Plain HTTP is allowed only on loopback "
                    "unless `allow_plain_http` is set or TLS is configured.",
     .get = [](const Config& c) -> Value { return c.server.listen; },
     .set =
         [](Config& c, Value&& v) {
           c.server.listen = as_str(std::move(v));
           split_listen(c.server.listen, c.server.host, c.server.port);  // checked before
         }},
    {.section = "server",
     .key = "tls_cert",
     .kind = Kind::optional_path,
     .description = "PEM certificate chain; with `tls_key` the server speaks HTTPS and WSS.",
     .get = [](const Config& c) { return opt_path(c.server.tls_cert); },
     .set = [](Config& c, Value&& v) { c.server.tls_cert = to_opt_path(std::move(v)); }},
    {.section = "server",
     .key = "tls_key",
     .kind = Kind::optional_path,
     .description = "PEM private key for `tls_cert`; readable by the service user only.",
     .get = [](const Config& c) { return opt_path(c.server.tls_key); },
     .set = [](Config& c, Value&& v) { c.server.tls_key = to_opt_path(std::move(v)); }},
    {.section = "server",
     .key = "allow_plain_http",
     .kind = Kind::boolean,
     .description = "Allow plain HTTP on a non-loopback address (passwords and tokens travel "
                    "in clear text; only behind a TLS-terminating proxy).",
     .get = [](const Config& c) -> Value { return c.server.allow_plain_http; },
     .set = [](Config& c, Value&& v) { c.server.allow_plain_http = std::get<bool>(v); }},
    {.section = "server",
     .key = "trusted_proxies",
     .kind = Kind::string_list,
     .min = 0,
     .max = kMaxInterfaces,
     .check = check_network,
     .range_note = "0..64 IP addresses or networks in CIDR form (127.0.0.1, 10.1.0.0/16)",
     .description = "Reverse proxies whose `X-Forwarded-For` header names the client. From such "
                    "a peer the client address is the right-most entry that is not itself a "
                    "trusted proxy; it is what login throttling, the audit trail, the logs and "
                    "anonymous `/metrics` (loopback only) see. From any other peer the header "
                    "is ignored. Empty (the default): the TCP peer is the client.",
     .get = [](const Config& c) -> Value { return c.server.trusted_proxies; },
     .set = [](Config& c,
               Value&& v) { c.server.trusted_proxies = std::get<Strings>(std::move(v)); }},
    {.section = "server",
     .key = "threads",
     .kind = Kind::integer,
     .min = 1,
     .max = 64,
     .description = "Threads running the I/O event loop.",
     .get = [](const Config& c) -> Value { return std::int64_t{c.server.threads}; },
     .set = [](Config& c, Value&& v) { c.server.threads = static_cast<int>(as_int(v)); }},
    {.section = "server",
     .key = "max_connections",
     .kind = Kind::integer,
     .min = 1,
     .max = 100000,
     .description = "Open HTTP/WebSocket connections; beyond this new ones are closed at once.",
     .get = [](const Config& c) -> Value { return std::int64_t{c.server.max_connections}; },
     .set = [](Config& c, Value&& v) { c.server.max_connections = static_cast<int>(as_int(v)); }},
    {.section = "server",
     .key = "max_connections_per_address",
     .kind = Kind::integer,
     .min = 1,
     .max = 100000,
     .description = "Open connections from one client address; beyond this its new ones get "
                    "503 and are closed. The address is the TCP peer's (a proxy's own address "
                    "behind a proxy).",
     .get = [](const Config& c) -> Value {
       return std::int64_t{c.server.max_connections_per_address};
     },
     .set = [](Config& c,
               Value&& v) { c.server.max_connections_per_address = static_cast<int>(as_int(v)); }},
    {.section = "server",
     .key = "max_unauthenticated_per_address",
     .kind = Kind::integer,
     .min = 1,
     .max = 100000,
     .description = "Open connections from one client address on which no request has yet "
                    "carried a valid session; beyond this its new ones get 503 and are closed.",
     .get = [](const Config& c) -> Value {
       return std::int64_t{c.server.max_unauthenticated_per_address};
     },
     .set =
         [](Config& c, Value&& v) {
           c.server.max_unauthenticated_per_address = static_cast<int>(as_int(v));
         }},
    {.section = "server",
     .key = "max_header_bytes",
     .kind = Kind::integer,
     .min = 1024,
     .max = kMiB,
     .description = "Largest request header block in bytes.",
     .get = [](const Config& c) -> Value {
       return static_cast<std::int64_t>(c.server.max_header_bytes);
     },
     .set = [](Config& c,
               Value&& v) { c.server.max_header_bytes = static_cast<std::size_t>(as_int(v)); }},
    {.section = "server",
     .key = "max_body_bytes",
     .kind = Kind::integer,
     .min = 1024,
     .max = 64 * kMiB,
     .description = "Largest request body in bytes.",
     .get = [](const Config& c) -> Value {
       return static_cast<std::int64_t>(c.server.max_body_bytes);
     },
     .set = [](Config& c,
               Value&& v) { c.server.max_body_bytes = static_cast<std::size_t>(as_int(v)); }},
    {.section = "server",
     .key = "read_timeout_s",
     .kind = Kind::integer,
     .min = 1,
     .max = 3600,
     .description = "Seconds allowed to read one request.",
     .get = [](const Config& c) -> Value {
       return static_cast<std::int64_t>(c.server.read_timeout.count());
     },
     .set = [](Config& c, Value&& v) { c.server.read_timeout = std::chrono::seconds(as_int(v)); }},
    {.section = "server",
     .key = "idle_timeout_s",
     .kind = Kind::integer,
     .min = 1,
     .max = 86400,
     .description = "Seconds an idle keep-alive or WebSocket connection stays open.",
     .get = [](const Config& c) -> Value {
       return static_cast<std::int64_t>(c.server.idle_timeout.count());
     },
     .set = [](Config& c, Value&& v) { c.server.idle_timeout = std::chrono::seconds(as_int(v)); }},
    {.section = "server",
     .key = "first_byte_timeout_s",
     .kind = Kind::integer,
     .min = 1,
     .max = 3600,
     .description = "Seconds a new connection may stay silent before its first byte (and, "
                    "with TLS, to finish the handshake); then it is closed.",
     .get = [](const Config& c) -> Value {
       return static_cast<std::int64_t>(c.server.first_byte_timeout.count());
     },
     .set = [](Config& c,
               Value&& v) { c.server.first_byte_timeout = std::chrono::seconds(as_int(v)); }},
    {.section = "server",
     .key = "web_root",
     .kind = Kind::optional_path,
     .description = "Directory of the operator console's files; unset: the built-in path.",
     .get = [](const Config& c) { return opt_path(c.server.web_root); },
     .set = [](Config& c, Value&& v) { c.server.web_root = to_opt_path(std::move(v)); }},
    // [auth]
    {.section = "auth",
     .key = "session_ttl_minutes",
     .kind = Kind::integer,
     .min = 1,
     .max = 7 * 24 * 60,
     .description = "Minutes a login session (token or cookie) stays valid.",
     .get = [](const Config& c) -> Value {
       return static_cast<std::int64_t>(c.auth.session_ttl.count());
     },
     .set = [](Config& c, Value&& v) { c.auth.session_ttl = std::chrono::minutes(as_int(v)); }},
    {.section = "auth",
     .key = "login_max_failures",
     .kind = Kind::integer,
     .min = 1,
     .max = 1000,
     .description = "Failed logins for one user from one client address before that pair "
                    "waits `login_window_s`/8, doubling with each further failure up to "
                    "`login_window_s`; a client address that fails this many times 4 over "
                    "(any users) within `login_window_s` is refused until the oldest failure "
                    "leaves the window. Failures never refuse a user at another address.",
     .get = [](const Config& c) -> Value { return std::int64_t{c.auth.login_max_failures}; },
     .set = [](Config& c, Value&& v) { c.auth.login_max_failures = static_cast<int>(as_int(v)); }},
    {.section = "auth",
     .key = "login_window_s",
     .kind = Kind::integer,
     .min = 1,
     .max = 86400,
     .description = "Seconds over which failed logins are counted.",
     .get = [](const Config& c) -> Value {
       return static_cast<std::int64_t>(c.auth.login_window.count());
     },
     .set = [](Config& c, Value&& v) { c.auth.login_window = std::chrono::seconds(as_int(v)); }},
    // [storage]
    {.section = "storage",
     .key = "path",
     .kind = Kind::path,
     .description = "Directory for segment files and the catalogue `zaulek.db`. A relative path "
                    "is relative to the config file's directory.",
     .get = [](const Config& c) -> Value { return c.storage.path.string(); },
     .set = [](Config& c, Value&& v) { c.storage.path = as_str(std::move(v)); }},
    {.section = "storage",
     .key = "catalog_reserve_mb",
     .kind = Kind::integer,
     .min = 0,
     .max = 4096,
     .description = "MiB held in a reserve file on the storage file system and given back when "
                    "footage fills the disk, so that the catalogue can still record the storage "
                    "alarm and the last segments. 0 turns it off.",
     .get = [](const Config& c) -> Value { return std::int64_t{c.storage.catalog_reserve_mb}; },
     .set = [](Config& c,
               Value&& v) { c.storage.catalog_reserve_mb = static_cast<int>(as_int(v)); }},
    {.section = "storage",
     .key = "key_file",
     .kind = Kind::optional_path,
     .description = "The 256-bit key that encrypts camera passwords in the catalogue, created "
                    "0600 at first start and refused if group or others may read it. Unset: "
                    "`secret.key` in `path`. Put it elsewhere (the systemd layout: "
                    "`/etc/zaulek/secret.key`) so that a backup of the storage folder does not "
                    "carry the key beside the credentials it opens.",
     .get = [](const Config& c) { return opt_path(c.storage.key_file); },
     .set = [](Config& c, Value&& v) { c.storage.key_file = to_opt_path(std::move(v)); }},
    // [retention]
    {.section = "retention",
     .key = "max_age_days",
     .kind = Kind::integer,
     .min = 1,
     .max = 3650,
     .description = "Legal ceiling: footage older than this is deleted unless held as "
                    "evidence. A camera may set less, never more.",
     .get = [](const Config& c) -> Value { return std::int64_t{c.retention.max_age_days}; },
     .set = [](Config& c, Value&& v) { c.retention.max_age_days = static_cast<int>(as_int(v)); }},
    {.section = "retention",
     .key = "min_free_percent",
     .kind = Kind::integer,
     .min = 0,
     .max = 90,
     .description = "When free space on the storage file system falls below this, the oldest "
                    "unheld footage is deleted first.",
     .get = [](const Config& c) -> Value { return std::int64_t{c.retention.min_free_percent}; },
     .set = [](Config& c,
               Value&& v) { c.retention.min_free_percent = static_cast<int>(as_int(v)); }},
    // [recording]
    {.section = "recording",
     .key = "segment_seconds",
     .kind = Kind::integer,
     .min = 5,
     .max = 600,
     .description = "Target length of a segment file; segments end on a keyframe.",
     .get = [](const Config& c) -> Value {
       return static_cast<std::int64_t>(c.recording.segment_duration.count());
     },
     .set = [](Config& c,
               Value&& v) { c.recording.segment_duration = std::chrono::seconds(as_int(v)); }},
    {.section = "recording",
     .key = "pre_event_s",
     .kind = Kind::integer,
     .min = 0,
     .max = 60,
     .description = "Event mode: seconds kept from before an event starts.",
     .get = [](const Config& c) -> Value {
       return static_cast<std::int64_t>(c.recording.pre_event.count());
     },
     .set = [](Config& c, Value&& v) { c.recording.pre_event = std::chrono::seconds(as_int(v)); }},
    {.section = "recording",
     .key = "post_event_s",
     .kind = Kind::integer,
     .min = 0,
     .max = 600,
     .description = "Event mode: seconds recorded after an event stops.",
     .get = [](const Config& c) -> Value {
       return static_cast<std::int64_t>(c.recording.post_event.count());
     },
     .set = [](Config& c, Value&& v) { c.recording.post_event = std::chrono::seconds(as_int(v)); }},
    {.section = "recording",
     .key = "ingest",
     .kind = Kind::choice,
     .choices = kIngests,
     .description = "How RTSP over TCP is received: `native` (zaulekd's own RTSP client and "
                    "depayloader, a fraction of the CPU) or `gstreamer` (rtspsrc). Cameras on "
                    "UDP always use rtspsrc.",
     .get = [](const Config& c) -> Value { return c.recording.ingest; },
     .set = [](Config& c, Value&& v) { c.recording.ingest = as_str(std::move(v)); }},
    // [discovery]
    {.section = "discovery",
     .key = "interfaces",
     .kind = Kind::string_list,
     .min = 0,
     .max = kMaxInterfaces,
     .range_note = "0..64 interface names of 1..15 characters",
     .description = "Network interfaces where WS-Discovery probes are sent (UDP multicast to "
                    "239.255.255.250:3702).",
     .get = [](const Config& c) -> Value { return c.discovery.interfaces; },
     .set = [](Config& c, Value&& v) { c.discovery.interfaces = std::get<Strings>(std::move(v)); }},
    {.section = "discovery",
     .key = "trusted_networks",
     .kind = Kind::string_list,
     .min = 0,
     .max = kMaxInterfaces,
     .check = check_network,
     .range_note = "0..64 networks in CIDR form (10.1.0.0/16, fd00::/8)",
     .description = "Networks where a camera that WS-Discovery sees at a new address is followed "
                    "there at once. Elsewhere (the default: nowhere) such a sighting is only "
                    "shown and audited, and an administrator moves the camera "
                    "(`POST /api/v1/cameras/{id}/move`): WS-Discovery is unauthenticated, so "
                    "anyone on the camera network can claim a camera's identity.",
     .get = [](const Config& c) -> Value { return c.discovery.trusted_networks; },
     .set = [](Config& c,
               Value&& v) { c.discovery.trusted_networks = std::get<Strings>(std::move(v)); }},
    {.section = "discovery",
     .key = "timeout_ms",
     .kind = Kind::integer,
     .min = 100,
     .max = 60000,
     .description = "Default time a discovery scan waits for answers, in milliseconds.",
     .get = [](const Config& c) -> Value {
       return static_cast<std::int64_t>(c.discovery.default_timeout.count());
     },
     .set = [](Config& c,
               Value&& v) { c.discovery.default_timeout = std::chrono::milliseconds(as_int(v)); }},
    // [cameras]
    {.section = "cameras",
     .key = "health_interval_ms",
     .kind = Kind::integer,
     .min = 200,
     .max = 3600000,
     .description = "Time between health probes (GetSystemDateAndTime, GetDeviceInformation) of an "
                    "online camera, in milliseconds.",
     .get = [](const Config& c) -> Value {
       return static_cast<std::int64_t>(c.cameras.health_interval.count());
     },
     .set = [](Config& c,
               Value&& v) { c.cameras.health_interval = std::chrono::milliseconds(as_int(v)); }},
    {.section = "cameras",
     .key = "retry_max_ms",
     .kind = Kind::integer,
     .min = 200,
     .max = 3600000,
     .description = "Longest wait between retries of a camera that is offline or refuses the "
                    "credentials (exponential backoff with jitter up to this), in milliseconds.",
     .get = [](const Config& c) -> Value {
       return static_cast<std::int64_t>(c.cameras.retry_max.count());
     },
     .set = [](Config& c,
               Value&& v) { c.cameras.retry_max = std::chrono::milliseconds(as_int(v)); }},
    {.section = "cameras",
     .key = "onvif_timeout_ms",
     .kind = Kind::integer,
     .min = 100,
     .max = 60000,
     .description = "Deadline of one ONVIF SOAP call (connect, send, answer), in milliseconds.",
     .get = [](const Config& c) -> Value {
       return static_cast<std::int64_t>(c.cameras.onvif_timeout.count());
     },
     .set = [](Config& c,
               Value&& v) { c.cameras.onvif_timeout = std::chrono::milliseconds(as_int(v)); }},
    // [events]
    {.section = "events",
     .key = "notify_url",
     .kind = Kind::string,
     .check = check_notify_url,
     .range_note = "\"\" or `http://host:port` / `https://host:port`, at most 256 characters",
     .description = "Base URL at which cameras without a PullPoint reach zaulekd to deliver "
                    "their events (Basic Notification); zaulekd appends "
                    "`/onvif/notify/<token>`. Empty: `http(s)://` + the `listen` address and port "
                    "(which must then not be 0.0.0.0 or ::).",
     .get = [](const Config& c) -> Value { return c.events.notify_url; },
     .set = [](Config& c, Value&& v) { c.events.notify_url = as_str(std::move(v)); }},
    {.section = "events",
     .key = "max_per_camera_per_second",
     .kind = Kind::integer,
     .min = 1,
     .max = 100000,
     .description = "Each camera's event budget: events per second it may send on average "
                    "(token bucket). Events over it are not published or stored; they are counted "
                    "(`zaulek_events_suppressed_total`) and summarized once a second as one event "
                    "of kind `other`, topic `zaulek:Events/RateLimited`.",
     .get = [](const Config& c) -> Value {
       return std::int64_t{c.events.max_per_camera_per_second};
     },
     .set = [](Config& c,
               Value&& v) { c.events.max_per_camera_per_second = static_cast<int>(as_int(v)); }},
    {.section = "events",
     .key = "burst",
     .kind = Kind::integer,
     .min = 1,
     .max = 100000,
     .description = "Events a camera that has been quiet may send at once before "
                    "`max_per_camera_per_second` applies (the token bucket's size).",
     .get = [](const Config& c) -> Value { return std::int64_t{c.events.burst}; },
     .set = [](Config& c, Value&& v) { c.events.burst = static_cast<int>(as_int(v)); }},
    // [log]
    {.section = "log",
     .key = "level",
     .kind = Kind::choice,
     .choices = kLogLevels,
     .description = "Least severe level written to the log (stderr; journald under systemd).",
     .get = [](const Config& c) -> Value { return c.log.level; },
     .set = [](Config& c, Value&& v) { c.log.level = as_str(std::move(v)); }},
};

constexpr std::string_view kSections[] = {
    "server", "auth", "storage", "retention", "recording", "discovery", "cameras", "events", "log"};

const Field* find_field(std::string_view section, std::string_view key) {
  for (const auto& f : kFields)
    if (f.section == section && f.key == key) return &f;
  return nullptr;
}

std::string dotted(const Field& f) {
  return std::string(f.section) + "." + std::string(f.key);
}

std::string upper(std::string_view s) {
  std::string out(s);
  for (auto& ch : out) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  return out;
}

std::string env_name(const Field& f) {
  return "ZAULEK_" + upper(f.section) + "_" + upper(f.key);
}

// A name from the file, safe to print: control characters escaped, no quotes added.
std::string printable(std::string_view s) {
  auto q = toml_quote(s);
  return q.substr(1, q.size() - 2);
}

std::string kind_name(const Field& f) {
  switch (f.kind) {
    case Kind::boolean:
      return "boolean";
    case Kind::integer:
      return "integer";
    case Kind::string:
    case Kind::choice:
      return "string";
    case Kind::path:
    case Kind::optional_path:
      return "path (string)";
    case Kind::string_list:
      return "array of strings";
  }
  return "?";
}

// The value as TOML, for to_toml() and the docs.
std::string toml_text(const Value& v) {
  if (auto* b = std::get_if<bool>(&v)) return *b ? "true" : "false";
  if (auto* i = std::get_if<std::int64_t>(&v)) return std::to_string(*i);
  if (auto* s = std::get_if<std::string>(&v)) return toml_quote(*s);
  std::string out = "[";
  for (const auto& s : std::get<Strings>(v)) {
    if (out.size() > 1) out += ", ";
    out += toml_quote(s);
  }
  return out + "]";
}

// Where a value came from, for error messages.
struct Origin {
  std::string prefix;  // "FILE:LINE:COL" or "environment variable NAME"
};

Error invalid(const std::string& where, const std::string& what) {
  return make_error(ErrorKind::invalid_argument, where + ": " + what);
}

std::string location(std::string_view source, const toml::source_region& r) {
  return std::string(source) + ":" + std::to_string(r.begin.line) + ":" +
         std::to_string(r.begin.column);
}

std::string toml_type_name(toml::node_type t) {
  switch (t) {
    case toml::node_type::table:
      return "a table";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a floating-point number";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::date:
      return "a date";
    case toml::node_type::time:
      return "a time";
    case toml::node_type::date_time:
      return "a date-time";
    case toml::node_type::none:
      break;
  }
  return "nothing";
}

std::string expected_name(const Field& f) {
  switch (f.kind) {
    case Kind::boolean:
      return "a boolean (true or false)";
    case Kind::integer:
      return "an integer";
    case Kind::string_list:
      return "an array of strings";
    default:
      return "a string";
  }
}

// Checks a value against the field's declaration; returns what is wrong, or empty.
std::string check_value(const Field& f, const Value& v) {
  switch (f.kind) {
    case Kind::boolean:
      return {};
    case Kind::integer: {
      auto i = as_int(v);
      if (i < f.min || i > f.max)
        return std::to_string(i) + " is out of range " + std::to_string(f.min) + ".." +
               std::to_string(f.max);
      return {};
    }
    case Kind::string:
    case Kind::path:
    case Kind::optional_path:
    case Kind::choice: {
      const auto& s = std::get<std::string>(v);
      if (s.find('\0') != std::string::npos) return "must not contain a NUL character";
      if (f.kind == Kind::choice) {
        if (std::find(f.choices.begin(), f.choices.end(), s) != f.choices.end()) return {};
        std::string all;
        for (auto c : f.choices) all += (all.empty() ? "" : ", ") + std::string(c);
        return "unknown value " + toml_quote(s) + "; expected one of " + all;
      }
      if (f.kind != Kind::string && s.empty()) return "must not be empty";
      if (f.check) return f.check(s);
      return {};
    }
    case Kind::string_list: {
      const auto& list = std::get<Strings>(v);
      if (list.size() > static_cast<std::size_t>(f.max))
        return "has " + std::to_string(list.size()) + " entries; at most " + std::to_string(f.max) +
               " allowed";
      for (const auto& s : list) {
        if (f.check) {
          if (auto what = f.check(s); !what.empty()) return "entry " + toml_quote(s) + ": " + what;
          continue;
        }
        if (s.empty() || s.size() > kMaxInterfaceName || s.find('\0') != std::string::npos)
          return "entry " + toml_quote(s) + " is not an interface name (1.." +
                 std::to_string(kMaxInterfaceName) + " characters)";
      }
      return {};
    }
  }
  return {};
}

fs::path resolve(const fs::path& base, const std::string& p) {
  fs::path path(p);
  if (path.is_absolute()) return path.lexically_normal();
  return (base / path).lexically_normal();
}

bool is_path_kind(Kind k) {
  return k == Kind::path || k == Kind::optional_path;
}

// Converts a TOML node to the field's Value, or says what is wrong.
std::variant<Value, std::string> from_node(const Field& f, const toml::node& node) {
  auto wrong_type = [&] {
    return "expected " + expected_name(f) + ", got " + toml_type_name(node.type());
  };
  switch (f.kind) {
    case Kind::boolean:
      if (auto* b = node.as_boolean()) return Value{b->get()};
      return wrong_type();
    case Kind::integer:
      if (auto* i = node.as_integer()) return Value{i->get()};
      return wrong_type();
    case Kind::string_list: {
      auto* arr = node.as_array();
      if (!arr) return wrong_type();
      // Bound before copying anything.
      if (arr->size() > static_cast<std::size_t>(f.max))
        return "has " + std::to_string(arr->size()) + " entries; at most " + std::to_string(f.max) +
               " allowed";
      Strings out;
      for (std::size_t i = 0; i < arr->size(); ++i) {
        auto* s = (*arr)[i].as_string();
        if (!s)
          return "entry " + std::to_string(i) + ": expected a string, got " +
                 toml_type_name((*arr)[i].type());
        out.push_back(s->get());
      }
      return Value{std::move(out)};
    }
    default:
      if (auto* s = node.as_string()) return Value{s->get()};
      return wrong_type();
  }
}

std::variant<Value, std::string> from_env(const Field& f, const std::string& text) {
  switch (f.kind) {
    case Kind::boolean:
      if (text == "true" || text == "1") return Value{true};
      if (text == "false" || text == "0") return Value{false};
      return "expected true or false, got " + toml_quote(text);
    case Kind::integer: {
      std::int64_t i = 0;
      auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), i);
      if (text.empty() || ec != std::errc() || end != text.data() + text.size())
        return "expected an integer, got " + toml_quote(text);
      return Value{i};
    }
    case Kind::string_list: {
      // Comma-separated; spaces around names are ignored; empty text is an empty list.
      Strings out;
      if (text.find_first_not_of(" \t") == std::string::npos) return Value{out};
      std::size_t start = 0;
      while (true) {
        auto comma = text.find(',', start);
        auto item =
            text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
        auto b = item.find_first_not_of(" \t");
        auto e = item.find_last_not_of(" \t");
        out.push_back(b == std::string::npos ? std::string() : item.substr(b, e - b + 1));
        if (comma == std::string::npos) break;
        start = comma + 1;
      }
      return Value{std::move(out)};
    }
    default:
      return Value{text};
  }
}

EnvLookup process_env() {
  return [](std::string_view name) -> std::optional<std::string> {
    const char* v = std::getenv(std::string(name).c_str());
    if (!v) return std::nullopt;
    return std::string(v);
  };
}

Result<Config> parse_impl(std::string_view text, std::string_view source, const fs::path& base,
                          const EnvLookup& env) {
  const std::size_t n = std::size(kFields);
  std::vector<std::string> origin(n, std::string(source));  // defaults: just the source name
  Config cfg;
  cfg.source = fs::path(source);

  if (text.size() > kMaxFileBytes)
    return invalid(std::string(source), "file is " + std::to_string(text.size()) +
                                            " bytes; at most " + std::to_string(kMaxFileBytes) +
                                            " allowed");

  // Stage 2: the TOML file.
  toml::table root;
  try {
    root = toml::parse(text, source);
  } catch (const toml::parse_error& e) {
    return invalid(location(source, e.source()), std::string(e.description()));
  }
  // toml++ tables iterate in key order, not file order: collect every error and report the
  // one that comes first in the file.
  struct FileError {
    toml::source_position at;
    std::string where, what;
  };
  std::optional<FileError> first;
  auto fail = [&](const toml::source_region& r, std::string what) {
    if (!first || r.begin < first->at)
      first = FileError{r.begin, location(source, r), std::move(what)};
  };
  for (auto&& [skey, snode] : root) {
    std::string_view sname = skey.str();
    if (sname == "rules") {  // [[rules]]: an array of tables (config/rules.cpp)
      if (auto e = parse_rules(snode, cfg.rules)) fail(e->where, std::move(e->what));
      continue;
    }
    if (std::find(std::begin(kSections), std::end(kSections), sname) == std::end(kSections)) {
      fail(skey.source(), snode.is_table() ? "unknown section [" + printable(sname) + "]"
                                           : "unknown key " + printable(sname));
      continue;
    }
    auto* table = snode.as_table();
    if (!table) {
      fail(skey.source(),
           std::string(sname) + ": expected a table, got " + toml_type_name(snode.type()));
      continue;
    }
    for (auto&& [key, node] : *table) {
      const Field* f = find_field(sname, key.str());
      if (!f) {
        fail(key.source(), "unknown key " + std::string(sname) + "." + printable(key.str()));
        continue;
      }
      auto converted = from_node(*f, node);
      if (auto* what = std::get_if<std::string>(&converted)) {
        fail(node.source(), dotted(*f) + ": " + *what);
        continue;
      }
      auto& value = std::get<Value>(converted);
      if (auto what = check_value(*f, value); !what.empty()) {
        fail(node.source(), dotted(*f) + ": " + what);
        continue;
      }
      if (is_path_kind(f->kind)) value = resolve(base, std::get<std::string>(value)).string();
      f->set(cfg, std::move(value));
      origin[static_cast<std::size_t>(f - kFields)] = location(source, node.source());
    }
  }
  if (first) return invalid(first->where, first->what);

  // Stage 3: ZAULEK_<SECTION>_<KEY>. Other ZAULEK_* names are not ours to judge.
  if (env) {
    for (std::size_t i = 0; i < n; ++i) {
      const Field& f = kFields[i];
      auto name = env_name(f);
      auto text = env(name);
      if (!text) continue;
      auto where = "environment variable " + name;
      if (text->size() > 64 * 1024) return invalid(where, dotted(f) + ": value too long");
      auto converted = from_env(f, *text);
      if (auto* what = std::get_if<std::string>(&converted))
        return invalid(where, dotted(f) + ": " + *what);
      auto& value = std::get<Value>(converted);
      if (auto what = check_value(f, value); !what.empty())
        return invalid(where, dotted(f) + ": " + what);
      // Relative paths from the environment are relative to the working directory.
      if (is_path_kind(f.kind))
        value = std::filesystem::absolute(std::get<std::string>(value)).lexically_normal().string();
      f.set(cfg, std::move(value));
      origin[i] = where;
    }
  }

  // Stage 4: rules that span fields.
  auto origin_of = [&](std::string_view section, std::string_view key) {
    return origin[static_cast<std::size_t>(find_field(section, key) - kFields)];
  };
  if (cfg.server.tls_cert && !cfg.server.tls_key)
    return invalid(origin_of("server", "tls_cert"),
                   "server.tls_cert: set without server.tls_key; set both or neither");
  if (cfg.server.tls_key && !cfg.server.tls_cert)
    return invalid(origin_of("server", "tls_key"),
                   "server.tls_key: set without server.tls_cert; set both or neither");
  if (!cfg.server.tls_cert && !cfg.server.allow_plain_http && !is_loopback_host(cfg.server.host))
    return invalid(origin_of("server", "listen"),
                   "server.listen: plain HTTP on non-loopback address " + cfg.server.host +
                       " sends passwords in clear text; set server.tls_cert and server.tls_key, "
                       "or server.allow_plain_http = true");
  return cfg;
}

fs::path base_dir(const fs::path& source) {
  std::error_code ec;
  auto abs = fs::absolute(source, ec);
  if (ec) return fs::path(".");
  return abs.parent_path();
}

}  // namespace

Result<Config> parse(std::string_view toml_text, std::string_view source_name,
                     const EnvLookup& env) {
  return parse_impl(toml_text, source_name, base_dir(fs::path(source_name)), env);
}

Result<Config> parse(std::string_view toml_text, std::string_view source_name) {
  return parse(toml_text, source_name, process_env());
}

Result<Config> load_file(const fs::path& path, const EnvLookup& env) {
  const std::string name = path.string();
  std::error_code ec;
  auto status = fs::status(path, ec);
  if (ec || !fs::exists(status))
    return make_error(
        ec && ec != std::errc::no_such_file_or_directory ? ErrorKind::invalid_argument
                                                         : ErrorKind::not_found,
        name + ": cannot read: " + (ec ? ec.message() : std::string("No such file or directory")));
  if (!fs::is_regular_file(status)) return invalid(name, "not a regular file");
  std::ifstream in(path, std::ios::binary);
  if (!in) return invalid(name, "cannot open for reading");
  // Read at most one byte past the limit: the size check is on what was read, so a file that
  // grows while we read cannot slip past it.
  std::string text(kMaxFileBytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  if (in.bad()) return invalid(name, "read error");
  text.resize(static_cast<std::size_t>(in.gcount()));
  if (text.size() > kMaxFileBytes)
    return invalid(name, "file is larger than " + std::to_string(kMaxFileBytes) + " bytes");
  return parse_impl(text, name, base_dir(path), env);
}

Result<Config> load_file(const fs::path& path) {
  return load_file(path, process_env());
}

std::vector<std::string> field_keys() {
  std::vector<std::string> out;
  for (const auto& f : kFields) out.push_back(dotted(f));
  return out;
}

std::string env_var_name(std::string_view dotted_key) {
  auto dot = dotted_key.find('.');
  return "ZAULEK_" + upper(dotted_key.substr(0, dot)) + "_" +
         upper(dot == std::string_view::npos ? std::string_view() : dotted_key.substr(dot + 1));
}

std::string to_toml(const Config& config) {
  std::string out;
  std::string_view section;
  for (const auto& f : kFields) {
    if (f.section != section) {
      if (!section.empty()) out += "\n";
      section = f.section;
      out += "[" + std::string(section) + "]\n";
    }
    auto v = f.get(config);
    if (f.kind == Kind::optional_path && std::get<std::string>(v).empty())
      out += "# " + std::string(f.key) + " = (unset)\n";
    else
      out += std::string(f.key) + " = " + toml_text(v) + "\n";
  }
  return out + rules_toml(config.rules);
}

std::string reference_markdown() {
  const Config defaults;
  std::string out;
  out +=
      "<!-- Generated by zaulek-config-doc from the field table in config/config.cpp.\n"
      "     Do not edit; run `cmake --build BUILD --target config-docs`. -->\n"
      "# zaulekd configuration reference\n"
      "\n"
      "`zaulekd --config FILE` reads one TOML file. Settings are applied in stages:\n"
      "\n"
      "1. built-in defaults (below);\n"
      "2. the TOML file;\n"
      "3. environment variables `ZAULEK_<SECTION>_<KEY>` (e.g. `ZAULEK_SERVER_LISTEN`,\n"
      "   `ZAULEK_LOG_LEVEL`, `ZAULEK_STORAGE_PATH`), which override the file;\n"
      "4. validation of the whole.\n"
      "\n"
      "`zaulekd --config FILE --check` runs these stages and exits 0, or 1 with the first\n"
      "error. Every error names where the value came from and the key, e.g.\n"
      "\n"
      "```\n"
      "/etc/zaulek/zaulekd.toml:3:10: server.listen: port must be a number 0..65535, got "
      "\"80800\" in \"0.0.0.0:80800\"\n"
      "environment variable ZAULEK_LOG_LEVEL: log.level: unknown value \"loud\"; expected one "
      "of trace, debug, info, warn, error, critical, off\n"
      "```\n"
      "\n"
      "Rules:\n"
      "\n"
      "- Unknown sections and unknown keys are errors (a typo never passes silently).\n"
      "- Types are strict: `threads = \"4\"` is an error; so is a floating-point number where "
      "an\n  integer is expected.\n"
      "- A relative path in the file is relative to the directory of the config file; a "
      "relative\n  path in an environment variable is relative to the working directory.\n"
      "- `tls_cert` and `tls_key` go together: both or neither.\n"
      "- Plain HTTP (no TLS) on an address outside 127.0.0.0/8 and ::1 is refused unless\n"
      "  `server.allow_plain_http = true`.\n"
      "- In environment variables booleans are `true`/`false` (or `1`/`0`) and arrays are\n"
      "  comma-separated (`ZAULEK_DISCOVERY_INTERFACES=eth0,eth1`).\n"
      "- The file may be at most " +
      std::to_string(kMaxFileBytes) +
      " bytes.\n"
      "\n"
      "A commented example with every key is `config/zaulekd.example.toml`.\n";
  std::string_view section;
  for (const auto& f : kFields) {
    if (f.section != section) {
      section = f.section;
      out += "\n## [" + std::string(section) + "]\n\n";
      out += "| key | type | default | allowed | environment | description |\n";
      out += "| --- | --- | --- | --- | --- | --- |\n";
    }
    auto v = f.get(defaults);
    std::string def = (f.kind == Kind::optional_path && std::get<std::string>(v).empty())
                          ? "unset"
                          : "`" + toml_text(v) + "`";
    std::string allowed;
    if (!f.range_note.empty()) {
      allowed = std::string(f.range_note);
    } else if (f.kind == Kind::integer) {
      allowed = std::to_string(f.min) + ".." + std::to_string(f.max);
    } else if (f.kind == Kind::choice) {
      for (auto c : f.choices) allowed += (allowed.empty() ? "`" : ", `") + std::string(c) + "`";
    } else if (f.kind == Kind::boolean) {
      allowed = "`true`, `false`";
    } else if (is_path_kind(f.kind)) {
      allowed = "non-empty path";
    }
    out += "| `" + std::string(f.key) + "` | " + kind_name(f) + " | " + def + " | " + allowed +
           " | `" + env_name(f) + "` | " + std::string(f.description) + " |\n";
  }
  return out + rules_markdown();
}

}  // namespace zaulek::config
