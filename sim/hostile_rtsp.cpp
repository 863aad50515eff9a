#include "sim/hostile_rtsp.h"

#include "sim/fleet.h"

#include <spdlog/spdlog.h>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <atomic>

namespace zaulek::sim {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

constexpr std::size_t kMaxRequest = 8 * 1024;     // the first request's head
constexpr std::size_t kMaxRead = 64 * 1024;       // all a client may send after it
constexpr auto kIdle = std::chrono::seconds(10);  // a silent client is closed

std::string with_cseq(std::string_view cseq) {
  return "CSeq: " + std::string(cseq.empty() ? "1" : cseq) + "\r\n";
}

}  // namespace

const std::vector<std::string>& hostile_rtsp_kinds() {
  static const std::vector<std::string> kinds = {
      "bare_crlf",       "no_status",      "huge_content_length", "negative_content_length",
      "basic_challenge", "huge_challenge", "interleaved_first",   "endless_line",
      "binary_noise"};
  return kinds;
}

std::string hostile_rtsp_answer(std::size_t kind, std::string_view cseq) {
  const std::string& name = hostile_rtsp_kinds().at(kind % hostile_rtsp_kinds().size());
  if (name == "bare_crlf") return "\r\n\r\n";
  if (name == "no_status") return "RTSP/1.0 \r\n" + with_cseq(cseq) + "\r\n";
  if (name == "huge_content_length")  // 1 TiB announced, a few bytes sent
    return "RTSP/1.0 200 OK\r\n" + with_cseq(cseq) +
           "Content-Type: application/sdp\r\nContent-Length: 1099511627776\r\n\r\nv=0\r\n";
  if (name == "negative_content_length")
    return "RTSP/1.0 200 OK\r\n" + with_cseq(cseq) +
           "Content-Type: application/sdp\r\nContent-Length: -1\r\n\r\nv=0\r\n";
  if (name == "basic_challenge")
    return "RTSP/1.0 401 Unauthorized\r\n" + with_cseq(cseq) +
           "WWW-Authenticate: Basic realm=\"zaulek-sim hostile\"\r\n\r\n";
  if (name == "huge_challenge")
    return "RTSP/1.0 401 Unauthorized\r\n" + with_cseq(cseq) + "WWW-Authenticate: Digest realm=\"" +
           std::string(20 * 1024, 'r') + "\", nonce=\"0123456789abcdef\"\r\n\r\n";
  if (name == "interleaved_first") {
    // RTP and RTCP frames before any answer, then a DESCRIBE answer whose
    // SDP has no video.
    std::string out("$\x00\x00\x10", 4);
    out.append(16, '\x80');
    out.append("$\x01\x00\x08", 4);
    out.append(8, '\x81');
    const std::string sdp =
        "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=audio only\r\nt=0 0\r\n"
        "m=audio 0 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=control:trackID=1\r\n";
    return out + "RTSP/1.0 200 OK\r\n" + with_cseq(cseq) +
           "Content-Type: application/sdp\r\nContent-Length: " + std::to_string(sdp.size()) +
           "\r\n\r\n" + sdp;
  }
  if (name == "endless_line")  // a header line that never ends, past any sane bound
    return "RTSP/1.0 200 OK\r\n" + with_cseq(cseq) + "X-Endless: " + std::string(64 * 1024, 'a');
  // binary_noise: a fixed pseudo-random block (no '$' or 'R' first).
  std::string out(4096, '\0');
  std::uint32_t x = 0x2545f491;
  for (auto& c : out) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    c = static_cast<char>(x);
  }
  out[0] = '\x07';
  return out;
}

namespace {

struct Counters {
  std::atomic<std::uint64_t> answers{0}, basic{0}, next{0};
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, std::shared_ptr<Counters> counters,
          std::optional<std::size_t> only_kind)
      : socket_(std::move(socket)),
        timer_(socket_.get_executor()),
        counters_(std::move(counters)),
        only_kind_(only_kind) {}

