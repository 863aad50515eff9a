// The Basic Notification subscription against the simulator's ONVIF device
// over real loopback sockets, with a small real consumer (Beast) standing in
// for zaulekd's endpoint: the camera's Notify arrives and is normalized,
// Renew happens before termination, a camera that went away is subscribed
// again with a new consumer URL (the old one retired), a late Notify to a
// retired URL is dropped, stop() unsubscribes. And a camera without a
// PullPoint answers CreatePullPointSubscription with ActionNotSupported.
// Waits are bounded; no assertion is on a duration.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <condition_variable>
#include <future>
#include <mutex>
#include <set>
#include <thread>

#include "core/crypto.h"
#include "onvif/events/basic_subscription.h"
#include "onvif/events/subscription.h"
#include "sim/onvif_device.h"
#include "tests/unit/eventually.h"

namespace zaulek::onvif {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

class BasicSubscriptionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    crypto::init();
    guard_.emplace(io_.get_executor());
    sim::CameraIdentity id;
    id.name = "sim-cam-000";
    id.serial = "ZSIM000000";
    id.endpoint_uuid = "urn:uuid:00000000-0000-4000-8000-000000000001";
    id.rtsp_main_url = "rtsp://127.0.0.1:8554/main";
    id.rtsp_sub_url = "rtsp://127.0.0.1:8554/sub";
    id.username = "admin";
    id.password = "s3cret-pass";
    device_ = sim::OnvifDevice::create(io_, id);
    device_->start();
    acceptor_.open(tcp::v4());
    acceptor_.bind({asio::ip::make_address("127.0.0.1"), 0});
    acceptor_.listen();
    port_ = acceptor_.local_endpoint().port();
    accept();
    thread_ = std::thread([this] { io_.run(); });
  }
  void TearDown() override {
    if (sub_) {
      std::promise<void> stopped;
      asio::post(strand_, [&] { sub_->stop([&] { stopped.set_value(); }); });
      ASSERT_EQ(stopped.get_future().wait_for(10s), std::future_status::ready);
      sub_.reset();
    }
    if (pull_) {
      std::promise<void> stopped;
      asio::post(strand_, [&] { pull_->stop([&] { stopped.set_value(); }); });
      ASSERT_EQ(stopped.get_future().wait_for(10s), std::future_status::ready);
      pull_.reset();
    }
    asio::post(io_, [this] { acceptor_.close(); });
    device_->stop();
    guard_.reset();
    io_.stop();
    thread_.join();
  }

  // The consumer: one request per connection, answered 202; what it reads
  // goes to the subscription on its strand, as zaulekd's endpoint does.
  void accept() {
    acceptor_.async_accept([this](beast::error_code ec, tcp::socket socket) {
      if (ec) return;
      struct Conn {
        beast::tcp_stream stream;
        beast::flat_buffer buf;
        http::request<http::string_body> req;
        http::response<http::string_body> res;
      };
      auto c = std::make_shared<Conn>(Conn{beast::tcp_stream(std::move(socket)), {}, {}, {}});
      c->stream.expires_after(5s);
      http::async_read(c->stream, c->buf, c->req, [this, c](beast::error_code e, std::size_t) {
        if (e) return;
        std::string url =
            "http://127.0.0.1:" + std::to_string(port_) + std::string(c->req.target());
        auto notes = parse_notify(c->req.body());
        {
          std::lock_guard lock(mu_);
          ++posts_;
          if (!notes) bad_posts_.push_back(notes.error().message);
          cv_.notify_all();
        }
        if (notes)
          asio::post(strand_, [this, url, n = std::move(*notes)]() mutable {
            if (sub_) sub_->deliver(url, std::move(n));
          });
        c->res = {http::status::accepted, 11};
        c->res.prepare_payload();
        http::async_write(c->stream, c->res, [c](beast::error_code, std::size_t) {
          beast::error_code ignore;
          c->stream.socket().shutdown(tcp::socket::shutdown_both, ignore);
        });
      });
      accept();
    });
  }

  void start(SubscriptionOptions options) {
    std::string url = device_->device_service_url();
    asio::post(strand_, [this, url, options] {
      sub_ = BasicSubscription::create(
          strand_, url, url, Credentials{"admin", "s3cret-pass"}, options, system_clock(),
          [this] {
            std::lock_guard lock(mu_);
            std::string u = "http://127.0.0.1:" + std::to_string(port_) + "/notify/" +
                            std::to_string(++opened_);
            open_.insert(u);
            return u;
          },
          [this](const std::string& u) {
            std::lock_guard lock(mu_);
            open_.erase(u);
            closed_.push_back(u);
            cv_.notify_all();
          },
          [this](std::vector<ReceivedEvent> events) {
            std::lock_guard lock(mu_);
            for (auto& e : events) events_.push_back(std::move(e));
            cv_.notify_all();
          },
          [this](SubscriptionState s, const std::string& reason) {
            std::lock_guard lock(mu_);
            states_.emplace_back(s, reason);
            cv_.notify_all();
          });
      sub_->start();
    });
  }

  template <class Pred>
  bool wait(Pred pred, std::chrono::seconds limit = 20s) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, limit, [&] { return pred(); });
  }
  std::size_t count(SubscriptionState s) {
    std::size_t n = 0;
    for (auto& [st, r] : states_) n += st == s;
    return n;
  }
  template <class F>
  auto on_strand(F f) {
    std::promise<decltype(f())> p;
    asio::post(strand_, [&] { p.set_value(f()); });
    return p.get_future().get();
  }

  asio::io_context io_;
  asio::strand<asio::io_context::executor_type> strand_{io_.get_executor()};
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> guard_;
  tcp::acceptor acceptor_{io_};
  unsigned short port_ = 0;
  std::thread thread_;
  std::unique_ptr<sim::OnvifDevice> device_;
  std::shared_ptr<BasicSubscription> sub_;
  std::shared_ptr<PullPointSubscription> pull_;
  std::mutex mu_;
  std::condition_variable cv_;
  int opened_ = 0;
  std::size_t posts_ = 0;
  std::vector<std::string> bad_posts_;
  std::set<std::string> open_;
  std::vector<std::string> closed_;
  std::vector<ReceivedEvent> events_;
  std::vector<std::pair<SubscriptionState, std::string>> states_;
};

