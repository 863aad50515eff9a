// The simulator's ONVIF device over real loopback sockets: real HTTP (Beast),
// real SOAP (gSOAP through onvif/soap_buffer.h), real UDP for discovery.
#include <gtest/gtest.h>

#include <array>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <future>
#include <set>
#include <thread>

#include "core/clock.h"
#include "core/crypto.h"
#include "onvif/auth.h"
#include "onvif/discovery.h"
#include "onvif/soap_buffer.h"
#include "sim/onvif_device.h"
#include "tests/unit/eventually.h"

namespace zaulek::sim {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using onvif::OutHeader;
using onvif::SoapContext;

struct Reply {
  int status = 0;
  std::string body;
  std::string www_authenticate;
  std::string content_type;
};

// Synchronous HTTP client on its own io_context (the device runs on another).
Reply http_request(const std::string& host, std::uint16_t port, http::verb verb,
                   const std::string& target, const std::string& body,
                   const std::string& authorization = {}) {
  asio::io_context io;
  beast::tcp_stream stream(io);
  stream.expires_after(std::chrono::seconds(90));
  stream.connect(tcp::endpoint(asio::ip::make_address(host), port));
  http::request<http::string_body> req{verb, target, 11};
  req.set(http::field::host, host);
  req.set(http::field::content_type, "application/soap+xml; charset=utf-8");
  if (!authorization.empty()) req.set(http::field::authorization, authorization);
  req.body() = body;
  req.prepare_payload();
  http::write(stream, req);
  beast::flat_buffer buf;
  http::response<http::string_body> res;
  http::read(stream, buf, res);
  Reply r;
  r.status = static_cast<int>(res.result_int());
  r.body = res.body();
  r.www_authenticate = std::string(res[http::field::www_authenticate]);
  r.content_type = std::string(res[http::field::content_type]);
  beast::error_code ec;
  stream.socket().shutdown(tcp::socket::shutdown_both, ec);
  return r;
}

class OnvifSimDeviceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    crypto::init();
    guard_.emplace(io_.get_executor());
  }
  void TearDown() override {
    for (auto& d : devices_) d->stop();
    guard_.reset();
    io_.stop();
    if (thread_.joinable()) thread_.join();
    devices_.clear();
  }
  OnvifDevice& start_device(CameraIdentity id) {
    if (id.name.empty()) id.name = "sim-cam-000";
    id.serial = "ZSIM000000";
    id.hardware_id = "SimCam-1080";
    id.location = "alley-0";
    id.endpoint_uuid = "urn:uuid:00000000-0000-4000-8000-000000000001";
    id.rtsp_main_url = "rtsp://127.0.0.1:8554/main";
    id.rtsp_sub_url = "rtsp://127.0.0.1:8554/sub";
    devices_.push_back(OnvifDevice::create(io_, id));
    devices_.back()->start();
    if (!thread_.joinable()) thread_ = std::thread([this] { io_.run(); });
    return *devices_.back();
  }
  static std::uint16_t port_of(OnvifDevice& d) { return d.identity().onvif_port; }

  template <class T>
  Reply call(OnvifDevice& d, const std::string& path, const T& body, const std::string& user = {},
             const std::string& password = {},
             WallTime created = zaulek::system_clock().realtime()) {
    SoapContext ctx;
    OutHeader h;
    if (!user.empty()) {
      auto tok = onvif::make_username_token(user, password, created);
      h.username = tok.username;
      h.password_digest = tok.password_digest;
      h.nonce_base64 = tok.nonce_base64;
      h.created = tok.created;
    }
    return http_request("127.0.0.1", port_of(d), http::verb::post, path, ctx.write(h, body));
  }

  asio::io_context io_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> guard_;
  std::thread thread_;
  std::vector<std::unique_ptr<OnvifDevice>> devices_;
};

template <class T>
T* parse(SoapContext& ctx, const std::string& xml) {
  auto h = ctx.begin_read(xml);
  EXPECT_TRUE(h.ok()) << (h.ok() ? "" : h.error().message) << "\n" << xml;
  if (!h.ok()) return nullptr;
  auto b = ctx.read_body<T>();
  EXPECT_TRUE(b.ok()) << (b.ok() ? "" : b.error().message) << "\n" << xml;
  return b.ok() ? *b : nullptr;
}

std::string fault_subcode(const std::string& xml) {
  SoapContext ctx;
  if (!ctx.begin_read(xml).ok() || !ctx.body_is("SOAP-ENV:Fault")) return "(no fault)";
  auto f = ctx.read_fault();
  return f.ok() ? f->subcode : "(bad fault)";
}

