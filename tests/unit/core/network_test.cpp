// core/network.h: CIDR networks and IP literals, the one parser behind
// discovery.trusted_networks and server.trusted_proxies.
#include "core/network.h"

#include <gtest/gtest.h>

#include <string>

namespace zaulek {
namespace {

TEST(Network, ParsesIpv4AndIpv6WithAndWithoutPrefix) {
  auto v4 = parse_network("10.1.0.0/16");
  ASSERT_TRUE(v4) << v4.error().message;
  EXPECT_FALSE(v4->address.v6);
  EXPECT_EQ(v4->prefix, 16);
  EXPECT_EQ(v4->address.bytes[0], 10);
  EXPECT_EQ(v4->address.bytes[1], 1);

  auto v6 = parse_network("fd00::/8");
  ASSERT_TRUE(v6) << v6.error().message;
  EXPECT_TRUE(v6->address.v6);
  EXPECT_EQ(v6->prefix, 8);
  EXPECT_EQ(v6->address.bytes[0], 0xfd);

  // An address alone is a host network.
  EXPECT_EQ(parse_network("192.168.1.7")->prefix, 32);
  EXPECT_EQ(parse_network("::1")->prefix, 128);
  EXPECT_EQ(parse_network("0.0.0.0/0")->prefix, 0);
  EXPECT_EQ(parse_network("::/0")->prefix, 0);
  EXPECT_EQ(parse_network("10.0.0.0/032")->prefix, 32);  // leading zero, three digits
  EXPECT_EQ(parse_network("::ffff:10.0.0.0/104")->prefix, 104);
}

TEST(Network, BadInputSaysWhatIsWrong) {
  const std::string not_network = "not an IP network (10.1.0.0/16, fd00::/8)";
  for (const char* text : {"", "lan", "proxy.local", "host.example/8", "10.1.0", "10.1.0.256",
                           "010.1.0.0", "10.1.0.0 /8", " 10.1.0.0", "/8", "[::1]", "[::1]/128",
                           "fe80::1%eth0/64", "fe80::1%eth0", ":::/8"}) {
    auto n = parse_network(text);
    ASSERT_FALSE(n) << text;
    EXPECT_EQ(n.error().kind, ErrorKind::invalid_argument);
    EXPECT_EQ(n.error().message, not_network) << text;
  }
  EXPECT_FALSE(parse_network(std::string("10.0.0.1\0/8", 11)));  // no NUL smuggled past

  for (const char* text :
       {"10.0.0.0/33", "10.0.0.0/", "10.0.0.0/-1", "10.0.0.0/+8", "10.0.0.0/8/8", "10.0.0.0/0x8",
        "10.0.0.0/0008", "10.0.0.0/ 8", "10.0.0.0/999999999999999999999"}) {
    auto n = parse_network(text);
    ASSERT_FALSE(n) << text;
    EXPECT_EQ(n.error().message, "prefix length must be 0..32") << text;
  }
  for (const char* text : {"fd00::/129", "fd00::/", "fd00::/1e2"}) {
    auto n = parse_network(text);
    ASSERT_FALSE(n) << text;
    EXPECT_EQ(n.error().message, "prefix length must be 0..128") << text;
  }
}

TEST(Network, ContainsComparesThePrefixOnly) {
  auto net = *parse_network("10.1.0.0/17");
  EXPECT_TRUE(net.contains("10.1.0.1"));
  EXPECT_TRUE(net.contains("10.1.127.255"));
  EXPECT_FALSE(net.contains("10.1.128.1"));
  EXPECT_FALSE(net.contains("10.2.0.1"));

  auto host_bits_set = *parse_network("10.1.2.3/8");  // host bits are ignored, not an error
  EXPECT_TRUE(host_bits_set.contains("10.200.0.1"));

  EXPECT_TRUE(parse_network("0.0.0.0/0")->contains("1.2.3.4"));
  EXPECT_FALSE(parse_network("0.0.0.0/0")->contains("::1"));  // families must match
  EXPECT_TRUE(parse_network("192.168.1.7")->contains("192.168.1.7"));
  EXPECT_FALSE(parse_network("192.168.1.7")->contains("192.168.1.6"));

  auto v6 = *parse_network("fd00::/8");
  EXPECT_TRUE(v6.contains("fd12::1"));
  EXPECT_FALSE(v6.contains("fe80::1"));
  EXPECT_FALSE(v6.contains("10.1.0.1"));
  EXPECT_TRUE(parse_network("fe80::/10")->contains("febf::1"));
  EXPECT_FALSE(parse_network("fe80::/10")->contains("fec0::1"));
}

TEST(Network, ContainsReadsLiteralsAsPeersAndUrlsWriteThem) {
  auto v4 = *parse_network("10.1.0.0/16");
  EXPECT_TRUE(v4.contains("::ffff:10.1.0.1"));  // v4-mapped is its IPv4 address
  EXPECT_TRUE(v4.contains("[::ffff:10.1.0.1]"));
  EXPECT_TRUE(v4.contains("[10.1.0.1]"));
  EXPECT_FALSE(v4.contains("camera.local"));  // names never match
  EXPECT_FALSE(v4.contains(""));
  EXPECT_FALSE(v4.contains("[]"));
  EXPECT_FALSE(v4.contains("10.1.0.1%eth0"));  // zones are IPv6 only
  EXPECT_FALSE(v4.contains(std::string("10.1.0.1\0", 9)));

  auto link = *parse_network("fe80::/64");
  EXPECT_TRUE(link.contains("fe80::1"));
  EXPECT_TRUE(link.contains("fe80::1%eth0"));
  EXPECT_TRUE(link.contains("[fe80::1%2]"));
  EXPECT_TRUE(link.contains("fe80::1%"));  // an empty zone, as Asio reads it too
  EXPECT_FALSE(link.contains("fe81::1"));
}

TEST(Network, ParseIpAddress) {
  auto a = parse_ip_address("127.0.0.1");
  ASSERT_TRUE(a);
  EXPECT_FALSE(a->v6);
  EXPECT_EQ(a->bytes[0], 127);
  EXPECT_EQ(a->bytes[3], 1);
  EXPECT_EQ(a->bytes[4], 0);
  auto b = parse_ip_address("[::1]");
  ASSERT_TRUE(b);
  EXPECT_TRUE(b->v6);
  EXPECT_EQ(b->bytes[15], 1);
  EXPECT_EQ(parse_ip_address("::1"), b);
  EXPECT_FALSE(parse_ip_address("localhost"));
  EXPECT_FALSE(parse_ip_address("[::1"));
  EXPECT_FALSE(parse_ip_address("10.0.0.0/8"));
}

}  // namespace
}  // namespace zaulek
