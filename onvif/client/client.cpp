#include "onvif/client/client.h"

#include "onvif/client/connect.h"
#include "onvif/client/http_auth.h"

#include <spdlog/spdlog.h>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <sys/socket.h>

#include <cerrno>
#include <optional>

#include "core/camera_faults.h"
#include "core/text/text.h"
#include "onvif/auth.h"
#include "onvif/soap_buffer.h"

namespace zaulek::onvif {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

using detail::host_port;

constexpr std::size_t kMaxHeaderBytes = 16 * 1024;
constexpr std::size_t kReadChunk = 16 * 1024;
// A kept-alive connection idle for longer than this is closed rather than
// reused: cameras drop idle connections after 5-60 s, and a request written
// into one the camera is closing is lost.
constexpr auto kMaxIdle = std::chrono::seconds(4);

// True while the peer has neither closed nor sent anything unasked for.
bool still_open(tcp::socket& s) {
  char c;
  ssize_t n = ::recv(s.native_handle(), &c, 1, MSG_PEEK | MSG_DONTWAIT);
  return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

// Bytes of a URL or an exception's text quoted in an error or a log line.
constexpr std::size_t kQuote = 120;

}  // namespace

Result<HttpUrl> parse_http_url(std::string_view url) {
  auto bad = [&](const std::string& why) {
    return make_error(ErrorKind::invalid_argument,
                      "'" + printable(url, kQuote) + "' is not an ONVIF device URL: " + why);
  };
  if (url.size() > 2048) return bad("longer than 2048 characters");
  constexpr std::string_view kScheme = "http://";
  if (url.substr(0, kScheme.size()) != kScheme) {
    if (url.substr(0, 8) == "https://") return bad("https is not supported yet; use http://");
    return bad("must start with http://");
  }
  std::string_view rest = url.substr(kScheme.size());
  auto slash = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, slash);
  HttpUrl out;
  out.target = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  if (out.target[0] != '/') out.target = "/" + out.target;
  if (auto hash = out.target.find('#'); hash != std::string::npos) out.target.resize(hash);
  if (authority.find('@') != std::string_view::npos)
    return bad("credentials belong in username/password, not in the URL");
  if (authority.empty()) return bad("no host");
  std::string_view port;
  if (authority.front() == '[') {
    auto close = authority.find(']');
    if (close == std::string_view::npos) return bad("unclosed '[' in the host");
    out.host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return bad("garbage after the IPv6 address");
      port = after.substr(1);
    }
  } else {
    auto colon = authority.rfind(':');
    out.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port = authority.substr(colon + 1);
  }
  if (out.host.empty()) return bad("no host");
  for (char c : out.host)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == ':' ||
          c == '_' || c == '%'))
      return bad("bad character in the host");
  if (port.empty()) {
    out.port = "80";
  } else {
    unsigned v = 0;
    if (!parse_number(port, v) || v == 0 || v > 65535) return bad("bad port");
    out.port = std::to_string(v);
  }
  for (char c : out.target)
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) return bad("bad character in the path");
  return out;
}

// The connection kept alive after the last call (HTTP/1.1 keep-alive), for
// the next call to the same host and port. On the client's executor only.
struct Client::Idle {
  tcp::socket socket;
  std::string host_port;
  MonoTime since;
};

std::unique_ptr<Client::Idle> Client::take_idle(const std::string& key) {
  if (!idle_) return nullptr;
  std::unique_ptr<Idle> idle = std::move(idle_);
  if (idle->host_port != key || clock_.monotonic() - idle->since > kMaxIdle ||
      !still_open(idle->socket)) {
    beast::error_code ignored;
    idle->socket.close(ignored);
    return nullptr;
  }
  return idle;
}

void Client::keep_idle(std::unique_ptr<Idle> idle) {
  idle_ = std::move(idle);
}

