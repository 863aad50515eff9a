#include "media/ts.h"

#include <gtest/gtest.h>

#include <random>

namespace zaulek::media::ts {
namespace {

// A fake H.264 access unit: byte-stream, optional SPS/PPS, one slice.
std::vector<std::uint8_t> fake_au(bool key, std::size_t payload, bool with_params = true) {
  std::vector<std::uint8_t> au;
  auto nal = [&](std::uint8_t header, std::size_t size) {
    au.insert(au.end(), {0, 0, 0, 1, header});
    for (std::size_t i = 0; i < size; ++i)
      au.push_back(static_cast<std::uint8_t>(0x80 | (i & 0x3F)));
  };
  if (key && with_params) {
    nal(0x67, 10);  // SPS
    nal(0x68, 4);   // PPS
  }
  nal(key ? 0x65 : 0x41, payload);
  return au;
}

TEST(MediaCrc32Mpeg, KnownCheckValue) {
  const std::string text = "123456789";
  EXPECT_EQ(crc32_mpeg(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()),
            0x0376E6E7u);
}

TEST(MediaMuxer, RoundTripThroughScanner) {
  Muxer mux({Codec::h264, 1920, 1080, 1'700'000'000'123'456'789});
  std::vector<std::uint8_t> out;
  mux.write_tables(out);
  for (int i = 0; i < 50; ++i) {
    const bool key = i % 10 == 0;
    const std::uint64_t dts = kTimestampOrigin + static_cast<std::uint64_t>(i) * 3600;
    mux.write_frame(out, fake_au(key, 100 + static_cast<std::size_t>(i) * 37), dts, dts, key);
  }
  ASSERT_EQ(out.size() % kPacketSize, 0u);
  for (std::size_t i = 0; i < out.size(); i += kPacketSize) ASSERT_EQ(out[i], 0x47) << i;

  Scanner scanner;
  EXPECT_TRUE(scanner.feed(out));
  const Scan& s = scanner.result();
  EXPECT_EQ(s.good_bytes, out.size());
  EXPECT_TRUE(s.has_meta);
  EXPECT_TRUE(s.codec_known);
  EXPECT_EQ(s.meta.codec, Codec::h264);
  EXPECT_EQ(s.meta.width, 1920);
  EXPECT_EQ(s.meta.height, 1080);
  EXPECT_EQ(s.meta.start_ns, 1'700'000'000'123'456'789);
  EXPECT_EQ(s.frames, 50u);
  EXPECT_EQ(s.keyframes, 5u);
  EXPECT_EQ(s.first_dts, kTimestampOrigin);
  EXPECT_EQ(s.last_dts, kTimestampOrigin + 49 * 3600);
}

TEST(MediaMuxer, ContinuityCountersAdvancePerPid) {
  Muxer mux({Codec::h265, 640, 360, 1});
  std::vector<std::uint8_t> out;
  for (int i = 0; i < 20; ++i) mux.write_frame(out, fake_au(i == 0, 1000), 90000, 90000, i == 0);
  int last_cc = -1;
  for (std::size_t i = 0; i < out.size(); i += kPacketSize) {
    const int pid = ((out[i + 1] & 0x1F) << 8) | out[i + 2];
    if (pid != kVideoPid) continue;
    const int cc = out[i + 3] & 0x0F;
    if (last_cc >= 0) {
      EXPECT_EQ(cc, (last_cc + 1) & 0x0F);
    }
    last_cc = cc;
  }
  EXPECT_GE(last_cc, 0);
}

TEST(MediaMuxer, PtsAfterDtsIsScanned) {
  Muxer mux({Codec::h264, 0, 0, 5});
  std::vector<std::uint8_t> out;
  mux.write_frame(out, fake_au(true, 10), 90000 + 7200, 90000, true);
  Scanner scanner;
  scanner.feed(out);
  EXPECT_EQ(scanner.result().first_dts, 90000u);
  EXPECT_EQ(scanner.result().frames, 1u);
}

TEST(MediaScanner, StopsAtFirstBadPacketAcrossChunks) {
  Muxer mux({Codec::h264, 320, 240, 9});
  std::vector<std::uint8_t> out;
  for (int i = 0; i < 10; ++i) mux.write_frame(out, fake_au(i == 0, 500), 90000, 90000, i == 0);
  const std::size_t good = out.size();
  out.resize(good + kPacketSize, 0);  // zero-filled tail, as after a power cut
  out.resize(out.size() + 100, 0x47);
  Scanner scanner;
  // Odd chunk sizes exercise the carry-over between feeds.
  std::size_t at = 0;
  while (at < out.size()) {
    const std::size_t n = std::min<std::size_t>(333, out.size() - at);
    if (!scanner.feed({out.data() + at, n})) break;
    at += n;
  }
  EXPECT_EQ(scanner.result().good_bytes, good);
  EXPECT_EQ(scanner.result().frames, 10u);
}

TEST(MediaScanner, RandomBytesNeverCrash) {
  std::mt19937 rng(42);
  for (int round = 0; round < 200; ++round) {
    std::vector<std::uint8_t> data(kPacketSize * 8);
    for (auto& b : data) b = static_cast<std::uint8_t>(rng());
    for (std::size_t i = 0; i < data.size(); i += kPacketSize) data[i] = 0x47;
    Scanner scanner;
    scanner.feed(data);
    EXPECT_LE(scanner.result().good_bytes, data.size());
  }
}

TEST(MediaToByteStream, ConvertsAndDropsDelimiters) {
  const std::vector<std::uint8_t> avc = {0, 0, 0, 2, 0x09, 0xF0,        // AUD: dropped
                                         0, 0, 0, 3, 0x65, 0xAA, 0xBB,  // IDR
                                         0, 0, 0, 1, 0x06};             // SEI
  std::vector<std::uint8_t> out;
  ASSERT_TRUE(to_byte_stream(avc, 4, Codec::h264, out));
  const std::vector<std::uint8_t> want = {0, 0, 0, 1, 0x65, 0xAA, 0xBB, 0, 0, 0, 1, 0x06};
  EXPECT_EQ(out, want);
}

TEST(MediaToByteStream, RejectsLengthPastTheEnd) {
  const std::vector<std::uint8_t> bad = {0, 0, 0, 9, 0x65, 0xAA};
  std::vector<std::uint8_t> out;
  EXPECT_FALSE(to_byte_stream(bad, 4, Codec::h264, out));
  EXPECT_FALSE(to_byte_stream({bad.data(), 2}, 4, Codec::h264, out));
  EXPECT_FALSE(to_byte_stream(bad, 0, Codec::h264, out));
}

TEST(MediaCodecData, AvcC) {
  const std::vector<std::uint8_t> avcc = {1,    0x42, 0xC0, 0x1E, 0xFF, 0xE1, 0,    3,
                                          0x67, 0x42, 0xC0, 1,    0,    2,    0x68, 0xCE};
  std::vector<std::uint8_t> params;
  int length_size = 0;
  ASSERT_TRUE(parse_codec_data(avcc, Codec::h264, params, length_size));
  EXPECT_EQ(length_size, 4);
  const std::vector<std::uint8_t> want = {0, 0, 0, 1, 0x67, 0x42, 0xC0, 0, 0, 0, 1, 0x68, 0xCE};
  EXPECT_EQ(params, want);
  // Truncated: a count that promises more than is there.
  EXPECT_FALSE(parse_codec_data({avcc.data(), 10}, Codec::h264, params, length_size));
  EXPECT_FALSE(parse_codec_data({}, Codec::h264, params, length_size));
}

TEST(MediaCodecData, HvcC) {
  std::vector<std::uint8_t> hvcc(22, 0);
  hvcc[0] = 1;
  hvcc[21] = 0x03;                                          // length size 4
  hvcc.push_back(2);                                        // arrays
  hvcc.insert(hvcc.end(), {0x20, 0, 1, 0, 2, 0x40, 0x01});  // VPS
  hvcc.insert(hvcc.end(), {0x21, 0, 1, 0, 2, 0x42, 0x01});  // SPS
  std::vector<std::uint8_t> params;
  int length_size = 0;
  ASSERT_TRUE(parse_codec_data(hvcc, Codec::h265, params, length_size));
  EXPECT_EQ(length_size, 4);
  EXPECT_EQ(params.size(), 12u);
  hvcc.pop_back();
  EXPECT_FALSE(parse_codec_data(hvcc, Codec::h265, params, length_size));
}

TEST(MediaParamSets, InsertsMissingParametersAfterDelimiter) {
  ParamSets ps;
  std::vector<std::uint8_t> scratch;
  const auto with = fake_au(true, 8, true);
  EXPECT_EQ(ps.fix(with, Codec::h264, scratch).data(), with.data());  // learns, unchanged
  std::vector<std::uint8_t> bare = {0, 0, 0, 1, 0x09, 0xF0};
  const auto idr = fake_au(true, 8, false);
  bare.insert(bare.end(), idr.begin(), idr.end());
  const auto fixed = ps.fix(bare, Codec::h264, scratch);
  ASSERT_EQ(fixed.size(), bare.size() + 10 + 5 + 4 + 5);
  EXPECT_EQ(fixed[4], 0x09);      // delimiter stays first
  EXPECT_EQ(fixed[6 + 4], 0x67);  // then SPS
}

}  // namespace
}  // namespace zaulek::media::ts