TEST_F(OnvifSimDeviceTest, DeviceInformationProfilesAndStreamUri) {
  auto& d = start_device({});
  ASSERT_NE(port_of(d), 0);
  EXPECT_EQ(d.device_service_url(),
            "http://127.0.0.1:" + std::to_string(port_of(d)) + "/onvif/device_service");

  SoapContext ctx;
  _tds__GetDeviceInformation gdi;
  soap_default__tds__GetDeviceInformation(ctx.get(), &gdi);
  Reply r = call(d, "/onvif/device_service", gdi);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.content_type.find("application/soap+xml"), std::string::npos);
  auto* info = parse<_tds__GetDeviceInformationResponse>(ctx, r.body);
  ASSERT_NE(info, nullptr);
  EXPECT_EQ(info->Manufacturer, "Zaulek");
  EXPECT_EQ(info->Model, "SimCam-1080");
  EXPECT_EQ(info->SerialNumber, "ZSIM000000");
  EXPECT_EQ(info->HardwareId, "SimCam-1080");

  SoapContext c2;
  _trt__GetProfiles gp;
  soap_default__trt__GetProfiles(c2.get(), &gp);
  r = call(d, "/onvif/media_service", gp);
  ASSERT_EQ(r.status, 200) << r.body;
  auto* profiles = parse<_trt__GetProfilesResponse>(c2, r.body);
  ASSERT_NE(profiles, nullptr);
  ASSERT_EQ(profiles->Profiles.size(), 2u);
  EXPECT_EQ(profiles->Profiles[0].token, "main");
  ASSERT_NE(profiles->Profiles[0].VideoEncoderConfiguration, nullptr);
  EXPECT_EQ(profiles->Profiles[0].VideoEncoderConfiguration->Encoding, "H264");
  EXPECT_EQ(profiles->Profiles[0].VideoEncoderConfiguration->Resolution.Width, 1920);
  EXPECT_EQ(profiles->Profiles[1].VideoEncoderConfiguration->Resolution.Height, 360);
  ASSERT_NE(profiles->Profiles[1].VideoSourceConfiguration, nullptr);
  EXPECT_EQ(profiles->Profiles[1].VideoSourceConfiguration->SourceToken, "vs0");

  for (const char* token : {"main", "sub"}) {
    SoapContext c3;
    _trt__GetStreamUri gsu;
    soap_default__trt__GetStreamUri(c3.get(), &gsu);
    gsu.ProfileToken = token;
    gsu.StreamSetup.Stream = "RTP-Unicast";
    gsu.StreamSetup.Transport.Protocol = "RTSP";
    r = call(d, "/onvif/media_service", gsu);
    ASSERT_EQ(r.status, 200) << r.body;
    auto* uri = parse<_trt__GetStreamUriResponse>(c3, r.body);
    ASSERT_NE(uri, nullptr);
    EXPECT_EQ(uri->MediaUri.Uri, std::string("rtsp://127.0.0.1:8554/") + token);
  }
  SoapContext c4;
  _trt__GetStreamUri bad;
  soap_default__trt__GetStreamUri(c4.get(), &bad);
  bad.ProfileToken = "nope";
  r = call(d, "/onvif/media_service", bad);
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(fault_subcode(r.body), "ter:InvalidArgVal");
}

