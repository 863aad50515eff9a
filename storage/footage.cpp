#include "storage/footage.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <set>
#include <unordered_set>

namespace zaulek::storage {
namespace {

Status fsync_dir(const std::filesystem::path& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    return make_error(ErrorKind::unavailable,
                      "open directory " + dir.string() + ": " + std::strerror(errno));
  }
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) {
    return make_error(ErrorKind::unavailable,
                      "fsync directory " + dir.string() + ": " + std::strerror(err));
  }
  return {};
}

enum class Unlinked { removed, missing, failed };

Unlinked unlink_file(const std::filesystem::path& file, std::string& error) {
  if (::unlink(file.c_str()) == 0) return Unlinked::removed;
  if (errno == ENOENT) return Unlinked::missing;
  error = std::strerror(errno);
  return Unlinked::failed;
}

class Findings {
 public:
  explicit Findings(ReconcileReport& report) : report_(report) {}
  void add(const std::string& camera_id, const std::string& line) {
    spdlog::warn("storage: camera {}: {}", camera_id, line);
    if (report_.findings.size() < kMax)
      report_.findings.push_back("camera " + camera_id + ": " + line);
  }

 private:
  static constexpr std::size_t kMax = 1000;
  ReconcileReport& report_;
};

// Removes rows in batches the catalogue accepts.
Status delete_rows(Catalog& catalog, const std::vector<std::int64_t>& ids) {
  for (std::size_t i = 0; i < ids.size(); i += Catalog::kMaxBatch) {
    std::size_t n = std::min(ids.size() - i, static_cast<std::size_t>(Catalog::kMaxBatch));
    std::vector<std::int64_t> chunk(ids.begin() + static_cast<std::ptrdiff_t>(i),
                                    ids.begin() + static_cast<std::ptrdiff_t>(i + n));
    if (auto s = catalog.delete_segments(chunk); !s) return s;
  }
  return {};
}

}  // namespace

Result<DeleteReport> delete_footage(Catalog& catalog, const std::filesystem::path& root,
                                    const std::vector<std::int64_t>& ids) {
  DeleteReport report;
  // 1. Intent, durably, in one transaction that also re-checks holds.
  auto marked = catalog.mark_segments_deleting(ids);
  if (!marked) return marked.error();
  report.skipped = static_cast<std::int64_t>(ids.size() - marked->size());
  // 2. Unlink; 3. fsync each directory once; 4. remove the rows.
  std::vector<std::int64_t> done;
  std::set<std::filesystem::path> dirs;
  for (std::int64_t id : *marked) {
    auto seg = catalog.find_segment(id);
    if (!seg) return seg.error();
    const std::filesystem::path file = root / seg->path;
    std::string error;
    switch (unlink_file(file, error)) {
      case Unlinked::removed:
        dirs.insert(file.parent_path());
        break;
      case Unlinked::missing:
        ++report.missing_files;
        spdlog::warn("storage: camera {}: segment {} was already gone", seg->camera_id,
                     file.string());
        break;
      case Unlinked::failed:
        ++report.failed;
        spdlog::error("storage: camera {}: cannot delete {}: {}", seg->camera_id, file.string(),
                      error);
        continue;  // the row stays 'deleting'; reconciliation retries
    }
    done.push_back(id);
    report.bytes_freed += seg->bytes;
  }
  for (const auto& dir : dirs) {
    // If this fails the rows stay 'deleting' and reconciliation finishes them.
    if (auto s = fsync_dir(dir); !s) return s.error();
  }
  if (auto s = delete_rows(catalog, done); !s) return s.error();
  report.deleted = static_cast<std::int64_t>(done.size());
  return report;
}

Result<double> free_percent(const std::filesystem::path& path) {
  struct statvfs st {};
  if (::statvfs(path.c_str(), &st) != 0) {
    return make_error(ErrorKind::unavailable,
                      "statvfs " + path.string() + ": " + std::strerror(errno));
  }
  if (st.f_blocks == 0) return 100.0;
  return 100.0 * static_cast<double>(st.f_bavail) / static_cast<double>(st.f_blocks);
}

