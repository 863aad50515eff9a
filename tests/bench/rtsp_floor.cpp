// zaulek-bench-rtsp-floor: the "native ingest" floor of tests/bench/record.sh.
// ONE thread, one io_context (epoll) pulling every camera: RTSP over TCP
// (DESCRIBE, SETUP interleaved, PLAY, OPTIONS keep-alive), RTP read in large
// chunks, H.264 and H.265 depayloaded into whole access units by media/rtp.h
// (the depayloader of a native ingest), counted and dropped. It answers one
// question: what does receiving and depayloading cost without GStreamer's
// per-packet thread
// hand-offs (rtspsrc -> jitterbuffer -> depay), next to ffmpeg's recorder
// and rtspsrc ! fakesink in the same run. Nothing is written to disk.
// Runs in ctest too (tests/integration/test_rtsp_floor.py): real packets
// from gst-rtsp-server through our depayloader.
//
//   zaulek-bench-rtsp-floor rtsp://127.0.0.1:P/main ...
// Runs until SIGINT/SIGTERM, then prints one JSON line to stdout:
//   {"cameras", "playing", "frames", "keyframes", "bytes", "rtp_packets",
//    "rtcp_packets", "lost_packets", "dropped_units", "malformed", "errors": [...]}
// No authentication (the simulator without credentials).
#include <utility>  // before Asio: Boost 1.74 misses it

#include <boost/asio.hpp>

#include "media/rtp.h"

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

struct Totals {
  std::uint64_t frames = 0, keyframes = 0, bytes = 0, rtp = 0, rtcp = 0;
  std::uint64_t lost = 0, dropped = 0, malformed = 0;  // the depayloaders' counts
  int playing = 0;
  std::vector<std::string> errors;
};

std::string header_value(std::string_view head, std::string_view name) {
  std::size_t p = 0;
  while ((p = head.find("\r\n", p)) != std::string_view::npos) {
    p += 2;
    if (head.size() - p > name.size() &&
        strncasecmp(head.data() + p, name.data(), name.size()) == 0 &&
        head[p + name.size()] == ':') {
      std::size_t v = p + name.size() + 1;
      while (v < head.size() && head[v] == ' ') ++v;
      std::size_t e = head.find("\r\n", v);
      return std::string(head.substr(v, e - v));
    }
  }
  return {};
}

class Camera : public std::enable_shared_from_this<Camera> {
 public:
  Camera(net::io_context& io, std::string url, Totals& totals)
      : sock_(io), timer_(io), url_(std::move(url)), totals_(totals) {}

  void start() {
    // rtsp://HOST:PORT/PATH
    std::string_view u(url_);
    if (u.rfind("rtsp://", 0) != 0) return fail("not an rtsp:// URL");
    u.remove_prefix(7);
    auto slash = u.find('/');
    auto hostport = u.substr(0, slash);
    auto colon = hostport.rfind(':');
    std::string host(hostport.substr(0, colon));
    std::string port(colon == std::string_view::npos ? "554" : hostport.substr(colon + 1));
    tcp::resolver r(sock_.get_executor());
    boost::system::error_code ec;
    auto eps = r.resolve(host, port, ec);
    if (ec) return fail("resolve: " + ec.message());
    net::async_connect(sock_, eps, [self = shared_from_this()](auto ec, const auto&) {
      if (ec) return self->fail("connect: " + ec.message());
      self->sock_.set_option(tcp::no_delay(true));
      self->request("DESCRIBE", self->url_, "Accept: application/sdp\r\n");
      self->read();
    });
  }

 private:
  enum class Step { describe, setup, play, playing };

  void fail(std::string what) {
    if (failed_) return;
    failed_ = true;
    totals_.errors.push_back(url_ + ": " + what);
    boost::system::error_code ec;
    sock_.close(ec);
    timer_.cancel();
  }

  void request(const char* method, const std::string& url, const std::string& extra) {
    auto text = std::make_shared<std::string>(
        std::string(method) + " " + url + " RTSP/1.0\r\nCSeq: " + std::to_string(++cseq_) +
        "\r\nUser-Agent: zaulek-bench-rtsp-floor\r\n" +
        (session_.empty() ? "" : "Session: " + session_ + "\r\n") + extra + "\r\n");
    net::async_write(sock_, net::buffer(*text), [self = shared_from_this(), text](auto ec, auto) {
      if (ec) self->fail("write: " + ec.message());
    });
  }

  void read() {
    if (buf_.size() - have_ < 64 * 1024) buf_.resize(buf_.size() * 2);
    sock_.async_read_some(net::buffer(buf_.data() + have_, buf_.size() - have_),
                          [self = shared_from_this()](auto ec, std::size_t n) {
                            if (ec) return self->fail("read: " + ec.message());
                            self->have_ += n;
                            std::size_t used = self->consume();
                            if (self->failed_) return;
                            std::memmove(self->buf_.data(), self->buf_.data() + used,
                                         self->have_ - used);
                            self->have_ -= used;
                            self->read();
                          });
  }

  // Parses what is buffered: interleaved packets and RTSP responses.
  std::size_t consume() {
    const auto* p = reinterpret_cast<const std::uint8_t*>(buf_.data());
    std::size_t off = 0;
    while (off < have_ && !failed_) {
      if (p[off] == '$') {
        if (have_ - off < 4) break;
        std::size_t len = (std::size_t{p[off + 2]} << 8) | p[off + 3];
        if (have_ - off < 4 + len) break;
        if (p[off + 1] == 0)
          rtp(p + off + 4, len);
        else
          ++totals_.rtcp;
        off += 4 + len;
        continue;
      }
      std::string_view rest(buf_.data() + off, have_ - off);
      auto end = rest.find("\r\n\r\n");
      if (end == std::string_view::npos) {
        if (rest.size() > 16 * 1024) fail("RTSP response head too large");
        break;
      }
      std::string head(rest.substr(0, end + 2));
      std::size_t body_len =
          std::strtoul(header_value(head, "Content-Length").c_str(), nullptr, 10);
      if (rest.size() < end + 4 + body_len) break;
      response(head, std::string(rest.substr(end + 4, body_len)));
      off += end + 4 + body_len;
    }
    return off;
  }

