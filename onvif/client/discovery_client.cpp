#include "onvif/client/discovery_client.h"

#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>

#include <spdlog/spdlog.h>
#include <algorithm>
#include <array>
#include <atomic>
#include <boost/asio/ip/multicast.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <map>
#include <memory>
#include <optional>

#include "core/camera_faults.h"
#include "core/text/text.h"
#include "core/text/utf8.h"

namespace zaulek::onvif {

namespace asio = boost::asio;
using udp = asio::ip::udp;

namespace {

// Datagrams one scan reads at most: a flood during the scan's timeout costs
// parsing up to here, then only counting.
constexpr std::size_t kMaxScanDatagrams = 16384;

// The first IPv4 address of interface `name`, if any.
std::optional<asio::ip::address_v4> interface_address(const std::string& name) {
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return std::nullopt;
  std::optional<asio::ip::address_v4> out;
  for (ifaddrs* i = list; i; i = i->ifa_next) {
    if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET || name != i->ifa_name) continue;
    auto* sin = reinterpret_cast<sockaddr_in*>(i->ifa_addr);
    out = asio::ip::address_v4(ntohl(sin->sin_addr.s_addr));
    break;
  }
  freeifaddrs(list);
  return out;
}

void add_unique(std::vector<std::string>& to, const std::vector<std::string>& from) {
  for (const auto& s : from)
    if (std::find(to.begin(), to.end(), s) == to.end()) to.push_back(s);
}

class Scan : public std::enable_shared_from_this<Scan> {
 public:
  Scan(asio::any_io_executor ex, ScanOptions o, std::function<void(Result<ScanResult>)> d)
      : options_(std::move(o)), done_(std::move(d)), socket_(ex), timer_(ex), resend_(ex) {}

  void start() {
    boost::system::error_code ec;
    socket_.open(udp::v4(), ec);
    if (!ec) socket_.bind(udp::endpoint(asio::ip::address_v4::any(), 0), ec);
    if (ec)
      return finish_error(make_error(ErrorKind::unavailable,
                                     "discovery: cannot open a UDP socket: " + ec.message()));
    message_id_ = new_message_id();
    probe_ = build_probe(message_id_);
    for (const auto& name : options_.interfaces) {
      auto addr = interface_address(name);
      if (!addr) {
        result_.warnings.push_back("interface '" + name + "' has no IPv4 address");
        continue;
      }
      mcast_.push_back(*addr);
    }
    for (const auto& t : options_.targets) {
      auto p = parse_target(t, options_.port);
      if (!p) {
        result_.warnings.push_back(p.error().message);
        continue;
      }
      unicast_.emplace_back(asio::ip::make_address_v4(p->first), p->second);
    }
    if (!send_all()) {
      std::string why = result_.warnings.empty() ? "nothing to probe (no interface, no target)"
                                                 : result_.warnings.front();
      return finish_error(make_error(ErrorKind::unavailable, "discovery: no Probe sent: " + why));
    }
    receive();
    auto self = shared_from_this();
    resend_.expires_after(options_.timeout / 3);
    resend_.async_wait([self](boost::system::error_code e) {
      if (!e && !self->finished_) self->send_all();
    });
    timer_.expires_after(options_.timeout);
    timer_.async_wait([self](boost::system::error_code) { self->finish(); });
  }

 private:
  // true if at least one Probe left.
  bool send_all() {
    bool any = false;
    boost::system::error_code ec;
    for (const auto& addr : mcast_) {
      socket_.set_option(asio::ip::multicast::outbound_interface(addr), ec);
      if (!ec) socket_.set_option(asio::ip::multicast::enable_loopback(true), ec);
      if (!ec)
        socket_.send_to(
            asio::buffer(probe_),
            udp::endpoint(asio::ip::make_address_v4(kDiscoveryMulticast), options_.port), 0, ec);
      if (ec) {
        if (!warned_)
          result_.warnings.push_back("multicast Probe via " + addr.to_string() +
                                     " not sent: " + ec.message());
      } else {
        any = true;
        result_.multicast_sent = true;
      }
    }
    for (const auto& ep : unicast_) {
      socket_.send_to(asio::buffer(probe_), ep, 0, ec);
      if (ec) {
        if (!warned_)
          result_.warnings.push_back("Probe to " + ep.address().to_string() + ":" +
                                     std::to_string(ep.port()) + " not sent: " + ec.message());
      } else {
        any = true;
      }
    }
    warned_ = true;
    return any;
  }

