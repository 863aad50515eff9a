// The simulated camera's ONVIF device over Boost.Beast; gSOAP only
// (de)serializes (onvif/soap_buffer.h). This file: the device's lifecycle
// (listen, go down and up, stop), its faults, request times and the delivery
// of fired events to the subscriptions; device_core.h says where the rest is.
#include <sodium.h>
#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>
#include <future>

#include "sim/onvif/device_core.h"
#include "sim/onvif/snapshot.h"

namespace zaulek::sim::onvif_sim {
namespace {

std::string url_host(const std::string& host) {
  return host.find(':') != std::string::npos ? "[" + host + "]" : host;
}

}  // namespace

Core::Core(asio::io_context& io, CameraIdentity id)
    : io_(io),
      strand_(asio::make_strand(io)),
      identity_(std::move(id)),
      acceptor_(strand_),
      sweep_(strand_) {
  unsigned char n[16];
  randombytes_buf(n, sizeof n);
  digest_nonce_ = onvif::md5_hex(std::string(reinterpret_cast<char*>(n), sizeof n));
}

void Core::start() {
  open_acceptor();  // synchronous: the port is known when start() returns
  auto self = shared_from_this();
  asio::post(strand_, [self] {
    self->running_ = true;
    self->do_accept();
    self->schedule_sweep();
  });
}

void Core::stop() {
  auto work = [self = shared_from_this()] { self->do_stop(); };
  if (strand_.running_in_this_thread() || io_.stopped()) {
    work();
    return;
  }
  auto done = std::make_shared<std::promise<void>>();
  asio::post(strand_, [work, done] {
    work();
    done->set_value();
  });
  // Bounded wait: if no thread runs the io_context, close from here.
  if (done->get_future().wait_for(std::chrono::seconds(2)) != std::future_status::ready) work();
}

std::string Core::base_url() const {
  return "http://" + url_host(identity_.bind_host) + ":" + std::to_string(identity_.onvif_port);
}

WallTime Core::device_now() const {
  auto skew = faults().clock_skew;
  auto t = zaulek::system_clock().realtime() + skew;
  return std::chrono::time_point_cast<std::chrono::milliseconds>(t);
}

OnvifFaults Core::faults() const {
  std::lock_guard lock(faults_mu_);
  return faults_;
}

void Core::set_faults(const OnvifFaults& f) {
  bool was_down;
  {
    std::lock_guard lock(faults_mu_);
    was_down = faults_.down;
    faults_ = f;
    if (faults_.duplicate_discovery < 0) faults_.duplicate_discovery = 0;
    if (faults_.duplicate_discovery > 10) faults_.duplicate_discovery = 10;
  }
  if (was_down != f.down) {
    asio::post(strand_, [self = shared_from_this(), down = f.down] {
      if (!self->running_) return;
      if (down) {
        spdlog::info("onvif sim {}: down (refusing connections)", self->identity_.name);
        beast::error_code ec;
        self->acceptor_.close(ec);
        self->close_sessions();
        self->drop_subscriptions();  // a rebooted camera forgets them
      } else {
        spdlog::info("onvif sim {}: up again", self->identity_.name);
        try {
          self->open_acceptor();
          self->do_accept();
        } catch (const std::exception& e) {
          spdlog::error("onvif sim {}: cannot listen again: {}", self->identity_.name, e.what());
        }
      }
    });
  }
}

void Core::note_request(const std::string& operation) {
  std::lock_guard lock(times_mu_);
  auto& times = request_times_[operation];
  if (times.size() >= 1024) times.pop_front();
  times.push_back(zaulek::system_clock().monotonic());
}
std::vector<std::chrono::steady_clock::time_point> Core::request_times(
    const std::string& operation) const {
  std::lock_guard lock(times_mu_);
  auto it = request_times_.find(operation);
  if (it == request_times_.end()) return {};
  return {it->second.begin(), it->second.end()};
}

WallTime Core::fire_event(const EventSpec& spec) {
  WallTime t = device_now();
  std::string utc = format_rfc3339(t);
  int object_id = ++object_counter_;
  auto msg = onvif_sim::make_event(spec, utc, object_id);
  if (!msg) {
    spdlog::warn("onvif sim {}: unknown event kind '{}' not fired", identity_.name, spec.kind);
    return WallTime{};
  }
  asio::post(strand_, [self = shared_from_this(), m = std::move(*msg)] { self->deliver(m); });
  return t;
}

void Core::add_session(const std::shared_ptr<Session>& s) {
  sessions_.remove_if([](const std::weak_ptr<Session>& w) { return w.expired(); });
  sessions_.push_back(s);
}
std::size_t Core::session_count() {
  sessions_.remove_if([](const std::weak_ptr<Session>& w) { return w.expired(); });
  return sessions_.size();
}

void Core::open_acceptor() {
  auto addr = asio::ip::make_address(identity_.bind_host);
  tcp::endpoint ep(addr, identity_.onvif_port);
  acceptor_.open(ep.protocol());
  acceptor_.set_option(asio::socket_base::reuse_address(true));
  acceptor_.bind(ep);
  acceptor_.listen();
  identity_.onvif_port = acceptor_.local_endpoint().port();
}

void Core::do_accept() {
  acceptor_.async_accept(strand_,
                         [self = shared_from_this()](beast::error_code ec, tcp::socket socket) {
                           if (ec) return;  // closed (stop or down)
                           if (self->session_count() >= kMaxSessions) {
                             spdlog::warn("onvif sim {}: {} connections open, refusing one",
                                          self->identity_.name, kMaxSessions);
                           } else {
                             beast::error_code ignored;
                             socket.set_option(tcp::no_delay(true), ignored);
                             auto s = std::make_shared<Session>(std::move(socket), self);
                             self->add_session(s);
                             s->start();
                           }
                           self->do_accept();
                         });
}

void Core::close_sessions() {
  for (auto& w : sessions_)
    if (auto s = w.lock()) s->close();
  sessions_.clear();
}

void Core::drop_subscriptions() {
  for (auto& [id, sub] : subs_)
    if (sub.wait_timer) sub.wait_timer->cancel();
  subs_.clear();
}

void Core::do_stop() {
  running_ = false;
  beast::error_code ec;
  acceptor_.close(ec);
  sweep_.cancel();
  close_sessions();
  drop_subscriptions();
}

void Core::schedule_sweep() {
  sweep_.expires_after(std::chrono::seconds(1));
  sweep_.async_wait([self = shared_from_this()](beast::error_code ec) {
    if (ec || !self->running_) return;
    self->expire_subscriptions();
    self->schedule_sweep();
  });
}

void Core::expire_subscriptions() {
  auto now = zaulek::system_clock().realtime();
  for (auto it = subs_.begin(); it != subs_.end();) {
    if (it->second.termination <= now) {
      spdlog::info("onvif sim {}: subscription {} expired", identity_.name, it->first);
      if (it->second.wait_timer) it->second.wait_timer->cancel();
      auto waiter = std::move(it->second.waiter);
      it = subs_.erase(it);
      if (waiter) waiter();
    } else {
      ++it;
    }
  }
}

void Core::deliver(const EventMessage& m) {
  if (!running_) return;
  for (auto& [id, sub] : subs_) {
    if (sub.pull) {
      if (sub.queue.size() >= kQueueLimit) {
        sub.queue.pop_front();  // oldest goes first, counted and logged
        if (++sub.dropped % 10 == 1)
          spdlog::warn("onvif sim {}: subscription {} queue full, {} dropped", identity_.name, id,
                       sub.dropped);
      }
      sub.queue.push_back(m);
      if (sub.waiter) {
        auto waiter = std::move(sub.waiter);
        sub.waiter = nullptr;
        if (sub.wait_timer) sub.wait_timer->cancel();
        waiter();
      }
    } else {
      push_notify(sub, m);
    }
  }
}

namespace {

class DeviceImpl final : public OnvifDevice {
 public:
  DeviceImpl(asio::io_context& io, CameraIdentity id)
      : core_(std::make_shared<Core>(io, std::move(id))) {}
  ~DeviceImpl() override { core_->stop(); }
  void start() override { core_->start(); }
  void stop() override { core_->stop(); }
  const CameraIdentity& identity() const override { return core_->identity(); }
  std::string device_service_url() const override { return core_->base_url() + kDevicePath; }
  std::string snapshot_url() const override { return core_->base_url() + kSnapshotPath; }
  std::uint64_t snapshots_served() const override { return core_->snapshots_served(); }
  std::chrono::system_clock::time_point fire_event(const EventSpec& event) override {
    return core_->fire_event(event);
  }
  void set_faults(const OnvifFaults& faults) override { core_->set_faults(faults); }
  OnvifFaults faults() const override { return core_->faults(); }
  std::vector<std::chrono::steady_clock::time_point> request_times(
      const std::string& operation) const override {
    return core_->request_times(operation);
  }

 private:
  std::shared_ptr<Core> core_;
};

}  // namespace
}  // namespace zaulek::sim::onvif_sim

namespace zaulek::sim {

std::unique_ptr<OnvifDevice> OnvifDevice::create(boost::asio::io_context& io,
                                                 CameraIdentity identity) {
  (void)onvif_sim::snapshot_jpeg();  // encode the one JPEG up front, not per request
  return std::make_unique<onvif_sim::DeviceImpl>(io, std::move(identity));
}

}  // namespace zaulek::sim
