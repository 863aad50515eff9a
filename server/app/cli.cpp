#include "server/app/cli.h"

#include <spdlog/spdlog.h>

#include <termios.h>
#include <unistd.h>

#include <iostream>
#include <nlohmann/json.hpp>

#include "config/config.h"
#include "core/crypto.h"
#include "core/ids.h"
#include "core/log.h"
#include "server/api/api.h"
#include "server/app/build_info.h"
#include "server/app/service.h"
#include "server/security/audit.h"
#include "server/security/users.h"
#include "storage/catalog.h"

namespace zaulek::server {

namespace {

Error usage_error(std::string message) {
  return make_error(ErrorKind::invalid_argument, std::move(message));
}

// Reads one line (the password) of at most `max` bytes; false if longer.
bool read_line_bounded(std::istream& in, std::string& line, std::size_t max) {
  line.clear();
  char c;
  while (in.get(c)) {
    if (c == '\n') break;
    if (line.size() >= max + 1) return false;  // +1: room for a '\r'
    line += c;
  }
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line.size() <= max;
}

// The password for user add / user passwd: one line from `in`; at a
// terminal (in is std::cin on a tty) asked for twice without echo. Never
// from the command line, where `ps` and shell history would show it.
Result<std::string> read_password(std::istream& in, std::ostream& err) {
  const bool tty = &in == &std::cin && isatty(STDIN_FILENO) == 1;
  termios saved{};
  auto ask = [&](const char* prompt) -> Result<std::string> {
    if (tty) {
      err << prompt << std::flush;
      termios quiet{};
      tcgetattr(STDIN_FILENO, &saved);
      quiet = saved;
      quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
      tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
    }
    std::string line;
    bool ok = read_line_bounded(in, line, kMaxPasswordLength);
    if (tty) {
      tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
      err << "\n";
    }
    if (!ok)
      return make_error(
          ErrorKind::invalid_argument,
          "password must be at most " + std::to_string(kMaxPasswordLength) + " characters");
    return line;
  };
  auto first = ask("New password: ");
  if (!first) return first;
  if (auto st = validate_password(*first); !st)
    return make_error(ErrorKind::invalid_argument,
                      st.error().message + (tty ? "" : " (read from standard input)"));
  if (tty) {
    auto again = ask("Again: ");
    if (!again) return again;
    if (*again != *first) return make_error(ErrorKind::invalid_argument, "passwords differ");
  }
  return first;
}

Result<std::unique_ptr<storage::Catalog>> open_catalog(const config::Config& cfg) {
  std::error_code ec;
  std::filesystem::create_directories(cfg.storage.path, ec);
  if (ec)
    return make_error(ErrorKind::unavailable, "cannot create storage directory " +
                                                  cfg.storage.path.string() + ": " + ec.message());
  return storage::Catalog::open(cfg.storage.path / "zaulek.db");
}

std::string cameras_text(const storage::User& u) {
  if (!u.cameras || u.role == Role::administrator) return "all cameras";
  std::string t;
  for (const auto& c : *u.cameras) t += (t.empty() ? "" : ",") + c;
  return t.empty() ? "no cameras" : t;
}

// user passwd|disable|enable NAME, user list [NAME]; audited as "cli".
int run_user_command(const CommandLine& cl, const config::Config& cfg, std::istream& in,
                     std::ostream& out, std::ostream& err) {
  if (!cl.user_name.empty())
    if (auto st = validate_user_name(cl.user_name); !st) {
      err << "zaulekd: " << st.error().message << "\n";
      return 1;
    }
  std::string password;
  if (cl.mode == CommandLine::Mode::user_passwd) {  // before the catalogue: nothing half done
    auto pw = read_password(in, err);
    if (!pw) {
      err << "zaulekd: " << pw.error().message << "\n";
      return 1;
    }
    password = std::move(*pw);
  }
  auto catalog = open_catalog(cfg);
  if (!catalog) {
    err << "zaulekd: " << catalog.error().message << "\n";
    return 1;
  }
  storage::Catalog& cat = **catalog;
  AuditLog audit(cat, system_clock());
  std::vector<storage::User> users;
  if (cl.user_name.empty()) {
    auto all = cat.list_users();
    if (!all) {
      err << "zaulekd: " << all.error().message << "\n";
      return 1;
    }
    users = std::move(*all);
  } else {
    auto u = cat.find_user(cl.user_name);
    if (!u) {
      err << "zaulekd: " << u.error().message << "\n";
      return 1;
    }
    users.push_back(std::move(*u));
  }
  if (cl.mode == CommandLine::Mode::user_list) {
    out << "name\trole\tstate\tcameras\tsessions\n";
    for (const auto& u : users) {
      auto sessions = cat.list_user_sessions(u.id);
      out << u.name << "\t" << to_string(u.role) << "\t" << (u.disabled ? "disabled" : "enabled")
          << "\t" << cameras_text(u) << "\t" << (sessions ? sessions->size() : 0) << "\n";
    }
    return 0;
  }
  const storage::User& user = users.front();
  if (cl.mode == CommandLine::Mode::user_passwd) {
    auto ended = change_password(cat, audit, user, password, cfg.auth.password_hash_cost(), 0,
                                 "user.password_reset", "cli", "");
    if (!ended) {
      err << "zaulekd: " << ended.error().message << "\n";
      return 1;
    }
    out << "password of " << user.name << " changed; " << ended->size() << " session(s) ended\n";
    return 0;
  }
  const bool disable = cl.mode == CommandLine::Mode::user_disable;
  if (user.disabled == disable) {
    out << "user " << user.name << " is already " << (disable ? "disabled" : "enabled") << "\n";
    return 0;
  }
  auto ended = set_disabled(cat, audit, user, disable, "cli", "");
  if (!ended) {
    err << "zaulekd: " << ended.error().message << "\n";
    return 1;
  }
  if (disable)
    out << "user " << user.name << " disabled; " << ended->size() << " session(s) ended\n";
  else
    out << "user " << user.name << " enabled\n";
  return 0;
}

}  // namespace

std::string usage() {
  return "usage: zaulekd --config FILE [--log-level LEVEL] [--port-file FILE]\n"
         "       zaulekd --config FILE --check\n"
         "       zaulekd --config FILE user add NAME --role operator|administrator|investigator\n"
         "                                          [--cameras ID,ID,...]\n"
         "       zaulekd --config FILE user passwd|disable|enable NAME\n"
         "       zaulekd --config FILE user list [NAME]\n"
         "       zaulekd --config FILE audit verify [--head ID:HASH]\n"
         "       zaulekd --list-routes\n"
         "       zaulekd --help | --version\n"
         "\n"
         "  --config FILE      configuration (TOML)\n"
         "  --check            validate the configuration and exit (0 ok, 1 with the error)\n"
         "  --log-level LEVEL  trace, debug, info, warn, error, critical or off\n"
         "  --port-file FILE   write the bound HTTP port to FILE (useful with port 0)\n"
         "  --list-routes      print the HTTP route table as JSON and exit\n"
         "  user add NAME      create a user; the password (8 to 1024 characters) is read\n"
         "                     as one line from standard input (asked twice at a terminal)\n"
         "  user passwd NAME   set a new password, read as for user add; every session of\n"
         "                     the user ends\n"
         "  user disable NAME  refuse the user's logins and end their sessions (never the\n"
         "                     last enabled administrator)\n"
         "  user enable NAME   allow a disabled user to log in again\n"
         "  user list [NAME]   users (or one): name, role, state, cameras, open sessions\n"
         "  audit verify       check the audit trail's hash chain: exit 0 with the number\n"
         "                     of entries and the head, 1 naming the first entry changed,\n"
         "                     moved or missing; --head ID:HASH (a head from the log)\n"
         "                     must still be in the chain\n"
         "  --help             this text\n"
         "  --version          print the version\n";
}

Result<CommandLine> parse_command_line(const std::vector<std::string_view>& args) {
  CommandLine cl;
  std::vector<std::string_view> positional;
  bool check = false, list = false, help = false, version = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string_view a = args[i];
    std::optional<std::string_view> inline_value;
    if (a.rfind("--", 0) == 0) {
      if (auto eq = a.find('='); eq != std::string_view::npos) {
        inline_value = a.substr(eq + 1);
        a = a.substr(0, eq);
      }
    }
    auto value = [&](std::string_view name) -> Result<std::string> {
      if (inline_value) return std::string(*inline_value);
      if (i + 1 >= args.size()) return usage_error(std::string(name) + " needs a value");
      return std::string(args[++i]);
    };
    auto no_value = [&](std::string_view name) -> Status {
      if (inline_value) return usage_error(std::string(name) + " takes no value");
      return {};
    };
    if (a == "--config") {
      auto v = value(a);
      if (!v) return v.error();
      if (v->empty()) return usage_error("--config needs a file name");
      cl.config = *v;
    } else if (a == "--log-level") {
      auto v = value(a);
      if (!v) return v.error();
      if (!log::parse_level(*v)) return usage_error("unknown log level '" + *v + "'");
      cl.log_level = *v;
    } else if (a == "--port-file") {
      auto v = value(a);
      if (!v) return v.error();
      cl.port_file = *v;
    } else if (a == "--role") {
      auto v = value(a);
      if (!v) return v.error();
      cl.role = parse_role(*v);
      if (!cl.role)
        return usage_error("unknown role '" + *v + "' (operator, administrator or investigator)");
    } else if (a == "--cameras") {
      auto v = value(a);
      if (!v) return v.error();
      std::vector<std::string> ids;
      std::string_view rest = *v;
      while (!rest.empty()) {
        auto comma = rest.find(',');
        auto id = rest.substr(0, comma);
        if (!valid_camera_id(std::string(id)))
          return usage_error("--cameras takes camera ids separated by commas, e.g. cam-1,cam-2");
        ids.emplace_back(id);
        rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
      }
      if (ids.empty()) return usage_error("--cameras needs at least one camera id");
      cl.cameras = std::move(ids);
    } else if (a == "--head") {
      auto v = value(a);
      if (!v) return v.error();
      auto colon = v->find(':');
      std::string hash = colon == std::string::npos ? "" : v->substr(colon + 1);
      std::int64_t id = 0;
      bool ok = colon > 0 && colon != std::string::npos && colon <= 18 && hash.size() == 64 &&
                v->find_first_not_of("0123456789") == colon &&
                hash.find_first_not_of("0123456789abcdef") == std::string::npos;
      if (ok) id = std::stoll(v->substr(0, colon));
      if (!ok || id < 1)
        return usage_error("--head takes ID:HASH as the log writes it, e.g. 42:" +
                           std::string(64, '0'));
      cl.head = storage::AuditHead{id, hash};
    } else if (a == "--check") {
      if (auto st = no_value(a); !st) return st.error();
      check = true;
    } else if (a == "--list-routes") {
      if (auto st = no_value(a); !st) return st.error();
      list = true;
    } else if (a == "--help" || a == "-h") {
      help = true;
    } else if (a == "--version" || a == "-V") {
      version = true;
    } else if (!a.empty() && a.front() == '-') {
      return usage_error("unknown option '" + std::string(a) + "'");
    } else {
      positional.push_back(a);
    }
  }
  if (help) {
    cl.mode = CommandLine::Mode::help;
    return cl;
  }
  if (version) {
    cl.mode = CommandLine::Mode::version;
    return cl;
  }
  if (list) {
    if (!positional.empty() || check) return usage_error("--list-routes takes nothing else");
    cl.mode = CommandLine::Mode::list_routes;
    return cl;
  }
  if (!positional.empty() && positional[0] == "audit") {
    if (positional.size() != 2 || positional[1] != "verify")
      return usage_error("the audit command is: audit verify [--head ID:HASH]");
    if (check) return usage_error("--check cannot be combined with audit verify");
    if (cl.role || cl.cameras) return usage_error("--role and --cameras belong to user add");
    cl.mode = CommandLine::Mode::audit_verify;
  } else if (!positional.empty()) {
    if (positional[0] != "user")
      return usage_error("unknown command '" + std::string(positional[0]) + "'");
    const std::string_view sub = positional.size() >= 2 ? positional[1] : std::string_view();
    if (sub != "add" && sub != "passwd" && sub != "disable" && sub != "enable" && sub != "list")
      return usage_error(
          "the user command is: user add NAME --role ROLE, user passwd|disable|enable NAME, "
          "or user list [NAME]");
    const std::string cmd = "user " + std::string(sub);
    if (check) return usage_error("--check cannot be combined with " + cmd);
    if (sub == "list" ? positional.size() > 3 : positional.size() != 3)
      return usage_error(cmd +
                         (sub == "list" ? " takes at most one NAME" : " needs exactly one NAME"));
    if (sub == "add") {
      if (!cl.role) return usage_error("user add needs --role operator|administrator|investigator");
      if (cl.cameras && *cl.role == Role::administrator)
        return usage_error("--cameras: administrators always see every camera");
      cl.mode = CommandLine::Mode::user_add;
    } else {
      if (cl.role || cl.cameras) return usage_error("--role and --cameras belong to user add");
      cl.mode = sub == "passwd"    ? CommandLine::Mode::user_passwd
                : sub == "disable" ? CommandLine::Mode::user_disable
                : sub == "enable"  ? CommandLine::Mode::user_enable
                                   : CommandLine::Mode::user_list;
    }
    if (positional.size() == 3) cl.user_name = std::string(positional[2]);
  } else {
    if (cl.role) return usage_error("--role belongs to user add");
    if (cl.cameras) return usage_error("--cameras belongs to user add");
    cl.mode = check ? CommandLine::Mode::check : CommandLine::Mode::run;
  }
  if (cl.head && cl.mode != CommandLine::Mode::audit_verify)
    return usage_error("--head belongs to audit verify");
  if (!cl.config) return usage_error("--config FILE is required");
  return cl;
}

