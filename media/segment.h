// One segment file being written (internal to media/). Crash invariants, in
// order: create *.ts.part with O_EXCL, fsync the directory; append whole access
// units with write(2) at least every flush_interval; fdatasync every
// sync_interval; on close fdatasync, rename to *.ts, fsync the directory.
#pragma once

#include "media/recorder.h"
#include "media/ts.h"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <vector>

namespace zaulek::media {

struct SegmentPolicy {
  std::chrono::milliseconds flush_interval{200};
  std::chrono::milliseconds sync_interval{1'000};
  std::size_t flush_bytes = 64 * 1024;
};

class SegmentWriter {
 public:
  static Result<std::unique_ptr<SegmentWriter>> create(const std::filesystem::path& dir,
                                                       ts::StreamMeta meta, SegmentPolicy policy,
                                                       MonoTime now);
  ~SegmentWriter();
  SegmentWriter(const SegmentWriter&) = delete;
  SegmentWriter& operator=(const SegmentWriter&) = delete;

  // Appends one access unit; writes/fdatasyncs when the policy says so.
  Status add_frame(std::span<const std::uint8_t> au, std::uint64_t pts90, std::uint64_t dts90,
                   bool keyframe, MonoTime now);
  // Writes what is buffered if the flush interval has passed (timer driven, so
  // a stalled stream still reaches the kernel).
  Status tick(MonoTime now);
  // Flush, fdatasync, close, rename to the final name, fsync the directory.
  // not_found (and the .part removed) when nothing ever reached the file.
  Result<std::filesystem::path> finish();

  std::uint64_t bytes() const { return written_ + buffer_.size(); }
  std::uint64_t written() const { return written_; }  // reached the kernel
  const std::filesystem::path& part_path() const { return part_; }
  const ts::StreamMeta& meta() const { return muxer_.meta(); }

 private:
  SegmentWriter(int fd, std::filesystem::path part, std::filesystem::path final_path,
                ts::StreamMeta meta, SegmentPolicy policy, MonoTime now);
  Status flush();
  Status sync();

  int fd_ = -1;
  std::filesystem::path part_;
  std::filesystem::path final_;
  ts::Muxer muxer_;
  SegmentPolicy policy_;
  std::vector<std::uint8_t> buffer_;
  std::uint64_t written_ = 0;
  MonoTime last_flush_;
  MonoTime last_sync_;
  bool dirty_ = false;  // written since the last fdatasync
};

Status fsync_dir(const std::filesystem::path& dir);

}  // namespace zaulek::media
