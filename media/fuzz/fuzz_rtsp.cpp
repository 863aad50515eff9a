// libFuzzer target: what an RTSP camera sends on the connection
// (media/rtsp_parse.h): the input is read as a stream of frames the way
// media/rtsp_client.cpp reads it, each answer's challenge and Session header
// are parsed, and the whole input is also tried as one WWW-Authenticate
// value, Session value and URL.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "media/rtsp_parse.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace zaulek::media::rtsp;
  std::span<const std::uint8_t> rest(data, size);
  for (int frames = 0; frames < 1000 && !rest.empty(); ++frames) {
    auto f = next_frame(rest);
    if (!f || f->kind == Frame::Kind::need_more) break;
    if (f->size == 0 || f->size > rest.size()) __builtin_trap();
    if (f->kind == Frame::Kind::answer) {
      const Answer& a = f->answer;
      if (a.status < 100 || a.status > 599 || a.content_length > kMaxBody ||
          f->body_at + a.content_length != f->size)
        __builtin_trap();
      (void)choose_challenge(a);
      if (auto s = header(a, "Session")) {
        if (auto session = parse_session(*s); session && session->id.empty()) __builtin_trap();
      }
    }
    rest = rest.subspan(f->size);
  }
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  if (auto c = parse_challenge(text); c && c->scheme == AuthScheme::digest && c->nonce.empty())
    __builtin_trap();
  (void)parse_session(text);
  (void)parse_url(text);
  (void)parse_head(text);
  return 0;
}
