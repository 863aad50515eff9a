#include "server/alarms/alarms.h"

#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <future>

#include "server/events/events.h"
#include "server/security/audit.h"

namespace zaulek::server {

namespace asio = boost::asio;
using nlohmann::json;

namespace {

std::string time_text(std::int64_t ns) {
  return format_rfc3339(
      WallTime{std::chrono::duration_cast<WallTime::duration>(std::chrono::nanoseconds(ns))});
}

json opt_time(const std::optional<WallTime>& t) {
  return t ? json(format_rfc3339(*t)) : json(nullptr);
}

json opt_text(const std::optional<std::string>& s) {
  return s ? json(*s) : json(nullptr);
}

// Runs `f` on `strand` and waits for its result (HTTP worker threads only).
template <class F>
auto on_strand(asio::strand<asio::io_context::executor_type>& strand, F f) -> decltype(f()) {
  using R = decltype(f());
  std::promise<R> p;
  auto fut = p.get_future();
  asio::post(strand, [&p, &f] {
    if constexpr (std::is_void_v<R>) {
      f();
      p.set_value();
    } else {
      p.set_value(f());
    }
  });
  return fut.get();
}

}  // namespace

json alarm_json(const storage::Alarm& a) {
  return {{"id", std::to_string(a.id)},
          {"camera_id", a.camera_id},
          {"kind", a.kind},
          {"rule_id", a.rule_id},
          {"priority", a.priority},
          {"state", std::string(storage::to_string(a.state))},
          {"count", a.count},
          {"first_event_id", std::to_string(a.first_event_id)},
          {"last_event_id", std::to_string(a.last_event_id)},
          {"first_time", time_text(a.first_ns)},
          {"last_time", time_text(a.last_ns)},
          {"created", format_rfc3339(a.created)},
          {"acknowledged_by", opt_text(a.acknowledged_by)},
          {"acknowledged_at", opt_time(a.acknowledged)},
          {"assigned_to", opt_text(a.assigned_to)},
          {"assigned_at", opt_time(a.assigned)},
          {"resolved_by", opt_text(a.resolved_by)},
          {"resolved_at", opt_time(a.resolved)},
          {"note", opt_text(a.note)}};
}

json rule_json(const config::Rule& r) {
  auto hours = config::hours_text(r);
  return {{"id", r.id},
          {"cameras", r.cameras},
          {"kinds", r.kinds},
          {"days", config::day_names(r.days)},
          {"hours", hours.empty() ? json(nullptr) : json(hours)},
          {"debounce_ms", r.debounce_ms},
          {"priority", r.priority},
          {"enabled", r.enabled},
          {"record", r.record},
          {"record_seconds", r.record_seconds},
          {"bookmark", r.bookmark}};
}

Result<config::Rule> rule_from_json(const json& j) {
  auto bad = [](std::string what) { return make_error(ErrorKind::invalid_argument, what); };
  if (!j.is_object()) return bad("a rule must be a JSON object");
  config::Rule r;
  auto strings = [&](const char* key, std::vector<std::string>& out) -> std::string {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return {};
    if (!it->is_array() || it->size() > config::kMaxRuleCameras)
      return std::string("'") + key + "' must be an array of at most " +
             std::to_string(config::kMaxRuleCameras) + " strings";
    for (const auto& e : *it) {
      if (!e.is_string()) return std::string("'") + key + "' must be an array of strings";
      out.push_back(e.get<std::string>());
    }
    return {};
  };
  for (const auto& [key, value] : j.items()) {
    static const std::set<std::string> known = {"id",     "cameras",        "kinds",    "days",
                                                "hours",  "debounce_ms",    "priority", "enabled",
                                                "record", "record_seconds", "bookmark"};
    if (!known.count(key)) return bad("unknown field '" + key.substr(0, 64) + "'");
  }
  if (auto it = j.find("id"); it == j.end() || !it->is_string())
    return bad("'id' is required (a string)");
  r.id = j["id"].get<std::string>();
  if (auto e = strings("cameras", r.cameras); !e.empty()) return bad(e);
  if (auto e = strings("kinds", r.kinds); !e.empty()) return bad(e);
  std::vector<std::string> days;
  if (auto e = strings("days", days); !e.empty()) return bad(e);
  if (auto e = config::parse_days(days, r.days); !e.empty()) return bad(e);
  if (auto it = j.find("hours"); it != j.end() && !it->is_null()) {
    if (!it->is_string()) return bad("'hours' must be a string \"HH:MM-HH:MM\"");
    if (auto e = config::parse_hours(it->get<std::string>(), r.from_minute, r.to_minute);
        !e.empty())
      return bad(e);
  }
  if (auto it = j.find("debounce_ms"); it != j.end()) {
    if (!it->is_number_integer()) return bad("'debounce_ms' must be an integer");
    r.debounce_ms = it->get<std::int64_t>();
  }
  if (auto it = j.find("priority"); it != j.end()) {
    if (!it->is_number_integer() || it->get<std::int64_t>() < 1 || it->get<std::int64_t>() > 5)
      return bad("'priority' must be an integer from 1 to 5");
    r.priority = static_cast<int>(it->get<std::int64_t>());
  }
  if (auto it = j.find("enabled"); it != j.end()) {
    if (!it->is_boolean()) return bad("'enabled' must be true or false");
    r.enabled = it->get<bool>();
  }
  for (auto [key, field] : {std::pair{"record", &r.record}, std::pair{"bookmark", &r.bookmark}}) {
    auto it = j.find(key);
    if (it == j.end()) continue;
    if (!it->is_boolean()) return bad(std::string("'") + key + "' must be true or false");
    *field = it->get<bool>();
  }
  if (auto it = j.find("record_seconds"); it != j.end()) {
    if (!it->is_number_integer() || it->get<std::int64_t>() < 0 ||
        it->get<std::int64_t>() > config::kMaxRecordSeconds)
      return bad("'record_seconds' must be an integer from 0 to " +
                 std::to_string(config::kMaxRecordSeconds));
    r.record_seconds = static_cast<int>(it->get<std::int64_t>());
  }
  if (auto e = config::check_rule(r); !e.empty()) return bad(e);
  return r;
}

config::Rule default_rule() {
  config::Rule r;
  r.id = "default";
  r.kinds = {"tamper", "video_loss", "health"};
  r.priority = 5;
  return r;
}

bool rule_matches(const config::Rule& rule, const storage::Event& e) {
  if (!rule.enabled) return false;
  if (e.state != "start" && e.state != "pulse") return false;
  auto has = [](const std::vector<std::string>& v, const std::string& x) {
    return v.empty() || std::find(v.begin(), v.end(), x) != v.end();
  };
  if (!has(rule.cameras, e.camera_id) || !has(rule.kinds, e.kind)) return false;
  if (rule.days.empty() && rule.from_minute == rule.to_minute) return true;
  // The schedule, in the server's local time at the event's time.
  std::time_t t = static_cast<std::time_t>(e.time_ns / 1'000'000'000);
  std::tm tm{};
  if (!localtime_r(&t, &tm)) return false;
  int minute = tm.tm_hour * 60 + tm.tm_min;
  int day = (tm.tm_wday + 6) % 7;  // Monday = 0
  if (rule.from_minute != rule.to_minute) {
    bool inside = rule.from_minute < rule.to_minute
                      ? minute >= rule.from_minute && minute < rule.to_minute
                      : minute >= rule.from_minute || minute < rule.to_minute;
    if (!inside) return false;
    // A window that wraps past midnight belongs to the day it began on.
    if (rule.from_minute > rule.to_minute && minute < rule.to_minute) day = (day + 6) % 7;
  }
  if (!rule.days.empty() && std::find(rule.days.begin(), rule.days.end(), day) == rule.days.end())
    return false;
  return true;
}

AlarmRouter::AlarmRouter(asio::io_context& ioc, storage::Catalog& catalog, Hub* hub,
                         AuditLog* audit, Clock& clock, std::vector<config::Rule> config_rules)
    : strand_(asio::make_strand(ioc)),
      catalog_(catalog),
      hub_(hub),
      audit_(audit),
      clock_(clock),
      config_rules_(std::move(config_rules)),
      record_timer_(strand_) {}

void AlarmRouter::start() {
  asio::post(strand_, [this] { reload(); });
}

void AlarmRouter::stop() {
  asio::post(strand_, [this] {
    stopped_ = true;
    record_timer_.cancel();
  });
}

void AlarmRouter::reload() {
  std::vector<config::Rule> all;
  std::set<std::string> ids;
  auto take = [&](const config::Rule& r) {
    if (!ids.insert(r.id).second) return;  // an earlier rule of the same id wins
    if (r.enabled) all.push_back(r);
  };
  for (const auto& r : config_rules_) take(r);
  if (auto stored = catalog_.list_rules(); stored) {
    for (const auto& s : *stored) {
      auto parsed = rule_from_json(json::parse(s.spec, nullptr, false));
      if (!parsed) {
        spdlog::error("alarms: stored rule {} is unusable: {}", s.id, parsed.error().message);
        continue;
      }
      take(*parsed);
    }
  } else {
    spdlog::error("alarms: cannot read the rules: {}", stored.error().message);
  }
  take(default_rule());
  rules_ = std::move(all);
  const bool by_rules =
      std::any_of(rules_.begin(), rules_.end(), [](const config::Rule& r) { return r.record; });
  if (by_rules != rules_record_) {
    // The way recording is driven changes: end what the old way started.
    if (recording_.event) {
      for (const auto& cam : legacy_recording_) recording_.event(cam, false);
      for (const auto& [cam, sources] : rule_recording_) recording_.event(cam, false);
    }
    legacy_recording_.clear();
    rule_recording_.clear();
  }
  rules_record_ = by_rules;
  spdlog::info("alarms: {} rules armed; events-mode recording driven by {}", rules_.size(),
               by_rules ? "rules with record = true" : "every camera event");
}

void AlarmRouter::legacy_step(const std::vector<storage::Event>& all) {
  if (!recording_.all_events) return;
  recording_.all_events(all);
  for (const auto& e : all) {
    if (e.state == "start")
      legacy_recording_.insert(e.camera_id);
    else if (e.state == "stop")
      legacy_recording_.erase(e.camera_id);
  }
  if (legacy_recording_.size() > 100000) legacy_recording_.clear();  // bounded
}

void AlarmRouter::record_step(const storage::Event& e) {
  if (!recording_.event) return;
  const std::string key = e.kind + "|" + e.source;
  const auto now = clock_.monotonic();
  if (e.state == "stop") {
    auto cam = rule_recording_.find(e.camera_id);
    if (cam == rule_recording_.end()) return;
    auto src = cam->second.find(key);
    if (src == cam->second.end()) return;
    src->second.open = false;
    if (src->second.until > now) return;  // record_seconds: held to its end
    cam->second.erase(src);
    if (cam->second.empty()) {
      rule_recording_.erase(cam);
      recording_.event(e.camera_id, false);
    }
    return;
  }
  // Which record rules take it: any that follows the event, the longest hold.
  bool follows = false;
  int hold_s = 0;
  bool matched = false;
  for (const auto& r : rules_) {
    if (!r.record || !rule_matches(r, e)) continue;
    matched = true;
    if (r.record_seconds == 0)
      follows = true;
    else
      hold_s = std::max(hold_s, r.record_seconds);
  }
  if (!matched) return;
  recording_.event(e.camera_id, true);
  const bool start = e.state == "start";
  if (!(start && follows) && hold_s == 0) {  // a pulse: a start and a stop
    if (!rule_recording_.count(e.camera_id)) recording_.event(e.camera_id, false);
    return;
  }
  if (rule_recording_.size() > 100000) rule_recording_.clear();  // bounded (cameras)
  auto& sources = rule_recording_[e.camera_id];
  auto src = sources.find(key);
  if (src == sources.end()) {
    if (sources.size() >= 1024) return;  // bounded; it ends with the camera's others
    src = sources.emplace(key, RecordSource{}).first;
  }
  if (start && follows) src->second.open = true;
  if (hold_s > 0) {
    src->second.until = std::max(src->second.until, now + std::chrono::seconds(hold_s));
    arm_record_timer(src->second.until);
  }
}

void AlarmRouter::arm_record_timer(std::chrono::steady_clock::time_point at) {
  if (at >= record_timer_at_) return;
  record_timer_at_ = at;
  // `at` is on clock_, which need not be the timer's: wait for what is left.
  record_timer_.expires_after(at - clock_.monotonic());
  record_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;  // cancelled or re-armed (the router may be gone: touch nothing)
    sweep_record_sources();
  });
}