  void receive() {
    socket_.async_receive_from(
        asio::buffer(buf_), sender_,
        [self = shared_from_this()](boost::system::error_code ec, std::size_t n) {
          if (ec || self->finished_) return;
          self->guarded_datagram(n);
          self->receive();
        });
  }

  // Containment: an exception while reading one datagram (anyone on the
  // network may send it) ignores that datagram, never ends the scan or the
  // thread.
  void guarded_datagram(std::size_t n) noexcept {
    try {
      on_datagram(n);
    } catch (const std::exception& e) {
      ++result_.ignored;
      count_camera_fault(CameraFault::onvif_reply);
      spdlog::warn("discovery: a datagram from {} could not be read: {}",
                   sender_.address().to_string(), to_valid_utf8(e.what(), 200));
    } catch (...) {
      ++result_.ignored;
      count_camera_fault(CameraFault::onvif_reply);
    }
  }

  void on_datagram(std::size_t n) {
    ++result_.datagrams;
    // The buffer holds any UDP datagram (65,507 bytes at most) and one byte
    // more; parsing is bounded per datagram (kMaxDatagramBytes, then the
    // XML pre-scan) and per scan (kMaxScanDatagrams).
    if (n > kMaxDatagramBytes || result_.datagrams > kMaxScanDatagrams) {
      ++result_.ignored;
      return;
    }
    std::string relates_to;
    auto matches = parse_probe_matches(std::string_view(buf_.data(), n), &relates_to);
    if (!matches || (!relates_to.empty() && relates_to != message_id_)) {
      ++result_.ignored;
      return;
    }
    for (auto& m : *matches) {
      if (m.endpoint.empty()) {
        ++result_.ignored;
        continue;
      }
      auto it = index_.find(m.endpoint);
      if (it != index_.end()) {
        auto& d = result_.devices[it->second];
        add_unique(d.xaddrs, m.xaddrs);
        add_unique(d.scopes, m.scopes);
        continue;
      }
      if (result_.devices.size() >= options_.max_devices) {
        ++result_.ignored;
        continue;
      }
      index_.emplace(m.endpoint, result_.devices.size());
      result_.devices.push_back(std::move(m));
    }
  }

  void finish() {
    if (finished_) return;
    finished_ = true;
    boost::system::error_code ec;
    socket_.close(ec);
    resend_.cancel();
    auto d = std::move(done_);
    d(std::move(result_));
  }

  void finish_error(Error e) {
    finished_ = true;
    boost::system::error_code ec;
    socket_.close(ec);
    asio::post(socket_.get_executor(), [d = std::move(done_), e = std::move(e)] { d(e); });
  }

  ScanOptions options_;
  std::function<void(Result<ScanResult>)> done_;
  udp::socket socket_;
  asio::steady_timer timer_, resend_;
  std::string message_id_, probe_;
  std::vector<asio::ip::address_v4> mcast_;
  std::vector<udp::endpoint> unicast_;
  std::array<char, kMaxDatagramBytes + 1> buf_{};
  udp::endpoint sender_;
  ScanResult result_;
  std::map<std::string, std::size_t> index_;
  bool finished_ = false;
  bool warned_ = false;
};

}  // namespace

Result<std::pair<std::string, std::uint16_t>> parse_target(std::string_view target,
                                                           std::uint16_t default_port) {
  auto bad = [&](const char* why) {
    std::string shown;
    for (char c : target.substr(0, 80)) shown += (c >= 0x20 && c < 0x7f) ? c : '?';
    return make_error(ErrorKind::invalid_argument,
                      "discovery target '" + shown + "': " + std::string(why));
  };
  if (target.empty() || target.size() > 64) return bad("must be an IPv4 address[:port]");
  std::string_view host = target;
  std::uint16_t port = default_port;
  if (auto colon = target.find(':'); colon != std::string_view::npos) {
    host = target.substr(0, colon);
    std::string_view p = target.substr(colon + 1);
    unsigned v = 0;
    if (!parse_number(p, v) || v == 0 || v > 65535) return bad("bad port");
    port = static_cast<std::uint16_t>(v);
  }
  boost::system::error_code ec;
  auto addr = asio::ip::make_address_v4(std::string(host), ec);
  if (ec) return bad("not an IPv4 address (names and IPv6 are not supported)");
  if (addr.is_multicast() || addr == asio::ip::address_v4::broadcast() || addr.is_unspecified())
    return bad("must be a unicast address");
  return std::make_pair(addr.to_string(), port);
}