  void start() { read(); }

 private:
  void read() {
    timer_.expires_after(kIdle);
    timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      if (!ec) self->close();
    });
    socket_.async_read_some(asio::buffer(chunk_), [self = shared_from_this()](
                                                      boost::system::error_code ec, std::size_t n) {
      self->timer_.cancel();
      if (ec) return self->close();
      self->received(n);
    });
  }

  void received(std::size_t n) {
    total_ += n;
    text_.append(chunk_.data(), n);
    // Count each request with Basic credentials once (at its blank line).
    std::size_t end;
    while ((end = text_.find("\r\n\r\n")) != std::string::npos) {
      const std::string request = text_.substr(0, end + 4);
      text_.erase(0, end + 4);
      if (request.find("Authorization: Basic") != std::string::npos) {
        ++counters_->basic;
        spdlog::warn("hostile RTSP: a client sent Basic credentials");
      }
      if (!answered_) answer(request);
    }
    if (total_ > kMaxRead || text_.size() > kMaxRequest) return close();
    read();
  }

  void answer(const std::string& request) {
    answered_ = true;
    std::string cseq;
    if (auto p = request.find("CSeq:"); p != std::string::npos) {
      auto e = request.find("\r\n", p);
      cseq = request.substr(p + 5, e - p - 5);
      cseq.erase(0, cseq.find_first_not_of(' '));
      if (cseq.size() > 10) cseq.clear();
    }
    const std::size_t kind =
        only_kind_ ? *only_kind_ : counters_->next++ % hostile_rtsp_kinds().size();
    ++counters_->answers;
    spdlog::info("hostile RTSP: answering {} with {}", request.substr(0, request.find(' ')),
                 hostile_rtsp_kinds()[kind]);
    auto bytes = std::make_shared<std::string>(hostile_rtsp_answer(kind, cseq));
    // The client may hang up half-way (it should, for most kinds).
    asio::async_write(
        socket_, asio::buffer(*bytes),
        [self = shared_from_this(), bytes](boost::system::error_code, std::size_t) {});
  }

  void close() {
    boost::system::error_code ignored;
    timer_.cancel();
    socket_.close(ignored);
  }

  tcp::socket socket_;
  asio::steady_timer timer_;
  std::shared_ptr<Counters> counters_;
  std::optional<std::size_t> only_kind_;
  std::array<char, 4096> chunk_{};
  std::string text_;
  std::size_t total_ = 0;
  bool answered_ = false;
};

// Accepts until the acceptor is closed; the handler owns what it touches,
// so it may run after the HostileRtsp is gone.
void accept(std::shared_ptr<tcp::acceptor> acceptor, std::shared_ptr<Counters> counters,
            std::optional<std::size_t> only_kind) {
  auto& a = *acceptor;
  a.async_accept([acceptor = std::move(acceptor), counters = std::move(counters), only_kind](
                     boost::system::error_code ec, tcp::socket socket) mutable {
    if (ec == asio::error::operation_aborted || !acceptor->is_open()) return;
    if (!ec) std::make_shared<Session>(std::move(socket), counters, only_kind)->start();
    accept(std::move(acceptor), std::move(counters), only_kind);
  });
}

class HostileRtspImpl final : public HostileRtsp {
 public:
  HostileRtspImpl(asio::io_context& io, std::optional<std::size_t> only_kind)
      : acceptor_(std::make_shared<tcp::acceptor>(io)), only_kind_(only_kind) {}
  ~HostileRtspImpl() override {
    boost::system::error_code ignored;
    acceptor_->close(ignored);
  }

