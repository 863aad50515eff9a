#include "onvif/client/snapshot.h"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "core/camera_faults.h"
#include "core/text/encoding.h"
#include "core/text/text.h"
#include "onvif/client/connect.h"

namespace zaulek::onvif {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

using detail::host_port;

constexpr std::size_t kMaxHeaderBytes = 16 * 1024;
constexpr std::size_t kReadChunk = 64 * 1024;
constexpr std::size_t kQuote = 80;  // bytes of a camera's text quoted in an error
// Bytes after the JPEG's EOI marker that are still accepted (some firmware
// pads its JPEGs to a block size).
constexpr std::size_t kMaxTrailer = 4096;

Error invalid(std::string message) {
  return make_error(ErrorKind::invalid_argument, std::move(message));
}

std::string hex_prefix(std::string_view body) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < body.size() && i < 8; ++i) {
    auto b = static_cast<unsigned char>(body[i]);
    if (i) out += ' ';
    out += digits[b >> 4];
    out += digits[b & 15];
  }
  return out;
}

}  // namespace

Result<HttpUrl> snapshot_target(std::string_view snapshot_uri, std::string_view device_url) {
  if (snapshot_uri.empty()) return invalid("the camera names no snapshot URI");
  auto target = parse_http_url(snapshot_uri);
  if (!target) {
    // parse_http_url says "'URL' is not an ONVIF device URL: why"; keep the why.
    const std::string& m = target.error().message;
    auto why = m.find("URL: ");
    return invalid("the camera's snapshot URI '" + printable(snapshot_uri, kQuote) +
                   "' is unusable: " + (why == std::string::npos ? m : m.substr(why + 5)));
  }
  auto device = parse_http_url(device_url);
  if (!device) return device.error();
  if (ascii_lower(target->host) != ascii_lower(device->host))
    return make_error(ErrorKind::permission_denied,
                      "the camera's snapshot URI names another host (" +
                          printable(target->host, kQuote) + ", the camera is " +
                          printable(device->host, kQuote) +
                          "); its credentials are not sent there");
  return target;
}

Status check_jpeg(std::string_view content_type, std::string_view body) {
  auto what = [&] {
    return " (" + std::to_string(body.size()) + " bytes of " +
           (content_type.empty() ? std::string("no Content-Type")
                                 : "'" + printable(content_type, kQuote) + "'") +
           (body.empty() ? std::string() : ", starting " + hex_prefix(body)) + ")";
  };
  if (body.size() < 4 || static_cast<unsigned char>(body[0]) != 0xff ||
      static_cast<unsigned char>(body[1]) != 0xd8 || static_cast<unsigned char>(body[2]) != 0xff)
    return invalid("the camera's snapshot is not a JPEG" + what());
  // EOI (FF D9): entropy-coded data never holds FF D9, so its absence near
  // the end means the picture was cut short.
  std::size_t from = body.size() > kMaxTrailer + 2 ? body.size() - kMaxTrailer - 2 : 2;
  if (body.find("\xff\xd9", from) == std::string_view::npos)
    return invalid("the camera's JPEG is cut short (no end-of-image marker)" + what());
  return {};
}

// One fetch: the exchange of client.cpp's Exchange in the shape of a GET,
// with one deadline for all of it. On the executor given; every handler
// runs there.
struct SnapshotFetch::Impl : std::enable_shared_from_this<Impl> {
  Impl(asio::any_io_executor ex, HttpUrl u, Credentials c, SnapshotOptions o,
       std::shared_ptr<DigestState> d, Done cb)
      : url(std::move(u)),
        credentials(std::move(c)),
        options(o),
        digest_state(d ? std::move(d) : std::make_shared<DigestState>()),
        done(std::move(cb)),
        resolver(ex),
        stream(ex),
        timer(ex) {}

  HttpUrl url;
  Credentials credentials;
  SnapshotOptions options;
  std::shared_ptr<DigestState> digest_state;
  Done done;
  tcp::resolver resolver;
  beast::tcp_stream stream;
  asio::steady_timer timer;
  beast::flat_buffer buffer;
  http::request<http::empty_body> req;
  std::optional<http::response_parser<http::string_body>> parser;
  std::string authorization;
  bool challenged = false;  // a 401 was answered already: the next one is final
  bool connected = false;
  bool finished = false;
  bool timed_out = false;
  bool cancelled = false;