TEST_F(OnvifSimDeviceTest, ServicesCapabilitiesScopesAndSnapshot) {
  CameraIdentity id;
  id.h265 = true;
  auto& d = start_device(id);
  SoapContext ctx;
  _tds__GetServices gs;
  soap_default__tds__GetServices(ctx.get(), &gs);
  Reply r = call(d, "/onvif/device_service", gs);
  auto* services = parse<_tds__GetServicesResponse>(ctx, r.body);
  ASSERT_NE(services, nullptr);
  ASSERT_EQ(services->Service.size(), 3u);
  EXPECT_EQ(services->Service[2].Namespace, "http://www.onvif.org/ver10/events/wsdl");
  EXPECT_EQ(services->Service[2].XAddr,
            "http://127.0.0.1:" + std::to_string(port_of(d)) + "/onvif/events_service");

  SoapContext c2;
  _tds__GetCapabilities gc;
  soap_default__tds__GetCapabilities(c2.get(), &gc);
  r = call(d, "/onvif/device_service", gc);
  auto* caps = parse<_tds__GetCapabilitiesResponse>(c2, r.body);
  ASSERT_NE(caps, nullptr);
  ASSERT_NE(caps->Capabilities.Media, nullptr);
  EXPECT_NE(caps->Capabilities.Media->XAddr.find("/onvif/media_service"), std::string::npos);
  ASSERT_NE(caps->Capabilities.Events, nullptr);
  EXPECT_TRUE(caps->Capabilities.Events->WSPullPointSupport);

  SoapContext c3;
  _tds__GetScopes gsc;
  soap_default__tds__GetScopes(c3.get(), &gsc);
  r = call(d, "/onvif/device_service", gsc);
  auto* scopes = parse<_tds__GetScopesResponse>(c3, r.body);
  ASSERT_NE(scopes, nullptr);
  std::vector<std::string> items;
  for (auto& s : scopes->Scopes) items.push_back(s.ScopeItem);
  EXPECT_NE(std::find(items.begin(), items.end(), "onvif://www.onvif.org/name/sim-cam-000"),
            items.end());
  EXPECT_NE(std::find(items.begin(), items.end(), "onvif://www.onvif.org/location/alley-0"),
            items.end());

  SoapContext c4;
  _trt__GetProfiles gp;
  soap_default__trt__GetProfiles(c4.get(), &gp);
  r = call(d, "/onvif/media_service", gp);
  auto* profiles = parse<_trt__GetProfilesResponse>(c4, r.body);
  ASSERT_NE(profiles, nullptr);
  EXPECT_EQ(profiles->Profiles[0].VideoEncoderConfiguration->Encoding, "H265");

  SoapContext c5;
  _trt__GetSnapshotUri gsn;
  soap_default__trt__GetSnapshotUri(c5.get(), &gsn);
  gsn.ProfileToken = "main";
  r = call(d, "/onvif/media_service", gsn);
  auto* snap = parse<_trt__GetSnapshotUriResponse>(c5, r.body);
  ASSERT_NE(snap, nullptr);
  EXPECT_EQ(snap->MediaUri.Uri, d.snapshot_url());
  std::string path = d.snapshot_url().substr(d.snapshot_url().find("/onvif/"));
  Reply jpeg = http_request("127.0.0.1", port_of(d), http::verb::get, path, "");
  ASSERT_EQ(jpeg.status, 200);
  EXPECT_EQ(jpeg.content_type, "image/jpeg");
  ASSERT_GT(jpeg.body.size(), 1000u);
  EXPECT_EQ(static_cast<unsigned char>(jpeg.body[0]), 0xFF);
  EXPECT_EQ(static_cast<unsigned char>(jpeg.body[1]), 0xD8);
}

TEST_F(OnvifSimDeviceTest, UsernameTokenAndHttpDigest) {
  CameraIdentity id;
  id.username = "admin";
  id.password = "s3cret";
  auto& d = start_device(id);
  SoapContext ctx;
  _tds__GetDeviceInformation gdi;
  soap_default__tds__GetDeviceInformation(ctx.get(), &gdi);

  // No credentials: HTTP 401 with a digest challenge.
  Reply r = call(d, "/onvif/device_service", gdi);
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.www_authenticate.rfind("Digest ", 0), 0u) << r.www_authenticate;
  // GetSystemDateAndTime needs none.
  _tds__GetSystemDateAndTime gst;
  soap_default__tds__GetSystemDateAndTime(ctx.get(), &gst);
  EXPECT_EQ(call(d, "/onvif/device_service", gst).status, 200);
  // Right WS-UsernameToken.
  r = call(d, "/onvif/device_service", gdi, "admin", "s3cret");
  EXPECT_EQ(r.status, 200) << r.body;
  // Wrong password, wrong user, stale Created: 400 ter:NotAuthorized.
  r = call(d, "/onvif/device_service", gdi, "admin", "wrong");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(fault_subcode(r.body), "ter:NotAuthorized");
  EXPECT_EQ(call(d, "/onvif/device_service", gdi, "root", "s3cret").status, 400);
  auto stale = zaulek::system_clock().realtime() - std::chrono::minutes(10);
  EXPECT_EQ(call(d, "/onvif/device_service", gdi, "admin", "s3cret", stale).status, 400);
  // The same token twice: the nonce is refused the second time.
  SoapContext c2;
  OutHeader h;
  auto tok = onvif::make_username_token("admin", "s3cret", zaulek::system_clock().realtime());
  h.username = tok.username;
  h.password_digest = tok.password_digest;
  h.nonce_base64 = tok.nonce_base64;
  h.created = tok.created;
  std::string body = c2.write(h, gdi);
  EXPECT_EQ(
      http_request("127.0.0.1", port_of(d), http::verb::post, "/onvif/device_service", body).status,
      200);
  Reply replay =
      http_request("127.0.0.1", port_of(d), http::verb::post, "/onvif/device_service", body);
  EXPECT_EQ(replay.status, 400);
  EXPECT_EQ(fault_subcode(replay.body), "ter:NotAuthorized");

  // HTTP digest, answering the challenge.
  onvif::DigestChallenge ch;
  Reply challenge = call(d, "/onvif/device_service", gdi);
  ASSERT_TRUE(onvif::parse_digest_params(challenge.www_authenticate, "realm", ch.realm));
  ASSERT_TRUE(onvif::parse_digest_params(challenge.www_authenticate, "nonce", ch.nonce));
  std::string plain = SoapContext().write(OutHeader{}, gdi);
  std::string good =
      onvif::make_http_digest("POST", "/onvif/device_service", "admin", "s3cret", ch, "c1", 1);
  EXPECT_EQ(
      http_request("127.0.0.1", port_of(d), http::verb::post, "/onvif/device_service", plain, good)
          .status,
      200);
  std::string bad =
      onvif::make_http_digest("POST", "/onvif/device_service", "admin", "nope", ch, "c1", 2);
  EXPECT_EQ(
      http_request("127.0.0.1", port_of(d), http::verb::post, "/onvif/device_service", plain, bad)
          .status,
      401);

  // Fault wrong_password: even the right credentials are refused.
  OnvifFaults f;
  f.wrong_password = true;
  d.set_faults(f);
  r = call(d, "/onvif/device_service", gdi, "admin", "s3cret");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(fault_subcode(r.body), "ter:NotAuthorized");
}

