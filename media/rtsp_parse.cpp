#include "media/rtsp_parse.h"

#include <algorithm>

#include "core/text/text.h"

namespace zaulek::media::rtsp {
namespace {

constexpr std::int64_t kNtpToUnixSeconds = 2'208'988'800LL;
constexpr std::uint32_t kMinClockRate = 1'000;
constexpr std::uint32_t kMaxClockRate = 1'000'000;
constexpr std::size_t kMaxParams = 16 * 1024;  // all parameter sets together
constexpr std::size_t kMaxSdpLines = 1'000;
constexpr std::size_t kQuote = 40;  // bytes of the camera's text quoted in an error

Error bad(std::string message) {
  return make_error(ErrorKind::invalid_argument, std::move(message));
}

// RTSP's optional white space: space and tab.
std::string_view trim(std::string_view s) {
  return zaulek::trim(s, " \t");
}

bool istarts_with(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

bool is_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Printable ASCII, safe to copy into a request line or a quoted header value.
bool all_printable(std::string_view s, bool allow_space) {
  return std::all_of(s.begin(), s.end(), [allow_space](char c) {
    return (c > ' ' && c < 127) || (allow_space && c == ' ');
  });
}

// A short, printable rendering of the camera's bytes for an error text.
std::string quote(std::string_view s) {
  return printable(s, kQuote);
}

template <class T>
std::optional<T> number(std::string_view s) {
  T v{};
  if (!is_digits(s) || !parse_number(s, v)) return std::nullopt;
  return v;
}

// Splits text into lines (CRLF or LF), at most `max` of them.
template <class F>
bool for_each_line(std::string_view text, std::size_t max, F&& f) {
  std::size_t n = 0;
  while (!text.empty()) {
    if (++n > max) return false;
    auto e = text.find('\n');
    std::string_view line = text.substr(0, e);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (!f(line)) return true;
    if (e == std::string_view::npos) break;
    text.remove_prefix(e + 1);
  }
  return true;
}

}  // namespace

std::optional<std::string_view> header(const Answer& answer, std::string_view name) {
  for (const auto& h : answer.headers)
    if (iequals(h.name, name)) return std::string_view(h.value);
  return std::nullopt;
}

Result<Answer> parse_head(std::string_view head, std::size_t max_body) {
  if (head.size() > kMaxHead) return bad("RTSP answer head over 16 KiB");
  Answer a;
  bool first = true;
  std::string error;
  bool content_length_seen = false;
  const bool within = for_each_line(head, kMaxHeaders + 1, [&](std::string_view line) {
    if (first) {
      first = false;
      // RTSP/1.0 200 OK
      if (line.size() < 12 || line.substr(0, 5) != "RTSP/" || line[6] != '.' || line[8] != ' ' ||
          line[5] < '0' || line[5] > '9' || line[7] < '0' || line[7] > '9' ||
          (line.size() > 12 && line[12] != ' ')) {
        error = "not an RTSP status line: \"" + quote(line) + "\"";
        return false;
      }
      const auto status = number<int>(line.substr(9, 3));
      if (!status || *status < 100 || *status > 599) {
        error = "bad RTSP status code: \"" + quote(line) + "\"";
        return false;
      }
      a.status = *status;
      a.reason = std::string(trim(line.size() > 12 ? line.substr(13) : std::string_view{}));
      if (!all_printable(a.reason, true)) a.reason = quote(a.reason);
      return true;
    }
    if (line.empty()) return true;                      // a blank line left in by the caller
    if (line.front() == ' ' || line.front() == '\t') {  // folded continuation
      if (a.headers.empty()) {
        error = "RTSP answer starts with a continuation line";
        return false;
      }
      a.headers.back().value += ' ';
      a.headers.back().value += trim(line);
      return true;
    }
    const auto colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) {
      error = "RTSP header line without a name and colon: \"" + quote(line) + "\"";
      return false;
    }
    const std::string_view name = trim(line.substr(0, colon));
    if (name.empty() || !all_printable(name, false)) {
      error = "bad RTSP header name: \"" + quote(line) + "\"";
      return false;
    }
    const std::string_view value = trim(line.substr(colon + 1));
    if (iequals(name, "Content-Length")) {
      const auto n = number<std::uint64_t>(value);
      if (!n) {
        error = "Content-Length is not a number: \"" + quote(value) + "\"";
        return false;
      }
      if (*n > max_body) {
        error = "Content-Length " + std::string(value.substr(0, 20)) + " over the " +
                std::to_string(max_body / 1024) + " KiB limit";
        return false;
      }
      if (content_length_seen && a.content_length != *n) {
        error = "two different Content-Length headers";
        return false;
      }
      content_length_seen = true;
      a.content_length = static_cast<std::size_t>(*n);
    }
    a.headers.push_back({std::string(name), std::string(value)});
    return true;
  });
  if (!within) return bad("RTSP answer with over " + std::to_string(kMaxHeaders) + " headers");
  if (!error.empty()) return bad(std::move(error));
  if (first) return bad("empty RTSP answer");
  return a;
}

Result<Frame> next_frame(std::span<const std::uint8_t> bytes, std::size_t max_head,
                         std::size_t max_body) {
  Frame f;
  if (bytes.empty()) return f;
  if (bytes[0] == '$') {  // interleaved: '$', channel, length (16 bits)
    if (bytes.size() < 4) return f;
    const std::size_t len = (std::size_t{bytes[2]} << 8) | bytes[3];
    if (bytes.size() < 4 + len) return f;
    f.kind = Frame::Kind::interleaved;
    f.channel = bytes[1];
    f.size = 4 + len;
    return f;
  }
  const std::string_view text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  constexpr std::string_view kProto = "RTSP/";
  if (text.substr(0, kProto.size()) != kProto.substr(0, std::min(text.size(), kProto.size())))
    return bad("the camera sent neither an RTSP answer nor interleaved data: \"" + quote(text) +
               "\"");
  // Search only as far as a head may reach: an endless line costs nothing.
  const std::string_view window = text.substr(0, max_head + 4);
  std::size_t blank = window.find("\r\n\r\n"), skip = 4;
  if (const auto lf = window.find("\n\n");
      lf != std::string_view::npos && (blank == std::string_view::npos || lf < blank)) {
    blank = lf;  // bare LF line ends
    skip = 2;
  }
  if (blank == std::string_view::npos) {
    if (text.size() > max_head)
      return bad("RTSP answer head over " + std::to_string(max_head / 1024) + " KiB");
    return f;
  }
  if (blank + skip > max_head)
    return bad("RTSP answer head over " + std::to_string(max_head / 1024) + " KiB");
  auto head = parse_head(text.substr(0, blank), max_body);
  if (!head) return head.error();
  const std::size_t body_at = blank + skip;
  if (text.size() - body_at < head->content_length) return f;
  f.kind = Frame::Kind::answer;
  f.body_at = body_at;
  f.size = body_at + head->content_length;
  f.answer = std::move(*head);
  return f;
}

std::optional<std::vector<std::uint8_t>> decode_base64(std::string_view text,
                                                       std::size_t max_bytes) {
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);
  if (text.size() % 4 == 1 || text.size() > (max_bytes / 3 + 1) * 4) return std::nullopt;
  std::vector<std::uint8_t> out;
  out.reserve(text.size() / 4 * 3 + 2);
  std::uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    int v;
    if (c >= 'A' && c <= 'Z')
      v = c - 'A';
    else if (c >= 'a' && c <= 'z')
      v = c - 'a' + 26;
    else if (c >= '0' && c <= '9')
      v = c - '0' + 52;
    else if (c == '+')
      v = 62;
    else if (c == '/')
      v = 63;
    else
      return std::nullopt;
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<std::uint8_t>(acc >> bits));
      acc &= (1u << bits) - 1;
    }
  }
  if (out.size() > max_bytes) return std::nullopt;
  return out;
}

