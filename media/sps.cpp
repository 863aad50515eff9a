#include "media/sps.h"

#include <vector>

namespace zaulek::media {
namespace {

constexpr std::size_t kMaxSpsBytes = 4096;  // real ones are under 100
constexpr int kMaxDimension = 16384;

// Reads the RBSP (emulation-prevention bytes removed); every read past the
// end sets `failed` and returns 0, so parsing ends in nullopt, never UB.
class Bits {
 public:
  explicit Bits(std::span<const std::uint8_t> nal, std::size_t header) {
    int zeros = 0;
    for (std::size_t i = header; i < nal.size() && rbsp_.size() < kMaxSpsBytes; ++i) {
      if (zeros >= 2 && nal[i] == 3) {
        zeros = 0;
        continue;
      }
      zeros = nal[i] == 0 ? zeros + 1 : 0;
      rbsp_.push_back(nal[i]);
    }
  }
  std::uint32_t u(int n) {
    std::uint32_t v = 0;
    for (int i = 0; i < n; ++i) v = (v << 1) | bit();
    return v;
  }
  void skip(int n) {
    pos_ += static_cast<std::size_t>(n);
    if (pos_ > rbsp_.size() * 8) failed = true;
  }
  std::uint32_t ue() {
    int zeros = 0;
    while (bit() == 0) {
      if (failed || ++zeros > 31) {
        failed = true;
        return 0;
      }
    }
    return ((1u << zeros) - 1) + u(zeros);
  }
  // ue() within [0, max] (the range the standard allows), else a failure.
  std::uint32_t ue(std::uint32_t max) {
    const std::uint32_t v = ue();
    if (v > max) failed = true;
    return failed ? 0 : v;
  }
  std::int32_t se() {
    const std::uint32_t k = ue();
    return (k & 1) != 0 ? static_cast<std::int32_t>((k + 1) / 2)
                        : -static_cast<std::int32_t>(k / 2);
  }
  bool failed = false;