void AlarmRouter::sweep_record_sources() {
  record_timer_at_ = std::chrono::steady_clock::time_point::max();
  if (stopped_) return;
  const auto now = clock_.monotonic();
  auto next = std::chrono::steady_clock::time_point::max();
  for (auto cam = rule_recording_.begin(); cam != rule_recording_.end();) {
    for (auto src = cam->second.begin(); src != cam->second.end();) {
      if (!src->second.open && src->second.until <= now) {
        src = cam->second.erase(src);
        continue;
      }
      if (src->second.until > now) next = std::min(next, src->second.until);
      ++src;
    }
    if (cam->second.empty()) {
      recording_.event(cam->first, false);
      cam = rule_recording_.erase(cam);
    } else {
      ++cam;
    }
  }
  if (next != std::chrono::steady_clock::time_point::max()) arm_record_timer(next);
}

void AlarmRouter::bookmark(const storage::Event& e, const config::Rule& rule,
                           const storage::Alarm& a) {
  storage::Bookmark b;
  b.camera_id = e.camera_id;
  b.time_ns = e.time_ns;
  b.alarm_id = a.id;
  b.rule_id = rule.id;
  b.note = e.kind + " (alarm " + std::to_string(a.id) + ", rule " + rule.id + ")";
  b.created_by = "system";
  auto added = catalog_.add_bookmark(b);
  if (!added) {
    spdlog::error("alarms {}: cannot bookmark alarm {}: {}", e.camera_id, a.id,
                  added.error().message);
    return;
  }
  ++bookmarks_;
  if (audit_)
    audit_->record("system", "bookmark.add", "bookmark:" + std::to_string(added->id),
                   json{{"camera_id", e.camera_id},
                        {"time", time_text(e.time_ns)},
                        {"alarm_id", std::to_string(a.id)},
                        {"rule_id", rule.id}}
                       .dump(),
                   "");
}

