// The simulated camera's ONVIF services over Boost.Beast; gSOAP only
// (de)serializes (onvif/soap_buffer.h). All state lives on one strand per
// device; fire_event/set_faults/faults may be called from any thread.
#include <sodium.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <cstdio>
#include <deque>
#include <functional>
#include <future>
#include <list>
#include <map>
#include <mutex>
#include <optional>

#include "core/clock.h"
#include "onvif/auth.h"
#include "onvif/soap_buffer.h"
#include "sim/onvif/event_messages.h"
#include "sim/onvif/snapshot.h"
#include "sim/onvif_device.h"

namespace zaulek::sim {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;
using Done = std::function<void(Response)>;
using onvif::OutHeader;
using onvif::SoapContext;
using onvif_sim::EventMessage;

constexpr std::size_t kQueueLimit = 100;       // messages per subscription
constexpr std::size_t kMaxSubscriptions = 64;  // per device
constexpr std::size_t kMaxPushInFlight = 32;   // Notify POSTs per device
constexpr std::size_t kMaxSessions = 64;       // HTTP connections per device
constexpr auto kDefaultTermination = std::chrono::seconds(60);
constexpr auto kMaxPullWait = std::chrono::seconds(60);
constexpr const char* kRealm = "zaulek-sim";
constexpr const char* kDevicePath = "/onvif/device_service";
constexpr const char* kMediaPath = "/onvif/media_service";
constexpr const char* kEventsPath = "/onvif/events_service";
constexpr const char* kSubscriptionPrefix = "/onvif/subscription/";
constexpr const char* kSnapshotPath = "/onvif/snapshot.jpg";
constexpr const char* kEventsWsdl = "http://www.onvif.org/ver10/events/wsdl/";

std::string url_host(const std::string& host) {
  return host.find(':') != std::string::npos ? "[" + host + "]" : host;
}

// Scope path segments are URI text: keep unreserved characters only.
std::string scope_escape(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

// Loopback only: the simulator never sends to another address.
bool loopback_http_url(const std::string& url, std::string& host, std::string& port,
                       std::string& target) {
  const std::string scheme = "http://";
  if (url.rfind(scheme, 0) != 0 || url.size() > 2048) return false;
  std::string rest = url.substr(scheme.size());
  auto slash = rest.find('/');
  std::string authority = rest.substr(0, slash);
  target = slash == std::string::npos ? "/" : rest.substr(slash);
  if (!authority.empty() && authority[0] == '[') {
    auto close = authority.find(']');
    if (close == std::string::npos) return false;
    host = authority.substr(1, close - 1);
    port = close + 2 <= authority.size() ? authority.substr(close + 2) : "80";
  } else {
    auto colon = authority.rfind(':');
    host = authority.substr(0, colon);
    port = colon == std::string::npos ? "80" : authority.substr(colon + 1);
  }
  if (port.empty()) port = "80";
  if (host == "localhost") host = "127.0.0.1";
  boost::system::error_code ec;
  auto addr = asio::ip::make_address(host, ec);
  return !ec && addr.is_loopback();
}

struct Subscription {
  int id = 0;
  bool pull = true;
  std::string consumer;  // Basic Notification consumer URL
  WallTime termination;  // real clock (skew does not change lifetimes)
  std::deque<EventMessage> queue;
  std::size_t dropped = 0;
  // A waiting PullMessages: called when messages arrive or the wait ends.
  std::function<void()> waiter;
  std::shared_ptr<asio::steady_timer> wait_timer;
};

class Core;

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, std::shared_ptr<Core> core)
      : stream_(std::move(socket)), core_(std::move(core)) {}
  void start() { do_read(); }
  void close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.close();
  }

 private:
  void do_read();
  void on_read(beast::error_code ec);
  void write(Response res);

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::shared_ptr<Core> core_;
  Response res_;
};

class Core : public std::enable_shared_from_this<Core> {
 public:
  Core(asio::io_context& io, CameraIdentity id)
      : io_(io),
        strand_(asio::make_strand(io)),
        identity_(std::move(id)),
        acceptor_(strand_),
        sweep_(strand_) {
    unsigned char n[16];
    randombytes_buf(n, sizeof n);
    digest_nonce_ = onvif::md5_hex(std::string(reinterpret_cast<char*>(n), sizeof n));
  }

  asio::strand<asio::io_context::executor_type>& strand() { return strand_; }
  const CameraIdentity& identity() const { return identity_; }

  void start() {
    open_acceptor();  // synchronous: the port is known when start() returns
    auto self = shared_from_this();
    asio::post(strand_, [self] {
      self->running_ = true;
      self->do_accept();
      self->schedule_sweep();
    });
  }

  void stop() {
    auto work = [self = shared_from_this()] { self->do_stop(); };
    if (strand_.running_in_this_thread() || io_.stopped()) {
      work();
      return;
    }
    auto done = std::make_shared<std::promise<void>>();
    asio::post(strand_, [work, done] {
      work();
      done->set_value();
    });
    // Bounded wait: if no thread runs the io_context, close from here.
    if (done->get_future().wait_for(std::chrono::seconds(2)) != std::future_status::ready) work();
  }

  std::string base_url() const {
    return "http://" + url_host(identity_.bind_host) + ":" + std::to_string(identity_.onvif_port);
  }

  WallTime device_now() const {
    auto skew = faults().clock_skew;
    auto t = zaulek::system_clock().realtime() + skew;
    return std::chrono::time_point_cast<std::chrono::milliseconds>(t);
  }

  OnvifFaults faults() const {
    std::lock_guard lock(faults_mu_);
    return faults_;
  }

  void set_faults(const OnvifFaults& f) {
    bool was_down;
    {
      std::lock_guard lock(faults_mu_);
      was_down = faults_.down;
      faults_ = f;
      if (faults_.duplicate_discovery < 0) faults_.duplicate_discovery = 0;
      if (faults_.duplicate_discovery > 10) faults_.duplicate_discovery = 10;
    }
    if (was_down != f.down) {
      asio::post(strand_, [self = shared_from_this(), down = f.down] {
        if (!self->running_) return;
        if (down) {
          spdlog::info("onvif sim {}: down (refusing connections)", self->identity_.name);
          beast::error_code ec;
          self->acceptor_.close(ec);
          self->close_sessions();
          self->drop_subscriptions();  // a rebooted camera forgets them
        } else {
          spdlog::info("onvif sim {}: up again", self->identity_.name);
          try {
            self->open_acceptor();
            self->do_accept();
          } catch (const std::exception& e) {
            spdlog::error("onvif sim {}: cannot listen again: {}", self->identity_.name, e.what());
          }
        }
      });
    }
  }

