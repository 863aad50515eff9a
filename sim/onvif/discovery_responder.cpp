// WS-Discovery for the whole simulated fleet: one UDP socket on 3702 that
// joins 239.255.255.250 on the given interface; each device answers a
// matching Probe with its own ProbeMatches, as separate cameras would.
#include <spdlog/spdlog.h>

#include <array>
#include <boost/asio/ip/multicast.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <future>

#include "onvif/discovery.h"
#include "sim/onvif_device.h"

namespace zaulek::sim {
namespace {

namespace asio = boost::asio;
using udp = asio::ip::udp;

class Responder final : public DiscoveryResponder, public std::enable_shared_from_this<Responder> {
 public:
  Responder(asio::io_context& io, std::string iface, std::vector<OnvifDevice*> devices,
            std::uint16_t port)
      : io_(io),
        strand_(asio::make_strand(io)),
        iface_(std::move(iface)),
        devices_(std::move(devices)),
        port_(port),
        socket_(strand_),
        watch_(strand_) {}

  void start() override {
    boost::system::error_code ec;
    auto iface = asio::ip::make_address(iface_, ec);
    if (ec || !iface.is_v4()) {
      spdlog::error("onvif sim discovery: interface address '{}' is not IPv4; discovery off",
                    iface_);
      return;
    }
    socket_.open(udp::v4());
    socket_.set_option(asio::socket_base::reuse_address(true));
    socket_.bind(udp::endpoint(asio::ip::address_v4::any(), port_), ec);
    if (ec) {
      spdlog::error("onvif sim discovery: cannot bind UDP {}: {}", port_, ec.message());
      socket_.close();
      return;
    }
    group_ = asio::ip::make_address_v4(onvif::kDiscoveryMulticast);
    socket_.set_option(asio::ip::multicast::join_group(group_, iface.to_v4()), ec);
    if (ec) {
      // On a loopback without multicast (`ip link set lo multicast on` and a
      // 239.0.0.0/8 route missing) we still answer unicast Probes.
      spdlog::warn("onvif sim discovery: cannot join {} on {}: {}; unicast Probes only",
                   onvif::kDiscoveryMulticast, iface_, ec.message());
    } else {
      joined_ = true;
      socket_.set_option(asio::ip::multicast::outbound_interface(iface.to_v4()), ec);
      socket_.set_option(asio::ip::multicast::enable_loopback(true), ec);
    }
    spdlog::info("onvif sim discovery: UDP {} on {} for {} devices{}", port_, iface_,
                 devices_.size(), joined_ ? " (multicast)" : "");
    auto self = shared_from_this();
    asio::post(strand_, [self] {
      for (auto* d : self->devices_) {
        self->was_down_.push_back(d->faults().down);
        self->announce(*d, true);
      }
      self->do_receive();
      self->watch_reboots();
    });
  }

  void stop() override {
    auto work = [self = shared_from_this()] { self->do_stop(); };
    if (strand_.running_in_this_thread() || io_.stopped()) return work();
    auto done = std::make_shared<std::promise<void>>();
    asio::post(strand_, [work, done] {
      work();
      done->set_value();
    });
    if (done->get_future().wait_for(std::chrono::seconds(2)) != std::future_status::ready) work();
  }

 private:
  onvif::DiscoveryTarget target_of(OnvifDevice& d) {
    onvif::DiscoveryTarget t;
    t.endpoint = d.identity().endpoint_uuid;
    t.scopes = OnvifDevice::scopes_of(d.identity());
    t.xaddrs = {d.device_service_url()};
    return t;
  }

  void announce(OnvifDevice& d, bool hello) {
    if (!socket_.is_open() || d.faults().down) return;
    auto t = target_of(d);
    auto msg = std::make_shared<std::string>(hello ? onvif::build_hello(t, onvif::new_message_id())
                                                   : onvif::build_bye(t, onvif::new_message_id()));
    boost::system::error_code ec;
    // Hello/Bye go to the group; without multicast they go nowhere, silently.
    socket_.send_to(asio::buffer(*msg), udp::endpoint(group_, port_), 0, ec);
    if (ec && joined_)
      spdlog::info("onvif sim discovery: {} for {} not sent: {}", hello ? "Hello" : "Bye",
                   d.identity().name, ec.message());
  }

