// Opening the catalogue, and what its parts (storage/catalog/*.cpp) share.
#include "storage/catalog.h"

#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include "storage/catalog/sqlite_catalog.h"
#include "storage/migrations.h"

namespace zaulek::storage {

Status validate_range(std::int64_t from_ns, std::int64_t to_ns) {
  std::int64_t width = 0;
  if (__builtin_sub_overflow(to_ns, from_ns, &width)) {
    return make_error(ErrorKind::invalid_argument, "time range is wider than 292 years");
  }
  if (to_ns <= from_ns)
    return make_error(ErrorKind::invalid_argument, "time range must end after it starts");
  return {};
}

Status validate_limit(int limit) {
  if (limit < 1 || limit > Catalog::kMaxListLimit) {
    return make_error(ErrorKind::invalid_argument,
                      "limit must be 1 to " + std::to_string(Catalog::kMaxListLimit));
  }
  return {};
}

std::optional<std::string> camera_set_json(const std::optional<std::vector<std::string>>& ids) {
  if (!ids) return std::nullopt;
  return nlohmann::json(*ids).dump();
}

SqliteCatalog::SqliteCatalog(std::unique_ptr<sql::Connection> writer, Clock& clock, int version)
    : clock_(clock), writer_(std::move(writer)), readers_(writer_->path()), version_(version) {}

SqliteCatalog::~SqliteCatalog() {
  // Lets SQLite refresh its planner statistics where they went stale; cheap.
  std::lock_guard lock(write_mu_);
  (void)writer_->exec("PRAGMA optimize");
}

Status SqliteCatalog::changed_one(Status s, const char* what, std::int64_t id) {
  if (!s) return s;
  if (writer_->changes() == 0) {
    return make_error(ErrorKind::not_found,
                      std::string("no ") + what + " with id " + std::to_string(id));
  }
  return {};
}

Status SqliteCatalog::integrity_check() {
  auto r = readers_.borrow();
  if (!r) return r.error();
  auto st = (*r)->prepare("PRAGMA quick_check");
  if (!st) return with_context(st.error(), "checking catalogue " + writer_->path().string());
  std::string findings;
  for (;;) {
    auto row = (*st)->step();
    if (!row) return with_context(row.error(), "checking catalogue " + writer_->path().string());
    if (!*row) break;
    std::string line = (*st)->text("quick_check");
    if (line == "ok") continue;
    if (!findings.empty()) findings += "; ";
    findings += line;
  }
  if (findings.empty()) return {};
  return make_error(ErrorKind::data_loss,
                    "catalogue " + writer_->path().string() + " is damaged: " + findings);
}

int Catalog::latest_schema_version() {
  return static_cast<int>(migrations().size());
}

Result<std::unique_ptr<Catalog>> Catalog::open(const std::filesystem::path& db_path, Clock& clock) {
  std::error_code ec;
  if (std::filesystem::exists(db_path, ec) && !std::filesystem::is_regular_file(db_path, ec)) {
    return make_error(ErrorKind::failed_precondition,
                      "catalogue " + db_path.string() + " exists but is not a regular file");
  }
  auto writer = sql::Connection::open(db_path, true);
  if (!writer) {
    const Error& e = writer.error();
    if (e.kind == ErrorKind::data_loss) {
      return make_error(ErrorKind::data_loss,
                        e.message +
                            " (not an SQLite database, or a damaged one; restore it "
                            "from a backup or move it away to start empty)");
    }
    return e;
  }
  const int latest = latest_schema_version();
  if (auto s = migrate(**writer, latest); !s) {
    if (s.error().kind == ErrorKind::data_loss) {
      return make_error(ErrorKind::data_loss,
                        "catalogue " + db_path.string() + " is corrupt: " + s.error().message);
    }
    return s.error();
  }
  spdlog::info("storage: catalogue {} at schema version {}", db_path.string(), latest);
  return std::unique_ptr<Catalog>(new SqliteCatalog(std::move(*writer), clock, latest));
}

}  // namespace zaulek::storage