TEST_F(BasicSubscriptionTest, NotifyArrivesNormalized) {
  start({});
  ASSERT_TRUE(wait([&] { return count(SubscriptionState::active) == 1; }));
  auto fired = device_->fire_event({"motion", true});
  device_->fire_event({"line_crossing", true});
  ASSERT_TRUE(wait([&] { return events_.size() >= 2; }));
  std::lock_guard lock(mu_);
  EXPECT_TRUE(bad_posts_.empty()) << bad_posts_.front();
  // One POST per event; they may overtake each other (one connection each).
  const ReceivedEvent* motion = nullptr;
  for (const auto& e : events_)
    if (e.event.kind == EventKind::motion) motion = &e;
  ASSERT_NE(motion, nullptr);
  EXPECT_EQ(motion->event.state, EventState::start);
  EXPECT_EQ(motion->event.topic, "tns1:RuleEngine/CellMotionDetector/Motion");
  EXPECT_EQ(std::chrono::duration_cast<std::chrono::milliseconds>(motion->time - fired).count(), 0);
  EXPECT_EQ(open_.size(), 1u);
}

TEST_F(BasicSubscriptionTest, RenewsBeforeTermination) {
  SubscriptionOptions o;
  o.lifetime = 3s;  // renewed 1 s before the end
  start(o);
  ASSERT_TRUE(wait([&] { return count(SubscriptionState::active) == 1; }));
  testing::eventually([&] { return on_strand([&] { return sub_->renewals(); }) >= 2; });
  EXPECT_GE(on_strand([&] { return sub_->renewals(); }), 2u);
  EXPECT_EQ(on_strand([&] { return sub_->subscriptions(); }), 1u);
  EXPECT_EQ(on_strand([&] { return sub_->failures(); }), 0u);
  device_->fire_event({"motion", true});
  EXPECT_TRUE(wait([&] { return events_.size() >= 1; }));
}

