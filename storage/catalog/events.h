// Normalized camera events, and the retention of what describes footage
// (events, bookmarks). Part of Catalog (storage/catalog.h).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/error.h"

namespace zaulek::storage {

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

class EventCatalog {
 public:
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

 protected:
  ~EventCatalog() = default;
};

}  // namespace zaulek::storage