 private:
  std::uint32_t bit() {
    if (pos_ >= rbsp_.size() * 8) {
      failed = true;
      return 0;
    }
    const std::uint32_t b = (rbsp_[pos_ / 8] >> (7 - pos_ % 8)) & 1;
    ++pos_;
    return b;
  }
  std::vector<std::uint8_t> rbsp_;
  std::size_t pos_ = 0;
};

std::optional<PictureSize> checked(Bits& b, long long w, long long h) {
  if (b.failed || w <= 0 || h <= 0 || w > kMaxDimension || h > kMaxDimension) return std::nullopt;
  return PictureSize{static_cast<int>(w), static_cast<int>(h)};
}

// Chroma subsampling factors (SubWidthC, SubHeightC) for cropping units.
void chroma_units(std::uint32_t chroma_format_idc, bool separate_planes, int& sub_w, int& sub_h) {
  sub_w = sub_h = 1;
  if (separate_planes) return;
  if (chroma_format_idc == 1 || chroma_format_idc == 2) sub_w = 2;
  if (chroma_format_idc == 1) sub_h = 2;
}

std::optional<PictureSize> h264(std::span<const std::uint8_t> nal) {
  if (nal.empty() || (nal[0] & 0x1f) != 7) return std::nullopt;
  Bits b(nal, 1);
  const std::uint32_t profile = b.u(8);
  b.skip(16);  // constraint flags, level
  b.ue(31);    // seq_parameter_set_id
  std::uint32_t chroma = 1;
  bool separate = false;
  switch (profile) {
    case 100:
    case 110:
    case 122:
    case 244:
    case 44:
    case 83:
    case 86:
    case 118:
    case 128:
    case 138:
    case 139:
    case 134:
    case 135: {
      chroma = b.ue();
      if (chroma > 3) return std::nullopt;
      if (chroma == 3) separate = b.u(1) != 0;
      b.ue(6);  // bit_depth_luma_minus8
      b.ue(6);  // bit_depth_chroma_minus8
      b.skip(1);
      if (b.u(1) != 0) {  // seq_scaling_matrix_present_flag
        const int lists = chroma != 3 ? 8 : 12;
        for (int i = 0; i < lists && !b.failed; ++i) {
          if (b.u(1) == 0) continue;
          const int size = i < 6 ? 16 : 64;
          int last = 8, next = 8;
          for (int j = 0; j < size && !b.failed; ++j) {
            if (next != 0) {
              const std::int32_t delta = b.se();  // delta_scale: -128..127
              if (delta < -128 || delta > 127) return std::nullopt;
              next = (last + delta + 256) % 256;
            }
            last = next == 0 ? last : next;
          }
        }
      }
      break;
    }
    default:
      break;
  }
  b.ue(12);  // log2_max_frame_num_minus4
  const std::uint32_t poc_type = b.ue();
  if (poc_type == 0) {
    b.ue(12);  // log2_max_pic_order_cnt_lsb_minus4
  } else if (poc_type == 1) {
    b.skip(1);
    b.se();
    b.se();
    const std::uint32_t cycle = b.ue();
    if (cycle > 255) return std::nullopt;
    for (std::uint32_t i = 0; i < cycle && !b.failed; ++i) b.se();
  } else if (poc_type != 2) {
    return std::nullopt;
  }
  b.ue(16);   // max_num_ref_frames
  b.skip(1);  // gaps_in_frame_num_value_allowed_flag
  const long long w_mbs = static_cast<long long>(b.ue()) + 1;
  const long long h_units = static_cast<long long>(b.ue()) + 1;
  const bool frame_mbs_only = b.u(1) != 0;
  if (!frame_mbs_only) b.skip(1);
  b.skip(1);  // direct_8x8_inference_flag
  long long crop_l = 0, crop_r = 0, crop_t = 0, crop_b = 0;
  if (b.u(1) != 0) {
    crop_l = b.ue();
    crop_r = b.ue();
    crop_t = b.ue();
    crop_b = b.ue();
  }
  int sub_w = 1, sub_h = 1;
  chroma_units(separate ? 0 : chroma, separate || chroma == 0, sub_w, sub_h);
  const long long field = frame_mbs_only ? 1 : 2;
  const long long w = w_mbs * 16 - sub_w * (crop_l + crop_r);
  const long long h = field * h_units * 16 - sub_h * field * (crop_t + crop_b);
  return checked(b, w, h);
}

std::optional<PictureSize> h265(std::span<const std::uint8_t> nal) {
  if (nal.size() < 2 || ((nal[0] >> 1) & 0x3f) != 33) return std::nullopt;
  Bits b(nal, 2);
  b.skip(4);  // sps_video_parameter_set_id
  const int sub_layers = static_cast<int>(b.u(3));
  b.skip(1);  // sps_temporal_id_nesting_flag
  // profile_tier_level(1, sub_layers): the general part is 96 bits.
  b.skip(96);
  bool profile_present[8] = {}, level_present[8] = {};
  for (int i = 0; i < sub_layers; ++i) {
    profile_present[i] = b.u(1) != 0;
    level_present[i] = b.u(1) != 0;
  }
  if (sub_layers > 0) b.skip(2 * (8 - sub_layers));
  for (int i = 0; i < sub_layers; ++i) {
    if (profile_present[i]) b.skip(88);
    if (level_present[i]) b.skip(8);
  }
  b.ue(15);  // sps_seq_parameter_set_id
  const std::uint32_t chroma = b.ue();
  if (chroma > 3) return std::nullopt;
  const bool separate = chroma == 3 && b.u(1) != 0;
  const long long w = b.ue();
  const long long h = b.ue();
  long long crop_l = 0, crop_r = 0, crop_t = 0, crop_b = 0;
  if (b.u(1) != 0) {
    crop_l = b.ue();
    crop_r = b.ue();
    crop_t = b.ue();
    crop_b = b.ue();
  }
  int sub_w = 1, sub_h = 1;
  chroma_units(chroma, separate || chroma == 0, sub_w, sub_h);
  return checked(b, w - sub_w * (crop_l + crop_r), h - sub_h * (crop_t + crop_b));
}

}  // namespace

std::optional<PictureSize> sps_picture_size(Codec codec, std::span<const std::uint8_t> nal) {
  return codec == Codec::h264 ? h264(nal) : h265(nal);
}

}  // namespace zaulek::media
