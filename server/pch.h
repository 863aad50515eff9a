// Precompiled once for zaulek_server and reused by zaulekd and the server's
// unit tests (REUSE_FROM): Asio, Beast and nlohmann-json dominate build time.
#pragma once

// Boost 1.74 asio/awaitable.hpp uses std::exchange without including <utility>.
#include <utility>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <nlohmann/json.hpp>
