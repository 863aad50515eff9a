// Internal: Catalog over SQLite, the class whose parts live in
// storage/catalog/<kind>.cpp, and what those parts share: the writer
// connection and its mutex, the reader pool, the clock, and the "find one"
// and "list a page" helpers over them. Not for use outside storage/.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "storage/catalog.h"
#include "storage/sqlite.h"

namespace zaulek::storage {

// The inverse of to_unix_ns (core/clock.h).
inline WallTime from_ns(std::int64_t ns) {
  return WallTime{std::chrono::duration_cast<WallTime::duration>(std::chrono::nanoseconds{ns})};
}

inline std::optional<WallTime> opt_time(const sql::Stmt& st, const char* column) {
  if (st.is_null(column)) return std::nullopt;
  return from_ns(st.int64(column));
}

inline Error with_context(const Error& e, const std::string& context) {
  return make_error(e.kind, context + ": " + e.message);
}

// invalid_argument unless from < to (and the width fits in int64).
Status validate_range(std::int64_t from_ns, std::int64_t to_ns);
// invalid_argument unless 1 <= limit <= Catalog::kMaxListLimit.
Status validate_limit(int limit);
// A set of camera ids as a JSON array for json_each(); nullopt stays NULL.
std::optional<std::string> camera_set_json(const std::optional<std::vector<std::string>>& ids);

// A segment's row as the timeline's range upkeep needs it (segments.cpp).
struct SegmentWhere {
  std::string camera_id;
  std::int64_t start_ns = 0;
  std::int64_t end_ns = 0;
  std::string state;
};

class SqliteCatalog final : public Catalog {
 public:
  SqliteCatalog(std::unique_ptr<sql::Connection> writer, Clock& clock, int version);
  ~SqliteCatalog() override;

  int schema_version() const override { return version_; }
  Status integrity_check() override;

  // users.cpp
  Result<User> add_user(const std::string& name, Role role,
                        const std::string& password_hash) override;
  Result<User> find_user(const std::string& name) override;
  Result<User> find_user(std::int64_t id) override;
  Result<std::vector<User>> list_users() override;
  Status set_user_disabled(std::int64_t id, bool disabled) override;
  Status set_user_password(std::int64_t id, const std::string& password_hash) override;
  Status set_user_role(std::int64_t id, Role role) override;
  Status set_user_cameras(std::int64_t id,
                          const std::optional<std::vector<std::string>>& cameras) override;
  Result<std::string> preferences(std::int64_t user_id) override;
  Result<std::string> set_preferences(std::int64_t user_id, const std::string& json_object,
                                      bool merge) override;
  Result<std::int64_t> add_session(const Session& session) override;
  Result<Session> find_session(const std::string& token_hash) override;
  Result<Session> find_session_by_id(std::int64_t id) override;
  Result<std::vector<Session>> list_user_sessions(std::int64_t user_id) override;
  Status delete_session_by_id(std::int64_t id) override;
  Status delete_session(const std::string& token_hash) override;
  Status delete_expired_sessions() override;
  Result<std::vector<std::int64_t>> delete_user_sessions(std::int64_t user_id,
                                                         std::int64_t keep) override;

  // audit.cpp
  Status audit(const AuditEntry& entry) override;
  Result<std::vector<AuditEntry>> list_audit(std::int64_t after_id, int limit) override;
  Result<std::vector<AuditEntry>> list_audit(
      std::int64_t after_id, int limit,
      const std::optional<std::vector<std::string>>& cameras) override;
  Result<AuditHead> audit_head() override;
  Result<AuditVerification> verify_audit(const std::optional<AuditHead>& expected) override;

  // cameras.cpp
  Result<Camera> add_camera(const Camera& camera) override;
  Result<Camera> find_camera(const std::string& id) override;
  Result<std::vector<Camera>> list_cameras() override;
  Result<Camera> update_camera(const Camera& camera) override;
  Status delete_camera(const std::string& id) override;
  Status set_streams(const std::string& camera_id, const std::vector<Stream>& streams) override;
  Result<std::vector<Stream>> list_streams(const std::string& camera_id) override;

