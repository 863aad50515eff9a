// core/image/image.h: PNG and JPEG recognised from their own bytes, sizes from
// their headers, and every kind of broken or lying file refused with the
// message that says why.
#include <gtest/gtest.h>

#include <string>

#include "core/image/image.h"

namespace zaulek {
namespace {

std::string be32(std::uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
          static_cast<char>(v)};
}

std::string chunk(const std::string& type, const std::string& data) {
  return be32(static_cast<std::uint32_t>(data.size())) + type + data + be32(0);  // CRC unchecked
}

std::string png(std::uint32_t w, std::uint32_t h, const std::string& tail = "") {
  std::string ihdr = be32(w) + be32(h) + std::string("\x08\x06\x00\x00\x00", 5);
  return std::string("\x89PNG\r\n\x1a\n", 8) + chunk("IHDR", ihdr) + chunk("IDAT", "xyz") +
         chunk("IEND", "") + tail;
}

// A 16x8 baseline JPEG as ffmpeg writes it.
const std::string kJpegHex =
    "ffd8ffe000104a46494600010200000100010000fffe00104c61766335392e33372e31303000ffdb004300080404"
    "0404040505050505050606060606060606060606060607070708080807070706060707080808080909090808080809"
    "090a0a0a0c0c0b0b0e0e0e111114ffc4004c0001010000000000000000000000000000000601010100000000000000"
    "00"
    "0000000000000607100100000000000000000000000000000000110100000000000000000000000000000000ffc000"
    "11"
    "080008001003012200021100031100ffda000c03010002110311003f008b00517f7fffd9";

std::string jpeg() {
  std::string out;
  for (std::size_t i = 0; i + 1 < kJpegHex.size(); i += 2)
    out += static_cast<char>(std::stoi(kJpegHex.substr(i, 2), nullptr, 16));
  return out;
}

std::string error_of(const std::string& bytes, const ImageLimits& limits = {}) {
  auto r = inspect_image(bytes, limits);
  if (r) return "ok";
  EXPECT_EQ(r.error().kind, ErrorKind::invalid_argument);
  return r.error().message;
}

TEST(CoreImage, PngSizeFromItsHeader) {
  auto r = inspect_image(png(1920, 1080));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->type, ImageType::png);
  EXPECT_EQ(r->width, 1920);
  EXPECT_EQ(r->height, 1080);
  EXPECT_EQ(content_type(r->type), "image/png");
}

TEST(CoreImage, JpegSizeFromItsFrameHeader) {
  auto r = inspect_image(jpeg());
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->type, ImageType::jpeg);
  EXPECT_EQ(r->width, 16);
  EXPECT_EQ(r->height, 8);
  EXPECT_EQ(content_type(r->type), "image/jpeg");
}

TEST(CoreImage, BrokenPngsSayWhy) {
  const std::string good = png(64, 32);
  EXPECT_EQ(error_of(""), "not a PNG or JPEG file");
  EXPECT_EQ(error_of("GIF89a...."), "not a PNG or JPEG file");
  EXPECT_EQ(error_of("<svg xmlns='http://www.w3.org/2000/svg'/>"), "not a PNG or JPEG file");
  EXPECT_EQ(error_of(good.substr(0, 8)), "PNG is truncated (no IEND chunk)");
  EXPECT_EQ(error_of(good.substr(0, 20)), "PNG is truncated in chunk IHDR");
  EXPECT_EQ(error_of(good.substr(0, good.size() - 12)), "PNG is truncated (no IEND chunk)");
  EXPECT_EQ(error_of(good.substr(0, good.size() - 1)), "PNG is truncated (no IEND chunk)");
  EXPECT_EQ(error_of(png(64, 32, "trailing")), "PNG has data after its IEND chunk");
  EXPECT_EQ(error_of(png(0, 32)), "PNG header has an impossible size");
  EXPECT_EQ(error_of(png(0x80000000u, 1)), "PNG header has an impossible size");
  // A chunk whose length runs past the end (a lying length).
  std::string lying = good;
  lying[8 + 12 + 13 + 3] = '\x7f';  // IDAT's length byte
  EXPECT_EQ(error_of(lying), "PNG is truncated in chunk IDAT");
  std::string huge_len = good;
  huge_len[8 + 12 + 13] = '\xff';
  EXPECT_EQ(error_of(huge_len), "PNG chunk IDAT has an impossible length");
  // IEND first, no IDAT, IHDR not first, a malformed chunk type.
  const std::string sig("\x89PNG\r\n\x1a\n", 8);
  std::string ihdr = be32(4) + be32(4) + std::string("\x08\x02\x00\x00\x00", 5);
  EXPECT_EQ(error_of(sig + chunk("IHDR", ihdr) + chunk("IEND", "")),
            "PNG has no image data (IDAT)");
  EXPECT_EQ(error_of(sig + chunk("IDAT", "x") + chunk("IEND", "")),
            "PNG does not start with its IHDR chunk");
  EXPECT_EQ(error_of(sig + chunk("IHDR", ihdr) + chunk("ID\x01T", "x") + chunk("IEND", "")),
            "PNG has a malformed chunk at byte 33");
  std::string bad_depth = be32(4) + be32(4) + std::string("\x07\x02\x00\x00\x00", 5);
  EXPECT_EQ(error_of(sig + chunk("IHDR", bad_depth) + chunk("IDAT", "x") + chunk("IEND", "")),
            "PNG header has an unknown bit depth, colour type or method");
}

