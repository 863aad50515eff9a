// media/rtsp_client.h against a scripted camera on a real loopback socket:
// every malformed answer ends in on_error with the parser's reason (never an
// exception or abort), a Basic challenge is answered only when allowed, and
// an exception thrown by a handler is contained as a failure of this client.
#include "media/rtsp_client.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>

#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace zaulek::media {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

// Answers the n-th request with answers[n]; records every request.
class ScriptedCamera {
 public:
  ScriptedCamera(asio::io_context& io, std::vector<std::string> answers)
      : acceptor_(io, {asio::ip::make_address("127.0.0.1"), 0}), answers_(std::move(answers)) {
    acceptor_.async_accept([this](boost::system::error_code ec, tcp::socket s) {
      if (ec) return;
      socket_.emplace(std::move(s));
      read();
    });
  }
  std::string url() const {
    return "rtsp://127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port()) + "/main";
  }
  std::vector<std::string> requests;

 private:
  void read() {
    asio::async_read_until(
        *socket_, buf_, "\r\n\r\n", [this](boost::system::error_code ec, std::size_t n) {
          if (ec) return;
          std::string req(asio::buffers_begin(buf_.data()), asio::buffers_begin(buf_.data()) + n);
          buf_.consume(n);
          requests.push_back(req);
          if (requests.size() <= answers_.size()) {
            auto bytes = std::make_shared<std::string>(answers_[requests.size() - 1]);
            asio::async_write(*socket_, asio::buffer(*bytes), [bytes](auto, auto) {});
          }
          read();
        });
  }

  tcp::acceptor acceptor_;
  std::optional<tcp::socket> socket_;
  asio::streambuf buf_;
  std::vector<std::string> answers_;
};

struct Outcome {
  std::optional<std::string> error;
  int units = 0;
  std::vector<std::string> requests;
};

Outcome run(std::vector<std::string> answers, bool allow_basic = false,
            std::function<void()> on_unit = {}) {
  asio::io_context io;
  ScriptedCamera cam(io, std::move(answers));
  Outcome out;
  RtspTarget t;
  t.url = cam.url();
  t.username = "admin";
  t.password = "camera-secret";
  t.allow_basic = allow_basic;
  t.timeout = std::chrono::seconds(5);
  RtspHandlers h;
  h.on_unit = [&](const rtp::AccessUnit&, std::optional<std::int64_t>) {
    ++out.units;
    if (on_unit) on_unit();
  };
  h.on_error = [&](const std::string& e) {
    out.error = e;
    io.stop();
  };
  auto client = make_rtsp_client(io.get_executor(), t, h);
  client->start();
  io.run_for(std::chrono::seconds(20));  // bounded; on_error stops it sooner
  out.requests = cam.requests;
  return out;
}

std::string expect_error(std::vector<std::string> answers) {
  auto o = run(std::move(answers));
  EXPECT_TRUE(o.error.has_value());
  return o.error.value_or("");
}

const std::string kSdp =
    "v=0\r\ns=x\r\nt=0 0\r\nm=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n"
    "a=control:trackID=0\r\n";
const std::string kDescribe =
    "RTSP/1.0 200 OK\r\nCSeq: 1\r\nContent-Length: " + std::to_string(kSdp.size()) + "\r\n\r\n" +
    kSdp;