  void note_request(const std::string& operation) {
    std::lock_guard lock(times_mu_);
    auto& times = request_times_[operation];
    if (times.size() >= 1024) times.pop_front();
    times.push_back(zaulek::system_clock().monotonic());
  }
  std::vector<std::chrono::steady_clock::time_point> request_times(
      const std::string& operation) const {
    std::lock_guard lock(times_mu_);
    auto it = request_times_.find(operation);
    if (it == request_times_.end()) return {};
    return {it->second.begin(), it->second.end()};
  }

  WallTime fire_event(const EventSpec& spec) {
    WallTime t = device_now();
    std::string utc = format_rfc3339(t);
    int object_id = ++object_counter_;
    auto msg = onvif_sim::make_event(spec, utc, object_id);
    if (!msg) {
      spdlog::warn("onvif sim {}: unknown event kind '{}' not fired", identity_.name, spec.kind);
      return WallTime{};
    }
    asio::post(strand_, [self = shared_from_this(), m = std::move(*msg)] { self->deliver(m); });
    return t;
  }

  void handle(const Request& req, Done done);
  void add_session(const std::shared_ptr<Session>& s) {
    sessions_.remove_if([](const std::weak_ptr<Session>& w) { return w.expired(); });
    sessions_.push_back(s);
  }
  std::size_t session_count() {
    sessions_.remove_if([](const std::weak_ptr<Session>& w) { return w.expired(); });
    return sessions_.size();
  }
  bool accepting() const { return acceptor_.is_open(); }

 private:
  void open_acceptor() {
    auto addr = asio::ip::make_address(identity_.bind_host);
    tcp::endpoint ep(addr, identity_.onvif_port);
    acceptor_.open(ep.protocol());
    acceptor_.set_option(asio::socket_base::reuse_address(true));
    acceptor_.bind(ep);
    acceptor_.listen();
    identity_.onvif_port = acceptor_.local_endpoint().port();
  }

  void do_accept() {
    acceptor_.async_accept(strand_,
                           [self = shared_from_this()](beast::error_code ec, tcp::socket socket) {
                             if (ec) return;  // closed (stop or down)
                             if (self->session_count() >= kMaxSessions) {
                               spdlog::warn("onvif sim {}: {} connections open, refusing one",
                                            self->identity_.name, kMaxSessions);
                             } else {
                               beast::error_code ignored;
                               socket.set_option(tcp::no_delay(true), ignored);
                               auto s = std::make_shared<Session>(std::move(socket), self);
                               self->add_session(s);
                               s->start();
                             }
                             self->do_accept();
                           });
  }

  void close_sessions() {
    for (auto& w : sessions_)
      if (auto s = w.lock()) s->close();
    sessions_.clear();
  }

  void drop_subscriptions() {
    for (auto& [id, sub] : subs_)
      if (sub.wait_timer) sub.wait_timer->cancel();
    subs_.clear();
  }

  void do_stop() {
    running_ = false;
    beast::error_code ec;
    acceptor_.close(ec);
    sweep_.cancel();
    close_sessions();
    drop_subscriptions();
  }

  void schedule_sweep() {
    sweep_.expires_after(std::chrono::seconds(1));
    sweep_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (ec || !self->running_) return;
      self->expire_subscriptions();
      self->schedule_sweep();
    });
  }

  void expire_subscriptions() {
    auto now = zaulek::system_clock().realtime();
    for (auto it = subs_.begin(); it != subs_.end();) {
      if (it->second.termination <= now) {
        spdlog::info("onvif sim {}: subscription {} expired", identity_.name, it->first);
        if (it->second.wait_timer) it->second.wait_timer->cancel();
        auto waiter = std::move(it->second.waiter);
        it = subs_.erase(it);
        if (waiter) waiter();
      } else {
        ++it;
      }
    }
  }

  void deliver(const EventMessage& m) {
    if (!running_) return;
    for (auto& [id, sub] : subs_) {
      if (sub.pull) {
        if (sub.queue.size() >= kQueueLimit) {
          sub.queue.pop_front();  // oldest goes first, counted and logged
          if (++sub.dropped % 10 == 1)
            spdlog::warn("onvif sim {}: subscription {} queue full, {} dropped", identity_.name, id,
                         sub.dropped);
        }
        sub.queue.push_back(m);
        if (sub.waiter) {
          auto waiter = std::move(sub.waiter);
          sub.waiter = nullptr;
          if (sub.wait_timer) sub.wait_timer->cancel();
          waiter();
        }
      } else {
        push_notify(sub, m);
      }
    }
  }

  void push_notify(const Subscription& sub, const EventMessage& m);

  // ---- request helpers
  std::string path_of(const std::string& target) const {
    auto q = target.find('?');
    return target.substr(0, q);
  }
  std::string subscription_url(int id) const {
    return base_url() + kSubscriptionPrefix + std::to_string(id);
  }
  Response soap_response(const Request& req, http::status st, std::string body) {
    Response res{st, req.version()};
    res.set(http::field::server, "zaulek-sim");
    res.set(http::field::content_type, "application/soap+xml; charset=utf-8");
    res.keep_alive(req.keep_alive());
    res.body() = std::move(body);
    res.prepare_payload();
    return res;
  }
  Response fault(const Request& req, bool sender, const std::string& subcode,
                 const std::string& reason, http::status st = http::status::bad_request) {
    SoapContext ctx;
    return soap_response(req, sender ? st : http::status::internal_server_error,
                         ctx.write_fault({sender, subcode, reason}));
  }
  Response unauthorized(const Request& req, const std::string& why) {
    Response res{http::status::unauthorized, req.version()};
    res.set(http::field::server, "zaulek-sim");
    res.set(http::field::www_authenticate, std::string("Digest realm=\"") + kRealm +
                                               "\", qop=\"auth\", nonce=\"" + digest_nonce_ +
                                               "\", algorithm=MD5");
    res.set(http::field::content_type, "text/plain");
    res.keep_alive(req.keep_alive());
    res.body() = why + "\n";
    res.prepare_payload();
    return res;
  }

  // Applies soap_delay and malformed_soap, then answers.
  void finish(Response res, Done done) {
    auto f = faults();
    if (f.malformed_soap && res.body().size() > 40) {
      // Broken XML: cut mid-element and leave garbage, as a crashing
      // firmware would. The HTTP framing stays valid.
      res.body().resize(res.body().size() / 2);
      res.body() += "<<&&not-xml";
      res.prepare_payload();
    }
    if (f.soap_delay.count() > 0) {
      auto timer = std::make_shared<asio::steady_timer>(strand_, f.soap_delay);
      timer->async_wait(
          [timer, res = std::move(res), done](beast::error_code) mutable { done(std::move(res)); });
      return;
    }
    done(std::move(res));
  }

  enum class Auth { ok, challenge, bad_digest, not_authorized };
  Auth authenticate(const Request& req, const onvif::InHeader& h, const OnvifFaults& f);

  std::string dispatch(const Request& req, SoapContext& ctx, const std::string& path,
                       const onvif::InHeader& h, http::status& status, Done& async_done,
                       bool& async);

  void pull_messages(const Request& req, int sub_id, const _tev__PullMessages& body, Done done);
  // `flood` > 0: exactly that many notifications, whatever `limit` says.
  std::string pull_response(SoapContext& ctx, Subscription* sub, int limit, int flood = 0);

  // Device/Media responses.
  std::string device_information(SoapContext& ctx);
  std::string capabilities(SoapContext& ctx);
  std::string services(SoapContext& ctx);
  std::string system_date_time(SoapContext& ctx);
  std::string scopes(SoapContext& ctx);
  std::string network_interfaces(SoapContext& ctx);
  std::string profiles(SoapContext& ctx);
  std::string video_sources(SoapContext& ctx);

  asio::io_context& io_;
  asio::strand<asio::io_context::executor_type> strand_;
  CameraIdentity identity_;
  tcp::acceptor acceptor_;
  asio::steady_timer sweep_;
  bool running_ = false;
  std::list<std::weak_ptr<Session>> sessions_;
  mutable std::mutex faults_mu_;  // faults are read per request from any thread
  mutable std::mutex times_mu_;   // request_times_ is read by tests from any thread
  std::map<std::string, std::deque<std::chrono::steady_clock::time_point>> request_times_;
  OnvifFaults faults_;
  std::atomic<int> object_counter_{0};
  std::map<int, Subscription> subs_;
  int next_sub_ = 1;
  std::size_t push_in_flight_ = 0;
  onvif::UsernameTokenVerifier verifier_;
  std::string digest_nonce_;
};

