#include "server/api/alarms.h"

#include <charconv>
#include <nlohmann/json.hpp>

#include "server/alarms/alarms.h"
#include "server/api/params.h"
#include "server/api/sites.h"
#include "server/security/users.h"  // kMaxUserNameLength
#include "server/security/visibility.h"

namespace zaulek::server {

namespace {

using nlohmann::json;

constexpr std::size_t kMaxNote = 4096;
constexpr std::size_t kMaxSearch = 256;  // ?q= bytes

std::optional<std::int64_t> parse_id(const std::string& text) {
  std::int64_t v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc{} || p != text.data() + text.size() || v < 1)
    return std::nullopt;
  return v;
}

Response list_alarms(ApiContext& ctx, Request& req) {
  storage::AlarmQuery q;
  if (auto it = req.query.find("state"); it != req.query.end() && !it->second.empty()) {
    // "open" = new and acknowledged; else a comma-separated list of states.
    std::string_view rest = it->second;
    while (!rest.empty()) {
      auto comma = rest.find(',');
      auto name = rest.substr(0, comma);
      if (name == "open") {
        q.states.push_back(storage::AlarmState::new_);
        q.states.push_back(storage::AlarmState::acknowledged);
      } else if (auto s = storage::parse_alarm_state(name)) {
        q.states.push_back(*s);
      } else {
        return bad(
            "query parameter 'state' must be new, acknowledged, resolved or open "
            "(comma-separated)");
      }
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    }
  }
  auto camera = camera_query(req);
  if (!camera) return error_response(camera.error());
  q.camera_id = std::move(*camera);
  if (auto it = req.query.find("limit"); it != req.query.end()) {
    auto v = parse_id(it->second);
    if (!v || *v > storage::Catalog::kMaxListLimit)
      return bad("query parameter 'limit' must be an integer from 1 to " +
                 std::to_string(storage::Catalog::kMaxListLimit));
    q.limit = static_cast<int>(*v);
  }
  if (auto it = req.query.find("before"); it != req.query.end()) {
    auto v = parse_id(it->second);
    if (!v) return bad("query parameter 'before' must be an alarm id");
    q.before_id = *v;
  }
  // ?site=ID|none: alarms of the cameras now in that site (or in none).
  auto site = site_query(req);
  if (!site) return error_response(site.error());
  if (auto missing = unknown_site(*ctx.catalog, *site)) return *missing;
  q.site_id = *site;
  // ?q=words: alarms whose note, camera (id or name), kind or people hold
  // every word, case and diacritics aside (storage::AlarmQuery::words).
  if (auto it = req.query.find("q"); it != req.query.end()) {
    if (it->second.size() > kMaxSearch || has_control_chars(it->second, TextLines::one))
      return bad("query parameter 'q' must be at most " + std::to_string(kMaxSearch) +
                 " bytes of words without control characters");
    std::string_view rest = it->second;
    while (!rest.empty()) {
      auto start = rest.find_first_not_of(" \t");
      if (start == std::string_view::npos) break;
      rest.remove_prefix(start);
      auto end = rest.find_first_of(" \t");
      q.words.emplace_back(rest.substr(0, end));
      rest = end == std::string_view::npos ? std::string_view() : rest.substr(end);
    }
    if (q.words.size() > storage::AlarmQuery::kMaxSearchWords)
      return bad("query parameter 'q' has more than " +
                 std::to_string(storage::AlarmQuery::kMaxSearchWords) + " words");
  }
  q.cameras = visible_cameras(*req.principal);
  auto rows = ctx.catalog->list_alarms(q);
  if (!rows) return error_response(rows.error());
  json arr = json::array();
  for (const auto& a : *rows) arr.push_back(alarm_json(a));
  json body = {{"alarms", arr}};
  body["next_before"] = next_cursor(rows->size(), q.limit, rows->empty() ? 0 : rows->back().id);
  return json_response(200, body);
}

Response alarm_result(const Result<storage::Alarm>& a) {
  if (!a) return error_response(a.error());
  return json_response(200, alarm_json(*a));
}

// An alarm of a camera the caller may not see is answered as an unknown one.
bool alarm_hidden(ApiContext& ctx, const Request& req, std::int64_t id) {
  if (!visible_cameras(*req.principal)) return false;
  auto a = ctx.catalog->find_alarm(id);
  return a && !may_see(*req.principal, a->camera_id);
}

Response ack(ApiContext& ctx, Request& req) {
  auto id = parse_id(req.params["id"]);
  if (!id || alarm_hidden(ctx, req, *id))
    return error_response(404, "not_found", "no alarm " + req.params["id"].substr(0, 32));
  return alarm_result(ctx.alarms->acknowledge(*id, req.principal->name, req.remote));
}

Response resolve(ApiContext& ctx, Request& req) {
  auto id = parse_id(req.params["id"]);
  if (!id || alarm_hidden(ctx, req, *id))
    return error_response(404, "not_found", "no alarm " + req.params["id"].substr(0, 32));
  // A resolution says what was done: a note is required, and not blank.
  auto note = string_field(*req.json, "note", kMaxNote);
  if (!note) return error_response(note.error());
  if (note->find_first_not_of(" \t\r\n") == std::string::npos)
    return bad("'note' is blank: say what was done (1 to 4096 bytes)");
  return alarm_result(ctx.alarms->resolve(*id, req.principal->name, *note, req.remote));
}

Response assign(ApiContext& ctx, Request& req) {
  auto id = parse_id(req.params["id"]);
  if (!id || alarm_hidden(ctx, req, *id))
    return error_response(404, "not_found", "no alarm " + req.params["id"].substr(0, 32));
  auto user = string_field(*req.json, "user", kMaxUserNameLength);
  if (!user) return error_response(user.error());
  if (user->empty()) return bad("'user' is empty: the name of an operator or administrator");
  return alarm_result(ctx.alarms->assign(*id, req.principal->name, *user, req.remote));
}

json listed_json(const AlarmRouter::ListedRule& r) {
  json j = rule_json(r.rule);
  j["origin"] = r.origin;
  j["created_by"] = r.created_by.empty() ? json(nullptr) : json(r.created_by);
  return j;
}

Response list_rules(ApiContext& ctx, Request&) {
  json arr = json::array();
  for (const auto& r : ctx.alarms->rules()) arr.push_back(listed_json(r));
  return json_response(200, {{"rules", arr}});
}

Response add_rule(ApiContext& ctx, Request& req) {
  auto rule = rule_from_json(*req.json);
  if (!rule) return error_response(rule.error());
  auto added = ctx.alarms->add_rule(*rule, req.principal->name);
  if (!added) return error_response(added.error());
  ctx.audit->record(req.principal->name, "rule.add", "rule:" + added->id, rule_json(*added).dump(),
                    req.remote);
  return json_response(201, listed_json({*added, "api", req.principal->name}));
}

Response delete_rule(ApiContext& ctx, Request& req) {
  const std::string& id = req.params["id"];
  if (auto st = ctx.alarms->delete_rule(id); !st) return error_response(st.error());
  ctx.audit->record(req.principal->name, "rule.delete", "rule:" + id, "{}", req.remote);
  return json_response(200, {{"id", id}, {"status", "deleted"}});
}

}  // namespace

void register_alarm_routes(Router& router, ApiContext& ctx) {
  const RoleSet all = RoleSet::all();
  const RoleSet act{Role::operator_, Role::administrator};
  const RoleSet admin{Role::administrator};
  auto h = service_handlers(ctx, "alarm",
                            [](const ApiContext& c) { return c.catalog && c.alarms && c.audit; });
  router.add({"GET", "/api/v1/alarms", Access::roles, all, false, false, h(list_alarms)});
  router.add({"POST", "/api/v1/alarms/{id}/ack", Access::roles, act, false, false, h(ack)});
  router.add({"POST", "/api/v1/alarms/{id}/resolve", Access::roles, act, true, false, h(resolve)});
  router.add({"POST", "/api/v1/alarms/{id}/assign", Access::roles, act, true, false, h(assign)});
  router.add({"GET", "/api/v1/rules", Access::roles, admin, false, false, h(list_rules)});
  router.add({"POST", "/api/v1/rules", Access::roles, admin, true, false, h(add_rule)});
  router.add({"DELETE", "/api/v1/rules/{id}", Access::roles, admin, false, false, h(delete_rule)});
}

}  // namespace zaulek::server
