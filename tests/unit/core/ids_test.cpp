// core/ids.h: the camera id alphabet, its length bounds and the rule that
// keeps an id a safe directory name.
#include "core/ids.h"

#include <gtest/gtest.h>

#include <string>

namespace zaulek {
namespace {

TEST(CameraId, AcceptsTheAlphabet) {
  EXPECT_TRUE(valid_camera_id("cam-1"));
  EXPECT_TRUE(valid_camera_id("Gate_North.2"));
  EXPECT_TRUE(valid_camera_id("a"));
  EXPECT_TRUE(valid_camera_id("0123456789"));
  EXPECT_TRUE(valid_camera_id("a.."));  // dots inside are fine; only a leading one hides
}

TEST(CameraId, BoundsTheLength) {
  EXPECT_FALSE(valid_camera_id(""));
  EXPECT_TRUE(valid_camera_id(std::string(64, 'x')));
  EXPECT_FALSE(valid_camera_id(std::string(65, 'x')));
}

TEST(CameraId, RefusesWhatCouldLeaveTheStorageRoot) {
  EXPECT_FALSE(valid_camera_id("."));
  EXPECT_FALSE(valid_camera_id(".."));
  EXPECT_FALSE(valid_camera_id(".hidden"));
  EXPECT_FALSE(valid_camera_id("../x"));
  EXPECT_FALSE(valid_camera_id("a/b"));
  EXPECT_FALSE(valid_camera_id("a\\b"));
}

TEST(CameraId, RefusesOtherCharacters) {
  for (std::string bad : {"a b", "a:b", "a%2e", "kamera-ż", "a\tb", "a*", "a?"})
    EXPECT_FALSE(valid_camera_id(bad)) << bad;
  EXPECT_FALSE(valid_camera_id(std::string("a\0b", 3)));
}

}  // namespace
}  // namespace zaulek
