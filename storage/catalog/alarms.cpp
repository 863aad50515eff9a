// Alarms (raise with folding, acknowledge, assign, resolve) and the rules
// made over the API.
#include <nlohmann/json.hpp>

#include "core/ids.h"
#include "core/text/text.h"
#include "storage/catalog/sqlite_catalog.h"

namespace zaulek::storage {
namespace {

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

}  // namespace

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

Result<RaisedAlarm> SqliteCatalog::raise_alarm(const Alarm& a) {
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
  auto folded = sql::query_one(*writer_,
                               "UPDATE alarms SET count = count + 1, last_event_id = "
                               "max(last_event_id, ?2), last_ns = max(last_ns, ?3), priority = "
                               "max(priority, ?4) WHERE source_key = ?1 AND state <> 'resolved' "
                               "RETURNING *",
                               read_alarm, a.source_key, a.last_event_id, a.last_ns, a.priority);
  if (!folded) return with_context(folded.error(), "folding an alarm of " + a.camera_id);
  if (*folded) {
    out.alarm = std::move(**folded);
    out.folded = true;
  } else {
    auto added = sql::query_one(
        *writer_,
        "INSERT INTO alarms (camera_id, kind, source_key, rule_id, priority, state, count, "
        "first_event_id, last_event_id, first_ns, last_ns, created_ns) "
        "VALUES (?1, ?2, ?3, ?4, ?5, 'new', 1, ?6, ?7, ?8, ?9, ?10) RETURNING *",
        read_alarm, a.camera_id, a.kind, a.source_key, a.rule_id, a.priority, a.first_event_id,
        a.last_event_id, a.first_ns, a.last_ns, to_unix_ns(clock_.realtime()));
    if (!added) return with_context(added.error(), "adding an alarm of " + a.camera_id);
    if (!*added) return make_error(ErrorKind::internal, "alarm insert returned no row");
    out.alarm = std::move(**added);
  }
  if (auto c = tx->commit(); !c) return c.error();
  return out;
}

Result<Alarm> SqliteCatalog::find_alarm(std::int64_t id) {
  return find_one("SELECT * FROM alarms WHERE id = ?1", read_alarm,
                  "no alarm " + std::to_string(id), id);
}

Result<std::vector<Alarm>> SqliteCatalog::list_alarms(const AlarmQuery& q) {
  std::string states;  // ",new,acknowledged," or "" for every state
  for (AlarmState s : q.states) states += "," + std::string(to_string(s));
  if (!states.empty()) states += ",";
  std::optional<std::string> words;  // [[alternative, ...], ...] folded, or NULL
  std::size_t terms = 0;
  if (!q.words.empty()) {
    nlohmann::json all = nlohmann::json::array();
    for (const auto& w : q.words) {
      nlohmann::json alts = nlohmann::json::array();
      std::string_view rest = w;
      while (!rest.empty()) {
        auto bar = rest.find('|');
        auto alt = rest.substr(0, bar);
        if (!alt.empty()) alts.push_back(search_fold(alt));
        rest = bar == std::string_view::npos ? std::string_view() : rest.substr(bar + 1);
      }
      terms += alts.size();
      if (!alts.empty()) all.push_back(std::move(alts));
    }
    if (!all.empty()) words = all.dump();
  }
  if (q.words.size() > AlarmQuery::kMaxSearchWords || terms > AlarmQuery::kMaxSearchWords)
    return make_error(ErrorKind::invalid_argument,
                      "at most " + std::to_string(AlarmQuery::kMaxSearchWords) + " search words");
  // A word search reads every row of the other filters, newest first, until
  // the page is full: no index helps a substring (a resolved alarm's text is
  // small; see docs/design/console.md for the cost measured).
  return list_page(
      "SELECT * FROM alarms WHERE (?1 = '' OR instr(?1, ',' || state || ',') > 0) "
      "AND (?2 = '' OR camera_id = ?2) AND (?3 = 0 OR id < ?3) AND (?5 IS NULL OR camera_id IN "
      "(SELECT value FROM json_each(?5))) AND (?6 IS NULL OR camera_id IN "
      "(SELECT id FROM cameras WHERE coalesce(site_id, 0) = ?6)) AND (?7 IS NULL OR NOT EXISTS "
      "(SELECT 1 FROM json_each(?7) AS w WHERE NOT EXISTS (SELECT 1 FROM json_each(w.value) AS a "
      "WHERE instr(zaulek_fold(coalesce(alarms.note, '') || ' ' || alarms.camera_id || ' ' || "
      "coalesce((SELECT name FROM cameras WHERE cameras.id = alarms.camera_id), '') || ' ' || "
      "alarms.kind || ' ' || coalesce(alarms.acknowledged_by, '') || ' ' || "
      "coalesce(alarms.assigned_to, '') || ' ' || coalesce(alarms.resolved_by, '')), a.value) > "
      "0))) ORDER BY id DESC LIMIT ?4",
      read_alarm, states, q.camera_id, q.before_id, sql::Limit{q.limit}, camera_set_json(q.cameras),
      q.site_id, words);
}

// Runs `update` (bound by `bind`) on the alarm and reads it back; when no
// row changed, not_found or failed_precondition naming its state.
template <class Bind>
Result<Alarm> SqliteCatalog::change_alarm(std::int64_t id, const char* update, Bind bind,
                                          const char* verb) {
  std::lock_guard lock(write_mu_);
  {
    auto st = writer_->prepare(update);
    if (!st) return st.error();
    bind(**st);
    if (auto r = (*st)->run(); !r)
      return with_context(r.error(), std::string(verb) + " alarm " + std::to_string(id));
  }
  const bool changed = writer_->changes() > 0;
  auto cur = sql::query_one(
      *writer_, "SELECT * FROM alarms WHERE id = ?1",
      [](const sql::Stmt& st) { return std::pair(read_alarm(st), st.text("state")); }, id);
  if (!cur) return cur.error();
  if (!*cur) return make_error(ErrorKind::not_found, "no alarm " + std::to_string(id));
  if (!changed)
    return make_error(
        ErrorKind::failed_precondition,
        "alarm " + std::to_string(id) + " is " + (*cur)->second + ", cannot " + verb + " it");
  return std::move((*cur)->first);
}

Result<Alarm> SqliteCatalog::acknowledge_alarm(std::int64_t id, const std::string& by) {
  if (by.empty() || by.size() > 256)
    return make_error(ErrorKind::invalid_argument, "acknowledging user must be 1 to 256 bytes");
  const std::int64_t now = to_unix_ns(clock_.realtime());
  return change_alarm(
      id,
      "UPDATE alarms SET state = 'acknowledged', acknowledged_by = ?2, acknowledged_ns = ?3 "
      "WHERE id = ?1 AND state = 'new'",
      [&](sql::Stmt& st) { st.bind_all(id, by, now); }, "acknowledge");
}

Result<Alarm> SqliteCatalog::resolve_alarm(std::int64_t id, const std::string& by,
                                           const std::string& note) {
  if (by.empty() || by.size() > 256)
    return make_error(ErrorKind::invalid_argument, "resolving user must be 1 to 256 bytes");
  if (note.empty() || note.size() > 4096)
    return make_error(ErrorKind::invalid_argument, "a resolve note of 1 to 4096 bytes is required");
  const std::int64_t now = to_unix_ns(clock_.realtime());
  return change_alarm(
      id,
      "UPDATE alarms SET state = 'resolved', resolved_by = ?2, resolved_ns = ?3, note = ?4 "
      "WHERE id = ?1 AND state <> 'resolved'",
      [&](sql::Stmt& st) { st.bind_all(id, by, now, note); }, "resolve");
}

Result<Alarm> SqliteCatalog::assign_alarm(std::int64_t id, const std::string& user) {
  if (user.empty() || user.size() > 256)
    return make_error(ErrorKind::invalid_argument, "assigned user must be 1 to 256 bytes");
  const std::int64_t now = to_unix_ns(clock_.realtime());
  return change_alarm(
      id,
      "UPDATE alarms SET assigned_to = ?2, assigned_ns = ?3 "
      "WHERE id = ?1 AND state <> 'resolved'",
      [&](sql::Stmt& st) { st.bind_all(id, user, now); }, "assign");
}

Result<StoredRule> SqliteCatalog::add_rule(const StoredRule& rule) {
  if (!valid_camera_id(rule.id))  // same alphabet as camera ids
    return make_error(ErrorKind::invalid_argument, "rule id must be [A-Za-z0-9._-]{1,64}");
  if (rule.spec.size() > 16384)
    return make_error(ErrorKind::invalid_argument, "rule " + rule.id + ": spec over 16384 bytes");
  StoredRule r = rule;
  r.created = clock_.realtime();
  std::lock_guard lock(write_mu_);
  if (auto s = sql::execute(
          *writer_, "INSERT INTO rules (id, spec, created_by, created_ns) VALUES (?1, ?2, ?3, ?4)",
          r.id, r.spec, r.created_by, to_unix_ns(r.created));
      !s) {
    if (s.error().kind == ErrorKind::already_exists)
      return make_error(ErrorKind::already_exists, "rule " + r.id + " already exists");
    if (s.error().kind == ErrorKind::invalid_argument)
      return make_error(ErrorKind::invalid_argument, "rule " + r.id + ": spec is not JSON");
    return with_context(s.error(), "adding rule " + r.id);
  }
  return r;
}

Result<std::vector<StoredRule>> SqliteCatalog::list_rules() {
  return list_page("SELECT * FROM rules ORDER BY id", read_rule);
}

Status SqliteCatalog::delete_rule(const std::string& id) {
  std::lock_guard lock(write_mu_);
  if (auto r = sql::execute(*writer_, "DELETE FROM rules WHERE id = ?1", id); !r) return r.error();
  if (writer_->changes() == 0) return make_error(ErrorKind::not_found, "no rule " + id);
  return {};
}

}  // namespace zaulek::storage
