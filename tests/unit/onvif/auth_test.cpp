#include "onvif/auth.h"

#include <gtest/gtest.h>

#include "core/crypto.h"

namespace zaulek::onvif {
namespace {

TEST(OnvifAuth, PasswordDigestMatchesOpensslVector) {
  // Fixed vector computed independently:
  // printf 'NONCE1234567890!2026-11-25T10:00:00Zsecret' | openssl sha1 -binary | base64
  EXPECT_EQ(password_digest("NONCE1234567890!", "2026-11-25T10:00:00Z", "secret"),
            "f1R+a6Yr0FTFQ/wUZSEXFVNZgPk=");
}

TEST(OnvifAuth, Base64RoundTrip) {
  std::string out;
  ASSERT_TRUE(base64_decode(base64_encode(std::string("\0\x01\xffxyz", 6)), out));
  EXPECT_EQ(out, std::string("\0\x01\xffxyz", 6));
  EXPECT_FALSE(base64_decode("***", out));
}

TEST(OnvifAuth, VerifierAcceptsOnceThenRejectsReplayAndSkew) {
  crypto::init();
  WallTime now{std::chrono::seconds{1'800'000'000}};
  auto t = make_username_token("admin", "pw", now);
  UsernameTokenVerifier v;
  EXPECT_EQ(v.check(t.username, t.password_digest, t.nonce_base64, t.created, "admin", "pw", now),
            TokenCheck::ok);
  EXPECT_EQ(v.check(t.username, t.password_digest, t.nonce_base64, t.created, "admin", "pw", now),
            TokenCheck::replayed);
  // The same nonce with a fresh Created (and so a fresh digest) is no replay.
  {
    std::string raw;
    ASSERT_TRUE(base64_decode(t.nonce_base64, raw));
    std::string later = format_rfc3339(now + std::chrono::seconds(1));
    EXPECT_EQ(v.check("admin", password_digest(raw, later, "pw"), t.nonce_base64, later, "admin",
                      "pw", now),
              TokenCheck::ok);
  }
  auto t2 = make_username_token("admin", "pw", now);
  EXPECT_EQ(
      v.check(t2.username, t2.password_digest, t2.nonce_base64, t2.created, "admin", "other", now),
      TokenCheck::bad_digest);
  EXPECT_EQ(
      v.check(t2.username, t2.password_digest, t2.nonce_base64, t2.created, "root", "pw", now),
      TokenCheck::bad_digest);
  EXPECT_EQ(v.check(t2.username, t2.password_digest, t2.nonce_base64, t2.created, "admin", "pw",
                    now + std::chrono::minutes(6)),
            TokenCheck::bad_time);
  EXPECT_EQ(v.check(t2.username, t2.password_digest, t2.nonce_base64, t2.created, "admin", "pw",
                    now - std::chrono::minutes(4)),
            TokenCheck::ok);
  EXPECT_EQ(v.check("admin", "x", "!!", "yesterday", "admin", "pw", now), TokenCheck::malformed);
}

TEST(OnvifAuth, HttpDigestRoundTrip) {
  DigestChallenge c{"zaulek-sim", "abc123", ""};
  std::string auth = make_http_digest("POST", "/onvif/device_service", "admin", "pw", c, "cn", 1);
  EXPECT_TRUE(verify_http_digest(auth, "POST", "admin", "pw", "zaulek-sim", "abc123"));
  EXPECT_FALSE(verify_http_digest(auth, "POST", "admin", "bad", "zaulek-sim", "abc123"));
  EXPECT_FALSE(verify_http_digest(auth, "POST", "admin", "pw", "zaulek-sim", "other"));
  EXPECT_FALSE(
      verify_http_digest("Basic YWRtaW46cHc=", "POST", "admin", "pw", "zaulek-sim", "abc123"));
  EXPECT_FALSE(verify_http_digest("Digest username=\"admin", "POST", "admin", "pw", "r", "n"));
}

}  // namespace
}  // namespace zaulek::onvif
