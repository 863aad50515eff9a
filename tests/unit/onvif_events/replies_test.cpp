// PullPoint replies as cameras write them: with and without SubscriptionId,
// relative and absolute TerminationTime, faults, oversized and wrong bodies.
#include <gtest/gtest.h>

#include <string>

#include "onvif/events/replies.h"
#include "onvif/soap_buffer.h"

namespace zaulek::onvif {
namespace {

using std::chrono::milliseconds;

const WallTime kNow = [] {
  WallTime t;
  parse_rfc3339("2026-11-25T10:00:00Z", t);
  return t;
}();

std::string envelope(const std::string& body, const std::string& header = "") {
  return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
         "<s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\" "
         "xmlns:a=\"http://www.w3.org/2005/08/addressing\" "
         "xmlns:ev=\"http://www.onvif.org/ver10/events/wsdl\" "
         "xmlns:n=\"http://docs.oasis-open.org/wsn/b-2\" "
         "xmlns:t=\"http://www.onvif.org/ver10/schema\" "
         "xmlns:tns1=\"http://www.onvif.org/ver10/topics\" "
         "xmlns:ter=\"http://www.onvif.org/ver10/error\">"
         "<s:Header>" +
         header + "</s:Header><s:Body>" + body + "</s:Body></s:Envelope>";
}

std::string create_reply(const std::string& ref_params, const std::string& current,
                         const std::string& termination) {
  return envelope(
      "<ev:CreatePullPointSubscriptionResponse><ev:SubscriptionReference>"
      "<a:Address>http://192.0.2.5/onvif/Events/PullSubManager_1</a:Address>" +
      ref_params + "</ev:SubscriptionReference>" +
      (current.empty() ? "" : "<n:CurrentTime>" + current + "</n:CurrentTime>") +
      "<n:TerminationTime>" + termination +
      "</n:TerminationTime></ev:CreatePullPointSubscriptionResponse>");
}

TEST(OnvifEventsReplies, CreateWithoutSubscriptionId) {
  auto r = parse_create_pull_point(create_reply("", "2026-11-25T10:00:00Z", "2026-11-25T10:01:00Z"),
                                   kNow);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->ref.address, "http://192.0.2.5/onvif/Events/PullSubManager_1");
  EXPECT_TRUE(r->ref.reference_parameters.empty());
  EXPECT_EQ(r->lifetime, milliseconds(60000));
}

TEST(OnvifEventsReplies, CreateWithSubscriptionIdEchoesIt) {
  auto r = parse_create_pull_point(create_reply("<a:ReferenceParameters><dom0:SubscriptionId "
                                                "xmlns:dom0=\"http://www.axis.com/2009/event\">"
                                                "42</dom0:SubscriptionId></a:ReferenceParameters>",
                                                "2026-11-25T10:00:00Z", "2026-11-25T10:00:30Z"),
                                   kNow);
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(r->ref.reference_parameters.size(), 1u);
  EXPECT_NE(r->ref.reference_parameters[0].find("SubscriptionId"), std::string::npos);
  EXPECT_NE(r->ref.reference_parameters[0].find("42"), std::string::npos);
  EXPECT_EQ(r->lifetime, milliseconds(30000));
  // The next call carries it as a SOAP header block, and is still readable.
  std::string pull = make_pull_messages({}, r->ref, milliseconds(5000), 10);
  auto header_end = pull.find("Header>", pull.find("SubscriptionId"));
  EXPECT_NE(pull.find("SubscriptionId"), std::string::npos);
  EXPECT_NE(header_end, std::string::npos);
  EXPECT_LT(pull.find("SubscriptionId"), pull.find("Body"));
  SoapContext ctx;
  auto h = ctx.begin_read(pull);
  ASSERT_TRUE(h) << h.error().message;
  EXPECT_EQ(h->to, "http://192.0.2.5/onvif/Events/PullSubManager_1");
  EXPECT_TRUE(ctx.body_is("tev:PullMessages"));
  auto body = ctx.read_body<_tev__PullMessages>();
  ASSERT_TRUE(body);
  EXPECT_EQ((*body)->Timeout, "PT5S");
  EXPECT_EQ((*body)->MessageLimit, 10);
}

TEST(OnvifEventsReplies, CameraClockOffsetDoesNotMatter) {
  // Camera clock two hours ahead of ours: lifetime is Termination - Current.
  auto r = parse_create_pull_point(create_reply("", "2026-11-25T12:00:00Z", "2026-11-25T12:00:10Z"),
                                   kNow);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->lifetime, milliseconds(10000));
}

TEST(OnvifEventsReplies, NoCurrentTimeUsesOurClock) {
  auto r = parse_create_pull_point(create_reply("", "", "2026-11-25T10:00:20Z"), kNow);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->lifetime, milliseconds(20000));
}

