#include "media/ts.h"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <string_view>

namespace zaulek::media::ts {
namespace {

constexpr std::uint8_t kStreamTypeH264 = 0x1B;
constexpr std::uint8_t kStreamTypeH265 = 0x24;
constexpr std::uint64_t kPcrMargin = kClock / 10;  // PCR runs 100 ms ahead of DTS

void put_header(std::uint8_t* p, std::uint16_t pid, bool pusi, bool adaptation, bool payload,
                std::uint8_t& cc) {
  p[0] = 0x47;
  p[1] = static_cast<std::uint8_t>((pusi ? 0x40 : 0) | ((pid >> 8) & 0x1F));
  p[2] = static_cast<std::uint8_t>(pid & 0xFF);
  p[3] = static_cast<std::uint8_t>((adaptation ? 0x20 : 0) | (payload ? 0x10 : 0) | (cc & 0x0F));
  if (payload) cc = static_cast<std::uint8_t>((cc + 1) & 0x0F);
}

void put_timestamp(std::uint8_t* p, std::uint8_t prefix, std::uint64_t ts) {
  ts &= (1ULL << 33) - 1;
  p[0] = static_cast<std::uint8_t>((prefix << 4) | (((ts >> 30) & 0x07) << 1) | 1);
  p[1] = static_cast<std::uint8_t>((ts >> 22) & 0xFF);
  p[2] = static_cast<std::uint8_t>((((ts >> 15) & 0x7F) << 1) | 1);
  p[3] = static_cast<std::uint8_t>((ts >> 7) & 0xFF);
  p[4] = static_cast<std::uint8_t>(((ts & 0x7F) << 1) | 1);
}

std::uint64_t read_timestamp(const std::uint8_t* p) {
  return (static_cast<std::uint64_t>((p[0] >> 1) & 0x07) << 30) |
         (static_cast<std::uint64_t>(p[1]) << 22) | (static_cast<std::uint64_t>(p[2] >> 1) << 15) |
         (static_cast<std::uint64_t>(p[3]) << 7) | static_cast<std::uint64_t>(p[4] >> 1);
}

// Writes one packet of `pid` carrying up to 184 bytes from data (fewer when an
// adaptation field is needed); returns how many bytes it consumed.
std::size_t put_packet(std::vector<std::uint8_t>& out, std::uint16_t pid, bool pusi,
                       std::uint8_t& cc, const std::uint8_t* data, std::size_t size, bool pcr,
                       std::uint64_t pcr_base, bool random_access) {
  const std::size_t needed = pcr ? 8 : (random_access ? 2 : 0);
  const std::size_t n = std::min(size, 184 - needed);
  const std::size_t af = 184 - n;  // adaptation field bytes, length byte included
  const std::size_t at = out.size();
  out.resize(at + kPacketSize);
  std::uint8_t* p = out.data() + at;
  put_header(p, pid, pusi, af > 0, n > 0, cc);
  std::uint8_t* q = p + 4;
  if (af > 0) {
    q[0] = static_cast<std::uint8_t>(af - 1);
    if (af >= 2) {
      q[1] = static_cast<std::uint8_t>((random_access ? 0x40 : 0) | (pcr ? 0x10 : 0));
      std::size_t used = 2;
      if (pcr) {
        q[2] = static_cast<std::uint8_t>(pcr_base >> 25);
        q[3] = static_cast<std::uint8_t>(pcr_base >> 17);
        q[4] = static_cast<std::uint8_t>(pcr_base >> 9);
        q[5] = static_cast<std::uint8_t>(pcr_base >> 1);
        q[6] = static_cast<std::uint8_t>(((pcr_base & 1) << 7) | 0x7E);
        q[7] = 0;
        used = 8;
      }
      std::memset(q + used, 0xFF, af - used);
    }
    q += af;
  }
  if (n > 0) std::memcpy(q, data, n);
  return n;
}

void put_section(std::vector<std::uint8_t>& out, std::uint16_t pid, std::uint8_t& cc,
                 const std::vector<std::uint8_t>& section) {
  const std::size_t at = out.size();
  out.resize(at + kPacketSize, 0xFF);
  std::uint8_t* p = out.data() + at;
  put_header(p, pid, true, false, true, cc);
  p[4] = 0;  // pointer field
  std::memcpy(p + 5, section.data(), std::min<std::size_t>(section.size(), kPacketSize - 5));
}

void finish_section(std::vector<std::uint8_t>& s) {
  const std::size_t length = s.size() - 3 + 4;  // after the length field, CRC included
  s[1] = static_cast<std::uint8_t>(0xB0 | ((length >> 8) & 0x0F));
  s[2] = static_cast<std::uint8_t>(length & 0xFF);
  const std::uint32_t crc = crc32_mpeg(s.data(), s.size());
  for (int shift = 24; shift >= 0; shift -= 8) s.push_back(static_cast<std::uint8_t>(crc >> shift));
}

bool starts_with_aud(std::span<const std::uint8_t> au, Codec codec) {
  std::size_t i = 0;
  if (au.size() >= 4 && au[0] == 0 && au[1] == 0 && au[2] == 0 && au[3] == 1) {
    i = 4;
  } else if (au.size() >= 3 && au[0] == 0 && au[1] == 0 && au[2] == 1) {
    i = 3;
  } else {
    return false;
  }
  if (i >= au.size()) return false;
  if (codec == Codec::h264) return (au[i] & 0x1F) == 9;
  return ((au[i] >> 1) & 0x3F) == 35;
}

std::string meta_text(const StreamMeta& m) {
  return "v1 start_ns=" + std::to_string(m.start_ns) + " w=" + std::to_string(m.width) +
         " h=" + std::to_string(m.height);
}

bool parse_meta_text(std::string_view text, StreamMeta& m) {
  if (text.substr(0, 3) != "v1 ") return false;
  bool start = false;
  while (!text.empty()) {
    const auto space = text.find(' ');
    const std::string_view word = text.substr(0, space);
    text = space == std::string_view::npos ? std::string_view{} : text.substr(space + 1);
    const auto eq = word.find('=');
    if (eq == std::string_view::npos) continue;
    const std::string_view key = word.substr(0, eq);
    const std::string_view val = word.substr(eq + 1);
    if (key == "start_ns") {
      start = std::from_chars(val.data(), val.data() + val.size(), m.start_ns).ec == std::errc{};
    } else if (key == "w") {
      std::from_chars(val.data(), val.data() + val.size(), m.width);
    } else if (key == "h") {
      std::from_chars(val.data(), val.data() + val.size(), m.height);
    }
  }
  return start;
}

}  // namespace

std::uint32_t crc32_mpeg(const std::uint8_t* data, std::size_t size) {
  std::uint32_t crc = 0xFFFFFFFF;
  for (std::size_t i = 0; i < size; ++i) {
    crc ^= static_cast<std::uint32_t>(data[i]) << 24;
    for (int b = 0; b < 8; ++b) crc = (crc & 0x80000000) ? (crc << 1) ^ 0x04C11DB7 : crc << 1;
  }
  return crc;
}

void Muxer::write_tables(std::vector<std::uint8_t>& out) {
  std::vector<std::uint8_t> pat = {0x00,
                                   0,
                                   0,
                                   0x00,
                                   0x01,
                                   0xC1,
                                   0x00,
                                   0x00,
                                   0x00,
                                   0x01,
                                   static_cast<std::uint8_t>(0xE0 | (kPmtPid >> 8)),
                                   static_cast<std::uint8_t>(kPmtPid & 0xFF)};
  finish_section(pat);
  put_section(out, 0, cc_pat_, pat);

  const std::string text = meta_text(meta_);  // bounded: digits only, well under 100 bytes
  std::vector<std::uint8_t> desc = {0x05, static_cast<std::uint8_t>(4 + text.size()), 'Z', 'A', 'U',
                                    'L'};
  for (const char c : text) desc.push_back(static_cast<std::uint8_t>(c));
  std::vector<std::uint8_t> pmt = {0x02,
                                   0,
                                   0,
                                   0x00,
                                   0x01,
                                   0xC1,
                                   0x00,
                                   0x00,
                                   static_cast<std::uint8_t>(0xE0 | (kVideoPid >> 8)),
                                   static_cast<std::uint8_t>(kVideoPid & 0xFF),
                                   static_cast<std::uint8_t>(0xF0 | (desc.size() >> 8)),
                                   static_cast<std::uint8_t>(desc.size() & 0xFF)};
  for (const std::uint8_t b : desc) pmt.push_back(b);  // (insert trips GCC 12's -Warray-bounds)
  pmt.push_back(meta_.codec == Codec::h264 ? kStreamTypeH264 : kStreamTypeH265);
  pmt.push_back(static_cast<std::uint8_t>(0xE0 | (kVideoPid >> 8)));
  pmt.push_back(static_cast<std::uint8_t>(kVideoPid & 0xFF));
  pmt.push_back(0xF0);
  pmt.push_back(0x00);
  finish_section(pmt);
  put_section(out, kPmtPid, cc_pmt_, pmt);
}

void Muxer::write_frame(std::vector<std::uint8_t>& out, std::span<const std::uint8_t> au,
                        std::uint64_t pts90, std::uint64_t dts90, bool keyframe) {
  if (keyframe) write_tables(out);
  // 19 bytes of PES header with PTS and DTS, then up to 7 of delimiter.
  std::uint8_t pes[32] = {0x00, 0x00, 0x01, 0xE0, 0x00, 0x00, 0x80};
  std::size_t pes_size = 9;
  if (pts90 != dts90) {
    pes[7] = 0xC0;
    pes[8] = 10;
    put_timestamp(pes + 9, 0x3, pts90);
    put_timestamp(pes + 14, 0x1, dts90);
    pes_size = 19;
  } else {
    pes[7] = 0x80;
    pes[8] = 5;
    put_timestamp(pes + 9, 0x2, pts90);
    pes_size = 14;
  }
  if (!starts_with_aud(au, meta_.codec)) {
    static constexpr std::uint8_t kAud264[] = {0, 0, 0, 1, 0x09, 0xF0};
    static constexpr std::uint8_t kAud265[] = {0, 0, 0, 1, 0x46, 0x01, 0x50};
    const auto& aud = meta_.codec == Codec::h264 ? std::span<const std::uint8_t>(kAud264)
                                                 : std::span<const std::uint8_t>(kAud265);
    std::memcpy(pes + pes_size, aud.data(), aud.size());
    pes_size += aud.size();
  }
  // First packet: PES header (+AUD) and the start of the unit, PCR always
  // (frames are at most a few tens of ms apart, so PCR stays well under 100 ms).
  const std::uint64_t pcr = dts90 >= kPcrMargin ? dts90 - kPcrMargin : 0;
  std::uint8_t first[184];
  std::memcpy(first, pes, pes_size);
  const std::size_t room = 184 - 8 - pes_size;
  const std::size_t head = std::min(room, au.size());
  std::memcpy(first + pes_size, au.data(), head);
  put_packet(out, kVideoPid, true, cc_video_, first, pes_size + head, true, pcr, keyframe);
  std::size_t at = head;
  while (at < au.size()) {
    at += put_packet(out, kVideoPid, false, cc_video_, au.data() + at, au.size() - at, false, 0,
                     false);
  }
}

namespace {

struct Nal {
  std::size_t start;    // first byte of the start code
  std::size_t payload;  // first byte after the start code
  std::size_t end;      // one past the last byte
};

std::vector<Nal> split_nals(std::span<const std::uint8_t> au) {
  std::vector<Nal> nals;
  std::size_t i = 0;
  const std::size_t n = au.size();
  while (i + 3 <= n) {
    const auto* p = static_cast<const std::uint8_t*>(std::memchr(au.data() + i, 1, n - i));
    if (!p) break;
    const std::size_t one = static_cast<std::size_t>(p - au.data());
    if (one >= 2 && au[one - 1] == 0 && au[one - 2] == 0) {
      const std::size_t start = (one >= 3 && au[one - 3] == 0) ? one - 3 : one - 2;
      if (!nals.empty()) nals.back().end = start;
      nals.push_back({start, one + 1, n});
    }
    i = one + 1;
  }
  return nals;
}

}  // namespace

std::span<const std::uint8_t> ParamSets::fix(std::span<const std::uint8_t> au, Codec codec,
                                             std::vector<std::uint8_t>& scratch) {
  const auto nals = split_nals(au);
  std::vector<std::uint8_t> found;
  std::size_t insert_at = 0;
  bool first = true;
  for (const Nal& nal : nals) {
    if (nal.payload >= nal.end) continue;
    const std::uint8_t h = au[nal.payload];
    const int type = codec == Codec::h264 ? (h & 0x1F) : ((h >> 1) & 0x3F);
    const bool aud = codec == Codec::h264 ? type == 9 : type == 35;
    const bool param = codec == Codec::h264 ? (type == 7 || type == 8) : (type >= 32 && type <= 34);
    if (first && aud) insert_at = nal.end;
    first = false;
    if (param)
      found.insert(found.end(), au.begin() + static_cast<std::ptrdiff_t>(nal.start),
                   au.begin() + static_cast<std::ptrdiff_t>(nal.end));
  }
  if (!found.empty()) {
    params_ = std::move(found);
    return au;
  }
  if (params_.empty()) return au;
  scratch.clear();
  scratch.reserve(au.size() + params_.size());
  scratch.insert(scratch.end(), au.begin(), au.begin() + static_cast<std::ptrdiff_t>(insert_at));
  scratch.insert(scratch.end(), params_.begin(), params_.end());
  scratch.insert(scratch.end(), au.begin() + static_cast<std::ptrdiff_t>(insert_at), au.end());
  return scratch;
}

bool to_byte_stream(std::span<const std::uint8_t> in, int length_size, Codec codec,
                    std::vector<std::uint8_t>& out) {
  if (length_size < 1 || length_size > 4) return false;
  const std::size_t ls = static_cast<std::size_t>(length_size);
  std::size_t i = 0;
  while (i < in.size()) {
    if (in.size() - i < ls) return false;
    std::size_t len = 0;
    for (std::size_t k = 0; k < ls; ++k) len = (len << 8) | in[i + k];
    i += ls;
    if (len > in.size() - i) return false;
    if (len > 0) {
      const int type = codec == Codec::h264 ? (in[i] & 0x1F) : ((in[i] >> 1) & 0x3F);
      if (type == (codec == Codec::h264 ? 9 : 35)) {
        i += len;
        continue;
      }
    }
    static constexpr std::uint8_t kStart[] = {0, 0, 0, 1};
    out.insert(out.end(), std::begin(kStart), std::end(kStart));
    out.insert(out.end(), in.begin() + static_cast<std::ptrdiff_t>(i),
               in.begin() + static_cast<std::ptrdiff_t>(i + len));
    i += len;
  }
  return true;
}

namespace {

// Appends `count` 2-byte-length-prefixed NAL units from cd at i as byte-stream.
bool copy_nals(std::span<const std::uint8_t> cd, std::size_t& i, std::size_t count,
               std::vector<std::uint8_t>& params) {
  for (std::size_t n = 0; n < count; ++n) {
    if (cd.size() - i < 2) return false;
    const std::size_t len = static_cast<std::size_t>((cd[i] << 8) | cd[i + 1]);
    i += 2;
    if (len > cd.size() - i) return false;
    static constexpr std::uint8_t kStart[] = {0, 0, 0, 1};
    params.insert(params.end(), std::begin(kStart), std::end(kStart));
    params.insert(params.end(), cd.begin() + static_cast<std::ptrdiff_t>(i),
                  cd.begin() + static_cast<std::ptrdiff_t>(i + len));
    i += len;
  }
  return true;
}

}  // namespace

bool parse_codec_data(std::span<const std::uint8_t> cd, Codec codec,
                      std::vector<std::uint8_t>& params, int& length_size) {
  params.clear();
  if (codec == Codec::h264) {
    if (cd.size() < 7 || cd[0] != 1) return false;
    length_size = (cd[4] & 0x03) + 1;
    std::size_t i = 6;
    if (!copy_nals(cd, i, cd[5] & 0x1F, params)) return false;
    if (i >= cd.size()) return false;
    const std::size_t pps = cd[i++];
    return copy_nals(cd, i, pps, params);
  }
  if (cd.size() < 23) return false;
  length_size = (cd[21] & 0x03) + 1;
  const std::size_t arrays = cd[22];
  std::size_t i = 23;
  for (std::size_t a = 0; a < arrays; ++a) {
    if (cd.size() - i < 3) return false;
    const std::size_t count = static_cast<std::size_t>((cd[i + 1] << 8) | cd[i + 2]);
    i += 3;
    if (!copy_nals(cd, i, count, params)) return false;
  }
  return true;
}

void parse_pmt(std::span<const std::uint8_t> payload, StreamMeta& meta, bool& has_meta,
               bool& codec_known) {
  const std::uint8_t* q = payload.data();
  const std::size_t n = payload.size();
  if (n < 1) return;
  const std::size_t ptr = q[0];
  if (1 + ptr + 12 > n) return;
  const std::uint8_t* s = q + 1 + ptr;
  const std::size_t limit = n - 1 - ptr;
  if (s[0] != 0x02) return;
  const std::size_t info_len = static_cast<std::size_t>(((s[10] & 0x0F) << 8) | s[11]);
  if (12 + info_len + 5 > limit) return;
  for (std::size_t d = 12; d + 2 <= 12 + info_len;) {
    const std::uint8_t tag = s[d];
    const std::size_t len = s[d + 1];
    if (d + 2 + len > 12 + info_len) break;
    if (tag == 0x05 && len > 4 && std::memcmp(s + d + 2, "ZAUL", 4) == 0) {
      const std::string_view text(reinterpret_cast<const char*>(s + d + 6), len - 4);
      has_meta = parse_meta_text(text, meta);
    }
    d += 2 + len;
  }
  const std::uint8_t stream_type = s[12 + info_len];
  if (stream_type == kStreamTypeH264 || stream_type == kStreamTypeH265) {
    meta.codec = stream_type == kStreamTypeH264 ? Codec::h264 : Codec::h265;
    codec_known = true;
  }
}

std::uint64_t read_pes_timestamp(const std::uint8_t* p) {
  return read_timestamp(p);
}

bool Scanner::feed(std::span<const std::uint8_t> data) {
  if (bad_) return false;
  std::size_t i = 0;
  if (!carry_.empty()) {
    const std::size_t take = std::min(kPacketSize - carry_.size(), data.size());
    carry_.insert(carry_.end(), data.begin(), data.begin() + static_cast<std::ptrdiff_t>(take));
    i = take;
    if (carry_.size() < kPacketSize) return true;
    packet(carry_.data());
    carry_.clear();
    if (bad_) return false;
  }
  for (; i + kPacketSize <= data.size(); i += kPacketSize) {
    packet(data.data() + i);
    if (bad_) return false;
  }
  carry_.assign(data.begin() + static_cast<std::ptrdiff_t>(i), data.end());
  return true;
}

void Scanner::packet(const std::uint8_t* p) {
  if (p[0] != 0x47) {
    bad_ = true;
    return;
  }
  const bool pusi = (p[1] & 0x40) != 0;
  const std::uint16_t pid = static_cast<std::uint16_t>(((p[1] & 0x1F) << 8) | p[2]);
  const int afc = (p[3] >> 4) & 0x03;
  std::size_t at = 4;
  bool random_access = false;
  if (afc & 0x2) {
    const std::size_t len = p[4];
    if (len > 183) {
      bad_ = true;
      return;
    }
    if (len >= 1) random_access = (p[5] & 0x40) != 0;
    at = 5 + len;
  }
  scan_.good_bytes += kPacketSize;
  if (!(afc & 0x1) || !pusi || at >= kPacketSize) return;
  const std::uint8_t* q = p + at;
  const std::size_t n = kPacketSize - at;
  if (pid == kVideoPid) {
    if (n < 14 || q[0] != 0 || q[1] != 0 || q[2] != 1) return;
    const int flags = q[7] >> 6;
    if (flags == 0 || n < (flags == 3 ? 19u : 14u)) return;
    const std::uint64_t pts = read_timestamp(q + 9);
    const std::uint64_t dts = flags == 3 ? read_timestamp(q + 14) : pts;
    if (scan_.frames == 0) {
      scan_.first_dts = dts;
      scan_.first_pts = scan_.min_pts = scan_.max_pts = pts;
    }
    scan_.last_dts = dts;
    scan_.min_pts = std::min(scan_.min_pts, pts);
    scan_.max_pts = std::max(scan_.max_pts, pts);
    ++scan_.frames;
    if (random_access) ++scan_.keyframes;
  } else if (pid == kPmtPid && !scan_.has_meta) {
    parse_pmt({q, n}, scan_.meta, scan_.has_meta, scan_.codec_known);
  }
}

}  // namespace zaulek::media::ts
