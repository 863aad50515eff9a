// Picture sizes from real SPS NAL units: the simulator's clips (x264 via
// GStreamer) and ffmpeg/libx264/libx265 encodes of odd sizes, profiles,
// chroma formats and interlacing; the expected sizes are what ffprobe says
// of the same streams.
#include "media/sps.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace zaulek::media {
namespace {

std::vector<std::uint8_t> hex(const std::string& s) {
  std::vector<std::uint8_t> out;
  for (std::size_t i = 0; i + 1 < s.size(); i += 2)
    out.push_back(static_cast<std::uint8_t>(std::stoi(s.substr(i, 2), nullptr, 16)));
  return out;
}

struct Sample {
  const char* what;
  Codec codec;
  const char* sps;
  int width, height;
};

const Sample kSamples[] = {
    {"sim main, Main 4.0", Codec::h264, "674d4028da01e0089f97016a020202800000030080000019478c1950",
     1920, 1080},
    {"sim sub, Main 3.0", Codec::h264, "674d401eda0280bfe5c05a83030352800000030080000019478b1750",
     640, 360},
    {"High, cqm=jvt", Codec::h264, "6764001facd9405005bb011000000300100000030320f1831960", 1280,
     720},
    {"High 4:4:4, cqm=jvt, 1366 wide", Codec::h264,
     "67f40020919b280ac0c3c5f808800000030080000019078c18cb", 1366, 768},
    {"High 4:4:4 CIF", Codec::h264, "67f4000d919b282c12d808800000030080000019078a14cb", 352, 288},
    {"interlaced 576i", Codec::h264, "6764001eacd940b424d8088000000300800000190f8a14cb", 720, 576},
    {"HEVC Main 1080p", Codec::h265,
     "4201010408000003009e0800000300007890007810021cb2cacd24995e02dc080800100000030010000003019080",
     1920, 1080},
    {"HEVC 4:2:2 576", Codec::h265,
     "4201010408000003009d0800000300005ab005a20090596566924caf016808000003000800000300c840", 720,
     576},
    {"HEVC odd size, conformance window", Codec::h265,
     "420101016000000300900000030000030078a003c08010e75596566924caf0168080000003008000000c84", 1918,
     1078},
};

TEST(MediaSps, RealParameterSets) {
  for (const auto& s : kSamples) {
    auto size = sps_picture_size(s.codec, hex(s.sps));
    ASSERT_TRUE(size.has_value()) << s.what;
    EXPECT_EQ(*size, (PictureSize{s.width, s.height})) << s.what;
  }
}

TEST(MediaSps, WrongNalTypeOrCodecIsNoAnswer) {
  EXPECT_FALSE(sps_picture_size(Codec::h264, hex("68ee3c80")));  // a PPS
  EXPECT_FALSE(sps_picture_size(Codec::h265, hex(kSamples[0].sps)));
  EXPECT_FALSE(sps_picture_size(Codec::h264, {}));
  EXPECT_FALSE(sps_picture_size(Codec::h265, hex("42")));
}

TEST(MediaSps, EveryTruncationAndRandomBytesAreSafe) {
  for (const auto& s : kSamples) {
    const auto full = hex(s.sps);
    for (std::size_t n = 0; n < full.size(); ++n) {
      auto size = sps_picture_size(s.codec, std::span(full).first(n));
      if (size) {  // a cut in the trailing fields may still give the size
        EXPECT_GT(size->width, 0);
        EXPECT_LE(size->width, 16384);
      }
    }
  }
  std::mt19937 rng(99);
  int answered = 0;
  for (int i = 0; i < 20000; ++i) {
    std::vector<std::uint8_t> b(1 + rng() % 64);
    for (auto& x : b) x = static_cast<std::uint8_t>(rng());
    const Codec codec = (i % 2) != 0 ? Codec::h264 : Codec::h265;
    if (codec == Codec::h264)
      b[0] = 0x67;
    else if (b.size() > 1)
      b[0] = 0x42;
    if (auto size = sps_picture_size(codec, b)) {
      ++answered;
      EXPECT_GT(size->width, 0);
      EXPECT_GT(size->height, 0);
      EXPECT_LE(size->width, 16384);
      EXPECT_LE(size->height, 16384);
    }
  }
  RecordProperty("random_answered", answered);
}

}  // namespace
}  // namespace zaulek::media