TEST(OnvifEventsReplies, RelativeTermination) {
  auto r = parse_create_pull_point(create_reply("", "2026-11-25T10:00:00Z", "PT1M30S"), kNow);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->lifetime, milliseconds(90000));
}

TEST(OnvifEventsReplies, UnreadableTermination) {
  auto r = parse_create_pull_point(create_reply("", "", "tomorrow"), kNow);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ErrorKind::invalid_argument);
  EXPECT_NE(r.error().message.find("unreadable TerminationTime 'tomorrow'"), std::string::npos);
}

TEST(OnvifEventsReplies, MissingAddress) {
  auto r = parse_create_pull_point(
      envelope(
          "<ev:CreatePullPointSubscriptionResponse><ev:SubscriptionReference><a:Address>"
          "</a:Address></ev:SubscriptionReference><n:CurrentTime>2026-11-25T10:00:00Z</"
          "n:CurrentTime>"
          "<n:TerminationTime>PT10S</n:TerminationTime></ev:CreatePullPointSubscriptionResponse>"),
      kNow);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ErrorKind::invalid_argument);
  EXPECT_NE(r.error().message.find("without a SubscriptionReference address"), std::string::npos);
}

TEST(OnvifEventsReplies, OversizedReferenceParameters) {
  std::string big(kMaxReferenceParameterBytes + 10, 'x');
  auto r = parse_create_pull_point(
      create_reply("<a:ReferenceParameters><Id>" + big + "</Id></a:ReferenceParameters>", "",
                   "PT10S"),
      kNow);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ErrorKind::resource_exhausted);
}

TEST(OnvifEventsReplies, Faults) {
  auto fault = [](const std::string& code, const std::string& reason) {
    return envelope("<s:Fault><s:Code><s:Value>s:Sender</s:Value><s:Subcode><s:Value>" + code +
                    "</s:Value></s:Subcode></s:Code><s:Reason><s:Text xml:lang=\"en\">" + reason +
                    "</s:Text></s:Reason></s:Fault>");
  };
  auto a = parse_create_pull_point(fault("ter:NotAuthorized", "Sender not authorized"), kNow);
  ASSERT_FALSE(a);
  EXPECT_EQ(a.error().kind, ErrorKind::unauthenticated);
  // The same reading as onvif/client's: subcode and reason.
  EXPECT_EQ(a.error().message,
            "camera refused the credentials (SOAP fault ter:NotAuthorized: Sender not authorized)");
  auto b = parse_pull_messages(fault("ter:InvalidArgVal", "unknown subscription"), kNow);
  ASSERT_FALSE(b);
  EXPECT_EQ(b.error().kind, ErrorKind::failed_precondition);
  EXPECT_NE(b.error().message.find("unknown subscription"), std::string::npos);
  auto c = parse_renew(fault("ter:InvalidArgVal", "gone"), kNow);
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().kind, ErrorKind::failed_precondition);
}

TEST(OnvifEventsReplies, OversizedAndGarbage) {
  std::string big(kMaxEnvelopeBytes + 1, ' ');
  auto a = parse_pull_messages(big, kNow);
  ASSERT_FALSE(a);
  EXPECT_EQ(a.error().kind, ErrorKind::resource_exhausted);
  auto b = parse_pull_messages("<not-soap", kNow);
  ASSERT_FALSE(b);
  auto c = parse_pull_messages(envelope("<ev:CreatePullPointSubscriptionResponse/>"), kNow);
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().kind, ErrorKind::invalid_argument);
  EXPECT_NE(c.error().message.find("expected tev:PullMessagesResponse"), std::string::npos);
  auto d = parse_unsubscribe(envelope(""));
  ASSERT_FALSE(d);
}