// ---------------------------------------------------------------- Session

void Session::do_read() {
  parser_.emplace();
  parser_->body_limit(onvif::kMaxEnvelopeBytes);
  parser_->header_limit(16 * 1024);
  buffer_.reserve(16 * 1024);  // else Beast starts with 512-byte reads
  stream_.expires_after(std::chrono::seconds(30));
  http::async_read(stream_, buffer_, *parser_,
                   asio::bind_executor(core_->strand(), [self = shared_from_this()](
                                                            beast::error_code ec, std::size_t) {
                     self->on_read(ec);
                   }));
}

void Session::on_read(beast::error_code ec) {
  if (ec == http::error::end_of_stream || ec == beast::error::timeout ||
      ec == asio::error::operation_aborted) {
    close();
    return;
  }
  if (ec) {
    // Bad HTTP (too big, broken framing): answer 400 and close.
    Response res{
        ec == http::error::body_limit ? http::status::payload_too_large : http::status::bad_request,
        11};
    res.set(http::field::content_type, "text/plain");
    res.body() = "bad request: " + ec.message() + "\n";
    res.keep_alive(false);
    res.prepare_payload();
    write(std::move(res));
    return;
  }
  stream_.expires_never();  // PullMessages may hold the answer back
  core_->handle(parser_->get(),
                [self = shared_from_this()](Response res) { self->write(std::move(res)); });
}

void Session::write(Response res) {
  res_ = std::move(res);
  stream_.expires_after(std::chrono::seconds(30));
  http::async_write(stream_, res_,
                    asio::bind_executor(core_->strand(), [self = shared_from_this()](
                                                             beast::error_code ec, std::size_t) {
                      if (ec || !self->res_.keep_alive()) {
                        self->close();
                        return;
                      }
                      self->do_read();
                    }));
}

// ---------------------------------------------------------------- requests

Core::Auth Core::authenticate(const Request& req, const onvif::InHeader& h, const OnvifFaults& f) {
  if (identity_.username.empty() && !f.wrong_password) return Auth::ok;
  auto authz = req[http::field::authorization];
  if (!authz.empty() && authz.substr(0, 7) == "Digest ") {
    bool ok = !f.wrong_password &&
              onvif::verify_http_digest(
                  std::string_view(authz.data(), authz.size()),
                  std::string_view(req.method_string().data(), req.method_string().size()),
                  identity_.username, identity_.password, kRealm, digest_nonce_);
    return ok ? Auth::ok : Auth::bad_digest;
  }
  if (h.has_username_token) {
    if (f.wrong_password) return Auth::not_authorized;
    if (h.password_type.find("#PasswordDigest") == std::string::npos) {
      spdlog::info("onvif sim {}: UsernameToken without PasswordDigest refused", identity_.name);
      return Auth::not_authorized;
    }
    auto r = verifier_.check(h.username, h.password, h.nonce_base64, h.created, identity_.username,
                             identity_.password, device_now());
    if (r == onvif::TokenCheck::ok) return Auth::ok;
    static const char* why[] = {"ok", "wrong user or password", "Created outside +-5 min",
                                "nonce replayed", "malformed token"};
    spdlog::info("onvif sim {}: UsernameToken refused: {}", identity_.name,
                 why[static_cast<int>(r)]);
    return Auth::not_authorized;
  }
  return Auth::challenge;
}

