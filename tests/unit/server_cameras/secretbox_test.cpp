#include "server/security/secretbox.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <random>

namespace zaulek::server {
namespace {

namespace fs = std::filesystem;

class SecretBoxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ =
        fs::temp_directory_path() / ("zaulek-secretbox-" + std::to_string(std::random_device{}()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(SecretBoxTest, CreatesKeyFile0600AndReopensIt) {
  auto key = dir_ / "secret.key";
  auto box = SecretBox::open_or_create(key);
  ASSERT_TRUE(box.ok()) << box.error().message;
  struct stat st {};
  ASSERT_EQ(::stat(key.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(st.st_size, 32);

  auto sealed = box->seal("camera-password");
  std::string text(sealed.begin(), sealed.end());
  EXPECT_EQ(text.find("camera-password"), std::string::npos);
  // Two seals of the same text differ (fresh nonce).
  EXPECT_NE(box->seal("camera-password"), sealed);

  auto again = SecretBox::open_or_create(key);
  ASSERT_TRUE(again.ok()) << again.error().message;
  auto opened = again->open(sealed);
  ASSERT_TRUE(opened.ok()) << opened.error().message;
  EXPECT_EQ(*opened, "camera-password");
  auto empty = again->open(again->seal(""));
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(*empty, "");
}

TEST_F(SecretBoxTest, TamperedOrForeignValuesAreDataLoss) {
  auto box = SecretBox::open_or_create(dir_ / "a.key");
  auto other = SecretBox::open_or_create(dir_ / "b.key");
  ASSERT_TRUE(box.ok() && other.ok());
  auto sealed = box->seal("pw");
  auto foreign = other->open(sealed);
  ASSERT_FALSE(foreign.ok());
  EXPECT_EQ(foreign.error().kind, ErrorKind::data_loss);
  sealed.back() ^= 1;
  EXPECT_FALSE(box->open(sealed).ok());
  auto short_value = box->open({1, 2, 3});
  ASSERT_FALSE(short_value.ok());
  EXPECT_EQ(short_value.error().message, "sealed credential is too short");
}

TEST_F(SecretBoxTest, RefusesLooseOrWrongSizedKeyFiles) {
  auto key = dir_ / "secret.key";
  { std::ofstream(key) << "short"; }
  ::chmod(key.c_str(), 0600);
  auto r = SecretBox::open_or_create(key);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "secret key " + key.string() + ": must hold exactly 32 bytes");
  { std::ofstream(key) << std::string(32, 'k'); }
  ::chmod(key.c_str(), 0644);
  auto loose = SecretBox::open_or_create(key);
  ASSERT_FALSE(loose.ok());
  EXPECT_EQ(loose.error().message,
            "secret key " + key.string() + ": readable by group or others; chmod 600 it");
  ::chmod(key.c_str(), 0600);
  EXPECT_TRUE(SecretBox::open_or_create(key).ok());
  auto missing_dir = SecretBox::open_or_create(dir_ / "no" / "such" / "secret.key");
  ASSERT_FALSE(missing_dir.ok());
  EXPECT_EQ(missing_dir.error().kind, ErrorKind::failed_precondition);
}

}  // namespace
}  // namespace zaulek::server
