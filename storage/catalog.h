// The catalogue: one SQLite file (WAL, foreign keys, busy timeout) holding
// users, sessions, the audit trail, cameras and their streams, the segment
// index and evidence holds.
// Schema changes only through numbered migrations in storage/migrations/.
//
// Threading: one Catalog per process. Every method is thread-safe. Writes go
// through one writer connection (serialized inside by a mutex held for one
// statement or one short transaction); reads borrow their own connection, so
// a slow reader never blocks the writer (WAL). All calls are short and
// synchronous. The Catalog must outlive every call in flight.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/error.h"
#include "core/role.h"

namespace zaulek::storage {

struct User {
  std::int64_t id = 0;
  std::string name;
  Role role = Role::operator_;
  std::string password_hash;  // Argon2id encoded string; never leaves the server
  WallTime created;
  bool disabled = false;
  // The only cameras this user may see (sorted, no duplicates); nullopt: every
  // camera (the default). Administrators see every camera whatever is stored.
  std::optional<std::vector<std::string>> cameras = std::nullopt;
};

struct Session {
  std::string token_hash;  // SHA-256 of the bearer token; the token itself is never stored
  std::int64_t user_id = 0;
  std::string csrf_token;
  WallTime created;
  WallTime expires;
};

// The camera an audit entry concerns ("" for none): the id in a target
// "camera:<id>", else a string "camera_id" in the detail JSON.
std::string audit_camera(const std::string& target, const std::string& detail_json);

struct AuditEntry {
  std::int64_t id = 0;
  WallTime time;
  std::string actor;   // user name, or "system"
  std::string action;  // e.g. "user.create", "auth.login", "camera.add"
  std::string target;  // what it was done to, e.g. "user:alice"
  std::string detail;  // JSON text with details, at most 64 KiB; never secrets
  std::string remote;  // client address, if any
  // The hash chain (set by the catalogue; see audit_hash()). The default
  // initializers let callers brace-initialize only the fields above.
  std::string prev_hash = {};  // hash of the entry before, kAuditGenesis for the first
  std::string hash = {};       // SHA-256 (hex) of this entry's canonical encoding
};

// The audit trail is a hash chain: each entry's hash is the SHA-256 (hex) of
// its canonical encoding, which ends with the previous entry's hash. The
// encoding is netstrings ("<byte length>:<bytes>,") of, in this order:
// "zaulek-audit-v1", id, time_ns, actor, action, target, detail, remote and
// prev_hash, numbers in decimal; length prefixes make it unambiguous, so a
// byte moved from one field to the next changes the hash.
inline constexpr std::string_view kAuditGenesis =
    "0000000000000000000000000000000000000000000000000000000000000000";
std::string audit_canonical(std::int64_t id, std::int64_t time_ns, std::string_view actor,
                            std::string_view action, std::string_view target,
                            std::string_view detail, std::string_view remote,
                            std::string_view prev_hash);
std::string audit_hash(std::int64_t id, std::int64_t time_ns, std::string_view actor,
                       std::string_view action, std::string_view target, std::string_view detail,
                       std::string_view remote, std::string_view prev_hash);

// The last entry of the chain; id 0 and kAuditGenesis when the trail is empty.
struct AuditHead {
  std::int64_t id = 0;
  std::string hash = std::string(kAuditGenesis);
  bool operator==(const AuditHead&) const = default;
};

// The outcome of walking the whole chain (Catalog::verify_audit).
struct AuditVerification {
  std::int64_t checked = 0;  // entries read, up to the first break
  AuditHead head;            // the last entry read
  bool intact = true;
  std::int64_t bad_id = 0;  // the first entry changed, out of order or missing
  std::string problem;      // one line naming bad_id and what is wrong with it
};

enum class RecordingMode { continuous, events, off };
std::string_view to_string(RecordingMode mode);
std::optional<RecordingMode> parse_recording_mode(std::string_view text);

struct Camera {
  std::string
      id;  // "cam-<n>" assigned by add_camera when empty; [A-Za-z0-9._-]{1,64}, no leading "."
  std::string name;
  std::string onvif_url;
  std::string username;
  std::vector<std::uint8_t> password_enc;  // sealed by the server; storage never sees plaintext
  std::string manufacturer;
  std::string model;
  std::string serial;
  std::string hardware_id;
  std::string endpoint_ref;  // WS-Discovery endpoint reference (urn:uuid:...)
  RecordingMode recording_mode = RecordingMode::continuous;
  int retention_days = 90;  // 1..3650; the effective limit is min(this, config max_age_days)
  // The recorder may answer an RTSP Basic challenge (the password in clear).
  bool allow_basic_auth = false;
  WallTime created;  // set by the catalogue
  WallTime updated;  // set by the catalogue
};

enum class StreamKind { main, sub };
std::string_view to_string(StreamKind kind);

struct Stream {
  std::string camera_id;
  StreamKind kind = StreamKind::main;
  std::string profile_token;
  std::string rtsp_uri;  // without credentials
  std::string codec;
  int width = 0;
  int height = 0;
};

// Times on disk and in these structs: int64 nanoseconds since the Unix epoch, UTC.
enum class SegmentState { open, closed, deleting };
std::string_view to_string(SegmentState state);

struct Segment {
  std::int64_t id = 0;  // assigned by the catalogue
  std::string camera_id;
  std::int64_t start_ns = 0;  // first frame
  std::int64_t end_ns = 0;    // end of the last frame written; grows while open
  std::int64_t bytes = 0;
  std::string path;  // relative to the storage root, no "..": "cam-1/20261125T095300.000000Z.ts"
  std::string codec;
  std::int64_t keyframes = 0;
  std::optional<std::string> checksum;
  SegmentState state = SegmentState::open;
};

struct TimeRange {
  std::int64_t start_ns = 0;
  std::int64_t end_ns = 0;
  bool operator==(const TimeRange&) const = default;
};

// What a camera has recorded within [from, to): merged ranges, the gaps
// between them (also within [from, to)), and how many segments overlap.
struct Timeline {
  std::vector<TimeRange> ranges;
  std::vector<TimeRange> gaps;
  std::int64_t segments = 0;
};

// Evidence hold: footage of `camera_id` overlapping [from_ns, to_ns) is kept
// past retention and disk pressure until the hold is deleted.
struct Hold {
  std::int64_t id = 0;
  std::string camera_id;
  std::int64_t from_ns = 0;
  std::int64_t to_ns = 0;
  std::string reason;
  std::string created_by;
  WallTime created;  // set by the catalogue
};

enum class ExportState { queued, running, done, failed };
std::string_view to_string(ExportState state);

// An evidence export job. While queued or running, its footage is protected
// from retention as if held.
struct Export {
  std::string id;  // "exp-<n>", assigned by add_export
  std::string camera_id;
  std::int64_t from_ns = 0;
  std::int64_t to_ns = 0;
  ExportState state = ExportState::queued;
  std::string path;  // relative to the storage root, once done
  std::int64_t bytes = 0;
  std::string sha256;
  std::string error;  // why it failed
  std::string created_by;
  WallTime created;                  // set by the catalogue
  std::optional<WallTime> finished;  // set when done or failed
};

// A normalized camera event, as in GET /api/v1/events.
struct Event {
  std::int64_t id = 0;  // 0: assigned by add_events; grows with insertion
  std::string camera_id;
  std::int64_t time_ns = 0;
  std::string kind;    // motion, line_crossing, intrusion, tamper, video_loss, io_input, other
  std::string state;   // start, stop, pulse
  std::string topic;   // as the camera sent it, e.g. tns1:RuleEngine/CellMotionDetector/Motion
  std::string source;  // JSON object text, e.g. {"VideoSourceConfigurationToken":"vs0"}
  std::string data;    // JSON object text, e.g. {"IsMotion":"true"}
};

struct EventQuery {
  std::string camera_id;  // "" = all cameras
  std::int64_t from_ns = 0;
  std::int64_t to_ns = 0;     // exclusive
  std::int64_t after_id = 0;  // paging: only events with a larger id
  int limit = 100;
  // Only events of these cameras (a user's visible set); nullopt = no restriction.
  std::optional<std::vector<std::string>> cameras = std::nullopt;
};

enum class AlarmState { new_, acknowledged, resolved };
std::string_view to_string(AlarmState state);  // "new", "acknowledged", "resolved"
std::optional<AlarmState> parse_alarm_state(std::string_view text);

// An alarm (server/alarms.h): raised by a rule from an event; repeats from
// the same source fold into it while it is open (new or acknowledged).
struct Alarm {
  std::int64_t id = 0;  // assigned by the catalogue
  std::string camera_id;
  std::string kind;        // the event kind
  std::string source_key;  // what folds: camera, kind, rule and the event's source items
  std::string rule_id;
  int priority = 3;  // 1 (lowest) .. 5 (most urgent)
  AlarmState state = AlarmState::new_;
  std::int64_t count = 1;  // events folded into it, the first included
  std::int64_t first_event_id = 0, last_event_id = 0;
  std::int64_t first_ns = 0, last_ns = 0;  // event times
  WallTime created;                        // set by the catalogue
  std::optional<std::string> acknowledged_by;
  std::optional<WallTime> acknowledged;
  std::optional<std::string> assigned_to;
  std::optional<WallTime> assigned;
  std::optional<std::string> resolved_by;
  std::optional<WallTime> resolved;
  std::optional<std::string> note;
};

struct AlarmQuery {
  std::vector<AlarmState> states;  // empty = every state
  std::string camera_id;           // "" = all cameras
  std::int64_t before_id = 0;      // paging, newest first: only ids below (0 = no bound)
  int limit = 100;
  // Only alarms of these cameras (a user's visible set); nullopt = no restriction.
  std::optional<std::vector<std::string>> cameras = std::nullopt;
};

struct RaisedAlarm {
  Alarm alarm;
  bool folded = false;  // true: an open alarm of the same source took the event
};

// A rule made over the API; `spec` is its JSON text (the server reads it).
struct StoredRule {
  std::string id;  // [A-Za-z0-9._-]{1,64}
  std::string spec;
  std::string created_by;
  WallTime created;  // set by the catalogue
};

// A bookmark (migration 0007): a moment of a camera's footage, marked by a
// user or by a rule with bookmark = true when it raises an alarm. It keeps
// no footage from retention (a hold does).
struct Bookmark {
  std::int64_t id = 0;
  std::string camera_id;
  std::int64_t time_ns = 0;
  std::optional<std::int64_t> until_ns;  // a span [time_ns, until_ns); > time_ns
  std::optional<std::int64_t> alarm_id;  // the alarm that made it
  std::optional<std::string> rule_id;    // the rule that made it
  std::string note;                      // 0..4096 bytes
  std::string created_by;                // a user name, or "system"
  WallTime created;                      // set by the catalogue
};

struct BookmarkQuery {
  std::string camera_id;  // "" = all cameras
  std::int64_t from_ns = 0;
  std::int64_t to_ns = 0;     // exclusive; bookmarks whose time_ns is in [from, to)
  std::int64_t after_id = 0;  // paging: only bookmarks with a larger id
  int limit = 100;
  // Only these cameras (a user restricted to a set); nullopt: every camera.
  std::optional<std::vector<std::string>> cameras = std::nullopt;
};

class Catalog {
 public:
  // Opens or creates `db_path`, applies pending migrations in one transaction.
  // A database whose schema version is newer than this binary knows is
  // refused with failed_precondition and a message naming both versions.
  static Result<std::unique_ptr<Catalog>> open(const std::filesystem::path& db_path,
                                               Clock& clock = system_clock());
  virtual ~Catalog() = default;