Result<bool> SpaceReserve::ensure() {
  std::error_code ec;
  if (std::filesystem::file_size(file_, ec) == bytes_ && !ec) return true;
  struct statvfs st {};
  if (::statvfs(file_.parent_path().c_str(), &st) != 0)
    return make_error(ErrorKind::unavailable,
                      "statvfs " + file_.parent_path().string() + ": " + std::strerror(errno));
  const auto free = static_cast<std::uint64_t>(st.f_bavail) * st.f_frsize;
  if (free < 2 * bytes_) return false;  // recording needs it more; try again later
  const auto tmp = file_.string() + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0)
    return make_error(ErrorKind::unavailable, "create " + tmp + ": " + std::strerror(errno));
  int e = ::posix_fallocate(fd, 0, static_cast<off_t>(bytes_));
  if (e == 0 && ::fsync(fd) != 0) e = errno;
  ::close(fd);
  if (e != 0 || ::rename(tmp.c_str(), file_.c_str()) != 0) {
    if (e == 0) e = errno;
    ::unlink(tmp.c_str());
    return make_error(ErrorKind::unavailable,
                      "reserve " + file_.string() + ": " + std::strerror(e));
  }
  return true;
}

bool SpaceReserve::release() {
  return ::unlink(file_.c_str()) == 0;
}

Result<RetentionReport> enforce_retention(Catalog& catalog, const std::filesystem::path& root,
                                          const RetentionPolicy& policy,
                                          const std::function<Result<double>()>& free) {
  RetentionReport report;
  auto ids_of = [](const std::vector<Segment>& segments) {
    std::vector<std::int64_t> ids;
    for (const auto& s : segments) ids.push_back(s.id);
    return ids;
  };
  int rounds = 0;
  // Age first: footage past its legal ceiling goes whatever the disk says.
  for (; rounds < policy.max_rounds; ++rounds) {
    auto expired = catalog.expired_segments(policy.max_age_days, policy.age_batch);
    if (!expired) return expired.error();
    if (expired->empty()) break;
    auto d = delete_footage(catalog, root, ids_of(*expired));
    if (!d) return d.error();
    report.expired_deleted += d->deleted;
    report.bytes_freed += d->bytes_freed;
    report.failed += d->failed;
    if (d->deleted == 0) break;  // everything left was held meanwhile, or failed
  }
  // Then space: a small batch at a time, measuring in between.
  for (; rounds < policy.max_rounds; ++rounds) {
    auto pct = free();
    if (!pct) return pct.error();
    if (*pct >= policy.min_free_percent) return report;
    auto oldest = catalog.oldest_unheld_segments(policy.pressure_batch);
    if (!oldest) return oldest.error();
    if (oldest->empty()) break;
    auto d = delete_footage(catalog, root, ids_of(*oldest));
    if (!d) return d.error();
    report.pressure_deleted += d->deleted;
    report.bytes_freed += d->bytes_freed;
    report.failed += d->failed;
    if (d->deleted == 0) break;
  }
  auto pct = free();
  if (!pct) return pct.error();
  report.below_min_free = *pct < policy.min_free_percent;
  if (report.below_min_free) {
    spdlog::warn("storage: {:.1f}% free, under the {:.1f}% minimum, after retention", *pct,
                 policy.min_free_percent);
  }
  return report;
}

