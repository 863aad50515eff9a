// The ONVIF client's reply parsing: replies as cameras of several makes write
// them (foreign prefixes, default namespaces, SOAP 1.1), missing optional
// fields, faults, garbage and oversized bodies.
#include "onvif/client/replies.h"

#include <gtest/gtest.h>

#include <string>

#include "onvif/client/discovery_client.h"
#include "onvif/soap_buffer.h"

namespace zaulek::onvif {
namespace {

std::string env12(const std::string& body) {
  return R"(<?xml version="1.0" encoding="UTF-8"?>)"
         R"(<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://www.w3.org/2003/05/soap-envelope")"
         R"( xmlns:tds="http://www.onvif.org/ver10/device/wsdl")"
         R"( xmlns:trt="http://www.onvif.org/ver10/media/wsdl")"
         R"( xmlns:tt="http://www.onvif.org/ver10/schema")"
         R"( xmlns:ter="http://www.onvif.org/ver10/error"><SOAP-ENV:Body>)" +
         body + "</SOAP-ENV:Body></SOAP-ENV:Envelope>";
}

// The same reply with the prefixes another make uses (s:, a default
// namespace for the body, d:/m:/x: for the rest).
std::string env_foreign(const std::string& body) {
  return R"(<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope">)"
         R"(<s:Header/><s:Body>)" +
         body + "</s:Body></s:Envelope>";
}

constexpr const char* kDateTime =
    "<tds:GetSystemDateAndTimeResponse><tds:SystemDateAndTime>"
    "<tt:DateTimeType>NTP</tt:DateTimeType><tt:DaylightSavings>false</tt:DaylightSavings>"
    "<tt:TimeZone><tt:TZ>CET-1CEST,M3.5.0,M10.5.0/3</tt:TZ></tt:TimeZone>"
    "<tt:UTCDateTime><tt:Time><tt:Hour>9</tt:Hour><tt:Minute>40</tt:Minute>"
    "<tt:Second>16</tt:Second></tt:Time><tt:Date><tt:Year>2026</tt:Year><tt:Month>11</tt:Month>"
    "<tt:Day>25</tt:Day></tt:Date></tt:UTCDateTime>"
    "</tds:SystemDateAndTime></tds:GetSystemDateAndTimeResponse>";

TEST(OnvifClientReplies, SystemDateAndTime) {
  auto t = parse_system_date_and_time(env12(kDateTime));
  ASSERT_TRUE(t.ok()) << t.error().message;
  WallTime want;
  ASSERT_TRUE(parse_rfc3339("2026-11-25T09:40:16Z", want));
  EXPECT_EQ(*t, want);
}

TEST(OnvifClientReplies, SystemDateAndTimeWithForeignPrefixes) {
  std::string body =
      R"(<d:GetSystemDateAndTimeResponse xmlns:d="http://www.onvif.org/ver10/device/wsdl")"
      R"( xmlns:x="http://www.onvif.org/ver10/schema"><d:SystemDateAndTime>)"
      "<x:DateTimeType>Manual</x:DateTimeType><x:DaylightSavings>true</x:DaylightSavings>"
      "<x:UTCDateTime><x:Time><x:Hour>23</x:Hour><x:Minute>59</x:Minute><x:Second>59</x:Second>"
      "</x:Time><x:Date><x:Year>2024</x:Year><x:Month>2</x:Month><x:Day>29</x:Day></x:Date>"
      "</x:UTCDateTime><x:Extension><x:Vendor>ignored</x:Vendor></x:Extension>"
      "</d:SystemDateAndTime></d:GetSystemDateAndTimeResponse>";
  auto t = parse_system_date_and_time(env_foreign(body));
  ASSERT_TRUE(t.ok()) << t.error().message;
  WallTime want;
  ASSERT_TRUE(parse_rfc3339("2024-02-29T23:59:59Z", want));
  EXPECT_EQ(*t, want);
}

