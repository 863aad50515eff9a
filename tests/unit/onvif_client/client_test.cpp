// The asynchronous ONVIF client over real loopback sockets against the
// simulator's ONVIF device (in process, on its own io_context thread), and
// against a raw TCP server that misbehaves (oversized reply).
#include "onvif/client/client.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <cstdio>
#include <future>
#include <set>
#include <thread>

#include "core/camera_faults.h"
#include "core/crypto.h"
#include "core/digest.h"
#include "onvif/client/discovery_client.h"
#include "onvif/client/snapshot.h"
#include "onvif/soap_buffer.h"
#include "sim/onvif_device.h"

namespace zaulek::onvif {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

class OnvifClientTest : public ::testing::Test {
 public:
  void SetUp() override {
    crypto::init();
    guard_.emplace(io_.get_executor());
    thread_ = std::thread([this] { io_.run(); });
  }
  void TearDown() override {
    for (auto& d : devices_) d->stop();
    guard_.reset();
    io_.stop();
    thread_.join();
  }
  sim::OnvifDevice& start_device(std::string user = "admin", std::string password = "s3cret") {
    sim::CameraIdentity id;
    id.index = static_cast<int>(devices_.size());
    id.name = "sim-cam-00" + std::to_string(id.index);
    id.serial = "ZSIM00000" + std::to_string(id.index);
    id.hardware_id = "SimCam-1080";
    id.endpoint_uuid = "urn:uuid:00000000-0000-4000-8000-00000000000" + std::to_string(id.index);
    id.rtsp_main_url = "rtsp://127.0.0.1:8554/main";
    id.rtsp_sub_url = "rtsp://127.0.0.1:8554/sub";
    id.username = std::move(user);
    id.password = std::move(password);
    devices_.push_back(sim::OnvifDevice::create(io_, id));
    devices_.back()->start();
    return *devices_.back();
  }
  std::shared_ptr<Client> client(const std::string& url, Credentials c,
                                 std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
    return Client::create(asio::make_strand(io_), url, std::move(c), ClientOptions{timeout});
  }
  // Runs `op(client, callback)` on the client's executor and waits for its result.
  template <class T, class Op>
  Result<T> run(const std::shared_ptr<Client>& c, Op op) {
    auto p = std::make_shared<std::promise<Result<T>>>();
    auto f = p->get_future();
    asio::post(io_, [c, op, p] { op(*c, [p](Result<T> r) { p->set_value(std::move(r)); }); });
    if (f.wait_for(std::chrono::seconds(60)) != std::future_status::ready)
      return make_error(ErrorKind::internal, "test: no callback within 60 s");
    return f.get();
  }

  asio::io_context io_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> guard_;
  std::thread thread_;
  std::vector<std::unique_ptr<sim::OnvifDevice>> devices_;
};

TEST_F(OnvifClientTest, OnboardsASimulatedCamera) {
  auto& d = start_device();
  auto c = client(d.device_service_url(), {"admin", "s3cret"});
  auto r = run<OnboardInfo>(c, [](Client& cl, auto cb) { cl.onboard(cb); });
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->device.manufacturer, "Zaulek");
  EXPECT_EQ(r->device.serial, "ZSIM000000");
  EXPECT_EQ(r->main_uri, "rtsp://127.0.0.1:8554/main");
  EXPECT_EQ(r->sub_uri, "rtsp://127.0.0.1:8554/sub");
  EXPECT_EQ(r->main.token, "main");
  EXPECT_EQ(r->sub.token, "sub");
  EXPECT_GT(r->main.width, r->sub.width);
  EXPECT_FALSE(r->services.media.empty());
  EXPECT_FALSE(r->snapshot_uri.empty());
  EXPECT_LE(std::abs(r->clock_offset.count()), 2);
}

