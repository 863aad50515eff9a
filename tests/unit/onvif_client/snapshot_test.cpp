// The snapshot fetch's pure checks: which URI may be fetched, which 401
// challenge is answered, what counts as a whole JPEG. Exact texts where an
// operator reads them.
#include "onvif/client/snapshot.h"

#include <gtest/gtest.h>

#include <string>

namespace zaulek::onvif {
namespace {

const std::string kDevice = "http://192.168.1.20/onvif/device_service";

TEST(SnapshotTarget, SameHostAnyPortIsFetched) {
  auto t = snapshot_target("http://192.168.1.20:8080/snap.jpg?ch=1", kDevice);
  ASSERT_TRUE(t.ok()) << t.error().message;
  EXPECT_EQ(t->host, "192.168.1.20");
  EXPECT_EQ(t->port, "8080");
  EXPECT_EQ(t->target, "/snap.jpg?ch=1");
  auto named =
      snapshot_target("http://CAM-1.local/a.jpg", "http://cam-1.local/onvif/device_service");
  EXPECT_TRUE(named.ok());
}

TEST(SnapshotTarget, AnotherHostIsRefused) {
  auto t = snapshot_target("http://10.0.0.5/grab.jpg", kDevice);
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.error().kind, ErrorKind::permission_denied);
  EXPECT_EQ(t.error().message,
            "the camera's snapshot URI names another host (10.0.0.5, the camera is "
            "192.168.1.20); its credentials are not sent there");
}

TEST(SnapshotTarget, UnusableUrisSayWhy) {
  EXPECT_EQ(snapshot_target("", kDevice).error().message, "the camera names no snapshot URI");
  auto https = snapshot_target("https://192.168.1.20/snap.jpg", kDevice);
  ASSERT_FALSE(https.ok());
  EXPECT_EQ(https.error().kind, ErrorKind::invalid_argument);
  EXPECT_EQ(https.error().message,
            "the camera's snapshot URI 'https://192.168.1.20/snap.jpg' is unusable: https is not "
            "supported yet; use http://");
  auto userinfo = snapshot_target("http://u:p@192.168.1.20/snap.jpg", kDevice);
  ASSERT_FALSE(userinfo.ok());
  EXPECT_NE(userinfo.error().message.find("credentials belong in username/password"),
            std::string::npos);
}

TEST(ChooseAuth, DigestIsPreferredOverBasic) {
  auto a = choose_auth({"Basic realm=\"cam\"", "Digest realm=\"cam\", nonce=\"abc\", qop=\"auth\""},
                       false);
  ASSERT_TRUE(a.ok()) << a.error().message;
  EXPECT_EQ(a->scheme, AuthAnswer::Scheme::digest);
  EXPECT_EQ(a->challenge.realm, "cam");
  EXPECT_EQ(a->challenge.nonce, "abc");
  EXPECT_TRUE(a->challenge.qop_auth);
  // RFC 2069 (no qop): answered without nc/cnonce.
  auto old = choose_auth({"Digest realm=\"cam\", nonce=\"n\""}, false);
  ASSERT_TRUE(old.ok());
  EXPECT_FALSE(old->challenge.qop_auth);
}

TEST(ChooseAuth, BasicOnlyWhereAllowed) {
  auto refused = choose_auth({"Basic realm=\"cam\""}, false);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().kind, ErrorKind::unauthenticated);
  EXPECT_EQ(refused.error().message,
            "the camera asks for HTTP Basic (the password in clear) and Basic is not allowed for "
            "this camera (allow_basic_auth)");
  auto allowed = choose_auth({"Basic realm=\"cam\""}, true);
  ASSERT_TRUE(allowed.ok());
  EXPECT_EQ(allowed->scheme, AuthAnswer::Scheme::basic);
}

TEST(ChooseAuth, UnusableChallengesSayWhy) {
  EXPECT_EQ(choose_auth({}, true).error().message, "401 without a WWW-Authenticate challenge");
  EXPECT_EQ(
      choose_auth({"Digest realm=\"x\", nonce=\"y\", algorithm=SHA-256"}, true).error().message,
      "the camera's authentication challenge is unusable: unsupported Digest algorithm "
      "\"SHA-256\"");
  EXPECT_EQ(choose_auth({"Negotiate abc"}, true).error().message,
            "the camera's authentication challenge is unusable: unsupported authentication "
            "scheme \"Negotiate\"");
  // A usable one among unusable ones is answered.
  auto mixed = choose_auth({"Negotiate abc", "Digest realm=\"r\", nonce=\"n\""}, false);
  ASSERT_TRUE(mixed.ok());
  EXPECT_EQ(mixed->challenge.nonce, "n");
}

std::string jpeg(std::string middle, std::string trailer = "") {
  return std::string("\xff\xd8\xff\xe0", 4) + middle + std::string("\xff\xd9", 2) + trailer;
}

TEST(CheckJpeg, AWholeJpegPasses) {
  EXPECT_TRUE(check_jpeg("image/jpeg", jpeg("JFIF-data")).ok());
  EXPECT_TRUE(check_jpeg("", jpeg("x", std::string(100, '\0'))).ok());  // padded, no type
}

TEST(CheckJpeg, AnythingElseIsNamed) {
  auto html = check_jpeg("text/html", "<html>login</html>");
  ASSERT_FALSE(html.ok());
  EXPECT_EQ(html.error().kind, ErrorKind::invalid_argument);
  EXPECT_EQ(html.error().message,
            "the camera's snapshot is not a JPEG (18 bytes of 'text/html', starting 3c 68 74 6d "
            "6c 3e 6c 6f)");
  EXPECT_EQ(check_jpeg("image/jpeg", "").error().message,
            "the camera's snapshot is not a JPEG (0 bytes of 'image/jpeg')");
  auto cut = check_jpeg("image/jpeg", std::string("\xff\xd8\xff\xe0partial", 11));
  ASSERT_FALSE(cut.ok());
  EXPECT_EQ(cut.error().message.rfind(
                "the camera's JPEG is cut short (no end-of-image marker) (11 bytes", 0),
            0u)
      << cut.error().message;
  // EOI followed by more than the padding allowance: not the end of a picture.
  EXPECT_FALSE(check_jpeg("image/jpeg", jpeg("x", std::string(5000, 'a'))).ok());
}

}  // namespace
}  // namespace zaulek::onvif