namespace {

// Value of `key` in an fmtp parameter list ("k=v; k=v"), or empty.
std::string_view fmtp_value(std::string_view fmtp, std::string_view key) {
  while (!fmtp.empty()) {
    auto e = fmtp.find(';');
    std::string_view item = trim(fmtp.substr(0, e));
    const auto eq = item.find('=');
    if (eq != std::string_view::npos && iequals(trim(item.substr(0, eq)), key))
      return trim(item.substr(eq + 1));
    if (e == std::string_view::npos) break;
    fmtp.remove_prefix(e + 1);
  }
  return {};
}

void append_param_sets(std::string_view list, VideoSection& v) {
  while (true) {
    const auto e = list.find(',');
    const std::string_view one = trim(list.substr(0, e));
    if (!one.empty()) {
      auto nal = decode_base64(one);
      if (!nal || nal->empty() || v.params.size() + 4 + nal->size() > kMaxParams) {
        ++v.dropped_param_sets;
      } else {
        v.params.insert(v.params.end(), {0, 0, 0, 1});
        v.params.insert(v.params.end(), nal->begin(), nal->end());
      }
    }
    if (e == std::string_view::npos) break;
    list.remove_prefix(e + 1);
  }
}

Result<std::string> resolve_control(std::string_view control, std::string_view base) {
  control = trim(control);
  if (control.size() > kMaxUrl || !all_printable(control, false))
    return bad("bad control URL in the SDP: \"" + quote(control) + "\"");
  if (base.size() > kMaxUrl || !all_printable(base, false) || !istarts_with(base, "rtsp://"))
    return bad("bad base URL for the SDP: \"" + quote(base) + "\"");
  if (control.empty() || control == "*") return std::string(base);
  if (istarts_with(control, "rtsp://")) return std::string(control);
  if (control.find("://") != std::string_view::npos)
    return bad("control URL is not rtsp://: \"" + quote(control) + "\"");
  std::string out(base);
  if (out.back() != '/' && control.front() != '/') out += '/';
  if (out.back() == '/' && control.front() == '/') control.remove_prefix(1);
  out += control;
  return out;
}

}  // namespace