TEST_F(OnvifClientTest, WrongPasswordIsUnauthenticated) {
  auto& d = start_device();
  auto c = client(d.device_service_url(), {"admin", "wrong"});
  auto r = run<OnboardInfo>(c, [](Client& cl, auto cb) { cl.onboard(cb); });
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::unauthenticated);
  EXPECT_EQ(r.error().message.rfind("GetDeviceInformation: camera refused the credentials", 0), 0u)
      << r.error().message;
  EXPECT_EQ(r.error().message.find("wrong"), std::string::npos);  // never the password
}

TEST_F(OnvifClientTest, ClockSkewOfAnHourIsCompensated) {
  auto& d = start_device();
  auto f = d.faults();
  f.clock_skew = std::chrono::hours(1);
  d.set_faults(f);
  auto c = client(d.device_service_url(), {"admin", "s3cret"});
  auto r = run<OnboardInfo>(c, [](Client& cl, auto cb) { cl.onboard(cb); });
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_NEAR(static_cast<double>(r->clock_offset.count()), 3600.0, 2.0);

  // Without learning the offset first, the same credentials are refused.
  auto c2 = client(d.device_service_url(), {"admin", "s3cret"});
  auto r2 = run<DeviceInfo>(c2, [](Client& cl, auto cb) { cl.get_device_information(cb); });
  ASSERT_FALSE(r2.ok());
  EXPECT_EQ(r2.error().kind, ErrorKind::unauthenticated);
}

TEST_F(OnvifClientTest, HttpDigestRetryOnChallenge) {
  auto& d = start_device();
  auto c = client(d.device_service_url(), {"admin", "s3cret"});
  // An envelope without a UsernameToken: the device answers 401 + Digest,
  // the client retries once with Authorization: Digest.
  auto r = run<std::string>(c, [&d](Client& cl, auto cb) {
    cl.call(
        d.device_service_url(),
        [](bool) {
          return std::string(
              R"(<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body>)"
              R"(<GetDeviceInformation xmlns="http://www.onvif.org/ver10/device/wsdl"/>)"
              R"(</s:Body></s:Envelope>)");
        },
        true, cb);
  });
  ASSERT_TRUE(r.ok()) << r.error().message;
  auto info = parse_device_information(*r);
  ASSERT_TRUE(info.ok()) << info.error().message;
  EXPECT_EQ(info->model, "SimCam-1080");

  auto bad = client(d.device_service_url(), {"admin", "nope"});
  auto r2 = run<std::string>(bad, [&d](Client& cl, auto cb) {
    cl.call(
        d.device_service_url(),
        [](bool) {
          return std::string(
              R"(<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body>)"
              R"(<GetDeviceInformation xmlns="http://www.onvif.org/ver10/device/wsdl"/>)"
              R"(</s:Body></s:Envelope>)");
        },
        true, cb);
  });
  ASSERT_FALSE(r2.ok());
  EXPECT_EQ(r2.error().kind, ErrorKind::unauthenticated);
  EXPECT_EQ(r2.error().message, "camera refused the credentials (HTTP digest, 401)");
}

