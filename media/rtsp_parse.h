// What an RTSP camera sends, parsed as pure functions over bytes: the framing
// of the RTSP/TCP connection (answers and interleaved data), an answer's head,
// the SDP's first video section, RTCP sender reports, WWW-Authenticate
// challenges and the Session header. media/rtsp_client.cpp reads the socket
// and calls only these; tests/unit/media/rtsp_parse_test.cpp and
// media/fuzz/fuzz_rtsp.cpp, fuzz_sdp.cpp feed them hostile bytes.
//
// Contract: total over any input (no exception, no UB, no unbounded work):
// every size is bounded before it is used, every error is a Result with a
// text that may be shown to an operator (it quotes at most a few dozen bytes
// of the camera's answer, never our credentials).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/digest.h"
#include "core/error.h"
#include "media/codec.h"

namespace zaulek::media::rtsp {

constexpr std::size_t kMaxHead = 16 * 1024;  // an answer's head, blank line included
constexpr std::size_t kMaxBody = 64 * 1024;  // an answer's body (the SDP)
constexpr std::size_t kMaxHeaders = 64;
constexpr std::size_t kMaxChallenge = digest::kMaxChallenge;  // one WWW-Authenticate value
constexpr std::size_t kMaxUrl = 1024;                         // Content-Base, control URLs
constexpr std::size_t kMaxParamSet = 4096;                    // one decoded parameter set

struct Header {
  std::string name, value;  // value without surrounding blanks
};

struct Answer {
  int status = 0;  // 100..599
  std::string reason;
  std::vector<Header> headers;
  std::size_t content_length = 0;  // validated: <= the body limit given
};

// The first value of header `name` (case-insensitive), or nullopt.
std::optional<std::string_view> header(const Answer& answer, std::string_view name);

// An answer's head: the status line and header lines, each ended by CRLF
// (bare LF accepted), without the blank line.
Result<Answer> parse_head(std::string_view head, std::size_t max_body = kMaxBody);

// What the front of the bytes read from the connection holds.
struct Frame {
  enum class Kind { need_more, interleaved, answer } kind = Kind::need_more;
  std::size_t size = 0;      // bytes the whole frame takes (interleaved, answer)
  std::uint8_t channel = 0;  // interleaved: payload is bytes[4, size)
  std::size_t body_at = 0;   // answer: body is bytes[body_at, size)
  Answer answer;             // answer: the parsed head
};

// need_more when the frame is not complete yet (and within its bounds); an
// error when the bytes can never become a valid frame (the connection is
// then useless: fail it).
Result<Frame> next_frame(std::span<const std::uint8_t> bytes, std::size_t max_head = kMaxHead,
                         std::size_t max_body = kMaxBody);

// The first video section of an SDP.
struct VideoSection {
  Codec codec = Codec::h264;
  int payload_type = 96;
  std::uint32_t clock_rate = 90'000;
  std::vector<std::uint8_t> params;  // sprop parameter sets, byte-stream (may be empty)
  int dropped_param_sets = 0;        // not valid base64 or over kMaxParamSet; skipped
  std::string control_url;           // absolute: where SETUP goes
};

// base_url: the answer's Content-Base (else Content-Location, else the
// DESCRIBE URL); relative control attributes are resolved against it.
Result<VideoSection> parse_sdp_video(std::string_view sdp, std::string_view base_url);

// Strict base64 (RFC 4648, padding optional, no blanks); nullopt if invalid
// or if the result would exceed max_bytes.
std::optional<std::vector<std::uint8_t>> decode_base64(std::string_view text,
                                                       std::size_t max_bytes = kMaxParamSet);

struct SenderReport {
  std::int64_t wall_ns = 0;  // NTP time as ns since the Unix epoch
  std::uint32_t rtp_time = 0;
};

// The last sender report (PT 200) of an RTCP compound packet whose NTP time
// is after 1970; nullopt if none.
std::optional<SenderReport> parse_sender_report(std::span<const std::uint8_t> rtcp);

enum class AuthScheme { basic, digest };

struct Challenge {
  AuthScheme scheme = AuthScheme::digest;
  std::string realm, nonce, opaque;  // printable ASCII without '"' and '\\'
  bool qop_auth = false;             // digest: qop offers "auth"
};

// One WWW-Authenticate value ("Digest realm=..., nonce=..."). Digest with an
// algorithm other than MD5, or with qop lacking "auth", is an error
// (core/digest.h's parser, shared with the ONVIF snapshot fetch).
Result<Challenge> parse_challenge(std::string_view value);

// The challenge to answer among an answer's WWW-Authenticate headers: Digest
// (MD5) before Basic; error when none is usable.
Result<Challenge> choose_challenge(const Answer& answer);

struct Session {
  std::string id;
  int timeout_s = 60;  // clamped to 4..3600
};

// A Session header value: "id[;timeout=N]".
Result<Session> parse_session(std::string_view value);

struct RtspUrl {
  std::string host, port;  // port "554" when the URL gives none
};

// rtsp://host[:port][/path]; credentials in the URL are refused.
Result<RtspUrl> parse_url(std::string_view url);

}  // namespace zaulek::media::rtsp
