#include "media/rtsp_client.h"

#include "core/camera_faults.h"
#include "core/digest.h"
#include "core/text/encoding.h"
#include "media/rtsp_parse.h"

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

constexpr std::size_t kReadChunk = 256 * 1024;

class Client final : public RtspClient, public std::enable_shared_from_this<Client> {
 public:
  Client(asio::any_io_executor ex, RtspTarget target, RtspHandlers handlers)
      : ex_(ex),
        sock_(ex),
        timer_(ex),
        keepalive_(ex),
        target_(std::move(target)),
        clock_(target_.clock ? *target_.clock : system_clock()),
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
    auto url = rtsp::parse_url(target_.url);
    if (!url) return fail(url.error().message);
    const std::string host = url->host, port = url->port;
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

  // A camera's answer that the parsers refused: counted, then failed as any error.
  void malformed(std::string what) {
    count_camera_fault(CameraFault::rtsp_answer);
    fail(std::move(what));
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
    if (!challenge_ || target_.username.empty()) return {};
    const rtsp::Challenge& c = *challenge_;
    // answer() refuses a Basic challenge unless the target allows it.
    if (c.scheme == rtsp::AuthScheme::basic)
      return "Authorization: Basic " + base64_encode(target_.username + ":" + target_.password) +
             "\r\n";
    const digest::Challenge d{c.realm, c.nonce, c.opaque, c.qop_auth};
    return "Authorization: " +
           digest::authorization(method, uri, target_.username, target_.password, d, cnonce_,
                                 c.qop_auth ? ++nonce_count_ : 0) +
           "\r\n";
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
    sock_.async_read_some(
        asio::buffer(buf_.data() + have_, buf_.size() - have_),
        [self = shared_from_this()](auto ec, std::size_t n) {
          if (self->done_) return;
          if (ec) return self->fail("read: " + ec.message());
          self->have_ += n;
          std::size_t used = 0;
          try {
            used = self->consume();
          } catch (const std::exception& e) {
            // Last line of defence: the parsers do not throw,
            // but nothing a camera sends may end the process.
            return self->malformed(std::string("internal error parsing the camera's answer: ") +
                                   e.what());
          }
          if (self->done_) return;
          std::memmove(self->buf_.data(), self->buf_.data() + used, self->have_ - used);
          self->have_ -= used;
          self->read();
        });
  }

  std::size_t consume() {
    std::size_t off = 0;
    while (off < have_ && !done_) {
      auto frame = rtsp::next_frame({buf_.data() + off, have_ - off});
      if (!frame) {
        malformed(frame.error().message);
        return off;
      }
      const auto* p = buf_.data() + off;
      switch (frame->kind) {
        case rtsp::Frame::Kind::need_more:
          return off;
        case rtsp::Frame::Kind::interleaved:
          packet(frame->channel, p + 4, frame->size - 4);
          break;
        case rtsp::Frame::Kind::answer:
          answer(frame->answer, std::string_view(reinterpret_cast<const char*>(p) + frame->body_at,
                                                 frame->size - frame->body_at));
          break;
      }
      off += frame->size;
    }
    return off;
  }

  void answer(const rtsp::Answer& a, std::string_view body) {
    if (step_ == Step::playing) return;  // keep-alive answers
    if (a.status == 401) {
      if (target_.username.empty()) return fail("the camera wants credentials");
      if (auth_tried_) return fail("wrong credentials (401)");
      auto c = rtsp::choose_challenge(a);
      if (!c) return malformed(c.error().message);
      if (c->scheme == rtsp::AuthScheme::basic && !target_.allow_basic)
        return fail(
            "the camera asks for Basic authentication (password in clear); allow it for this "
            "camera if you accept that");
      challenge_ = std::move(*c);
      auth_tried_ = true;
      return request(last_method_.c_str(), last_uri_, last_extra_);
    }
    if (a.status != 200)
      return fail(last_method_ + " answered " + std::to_string(a.status) + " " + a.reason);
    switch (step_) {
      case Step::describe:
        return described(a, body);
      case Step::setup: {
        auto s = rtsp::parse_session(rtsp::header(a, "Session").value_or(""));
        if (!s) return malformed(s.error().message);
        session_ = s->id;
        session_timeout_s_ = s->timeout_s;
        step_ = Step::play;
        return request("PLAY", target_.url, "Range: npt=0.000-\r\n");
      }
      case Step::play:
        step_ = Step::playing;
        last_rx_ = clock_.monotonic();
        watch_stream();
        schedule_keepalive();
        if (handlers_.on_playing) handlers_.on_playing(stream_);
        return;
      default:
        return;
    }
  }

  void described(const rtsp::Answer& a, std::string_view sdp) {
    std::string_view base = target_.url;
    if (auto b = rtsp::header(a, "Content-Base"); b && !b->empty())
      base = *b;
    else if (auto l = rtsp::header(a, "Content-Location"); l && !l->empty())
      base = *l;
    auto video = rtsp::parse_sdp_video(sdp, base);
    if (!video) return malformed(video.error().message);
    stream_.codec = video->codec;
    stream_.clock_rate = video->clock_rate;
    stream_.params = std::move(video->params);
    depay_ = rtp::Depayloader(stream_.codec);
    step_ = Step::setup;
    request("SETUP", video->control_url, "Transport: RTP/AVP/TCP;unicast;interleaved=0-1\r\n");
  }

  // Once playing: a check every quarter timeout instead of a timer reset per
  // packet (that would be a handler per packet, the cost we avoid).
  void watch_stream() {
    timer_.expires_after(target_.timeout / 4);
    timer_.async_wait([self = shared_from_this()](auto ec) {
      if (ec || self->done_) return;
      if (self->clock_.monotonic() - self->last_rx_ > self->target_.timeout)
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
    last_rx_ = clock_.monotonic();
    const rtp::AccessUnit* u = depay_.push({p, n});
    if (!u || !handlers_.on_unit) return;
    std::optional<std::int64_t> wall;
    if (sr_known_) {
      const auto ticks = static_cast<std::int32_t>(u->rtp_time - sr_rtp_);
      wall = sr_wall_ns_ + static_cast<std::int64_t>(ticks) * 1'000'000'000LL / stream_.clock_rate;
    }
    handlers_.on_unit(*u, wall);
  }

  void rtcp(const std::uint8_t* p, std::size_t n) {
    if (auto sr = rtsp::parse_sender_report({p, n})) {
      sr_wall_ns_ = sr->wall_ns;
      sr_rtp_ = sr->rtp_time;
      sr_known_ = true;
      ++sender_reports_;
    }
  }

  asio::any_io_executor ex_;
  tcp::socket sock_;
  asio::steady_timer timer_, keepalive_;
  RtspTarget target_;
  const Clock& clock_;
  RtspHandlers handlers_;
  std::vector<std::uint8_t> buf_;
  std::size_t have_ = 0;
  std::deque<std::string> writes_;
  Step step_ = Step::connecting;
  bool done_ = false;
  int cseq_ = 0;
  std::string session_;
  int session_timeout_s_ = 60;
  std::optional<rtsp::Challenge> challenge_;
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
  MonoTime last_rx_{};
};

}  // namespace

std::shared_ptr<RtspClient> make_rtsp_client(boost::asio::any_io_executor executor,
                                             RtspTarget target, RtspHandlers handlers) {
  return std::make_shared<Client>(std::move(executor), std::move(target), std::move(handlers));
}

}  // namespace zaulek::media