namespace {

class Listener final : public AnnouncementListener, public std::enable_shared_from_this<Listener> {
 public:
  Listener(asio::any_io_executor ex, ListenOptions o, Handler h, const Clock& clock)
      : options_(std::move(o)), handler_(std::move(h)), clock_(clock), socket_(ex) {}

  Status start(std::vector<std::string>* warnings) override {
    auto warn = [&](std::string w) {
      if (warnings) warnings->push_back(std::move(w));
    };
    auto group = asio::ip::make_address_v4(kDiscoveryMulticast);
    boost::system::error_code ec;
    socket_.open(udp::v4(), ec);
    if (!ec) socket_.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) socket_.bind(udp::endpoint(group, options_.port), ec);
    if (ec)
      return make_error(ErrorKind::unavailable,
                        "discovery: cannot listen on " + std::string(kDiscoveryMulticast) + ":" +
                            std::to_string(options_.port) + ": " + ec.message());
    int joined = 0;
    for (const auto& name : options_.interfaces) {
      auto addr = interface_address(name);
      if (!addr) {
        warn("interface '" + name + "' has no IPv4 address");
        continue;
      }
      socket_.set_option(asio::ip::multicast::join_group(group, *addr), ec);
      if (ec) {
        warn("cannot join " + std::string(kDiscoveryMulticast) + " on '" + name +
             "': " + ec.message());
        continue;
      }
      ++joined;
    }
    if (joined == 0) {
      socket_.close(ec);
      return make_error(ErrorKind::unavailable,
                        "discovery: no interface joined the WS-Discovery group");
    }
    window_start_ = clock_.monotonic();
    receive();
    return {};
  }

  void stop() override {
    asio::post(socket_.get_executor(), [self = shared_from_this()] {
      self->stopped_ = true;
      boost::system::error_code ec;
      self->socket_.close(ec);
    });
  }

  Stats stats() const override {
    return {received_.load(), handled_.load(), ignored_.load(), dropped_.load()};
  }

 private:
  void receive() {
    socket_.async_receive_from(
        asio::buffer(buf_), sender_,
        [self = shared_from_this()](boost::system::error_code ec, std::size_t n) {
          if (self->stopped_ || ec == asio::error::operation_aborted) return;
          if (!ec) self->guarded_datagram(n);
          self->receive();
        });
  }

  void on_datagram(std::size_t n) {
    ++received_;
    auto now = clock_.monotonic();
    if (now - window_start_ >= std::chrono::seconds{1}) {
      window_start_ = now;
      in_window_ = 0;
    }
    if (++in_window_ > options_.max_per_second) {
      ++dropped_;
      return;
    }
    if (n > kMaxDatagramBytes) {
      ++ignored_;
      return;
    }
    auto a = parse_announcement(std::string_view(buf_.data(), n));
    if (!a) {  // Probes of other clients reach the group too: not ours to answer
      ++ignored_;
      return;
    }
    ++handled_;
    handler_(*a);
  }

  // Containment, as the scanner's: the datagram (or the handler's work on
  // it) fails alone; the listener keeps listening.
  void guarded_datagram(std::size_t n) noexcept {
    try {
      on_datagram(n);
    } catch (const std::exception& e) {
      ++ignored_;
      count_camera_fault(CameraFault::onvif_reply);
      spdlog::warn("discovery: an announcement from {} could not be handled: {}",
                   sender_.address().to_string(), to_valid_utf8(e.what(), 200));
    } catch (...) {
      ++ignored_;
      count_camera_fault(CameraFault::onvif_reply);
    }
  }

  ListenOptions options_;
  Handler handler_;
  const Clock& clock_;
  udp::socket socket_;
  std::array<char, kMaxDatagramBytes + 1> buf_{};
  udp::endpoint sender_;
  MonoTime window_start_;
  unsigned in_window_ = 0;
  bool stopped_ = false;
  std::atomic<std::uint64_t> received_{0}, handled_{0}, ignored_{0}, dropped_{0};
};

}  // namespace

std::shared_ptr<AnnouncementListener> make_announcement_listener(
    asio::any_io_executor executor, ListenOptions options, AnnouncementListener::Handler handler,
    const Clock& clock) {
  return std::make_shared<Listener>(std::move(executor), std::move(options), std::move(handler),
                                    clock);
}

void discover(asio::any_io_executor executor, ScanOptions options,
              std::function<void(Result<ScanResult>)> done) {
  if (options.timeout < std::chrono::milliseconds{10})
    options.timeout = std::chrono::milliseconds{10};
  std::make_shared<Scan>(std::move(executor), std::move(options), std::move(done))->start();
}

}  // namespace zaulek::onvif