  // A camera back from `down` (a reboot) says Hello again, as real ones do.
  void watch_reboots() {
    watch_.expires_after(std::chrono::milliseconds(500));
    watch_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      if (ec || !self->socket_.is_open()) return;
      for (std::size_t i = 0; i < self->devices_.size(); ++i) {
        bool down = self->devices_[i]->faults().down;
        if (self->was_down_[i] && !down) self->announce(*self->devices_[i], true);
        self->was_down_[i] = down;
      }
      self->watch_reboots();
    });
  }

  void do_stop() {
    watch_.cancel();
    if (!socket_.is_open()) return;
    for (auto* d : devices_) announce(*d, false);
    boost::system::error_code ec;
    socket_.close(ec);
  }

  void do_receive() {
    socket_.async_receive_from(
        asio::buffer(buf_), sender_,
        // The socket's executor is the strand: handlers run there.
        [self = shared_from_this()](boost::system::error_code ec, std::size_t n) {
          if (ec == asio::error::operation_aborted || !self->socket_.is_open()) return;
          if (!ec) self->on_datagram(n);
          self->do_receive();
        });
  }

  void on_datagram(std::size_t n) {
    // The buffer is one byte larger than the limit: a full buffer means the
    // datagram was larger (and truncated): drop it unread.
    if (n > onvif::kMaxDatagramBytes) {
      ++dropped_;
      return;
    }
    auto probe = onvif::parse_probe(std::string_view(buf_.data(), n));
    if (!probe) {
      // Silence on the wire (a reply could amplify); a rate-limited log here.
      if (++dropped_ % 100 == 1)
        spdlog::info("onvif sim discovery: ignored datagram from {} ({} so far): {}",
                     sender_.address().to_string(), dropped_, probe.error().message);
      return;
    }
    for (auto* d : devices_) {
      auto faults = d->faults();
      if (faults.down) continue;
      auto t = target_of(*d);
      if (!onvif::matches(*probe, t)) continue;
      for (int i = 0; i < faults.duplicate_discovery; ++i) {
        std::string reply =
            onvif::build_probe_matches(t, probe->message_id, onvif::new_message_id());
        boost::system::error_code ec;
        socket_.send_to(asio::buffer(reply), sender_, 0, ec);
        if (ec)
          spdlog::info("onvif sim discovery: ProbeMatches to {} failed: {}",
                       sender_.address().to_string(), ec.message());
      }
    }
  }

  asio::io_context& io_;
  asio::strand<asio::io_context::executor_type> strand_;
  std::string iface_;
  std::vector<OnvifDevice*> devices_;
  std::uint16_t port_;
  udp::socket socket_;
  asio::steady_timer watch_;
  std::vector<bool> was_down_;
  asio::ip::address_v4 group_;
  bool joined_ = false;
  udp::endpoint sender_;
  std::array<char, onvif::kMaxDatagramBytes + 1> buf_{};
  std::size_t dropped_ = 0;
};

// unique_ptr facade over the shared Responder (its handlers keep it alive).
class ResponderHandle final : public DiscoveryResponder {
 public:
  explicit ResponderHandle(std::shared_ptr<Responder> r) : r_(std::move(r)) {}
  ~ResponderHandle() override { r_->stop(); }
  void start() override { r_->start(); }
  void stop() override { r_->stop(); }

 private:
  std::shared_ptr<Responder> r_;
};

}  // namespace

std::unique_ptr<DiscoveryResponder> DiscoveryResponder::create(boost::asio::io_context& io,
                                                               std::string interface_address,
                                                               std::vector<OnvifDevice*> devices) {
  return create(io, std::move(interface_address), std::move(devices), onvif::kDiscoveryPort);
}

std::unique_ptr<DiscoveryResponder> DiscoveryResponder::create(boost::asio::io_context& io,
                                                               std::string interface_address,
                                                               std::vector<OnvifDevice*> devices,
                                                               std::uint16_t port) {
  return std::make_unique<ResponderHandle>(
      std::make_shared<Responder>(io, std::move(interface_address), std::move(devices), port));
}

}  // namespace zaulek::sim
