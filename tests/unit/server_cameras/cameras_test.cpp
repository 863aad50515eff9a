// The camera registry against simulated ONVIF devices (in process, real
// loopback sockets) and a real SQLite catalogue: statuses, and a camera that
// reappears at a new address under its endpoint reference: proposed (a
// sighting) and moved by an administrator, or followed in a trusted network;
// the change notifications that recording and events follow.
#include "server/cameras/cameras.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <filesystem>
#include <mutex>
#include <random>
#include <thread>

#include "core/crypto.h"
#include "sim/onvif_device.h"
#include "tests/unit/eventually.h"

namespace zaulek::server {
namespace {

namespace asio = boost::asio;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr const char* kEndpoint = "urn:uuid:11111111-2222-4333-8444-555555555555";

// A camera to add with the test device's credentials; no site.
AddCamera to_add(std::string name, std::string url, std::string endpoint,
                 storage::RecordingMode mode, int retention_days) {
  AddCamera a;
  a.name = std::move(name);
  a.onvif_url = std::move(url);
  a.username = "admin";
  a.password = "pw-7781";
  a.endpoint = std::move(endpoint);
  a.mode = mode;
  a.retention_days = retention_days;
  return a;
}

class CamerasTest : public ::testing::Test {
 protected:
  void SetUp() override {
    crypto::init();
    dir_ = fs::temp_directory_path() / ("zaulek-cameras-" + std::to_string(std::random_device{}()));
    fs::create_directories(dir_);
    auto c = storage::Catalog::open(dir_ / "zaulek.db");
    ASSERT_TRUE(c.ok()) << c.error().message;
    catalog_ = std::move(*c);
    guard_.emplace(io_.get_executor());
    thread_ = std::thread([this] { io_.run(); });
    asio::io_context tmp;
    asio::ip::udp::socket s(tmp, asio::ip::udp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    discovery_port_ = s.local_endpoint().port();
  }
  void TearDown() override {
    cameras_.reset();
    if (responder_) responder_->stop();
    for (auto& d : devices_) d->stop();
    guard_.reset();
    io_.stop();
    thread_.join();
    catalog_.reset();
    fs::remove_all(dir_);
  }
  sim::OnvifDevice& device(const std::string& serial = "MOVE-1") {
    sim::CameraIdentity id;
    id.name = "moving-cam";
    id.serial = serial;
    id.hardware_id = "SimCam-1080";
    id.endpoint_uuid = kEndpoint;
    id.rtsp_main_url = "rtsp://127.0.0.1:8554/main";
    id.rtsp_sub_url = "rtsp://127.0.0.1:8554/sub";
    id.username = "admin";
    id.password = "pw-7781";
    devices_.push_back(sim::OnvifDevice::create(io_, id));
    devices_.back()->start();
    return *devices_.back();
  }
  Cameras& cameras(std::vector<std::string> trusted = {}) {
    auto box = SecretBox::open_or_create(dir_ / "secret.key");
    EXPECT_TRUE(box.ok());
    CamerasOptions o;
    o.discovery_interfaces = {};
    o.discovery_port = discovery_port_;
    o.health_interval = 200ms;
    o.retry_min = 100ms;
    o.retry_max = 300ms;
    o.onvif_timeout = 1000ms;
    o.trusted_networks = std::move(trusted);
    cameras_ = std::make_unique<Cameras>(*catalog_, std::move(*box), nullptr, system_clock(), o);
    EXPECT_TRUE(cameras_->start().ok());
    return *cameras_;
  }
  // Waits (bounded) until the camera has `want`; returns what it last saw.
  CameraStatus wait_status(const std::string& id, CameraStatus want) {
    CameraStatus last = CameraStatus::connecting;
    zaulek::testing::eventually([&] {
      if (auto st = cameras_->state(id)) last = st->status;
      return last == want;
    });
    return last;
  }

  fs::path dir_;
  std::unique_ptr<storage::Catalog> catalog_;
  asio::io_context io_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> guard_;
  std::thread thread_;
  std::vector<std::unique_ptr<sim::OnvifDevice>> devices_;
  std::unique_ptr<sim::DiscoveryResponder> responder_;
  std::unique_ptr<Cameras> cameras_;
  std::uint16_t discovery_port_ = 0;
};

TEST_F(CamerasTest, StatusesFollowTheDevice) {
  auto& dev = device();
  auto& cams = cameras();
  auto added =
      cams.add(to_add("", dev.device_service_url(), "", storage::RecordingMode::continuous, 30));
  ASSERT_TRUE(added.ok()) << added.error().message;
  const std::string id = added->camera.id;
  EXPECT_EQ(added->camera.name, "Zaulek SimCam-1080 MOVE-1");
  EXPECT_EQ(added->state.status, CameraStatus::online);
  EXPECT_EQ(added->streams.size(), 2u);

  auto f = dev.faults();
  f.wrong_password = true;
  dev.set_faults(f);
  EXPECT_EQ(wait_status(id, CameraStatus::unauthorized), CameraStatus::unauthorized);
  f.wrong_password = false;
  f.malformed_soap = true;
  dev.set_faults(f);
  EXPECT_EQ(wait_status(id, CameraStatus::degraded), CameraStatus::degraded);
  f.malformed_soap = false;
  dev.set_faults(f);
  EXPECT_EQ(wait_status(id, CameraStatus::online), CameraStatus::online);
  dev.stop();
  EXPECT_EQ(wait_status(id, CameraStatus::offline), CameraStatus::offline);
  auto st = cams.state(id);
  ASSERT_TRUE(st.has_value());
  EXPECT_NE(st->reason.find("cannot connect to camera at 127.0.0.1:"), std::string::npos)
      << st->reason;

  // Restart: the registry reads the catalogue and opens the sealed password.
  cameras_.reset();
  auto& again = cameras();
  auto s2 = again.state(id);
  ASSERT_TRUE(s2.has_value());
  again.forget("nothing");  // unknown id: harmless
  again.forget(id);
  EXPECT_FALSE(again.state(id).has_value());
}

TEST_F(CamerasTest, CameraAtANewAddressIsFollowedInATrustedNetwork) {
  auto& old_dev = device();
  auto& cams = cameras({"10.0.0.0/8", "127.0.0.0/8"});
  auto added = cams.add(
      to_add("Gate", old_dev.device_service_url(), kEndpoint, storage::RecordingMode::events, 7));
  ASSERT_TRUE(added.ok()) << added.error().message;
  const std::string id = added->camera.id;
  EXPECT_EQ(added->camera.endpoint_ref, kEndpoint);
  const std::string old_url = old_dev.device_service_url();
  old_dev.stop();
  EXPECT_EQ(wait_status(id, CameraStatus::offline), CameraStatus::offline);

  // Same device (endpoint reference), new port: as after a new DHCP lease.
  auto& new_dev = device();
  ASSERT_NE(new_dev.device_service_url(), old_url);
  responder_ = sim::DiscoveryResponder::create(io_, "127.0.0.1", {&new_dev}, discovery_port_);
  responder_->start();
  std::vector<Cameras::Moved> moved;
  auto scan = cams.scan(500ms, {"127.0.0.1"}, &moved);
  ASSERT_TRUE(scan.ok()) << scan.error().message;
  ASSERT_EQ(scan->devices.size(), 1u);
  ASSERT_EQ(moved.size(), 1u);
  EXPECT_EQ(moved[0].id, id);
  EXPECT_EQ(moved[0].from, old_url);
  EXPECT_EQ(moved[0].to, new_dev.device_service_url());
  EXPECT_TRUE(moved[0].followed);
  auto stored = catalog_->find_camera(id);
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->onvif_url, new_dev.device_service_url());
  EXPECT_EQ(wait_status(id, CameraStatus::online), CameraStatus::online);

