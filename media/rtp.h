// RTP to access units for H.264 (RFC 6184) and H.265 (RFC 7798), without
// GStreamer: the depayloader of a native ingest (one Asio thread for every
// camera, no per-packet thread hand-off). tests/bench/rtsp_floor.cpp measures
// what that buys; see docs/recording.md "Performance".
//
// Input: whole RTP packets of one stream in arrival order (over RTSP/TCP
// interleaved: in order, no loss). Output: access units in byte-stream form
// (4-byte start codes), one per RTP timestamp, ended by the marker bit or by
// the first packet of the next timestamp. A unit with a sequence gap inside,
// or one that would exceed kMaxUnitBytes, is dropped and counted, never
// emitted half. Anything malformed is counted and skipped.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "media/codec.h"

namespace zaulek::media::rtp {

constexpr std::size_t kMaxUnitBytes = 8 * 1024 * 1024;

struct AccessUnit {
  std::vector<std::uint8_t> data;  // byte-stream NAL units
  std::uint32_t rtp_time = 0;
  bool keyframe = false;  // H.264 IDR; H.265 IRAP (BLA, IDR, CRA)
};

struct DepayStats {
  std::uint64_t packets = 0;
  std::uint64_t units = 0;
  std::uint64_t lost_packets = 0;   // sequence-number gaps
  std::uint64_t dropped_units = 0;  // incomplete (gap) or oversized
  std::uint64_t malformed = 0;      // bad header, unknown or truncated payload
};

class Depayloader {
 public:
  explicit Depayloader(Codec codec) : codec_(codec) {}

  // Feeds one RTP packet; returns the unit completed by it (nullptr when
  // none). The pointer stays valid until the next push().
  const AccessUnit* push(std::span<const std::uint8_t> packet);
  // The unit in progress, if whole (end of stream without a marker bit).
  const AccessUnit* flush();

  const DepayStats& stats() const { return stats_; }

 private:
  void payload(const std::uint8_t* p, std::size_t n);
  void payload_h264(const std::uint8_t* p, std::size_t n);
  void payload_h265(const std::uint8_t* p, std::size_t n);
  void nal(const std::uint8_t* p, std::size_t n);
  void start_nal(std::size_t reserve);
  const AccessUnit* finish();

  Codec codec_;
  DepayStats stats_;
  AccessUnit building_, done_;
  bool in_unit_ = false;
  bool broken_ = false;  // this unit lost a packet or overflowed
  bool in_fu_ = false;   // inside a fragmented NAL unit
  bool have_seq_ = false;
  std::uint16_t next_seq_ = 0;
};

}  // namespace zaulek::media::rtp