// A camera that offers Basic first and Digest second (two WWW-Authenticate
// fields, as some firmware sends): the SOAP call answers the Digest one,
// never Basic (the password would go in clear).
TEST_F(OnvifClientTest, DigestIsChosenAmongSeveralChallenges) {
  asio::io_context srv;
  tcp::acceptor a(srv, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  auto port = a.local_endpoint().port();
  std::string second_authorization;
  std::thread server([&] {
    tcp::socket s(srv);
    a.accept(s);
    boost::system::error_code ec;
    std::string in;
    asio::read_until(s, asio::dynamic_buffer(in), "Envelope>", ec);
    in.clear();
    std::string challenge =
        "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"cam\"\r\n"
        "WWW-Authenticate: Digest realm=\"cam\", nonce=\"n0nce\", qop=\"auth\"\r\n"
        "Content-Length: 0\r\n\r\n";
    asio::write(s, asio::buffer(challenge), ec);
    asio::read_until(s, asio::dynamic_buffer(in), "Envelope>", ec);
    boost::beast::http::request_parser<boost::beast::http::string_body> req;
    req.eager(true);
    req.put(asio::buffer(in), ec);
    second_authorization = std::string(req.get()[boost::beast::http::field::authorization]);
    std::string body = "<Envelope>ok</Envelope>";
    std::string ok = "HTTP/1.1 200 OK\r\nContent-Type: application/soap+xml\r\nContent-Length: " +
                     std::to_string(body.size()) + "\r\n\r\n" + body;
    asio::write(s, asio::buffer(ok), ec);
  });
  auto url = "http://127.0.0.1:" + std::to_string(port) + "/onvif/device_service";
  auto c = client(url, {"admin", "s3cret"});
  auto r = run<std::string>(c, [&url](Client& cl, auto cb) {
    cl.call(
        url, [](bool) { return std::string("<s:Envelope><s:Body/></s:Envelope>"); }, true, cb);
  });
  server.join();
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(*r, "<Envelope>ok</Envelope>");
  EXPECT_EQ(second_authorization.rfind("Digest ", 0), 0u) << second_authorization;
  EXPECT_TRUE(digest::verify(second_authorization, "POST", "admin", "s3cret", "cam", "n0nce"))
      << second_authorization;
}

TEST_F(OnvifClientTest, HealthReportsMalformedReplies) {
  auto& d = start_device();
  auto c = client(d.device_service_url(), {"admin", "s3cret"});
  auto ok = run<DeviceInfo>(c, [](Client& cl, auto cb) { cl.health(cb); });
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  auto f = d.faults();
  f.malformed_soap = true;
  d.set_faults(f);
  auto bad = run<DeviceInfo>(c, [](Client& cl, auto cb) { cl.health(cb); });
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().kind, ErrorKind::invalid_argument) << bad.error().message;
}

TEST_F(OnvifClientTest, UnreachableAndTimeout) {
  // A port nobody listens on: refused at once.
  std::uint16_t closed;
  {
    asio::io_context tmp;
    tcp::acceptor a(tmp, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    closed = a.local_endpoint().port();
  }
  auto c = client("http://127.0.0.1:" + std::to_string(closed) + "/onvif/device_service",
                  {"admin", "x"});
  auto r = run<WallTime>(c, [](Client& cl, auto cb) { cl.get_system_date_and_time(cb); });
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::unavailable);
  EXPECT_NE(r.error().message.find("cannot connect to camera at 127.0.0.1:"), std::string::npos)
      << r.error().message;

  // A device that answers too late: the call's deadline.
  auto& d = start_device();
  auto f = d.faults();
  f.soap_delay = std::chrono::milliseconds(3000);
  d.set_faults(f);
  auto slow = client(d.device_service_url(), {"admin", "s3cret"}, std::chrono::milliseconds(300));
  auto t = run<WallTime>(slow, [](Client& cl, auto cb) { cl.get_system_date_and_time(cb); });
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.error().kind, ErrorKind::deadline_exceeded);
  EXPECT_NE(t.error().message.find("within 300 ms"), std::string::npos) << t.error().message;
}

TEST_F(OnvifClientTest, OversizedReplyIsRefusedBeforeParsing) {
  asio::io_context srv;
  tcp::acceptor a(srv, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  auto port = a.local_endpoint().port();
  std::thread server([&] {
    tcp::socket s(srv);
    a.accept(s);
    char buf[4096];
    boost::system::error_code ec;
    s.read_some(asio::buffer(buf), ec);
    std::string head = "HTTP/1.1 200 OK\r\nContent-Type: application/soap+xml\r\nContent-Length: " +
                       std::to_string(2 * kMaxEnvelopeBytes) + "\r\n\r\n";
    asio::write(s, asio::buffer(head), ec);
    std::string chunk(64 * 1024, 'a');
    for (int i = 0; i < 32 && !ec; ++i) asio::write(s, asio::buffer(chunk), ec);
  });
  auto c = client("http://127.0.0.1:" + std::to_string(port) + "/onvif/device_service", {});
  auto r = run<WallTime>(c, [](Client& cl, auto cb) { cl.get_system_date_and_time(cb); });
  server.join();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::resource_exhausted) << r.error().message;
}

