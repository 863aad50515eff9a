// Reading our own MPEG-TS segment files back (playback, export): access units
// in file order, out of the files media/ts.h's Muxer writes, including a file
// cut short by a crash and one still being written.
//
// Contract:
//  - Only what ts::Muxer writes is understood: one video PID, PES packets of
//    unbounded length (one per access unit, PTS and DTS in its header), the
//    PAT/PMT before every keyframe with the "ZAUL" meta descriptor. Other
//    bytes give an error or are skipped; never a crash.
//  - A unit is handed out only when it is known to be whole: the next unit
//    started, or its last packet carries stuffing (the Muxer pads the last
//    packet of every unit; a unit ending exactly on a packet boundary, 1 in
//    184, is known whole only once the next one starts). At the end of a file
//    cut anywhere (kill -9, power loss) the reader therefore yields a prefix
//    of the units written, never a partial one.
//  - A file still being written: feed what is there, take the units, feed
//    more later; nothing is lost between calls.
//  - Bounded memory: a unit larger than max_unit_bytes is an error
//    (resource_exhausted), not an allocation; the Demuxer holds at most one
//    unit in progress plus the whole units of the last chunk fed.
//  - Not thread-safe; one owner.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <optional>
#include <span>
#include <vector>

#include "core/error.h"
#include "media/ts.h"

namespace zaulek::media::ts {

// The largest access unit read back by default: a 4K keyframe at a high
// bit rate stays well under it.
constexpr std::size_t kMaxUnitBytes = 8u << 20;

struct AccessUnit {
  std::vector<std::uint8_t> data;  // byte-stream as written (AUD, parameter sets included)
  std::uint64_t pts90 = 0;         // file timestamps (90 kHz, kTimestampOrigin-based)
  std::uint64_t dts90 = 0;
  bool keyframe = false;
  std::uint64_t offset = 0;  // file offset of the unit's first packet (relative to feeding start)
};

// Pure: bytes in, units out.
class Demuxer {
 public:
  explicit Demuxer(std::size_t max_unit_bytes = kMaxUnitBytes) : max_unit_(max_unit_bytes) {}

  // Bytes in file order, in any chunking. Once an error is set the rest is
  // ignored (error()).
  void feed(std::span<const std::uint8_t> data);
  // The next whole unit, in file (decode) order.
  std::optional<AccessUnit> next();
  std::size_t ready() const { return ready_.size(); }
  // No more bytes will come (a closed file). A unit whose end was not seen is
  // dropped (counted in dropped_tail()): the file was cut inside it.
  void finish();

  // Set at the first bad packet (lost sync, a unit over the cap); units
  // before it are still handed out.
  const std::optional<Error>& error() const { return error_; }
  // From the first PMT seen.
  bool has_meta() const { return has_meta_; }
  const StreamMeta& meta() const { return meta_; }
  bool codec_known() const { return codec_known_; }
  // Bytes of whole packets consumed so far (including those in units not yet
  // whole), counted from where feeding started.
  std::uint64_t consumed() const { return consumed_; }
  std::uint64_t dropped_tail() const { return dropped_tail_; }
  // Units dropped because a packet of theirs was missing (continuity gap).
  std::uint64_t dropped_broken() const { return dropped_broken_; }
  // Start counting offsets from here (after a seek in the file).
  void reset(std::uint64_t offset);

 private:
  void packet(const std::uint8_t* p);
  void complete();
  void fail(ErrorKind kind, std::string message);

  std::size_t max_unit_;
  std::vector<std::uint8_t> carry_;
  std::deque<AccessUnit> ready_;
  std::optional<AccessUnit> current_;
  bool current_broken_ = false;
  int last_cc_ = -1;
  std::optional<Error> error_;
  bool has_meta_ = false;
  bool codec_known_ = false;
  StreamMeta meta_;
  std::uint64_t base_ = 0;  // offset of the first byte fed
  std::uint64_t consumed_ = 0;
  std::uint64_t dropped_tail_ = 0;
  std::uint64_t dropped_broken_ = 0;
};

// The header of one packet as far as the reader cares: a video PES start
// with its times, or the PMT.
struct PacketInfo {
  bool sync = false;
  bool video_start = false;  // PUSI on the video PID with a PES header
  bool keyframe = false;     // random access indicator
  std::uint64_t pts90 = 0;
  std::uint64_t dts90 = 0;
};
PacketInfo inspect_packet(const std::uint8_t* p);

// A segment file read through a file descriptor, from the start or from a
// keyframe, in chunks; the file may still grow.
class SegmentFile {
 public:
  SegmentFile(SegmentFile&&) noexcept;
  SegmentFile& operator=(SegmentFile&&) noexcept;
  ~SegmentFile();

  // Opens the file and reads its stream table (codec, size, start time).
  // data_loss when the file has none (yet: a .part with fewer than two
  // packets is not_found, to be tried again).
  static Result<SegmentFile> open(const std::filesystem::path& path,
                                  std::size_t max_unit_bytes = kMaxUnitBytes);

  const StreamMeta& meta() const { return meta_; }
  // File timestamps of the first frame (the segment's start_ns is its
  // presentation): pts of the first unit.
  std::uint64_t first_pts90() const { return first_pts_; }
  std::uint64_t first_dts90() const { return first_dts_; }
  // Wall time (ns since the epoch) of a file presentation timestamp.
  std::int64_t wall_ns(std::uint64_t pts90) const;
  // The file presentation timestamp of a wall time (clamped at the start).
  std::uint64_t pts90_at(std::int64_t wall_ns) const;

  // Positions the reader at the last keyframe presented at or before
  // target_pts90 (the first keyframe when none is), by bisecting the file
  // on decode times and then stepping back to the keyframe. Returns that
  // keyframe's pts. Reads O(log(size)) small chunks plus at most a GOP.
  Result<std::uint64_t> seek_keyframe(std::uint64_t target_pts90);

  // Reads up to `budget` more bytes from where reading stopped into the
  // demuxer; 0 at the (current) end of the file.
  Result<std::size_t> read_some(std::size_t budget = 256 * 1024);
  // The same into the caller's buffer, which then holds the bytes read (the
  // export hashes them: one read of the file for both).
  Result<std::size_t> read_into(std::span<std::uint8_t> buffer);
  std::optional<AccessUnit> next() { return demux_.next(); }
  // The file is complete: the last whole unit is handed out.
  void finish() { demux_.finish(); }
  const Demuxer& demuxer() const { return demux_; }
  std::uint64_t position() const { return pos_; }
  Result<std::uint64_t> size() const;

 private:
  SegmentFile() = default;
  Result<std::size_t> pread_some(std::uint64_t at, std::span<std::uint8_t> into) const;
  // The first video PES start at or after `at` within `limit` bytes.
  Result<std::optional<std::pair<std::uint64_t, PacketInfo>>> probe(std::uint64_t at,
                                                                    std::uint64_t limit) const;

  int fd_ = -1;
  std::filesystem::path path_;
  std::size_t max_unit_ = kMaxUnitBytes;
  StreamMeta meta_;
  std::uint64_t first_pts_ = 0;
  std::uint64_t first_dts_ = 0;
  std::uint64_t pos_ = 0;
  Demuxer demux_;
  std::vector<std::uint8_t> chunk_;
};

}  // namespace zaulek::media::ts
