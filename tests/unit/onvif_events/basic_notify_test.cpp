// Basic Notification messages: the Subscribe we send and its reply, the
// Notify cameras POST to us (prefixes, bounds, wrong bodies), and telling
// ActionNotSupported apart from other faults.
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

std::string envelope(const std::string& body) {
  return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
         "<s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\" "
         "xmlns:a=\"http://www.w3.org/2005/08/addressing\" "
         "xmlns:n=\"http://docs.oasis-open.org/wsn/b-2\" "
         "xmlns:t=\"http://www.onvif.org/ver10/schema\" "
         "xmlns:tns1=\"http://www.onvif.org/ver10/topics\" "
         "xmlns:ter=\"http://www.onvif.org/ver10/error\"><s:Body>" +
         body + "</s:Body></s:Envelope>";
}

std::string message(const std::string& topic, const std::string& state) {
  return "<n:NotificationMessage><n:Topic "
         "Dialect=\"http://www.onvif.org/ver10/tev/topicExpression/ConcreteSet\">" +
         topic +
         "</n:Topic><n:Message><t:Message UtcTime=\"2026-11-25T09:59:59.250Z\" "
         "PropertyOperation=\"Changed\"><t:Source><t:SimpleItem Name=\"Rule\" "
         "Value=\"R1\"/></t:Source><t:Data><t:SimpleItem Name=\"IsMotion\" Value=\"" +
         state + "\"/></t:Data></t:Message></n:Message></n:NotificationMessage>";
}

TEST(BasicNotify, SubscribeRequestCarriesConsumerAndLifetime) {
  RequestAuth auth{"u", "digest", "bm9uY2U=", "2026-11-25T10:00:00Z"};
  std::string xml =
      make_subscribe(auth, "http://127.0.0.1:8080/onvif/notify/abc", milliseconds(60000));
  SoapContext ctx;
  auto h = ctx.begin_read(xml);
  ASSERT_TRUE(h) << h.error().message;
  EXPECT_TRUE(h->has_username_token);
  EXPECT_EQ(h->username, "u");
  ASSERT_TRUE(ctx.body_is("wsnt:Subscribe"));
  auto b = ctx.read_body<_wsnt__Subscribe>();
  ASSERT_TRUE(b) << b.error().message;
  ASSERT_NE((*b)->ConsumerReference.Address, nullptr);
  EXPECT_STREQ((*b)->ConsumerReference.Address, "http://127.0.0.1:8080/onvif/notify/abc");
  ASSERT_NE((*b)->InitialTerminationTime, nullptr);
  EXPECT_EQ(*(*b)->InitialTerminationTime, "PT60S");
}

TEST(BasicNotify, SubscribeReply) {
  auto r = parse_subscribe(
      envelope("<n:SubscribeResponse><n:SubscriptionReference><a:Address>http://192.0.2.5/sub/7"
               "</a:Address></n:SubscriptionReference><n:CurrentTime>2026-11-25T12:00:00Z"
               "</n:CurrentTime><n:TerminationTime>2026-11-25T12:01:30Z</n:TerminationTime>"
               "</n:SubscribeResponse>"),
      kNow, milliseconds(60000));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->ref.address, "http://192.0.2.5/sub/7");
  // From the camera's own CurrentTime: its clock offset does not matter.
  EXPECT_EQ(r->lifetime, milliseconds(90000));
  // No TerminationTime (allowed by WS-BaseNotification): what we asked for.
  auto n = parse_subscribe(envelope("<n:SubscribeResponse><n:SubscriptionReference><a:Address>"
                                    "http://192.0.2.5/sub/8</a:Address></n:SubscriptionReference>"
                                    "</n:SubscribeResponse>"),
                           kNow, milliseconds(45000));
  ASSERT_TRUE(n) << n.error().message;
  EXPECT_EQ(n->lifetime, milliseconds(45000));
  auto e = parse_subscribe(envelope("<n:SubscribeResponse><n:SubscriptionReference>"
                                    "</n:SubscriptionReference></n:SubscribeResponse>"),
                           kNow, milliseconds(45000));
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().kind, ErrorKind::invalid_argument);
}