  // segments.cpp
  Result<std::int64_t> add_segment(const Segment& segment) override;
  Result<std::vector<std::int64_t>> add_segments(const std::vector<Segment>& segments) override;
  Status update_segment(std::int64_t id, std::int64_t end_ns, std::int64_t bytes,
                        std::int64_t keyframes) override;
  Status close_segment(std::int64_t id, std::int64_t end_ns, std::int64_t bytes,
                       std::int64_t keyframes, std::optional<std::string> checksum) override;
  Result<Segment> find_segment(std::int64_t id) override;
  Result<std::vector<Segment>> list_segments(const std::string& camera_id, std::int64_t from_ns,
                                             std::int64_t to_ns, int limit) override;
  Result<Timeline> timeline(const std::string& camera_id, std::int64_t from_ns, std::int64_t to_ns,
                            std::int64_t tolerance_ns) override;
  Result<std::vector<std::int64_t>> mark_segments_deleting(
      const std::vector<std::int64_t>& ids) override;
  Result<std::vector<Segment>> list_all_segments(std::int64_t after_id, int limit) override;
  Result<std::vector<Segment>> list_deleting_segments(int limit) override;
  Status delete_segments(const std::vector<std::int64_t>& ids) override;
  Result<std::vector<Segment>> oldest_unheld_segments(int limit) override;
  Result<std::vector<Segment>> expired_segments(int max_age_days, int limit) override;

  // holds.cpp
  Result<Hold> add_hold(const Hold& hold) override;
  Result<std::vector<Hold>> list_holds(const std::string& camera_id) override;
  Status delete_hold(std::int64_t id) override;

  // exports.cpp
  Result<Export> add_export(const Export& job) override;
  Result<Export> add_export_with_hold(const Export& job, const std::string& hold_reason) override;
  Result<Export> update_export(const Export& job) override;
  Result<Export> find_export(const std::string& id) override;
  Result<std::vector<Export>> list_exports(
      const std::string& camera_id, int limit, std::int64_t before_n = 0,
      const std::optional<std::vector<std::string>>& cameras = std::nullopt) override;
  Result<std::vector<Export>> finished_exports(WallTime before, int limit) override;
  Status delete_export(const std::string& id) override;
  Result<std::int64_t> fail_unfinished_exports(const std::string& reason) override;

  // events.cpp
  Result<std::vector<std::int64_t>> add_events(const std::vector<Event>& events) override;
  Result<std::int64_t> reserve_event_ids(int n) override;
  Result<std::vector<Event>> list_events(const EventQuery& query) override;
  Result<ExpiredMetadata> delete_expired_metadata(int max_age_days, int limit) override;

  // alarms.cpp
  Result<RaisedAlarm> raise_alarm(const Alarm& alarm) override;
  Result<Alarm> find_alarm(std::int64_t id) override;
  Result<std::vector<Alarm>> list_alarms(const AlarmQuery& query) override;
  Result<Alarm> acknowledge_alarm(std::int64_t id, const std::string& by) override;
  Result<Alarm> resolve_alarm(std::int64_t id, const std::string& by,
                              const std::string& note) override;
  Result<Alarm> assign_alarm(std::int64_t id, const std::string& user) override;
  Result<StoredRule> add_rule(const StoredRule& rule) override;
  Result<std::vector<StoredRule>> list_rules() override;
  Status delete_rule(const std::string& id) override;

  // bookmarks.cpp
  Result<Bookmark> add_bookmark(const Bookmark& bookmark) override;
  Result<Bookmark> find_bookmark(std::int64_t id) override;
  Result<std::vector<Bookmark>> list_bookmarks(const BookmarkQuery& query) override;
  Status delete_bookmark(std::int64_t id) override;

  // sites.cpp
  Result<Site> add_site(const Site& site) override;
  Result<Site> find_site(std::int64_t id) override;
  Result<std::vector<Site>> list_sites() override;
  Result<Site> update_site(const Site& site) override;
  Status delete_site(std::int64_t id) override;
  Result<Site> set_site_plan(std::int64_t id, const std::optional<SitePlan>& plan) override;
  Result<std::map<std::string, std::int64_t>> open_alarm_counts() override;

 private:
  // After an UPDATE of user `id` guarded by kNotLastAdmin (users.cpp): ok if
  // it changed the row, else not_found, or failed_precondition naming the
  // user as the last enabled administrator and saying `what_then`.
  Status last_admin_refused(const Status& update, std::int64_t id, const char* what_then);