Result<VideoSection> parse_sdp_video(std::string_view sdp, std::string_view base_url) {
  if (sdp.size() > kMaxBody) return bad("SDP over 64 KiB");
  enum class In { session, video, done } in = In::session;
  std::vector<int> payload_types;
  std::string_view rtpmap, control;
  std::vector<std::string_view> fmtps;  // one per payload type, in order
  std::string error;
  const bool within = for_each_line(sdp, kMaxSdpLines, [&](std::string_view line) {
    if (line.substr(0, 2) == "m=") {
      if (in == In::video) {
        in = In::done;
        return false;
      }
      if (line.substr(0, 8) != "m=video ") return true;
      in = In::video;
      // m=video <port> <proto> <fmt> ...
      std::string_view rest = line.substr(8);
      for (int field = 0; !rest.empty() && payload_types.size() < 32; ++field) {
        const auto sp = rest.find(' ');
        const std::string_view word = rest.substr(0, sp);
        if (field >= 2 && !word.empty()) {
          const auto pt = number<int>(word);
          if (pt && *pt <= 127) payload_types.push_back(*pt);
        }
        if (sp == std::string_view::npos) break;
        rest.remove_prefix(sp + 1);
      }
      if (payload_types.empty()) {
        error = "the SDP's video section has no payload type: \"" + quote(line) + "\"";
        return false;
      }
      return true;
    }
    if (in != In::video) return true;
    auto pt_of = [](std::string_view attr) -> std::optional<int> {
      return number<int>(attr.substr(0, attr.find(' ')));
    };
    if (line.substr(0, 9) == "a=rtpmap:") {
      const std::string_view attr = line.substr(9);
      const auto pt = pt_of(attr);
      // The first rtpmap of a payload type listed in the m= line.
      if (rtpmap.empty() && pt &&
          std::find(payload_types.begin(), payload_types.end(), *pt) != payload_types.end())
        rtpmap = attr;
    } else if (line.substr(0, 7) == "a=fmtp:") {
      if (fmtps.size() < 8) fmtps.push_back(line.substr(7));
    } else if (line.substr(0, 10) == "a=control:") {
      if (control.empty()) control = line.substr(10);
    }
    return true;
  });
  if (!within) return bad("SDP with over " + std::to_string(kMaxSdpLines) + " lines");
  if (!error.empty()) return bad(std::move(error));
  if (in == In::session) return bad("the SDP has no video");
  if (rtpmap.empty()) return bad("the SDP's video section has no rtpmap for its payload type");
  VideoSection v;
  const auto sp = rtpmap.find(' ');
  v.payload_type = *number<int>(rtpmap.substr(0, sp));
  const std::string_view enc =
      sp == std::string_view::npos ? std::string_view{} : rtpmap.substr(sp + 1);
  const auto slash = enc.find('/');
  const std::string_view name = trim(enc.substr(0, slash));
  if (iequals(name, "H264")) {
    v.codec = Codec::h264;
  } else if (iequals(name, "H265")) {
    v.codec = Codec::h265;
  } else {
    return bad("video is neither H.264 nor H.265 (\"" + quote(enc) + "\")");
  }
  if (slash == std::string_view::npos)
    return bad("rtpmap without a clock rate: \"" + quote(enc) + "\"");
  std::string_view rate_text = enc.substr(slash + 1);
  rate_text = trim(rate_text.substr(0, rate_text.find('/')));
  const auto rate = number<std::uint32_t>(rate_text);
  if (!rate || *rate < kMinClockRate || *rate > kMaxClockRate)
    return bad("bad RTP clock rate in rtpmap: \"" + quote(enc) + "\"");
  v.clock_rate = *rate;
  // fmtp of the chosen payload type only.
  for (const std::string_view fmtp : fmtps) {
    const auto space = fmtp.find(' ');
    if (number<int>(fmtp.substr(0, space)) != v.payload_type) continue;
    const auto params =
        space == std::string_view::npos ? std::string_view{} : fmtp.substr(space + 1);
    if (v.codec == Codec::h264) {
      append_param_sets(fmtp_value(params, "sprop-parameter-sets"), v);
    } else {
      for (const char* k : {"sprop-vps", "sprop-sps", "sprop-pps"})
        append_param_sets(fmtp_value(params, k), v);
    }
    break;
  }
  auto url = resolve_control(control, base_url);
  if (!url) return url.error();
  v.control_url = std::move(*url);
  return v;
}

