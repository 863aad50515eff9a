// core/text/encoding.h and core/digest.h against published vectors.
#include <gtest/gtest.h>

#include "core/digest.h"
#include "core/text/encoding.h"

namespace zaulek {
namespace {

TEST(Encoding, HexIsLowercase) {
  EXPECT_EQ(to_hex(""), "");
  EXPECT_EQ(to_hex(std::string("\x00\x01\xab\xff", 4)), "0001abff");
}

TEST(Encoding, Base64Rfc4648Vectors) {
  // RFC 4648, section 10.
  const std::pair<const char*, const char*> vectors[] = {
      {"", ""},
      {"f", "Zg=="},
      {"fo", "Zm8="},
      {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="},
      {"fooba", "Zm9vYmE="},
      {"foobar", "Zm9vYmFy"},
  };
  for (const auto& [plain, encoded] : vectors) {
    EXPECT_EQ(base64_encode(plain), encoded) << plain;
    std::string out = "junk";
    ASSERT_TRUE(base64_decode(encoded, out)) << encoded;
    EXPECT_EQ(out, plain);
  }
}

TEST(Encoding, Base64DecodeSkipsBlanksAndRefusesTheRest) {
  std::string out;
  ASSERT_TRUE(base64_decode("Zm9v\r\nYmFy", out));
  EXPECT_EQ(out, "foobar");
  ASSERT_TRUE(base64_decode(base64_encode(std::string("\0\x01\xffxyz", 6)), out));
  EXPECT_EQ(out, std::string("\0\x01\xffxyz", 6));
  EXPECT_FALSE(base64_decode("***", out));
  EXPECT_FALSE(base64_decode("Zg", out));     // padding required
  EXPECT_FALSE(base64_decode("Zm9v=", out));  // padding where none belongs
  EXPECT_FALSE(base64_decode("Z", out));
}

TEST(Digest, HashVectors) {
  // RFC 1321, appendix A.5; FIPS 180 "abc".
  EXPECT_EQ(digest::md5_hex(""), "d41d8cd98f00b204e9800998ecf8427e");
  EXPECT_EQ(digest::md5_hex("abc"), "900150983cd24fb0d6963f7d28e17f72");
  EXPECT_EQ(to_hex(digest::sha1("abc")), "a9993e364706816aba3e25717850c26c9cd0d89d");
}

// RFC 2617, section 3.5.
constexpr const char* kRfc2617Authorization =
    "Digest username=\"Mufasa\", realm=\"testrealm@host.com\", "
    "nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", uri=\"/dir/index.html\", qop=auth, "
    "nc=00000001, cnonce=\"0a4f113b\", response=\"6629fae49393a05397450978507c4ef1\", "
    "opaque=\"5ccc069c403ebaf9f0171e9517f40e41\"";

TEST(Digest, Rfc2617Example) {
  EXPECT_EQ(
      digest::response("GET", "/dir/index.html", "Mufasa", "testrealm@host.com", "Circle Of Life",
                       "dcd98b7102dd2f0e8b11d0f600bfb0c093", "auth", "00000001", "0a4f113b"),
      "6629fae49393a05397450978507c4ef1");
  const digest::Challenge c{"testrealm@host.com", "dcd98b7102dd2f0e8b11d0f600bfb0c093",
                            "5ccc069c403ebaf9f0171e9517f40e41"};
  EXPECT_EQ(
      digest::authorization("GET", "/dir/index.html", "Mufasa", "Circle Of Life", c, "0a4f113b", 1),
      kRfc2617Authorization);
  EXPECT_TRUE(digest::verify(kRfc2617Authorization, "GET", "Mufasa", "Circle Of Life",
                             "testrealm@host.com", "dcd98b7102dd2f0e8b11d0f600bfb0c093"));
  EXPECT_FALSE(digest::verify(kRfc2617Authorization, "POST", "Mufasa", "Circle Of Life",
                              "testrealm@host.com", "dcd98b7102dd2f0e8b11d0f600bfb0c093"));
  EXPECT_FALSE(digest::verify(kRfc2617Authorization, "GET", "Mufasa", "Circle of life",
                              "testrealm@host.com", "dcd98b7102dd2f0e8b11d0f600bfb0c093"));
}

TEST(Digest, WithoutQopTheResponseSkipsNcAndCnonce) {
  // RFC 2069: MD5(HA1:nonce:HA2).
  const std::string ha1 = digest::md5_hex("u:r:p");
  const std::string ha2 = digest::md5_hex("DESCRIBE:rtsp://cam/s");
  const std::string expected = digest::md5_hex(ha1 + ":n1:" + ha2);
  EXPECT_EQ(digest::response("DESCRIBE", "rtsp://cam/s", "u", "r", "p", "n1", "", "", ""),
            expected);
  digest::Challenge c{"r", "n1", "", false};
  const std::string a = digest::authorization("DESCRIBE", "rtsp://cam/s", "u", "p", c, "cn", 7);
  EXPECT_EQ(a,
            "Digest username=\"u\", realm=\"r\", nonce=\"n1\", uri=\"rtsp://cam/s\", response=\"" +
                expected + "\"");
  EXPECT_TRUE(digest::verify(a, "DESCRIBE", "u", "p", "r", "n1"));
}

TEST(Digest, ParamReadsQuotedAndBareValues) {
  std::string v;
  ASSERT_TRUE(digest::param(kRfc2617Authorization, "nc", v));
  EXPECT_EQ(v, "00000001");
  ASSERT_TRUE(digest::param(kRfc2617Authorization, "opaque", v));
  EXPECT_EQ(v, "5ccc069c403ebaf9f0171e9517f40e41");
  EXPECT_FALSE(digest::param(kRfc2617Authorization, "algorithm", v));
  EXPECT_FALSE(digest::param("Basic YWRtaW46cHc=", "realm", v));
  EXPECT_FALSE(digest::param("Digest realm=\"open", "realm", v));
}

}  // namespace
}  // namespace zaulek
