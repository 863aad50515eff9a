// Accepts connections within the limits (total, per address, unauthenticated
// per address) and starts a session for each; refuses the rest with a 503.
#include <utility>  // before Asio: Boost 1.74 misses it

#include <spdlog/spdlog.h>

#include <optional>

#include "server/http/http_session.h"
#include "server/http/server.h"
#include "server/http/transport.h"

namespace zaulek::server {
namespace transport {

class Listener final : public std::enable_shared_from_this<Listener> {
 public:
  Listener(net::io_context& ioc, Shared& sh)
      : ioc_(ioc), acceptor_(net::make_strand(ioc)), sh_(sh), retry_(ioc) {}

  Status open(const tcp::endpoint& ep) {
    beast::error_code ec;
    acceptor_.open(ep.protocol(), ec);
    if (!ec) acceptor_.set_option(net::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(ep, ec);
    if (!ec) acceptor_.listen(net::socket_base::max_listen_connections, ec);
    if (ec)
      return make_error(ErrorKind::unavailable, "cannot listen on " + ep.address().to_string() +
                                                    ":" + std::to_string(ep.port()) + ": " +
                                                    ec.message());
    return {};
  }
  std::uint16_t port() const {
    beast::error_code ec;
    return acceptor_.local_endpoint(ec).port();
  }

  void start() { do_accept(); }
  void stop() {
    net::post(acceptor_.get_executor(), [self = shared_from_this()] {
      beast::error_code ec;
      self->acceptor_.close(ec);
      self->retry_.cancel();
    });
  }

 private:
  void do_accept() {
    acceptor_.async_accept(net::make_strand(ioc_),
                           beast::bind_front_handler(&Listener::on_accept, shared_from_this()));
  }

  void on_accept(beast::error_code ec, tcp::socket socket) {
    if (ec == net::error::operation_aborted || sh_.stopping) return;
    if (ec) {
      // e.g. out of file descriptors: back off instead of spinning.
      spdlog::warn("http: accept failed: {}", ec.message());
      retry_.expires_after(std::chrono::milliseconds{100});
      retry_.async_wait([self = shared_from_this()](beast::error_code e) {
        if (!e) self->do_accept();
      });
      return;
    }
    beast::error_code peer_ec;
    auto peer = socket.remote_endpoint(peer_ec);
    std::string key = peer_ec ? std::string("unknown") : address_key(peer.address());
    // A trusted proxy's connections carry many clients: they count against
    // the global cap here, and each request against its own client
    // (ConnectionSlot::charge, in the session).
    bool proxy =
        !peer_ec && is_trusted_proxy(address_text(peer.address()), sh_.cfg.trusted_proxies);
    auto admit = AddressTable::Admit::ok;
    if (sh_.metrics.connections_open.load() >= sh_.cfg.max_connections) {
      reject(std::move(socket), Metrics::Refusal::total, key);
    } else if (!proxy && (admit = sh_.addresses.admit(key, sh_.cfg.max_connections_per_address,
                                                      sh_.cfg.max_unauthenticated_per_address)) !=
                             AddressTable::Admit::ok) {
      reject(std::move(socket),
             admit == AddressTable::Admit::per_address ? Metrics::Refusal::per_address
                                                       : Metrics::Refusal::unauthenticated,
             key);
    } else {
      auto slot = std::make_unique<ConnectionSlot>(sh_.metrics, sh_.addresses,
                                                   proxy ? std::string() : std::move(key));
      // No Nagle: an alarm frame must not wait for the ACK of the one before.
      beast::error_code ignored;
      socket.set_option(tcp::no_delay(true), ignored);
      start_http_session(std::move(socket), sh_, std::move(slot));
    }
    do_accept();
  }

  // Over a limit: a short 503 (plain HTTP only; a TLS peer just sees the
  // close) and the connection is closed. The log line is rate-limited.
  void reject(tcp::socket socket, Metrics::Refusal reason, const std::string& address) {
    auto refused = sh_.metrics.count_refusal(reason);
    auto now = sh_.clock.monotonic();
    if (!last_reject_log_ || now - *last_reject_log_ > std::chrono::seconds{1}) {
      last_reject_log_ = now;
      if (reason == Metrics::Refusal::total)
        spdlog::warn("http: connection limit ({}) reached; refusing {} ({} refused so far)",
                     sh_.cfg.max_connections, address, refused);
      else if (reason == Metrics::Refusal::per_address)
        spdlog::warn(
            "http: per-address connection limit ({}) reached by {}; refusing ({} refused so far)",
            sh_.cfg.max_connections_per_address, address, refused);
      else
        spdlog::warn(
            "http: unauthenticated connection limit per address ({}) reached by {}; refusing "
            "({} refused so far)",
            sh_.cfg.max_unauthenticated_per_address, address, refused);
    }
    auto s = std::make_shared<tcp::socket>(std::move(socket));
    if (sh_.tls) {
      beast::error_code ec;
      s->close(ec);
      return;
    }
    static const std::string kBody =
        R"({"error":{"code":"unavailable","message":"too many connections"}})";
    static const std::string kMsg =
        "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
        "Connection: close\r\nRetry-After: 1\r\nContent-Length: " +
        std::to_string(kBody.size()) + "\r\n\r\n" + kBody;
    net::async_write(*s, net::buffer(kMsg), [s](beast::error_code, std::size_t) {
      beast::error_code ec;
      s->shutdown(tcp::socket::shutdown_send, ec);
      s->close(ec);
    });
  }

  net::io_context& ioc_;
  tcp::acceptor acceptor_;
  Shared& sh_;
  net::steady_timer retry_;
  std::optional<MonoTime> last_reject_log_;  // none yet: the first is logged
};

}  // namespace transport

HttpServer::HttpServer(boost::asio::io_context& ioc, int threads, const config::Server& cfg,
                       const Router& router, Dispatcher& dispatcher, Metrics& metrics, Hub& hub,
                       Clock& clock, boost::asio::thread_pool& work, SlowPool& slow,
                       std::filesystem::path web_root, boost::asio::ssl::context* tls)
    : shared_(std::make_unique<transport::Shared>(ioc, threads, cfg, router, dispatcher, metrics,
                                                  hub, clock, work, slow, std::move(web_root),
                                                  tls)),
      listener_(std::make_shared<transport::Listener>(ioc, *shared_)) {}

HttpServer::~HttpServer() = default;

Status HttpServer::open(const boost::asio::ip::tcp::endpoint& endpoint) {
  return listener_->open(endpoint);
}
std::uint16_t HttpServer::port() const {
  return listener_->port();
}
void HttpServer::start() {
  listener_->start();
}
void HttpServer::stop_accepting() {
  shared_->stopping = true;
  listener_->stop();
}
void HttpServer::close_idle() {
  shared_->registry.shutdown_all();
}

std::string address_text(const boost::asio::ip::address& a) {
  return transport::address_text(a);
}
bool is_loopback(const boost::asio::ip::address& a) {
  return transport::is_loopback(a);
}

}  // namespace zaulek::server
