// Bookmarks: moments of a camera's footage marked by a user or a rule.
// Part of Catalog (storage/catalog.h).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/error.h"

namespace zaulek::storage {

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

class BookmarkCatalog {
 public:
  // Bookmarks. invalid_argument names the field (camera_id, until, note,
  // rule_id); by time then id.
  virtual Result<Bookmark> add_bookmark(const Bookmark& bookmark) = 0;
  virtual Result<Bookmark> find_bookmark(std::int64_t id) = 0;  // not_found
  virtual Result<std::vector<Bookmark>> list_bookmarks(const BookmarkQuery& query) = 0;
  virtual Status delete_bookmark(std::int64_t id) = 0;  // not_found

 protected:
  ~BookmarkCatalog() = default;
};

}  // namespace zaulek::storage
