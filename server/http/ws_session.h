// A console's WebSocket (/api/v1/ws): hub subscription, resume, bounded
// outgoing queue; started by an HTTP session's upgrade (server/http/http_session.cpp).
// With a `source` (a route's WsSource, e.g. a live view) the same session
// carries that source's text and binary messages instead of the hub's.
#pragma once

#include <memory>
#include <string>

#include "server/http/transport.h"

namespace zaulek::server::transport {

// Over TLS the WebSocket keeps the session's stream and its strand.
void start_websocket(TlsStream&& stream, Shared& sh, Principal principal, std::string remote,
                     std::unique_ptr<ConnectionSlot> slot, bool batch,
                     http::request<http::string_body> req,
                     std::shared_ptr<WsSource> source = nullptr);
// A plain console runs on one of sh.lanes (`lane`, the executor of `socket`).
void start_websocket(LaneSocket&& socket, const Lane& lane, Shared& sh, Principal principal,
                     std::string remote, std::unique_ptr<ConnectionSlot> slot, bool batch,
                     http::request<http::string_body> req,
                     std::shared_ptr<WsSource> source = nullptr);

}  // namespace zaulek::server::transport
