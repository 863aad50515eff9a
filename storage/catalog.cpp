#include "storage/catalog.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <iterator>
#include <limits>
#include <mutex>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>

#include "storage/audit_chain.h"
#include "storage/migrations.h"
#include "storage/sqlite.h"

namespace zaulek::storage {
namespace {

using sql::Connection;
using sql::StmtUse;

std::int64_t to_ns(WallTime t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

WallTime from_ns(std::int64_t ns) {
  return WallTime{std::chrono::duration_cast<WallTime::duration>(std::chrono::nanoseconds{ns})};
}

Error with_context(const Error& e, const std::string& context) {
  return make_error(e.kind, context + ": " + e.message);
}

// Reader connections, borrowed one per call: a slow reader never holds the
// writer, and readers never share a connection (SQLite's rule in NOMUTEX mode).
class ReaderPool {
 public:
  class Lease {
   public:
    Lease(ReaderPool* pool, std::unique_ptr<Connection> c) : pool_(pool), c_(std::move(c)) {}
    Lease(Lease&& o) noexcept = default;
    Lease& operator=(Lease&&) = delete;
    ~Lease() {
      if (c_) pool_->give_back(std::move(c_));
    }
    Connection* operator->() const { return c_.get(); }
    Connection& operator*() const { return *c_; }

   private:
    ReaderPool* pool_;
    std::unique_ptr<Connection> c_;
  };

  explicit ReaderPool(std::filesystem::path path) : path_(std::move(path)) {}

  Result<Lease> borrow() {
    {
      std::lock_guard lock(mu_);
      if (!idle_.empty()) {
        auto c = std::move(idle_.back());
        idle_.pop_back();
        return Lease(this, std::move(c));
      }
    }
    // Opening happens outside the lock; a burst of readers opens a few more.
    auto c = Connection::open(path_, false);
    if (!c) return c.error();
    if (auto s = (*c)->exec("PRAGMA query_only = ON"); !s) return s.error();
    return Lease(this, std::move(*c));
  }

 private:
  void give_back(std::unique_ptr<Connection> c) {
    std::lock_guard lock(mu_);
    if (idle_.size() < kMaxIdle) idle_.push_back(std::move(c));
  }

  static constexpr std::size_t kMaxIdle = 8;
  std::filesystem::path path_;
  std::mutex mu_;
  std::vector<std::unique_ptr<Connection>> idle_;
};

const std::string kEmptyDetail = "{}";

// The last audit entry. A NULL hash (only after tampering) reads as the
// genesis hash so that appending still works; verify_audit reports it.
Result<AuditHead> read_audit_head(Connection& c) {
  auto st = c.prepare("SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1");
  if (!st) return st.error();
  auto row = (*st)->step();
  if (!row) return row.error();
  if (!*row) return AuditHead{};
  return AuditHead{(*st)->int64("id"),
                   (*st)->opt_text("hash").value_or(std::string(kAuditGenesis))};
}

// A set of camera ids as a JSON array for json_each(); nullopt stays NULL.
std::optional<std::string> camera_set_json(const std::optional<std::vector<std::string>>& ids) {
  if (!ids) return std::nullopt;
  return nlohmann::json(*ids).dump();
}

}  // namespace

std::string audit_camera(const std::string& target, const std::string& detail_json) {
  if (target.rfind("camera:", 0) == 0) return target.substr(7);
  auto detail = nlohmann::json::parse(detail_json, nullptr, false);
  if (detail.is_object())
    if (auto it = detail.find("camera_id"); it != detail.end() && it->is_string())
      return it->get<std::string>();
  return "";
}

namespace {

Result<User> read_user(const sql::Stmt& st) {
  User u;
  u.id = st.int64("id");
  u.name = st.text("name");
  auto role = parse_role(st.text("role"));
  if (!role) return make_error(ErrorKind::data_loss, "user " + u.name + " has an unknown role");
  u.role = *role;
  u.password_hash = st.text("password_hash");
  u.created = from_ns(st.int64("created_ns"));
  u.disabled = st.int64("disabled") != 0;
  if (auto cams = st.opt_text("cameras")) {
    auto j = nlohmann::json::parse(*cams, nullptr, false);
    if (j.is_discarded() || !j.is_array())
      return make_error(ErrorKind::data_loss, "user " + u.name + " has an unreadable camera list");
    std::vector<std::string> ids;
    for (const auto& e : j)
      if (e.is_string()) ids.push_back(e.get<std::string>());
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
    u.cameras = std::move(ids);
  }
  return u;
}

Result<Camera> read_camera(const sql::Stmt& st) {
  Camera c;
  c.id = st.text("id");
  c.name = st.text("name");
  c.onvif_url = st.text("onvif_url");
  c.username = st.text("username");
  c.password_enc = st.blob("password_enc");
  c.manufacturer = st.text("manufacturer");
  c.model = st.text("model");
  c.serial = st.text("serial");
  c.hardware_id = st.text("hardware_id");
  c.endpoint_ref = st.text("endpoint_ref");
  auto mode = parse_recording_mode(st.text("recording_mode"));
  if (!mode) return make_error(ErrorKind::data_loss, "camera " + c.id + " has an unknown mode");
  c.recording_mode = *mode;
  c.retention_days = static_cast<int>(st.int64("retention_days"));
  c.allow_basic_auth = st.int64("allow_basic_auth") != 0;
  c.created = from_ns(st.int64("created_ns"));
  c.updated = from_ns(st.int64("updated_ns"));
  return c;
}

Result<Segment> read_segment(const sql::Stmt& st) {
  Segment s;
  s.id = st.int64("id");
  s.camera_id = st.text("camera_id");
  s.start_ns = st.int64("start_ns");
  s.end_ns = st.int64("end_ns");
  s.bytes = st.int64("bytes");
  s.path = st.text("path");
  s.codec = st.text("codec");
  s.keyframes = st.int64("keyframes");
  s.checksum = st.opt_text("checksum");
  std::string state = st.text("state");
  if (state == "open") {
    s.state = SegmentState::open;
  } else if (state == "closed") {
    s.state = SegmentState::closed;
  } else if (state == "deleting") {
    s.state = SegmentState::deleting;
  } else {
    return make_error(ErrorKind::data_loss,
                      "segment " + std::to_string(s.id) + " has state " + state);
  }
  return s;
}

std::optional<ExportState> parse_export_state(std::string_view text) {
  if (text == "queued") return ExportState::queued;
  if (text == "running") return ExportState::running;
  if (text == "done") return ExportState::done;
  if (text == "failed") return ExportState::failed;
  return std::nullopt;
}

Result<Export> read_export(const sql::Stmt& st) {
  Export x;
  x.id = st.text("id");
  x.camera_id = st.text("camera_id");
  x.from_ns = st.int64("from_ns");
  x.to_ns = st.int64("to_ns");
  auto state = parse_export_state(st.text("state"));
  if (!state) return make_error(ErrorKind::data_loss, "export " + x.id + " has an unknown state");
  x.state = *state;
  x.path = st.text("path");
  x.bytes = st.int64("bytes");
  x.sha256 = st.text("sha256");
  x.error = st.text("error");
  x.created_by = st.text("created_by");
  x.created = from_ns(st.int64("created_ns"));
  if (!st.is_null("finished_ns")) x.finished = from_ns(st.int64("finished_ns"));
  return x;
}

Event read_event(const sql::Stmt& st) {
  Event e;
  e.id = st.int64("id");
  e.camera_id = st.text("camera_id");
  e.time_ns = st.int64("time_ns");
  e.kind = st.text("kind");
  e.state = st.text("state");
  e.topic = st.text("topic");
  e.source = st.text("source");
  e.data = st.text("data");
  return e;
}

std::optional<WallTime> opt_time(const sql::Stmt& st, const char* column) {
  if (st.is_null(column)) return std::nullopt;
  return from_ns(st.int64(column));
}

Alarm read_alarm(const sql::Stmt& st) {
  Alarm a;
  a.id = st.int64("id");
  a.camera_id = st.text("camera_id");
  a.kind = st.text("kind");
  a.source_key = st.text("source_key");
  a.rule_id = st.text("rule_id");
  a.priority = static_cast<int>(st.int64("priority"));
  a.state = parse_alarm_state(st.text("state")).value_or(AlarmState::new_);
  a.count = st.int64("count");
  a.first_event_id = st.int64("first_event_id");
  a.last_event_id = st.int64("last_event_id");
  a.first_ns = st.int64("first_ns");
  a.last_ns = st.int64("last_ns");
  a.created = from_ns(st.int64("created_ns"));
  a.acknowledged_by = st.opt_text("acknowledged_by");
  a.acknowledged = opt_time(st, "acknowledged_ns");
  a.assigned_to = st.opt_text("assigned_to");
  a.assigned = opt_time(st, "assigned_ns");
  a.resolved_by = st.opt_text("resolved_by");
  a.resolved = opt_time(st, "resolved_ns");
  a.note = st.opt_text("note");
  return a;
}

StoredRule read_rule(const sql::Stmt& st) {
  StoredRule r;
  r.id = st.text("id");
  r.spec = st.text("spec");
  r.created_by = st.text("created_by");
  r.created = from_ns(st.int64("created_ns"));
  return r;
}

Bookmark read_bookmark(const sql::Stmt& st) {
  Bookmark b;
  b.id = st.int64("id");
  b.camera_id = st.text("camera_id");
  b.time_ns = st.int64("time_ns");
  if (!st.is_null("until_ns")) b.until_ns = st.int64("until_ns");
  if (!st.is_null("alarm_id")) b.alarm_id = st.int64("alarm_id");
  b.rule_id = st.opt_text("rule_id");
  b.note = st.text("note");
  b.created_by = st.text("created_by");
  b.created = from_ns(st.int64("created_ns"));
  return b;
}

Hold read_hold(const sql::Stmt& st) {
  Hold h;
  h.id = st.int64("id");
  h.camera_id = st.text("camera_id");
  h.from_ns = st.int64("from_ns");
  h.to_ns = st.int64("to_ns");
  h.reason = st.text("reason");
  h.created_by = st.text("created_by");
  h.created = from_ns(st.int64("created_ns"));
  return h;
}

// Collects every row of a statement through `read`.
template <class T, class F>
Result<std::vector<T>> collect(sql::Stmt& st, F read) {
  std::vector<T> out;
  for (;;) {
    auto row = st.step();
    if (!row) return row.error();
    if (!*row) return out;
    Result<T> v = read(st);
    if (!v) return v.error();
    out.push_back(std::move(*v));
  }
}

bool valid_camera_id(const std::string& id) {
  // Also a directory name under the storage root: no "..", no hidden names.
  if (id.empty() || id.size() > 64 || id.front() == '.') return false;
  for (char ch : id) {
    bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '-' || ch == '_' || ch == '.';
    if (!ok) return false;
  }
  return true;
}

Status validate_camera(const Camera& c) {
  if (c.name.size() > 128)
    return make_error(ErrorKind::invalid_argument, "camera name over 128 characters");
  if (c.onvif_url.empty() || c.onvif_url.size() > 2048) {
    return make_error(ErrorKind::invalid_argument, "camera onvif_url must be 1 to 2048 characters");
  }
  if (c.retention_days < 1 || c.retention_days > 3650) {
    return make_error(ErrorKind::invalid_argument, "camera retention_days must be 1 to 3650");
  }
  if (c.password_enc.size() > 4096) {
    return make_error(ErrorKind::invalid_argument, "camera sealed password over 4096 bytes");
  }
  for (const std::string* f :
       {&c.username, &c.manufacturer, &c.model, &c.serial, &c.hardware_id, &c.endpoint_ref}) {
    if (f->size() > 1024)
      return make_error(ErrorKind::invalid_argument, "camera field over 1024 characters");
  }
  return {};
}

Status validate_segment(const Segment& s) {
  if (!valid_camera_id(s.camera_id)) {
    return make_error(ErrorKind::invalid_argument, "segment has an invalid camera id");
  }
  std::int64_t length = 0;
  if (__builtin_sub_overflow(s.end_ns, s.start_ns, &length) || length < 0 ||
      length > Catalog::kMaxSegmentNs) {
    return make_error(
        ErrorKind::invalid_argument,
        "segment of " + s.camera_id + " must end after it starts and last at most 6 h");
  }
  if (s.path.empty() || s.path.size() > 1024) {
    return make_error(ErrorKind::invalid_argument, "segment path must be 1 to 1024 characters");
  }
  // Deletion unlinks root / path: a path must never lead outside the root.
  std::filesystem::path p(s.path);
  bool escapes = p.is_absolute();
  for (const auto& part : p) escapes = escapes || part == "..";
  if (escapes) {
    return make_error(
        ErrorKind::invalid_argument,
        "segment path " + s.path + " must be relative to the storage root, without ..");
  }
  if (s.bytes < 0 || s.keyframes < 0) {
    return make_error(ErrorKind::invalid_argument,
                      "segment bytes and keyframes must not be negative");
  }
  if (s.state == SegmentState::deleting) {
    return make_error(ErrorKind::invalid_argument, "a new segment cannot be in state deleting");
  }
  return {};
}

Status validate_range(std::int64_t from_ns, std::int64_t to_ns) {
  std::int64_t width = 0;
  if (__builtin_sub_overflow(to_ns, from_ns, &width)) {
    return make_error(ErrorKind::invalid_argument, "time range is wider than 292 years");
  }
  if (to_ns <= from_ns)
    return make_error(ErrorKind::invalid_argument, "time range must end after it starts");
  return {};
}

Status validate_limit(int limit) {
  if (limit < 1 || limit > Catalog::kMaxListLimit) {
    return make_error(ErrorKind::invalid_argument,
                      "limit must be 1 to " + std::to_string(Catalog::kMaxListLimit));
  }
  return {};
}

// Merges per-camera lists (each sorted by start) into the `limit` oldest.
std::vector<Segment> merge_oldest(std::vector<std::vector<Segment>> lists, int limit) {
  std::vector<Segment> all;
  for (auto& l : lists) std::move(l.begin(), l.end(), std::back_inserter(all));
  std::stable_sort(all.begin(), all.end(),
                   [](const Segment& a, const Segment& b) { return a.start_ns < b.start_ns; });
  if (all.size() > static_cast<std::size_t>(limit)) all.resize(static_cast<std::size_t>(limit));
  return all;
}

// Hold overlap test shared by retention queries (s = the segment row).
// An export in progress protects its footage like a hold does.
#define ZAULEK_NOT_HELD                                                      \
  " NOT EXISTS (SELECT 1 FROM holds h WHERE h.camera_id = s.camera_id"       \
  " AND h.from_ns < s.end_ns AND h.to_ns > s.start_ns)"                      \
  " AND NOT EXISTS (SELECT 1 FROM exports x WHERE x.camera_id = s.camera_id" \
  " AND x.state IN ('queued', 'running') AND x.from_ns < s.end_ns AND x.to_ns > s.start_ns) "

class SqliteCatalog final : public Catalog {
 public:
  SqliteCatalog(std::unique_ptr<Connection> writer, Clock& clock, int version)
      : clock_(clock), writer_(std::move(writer)), readers_(writer_->path()), version_(version) {}

