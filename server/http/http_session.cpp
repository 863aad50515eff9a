// One HTTP/1.1 connection: bounded reads, dispatch on the worker pool,
// keep-alive, graceful close, and the upgrade to a console WebSocket.
#include <utility>  // before Asio: Boost 1.74 misses it

#include <atomic>

#include <spdlog/spdlog.h>

#include "core/camera_faults.h"
#include "core/text/text.h"
#include "core/text/utf8.h"
#include "server/http/http_session.h"
#include "server/http/static_files.h"
#include "server/http/ws_session.h"

namespace zaulek::server::transport {
namespace {

// Seconds a caller refused by the full slow pool is told to wait.
constexpr int kSlowRetryAfterS = 2;

// From a trusted proxy that terminates TLS: the scheme and host the browser
// used (X-Forwarded-Proto, X-Forwarded-Host), so that a cookie-authenticated
// WebSocket's Origin (https://the.proxy.name) is seen as this server's. From
// any other peer these headers are dropped unread. The first value of a list
// (a chain of proxies) is the browser's.
void forwarded_origin(Request& r, bool from_trusted_proxy) {
  auto first = [](const std::string& v) { return std::string(trim(v.substr(0, v.find(',')))); };
  if (auto proto = r.header("x-forwarded-proto"); from_trusted_proxy && !proto.empty())
    r.tls = ascii_lower(first(proto)) == "https";
  if (auto host = r.header("x-forwarded-host"); from_trusted_proxy && !host.empty())
    r.headers["host"] = first(host);
  r.headers.erase("x-forwarded-proto");
  r.headers.erase("x-forwarded-host");
}

// A slow request's state while it waits for the pool (std::function must be
// copyable; the request is not).
struct Job {
  Request r;
  http::request<http::string_body> req;
  Outcome out;
};

template <class Stream>
class HttpSession final : public Closable,
                          public std::enable_shared_from_this<HttpSession<Stream>> {
 public:
  HttpSession(tcp::socket&& socket, Shared& sh, std::unique_ptr<ConnectionSlot> slot)
      : stream_(make_stream(std::move(socket), sh)),
        executor_(beast::get_lowest_layer(stream_).get_executor()),
        sh_(sh),
        slot_(std::move(slot)) {
    beast::error_code ec;
    auto ep = beast::get_lowest_layer(stream_).socket().remote_endpoint(ec);
    if (!ec) {
      remote_ = address_text(ep.address());
    }
  }
  ~HttpSession() override { sh_.registry.remove(registry_id_); }

  void start() {
    registry_id_ = sh_.registry.add(this->weak_from_this());
    net::dispatch(executor_, [self = this->shared_from_this()] {
      if constexpr (kIsTls<Stream>) {
        beast::get_lowest_layer(self->stream_).expires_after(self->sh_.cfg.first_byte_timeout);
        self->stream_.async_handshake(ssl::stream_base::server,
                                      beast::bind_front_handler(&HttpSession::on_handshake, self));
      } else {
        self->do_read();
      }
    });
  }

  void shutdown() override {
    net::post(executor_, [self = this->shared_from_this()] {
      // In-flight requests finish (their response is written, then closed),
      // including one whose bytes are still arriving (within read_timeout and
      // the shutdown grace); only a connection between requests closes now.
      if (!self->busy_ && !self->receiving_ && !self->upgraded_) self->close_now();
    });
  }

 private:
  static Stream make_stream(tcp::socket&& socket, Shared& sh) {
    if constexpr (kIsTls<Stream>)
      return Stream(std::move(socket), *sh.tls);
    else
      return Stream(std::move(socket));
  }

  void on_handshake(beast::error_code ec) {
    if (ec) {
      // The handshake runs under first_byte_timeout: a peer that never
      // completes it is closed like one that never sends a byte.
      if (ec == beast::error::timeout) sh_.metrics.count_timeout(Metrics::TimedOut::first_byte);
      spdlog::debug("http: TLS handshake with {} failed: {}", remote_, ec.message());
      return close_now();
    }
    do_read();
  }

  void do_read() {
    // Shutting down: a connection between requests closes, but bytes of the
    // next request already received make it a request in flight (pipelined
    // behind the last answer): it is read and answered, then closed.
    if (sh_.stopping && buffer_.size() == 0) return close_now();
    if (buffer_.size() == 0) {
      // Between requests: wait for the first byte with the idle timeout; a
      // new connection that has sent nothing yet gets the shorter
      // first_byte_timeout (it holds a slot of its address and of the server).
      beast::get_lowest_layer(stream_).expires_after(heard_ ? sh_.cfg.idle_timeout
                                                            : sh_.cfg.first_byte_timeout);
      stream_.async_read_some(
          buffer_.prepare(4096),
          beast::bind_front_handler(&HttpSession::on_first_bytes, this->shared_from_this()));
      return;
    }
    read_request();
  }

  void on_first_bytes(beast::error_code ec, std::size_t n) {
    if (ec) {
      if (ec == beast::error::timeout && !heard_) {
        sh_.metrics.count_timeout(Metrics::TimedOut::first_byte);
        spdlog::debug("http: {} sent nothing within {}s, closing", remote_,
                      sh_.cfg.first_byte_timeout.count());
      } else if (ec == beast::error::timeout) {
        sh_.metrics.count_timeout(Metrics::TimedOut::idle);
        spdlog::debug("http: {} idle, closing", remote_);
      }
      return close_now();
    }
    heard_ = true;
    buffer_.commit(n);
    read_request();
  }

  void read_request() {
    // The whole request (headers and body) must arrive within read_timeout:
    // a client that trickles bytes (slowloris) is closed when it runs out.
    receiving_ = true;
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(sh_.cfg.max_header_bytes));
    // Until the header names the route, the largest limit any route has
    // (Beast checks Content-Length against it as the header completes).
    parser_->body_limit(sh_.router.max_body_limit(sh_.cfg.max_body_bytes));
    beast::get_lowest_layer(stream_).expires_after(sh_.cfg.read_timeout);
    http::async_read_header(
        stream_, buffer_, *parser_,
        beast::bind_front_handler(&HttpSession::on_header, this->shared_from_this()));
  }

