// The transport: Beast HTTP/1.1 and WebSocket sessions over plain TCP or TLS,
// the listener, and the service's start and graceful stop. Everything that
// decides what a request means lives in dispatch.cpp and api.cpp.
#include <utility>  // before Asio: Boost 1.74 misses it

#include <spdlog/spdlog.h>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include <linux/sockios.h>  // SIOCOUTQNSD
#include <sys/ioctl.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>
#include <unordered_map>

#include "core/camera_faults.h"
#include "core/clock.h"
#include "core/utf8.h"
#include "server/alarms.h"
#include "server/api.h"
#include "server/audit.h"
#include "server/auth.h"
#include "server/build_info.h"
#include "server/cameras.h"
#include "server/connection_limits.h"
#include "server/dispatch.h"
#include "server/events.h"
#include "server/hub.h"
#include "server/metrics.h"
#include "server/notify.h"
#include "server/recording.h"
#include "server/routes.h"
#include "server/run_contained.h"
#include "server/service.h"
#include "server/static_files.h"
#include "server/visibility.h"

namespace zaulek::server {

namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;

template <class Stream>
constexpr bool kIsTls = std::is_same_v<Stream, TlsStream>;

// A plain console's WebSocket runs on the bare socket (HttpSession::
// upgrade_on_lane), with its lane's strand as a concrete executor type:
// beast::tcp_stream's per-operation timeout bookkeeping is not needed there
// (the WebSocket keeps its own timeouts), and neither are type-erased
// executor copies; both were measurable shares of each of 40,000 writes a
// second. TLS keeps its stream.
using LaneSocket = net::basic_stream_socket<tcp, Lane>;

inline LaneSocket& tcp_socket(LaneSocket& s) {
  return s;
}
inline tcp::socket& tcp_socket(beast::tcp_stream& s) {
  return s.socket();
}

// Live messages queued per console before it is closed as too slow: half
// the hub's guaranteed ring (1024), so that what it lost can still be resumed
// (a resume may add up to the ring on top of this, also bounded); the hard
// bound below is within the ring's 8,192 while the rings' budget allows. The queue holds
// shared pointers, so the bound costs little memory. Over it, a console is
// closed only if the kernel also holds kWsBehindBytes for it that it could
// not even send (the console's receive window is full: it is not reading): a burst the server
// publishes faster than one write completes (after a stall of its own: CPU starved, a slow disk)
// queues hundreds of messages behind a write the kernel has long taken, and must not close every
// console at once. kMaxWsQueueHard bounds that case.
constexpr std::size_t kMaxWsQueue = 512;
constexpr std::size_t kMaxWsQueueHard = 4096;
constexpr int kWsBehindBytes = 32 * 1024;
// A console that asked for batches (?batch=1) and has fallen behind gets its
// queued messages as one JSON array frame: at most this many per frame.
constexpr std::size_t kMaxWsBatch = 64;
constexpr std::size_t kMaxWsBatchBytes = 256 * 1024;
constexpr std::size_t kMaxWsMessageIn = 64 * 1024;
constexpr int kWsSendBuffer = 64 * 1024;
constexpr auto kShutdownGrace = std::chrono::seconds{4};

class Closable {
 public:
  virtual ~Closable() = default;
  virtual void shutdown() = 0;  // posts to the session's own strand
};

// Open HTTP sessions, so that shutdown can close the idle ones. A mutex
// because sessions on every strand register here (held for a map insert).
class Registry {
 public:
  std::uint64_t add(std::weak_ptr<Closable> c) {
    std::lock_guard lock(mu_);
    auto id = ++next_;
    items_.emplace(id, std::move(c));
    return id;
  }
  void remove(std::uint64_t id) {
    std::lock_guard lock(mu_);
    items_.erase(id);
  }
  void shutdown_all() {
    std::vector<std::shared_ptr<Closable>> live;
    {
      std::lock_guard lock(mu_);
      for (auto& [id, w] : items_)
        if (auto s = w.lock()) live.push_back(std::move(s));
    }
    for (auto& s : live) s->shutdown();
  }

