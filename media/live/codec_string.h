// What a browser needs to know about a stream before it sees a byte of it:
// the RFC 6381 codec string (MediaSource.isTypeSupported, addSourceBuffer)
// from the sequence parameter set, and the parameter-set NAL units of an
// access unit. Pure and total: any input gives an answer or nullopt.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "media/codec.h"

namespace zaulek::media::live {

// `sps` is one SPS NAL unit with its header (H.264 type 7, H.265 type 33),
// emulation-prevention bytes included, no start code. H.264:
// "avc1.PPCCLL" (profile_idc, constraint flags, level_idc in hex); H.265:
// "hvc1.<space><profile>.<compat, bit-reversed hex>.<L|H><level>[.<constraint bytes>]"
// (ISO/IEC 14496-15 annex E).
std::optional<std::string> codec_string(Codec codec, std::span<const std::uint8_t> sps);

// The NAL units of a byte-stream access unit (start codes removed), in order.
std::vector<std::span<const std::uint8_t>> nal_units(std::span<const std::uint8_t> au);

// True for a parameter set (H.264 SPS 7, PPS 8; H.265 VPS 32, SPS 33, PPS 34)
// or an access unit delimiter (H.264 9, H.265 35).
bool is_parameter_set_or_aud(Codec codec, std::span<const std::uint8_t> nal);
// True for the SPS.
bool is_sps(Codec codec, std::span<const std::uint8_t> nal);

// What a keyframe says about its stream: its parameter sets (byte-stream,
// AUDs left out), the codec string and picture size from its SPS (0 when the
// SPS does not say). nullopt without an SPS (or one we cannot read).
struct KeyframeInfo {
  std::vector<std::uint8_t> params;
  std::string codec_string;
  int width = 0;
  int height = 0;
};
std::optional<KeyframeInfo> keyframe_info(Codec codec, std::span<const std::uint8_t> au);

}  // namespace zaulek::media::live