TEST(OnvifClientReplies, SystemDateAndTimeFallsBackToLocalAndRejectsNonsense) {
  std::string local =
      "<tds:GetSystemDateAndTimeResponse><tds:SystemDateAndTime>"
      "<tt:DateTimeType>Manual</tt:DateTimeType><tt:DaylightSavings>false</tt:DaylightSavings>"
      "<tt:LocalDateTime><tt:Time><tt:Hour>1</tt:Hour><tt:Minute>2</tt:Minute>"
      "<tt:Second>3</tt:Second></tt:Time><tt:Date><tt:Year>2025</tt:Year><tt:Month>1</tt:Month>"
      "<tt:Day>2</tt:Day></tt:Date></tt:LocalDateTime>"
      "</tds:SystemDateAndTime></tds:GetSystemDateAndTimeResponse>";
  auto t = parse_system_date_and_time(env12(local));
  ASSERT_TRUE(t.ok()) << t.error().message;
  EXPECT_EQ(format_rfc3339(*t), "2025-01-02T01:02:03.000Z");

  std::string none =
      "<tds:GetSystemDateAndTimeResponse><tds:SystemDateAndTime>"
      "<tt:DateTimeType>NTP</tt:DateTimeType><tt:DaylightSavings>false</tt:DaylightSavings>"
      "</tds:SystemDateAndTime></tds:GetSystemDateAndTimeResponse>";
  auto n = parse_system_date_and_time(env12(none));
  ASSERT_FALSE(n.ok());
  EXPECT_EQ(n.error().message, "camera reported no date and time");

  // A day past the month's end counts on into the next month.
  std::string feb31 = kDateTime;
  feb31.replace(feb31.find("<tt:Month>11"), 12, "<tt:Month>2");
  feb31.replace(feb31.find("<tt:Day>25"), 10, "<tt:Day>31");
  auto f = parse_system_date_and_time(env12(feb31));
  ASSERT_TRUE(f.ok()) << f.error().message;
  EXPECT_EQ(format_rfc3339(*f), "2026-03-03T09:40:16.000Z");

  std::string month13 = kDateTime;
  month13.replace(month13.find("<tt:Month>11"), 12, "<tt:Month>13");
  auto m = parse_system_date_and_time(env12(month13));
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.error().kind, ErrorKind::invalid_argument);
  EXPECT_NE(m.error().message.find("impossible date/time 2026-13-25"), std::string::npos)
      << m.error().message;
}

TEST(OnvifClientReplies, DeviceInformationWithMissingAndExtraFields) {
  // HardwareId missing, an unknown vendor element added: still read.
  std::string body =
      R"(<GetDeviceInformationResponse xmlns="http://www.onvif.org/ver10/device/wsdl">)"
      "<Manufacturer>ACME</Manufacturer><Model>Cam 9</Model><FirmwareVersion>V5.6</FirmwareVersion>"
      "<SerialNumber>SN 1</SerialNumber><VendorThing>x</VendorThing>"
      "</GetDeviceInformationResponse>";
  auto d = parse_device_information(env_foreign(body));
  ASSERT_TRUE(d.ok()) << d.error().message;
  EXPECT_EQ(d->manufacturer, "ACME");
  EXPECT_EQ(d->model, "Cam 9");
  EXPECT_EQ(d->firmware, "V5.6");
  EXPECT_EQ(d->serial, "SN 1");
  EXPECT_EQ(d->hardware_id, "");
}

TEST(OnvifClientReplies, Soap11EnvelopeIsRead) {
  std::string xml =
      R"(<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>)"
      R"(<tds:GetDeviceInformationResponse xmlns:tds="http://www.onvif.org/ver10/device/wsdl">)"
      "<tds:Manufacturer>Old</tds:Manufacturer><tds:Model>M</tds:Model>"
      "<tds:FirmwareVersion>1</tds:FirmwareVersion><tds:SerialNumber>2</tds:SerialNumber>"
      "<tds:HardwareId>3</tds:HardwareId></tds:GetDeviceInformationResponse>"
      "</soap:Body></soap:Envelope>";
  auto d = parse_device_information(xml);
  ASSERT_TRUE(d.ok()) << d.error().message;
  EXPECT_EQ(d->manufacturer, "Old");
  EXPECT_EQ(d->hardware_id, "3");
}

TEST(OnvifClientReplies, NotAuthorizedFaultIsUnauthenticated) {
  std::string fault =
      "<SOAP-ENV:Fault><SOAP-ENV:Code><SOAP-ENV:Value>SOAP-ENV:Sender</SOAP-ENV:Value>"
      "<SOAP-ENV:Subcode><SOAP-ENV:Value>ter:NotAuthorized</SOAP-ENV:Value></SOAP-ENV:Subcode>"
      "</SOAP-ENV:Code><SOAP-ENV:Reason><SOAP-ENV:Text xml:lang=\"en\">Sender not authorized"
      "</SOAP-ENV:Text></SOAP-ENV:Reason></SOAP-ENV:Fault>";
  auto d = parse_device_information(env12(fault));
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.error().kind, ErrorKind::unauthenticated);
  EXPECT_EQ(d.error().message,
            "camera refused the credentials (SOAP fault ter:NotAuthorized: Sender not "
            "authorized)");
}

