// zaulek-bench-rtsp-floor: the "native ingest" floor of tests/bench/record.sh.
// ONE thread, one io_context (epoll) pulling every camera: RTSP over TCP
// (DESCRIBE, SETUP interleaved, PLAY, OPTIONS keep-alive), RTP read in large
// chunks, H.264 depayloaded (single NAL, STAP-A, FU-A) into whole access units
// in byte-stream form, counted and dropped. It answers one question: what
// does receiving and depayloading cost without GStreamer's per-packet thread
// hand-offs (rtspsrc -> jitterbuffer -> depay), next to ffmpeg's recorder
// and rtspsrc ! fakesink in the same run. Nothing is written to disk.
//
//   zaulek-bench-rtsp-floor rtsp://127.0.0.1:P/main ...
// Runs until SIGINT/SIGTERM, then prints one JSON line to stdout:
//   {"cameras", "playing", "frames", "keyframes", "bytes", "rtp_packets",
//    "rtcp_packets", "errors": [...]}
// No authentication (the simulator without credentials); H.264 only.
#include <utility>  // before Asio: Boost 1.74 misses it

#include <boost/asio.hpp>

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
  int playing = 0;
  std::vector<std::string> errors;
};

std::string header_value(std::string_view head, std::string_view name) {
  std::size_t p = 0;
  while ((p = head.find("\r\n", p)) != std::string_view::npos) {
    p += 2;
    if (head.size() - p > name.size() && strncasecmp(head.data() + p, name.data(), name.size()) == 0 &&
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
    auto text = std::make_shared<std::string>(std::string(method) + " " + url +
                                              " RTSP/1.0\r\nCSeq: " + std::to_string(++cseq_) +
                                              "\r\nUser-Agent: zaulek-bench-rtsp-floor\r\n" +
                                              (session_.empty() ? "" : "Session: " + session_ + "\r\n") +
                                              extra + "\r\n");
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
      std::size_t body_len = std::strtoul(header_value(head, "Content-Length").c_str(), nullptr, 10);
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
        if (body.find("H264", m) == std::string::npos) return fail("video is not H.264");
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

  void start_code() { au_.insert(au_.end(), {0, 0, 0, 1}); }

  void rtp(const std::uint8_t* p, std::size_t n) {
    ++totals_.rtp;
    if (n < 12 || (p[0] >> 6) != 2) return;
    std::size_t h = 12 + 4 * (p[0] & 0x0f);
    if (p[0] & 0x10) {  // header extension
      if (n < h + 4) return;
      h += 4 + 4 * ((std::size_t{p[h + 2]} << 8) | p[h + 3]);
    }
    if (p[0] & 0x20) n -= std::min<std::size_t>(n, p[n - 1]);  // padding
    if (n <= h) return;
    const bool marker = p[1] & 0x80;
    const std::uint8_t* pl = p + h;
    std::size_t len = n - h;
    const int type = pl[0] & 0x1f;
    if (type >= 1 && type <= 23) {
      start_code();
      au_.insert(au_.end(), pl, pl + len);
      if (type == 5) key_ = true;
    } else if (type == 24) {  // STAP-A
      std::size_t o = 1;
      while (o + 2 <= len) {
        std::size_t s = (std::size_t{pl[o]} << 8) | pl[o + 1];
        o += 2;
        if (o + s > len || s == 0) break;
        start_code();
        au_.insert(au_.end(), pl + o, pl + o + s);
        if ((pl[o] & 0x1f) == 5) key_ = true;
        o += s;
      }
    } else if (type == 28 && len > 2) {  // FU-A
      const std::uint8_t fu = pl[1];
      if (fu & 0x80) {
        start_code();
        au_.push_back(static_cast<std::uint8_t>((pl[0] & 0xe0) | (fu & 0x1f)));
        if ((fu & 0x1f) == 5) key_ = true;
      }
      au_.insert(au_.end(), pl + 2, pl + len);
    }
    if (marker && !au_.empty()) {
      ++totals_.frames;
      totals_.bytes += au_.size();
      if (key_) ++totals_.keyframes;
      au_.clear();  // capacity kept: no allocation per frame
      key_ = false;
    }
  }

  tcp::socket sock_;
  net::steady_timer timer_;
  std::string url_, setup_url_, session_;
  Totals& totals_;
  std::vector<char> buf_ = std::vector<char>(256 * 1024);
  std::size_t have_ = 0;
  std::vector<std::uint8_t> au_;
  bool key_ = false;
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
  std::string errors;
  for (const auto& e : totals.errors) errors += (errors.empty() ? "" : ",") + json_string(e);
  std::printf(
      "{\"cameras\":%d,\"playing\":%d,\"frames\":%llu,\"keyframes\":%llu,\"bytes\":%llu,"
      "\"rtp_packets\":%llu,\"rtcp_packets\":%llu,\"errors\":[%s]}\n",
      argc - 1, totals.playing, static_cast<unsigned long long>(totals.frames),
      static_cast<unsigned long long>(totals.keyframes),
      static_cast<unsigned long long>(totals.bytes), static_cast<unsigned long long>(totals.rtp),
      static_cast<unsigned long long>(totals.rtcp), errors.c_str());
  return 0;
}