  virtual int schema_version() const = 0;
  static int latest_schema_version();

  // Users.
  virtual Result<User> add_user(const std::string& name, Role role,
                                const std::string& password_hash) = 0;  // already_exists
  virtual Result<User> find_user(const std::string& name) = 0;          // not_found
  virtual Result<User> find_user(std::int64_t id) = 0;
  virtual Result<std::vector<User>> list_users() = 0;
  virtual Status set_user_disabled(std::int64_t id, bool disabled) = 0;  // not_found
  virtual Status set_user_password(std::int64_t id, const std::string& password_hash) = 0;
  virtual Status set_user_role(std::int64_t id, Role role) = 0;
  // nullopt: every camera; ids are stored sorted without duplicates. not_found.
  virtual Status set_user_cameras(std::int64_t id,
                                  const std::optional<std::vector<std::string>>& cameras) = 0;

  // Sessions.
  virtual Status add_session(const Session& session) = 0;
  virtual Result<Session> find_session(const std::string& token_hash) = 0;  // not_found if expired
  virtual Status delete_session(const std::string& token_hash) = 0;
  virtual Status delete_expired_sessions() = 0;
  virtual Status delete_user_sessions(std::int64_t user_id) = 0;  // e.g. after a password change

  // Audit trail (append only).
  virtual Status audit(const AuditEntry& entry) = 0;
  // Entries with id > after_id, oldest first; 1 <= limit <= kMaxListLimit.
  virtual Result<std::vector<AuditEntry>> list_audit(std::int64_t after_id, int limit) = 0;
  // The same, only entries that concern no camera or one of `cameras`
  // (nullopt: every entry). An entry concerns the camera of its target
  // "camera:<id>" or of a string "camera_id" in its detail (audit_camera()).
  virtual Result<std::vector<AuditEntry>> list_audit(
      std::int64_t after_id, int limit, const std::optional<std::vector<std::string>>& cameras) = 0;
  virtual Result<AuditHead> audit_head() = 0;
  // Walks the chain in id order in one pass (streamed, bounded memory) and
  // stops at the first entry whose content no longer matches its hash, whose
  // link does not name the entry before, or whose id leaves a gap. A deleted
  // last entry leaves an intact, shorter chain: compare the head with one
  // written earlier (the log), or pass it as `expected`: then the chain must
  // still hold that entry with that hash.
  virtual Result<AuditVerification> verify_audit(
      const std::optional<AuditHead>& expected = std::nullopt) = 0;