TEST_F(OnvifSimDeviceTest, ClockSkewMovesDeviceTimeAndTokenWindow) {
  CameraIdentity id;
  id.username = "admin";
  id.password = "pw";
  auto& d = start_device(id);
  OnvifFaults f;
  f.clock_skew = std::chrono::hours(2);
  d.set_faults(f);
  SoapContext ctx;
  _tds__GetSystemDateAndTime gst;
  soap_default__tds__GetSystemDateAndTime(ctx.get(), &gst);
  Reply r = call(d, "/onvif/device_service", gst);
  auto* t = parse<_tds__GetSystemDateAndTimeResponse>(ctx, r.body);
  ASSERT_NE(t, nullptr);
  ASSERT_NE(t->SystemDateAndTime.UTCDateTime, nullptr);
  auto now = std::chrono::system_clock::to_time_t(zaulek::system_clock().realtime() +
                                                  std::chrono::hours(2));
  std::tm tm{};
  gmtime_r(&now, &tm);
  // Hours may roll over between the two reads; allow the neighbour.
  int hour = t->SystemDateAndTime.UTCDateTime->Time.Hour;
  EXPECT_TRUE(hour == tm.tm_hour || hour == (tm.tm_hour + 23) % 24) << hour << " " << tm.tm_hour;

  _tds__GetDeviceInformation gdi;
  soap_default__tds__GetDeviceInformation(ctx.get(), &gdi);
  // A client that ignores the device clock is outside the window...
  EXPECT_EQ(call(d, "/onvif/device_service", gdi, "admin", "pw").status, 400);
  // ...one that corrects for it (as ONVIF clients do) is inside.
  EXPECT_EQ(call(d, "/onvif/device_service", gdi, "admin", "pw",
                 zaulek::system_clock().realtime() + std::chrono::hours(2))
                .status,
            200);
}

