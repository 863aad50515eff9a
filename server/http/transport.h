// What the HTTP and WebSocket sessions and the listener share (internal to
// server/http/): the stream types, the per-connection bounds, the registry of
// open sessions and the connection slot that counts one against its address.
#pragma once

#include <utility>  // before Asio: Boost 1.74 misses it

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include <atomic>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "config/config.h"
#include "core/clock.h"
#include "server/http/connection_limits.h"
#include "server/http/dispatch.h"
#include "server/http/metrics.h"
#include "server/http/routes.h"
#include "server/http/slow_pool.h"
#include "server/hub/hub.h"

namespace zaulek::server::transport {

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
// ... and only once the write in flight has not completed for this long.
constexpr auto kWsWriteStalled = std::chrono::seconds{1};
// A console that asked for batches (?batch=1) and has fallen behind gets its
// queued messages as one JSON array frame: at most this many per frame.
constexpr std::size_t kMaxWsBatch = 64;
constexpr std::size_t kMaxWsBatchBytes = 256 * 1024;
constexpr std::size_t kMaxWsMessageIn = 64 * 1024;
// Replies to a console's own messages (pong, error, resumed) not yet sent:
// a console that reads has one or two; past this it is sending without
// reading, and is closed.
constexpr std::size_t kMaxWsReplies = 64;
// A route's source (WsSource) writes one media message at a time plus a
// few control ones; more than this unwritten is a source bug: closed.
constexpr std::size_t kMaxWsSourceQueue = 64;
constexpr int kWsSendBuffer = 64 * 1024;

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
         Metrics& m, Hub& h, Clock& k, net::thread_pool& w, SlowPool& s, std::filesystem::path web,
         ssl::context* t)
      : lanes(make_lanes(ioc, threads)),
        cfg(c),
        router(r),
        dispatcher(d),
        metrics(m),
        hub(h),
        clock(k),
        work(w),
        slow(s),
        web_root(std::move(web)),
        tls(t) {}
  static std::vector<Lane> make_lanes(net::io_context& ioc, int n) {
    std::vector<Lane> v;
    for (int i = 0; i < std::max(n, 1); ++i) v.emplace_back(net::make_strand(ioc));
    return v;
  }
  // Plain WebSocket consoles, spread round robin over one strand per I/O
  // thread: the hub posts once per lane and message (server/hub/hub.h). Sessions
  // and the hub hold pointers to these: made once, never resized.
  const std::vector<Lane> lanes;
  std::atomic<std::size_t> next_lane{0};
  const Lane& lane() { return lanes[next_lane++ % lanes.size()]; }

  const config::Server& cfg;
  const Router& router;
  Dispatcher& dispatcher;
  Metrics& metrics;
  Hub& hub;
  Clock& clock;            // request timing, the refusal log's pace
  net::thread_pool& work;  // request handlers (may block); see HttpSession::handle
  SlowPool& slow;          // handlers of Speed::slow routes (routes.h)
  std::filesystem::path web_root;
  ssl::context* tls = nullptr;
  std::atomic<bool> stopping{false};
  Registry registry;
  AddressTable addresses;
};

// Counts an open connection for as long as it lives (HTTP, then WebSocket),
// in the global count and in its address's entry (admitted by the Listener).
// A connection from a trusted proxy (server.trusted_proxies) carries many
// clients, one request after another: it counts against the global cap
// only, and each request in progress against the client that
// X-Forwarded-For names (charge() to uncharge()); a WebSocket upgraded on
// it stays charged to its client until it closes. The proxy's idle pooled
// connections so count against no client.
// Touched only by the strand that owns the connection.
class ConnectionSlot {
 public:
  // `address`: the key the Listener admitted; empty for a trusted proxy's.
  ConnectionSlot(Metrics& m, AddressTable& t, std::string address)
      : m_(m), table_(t), address_(std::move(address)), proxied_(address_.empty()) {
    ++m_.connections_open;
  }
  ~ConnectionSlot() {
    if (!address_.empty()) table_.release(address_, authenticated_);
    --m_.connections_open;
  }
  ConnectionSlot(const ConnectionSlot&) = delete;
  ConnectionSlot& operator=(const ConnectionSlot&) = delete;

  bool proxied() const { return proxied_; }
  // Proxied connections: counts the request now read against `client` (an
  // address_key) within its limits; on a refusal nothing is counted.
  AddressTable::Admit charge(const std::string& client, int max_open, int max_unauthenticated) {
    uncharge();
    auto admit = table_.admit(client, max_open, max_unauthenticated);
    if (admit == AddressTable::Admit::ok) address_ = client;
    return admit;
  }
  // Proxied connections: that request has been answered.
  void uncharge() {
    if (!proxied_ || address_.empty()) return;
    table_.release(address_, authenticated_);
    address_.clear();
    authenticated_ = false;
  }
  // A request on this connection carried a valid session: from now on it
  // counts against its address's limit only, not the smaller unauthenticated one.
  void mark_authenticated() {
    if (authenticated_ || address_.empty()) return;
    authenticated_ = true;
    table_.authenticated(address_);
  }

 private:
  Metrics& m_;
  AddressTable& table_;
  std::string address_;  // what it counts under now ("" : nothing)
  const bool proxied_;
  bool authenticated_ = false;
};

inline std::string address_text(const net::ip::address& a) {
  if (a.is_v6() && a.to_v6().is_v4_mapped())
    return net::ip::make_address_v4(net::ip::v4_mapped, a.to_v6())
        .to_string();  // "::ffff:127.0.0.1" -> "127.0.0.1"
  return a.to_string();
}

// The key a connection counts under: the peer's address; for IPv6 its /64,
// which one host usually holds whole (it could otherwise pick a new address
// for each connection).
inline std::string address_key(const net::ip::address& a) {
  if (a.is_v6() && !a.to_v6().is_v4_mapped()) {
    auto bytes = a.to_v6().to_bytes();
    std::fill(bytes.begin() + 8, bytes.end(), 0);
    return net::ip::address_v6(bytes).to_string() + "/64";
  }
  return address_text(a);
}

// address_key() of an address in text (a request's client); text that is
// not an address is its own key.
inline std::string address_key(const std::string& text) {
  beast::error_code ec;
  auto a = net::ip::make_address(text, ec);
  return ec ? text : address_key(a);
}

inline bool is_loopback(const net::ip::address& a) {
  if (a.is_v6() && a.to_v6().is_v4_mapped())
    return net::ip::make_address_v4(net::ip::v4_mapped, a.to_v6()).is_loopback();
  return a.is_loopback();
}

// media-src blob: a live view plays through a MediaSource's object URL.
template <class Fields>
void security_headers(Fields& f, bool no_store, bool tls) {
  f.set("X-Content-Type-Options", "nosniff");
  f.set("Referrer-Policy", "no-referrer");
  f.set("X-Frame-Options", "DENY");
  f.set("Content-Security-Policy",
        "default-src 'self'; media-src 'self' blob:; frame-ancestors 'none'; base-uri 'none'; "
        "form-action 'self'");
  if (no_store) f.set(http::field::cache_control, "no-store");
  if (tls) f.set("Strict-Transport-Security", "max-age=31536000");
  f.set(http::field::server, "zaulekd");
}

}  // namespace zaulek::server::transport
