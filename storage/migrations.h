// Internal: the numbered schema migrations compiled into the binary, and the
// function that applies them. Not part of the public face (catalog.h).
#pragma once

#include <filesystem>
#include <span>
#include <string_view>

#include "core/error.h"

namespace zaulek::storage {

struct Migration {
  int version;            // NNNN of NNNN_name.sql; 1, 2, 3, ... without gaps
  std::string_view name;  // file name, for messages
  std::string_view sql;
};

// All migrations, in order (generated from storage/migrations/*.sql).
std::span<const Migration> migrations();

namespace sql {
class Connection;
}

// PRAGMA user_version of the open database.
Result<int> read_schema_version(sql::Connection& c);
// Applies the migrations after the database's version up to `target` in ONE
// transaction (all or nothing). Refuses a database newer than this binary.
Status migrate(sql::Connection& c, int target);
// For tests: creates `path` at schema version `version` (migrations 1..version).
Status create_at_version(const std::filesystem::path& path, int version);

}  // namespace zaulek::storage