void Core::handle(const Request& req, Done done) {
  const std::string target(req.target());
  const std::string path = path_of(target);
  if (path == kSnapshotPath && (req.method() == http::verb::get)) {
    auto f = faults();
    if (!identity_.username.empty() || f.wrong_password) {
      auto authz = req[http::field::authorization];
      bool ok =
          !f.wrong_password && authz.substr(0, 7) == "Digest " &&
          onvif::verify_http_digest(std::string_view(authz.data(), authz.size()), "GET",
                                    identity_.username, identity_.password, kRealm, digest_nonce_);
      if (!ok) return done(unauthorized(req, "snapshot needs HTTP digest"));
    }
    Response res{http::status::ok, req.version()};
    res.set(http::field::server, "zaulek-sim");
    res.set(http::field::content_type, "image/jpeg");
    res.keep_alive(req.keep_alive());
    res.body() = onvif_sim::snapshot_jpeg();
    res.prepare_payload();
    return finish(std::move(res), std::move(done));
  }
  bool soap_path = path == kDevicePath || path == kMediaPath || path == kEventsPath ||
                   path.rfind(kSubscriptionPrefix, 0) == 0;
  if (!soap_path) {
    Response res{http::status::not_found, req.version()};
    res.set(http::field::content_type, "text/plain");
    res.keep_alive(req.keep_alive());
    res.body() = "no such service\n";
    res.prepare_payload();
    return done(std::move(res));
  }
  if (req.method() != http::verb::post) {
    Response res{http::status::method_not_allowed, req.version()};
    res.set(http::field::allow, "POST");
    res.keep_alive(req.keep_alive());
    res.prepare_payload();
    return done(std::move(res));
  }

  auto ctx = std::make_shared<SoapContext>();
  auto header = ctx->begin_read(req.body());
  if (!header) {
    spdlog::info("onvif sim {}: {}", identity_.name, header.error().message);
    return finish(fault(req, true, "ter:WellFormed", header.error().message), std::move(done));
  }
  // GetSystemDateAndTime is open to all (ONVIF Core 5.9.4: clients need the
  // device time to build a valid UsernameToken).
  if (!ctx->body_is("tds:GetSystemDateAndTime")) {
    switch (authenticate(req, *header, faults())) {
      case Auth::ok:
        break;
      case Auth::challenge:
        return finish(unauthorized(req, "credentials required"), std::move(done));
      case Auth::bad_digest:
        return finish(unauthorized(req, "HTTP digest refused"), std::move(done));
      case Auth::not_authorized:
        return finish(fault(req, true, "ter:NotAuthorized", "Sender not authorized"),
                      std::move(done));
    }
  }
  http::status status = http::status::ok;
  bool async = false;
  std::string xml = dispatch(req, *ctx, path, *header, status, done, async);
  if (async) return;  // dispatch took `done`
  finish(soap_response(req, status, std::move(xml)), std::move(done));
}