// One SOAP call: resolve (unless the host is an address), connect (unless
// the last call's connection is still open), POST, read (bounded), and one
// retry with HTTP Digest on a 401 challenge. A reused connection that turns
// out closed before any byte of the reply arrived is replaced by a new one
// once. Runs on the client's executor.
struct Client::Exchange : std::enable_shared_from_this<Exchange> {
  Exchange(std::shared_ptr<Client> c, HttpUrl u, std::function<std::string(bool)> m, bool a,
           Callback<std::string> d)
      : client(std::move(c)),
        url(std::move(u)),
        make(std::move(m)),
        auth(a),
        done(std::move(d)),
        resolver(client->executor_),
        stream(client->executor_),
        timer(client->executor_) {}

  std::shared_ptr<Client> client;
  HttpUrl url;
  std::function<std::string(bool)> make;
  bool auth;
  Callback<std::string> done;
  tcp::resolver resolver;
  beast::tcp_stream stream;
  asio::steady_timer timer;
  beast::flat_buffer buffer;
  http::request<http::string_body> req;
  std::optional<http::response_parser<http::string_body>> parser;
  std::string authorization;
  bool retried = false;
  bool may_reuse = true;    // Idempotent::yes
  bool reused = false;      // on the previous call's connection
  bool keep_alive = false;  // the reply allows the connection to be reused
  bool finished = false;
  bool timed_out = false;
  bool aborted = false;