// A hostile reply on a raw socket: `reply` written in ONE write (header
// and the first body bytes in one segment), after the request is read;
// the server then waits until the client closes. Returns the call's result.
using Wrap = std::function<Client::Callback<std::string>(Client::Callback<std::string>)>;
Result<std::string> call_hostile(OnvifClientTest& t, const std::string& reply, Wrap wrap = {});

// Content-Length far over the limit, header and first body bytes together:
// refused from the header, before any body is allocated (1 TiB once
// aborted zaulekd with bad_alloc; 10 GiB grew it to 4 GB).
TEST_F(OnvifClientTest, DeclaredLengthOverTheLimitIsRefusedFromTheHeader) {
  for (std::uint64_t size :
       {std::uint64_t{1} << 40, std::uint64_t{10} << 30, std::uint64_t{kMaxEnvelopeBytes} + 1}) {
    std::string reply =
        "HTTP/1.1 200 OK\r\nContent-Type: application/soap+xml\r\n"
        "Content-Length: " +
        std::to_string(size) + "\r\n\r\n<Envelope>" + std::string(3000, 'a');
    auto r = call_hostile(*this, reply);
    ASSERT_FALSE(r.ok()) << size;
    EXPECT_EQ(r.error().kind, ErrorKind::resource_exhausted) << r.error().message;
    EXPECT_NE(r.error().message.find("camera at 127.0.0.1:"), std::string::npos)
        << r.error().message;
    EXPECT_NE(r.error().message.find("declared a reply of " + std::to_string(size) + " bytes"),
              std::string::npos)
        << r.error().message;
  }
}

// Chunked, and without any length (to the end of the connection): bounded
// by the same limit while streaming.
TEST_F(OnvifClientTest, ChunkedAndUnsizedBodiesAreBoundedWhileStreaming) {
  std::string chunk(64 * 1024, 'a');
  char size_line[32];
  std::snprintf(size_line, sizeof size_line, "%zx\r\n", chunk.size());
  std::string chunked =
      "HTTP/1.1 200 OK\r\nContent-Type: application/soap+xml\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (std::size_t sent = 0; sent <= kMaxEnvelopeBytes; sent += chunk.size())
    chunked += size_line + chunk + "\r\n";
  auto r = call_hostile(*this, chunked);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::resource_exhausted) << r.error().message;
  EXPECT_NE(r.error().message.find("larger than " + std::to_string(kMaxEnvelopeBytes)),
            std::string::npos)
      << r.error().message;

  std::string unsized = "HTTP/1.1 200 OK\r\nContent-Type: application/soap+xml\r\n\r\n" +
                        std::string(kMaxEnvelopeBytes + 4096, 'a');
  auto u = call_hostile(*this, unsized);
  ASSERT_FALSE(u.ok());
  EXPECT_EQ(u.error().kind, ErrorKind::resource_exhausted) << u.error().message;
}

// Containment: a callback that throws on a reply (its parser met something
// unforeseen) is called again with the reason; the thread and the process
// go on, and the fault is counted.
TEST_F(OnvifClientTest, ACallbackThatThrowsFailsTheCallNotTheProcess) {
  auto before = camera_faults(CameraFault::onvif_reply);
  std::vector<bool> seen;  // ok() of each invocation
  auto r = call_hostile(
      *this, "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 11\r\n\r\n<Envelope/>",
      [&seen](Client::Callback<std::string> cb) {
        return [&seen, cb](Result<std::string> r) {
          seen.push_back(r.ok());
          if (r.ok()) throw std::length_error("basic_string::_M_create");
          cb(std::move(r));
        };
      });
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::internal);
  EXPECT_NE(r.error().message.find("could not be handled: basic_string::_M_create"),
            std::string::npos)
      << r.error().message;
  EXPECT_EQ(seen, (std::vector<bool>{true, false}));
  EXPECT_EQ(camera_faults(CameraFault::onvif_reply), before + 1);
  // The client's executor still runs: the next call is answered.
  auto again = call_hostile(
      *this, "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 11\r\n\r\n<Envelope/>");
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ(*again, "<Envelope/>");
}

