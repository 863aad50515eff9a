// The PullPoint subscription against the simulator's ONVIF device over real
// loopback sockets: events arrive, Renew happens before termination, a
// camera that stops answering PullMessages is re-subscribed, stop()
// unsubscribes; a flooding camera is cut to MessageLimit and paced, and a
// camera that faults every pull is re-subscribed ever more slowly. Waits are
// bounded; the only durations asserted are lower bounds of our own waiting,
// read from the times the device received each request.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>

#include <atomic>
#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>

#include "core/crypto.h"
#include "onvif/events/subscription.h"
#include "sim/onvif_device.h"
#include "tests/unit/eventually.h"

namespace zaulek::onvif {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

class OnvifEventsSubscriptionTest : public ::testing::Test {
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
    thread_ = std::thread([this] { io_.run(); });
  }
  void TearDown() override {
    if (sub_) {
      std::promise<void> stopped;
      asio::post(strand_, [&] { sub_->stop([&] { stopped.set_value(); }); });
      ASSERT_EQ(stopped.get_future().wait_for(10s), std::future_status::ready);
      sub_.reset();
    }
    device_->stop();
    guard_.reset();
    io_.stop();
    thread_.join();
  }

  void start(SubscriptionOptions options, std::string password = "s3cret-pass") {
    std::string url = device_->device_service_url();
    asio::post(strand_, [this, url, options, password] {
      sub_ = PullPointSubscription::create(
          strand_, url, url, Credentials{"admin", password}, options, system_clock(),
          [this](std::vector<ReceivedEvent> events) {
            std::lock_guard lock(mu_);
            batches_.push_back(events.size());
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
  std::thread thread_;
  std::unique_ptr<sim::OnvifDevice> device_;
  std::shared_ptr<PullPointSubscription> sub_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<ReceivedEvent> events_;
  std::vector<std::size_t> batches_;  // events per on_events call
  std::vector<std::pair<SubscriptionState, std::string>> states_;
};

// Waits (bounded) until the device has received `n` requests of `operation`.
std::vector<std::chrono::steady_clock::time_point> wait_requests(sim::OnvifDevice& device,
                                                                 const std::string& operation,
                                                                 std::size_t n) {
  testing::eventually([&] { return device.request_times(operation).size() >= n; }, 30s);
  return device.request_times(operation);
}

std::vector<std::chrono::milliseconds> gaps(
    const std::vector<std::chrono::steady_clock::time_point>& times) {
  std::vector<std::chrono::milliseconds> out;
  for (std::size_t i = 1; i < times.size(); ++i)
    out.push_back(std::chrono::duration_cast<std::chrono::milliseconds>(times[i] - times[i - 1]));
  return out;
}

TEST_F(OnvifEventsSubscriptionTest, MotionArrivesNormalized) {
  start({});
  ASSERT_TRUE(wait([&] { return count(SubscriptionState::active) == 1; }));
  auto fired = device_->fire_event({"motion", true});
  ASSERT_TRUE(wait([&] { return events_.size() >= 1; }));
  std::lock_guard lock(mu_);
  const auto& e = events_[0];
  EXPECT_EQ(e.event.kind, EventKind::motion);
  EXPECT_EQ(e.event.state, EventState::start);
  EXPECT_EQ(e.event.topic, "tns1:RuleEngine/CellMotionDetector/Motion");
  EXPECT_EQ(std::chrono::duration_cast<std::chrono::milliseconds>(e.time - fired).count(), 0);
  bool rule = false;
  for (auto& [k, v] : e.event.source) rule |= k == "Rule" && v == "MyMotionDetectorRule";
  EXPECT_TRUE(rule);
}

TEST_F(OnvifEventsSubscriptionTest, EveryKindTheSimulatorFires) {
  start({});
  ASSERT_TRUE(wait([&] { return count(SubscriptionState::active) == 1; }));
  device_->fire_event({"line_crossing", true});
  device_->fire_event({"field_detection", true});
  device_->fire_event({"tamper", true});
  device_->fire_event({"motion_alarm", false});
  ASSERT_TRUE(wait([&] { return events_.size() >= 4; }));
  std::lock_guard lock(mu_);
  EXPECT_EQ(events_[0].event.kind, EventKind::line_crossing);
  EXPECT_EQ(events_[0].event.state, EventState::pulse);
  EXPECT_EQ(events_[1].event.kind, EventKind::intrusion);
  EXPECT_EQ(events_[1].event.state, EventState::start);
  EXPECT_EQ(events_[2].event.kind, EventKind::tamper);
  EXPECT_EQ(events_[3].event.kind, EventKind::motion);
  EXPECT_EQ(events_[3].event.state, EventState::stop);
}

TEST_F(OnvifEventsSubscriptionTest, RenewsBeforeTermination) {
  SubscriptionOptions o;
  o.lifetime = 3s;  // renewed 1 s before the end
  o.pull_timeout = 1s;
  start(o);
  ASSERT_TRUE(wait([&] { return count(SubscriptionState::active) == 1; }));
  // Two renewals later the subscription is still the first one and still delivers.
  testing::eventually([&] { return on_strand([&] { return sub_->renewals(); }) >= 2; });
  EXPECT_GE(on_strand([&] { return sub_->renewals(); }), 2u);
  EXPECT_EQ(on_strand([&] { return sub_->subscriptions(); }), 1u);
  EXPECT_EQ(on_strand([&] { return sub_->failures(); }), 0u);
  device_->fire_event({"motion", true});
  EXPECT_TRUE(wait([&] { return events_.size() >= 1; }));
}

TEST_F(OnvifEventsSubscriptionTest, ResubscribesWhenPullMessagesStopsAnswering) {
  SubscriptionOptions o;
  o.pull_timeout = 1s;
  o.call_timeout = 1s;
  o.retry_min = 200ms;
  o.retry_max = 1s;
  start(o);
  ASSERT_TRUE(wait([&] { return count(SubscriptionState::active) == 1; }));
  sim::OnvifFaults f;
  f.soap_delay = 4s;  // longer than pull_timeout + call_timeout
  device_->set_faults(f);
  ASSERT_TRUE(wait([&] { return count(SubscriptionState::failed) >= 1; }));
  {
    std::lock_guard lock(mu_);
    bool named = false;
    for (auto& [s, r] : states_) named |= r.find("PullMessages") != std::string::npos;
    EXPECT_TRUE(named);
  }
  device_->set_faults({});
  ASSERT_TRUE(wait([&] { return count(SubscriptionState::active) >= 2; }, 30s));
  device_->fire_event({"motion", false});
  ASSERT_TRUE(wait([&] {
    for (auto& e : events_)
      if (e.event.state == EventState::stop) return true;
    return false;
  }));
}

TEST_F(OnvifEventsSubscriptionTest, ResubscribesAfterReboot) {
  SubscriptionOptions o;
  o.pull_timeout = 1s;
  o.call_timeout = 1s;
  o.retry_min = 200ms;
  o.retry_max = 1s;
  start(o);
  ASSERT_TRUE(wait([&] { return count(SubscriptionState::active) == 1; }));
  sim::OnvifFaults f;
  f.down = true;
  device_->set_faults(f);
  ASSERT_TRUE(wait([&] { return count(SubscriptionState::failed) >= 1; }));
  device_->set_faults({});
  ASSERT_TRUE(wait([&] { return count(SubscriptionState::active) >= 2; }, 30s));
  device_->fire_event({"tamper", true});
  ASSERT_TRUE(wait([&] {
    for (auto& e : events_)
      if (e.event.kind == EventKind::tamper) return true;
    return false;
  }));
}

TEST_F(OnvifEventsSubscriptionTest, WrongPasswordFailsAndRetries) {
  SubscriptionOptions o;
  o.retry_min = 100ms;
  o.retry_max = 200ms;
  start(o, "wrong");
  ASSERT_TRUE(wait([&] { return count(SubscriptionState::failed) >= 2; }));
  std::lock_guard lock(mu_);
  EXPECT_EQ(count(SubscriptionState::active), 0u);
  for (auto& [s, r] : states_) EXPECT_EQ(r.find("wrong"), std::string::npos) << r;
}

TEST_F(OnvifEventsSubscriptionTest, StopUnsubscribes) {
  start({});
  ASSERT_TRUE(wait([&] { return count(SubscriptionState::active) == 1; }));
  std::promise<void> stopped;
  asio::post(strand_, [&] { sub_->stop([&] { stopped.set_value(); }); });
  ASSERT_EQ(stopped.get_future().wait_for(10s), std::future_status::ready);
  EXPECT_EQ(on_strand([&] { return sub_->state(); }), SubscriptionState::stopped);
  sub_.reset();
}

TEST_F(OnvifEventsSubscriptionTest, FloodIsCutToMessageLimitAndPaced) {
  sim::OnvifFaults f;
  f.event_flood = 50;  // every pull answered at once with 50, whatever we ask for
  device_->set_faults(f);
  SubscriptionOptions o;
  o.message_limit = 10;
  o.min_pull_interval = 300ms;  // full replies: this interval, not busy_pull_interval
  start(o);
  auto pulls = wait_requests(*device_, "PullMessages", 6);
  ASSERT_GE(pulls.size(), 6u);
  // The device saw each pull start at least min_pull_interval after the
  // previous one, give or take the loopback latency of the two requests.
  for (auto g : gaps(pulls)) EXPECT_GE(g, 150ms);
  EXPECT_GE(pulls.back() - pulls.front(), 300ms * static_cast<int>(pulls.size() - 1) - 150ms);
  // Every delivery is cut to the limit; the rest is counted, not lost silently.
  auto [excess, delivered] = on_strand([&] {
    std::lock_guard lock(mu_);
    return std::pair{sub_->excess(), events_.size()};
  });
  EXPECT_GE(delivered, 50u);
  EXPECT_EQ(excess, delivered * 4);  // 40 cut for every 10 delivered
  std::lock_guard lock(mu_);
  for (auto n : batches_) EXPECT_EQ(n, 10u);
  EXPECT_EQ(count(SubscriptionState::failed), 0u);
}

TEST_F(OnvifEventsSubscriptionTest, InstantEmptyRepliesArePaced) {
  SubscriptionOptions o;
  o.pull_timeout = 0ms;  // the device answers every pull at once, empty
  o.min_pull_interval = 300ms;
  start(o);
  auto pulls = wait_requests(*device_, "PullMessages", 6);
  ASSERT_GE(pulls.size(), 6u);
  for (auto g : gaps(pulls)) EXPECT_GE(g, 150ms);
  EXPECT_GE(pulls.back() - pulls.front(), 300ms * static_cast<int>(pulls.size() - 1) - 150ms);
  // Paced, not broken: an event still arrives.
  device_->fire_event({"motion", true});
  EXPECT_TRUE(wait([&] { return events_.size() >= 1; }));
}

TEST_F(OnvifEventsSubscriptionTest, PartialRepliesArePacedByTheBusyInterval) {
  sim::OnvifFaults f;
  f.event_flood = 5;  // at once, but fewer than the limit: a busy camera, not a flood
  device_->set_faults(f);
  SubscriptionOptions o;
  o.message_limit = 10;
  o.min_pull_interval = 1h;  // were it applied, the second pull would never come
  o.busy_pull_interval = 200ms;
  start(o);
  auto pulls = wait_requests(*device_, "PullMessages", 6);
  ASSERT_GE(pulls.size(), 6u);
  for (auto g : gaps(pulls)) EXPECT_GE(g, 100ms);
  EXPECT_GE(pulls.back() - pulls.front(), 200ms * static_cast<int>(pulls.size() - 1) - 100ms);
  EXPECT_EQ(on_strand([&] { return sub_->excess(); }), 0u);
}

TEST_F(OnvifEventsSubscriptionTest, BackoffGrowsWhenEveryPullFaults) {
  sim::OnvifFaults f;
  f.pull_fault = true;  // Create succeeds, every PullMessages is a SOAP fault
  device_->set_faults(f);
  SubscriptionOptions o;
  o.retry_min = 50ms;
  o.retry_max = 5s;
  start(o);
  auto creates = wait_requests(*device_, "CreatePullPointSubscription", 5);
  ASSERT_GE(creates.size(), 5u);
  // Between two creates we waited at least the backoff (x0.8 jitter), and
  // the backoff doubled each time although every create succeeded.
  auto g = gaps(creates);
  for (std::size_t k = 0; k < 4; ++k) EXPECT_GE(g[k], 40ms * (1 << k)) << "gap " << k;
  EXPECT_GE(on_strand([&] { return sub_->backoff(); }), 400ms);
  // The simulator logs the 5th create when it arrives; the client counts it
  // once the reply is handled.
  EXPECT_TRUE(testing::eventually(
      [&] { return on_strand([&] { return sub_->subscriptions(); }) >= 5u; }, 5s));
}

TEST_F(OnvifEventsSubscriptionTest, BackoffResetsOnceTheSubscriptionHasDeliveredForAWhile) {
  sim::OnvifFaults f;
  f.pull_fault = true;
  device_->set_faults(f);
  SubscriptionOptions o;
  o.retry_min = 50ms;
  o.retry_max = 5s;
  o.pull_timeout = 100ms;  // a successful (empty) pull every 0.1 s once healthy
  o.healthy_after = 500ms;
  start(o);
  ASSERT_GE(wait_requests(*device_, "CreatePullPointSubscription", 4).size(), 4u);
  EXPECT_GE(on_strand([&] { return sub_->backoff(); }), 200ms);
  device_->set_faults({});
  EXPECT_TRUE(testing::eventually(
      [&] {
        return on_strand(
            [&] { return sub_->backoff() == 0ms && sub_->state() == SubscriptionState::active; });
      },
      15s));
  device_->fire_event({"motion", true});
  EXPECT_TRUE(wait([&] { return events_.size() >= 1; }));
}

}  // namespace
}  // namespace zaulek::onvif