int run_main(const std::vector<std::string_view>& args, std::istream& in, std::ostream& out,
             std::ostream& err) {
  auto parsed = parse_command_line(args);
  if (!parsed) {
    err << "zaulekd: " << parsed.error().message << "\n" << usage();
    return 2;
  }
  CommandLine& cl = *parsed;
  switch (cl.mode) {
    case CommandLine::Mode::help:
      out << usage();
      return 0;
    case CommandLine::Mode::version:
      out << "zaulekd " << build_version() << "\n";
      return 0;
    case CommandLine::Mode::list_routes: {
      ApiContext ctx;  // handlers are never called here
      Router router;
      register_routes(router, ctx);
      out << router.describe_json() << "\n";
      return 0;
    }
    default:
      break;
  }

  auto cfg = config::load_file(*cl.config);
  if (!cfg) {
    err << cfg.error().message << "\n";
    return 1;
  }
  if (cl.mode == CommandLine::Mode::check) {
    out << cl.config->string() << ": configuration OK\n";
    return 0;
  }

  std::string level_text = cl.log_level.value_or(cfg->log.level);
  auto level = log::parse_level(level_text);
  if (!level) {
    err << "zaulekd: unknown log level '" << level_text << "'\n";
    return 1;
  }
  log::init(*level);
  crypto::init();

  if (cl.mode == CommandLine::Mode::user_add) {
    if (auto st = validate_user_name(cl.user_name); !st) {
      err << "zaulekd: " << st.error().message << "\n";
      return 1;
    }
    auto password = read_password(in, err);
    if (!password) {
      err << "zaulekd: " << password.error().message << "\n";
      return 1;
    }
    auto catalog = open_catalog(*cfg);
    if (!catalog) {
      err << "zaulekd: " << catalog.error().message << "\n";
      return 1;
    }
    AuditLog audit(**catalog, system_clock());
    if (cl.cameras) {  // every id a camera that exists, before the user is made
      for (const auto& id : *cl.cameras)
        if (auto c = (*catalog)->find_camera(id); !c) {
          err << "zaulekd: --cameras: " << c.error().message << "\n";
          return 1;
        }
    }
    auto user = create_user(**catalog, audit, cl.user_name, *cl.role, *password,
                            cfg->auth.password_hash_cost(), "cli", "");
    if (!user) {
      err << "zaulekd: " << user.error().message << "\n";
      return 1;
    }
    if (cl.cameras) {
      if (auto st = (*catalog)->set_user_cameras(user->id, cl.cameras); !st) {
        err << "zaulekd: " << st.error().message << "\n";
        return 1;
      }
      audit.record("cli", "user.cameras", "user:" + user->name,
                   nlohmann::json{{"from", nullptr}, {"to", *cl.cameras}}.dump(), "");
      out << "user " << user->name << " sees only " << cl.cameras->size() << " camera(s)\n";
    }
    out << "created user " << user->name << " (" << to_string(user->role) << ")\n";
    return 0;
  }

  if (cl.mode == CommandLine::Mode::user_passwd || cl.mode == CommandLine::Mode::user_disable ||
      cl.mode == CommandLine::Mode::user_enable || cl.mode == CommandLine::Mode::user_list)
    return run_user_command(cl, *cfg, in, out, err);

  if (cl.mode == CommandLine::Mode::audit_verify) {
    auto catalog = open_catalog(*cfg);
    if (!catalog) {
      err << "zaulekd: " << catalog.error().message << "\n";
      return 1;
    }
    // A read snapshot: safe while zaulekd runs; entries added meanwhile are not read.
    auto v = (*catalog)->verify_audit(cl.head);
    if (!v) {
      err << "zaulekd: audit verify: " << v.error().message << "\n";
      return 1;
    }
    if (!v->intact) {
      out << "audit trail broken at entry " << v->bad_id << ": " << v->problem << " (" << v->checked
          << " entries before it are intact)\n";
      return 1;
    }
    out << "audit trail intact: " << v->checked << " entries checked, head " << v->head.id << ":"
        << v->head.hash << "\n";
    return 0;
  }

  auto catalog = open_catalog(*cfg);
  if (!catalog) {
    spdlog::error("storage: {}", catalog.error().message);
    return 1;
  }
  ServiceOptions opts;
  opts.port_file = cl.port_file;
  opts.web_root = cfg->server.web_root.value_or(std::filesystem::path(default_web_root()));
  return run_service(*cfg, **catalog, opts);
}

}  // namespace zaulek::server