  ~SqliteCatalog() override {
    // Lets SQLite refresh its planner statistics where they went stale; cheap.
    std::lock_guard lock(write_mu_);
    (void)writer_->exec("PRAGMA optimize");
  }

  int schema_version() const override { return version_; }

  // ---- users ----

  Result<User> add_user(const std::string& name, Role role,
                        const std::string& password_hash) override {
    if (name.empty() || name.size() > 64 || name.find('\0') != std::string::npos) {
      return make_error(ErrorKind::invalid_argument, "user name must be 1 to 64 characters");
    }
    if (password_hash.empty() || password_hash.size() > 1024) {
      return make_error(ErrorKind::invalid_argument, "password hash must be 1 to 1024 characters");
    }
    User u{0, name, role, password_hash, clock_.realtime(), false};
    std::lock_guard lock(write_mu_);
    auto st = writer_->prepare(
        "INSERT INTO users (name, role, password_hash, created_ns) VALUES (?1, ?2, ?3, ?4)");
    if (!st) return st.error();
    (*st)->bind(1, name).bind(2, to_string(role)).bind(3, password_hash).bind(4, to_ns(u.created));
    if (auto s = (*st)->run(); !s) {
      if (s.error().kind == ErrorKind::already_exists) {
        return make_error(ErrorKind::already_exists, "user '" + name + "' already exists");
      }
      return with_context(s.error(), "adding user '" + name + "'");
    }
    u.id = writer_->last_insert_rowid();
    return u;
  }

  Result<User> find_user(const std::string& name) override {
    auto r = readers_.borrow();
    if (!r) return r.error();
    auto st = (*r)->prepare("SELECT * FROM users WHERE name = ?1");
    if (!st) return st.error();
    (*st)->bind(1, name);
    auto row = (*st)->step();
    if (!row) return row.error();
    if (!*row) return make_error(ErrorKind::not_found, "no user '" + name + "'");
    return read_user(**st);
  }

  Result<User> find_user(std::int64_t id) override {
    auto r = readers_.borrow();
    if (!r) return r.error();
    auto st = (*r)->prepare("SELECT * FROM users WHERE id = ?1");
    if (!st) return st.error();
    (*st)->bind(1, id);
    auto row = (*st)->step();
    if (!row) return row.error();
    if (!*row) return make_error(ErrorKind::not_found, "no user with id " + std::to_string(id));
    return read_user(**st);
  }

  Result<std::vector<User>> list_users() override {
    auto r = readers_.borrow();
    if (!r) return r.error();
    auto st = (*r)->prepare("SELECT * FROM users ORDER BY name");
    if (!st) return st.error();
    std::vector<User> out;
    for (;;) {
      auto row = (*st)->step();
      if (!row) return row.error();
      if (!*row) break;
      auto u = read_user(**st);
      if (!u) return u.error();
      out.push_back(std::move(*u));
    }
    return out;
  }

  Status set_user_disabled(std::int64_t id, bool disabled) override {
    std::lock_guard lock(write_mu_);
    auto st = writer_->prepare("UPDATE users SET disabled = ?2 WHERE id = ?1");
    if (!st) return st.error();
    (*st)->bind(1, id).bind(2, disabled ? 1 : 0);
    return changed_one((*st)->run(), "user", id);
  }

  Status set_user_password(std::int64_t id, const std::string& password_hash) override {
    std::lock_guard lock(write_mu_);
    auto st = writer_->prepare("UPDATE users SET password_hash = ?2 WHERE id = ?1");
    if (!st) return st.error();
    (*st)->bind(1, id).bind(2, password_hash);
    return changed_one((*st)->run(), "user", id);
  }

  Status set_user_role(std::int64_t id, Role role) override {
    std::lock_guard lock(write_mu_);
    auto st = writer_->prepare("UPDATE users SET role = ?2 WHERE id = ?1");
    if (!st) return st.error();
    (*st)->bind(1, id).bind(2, to_string(role));
    return changed_one((*st)->run(), "user", id);
  }

  Status set_user_cameras(std::int64_t id,
                          const std::optional<std::vector<std::string>>& cameras) override {
    std::optional<std::string> text;
    if (cameras) {
      std::vector<std::string> ids = *cameras;
      std::sort(ids.begin(), ids.end());
      ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
      text = nlohmann::json(ids).dump();
    }
    std::lock_guard lock(write_mu_);
    auto st = writer_->prepare("UPDATE users SET cameras = ?2 WHERE id = ?1");
    if (!st) return st.error();
    (*st)->bind(1, id);
    if (text)
      (*st)->bind(2, *text);
    else
      (*st)->bind_null(2);
    return changed_one((*st)->run(), "user", id);
  }

  // ---- sessions ----

  Status add_session(const Session& s) override {
    if (s.token_hash.empty()) return make_error(ErrorKind::invalid_argument, "empty token hash");
    std::lock_guard lock(write_mu_);
    auto st = writer_->prepare(
        "INSERT INTO sessions (token_hash, user_id, csrf_token, created_ns, expires_ns) "
        "VALUES (?1, ?2, ?3, ?4, ?5)");
    if (!st) return st.error();
    (*st)->bind(1, s.token_hash).bind(2, s.user_id).bind(3, s.csrf_token);
    (*st)->bind(4, to_ns(s.created)).bind(5, to_ns(s.expires));
    if (auto r = (*st)->run(); !r) {
      // Never put the token hash in a message: it is as good as the token here.
      if (r.error().kind == ErrorKind::not_found) {
        return make_error(ErrorKind::not_found,
                          "adding session: no user with id " + std::to_string(s.user_id));
      }
      return make_error(r.error().kind, "adding session failed");
    }
    return {};
  }

