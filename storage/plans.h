// Site plan images in the storage folder (storage.path/plans/): one file per
// uploaded image, site-<id>-<first 16 hex digits of its SHA-256>.png|jpg.
// The catalogue's sites row says which file is the site's plan and what it
// was checked to be (storage/catalog/sites.h); this only keeps the bytes.
// A new plan is written beside the old one (a temporary file, fsync,
// rename, fsync of the directory), then the row is changed, then the old
// file is removed: a crash leaves at most an orphan file, never a row whose
// file is missing.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "core/error.h"

namespace zaulek::storage {

class PlanFiles {
 public:
  explicit PlanFiles(std::filesystem::path storage_root);

  // `extension` is "png" or "jpg" and `sha256` 64 lower-case hex digits
  // (invalid_argument otherwise). unavailable, or resource_exhausted when
  // the disk is full.
  Status write(std::int64_t site_id, const std::string& sha256, std::string_view extension,
               std::string_view bytes);
  // The file's bytes: not_found when missing, data_loss when its size is not
  // `expected_bytes` (changed behind the catalogue's back).
  Result<std::string> read(std::int64_t site_id, const std::string& sha256,
                           std::string_view extension, std::int64_t expected_bytes);
  // Removes the file (none there is fine).
  Status remove(std::int64_t site_id, const std::string& sha256, std::string_view extension);

  std::filesystem::path path(std::int64_t site_id, const std::string& sha256,
                             std::string_view extension) const;

 private:
  std::filesystem::path dir_;
};

}  // namespace zaulek::storage
