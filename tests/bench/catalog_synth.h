// Synthetic footage for the catalogue benchmark and its correctness test:
// back-to-back one-minute segments with a daily ten-minute outage (03:00 to
// 03:10 UTC-relative to the start), so that timelines have ranges and gaps.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "storage/catalog.h"

namespace zaulek::storage::synth {

constexpr std::int64_t kSec = 1'000'000'000;
constexpr std::int64_t kMin = 60 * kSec;
constexpr std::int64_t kDay = 1440 * kMin;
constexpr int kOutageMinute = 180;  // each day, minutes [180, 190) are missing
constexpr int kOutageLength = 10;
constexpr int kSegmentsPerDay = 1440 - kOutageLength;

inline bool in_outage(std::int64_t minute) {
  std::int64_t m = minute % 1440;
  return m >= kOutageMinute && m < kOutageMinute + kOutageLength;
}

// Indexes `days` days of footage for `camera` starting at `first_ns`, in
// batches; returns the number of segments written, or the first error.
inline Result<std::int64_t> fill_camera(Catalog& cat, const std::string& camera,
                                        std::int64_t first_ns, int days) {
  std::vector<Segment> batch;
  batch.reserve(Catalog::kMaxBatch);
  std::int64_t written = 0;
  auto flush = [&]() -> Status {
    if (batch.empty()) return {};
    auto ids = cat.add_segments(batch);
    if (!ids) return ids.error();
    written += static_cast<std::int64_t>(batch.size());
    batch.clear();
    return {};
  };
  for (std::int64_t minute = 0; minute < static_cast<std::int64_t>(days) * 1440; ++minute) {
    if (in_outage(minute)) continue;
    Segment s;
    s.camera_id = camera;
    s.start_ns = first_ns + minute * kMin;
    s.end_ns = s.start_ns + kMin;
    s.bytes = 7'500'000;  // ~1 Mbit/s
    s.path = camera + "/" + std::to_string(minute / 1440) + "/" + std::to_string(minute) + ".mkv";
    s.codec = "h264";
    s.keyframes = 30;
    s.state = SegmentState::closed;
    batch.push_back(std::move(s));
    if (batch.size() == static_cast<std::size_t>(Catalog::kMaxBatch)) {
      if (auto f = flush(); !f) return f.error();
    }
  }
  if (auto f = flush(); !f) return f.error();
  return written;
}

}  // namespace zaulek::storage::synth