TEST(CoreImage, BrokenJpegsSayWhy) {
  const std::string good = jpeg();
  EXPECT_EQ(error_of(good.substr(0, 3)), "JPEG is truncated before its scan");
  EXPECT_EQ(error_of(good.substr(0, 30)), "JPEG is truncated in a segment");
  EXPECT_EQ(error_of(good.substr(0, good.size() - 2)),
            "JPEG is truncated (no end-of-image marker at its end)");
  EXPECT_EQ(error_of(good + "junk"), "JPEG is truncated (no end-of-image marker at its end)");
  EXPECT_EQ(error_of(std::string("\xff\xd8\xff\xd9", 4)), "JPEG ends before its scan");
  EXPECT_EQ(error_of(std::string("\xff\xd8\xff\xe0\x00\x01", 6)),
            "JPEG segment has an impossible length");
  EXPECT_EQ(error_of(std::string("\xff\xd8\xff\xe0\x00\x02"
                                 "abc",
                                 9)),
            "JPEG has stray bytes between segments at byte 6");
  // A scan before any frame header.
  EXPECT_EQ(error_of(std::string("\xff\xd8\xff\xda\x00\x02\xff\xd9", 8)),
            "JPEG has no frame header before its scan");
  // A frame header with no height (DNL) and one with a wrong component count.
  std::string sof = "\xff\xc0" + std::string("\x00\x0b\x08\x00\x00\x00\x10\x01\x01\x11\x00", 11);
  EXPECT_EQ(error_of(std::string("\xff\xd8", 2) + sof),
            "JPEG frame header has no size (height given later is not supported)");
  std::string sof5 = "\xff\xc0" + std::string("\x00\x0b\x08\x00\x08\x00\x10\x05\x01\x11\x00", 11);
  EXPECT_EQ(error_of(std::string("\xff\xd8", 2) + sof5),
            "JPEG frame header has a wrong component count");
}

TEST(CoreImage, SizesAreBounded) {
  EXPECT_EQ(error_of(png(16385, 10)),
            "image is 16385x10 pixels; at most 16384 per side and 64 megapixels");
  EXPECT_EQ(error_of(png(10000, 10000)),
            "image is 10000x10000 pixels; at most 16384 per side and 64 megapixels");
  EXPECT_EQ(error_of(png(8000, 8000)), "ok");
  ImageLimits small{8, 1000};
  EXPECT_EQ(error_of(jpeg(), small), "image is 16x8 pixels; at most 8 per side and 0 megapixels");
}

// Every prefix of a good file is refused (none is taken as a whole image),
// and no byte flipped anywhere makes the check misbehave.
TEST(CoreImage, EveryPrefixAndFlipIsHandled) {
  for (const std::string& good : {png(20, 10), jpeg()}) {
    for (std::size_t n = 0; n < good.size(); ++n)
      EXPECT_FALSE(inspect_image(good.substr(0, n)).ok()) << n;
    for (std::size_t i = 0; i < good.size(); ++i) {
      std::string flipped = good;
      flipped[i] = static_cast<char>(flipped[i] ^ 0xff);
      auto r = inspect_image(flipped);
      if (r) {
        EXPECT_GT(r->width, 0);
        EXPECT_GT(r->height, 0);
      }
    }
  }
}

}  // namespace
}  // namespace zaulek
