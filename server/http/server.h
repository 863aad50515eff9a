// The HTTP/WebSocket transport as one part: a listener, its sessions (plain
// TCP or TLS), the per-address connection limits and graceful stop. What a
// request means is the Dispatcher's and the Router's business.
#pragma once

#include <utility>  // before Asio: Boost 1.74 misses it

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/thread_pool.hpp>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "config/config.h"
#include "core/clock.h"
#include "core/error.h"
#include "server/http/dispatch.h"
#include "server/http/metrics.h"
#include "server/http/routes.h"
#include "server/http/slow_pool.h"
#include "server/hub/hub.h"

namespace zaulek::server {

namespace transport {
struct Shared;
class Listener;
}  // namespace transport

class HttpServer {
 public:
  // `threads` console lanes (strands) are made on `ioc`. Request handlers
  // run on `work`, those of Speed::slow routes on `slow`. `clock` times requests (metrics) and
  // paces the refusal log. Everything passed must outlive the server; `tls` null for plain HTTP.
  HttpServer(boost::asio::io_context& ioc, int threads, const config::Server& cfg,
             const Router& router, Dispatcher& dispatcher, Metrics& metrics, Hub& hub, Clock& clock,
             boost::asio::thread_pool& work, SlowPool& slow, std::filesystem::path web_root,
             boost::asio::ssl::context* tls);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  Status open(const boost::asio::ip::tcp::endpoint& endpoint);
  std::uint16_t port() const;
  void start();
  // Graceful stop, in two steps so that the caller can stop its services
  // between them: stop accepting (new upgrades get 503), then close the
  // connections that are between requests (in-flight ones finish).
  void stop_accepting();
  void close_idle();

 private:
  std::unique_ptr<transport::Shared> shared_;
  std::shared_ptr<transport::Listener> listener_;
};

// "::ffff:127.0.0.1" is 127.0.0.1.
std::string address_text(const boost::asio::ip::address& a);
bool is_loopback(const boost::asio::ip::address& a);

}  // namespace zaulek::server
