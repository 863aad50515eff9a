// A console's WebSocket (/api/v1/ws): hub subscription, resume, bounded
// outgoing queue; started by an HTTP session's upgrade (server/http/http_session.cpp).
#pragma once

#include <memory>
#include <string>

#include "server/http/transport.h"

namespace zaulek::server::transport {

// Over TLS the WebSocket keeps the session's stream and its strand.
void start_websocket(TlsStream&& stream, Shared& sh, Principal principal, std::string remote,
                     std::unique_ptr<ConnectionSlot> slot, bool batch,
                     http::request<http::string_body> req);
// A plain console runs on one of sh.lanes (`lane`, the executor of `socket`).
void start_websocket(LaneSocket&& socket, const Lane& lane, Shared& sh, Principal principal,
                     std::string remote, std::unique_ptr<ConnectionSlot> slot, bool batch,
                     http::request<http::string_body> req);

}  // namespace zaulek::server::transport