  void start() {
    timer.expires_after(options.timeout);
    timer.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (ec || self->finished) return;
      self->timed_out = true;
      self->close();
    });
    // The last challenge answered at once: one round trip instead of two.
    if (digest_state->challenge && !credentials.username.empty())
      authorization = digest_answer(*digest_state->challenge);
    open();
  }

  void close() {
    resolver.cancel();
    beast::error_code ignored;
    stream.socket().close(ignored);
  }

  void cancel() {
    if (finished) return;
    cancelled = true;
    close();
  }

  std::string digest_answer(const digest::Challenge& c) {
    return digest_authorization("GET", url.target, credentials, c, ++digest_state->nc);
  }

  void open() {
    connected = false;
    detail::async_open(resolver, stream, url,
                       [self = shared_from_this()](beast::error_code ec, const char* what) {
                         self->guarded([&] {
                           if (ec) return self->fail(ec, what);
                           self->connected = true;
                           self->write();
                         });
                       });
  }

  void write() {
    req = {};
    req.method(http::verb::get);
    req.target(url.target);
    req.version(11);
    req.set(http::field::host, host_port(url));
    req.set(http::field::user_agent, "zaulekd");
    req.set(http::field::accept, "image/jpeg");
    if (!authorization.empty()) req.set(http::field::authorization, authorization);
    http::async_write(stream, req, [self = shared_from_this()](beast::error_code ec, std::size_t) {
      self->guarded([&] {
        if (ec) return self->fail(ec, "cannot send to");
        self->read();
      });
    });
  }

  // Bounded (connect.h): a declared Content-Length over the cap is refused
  // before anything is allocated for it.
  void read() {
    detail::async_read_bounded(
        stream, buffer, parser, kMaxHeaderBytes, options.max_bytes, kReadChunk,
        [self = shared_from_this()](beast::error_code ec, std::optional<std::uint64_t> declared) {
          self->guarded([&] {
            if (declared)
              return self->too_large("declared a snapshot of " + std::to_string(*declared) +
                                     " bytes (Content-Length), over the limit of " +
                                     std::to_string(self->options.max_bytes));
            self->on_read(ec);
          });
        });
  }

  void too_large(const std::string& what) {
    count_camera_fault(CameraFault::onvif_reply_too_large);
    finish(make_error(ErrorKind::resource_exhausted, "camera at " + host_port(url) + " " + what));
  }

  void on_read(beast::error_code ec) {
    if (ec == http::error::body_limit)
      return too_large("sent a snapshot larger than " + std::to_string(options.max_bytes) +
                       " bytes");
    if (ec == http::error::header_limit)
      return finish(invalid("camera at " + host_port(url) + " sent oversized HTTP headers"));
    if (ec && ec.category() == http::make_error_code(http::error::bad_version).category() &&
        ec != http::error::partial_message && ec != http::error::end_of_stream)
      return finish(invalid("camera at " + host_port(url) + " answered malformed HTTP (" +
                            ec.message() + ")"));
    if (ec) return fail(ec, "no complete snapshot from");
    on_response();
  }

  void on_response() {
    auto& res = parser->get();
    const unsigned status = res.result_int();
    if (status == 401) {
      if (credentials.username.empty())
        return finish(make_error(
            ErrorKind::unauthenticated,
            "camera at " + host_port(url) + " requires credentials for its snapshot (HTTP 401)"));
      if (challenged)
        return finish(make_error(ErrorKind::unauthenticated,
                                 "camera at " + host_port(url) +
                                     " refused the credentials for its snapshot (HTTP 401)"));
      std::vector<std::string> values;
      for (auto it = res.find(http::field::www_authenticate);
           it != res.end() && it->name() == http::field::www_authenticate; ++it)
        values.emplace_back(it->value());
      auto answer = choose_auth(values, options.allow_basic);
      if (!answer) {
        digest_state->challenge.reset();
        return finish(make_error(ErrorKind::unauthenticated,
                                 "camera at " + host_port(url) + ": " + answer.error().message));
      }
      challenged = true;
      if (answer->scheme == AuthAnswer::Scheme::digest) {
        digest_state->challenge = answer->challenge;
        digest_state->nc = 0;
        authorization = digest_answer(answer->challenge);
      } else {
        digest_state->challenge.reset();
        authorization = "Basic " + base64_encode(credentials.username + ":" + credentials.password);
      }
      if (res.keep_alive()) return write();
      beast::error_code ignored;
      stream.socket().close(ignored);
      return open();
    }
    if (status != 200)
      return finish(
          make_error(status >= 500 ? ErrorKind::unavailable : ErrorKind::failed_precondition,
                     "camera at " + host_port(url) + " answered HTTP " + std::to_string(status) +
                         " for its snapshot " + printable(url.target, kQuote)));
    auto content_type = res[http::field::content_type];
    if (auto st =
            check_jpeg(std::string_view(content_type.data(), content_type.size()), res.body());
        !st)
      return finish(invalid("camera at " + host_port(url) + ": " + st.error().message));
    finish(std::move(res.body()));
  }

  void fail(beast::error_code ec, const char* what) {
    if (timed_out)
      return finish(make_error(ErrorKind::deadline_exceeded,
                               "no snapshot from camera at " + host_port(url) + " within " +
                                   std::to_string(options.timeout.count()) + " ms" +
                                   (connected ? "" : " (no connection)")));
    if (cancelled) return finish(make_error(ErrorKind::unavailable, "snapshot fetch cancelled"));
    finish(make_error(ErrorKind::unavailable,
                      std::string(what) + " camera at " + host_port(url) + ": " + ec.message()));
  }

  void finish(Result<std::string> r) {
    if (finished) return;
    finished = true;
    timer.cancel();
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream.socket().close(ignored);
    auto d = std::move(done);
    d(std::move(r));
  }

  // An exception in a handler (a reply meeting something unforeseen) fails
  // this fetch; Asio would otherwise pass it out of run().
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
    try {
      finish(
          make_error(ErrorKind::internal, "the snapshot of camera at " + host_port(url) +
                                              " could not be handled: " + printable(what, kQuote)));
    } catch (...) {
      // The callback threw: nothing is left to tell.
    }
  }
};

std::shared_ptr<SnapshotFetch> SnapshotFetch::start(asio::any_io_executor executor, HttpUrl url,
                                                    Credentials credentials,
                                                    SnapshotOptions options,
                                                    std::shared_ptr<DigestState> digest,
                                                    Done done) {
  auto impl = std::make_shared<Impl>(executor, std::move(url), std::move(credentials), options,
                                     std::move(digest), std::move(done));
  asio::post(executor, [impl] { impl->guarded([&] { impl->start(); }); });
  return std::shared_ptr<SnapshotFetch>(new SnapshotFetch(std::move(impl)));
}

void SnapshotFetch::cancel() {
  asio::post(impl_->stream.get_executor(), [impl = impl_] { impl->cancel(); });
}

SnapshotFetch::~SnapshotFetch() = default;

}  // namespace zaulek::onvif