TEST_F(OnvifSimDeviceTest, PullPointLongPollRenewUnsubscribe) {
  auto& d = start_device({});
  SoapContext ctx;
  _tev__CreatePullPointSubscription cps;
  soap_default__tev__CreatePullPointSubscription(ctx.get(), &cps);
  std::string initial = "PT30S";
  cps.InitialTerminationTime = &initial;
  Reply r = call(d, "/onvif/events_service", cps);
  ASSERT_EQ(r.status, 200) << r.body;
  auto* sub = parse<_tev__CreatePullPointSubscriptionResponse>(ctx, r.body);
  ASSERT_NE(sub, nullptr);
  ASSERT_NE(sub->SubscriptionReference.Address, nullptr);
  std::string address = sub->SubscriptionReference.Address;
  std::string path = address.substr(address.find("/onvif/"));
  WallTime current, term;
  ASSERT_TRUE(parse_rfc3339(sub->wsnt__CurrentTime, current));
  ASSERT_TRUE(parse_rfc3339(sub->wsnt__TerminationTime, term));
  EXPECT_EQ(std::chrono::duration_cast<std::chrono::seconds>(term - current).count(), 30);

  // Long poll: the answer waits for the event fired once the device has the
  // PullMessages (so it is waiting, not answering what was already queued).
  std::promise<WallTime> fired;
  std::thread firer([&] {
    testing::eventually([&] { return !d.request_times("PullMessages").empty(); });
    EventSpec e;
    e.kind = "motion";
    e.state = true;
    fired.set_value(d.fire_event(e));
  });
  SoapContext c2;
  _tev__PullMessages pm;
  soap_default__tev__PullMessages(c2.get(), &pm);
  pm.Timeout = "PT20S";
  pm.MessageLimit = 10;
  r = call(d, path, pm);
  firer.join();
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find("tns1:RuleEngine/CellMotionDetector/Motion"), std::string::npos);
  auto* msgs = parse<_tev__PullMessagesResponse>(c2, r.body);
  ASSERT_NE(msgs, nullptr);
  ASSERT_EQ(msgs->wsnt__NotificationMessage.size(), 1u);
  auto& n = msgs->wsnt__NotificationMessage[0];
  ASSERT_NE(n.Topic, nullptr);
  EXPECT_EQ(n.Topic->Dialect, "http://www.onvif.org/ver10/tev/topicExpression/ConcreteSet");
  ASSERT_NE(n.Message.tt__Message, nullptr);
  EXPECT_EQ(n.Message.tt__Message->UtcTime, format_rfc3339(fired.get_future().get()));
  ASSERT_NE(n.Message.tt__Message->PropertyOperation, nullptr);
  EXPECT_EQ(*n.Message.tt__Message->PropertyOperation, "Changed");
  ASSERT_NE(n.Message.tt__Message->Data, nullptr);
  ASSERT_EQ(n.Message.tt__Message->Data->SimpleItem.size(), 1u);
  EXPECT_EQ(n.Message.tt__Message->Data->SimpleItem[0].Name, "IsMotion");
  EXPECT_EQ(n.Message.tt__Message->Data->SimpleItem[0].Value, "true");
  ASSERT_NE(n.Message.tt__Message->Source, nullptr);
  EXPECT_EQ(n.Message.tt__Message->Source->SimpleItem.size(), 3u);

  // Every kind maps to its topic; unknown kinds are not fired.
  for (const char* kind : {"line_crossing", "field_detection", "tamper", "motion_alarm"}) {
    EventSpec e;
    e.kind = kind;
    EXPECT_NE(d.fire_event(e), WallTime{});
  }
  EventSpec unknown;
  unknown.kind = "explosion";
  EXPECT_EQ(d.fire_event(unknown), WallTime{});
  SoapContext c3;
  r = call(d, path, pm);
  auto* four = parse<_tev__PullMessagesResponse>(c3, r.body);
  ASSERT_NE(four, nullptr);
  ASSERT_EQ(four->wsnt__NotificationMessage.size(), 4u);
  EXPECT_NE(r.body.find("tns1:RuleEngine/LineDetector/Crossed"), std::string::npos);
  EXPECT_NE(r.body.find("tns1:RuleEngine/FieldDetector/ObjectsInside"), std::string::npos);
  EXPECT_NE(r.body.find("tns1:VideoSource/GlobalSceneChange/ImagingService"), std::string::npos);
  EXPECT_NE(r.body.find("tns1:VideoSource/MotionAlarm"), std::string::npos);

  // Empty queue and a short Timeout: an empty answer.
  pm.Timeout = "PT0.2S";
  SoapContext c4;
  r = call(d, path, pm);
  auto* none = parse<_tev__PullMessagesResponse>(c4, r.body);
  ASSERT_NE(none, nullptr);
  EXPECT_TRUE(none->wsnt__NotificationMessage.empty());

  // Bounded queue: 150 events, 100 kept (the newest).
  for (int i = 0; i < 150; ++i) d.fire_event(EventSpec{});
  pm.MessageLimit = 1000;
  SoapContext c5;
  r = call(d, path, pm);
  auto* bounded = parse<_tev__PullMessagesResponse>(c5, r.body);
  ASSERT_NE(bounded, nullptr);
  EXPECT_EQ(bounded->wsnt__NotificationMessage.size(), 100u);

  SoapContext c6;
  _wsnt__Renew renew;
  soap_default__wsnt__Renew(c6.get(), &renew);
  std::string ten = "PT600S";
  renew.TerminationTime = &ten;
  r = call(d, path, renew);
  ASSERT_EQ(r.status, 200) << r.body;
  auto* renewed = parse<_wsnt__RenewResponse>(c6, r.body);
  ASSERT_NE(renewed, nullptr);
  ASSERT_TRUE(parse_rfc3339(renewed->TerminationTime, term));
  ASSERT_NE(renewed->CurrentTime, nullptr);
  ASSERT_TRUE(parse_rfc3339(*renewed->CurrentTime, current));
  EXPECT_EQ(std::chrono::duration_cast<std::chrono::seconds>(term - current).count(), 600);

  _wsnt__Unsubscribe unsub;
  soap_default__wsnt__Unsubscribe(c6.get(), &unsub);
  EXPECT_EQ(call(d, path, unsub).status, 200);
  r = call(d, path, pm);
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(fault_subcode(r.body), "ter:InvalidArgVal");
}

TEST_F(OnvifSimDeviceTest, SubscriptionsExpire) {
  auto& d = start_device({});
  SoapContext ctx;
  _tev__CreatePullPointSubscription cps;
  soap_default__tev__CreatePullPointSubscription(ctx.get(), &cps);
  std::string initial = "PT1S";
  cps.InitialTerminationTime = &initial;
  Reply r = call(d, "/onvif/events_service", cps);
  auto* sub = parse<_tev__CreatePullPointSubscriptionResponse>(ctx, r.body);
  ASSERT_NE(sub, nullptr);
  std::string address = sub->SubscriptionReference.Address;
  std::string path = address.substr(address.find("/onvif/"));
  // Poll (bounded) until the sweep removes it: a ResourceUnknown-style fault.
  SoapContext c2;
  _tev__PullMessages pm;
  soap_default__tev__PullMessages(c2.get(), &pm);
  pm.Timeout = "PT0.5S";
  pm.MessageLimit = 1;
  int status = 200;
  for (int i = 0; i < 20 && status == 200; ++i) status = call(d, path, pm).status;
  EXPECT_EQ(status, 400);
}

