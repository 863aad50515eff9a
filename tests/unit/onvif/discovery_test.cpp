#include "onvif/discovery.h"

#include <gtest/gtest.h>

#include <cstdio>

namespace zaulek::onvif {
namespace {

DiscoveryTarget camera() {
  DiscoveryTarget t;
  t.endpoint = "urn:uuid:11111111-2222-4333-8444-555555555555";
  t.scopes = {"onvif://www.onvif.org/name/sim-cam-000", "onvif://www.onvif.org/hardware/SimCam",
              "onvif://www.onvif.org/location/city/alley-7",
              "onvif://www.onvif.org/type/video_encoder",
              "onvif://www.onvif.org/Profile/Streaming"};
  t.xaddrs = {"http://127.0.0.1:8000/onvif/device_service"};
  return t;
}

TEST(OnvifDiscovery, ProbeRoundTrip) {
  std::string id = new_message_id();
  EXPECT_EQ(id.rfind("urn:uuid:", 0), 0u);
  auto probe = parse_probe(build_probe(id));
  ASSERT_TRUE(probe.ok()) << probe.error().message;
  EXPECT_EQ(probe->message_id, id);
  ASSERT_EQ(probe->types.size(), 1u);
  EXPECT_EQ(probe->types[0], "dn:NetworkVideoTransmitter");
  EXPECT_TRUE(matches(*probe, camera()));
}

TEST(OnvifDiscovery, ParsesForeignProbeWithOtherPrefixes) {
  // The shape the npm onvif package and ONVIF Device Manager send.
  std::string xml =
      R"(<Envelope xmlns="http://www.w3.org/2003/05/soap-envelope" xmlns:dn="http://www.onvif.org/ver10/network/wsdl">)"
      R"(<Header><wsa:MessageID xmlns:wsa="http://schemas.xmlsoap.org/ws/2004/08/addressing">uuid:abc</wsa:MessageID>)"
      R"(<wsa:To xmlns:wsa="http://schemas.xmlsoap.org/ws/2004/08/addressing">urn:schemas-xmlsoap-org:ws:2005:04:discovery</wsa:To>)"
      R"(<wsa:Action xmlns:wsa="http://schemas.xmlsoap.org/ws/2004/08/addressing">http://schemas.xmlsoap.org/ws/2005/04/discovery/Probe</wsa:Action></Header>)"
      R"(<Body><Probe xmlns="http://schemas.xmlsoap.org/ws/2005/04/discovery" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">)"
      R"(<Types xmlns:x="http://www.onvif.org/ver10/network/wsdl">x:NetworkVideoTransmitter</Types>)"
      R"(<Scopes>onvif://www.onvif.org/location/city</Scopes></Probe></Body></Envelope>)";
  auto probe = parse_probe(xml);
  ASSERT_TRUE(probe.ok()) << probe.error().message;
  EXPECT_EQ(probe->message_id, "uuid:abc");
  ASSERT_EQ(probe->types.size(), 1u);
  EXPECT_EQ(probe->types[0], "dn:NetworkVideoTransmitter");
  EXPECT_TRUE(matches(*probe, camera()));
  probe->scopes = {"onvif://www.onvif.org/location/town"};
  EXPECT_FALSE(matches(*probe, camera()));
  probe->scopes = {"onvif://www.onvif.org/location/cit"};  // segment, not string, prefix
  EXPECT_FALSE(matches(*probe, camera()));
  probe->scopes = {};
  probe->types = {"tds:Device"};
  EXPECT_TRUE(matches(*probe, camera()));
  probe->types = {"\"http://example.com/x\":Printer"};
  EXPECT_FALSE(matches(*probe, camera()));
}

TEST(OnvifDiscovery, ProbeMatchesRoundTrip) {
  std::string xml = build_probe_matches(camera(), "uuid:abc", new_message_id());
  std::string relates;
  auto matches_ = parse_probe_matches(xml, &relates);
  ASSERT_TRUE(matches_.ok()) << matches_.error().message;
  EXPECT_EQ(relates, "uuid:abc");
  ASSERT_EQ(matches_->size(), 1u);
  EXPECT_EQ((*matches_)[0].endpoint, camera().endpoint);
  EXPECT_EQ((*matches_)[0].scopes, camera().scopes);
  EXPECT_EQ((*matches_)[0].xaddrs, camera().xaddrs);
  EXPECT_EQ((*matches_)[0].types, camera().types);
  // A ProbeMatches is not a Probe.
  EXPECT_FALSE(parse_probe(xml).ok());
}

TEST(OnvifDiscovery, HelloAndByeCarryEndpoint) {
  std::string hello = build_hello(camera(), new_message_id());
  EXPECT_NE(hello.find("discovery/Hello"), std::string::npos);
  EXPECT_NE(hello.find(camera().endpoint), std::string::npos);
  EXPECT_NE(hello.find("onvif://www.onvif.org/name/sim-cam-000"), std::string::npos);
  std::string bye = build_bye(camera(), new_message_id());
  EXPECT_NE(bye.find("discovery/Bye"), std::string::npos);
  EXPECT_NE(bye.find(camera().endpoint), std::string::npos);
}

TEST(OnvifDiscovery, HelloAndByeParse) {
  auto hello = parse_announcement(build_hello(camera(), new_message_id()));
  ASSERT_TRUE(hello.ok()) << hello.error().message;
  EXPECT_EQ(hello->kind, Announcement::Kind::hello);
  EXPECT_EQ(hello->target.endpoint, camera().endpoint);
  EXPECT_EQ(hello->target.xaddrs, camera().xaddrs);
  EXPECT_EQ(hello->target.scopes, camera().scopes);
  EXPECT_EQ(hello->target.types, camera().types);
  auto bye = parse_announcement(build_bye(camera(), new_message_id()));
  ASSERT_TRUE(bye.ok()) << bye.error().message;
  EXPECT_EQ(bye->kind, Announcement::Kind::bye);
  EXPECT_EQ(bye->target.endpoint, camera().endpoint);
  EXPECT_TRUE(bye->target.xaddrs.empty());
  // A Probe or ProbeMatches is not an announcement, and an empty endpoint is refused.
  EXPECT_FALSE(parse_announcement(build_probe(new_message_id())).ok());
  EXPECT_FALSE(parse_announcement(build_probe_matches(camera(), "uuid:x", "uuid:y")).ok());
  DiscoveryTarget anonymous = camera();
  anonymous.endpoint.clear();
  EXPECT_FALSE(parse_announcement(build_hello(anonymous, new_message_id())).ok());
}

TEST(OnvifDiscovery, ForeignHelloWithOtherPrefixes) {
  // Prefixes and namespaces as another vendor's camera might send them.
  std::string xml =
      R"(<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:d="http://schemas.xmlsoap.org/ws/2005/04/discovery">)"
      R"(<s:Header><a:Action>http://schemas.xmlsoap.org/ws/2005/04/discovery/Hello</a:Action><a:MessageID>uuid:1</a:MessageID>)"
      R"(<a:To>urn:schemas-xmlsoap-org:ws:2005:04:discovery</a:To></s:Header>)"
      R"(<s:Body><d:Hello><a:EndpointReference><a:Address>urn:uuid:abcd</a:Address></a:EndpointReference>)"
      R"(<d:Types xmlns:tdn="http://www.onvif.org/ver10/network/wsdl">tdn:NetworkVideoTransmitter</d:Types>)"
      R"(<d:Scopes>onvif://www.onvif.org/name/Vendor%20Cam</d:Scopes>)"
      R"(<d:XAddrs>http://10.1.2.3/onvif/device_service http://[fe80::1]/onvif/device_service</d:XAddrs>)"
      R"(<d:MetadataVersion>7</d:MetadataVersion></d:Hello></s:Body></s:Envelope>)";
  auto a = parse_announcement(xml);
  ASSERT_TRUE(a.ok()) << a.error().message;
  EXPECT_EQ(a->kind, Announcement::Kind::hello);
  EXPECT_EQ(a->target.endpoint, "urn:uuid:abcd");
  ASSERT_EQ(a->target.xaddrs.size(), 2u);
  EXPECT_EQ(a->target.xaddrs[0], "http://10.1.2.3/onvif/device_service");
  EXPECT_EQ(a->target.metadata_version, 7u);
}

TEST(OnvifDiscovery, GarbageIsAnErrorNotACrash) {
  for (std::string g : {std::string(), std::string("\0\0\0", 3), std::string("<Envelope>"),
                        std::string(70000, '<'), std::string("<?xml version=\"1.0\"?><a/>")}) {
    EXPECT_FALSE(parse_probe(g).ok());
    EXPECT_FALSE(parse_probe_matches(g).ok());
    EXPECT_FALSE(parse_announcement(g).ok());
  }
}

TEST(OnvifDiscovery, MutatedProbesAreParsedOrRefused) {
  // Seeded, bounded: parse must return (ok or error) for every mutation.
  std::string seed = build_probe(new_message_id());
  std::uint32_t rng = 777;
  auto next = [&] { return rng = rng * 1664525u + 1013904223u; };
  int ok = 0;
  for (int i = 0; i < 2000; ++i) {
    std::string m = seed;
    for (int e = 0, n = 1 + static_cast<int>(next() % 6); e < n && !m.empty(); ++e) {
      std::size_t pos = next() % m.size();
      if (next() % 2)
        m[pos] = static_cast<char>(next() & 0xff);
      else
        m.erase(pos, 1 + next() % 12);
    }
    auto p = parse_probe(m);
    if (p.ok()) ++ok;
  }
  std::printf("mutated probes still parsed: %d of 2000\n", ok);
  EXPECT_LT(ok, 2000);  // mutations do break some of them
}

}  // namespace
}  // namespace zaulek::onvif