void AlarmRouter::route(std::vector<storage::Event> events) {
  asio::post(strand_, [this, events = std::move(events)] {
    if (stopped_) return;
    if (!rules_record_) legacy_step(events);
    for (const auto& e : events)
      if (e.id) route_one(e);
  });
}

void AlarmRouter::route_one(const storage::Event& e) {
  if (rules_record_) record_step(e);
  const config::Rule* best = nullptr;
  for (const auto& r : rules_)
    if ((!best || r.priority > best->priority) && rule_matches(r, e)) best = &r;
  if (!best) return;
  std::string key = e.camera_id + "|" + e.kind + "|" + best->id + "|" + e.source;
  if (best->debounce_ms > 0) {
    auto it = last_taken_ns_.find(key);
    if (it != last_taken_ns_.end() && e.time_ns >= it->second &&
        e.time_ns - it->second < best->debounce_ms * 1'000'000)
      return;
    last_taken_ns_[key] = e.time_ns;
    if (last_taken_ns_.size() > 100000) last_taken_ns_.clear();  // bounded
  }
  storage::Alarm a;
  a.camera_id = e.camera_id;
  a.kind = e.kind;
  a.source_key = key.substr(0, 4096);
  a.rule_id = best->id;
  a.priority = best->priority;
  a.first_event_id = a.last_event_id = e.id;
  a.first_ns = a.last_ns = e.time_ns;
  auto raised = catalog_.raise_alarm(a);
  if (!raised) {
    spdlog::error("alarms {}: cannot raise a {} alarm: {}", e.camera_id, e.kind,
                  raised.error().message);
    return;
  }
  if (raised->folded) {
    ++folded_;
  } else {
    ++raised_;
    spdlog::info("alarms {}: alarm {} raised by rule {} ({} event {})", e.camera_id,
                 raised->alarm.id, best->id, e.kind, e.id);
    if (audit_)
      audit_->record("system", "alarm.raise", "alarm:" + std::to_string(raised->alarm.id),
                     json{{"camera_id", e.camera_id},
                          {"kind", e.kind},
                          {"rule_id", best->id},
                          {"priority", best->priority},
                          {"event_id", std::to_string(e.id)}}
                         .dump(),
                     "");
    if (best->bookmark) bookmark(e, *best, raised->alarm);
  }
  publish(raised->alarm);
}

