// media/rtsp_parse.h on malformed input (what a hostile or broken camera can
// send) and on answers captured from real cameras and servers; the sources
// are named beside each capture.
#include "media/rtsp_parse.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace zaulek::media::rtsp {
namespace {

std::span<const std::uint8_t> bytes(const std::string& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

std::string frame_error(const std::string& s) {
  auto f = next_frame(bytes(s));
  return f ? std::string() : f.error().message;
}

// --- framing and heads ---------------------------------------------------

TEST(RtspParse, BareBlankLineIsNotAnAnswer) {
  // The answer that aborted zaulekd: substr(9) on a 2-byte head.
  EXPECT_NE(frame_error("\r\n\r\n").find("neither an RTSP answer nor interleaved data"),
            std::string::npos);
}

TEST(RtspParse, EmptyAndPartialInputNeedMore) {
  for (const std::string s : {"", "R", "RTSP/1.0 200 OK\r\nCSeq: 1\r\n", "$", "$\x00\x00"}) {
    auto f = next_frame(bytes(s));
    ASSERT_TRUE(f) << s;
    EXPECT_EQ(f->kind, Frame::Kind::need_more) << s;
  }
  EXPECT_FALSE(parse_head(""));
  EXPECT_EQ(parse_head("").error().message, "empty RTSP answer");
}

TEST(RtspParse, StatusLineWithoutStatusOrWithAWordIsRefused) {
  EXPECT_NE(frame_error("RTSP/1.0 \r\n\r\n").find("not an RTSP status line"), std::string::npos);
  EXPECT_NE(frame_error("RTSP/1.0 abc OK\r\n\r\n").find("bad RTSP status code"), std::string::npos);
  EXPECT_NE(frame_error("RTSP/1.0 099 Low\r\n\r\n").find("bad RTSP status code"),
            std::string::npos);
  EXPECT_NE(frame_error("RTSP/1.0 2000 OK\r\n\r\n").find("not an RTSP status line"),
            std::string::npos);
  EXPECT_NE(frame_error("RTSP/x.y 200 OK\r\n\r\n").find("not an RTSP status line"),
            std::string::npos);
  EXPECT_NE(frame_error("HTTP/1.1 200 OK\r\n\r\n").find("neither"), std::string::npos);
}

TEST(RtspParse, StatusWithoutReasonIsAccepted) {
  auto a = parse_head("RTSP/1.0 404");
  ASSERT_TRUE(a) << a.error().message;
  EXPECT_EQ(a->status, 404);
  EXPECT_EQ(a->reason, "");
}

TEST(RtspParse, ContentLengthMustBeDigitsWithinTheBodyLimit) {
  const std::string head = "RTSP/1.0 200 OK\r\nCSeq: 1\r\nContent-Length: ";
  EXPECT_EQ(frame_error(head + "-1\r\n\r\n"), "Content-Length is not a number: \"-1\"");
  EXPECT_EQ(frame_error(head + "+5\r\n\r\n"), "Content-Length is not a number: \"+5\"");
  EXPECT_EQ(frame_error(head + "12abc\r\n\r\n"), "Content-Length is not a number: \"12abc\"");
  EXPECT_EQ(frame_error(head + "\r\n\r\n"), "Content-Length is not a number: \"\"");
  EXPECT_EQ(frame_error(head + "65537\r\n\r\n"), "Content-Length 65537 over the 64 KiB limit");
  EXPECT_EQ(frame_error(head + "99999999999999999999999999\r\n\r\n"),
            "Content-Length is not a number: \"99999999999999999999999999\"");
  EXPECT_EQ(frame_error(head + "18446744073709551615\r\n\r\n"),
            "Content-Length 18446744073709551615 over the 64 KiB limit");
  EXPECT_EQ(frame_error(head + "5\r\nContent-Length: 6\r\n\r\n"),
            "two different Content-Length headers");
}

TEST(RtspParse, AnswerWithBodyIsFramedByContentLength) {
  const std::string s = "RTSP/1.0 200 OK\r\ncseq: 2\r\ncontent-length: 5\r\n\r\nhello$\x01\x00\x00";
  auto f = next_frame(bytes(s));
  ASSERT_TRUE(f) << f.error().message;
  ASSERT_EQ(f->kind, Frame::Kind::answer);
  EXPECT_EQ(f->answer.status, 200);
  EXPECT_EQ(f->answer.reason, "OK");
  EXPECT_EQ(f->answer.content_length, 5u);
  EXPECT_EQ(s.substr(f->body_at, f->size - f->body_at), "hello");
  EXPECT_EQ(header(f->answer, "CSeq").value_or("none"), "2");
  EXPECT_FALSE(header(f->answer, "Session"));
  // A body not all there yet.
  auto part = next_frame(bytes(s.substr(0, s.size() - 8)));
  ASSERT_TRUE(part);
  EXPECT_EQ(part->kind, Frame::Kind::need_more);
}

TEST(RtspParse, HeaderLineWithoutColonIsRefused) {
  EXPECT_EQ(frame_error("RTSP/1.0 200 OK\r\nCSeq 1\r\n\r\n"),
            "RTSP header line without a name and colon: \"CSeq 1\"");
  EXPECT_EQ(frame_error("RTSP/1.0 200 OK\r\n: value\r\n\r\n"),
            "RTSP header line without a name and colon: \": value\"");
}

TEST(RtspParse, FoldedHeaderAndBareLineFeeds) {
  auto f = next_frame(bytes("RTSP/1.0 200 OK\nSession: 12345678;\n timeout=30\n\n"));
  ASSERT_TRUE(f) << f.error().message;
  ASSERT_EQ(f->kind, Frame::Kind::answer);
  EXPECT_EQ(header(f->answer, "session").value_or(""), "12345678; timeout=30");
}

TEST(RtspParse, EndlessLineOverTheHeadBoundIsRefused) {
  std::string s = "RTSP/1.0 200 OK\r\nX-Filler: ";
  s.append(kMaxHead, 'a');
  EXPECT_EQ(frame_error(s), "RTSP answer head over 16 KiB");
  // Ended, but still too long.
  EXPECT_EQ(frame_error(s + "\r\n\r\n"), "RTSP answer head over 16 KiB");
  // Just under the bound is waited for.
  auto f = next_frame(bytes(s.substr(0, kMaxHead - 10)));
  ASSERT_TRUE(f);
  EXPECT_EQ(f->kind, Frame::Kind::need_more);
}

TEST(RtspParse, TooManyHeadersAreRefused) {
  std::string s = "RTSP/1.0 200 OK\r\n";
  for (std::size_t i = 0; i < kMaxHeaders + 1; ++i) s += "X-" + std::to_string(i) + ": v\r\n";
  EXPECT_EQ(frame_error(s + "\r\n"), "RTSP answer with over 64 headers");
}

TEST(RtspParse, InterleavedDataBeforeAnyAnswerIsFramedFirst) {
  std::string s(
      "$\x01\x00\x03"
      "abc",
      7);
  s += "RTSP/1.0 200 OK\r\nCSeq: 1\r\n\r\n";
  auto f = next_frame(bytes(s));
  ASSERT_TRUE(f);
  ASSERT_EQ(f->kind, Frame::Kind::interleaved);
  EXPECT_EQ(f->channel, 1);
  EXPECT_EQ(f->size, 7u);
  auto g = next_frame(bytes(s).subspan(f->size));
  ASSERT_TRUE(g);
  EXPECT_EQ(g->kind, Frame::Kind::answer);
  EXPECT_EQ(g->answer.status, 200);
}

TEST(RtspParse, BinaryNoiseNeverCrashesAndIsRefusedOrWaitedFor) {
  std::mt19937 rng(16);
  int refused = 0;
  for (int i = 0; i < 2000; ++i) {
    std::string s(1 + rng() % 300, '\0');
    for (auto& c : s) c = static_cast<char>(rng());
    if (i % 2 == 0) s = "RTSP/1.0 200 OK\r\n" + s + "\r\n\r\n";
    auto f = next_frame(bytes(s));
    if (!f) {
      ++refused;
      continue;
    }
    EXPECT_LE(f->size, s.size());
  }
  EXPECT_GT(refused, 900);  // the pure noise half, at least
}

// --- challenges ------------------------------------------------------------

TEST(RtspParse, DigestChallengeFromGstRtspServer) {
  // gst-rtsp-server 1.22 (the simulator), as test_sim_rtsp reads it.
  auto c = parse_challenge("Digest realm=\"GStreamer RTSP Server\", nonce=\"8e8fdd4e2d7db9f3\"");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->scheme, AuthScheme::digest);
  EXPECT_EQ(c->realm, "GStreamer RTSP Server");
  EXPECT_EQ(c->nonce, "8e8fdd4e2d7db9f3");
  EXPECT_FALSE(c->qop_auth);
}

TEST(RtspParse, DigestWithQopOpaqueAndBasicInOneAnswerPrefersDigest) {
  // Hikvision answers 401 with both challenges (Basic first on older firmware).
  auto a = parse_head(
      "RTSP/1.0 401 Unauthorized\r\nCSeq: 3\r\n"
      "WWW-Authenticate: Basic realm=\"IP Camera(C1234)\"\r\n"
      "WWW-Authenticate: Digest realm=\"IP Camera(C1234)\", qop=\"auth,auth-int\", "
      "nonce=\"a8f3e1\", opaque=\"5ccc\", stale=\"FALSE\"\r\n");
  ASSERT_TRUE(a) << a.error().message;
  auto c = choose_challenge(*a);
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->scheme, AuthScheme::digest);
  EXPECT_TRUE(c->qop_auth);
  EXPECT_EQ(c->opaque, "5ccc");
}