std::string Core::dispatch(const Request& req, SoapContext& ctx, const std::string& path,
                           const onvif::InHeader& h, http::status& status, Done& done,
                           bool& async) {
  auto bad = [&](const std::string& subcode, const std::string& reason) {
    status = http::status::bad_request;
    SoapContext fctx;
    return fctx.write_fault({true, subcode, reason});
  };
  auto read_error = [&](const Error& e) { return bad("ter:InvalidArgVal", e.message); };
  auto ev_header = [&](const std::string& action) {
    OutHeader o;
    o.action = kEventsWsdl + action;
    o.relates_to = h.message_id;
    return o;
  };
  int sub_id = 0;
  if (path.rfind(kSubscriptionPrefix, 0) == 0) {
    std::string id = path.substr(std::string(kSubscriptionPrefix).size());
    if (id.empty() || id.size() > 9 || id.find_first_not_of("0123456789") != std::string::npos)
      return bad("ter:InvalidArgVal", "no such subscription");
    sub_id = std::stoi(id);
  }

  if (ctx.body_is("tds:GetSystemDateAndTime")) {
    if (!ctx.read_body<_tds__GetSystemDateAndTime>()) return bad("ter:WellFormed", "bad body");
    return system_date_time(ctx);
  }
  if (ctx.body_is("tds:GetDeviceInformation")) return device_information(ctx);
  if (ctx.body_is("tds:GetCapabilities")) return capabilities(ctx);
  if (ctx.body_is("tds:GetServices")) return services(ctx);
  if (ctx.body_is("tds:GetScopes")) return scopes(ctx);
  if (ctx.body_is("tds:GetNetworkInterfaces")) return network_interfaces(ctx);
  if (ctx.body_is("trt:GetProfiles")) return profiles(ctx);
  if (ctx.body_is("trt:GetVideoSources")) return video_sources(ctx);
  if (ctx.body_is("trt:GetStreamUri") || ctx.body_is("trt:GetSnapshotUri")) {
    bool stream = ctx.body_is("trt:GetStreamUri");
    std::string token;
    if (stream) {
      auto b = ctx.read_body<_trt__GetStreamUri>();
      if (!b) return read_error(b.error());
      token = (*b)->ProfileToken;
    } else {
      auto b = ctx.read_body<_trt__GetSnapshotUri>();
      if (!b) return read_error(b.error());
      token = (*b)->ProfileToken;
    }
    if (token != "main" && token != "sub") return bad("ter:InvalidArgVal", "no such profile");
    SoapContext out;
    tt__MediaUri uri;
    soap_default_tt__MediaUri(out.get(), &uri);
    uri.Uri = stream ? (token == "main" ? identity_.rtsp_main_url : identity_.rtsp_sub_url)
                     : base_url() + kSnapshotPath;
    uri.InvalidAfterConnect = false;
    uri.InvalidAfterReboot = false;
    uri.Timeout = "PT0S";
    if (stream) {
      _trt__GetStreamUriResponse r;
      soap_default__trt__GetStreamUriResponse(out.get(), &r);
      r.MediaUri = uri;
      return out.write(OutHeader{}, r);
    }
    _trt__GetSnapshotUriResponse r;
    soap_default__trt__GetSnapshotUriResponse(out.get(), &r);
    r.MediaUri = uri;
    return out.write(OutHeader{}, r);
  }

  // ---- events
  if (ctx.body_is("tev:GetEventProperties")) {
    SoapContext out;
    _tev__GetEventPropertiesResponse r;
    soap_default__tev__GetEventPropertiesResponse(out.get(), &r);
    r.TopicNamespaceLocation = {"http://www.onvif.org/onvif/ver10/topics/topicns.xml"};
    r.wsnt__FixedTopicSet = true;
    r.wstop__TopicSet = soap_new__wstop__TopicSet(out.get(), -1);
    r.wstop__TopicSet->__any = out.strdup(onvif_sim::topic_set_xml());
    r.wsnt__TopicExpressionDialect = {
        "http://www.onvif.org/ver10/tev/topicExpression/ConcreteSet",
        "http://docs.oasis-open.org/wsn/t-1/TopicExpression/Concrete"};
    r.MessageContentFilterDialect = {
        "http://www.onvif.org/ver10/tev/messageContentFilter/ItemFilter"};
    r.MessageContentSchemaLocation = {"http://www.onvif.org/onvif/ver10/schema/onvif.xsd"};
    return out.write(ev_header("EventPortType/GetEventPropertiesResponse"), r);
  }
  bool create_pull = ctx.body_is("tev:CreatePullPointSubscription");
  bool subscribe = !create_pull && ctx.body_is("wsnt:Subscribe");
  if (create_pull) note_request("CreatePullPointSubscription");
  if (create_pull && faults().no_pullpoint) {
    // As a camera without a PullPoint answers (ONVIF Core: env:Receiver,
    // ter:ActionNotSupported).
    spdlog::info("onvif sim {}: no PullPoint (fault): CreatePullPointSubscription refused",
                 identity_.name);
    status = http::status::internal_server_error;
    SoapContext fctx;
    return fctx.write_fault(
        {false, "ter:ActionNotSupported", "CreatePullPointSubscription is not supported"});
  }
  if (create_pull || subscribe) {
    std::string initial, consumer;
    if (create_pull) {
      auto b = ctx.read_body<_tev__CreatePullPointSubscription>();
      if (!b) return read_error(b.error());
      if ((*b)->InitialTerminationTime) initial = *(*b)->InitialTerminationTime;
    } else {
      auto b = ctx.read_body<_wsnt__Subscribe>();
      if (!b) return read_error(b.error());
      if ((*b)->InitialTerminationTime) initial = *(*b)->InitialTerminationTime;
      consumer = (*b)->ConsumerReference.Address ? (*b)->ConsumerReference.Address : "";
      std::string host, port, target;
      if (!loopback_http_url(consumer, host, port, target))
        return bad("ter:InvalidArgVal", "ConsumerReference must be an http:// loopback URL");
    }
    std::chrono::milliseconds lifetime = kDefaultTermination;
    if (!initial.empty()) {
      WallTime abs;
      if (auto d = onvif_sim::parse_duration(initial)) {
        lifetime = *d;
      } else if (parse_rfc3339(initial, abs)) {
        lifetime = std::chrono::duration_cast<std::chrono::milliseconds>(abs - device_now());
      } else {
        return bad("ter:InvalidArgVal", "unreadable InitialTerminationTime");
      }
      if (lifetime.count() <= 0) return bad("ter:InvalidArgVal", "termination time in the past");
      if (lifetime > std::chrono::hours(24)) lifetime = std::chrono::hours(24);
    }
    if (subs_.size() >= kMaxSubscriptions) {
      status = http::status::internal_server_error;
      SoapContext fctx;
      return fctx.write_fault({false, "ter:OutofResources", "too many subscriptions"});
    }
    Subscription s;
    s.id = next_sub_++;
    s.pull = create_pull;
    s.consumer = consumer;
    s.termination = zaulek::system_clock().realtime() + lifetime;
    const int id = s.id;
    subs_.emplace(id, std::move(s));
    WallTime now = device_now();
    std::string current = format_rfc3339(now);
    std::string term = format_rfc3339(now + lifetime);
    if (create_pull)
      spdlog::info("onvif sim {}: pull-point subscription {} for {} ms", identity_.name, id,
                   lifetime.count());
    else  // the consumer URL too: tests read it from this log (the simulator is no vault)
      spdlog::info("onvif sim {}: notification subscription {} for {} ms to {}", identity_.name, id,
                   lifetime.count(), consumer);
    SoapContext out;
    if (create_pull) {
      _tev__CreatePullPointSubscriptionResponse r;
      soap_default__tev__CreatePullPointSubscriptionResponse(out.get(), &r);
      r.SubscriptionReference.Address = out.strdup(subscription_url(id));
      r.wsnt__CurrentTime = current;
      r.wsnt__TerminationTime = term;
      return out.write(ev_header("EventPortType/CreatePullPointSubscriptionResponse"), r);
    }
    _wsnt__SubscribeResponse r;
    soap_default__wsnt__SubscribeResponse(out.get(), &r);
    r.SubscriptionReference.Address = out.strdup(subscription_url(id));
    r.CurrentTime = soap_new_std__string(out.get(), -1);
    *r.CurrentTime = current;
    r.TerminationTime = soap_new_std__string(out.get(), -1);
    *r.TerminationTime = term;
    OutHeader o;
    o.action = "http://docs.oasis-open.org/wsn/bw-2/NotificationProducer/SubscribeResponse";
    o.relates_to = h.message_id;
    return out.write(o, r);
  }
  bool pull = ctx.body_is("tev:PullMessages");
  bool renew = !pull && ctx.body_is("wsnt:Renew");
  bool unsubscribe = !pull && !renew && ctx.body_is("wsnt:Unsubscribe");
  if (pull || renew || unsubscribe) {
    auto it = subs_.find(sub_id);
    if (it == subs_.end())
      return bad("ter:InvalidArgVal", "unknown or expired subscription (wsrf-rw:ResourceUnknown)");
    if (pull) {
      auto b = ctx.read_body<_tev__PullMessages>();
      if (!b) return read_error(b.error());
      if (!it->second.pull) return bad("ter:InvalidArgVal", "not a pull-point subscription");
      note_request("PullMessages");
      if (faults().pull_fault) return bad("ter:InvalidArgVal", "PullMessages refused (fault)");
      async = true;
      pull_messages(req, sub_id, **b, std::move(done));
      return {};
    }
    SoapContext out;
    if (renew) {
      auto b = ctx.read_body<_wsnt__Renew>();
      if (!b) return read_error(b.error());
      std::chrono::milliseconds lifetime = kDefaultTermination;
      if ((*b)->TerminationTime) {
        WallTime abs;
        if (auto d = onvif_sim::parse_duration(*(*b)->TerminationTime))
          lifetime = *d;
        else if (parse_rfc3339(*(*b)->TerminationTime, abs))
          lifetime = std::chrono::duration_cast<std::chrono::milliseconds>(abs - device_now());
        else
          return bad("ter:InvalidArgVal", "unreadable TerminationTime");
      }
      if (lifetime.count() <= 0) return bad("ter:InvalidArgVal", "termination time in the past");
      if (lifetime > std::chrono::hours(24)) lifetime = std::chrono::hours(24);
      it->second.termination = zaulek::system_clock().realtime() + lifetime;
      WallTime now = device_now();
      _wsnt__RenewResponse r;
      soap_default__wsnt__RenewResponse(out.get(), &r);
      r.TerminationTime = format_rfc3339(now + lifetime);
      r.CurrentTime = soap_new_std__string(out.get(), -1);
      *r.CurrentTime = format_rfc3339(now);
      OutHeader o;
      o.action = "http://docs.oasis-open.org/wsn/bw-2/SubscriptionManager/RenewResponse";
      o.relates_to = h.message_id;
      return out.write(o, r);
    }
    auto b = ctx.read_body<_wsnt__Unsubscribe>();
    if (!b) return read_error(b.error());
    if (it->second.wait_timer) it->second.wait_timer->cancel();
    auto waiter = std::move(it->second.waiter);
    subs_.erase(it);
    if (waiter) waiter();
    spdlog::info("onvif sim {}: subscription {} unsubscribed", identity_.name, sub_id);
    _wsnt__UnsubscribeResponse r;
    soap_default__wsnt__UnsubscribeResponse(out.get(), &r);
    OutHeader o;
    o.action = "http://docs.oasis-open.org/wsn/bw-2/SubscriptionManager/UnsubscribeResponse";
    o.relates_to = h.message_id;
    return out.write(o, r);
  }
  spdlog::info("onvif sim {}: unsupported operation {}", identity_.name, ctx.body_tag());
  return bad("ter:ActionNotSupported", "operation not supported: " + ctx.body_tag());
}

