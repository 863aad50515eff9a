// Our own minimal MPEG-TS writer and reader for one video stream (internal to
// media/). Why our own: we decide where a segment ends, when bytes reach the
// kernel and when they reach the disk; see docs/recording.md.
#pragma once

#include "media/codec.h"

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace zaulek::media::ts {

constexpr std::size_t kPacketSize = 188;
constexpr std::uint16_t kPmtPid = 0x1000;
constexpr std::uint16_t kVideoPid = 0x0100;
constexpr std::uint64_t kClock = 90'000;  // PTS/DTS units per second
// File timestamps start here so that PCR (DTS minus a margin) stays positive.
constexpr std::uint64_t kTimestampOrigin = kClock;

// What a segment says about itself, carried in the PMT as a registration
// descriptor ("ZAUL" + text), so a file left by a crash can be indexed
// without any other record.
struct StreamMeta {
  Codec codec = Codec::h264;
  int width = 0;
  int height = 0;
  std::int64_t start_ns = 0;  // wall time of the first frame, ns since the Unix epoch
};

std::uint32_t crc32_mpeg(const std::uint8_t* data, std::size_t size);

class Muxer {
 public:
  explicit Muxer(StreamMeta meta) : meta_(meta) {}
  // PAT and PMT; written at the start of a file and before every keyframe.
  void write_tables(std::vector<std::uint8_t>& out);
  // One access unit (byte-stream). An access unit delimiter is put in front
  // when the unit lacks one (TS demuxers split frames on it).
  void write_frame(std::vector<std::uint8_t>& out, std::span<const std::uint8_t> au,
                   std::uint64_t pts90, std::uint64_t dts90, bool keyframe);
  const StreamMeta& meta() const { return meta_; }

 private:
  StreamMeta meta_;
  std::uint8_t cc_pat_ = 0;
  std::uint8_t cc_pmt_ = 0;
  std::uint8_t cc_video_ = 0;
};

// Keeps the parameter sets (SPS/PPS, and VPS for H.265) of the last keyframe
// that carried them and puts them in front of a keyframe that arrives without
// (cameras that send them only in the SDP), so that every segment decodes on
// its own. Only keyframes are scanned.
class ParamSets {
 public:
  // Returns au itself, or scratch holding au with the parameter sets inserted.
  std::span<const std::uint8_t> fix(std::span<const std::uint8_t> au, Codec codec,
                                    std::vector<std::uint8_t>& scratch);
  // Parameter sets given out of band (e.g. sprop-parameter-sets), byte-stream.
  void set(std::span<const std::uint8_t> params) { params_.assign(params.begin(), params.end()); }
  bool empty() const { return params_.empty(); }

 private:
  std::vector<std::uint8_t> params_;
};

// Length-prefixed units (avc / hvc1, what the depayloaders produce whole) to
// byte-stream with 4-byte start codes, appended to out. Access unit
// delimiters are left out (the muxer puts one at the front; one in the middle
// would split the frame for a demuxer). False when a length runs past the end
// (the unit is then not written).
bool to_byte_stream(std::span<const std::uint8_t> in, int length_size, Codec codec,
                    std::vector<std::uint8_t>& out);

// SPS/PPS (and VPS) from an avcC or hvcC codec_data, as byte-stream, plus the
// NAL length size. False when malformed.
bool parse_codec_data(std::span<const std::uint8_t> codec_data, Codec codec,
                      std::vector<std::uint8_t>& params, int& length_size);

// The stream meta and codec of a PMT packet's payload (pointer field first),
// as the Muxer writes it; leaves the outputs alone when it does not parse.
void parse_pmt(std::span<const std::uint8_t> payload, StreamMeta& meta, bool& has_meta,
               bool& codec_known);
// A PES header's 33-bit timestamp (5 bytes).
std::uint64_t read_pes_timestamp(const std::uint8_t* p);

// The result of reading a segment file packet by packet.
struct Scan {
  std::uint64_t good_bytes = 0;  // whole packets with a sync byte, from the start
  bool has_meta = false;
  StreamMeta meta;
  bool codec_known = false;
  std::uint64_t frames = 0;
  std::uint32_t keyframes = 0;
  std::uint64_t first_dts = 0;
  std::uint64_t last_dts = 0;
  // Presentation times: of the first frame, and the lowest and highest (with
  // B-frames the last frame in the file is not the last one shown).
  std::uint64_t first_pts = 0;
  std::uint64_t min_pts = 0;
  std::uint64_t max_pts = 0;
};

// Feeds packets in order; stops counting at the first bad packet.
class Scanner {
 public:
  // Returns false once a bad packet was seen (good_bytes stops there).
  bool feed(std::span<const std::uint8_t> data);
  const Scan& result() const { return scan_; }

 private:
  void packet(const std::uint8_t* p);
  Scan scan_;
  bool bad_ = false;
  std::vector<std::uint8_t> carry_;
};

}  // namespace zaulek::media::ts
