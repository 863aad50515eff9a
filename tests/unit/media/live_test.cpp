// media/live's pure parts: the RFC 6381 codec string from an SPS, NAL
// splitting, the kept GOP's bounds.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "media/live/codec_string.h"
#include "media/live/gop_cache.h"

namespace zaulek::media::live {
namespace {

using Bytes = std::vector<std::uint8_t>;

TEST(LiveCodecString, H264FromProfileConstraintsLevel) {
  // x264 High profile, level 3.1 (the simulator's main stream).
  const Bytes sps = {0x67, 0x64, 0x00, 0x1f, 0xac, 0xd9, 0x40, 0x50, 0x05, 0xbb, 0x01, 0x10};
  EXPECT_EQ(codec_string(Codec::h264, sps), "avc1.64001f");
  // Constrained Baseline 3.0.
  const Bytes base = {0x67, 0x42, 0xc0, 0x1e, 0x95, 0xa0};
  EXPECT_EQ(codec_string(Codec::h264, base), "avc1.42c01e");
}

TEST(LiveCodecString, H265FromProfileTierLevelWithEmulationPrevention) {
  // x265 Main, Main tier, level 3.1; emulation-prevention bytes inside.
  const Bytes sps = {0x42, 0x01, 0x01, 0x01, 0x60, 0x00, 0x00, 0x03, 0x00, 0x90, 0x00,
                     0x00, 0x03, 0x00, 0x00, 0x03, 0x00, 0x5d, 0xa0, 0x02, 0x80, 0x80};
  EXPECT_EQ(codec_string(Codec::h265, sps), "hvc1.1.6.L93.90");
  // Main 10, High tier, level 5.1 (153), no constraint flags.
  const Bytes high = {0x42, 0x01, 0x01, 0x22, 0x20, 0x00, 0x00, 0x03, 0x00, 0x00,
                      0x03, 0x00, 0x00, 0x03, 0x00, 0x00, 0x03, 0x00, 0x99};
  EXPECT_EQ(codec_string(Codec::h265, high), "hvc1.2.4.H153");
}

TEST(LiveCodecString, RejectsWhatIsNotAWholeSps) {
  EXPECT_EQ(codec_string(Codec::h264, Bytes{}), std::nullopt);
  EXPECT_EQ(codec_string(Codec::h264, Bytes{0x67, 0x64}), std::nullopt);              // truncated
  EXPECT_EQ(codec_string(Codec::h264, Bytes{0x68, 0x64, 0x00, 0x1f}), std::nullopt);  // a PPS
  EXPECT_EQ(codec_string(Codec::h265, Bytes{0x42, 0x01, 0x01, 0x01}), std::nullopt);
  EXPECT_EQ(codec_string(Codec::h265, Bytes{0x40, 0x01, 0x0c, 0x01, 0xff, 0xff, 0x01, 0x60, 0, 0, 0,
                                            0, 0, 0, 0, 0, 0x5d}),
            std::nullopt);  // a VPS
}

TEST(LiveNalUnits, SplitsThreeAndFourByteStartCodes) {
  const Bytes au = {0, 0, 0, 1, 0x67, 1, 2, 0, 0, 1, 0x68, 3, 0, 0, 0, 1, 0x65, 4, 5, 0};
  auto nals = nal_units(au);
  ASSERT_EQ(nals.size(), 3u);
  EXPECT_EQ(Bytes(nals[0].begin(), nals[0].end()), (Bytes{0x67, 1, 2}));
  EXPECT_EQ(Bytes(nals[1].begin(), nals[1].end()), (Bytes{0x68, 3}));
  EXPECT_EQ(Bytes(nals[2].begin(), nals[2].end()), (Bytes{0x65, 4, 5, 0}));
  EXPECT_TRUE(is_parameter_set_or_aud(Codec::h264, nals[0]));
  EXPECT_TRUE(is_parameter_set_or_aud(Codec::h264, nals[1]));
  EXPECT_FALSE(is_parameter_set_or_aud(Codec::h264, nals[2]));
  EXPECT_TRUE(nal_units(Bytes{1, 2, 3}).empty());
  EXPECT_TRUE(nal_units(Bytes{0, 0, 1}).empty());
}

TEST(LiveGopCache, KeepsFromTheLastKeyframe) {
  GopCache<int> gop(10, 1000);
  EXPECT_FALSE(gop.push(1, 10, false)) << "nothing before the first keyframe";
  EXPECT_TRUE(gop.push(2, 10, true));
  EXPECT_TRUE(gop.push(3, 10, false));
  EXPECT_EQ(gop.units(), (std::vector<int>{2, 3}));
  EXPECT_TRUE(gop.push(4, 10, true));
  EXPECT_EQ(gop.units(), (std::vector<int>{4}));
  EXPECT_EQ(gop.bytes(), 10u);
}

TEST(LiveGopCache, DropsAGopPastItsBoundsUntilTheNextKeyframe) {
  GopCache<int> gop(3, 1000);
  EXPECT_TRUE(gop.push(1, 10, true));
  EXPECT_TRUE(gop.push(2, 10, false));
  EXPECT_TRUE(gop.push(3, 10, false));
  EXPECT_FALSE(gop.push(4, 10, false)) << "a fourth unit is over the count";
  EXPECT_TRUE(gop.units().empty());
  EXPECT_EQ(gop.overflows(), 1u);
  EXPECT_FALSE(gop.push(5, 10, false));
  EXPECT_EQ(gop.overflows(), 1u) << "one overflow per GOP";
  EXPECT_TRUE(gop.push(6, 10, true));
  EXPECT_EQ(gop.units(), (std::vector<int>{6}));

  GopCache<int> small(100, 25);
  EXPECT_TRUE(small.push(1, 20, true));
  EXPECT_FALSE(small.push(2, 10, false)) << "over the bytes";
  EXPECT_EQ(small.bytes(), 0u);
  EXPECT_FALSE(small.push(3, 30, true)) << "a keyframe larger than the bound is not kept";
  EXPECT_TRUE(small.units().empty());
}

TEST(LiveGopCache, ResetWaitsForAKeyframe) {
  GopCache<int> gop(10, 1000);
  gop.push(1, 1, true);
  gop.reset();
  EXPECT_FALSE(gop.push(2, 1, false));
  EXPECT_TRUE(gop.push(3, 1, true));
}

}  // namespace
}  // namespace zaulek::media::live
