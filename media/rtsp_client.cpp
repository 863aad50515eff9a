#include "media/rtsp_client.h"

#include <openssl/evp.h>
#include <strings.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include <cstring>
#include <deque>
#include <random>
#include <string_view>

namespace zaulek::media {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

constexpr std::size_t kMaxHead = 16 * 1024;
constexpr std::size_t kMaxBody = 64 * 1024;
constexpr std::size_t kReadChunk = 256 * 1024;
constexpr std::int64_t kNtpToUnixSeconds = 2'208'988'800LL;

std::string header(std::string_view head, std::string_view name) {
  std::size_t p = 0;
  while ((p = head.find("\r\n", p)) != std::string_view::npos) {
    p += 2;
    if (head.size() - p > name.size() &&
        strncasecmp(head.data() + p, name.data(), name.size()) == 0 &&
        head[p + name.size()] == ':') {
      std::size_t v = p + name.size() + 1;
      while (v < head.size() && head[v] == ' ') ++v;
      return std::string(head.substr(v, head.find("\r\n", v) - v));
    }
  }
  return {};
}

// The value of key="value" or key=value in a WWW-Authenticate challenge.
std::string param(std::string_view challenge, std::string_view key) {
  std::size_t p = 0;
  while ((p = challenge.find(key, p)) != std::string_view::npos) {
    const bool start = p == 0 || challenge[p - 1] == ' ' || challenge[p - 1] == ',';
    p += key.size();
    if (!start || p >= challenge.size() || challenge[p] != '=') continue;
    ++p;
    if (p < challenge.size() && challenge[p] == '"') {
      auto e = challenge.find('"', p + 1);
      return std::string(challenge.substr(p + 1, e == std::string_view::npos ? e : e - p - 1));
    }
    auto e = challenge.find(',', p);
    return std::string(challenge.substr(p, e == std::string_view::npos ? e : e - p));
  }
  return {};
}

std::string md5_hex(const std::string& s) {
  unsigned char d[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(s.data(), s.size(), d, &n, EVP_md5(), nullptr);
  static const char* k = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < n; ++i) {
    out += k[d[i] >> 4];
    out += k[d[i] & 15];
  }
  return out;
}

std::string base64(const std::string& s) {
  std::string out(4 * ((s.size() + 2) / 3) + 1, '\0');
  const int n =
      EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                      reinterpret_cast<const unsigned char*>(s.data()), static_cast<int>(s.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

// Appends one base64 parameter set as a byte-stream NAL unit; false if bad.
bool append_param_set(std::string_view b64, std::vector<std::uint8_t>& out) {
  if (b64.empty() || b64.size() > 4096) return false;
  std::string in(b64);
  while (in.size() % 4 != 0) in += '=';
  std::vector<std::uint8_t> buf(in.size() / 4 * 3 + 1);
  const int n = EVP_DecodeBlock(buf.data(), reinterpret_cast<const unsigned char*>(in.data()),
                                static_cast<int>(in.size()));
  if (n <= 0) return false;
  std::size_t len = static_cast<std::size_t>(n);
  for (std::size_t i = in.size(); i > 0 && in[i - 1] == '='; --i) --len;  // decoder pads with 0
  out.insert(out.end(), {0, 0, 0, 1});
  out.insert(out.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(len));
  return true;
}

void append_param_sets(std::string_view list, std::vector<std::uint8_t>& out) {
  std::size_t p = 0;
  while (p <= list.size()) {
    auto e = list.find(',', p);
    if (e == std::string_view::npos) e = list.size();
    append_param_set(list.substr(p, e - p), out);
    p = e + 1;
  }
}

// fmtp value of `key` (key=value;key=value).
std::string fmtp_value(std::string_view fmtp, std::string_view key) {
  std::size_t p = 0;
  while (p < fmtp.size()) {
    while (p < fmtp.size() && (fmtp[p] == ' ' || fmtp[p] == ';')) ++p;
    auto e = fmtp.find(';', p);
    if (e == std::string_view::npos) e = fmtp.size();
    auto item = fmtp.substr(p, e - p);
    if (item.size() > key.size() && item.substr(0, key.size()) == key && item[key.size()] == '=')
      return std::string(item.substr(key.size() + 1));
    p = e + 1;
  }
  return {};
}

class Client final : public RtspClient, public std::enable_shared_from_this<Client> {
 public:
  Client(asio::any_io_executor ex, RtspTarget target, RtspHandlers handlers)
      : ex_(ex),
        sock_(ex),
        timer_(ex),
        keepalive_(ex),
        target_(std::move(target)),
        handlers_(std::move(handlers)),
        buf_(kReadChunk) {
    if (target_.timeout <= std::chrono::milliseconds::zero())
      target_.timeout = std::chrono::seconds(10);
  }

  void start() override {
    asio::post(ex_, [self = shared_from_this()] { self->begin(); });
  }

  void stop() override {
    asio::post(ex_, [self = shared_from_this()] {
      if (self->done_) return;
      self->done_ = true;
      if (self->step_ == Step::playing) self->send("TEARDOWN", self->target_.url, "");
      self->close();
    });
  }

  const rtp::DepayStats& depay_stats() const override { return depay_.stats(); }
  std::uint64_t sender_reports() const override { return sender_reports_; }

 private:
  enum class Step { connecting, describe, setup, play, playing };

  void begin() {
    std::string_view u(target_.url);
    if (u.rfind("rtsp://", 0) != 0) return fail("not an rtsp:// URL");
    u.remove_prefix(7);
    const auto slash = u.find('/');
    const auto hostport = u.substr(0, slash);
    if (hostport.find('@') != std::string_view::npos)
      return fail("credentials in the URL (give them separately)");
    std::string host, port = "554";
    if (!hostport.empty() && hostport.front() == '[') {  // [v6]:port
      const auto close = hostport.find(']');
      if (close == std::string_view::npos) return fail("bad IPv6 address in the URL");
      host = std::string(hostport.substr(1, close - 1));
      if (close + 1 < hostport.size() && hostport[close + 1] == ':')
        port = std::string(hostport.substr(close + 2));
    } else {
      const auto colon = hostport.rfind(':');
      host = std::string(hostport.substr(0, colon));
      if (colon != std::string_view::npos) port = std::string(hostport.substr(colon + 1));
    }
    arm(target_.timeout, "connecting");
    auto resolver = std::make_shared<tcp::resolver>(ex_);
    resolver->async_resolve(
        host, port, [self = shared_from_this(), resolver](auto ec, tcp::resolver::results_type r) {
          if (self->done_) return;
          if (ec) return self->fail("resolve: " + ec.message());
          asio::async_connect(self->sock_, r, [self](auto ec, const auto&) {
            if (self->done_) return;
            if (ec) return self->fail("connect: " + ec.message());
            boost::system::error_code ignored;
            self->sock_.set_option(tcp::no_delay(true), ignored);
            self->step_ = Step::describe;
            self->request("DESCRIBE", self->target_.url, "Accept: application/sdp\r\n");
            self->read();
          });
        });
  }

  // Times the current wait (connect, an answer, the stream's next data).
  void arm(std::chrono::milliseconds after, std::string what) {
    timer_.expires_after(after);
    timer_.async_wait([self = shared_from_this(), what = std::move(what)](auto ec) {
      if (ec || self->done_) return;
      self->fail("no answer while " + what + " within " +
                 std::to_string(self->target_.timeout.count()) + " ms");
    });
  }

  void fail(std::string what) {
    if (done_) return;
    done_ = true;
    close();
    if (handlers_.on_error) handlers_.on_error(what);
  }

  void close() {
    boost::system::error_code ec;
    timer_.cancel();
    keepalive_.cancel();
    if (writes_.empty()) return sock_.close(ec);
    // A queued TEARDOWN goes first (write_next closes after it), but a
    // camera that does not read gets half a second, not forever.
    timer_.expires_after(std::chrono::milliseconds(500));
    timer_.async_wait([self = shared_from_this()](auto) {
      boost::system::error_code ignored;
      self->sock_.close(ignored);
    });
  }

  std::string authorization(const char* method, const std::string& uri) const {
    if (challenge_.empty() || target_.username.empty()) return {};
    if (strncasecmp(challenge_.c_str(), "Basic", 5) == 0)
      return "Authorization: Basic " + base64(target_.username + ":" + target_.password) + "\r\n";
    const std::string realm = param(challenge_, "realm"), nonce = param(challenge_, "nonce");
    const std::string ha1 = md5_hex(target_.username + ":" + realm + ":" + target_.password);
    const std::string ha2 = md5_hex(std::string(method) + ":" + uri);
    std::string a = "Authorization: Digest username=\"" + target_.username + "\", realm=\"" +
                    realm + "\", nonce=\"" + nonce + "\", uri=\"" + uri + "\"";
    const std::string qop = param(challenge_, "qop");
    if (qop.find("auth") != std::string::npos) {
      char nc[9];
      std::snprintf(nc, sizeof nc, "%08x", ++nonce_count_);
      a += ", qop=auth, nc=" + std::string(nc) + ", cnonce=\"" + cnonce_ + "\", response=\"" +
           md5_hex(ha1 + ":" + nonce + ":" + nc + ":" + cnonce_ + ":auth:" + ha2) + "\"";
    } else {
      a += ", response=\"" + md5_hex(ha1 + ":" + nonce + ":" + ha2) + "\"";
    }
    if (auto opaque = param(challenge_, "opaque"); !opaque.empty())
      a += ", opaque=\"" + opaque + "\"";
    return a + "\r\n";
  }

  void request(const char* method, const std::string& uri, const std::string& extra) {
    last_method_ = method;
    last_uri_ = uri;
    last_extra_ = extra;
    send(method, uri, extra);
    if (step_ != Step::playing) arm(target_.timeout, std::string("waiting for ") + method);
  }

  void send(const char* method, const std::string& uri, const std::string& extra) {
    writes_.push_back(std::string(method) + " " + uri +
                      " RTSP/1.0\r\nCSeq: " + std::to_string(++cseq_) +
                      "\r\nUser-Agent: zaulek\r\n" + authorization(method, uri) +
                      (session_.empty() ? "" : "Session: " + session_ + "\r\n") + extra + "\r\n");
    if (writes_.size() == 1) write_next();
  }

  void write_next() {
    asio::async_write(sock_, asio::buffer(writes_.front()),
                      [self = shared_from_this()](auto ec, auto) {
                        self->writes_.pop_front();
                        if (ec) return self->fail("write: " + ec.message());
                        if (!self->writes_.empty()) return self->write_next();
                        if (self->done_) {
                          boost::system::error_code ignored;
                          self->sock_.close(ignored);
                        }
                      });
  }

  void read() {
    if (buf_.size() - have_ < kReadChunk / 4) buf_.resize(std::max(buf_.size() * 2, kReadChunk));
    sock_.async_read_some(asio::buffer(buf_.data() + have_, buf_.size() - have_),
                          [self = shared_from_this()](auto ec, std::size_t n) {
                            if (self->done_) return;
                            if (ec) return self->fail("read: " + ec.message());
                            self->have_ += n;
                            const std::size_t used = self->consume();
                            if (self->done_) return;
                            std::memmove(self->buf_.data(), self->buf_.data() + used,
                                         self->have_ - used);
                            self->have_ -= used;
                            self->read();
                          });
  }

  std::size_t consume() {
    const auto* p = buf_.data();
    std::size_t off = 0;
    while (off < have_ && !done_) {
      if (p[off] == '$') {  // interleaved: '$', channel, length (16 bits)
        if (have_ - off < 4) break;
        const std::size_t len = (std::size_t{p[off + 2]} << 8) | p[off + 3];
        if (have_ - off < 4 + len) break;
        packet(p[off + 1], p + off + 4, len);
        off += 4 + len;
        continue;
      }
      std::string_view rest(reinterpret_cast<const char*>(p + off), have_ - off);
      if (rest.rfind("RTSP/1.0 ", 0) != 0 && rest.size() >= 9) {
        fail("the camera sent neither an RTSP answer nor interleaved data");
        return off;
      }
      const auto end = rest.find("\r\n\r\n");
      if (end == std::string_view::npos) {
        if (rest.size() > kMaxHead) fail("RTSP answer head over 16 KiB");
        break;
      }
      const std::string head(rest.substr(0, end + 2));
      const std::string length = header(head, "Content-Length");
      const std::size_t body_len = length.empty() ? 0 : std::strtoul(length.c_str(), nullptr, 10);
      if (body_len > kMaxBody) {
        fail("RTSP answer body over 64 KiB");
        return off;
      }
      if (rest.size() < end + 4 + body_len) break;
      answer(head, std::string(rest.substr(end + 4, body_len)));
      off += end + 4 + body_len;
    }
    return off;
  }

  void answer(const std::string& head, const std::string& body) {
    const int status = std::atoi(head.c_str() + 9);
    if (step_ == Step::playing) return;  // keep-alive answers
    if (status == 401 && !target_.username.empty() && !auth_tried_) {
      challenge_ = header(head, "WWW-Authenticate");
      if (challenge_.empty()) return fail("401 without a WWW-Authenticate challenge");
      auth_tried_ = true;
      return request(last_method_.c_str(), last_uri_, last_extra_);
    }
    if (status == 401)
      return fail(target_.username.empty() ? "the camera wants credentials"
                                           : "wrong credentials (401)");
    if (status != 200)
      return fail(last_method_ + " answered " + head.substr(9, head.find("\r\n") - 9));
    switch (step_) {
      case Step::describe:
        return described(head, body);
      case Step::setup: {
        const std::string s = header(head, "Session");
        session_ = s.substr(0, s.find(';'));
        if (session_.empty() || session_.size() > 256)
          return fail("SETUP answer without a Session");
        if (auto t = s.find("timeout="); t != std::string::npos)
          session_timeout_s_ = std::clamp(std::atoi(s.c_str() + t + 8), 4, 3600);
        step_ = Step::play;
        return request("PLAY", target_.url, "Range: npt=0.000-\r\n");
      }
      case Step::play:
        step_ = Step::playing;
        last_rx_ = std::chrono::steady_clock::now();
        watch_stream();
        schedule_keepalive();
        if (handlers_.on_playing) handlers_.on_playing(stream_);
        return;
      default:
        return;
    }
  }

  void described(const std::string& head, const std::string& sdp) {
    const auto m = sdp.find("m=video");
    if (m == std::string::npos) return fail("the SDP has no video");
    const auto next_m = sdp.find("\nm=", m + 1);
    const std::string video = sdp.substr(m, next_m == std::string::npos ? next_m : next_m - m);
    auto attr = [&video](std::string_view name) -> std::string {
      const auto a = video.find(name);
      if (a == std::string::npos) return {};
      const auto e = video.find_first_of("\r\n", a);
      return video.substr(a + name.size(), e == std::string::npos ? e : e - a - name.size());
    };
    const std::string rtpmap = attr("a=rtpmap:");
    if (rtpmap.find("H264/") != std::string::npos) {
      stream_.codec = Codec::h264;
    } else if (rtpmap.find("H265/") != std::string::npos) {
      stream_.codec = Codec::h265;
    } else {
      return fail("video is neither H.264 nor H.265 (" + rtpmap.substr(0, 64) + ")");
    }
    if (auto slash = rtpmap.find('/'); slash != std::string::npos)
      stream_.clock_rate =
          static_cast<std::uint32_t>(std::strtoul(rtpmap.c_str() + slash + 1, nullptr, 10));
    if (stream_.clock_rate == 0) stream_.clock_rate = 90'000;
    const std::string fmtp = attr("a=fmtp:");
    if (stream_.codec == Codec::h264) {
      append_param_sets(fmtp_value(fmtp, "sprop-parameter-sets"), stream_.params);
    } else {
      for (const char* k : {"sprop-vps", "sprop-sps", "sprop-pps"})
        append_param_sets(fmtp_value(fmtp, k), stream_.params);
    }
    depay_ = rtp::Depayloader(stream_.codec);
    const std::string control = attr("a=control:");
    std::string base = header(head, "Content-Base");
    if (base.empty()) base = target_.url;
    std::string setup_url;
    if (control.empty() || control == "*")
      setup_url = base;
    else if (control.rfind("rtsp://", 0) == 0)
      setup_url = control;
    else
      setup_url = base + (base.back() == '/' ? "" : "/") + control;
    step_ = Step::setup;
    request("SETUP", setup_url, "Transport: RTP/AVP/TCP;unicast;interleaved=0-1\r\n");
  }

  // Once playing: a check every quarter timeout instead of a timer reset per
  // packet (that would be a handler per packet, the cost we avoid).
  void watch_stream() {
    timer_.expires_after(target_.timeout / 4);
    timer_.async_wait([self = shared_from_this()](auto ec) {
      if (ec || self->done_) return;
      if (std::chrono::steady_clock::now() - self->last_rx_ > self->target_.timeout)
        return self->fail("no data for " + std::to_string(self->target_.timeout.count()) + " ms");
      self->watch_stream();
    });
  }

  void schedule_keepalive() {
    keepalive_.expires_after(std::chrono::seconds(session_timeout_s_ / 2));
    keepalive_.async_wait([self = shared_from_this()](auto ec) {
      if (ec || self->done_) return;
      self->send("OPTIONS", self->target_.url, "");
      self->schedule_keepalive();
    });
  }

  void packet(std::uint8_t channel, const std::uint8_t* p, std::size_t n) {
    if (step_ != Step::playing) return;
    if (channel == 1) return rtcp(p, n);
    if (channel != 0) return;
    last_rx_ = std::chrono::steady_clock::now();
    const rtp::AccessUnit* u = depay_.push({p, n});
    if (!u || !handlers_.on_unit) return;
    std::optional<std::int64_t> wall;
    if (sr_known_) {
      const auto ticks = static_cast<std::int32_t>(u->rtp_time - sr_rtp_);
      wall = sr_wall_ns_ + static_cast<std::int64_t>(ticks) * 1'000'000'000LL / stream_.clock_rate;
    }
    handlers_.on_unit(*u, wall);
  }

  // RTCP compound packet: the sender report (PT 200) maps RTP time to NTP.
  void rtcp(const std::uint8_t* p, std::size_t n) {
    std::size_t o = 0;
    while (o + 4 <= n) {
      const std::size_t len = 4 * ((std::size_t{p[o + 2]} << 8 | p[o + 3]) + 1);
      if ((p[o] >> 6) != 2 || o + len > n) return;
      if (p[o + 1] == 200 && len >= 28) {
        auto u32 = [p, o](std::size_t at) {
          return (std::uint32_t{p[o + at]} << 24) | (std::uint32_t{p[o + at + 1]} << 16) |
                 (std::uint32_t{p[o + at + 2]} << 8) | p[o + at + 3];
        };
        const std::int64_t secs = static_cast<std::int64_t>(u32(8)) - kNtpToUnixSeconds;
        const std::uint32_t frac = u32(12);
        if (secs > 0) {
          sr_wall_ns_ = secs * 1'000'000'000LL +
                        static_cast<std::int64_t>((std::uint64_t{frac} * 1'000'000'000ULL) >> 32);
          sr_rtp_ = u32(16);
          sr_known_ = true;
          ++sender_reports_;
        }
      }
      o += len;
    }
  }

  asio::any_io_executor ex_;
  tcp::socket sock_;
  asio::steady_timer timer_, keepalive_;
  RtspTarget target_;
  RtspHandlers handlers_;
  std::vector<std::uint8_t> buf_;
  std::size_t have_ = 0;
  std::deque<std::string> writes_;
  Step step_ = Step::connecting;
  bool done_ = false;
  int cseq_ = 0;
  std::string session_;
  int session_timeout_s_ = 60;
  std::string challenge_;
  bool auth_tried_ = false;
  mutable unsigned nonce_count_ = 0;
  std::string cnonce_ = std::to_string(std::random_device{}());
  std::string last_method_, last_uri_, last_extra_;
  RtspStream stream_;
  rtp::Depayloader depay_{Codec::h264};
  bool sr_known_ = false;
  std::int64_t sr_wall_ns_ = 0;
  std::uint32_t sr_rtp_ = 0;
  std::uint64_t sender_reports_ = 0;
  std::chrono::steady_clock::time_point last_rx_{};
};

}  // namespace

std::shared_ptr<RtspClient> make_rtsp_client(boost::asio::any_io_executor executor,
                                             RtspTarget target, RtspHandlers handlers) {
  return std::make_shared<Client>(std::move(executor), std::move(target), std::move(handlers));
}

}  // namespace zaulek::media