  // PRAGMA quick_check over the whole file (slow on big catalogues: for
  // `zaulekd check`, not for start-up). data_loss with SQLite's findings.
  virtual Status integrity_check() = 0;

  // Cameras. Deleting a camera deletes its streams; its segments and holds
  // stay (the footage still exists) until retention or release removes them.
  virtual Result<Camera> add_camera(const Camera& camera) = 0;  // already_exists, invalid_argument
  virtual Result<Camera> find_camera(const std::string& id) = 0;  // not_found
  virtual Result<std::vector<Camera>> list_cameras() = 0;
  virtual Result<Camera> update_camera(const Camera& camera) = 0;  // by id; keeps `created`
  virtual Status delete_camera(const std::string& id) = 0;         // not_found
  // Replaces the camera's streams (one per kind).
  virtual Status set_streams(const std::string& camera_id, const std::vector<Stream>& streams) = 0;
  virtual Result<std::vector<Stream>> list_streams(const std::string& camera_id) = 0;

  // Segments (see docs/design/storage.md for the order of file and row).
  virtual Result<std::int64_t> add_segment(const Segment& segment) = 0;  // returns the id
  // Up to kMaxBatch segments in one transaction (start-up reconciliation, tests).
  virtual Result<std::vector<std::int64_t>> add_segments(const std::vector<Segment>& segments) = 0;
  // The open segment grew: moves the live edge. failed_precondition unless open.
  virtual Status update_segment(std::int64_t id, std::int64_t end_ns, std::int64_t bytes,
                                std::int64_t keyframes) = 0;
  virtual Status close_segment(std::int64_t id, std::int64_t end_ns, std::int64_t bytes,
                               std::int64_t keyframes, std::optional<std::string> checksum) = 0;
  virtual Result<Segment> find_segment(std::int64_t id) = 0;
  // Segments overlapping [from_ns, to_ns), by start; not those being deleted.
  virtual Result<std::vector<Segment>> list_segments(const std::string& camera_id,
                                                     std::int64_t from_ns, std::int64_t to_ns,
                                                     int limit) = 0;
  // Ranges within [from_ns, to_ns): segments whose gap is <= tolerance_ns merge.
  virtual Result<Timeline> timeline(const std::string& camera_id, std::int64_t from_ns,
                                    std::int64_t to_ns, std::int64_t tolerance_ns) = 0;
  // Records the intent to delete (durably, before any unlink). Held or open
  // segments are skipped; returns the ids actually marked.
  virtual Result<std::vector<std::int64_t>> mark_segments_deleting(
      const std::vector<std::int64_t>& ids) = 0;
  // Every segment row with id > after_id, by id, any state (reconciliation).
  virtual Result<std::vector<Segment>> list_all_segments(std::int64_t after_id, int limit) = 0;
  // Segments whose deletion was intended but not finished (after a crash).
  virtual Result<std::vector<Segment>> list_deleting_segments(int limit) = 0;
  // Removes rows (after their files are unlinked, or found missing).
  virtual Status delete_segments(const std::vector<std::int64_t>& ids) = 0;

