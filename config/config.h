// zaulekd configuration: defaults -> TOML file -> ZAULEK_* environment ->
// validation. Every error names file:line:col and the key. Public contract of
// the config module; see docs/config.md for every key.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/rules.h"
#include "core/crypto.h"
#include "core/error.h"

namespace zaulek::config {

struct Server {
  std::string listen = "127.0.0.1:8080";  // "host:port", "[v6]:port"
  std::string host = "127.0.0.1";         // derived from listen
  std::uint16_t port = 8080;              // derived from listen; 0 = any free port
  std::optional<std::filesystem::path> tls_cert;
  std::optional<std::filesystem::path> tls_key;
  bool allow_plain_http = false;  // plain HTTP on a non-loopback address needs this
  // Peers (IPs, CIDRs) whose X-Forwarded-For names the client; default none.
  std::vector<std::string> trusted_proxies;
  int threads = 2;
  int max_connections = 512;
  int max_connections_per_address = 64;      // per client (TCP peer) address
  int max_unauthenticated_per_address = 16;  // of those, not yet shown a valid session
  std::size_t max_header_bytes = 16 * 1024;
  std::size_t max_body_bytes = 1024 * 1024;
  std::chrono::seconds read_timeout{15};
  std::chrono::seconds idle_timeout{60};
  std::chrono::seconds first_byte_timeout{5};  // a new connection's first byte (or TLS handshake)
  // The slow pool (server/http/slow_pool.h): handlers that block for long
  // (onboarding, scans, password hashing) run there, never on the workers.
  int slow_threads = 4;
  int max_slow_requests = 16;                     // running or waiting; beyond, 503
  std::optional<std::filesystem::path> web_root;  // console files; default: built-in path
};

struct Auth {
  std::chrono::minutes session_ttl{12 * 60};
  int login_max_failures = 5;  // per user and per address within login_window
  std::chrono::seconds login_window{300};
  // Argon2id's cost for new password hashes (core/crypto.h); a hash keeps the
  // cost it was made with. Floor: OWASP's minimum (19 MiB, 2 iterations).
  int password_hash_memory_kib = 64 * 1024;
  int password_hash_iterations = 2;
  crypto::HashCost password_hash_cost() const {
    return {static_cast<std::uint32_t>(password_hash_memory_kib),
            static_cast<std::uint32_t>(password_hash_iterations)};
  }
};

struct Storage {
  std::filesystem::path path = "/var/lib/zaulek";  // segments + zaulek.db
  int catalog_reserve_mb = 32;  // 0..4096: kept free for the catalogue when footage fills the disk
  // The key that opens camera credentials; unset: `path`/secret.key. Kept
  // apart from the catalogue so that a backup of one does not carry both.
  std::optional<std::filesystem::path> key_file;
  std::filesystem::path secret_key_file() const {
    return key_file ? *key_file : path / "secret.key";
  }
  // The evidence signing key (Ed25519) lives beside the secret box key, under
  // the same rules (0600, refused if others may read it).
  std::filesystem::path signing_key_file() const {
    return secret_key_file().parent_path() / "signing.key";
  }
};

struct Retention {
  int max_age_days = 90;      // legal ceiling, 1..3650
  int min_free_percent = 10;  // 0..90
};

struct Recording {
  std::chrono::seconds segment_duration{60};  // 5..600
  std::chrono::seconds pre_event{5};          // event mode pre-buffer, 0..60
  std::chrono::seconds post_event{10};        // 0..600
  std::string ingest = "native";              // native | gstreamer (RTSP over TCP)
  std::chrono::seconds sub_linger{10};        // live view's sub pull after its last viewer, 0..600
};

struct Discovery {
  std::vector<std::string> interfaces{"lo"};
  // Where a camera seen at a new address is followed without an administrator.
  std::vector<std::string> trusted_networks;
  std::chrono::milliseconds default_timeout{2000};
};

// Camera supervision (server/cameras/cameras.h): health probes and their retries.
struct Cameras {
  std::chrono::milliseconds health_interval{10000};  // between probes of an online camera
  std::chrono::milliseconds retry_max{60000};        // cap of the retry backoff
  std::chrono::milliseconds onvif_timeout{5000};     // per SOAP call
};

// Camera events (server/events/events.h).
struct Events {
  // Base URL cameras without a PullPoint send their Notifies to (Basic
  // Notification); "" = derived from server.listen and the bound port.
  std::string notify_url;
  int max_per_camera_per_second = 50;  // each camera's event budget (token bucket rate)
  int burst = 200;                     // and what a quiet camera may send at once
};

// Evidence exports (server/export/export.h).
struct Export {
  // Where finished packages are kept; unset: `storage.path`/.exports.
  std::optional<std::filesystem::path> folder;
  int keep_days = 30;        // packages removed this long after they finish, unless held
  int max_concurrent = 1;    // jobs running at once; the rest wait in order
  int max_queued = 16;       // waiting jobs; beyond, a new export is refused (503)
  int max_range_hours = 24;  // longest range one export may ask for
};

struct Log {
  std::string level = "info";
};

struct Config {
  std::filesystem::path source;  // the file it came from (empty for defaults)
  Server server;
  Auth auth;
  Storage storage;
  Retention retention;
  Recording recording;
  Discovery discovery;
  Cameras cameras;
  Events events;
  Export export_;
  Log log;
  std::vector<Rule> rules;  // [[rules]] (config/rules.h)
};

// Parses and validates. On error, message is "FILE:LINE:COL: what is wrong"
// (kind invalid_argument); the first error found is reported.
Result<Config> load_file(const std::filesystem::path& path);
Result<Config> parse(std::string_view toml_text, std::string_view source_name);

// Files larger than this are refused before parsing.
inline constexpr std::size_t kMaxFileBytes = 1024 * 1024;

// Reads one environment variable (nullopt when unset). The overloads above
// read the process environment; tests pass their own.
using EnvLookup = std::function<std::optional<std::string>(std::string_view name)>;
Result<Config> load_file(const std::filesystem::path& path, const EnvLookup& env);
// Relative paths in the text resolve against source_name's directory.
Result<Config> parse(std::string_view toml_text, std::string_view source_name,
                     const EnvLookup& env);

}  // namespace zaulek::config