  void response(const std::string& head, const std::string& body) {
    if (head.rfind("RTSP/1.0 200", 0) != 0)
      return fail("answer: " + head.substr(0, head.find("\r\n")));
    switch (step_) {
      case Step::describe: {
        // The first video section's control URL.
        auto m = body.find("m=video");
        if (m == std::string::npos) return fail("no video in the SDP");
        auto c = body.find("a=control:", m);
        if (c == std::string::npos) return fail("no a=control for the video");
        auto e = body.find_first_of("\r\n", c);
        std::string control = body.substr(c + 10, e - c - 10);
        const auto video = body.substr(m);
        if (video.find("H264/") != std::string::npos)
          depay_ = std::make_unique<zaulek::media::rtp::Depayloader>(zaulek::media::Codec::h264);
        else if (video.find("H265/") != std::string::npos)
          depay_ = std::make_unique<zaulek::media::rtp::Depayloader>(zaulek::media::Codec::h265);
        else
          return fail("video is neither H.264 nor H.265");
        std::string base = header_value(head, "Content-Base");
        if (base.empty()) base = url_ + "/";
        if (control.rfind("rtsp://", 0) == 0)
          setup_url_ = control;
        else
          setup_url_ = base + (base.back() == '/' ? "" : "/") + control;
        step_ = Step::setup;
        request("SETUP", setup_url_, "Transport: RTP/AVP/TCP;unicast;interleaved=0-1\r\n");
        return;
      }
      case Step::setup: {
        std::string s = header_value(head, "Session");
        session_ = s.substr(0, s.find(';'));
        if (auto t = s.find("timeout="); t != std::string::npos)
          timeout_s_ = std::max(2, std::atoi(s.c_str() + t + 8));
        step_ = Step::play;
        request("PLAY", url_, "Range: npt=0.000-\r\n");
        return;
      }
      case Step::play:
        step_ = Step::playing;
        ++totals_.playing;
        keepalive();
        return;
      case Step::playing:
        return;  // a keep-alive answer
    }
  }

  void keepalive() {
    timer_.expires_after(std::chrono::seconds(timeout_s_ / 2));
    timer_.async_wait([self = shared_from_this()](auto ec) {
      if (ec || self->failed_) return;
      self->request("OPTIONS", self->url_, "");
      self->keepalive();
    });
  }

  void rtp(const std::uint8_t* p, std::size_t n) {
    ++totals_.rtp;
    if (const auto* u = depay_->push({p, n})) {
      ++totals_.frames;
      totals_.bytes += u->data.size();
      if (u->keyframe) ++totals_.keyframes;
    }
  }

 public:
  void add_stats(Totals& t) const {
    if (!depay_) return;
    t.lost += depay_->stats().lost_packets;
    t.dropped += depay_->stats().dropped_units;
    t.malformed += depay_->stats().malformed;
  }

 private:
  tcp::socket sock_;
  net::steady_timer timer_;
  std::string url_, setup_url_, session_;
  Totals& totals_;
  std::vector<char> buf_ = std::vector<char>(256 * 1024);
  std::size_t have_ = 0;
  std::unique_ptr<zaulek::media::rtp::Depayloader> depay_;
  bool failed_ = false;
  int cseq_ = 0;
  int timeout_s_ = 60;
  Step step_ = Step::describe;
};

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\')
      out += '\\', out += c;
    else if (static_cast<unsigned char>(c) < 0x20)
      out += ' ';
    else
      out += c;
  }
  return out + "\"";
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || argc > 1001) {
    std::fprintf(stderr, "usage: zaulek-bench-rtsp-floor rtsp://HOST:PORT/PATH ... (1..1000)\n");
    return 1;
  }
  net::io_context io(1);
  Totals totals;
  std::vector<std::shared_ptr<Camera>> cameras;
  for (int i = 1; i < argc; ++i) {
    cameras.push_back(std::make_shared<Camera>(io, argv[i], totals));
    cameras.back()->start();
  }
  net::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&io](auto, int) { io.stop(); });
  io.run();
  for (const auto& c : cameras) c->add_stats(totals);
  std::string errors;
  for (const auto& e : totals.errors) errors += (errors.empty() ? "" : ",") + json_string(e);
  std::printf(
      "{\"cameras\":%d,\"playing\":%d,\"frames\":%llu,\"keyframes\":%llu,\"bytes\":%llu,"
      "\"rtp_packets\":%llu,\"rtcp_packets\":%llu,\"lost_packets\":%llu,"
      "\"dropped_units\":%llu,\"malformed\":%llu,\"errors\":[%s]}\n",
      argc - 1, totals.playing, static_cast<unsigned long long>(totals.frames),
      static_cast<unsigned long long>(totals.keyframes),
      static_cast<unsigned long long>(totals.bytes), static_cast<unsigned long long>(totals.rtp),
      static_cast<unsigned long long>(totals.rtcp), static_cast<unsigned long long>(totals.lost),
      static_cast<unsigned long long>(totals.dropped),
      static_cast<unsigned long long>(totals.malformed), errors.c_str());
  return 0;
}