TEST(OnvifClientReplies, FaultWrittenBySoapContextRoundTrips) {
  SoapContext out;
  std::string xml = out.write_fault({true, "ter:InvalidArgVal", "No such profile"});
  auto u = parse_media_uri(xml, true);
  ASSERT_FALSE(u.ok());
  EXPECT_EQ(u.error().kind, ErrorKind::failed_precondition);
  EXPECT_EQ(u.error().message,
            "camera answered with a SOAP fault ter:InvalidArgVal: No such profile");
}

TEST(OnvifClientReplies, WrongBodyGarbageAndOversize) {
  auto wrong = parse_profiles(env12(kDateTime));
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.error().kind, ErrorKind::invalid_argument);
  EXPECT_NE(wrong.error().message.find("expected trt:GetProfilesResponse"), std::string::npos)
      << wrong.error().message;

  for (std::string bad : {std::string(), std::string("garbage"), std::string("<html>502</html>"),
                          std::string("<s:Envelope xmlns:s=\"urn:x\"><s:Body>"),
                          env12("<tds:GetDeviceInformationResponse><tds:Manufacturer>")}) {
    auto r = parse_device_information(bad);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_EQ(r.error().kind, ErrorKind::invalid_argument) << bad;
    }
  }

  std::string big = env12("<tds:GetDeviceInformationResponse><tds:Manufacturer>" +
                          std::string(kMaxEnvelopeBytes, 'a') + "</tds:Manufacturer>");
  auto r = parse_device_information(big);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::resource_exhausted);
}

TEST(OnvifClientReplies, CapabilitiesAndServices) {
  std::string caps =
      "<tds:GetCapabilitiesResponse><tds:Capabilities>"
      "<tt:Device><tt:XAddr>http://10.0.0.5/onvif/device_service</tt:XAddr></tt:Device>"
      "<tt:Media><tt:XAddr>http://10.0.0.5/onvif/media</tt:XAddr><tt:StreamingCapabilities/>"
      "</tt:Media></tds:Capabilities></tds:GetCapabilitiesResponse>";
  auto c = parse_capabilities(env12(caps));
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->device, "http://10.0.0.5/onvif/device_service");
  EXPECT_EQ(c->media, "http://10.0.0.5/onvif/media");
  EXPECT_EQ(c->events, "");  // no Events element: optional

  std::string svcs =
      "<tds:GetServicesResponse>"
      "<tds:Service><tds:Namespace>http://www.onvif.org/ver10/events/wsdl</tds:Namespace>"
      "<tds:XAddr>http://h/ev</tds:XAddr><tds:Version><tt:Major>2</tt:Major><tt:Minor>6</tt:Minor>"
      "</tds:Version></tds:Service>"
      "<tds:Service><tds:Namespace>http://www.onvif.org/ver20/media/wsdl</tds:Namespace>"
      "<tds:XAddr>http://h/media2</tds:XAddr><tds:Version><tt:Major>2</tt:Major>"
      "<tt:Minor>6</tt:Minor></tds:Version></tds:Service>"
      "<tds:Service><tds:Namespace>http://www.onvif.org/ver10/media/wsdl</tds:Namespace>"
      "<tds:XAddr>http://h/media</tds:XAddr><tds:Version><tt:Major>2</tt:Major>"
      "<tt:Minor>6</tt:Minor></tds:Version></tds:Service>"
      "</tds:GetServicesResponse>";
  auto s = parse_services(env12(svcs));
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ(s->media, "http://h/media");  // ver10 media, not media2
  EXPECT_EQ(s->events, "http://h/ev");
  EXPECT_EQ(s->device, "");
}

