#include "media/rtp.h"

#include <utility>

namespace zaulek::media::rtp {
namespace {

bool is_keyframe_nal(Codec codec, std::uint8_t first_byte) {
  if (codec == Codec::h264) return (first_byte & 0x1f) == 5;
  const int type = (first_byte >> 1) & 0x3f;
  return type >= 16 && type <= 23;
}

}  // namespace

const AccessUnit* Depayloader::finish() {
  const bool whole = in_unit_ && !broken_ && !in_fu_ && !building_.data.empty();
  if (in_unit_ && !whole) ++stats_.dropped_units;
  in_unit_ = broken_ = in_fu_ = false;
  if (!whole) {
    building_.data.clear();
    building_.keyframe = false;
    return nullptr;
  }
  std::swap(building_, done_);  // buffers swap: no allocation per unit
  building_.data.clear();
  building_.keyframe = false;
  ++stats_.units;
  return &done_;
}

const AccessUnit* Depayloader::flush() {
  return finish();
}

const AccessUnit* Depayloader::push(std::span<const std::uint8_t> packet) {
  ++stats_.packets;
  const std::uint8_t* p = packet.data();
  std::size_t n = packet.size();
  if (n < 12 || (p[0] >> 6) != 2) {
    ++stats_.malformed;
    return nullptr;
  }
  std::size_t h = 12 + 4 * static_cast<std::size_t>(p[0] & 0x0f);
  if ((p[0] & 0x10) != 0) {  // header extension: 4 bytes + its length in words
    if (n < h + 4) {
      ++stats_.malformed;
      return nullptr;
    }
    h += 4 + 4 * ((static_cast<std::size_t>(p[h + 2]) << 8) | p[h + 3]);
  }
  if ((p[0] & 0x20) != 0) {  // padding: its length is the last byte
    const std::size_t pad = p[n - 1];
    if (pad == 0 || pad > n) {
      ++stats_.malformed;
      return nullptr;
    }
    n -= pad;
  }
  if (n <= h) {
    ++stats_.malformed;
    return nullptr;
  }
  const bool marker = (p[1] & 0x80) != 0;
  const auto seq = static_cast<std::uint16_t>((p[2] << 8) | p[3]);
  const std::uint32_t ts = (static_cast<std::uint32_t>(p[4]) << 24) |
                           (static_cast<std::uint32_t>(p[5]) << 16) |
                           (static_cast<std::uint32_t>(p[6]) << 8) | p[7];
  if (have_seq_ && seq != next_seq_) {
    const auto gap = static_cast<std::uint16_t>(seq - next_seq_);
    if (gap >= 0x8000) {  // an old or repeated packet: too late, skip it
      ++stats_.malformed;
      return nullptr;
    }
    stats_.lost_packets += gap;
    broken_ = in_unit_;
    in_fu_ = false;
  }
  have_seq_ = true;
  next_seq_ = static_cast<std::uint16_t>(seq + 1);

  // A new timestamp ends the unit in progress (a camera that omits the
  // marker bit); the one it completes is returned, this packet starts the next.
  const AccessUnit* out = nullptr;
  if (in_unit_ && ts != building_.rtp_time) out = finish();
  if (!in_unit_) {
    in_unit_ = true;
    building_.rtp_time = ts;
  }
  payload(p + h, n - h);
  if (marker) {
    if (out != nullptr) {
      // Two units end here: rare (marker bits on some frames only). Keep
      // the older one; the newer waits for flush() or the next packet.
      return out;
    }
    return finish();
  }
  return out;
}

void Depayloader::payload(const std::uint8_t* p, std::size_t n) {
  if (codec_ == Codec::h264)
    payload_h264(p, n);
  else
    payload_h265(p, n);
}

void Depayloader::start_nal(std::size_t reserve) {
  if (building_.data.size() + 4 + reserve > kMaxUnitBytes) {
    broken_ = true;
    return;
  }
  building_.data.insert(building_.data.end(), {0, 0, 0, 1});
}

void Depayloader::nal(const std::uint8_t* p, std::size_t n) {
  if (n == 0) {
    ++stats_.malformed;
    return;
  }
  start_nal(n);
  if (broken_) return;
  building_.data.insert(building_.data.end(), p, p + n);
  if (is_keyframe_nal(codec_, p[0])) building_.keyframe = true;
}

void Depayloader::payload_h264(const std::uint8_t* p, std::size_t n) {
  const int type = p[0] & 0x1f;
  if (type >= 1 && type <= 23) {
    in_fu_ = false;
    return nal(p, n);
  }
  if (type == 24) {  // STAP-A: [size16][NAL]...
    in_fu_ = false;
    std::size_t o = 1;
    while (o + 2 <= n) {
      const std::size_t size = (static_cast<std::size_t>(p[o]) << 8) | p[o + 1];
      o += 2;
      if (size == 0 || o + size > n) {
        ++stats_.malformed;
        return;
      }
      nal(p + o, size);
      o += size;
    }
    return;
  }
  if (type == 28) {  // FU-A: indicator, header (S E R type), fragment
    if (n < 3) {
      ++stats_.malformed;
      return;
    }
    const std::uint8_t fu = p[1];
    if ((fu & 0x80) != 0) {
      start_nal(n - 1);
      if (broken_) return;
      const auto header = static_cast<std::uint8_t>((p[0] & 0xe0) | (fu & 0x1f));
      building_.data.push_back(header);
      if (is_keyframe_nal(codec_, header)) building_.keyframe = true;
      in_fu_ = true;
    } else if (!in_fu_) {
      broken_ = true;  // its start was lost
      return;
    }
    if (building_.data.size() + n - 2 > kMaxUnitBytes) {
      broken_ = true;
      return;
    }
    building_.data.insert(building_.data.end(), p + 2, p + n);
    if ((fu & 0x40) != 0) in_fu_ = false;
    return;
  }
  ++stats_.malformed;  // STAP-B, MTAP, FU-B, reserved: not used over RTSP unicast
}

void Depayloader::payload_h265(const std::uint8_t* p, std::size_t n) {
  if (n < 2) {
    ++stats_.malformed;
    return;
  }
  const int type = (p[0] >> 1) & 0x3f;
  if (type <= 47) {
    in_fu_ = false;
    return nal(p, n);
  }
  if (type == 48) {  // AP: 2-byte header, then [size16][NAL]... (no DONL)
    in_fu_ = false;
    std::size_t o = 2;
    while (o + 2 <= n) {
      const std::size_t size = (static_cast<std::size_t>(p[o]) << 8) | p[o + 1];
      o += 2;
      if (size < 2 || o + size > n) {
        ++stats_.malformed;
        return;
      }
      nal(p + o, size);
      o += size;
    }
    return;
  }
  if (type == 49) {  // FU: 2-byte header, FU header (S E type), fragment
    if (n < 4) {
      ++stats_.malformed;
      return;
    }
    const std::uint8_t fu = p[2];
    if ((fu & 0x80) != 0) {
      start_nal(n - 1);
      if (broken_) return;
      const auto first = static_cast<std::uint8_t>((p[0] & 0x81) | ((fu & 0x3f) << 1));
      building_.data.push_back(first);
      building_.data.push_back(p[1]);
      if (is_keyframe_nal(codec_, first)) building_.keyframe = true;
      in_fu_ = true;
    } else if (!in_fu_) {
      broken_ = true;
      return;
    }
    if (building_.data.size() + n - 3 > kMaxUnitBytes) {
      broken_ = true;
      return;
    }
    building_.data.insert(building_.data.end(), p + 3, p + n);
    if ((fu & 0x40) != 0) in_fu_ = false;
    return;
  }
  ++stats_.malformed;  // PACI and reserved types
}

}  // namespace zaulek::media::rtp