 private:
  std::mutex mu_;
  std::uint64_t next_ = 0;
  std::unordered_map<std::uint64_t, std::weak_ptr<Closable>> items_;
};

struct Shared {
  Shared(net::io_context& ioc, int threads, const config::Server& c, const Router& r, Dispatcher& d,
         Metrics& m, Hub& h, net::thread_pool& w, std::filesystem::path web, ssl::context* t)
      : lanes(make_lanes(ioc, threads)),
        cfg(c),
        router(r),
        dispatcher(d),
        metrics(m),
        hub(h),
        work(w),
        web_root(std::move(web)),
        tls(t) {}
  static std::vector<Lane> make_lanes(net::io_context& ioc, int n) {
    std::vector<Lane> v;
    for (int i = 0; i < std::max(n, 1); ++i) v.emplace_back(net::make_strand(ioc));
    return v;
  }
  // Plain WebSocket consoles, spread round robin over one strand per I/O
  // thread: the hub posts once per lane and message (server/hub.h). Sessions
  // and the hub hold pointers to these: made once, never resized.
  const std::vector<Lane> lanes;
  std::atomic<std::size_t> next_lane{0};
  const Lane& lane() { return lanes[next_lane++ % lanes.size()]; }

  const config::Server& cfg;
  const Router& router;
  Dispatcher& dispatcher;
  Metrics& metrics;
  Hub& hub;
  net::thread_pool& work;  // request handlers (may block); see HttpSession::handle
  std::filesystem::path web_root;
  ssl::context* tls = nullptr;
  std::atomic<bool> stopping{false};
  Registry registry;
  AddressTable addresses;
};

// Counts an open connection for as long as it lives (HTTP, then WebSocket),
// in the global count and in its address's entry (admitted by the Listener).
// Touched only by the strand that owns the connection.
class ConnectionSlot {
 public:
  ConnectionSlot(Metrics& m, AddressTable& t, std::string address)
      : m_(m), table_(t), address_(std::move(address)) {
    ++m_.connections_open;
  }
  ~ConnectionSlot() {
    table_.release(address_, authenticated_);
    --m_.connections_open;
  }
  ConnectionSlot(const ConnectionSlot&) = delete;
  ConnectionSlot& operator=(const ConnectionSlot&) = delete;
  // A request on this connection carried a valid session: from now on it
  // counts against its address's limit only, not the smaller unauthenticated one.
  void mark_authenticated() {
    if (authenticated_) return;
    authenticated_ = true;
    table_.authenticated(address_);
  }