TEST(OnvifClientReplies, ProfilesAndChoice) {
  auto profile = [](const char* token, const char* enc, int w, int h) {
    std::string p = std::string("<trt:Profiles token=\"") + token + "\" fixed=\"true\"><tt:Name>" +
                    token + "</tt:Name>";
    if (enc)
      p += std::string("<tt:VideoEncoderConfiguration token=\"v\"><tt:Name>v</tt:Name>") +
           "<tt:UseCount>1</tt:UseCount><tt:Encoding>" + enc +
           "</tt:Encoding><tt:Resolution><tt:Width>" + std::to_string(w) +
           "</tt:Width><tt:Height>" + std::to_string(h) +
           "</tt:Height></tt:Resolution><tt:Quality>5</tt:Quality>" +
           "<tt:Multicast><tt:Address><tt:Type>IPv4</tt:Type></tt:Address><tt:Port>0</tt:Port>" +
           "<tt:TTL>1</tt:TTL><tt:AutoStart>false</tt:AutoStart></tt:Multicast>" +
           "<tt:SessionTimeout>PT60S</tt:SessionTimeout></tt:VideoEncoderConfiguration>";
    return p + "</trt:Profiles>";
  };
  std::string body = "<trt:GetProfilesResponse>" + profile("audio_only", nullptr, 0, 0) +
                     profile("Profile_2", "H264", 640, 360) +
                     profile("Profile_1", "H265", 2560, 1440) +
                     profile("Profile_3", "JPEG", 320, 180) + "</trt:GetProfilesResponse>";
  auto p = parse_profiles(env12(body));
  ASSERT_TRUE(p.ok()) << p.error().message;
  ASSERT_EQ(p->size(), 4u);
  EXPECT_EQ((*p)[0].encoding, "");
  EXPECT_EQ((*p)[2].encoding, "H265");
  EXPECT_EQ((*p)[2].width, 2560);
  auto c = choose_profiles(*p);
  EXPECT_EQ((*p)[c.main].token, "Profile_1");
  EXPECT_EQ((*p)[c.sub].token, "Profile_3");

  std::vector<MediaProfile> one{{"only", "only", "H264", 1920, 1080}};
  auto c1 = choose_profiles(one);
  EXPECT_EQ(c1.main, 0);
  EXPECT_EQ(c1.sub, 0);
  EXPECT_EQ(choose_profiles({}).main, -1);

  // An administrator's choice wins where the camera still lists it; a token
  // it does not list (or none) falls back to the pick.
  auto w = choose_profiles(*p, {"Profile_2", "Profile_2"});
  EXPECT_EQ((*p)[w.main].token, "Profile_2");
  EXPECT_EQ((*p)[w.sub].token, "Profile_2");
  auto half = choose_profiles(*p, {"gone", "Profile_1"});
  EXPECT_EQ((*p)[half.main].token, "Profile_1");
  EXPECT_EQ((*p)[half.sub].token, "Profile_1");
  auto none = choose_profiles(*p, {});
  EXPECT_EQ((*p)[none.main].token, "Profile_1");
  EXPECT_EQ((*p)[none.sub].token, "Profile_3");

  auto empty = parse_profiles(env12("<trt:GetProfilesResponse/>"));
  ASSERT_TRUE(empty.ok()) << empty.error().message;
  EXPECT_TRUE(empty->empty());
}

TEST(OnvifClientReplies, MediaUriStripsCredentials) {
  std::string body =
      "<trt:GetStreamUriResponse><trt:MediaUri><tt:Uri>rtsp://admin:secret@10.0.0.5:554/Streaming/"
      "101?transportmode=unicast</tt:Uri><tt:InvalidAfterConnect>false</tt:InvalidAfterConnect>"
      "<tt:InvalidAfterReboot>false</tt:InvalidAfterReboot><tt:Timeout>PT0S</tt:Timeout>"
      "</trt:MediaUri></trt:GetStreamUriResponse>";
  auto u = parse_media_uri(env12(body), true);
  ASSERT_TRUE(u.ok()) << u.error().message;
  EXPECT_EQ(*u, "rtsp://10.0.0.5:554/Streaming/101?transportmode=unicast");
  // A snapshot reply is not a stream reply.
  EXPECT_FALSE(parse_media_uri(env12(body), false).ok());

  std::string empty =
      "<trt:GetSnapshotUriResponse><trt:MediaUri><tt:Uri></tt:Uri>"
      "<tt:InvalidAfterConnect>false</tt:InvalidAfterConnect>"
      "<tt:InvalidAfterReboot>false</tt:InvalidAfterReboot><tt:Timeout>PT0S</tt:Timeout>"
      "</trt:MediaUri></trt:GetSnapshotUriResponse>";
  auto e = parse_media_uri(env12(empty), false);
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.error().message, "camera returned an empty snapshot URI");

  EXPECT_EQ(strip_userinfo("rtsp://u@h/x@y"), "rtsp://h/x@y");
  EXPECT_EQ(strip_userinfo("rtsp://h:554/main"), "rtsp://h:554/main");
  EXPECT_EQ(strip_userinfo("not a uri"), "not a uri");
}

TEST(OnvifClientReplies, DiscoveryTargets) {
  auto a = parse_target("192.168.1.10", 3702);
  ASSERT_TRUE(a.ok()) << a.error().message;
  EXPECT_EQ(a->first, "192.168.1.10");
  EXPECT_EQ(a->second, 3702);
  auto b = parse_target("127.0.0.1:13702", 3702);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->second, 13702);
  for (const char* bad : {"", "camera.local", "239.255.255.250", "1.2.3.4:0", "1.2.3.4:99999",
                          "::1", "1.2.3.4:x", "0.0.0.0"}) {
    auto r = parse_target(bad, 3702);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_EQ(r.error().kind, ErrorKind::invalid_argument);
    }
  }
}

}  // namespace
}  // namespace zaulek::onvif