std::string Core::pull_response(SoapContext& out, Subscription* sub, int limit, int flood) {
  WallTime now = device_now();
  _tev__PullMessagesResponse r;
  soap_default__tev__PullMessagesResponse(out.get(), &r);
  r.CurrentTime = format_rfc3339(now);
  if (sub) {
    auto left = sub->termination - zaulek::system_clock().realtime();
    r.TerminationTime =
        format_rfc3339(now + std::chrono::duration_cast<std::chrono::milliseconds>(left));
    std::string address = subscription_url(sub->id);
    if (flood > 0) limit = flood;
    while (!sub->queue.empty() && static_cast<int>(r.wsnt__NotificationMessage.size()) < limit) {
      wsnt__NotificationMessageHolderType holder;
      onvif_sim::fill_notification(out, sub->queue.front(), address, holder);
      r.wsnt__NotificationMessage.push_back(holder);
      sub->queue.pop_front();
    }
    // The flooding camera's filler: motion start and stop, one after another.
    const std::string utc = format_rfc3339(now);
    while (static_cast<int>(r.wsnt__NotificationMessage.size()) < flood) {
      bool start = r.wsnt__NotificationMessage.size() % 2 == 0;
      auto msg = onvif_sim::make_event({"motion", start}, utc, 0);
      if (!msg) break;
      wsnt__NotificationMessageHolderType holder;
      onvif_sim::fill_notification(out, *msg, address, holder);
      r.wsnt__NotificationMessage.push_back(holder);
    }
  } else {
    r.TerminationTime = r.CurrentTime;  // ended while waiting
  }
  OutHeader o;
  o.action = std::string(kEventsWsdl) + "PullPointSubscription/PullMessagesResponse";
  return out.write(o, r);
}

void Core::pull_messages(const Request& req, int sub_id, const _tev__PullMessages& body,
                         Done done) {
  int limit = std::clamp(body.MessageLimit, 1, 1000);
  const int flood = std::clamp(faults().event_flood, 0, 1000);
  auto timeout = onvif_sim::parse_duration(body.Timeout);
  if (!timeout) {
    SoapContext fctx;
    return finish(
        soap_response(req, http::status::bad_request,
                      fctx.write_fault({true, "ter:InvalidArgVal", "unreadable Timeout"})),
        std::move(done));
  }
  auto wait = std::min<std::chrono::milliseconds>(*timeout, kMaxPullWait);
  Subscription& sub = subs_.at(sub_id);
  auto respond = [self = shared_from_this(), req_version = req.version(), keep = req.keep_alive(),
                  sub_id, limit, flood, done = std::move(done)]() {
    auto it = self->subs_.find(sub_id);
    SoapContext out;
    std::string xml =
        self->pull_response(out, it == self->subs_.end() ? nullptr : &it->second, limit, flood);
    Request fake{http::verb::post, "/", req_version};
    fake.keep_alive(keep);
    self->finish(self->soap_response(fake, http::status::ok, std::move(xml)), done);
  };
  if (!sub.queue.empty() || wait.count() == 0 || flood > 0) return respond();
  if (sub.waiter) {
    // One waiting pull per subscription: the older one is answered now.
    auto older = std::move(sub.waiter);
    sub.waiter = nullptr;
    if (sub.wait_timer) sub.wait_timer->cancel();
    older();
  }
  sub.waiter = respond;
  sub.wait_timer = std::make_shared<asio::steady_timer>(strand_, wait);
  sub.wait_timer->async_wait([self = shared_from_this(), sub_id](beast::error_code ec) {
    if (ec) return;  // cancelled: an event or Unsubscribe answered
    auto it = self->subs_.find(sub_id);
    if (it == self->subs_.end() || !it->second.waiter) return;
    auto waiter = std::move(it->second.waiter);
    it->second.waiter = nullptr;
    waiter();
  });
}

