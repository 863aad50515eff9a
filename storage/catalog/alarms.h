// Alarms (raised, folded, acknowledged, assigned, resolved) and the rules
// made over the API that raise them. Part of Catalog (storage/catalog.h).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/error.h"

namespace zaulek::storage {

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
  // Only alarms of cameras now in this site (0: of cameras in no site; an
  // alarm of a deleted camera is in neither); nullopt = any.
  std::optional<std::int64_t> site_id = std::nullopt;
  // Only alarms whose text holds every one of these words (at most
  // kMaxSearchWords), compared as core/text/text.h search_fold does (case
  // and diacritics aside): the note, the camera's id and present name, the
  // kind and who acknowledged, took or resolved it. A word may be
  // alternatives, "ruch|motion": any one of them will do (at most
  // kMaxSearchWords in all; empty ones are ignored).
  std::vector<std::string> words = {};
  static constexpr std::size_t kMaxSearchWords = 16;
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

class AlarmCatalog {
 public:
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

 protected:
  ~AlarmCatalog() = default;
};

}  // namespace zaulek::storage
