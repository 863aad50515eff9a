// core/text/utf8.h: every class of invalid UTF-8 is replaced, valid text passes
// unchanged, and the result always dumps as JSON.
#include "core/text/utf8.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "core/camera_faults.h"

namespace zaulek {
namespace {

std::string bytes(std::initializer_list<unsigned> b) {
  std::string s;
  for (unsigned c : b) s += static_cast<char>(c);
  return s;
}

TEST(Utf8, ValidTextIsUnchanged) {
  // ASCII, 2-byte (ł), 3-byte (€), 4-byte (U+1F4F7), the extremes U+0080,
  // U+07FF, U+0800, U+D7FF, U+E000, U+FFFF, U+10000, U+10FFFF.
  std::string text =
      "Brama \xc5\x82\xc3\xb3"
      "d\xc5\xba \xe2\x82\xac \xf0\x9f\x93\xb7" +
      bytes({0xC2, 0x80, 0xDF, 0xBF, 0xE0, 0xA0, 0x80, 0xED, 0x9F, 0xBF, 0xEE, 0x80,
             0x80, 0xEF, 0xBF, 0xBF, 0xF0, 0x90, 0x80, 0x80, 0xF4, 0x8F, 0xBF, 0xBF});
  EXPECT_EQ(valid_utf8_prefix(text), text.size());
  EXPECT_EQ(to_valid_utf8(text), text);
  EXPECT_EQ(to_valid_utf8(""), "");
  EXPECT_EQ(to_valid_utf8(std::string("a\0b", 3)), std::string("a\0b", 3));  // NUL is UTF-8
}

struct Bad {
  const char* what;
  std::string in, out;
};

TEST(Utf8, EveryClassOfInvalidSequenceIsReplaced) {
  const Bad cases[] = {
      {"surrogate U+D800", "a" + bytes({0xED, 0xA0, 0x80}) + "b", "a???b"},
      {"surrogate U+DFFF", bytes({0xED, 0xBF, 0xBF}), "???"},
      {"overlong '/' in 2 bytes", bytes({0xC0, 0xAF}), "??"},
      {"overlong C1", bytes({0xC1, 0xBF}), "??"},
      {"overlong '/' in 3 bytes", bytes({0xE0, 0x80, 0xAF}), "???"},
      {"overlong U+07FF in 3 bytes", bytes({0xE0, 0x9F, 0xBF}), "???"},
      {"overlong in 4 bytes", bytes({0xF0, 0x8F, 0xBF, 0xBF}), "????"},
      {"lead F5", bytes({0xF5, 0x80, 0x80, 0x80}), "????"},
      {"lead F7", bytes({0xF7, 0xBF, 0xBF, 0xBF}), "????"},
      {"lead F8..FF", bytes({0xF8, 0xFB, 0xFC, 0xFE, 0xFF}), "?????"},
      {"above U+10FFFF", bytes({0xF4, 0x90, 0x80, 0x80}), "????"},
      {"lone continuation", "x" + bytes({0x80}) + "y" + bytes({0xBF}), "x?y?"},
      {"truncated 2-byte at the end", "ab" + bytes({0xC5}), "ab?"},
      {"truncated 3-byte at the end", bytes({0xE2, 0x82}), "??"},
      {"truncated 4-byte before ASCII", bytes({0xF0, 0x9F, 0x93}) + "z", "???z"},
      {"Latin-2 (CP1250) text",
       "\xa3\xf3"
       "d\x9f",
       "??d?"},
  };
  for (const auto& c : cases) {
    EXPECT_LT(valid_utf8_prefix(c.in), c.in.size()) << c.what;
    std::string out = to_valid_utf8(c.in);
    EXPECT_EQ(out, c.out) << c.what;
    EXPECT_EQ(valid_utf8_prefix(out), out.size()) << c.what;
  }
  EXPECT_EQ(valid_utf8_prefix("ok" + bytes({0xED, 0xA0, 0x80})), 2u);
}

TEST(Utf8, CutsOnACharacterBoundary) {
  std::string text =
      "ab\xe2\x82\xac"
      "cd";  // a b € c d
  EXPECT_EQ(to_valid_utf8(text, 2), "ab");
  EXPECT_EQ(to_valid_utf8(text, 4), "ab");  // € does not fit whole
  EXPECT_EQ(to_valid_utf8(text, 5), "ab\xe2\x82\xac");
  EXPECT_EQ(to_valid_utf8(bytes({0xFF, 0xFF, 0xFF}), 2), "??");
  EXPECT_EQ(to_valid_utf8(text, 0), "");
}

// What zaulekd does with camera text: nlohmann::json refuses invalid UTF-8
// (type_error 316, which used to abort the daemon); the cleaned text dumps.
TEST(Utf8, CleanedTextDumpsAsJson) {
  std::string hostile = "motion " + bytes({0xED, 0xA0, 0x80, 0xC0, 0xAF, 0xE0, 0x80, 0xAF, 0xF5,
                                           0xF4, 0x90, 0x80, 0x80, 0xE2, 0x82});
  EXPECT_THROW((void)nlohmann::json(hostile).dump(), nlohmann::json::type_error);
  nlohmann::json j = {{"value", to_valid_utf8(hostile)}, {to_valid_utf8(hostile), 1}};
  std::string dumped;
  ASSERT_NO_THROW(dumped = j.dump());
  EXPECT_EQ(nlohmann::json::parse(dumped)["value"], "motion ???????????????");
}

TEST(CameraFaults, CountedByKindWithABoundedLabelSet) {
  auto before = camera_faults(CameraFault::onvif_reply_too_complex);
  count_camera_fault(CameraFault::onvif_reply_too_complex);
  EXPECT_EQ(camera_faults(CameraFault::onvif_reply_too_complex), before + 1);
  std::string text = camera_faults_metrics();
  EXPECT_NE(text.find("# TYPE zaulek_camera_faults_total counter\n"), std::string::npos);
  EXPECT_NE(text.find("zaulek_camera_faults_total{kind=\"onvif_reply_too_complex\"} " +
                      std::to_string(before + 1) + "\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("zaulek_camera_faults_total{kind=\"onvif_reply\"} "), std::string::npos);
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 2 + static_cast<long>(kCameraFaultKinds));
}

}  // namespace
}  // namespace zaulek