  void start() {
    timer.expires_after(client->options_.timeout);
    timer.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (ec || self->finished) return;
      self->timed_out = true;
      self->resolver.cancel();
      beast::error_code ignored;
      self->stream.socket().close(ignored);
    });
    if (auto idle = may_reuse ? client->take_idle(host_port(url)) : nullptr) {
      stream.socket() = std::move(idle->socket);
      reused = true;
      return write();
    }
    open();
  }

  // A new connection.
  void open() {
    reused = false;
    detail::async_open(resolver, stream, url,
                       [self = shared_from_this()](beast::error_code ec, const char* what) {
                         self->guarded([&] {
                           if (ec) return self->fail(ec, what);
                           self->write();
                         });
                       });
  }

  // The kept-alive connection was closed by the camera before it answered
  // (its idle timeout raced our request): once more on a new one.
  bool retry_fresh(beast::error_code ec) {
    if (!reused || timed_out || aborted) return false;
    if (ec != http::error::end_of_stream && ec != asio::error::eof &&
        ec != asio::error::connection_reset && ec != asio::error::broken_pipe)
      return false;
    beast::error_code ignored;
    stream.socket().close(ignored);
    open();
    return true;
  }

  void abort() {
    aborted = true;
    resolver.cancel();
    beast::error_code ignored;
    stream.socket().close(ignored);
  }

  void write() {
    req = {};
    req.method(http::verb::post);
    req.target(url.target);
    req.version(11);
    req.set(http::field::host, host_port(url));
    req.set(http::field::user_agent, "zaulekd");
    req.set(http::field::content_type, "application/soap+xml; charset=utf-8");
    if (!authorization.empty()) req.set(http::field::authorization, authorization);
    req.body() = make(auth);
    if (req.body().empty())
      return finish(make_error(ErrorKind::internal, "could not serialize the SOAP request"));
    req.prepare_payload();
    http::async_write(stream, req, [self = shared_from_this()](beast::error_code ec, std::size_t) {
      self->guarded([&] {
        if (ec) return self->retry_fresh(ec) ? void() : self->fail(ec, "cannot send to");
        self->read();
      });
    });
  }

  // Bounded (connect.h): a declared Content-Length over the cap is refused
  // before anything is allocated for it.
  void read() {
    detail::async_read_bounded(
        stream, buffer, parser, kMaxHeaderBytes, kMaxEnvelopeBytes, kReadChunk,
        [self = shared_from_this()](beast::error_code ec, std::optional<std::uint64_t> declared) {
          self->guarded([&] {
            if (declared)
              return self->too_large("declared a reply of " + std::to_string(*declared) +
                                     " bytes (Content-Length), over the limit of " +
                                     std::to_string(kMaxEnvelopeBytes));
            self->on_read(ec);
          });
        });
  }

  void too_large(const std::string& what) {
    count_camera_fault(CameraFault::onvif_reply_too_large);
    finish(make_error(ErrorKind::resource_exhausted,
                      "camera at " + host_port(url) + " " + what + " bytes"));
  }

  void on_read(beast::error_code ec) {
    if (ec == http::error::body_limit)
      return too_large("sent a reply larger than " + std::to_string(kMaxEnvelopeBytes));
    if (ec == http::error::header_limit)
      return finish(make_error(ErrorKind::invalid_argument,
                               "camera at " + host_port(url) + " sent oversized HTTP headers"));
    if (ec && !parser->got_some() && retry_fresh(ec)) return;
    if (ec) return fail(ec, "no complete reply from");
    on_response();
  }

  void on_response() {
    auto& res = parser->get();
    unsigned status = res.result_int();
    if (status == 401) {
      // One answer per call: a second 401 means the credentials are wrong
      // (a stale nonce is not kept between calls, so it cannot be that).
      if (retried || client->credentials_.username.empty())
        return finish(make_error(ErrorKind::unauthenticated,
                                 retried ? "camera refused the credentials (HTTP digest, 401)"
                                         : "camera requires credentials (HTTP 401)"));
      std::vector<std::string> values;
      for (auto it = res.find(http::field::www_authenticate);
           it != res.end() && it->name() == http::field::www_authenticate; ++it)
        values.emplace_back(it->value());
      // SOAP is answered with Digest only: ONVIF's HTTP authentication is
      // Digest, and Basic would send the password in clear.
      auto answer = choose_auth(values, false);
      if (!answer)
        return finish(make_error(ErrorKind::unauthenticated,
                                 "camera at " + host_port(url) + ": " + answer.error().message));
      retried = true;
      authorization = onvif::digest_authorization("POST", url.target, client->credentials_,
                                                  answer->challenge, 1);
      if (res.keep_alive()) return write();
      beast::error_code ignored;
      stream.socket().close(ignored);
      return open();
    }
    bool xml = res.body().find("Envelope") != std::string::npos;
    keep_alive = res.keep_alive();
    if (status == 200 || ((status == 400 || status == 500) && xml))
      return finish(std::move(res.body()));
    return finish(
        make_error(status >= 500 ? ErrorKind::unavailable : ErrorKind::failed_precondition,
                   "camera at " + host_port(url) + " answered HTTP " + std::to_string(status) +
                       " for " + printable(url.target, kQuote)));
  }

  void fail(beast::error_code ec, const char* what) {
    if (timed_out)
      return finish(make_error(ErrorKind::deadline_exceeded,
                               "no answer from camera at " + host_port(url) + " within " +
                                   std::to_string(client->options_.timeout.count()) + " ms"));
    if (aborted) return finish(make_error(ErrorKind::unavailable, "call cancelled"));
    finish(make_error(ErrorKind::unavailable,
                      std::string(what) + " camera at " + host_port(url) + ": " + ec.message()));
  }

  void finish(Result<std::string> r) {
    if (finished) return;
    finished = true;
    timer.cancel();
    if (r && keep_alive && !timed_out && !aborted && stream.socket().is_open()) {
      client->keep_idle(std::unique_ptr<Idle>(
          new Idle{std::move(stream.socket()), host_port(url), client->clock_.monotonic()}));
    } else {
      beast::error_code ignored;
      stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    }
    beast::error_code ignored;
    stream.socket().close(ignored);
    auto d = std::move(done);
    deliver(d, std::move(r));
  }

  // Containment: an exception in a handler of this exchange (a camera's
  // reply meeting something we did not foresee) fails this call with the
  // reason; Asio would otherwise pass it out of run() and end the process.
  template <class F>
  void guarded(F&& f) noexcept {
    try {
      f();
    } catch (const std::exception& e) {
      contained(e.what());
    } catch (...) {
      contained("unknown exception");
    }
  }

  void contained(const char* what) noexcept {
    count_camera_fault(CameraFault::onvif_reply);
    spdlog::warn("onvif: handling the reply of camera at {} failed: {}", host_port(url),
                 printable(what, kQuote));
    try {
      finish(
          make_error(ErrorKind::internal, "the reply of camera at " + host_port(url) +
                                              " could not be handled: " + printable(what, kQuote)));
    } catch (...) {
      // finish() delivers inside its own guard; nothing is left to fail.
    }
  }

  // The caller's callback. One that throws on a reply (its parser met
  // something unforeseen) is called once more, with the error, so that its
  // failure path runs (state with a reason, backoff); an exception from
  // that is only counted and logged.
  void deliver(Callback<std::string>& d, Result<std::string> r) noexcept {
    const bool was_ok = r.ok();
    std::string what;
    try {
      d(std::move(r));
      return;
    } catch (const std::exception& e) {
      what = printable(e.what(), kQuote);
    } catch (...) {
      what = "unknown exception";
    }
    count_camera_fault(CameraFault::onvif_reply);
    spdlog::warn("onvif: handling the reply of camera at {} failed: {}", host_port(url), what);
    if (!was_ok) return;
    try {
      d(make_error(ErrorKind::internal,
                   "the reply of camera at " + host_port(url) + " could not be handled: " + what));
    } catch (const std::exception& e) {
      count_camera_fault(CameraFault::onvif_reply);
      spdlog::warn("onvif: handling the failure of camera at {} failed too: {}", host_port(url),
                   printable(e.what(), kQuote));
    } catch (...) {
      count_camera_fault(CameraFault::onvif_reply);
    }
  }
};