TEST_F(OnvifSimDeviceTest, BasicNotificationPostsNotifyToLoopbackConsumer) {
  auto& d = start_device({});
  // A consumer: a plain loopback listener that reads one request.
  asio::io_context cio;
  tcp::acceptor acceptor(cio, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  std::string consumer =
      "http://127.0.0.1:" + std::to_string(acceptor.local_endpoint().port()) + "/notify";
  SoapContext ctx;
  _wsnt__Subscribe s;
  soap_default__wsnt__Subscribe(ctx.get(), &s);
  s.ConsumerReference.Address = ctx.strdup(consumer);
  Reply r = call(d, "/onvif/events_service", s);
  ASSERT_EQ(r.status, 200) << r.body;
  auto* resp = parse<_wsnt__SubscribeResponse>(ctx, r.body);
  ASSERT_NE(resp, nullptr);
  EventSpec e;
  e.kind = "line_crossing";
  WallTime fired = d.fire_event(e);

  tcp::socket sock(cio);
  acceptor.accept(sock);
  beast::flat_buffer buf;
  http::request<http::string_body> req;
  http::read(sock, buf, req);
  http::response<http::string_body> ok{http::status::ok, 11};
  ok.prepare_payload();
  http::write(sock, ok);
  EXPECT_EQ(req.target(), "/notify");
  SoapContext c2;
  auto* notify = parse<_wsnt__Notify>(c2, req.body());
  ASSERT_NE(notify, nullptr);
  ASSERT_EQ(notify->NotificationMessage.size(), 1u);
  EXPECT_STREQ(notify->NotificationMessage[0].Topic->__mixed,
               "tns1:RuleEngine/LineDetector/Crossed");
  EXPECT_EQ(notify->NotificationMessage[0].Message.tt__Message->UtcTime, format_rfc3339(fired));
  // Crossed is a pulse: no PropertyOperation.
  EXPECT_EQ(notify->NotificationMessage[0].Message.tt__Message->PropertyOperation, nullptr);

  // A consumer off the loopback is refused before anything is sent.
  SoapContext c3;
  _wsnt__Subscribe s2;
  soap_default__wsnt__Subscribe(c3.get(), &s2);
  s2.ConsumerReference.Address = c3.strdup("http://192.0.2.1:8080/notify");
  r = call(d, "/onvif/events_service", s2);
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(fault_subcode(r.body), "ter:InvalidArgVal");
}

TEST_F(OnvifSimDeviceTest, BadInputGetsFaultsNotCrashes) {
  auto& d = start_device({});
  const std::string bodies[] = {"", "garbage", "<a>", std::string(5000, '<'),
                                "<?xml version=\"1.0\"?><Envelope/>"};
  for (const auto& b : bodies) {
    Reply r = http_request("127.0.0.1", port_of(d), http::verb::post, "/onvif/device_service", b);
    EXPECT_EQ(r.status, 400) << b;
    EXPECT_EQ(fault_subcode(r.body), "ter:WellFormed") << r.body;
  }
  // An envelope with an operation we do not have.
  std::string unknown =
      R"(<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body>)"
      R"(<GetHostname xmlns="http://www.onvif.org/ver10/device/wsdl"/></s:Body></s:Envelope>)";
  Reply r =
      http_request("127.0.0.1", port_of(d), http::verb::post, "/onvif/device_service", unknown);
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(fault_subcode(r.body), "ter:ActionNotSupported");
  // Over the body limit: 413 from the header alone, then the connection
  // closes; the client may see the close while still sending the body.
  try {
    r = http_request("127.0.0.1", port_of(d), http::verb::post, "/onvif/device_service",
                     std::string(onvif::kMaxEnvelopeBytes + 10, 'x'));
    EXPECT_EQ(r.status, 413);
  } catch (const boost::system::system_error& e) {
    EXPECT_TRUE(e.code() == asio::error::broken_pipe || e.code() == asio::error::connection_reset)
        << e.what();
  }
  EXPECT_EQ(http_request("127.0.0.1", port_of(d), http::verb::get, "/nope", "").status, 404);
  // Still serving.
  SoapContext ctx;
  _tds__GetDeviceInformation gdi;
  soap_default__tds__GetDeviceInformation(ctx.get(), &gdi);
  EXPECT_EQ(call(d, "/onvif/device_service", gdi).status, 200);
}

TEST_F(OnvifSimDeviceTest, FaultsDelayMalformedDown) {
  auto& d = start_device({});
  SoapContext ctx;
  _tds__GetDeviceInformation gdi;
  soap_default__tds__GetDeviceInformation(ctx.get(), &gdi);
  OnvifFaults f;
  f.soap_delay = std::chrono::milliseconds(300);
  d.set_faults(f);
  EXPECT_EQ(d.faults().soap_delay, std::chrono::milliseconds(300));
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(call(d, "/onvif/device_service", gdi).status, 200);
  auto waited = std::chrono::steady_clock::now() - t0;
  // A timer never fires early: a lower bound only.
  EXPECT_GE(waited, std::chrono::milliseconds(300));
  std::printf("soap_delay 300 ms: answered after %lld ms\n",
              static_cast<long long>(
                  std::chrono::duration_cast<std::chrono::milliseconds>(waited).count()));

  f = {};
  f.malformed_soap = true;
  d.set_faults(f);
  Reply r = call(d, "/onvif/device_service", gdi);
  EXPECT_EQ(r.status, 200);
  SoapContext c2;
  auto h = c2.begin_read(r.body);
  EXPECT_TRUE(!h.ok() || !c2.read_body<_tds__GetDeviceInformationResponse>().ok());

  // A subscription made before the "reboot" is gone after it.
  d.set_faults({});
  SoapContext c3;
  _tev__CreatePullPointSubscription cps;
  soap_default__tev__CreatePullPointSubscription(c3.get(), &cps);
  r = call(d, "/onvif/events_service", cps);
  auto* sub = parse<_tev__CreatePullPointSubscriptionResponse>(c3, r.body);
  ASSERT_NE(sub, nullptr);
  std::string address = sub->SubscriptionReference.Address;
  std::string sub_path = address.substr(address.find("/onvif/"));

  f = {};
  f.down = true;
  std::uint16_t port = port_of(d);
  d.set_faults(f);
  // set_faults applies on the strand: until the port refuses.
  EXPECT_TRUE(testing::eventually(
      [&] {
        try {
          http_request("127.0.0.1", port, http::verb::post, "/onvif/device_service",
                       SoapContext().write(OutHeader{}, gdi));
          return false;
        } catch (const boost::system::system_error&) {
          return true;
        }
      },
      std::chrono::seconds(1)));
  d.set_faults(OnvifFaults{});
  int status = 0;
  testing::eventually(
      [&] {
        try {
          status = call(d, "/onvif/device_service", gdi).status;
        } catch (const boost::system::system_error&) {
        }
        return status == 200;
      },
      std::chrono::seconds(1));
  EXPECT_EQ(status, 200);
  EXPECT_EQ(port_of(d), port);
  _tev__PullMessages pm;
  soap_default__tev__PullMessages(c3.get(), &pm);
  pm.Timeout = "PT0S";
  pm.MessageLimit = 1;
  r = call(d, sub_path, pm);
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(fault_subcode(r.body), "ter:InvalidArgVal");
}

// Deterministic mutations of real requests (seeded, bounded count): every
// answer is an HTTP status we define, and the device keeps serving.
TEST_F(OnvifSimDeviceTest, MutatedRequestsNeverCrash) {
  CameraIdentity id;
  id.username = "admin";
  id.password = "pw";
  auto& d = start_device(id);
  SoapContext ctx;
  OutHeader h;
  auto tok = onvif::make_username_token("admin", "pw", zaulek::system_clock().realtime());
  h.username = tok.username;
  h.password_digest = tok.password_digest;
  h.nonce_base64 = tok.nonce_base64;
  h.created = tok.created;
  _trt__GetStreamUri gsu;
  soap_default__trt__GetStreamUri(ctx.get(), &gsu);
  gsu.ProfileToken = "main";
  _tev__PullMessages pm;
  soap_default__tev__PullMessages(ctx.get(), &pm);
  pm.Timeout = "PT0S";
  pm.MessageLimit = 3;
  const std::string seeds[] = {ctx.write(h, gsu), ctx.write(h, pm)};
  std::uint32_t rng = 12345;
  auto next = [&] { return rng = rng * 1664525u + 1013904223u; };
  std::string alphabet = std::string("<>/&;:\"'= ") + '\0' + '\xff' + '\xc3' + "abcSOAP-ENV";
  int answered = 0;
  for (int i = 0; i < 300; ++i) {
    std::string m = seeds[i % 2];
    int edits = 1 + static_cast<int>(next() % 8);
    for (int e = 0; e < edits && !m.empty(); ++e) {
      std::size_t pos = next() % m.size();
      switch (next() % 3) {
        case 0:
          m[pos] = alphabet[next() % alphabet.size()];
          break;
        case 1:
          m.erase(pos, 1 + next() % 16);
          break;
        default:
          m.insert(pos, m.substr(next() % m.size(), 1 + next() % 32));
          break;
      }
    }
    Reply r = http_request("127.0.0.1", port_of(d), http::verb::post, "/onvif/media_service", m);
    EXPECT_TRUE(r.status == 200 || r.status == 400 || r.status == 401 || r.status == 500)
        << r.status << " for input #" << i;
    ++answered;
  }
  EXPECT_EQ(answered, 300);
  SoapContext c2;
  _tds__GetDeviceInformation gdi;
  soap_default__tds__GetDeviceInformation(c2.get(), &gdi);
  EXPECT_EQ(call(d, "/onvif/device_service", gdi, "admin", "pw").status, 200);
}

// Unicast Probes on a private port (3702 may be taken by another test).
TEST_F(OnvifSimDeviceTest, DiscoveryAnswersUnicastProbesPerDevice) {
  CameraIdentity a, b;
  a.name = "sim-cam-000";
  b.name = "sim-cam-001";
  auto& da = start_device(a);
  auto& db = start_device(b);
  // A free UDP port: bind, read, close.
  std::uint16_t port;
  {
    asio::io_context tmp;
    asio::ip::udp::socket s(tmp, asio::ip::udp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    port = s.local_endpoint().port();
  }
  auto responder = DiscoveryResponder::create(io_, "127.0.0.1", {&da, &db}, port);
  responder->start();

  asio::io_context cio;
  asio::ip::udp::socket sock(cio, asio::ip::udp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  asio::ip::udp::endpoint target(asio::ip::make_address("127.0.0.1"), port);
  // Sends `payload`, then a marker Probe of a fresh id, and returns the
  // replies that came before the marker's first answer (bounded wait). The
  // responder reads datagrams in order and answers each at once, so every
  // reply to `payload` is in: what is missing was never sent. Late answers
  // to earlier markers are skipped.
  std::set<std::string> markers;
  auto exchange = [&](const std::string& payload) {
    sock.send_to(asio::buffer(payload), target);
    const std::string marker = onvif::new_message_id();
    markers.insert(marker);
    sock.send_to(asio::buffer(onvif::build_probe(marker)), target);
    std::vector<std::string> out;
    std::array<char, 65536> buf;
    sock.non_blocking(true);
    EXPECT_TRUE(testing::eventually([&] {
      for (;;) {
        boost::system::error_code ec;
        asio::ip::udp::endpoint from;
        std::size_t n = sock.receive_from(asio::buffer(buf), from, 0, ec);
        if (ec) return false;  // would_block: nothing more yet
        std::string reply(buf.data(), n);
        std::string relates;
        if (onvif::parse_probe_matches(reply, &relates).ok() && markers.count(relates)) {
          if (relates == marker) return true;
          continue;
        }
        out.push_back(std::move(reply));
      }
    })) << "no answer to the marker Probe";
    return out;
  };
  std::string id = onvif::new_message_id();
  auto replies = exchange(onvif::build_probe(id));
  ASSERT_EQ(replies.size(), 2u);
  std::set<std::string> xaddrs;
  for (auto& rep : replies) {
    std::string relates;
    auto m = onvif::parse_probe_matches(rep, &relates);
    ASSERT_TRUE(m.ok()) << m.error().message;
    EXPECT_EQ(relates, id);
    ASSERT_EQ(m->size(), 1u);
    xaddrs.insert((*m)[0].xaddrs.at(0));
  }
  EXPECT_EQ(xaddrs, (std::set<std::string>{da.device_service_url(), db.device_service_url()}));

  // Scope filter: only sim-cam-001 matches.
  std::string scoped = onvif::build_probe(onvif::new_message_id());
  auto pos = scoped.find("</wsdd:Types>");
  ASSERT_NE(pos, std::string::npos);
  scoped.insert(pos + 13, "<wsdd:Scopes>onvif://www.onvif.org/name/sim-cam-001</wsdd:Scopes>");
  replies = exchange(scoped);
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_NE(replies[0].find(db.device_service_url()), std::string::npos);

  // Duplicates and a device that is down.
  OnvifFaults dup;
  dup.duplicate_discovery = 3;
  da.set_faults(dup);
  OnvifFaults down;
  down.down = true;
  db.set_faults(down);
  replies = exchange(onvif::build_probe(onvif::new_message_id()));
  EXPECT_EQ(replies.size(), 3u);
  for (auto& rep : replies) EXPECT_NE(rep.find(da.device_service_url()), std::string::npos);

  // Garbage: silence, and the responder still answers afterwards.
  da.set_faults({});
  sock.send_to(asio::buffer(std::string("\x01\x02garbage<<")), target);
  EXPECT_TRUE(exchange(std::string(60000, '<')).empty());
  EXPECT_EQ(exchange(onvif::build_probe(onvif::new_message_id())).size(), 1u);
  responder->stop();
}

}  // namespace
}  // namespace zaulek::sim