TEST(RtspParse, BasicAloneIsChosenAsBasic) {
  auto a = parse_head("RTSP/1.0 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"cam\"\r\n");
  ASSERT_TRUE(a);
  auto c = choose_challenge(*a);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->scheme, AuthScheme::basic);
  EXPECT_EQ(c->realm, "cam");
}

TEST(RtspParse, BadChallengesAreRefusedWithAReason) {
  EXPECT_EQ(parse_challenge("Digest realm=\"x\"").error().message,
            "Digest challenge without a nonce");
  EXPECT_EQ(parse_challenge("Digest realm=\"x\", nonce=\"y\", algorithm=SHA-256").error().message,
            "unsupported Digest algorithm \"SHA-256\"");
  EXPECT_EQ(parse_challenge("Digest realm=\"x\", nonce=\"y\", qop=\"auth-int\"").error().message,
            "unsupported Digest qop \"auth-int\"");
  EXPECT_EQ(parse_challenge("Negotiate abc").error().message,
            "unsupported authentication scheme \"Negotiate\"");
  EXPECT_EQ(parse_challenge("Digest realm=\"x, nonce=y").error().message,
            "unterminated quoted string in the authentication challenge");
  EXPECT_EQ(parse_challenge("Digest realm=\"a\\\"b\", nonce=\"y\"").error().message,
            "bad characters in the authentication challenge's realm");
  EXPECT_FALSE(parse_challenge("Digest realm"));
  auto none = parse_head("RTSP/1.0 401 Unauthorized\r\nCSeq: 1\r\n");
  ASSERT_TRUE(none);
  EXPECT_EQ(choose_challenge(*none).error().message, "401 without a WWW-Authenticate challenge");
}