  // Holds.
  virtual Result<Hold> add_hold(const Hold& hold) = 0;  // committed durably
  virtual Result<std::vector<Hold>> list_holds(const std::string& camera_id) = 0;  // "" = all
  virtual Status delete_hold(std::int64_t id) = 0;                                 // not_found

  // Exports.
  virtual Result<Export> add_export(const Export& job) = 0;  // id, state, created assigned
  // Moves a job on: queued -> running -> done | failed (failed_precondition
  // otherwise); done/failed set `finished`. path/bytes/sha256/error as given.
  virtual Result<Export> update_export(const Export& job) = 0;
  virtual Result<Export> find_export(const std::string& id) = 0;  // not_found
  // Newest first; camera_id "" = all cameras.
  virtual Result<std::vector<Export>> list_exports(const std::string& camera_id, int limit) = 0;
  // After a restart: every queued or running job failed with `reason`; returns how many.
  virtual Result<std::int64_t> fail_unfinished_exports(const std::string& reason) = 0;

  // Events. Up to kMaxBatch per call, one transaction; returns the ids: an
  // event's own (from reserve_event_ids) when set, a new one otherwise.
  virtual Result<std::vector<std::int64_t>> add_events(const std::vector<Event>& events) = 0;
  // The first of `n` (1..kMaxBatch) consecutive event ids never given out
  // before by this catalogue, for events to be added later: zaulekd publishes
  // an event to the consoles before its row is written (the disk stays off
  // the alarm path). Every add_events without ids draws from the same counter.
  virtual Result<std::int64_t> reserve_event_ids(int n) = 0;
  // Events in [from, to), by time then id; invalid_argument on a bad range/limit.
  virtual Result<std::vector<Event>> list_events(const EventQuery& query) = 0;
  // Retention of what describes footage: events and bookmarks older than
  // their camera's retention_days (at most max_age_days; max_age_days for a
  // camera no longer catalogued; a bookmark's age counts from its end), except
  // those under a hold. At most `limit` of each per call.
  struct ExpiredMetadata {
    std::int64_t events = 0, bookmarks = 0;
  };
  virtual Result<ExpiredMetadata> delete_expired_metadata(int max_age_days, int limit) = 0;