  // A second scan finds it where it is: nothing moves.
  moved.clear();
  ASSERT_TRUE(cams.scan(300ms, {"127.0.0.1"}, &moved).ok());
  EXPECT_TRUE(moved.empty());
}

TEST_F(CamerasTest, CameraAtANewAddressIsOnlyProposedAndAnAdministratorMovesIt) {
  auto& old_dev = device();
  auto& cams = cameras();  // no trusted network: the default
  auto added = cams.add(
      to_add("Gate", old_dev.device_service_url(), kEndpoint, storage::RecordingMode::events, 7));
  ASSERT_TRUE(added.ok()) << added.error().message;
  const std::string id = added->camera.id;
  const std::string old_url = old_dev.device_service_url();

  // An impostor: the camera's endpoint reference, another serial number.
  auto& impostor = device("EVIL-9");
  responder_ = sim::DiscoveryResponder::create(io_, "127.0.0.1", {&impostor}, discovery_port_);
  responder_->start();
  std::vector<Cameras::Moved> moved;
  ASSERT_TRUE(cams.scan(500ms, {"127.0.0.1"}, &moved).ok());
  ASSERT_EQ(moved.size(), 1u);
  EXPECT_FALSE(moved[0].followed);
  EXPECT_EQ(moved[0].to, impostor.device_service_url());
  auto stored = catalog_->find_camera(id);
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->onvif_url, old_url);  // not moved
  auto st = cams.state(id);
  ASSERT_TRUE(st.has_value());
  ASSERT_TRUE(st->sighting.has_value());
  EXPECT_EQ(st->sighting->onvif_url, impostor.device_service_url());
  EXPECT_EQ(st->sighting->via, "probe");
  EXPECT_EQ(st->sighting->endpoint, kEndpoint);
  EXPECT_EQ(wait_status(id, CameraStatus::online), CameraStatus::online);  // still supervised
  // The same sighting again is not reported again.
  moved.clear();
  ASSERT_TRUE(cams.scan(300ms, {"127.0.0.1"}, &moved).ok());
  EXPECT_TRUE(moved.empty());

