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

// Bits MSB first, exp-Golomb coded as the standard writes them.
struct BitWriter {
  std::vector<std::uint8_t> out;
  int used = 8;
  void bit(unsigned b) {
    if (used == 8) {
      out.push_back(0);
      used = 0;
    }
    out.back() |= static_cast<std::uint8_t>((b & 1) << (7 - used++));
  }
  void u(int n, std::uint64_t v) {
    for (int i = n - 1; i >= 0; --i) bit(static_cast<unsigned>(v >> i));
  }
  void ue(std::uint64_t v) {
    int len = 0;
    while ((v + 1) >> (len + 1)) ++len;
    u(len, 0);
    u(len + 1, v + 1);
  }
};

// A 1280x720 High profile SPS whose first scaling list starts with the
// delta_scale of se code `first` (the rest 0): the parser used to add it to
// `last + 256` in int.
std::vector<std::uint8_t> high_sps_with_delta(std::uint64_t first) {
  BitWriter w;
  w.u(8, 0x67);
  w.u(8, 100);  // profile_idc High
  w.u(16, 0x001f);
  w.ue(0);  // seq_parameter_set_id
  w.ue(1);  // chroma_format_idc 4:2:0
  w.ue(0);  // bit depths
  w.ue(0);
  w.bit(0);
  w.bit(1);  // seq_scaling_matrix_present_flag
  w.bit(1);  // list 0 present: 16 delta_scale values
  w.ue(first);
  for (int j = 1; j < 16; ++j) w.ue(0);
  w.u(7, 0);  // lists 1..7 absent
  w.ue(0);    // log2_max_frame_num_minus4
  w.ue(0);    // pic_order_cnt_type
  w.ue(0);    // log2_max_pic_order_cnt_lsb_minus4
  w.ue(1);    // max_num_ref_frames
  w.bit(0);
  w.ue(79);  // 80 macroblocks wide
  w.ue(44);  // 45 high
  w.bit(1);  // frame_mbs_only_flag
  w.bit(1);
  w.bit(0);  // no cropping
  w.bit(0);  // no VUI
  w.bit(1);  // rbsp_stop_one_bit
  return w.out;
}

TEST(MediaSps, OutOfRangeDeltaScaleIsRefusedWithoutOverflow) {
  // se codes: 2k - 1 is +k, 2k is -k.
  EXPECT_EQ(sps_picture_size(Codec::h264, high_sps_with_delta(0)), (PictureSize{1280, 720}));
  // delta_scale is -128..127.
  EXPECT_EQ(sps_picture_size(Codec::h264, high_sps_with_delta(253)), (PictureSize{1280, 720}));
  EXPECT_EQ(sps_picture_size(Codec::h264, high_sps_with_delta(256)), (PictureSize{1280, 720}));
  EXPECT_FALSE(sps_picture_size(Codec::h264, high_sps_with_delta(255)));  // +128
  EXPECT_FALSE(sps_picture_size(Codec::h264, high_sps_with_delta(258)));  // -129
  // +2^31 - 1 (INT_MAX): the sum UBSan flags.
  EXPECT_FALSE(sps_picture_size(Codec::h264, high_sps_with_delta(0xfffffffdULL)));
}

TEST(MediaSps, OutOfRangeExpGolombFieldsAreRefused) {
  // seq_parameter_set_id 32 (0..31 allowed) in the sim's Main SPS.
  BitWriter w;
  w.u(8, 0x67);
  w.u(8, 77);
  w.u(16, 0x4028);
  w.ue(32);
  for (int i = 0; i < 16; ++i) w.u(8, 0xaa);
  EXPECT_FALSE(sps_picture_size(Codec::h264, w.out));
}

}  // namespace
}  // namespace zaulek::media
