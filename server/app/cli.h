// zaulekd's command line: run, --check, user add|passwd|disable|enable|list, audit verify,
// --list-routes, --help, --version. Exit codes: 0 success, 1 failure (config
// error, duplicate user, cannot listen, a broken audit chain), 2 usage error.
#pragma once

#include <filesystem>
#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "core/role.h"
#include "storage/catalog.h"

namespace zaulek::server {

struct CommandLine {
  enum class Mode {
    run,
    check,
    user_add,
    user_passwd,
    user_disable,
    user_enable,
    user_list,
    audit_verify,
    list_routes,
    help,
    version
  };
  Mode mode = Mode::run;
  std::optional<std::filesystem::path> config;
  std::optional<std::string> log_level;
  std::optional<std::filesystem::path> port_file;
  std::string user_name;  // user add|passwd|disable|enable NAME; user list [NAME] ("" all)
  std::optional<Role> role;
  std::optional<std::vector<std::string>> cameras;  // user add --cameras a,b: only these
  std::optional<storage::AuditHead> head;           // audit verify --head ID:HASH
};

// invalid_argument with a one-line reason on a usage error.
Result<CommandLine> parse_command_line(const std::vector<std::string_view>& args);
std::string usage();

// The whole program; main() only forwards. `in` is where passwords come from.
int run_main(const std::vector<std::string_view>& args, std::istream& in, std::ostream& out,
             std::ostream& err);

}  // namespace zaulek::server