  Result<Session> find_session(const std::string& token_hash) override {
    auto r = readers_.borrow();
    if (!r) return r.error();
    auto st = (*r)->prepare("SELECT * FROM sessions WHERE token_hash = ?1 AND expires_ns > ?2");
    if (!st) return st.error();
    (*st)->bind(1, token_hash).bind(2, to_ns(clock_.realtime()));
    auto row = (*st)->step();
    if (!row) return row.error();
    if (!*row) return make_error(ErrorKind::not_found, "no such session, or it has expired");
    Session s;
    s.token_hash = (*st)->text("token_hash");
    s.user_id = (*st)->int64("user_id");
    s.csrf_token = (*st)->text("csrf_token");
    s.created = from_ns((*st)->int64("created_ns"));
    s.expires = from_ns((*st)->int64("expires_ns"));
    return s;
  }

  Status delete_session(const std::string& token_hash) override {
    std::lock_guard lock(write_mu_);
    auto st = writer_->prepare("DELETE FROM sessions WHERE token_hash = ?1");
    if (!st) return st.error();
    (*st)->bind(1, token_hash);
    return (*st)->run();  // logging out twice is not an error
  }

  Status delete_expired_sessions() override {
    std::lock_guard lock(write_mu_);
    auto st = writer_->prepare("DELETE FROM sessions WHERE expires_ns <= ?1");
    if (!st) return st.error();
    (*st)->bind(1, to_ns(clock_.realtime()));
    return (*st)->run();
  }

  Status delete_user_sessions(std::int64_t user_id) override {
    std::lock_guard lock(write_mu_);
    auto st = writer_->prepare("DELETE FROM sessions WHERE user_id = ?1");
    if (!st) return st.error();
    (*st)->bind(1, user_id);
    return (*st)->run();
  }

  // ---- audit ----

  Status audit(const AuditEntry& e) override {
    if (e.action.empty())
      return make_error(ErrorKind::invalid_argument, "audit entry without action");
    // Bounded before SQLite parses the detail as JSON.
    if (e.actor.size() > 256 || e.action.size() > 128 || e.target.size() > 1024 ||
        e.remote.size() > 256 || e.detail.size() > kMaxAuditDetail) {
      return make_error(ErrorKind::invalid_argument,
                        "audit entry '" + e.action.substr(0, 128) + "' has an oversized field");
    }
    const std::int64_t time_ns = to_ns(e.time == WallTime{} ? clock_.realtime() : e.time);
    const std::string& detail = e.detail.empty() ? kEmptyDetail : e.detail;
    std::lock_guard lock(write_mu_);
    // The audit trail is evidence: its commits wait for the disk (see sqlite.cpp).
    DurableScope durable(*writer_);
    // The head is read inside the write transaction: BEGIN IMMEDIATE holds
    // the file's write lock, so no other connection (a second process such
    // as `zaulekd user add`) can append between the read and the insert and
    // fork the chain; write_mu_ does the same within this process.
    auto tx = sql::Transaction::begin(*writer_);
    if (!tx) return with_context(tx.error(), "appending audit entry '" + e.action + "'");
    auto head = read_audit_head(*writer_);
    if (!head) return with_context(head.error(), "appending audit entry '" + e.action + "'");
    const std::int64_t id = head->id + 1;
    auto st = writer_->prepare(
        "INSERT INTO audit (id, time_ns, actor, action, target, detail, remote, prev_hash, hash) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)");
    if (!st) return st.error();
    (*st)->bind(1, id).bind(2, time_ns).bind(3, e.actor).bind(4, e.action).bind(5, e.target);
    (*st)->bind(6, detail).bind(7, e.remote).bind(8, head->hash);
    (*st)->bind(9,
                audit_hash(id, time_ns, e.actor, e.action, e.target, detail, e.remote, head->hash));
    if (auto s = (*st)->run(); !s) {
      if (s.error().kind == ErrorKind::invalid_argument) {
        return make_error(ErrorKind::invalid_argument,
                          "audit entry '" + e.action + "': detail is not valid JSON");
      }
      return with_context(s.error(), "appending audit entry '" + e.action + "'");
    }
    if (auto s = tx->commit(); !s)
      return with_context(s.error(), "appending audit entry '" + e.action + "'");
    return {};
  }

  Result<AuditHead> audit_head() override {
    auto r = readers_.borrow();
    if (!r) return r.error();
    return read_audit_head(**r);
  }

  Result<AuditVerification> verify_audit(const std::optional<AuditHead>& expected) override {
    auto r = readers_.borrow();
    if (!r) return r.error();
    return verify_audit_chain(**r, expected);
  }

  Result<std::vector<AuditEntry>> list_audit(std::int64_t after_id, int limit) override {
    return list_audit(after_id, limit, std::nullopt);
  }

  Result<std::vector<AuditEntry>> list_audit(
      std::int64_t after_id, int limit,
      const std::optional<std::vector<std::string>>& cameras) override {
    if (limit < 1 || limit > kMaxListLimit) {
      return make_error(ErrorKind::invalid_argument,
                        "limit must be 1 to " + std::to_string(kMaxListLimit));
    }
    auto r = readers_.borrow();
    if (!r) return r.error();
    // The camera of an entry as audit_camera() finds it.
    auto st = (*r)->prepare(
        "SELECT * FROM (SELECT *, coalesce(CASE "
        "WHEN target LIKE 'camera:%' THEN substr(target, 8) "
        "WHEN json_type(detail, '$.camera_id') = 'text' THEN json_extract(detail, '$.camera_id') "
        "END, '') AS camera FROM audit WHERE id > ?1) "
        "WHERE ?3 IS NULL OR camera = '' OR camera IN (SELECT value FROM json_each(?3)) "
        "ORDER BY id LIMIT ?2");
    if (!st) return st.error();
    (*st)->bind(1, after_id).bind(2, limit).bind(3, camera_set_json(cameras));
    std::vector<AuditEntry> out;
    for (;;) {
      auto row = (*st)->step();
      if (!row) return row.error();
      if (!*row) break;
      AuditEntry e;
      e.id = (*st)->int64("id");
      e.time = from_ns((*st)->int64("time_ns"));
      e.actor = (*st)->text("actor");
      e.action = (*st)->text("action");
      e.target = (*st)->text("target");
      e.detail = (*st)->text("detail");
      e.remote = (*st)->text("remote");
      e.prev_hash = (*st)->opt_text("prev_hash").value_or("");
      e.hash = (*st)->opt_text("hash").value_or("");
      out.push_back(std::move(e));
    }
    return out;
  }

  // ---- cameras ----

  Result<Camera> add_camera(const Camera& camera) override {
    if (auto v = validate_camera(camera); !v) return v.error();
    if (!camera.id.empty() && !valid_camera_id(camera.id)) {
      return make_error(ErrorKind::invalid_argument,
                        "camera id must be 1 to 64 of A-Z a-z 0-9 . _ -");
    }
    Camera c = camera;
    c.created = c.updated = clock_.realtime();
    std::lock_guard lock(write_mu_);
    auto tx = sql::Transaction::begin(*writer_);
    if (!tx) return tx.error();
    // An explicit id may have taken "cam-<n>"; the counter then moves on.
    for (int attempt = 0; attempt < 100; ++attempt) {
      if (camera.id.empty()) {
        auto next = writer_->prepare(
            "UPDATE counters SET value = value + 1 WHERE name = 'camera' RETURNING value");
        if (!next) return next.error();
        auto row = (*next)->step();
        if (!row) return row.error();
        if (!*row) return make_error(ErrorKind::data_loss, "camera id counter is missing");
        c.id = "cam-" + std::to_string((*next)->int64("value"));
      }
      auto st = writer_->prepare(
          "INSERT INTO cameras (id, name, onvif_url, username, password_enc, manufacturer, "
          "model, serial, hardware_id, endpoint_ref, recording_mode, retention_days, "
          "created_ns, updated_ns, allow_basic_auth) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, "
          "?9, ?10, ?11, ?12, ?13, ?13, ?14)");
      if (!st) return st.error();
      (*st)->bind(1, c.id).bind(2, c.name).bind(3, c.onvif_url).bind(4, c.username);
      (*st)->bind_blob(5, c.password_enc).bind(6, c.manufacturer).bind(7, c.model);
      (*st)->bind(8, c.serial).bind(9, c.hardware_id).bind(10, c.endpoint_ref);
      (*st)->bind(11, to_string(c.recording_mode)).bind(12, c.retention_days);
      (*st)->bind(13, to_ns(c.created));
      (*st)->bind(14, std::int64_t{c.allow_basic_auth});
      auto r = (*st)->run();
      if (r) {
        if (auto s = tx->commit(); !s) return s.error();
        return c;
      }
      if (r.error().kind != ErrorKind::already_exists || !camera.id.empty()) {
        if (r.error().kind == ErrorKind::already_exists) {
          return make_error(ErrorKind::already_exists, "camera " + c.id + " already exists");
        }
        return with_context(r.error(), "adding camera " + c.id);
      }
    }
    return make_error(ErrorKind::internal, "could not find a free camera id");
  }

  Result<Camera> find_camera(const std::string& id) override {
    auto r = readers_.borrow();
    if (!r) return r.error();
    auto st = (*r)->prepare("SELECT * FROM cameras WHERE id = ?1");
    if (!st) return st.error();
    (*st)->bind(1, id);
    auto row = (*st)->step();
    if (!row) return row.error();
    if (!*row) return make_error(ErrorKind::not_found, "no camera " + id);
    return read_camera(**st);
  }

  Result<std::vector<Camera>> list_cameras() override {
    auto r = readers_.borrow();
    if (!r) return r.error();
    auto st = (*r)->prepare("SELECT * FROM cameras ORDER BY created_ns, id");
    if (!st) return st.error();
    return collect<Camera>(**st, read_camera);
  }