TEST(RtspParse, TwentyKilobyteChallengeIsRefused) {
  const std::string big = "Digest realm=\"" + std::string(20 * 1024, 'r') + "\", nonce=\"n\"";
  EXPECT_EQ(parse_challenge(big).error().message, "WWW-Authenticate challenge over 4 KiB");
  // On the wire it is over the head bound before it is even a challenge.
  EXPECT_EQ(frame_error("RTSP/1.0 401 Unauthorized\r\nWWW-Authenticate: " + big + "\r\n\r\n"),
            "RTSP answer head over 16 KiB");
  // Many parameters: bounded too.
  std::string many = "Digest nonce=\"n\"";
  for (int i = 0; i < 40; ++i) many += ", p" + std::to_string(i) + "=v";
  EXPECT_EQ(parse_challenge(many).error().message,
            "authentication challenge with too many parameters");
}

// --- SDP -------------------------------------------------------------------

// AXIS P1311, from erlyvideo's RTSP tests (erlyvideo/erlyvideo-old,
// sdp_tests.erl, axis_p1311_test).
const char* kAxisP1311 =
    "v=0\r\no=- 1269257289197834 1269257289197834 IN IP4 10.10.11.48\r\ns=Media Presentation\r\n"
    "e=NONE\r\nc=IN IP4 0.0.0.0\r\nb=AS:50032\r\nt=0 0\r\n"
    "a=control:rtsp://10.10.11.48:554/axis-media/media.amp?videocodec=h264\r\n"
    "a=range:npt=0.000000-\r\nm=video 0 RTP/AVP 96\r\nb=AS:50000\r\na=framerate:30.0\r\n"
    "a=control:rtsp://10.10.11.48:554/axis-media/media.amp/trackID=1?videocodec=h264\r\n"
    "a=rtpmap:96 H264/90000\r\n"
    "a=fmtp:96 packetization-mode=1; profile-level-id=420029; "
    "sprop-parameter-sets=Z0IAKeNQFAe2AtwEBAaQeJEV,aM48gA==\r\n"
    "m=audio 0 RTP/AVP 97\r\nb=AS:32\r\n"
    "a=control:rtsp://10.10.11.48:554/axis-media/media.amp/trackID=2?videocodec=h264\r\n"
    "a=rtpmap:97 mpeg4-generic/16000/1\r\n"
    "a=fmtp:97 profile-level-id=15; mode=AAC-hbr;config=1408; SizeLength=13; IndexLength=3;"
    "IndexDeltaLength=3; Profile=1; bitrate=32000;\r\n";