  // An administrator's move to the impostor fails: another serial number.
  auto wrong = cams.move(id, impostor.device_service_url());
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.error().kind, ErrorKind::failed_precondition) << wrong.error().message;
  EXPECT_NE(wrong.error().message.find("is not camera"), std::string::npos);
  EXPECT_EQ(catalog_->find_camera(id)->onvif_url, old_url);
  // Nowhere: the error of onboarding, nothing stored.
  auto nowhere = cams.move(id, "http://127.0.0.1:1/onvif/device_service");
  ASSERT_FALSE(nowhere.ok());
  EXPECT_EQ(nowhere.error().kind, ErrorKind::unavailable) << nowhere.error().message;
  EXPECT_FALSE(cams.move("cam-404", old_url).ok());

  // The real camera at a new address: moved, online, the sighting gone.
  auto& new_dev = device();
  auto ok = cams.move(id, new_dev.device_service_url());
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_EQ(ok->camera.onvif_url, new_dev.device_service_url());
  EXPECT_EQ(catalog_->find_camera(id)->onvif_url, new_dev.device_service_url());
  EXPECT_EQ(ok->streams.size(), 2u);
  auto after = cams.state(id);
  ASSERT_TRUE(after.has_value());
  EXPECT_FALSE(after->sighting.has_value());
  EXPECT_EQ(after->status, CameraStatus::online);
}

// What a change listener saw: the change, and the camera's row as the
// catalogue had it at that moment (read inside the listener).
struct Told {
  CameraChange::Kind kind;
  std::string id;
  bool row_found = false;
  std::string name, onvif_url;
  storage::RecordingMode mode = storage::RecordingMode::continuous;
};

