// Runs the daemon: one io_context served by config.server.threads threads,
// the HTTP/WebSocket listener, the hub, and graceful shutdown on SIGTERM or
// SIGINT (stop accepting, let in-flight requests finish, close WebSockets
// with 1001, return within 5 s).
#pragma once

#include <filesystem>
#include <optional>

#include "config/config.h"
#include "storage/catalog.h"

namespace zaulek::server {

struct ServiceOptions {
  std::optional<std::filesystem::path> port_file;  // receives the bound port (tests)
  std::filesystem::path web_root;                  // console files
};

// Blocks until a signal stops the service. Returns the process exit code;
// start-up failures (bad address, port taken, bad TLS files) are logged, 1.
int run_service(const config::Config& config, storage::Catalog& catalog,
                const ServiceOptions& options);

}  // namespace zaulek::server