std::shared_ptr<Client> Client::create(asio::any_io_executor executor, std::string device_url,
                                       Credentials credentials, ClientOptions options,
                                       Clock& clock) {
  return std::shared_ptr<Client>(new Client(std::move(executor), std::move(device_url),
                                            std::move(credentials), options, clock));
}

Client::Client(asio::any_io_executor executor, std::string device_url, Credentials credentials,
               ClientOptions options, Clock& clock)
    : executor_(std::move(executor)),
      device_url_(std::move(device_url)),
      credentials_(std::move(credentials)),
      options_(options),
      clock_(clock) {}

Client::~Client() = default;

void Client::cancel() {
  if (auto ex = current_.lock()) ex->abort();
}

void Client::call(const std::string& url, std::function<std::string(bool)> make, bool auth,
                  Callback<std::string> done, Idempotent idempotent) {
  auto u = parse_http_url(url);
  if (!u) {
    asio::post(executor_, [done = std::move(done), e = u.error()] { done(e); });
    return;
  }
  auto ex = std::make_shared<Exchange>(shared_from_this(), std::move(*u), std::move(make), auth,
                                       std::move(done));
  ex->may_reuse = idempotent == Idempotent::yes;
  current_ = ex;
  ex->start();
}

template <class Req>
std::string Client::envelope(const Req& body, bool with_token) const {
  SoapContext ctx;
  OutHeader h;
  if (with_token && !credentials_.username.empty()) {
    auto t = make_username_token(credentials_.username, credentials_.password,
                                 clock_.realtime() + offset_);
    h.username = std::move(t.username);
    h.password_digest = std::move(t.password_digest);
    h.nonce_base64 = std::move(t.nonce_base64);
    h.created = std::move(t.created);
  }
  return ctx.write(h, body);
}

