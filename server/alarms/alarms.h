// The alarm router (DESIGN.md: onvif/events -> server/alarms -> consoles).
//
// Every stored event is matched against the rules: config [[rules]], rules
// made over the API (catalogue table `rules`) and the built-in rule
// "default" (tamper, video_loss and health raise a priority-5 alarm on every
// camera, always; a config or API rule with id "default" replaces it). A
// rule matches an event whose state is start or pulse, whose camera and kind
// it names (or all), inside its schedule (days and hours in the server's
// local time, taken at the event's time). Of the matching rules the one
// with the highest priority (then the first in order config, API, default)
// raises the alarm. The alarm's source is camera + kind + rule + the event's
// source items; repeats from one source fold into its open alarm (count +
// 1); events from a source closer than the rule's debounce_ms to the last
// one taken are ignored. Each new or folded alarm is published on the hub
// as {"type":"alarm", ...alarm_json}; a new one is audited (system
// alarm.raise).
//
// Recording trigger and bookmarks (docs/events.md "Recording and
// bookmarks"). With set_recording() wired, the router decides which stored
// events drive events-mode recording. While no armed rule has record = true,
// every routed event is handed to RecordingHooks::all_events (zaulekd:
// RecordingService::on_events: motion, line_crossing, intrusion, tamper and
// io_input start and stop recording). Once any armed rule has record = true,
// only events that such a rule matches (camera, kind, schedule; any matching
// record rule, whichever rule raises the alarm, and not held back by
// debounce) start recording: start -> event(camera, true); the stop of the
// same camera + kind + source ends it (record_seconds N > 0: N seconds after
// its start instead, on a steady timer on the strand), and a camera's
// recording ends (event(camera, false), then post_event) when none of its
// started sources is still on; a pulse is a start and a stop. When the rule set switches
// between the two ways, recording the old way started is ended. A rule with
// bookmark = true makes a catalogue bookmark (created_by "system", with the
// alarm and rule ids) at the event's time for every alarm it raises (not
// for folded repeats); audited as system bookmark.add.
//
// Camera health becomes events of kind `health` (state start: a problem,
// stop: it is over), stored, published as {"type":"event"} and routed like
// any other: the camera registry's status changes (offline, unauthorized,
// degraded -> start; online after a problem -> stop; topic
// zaulek:Health/Camera) and failures of the event
// subscription (EventService: topic zaulek:Health/EventSubscription).
//
// Threading: the rule set, debounce state and health state live on the
// router's strand; catalogue writes are short SQLite transactions there.
// The lifecycle calls (acknowledge, resolve, assign) are called from HTTP
// worker threads and go straight to the catalogue, whose transitions are
// atomic; they publish and audit themselves.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "config/rules.h"
#include "core/clock.h"
#include "server/hub/hub.h"
#include "storage/catalog.h"

namespace zaulek::server {

class AuditLog;

nlohmann::json alarm_json(const storage::Alarm& a);
nlohmann::json rule_json(const config::Rule& r);
// A rule from its JSON form (POST /api/v1/rules); error text names the field.
Result<config::Rule> rule_from_json(const nlohmann::json& j);
// The built-in rule "default".
config::Rule default_rule();
// Whether `rule` takes event `e` (camera, kind, state, schedule; not debounce).
bool rule_matches(const config::Rule& rule, const storage::Event& e);

// Where the router sends recording triggers (both called on its strand).
struct RecordingHooks {
  std::function<void(const std::vector<storage::Event>&)> all_events;
  std::function<void(const std::string& camera_id, bool active)> event;
};

class AlarmRouter {
 public:
  AlarmRouter(boost::asio::io_context& ioc, storage::Catalog& catalog, Hub* hub, AuditLog* audit,
              Clock& clock, std::vector<config::Rule> config_rules);

  // Before start(); without it the router triggers no recording.
  void set_recording(RecordingHooks hooks) { recording_ = std::move(hooks); }
  // Whether an armed rule has record = true (rules drive events-mode recording).
  bool rules_record() const { return rules_record_; }

  // Loads the API rules.
  void start();
  void stop();

  // Stored events (ids set); any thread.
  void route(std::vector<storage::Event> events);
  // A health problem starts (problem = true) or ends; stored, published and
  // routed. Any thread.
  void health(std::string camera_id, bool problem, std::string topic, std::string subsystem,
              nlohmann::json data);

  // Rules over the API (blocking; HTTP worker threads only). The router
  // uses the new set before these return.
  struct ListedRule {
    config::Rule rule;
    std::string origin;  // "config", "api", "builtin"
    std::string created_by;
  };
  std::vector<ListedRule> rules();
  Result<config::Rule> add_rule(const config::Rule& rule, const std::string& by);
  Status delete_rule(const std::string& id);

  // Lifecycle (blocking; HTTP worker threads). Published and audited.
  Result<storage::Alarm> acknowledge(std::int64_t id, const std::string& by,
                                     const std::string& remote);
  Result<storage::Alarm> resolve(std::int64_t id, const std::string& by, const std::string& note,
                                 const std::string& remote);
  Result<storage::Alarm> assign(std::int64_t id, const std::string& by, const std::string& user,
                                const std::string& remote);

  // Blocks until everything posted to the router before it has run (tests).
  void drain();

  std::uint64_t raised() const { return raised_; }
  std::uint64_t folded() const { return folded_; }
  std::uint64_t bookmarks() const { return bookmarks_; }

  // A camera's status changed (server/cameras/cameras.h listener); any thread.
  void camera_status(std::string camera_id, std::string status, std::string reason);

 private:
  void reload();  // on strand_
  void route_one(const storage::Event& e);
  void publish(const storage::Alarm& a);
  void record_step(const storage::Event& e);                 // rules drive recording
  void legacy_step(const std::vector<storage::Event>& all);  // every event does
  void bookmark(const storage::Event& e, const config::Rule& rule, const storage::Alarm& a);

  boost::asio::strand<boost::asio::io_context::executor_type> strand_;
  storage::Catalog& catalog_;
  Hub* hub_;
  AuditLog* audit_;
  Clock& clock_;
  const std::vector<config::Rule> config_rules_;
  // On strand_ only.
  std::vector<config::Rule> rules_;                    // in precedence order, enabled only
  std::map<std::string, std::int64_t> last_taken_ns_;  // debounce, by source key
  std::map<std::string, std::string> health_problem_;  // camera|subsystem -> status
  bool stopped_ = false;
  RecordingHooks recording_;
  // A source (kind|source items) that keeps its camera recording by rule:
  // until its stop (open) and/or until `until` (record_seconds).
  struct RecordSource {
    bool open = false;
    std::chrono::steady_clock::time_point until{};
  };
  void arm_record_timer(std::chrono::steady_clock::time_point at);  // on strand_
  void sweep_record_sources();                                      // on strand_
  // Cameras recording by rule -> their sources still on.
  std::map<std::string, std::map<std::string, RecordSource>> rule_recording_;
  boost::asio::steady_timer record_timer_;  // at the earliest `until`
  std::chrono::steady_clock::time_point record_timer_at_ =
      std::chrono::steady_clock::time_point::max();
  std::set<std::string> legacy_recording_;  // cameras started by all_events
  std::atomic<bool> rules_record_{false};
  std::atomic<std::uint64_t> raised_{0}, folded_{0}, bookmarks_{0};
};

}  // namespace zaulek::server
