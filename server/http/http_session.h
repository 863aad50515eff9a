// One HTTP/1.1 connection (plain or TLS): reads requests within bounds, hands
// them to the dispatcher on the worker pool, writes responses, upgrades
// /api/v1/ws to a console WebSocket.
#pragma once

#include <memory>

#include "server/http/transport.h"

namespace zaulek::server::transport {

// TLS when sh.tls is set. The session keeps itself alive.
void start_http_session(tcp::socket&& socket, Shared& sh, std::unique_ptr<ConnectionSlot> slot);

}  // namespace zaulek::server::transport