  Status listen(const std::string& host, std::uint16_t port) {
    boost::system::error_code ec;
    auto addr = asio::ip::make_address(host, ec);
    if (ec) return make_error(ErrorKind::invalid_argument, "bad bind address " + host);
    tcp::endpoint ep(addr, port);
    acceptor_->open(ep.protocol(), ec);
    if (!ec) acceptor_->set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_->bind(ep, ec);
    if (!ec) acceptor_->listen(asio::socket_base::max_listen_connections, ec);
    if (ec)
      return make_error(ErrorKind::unavailable, "hostile RTSP on " + host + ":" +
                                                    std::to_string(port) + ": " + ec.message());
    accept(acceptor_, counters_, only_kind_);
    return {};
  }

  std::uint64_t answers() const override { return counters_->answers.load(); }
  std::uint64_t basic_credentials() const override { return counters_->basic.load(); }
  std::string mode() const override {
    return only_kind_ ? hostile_rtsp_kinds()[*only_kind_] : std::string("cycle");
  }

 private:
  std::shared_ptr<tcp::acceptor> acceptor_;
  std::optional<std::size_t> only_kind_;
  std::shared_ptr<Counters> counters_ = std::make_shared<Counters>();
};

}  // namespace

Result<std::unique_ptr<HostileRtsp>> HostileRtsp::create(asio::io_context& io,
                                                         const std::string& host,
                                                         std::uint16_t port,
                                                         std::optional<std::size_t> only_kind) {
  auto h = std::make_unique<HostileRtspImpl>(io, only_kind);
  if (auto st = h->listen(host, port); !st) return st.error();
  return std::unique_ptr<HostileRtsp>(std::move(h));
}

Result<GarbageSetting> parse_rtsp_garbage(const nlohmann::json& value) {
  if (value.is_boolean()) return GarbageSetting{value.get<bool>(), std::nullopt};
  if (value.is_string()) {
    const auto& kinds = hostile_rtsp_kinds();
    const auto it = std::find(kinds.begin(), kinds.end(), value.get<std::string>());
    if (it != kinds.end())
      return GarbageSetting{true, static_cast<std::size_t>(it - kinds.begin())};
  }
  std::string names;
  for (const auto& k : hostile_rtsp_kinds()) names += (names.empty() ? "" : ", ") + k;
  return make_error(ErrorKind::invalid_argument,
                    "rtsp_garbage: expected true, false or one of " + names);
}

Status apply_rtsp_garbage(asio::io_context& io, FleetCamera& c, const GarbageSetting& setting) {
  if (c.rebooting_until != std::chrono::steady_clock::time_point{})
    return make_error(ErrorKind::failed_precondition,
                      "camera " + std::to_string(c.index) + " is rebooting");
  if (c.hostile_rtsp) {  // a new setting replaces the old server
    c.hostile_rtsp.reset();
    c.rtsp->set_down(false);
  }
  if (!setting.on) return {};
  c.rtsp->set_down(true);               // closes the listening socket on the GLib thread
  const auto url = c.rtsp->main_url();  // rtsp://host:port/main
  const auto host_start = url.find("//") + 2;
  const auto host_end = url.rfind(':');
  std::string host = url.substr(host_start, host_end - host_start);
  if (host.size() > 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
  auto h = HostileRtsp::create(io, host, c.rtsp->port(), setting.kind);
  if (!h) {
    c.rtsp->set_down(false);
    return h.error();
  }
  c.hostile_rtsp = std::move(*h);
  spdlog::info("camera {}: RTSP answers malformed replies ({})", c.index, c.hostile_rtsp->mode());
  return {};
}

void add_rtsp_garbage_json(const FleetCamera& c, nlohmann::json& faults) {
  faults["rtsp_garbage"] =
      c.hostile_rtsp ? nlohmann::json(c.hostile_rtsp->mode()) : nlohmann::json(false);
  faults["rtsp_garbage_answers"] = c.hostile_rtsp ? c.hostile_rtsp->answers() : 0;
  faults["rtsp_garbage_basic_credentials"] =
      c.hostile_rtsp ? c.hostile_rtsp->basic_credentials() : 0;
}

}  // namespace zaulek::sim