TEST(OnvifEventsReplies, PullMessagesWithNotifications) {
  std::string msg =
      "<n:NotificationMessage><n:Topic "
      "Dialect=\"http://www.onvif.org/ver10/tev/topicExpression/ConcreteSet\">"
      "tns1:RuleEngine/CellMotionDetector/Motion</n:Topic><n:Message>"
      "<t:Message UtcTime=\"2026-11-25T10:00:01.250Z\" PropertyOperation=\"Changed\">"
      "<t:Source><t:SimpleItem Name=\"VideoSourceConfigurationToken\" Value=\"vsc0\"/>"
      "<t:SimpleItem Name=\"Rule\" Value=\"MyMotionDetectorRule\"/></t:Source>"
      "<t:Data><t:SimpleItem Name=\"IsMotion\" Value=\"true\"/></t:Data>"
      "</t:Message></n:Message></n:NotificationMessage>";
  std::string pulse =
      "<n:NotificationMessage><n:Topic>tns1:RuleEngine/LineDetector/Crossed</n:Topic><n:Message>"
      "<t:Message UtcTime=\"2026-11-25T10:00:02Z\"><t:Data><t:SimpleItem Name=\"ObjectId\" "
      "Value=\"3\"/></t:Data></t:Message></n:Message></n:NotificationMessage>";
  auto r = parse_pull_messages(
      envelope("<ev:PullMessagesResponse><ev:CurrentTime>2026-11-25T10:00:05Z</ev:CurrentTime>"
               "<ev:TerminationTime>2026-11-25T10:00:45Z</ev:TerminationTime>" +
               msg + pulse + "</ev:PullMessagesResponse>"),
      kNow);
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_TRUE(r->lifetime);
  EXPECT_EQ(*r->lifetime, milliseconds(40000));
  ASSERT_EQ(r->notifications.size(), 2u);
  const auto& a = r->notifications[0];
  EXPECT_EQ(a.topic, "tns1:RuleEngine/CellMotionDetector/Motion");
  EXPECT_EQ(a.utc_time, "2026-11-25T10:00:01.250Z");
  EXPECT_EQ(a.property_operation, "Changed");
  ASSERT_EQ(a.source.size(), 2u);
  EXPECT_EQ(a.source[1].second, "MyMotionDetectorRule");
  auto e = normalize(a);
  EXPECT_EQ(e.kind, EventKind::motion);
  EXPECT_EQ(e.state, EventState::start);
  auto p = normalize(r->notifications[1]);
  EXPECT_EQ(p.kind, EventKind::line_crossing);
  EXPECT_EQ(p.state, EventState::pulse);
  EXPECT_EQ(r->notifications[1].property_operation, "");
}

TEST(OnvifEventsReplies, EmptyPull) {
  auto r = parse_pull_messages(
      envelope("<ev:PullMessagesResponse><ev:CurrentTime>2026-11-25T10:00:05Z</ev:CurrentTime>"
               "<ev:TerminationTime>2026-11-25T10:00:45Z</ev:TerminationTime></"
               "ev:PullMessagesResponse>"),
      kNow);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_TRUE(r->notifications.empty());
}

TEST(OnvifEventsReplies, Renew) {
  auto a = parse_renew(
      envelope("<n:RenewResponse><n:TerminationTime>2026-11-25T10:02:00Z</n:TerminationTime>"
               "<n:CurrentTime>2026-11-25T10:01:00Z</n:CurrentTime></n:RenewResponse>"),
      kNow);
  ASSERT_TRUE(a) << a.error().message;
  EXPECT_EQ(*a, milliseconds(60000));
  auto b = parse_renew(
      envelope("<n:RenewResponse><n:TerminationTime>PT2M</n:TerminationTime></n:RenewResponse>"),
      kNow);
  ASSERT_TRUE(b) << b.error().message;
  EXPECT_EQ(*b, milliseconds(120000));
  EXPECT_TRUE(parse_unsubscribe(envelope("<n:UnsubscribeResponse/>")));
}

TEST(OnvifEventsReplies, Durations) {
  EXPECT_EQ(parse_xsd_duration("PT10S"), milliseconds(10000));
  EXPECT_EQ(parse_xsd_duration("PT1.5S"), milliseconds(1500));
  EXPECT_EQ(parse_xsd_duration("P1DT1H"), milliseconds((86400 + 3600) * 1000LL));
  EXPECT_EQ(parse_xsd_duration("PT2M"), milliseconds(120000));
  EXPECT_EQ(parse_xsd_duration("P1M"), milliseconds(30LL * 86400 * 1000));
  EXPECT_FALSE(parse_xsd_duration("PT"));
  EXPECT_FALSE(parse_xsd_duration("10S"));
  EXPECT_FALSE(parse_xsd_duration("PT1.2.3S"));
  EXPECT_FALSE(parse_xsd_duration("PT1.5M"));
  EXPECT_FALSE(parse_xsd_duration("PTxS"));
  EXPECT_FALSE(parse_xsd_duration("P1H"));
  EXPECT_FALSE(parse_xsd_duration("P99999999999999999999Y"));
  EXPECT_EQ(format_xsd_duration(milliseconds(60000)), "PT60S");
  EXPECT_EQ(format_xsd_duration(milliseconds(1500)), "PT1.500S");
}

TEST(OnvifEventsReplies, RequestsAreReadable) {
  RequestAuth auth{"admin", "ZGlnZXN0", "bm9uY2U=", "2026-11-25T10:00:00Z"};
  SubscriptionRef ref{"http://127.0.0.1:1/onvif/subscription/1", {}};
  for (const auto& xml :
       {make_create_pull_point(auth, milliseconds(60000)),
        make_renew(auth, ref, milliseconds(60000)), make_unsubscribe(auth, ref)}) {
    SoapContext ctx;
    auto h = ctx.begin_read(xml);
    ASSERT_TRUE(h) << h.error().message;
    EXPECT_TRUE(h->has_username_token);
    EXPECT_EQ(h->username, "admin");
    EXPECT_FALSE(h->action.empty());
  }
}

}  // namespace
}  // namespace zaulek::onvif