Result<std::string> call_hostile(OnvifClientTest& t, const std::string& reply, Wrap wrap) {
  asio::io_context srv;
  tcp::acceptor a(srv, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  auto port = a.local_endpoint().port();
  std::thread server([&] {
    tcp::socket s(srv);
    boost::system::error_code ec;
    a.accept(s, ec);
    if (ec) return;
    boost::beast::flat_buffer buf;
    boost::beast::http::request<boost::beast::http::string_body> req;
    boost::beast::http::read(s, buf, req, ec);
    if (ec) return;
    asio::write(s, asio::buffer(reply), ec);
    // Until the client gives up and closes (bounded by its call timeout).
    char c;
    while (!ec) s.read_some(asio::buffer(&c, 1), ec);
  });
  auto url = "http://127.0.0.1:" + std::to_string(port) + "/onvif/device_service";
  auto c = t.client(url, {});
  auto r = t.run<std::string>(c, [&url, &wrap](Client& cl, Client::Callback<std::string> cb) {
    cl.call(
        url, [](bool) { return std::string("<Envelope/>"); }, false, wrap ? wrap(cb) : cb);
  });
  server.join();
  return r;
}

// Keep-alive: calls share one connection; one the camera closes after
// reading a request (its idle timeout racing ours) is replaced once without
// the caller noticing; one it closed after answering is not reused.
TEST_F(OnvifClientTest, KeepsTheConnectionAliveAndReplacesAClosedOne) {
  namespace http = boost::beast::http;
  asio::io_context srv;
  tcp::acceptor a(srv, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  auto port = a.local_endpoint().port();
  std::vector<int> answered;  // requests answered per accepted connection
  std::vector<std::string> connection_headers;
  std::thread server([&] {
    // Connection 1 answers two requests, reads a third and closes; 2 answers
    // one and closes; 3 answers one.
    const int plan[] = {2, 1, 1};
    for (int conn = 0; conn < 3; ++conn) {
      tcp::socket s(srv);
      boost::system::error_code ec;
      a.accept(s, ec);
      if (ec) return;
      boost::beast::flat_buffer buf;
      answered.push_back(0);
      for (int i = 0; i <= plan[conn]; ++i) {
        http::request<http::string_body> req;
        http::read(s, buf, req, ec);
        if (ec) break;
        connection_headers.emplace_back(req[http::field::connection]);
        if (i == plan[conn]) break;  // read, never answered
        http::response<http::string_body> res{http::status::ok, 11};
        res.set(http::field::content_type, "application/soap+xml");
        res.body() = "<Envelope>" + std::to_string(conn) + "</Envelope>";
        res.prepare_payload();
        http::write(s, res, ec);
        ++answered.back();
        if (conn > 0) break;  // closes right after answering
      }
    }
  });
  auto url = "http://127.0.0.1:" + std::to_string(port) + "/onvif/device_service";
  auto c = client(url, {});
  std::vector<std::string> bodies;
  for (int i = 0; i < 4; ++i) {
    auto r = run<std::string>(c, [&url](Client& cl, auto cb) {
      cl.call(
          url, [](bool) { return std::string("<Envelope/>"); }, false, cb);
    });
    ASSERT_TRUE(r.ok()) << "call " << i << ": " << r.error().message;
    bodies.push_back(*r);
  }
  server.join();
  EXPECT_EQ(bodies, (std::vector<std::string>{"<Envelope>0</Envelope>", "<Envelope>0</Envelope>",
                                              "<Envelope>1</Envelope>", "<Envelope>2</Envelope>"}));
  EXPECT_EQ(answered, (std::vector<int>{2, 1, 1}));
  for (const auto& h : connection_headers) EXPECT_NE(h, "close");
}

// A call that creates something on the camera (Idempotent::no) goes on a
// new connection, leaves the kept-alive one for the next call, and is not
// sent again when its connection closes before the reply.
TEST_F(OnvifClientTest, NonIdempotentCallsAreNeverResent) {
  namespace http = boost::beast::http;
  asio::io_context srv;
  tcp::acceptor a(srv, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  auto port = a.local_endpoint().port();
  int accepted = 0, requests_on_second = 0;
  std::thread server([&] {
    boost::system::error_code ec;
    auto answer = [&](tcp::socket& s, boost::beast::flat_buffer& buf, const char* body) {
      http::request<http::string_body> req;
      http::read(s, buf, req, ec);
      if (ec) return;
      http::response<http::string_body> res{http::status::ok, 11};
      res.set(http::field::content_type, "application/soap+xml");
      res.body() = body;
      res.prepare_payload();
      http::write(s, res, ec);
    };
    tcp::socket first(srv), second(srv);
    boost::beast::flat_buffer b1, b2;
    a.accept(first, ec);
    if (ec) return;
    ++accepted;
    answer(first, b1, "<Envelope>first</Envelope>");
    // The subscription's connection: read the request, close unanswered.
    a.accept(second, ec);
    if (ec) return;
    ++accepted;
    http::request<http::string_body> req;
    http::read(second, b2, req, ec);
    if (!ec) ++requests_on_second;
    second.close(ec);
    // The next ordinary call comes back on the first connection.
    answer(first, b1, "<Envelope>again</Envelope>");
  });
  auto url = "http://127.0.0.1:" + std::to_string(port) + "/onvif/device_service";
  auto c = client(url, {});
  auto call = [&](Client::Idempotent i) {
    return run<std::string>(c, [&url, i](Client& cl, auto cb) {
      cl.call(
          url, [](bool) { return std::string("<Envelope/>"); }, false, cb, i);
    });
  };
  auto r1 = call(Client::Idempotent::yes);
  auto r2 = call(Client::Idempotent::no);
  auto r3 = call(Client::Idempotent::yes);
  server.join();
  ASSERT_TRUE(r1.ok()) << r1.error().message;
  EXPECT_EQ(*r1, "<Envelope>first</Envelope>");
  ASSERT_FALSE(r2.ok());  // failed, not resent on a third connection
  EXPECT_EQ(r2.error().kind, ErrorKind::unavailable) << r2.error().message;
  ASSERT_TRUE(r3.ok()) << r3.error().message;
  EXPECT_EQ(*r3, "<Envelope>again</Envelope>");
  EXPECT_EQ(accepted, 2);
  EXPECT_EQ(requests_on_second, 1);
}

TEST_F(OnvifClientTest, BadUrls) {
  for (const char* u : {"https://10.0.0.1/onvif", "ftp://x", "http://", "http://u:p@h/x",
                        "http://h:0/", "http://h:70000/", "http://h x/"}) {
    auto r = parse_http_url(u);
    EXPECT_FALSE(r.ok()) << u;
  }
  auto ok = parse_http_url("http://[::1]:8080/onvif/device_service");
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_EQ(ok->host, "::1");
  EXPECT_EQ(ok->port, "8080");
  EXPECT_EQ(ok->target, "/onvif/device_service");
  auto d = parse_http_url("http://cam.example");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->port, "80");
  EXPECT_EQ(d->target, "/");
}

// Unicast discovery against the simulator's responder on a free UDP port.
TEST_F(OnvifClientTest, UnicastDiscoveryDeduplicates) {
  auto& d0 = start_device();
  auto& d1 = start_device();
  std::uint16_t port;
  {
    asio::io_context tmp;
    asio::ip::udp::socket s(tmp, asio::ip::udp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    port = s.local_endpoint().port();
  }
  auto f = d1.faults();
  f.duplicate_discovery = 3;
  d1.set_faults(f);
  auto responder = sim::DiscoveryResponder::create(io_, "127.0.0.1", {&d0, &d1}, port);
  responder->start();
  ScanOptions o;
  o.targets = {"127.0.0.1:" + std::to_string(port)};
  o.timeout = std::chrono::milliseconds(1500);
  auto p = std::make_shared<std::promise<Result<ScanResult>>>();
  discover(asio::make_strand(io_), o, [p](Result<ScanResult> r) { p->set_value(std::move(r)); });
  auto fut = p->get_future();
  ASSERT_EQ(fut.wait_for(std::chrono::seconds(30)), std::future_status::ready);
  auto r = fut.get();
  responder->stop();
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->devices.size(), 2u);
  // 2 Probes (first and retransmission) x (1 + 3) ProbeMatches.
  EXPECT_GE(r->datagrams, 4u);
  std::set<std::string> endpoints;
  for (auto& dev : r->devices) {
    endpoints.insert(dev.endpoint);
    ASSERT_EQ(dev.xaddrs.size(), 1u);
  }
  EXPECT_TRUE(endpoints.count(d0.identity().endpoint_uuid));
  EXPECT_TRUE(endpoints.count(d1.identity().endpoint_uuid));

  ScanOptions none;
  none.timeout = std::chrono::milliseconds(100);
  auto p2 = std::make_shared<std::promise<Result<ScanResult>>>();
  discover(asio::make_strand(io_), none,
           [p2](Result<ScanResult> r) { p2->set_value(std::move(r)); });
  auto f2 = p2->get_future();
  ASSERT_EQ(f2.wait_for(std::chrono::seconds(30)), std::future_status::ready);
  auto r2 = f2.get();
  ASSERT_FALSE(r2.ok());
  EXPECT_EQ(r2.error().message,
            "discovery: no Probe sent: nothing to probe (no interface, no target)");
}

// The snapshot path zaulekd takes: the URI asked of the camera, then the JPEG
// fetched with HTTP Digest; the second fetch answers the kept challenge at
// once. Wrong credentials: unauthenticated, the password in no message.
TEST_F(OnvifClientTest, FetchesTheSnapshotWithDigest) {
  auto& d = start_device();
  auto c = client(d.device_service_url(), {"admin", "s3cret"});
  auto uri = run<std::string>(c, [](Client& cl, auto cb) { cl.snapshot_uri("main", cb); });
  ASSERT_TRUE(uri.ok()) << uri.error().message;
  EXPECT_EQ(*uri, d.snapshot_url());
  auto target = snapshot_target(*uri, d.device_service_url());
  ASSERT_TRUE(target.ok()) << target.error().message;

  auto fetch = [&](Credentials creds, std::shared_ptr<DigestState> state) {
    auto p = std::make_shared<std::promise<Result<std::string>>>();
    SnapshotOptions o;
    o.timeout = std::chrono::seconds(20);
    SnapshotFetch::start(asio::make_strand(io_), *target, std::move(creds), o, std::move(state),
                         [p](Result<std::string> r) { p->set_value(std::move(r)); });
    auto f = p->get_future();
    if (f.wait_for(std::chrono::seconds(60)) != std::future_status::ready)
      return Result<std::string>(make_error(ErrorKind::internal, "test: no callback in 60 s"));
    return f.get();
  };
  auto state = std::make_shared<DigestState>();
  auto first = fetch({"admin", "s3cret"}, state);
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_TRUE(check_jpeg("image/jpeg", *first).ok());
  ASSERT_TRUE(state->challenge.has_value());
  EXPECT_EQ(state->nc, 1u);
  auto second = fetch({"admin", "s3cret"}, state);
  ASSERT_TRUE(second.ok()) << second.error().message;
  EXPECT_EQ(state->nc, 2u);  // the kept challenge answered at once, no new 401
  EXPECT_EQ(d.snapshots_served(), 2u);

  auto wrong = fetch({"admin", "not-it-4711"}, std::make_shared<DigestState>());
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.error().kind, ErrorKind::unauthenticated);
  EXPECT_NE(wrong.error().message.find("refused the credentials"), std::string::npos)
      << wrong.error().message;
  EXPECT_EQ(wrong.error().message.find("not-it-4711"), std::string::npos);
  EXPECT_EQ(d.snapshots_served(), 2u);
}

}  // namespace
}  // namespace zaulek::onvif