std::optional<SenderReport> parse_sender_report(std::span<const std::uint8_t> p) {
  std::optional<SenderReport> out;
  std::size_t o = 0;
  const std::size_t n = p.size();
  while (o + 4 <= n) {
    const std::size_t len = 4 * ((std::size_t{p[o + 2]} << 8 | p[o + 3]) + 1);
    if ((p[o] >> 6) != 2 || len > n - o) break;
    if (p[o + 1] == 200 && len >= 28) {
      auto u32 = [&](std::size_t at) {
        return (std::uint32_t{p[o + at]} << 24) | (std::uint32_t{p[o + at + 1]} << 16) |
               (std::uint32_t{p[o + at + 2]} << 8) | p[o + at + 3];
      };
      const std::int64_t secs = static_cast<std::int64_t>(u32(8)) - kNtpToUnixSeconds;
      if (secs > 0) {
        // secs < 2^32: secs * 1e9 stays well inside int64.
        out = SenderReport{
            secs * 1'000'000'000LL +
                static_cast<std::int64_t>((std::uint64_t{u32(12)} * 1'000'000'000ULL) >> 32),
            u32(16)};
      }
    }
    o += len;
  }
  return out;
}

Result<Challenge> parse_challenge(std::string_view value) {
  auto p = digest::parse_challenge(value);
  if (!p) return p.error();
  Challenge c;
  c.scheme = p->scheme == digest::Scheme::basic ? AuthScheme::basic : AuthScheme::digest;
  c.realm = std::move(p->challenge.realm);
  c.nonce = std::move(p->challenge.nonce);
  c.opaque = std::move(p->challenge.opaque);
  c.qop_auth = p->challenge.qop_auth;
  return c;
}

Result<Challenge> choose_challenge(const Answer& answer) {
  std::optional<Challenge> basic;
  std::optional<Error> first_error;
  int seen = 0;
  for (const auto& h : answer.headers) {
    if (!iequals(h.name, "WWW-Authenticate") || ++seen > 8) continue;
    auto c = parse_challenge(h.value);
    if (!c) {
      if (!first_error) first_error = c.error();
      continue;
    }
    if (c->scheme == AuthScheme::digest) return c;
    if (!basic) basic = std::move(*c);
  }
  if (basic) return *basic;
  if (first_error) return *first_error;
  return bad("401 without a WWW-Authenticate challenge");
}

Result<Session> parse_session(std::string_view value) {
  value = trim(value);
  const auto semi = value.find(';');
  Session s;
  s.id = std::string(trim(value.substr(0, semi)));
  if (s.id.empty() || s.id.size() > 256 || !all_printable(s.id, false))
    return bad("SETUP answer without a usable Session");
  std::string_view rest =
      semi == std::string_view::npos ? std::string_view{} : value.substr(semi + 1);
  for (int i = 0; i < 8 && !rest.empty(); ++i) {
    const auto next = rest.find(';');
    const std::string_view item = trim(rest.substr(0, next));
    if (istarts_with(item, "timeout=")) {
      const auto t = number<std::uint32_t>(trim(item.substr(8)).substr(0, 9));
      if (t) s.timeout_s = static_cast<int>(std::clamp<std::uint32_t>(*t, 4, 3600));
    }
    if (next == std::string_view::npos) break;
    rest.remove_prefix(next + 1);
  }
  return s;
}

Result<RtspUrl> parse_url(std::string_view u) {
  if (u.size() > kMaxUrl || !istarts_with(u, "rtsp://")) return bad("not an rtsp:// URL");
  if (!all_printable(u, false)) return bad("bad characters in the URL");
  u.remove_prefix(7);
  const std::string_view hostport = u.substr(0, u.find('/'));
  if (hostport.find('@') != std::string_view::npos)
    return bad("credentials in the URL (give them separately)");
  RtspUrl r;
  r.port = "554";
  std::optional<std::string_view> port;
  if (!hostport.empty() && hostport.front() == '[') {  // [v6]:port
    const auto close = hostport.find(']');
    if (close == std::string_view::npos) return bad("bad IPv6 address in the URL");
    r.host = std::string(hostport.substr(1, close - 1));
    if (close + 1 < hostport.size()) {
      if (hostport[close + 1] != ':') return bad("bad IPv6 address in the URL");
      port = hostport.substr(close + 2);
    }
  } else {
    const auto colon = hostport.rfind(':');
    r.host = std::string(hostport.substr(0, colon));
    if (colon != std::string_view::npos) port = hostport.substr(colon + 1);
  }
  if (r.host.empty()) return bad("no host in the URL");
  if (port) {
    const auto p = number<unsigned>(port->substr(0, 6));
    if (!p || port->size() > 5 || *p == 0 || *p > 65535) return bad("bad port in the URL");
    r.port = std::string(*port);
  }
  return r;
}

}  // namespace zaulek::media::rtsp