Result<ReconcileReport> reconcile(Catalog& catalog, const std::filesystem::path& root, bool repair,
                                  const FileProbe& probe) {
  ReconcileReport report;
  Findings findings(report);

  // 1. Unfinished deletions.
  for (int round = 0; round < 1000; ++round) {
    auto pending = catalog.list_deleting_segments(Catalog::kMaxListLimit);
    if (!pending) return pending.error();
    if (pending->empty()) break;
    if (!repair) {
      for (const auto& s : *pending)
        findings.add(s.camera_id, "deletion of " + s.path + " unfinished");
      break;
    }
    std::vector<std::int64_t> ids;
    std::set<std::filesystem::path> dirs;
    for (const auto& s : *pending) {
      std::string error;
      const std::filesystem::path file = root / s.path;
      if (unlink_file(file, error) == Unlinked::failed) {
        return make_error(ErrorKind::unavailable, "cannot delete " + file.string() + ": " + error);
      }
      dirs.insert(file.parent_path());
      ids.push_back(s.id);
      findings.add(s.camera_id, "finished deleting " + s.path);
    }
    for (const auto& dir : dirs) {
      std::error_code ec;
      if (!std::filesystem::exists(dir, ec)) continue;
      if (auto st = fsync_dir(dir); !st) return st.error();
    }
    if (auto st = delete_rows(catalog, ids); !st) return st.error();
    report.deletions_finished += static_cast<std::int64_t>(ids.size());
  }

  // 2. Every row against its file.
  std::unordered_set<std::string> indexed;
  std::set<std::string> cameras;
  std::vector<std::int64_t> drop;
  std::int64_t after = 0;
  for (;;) {
    auto rows = catalog.list_all_segments(after, Catalog::kMaxListLimit);
    if (!rows) return rows.error();
    if (rows->empty()) break;
    after = rows->back().id;
    for (const Segment& s : *rows) {
      indexed.insert(s.path);
      cameras.insert(s.camera_id);
      const std::filesystem::path file = root / s.path;
      std::error_code ec;
      const bool exists = std::filesystem::is_regular_file(file, ec);
      if (s.state == SegmentState::deleting) continue;  // only without repair
      if (s.state == SegmentState::open) {
        if (exists) {
          findings.add(s.camera_id, "segment " + s.path + " is complete but its row is open");
          if (repair && probe) {
            auto p = probe(file, s.camera_id);
            if (!p) {
              findings.add(s.camera_id, "cannot read " + s.path + ": " + p.error().message);
              continue;
            }
            if (auto c =
                    catalog.close_segment(s.id, p->end_ns, p->bytes, p->keyframes, std::nullopt);
                !c) {
              return c.error();
            }
            ++report.open_closed;
          }
        } else if (std::filesystem::exists(file.string() + ".part", ec)) {
          findings.add(s.camera_id, "segment " + s.path + " is still a .part file");
        } else {
          findings.add(s.camera_id, "open segment " + s.path + " has no file; dropping its row");
          if (repair) drop.push_back(s.id);
        }
        continue;
      }
      if (!exists) {
        findings.add(s.camera_id, "segment " + s.path + " is missing; dropping its row");
        if (repair) drop.push_back(s.id);
        continue;
      }
      auto size = std::filesystem::file_size(file, ec);
      if (!ec && static_cast<std::int64_t>(size) != s.bytes) {
        ++report.size_mismatches;
        findings.add(s.camera_id, "segment " + s.path + " has " + std::to_string(size) +
                                      " bytes, the catalogue says " + std::to_string(s.bytes));
      }
    }
  }
  if (repair) {
    if (auto st = delete_rows(catalog, drop); !st) return st.error();
    report.rows_dropped = static_cast<std::int64_t>(drop.size());
  }

  // 3. Every file against the rows, in the directories of known cameras.
  auto known = catalog.list_cameras();
  if (!known) return known.error();
  for (const auto& c : *known) cameras.insert(c.id);
  for (const std::string& camera : cameras) {
    const std::filesystem::path dir = root / camera;
    std::error_code ec;
    if (!std::filesystem::is_directory(dir, ec)) continue;
    std::filesystem::recursive_directory_iterator it(dir, ec), end;
    if (ec) {
      findings.add(camera, "cannot list " + dir.string() + ": " + ec.message());
      continue;
    }
    for (; it != end; it.increment(ec)) {
      if (ec) {
        findings.add(camera, "cannot list " + dir.string() + ": " + ec.message());
        break;
      }
      if (!it->is_regular_file(ec)) continue;
      const std::string name = it->path().filename().string();
      if (name.starts_with(".") || name.ends_with(".part")) continue;
      const std::string rel = it->path().lexically_relative(root).generic_string();
      if (indexed.contains(rel)) continue;
      ++report.orphans;
      findings.add(camera, "file " + rel + " has no row");
      if (!repair || !probe) continue;
      auto p = probe(it->path(), camera);
      if (!p) {
        findings.add(camera, "cannot read " + rel + ": " + p.error().message);
        continue;
      }
      Segment s = *p;
      s.id = 0;
      s.camera_id = camera;
      s.path = rel;
      s.state = SegmentState::closed;
      // One at a time: orphans are rare, and one bad file must not block the rest.
      if (auto id = catalog.add_segment(s); !id) {
        findings.add(camera, "cannot index " + rel + ": " + id.error().message);
        continue;
      }
      ++report.files_indexed;
    }
  }
  return report;
}

}  // namespace zaulek::storage