  Result<Camera> update_camera(const Camera& c) override {
    if (auto v = validate_camera(c); !v) return v.error();
    std::lock_guard lock(write_mu_);
    auto st = writer_->prepare(
        "UPDATE cameras SET name = ?2, onvif_url = ?3, username = ?4, password_enc = ?5, "
        "manufacturer = ?6, model = ?7, serial = ?8, hardware_id = ?9, endpoint_ref = ?10, "
        "recording_mode = ?11, retention_days = ?12, updated_ns = ?13, allow_basic_auth = ?14 "
        "WHERE id = ?1");
    if (!st) return st.error();
    (*st)->bind(1, c.id).bind(2, c.name).bind(3, c.onvif_url).bind(4, c.username);
    (*st)->bind_blob(5, c.password_enc).bind(6, c.manufacturer).bind(7, c.model);
    (*st)->bind(8, c.serial).bind(9, c.hardware_id).bind(10, c.endpoint_ref);
    (*st)->bind(11, to_string(c.recording_mode)).bind(12, c.retention_days);
    (*st)->bind(13, to_ns(clock_.realtime()));
    (*st)->bind(14, std::int64_t{c.allow_basic_auth});
    if (auto r = (*st)->run(); !r) return with_context(r.error(), "updating camera " + c.id);
    if (writer_->changes() == 0) return make_error(ErrorKind::not_found, "no camera " + c.id);
    auto back = writer_->prepare("SELECT * FROM cameras WHERE id = ?1");
    if (!back) return back.error();
    (*back)->bind(1, c.id);
    auto row = (*back)->step();
    if (!row) return row.error();
    if (!*row) return make_error(ErrorKind::not_found, "no camera " + c.id);
    return read_camera(**back);
  }

  Status delete_camera(const std::string& id) override {
    std::lock_guard lock(write_mu_);
    auto st = writer_->prepare("DELETE FROM cameras WHERE id = ?1");
    if (!st) return st.error();
    (*st)->bind(1, id);
    if (auto r = (*st)->run(); !r) return with_context(r.error(), "deleting camera " + id);
    if (writer_->changes() == 0) return make_error(ErrorKind::not_found, "no camera " + id);
    return {};
  }

