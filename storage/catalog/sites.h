// Sites: the places the cameras watch. Part of Catalog (storage/catalog.h).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/error.h"

namespace zaulek::storage {

// A point on a plan: fractions of its width (x, from the left) and height
// (y, from the top), each 0..1.
struct PlanPoint {
  double x = 0;
  double y = 0;
  bool operator==(const PlanPoint&) const = default;
};
// Both in 0..1 (false for NaN).
bool valid_plan_point(const PlanPoint& p);

// What an uploaded plan image was checked to be (the file itself is in the
// storage folder, storage/plans.h).
struct SitePlan {
  std::string content_type;  // "image/png" or "image/jpeg"
  int width = 0;             // pixels, > 0
  int height = 0;
  std::int64_t bytes = 0;  // > 0
  std::string sha256;      // lower-case hex of the file
  WallTime updated;
};

struct GeoPoint {
  double latitude = 0;   // -90..90
  double longitude = 0;  // -180..180
  bool operator==(const GeoPoint&) const = default;
};

// A site (migration 0013).
struct Site {
  std::int64_t id = 0;  // assigned by add_site
  std::string name;     // 1..128 bytes, unique (ASCII letters case folded)
  std::string address;  // 0..512 bytes
  std::optional<GeoPoint> position;
  std::optional<PlanPoint> plan_position;  // on the overview drawing of all sites
  std::optional<SitePlan> plan;            // set only by set_site_plan
  WallTime created;                        // set by the catalogue
  WallTime updated;                        // set by the catalogue
};

class SiteCatalog {
 public:
  // invalid_argument names the field; already_exists for a taken name.
  virtual Result<Site> add_site(const Site& site) = 0;
  virtual Result<Site> find_site(std::int64_t id) = 0;  // not_found
  virtual Result<std::vector<Site>> list_sites() = 0;   // by name
  // By id: name, address, position and plan_position as given (the plan
  // stays); not_found, already_exists, invalid_argument. Returns the row.
  virtual Result<Site> update_site(const Site& site) = 0;
  // not_found; failed_precondition while cameras are in the site (the
  // message names them): they are moved out first (migration 0013 says why).
  virtual Status delete_site(std::int64_t id) = 0;
  // The plan image's description (nullopt: no plan); not_found.
  virtual Result<Site> set_site_plan(std::int64_t id, const std::optional<SitePlan>& plan) = 0;
  // Open (new or acknowledged) alarms per camera id, cameras without any left out.
  virtual Result<std::map<std::string, std::int64_t>> open_alarm_counts() = 0;

 protected:
  ~SiteCatalog() = default;
};

}  // namespace zaulek::storage