// Basic Notification: one short-lived HTTP POST per Notify, loopback only.
void Core::push_notify(const Subscription& sub, const EventMessage& m) {
  std::string host, port, target;
  if (!loopback_http_url(sub.consumer, host, port, target)) return;
  if (push_in_flight_ >= kMaxPushInFlight) {
    spdlog::warn("onvif sim {}: {} Notify POSTs in flight, dropping one", identity_.name,
                 push_in_flight_);
    return;
  }
  SoapContext out;
  _wsnt__Notify n;
  soap_default__wsnt__Notify(out.get(), &n);
  wsnt__NotificationMessageHolderType holder;
  onvif_sim::fill_notification(out, m, subscription_url(sub.id), holder);
  n.NotificationMessage.push_back(holder);
  OutHeader o;
  o.action = "http://docs.oasis-open.org/wsn/bw-2/NotificationConsumer/Notify";
  o.to = sub.consumer;
  struct Post {
    beast::tcp_stream stream;
    Request req;
    Response res;
    beast::flat_buffer buf;
  };
  auto p = std::make_shared<Post>(Post{beast::tcp_stream(strand_), {}, {}, {}});
  p->req = Request{http::verb::post, target, 11};
  p->req.set(http::field::host, host + ":" + port);
  p->req.set(http::field::content_type, "application/soap+xml; charset=utf-8");
  p->req.body() = out.write(o, n);
  p->req.prepare_payload();
  ++push_in_flight_;
  boost::system::error_code ec;
  tcp::endpoint ep(asio::ip::make_address(host, ec),
                   static_cast<unsigned short>(std::atoi(port.c_str())));
  auto self = shared_from_this();
  auto end = [self, p, consumer = sub.consumer](beast::error_code e, const char* what) {
    --self->push_in_flight_;
    beast::error_code ignore;
    p->stream.socket().shutdown(tcp::socket::shutdown_both, ignore);
    if (e)
      spdlog::info("onvif sim {}: Notify to {} failed at {}: {}", self->identity_.name, consumer,
                   what, e.message());
  };
  p->stream.expires_after(std::chrono::seconds(5));
  p->stream.async_connect(ep, [p, end](beast::error_code e) {
    if (e) return end(e, "connect");
    http::async_write(p->stream, p->req, [p, end](beast::error_code e, std::size_t) {
      if (e) return end(e, "write");
      http::async_read(p->stream, p->buf, p->res,
                       [p, end](beast::error_code e, std::size_t) { end(e, "read"); });
    });
  });
}

// ---------------------------------------------------------------- Device / Media bodies

std::string Core::device_information(SoapContext& ctx) {
  SoapContext out;
  (void)ctx;
  _tds__GetDeviceInformationResponse r;
  soap_default__tds__GetDeviceInformationResponse(out.get(), &r);
  r.Manufacturer = identity_.manufacturer;
  r.Model = identity_.model;
  r.FirmwareVersion = identity_.firmware;
  r.SerialNumber = identity_.serial;
  r.HardwareId = identity_.hardware_id;
  return out.write(OutHeader{}, r);
}

std::string Core::capabilities(SoapContext& ctx) {
  (void)ctx;
  SoapContext out;
  struct soap* s = out.get();
  _tds__GetCapabilitiesResponse r;
  soap_default__tds__GetCapabilitiesResponse(s, &r);
  r.Capabilities.Device = soap_new_tt__DeviceCapabilities(s, -1);
  r.Capabilities.Device->XAddr = base_url() + kDevicePath;
  r.Capabilities.Events = soap_new_tt__EventCapabilities(s, -1);
  r.Capabilities.Events->XAddr = base_url() + kEventsPath;
  r.Capabilities.Events->WSSubscriptionPolicySupport = false;
  r.Capabilities.Events->WSPullPointSupport = !faults().no_pullpoint;
  r.Capabilities.Events->WSPausableSubscriptionManagerInterfaceSupport = false;
  r.Capabilities.Media = soap_new_tt__MediaCapabilities(s, -1);
  r.Capabilities.Media->XAddr = base_url() + kMediaPath;
  auto t = [&](bool v) {
    bool* b = static_cast<bool*>(soap_malloc(s, sizeof(bool)));
    *b = v;
    return b;
  };
  r.Capabilities.Media->StreamingCapabilities.RTPMulticast = t(false);
  r.Capabilities.Media->StreamingCapabilities.RTP_USCORETCP = t(true);
  r.Capabilities.Media->StreamingCapabilities.RTP_USCORERTSP_USCORETCP = t(true);
  return out.write(OutHeader{}, r);
}

std::string Core::services(SoapContext& ctx) {
  (void)ctx;
  SoapContext out;
  _tds__GetServicesResponse r;
  soap_default__tds__GetServicesResponse(out.get(), &r);
  auto add = [&](const char* ns, const char* path) {
    tds__Service svc;
    soap_default_tds__Service(out.get(), &svc);
    svc.Namespace = ns;
    svc.XAddr = base_url() + path;
    svc.Version.Major = 2;
    svc.Version.Minor = 60;
    r.Service.push_back(svc);
  };
  add("http://www.onvif.org/ver10/device/wsdl", kDevicePath);
  add("http://www.onvif.org/ver10/media/wsdl", kMediaPath);
  add("http://www.onvif.org/ver10/events/wsdl", kEventsPath);
  return out.write(OutHeader{}, r);
}

std::string Core::system_date_time(SoapContext& ctx) {
  (void)ctx;
  SoapContext out;
  struct soap* s = out.get();
  _tds__GetSystemDateAndTimeResponse r;
  soap_default__tds__GetSystemDateAndTimeResponse(s, &r);
  auto now = std::chrono::system_clock::to_time_t(device_now());
  std::tm tm{};
  gmtime_r(&now, &tm);
  r.SystemDateAndTime.DateTimeType = "NTP";
  r.SystemDateAndTime.DaylightSavings = false;
  r.SystemDateAndTime.TimeZone = soap_new_tt__TimeZone(s, -1);
  r.SystemDateAndTime.TimeZone->TZ = "UTC0";
  auto dt = [&] {
    auto* d = soap_new_tt__DateTime(s, -1);
    d->Time.Hour = tm.tm_hour;
    d->Time.Minute = tm.tm_min;
    d->Time.Second = tm.tm_sec;
    d->Date.Year = tm.tm_year + 1900;
    d->Date.Month = tm.tm_mon + 1;
    d->Date.Day = tm.tm_mday;
    return d;
  };
  r.SystemDateAndTime.UTCDateTime = dt();
  r.SystemDateAndTime.LocalDateTime = dt();
  return out.write(OutHeader{}, r);
}

std::string Core::scopes(SoapContext& ctx) {
  (void)ctx;
  SoapContext out;
  _tds__GetScopesResponse r;
  soap_default__tds__GetScopesResponse(out.get(), &r);
  for (const auto& uri : OnvifDevice::scopes_of(identity_)) {
    tt__Scope sc;
    soap_default_tt__Scope(out.get(), &sc);
    sc.ScopeDef =
        uri.find("/name/") != std::string::npos || uri.find("/location/") != std::string::npos
            ? "Configurable"
            : "Fixed";
    sc.ScopeItem = uri;
    r.Scopes.push_back(sc);
  }
  return out.write(OutHeader{}, r);
}