  // The header is in: the route's own body limit (Route::max_body_bytes, else
  // server.max_body_bytes) holds before a byte of the body is read.
  void on_header(beast::error_code ec, std::size_t n) {
    if (ec) return on_read(ec, n);
    const auto& head = parser_->get();
    std::string path;
    std::map<std::string, std::string> query;
    bool ok = true;
    parse_target(std::string(head.target()), path, query, &ok);
    const std::size_t limit =
        ok ? sh_.router.body_limit(head.method_string(), path, sh_.cfg.max_body_bytes)
           : sh_.cfg.max_body_bytes;
    if (auto length = parser_->content_length(); length && *length > limit)
      return on_read(http::error::body_limit, 0);
    parser_->body_limit(limit);
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&HttpSession::on_read, this->shared_from_this()));
  }

  void on_read(beast::error_code ec, std::size_t) {
    receiving_ = false;
    if (ec == http::error::end_of_stream || ec == net::error::operation_aborted) return close_now();
    if (ec == beast::error::timeout) {
      sh_.metrics.count_timeout(Metrics::TimedOut::read);
      spdlog::info("http: {} did not finish its request within {}s; closing", remote_,
                   sh_.cfg.read_timeout.count());
      return close_now();
    }
    if (ec == http::error::header_limit)
      return send_error(431, "request_header_fields_too_large", "request headers are too large");
    if (ec == http::error::body_limit)
      return send_error(413, "payload_too_large", "request body is too large");
    if (ec) {
      if (ec != http::error::partial_message &&
          ec.category() == http::make_error_code(http::error::bad_method).category())
        return send_error(400, "bad_request", "malformed HTTP request");
      spdlog::debug("http: read from {} failed: {}", remote_, ec.message());
      return close_now();
    }
    handle();
  }

  void send_error(int status, std::string_view code, std::string_view message) {
    spdlog::info("http: {} bad request: {}", remote_, message);
    // The client may still be sending what we refused: closing with unread
    // bytes would reset the connection and lose our answer (see close_now).
    linger_ = true;
    Response r = error_response(status, code, message);
    write(r, 11, false, true, "unmatched", "-", sh_.clock.monotonic());
  }

  void handle() {
    auto start = sh_.clock.monotonic();
    http::request<http::string_body> req = parser_->release();
    parser_.reset();
    busy_ = true;

    Request r;
    r.method = std::string(req.method_string());
    r.target = std::string(req.target());
    bool ok = true;
    parse_target(r.target, r.path, r.query, &ok);
    if (!ok || r.path.empty() || r.path.front() != '/') {
      Response resp = error_response(400, "invalid_argument", "malformed request target");
      return write(resp, req.version(), false, true, "unmatched", r.method, start);
    }
    static const char* kHeaders[] = {
        "authorization", "cookie",  "content-type",      "x-csrf-token",    "origin",
        "host",          "upgrade", "x-forwarded-proto", "x-forwarded-host"};
    std::string forwarded_for;  // every X-Forwarded-For, joined as one list
    for (auto& f : req) {
      std::string name(f.name_string());
      for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      for (const char* h : kHeaders)
        if (name == h) r.headers[name] = std::string(f.value());
      if (name == "x-forwarded-for")
        forwarded_for += (forwarded_for.empty() ? "" : ",") + std::string(f.value());
    }
    r.body = std::move(req.body());
    // Per request: a proxy may carry several clients on one connection.
    auto client = client_address(remote_, forwarded_for, sh_.cfg.trusted_proxies);
    r.remote = std::move(client.address);
    r.remote_loopback = client.loopback;
    r.tls = kIsTls<Stream>;
    forwarded_origin(r, slot_ && slot_->proxied());
    if (slot_ && slot_->proxied()) {
      // Behind a trusted proxy the request counts against its own client's
      // connection budget while it is in progress (ConnectionSlot).
      auto admit = slot_->charge(address_key(r.remote), sh_.cfg.max_connections_per_address,
                                 sh_.cfg.max_unauthenticated_per_address);
      if (admit != AddressTable::Admit::ok) {
        auto refused = sh_.metrics.count_refusal(admit == AddressTable::Admit::per_address
                                                     ? Metrics::Refusal::per_address
                                                     : Metrics::Refusal::unauthenticated);
        spdlog::debug("http: {} (via proxy {}) is over its connection limits; refused ({} so far)",
                      r.remote, remote_, refused);
        Response resp = error_response(503, "unavailable", "too many connections");
        resp.headers.emplace_back("Retry-After", "1");
        return write(resp, req.version(), req.keep_alive(), true, "unmatched", r.method, start);
      }
    }

    bool api = r.path.rfind("/api/", 0) == 0;
    bool static_file = !api && (r.method == "GET" || r.method == "HEAD") &&
                       !sh_.router.match("GET", r.path, nullptr).path_known;
    bool upgrade = websocket::is_upgrade(req);
    // Handlers may block (SQLite calls are synchronous): they run on the
    // worker pool, never on an I/O thread, and the answer comes back to this
    // connection's strand. A Speed::slow route's handler (ONVIF, scans,
    // Argon2id) goes on from the worker to the slow pool, so that it never
    // holds a worker; the connection reads nothing more until it is answered
    // (busy_), which keeps its requests in order.
    net::post(sh_.work, [self = this->shared_from_this(), r = std::move(r), req = std::move(req),
                         start, static_file, upgrade]() mutable {
      Outcome out;
      if (static_file) {
        out.response = serve_static(self->sh_.web_root, r.path);
        out.route_label = "static";
      } else {
        out = self->sh_.dispatcher.prepare(r, upgrade);
        if (out.pending && out.pending->deferred)
          return self->run_deferred(std::move(r), std::move(req), std::move(out), start);
        if (out.pending && out.pending->speed == Speed::slow)
          return self->run_slow(std::move(r), std::move(req), std::move(out), start);
        if (out.pending) out.response = self->sh_.dispatcher.run(*out.pending, r);
      }
      self->answer(std::move(r), std::move(req), std::move(out), start);
    });
  }

  // On a worker: hands a slow route's handler to the slow pool, or answers
  // 503 at once when the pool has as many jobs as it may.
  void run_slow(Request r, http::request<http::string_body> req, Outcome out,
                std::chrono::steady_clock::time_point start) {
    auto job = std::make_shared<Job>(Job{std::move(r), std::move(req), std::move(out)});
    bool queued = sh_.slow.try_post([self = this->shared_from_this(), job, start] {
      job->out.response = self->sh_.dispatcher.run(*job->out.pending, job->r);
      self->answer(std::move(job->r), std::move(job->req), std::move(job->out), start);
    });
    if (queued) return;
    job->out.response =
        error_response(503, "unavailable", "too many slow requests in progress; try again later");
    job->out.response.headers.emplace_back("Retry-After", std::to_string(kSlowRetryAfterS));
    answer(std::move(job->r), std::move(job->req), std::move(job->out), start);
  }

  // Any thread: the answer goes back to this connection's strand.
  void answer(Request r, http::request<http::string_body> req, Outcome out,
              std::chrono::steady_clock::time_point start) {
    out.pending = nullptr;
    net::post(executor_, [self = this->shared_from_this(), r = std::move(r), req = std::move(req),
                          out = std::move(out), start]() mutable {
      self->respond(std::move(r), std::move(req), std::move(out), start);
    });
  }

  // On a worker: a deferred route's handler starts its work and returns;
  // its Reply (once, any thread) brings the answer to this connection's
  // strand. Until then the connection reads nothing more (busy_).
  void run_deferred(Request r, http::request<http::string_body> req, Outcome out,
                    std::chrono::steady_clock::time_point start) {
    struct Pending {
      Request r;
      http::request<http::string_body> req;
      Outcome out;
      std::atomic<bool> replied{false};
    };
    auto p = std::make_shared<Pending>();
    p->r = std::move(r);
    p->req = std::move(req);
    p->out = std::move(out);
    const Route* route = p->out.pending;
    p->out.pending = nullptr;
    Reply reply = [self = this->shared_from_this(), p, start](Response response) {
      if (p->replied.exchange(true)) return;
      net::post(self->executor_, [self, p, start, response = std::move(response)]() mutable {
        p->out.response = std::move(response);
        // A copy: the handler may still be reading p->r (a Reply given
        // before it returned).
        self->respond(p->r, std::move(p->req), std::move(p->out), start);
      });
    };
    try {
      route->deferred(p->r, reply);
    } catch (const std::exception& e) {
      spdlog::error("http: {} {} failed: {}", p->r.method, route->pattern, e.what());
      reply(error_response(500, "internal", "internal error"));
    }
  }

  void respond(Request r, http::request<http::string_body> req, Outcome out,
               std::chrono::steady_clock::time_point start) {
    if (r.principal && slot_) slot_->mark_authenticated();
    if (out.upgrade) {
      if (sh_.stopping) {
        Response resp = error_response(503, "unavailable", "server shutting down");
        return write(resp, req.version(), false, true, out.route_label, r.method, start);
      }
      observe(out.route_label, r.method, 101, start);
      upgraded_ = true;
      spdlog::debug("http: {} upgrading to WebSocket as '{}'", r.remote, r.principal->name);
      auto batch = r.query.find("batch");
      bool batched = batch != r.query.end() && batch->second == "1";
      if constexpr (kIsTls<Stream>)
        start_websocket(std::move(stream_), sh_, std::move(*r.principal), r.remote,
                        std::move(slot_), batched, std::move(req), std::move(out.source));
      else
        upgrade_on_lane(std::move(req), std::move(*r.principal), r.remote, batched,
                        std::move(out.source));
      // This session ends here; the WebSocket owns the connection now.
      return;
    }
    bool static_file = out.route_label == "static";
    write(out.response, req.version(), req.keep_alive(), !static_file, out.route_label, r.method,
          start, r.method == "HEAD");
  }

  // The plain socket moves to a lane (its descriptor rewrapped with the
  // lane's executor), and the WebSocket starts there.
  void upgrade_on_lane(http::request<http::string_body> req, Principal principal,
                       const std::string& client, bool batched, std::shared_ptr<WsSource> source) {
    tcp::socket socket = stream_.release_socket();
    const Lane& lane = sh_.lane();
    beast::error_code ec;
    auto protocol = socket.local_endpoint(ec).protocol();
    auto fd = ec ? -1 : socket.release(ec);
    if (ec) {
      spdlog::warn("ws: cannot move the connection from {} to a lane: {}", remote_, ec.message());
      return;  // `socket` closes it
    }
    start_websocket(LaneSocket(lane, protocol, fd), lane, sh_, std::move(principal), client,
                    std::move(slot_), batched, std::move(req), std::move(source));
  }

  void observe(const std::string& route, const std::string& method, int status,
               std::chrono::steady_clock::time_point start) {
    double secs = std::chrono::duration<double>(sh_.clock.monotonic() - start).count();
    sh_.metrics.observe_request(route, method, status, secs);
  }

  void write(const Response& r, unsigned version, bool keep_alive, bool no_store,
             const std::string& route, const std::string& method,
             std::chrono::steady_clock::time_point start, bool head = false) {
    if (!r.file.empty() && !head)
      return write_file(r, version, keep_alive, no_store, route, method, start);
    busy_ = true;
    auto res = std::make_shared<http::response<http::string_body>>(
        static_cast<http::status>(r.status), version);
    res->set(http::field::content_type, r.content_type);
    for (auto& [k, v] : r.headers) res->insert(k, v);
    security_headers(*res, no_store, kIsTls<Stream>);
    res->keep_alive(keep_alive && !sh_.stopping);
    if (head) {
      res->content_length(r.body.size());
    } else {
      res->body() = r.body;
      res->prepare_payload();
    }
    observe(route, method, r.status, start);
    spdlog::debug("http: {} {} {} -> {}", remote_, method, route, r.status);
    res_ = res;
    beast::get_lowest_layer(stream_).expires_after(sh_.cfg.idle_timeout);
    http::async_write(stream_, *res,
                      beast::bind_front_handler(&HttpSession::on_write, this->shared_from_this(),
                                                res->need_eof()));
  }

  // A response whose body is a file (an export's ZIP): Beast reads and
  // sends it block by block, never the whole file in memory.
  void write_file(const Response& r, unsigned version, bool keep_alive, bool no_store,
                  const std::string& route, const std::string& method,
                  std::chrono::steady_clock::time_point start) {
    http::file_body::value_type body;
    beast::error_code ec;
    body.open(r.file.c_str(), beast::file_mode::scan, ec);
    if (ec) {
      spdlog::warn("http: {} {}: cannot open {}: {}", method, route, r.file, ec.message());
      Response gone = error_response(404, "not_found", "the file is gone");
      return write(gone, version, keep_alive, no_store, route, method, start);
    }
    busy_ = true;
    const std::uint64_t size = body.size();
    auto res = std::make_shared<http::response<http::file_body>>(
        std::piecewise_construct, std::make_tuple(std::move(body)),
        std::make_tuple(static_cast<http::status>(r.status), version));
    res->set(http::field::content_type, r.content_type);
    for (auto& [k, v] : r.headers) res->insert(k, v);
    security_headers(*res, no_store, kIsTls<Stream>);
    res->keep_alive(keep_alive && !sh_.stopping);
    res->prepare_payload();
    observe(route, method, r.status, start);
    spdlog::debug("http: {} {} {} -> {} ({} bytes from a file)", remote_, method, route, r.status,
                  size);
    res_ = res;
    // The whole write has one deadline: the idle timeout plus a second per
    // MiB, so a client must take about 1 MiB/s (a 1.8 GB ZIP: 30 minutes).
    beast::get_lowest_layer(stream_).expires_after(sh_.cfg.idle_timeout +
                                                   std::chrono::seconds(size >> 20));
    http::async_write(stream_, *res,
                      beast::bind_front_handler(&HttpSession::on_write, this->shared_from_this(),
                                                res->need_eof()));
  }

  void on_write(bool close, beast::error_code ec, std::size_t) {
    busy_ = false;
    res_.reset();
    if (slot_) slot_->uncharge();  // a proxied request is answered
    if (ec) {
      spdlog::debug("http: write to {} failed: {}", remote_, ec.message());
      return close_now();
    }
    if (close) return close_now();
    do_read();  // closes when stopping, unless a request is already arriving
  }

  void close_now() {
    if (closed_) return;
    closed_ = true;
    auto& sock = beast::get_lowest_layer(stream_).socket();
    if (!sock.is_open()) return;
    if constexpr (kIsTls<Stream>) {
      beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds{2});
      stream_.async_shutdown([self = this->shared_from_this()](beast::error_code) {
        beast::get_lowest_layer(self->stream_).close();
      });
    } else {
      beast::error_code ec;
      sock.shutdown(tcp::socket::shutdown_send, ec);
      if (linger_ && !ec) return drain_then_close(0);
      beast::get_lowest_layer(stream_).close();
    }
  }

  // Lingering close after an error answer: read and discard what the client
  // still sends (at most 1 MiB, for at most 1 s) so that the kernel does not
  // answer it with a reset that would destroy the response in flight.
  void drain_then_close(std::size_t drained) {
    if (drained == 0) beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds{1});
    if (drained > (1u << 20)) return beast::get_lowest_layer(stream_).close();
    beast::get_lowest_layer(stream_).async_read_some(
        net::buffer(discard_),
        [self = this->shared_from_this(), drained](beast::error_code ec, std::size_t n) {
          if (ec) return beast::get_lowest_layer(self->stream_).close();
          self->drain_then_close(drained + n);
        });
  }

  Stream stream_;
  net::any_io_executor executor_;  // the connection's strand; outlives a move of stream_
  Shared& sh_;
  std::unique_ptr<ConnectionSlot> slot_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::shared_ptr<void> res_;
  std::string remote_ = "unknown";  // the TCP peer; a request's client: client_address()
  bool busy_ = false;
  bool receiving_ = false;  // part of a request has arrived, the rest is awaited
  bool linger_ = false;     // close with drain_then_close (an error was answered)
  std::array<char, 16384> discard_{};
  bool closed_ = false;
  bool upgraded_ = false;
  bool heard_ = false;  // a byte has arrived on this connection
  std::uint64_t registry_id_ = 0;
};

}  // namespace

void start_http_session(tcp::socket&& socket, Shared& sh, std::unique_ptr<ConnectionSlot> slot) {
  if (sh.tls)
    std::make_shared<HttpSession<TlsStream>>(std::move(socket), sh, std::move(slot))->start();
  else
    std::make_shared<HttpSession<beast::tcp_stream>>(std::move(socket), sh, std::move(slot))
        ->start();
}

}  // namespace zaulek::server::transport