  Status set_streams(const std::string& camera_id, const std::vector<Stream>& streams) override {
    if (streams.size() > 2)
      return make_error(ErrorKind::invalid_argument, "at most one main and one sub stream");
    std::lock_guard lock(write_mu_);
    auto tx = sql::Transaction::begin(*writer_);
    if (!tx) return tx.error();
    {
      auto del = writer_->prepare("DELETE FROM streams WHERE camera_id = ?1");
      if (!del) return del.error();
      (*del)->bind(1, camera_id);
      if (auto r = (*del)->run(); !r) return r;
    }
    for (const Stream& s : streams) {
      auto st = writer_->prepare(
          "INSERT INTO streams (camera_id, kind, profile_token, rtsp_uri, codec, width, height) "
          "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
      if (!st) return st.error();
      (*st)->bind(1, camera_id).bind(2, to_string(s.kind)).bind(3, s.profile_token);
      (*st)->bind(4, s.rtsp_uri).bind(5, s.codec).bind(6, s.width).bind(7, s.height);
      if (auto r = (*st)->run(); !r) {
        if (r.error().kind == ErrorKind::not_found)
          return make_error(ErrorKind::not_found, "no camera " + camera_id);
        if (r.error().kind == ErrorKind::already_exists) {
          return make_error(ErrorKind::invalid_argument,
                            "two " + std::string(to_string(s.kind)) + " streams for " + camera_id);
        }
        return with_context(r.error(), "setting streams of " + camera_id);
      }
    }
    return tx->commit();
  }

  Result<std::vector<Stream>> list_streams(const std::string& camera_id) override {
    auto r = readers_.borrow();
    if (!r) return r.error();
    auto st = (*r)->prepare("SELECT * FROM streams WHERE camera_id = ?1 ORDER BY kind");
    if (!st) return st.error();
    (*st)->bind(1, camera_id);
    return collect<Stream>(**st, [](const sql::Stmt& row) -> Result<Stream> {
      Stream s;
      s.camera_id = row.text("camera_id");
      s.kind = row.text("kind") == "sub" ? StreamKind::sub : StreamKind::main;
      s.profile_token = row.text("profile_token");
      s.rtsp_uri = row.text("rtsp_uri");
      s.codec = row.text("codec");
      s.width = static_cast<int>(row.int64("width"));
      s.height = static_cast<int>(row.int64("height"));
      return s;
    });
  }

  // ---- segments ----

  Result<std::int64_t> add_segment(const Segment& segment) override {
    auto ids = add_segments({segment});
    if (!ids) return ids.error();
    return ids->front();
  }

  Result<std::vector<std::int64_t>> add_segments(const std::vector<Segment>& segments) override {
    if (segments.empty() || segments.size() > static_cast<std::size_t>(kMaxBatch)) {
      return make_error(ErrorKind::invalid_argument,
                        "add 1 to " + std::to_string(kMaxBatch) + " segments at a time");
    }
    for (const Segment& s : segments) {
      if (auto v = validate_segment(s); !v) return v.error();
    }
    std::vector<std::int64_t> ids;
    ids.reserve(segments.size());
    std::lock_guard lock(write_mu_);
    auto tx = sql::Transaction::begin(*writer_);
    if (!tx) return tx.error();
    for (const Segment& s : segments) {
      auto st = writer_->prepare(
          "INSERT INTO segments (camera_id, start_ns, end_ns, bytes, path, codec, keyframes, "
          "checksum, state) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)");
      if (!st) return st.error();
      (*st)->bind(1, s.camera_id).bind(2, s.start_ns).bind(3, s.end_ns).bind(4, s.bytes);
      (*st)->bind(5, s.path).bind(6, s.codec).bind(7, s.keyframes).bind(8, s.checksum);
      (*st)->bind(9, to_string(s.state));
      if (auto r = (*st)->run(); !r) {
        if (r.error().kind == ErrorKind::already_exists) {
          return make_error(ErrorKind::already_exists,
                            "segment file " + s.path + " is already indexed");
        }
        return with_context(r.error(), "indexing segment " + s.path);
      }
      ids.push_back(writer_->last_insert_rowid());
    }
    if (auto c = tx->commit(); !c) return c.error();
    return ids;
  }

  Status update_segment(std::int64_t id, std::int64_t end_ns, std::int64_t bytes,
                        std::int64_t keyframes) override {
    return finish_segment(id, end_ns, bytes, keyframes, std::nullopt, false);
  }

  Status close_segment(std::int64_t id, std::int64_t end_ns, std::int64_t bytes,
                       std::int64_t keyframes, std::optional<std::string> checksum) override {
    return finish_segment(id, end_ns, bytes, keyframes, std::move(checksum), true);
  }

  Result<Segment> find_segment(std::int64_t id) override {
    auto r = readers_.borrow();
    if (!r) return r.error();
    auto st = (*r)->prepare("SELECT * FROM segments WHERE id = ?1");
    if (!st) return st.error();
    (*st)->bind(1, id);
    auto row = (*st)->step();
    if (!row) return row.error();
    if (!*row) return make_error(ErrorKind::not_found, "no segment " + std::to_string(id));
    return read_segment(**st);
  }

  Result<std::vector<Segment>> list_segments(const std::string& camera_id, std::int64_t from_ns,
                                             std::int64_t to_ns, int limit) override {
    if (auto v = validate_range(from_ns, to_ns); !v) return v.error();
    if (auto v = validate_limit(limit); !v) return v.error();
    auto r = readers_.borrow();
    if (!r) return r.error();
    auto st = (*r)->prepare(kOverlapSql);
    if (!st) return st.error();
    bind_overlap(**st, camera_id, from_ns, to_ns);
    (*st)->bind(4, limit);
    return collect<Segment>(**st, read_segment);
  }

  Result<Timeline> timeline(const std::string& camera_id, std::int64_t from_ns, std::int64_t to_ns,
                            std::int64_t tolerance_ns) override {
    if (auto v = validate_range(from_ns, to_ns); !v) return v.error();
    if (tolerance_ns < 0 || tolerance_ns > kMaxSegmentNs) {
      return make_error(ErrorKind::invalid_argument, "tolerance must be 0 to 6 h");
    }
    auto r = readers_.borrow();
    if (!r) return r.error();
    auto st = (*r)->prepare(kOverlapTimesSql);
    if (!st) return st.error();
    bind_overlap(**st, camera_id, from_ns, to_ns);
    (*st)->bind(4, std::numeric_limits<std::int64_t>::max());
    // Stream the rows: a long range never holds every segment in memory.
    Timeline t;
    std::optional<TimeRange> cur;
    for (;;) {
      auto row = (*st)->step();
      if (!row) return row.error();
      if (!*row) break;
      ++t.segments;
      std::int64_t s = std::max((*st)->int64("start_ns"), from_ns);
      std::int64_t e = std::min((*st)->int64("end_ns"), to_ns);
      // Difference, not sum: both lie in [from, to], whose width fits in int64.
      if (cur && (s <= cur->end_ns || s - cur->end_ns <= tolerance_ns)) {
        cur->end_ns = std::max(cur->end_ns, e);
      } else {
        if (cur) t.ranges.push_back(*cur);
        cur = TimeRange{s, e};
      }
    }
    if (cur) t.ranges.push_back(*cur);
    std::int64_t at = from_ns;
    for (const TimeRange& range : t.ranges) {
      if (range.start_ns > at) t.gaps.push_back({at, range.start_ns});
      at = std::max(at, range.end_ns);
    }
    if (at < to_ns) t.gaps.push_back({at, to_ns});
    return t;
  }

  Result<std::vector<std::int64_t>> mark_segments_deleting(
      const std::vector<std::int64_t>& ids) override {
    if (ids.size() > static_cast<std::size_t>(kMaxBatch)) {
      return make_error(ErrorKind::invalid_argument,
                        "at most " + std::to_string(kMaxBatch) + " segments at a time");
    }
    std::vector<std::int64_t> marked;
    std::lock_guard lock(write_mu_);
    auto tx = sql::Transaction::begin(*writer_);
    if (!tx) return tx.error();
    for (std::int64_t id : ids) {
      // The hold check sits in the same statement: a hold added after the
      // retention query still wins.
      auto st = writer_->prepare(
          "UPDATE segments AS s SET state = 'deleting' WHERE s.id = ?1 AND s.state = 'closed' "
          "AND" ZAULEK_NOT_HELD);
      if (!st) return st.error();
      (*st)->bind(1, id);
      if (auto r = (*st)->run(); !r) return r.error();
      if (writer_->changes() > 0) marked.push_back(id);
    }
    if (auto c = tx->commit(); !c) return c.error();
    return marked;
  }

  Result<std::vector<Segment>> list_all_segments(std::int64_t after_id, int limit) override {
    if (auto v = validate_limit(limit); !v) return v.error();
    auto r = readers_.borrow();
    if (!r) return r.error();
    auto st = (*r)->prepare("SELECT * FROM segments WHERE id > ?1 ORDER BY id LIMIT ?2");
    if (!st) return st.error();
    (*st)->bind(1, after_id).bind(2, limit);
    return collect<Segment>(**st, read_segment);
  }

  Result<std::vector<Segment>> list_deleting_segments(int limit) override {
    if (auto v = validate_limit(limit); !v) return v.error();
    auto r = readers_.borrow();
    if (!r) return r.error();
    auto st = (*r)->prepare("SELECT * FROM segments WHERE state = 'deleting' ORDER BY id LIMIT ?1");
    if (!st) return st.error();
    (*st)->bind(1, limit);
    return collect<Segment>(**st, read_segment);
  }

  Status delete_segments(const std::vector<std::int64_t>& ids) override {
    if (ids.size() > static_cast<std::size_t>(kMaxBatch)) {
      return make_error(ErrorKind::invalid_argument,
                        "at most " + std::to_string(kMaxBatch) + " segments at a time");
    }
    std::lock_guard lock(write_mu_);
    auto tx = sql::Transaction::begin(*writer_);
    if (!tx) return tx.error();
    for (std::int64_t id : ids) {
      auto st = writer_->prepare("DELETE FROM segments WHERE id = ?1");
      if (!st) return st.error();
      (*st)->bind(1, id);
      if (auto r = (*st)->run(); !r) return r;
    }
    return tx->commit();
  }

  // ---- holds ----

  Result<Hold> add_hold(const Hold& hold) override {
    if (!valid_camera_id(hold.camera_id))
      return make_error(ErrorKind::invalid_argument, "hold has an invalid camera id");
    if (auto v = validate_range(hold.from_ns, hold.to_ns); !v) return v.error();
    if (hold.reason.empty() || hold.reason.size() > 1024) {
      return make_error(ErrorKind::invalid_argument, "hold reason must be 1 to 1024 characters");
    }
    Hold h = hold;
    h.created = clock_.realtime();
    std::lock_guard lock(write_mu_);
    // A hold is what keeps evidence from retention: it must survive a power cut.
    DurableScope durable(*writer_);
    auto st = writer_->prepare(
        "INSERT INTO holds (camera_id, from_ns, to_ns, reason, created_by, created_ns) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
    if (!st) return st.error();
    (*st)->bind(1, h.camera_id).bind(2, h.from_ns).bind(3, h.to_ns).bind(4, h.reason);
    (*st)->bind(5, h.created_by).bind(6, to_ns(h.created));
    if (auto r = (*st)->run(); !r) return with_context(r.error(), "adding hold on " + h.camera_id);
    h.id = writer_->last_insert_rowid();
    return h;
  }

  Result<std::vector<Hold>> list_holds(const std::string& camera_id) override {
    auto r = readers_.borrow();
    if (!r) return r.error();
    auto st = (*r)->prepare(
        "SELECT * FROM holds WHERE ?1 = '' OR camera_id = ?1 ORDER BY camera_id, from_ns, id");
    if (!st) return st.error();
    (*st)->bind(1, camera_id);
    return collect<Hold>(**st, [](const sql::Stmt& row) -> Result<Hold> { return read_hold(row); });
  }

  Status delete_hold(std::int64_t id) override {
    std::lock_guard lock(write_mu_);
    DurableScope durable(*writer_);
    auto st = writer_->prepare("DELETE FROM holds WHERE id = ?1");
    if (!st) return st.error();
    (*st)->bind(1, id);
    return changed_one((*st)->run(), "hold", id);
  }

  // ---- exports ----

  Result<Export> add_export(const Export& job) override {
    if (!valid_camera_id(job.camera_id)) {
      return make_error(ErrorKind::invalid_argument, "export has an invalid camera id");
    }
    if (auto v = validate_range(job.from_ns, job.to_ns); !v) return v.error();
    Export x = job;
    x.state = ExportState::queued;
    x.created = clock_.realtime();
    x.finished.reset();
    x.path.clear();
    x.bytes = 0;
    x.sha256.clear();
    x.error.clear();
    std::lock_guard lock(write_mu_);
    auto tx = sql::Transaction::begin(*writer_);
    if (!tx) return tx.error();
    {
      auto next = writer_->prepare(
          "UPDATE counters SET value = value + 1 WHERE name = 'export' RETURNING value");
      if (!next) return next.error();
      auto row = (*next)->step();
      if (!row) return row.error();
      if (!*row) return make_error(ErrorKind::data_loss, "export id counter is missing");
      x.id = "exp-" + std::to_string((*next)->int64("value"));
    }
    auto st = writer_->prepare(
        "INSERT INTO exports (id, camera_id, from_ns, to_ns, state, created_by, created_ns) "
        "VALUES (?1, ?2, ?3, ?4, 'queued', ?5, ?6)");
    if (!st) return st.error();
    (*st)->bind(1, x.id).bind(2, x.camera_id).bind(3, x.from_ns).bind(4, x.to_ns);
    (*st)->bind(5, x.created_by).bind(6, to_ns(x.created));
    if (auto r = (*st)->run(); !r) return with_context(r.error(), "adding export " + x.id);
    if (auto c = tx->commit(); !c) return c.error();
    return x;
  }

  Result<Export> update_export(const Export& job) override {
    if (job.bytes < 0) {
      return make_error(ErrorKind::invalid_argument, "export bytes must not be negative");
    }
    if (job.path.size() > 1024 || job.error.size() > 4096 || job.sha256.size() > 128) {
      return make_error(ErrorKind::invalid_argument, "export path, error or sha256 too long");
    }
    // Allowed moves: queued -> running | failed; running -> done | failed.
    const char* from_states = job.state == ExportState::running  ? "queued"
                              : job.state == ExportState::done   ? "running"
                              : job.state == ExportState::failed ? "queued,running"
                                                                 : "";
    const bool finished = job.state == ExportState::done || job.state == ExportState::failed;
    std::lock_guard lock(write_mu_);
    {
      auto st = writer_->prepare(
          "UPDATE exports SET state = ?2, path = ?3, bytes = ?4, sha256 = ?5, error = ?6, "
          "finished_ns = CASE WHEN ?7 THEN ?8 ELSE NULL END "
          "WHERE id = ?1 AND instr(',' || ?9 || ',', ',' || state || ',') > 0");
      if (!st) return st.error();
      (*st)->bind(1, job.id).bind(2, to_string(job.state)).bind(3, job.path).bind(4, job.bytes);
      (*st)->bind(5, job.sha256).bind(6, job.error).bind(7, finished ? 1 : 0);
      (*st)->bind(8, to_ns(clock_.realtime())).bind(9, from_states);
      if (auto r = (*st)->run(); !r) return with_context(r.error(), "updating export " + job.id);
    }
    const bool changed = writer_->changes() > 0;
    auto cur = writer_->prepare("SELECT * FROM exports WHERE id = ?1");
    if (!cur) return cur.error();
    (*cur)->bind(1, job.id);
    auto found = (*cur)->step();
    if (!found) return found.error();
    if (!*found) return make_error(ErrorKind::not_found, "no export " + job.id);
    if (!changed) {
      return make_error(ErrorKind::failed_precondition,
                        "export " + job.id + " is " + (*cur)->text("state") + ", cannot become " +
                            std::string(to_string(job.state)));
    }
    return read_export(**cur);
  }

  Result<Export> find_export(const std::string& id) override {
    auto r = readers_.borrow();
    if (!r) return r.error();
    auto st = (*r)->prepare("SELECT * FROM exports WHERE id = ?1");
    if (!st) return st.error();
    (*st)->bind(1, id);
    auto row = (*st)->step();
    if (!row) return row.error();
    if (!*row) return make_error(ErrorKind::not_found, "no export " + id);
    return read_export(**st);
  }

  Result<std::vector<Export>> list_exports(const std::string& camera_id, int limit) override {
    if (auto v = validate_limit(limit); !v) return v.error();
    auto r = readers_.borrow();
    if (!r) return r.error();
    auto st = (*r)->prepare(
        "SELECT * FROM exports WHERE ?1 = '' OR camera_id = ?1 "
        "ORDER BY created_ns DESC, rowid DESC LIMIT ?2");
    if (!st) return st.error();
    (*st)->bind(1, camera_id).bind(2, limit);
    return collect<Export>(**st, read_export);
  }

  Result<std::int64_t> fail_unfinished_exports(const std::string& reason) override {
    std::lock_guard lock(write_mu_);
    auto st = writer_->prepare(
        "UPDATE exports SET state = 'failed', error = ?1, finished_ns = ?2 "
        "WHERE state IN ('queued', 'running')");
    if (!st) return st.error();
    (*st)->bind(1, reason).bind(2, to_ns(clock_.realtime()));
    if (auto r = (*st)->run(); !r) return r.error();
    return static_cast<std::int64_t>(writer_->changes());
  }

  // ---- events ----

  Result<std::vector<std::int64_t>> add_events(const std::vector<Event>& events) override {
    if (events.empty() || events.size() > static_cast<std::size_t>(kMaxBatch)) {
      return make_error(ErrorKind::invalid_argument,
                        "add 1 to " + std::to_string(kMaxBatch) + " events at a time");
    }
    for (const Event& e : events) {
      if (!valid_camera_id(e.camera_id)) {
        return make_error(ErrorKind::invalid_argument, "event has an invalid camera id");
      }
      // Bounded before SQLite parses source and data as JSON.
      if (e.topic.size() > 1024 || e.source.size() > 8192 || e.data.size() > 8192) {
        return make_error(
            ErrorKind::invalid_argument,
            "event of " + e.camera_id + ": topic over 1024 or source/data over 8192 bytes");
      }
    }
    std::vector<std::int64_t> ids;
    ids.reserve(events.size());
    std::int64_t fresh = 0;  // ids for the events that come without one
    if (auto without =
            std::count_if(events.begin(), events.end(), [](const Event& e) { return e.id == 0; })) {
      auto first = reserve_event_ids(static_cast<int>(without));
      if (!first) return first.error();
      fresh = *first;
    }
    std::lock_guard lock(write_mu_);
    auto tx = sql::Transaction::begin(*writer_);
    if (!tx) return tx.error();
    for (const Event& e : events) {
      auto st = writer_->prepare(
          "INSERT INTO events (id, camera_id, time_ns, kind, state, topic, source, data) "
          "VALUES (?8, ?1, ?2, ?3, ?4, ?5, ?6, ?7)");
      if (!st) return st.error();
      std::int64_t id = e.id != 0 ? e.id : fresh++;
      (*st)->bind(8, id);
      (*st)->bind(1, e.camera_id).bind(2, e.time_ns).bind(3, e.kind).bind(4, e.state);
      (*st)->bind(5, e.topic).bind(6, e.source.empty() ? std::string("{}") : e.source);
      (*st)->bind(7, e.data.empty() ? std::string("{}") : e.data);
      if (auto r = (*st)->run(); !r) {
        if (r.error().kind == ErrorKind::invalid_argument) {
          return make_error(ErrorKind::invalid_argument,
                            "event of " + e.camera_id +
                                ": unknown kind or state, topic over 1024 characters, or "
                                "source/data not a JSON text of at most 8192 characters");
        }
        return with_context(r.error(), "adding event of " + e.camera_id);
      }
      ids.push_back(id);
    }
    if (auto c = tx->commit(); !c) return c.error();
    return ids;
  }

  Result<std::int64_t> reserve_event_ids(int n) override {
    if (n < 1 || n > kMaxBatch)
      return make_error(ErrorKind::invalid_argument,
                        "reserve 1 to " + std::to_string(kMaxBatch) + " event ids at a time");
    std::lock_guard lock(event_ids_mu_);
    if (next_event_id_ == 0) {  // first use: after the highest id on disk
      auto r = readers_.borrow();
      if (!r) return r.error();
      auto st = (*r)->prepare("SELECT coalesce(max(id), 0) AS last FROM events");
      if (!st) return st.error();
      auto row = (*st)->step();
      if (!row) return with_context(row.error(), "reading the last event id");
      next_event_id_ = (*st)->int64("last") + 1;
    }
    std::int64_t first = next_event_id_;
    next_event_id_ += n;
    return first;
  }

  Result<std::vector<Event>> list_events(const EventQuery& q) override {
    return list_by_time<Event>(
        "SELECT * FROM events WHERE time_ns >= ?2 AND time_ns < ?3 AND id > ?4 AND ?1 = '' "
        "AND (?6 IS NULL OR camera_id IN (SELECT value FROM json_each(?6))) "
        "ORDER BY time_ns, id LIMIT ?5",
        "SELECT * FROM events WHERE camera_id = ?1 AND time_ns >= ?2 AND time_ns < ?3 "
        "AND id > ?4 AND (?6 IS NULL OR camera_id IN (SELECT value FROM json_each(?6))) "
        "ORDER BY time_ns, id LIMIT ?5",
        q.camera_id, q.from_ns, q.to_ns, q.after_id, q.limit, q.cameras, read_event);
  }

  Result<ExpiredMetadata> delete_expired_metadata(int max_age_days, int limit) override {
    if (max_age_days < 1 || max_age_days > 3650)
      return make_error(ErrorKind::invalid_argument, "max_age_days must be 1 to 3650");
    if (auto v = validate_limit(limit); !v) return v.error();
    constexpr std::int64_t kDayNs = 86400LL * 1'000'000'000;
    const std::int64_t now = to_ns(clock_.realtime());
    std::lock_guard lock(write_mu_);
    // Nothing younger than the shortest retention goes: the time index
    // bounds the scan, the camera's own retention decides.
    std::int64_t shortest = max_age_days;
    {
      auto st = writer_->prepare("SELECT min(retention_days) AS days FROM cameras");
      if (!st) return st.error();
      auto row = (*st)->step();
      if (!row) return row.error();
      if (*row && !(*st)->is_null("days"))
        shortest = std::min<std::int64_t>(shortest, (*st)->int64("days"));
    }
    auto sweep = [&](const char* sql) -> Result<std::int64_t> {
      auto st = writer_->prepare(sql);
      if (!st) return st.error();
      (*st)->bind(1, now - shortest * kDayNs).bind(2, now).bind(3, max_age_days).bind(4, limit);
      if (auto r = (*st)->run(); !r) return r.error();
      return static_cast<std::int64_t>(writer_->changes());
    };
    ExpiredMetadata out;
    auto events = sweep(
        "DELETE FROM events WHERE id IN (SELECT x.id FROM events AS x "
        "LEFT JOIN cameras c ON c.id = x.camera_id WHERE x.time_ns < ?1 "
        "AND x.time_ns < ?2 - min(?3, coalesce(c.retention_days, ?3)) * 86400000000000 "
        "AND NOT EXISTS (SELECT 1 FROM holds h WHERE h.camera_id = x.camera_id "
        "AND h.from_ns <= x.time_ns AND h.to_ns > x.time_ns) ORDER BY x.time_ns LIMIT ?4)");
    if (!events) return with_context(events.error(), "deleting expired events");
    out.events = *events;
    auto bookmarks = sweep(
        "DELETE FROM bookmarks WHERE id IN (SELECT x.id FROM bookmarks AS x "
        "LEFT JOIN cameras c ON c.id = x.camera_id WHERE x.time_ns < ?1 "
        "AND coalesce(x.until_ns, x.time_ns) < "
        "?2 - min(?3, coalesce(c.retention_days, ?3)) * 86400000000000 "
        "AND NOT EXISTS (SELECT 1 FROM holds h WHERE h.camera_id = x.camera_id "
        "AND h.from_ns < coalesce(x.until_ns, x.time_ns + 1) AND h.to_ns > x.time_ns) "
        "ORDER BY x.time_ns LIMIT ?4)");
    if (!bookmarks) return with_context(bookmarks.error(), "deleting expired bookmarks");
    out.bookmarks = *bookmarks;
    return out;
  }

  // ---- alarms ----

  Result<RaisedAlarm> raise_alarm(const Alarm& a) override {
    if (!valid_camera_id(a.camera_id))
      return make_error(ErrorKind::invalid_argument, "alarm has an invalid camera id");
    if (a.kind.empty() || a.kind.size() > 64 || a.rule_id.empty() || a.rule_id.size() > 64 ||
        a.source_key.empty() || a.source_key.size() > 4096)
      return make_error(
          ErrorKind::invalid_argument,
          "alarm of " + a.camera_id + ": kind, rule id or source key empty or too long");
    if (a.priority < 1 || a.priority > 5)
      return make_error(ErrorKind::invalid_argument,
                        "alarm of " + a.camera_id + ": priority must be 1 to 5");
    std::lock_guard lock(write_mu_);
    auto tx = sql::Transaction::begin(*writer_);
    if (!tx) return tx.error();
    RaisedAlarm out;
    {
      auto st = writer_->prepare(
          "UPDATE alarms SET count = count + 1, last_event_id = max(last_event_id, ?2), "
          "last_ns = max(last_ns, ?3), priority = max(priority, ?4) "
          "WHERE source_key = ?1 AND state <> 'resolved' RETURNING *");
      if (!st) return st.error();
      (*st)->bind(1, a.source_key).bind(2, a.last_event_id).bind(3, a.last_ns).bind(4, a.priority);
      auto row = (*st)->step();
      if (!row) return with_context(row.error(), "folding an alarm of " + a.camera_id);
      if (*row) {
        out.alarm = read_alarm(**st);
        out.folded = true;
      }
    }
    if (!out.folded) {
      auto st = writer_->prepare(
          "INSERT INTO alarms (camera_id, kind, source_key, rule_id, priority, state, count, "
          "first_event_id, last_event_id, first_ns, last_ns, created_ns) "
          "VALUES (?1, ?2, ?3, ?4, ?5, 'new', 1, ?6, ?7, ?8, ?9, ?10) RETURNING *");
      if (!st) return st.error();
      (*st)->bind(1, a.camera_id).bind(2, a.kind).bind(3, a.source_key).bind(4, a.rule_id);
      (*st)->bind(5, a.priority).bind(6, a.first_event_id).bind(7, a.last_event_id);
      (*st)->bind(8, a.first_ns).bind(9, a.last_ns).bind(10, to_ns(clock_.realtime()));
      auto row = (*st)->step();
      if (!row) return with_context(row.error(), "adding an alarm of " + a.camera_id);
      if (!*row) return make_error(ErrorKind::internal, "alarm insert returned no row");
      out.alarm = read_alarm(**st);
    }
    if (auto c = tx->commit(); !c) return c.error();
    return out;
  }

  Result<Alarm> find_alarm(std::int64_t id) override {
    auto r = readers_.borrow();
    if (!r) return r.error();
    auto st = (*r)->prepare("SELECT * FROM alarms WHERE id = ?1");
    if (!st) return st.error();
    (*st)->bind(1, id);
    auto row = (*st)->step();
    if (!row) return row.error();
    if (!*row) return make_error(ErrorKind::not_found, "no alarm " + std::to_string(id));
    return read_alarm(**st);
  }

  Result<std::vector<Alarm>> list_alarms(const AlarmQuery& q) override {
    if (auto v = validate_limit(q.limit); !v) return v.error();
    std::string states;  // ",new,acknowledged," or "" for every state
    for (AlarmState s : q.states) states += "," + std::string(to_string(s));
    if (!states.empty()) states += ",";
    auto r = readers_.borrow();
    if (!r) return r.error();
    auto st = (*r)->prepare(
        "SELECT * FROM alarms WHERE (?1 = '' OR instr(?1, ',' || state || ',') > 0) "
        "AND (?2 = '' OR camera_id = ?2) AND (?3 = 0 OR id < ?3) AND (?5 IS NULL OR camera_id IN "
        "(SELECT value FROM json_each(?5))) ORDER BY id DESC LIMIT ?4");
    if (!st) return st.error();
    (*st)->bind(1, states).bind(2, q.camera_id).bind(3, q.before_id).bind(4, q.limit);
    (*st)->bind(5, camera_set_json(q.cameras));
    return collect<Alarm>(**st,
                          [](const sql::Stmt& row) -> Result<Alarm> { return read_alarm(row); });
  }

  // Runs `update` (bound by `bind`) on the alarm and reads it back; when no
  // row changed, not_found or failed_precondition naming its state.
  template <class Bind>
  Result<Alarm> change_alarm(std::int64_t id, const char* update, Bind bind, const char* verb) {
    std::lock_guard lock(write_mu_);
    {
      auto st = writer_->prepare(update);
      if (!st) return st.error();
      bind(**st);
      if (auto r = (*st)->run(); !r)
        return with_context(r.error(), std::string(verb) + " alarm " + std::to_string(id));
    }
    const bool changed = writer_->changes() > 0;
    auto cur = writer_->prepare("SELECT * FROM alarms WHERE id = ?1");
    if (!cur) return cur.error();
    (*cur)->bind(1, id);
    auto found = (*cur)->step();
    if (!found) return found.error();
    if (!*found) return make_error(ErrorKind::not_found, "no alarm " + std::to_string(id));
    if (!changed)
      return make_error(ErrorKind::failed_precondition, "alarm " + std::to_string(id) + " is " +
                                                            (*cur)->text("state") + ", cannot " +
                                                            verb + " it");
    return read_alarm(**cur);
  }

  Result<Alarm> acknowledge_alarm(std::int64_t id, const std::string& by) override {
    if (by.empty() || by.size() > 256)
      return make_error(ErrorKind::invalid_argument, "acknowledging user must be 1 to 256 bytes");
    const std::int64_t now = to_ns(clock_.realtime());
    return change_alarm(
        id,
        "UPDATE alarms SET state = 'acknowledged', acknowledged_by = ?2, acknowledged_ns = ?3 "
        "WHERE id = ?1 AND state = 'new'",
        [&](sql::Stmt& st) { st.bind(1, id).bind(2, by).bind(3, now); }, "acknowledge");
  }

  Result<Alarm> resolve_alarm(std::int64_t id, const std::string& by,
                              const std::string& note) override {
    if (by.empty() || by.size() > 256)
      return make_error(ErrorKind::invalid_argument, "resolving user must be 1 to 256 bytes");
    if (note.empty() || note.size() > 4096)
      return make_error(ErrorKind::invalid_argument,
                        "a resolve note of 1 to 4096 bytes is required");
    const std::int64_t now = to_ns(clock_.realtime());
    return change_alarm(
        id,
        "UPDATE alarms SET state = 'resolved', resolved_by = ?2, resolved_ns = ?3, note = ?4 "
        "WHERE id = ?1 AND state <> 'resolved'",
        [&](sql::Stmt& st) { st.bind(1, id).bind(2, by).bind(3, now).bind(4, note); }, "resolve");
  }

  Result<Alarm> assign_alarm(std::int64_t id, const std::string& user) override {
    if (user.empty() || user.size() > 256)
      return make_error(ErrorKind::invalid_argument, "assigned user must be 1 to 256 bytes");
    const std::int64_t now = to_ns(clock_.realtime());
    return change_alarm(
        id,
        "UPDATE alarms SET assigned_to = ?2, assigned_ns = ?3 "
        "WHERE id = ?1 AND state <> 'resolved'",
        [&](sql::Stmt& st) { st.bind(1, id).bind(2, user).bind(3, now); }, "assign");
  }

  // ---- rules ----

  Result<StoredRule> add_rule(const StoredRule& rule) override {
    if (!valid_camera_id(rule.id))  // same alphabet as camera ids
      return make_error(ErrorKind::invalid_argument, "rule id must be [A-Za-z0-9._-]{1,64}");
    if (rule.spec.size() > 16384)
      return make_error(ErrorKind::invalid_argument, "rule " + rule.id + ": spec over 16384 bytes");
    StoredRule r = rule;
    r.created = clock_.realtime();
    std::lock_guard lock(write_mu_);
    auto st = writer_->prepare(
        "INSERT INTO rules (id, spec, created_by, created_ns) VALUES (?1, ?2, ?3, ?4)");
    if (!st) return st.error();
    (*st)->bind(1, r.id).bind(2, r.spec).bind(3, r.created_by).bind(4, to_ns(r.created));
    if (auto s = (*st)->run(); !s) {
      if (s.error().kind == ErrorKind::already_exists)
        return make_error(ErrorKind::already_exists, "rule " + r.id + " already exists");
      if (s.error().kind == ErrorKind::invalid_argument)
        return make_error(ErrorKind::invalid_argument, "rule " + r.id + ": spec is not JSON");
      return with_context(s.error(), "adding rule " + r.id);
    }
    return r;
  }

  Result<std::vector<StoredRule>> list_rules() override {
    auto r = readers_.borrow();
    if (!r) return r.error();
    auto st = (*r)->prepare("SELECT * FROM rules ORDER BY id");
    if (!st) return st.error();
    return collect<StoredRule>(
        **st, [](const sql::Stmt& row) -> Result<StoredRule> { return read_rule(row); });
  }

  Status delete_rule(const std::string& id) override {
    std::lock_guard lock(write_mu_);
    auto st = writer_->prepare("DELETE FROM rules WHERE id = ?1");
    if (!st) return st.error();
    (*st)->bind(1, id);
    if (auto r = (*st)->run(); !r) return r.error();
    if (writer_->changes() == 0) return make_error(ErrorKind::not_found, "no rule " + id);
    return {};
  }

  // ---- bookmarks ----

  Result<Bookmark> add_bookmark(const Bookmark& bookmark) override {
    auto bad = [](const std::string& what) {
      return make_error(ErrorKind::invalid_argument, "bookmark " + what);
    };
    if (!valid_camera_id(bookmark.camera_id)) return bad("camera_id is not a camera id");
    if (bookmark.until_ns && *bookmark.until_ns <= bookmark.time_ns)
      return bad("until must be after time");
    if (bookmark.note.size() > 4096) return bad("note is longer than 4096 bytes");
    if (bookmark.rule_id && !valid_camera_id(*bookmark.rule_id))  // same alphabet as camera ids
      return bad("rule_id must be [A-Za-z0-9._-]{1,64}");
    if (bookmark.created_by.empty() || bookmark.created_by.size() > 64)
      return bad("created_by must be 1 to 64 characters");
    Bookmark b = bookmark;
    b.created = clock_.realtime();
    std::lock_guard lock(write_mu_);
    auto st = writer_->prepare(
        "INSERT INTO bookmarks (camera_id, time_ns, until_ns, alarm_id, rule_id, note, "
        "created_by, created_ns) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
    if (!st) return st.error();
    (*st)->bind(1, b.camera_id).bind(2, b.time_ns);
    if (b.until_ns)
      (*st)->bind(3, *b.until_ns);
    else
      (*st)->bind_null(3);
    if (b.alarm_id)
      (*st)->bind(4, *b.alarm_id);
    else
      (*st)->bind_null(4);
    (*st)->bind(5, b.rule_id).bind(6, b.note).bind(7, b.created_by).bind(8, to_ns(b.created));
    if (auto r = (*st)->run(); !r)
      return with_context(r.error(), "adding bookmark on " + b.camera_id);
    b.id = writer_->last_insert_rowid();
    return b;
  }

  Result<Bookmark> find_bookmark(std::int64_t id) override {
    auto r = readers_.borrow();
    if (!r) return r.error();
    auto st = (*r)->prepare("SELECT * FROM bookmarks WHERE id = ?1");
    if (!st) return st.error();
    (*st)->bind(1, id);
    auto row = (*st)->step();
    if (!row) return row.error();
    if (!*row) return make_error(ErrorKind::not_found, "no bookmark " + std::to_string(id));
    return read_bookmark(**st);
  }

  Result<std::vector<Bookmark>> list_bookmarks(const BookmarkQuery& q) override {
    return list_by_time<Bookmark>(
        "SELECT * FROM bookmarks WHERE time_ns >= ?2 AND time_ns < ?3 AND id > ?4 AND ?1 = '' "
        "AND (?6 IS NULL OR camera_id IN (SELECT value FROM json_each(?6))) "
        "ORDER BY time_ns, id LIMIT ?5",
        "SELECT * FROM bookmarks WHERE camera_id = ?1 AND time_ns >= ?2 AND time_ns < ?3 "
        "AND id > ?4 AND (?6 IS NULL OR camera_id IN (SELECT value FROM json_each(?6))) "
        "ORDER BY time_ns, id LIMIT ?5",
        q.camera_id, q.from_ns, q.to_ns, q.after_id, q.limit, q.cameras, read_bookmark);
  }

  Status delete_bookmark(std::int64_t id) override {
    std::lock_guard lock(write_mu_);
    auto st = writer_->prepare("DELETE FROM bookmarks WHERE id = ?1");
    if (!st) return st.error();
    (*st)->bind(1, id);
    return changed_one((*st)->run(), "bookmark", id);
  }

  // ---- retention ----

  Result<std::vector<Segment>> oldest_unheld_segments(int limit) override {
    return retention_candidates(std::nullopt, limit);
  }

  Result<std::vector<Segment>> expired_segments(int max_age_days, int limit) override {
    if (max_age_days < 1 || max_age_days > 3650) {
      return make_error(ErrorKind::invalid_argument, "max_age_days must be 1 to 3650");
    }
    return retention_candidates(max_age_days, limit);
  }

  Status integrity_check() override {
    auto r = readers_.borrow();
    if (!r) return r.error();
    auto st = (*r)->prepare("PRAGMA quick_check");
    if (!st) return with_context(st.error(), "checking catalogue " + writer_->path().string());
    std::string findings;
    for (;;) {
      auto row = (*st)->step();
      if (!row) return with_context(row.error(), "checking catalogue " + writer_->path().string());
      if (!*row) break;
      std::string line = (*st)->text("quick_check");
      if (line == "ok") continue;
      if (!findings.empty()) findings += "; ";
      findings += line;
    }
    if (findings.empty()) return {};
    return make_error(ErrorKind::data_loss,
                      "catalogue " + writer_->path().string() + " is damaged: " + findings);
  }

 private:
  // Rows whose time_ns is in [from, to), by time then id, after `after`
  // (paging), of one camera or all, within a restricted set (?6, a JSON
  // array): `all_sql` and `one_sql` (literals: statements are cached by
  // address) bind ?1 camera, ?2 from, ?3 to, ?4 after, ?5 limit, ?6 the set.
  // Two statements so that each uses its own index.
  template <class T, class Read>
  Result<std::vector<T>> list_by_time(const char* all_sql, const char* one_sql,
                                      const std::string& camera_id, std::int64_t from,
                                      std::int64_t to, std::int64_t after, int limit,
                                      const std::optional<std::vector<std::string>>& cameras,
                                      Read read) {
    if (auto v = validate_range(from, to); !v) return v.error();
    if (auto v = validate_limit(limit); !v) return v.error();
    auto r = readers_.borrow();
    if (!r) return r.error();
    auto st = (*r)->prepare(camera_id.empty() ? all_sql : one_sql);
    if (!st) return st.error();
    (*st)->bind(1, camera_id).bind(2, from).bind(3, to).bind(4, after);
    (*st)->bind(5, limit).bind(6, camera_set_json(cameras));
    return collect<T>(**st, [&read](const sql::Stmt& row) -> Result<T> { return read(row); });
  }

  // Overlap of [from, to) using the (camera_id, start_ns) index: a segment
  // that overlaps starts at most kMaxSegmentNs before `from`.
  static constexpr const char* kOverlapSql =
      "SELECT * FROM segments WHERE camera_id = ?1 AND start_ns >= ?2 - ?5 AND start_ns < ?3 "
      "AND end_ns > ?2 AND state != 'deleting' ORDER BY start_ns LIMIT ?4";
  // The same rows, only the times: the timeline reads no paths or codecs.
  static constexpr const char* kOverlapTimesSql =
      "SELECT start_ns, end_ns FROM segments WHERE camera_id = ?1 AND start_ns >= ?2 - ?5 "
      "AND start_ns < ?3 AND end_ns > ?2 AND state != 'deleting' ORDER BY start_ns LIMIT ?4";

  static void bind_overlap(sql::Stmt& st, const std::string& camera_id, std::int64_t from_ns,
                           std::int64_t to_ns) {
    // Saturate instead of overflowing near the int64 minimum.
    std::int64_t back = from_ns < std::numeric_limits<std::int64_t>::min() + kMaxSegmentNs
                            ? from_ns - std::numeric_limits<std::int64_t>::min()
                            : kMaxSegmentNs;
    st.bind(1, camera_id).bind(2, from_ns).bind(3, to_ns).bind(5, back);
  }

  Status finish_segment(std::int64_t id, std::int64_t end_ns, std::int64_t bytes,
                        std::int64_t keyframes, std::optional<std::string> checksum, bool close) {
    if (bytes < 0 || keyframes < 0) {
      return make_error(ErrorKind::invalid_argument,
                        "segment bytes and keyframes must not be negative");
    }
    std::lock_guard lock(write_mu_);
    auto st = writer_->prepare(
        "UPDATE segments SET end_ns = ?2, bytes = ?3, keyframes = ?4, "
        "checksum = coalesce(?5, checksum), state = CASE WHEN ?6 THEN 'closed' ELSE state END "
        "WHERE id = ?1 AND state = 'open' AND ?2 >= start_ns AND ?2 - start_ns <= ?7");
    if (!st) return st.error();
    (*st)->bind(1, id).bind(2, end_ns).bind(3, bytes).bind(4, keyframes).bind(5, checksum);
    (*st)->bind(6, close ? 1 : 0).bind(7, kMaxSegmentNs);
    if (auto r = (*st)->run(); !r)
      return with_context(r.error(), "updating segment " + std::to_string(id));
    if (writer_->changes() > 0) return {};
    // Say why nothing changed: unknown, no longer open, or a bad end.
    auto seg = writer_->prepare("SELECT state, start_ns FROM segments WHERE id = ?1");
    if (!seg) return seg.error();
    (*seg)->bind(1, id);
    auto row = (*seg)->step();
    if (!row) return row.error();
    if (!*row) return make_error(ErrorKind::not_found, "no segment " + std::to_string(id));
    if ((*seg)->text("state") != "open") {
      return make_error(ErrorKind::failed_precondition, "segment " + std::to_string(id) + " is " +
                                                            (*seg)->text("state") + ", not open");
    }
    return make_error(
        ErrorKind::invalid_argument,
        "segment " + std::to_string(id) + " must end after it starts and last at most 6 h");
  }

  // Per camera (found by skip-scanning the index, not by reading every row),
  // its oldest closed unheld segments before its cutoff; then the oldest of all.
  Result<std::vector<Segment>> retention_candidates(std::optional<int> max_age_days, int limit) {
    if (auto v = validate_limit(limit); !v) return v.error();
    auto r = readers_.borrow();
    if (!r) return r.error();
    std::vector<std::string> cameras;
    {
      auto st = (*r)->prepare(
          "WITH RECURSIVE cams(id) AS ("
          " SELECT (SELECT min(camera_id) FROM segments)"
          " UNION ALL"
          " SELECT (SELECT min(camera_id) FROM segments WHERE camera_id > cams.id)"
          " FROM cams WHERE cams.id IS NOT NULL)"
          " SELECT id FROM cams WHERE id IS NOT NULL");
      if (!st) return st.error();
      auto ids = collect<std::string>(
          **st, [](const sql::Stmt& row) -> Result<std::string> { return row.text("id"); });
      if (!ids) return ids.error();
      cameras = std::move(*ids);
    }
    const std::int64_t now = to_ns(clock_.realtime());
    constexpr std::int64_t kDayNs = 86400LL * 1'000'000'000;
    std::vector<std::vector<Segment>> lists;
    for (const std::string& camera : cameras) {
      std::int64_t cutoff = std::numeric_limits<std::int64_t>::max();
      if (max_age_days) {
        int days = *max_age_days;
        auto cst = (*r)->prepare("SELECT retention_days FROM cameras WHERE id = ?1");
        if (!cst) return cst.error();
        (*cst)->bind(1, camera);
        auto row = (*cst)->step();
        if (!row) return row.error();
        if (*row) days = std::min(days, static_cast<int>((*cst)->int64("retention_days")));
        cutoff = now - days * kDayNs;
      }
      auto st = (*r)->prepare(
          "SELECT * FROM segments AS s WHERE s.camera_id = ?1 AND s.state = 'closed' "
          "AND s.end_ns <= ?2 AND" ZAULEK_NOT_HELD "ORDER BY s.start_ns LIMIT ?3");
      if (!st) return st.error();
      (*st)->bind(1, camera).bind(2, cutoff).bind(3, limit);
      auto l = collect<Segment>(**st, read_segment);
      if (!l) return l.error();
      lists.push_back(std::move(*l));
    }
    return merge_oldest(std::move(lists), limit);
  }

  // Switches the writer to synchronous=FULL for one commit: the WAL is
  // fsynced before COMMIT returns, so a power cut cannot lose it.
  class DurableScope {
   public:
    explicit DurableScope(Connection& c) : c_(c) { (void)c_.exec("PRAGMA synchronous = FULL"); }
    ~DurableScope() { (void)c_.exec("PRAGMA synchronous = NORMAL"); }
    DurableScope(const DurableScope&) = delete;
    DurableScope& operator=(const DurableScope&) = delete;

   private:
    Connection& c_;
  };

  Status changed_one(Status s, const char* what, std::int64_t id) {
    if (!s) return s;
    if (writer_->changes() == 0) {
      return make_error(ErrorKind::not_found,
                        std::string("no ") + what + " with id " + std::to_string(id));
    }
    return {};
  }

  Clock& clock_;
  std::mutex write_mu_;  // guards writer_; held only for one statement or transaction
  // The next event id (0: not read from disk yet); never taken while
  // holding write_mu_'s lock is awaited.
  std::mutex event_ids_mu_;
  std::int64_t next_event_id_ = 0;
  std::unique_ptr<Connection> writer_;
  ReaderPool readers_;
  int version_;
};

}  // namespace

std::string_view to_string(RecordingMode mode) {
  switch (mode) {
    case RecordingMode::continuous:
      return "continuous";
    case RecordingMode::events:
      return "events";
    case RecordingMode::off:
      return "off";
  }
  return "off";
}

std::optional<RecordingMode> parse_recording_mode(std::string_view text) {
  if (text == "continuous") return RecordingMode::continuous;
  if (text == "events") return RecordingMode::events;
  if (text == "off") return RecordingMode::off;
  return std::nullopt;
}

std::string_view to_string(StreamKind kind) {
  return kind == StreamKind::sub ? "sub" : "main";
}

std::string_view to_string(SegmentState state) {
  switch (state) {
    case SegmentState::open:
      return "open";
    case SegmentState::closed:
      return "closed";
    case SegmentState::deleting:
      return "deleting";
  }
  return "open";
}

std::string_view to_string(ExportState state) {
  switch (state) {
    case ExportState::queued:
      return "queued";
    case ExportState::running:
      return "running";
    case ExportState::done:
      return "done";
    case ExportState::failed:
      return "failed";
  }
  return "failed";
}

std::string_view to_string(AlarmState state) {
  switch (state) {
    case AlarmState::new_:
      return "new";
    case AlarmState::acknowledged:
      return "acknowledged";
    case AlarmState::resolved:
      return "resolved";
  }
  return "new";
}

std::optional<AlarmState> parse_alarm_state(std::string_view text) {
  if (text == "new") return AlarmState::new_;
  if (text == "acknowledged") return AlarmState::acknowledged;
  if (text == "resolved") return AlarmState::resolved;
  return std::nullopt;
}

int Catalog::latest_schema_version() {
  return static_cast<int>(migrations().size());
}

Result<std::unique_ptr<Catalog>> Catalog::open(const std::filesystem::path& db_path, Clock& clock) {
  std::error_code ec;
  if (std::filesystem::exists(db_path, ec) && !std::filesystem::is_regular_file(db_path, ec)) {
    return make_error(ErrorKind::failed_precondition,
                      "catalogue " + db_path.string() + " exists but is not a regular file");
  }
  auto writer = Connection::open(db_path, true);
  if (!writer) {
    const Error& e = writer.error();
    if (e.kind == ErrorKind::data_loss) {
      return make_error(ErrorKind::data_loss,
                        e.message +
                            " (not an SQLite database, or a damaged one; restore it "
                            "from a backup or move it away to start empty)");
    }
    return e;
  }
  const int latest = latest_schema_version();
  if (auto s = migrate(**writer, latest); !s) {
    if (s.error().kind == ErrorKind::data_loss) {
      return make_error(ErrorKind::data_loss,
                        "catalogue " + db_path.string() + " is corrupt: " + s.error().message);
    }
    return s.error();
  }
  spdlog::info("storage: catalogue {} at schema version {}", db_path.string(), latest);
  return std::unique_ptr<Catalog>(new SqliteCatalog(std::move(*writer), clock, latest));
}

}  // namespace zaulek::storage