TEST_F(CamerasTest, EveryCommittedChangeIsToldInOrderAfterTheWrite) {
  auto& dev = device();
  auto& cams = cameras();
  std::mutex mu;
  std::vector<Told> told;
  cams.on_change([&](const CameraChange& c) {
    Told t;
    t.kind = c.kind;
    t.id = c.id;
    if (auto row = catalog_->find_camera(c.id)) {
      t.row_found = true;
      t.name = row->name;
      t.onvif_url = row->onvif_url;
      t.mode = row->recording_mode;
    }
    std::lock_guard lock(mu);
    told.push_back(std::move(t));
  });
  auto seen = [&] {
    std::lock_guard lock(mu);
    return told;
  };

  // Each write, then its notification (waited for before the next write, so
  // that the row read by the listener is the one this write left).
  auto told_count = [&](std::size_t n) {
    return zaulek::testing::eventually([&] { return seen().size() >= n; });
  };
  auto added = cams.add(
      to_add("Gate", dev.device_service_url(), kEndpoint, storage::RecordingMode::continuous, 30));
  ASSERT_TRUE(added.ok()) << added.error().message;
  const std::string id = added->camera.id;
  ASSERT_TRUE(told_count(1));
  storage::Camera edited = added->camera;
  edited.name = "Gate (north)";
  edited.recording_mode = storage::RecordingMode::off;
  auto updated = cams.update(edited);
  ASSERT_TRUE(updated.ok()) << updated.error().message;
  EXPECT_EQ(updated->name, "Gate (north)");
  ASSERT_TRUE(told_count(2));
  auto& moved_to = device();
  auto moved = cams.move(id, moved_to.device_service_url());
  ASSERT_TRUE(moved.ok()) << moved.error().message;
  ASSERT_TRUE(told_count(3));
  ASSERT_TRUE(cams.remove(id).ok());
  EXPECT_FALSE(cams.state(id).has_value());
  ASSERT_TRUE(told_count(4));
  // Failed writes are not told: proof that one would have been is the
  // change added below, told right after them and nothing in between.
  EXPECT_EQ(cams.remove(id).error().kind, ErrorKind::not_found);
  EXPECT_FALSE(cams.update(edited).ok());
  auto again = cams.add(
      to_add("Gate", dev.device_service_url(), kEndpoint, storage::RecordingMode::events, 30));
  ASSERT_TRUE(again.ok()) << again.error().message;
  ASSERT_TRUE(told_count(5));

  auto t = seen();
  ASSERT_EQ(t.size(), 5u);
  EXPECT_EQ(t[0].kind, CameraChange::Kind::added);
  EXPECT_TRUE(t[0].row_found);
  EXPECT_EQ(t[0].name, "Gate");
  EXPECT_EQ(t[0].onvif_url, dev.device_service_url());
  EXPECT_EQ(t[1].kind, CameraChange::Kind::changed);
  EXPECT_EQ(t[1].name, "Gate (north)");
  EXPECT_EQ(t[1].mode, storage::RecordingMode::off);
  EXPECT_EQ(t[2].kind, CameraChange::Kind::changed);
  EXPECT_EQ(t[2].onvif_url, moved_to.device_service_url());
  EXPECT_EQ(t[2].name, "Gate (north)");
  EXPECT_EQ(t[3].kind, CameraChange::Kind::removed);
  EXPECT_FALSE(t[3].row_found);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(t[i].id, id) << i;
  EXPECT_EQ(t[4].kind, CameraChange::Kind::added);
  EXPECT_EQ(t[4].id, again->camera.id);
  EXPECT_EQ(t[4].mode, storage::RecordingMode::events);
}

TEST(TrustedNetworks, MatchesAddressesInsideOnly) {
  const std::vector<std::string> nets{"10.1.0.0/16", "192.168.7.9", "fd00::/8", "garbage/99"};
  EXPECT_TRUE(in_trusted_network("10.1.200.3", nets));
  EXPECT_FALSE(in_trusted_network("10.2.0.1", nets));
  EXPECT_TRUE(in_trusted_network("192.168.7.9", nets));
  EXPECT_FALSE(in_trusted_network("192.168.7.10", nets));
  EXPECT_TRUE(in_trusted_network("[fd12::1]", nets));
  EXPECT_TRUE(in_trusted_network("fd12::1", nets));
  EXPECT_FALSE(in_trusted_network("fe80::1", nets));
  EXPECT_TRUE(in_trusted_network("::ffff:10.1.0.1", nets));  // v4-mapped
  EXPECT_FALSE(in_trusted_network("camera.local", nets));    // names never match
  EXPECT_FALSE(in_trusted_network("", nets));
  EXPECT_FALSE(in_trusted_network("10.1.0.1", {}));
  EXPECT_TRUE(in_trusted_network("1.2.3.4", {"0.0.0.0/0"}));
  EXPECT_TRUE(in_trusted_network("10.1.0.1", {"10.1.0.0/17"}));
  EXPECT_FALSE(in_trusted_network("10.1.128.1", {"10.1.0.0/17"}));
  EXPECT_EQ(check_network("10.1.0.0/16"), "");
  EXPECT_EQ(check_network("fd00::/8"), "");
  EXPECT_NE(check_network("10.1.0.0/33"), "");
  EXPECT_NE(check_network("10.1.0.0/"), "");
  EXPECT_NE(check_network("host.example/8"), "");
  EXPECT_NE(check_network("10.1.0.0/-1"), "");
}

}  // namespace
}  // namespace zaulek::server
