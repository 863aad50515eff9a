#include "media/live/codec_string.h"

#include <fmt/format.h>

#include "media/sps.h"

namespace zaulek::media::live {
namespace {

// The first `limit` bytes of a NAL unit's payload with emulation-prevention
// bytes (00 00 03) removed.
std::vector<std::uint8_t> unescape(std::span<const std::uint8_t> nal, std::size_t limit) {
  std::vector<std::uint8_t> out;
  int zeros = 0;
  for (std::size_t i = 0; i < nal.size() && out.size() < limit; ++i) {
    if (zeros >= 2 && nal[i] == 3) {
      zeros = 0;
      continue;
    }
    zeros = nal[i] == 0 ? zeros + 1 : 0;
    out.push_back(nal[i]);
  }
  return out;
}

std::uint32_t reverse_bits(std::uint32_t v) {
  std::uint32_t r = 0;
  for (int i = 0; i < 32; ++i) r |= ((v >> i) & 1u) << (31 - i);
  return r;
}

}  // namespace

std::optional<std::string> codec_string(Codec codec, std::span<const std::uint8_t> sps) {
  if (!is_sps(codec, sps)) return std::nullopt;
  if (codec == Codec::h264) {
    const auto b = unescape(sps, 4);
    if (b.size() < 4) return std::nullopt;
    return fmt::format("avc1.{:02x}{:02x}{:02x}", b[1], b[2], b[3]);
  }
  // H.265: 2-byte NAL header, then vps_id(4) max_sub_layers(3) nesting(1),
  // then profile_tier_level: space(2) tier(1) profile(5), 32 compatibility
  // flags, 48 bits of constraint flags, level_idc.
  const auto b = unescape(sps, 15);
  if (b.size() < 15) return std::nullopt;
  const int space = b[3] >> 6;
  const bool tier = (b[3] >> 5) & 1;
  const int profile = b[3] & 0x1f;
  const std::uint32_t compat =
      (std::uint32_t{b[4]} << 24) | (std::uint32_t{b[5]} << 16) | (std::uint32_t{b[6]} << 8) | b[7];
  std::string s = "hvc1.";
  if (space > 0) s += static_cast<char>('A' + space - 1);
  s += fmt::format("{}.{:x}.{}{}", profile, reverse_bits(compat), tier ? 'H' : 'L', b[14]);
  // Constraint bytes, trailing zero bytes left out.
  int last = 13;
  while (last >= 8 && b[static_cast<std::size_t>(last)] == 0) --last;
  for (int i = 8; i <= last; ++i) s += fmt::format(".{:X}", b[static_cast<std::size_t>(i)]);
  return s;
}

std::vector<std::span<const std::uint8_t>> nal_units(std::span<const std::uint8_t> au) {
  std::vector<std::span<const std::uint8_t>> out;
  std::size_t i = 0;
  std::size_t start = std::string::npos;
  while (i + 2 < au.size()) {
    if (au[i] == 0 && au[i + 1] == 0 && au[i + 2] == 1) {
      if (start != std::string::npos) {
        std::size_t end = i;
        while (end > start && au[end - 1] == 0) --end;  // a 4-byte start code's zero
        if (end > start) out.push_back(au.subspan(start, end - start));
      }
      i += 3;
      start = i;
      continue;
    }
    ++i;
  }
  if (start != std::string::npos && start < au.size())
    out.push_back(au.subspan(start, au.size() - start));
  return out;
}

bool is_parameter_set_or_aud(Codec codec, std::span<const std::uint8_t> nal) {
  if (nal.empty()) return false;
  if (codec == Codec::h264) {
    const int t = nal[0] & 0x1f;
    return t == 7 || t == 8 || t == 9;
  }
  const int t = (nal[0] >> 1) & 0x3f;
  return t >= 32 && t <= 35;
}

bool is_sps(Codec codec, std::span<const std::uint8_t> nal) {
  if (nal.empty()) return false;
  return codec == Codec::h264 ? (nal[0] & 0x1f) == 7 : ((nal[0] >> 1) & 0x3f) == 33;
}

std::optional<KeyframeInfo> keyframe_info(Codec codec, std::span<const std::uint8_t> au) {
  KeyframeInfo k;
  bool sps_seen = false;
  for (auto nal : nal_units(au)) {
    if (!is_parameter_set_or_aud(codec, nal)) continue;
    const int type = codec == Codec::h264 ? (nal[0] & 0x1f) : ((nal[0] >> 1) & 0x3f);
    if (type == 9 && codec == Codec::h264) continue;  // AUD
    if (type == 35 && codec == Codec::h265) continue;
    static constexpr std::uint8_t kStart[] = {0, 0, 0, 1};
    k.params.insert(k.params.end(), std::begin(kStart), std::end(kStart));
    k.params.insert(k.params.end(), nal.begin(), nal.end());
    if (is_sps(codec, nal) && !sps_seen) {
      auto s = codec_string(codec, nal);
      if (!s) return std::nullopt;
      k.codec_string = *s;
      if (auto size = sps_picture_size(codec, nal)) {
        k.width = size->width;
        k.height = size->height;
      }
      sps_seen = true;
    }
  }
  if (!sps_seen) return std::nullopt;
  return k;
}

}  // namespace zaulek::media::live