TEST_F(BasicSubscriptionTest, CameraThatWentAwayIsSubscribedAgainWithANewUrl) {
  SubscriptionOptions o;
  o.lifetime = 2s;  // the Renew 1 s later finds the camera down
  o.call_timeout = 1s;
  o.retry_min = 200ms;
  o.retry_max = 1s;
  start(o);
  ASSERT_TRUE(wait([&] { return count(SubscriptionState::active) == 1; }));
  const std::string first = on_strand([&] { return sub_->consumer_url(); });
  sim::OnvifFaults f;
  f.down = true;
  device_->set_faults(f);
  ASSERT_TRUE(wait([&] { return count(SubscriptionState::failed) >= 1; }));
  {
    std::lock_guard lock(mu_);
    ASSERT_FALSE(closed_.empty());
    EXPECT_EQ(closed_.front(), first);  // retired with its subscription
    bool named = false;
    for (auto& [s, r] : states_) named |= r.find("Renew") != std::string::npos;
    EXPECT_TRUE(named);
  }
  device_->set_faults({});
  ASSERT_TRUE(wait([&] { return count(SubscriptionState::active) >= 2; }, 30s));
  const std::string second = on_strand([&] { return sub_->consumer_url(); });
  EXPECT_NE(second, first);
  // A late Notify to the retired URL is dropped; the new one delivers.
  Notification n;
  n.topic = "tns1:VideoSource/GlobalSceneChange/ImagingService";
  n.data = {{"State", "true"}};
  on_strand([&] {
    sub_->deliver(first, {n});
    return 0;
  });
  // deliver() ran on the strand before on_strand returned: had the late
  // Notify been taken it would be in events_ before the tamper. And a later
  // event (motion) that arrived proves the camera's Notifies of the tamper
  // are in too, so that a second copy of it would show.
  device_->fire_event({"tamper", true});
  ASSERT_TRUE(wait([&] { return !events_.empty(); }));
  device_->fire_event({"motion", true});
  ASSERT_TRUE(wait([&] {
    for (const auto& e : events_)
      if (e.event.kind == EventKind::motion) return true;
    return false;
  }));
  std::lock_guard lock(mu_);
  ASSERT_EQ(events_.size(), 2u);
  EXPECT_EQ(events_[0].event.kind, EventKind::tamper);
  EXPECT_EQ(events_[1].event.kind, EventKind::motion);
  EXPECT_EQ(open_.size(), 1u);
}

TEST_F(BasicSubscriptionTest, StopUnsubscribesAndRetiresTheUrl) {
  start({});
  ASSERT_TRUE(wait([&] { return count(SubscriptionState::active) == 1; }));
  std::promise<void> stopped;
  asio::post(strand_, [&] { sub_->stop([&] { stopped.set_value(); }); });
  ASSERT_EQ(stopped.get_future().wait_for(10s), std::future_status::ready);
  EXPECT_EQ(on_strand([&] { return sub_->state(); }), SubscriptionState::stopped);
  {
    std::lock_guard lock(mu_);
    EXPECT_TRUE(open_.empty());
  }
  // The camera forgot the subscription: an event makes no Notify POST.
  std::size_t before = 0;
  {
    std::lock_guard lock(mu_);
    before = posts_;
  }
  device_->fire_event({"motion", true});
  EXPECT_FALSE(wait([&] { return posts_ > before; }, 1s));
  sub_.reset();
}

TEST_F(BasicSubscriptionTest, CameraWithoutPullPointAnswersActionNotSupported) {
  sim::OnvifFaults f;
  f.no_pullpoint = true;
  device_->set_faults(f);
  std::string url = device_->device_service_url();
  SubscriptionOptions o;
  o.retry_min = 100ms;
  o.retry_max = 200ms;
  asio::post(strand_, [this, url, o] {
    pull_ = PullPointSubscription::create(strand_, url, url, Credentials{"admin", "s3cret-pass"}, o,
                                          system_clock(), nullptr,
                                          [this](SubscriptionState s, const std::string& reason) {
                                            std::lock_guard lock(mu_);
                                            states_.emplace_back(s, reason);
                                            cv_.notify_all();
                                          });
    pull_->start();
  });
  ASSERT_TRUE(wait([&] { return count(SubscriptionState::failed) >= 1; }));
  std::lock_guard lock(mu_);
  for (auto& [s, r] : states_) {
    if (s != SubscriptionState::failed) continue;
    EXPECT_EQ(r.rfind("CreatePullPointSubscription:", 0), 0u) << r;
    EXPECT_TRUE(is_action_not_supported(r)) << r;
  }
}

}  // namespace
}  // namespace zaulek::onvif