  // Alarms. raise_alarm folds into the open alarm with the same source_key
  // (count + 1, last event and time) or inserts a new one, in one transaction.
  virtual Result<RaisedAlarm> raise_alarm(const Alarm& alarm) = 0;  // invalid_argument
  virtual Result<Alarm> find_alarm(std::int64_t id) = 0;            // not_found
  // Newest first.
  virtual Result<std::vector<Alarm>> list_alarms(const AlarmQuery& query) = 0;
  // new -> acknowledged; failed_precondition from any other state.
  virtual Result<Alarm> acknowledge_alarm(std::int64_t id, const std::string& by) = 0;
  // new | acknowledged -> resolved with a note (1..4096 bytes, invalid_argument
  // otherwise); failed_precondition when already resolved.
  virtual Result<Alarm> resolve_alarm(std::int64_t id, const std::string& by,
                                      const std::string& note) = 0;
  // Assigns an open alarm to a user name; failed_precondition when resolved.
  virtual Result<Alarm> assign_alarm(std::int64_t id, const std::string& user) = 0;

  // Rules made over the API.
  virtual Result<StoredRule> add_rule(const StoredRule& rule) = 0;  // already_exists
  virtual Result<std::vector<StoredRule>> list_rules() = 0;         // by id
  virtual Status delete_rule(const std::string& id) = 0;            // not_found

  // Bookmarks. invalid_argument names the field (camera_id, until, note,
  // rule_id); by time then id.
  virtual Result<Bookmark> add_bookmark(const Bookmark& bookmark) = 0;
  virtual Result<Bookmark> find_bookmark(std::int64_t id) = 0;  // not_found
  virtual Result<std::vector<Bookmark>> list_bookmarks(const BookmarkQuery& query) = 0;
  virtual Status delete_bookmark(std::int64_t id) = 0;  // not_found

  // Retention. Only closed segments that overlap no hold (and no queued or
  // running export) are ever returned.
  // Disk pressure: the oldest footage across all cameras, oldest first, so
  // every camera is cut back to about the same depth of history (a camera
  // with months of footage gives up its oldest before another loses hours).
  // Computed by merging each camera's own oldest few: no full-table sort.
  virtual Result<std::vector<Segment>> oldest_unheld_segments(int limit) = 0;
  // Age: segments that ended more than min(camera retention_days,
  // max_age_days) days before now (max_age_days for a deleted camera).
  virtual Result<std::vector<Segment>> expired_segments(int max_age_days, int limit) = 0;

  static constexpr int kMaxListLimit = 10000;
  static constexpr std::size_t kMaxAuditDetail = 64 * 1024;  // bytes of JSON
  static constexpr int kMaxBatch = 10000;
  // Recorders cut about every minute; the bound lets an overlap query use the
  // (camera, start) index without scanning a camera's whole history.
  static constexpr std::int64_t kMaxSegmentNs = 6LL * 3600 * 1'000'000'000;
};

}  // namespace zaulek::storage