void AlarmRouter::publish(const storage::Alarm& a) {
  if (hub_) hub_->publish("alarm", alarm_json(a), RoleSet::all(), a.camera_id);
}

void AlarmRouter::health(std::string camera_id, bool problem, std::string topic,
                         std::string subsystem, json data) {
  asio::post(strand_, [this, camera_id = std::move(camera_id), problem, topic = std::move(topic),
                       subsystem = std::move(subsystem), data = std::move(data)] {
    if (stopped_) return;
    const std::string key = camera_id + "|" + subsystem;
    std::string status = data.value("status", std::string());
    auto it = health_problem_.find(key);
    if (problem) {
      if (it != health_problem_.end() && it->second == status) return;  // already told
      health_problem_[key] = status;
    } else {
      if (it == health_problem_.end()) return;  // nothing was wrong
      health_problem_.erase(it);
    }
    storage::Event e;
    e.camera_id = camera_id;
    e.time_ns = to_unix_ns(clock_.realtime());
    e.kind = "health";
    e.state = problem ? "start" : "stop";
    e.topic = topic;
    e.source = json{{"Subsystem", subsystem}}.dump();
    e.data = data.dump();
    if (e.data.size() > 8000) e.data = json{{"status", status}}.dump();
    auto ids = catalog_.add_events({e});
    if (!ids || ids->size() != 1) {
      spdlog::error("alarms {}: cannot store a health event: {}", camera_id,
                    ids ? std::string("no id") : ids.error().message);
      return;
    }
    e.id = ids->front();
    if (problem) spdlog::warn("alarms {}: health problem ({}): {}", camera_id, subsystem, status);
    if (hub_) hub_->publish("event", event_json(e), RoleSet::all(), e.camera_id);
    route_one(e);
  });
}