std::string Core::network_interfaces(SoapContext& ctx) {
  (void)ctx;
  SoapContext out;
  struct soap* s = out.get();
  _tds__GetNetworkInterfacesResponse r;
  soap_default__tds__GetNetworkInterfacesResponse(s, &r);
  tt__NetworkInterface ni;
  soap_default_tt__NetworkInterface(s, &ni);
  ni.token = "eth0";
  ni.Enabled = true;
  ni.Info = soap_new_tt__NetworkInterfaceInfo(s, -1);
  ni.Info->Name = soap_new_std__string(s, -1);
  *ni.Info->Name = "eth0";
  char mac[32];
  std::snprintf(mac, sizeof mac, "02:5a:4b:00:%02x:%02x", (identity_.index >> 8) & 0xff,
                identity_.index & 0xff);
  ni.Info->HwAddress = mac;
  ni.IPv4 = soap_new_tt__IPv4NetworkInterface(s, -1);
  ni.IPv4->Enabled = true;
  ni.IPv4->Config.DHCP = false;
  tt__PrefixedIPv4Address a;
  soap_default_tt__PrefixedIPv4Address(s, &a);
  a.Address = identity_.bind_host;
  a.PrefixLength = identity_.bind_host.rfind("127.", 0) == 0 ? 8 : 24;
  ni.IPv4->Config.Manual.push_back(a);
  r.NetworkInterfaces.push_back(ni);
  return out.write(OutHeader{}, r);
}

std::string Core::profiles(SoapContext& ctx) {
  (void)ctx;
  SoapContext out;
  struct soap* s = out.get();
  _trt__GetProfilesResponse r;
  soap_default__trt__GetProfilesResponse(s, &r);
  auto* vsc = soap_new_tt__VideoSourceConfiguration(s, -1);
  vsc->token = "vsc0";
  vsc->Name = "VideoSourceConfig";
  vsc->UseCount = 2;
  vsc->SourceToken = "vs0";
  vsc->Bounds.x = 0;
  vsc->Bounds.y = 0;
  vsc->Bounds.width = 1920;
  vsc->Bounds.height = 1080;
  auto encoder = [&](const char* token, const char* codec, int w, int h, int bitrate) {
    auto* e = soap_new_tt__VideoEncoderConfiguration(s, -1);
    e->token = token;
    e->Name = token;
    e->UseCount = 1;
    e->Encoding = codec;
    e->Resolution.Width = w;
    e->Resolution.Height = h;
    e->Quality = 5;
    e->RateControl = soap_new_tt__VideoRateControl(s, -1);
    e->RateControl->FrameRateLimit = 25;
    e->RateControl->EncodingInterval = 1;
    e->RateControl->BitrateLimit = bitrate;
    if (std::string(codec) == "H264") {
      e->H264 = soap_new_tt__H264Configuration(s, -1);
      e->H264->GovLength = 50;
      e->H264->H264Profile = "Main";
    }
    e->Multicast.Address.Type = "IPv4";
    e->Multicast.Address.IPv4Address = soap_new_std__string(s, -1);
    *e->Multicast.Address.IPv4Address = "0.0.0.0";
    e->Multicast.Port = 0;
    e->Multicast.TTL = 1;
    e->Multicast.AutoStart = false;
    e->SessionTimeout = "PT60S";
    return e;
  };
  auto profile = [&](const char* token, tt__VideoEncoderConfiguration* e) {
    tt__Profile p;
    soap_default_tt__Profile(s, &p);
    p.token = token;
    p.fixed = static_cast<bool*>(soap_malloc(s, sizeof(bool)));
    *p.fixed = true;
    p.Name = token;
    p.VideoSourceConfiguration = vsc;
    p.VideoEncoderConfiguration = e;
    r.Profiles.push_back(p);
  };
  profile("main", encoder("vec_main", identity_.h265 ? "H265" : "H264", 1920, 1080, 4096));
  profile("sub", encoder("vec_sub", "H264", 640, 360, 512));
  return out.write(OutHeader{}, r);
}

std::string Core::video_sources(SoapContext& ctx) {
  (void)ctx;
  SoapContext out;
  _trt__GetVideoSourcesResponse r;
  soap_default__trt__GetVideoSourcesResponse(out.get(), &r);
  tt__VideoSource vs;
  soap_default_tt__VideoSource(out.get(), &vs);
  vs.token = "vs0";
  vs.Framerate = 25;
  vs.Resolution.Width = 1920;
  vs.Resolution.Height = 1080;
  r.VideoSources.push_back(vs);
  return out.write(OutHeader{}, r);
}

// ---------------------------------------------------------------- OnvifDevice

class DeviceImpl final : public OnvifDevice {
 public:
  DeviceImpl(asio::io_context& io, CameraIdentity id)
      : core_(std::make_shared<Core>(io, std::move(id))) {}
  ~DeviceImpl() override { core_->stop(); }
  void start() override { core_->start(); }
  void stop() override { core_->stop(); }
  const CameraIdentity& identity() const override { return core_->identity(); }
  std::string device_service_url() const override { return core_->base_url() + kDevicePath; }
  std::string snapshot_url() const override { return core_->base_url() + kSnapshotPath; }
  std::chrono::system_clock::time_point fire_event(const EventSpec& event) override {
    return core_->fire_event(event);
  }
  void set_faults(const OnvifFaults& faults) override { core_->set_faults(faults); }
  OnvifFaults faults() const override { return core_->faults(); }
  std::vector<std::chrono::steady_clock::time_point> request_times(
      const std::string& operation) const override {
    return core_->request_times(operation);
  }

 private:
  std::shared_ptr<Core> core_;
};

}  // namespace

std::unique_ptr<OnvifDevice> OnvifDevice::create(boost::asio::io_context& io,
                                                 CameraIdentity identity) {
  (void)onvif_sim::snapshot_jpeg();  // encode the one JPEG up front, not per request
  return std::make_unique<DeviceImpl>(io, std::move(identity));
}

std::vector<std::string> OnvifDevice::scopes_of(const CameraIdentity& id) {
  const std::string base = "onvif://www.onvif.org/";
  return {base + "type/video_encoder", base + "Profile/Streaming",
          base + "name/" + scope_escape(id.name),
          base + "hardware/" + scope_escape(id.hardware_id.empty() ? id.model : id.hardware_id),
          base + "location/" + scope_escape(id.location)};
}

}  // namespace zaulek::sim