TEST(BasicNotify, NotifyRoundTripAndCameraShape) {
  Notification n;
  n.topic = "tns1:RuleEngine/CellMotionDetector/Motion";
  n.utc_time = "2026-11-25T09:59:59.250Z";
  n.source = {{"Rule", "R1"}};
  n.data = {{"IsMotion", "true"}};
  auto r = parse_notify(make_notify({n, n}));
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0].topic, n.topic);
  EXPECT_EQ((*r)[0].utc_time, n.utc_time);
  EXPECT_EQ((*r)[0].data, n.data);

  // Other prefixes, as a camera writes it.
  auto c = parse_notify(envelope("<n:Notify>" +
                                 message("tns1:RuleEngine/CellMotionDetector/Motion", "false") +
                                 message("tns1:VideoSource/MotionAlarm", "true") + "</n:Notify>"));
  ASSERT_TRUE(c) << c.error().message;
  ASSERT_EQ(c->size(), 2u);
  EXPECT_EQ((*c)[0].property_operation, "Changed");
  EXPECT_EQ((*c)[0].source, (Items{{"Rule", "R1"}}));
  auto e = normalize((*c)[0]);
  EXPECT_EQ(e.kind, EventKind::motion);
  EXPECT_EQ(e.state, EventState::stop);
  EXPECT_EQ(normalize((*c)[1]).state, EventState::start);
}

TEST(BasicNotify, NotifyRefusesWhatIsNotANotify) {
  for (const std::string& bad :
       {std::string("<not xml"), std::string(), std::string("<?xml version='1.0'?><a/>"),
        envelope("<n:Subscribe/>"), envelope(""),
        envelope("<s:Fault><s:Code><s:Value>s:Sender</s:Value></s:Code></s:Fault>")}) {
    auto r = parse_notify(bad);
    EXPECT_FALSE(r) << bad;
  }
  auto wrong = parse_notify(envelope("<n:Subscribe/>"));
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().kind, ErrorKind::invalid_argument);
  EXPECT_NE(wrong.error().message.find("expected wsnt:Notify"), std::string::npos);

  std::string big(kMaxEnvelopeBytes + 1, ' ');
  auto b = parse_notify(big);
  ASSERT_FALSE(b);
  EXPECT_EQ(b.error().kind, ErrorKind::resource_exhausted);

  std::string many;
  for (std::size_t i = 0; i <= kMaxNotificationsPerPull; ++i)
    many += message("tns1:RuleEngine/CellMotionDetector/Motion", "true");
  auto m = parse_notify(envelope("<n:Notify>" + many + "</n:Notify>"));
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().kind, ErrorKind::resource_exhausted);
}

TEST(BasicNotify, ActionNotSupportedIsToldApart) {
  auto fault = [](const std::string& code) {
    return envelope("<s:Fault><s:Code><s:Value>s:Receiver</s:Value><s:Subcode><s:Value>" + code +
                    "</s:Value></s:Subcode></s:Code><s:Reason><s:Text xml:lang=\"en\">no"
                    "</s:Text></s:Reason></s:Fault>");
  };
  auto a = parse_create_pull_point(fault("ter:ActionNotSupported"), kNow);
  ASSERT_FALSE(a);
  EXPECT_TRUE(is_action_not_supported(a.error().message)) << a.error().message;
  auto b = parse_create_pull_point(fault("ter:InvalidArgVal"), kNow);
  ASSERT_FALSE(b);
  EXPECT_FALSE(is_action_not_supported(b.error().message)) << b.error().message;
  auto c = parse_create_pull_point(fault("a:ActionNotSupported"), kNow);
  ASSERT_FALSE(c);
  EXPECT_TRUE(is_action_not_supported(c.error().message)) << c.error().message;
  EXPECT_FALSE(is_action_not_supported("connection refused"));
  // A credentials fault is about the credentials, whatever its reason says.
  auto d = parse_create_pull_point(
      envelope("<s:Fault><s:Code><s:Value>s:Sender</s:Value><s:Subcode><s:Value>"
               "ter:NotAuthorized</s:Value></s:Subcode></s:Code><s:Reason><s:Text "
               "xml:lang=\"en\">ActionNotSupported without login</s:Text></s:Reason></s:Fault>"),
      kNow);
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().kind, ErrorKind::unauthenticated);
  EXPECT_FALSE(is_action_not_supported(d.error().message)) << d.error().message;
}

}  // namespace
}  // namespace zaulek::onvif