void AlarmRouter::camera_status(std::string camera_id, std::string status, std::string reason) {
  if (status == "connecting") return;
  const bool problem = status != "online";
  health(std::move(camera_id), problem, "zaulek:Health/Camera", "camera",
         json{{"status", status}, {"reason", reason.substr(0, 1024)}});
}

void AlarmRouter::drain() {
  on_strand(strand_, [] {});
}

std::vector<AlarmRouter::ListedRule> AlarmRouter::rules() {
  std::vector<ListedRule> out;
  std::set<std::string> ids;
  for (const auto& r : config_rules_)
    if (ids.insert(r.id).second) out.push_back({r, "config", ""});
  if (auto stored = catalog_.list_rules(); stored)
    for (const auto& s : *stored) {
      auto parsed = rule_from_json(json::parse(s.spec, nullptr, false));
      if (parsed && ids.insert(parsed->id).second) out.push_back({*parsed, "api", s.created_by});
    }
  if (ids.insert("default").second) out.push_back({default_rule(), "builtin", ""});
  return out;
}

Result<config::Rule> AlarmRouter::add_rule(const config::Rule& rule, const std::string& by) {
  for (const auto& r : config_rules_)
    if (r.id == rule.id)
      return make_error(ErrorKind::already_exists,
                        "rule " + rule.id + " is declared in the config file");
  storage::StoredRule s{rule.id, rule_json(rule).dump(), by, {}};
  auto added = catalog_.add_rule(s);
  if (!added) return added.error();
  on_strand(strand_, [this] { reload(); });
  return rule;
}

Status AlarmRouter::delete_rule(const std::string& id) {
  for (const auto& r : config_rules_)
    if (r.id == id)
      return make_error(ErrorKind::failed_precondition,
                        "rule " + id + " is declared in the config file; change it there");
  if (auto st = catalog_.delete_rule(id); !st) {
    if (st.error().kind == ErrorKind::not_found && id == "default")
      return make_error(ErrorKind::failed_precondition,
                        "the built-in rule default cannot be deleted; add a rule with id "
                        "\"default\" to replace it");
    return st;
  }
  on_strand(strand_, [this] { reload(); });
  return {};
}

Result<storage::Alarm> AlarmRouter::acknowledge(std::int64_t id, const std::string& by,
                                                const std::string& remote) {
  auto a = catalog_.acknowledge_alarm(id, by);
  if (!a) return a;
  if (audit_)
    audit_->record(by, "alarm.ack", "alarm:" + std::to_string(id),
                   json{{"camera_id", a->camera_id}}.dump(), remote);
  publish(*a);
  return a;
}

Result<storage::Alarm> AlarmRouter::resolve(std::int64_t id, const std::string& by,
                                            const std::string& note, const std::string& remote) {
  auto a = catalog_.resolve_alarm(id, by, note);
  if (!a) return a;
  if (audit_)
    audit_->record(by, "alarm.resolve", "alarm:" + std::to_string(id),
                   json{{"camera_id", a->camera_id}, {"note", note}}.dump(), remote);
  publish(*a);
  return a;
}

Result<storage::Alarm> AlarmRouter::assign(std::int64_t id, const std::string& by,
                                           const std::string& user, const std::string& remote) {
  // The alarm first, then one answer for every user who cannot take it: an
  // error must not tell who exists or which role they have.
  if (auto known = catalog_.find_alarm(id); !known) return known.error();
  auto u = catalog_.find_user(user);
  if (!u || u->disabled || u->role == Role::investigator)
    return make_error(ErrorKind::invalid_argument,
                      "'user': " + user.substr(0, 64) +
                          " is not an active operator or administrator; alarms go to them");
  auto a = catalog_.assign_alarm(id, user);
  if (!a) return a;
  if (audit_)
    audit_->record(by, "alarm.assign", "alarm:" + std::to_string(id),
                   json{{"camera_id", a->camera_id}, {"user", user}}.dump(), remote);
  publish(*a);
  return a;
}

}  // namespace zaulek::server