 private:
  Metrics& m_;
  AddressTable& table_;
  std::string address_;
  bool authenticated_ = false;
};

std::string address_text(const net::ip::address& a) {
  if (a.is_v6() && a.to_v6().is_v4_mapped())
    return net::ip::make_address_v4(net::ip::v4_mapped, a.to_v6())
        .to_string();  // "::ffff:127.0.0.1" -> "127.0.0.1"
  return a.to_string();
}

// The key a connection counts under: the peer's address; for IPv6 its /64,
// which one host usually holds whole (it could otherwise pick a new address
// for each connection).
std::string address_key(const net::ip::address& a) {
  if (a.is_v6() && !a.to_v6().is_v4_mapped()) {
    auto bytes = a.to_v6().to_bytes();
    std::fill(bytes.begin() + 8, bytes.end(), 0);
    return net::ip::address_v6(bytes).to_string() + "/64";
  }
  return address_text(a);
}

bool is_loopback(const net::ip::address& a) {
  if (a.is_v6() && a.to_v6().is_v4_mapped())
    return net::ip::make_address_v4(net::ip::v4_mapped, a.to_v6()).is_loopback();
  return a.is_loopback();
}

template <class Fields>
void security_headers(Fields& f, bool no_store, bool tls) {
  f.set("X-Content-Type-Options", "nosniff");
  f.set("Referrer-Policy", "no-referrer");
  f.set("X-Frame-Options", "DENY");
  f.set("Content-Security-Policy",
        "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'");
  if (no_store) f.set(http::field::cache_control, "no-store");
  if (tls) f.set("Strict-Transport-Security", "max-age=31536000");
  f.set(http::field::server, "zaulekd");
}

// ---------------------------------------------------------------- WebSocket

template <class Stream>
class WsSession final : public HubSubscriber,
                        public std::enable_shared_from_this<WsSession<Stream>> {
 public:
  // `lane`: the strand of `stream`'s executor when it is one of sh.lanes.
  WsSession(Stream&& stream, Shared& sh, Principal principal, std::string remote,
            std::unique_ptr<ConnectionSlot> slot, bool batch, const Lane* lane = nullptr)
      : ws_(std::move(stream)),
        lane_(lane),
        batch_(batch),
        sh_(sh),
        principal_(std::move(principal)),
        remote_(std::move(remote)),
        slot_(std::move(slot)),
        close_timer_(ws_.get_executor()) {}

  void run(http::request<http::string_body> req) {
    // The websocket stream keeps its own timeouts; the TCP one must be off.
    if constexpr (kIsTls<Stream>) beast::get_lowest_layer(ws_).expires_never();
    websocket::stream_base::timeout t{};
    t.handshake_timeout = sh_.cfg.read_timeout;
    t.idle_timeout = sh_.cfg.idle_timeout;
    t.keep_alive_pings = true;  // ping when idle half the time; close if no pong
    ws_.set_option(t);
    bool tls = kIsTls<Stream>;
    ws_.set_option(websocket::stream_base::decorator(
        [tls](websocket::response_type& res) { security_headers(res, true, tls); }));
    ws_.read_message_max(kMaxWsMessageIn);
    // A small kernel send buffer: a console that stops reading shows up in
    // our bounded queue after tens of kilobytes, not megabytes.
    beast::error_code ec;
    tcp_socket(beast::get_lowest_layer(ws_))
        .set_option(net::socket_base::send_buffer_size(kWsSendBuffer), ec);
    ws_.async_accept(req,
                     beast::bind_front_handler(&WsSession::on_accept, this->shared_from_this()));
  }

  void deliver(SharedMessage message) override {
    net::post(ws_.get_executor(), [self = this->shared_from_this(), message = std::move(message)] {
      self->enqueue(message, true);
    });
  }

  const Lane* lane() const override { return lane_; }
  void deliver_here(const SharedMessage& message) override { enqueue(message, true); }

  void going_away() override {
    net::post(ws_.get_executor(), [self = this->shared_from_this()] {
      self->close_with(websocket::close_code::going_away, "server shutting down");
    });
  }

  void revoked(std::string reason) override {
    net::post(ws_.get_executor(), [self = this->shared_from_this(), reason = std::move(reason)] {
      self->close_with(websocket::close_code::policy_error, reason);
    });
  }

 private:
  void on_accept(beast::error_code ec) {
    if (ec) {
      spdlog::debug("ws: handshake with {} failed: {}", remote_, ec.message());
      return;
    }
    spdlog::info("ws: '{}' connected from {}", principal_.name, remote_);
    // The stream of this session's audience: its role and visible cameras.
    sh_.hub.subscribe(
        this->weak_from_this(), Audience{principal_.role, visible_cameras(principal_)},
        SessionUser{principal_.user_id, principal_.authenticated},
        [self = this->shared_from_this()](Subscription sub) {
          net::post(self->ws_.get_executor(), [self, sub = std::move(sub)] {
            if (!sub.ok) {
              spdlog::warn("ws: '{}' from {} refused: {}", self->principal_.name, self->remote_,
                           sub.refused);
              return self->close_with(websocket::close_code::try_again_later, sub.refused);
            }
            self->stream_ = sub.stream;
            self->live_start_ = sub.last_seq;
            self->send_control({{"type", "hello"},
                                {"last_seq", sub.last_seq},
                                {"stream", sub.stream},
                                {"user", self->principal_.name},
                                {"role", to_string(self->principal_.role)}});
          });
        });
    do_read();
  }

  void do_read() {
    ws_.async_read(in_, beast::bind_front_handler(&WsSession::on_read, this->shared_from_this()));
  }

  void on_read(beast::error_code ec, std::size_t) {
    if (ec) {
      if (ec != websocket::error::closed && ec != net::error::operation_aborted)
        spdlog::debug("ws: '{}' from {}: {}", principal_.name, remote_, ec.message());
      finish();
      return;
    }
    std::string text = beast::buffers_to_string(in_.data());
    in_.consume(in_.size());
    handle_message(text);
    do_read();
  }

  void handle_message(const std::string& text) {
    if (!json_depth_ok(text, kMaxJsonDepth)) return send_error("message nests too deeply");
    auto j = nlohmann::json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return send_error("message is not a JSON object");
    auto type = j.find("type");
    if (type == j.end() || !type->is_string()) return send_error("message has no string 'type'");
    if (*type == "ping") return send_control({{"type", "pong"}});
    if (*type == "resume") {
      auto after = j.find("after");
      if (after == j.end() || !after->is_number_unsigned())
        return send_error("'after' must be a non-negative integer");
      std::uint64_t a = after->get<std::uint64_t>();
      std::uint64_t upto = live_start_;
      sh_.hub.replay(stream_, a, upto, [self = this->shared_from_this(), a, upto](ReplayResult r) {
        net::post(self->ws_.get_executor(), [self, a, upto, r = std::move(r)] {
          if (!r.complete)
            self->send_control({{"type", "resume_gap"}, {"after", a}, {"oldest", r.oldest}});
          for (auto& m : r.messages) self->enqueue(m, false);
          self->send_control(
              {{"type", "resumed"}, {"after", a}, {"upto", upto}, {"count", r.messages.size()}});
        });
      });
      return;
    }
    send_error("unknown message type");
  }

  void send_error(std::string_view message) {
    send_control({{"type", "error"}, {"message", message}});
  }
  void send_control(const nlohmann::json& j) {
    enqueue(std::make_shared<const std::string>(j.dump()), false);
  }

  // `live`: a hub message subject to the queue bound.
  void enqueue(SharedMessage message, bool live) {
    if (closing_) return;
    if (live && queue_.size() >= kMaxWsQueue &&
        (queue_.size() >= kMaxWsQueueHard || console_not_reading())) {
      ++sh_.metrics.ws_overflow_closes;
      spdlog::warn("ws: '{}' from {} fell behind ({} messages queued); closing", principal_.name,
                   remote_, queue_.size());
      close_with(websocket::close_code::policy_error, "too slow; reconnect and resume");
      return;
    }
    queue_.push_back(std::move(message));
    if (!writing_) do_write();
  }

  // The kernel holds at least kWsBehindBytes for this console not yet sent
  // (SIOCOUTQNSD), or cannot say. Not SIOCOUTQ: that counts bytes sent and
  // not acknowledged too, and delayed ACKs leave tens of KB of those to a
  // console that reads at once.
  bool console_not_reading() {
    int unsent = 0;
    int fd = tcp_socket(beast::get_lowest_layer(ws_)).native_handle();
    return ioctl(fd, SIOCOUTQNSD, &unsent) != 0 || unsent >= kWsBehindBytes;
  }

  // One message per frame; with batching, what has piled up behind the
  // write in flight goes as one array frame `[m1,m2,...]` (each message as
  // the hub serialized it, joined, not parsed again): a console that fell
  // behind costs one write per batch instead of one per message.
  void do_write() {
    if (queue_.empty()) return;
    writing_ = true;
    ws_.text(true);
    in_flight_ = 1;
    if (batch_ && queue_.size() > 1) {
      batch_buf_.assign(1, '[');
      std::size_t n = 0;
      for (const auto& m : queue_) {
        if (n > 0 && (n >= kMaxWsBatch || batch_buf_.size() + m->size() + 2 > kMaxWsBatchBytes))
          break;
        if (n++ > 0) batch_buf_ += ',';
        batch_buf_ += *m;
      }
      in_flight_ = n;
      batch_buf_ += ']';
      ++sh_.metrics.ws_batches;
      return ws_.async_write(
          net::buffer(batch_buf_),
          beast::bind_front_handler(&WsSession::on_write, this->shared_from_this()));
    }
    ws_.async_write(net::buffer(*queue_.front()),
                    beast::bind_front_handler(&WsSession::on_write, this->shared_from_this()));
  }

  void on_write(beast::error_code ec, std::size_t) {
    writing_ = false;
    if (ec) {
      spdlog::debug("ws: write to {} failed: {}", remote_, ec.message());
      finish();
      beast::error_code ignored;
      tcp_socket(beast::get_lowest_layer(ws_)).close(ignored);
      return;
    }
    queue_.erase(queue_.begin(),
                 queue_.begin() + static_cast<std::ptrdiff_t>(std::min(in_flight_, queue_.size())));
    in_flight_ = 0;
    if (pending_close_) return start_close();
    do_write();
  }

  // Queued messages are dropped; the close frame follows the write in flight
  // (whose messages stay at the front: their buffers are being sent, and
  // on_write pops them).
  void close_with(websocket::close_code code, std::string reason) {
    if (closing_) return;
    closing_ = true;
    queue_.erase(queue_.begin() + static_cast<std::ptrdiff_t>(
                                      writing_ ? std::min(in_flight_, queue_.size()) : 0),
                 queue_.end());
    close_reason_ = websocket::close_reason(code, reason);
    // A peer that stops reading would hold the write (and so the close)
    // forever: give it a grace period, then drop the connection.
    close_timer_.expires_after(std::chrono::seconds{3});
    close_timer_.async_wait([self = this->shared_from_this()](beast::error_code ec) {
      beast::error_code ignored;
      if (!ec) tcp_socket(beast::get_lowest_layer(self->ws_)).close(ignored);
    });
    if (writing_) {
      pending_close_ = true;
      return;
    }
    start_close();
  }

  void start_close() {
    pending_close_ = false;
    if (!ws_.is_open()) {
      close_timer_.cancel();
      return;
    }
    ws_.async_close(close_reason_, [self = this->shared_from_this()](beast::error_code) {
      self->close_timer_.cancel();
    });
  }

  void finish() {
    if (finished_) return;
    finished_ = true;
    close_timer_.cancel();
    if (stream_ != 0) sh_.hub.unsubscribe(this, stream_);
    spdlog::info("ws: '{}' from {} disconnected", principal_.name, remote_);
  }

  websocket::stream<Stream> ws_;
  const Lane* lane_;
  const bool batch_;           // the console asked for array frames (?batch=1)
  std::size_t in_flight_ = 0;  // queue_ messages in the write in flight
  std::string batch_buf_;      // the array frame in flight
  Shared& sh_;
  Principal principal_;
  std::string remote_;
  std::unique_ptr<ConnectionSlot> slot_;
  net::steady_timer close_timer_;
  beast::flat_buffer in_;
  std::deque<SharedMessage> queue_;
  std::uint64_t live_start_ = 0;
  std::uint64_t stream_ = 0;  // the hub stream, once subscribed
  bool writing_ = false;
  bool closing_ = false;
  bool pending_close_ = false;
  bool finished_ = false;
  websocket::close_reason close_reason_;
};

// --------------------------------------------------------------------- HTTP

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
      spdlog::debug("http: TLS handshake with {} failed: {}", remote_, ec.message());
      return close_now();
    }
    do_read();
  }

  void do_read() {
    if (sh_.stopping) return close_now();
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
      if (ec == beast::error::timeout && !heard_)
        spdlog::debug("http: {} sent nothing within {}s, closing", remote_,
                      sh_.cfg.first_byte_timeout.count());
      else if (ec == beast::error::timeout)
        spdlog::debug("http: {} idle, closing", remote_);
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
    parser_->body_limit(sh_.cfg.max_body_bytes);
    beast::get_lowest_layer(stream_).expires_after(sh_.cfg.read_timeout);
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&HttpSession::on_read, this->shared_from_this()));
  }

  void on_read(beast::error_code ec, std::size_t) {
    receiving_ = false;
    if (ec == http::error::end_of_stream || ec == net::error::operation_aborted) return close_now();
    if (ec == beast::error::timeout) {
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
    write(r, 11, false, true, "unmatched", "-", std::chrono::steady_clock::now());
  }

  void handle() {
    auto start = std::chrono::steady_clock::now();
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
    static const char* kHeaders[] = {"authorization", "cookie", "content-type", "x-csrf-token",
                                     "origin",        "host",   "upgrade"};
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

    bool api = r.path.rfind("/api/", 0) == 0;
    bool static_file = !api && (r.method == "GET" || r.method == "HEAD") &&
                       !sh_.router.match("GET", r.path, nullptr).path_known;
    bool upgrade = websocket::is_upgrade(req);
    // Handlers may block (Argon2id verification takes about half a second,
    // SQLite calls are synchronous): they run on the worker pool, never on
    // an I/O thread, and the answer comes back to this connection's strand.
    net::post(sh_.work, [self = this->shared_from_this(), r = std::move(r), req = std::move(req),
                         start, static_file, upgrade]() mutable {
      Outcome out;
      if (static_file) {
        out.response = serve_static(self->sh_.web_root, r.path);
        out.route_label = "static";
      } else {
        out = self->sh_.dispatcher.handle(r, upgrade);
      }
      net::post(self->executor_, [self, r = std::move(r), req = std::move(req),
                                  out = std::move(out), start]() mutable {
        self->respond(std::move(r), std::move(req), std::move(out), start);
      });
    });
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
        std::make_shared<WsSession<Stream>>(std::move(stream_), sh_, std::move(*r.principal),
                                            r.remote, std::move(slot_), batched)
            ->run(std::move(req));
      else
        upgrade_on_lane(std::move(req), std::move(*r.principal), r.remote, batched);
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
                       const std::string& client, bool batched) {
    tcp::socket socket = stream_.release_socket();
    const Lane& lane = sh_.lane();
    beast::error_code ec;
    auto protocol = socket.local_endpoint(ec).protocol();
    auto fd = ec ? -1 : socket.release(ec);
    if (ec) {
      spdlog::warn("ws: cannot move the connection from {} to a lane: {}", remote_, ec.message());
      return;  // `socket` closes it
    }
    auto ws = std::make_shared<WsSession<LaneSocket>>(LaneSocket(lane, protocol, fd), sh_,
                                                      std::move(principal), client,
                                                      std::move(slot_), batched, &lane);
    net::post(lane, [ws, req = std::move(req)]() mutable { ws->run(std::move(req)); });
  }

  void observe(const std::string& route, const std::string& method, int status,
               std::chrono::steady_clock::time_point start) {
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    sh_.metrics.observe_request(route, method, status, secs);
  }

  void write(const Response& r, unsigned version, bool keep_alive, bool no_store,
             const std::string& route, const std::string& method,
             std::chrono::steady_clock::time_point start, bool head = false) {
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

  void on_write(bool close, beast::error_code ec, std::size_t) {
    busy_ = false;
    res_.reset();
    if (ec) {
      spdlog::debug("http: write to {} failed: {}", remote_, ec.message());
      return close_now();
    }
    if (close || sh_.stopping) return close_now();
    do_read();
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

// ----------------------------------------------------------------- Listener

class Listener : public std::enable_shared_from_this<Listener> {
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
    auto admit = AddressTable::Admit::ok;
    if (sh_.metrics.connections_open.load() >= sh_.cfg.max_connections) {
      reject(std::move(socket), Metrics::Refusal::total, key);
    } else if ((admit = sh_.addresses.admit(key, sh_.cfg.max_connections_per_address,
                                            sh_.cfg.max_unauthenticated_per_address)) !=
               AddressTable::Admit::ok) {
      reject(std::move(socket),
             admit == AddressTable::Admit::per_address ? Metrics::Refusal::per_address
                                                       : Metrics::Refusal::unauthenticated,
             key);
    } else {
      auto slot = std::make_unique<ConnectionSlot>(sh_.metrics, sh_.addresses, std::move(key));
      // No Nagle: an alarm frame must not wait for the ACK of the one before.
      beast::error_code ignored;
      socket.set_option(tcp::no_delay(true), ignored);
      if (sh_.tls)
        std::make_shared<HttpSession<TlsStream>>(std::move(socket), sh_, std::move(slot))->start();
      else
        std::make_shared<HttpSession<beast::tcp_stream>>(std::move(socket), sh_, std::move(slot))
            ->start();
    }
    do_accept();
  }

  // Over a limit: a short 503 (plain HTTP only; a TLS peer just sees the
  // close) and the connection is closed. The log line is rate-limited.
  void reject(tcp::socket socket, Metrics::Refusal reason, const std::string& address) {
    auto refused = sh_.metrics.count_refusal(reason);
    auto now = std::chrono::steady_clock::now();
    if (now - last_reject_log_ > std::chrono::seconds{1}) {
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
  std::chrono::steady_clock::time_point last_reject_log_{};
};

Status write_port_file(const std::filesystem::path& file, std::uint16_t port) {
  // Written then renamed, so a reader never sees a half-written number.
  auto tmp = file;
  tmp += ".tmp";
  {
    std::ofstream out(tmp);
    out << port << "\n";
    if (!out) return make_error(ErrorKind::unavailable, "cannot write " + tmp.string());
  }
  std::error_code ec;
  std::filesystem::rename(tmp, file, ec);
  if (ec) return make_error(ErrorKind::unavailable, "cannot write " + file.string());
  return {};
}

// Where cameras reach our Notify consumer: events.notify_url, else the
// listen address and the bound port (nothing when that is a wildcard).
std::string notify_base_url(const config::Config& config, bool tls_on,
                            const net::ip::address& address, std::uint16_t port) {
  if (!config.events.notify_url.empty()) return config.events.notify_url;
  if (address.is_unspecified()) {
    spdlog::warn(
        "events: server.listen is a wildcard address and events.notify_url is not set: "
        "cameras without a PullPoint get no events");
    return {};
  }
  std::string host = address.is_v6() ? "[" + address.to_string() + "]" : address.to_string();
  return std::string(tls_on ? "https://" : "http://") + host + ":" + std::to_string(port);
}

}  // namespace

int run_service(const config::Config& config, storage::Catalog& catalog,
                const ServiceOptions& options) {
  const config::Server& cfg = config.server;
  Clock& clock = system_clock();
  int threads = std::max(1, cfg.threads);
  net::io_context ioc{threads};

  beast::error_code ec;
  auto address = net::ip::make_address(cfg.host, ec);
  if (ec) {
    spdlog::error("server: listen address '{}' is not an IP address", cfg.host);
    return 1;
  }
  bool tls_on = cfg.tls_cert && cfg.tls_key;
  if (!tls_on && !is_loopback(address) && !cfg.allow_plain_http) {
    spdlog::error(
        "server: refusing plain HTTP on non-loopback address {}: set server.tls_cert and "
        "server.tls_key, or server.allow_plain_http = true",
        cfg.host);
    return 1;
  }

  std::optional<ssl::context> tls;
  if (tls_on) {
    tls.emplace(ssl::context::tls_server);
    // TLS 1.2 and newer only.
    tls->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                     ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                     ssl::context::single_dh_use);
    tls->use_certificate_chain_file(cfg.tls_cert->string(), ec);
    if (ec) {
      spdlog::error("server: cannot load TLS certificate {}: {}", cfg.tls_cert->string(),
                    ec.message());
      return 1;
    }
    tls->use_private_key_file(cfg.tls_key->string(), ssl::context::pem, ec);
    if (ec) {
      spdlog::error("server: cannot load TLS key {}: {}", cfg.tls_key->string(), ec.message());
      return 1;
    }
  }

  Hub hub(ioc);
  AuditLog audit(catalog, clock, &hub);
  Auth auth(catalog, audit, clock,
            std::chrono::duration_cast<std::chrono::seconds>(config.auth.session_ttl),
            config.auth.login_max_failures, config.auth.login_window);
  Metrics metrics;
  ApiContext ctx;
  ctx.catalog = &catalog;
  ctx.audit = &audit;
  ctx.auth = &auth;
  ctx.hub = &hub;
  ctx.metrics = &metrics;
  ctx.clock = &clock;
  ctx.version = build_version();
  ctx.started = clock.monotonic();
  ctx.tls = tls_on;
  ctx.session_ttl = std::chrono::duration_cast<std::chrono::seconds>(config.auth.session_ttl);
  // A camera that a Hello revealed at a new address: no user did it.
  auto cameras = start_cameras(config, catalog, &hub, clock, [&audit](const Cameras::Moved& m) {
    audit.record(
        "system", m.followed ? "camera.moved" : "camera.sighted", "camera:" + m.id,
        nlohmann::json{{"from", m.from}, {"to", m.to}, {"endpoint", m.endpoint}, {"via", m.via}}
            .dump(),
        "");
  });
  if (!cameras) {
    spdlog::error("server: cameras: {}", cameras.error().message);
    return 1;
  }
  ctx.cameras = cameras->get();
  // Camera events (server/events.h): subscriptions run on camera_ioc (below).
  auto event_box = SecretBox::open_or_create(config.storage.secret_key_file());
  if (!event_box) {
    spdlog::error("server: events: {}", event_box.error().message);
    return 1;
  }
  // Recording (server/recording.h): reconciliation, recorders, retention.
  auto recording_box = SecretBox::open_or_create(config.storage.secret_key_file());
  if (!recording_box) {
    spdlog::error("server: recording: {}", recording_box.error().message);
    return 1;
  }
  RecordingService recording(catalog, std::move(*recording_box), clock, recording_options(config));
  ctx.recording = &recording;
  // Rules and alarms (server/alarms.h): fed by stored events and camera health.
  AlarmRouter alarms(ioc, catalog, &hub, &audit, clock, config.rules);
  // Events-mode recording: by every camera event, or by rules with record = true.
  alarms.set_recording(
      {[&recording](const std::vector<storage::Event>& e) { recording.on_events(e); },
       [&recording](const std::string& id, bool active) { recording.event(id, active); }});
  alarms.start();
  ctx.alarms = &alarms;
  ctx.cameras->set_status_listener(
      [&alarms](const std::string& id, CameraStatus s, const std::string& reason) {
        alarms.camera_status(id, std::string(to_string(s)), reason);
      });
  EventsOptions event_options;
  event_options.budget = {static_cast<std::uint32_t>(config.events.max_per_camera_per_second),
                          static_cast<std::uint32_t>(config.events.burst)};
  // Published events go to the rules, which hand them on to events-mode recorders.
  event_options.on_published = [&alarms](std::vector<storage::Event> e) {
    alarms.route(std::move(e));
  };
  event_options.on_subscription_health = [&alarms](const std::string& id, bool failing,
                                                   const std::string& reason) {
    alarms.health(id, failing, "zaulek:Health/EventSubscription", "events",
                  {{"status", failing ? "failed" : "active"}, {"reason", reason.substr(0, 1024)}});
  };
  // A recorder that cannot write (disk full, storage unwritable) raises a
  // health alarm; it clears when the recorder records again. A camera that
  // is merely unreachable is the camera registry's health event, not this.
  recording.set_state_listener(
      [&alarms](const std::string& id, const std::string& state, const std::string& detail) {
        if (is_storage_fault(state, detail))
          alarms.health(id, true, "zaulek:Health/Storage", "storage",
                        {{"status", "failed"}, {"reason", detail.substr(0, 1024)}});
        else if (state == "recording")
          alarms.health(id, false, "zaulek:Health/Storage", "storage", {{"status", "writing"}});
      });
  recording.start();
  // Basic Notification (server/notify.h): the consumer URL's base is set
  // once the port is known, before the io_context runs.
  NotifyConsumers notify;
  event_options.notify = &notify;
  ctx.notify = &notify;
  // Camera events (PullPoint long-polls, Renew, Subscribe: every reply read
  // by gSOAP) on an io_context of their own, never on the one serving
  // consoles: what a camera's replies cost is bounded (onvif/xml_prescan.h)
  // but it delays only other cameras' events, never /healthz or a console.
  net::io_context camera_ioc{threads};
  auto camera_work = net::make_work_guard(camera_ioc);
  EventService events(camera_ioc, catalog, &hub, std::move(*event_box), clock, event_options);
  ctx.events = &events;
  events.start();
  Router router;
  register_routes(router, ctx);
  Dispatcher dispatcher(router, auth);
  net::thread_pool work(2);

  Shared sh(ioc, threads, cfg, router, dispatcher, metrics, hub, work, options.web_root,
            tls ? &*tls : nullptr);
  auto listener = std::make_shared<Listener>(ioc, sh);
  if (auto st = listener->open(tcp::endpoint(address, cfg.port)); !st) {
    spdlog::error("server: {}", st.error().message);
    return 1;
  }
  std::uint16_t port = listener->port();
  std::string host = address.is_v6() ? "[" + address.to_string() + "]" : address.to_string();
  spdlog::info("server: zaulekd {} listening on {}://{}:{} ({} threads)", build_version(),
               tls_on ? "https" : "http", host, port, threads);
  if (options.port_file) {
    if (auto st = write_port_file(*options.port_file, port); !st) {
      spdlog::error("server: {}", st.error().message);
      return 1;
    }
  }
  notify.set_base_url(notify_base_url(config, tls_on, address, port));
  listener->start();

  // Expired sessions are swept once a minute.
  net::steady_timer sweep(ioc);
  std::function<void()> schedule_sweep = [&] {
    sweep.expires_after(std::chrono::seconds{60});
    sweep.async_wait([&](beast::error_code e) {
      if (e) return;
      if (auto st = catalog.delete_expired_sessions(); !st)
        spdlog::warn("auth: could not sweep expired sessions: {}", st.error().message);
      schedule_sweep();
    });
  };
  schedule_sweep();

  // The audit chain's head goes to the log now, every 10 minutes when it
  // moved, and at shutdown (below), so that a removed tail shows.
  AuditHeadLogger audit_head(catalog);
  audit_head.log();
  net::steady_timer audit_head_timer(ioc);
  std::function<void()> schedule_audit_head = [&] {
    audit_head_timer.expires_after(std::chrono::minutes{10});
    audit_head_timer.async_wait([&](beast::error_code e) {
      if (e) return;
      audit_head.log();
      schedule_audit_head();
    });
  };
  schedule_audit_head();

  net::steady_timer watchdog(ioc);
  std::atomic<bool> forced{false};
  net::steady_timer drain(ioc);
  std::function<void()> schedule_drain = [&] {
    drain.expires_after(std::chrono::milliseconds{20});
    drain.async_wait([&](beast::error_code e) {
      if (e) return;
      if (metrics.connections_open.load() == 0) {
        watchdog.cancel();
        return;
      }
      schedule_drain();
    });
  };
  net::signal_set signals(ioc, SIGINT, SIGTERM);
  signals.async_wait([&](beast::error_code e, int sig) {
    if (e) return;
    spdlog::info("server: signal {} received; shutting down", sig);
    sh.stopping = true;
    listener->stop();
    events.stop();
    camera_work.reset();  // camera_ioc ends once the Unsubscribes are done
    alarms.stop();
    sweep.cancel();
    audit_head_timer.cancel();
    hub.shutdown();
    sh.registry.shutdown_all();
    // Whatever has not finished by then is cut off; once every connection
    // has closed the watchdog is cancelled and run() returns.
    schedule_drain();
    watchdog.expires_after(kShutdownGrace);
    watchdog.async_wait([&](beast::error_code we) {
      if (we) return;
      spdlog::warn("server: {} connections still open after {}s; stopping anyway",
                   metrics.connections_open.load(), kShutdownGrace.count());
      forced = true;
      camera_ioc.stop();
      ioc.stop();
    });
  });

  std::vector<std::thread> pool, camera_pool;
  for (int i = 0; i < threads; ++i)
    camera_pool.emplace_back([&camera_ioc] { run_contained(camera_ioc, "camera events"); });
  for (int i = 1; i < threads; ++i) pool.emplace_back([&ioc] { ioc.run(); });
  ioc.run();
  for (auto& t : pool) t.join();
  for (auto& t : camera_pool) t.join();
  work.join();
  (*cameras)->stop();  // joins its thread: no status listener call outlives `alarms`
  recording.stop();    // open segments closed and indexed
  audit_head.log();    // after the last audited call
  spdlog::info("server: stopped");
  if (forced) {
    // Handlers of the connections cut off still sit in the io_context and
    // refer to objects on this stack; unwinding would run them out of order.
    // The catalogue is WAL SQLite, safe without a clean close.
    spdlog::default_logger()->flush();
    std::fflush(nullptr);
    std::_Exit(0);
  }
  return 0;
}

}  // namespace zaulek::server
