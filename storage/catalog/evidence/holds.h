// Evidence holds: footage kept past retention and disk pressure. Part of
// Catalog (storage/catalog.h).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/error.h"

namespace zaulek::storage {

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

class HoldCatalog {
 public:
  // Holds.
  virtual Result<Hold> add_hold(const Hold& hold) = 0;  // committed durably
  virtual Result<std::vector<Hold>> list_holds(const std::string& camera_id) = 0;  // "" = all
  virtual Status delete_hold(std::int64_t id) = 0;                                 // not_found

 protected:
  ~HoldCatalog() = default;
};

}  // namespace zaulek::storage