  // Find one: the row of `sql` (args bound to ?1, ?2, ...) on a reader,
  // read by `read`; not_found with `missing` when there is none.
  template <class Read, class... Args>
  Result<sql::RowOf<Read>> find_one(const char* sql, Read read, const std::string& missing,
                                    const Args&... args) {
    auto r = readers_.borrow();
    if (!r) return r.error();
    auto row = sql::query_one(**r, sql, read, args...);
    if (!row) return row.error();
    if (!*row) return make_error(ErrorKind::not_found, missing);
    return std::move(**row);
  }

  // List a page: every row of `sql` (args bound to ?1, ?2, ...) on a reader,
  // read by `read`. The sql::Limit among `args` (if any) must be 1 to
  // kMaxListLimit (invalid_argument otherwise); keyset bounds (after_id,
  // before_id) are ordinary arguments.
  template <class Read, class... Args>
  Result<std::vector<sql::RowOf<Read>>> list_page(const char* sql, Read read, const Args&... args) {
    Status limits;
    [[maybe_unused]] auto check = [&limits](const auto& arg) {
      if constexpr (std::is_same_v<std::decay_t<decltype(arg)>, sql::Limit>)
        if (limits) limits = validate_limit(arg.value);
    };
    (check(args), ...);
    if (!limits) return limits.error();
    auto r = readers_.borrow();
    if (!r) return r.error();
    return sql::query_all(**r, sql, read, args...);
  }

  // Rows whose time_ns is in [from, to) of one camera or all, by time then
  // id (events, bookmarks), see events.cpp.
  template <class Read>
  Result<std::vector<sql::RowOf<Read>>> list_by_time(
      const char* all_sql, const char* one_sql, const std::string& camera_id, std::int64_t from,
      std::int64_t to, std::int64_t after, int limit,
      const std::optional<std::vector<std::string>>& cameras, Read read) {
    if (auto v = validate_range(from, to); !v) return v.error();
    return list_page(camera_id.empty() ? all_sql : one_sql, read, camera_id, from, to, after,
                     sql::Limit{limit}, camera_set_json(cameras));
  }

  // `s` of a statement that should have changed one row, else not_found
  // "no <what> with id <id>".
  Status changed_one(Status s, const char* what, std::int64_t id);

  // exports.cpp: add_export's checks and insert on writer_, inside the
  // caller's transaction and write_mu_.
  Result<Export> insert_export(const Export& job);

  // segments.cpp
  Status finish_segment(std::int64_t id, std::int64_t end_ns, std::int64_t bytes,
                        std::int64_t keyframes, std::optional<std::string> checksum, bool close);
  Result<std::vector<Segment>> retention_candidates(std::optional<int> max_age_days, int limit);
  // segment_ranges upkeep, on writer_ inside the caller's transaction: the
  // closed interval [start, end] joins the camera's ranges (adding `count`
  // segments); or the range holding `at` is folded again from its segments.
  Status join_range(const std::string& camera_id, std::int64_t start_ns, std::int64_t end_ns,
                    std::int64_t count);
  Status refold_range(const std::string& camera_id, std::int64_t at_ns);
  // The segment (`where`, `id`) left the live set (marked or deleted): its
  // range shrinks or splits, refolding only around it.
  Status leave_range(const SegmentWhere& where, std::int64_t id);
  // Segments of `range` that overlap [from, to) (a range cut by the window).
  Result<std::int64_t> count_in_window(sql::Connection& reader, const std::string& camera_id,
                                       const TimeRange& range, std::int64_t segments,
                                       std::int64_t from_ns, std::int64_t to_ns);
  // alarms.cpp
  template <class Bind>
  Result<Alarm> change_alarm(std::int64_t id, const char* update, Bind bind, const char* verb);

  Clock& clock_;
  std::mutex write_mu_;  // guards writer_; held only for one statement or transaction
  // The next event id (0: not read from disk yet); never taken while
  // holding write_mu_'s lock is awaited.
  std::mutex event_ids_mu_;
  std::int64_t next_event_id_ = 0;
  std::unique_ptr<sql::Connection> writer_;
  sql::ReaderPool readers_;
  int version_;
};

}  // namespace zaulek::storage