TEST(RtspParse, AxisSdpGivesH264ParameterSetsAndAbsoluteControl) {
  auto v = parse_sdp_video(kAxisP1311, "rtsp://10.10.11.48:554/axis-media/media.amp/");
  ASSERT_TRUE(v) << v.error().message;
  EXPECT_EQ(v->codec, Codec::h264);
  EXPECT_EQ(v->payload_type, 96);
  EXPECT_EQ(v->clock_rate, 90'000u);
  EXPECT_EQ(v->control_url,
            "rtsp://10.10.11.48:554/axis-media/media.amp/trackID=1?videocodec=h264");
  // SPS 67 42 00 29 e3 50 ... 15 and PPS 68 ce 3c 80, as erlyvideo decodes them.
  const std::vector<std::uint8_t> want = {
      0,    0,    0,    1,    0x67, 0x42, 0x00, 0x29, 0xe3, 0x50, 0x14, 0x07, 0xb6, 0x02, 0xdc,
      0x04, 0x04, 0x06, 0x90, 0x78, 0x91, 0x15, 0,    0,    0,    1,    0x68, 0xce, 0x3c, 0x80};
  EXPECT_EQ(v->params, want);
  EXPECT_EQ(v->dropped_param_sets, 0);
}

TEST(RtspParse, HikvisionSdpResolvesAbsoluteControlWithQuery) {
  // Hikvision (Streaming/Channels/102, IPv6 c= lines), from reeonce/iosrtcua's
  // iOSRTCManagerTests.m testParseCameraSDP.
  const char* sdp =
      "v=0\r\no=- 1464884363881669 1464884363881669 IN IP6 ::\r\ns=Media Presentation\r\n"
      "e=NONE\r\nb=AS:5100\r\nt=0 0\r\n"
      "a=control:rtsp://172.16.46.182:554/Streaming/Channels/102/"
      "?transportmode=unicast&profile=Profile_2\r\n"
      "m=video 0 RTP/AVP 96\r\nc=IN IP6 ::\r\nb=AS:5000\r\na=recvonly\r\n"
      "a=control:rtsp://172.16.46.182:554/Streaming/Channels/102/"
      "trackID=1?transportmode=unicast&profile=Profile_2\r\n"
      "a=rtpmap:96 H264/90000\r\n"
      "a=fmtp:96 profile-level-id=420029; packetization-mode=1; "
      "sprop-parameter-sets=Z00AFJWoWCWhAAAHCAABX5AE,aO48gA==\r\n"
      "m=audio 0 RTP/AVP 0\r\nc=IN IP6 ::\r\nb=AS:50\r\na=recvonly\r\n"
      "a=control:rtsp://172.16.46.182:554/Streaming/Channels/102/"
      "trackID=2?transportmode=unicast&profile=Profile_2\r\n"
      "a=rtpmap:0 PCMU/8000\r\n"
      "a=Media_header:MEDIAINFO=494D4B48010100000400010010710110401F000000FA0000000000000000000"
      "00000000000000000;\r\na=appversion:1.0\r\n";
  auto v = parse_sdp_video(sdp, "rtsp://172.16.46.182:554/Streaming/Channels/102/");
  ASSERT_TRUE(v) << v.error().message;
  EXPECT_EQ(v->codec, Codec::h264);
  EXPECT_EQ(v->control_url,
            "rtsp://172.16.46.182:554/Streaming/Channels/102/"
            "trackID=1?transportmode=unicast&profile=Profile_2");
  ASSERT_GE(v->params.size(), 5u);
  EXPECT_EQ(v->params[4], 0x67);
}

TEST(RtspParse, SamsungRelativeControlIsResolvedAgainstContentBase) {
  // Hanwha/Samsung (profile5/media.smp), from bluenviron/gortsplib
  // pkg/description/session_test.go ("one format for each media, relative").
  const char* sdp =
      "v=0\r\no=- 0 0 IN IP4 10.0.0.131\r\ns=Media Presentation\r\ni=samsung\r\n"
      "c=IN IP4 0.0.0.0\r\nb=AS:2632\r\nt=0 0\r\na=range:npt=now-\r\n"
      "m=video 42504 RTP/AVP 97\r\nb=AS:2560\r\na=rtpmap:97 H264/90000\r\n"
      "a=control:trackID=1\r\na=cliprect:0,0,1080,1920\r\na=framesize:97 1920-1080\r\n"
      "a=framerate:30.0\r\n"
      "a=fmtp:97 packetization-mode=1;profile-level-id=640028;"
      "sprop-parameter-sets=Z2QAKKy0A8ARPyo=,aO4Bniw=\r\n"
      "m=audio 42506 RTP/AVP 0\r\nb=AS:64\r\na=rtpmap:0 PCMU/8000\r\na=control:trackID=2\r\n"
      "a=recvonly\r\nm=application 42508 RTP/AVP 107\r\nb=AS:8\r\n";
  auto v = parse_sdp_video(sdp, "rtsp://10.0.100.50/profile5/media.smp");
  ASSERT_TRUE(v) << v.error().message;
  EXPECT_EQ(v->payload_type, 97);
  EXPECT_EQ(v->control_url, "rtsp://10.0.100.50/profile5/media.smp/trackID=1");
  const std::vector<std::uint8_t> want = {0,    0,    0,    1,    0x67, 0x64, 0x00, 0x28,
                                          0xac, 0xb4, 0x03, 0xc0, 0x11, 0x3f, 0x2a, 0,
                                          0,    0,    1,    0x68, 0xee, 0x01, 0x9e, 0x2c};
  EXPECT_EQ(v->params, want);
  auto slash = parse_sdp_video(sdp, "rtsp://10.0.100.50/profile5/media.smp/");
  ASSERT_TRUE(slash);
  EXPECT_EQ(slash->control_url, "rtsp://10.0.100.50/profile5/media.smp/trackID=1");
}

TEST(RtspParse, H265SdpGivesVpsSpsPps) {
  // From ireader/media-server's sdp_h265_test (librtp).
  const char* sdp =
      "m=video 0 RTP/AVP 96\r\na=rtpmap:96 H265/90000\r\n"
      "a=fmtp:96 sprop-vps=QAEMAf//AWAAAAMAsAAAAwAAAwBdFcCQ; "
      "sprop-sps=QgEBAWAAAAMAsAAAAwAAAwBdoAWiAFAWIFe5FlRA; sprop-pps=RAHALLwUyQ==\r\n";
  auto v = parse_sdp_video(sdp, "rtsp://cam/h265");
  ASSERT_TRUE(v) << v.error().message;
  EXPECT_EQ(v->codec, Codec::h265);
  EXPECT_EQ(v->control_url, "rtsp://cam/h265");
  // Three NAL units: VPS (type 32), SPS (33), PPS (34).
  std::vector<int> types;
  for (std::size_t i = 0; i + 4 < v->params.size(); ++i)
    if (v->params[i] == 0 && v->params[i + 1] == 0 && v->params[i + 2] == 0 &&
        v->params[i + 3] == 1)
      types.push_back((v->params[i + 4] >> 1) & 0x3f);
  EXPECT_EQ(types, (std::vector<int>{32, 33, 34}));
}

TEST(RtspParse, AxisMjpegAnswerIsNeitherCodec) {
  // An AXIS DESCRIBE answer for videocodec=jpeg, from the Kean library's
  // Sdp test (Kean.Draw.Net.Test): static payload type 26, no rtpmap.
  const std::string answer =
      "RTSP/1.0 200 OK\r\nCSeq: 0\r\nContent-Type: application/sdp\r\n"
      "Content-Base: rtsp://192.168.1.21:554/axis-media/media.amp/\r\n"
      "Date: Wed, 05 Jan 2011 22:08:21 GMT\r\nContent-Length: 342\r\n\r\n"
      "v=0\r\no=- 1294265301839884 1294265301839884 IN IP4 192.168.1.21\r\n"
      "s=Media Presentation\r\ne=NONE\r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\n"
      "a=control:rtsp://192.168.1.21:554/axis-media/media.amp?videocodec=jpeg\r\n"
      "a=range:npt=0.000000-\r\nm=video 0 RTP/AVP 26\r\na=framesize:26 640-480\r\n"
      "a=control:rtsp://192.168.1.21:554/axis-media/media.amp/trackID=1?videocodec=jpeg\r\n";
  auto f = next_frame(bytes(answer));
  ASSERT_TRUE(f) << f.error().message;
  ASSERT_EQ(f->kind, Frame::Kind::answer);
  EXPECT_EQ(f->size, answer.size());
  EXPECT_EQ(header(f->answer, "content-base").value_or(""),
            "rtsp://192.168.1.21:554/axis-media/media.amp/");
  auto v = parse_sdp_video(answer.substr(f->body_at), "rtsp://192.168.1.21:554/");
  ASSERT_FALSE(v);
  EXPECT_EQ(v.error().message, "the SDP's video section has no rtpmap for its payload type");
}

TEST(RtspParse, SdpWithoutVideoIsRefused) {
  auto v = parse_sdp_video("v=0\r\ns=audio only\r\nm=audio 0 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n",
                           "rtsp://a/b");
  ASSERT_FALSE(v);
  EXPECT_EQ(v.error().message, "the SDP has no video");
  EXPECT_EQ(parse_sdp_video("", "rtsp://a/b").error().message, "the SDP has no video");
  EXPECT_EQ(parse_sdp_video(std::string(5000, '\n'), "rtsp://a/b").error().message,
            "SDP with over 1000 lines");
}

TEST(RtspParse, BadRtpmapIsRefused) {
  auto err = [](const std::string& rtpmap) {
    auto v = parse_sdp_video("m=video 0 RTP/AVP 96\r\na=rtpmap:96 " + rtpmap + "\r\n", "rtsp://a/");
    return v ? std::string("accepted") : v.error().message;
  };
  EXPECT_EQ(err("H264"), "rtpmap without a clock rate: \"H264\"");
  EXPECT_EQ(err("H264/0"), "bad RTP clock rate in rtpmap: \"H264/0\"");
  EXPECT_EQ(err("H264/99999999999"), "bad RTP clock rate in rtpmap: \"H264/99999999999\"");
  EXPECT_EQ(err("H264/-90000"), "bad RTP clock rate in rtpmap: \"H264/-90000\"");
  EXPECT_EQ(err("H264/abc"), "bad RTP clock rate in rtpmap: \"H264/abc\"");
  EXPECT_EQ(err("MP4V-ES/90000"), "video is neither H.264 nor H.265 (\"MP4V-ES/90000\")");
  EXPECT_EQ(err("h264/90000"), "accepted");
  // An rtpmap for a payload type the m= line does not list does not count.
  auto v = parse_sdp_video("m=video 0 RTP/AVP 97\r\na=rtpmap:96 H264/90000\r\n", "rtsp://a/");
  ASSERT_FALSE(v);
  EXPECT_EQ(parse_sdp_video("m=video 0 RTP/AVP\r\n", "rtsp://a/").error().message,
            "the SDP's video section has no payload type: \"m=video 0 RTP/AVP\"");
}

TEST(RtspParse, BadSpropBase64IsDroppedAndCounted) {
  const std::string head = "m=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\na=fmtp:96 ";
  auto v = parse_sdp_video(head + "sprop-parameter-sets=Z0IAKe*NQ,aM48gA==,,\r\n", "rtsp://a/");
  ASSERT_TRUE(v) << v.error().message;
  EXPECT_EQ(v->dropped_param_sets, 1);
  EXPECT_EQ(v->params, (std::vector<std::uint8_t>{0, 0, 0, 1, 0x68, 0xce, 0x3c, 0x80}));
  // Over the per-set bound.
  auto big = parse_sdp_video(head + "sprop-parameter-sets=" + std::string(8000, 'A') + "\r\n",
                             "rtsp://a/");
  ASSERT_TRUE(big);
  EXPECT_EQ(big->dropped_param_sets, 1);
  EXPECT_TRUE(big->params.empty());
}

TEST(RtspParse, ControlUrlsThatCouldBreakOurRequestAreRefused) {
  const std::string sdp = "m=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\na=control:";
  EXPECT_EQ(parse_sdp_video(sdp + "track 1\r\n", "rtsp://a/").error().message,
            "bad control URL in the SDP: \"track 1\"");
  EXPECT_EQ(parse_sdp_video(sdp + "http://evil/x\r\n", "rtsp://a/").error().message,
            "control URL is not rtsp://: \"http://evil/x\"");
  EXPECT_EQ(parse_sdp_video(sdp + "*\r\n", "rtsp://a/b c").error().message,
            "bad base URL for the SDP: \"rtsp://a/b c\"");
  auto star = parse_sdp_video(sdp + "*\r\n", "rtsp://a/b");
  ASSERT_TRUE(star);
  EXPECT_EQ(star->control_url, "rtsp://a/b");
}

TEST(RtspParse, Base64IsStrict) {
  EXPECT_EQ(decode_base64("aM48gA==").value(), (std::vector<std::uint8_t>{0x68, 0xce, 0x3c, 0x80}));
  EXPECT_EQ(decode_base64("aM48gA").value(), (std::vector<std::uint8_t>{0x68, 0xce, 0x3c, 0x80}));
  EXPECT_FALSE(decode_base64("aM4 8gA"));
  EXPECT_FALSE(decode_base64("a"));
  EXPECT_FALSE(decode_base64("aM=48gA"));
  EXPECT_FALSE(decode_base64("AAAAAAAA", 5));
  EXPECT_TRUE(decode_base64("", 5).value().empty());
}

// --- RTCP, Session, URL ------------------------------------------------------

TEST(RtspParse, SenderReportInACompoundPacket) {
  // RR (empty) then SR: NTP 2026-01-01T00:00:00.5Z, RTP 0x01020304.
  const std::uint32_t ntp = 2'208'988'800u + 1'767'225'600u;
  std::vector<std::uint8_t> p = {0x80,
                                 201,
                                 0,
                                 1,
                                 0,
                                 0,
                                 0,
                                 1,
                                 0x80,
                                 200,
                                 0,
                                 6,
                                 0,
                                 0,
                                 0,
                                 1,
                                 std::uint8_t(ntp >> 24),
                                 std::uint8_t(ntp >> 16),
                                 std::uint8_t(ntp >> 8),
                                 std::uint8_t(ntp),
                                 0x80,
                                 0,
                                 0,
                                 0,
                                 1,
                                 2,
                                 3,
                                 4,
                                 0,
                                 0,
                                 0,
                                 9,
                                 0,
                                 0,
                                 0,
                                 9};
  auto sr = parse_sender_report(p);
  ASSERT_TRUE(sr);
  EXPECT_EQ(sr->wall_ns, 1'767'225'600LL * 1'000'000'000LL + 500'000'000LL);
  EXPECT_EQ(sr->rtp_time, 0x01020304u);
  // Truncated, wrong version, NTP before 1970: nothing.
  EXPECT_FALSE(parse_sender_report(std::span(p).first(20)));
  p[8] = 0x40;
  EXPECT_FALSE(parse_sender_report(p));
  EXPECT_FALSE(parse_sender_report(std::vector<std::uint8_t>{0x80, 200, 0xff, 0xff}));
  std::vector<std::uint8_t> old(28, 0);
  old[0] = 0x80;
  old[1] = 200;
  old[3] = 6;
  EXPECT_FALSE(parse_sender_report(old));
}

TEST(RtspParse, SessionHeader) {
  auto s = parse_session("47112344;timeout=30");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->id, "47112344");
  EXPECT_EQ(s->timeout_s, 30);
  EXPECT_EQ(parse_session("abc; timeout=99999999999999")->timeout_s, 3600);
  EXPECT_EQ(parse_session("abc;timeout=1")->timeout_s, 4);
  EXPECT_EQ(parse_session("abc;timeout=-5")->timeout_s, 60);
  EXPECT_FALSE(parse_session(""));
  EXPECT_FALSE(parse_session(";timeout=5"));
  EXPECT_FALSE(parse_session(std::string(300, 'x')));
}

TEST(RtspParse, Urls) {
  auto u = parse_url("rtsp://127.0.0.1:8554/main");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->host, "127.0.0.1");
  EXPECT_EQ(u->port, "8554");
  EXPECT_EQ(parse_url("rtsp://[::1]/x")->host, "::1");
  EXPECT_EQ(parse_url("rtsp://[::1]/x")->port, "554");
  EXPECT_EQ(parse_url("rtsp://cam")->port, "554");
  EXPECT_EQ(parse_url("rtsp://u:p@cam/x").error().message,
            "credentials in the URL (give them separately)");
  EXPECT_EQ(parse_url("http://cam/").error().message, "not an rtsp:// URL");
  EXPECT_EQ(parse_url("rtsp://cam:99999/").error().message, "bad port in the URL");
  EXPECT_EQ(parse_url("rtsp://cam:/").error().message, "bad port in the URL");
  EXPECT_EQ(parse_url("rtsp:///x").error().message, "no host in the URL");
  EXPECT_EQ(parse_url("rtsp://[::1/x").error().message, "bad IPv6 address in the URL");
}

}  // namespace
}  // namespace zaulek::media::rtsp
