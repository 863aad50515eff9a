// The RTP depayloader (media/rtp.h) on packets built here the way RFC 6184
// and RFC 7798 packetizers (rtph264pay, rtph265pay, cameras) build them.
// Real packets from gst-rtsp-server are depayloaded in
// tests/integration/test_rtsp_floor.py.
#include "media/rtp.h"

#include <gtest/gtest.h>

#include <random>
#include <vector>

namespace zaulek::media::rtp {
namespace {

using Bytes = std::vector<std::uint8_t>;

struct Packetizer {
  std::uint16_t seq = 65530;  // wraps during the tests
  Bytes packet(std::uint32_t ts, bool marker, const Bytes& payload, std::uint8_t flags = 0) {
    Bytes p = {static_cast<std::uint8_t>(0x80 | flags),
               static_cast<std::uint8_t>(marker ? 0xe0 : 0x60),
               static_cast<std::uint8_t>(seq >> 8),
               static_cast<std::uint8_t>(seq & 0xff),
               static_cast<std::uint8_t>(ts >> 24),
               static_cast<std::uint8_t>(ts >> 16),
               static_cast<std::uint8_t>(ts >> 8),
               static_cast<std::uint8_t>(ts),
               0x12,
               0x34,
               0x56,
               0x78};
    ++seq;
    p.insert(p.end(), payload.begin(), payload.end());
    return p;
  }
};

Bytes nal(std::uint8_t header, std::size_t size, std::uint8_t fill) {
  Bytes n(size, fill);
  n[0] = header;
  return n;
}

Bytes nal265(int type, std::size_t size, std::uint8_t fill) {
  Bytes n(size, fill);
  n[0] = static_cast<std::uint8_t>(type << 1);
  n[1] = 0x01;  // temporal id 1
  return n;
}

Bytes byte_stream(const std::vector<Bytes>& nals) {
  Bytes out;
  for (const auto& n : nals) {
    out.insert(out.end(), {0, 0, 0, 1});
    out.insert(out.end(), n.begin(), n.end());
  }
  return out;
}

Bytes stap_a(const std::vector<Bytes>& nals) {
  Bytes p = {0x78};  // F=0 NRI=3 type 24
  for (const auto& n : nals) {
    p.push_back(static_cast<std::uint8_t>(n.size() >> 8));
    p.push_back(static_cast<std::uint8_t>(n.size()));
    p.insert(p.end(), n.begin(), n.end());
  }
  return p;
}

// FU-A fragments of one H.264 NAL unit, `chunk` payload bytes each.
std::vector<Bytes> fu_a(const Bytes& n, std::size_t chunk) {
  std::vector<Bytes> out;
  for (std::size_t o = 1; o < n.size(); o += chunk) {
    const std::size_t len = std::min(chunk, n.size() - o);
    std::uint8_t fu = n[0] & 0x1f;
    if (o == 1) fu |= 0x80;
    if (o + len == n.size()) fu |= 0x40;
    Bytes p = {static_cast<std::uint8_t>((n[0] & 0xe0) | 28), fu};
    p.insert(p.end(), n.begin() + static_cast<std::ptrdiff_t>(o),
             n.begin() + static_cast<std::ptrdiff_t>(o + len));
    out.push_back(p);
  }
  return out;
}

std::vector<Bytes> fu_265(const Bytes& n, std::size_t chunk) {
  std::vector<Bytes> out;
  const int type = (n[0] >> 1) & 0x3f;
  for (std::size_t o = 2; o < n.size(); o += chunk) {
    const std::size_t len = std::min(chunk, n.size() - o);
    auto fu = static_cast<std::uint8_t>(type);
    if (o == 2) fu |= 0x80;
    if (o + len == n.size()) fu |= 0x40;
    Bytes p = {static_cast<std::uint8_t>((n[0] & 0x81) | (49 << 1)), n[1], fu};
    p.insert(p.end(), n.begin() + static_cast<std::ptrdiff_t>(o),
             n.begin() + static_cast<std::ptrdiff_t>(o + len));
    out.push_back(p);
  }
  return out;
}

TEST(MediaRtp, H264StapAAndFuAMakeOneKeyframe) {
  const Bytes sps = nal(0x67, 20, 0xa1), pps = nal(0x68, 6, 0xa2), idr = nal(0x65, 5000, 0xa3);
  const Bytes p_frame = nal(0x41, 900, 0xa4);
  Packetizer pk;
  Depayloader d(Codec::h264);
  EXPECT_EQ(d.push(pk.packet(9000, false, stap_a({sps, pps}))), nullptr);
  auto frags = fu_a(idr, 1400);
  ASSERT_EQ(frags.size(), 4u);
  const AccessUnit* u = nullptr;
  for (std::size_t i = 0; i < frags.size(); ++i) {
    u = d.push(pk.packet(9000, i + 1 == frags.size(), frags[i]));
    if (i + 1 < frags.size()) {
      EXPECT_EQ(u, nullptr);
    }
  }
  ASSERT_NE(u, nullptr);
  EXPECT_TRUE(u->keyframe);
  EXPECT_EQ(u->rtp_time, 9000u);
  EXPECT_EQ(u->data, byte_stream({sps, pps, idr}));
  u = d.push(pk.packet(12600, true, p_frame));
  ASSERT_NE(u, nullptr);
  EXPECT_FALSE(u->keyframe);
  EXPECT_EQ(u->data, byte_stream({p_frame}));
  EXPECT_EQ(d.stats().units, 2u);
  EXPECT_EQ(d.stats().lost_packets, 0u);  // across the sequence wrap
  EXPECT_EQ(d.stats().malformed, 0u);
}

TEST(MediaRtp, LostFragmentDropsOnlyItsUnit) {
  const Bytes idr = nal(0x65, 4000, 0xb1), p1 = nal(0x41, 300, 0xb2);
  Packetizer pk;
  Depayloader d(Codec::h264);
  auto frags = fu_a(idr, 1000);
  for (std::size_t i = 0; i < frags.size(); ++i) {
    auto packet = pk.packet(100, i + 1 == frags.size(), frags[i]);
    if (i == 1) continue;  // lost on the way
    EXPECT_EQ(d.push(packet), nullptr);
  }
  EXPECT_EQ(d.stats().lost_packets, 1u);
  EXPECT_EQ(d.stats().dropped_units, 1u);
  const AccessUnit* u = d.push(pk.packet(3700, true, p1));
  ASSERT_NE(u, nullptr);
  EXPECT_EQ(u->data, byte_stream({p1}));
}

TEST(MediaRtp, NoMarkerBitsUnitsEndAtTheNextTimestamp) {
  const Bytes a = nal(0x65, 50, 1), b = nal(0x41, 40, 2), c = nal(0x41, 30, 3);
  Packetizer pk;
  Depayloader d(Codec::h264);
  EXPECT_EQ(d.push(pk.packet(0, false, a)), nullptr);
  const AccessUnit* u = d.push(pk.packet(3600, false, b));
  ASSERT_NE(u, nullptr);
  EXPECT_EQ(u->data, byte_stream({a}));
  EXPECT_TRUE(u->keyframe);
  u = d.push(pk.packet(7200, false, c));
  ASSERT_NE(u, nullptr);
  EXPECT_EQ(u->data, byte_stream({b}));
  EXPECT_FALSE(u->keyframe);
  u = d.flush();
  ASSERT_NE(u, nullptr);
  EXPECT_EQ(u->data, byte_stream({c}));
  EXPECT_EQ(d.flush(), nullptr);
}

TEST(MediaRtp, H265AggregationAndFragments) {
  const Bytes vps = nal265(32, 24, 0xc1), sps = nal265(33, 40, 0xc2), pps = nal265(34, 8, 0xc3);
  const Bytes idr = nal265(19, 3000, 0xc4), trail = nal265(1, 700, 0xc5);
  Bytes ap = {static_cast<std::uint8_t>(48 << 1), 0x01};
  for (const auto& n : {vps, sps, pps}) {
    ap.push_back(static_cast<std::uint8_t>(n.size() >> 8));
    ap.push_back(static_cast<std::uint8_t>(n.size()));
    ap.insert(ap.end(), n.begin(), n.end());
  }
  Packetizer pk;
  Depayloader d(Codec::h265);
  EXPECT_EQ(d.push(pk.packet(500, false, ap)), nullptr);
  auto frags = fu_265(idr, 1200);
  const AccessUnit* u = nullptr;
  for (std::size_t i = 0; i < frags.size(); ++i)
    u = d.push(pk.packet(500, i + 1 == frags.size(), frags[i]));
  ASSERT_NE(u, nullptr);
  EXPECT_TRUE(u->keyframe);
  EXPECT_EQ(u->data, byte_stream({vps, sps, pps, idr}));
  u = d.push(pk.packet(4100, true, trail));
  ASSERT_NE(u, nullptr);
  EXPECT_FALSE(u->keyframe);
  EXPECT_EQ(u->data, byte_stream({trail}));
  EXPECT_EQ(d.stats().malformed, 0u);
}

TEST(MediaRtp, HeaderExtensionCsrcAndPaddingAreSkipped) {
  const Bytes n = nal(0x65, 10, 7);
  Packetizer pk;
  Bytes p = pk.packet(1, true, {}, 0x30 | 0x01);            // extension, padding, one CSRC
  p.insert(p.end(), {0xde, 0xad, 0xbe, 0xef});              // the CSRC
  p.insert(p.end(), {0xbe, 0xde, 0x00, 0x01, 1, 2, 3, 4});  // extension of one word
  p.insert(p.end(), n.begin(), n.end());
  p.insert(p.end(), {0, 0, 3});  // three bytes of padding
  Depayloader d(Codec::h264);
  const AccessUnit* u = d.push(p);
  ASSERT_NE(u, nullptr);
  EXPECT_EQ(u->data, byte_stream({n}));
}

TEST(MediaRtp, MalformedPacketsAreCountedNeverEmittedHalf) {
  Packetizer pk;
  Depayloader d(Codec::h264);
  EXPECT_EQ(d.push(Bytes{0x80, 0x60, 0}), nullptr);  // short
  EXPECT_EQ(d.push(Bytes(20, 0x40)), nullptr);       // version 1
  Bytes pad = pk.packet(1, true, nal(0x65, 4, 1), 0x20);
  pad.back() = 200;  // padding past the start
  EXPECT_EQ(d.push(pad), nullptr);
  EXPECT_EQ(d.push(pk.packet(2, true, Bytes{0x78, 0x10, 0x00, 0x67})),
            nullptr);                                                       // STAP-A size past end
  EXPECT_EQ(d.push(pk.packet(3, true, Bytes{0x7d, 0x85, 1, 2})), nullptr);  // FU-B
  EXPECT_GE(d.stats().malformed, 5u);
  // A fragment whose start never came.
  EXPECT_EQ(d.push(pk.packet(4, true, Bytes{0x7c, 0x45, 9, 9})), nullptr);
  EXPECT_EQ(d.stats().units, 0u);
  // And it recovers at once.
  const AccessUnit* u = d.push(pk.packet(5, true, nal(0x65, 8, 2)));
  ASSERT_NE(u, nullptr);
  EXPECT_TRUE(u->keyframe);
}

TEST(MediaRtp, OversizedUnitIsDropped) {
  Packetizer pk;
  Depayloader d(Codec::h264);
  const Bytes big = nal(0x65, kMaxUnitBytes + 10, 1);
  auto frags = fu_a(big, 60000);
  for (std::size_t i = 0; i < frags.size(); ++i)
    EXPECT_EQ(d.push(pk.packet(7, i + 1 == frags.size(), frags[i])), nullptr);
  EXPECT_EQ(d.stats().dropped_units, 1u);
  EXPECT_EQ(d.stats().units, 0u);
}

TEST(MediaRtp, RandomBytesNeverCrash) {
  std::mt19937 rng(1234);
  for (Codec codec : {Codec::h264, Codec::h265}) {
    Depayloader d(codec);
    for (int i = 0; i < 20000; ++i) {
      Bytes p(rng() % 1500);
      for (auto& b : p) b = static_cast<std::uint8_t>(rng());
      if (p.size() > 0 && (i % 2) == 0) p[0] = static_cast<std::uint8_t>(0x80 | (p[0] & 0x3f));
      if (const AccessUnit* u = d.push(p)) {
        EXPECT_LE(u->data.size(), kMaxUnitBytes);
        ASSERT_GE(u->data.size(), 5u);
        EXPECT_EQ(u->data[3], 1);  // starts with a start code
      }
    }
    EXPECT_EQ(d.stats().packets, 20000u);
    EXPECT_LE(d.stats().units, d.stats().packets);
  }
}

}  // namespace
}  // namespace zaulek::media::rtp