TEST(RtspClient, MalformedAnswersFailTheClientWithTheParsersReason) {
  EXPECT_NE(expect_error({"\r\n\r\n"}).find("neither an RTSP answer"), std::string::npos);
  EXPECT_NE(expect_error({"RTSP/1.0 \r\n\r\n"}).find("not an RTSP status line"), std::string::npos);
  EXPECT_EQ(expect_error({"RTSP/1.0 200 OK\r\nContent-Length: 1099511627776\r\n\r\n"}),
            "Content-Length 1099511627776 over the 64 KiB limit");
  EXPECT_EQ(expect_error({"RTSP/1.0 200 OK\r\nContent-Length: -1\r\n\r\n"}),
            "Content-Length is not a number: \"-1\"");
  EXPECT_EQ(expect_error({"RTSP/1.0 200 OK\r\nX: " + std::string(20'000, 'a')}),
            "RTSP answer head over 16 KiB");
  EXPECT_EQ(
      expect_error({std::string("$\x00\x00\x02xy", 6) + "RTSP/1.0 200 OK\r\n"
                                                        "Content-Length: 9\r\n\r\nm=audio 0"}),
      "the SDP has no video");
  EXPECT_EQ(expect_error({"RTSP/1.0 401 Unauthorized\r\nWWW-Authenticate: Digest realm=\"" +
                          std::string(10'000, 'r') + "\", nonce=\"n\"\r\n\r\n"}),
            "WWW-Authenticate challenge over 4 KiB");
  std::string noise(3000, '\0');
  for (std::size_t i = 0; i < noise.size(); ++i) noise[i] = static_cast<char>(i * 131 + 7);
  EXPECT_NE(expect_error({noise}).find("neither an RTSP answer"), std::string::npos);
  EXPECT_EQ(expect_error({kDescribe, "RTSP/1.0 200 OK\r\nCSeq: 2\r\n\r\n"}),
            "SETUP answer without a usable Session");
}

TEST(RtspClient, BasicChallengeIsRefusedUnlessAllowedAndNothingIsSent) {
  const std::string basic =
      "RTSP/1.0 401 Unauthorized\r\nCSeq: 1\r\nWWW-Authenticate: Basic realm=\"cam\"\r\n\r\n";
  auto refused = run({basic});
  EXPECT_EQ(refused.error.value_or(""),
            "the camera asks for Basic authentication (password in clear); allow it for this "
            "camera if you accept that");
  ASSERT_EQ(refused.requests.size(), 1u);
  EXPECT_EQ(refused.requests[0].find("Authorization"), std::string::npos);
  EXPECT_EQ(refused.error->find("camera-secret"), std::string::npos);

  auto allowed = run({basic, "RTSP/1.0 403 Forbidden\r\nCSeq: 2\r\n\r\n"}, true);
  ASSERT_EQ(allowed.requests.size(), 2u);
  // admin:camera-secret
  EXPECT_NE(allowed.requests[1].find("Authorization: Basic YWRtaW46Y2FtZXJhLXNlY3JldA=="),
            std::string::npos);
  EXPECT_EQ(allowed.error.value_or(""), "DESCRIBE answered 403 Forbidden");
}

TEST(RtspClient, DigestIsPreferredWhenBothAreOffered) {
  auto o =
      run({"RTSP/1.0 401 Unauthorized\r\nCSeq: 1\r\n"
           "WWW-Authenticate: Basic realm=\"cam\"\r\n"
           "WWW-Authenticate: Digest realm=\"cam\", nonce=\"abc\", qop=\"auth\"\r\n\r\n",
           "RTSP/1.0 401 Unauthorized\r\nCSeq: 2\r\n\r\n"});
  ASSERT_EQ(o.requests.size(), 2u);
  EXPECT_NE(o.requests[1].find("Authorization: Digest username=\"admin\", realm=\"cam\""),
            std::string::npos);
  EXPECT_NE(o.requests[1].find("qop=auth"), std::string::npos);
  EXPECT_EQ(o.error.value_or(""), "wrong credentials (401)");
}

TEST(RtspClient, AnExceptionInAHandlerFailsOnlyThisClient) {
  // DESCRIBE, SETUP, PLAY, then one RTP packet (an IDR slice, marker set).
  std::string rtp("$\x00\x00\x14", 4);
  const unsigned char header[12] = {0x80, 0xe0, 0, 1, 0, 0, 0, 90, 1, 2, 3, 4};
  rtp.append(reinterpret_cast<const char*>(header), 12);
  rtp += std::string("\x65\x88\x84\x00\x33\xff\x00\x10", 8);
  auto o = run({kDescribe, "RTSP/1.0 200 OK\r\nCSeq: 2\r\nSession: 1234;timeout=60\r\n\r\n",
                "RTSP/1.0 200 OK\r\nCSeq: 3\r\nSession: 1234\r\n\r\n" + rtp},
               false, [] { throw std::runtime_error("handler blew up"); });
  EXPECT_EQ(o.units, 1);
  EXPECT_EQ(o.error.value_or(""), "internal error parsing the camera's answer: handler blew up");
  ASSERT_EQ(o.requests.size(), 3u);
  EXPECT_EQ(o.requests[1].rfind("SETUP rtsp://127.0.0.1:", 0), 0u);
  EXPECT_NE(o.requests[1].find("/main/trackID=0 RTSP/1.0"), std::string::npos);
}

}  // namespace
}  // namespace zaulek::media
