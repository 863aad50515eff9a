// The field table: the one declaration of every config key (name, kind,
// range or check, doc text, where it lives in Config). Loading is in
// loader.cpp, the checks in checks.cpp, to_toml() and docs/config.md in
// schema.cpp; all of them read this table.
#include <cctype>
#include <optional>
#include <string>

#include "config/checks.h"
#include "config/config.h"
#include "config/field_table.h"

namespace zaulek::config {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kIngests[] = {"native", "gstreamer"};
constexpr std::string_view kLogLevels[] = {"trace", "debug",    "info", "warn",
                                           "error", "critical", "off"};

constexpr std::int64_t kMiB = 1024 * 1024;
constexpr std::size_t kMaxInterfaces = 64;

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
                    "503 and are closed. A trusted proxy's connections (`trusted_proxies`) "
                    "count against `max_connections` only: each request they carry counts, "
                    "while it is in progress, against the client that `X-Forwarded-For` names, "
                    "as does a WebSocket opened through the proxy, and over this (or "
                    "`max_unauthenticated_per_address`) that request gets 503.",
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
     .key = "slow_threads",
     .kind = Kind::integer,
     .min = 1,
     .max = 64,
     .description = "Threads for requests that block for long: adding, moving or re-probing a "
                    "camera, discovery scans, login and setting a password (Argon2id). They "
                    "never run on the threads that answer every other request.",
     .get = [](const Config& c) -> Value { return std::int64_t{c.server.slow_threads}; },
     .set = [](Config& c, Value&& v) { c.server.slow_threads = static_cast<int>(as_int(v)); }},
    {.section = "server",
     .key = "max_slow_requests",
     .kind = Kind::integer,
     .min = 1,
     .max = 10000,
     .description = "Such slow requests running or waiting for a thread at once; beyond this "
                    "they get 503 with `Retry-After` (counted in "
                    "`zaulek_http_slow_rejected_total`).",
     .get = [](const Config& c) -> Value { return std::int64_t{c.server.max_slow_requests}; },
     .set = [](Config& c, Value&& v) { c.server.max_slow_requests = static_cast<int>(as_int(v)); }},
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
    {.section = "auth",
     .key = "password_hash_memory_kib",
     .kind = Kind::integer,
     .min = 19 * 1024,  // OWASP's minimum for Argon2id
     .max = 4 * 1024 * 1024,
     .description = "Memory (KiB) Argon2id uses for each new password hash. The floor, 19456 "
                    "(19 MiB), is OWASP's minimum for Argon2id; the default, 65536, libsodium's "
                    "interactive limit. Existing hashes keep the cost they were made with until "
                    "the password changes. Each login and password change costs this much "
                    "memory for its duration.",
     .get = [](const Config& c) -> Value { return std::int64_t{c.auth.password_hash_memory_kib}; },
     .set = [](Config& c,
               Value&& v) { c.auth.password_hash_memory_kib = static_cast<int>(as_int(v)); }},
    {.section = "auth",
     .key = "password_hash_iterations",
     .kind = Kind::integer,
     .min = 2,  // OWASP's minimum with 19 MiB
     .max = 64,
     .description = "Argon2id passes over that memory for each new password hash (parallelism "
                    "is always 1). The floor, 2, is OWASP's minimum with 19 MiB.",
     .get = [](const Config& c) -> Value { return std::int64_t{c.auth.password_hash_iterations}; },
     .set = [](Config& c,
               Value&& v) { c.auth.password_hash_iterations = static_cast<int>(as_int(v)); }},
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
    {.section = "recording",
     .key = "sub_linger_s",
     .kind = Kind::integer,
     .min = 0,
     .max = 600,
     .description = "Live view pulls a camera's sub stream while someone watches it; the pull "
                    "(one RTSP session) stops this many seconds after the last viewer left, so "
                    "that a grid re-layout does not reconnect to the camera.",
     .get = [](const Config& c) -> Value {
       return static_cast<std::int64_t>(c.recording.sub_linger.count());
     },
     .set = [](Config& c, Value&& v) { c.recording.sub_linger = std::chrono::seconds(as_int(v)); }},
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
    // [export]
    {.section = "export",
     .key = "folder",
     .kind = Kind::optional_path,
     .description = "Directory for finished evidence packages (ZIP) and the MP4s being written. "
                    "Unset: `.exports` in `storage.path`. On the storage file system, a package "
                    "needs about as much space as the footage it holds, twice while it is made.",
     .get = [](const Config& c) { return opt_path(c.export_.folder); },
     .set = [](Config& c, Value&& v) { c.export_.folder = to_opt_path(std::move(v)); }},
    {.section = "export",
     .key = "keep_days",
     .kind = Kind::integer,
     .min = 1,
     .max = 3650,
     .description = "Days a finished export (its package, its row and the evidence hold on its "
                    "footage) is kept; then it is removed as if deleted, unless another evidence "
                    "hold covers its range.",
     .get = [](const Config& c) -> Value { return std::int64_t{c.export_.keep_days}; },
     .set = [](Config& c, Value&& v) { c.export_.keep_days = static_cast<int>(as_int(v)); }},
    {.section = "export",
     .key = "max_concurrent",
     .kind = Kind::integer,
     .min = 1,
     .max = 8,
     .description = "Export jobs that run at once (each reads and writes the footage's size in "
                    "bytes: more at once share the same disk). The others wait in order.",
     .get = [](const Config& c) -> Value { return std::int64_t{c.export_.max_concurrent}; },
     .set = [](Config& c, Value&& v) { c.export_.max_concurrent = static_cast<int>(as_int(v)); }},
    {.section = "export",
     .key = "max_queued",
     .kind = Kind::integer,
     .min = 0,
     .max = 1000,
     .description = "Export jobs that may wait for a free slot; a new export beyond them is "
                    "refused with 503 and Retry-After.",
     .get = [](const Config& c) -> Value { return std::int64_t{c.export_.max_queued}; },
     .set = [](Config& c, Value&& v) { c.export_.max_queued = static_cast<int>(as_int(v)); }},
    {.section = "export",
     .key = "max_range_hours",
     .kind = Kind::integer,
     .min = 1,
     .max = 168,
     .description = "Longest time range one export may ask for, in hours (an hour of 4 Mbit/s "
                    "footage is about 1.8 GB).",
     .get = [](const Config& c) -> Value { return std::int64_t{c.export_.max_range_hours}; },
     .set = [](Config& c, Value&& v) { c.export_.max_range_hours = static_cast<int>(as_int(v)); }},
    // [log]
    {.section = "log",
     .key = "level",
     .kind = Kind::choice,
     .choices = kLogLevels,
     .description = "Least severe level written to the log (stderr; journald under systemd).",
     .get = [](const Config& c) -> Value { return c.log.level; },
     .set = [](Config& c, Value&& v) { c.log.level = as_str(std::move(v)); }},
};

constexpr std::string_view kSections[] = {"server",    "auth",      "storage", "retention",
                                          "recording", "discovery", "cameras", "events",
                                          "export",    "log"};

}  // namespace

std::span<const Field> fields() {
  return kFields;
}

std::span<const std::string_view> sections() {
  return kSections;
}

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

}  // namespace zaulek::config