void Client::get_system_date_and_time(Callback<WallTime> done) {
  auto self = shared_from_this();
  call(
      device_url_,
      [self](bool) {
        _tds__GetSystemDateAndTime req;
        soap_default__tds__GetSystemDateAndTime(nullptr, &req);
        return self->envelope(req, false);
      },
      false,
      [self, done = std::move(done)](Result<std::string> body) {
        if (!body) return done(body.error());
        auto t = parse_system_date_and_time(*body);
        if (!t) return done(t.error());
        // Whole seconds: the device's clock has no finer resolution here.
        self->offset_ =
            std::chrono::duration_cast<std::chrono::seconds>(*t - self->clock_.realtime());
        done(*t);
      });
}

void Client::get_device_information(Callback<DeviceInfo> done) {
  auto self = shared_from_this();
  call(
      device_url_,
      [self](bool tok) {
        _tds__GetDeviceInformation req;
        soap_default__tds__GetDeviceInformation(nullptr, &req);
        return self->envelope(req, tok);
      },
      true,
      [done = std::move(done)](Result<std::string> body) {
        if (!body) return done(body.error());
        done(parse_device_information(*body));
      });
}

void Client::get_service_addrs(Callback<ServiceAddrs> done) {
  auto self = shared_from_this();
  auto fill = [self](ServiceAddrs a) {
    if (a.device.empty()) a.device = self->device_url_;
    return a;
  };
  call(
      device_url_,
      [self](bool tok) {
        _tds__GetServices req;
        soap_default__tds__GetServices(nullptr, &req);
        req.IncludeCapability = false;
        return self->envelope(req, tok);
      },
      true,
      [self, fill, done = std::move(done)](Result<std::string> body) mutable {
        if (body) {
          auto a = parse_services(*body);
          if (a && !a->media.empty()) return done(fill(*a));
          if (!a && a.error().kind == ErrorKind::unauthenticated) return done(a.error());
        } else if (body.error().kind != ErrorKind::failed_precondition) {
          return done(body.error());
        }
        // No GetServices (or no media in it): GetCapabilities.
        self->call(
            self->device_url_,
            [self](bool tok) {
              _tds__GetCapabilities req;
              soap_default__tds__GetCapabilities(nullptr, &req);
              req.Category.push_back("All");
              return self->envelope(req, tok);
            },
            true,
            [fill, done = std::move(done)](Result<std::string> b2) {
              if (!b2) return done(b2.error());
              auto a = parse_capabilities(*b2);
              if (!a) return done(a.error());
              if (a->media.empty())
                return done(make_error(ErrorKind::failed_precondition,
                                       "camera names no media service (GetServices and "
                                       "GetCapabilities)"));
              done(fill(*a));
            });
      });
}

void Client::get_profiles(const std::string& media_url, Callback<std::vector<MediaProfile>> done) {
  auto self = shared_from_this();
  call(
      media_url,
      [self](bool tok) {
        _trt__GetProfiles req;
        soap_default__trt__GetProfiles(nullptr, &req);
        return self->envelope(req, tok);
      },
      true,
      [done = std::move(done)](Result<std::string> body) {
        if (!body) return done(body.error());
        done(parse_profiles(*body));
      });
}

void Client::get_stream_uri(const std::string& media_url, const std::string& token,
                            Callback<std::string> done) {
  auto self = shared_from_this();
  call(
      media_url,
      [self, token](bool tok) {
        _trt__GetStreamUri req;
        soap_default__trt__GetStreamUri(nullptr, &req);
        req.StreamSetup.Stream = "RTP-Unicast";
        req.StreamSetup.Transport.Protocol = "RTSP";
        req.ProfileToken = token;
        return self->envelope(req, tok);
      },
      true,
      [done = std::move(done)](Result<std::string> body) {
        if (!body) return done(body.error());
        done(parse_media_uri(*body, true));
      });
}

void Client::get_snapshot_uri(const std::string& media_url, const std::string& token,
                              Callback<std::string> done) {
  auto self = shared_from_this();
  call(
      media_url,
      [self, token](bool tok) {
        _trt__GetSnapshotUri req;
        soap_default__trt__GetSnapshotUri(nullptr, &req);
        req.ProfileToken = token;
        return self->envelope(req, tok);
      },
      true,
      [done = std::move(done)](Result<std::string> body) {
        if (!body) return done(body.error());
        done(parse_media_uri(*body, false));
      });
}

namespace {
// Prefixes an error with the step that failed, keeping its kind.
Error step_error(const char* step, const Error& e) {
  return make_error(e.kind, std::string(step) + ": " + e.message);
}
}  // namespace

void Client::onboard(Callback<OnboardInfo> done, ProfileWish wish) {
  auto self = shared_from_this();
  auto info = std::make_shared<OnboardInfo>();
  auto cb = std::make_shared<Callback<OnboardInfo>>(std::move(done));
  auto fail = [cb](const char* step, const Error& e) { (*cb)(step_error(step, e)); };

  get_system_date_and_time([=](Result<WallTime> t) {
    if (!t) return fail("GetSystemDateAndTime", t.error());
    info->clock_offset = self->offset_;
    self->get_device_information([=](Result<DeviceInfo> d) {
      if (!d) return fail("GetDeviceInformation", d.error());
      info->device = *d;
      self->get_service_addrs([=](Result<ServiceAddrs> a) {
        if (!a) return fail("GetServices/GetCapabilities", a.error());
        info->services = *a;
        self->get_profiles(a->media, [=](Result<std::vector<MediaProfile>> p) {
          if (!p) return fail("GetProfiles", p.error());
          if (p->empty())
            return fail("GetProfiles",
                        make_error(ErrorKind::failed_precondition, "camera has no media profile"));
          info->profiles = *p;
          auto choice = choose_profiles(*p, wish);
          info->main = (*p)[choice.main];
          info->sub = (*p)[choice.sub];
          const std::string media = info->services.media;
          self->get_stream_uri(media, info->main.token, [=](Result<std::string> mu) {
            if (!mu) return fail("GetStreamUri (main)", mu.error());
            info->main_uri = *mu;
            self->get_stream_uri(media, info->sub.token, [=](Result<std::string> su) {
              if (!su) return fail("GetStreamUri (sub)", su.error());
              info->sub_uri = *su;
              self->get_snapshot_uri(media, info->main.token, [=](Result<std::string> snap) {
                // A camera without snapshots is still a camera.
                if (snap) info->snapshot_uri = *snap;
                (*cb)(*info);
              });
            });
          });
        });
      });
    });
  });
}

void Client::snapshot_uri(const std::string& token, Callback<std::string> done) {
  auto self = shared_from_this();
  auto cb = std::make_shared<Callback<std::string>>(std::move(done));
  auto fail = [cb](const char* step, const Error& e) { (*cb)(step_error(step, e)); };
  get_system_date_and_time([=](Result<WallTime> t) {
    if (!t && (t.error().kind == ErrorKind::unavailable ||
               t.error().kind == ErrorKind::deadline_exceeded))
      return fail("GetSystemDateAndTime", t.error());
    self->get_service_addrs([=](Result<ServiceAddrs> a) {
      if (!a) return fail("GetServices/GetCapabilities", a.error());
      self->get_snapshot_uri(a->media, token, [=](Result<std::string> uri) {
        if (!uri) return fail("GetSnapshotUri", uri.error());
        (*cb)(std::move(*uri));
      });
    });
  });
}

void Client::health(Callback<DeviceInfo> done) {
  auto self = shared_from_this();
  auto cb = std::make_shared<Callback<DeviceInfo>>(std::move(done));
  get_system_date_and_time([self, cb](Result<WallTime> t) {
    // Unreachable: no point in a second call. A fault (some cameras want
    // credentials even here): go on with the offset we have.
    if (!t && (t.error().kind == ErrorKind::unavailable ||
               t.error().kind == ErrorKind::deadline_exceeded))
      return (*cb)(t.error());
    self->get_device_information([cb](Result<DeviceInfo> d) { (*cb)(std::move(d)); });
  });
}

}  // namespace zaulek::onvif
