// zaulek-bench-export-footage: recorded footage for tests/bench/export.sh
// without waiting an hour. The simulator's clip (sim/clip.h: 1080p, 25 fps,
// x264 at the given bit rate, cached) is replayed into one-minute TS
// segments written with media/ts.h's Muxer, exactly as the recorder writes
// them, and their rows are added to the catalogue (storage/catalog.h), so a
// zaulekd started on that storage exports them like any other footage.
//
//   zaulek-bench-export-footage STORAGE CAMERA MINUTES START_UNIX_S [KBPS] [--bframes]
#include <gst/gst.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "media/recorder.h"
#include "media/ts.h"
#include "sim/clip.h"
#include "storage/catalog.h"

using namespace zaulek;

int main(int argc, char** argv) {
  if (argc < 5) {
    std::fprintf(stderr, "usage: %s STORAGE CAMERA MINUTES START_UNIX_S [KBPS] [--bframes]\n",
                 argv[0]);
    return 2;
  }
  const std::filesystem::path root = argv[1];
  const std::string camera = argv[2];
  const int minutes = std::atoi(argv[3]);
  const std::int64_t start_ns = std::atoll(argv[4]) * 1'000'000'000LL;
  const int kbps = argc > 5 && argv[5][0] != '-' ? std::atoi(argv[5]) : 4000;
  bool bframes = false;
  for (int i = 5; i < argc; ++i) bframes |= std::string(argv[i]) == "--bframes";
  gst_init(nullptr, nullptr);
  sim::ClipSpec spec;
  spec.bitrate_kbps = kbps;
  spec.seconds = 60;
  spec.bframes = bframes;
  auto clip = sim::load_or_encode_clip(spec, sim::default_cache_dir());
  if (!clip) {
    std::fprintf(stderr, "clip: %s\n", clip.error().message.c_str());
    return 1;
  }
  const auto& units = (*clip)->units();
  auto catalog = storage::Catalog::open(root / "zaulek.db");
  if (!catalog) {
    std::fprintf(stderr, "catalogue: %s\n", catalog.error().message.c_str());
    return 1;
  }
  std::filesystem::create_directories(root / camera);
  const std::uint64_t frame = media::ts::kClock / static_cast<std::uint64_t>(spec.fps);
  std::vector<storage::Segment> rows;
  std::int64_t total = 0;
  for (int m = 0; m < minutes; ++m) {
    const std::int64_t seg_start = start_ns + m * 60'000'000'000LL;
    media::ts::Muxer mux({media::Codec::h264, spec.width, spec.height, seg_start});
    std::vector<std::uint8_t> out;
    mux.write_tables(out);
    std::int64_t keyframes = 0;
    // One minute of the 60 s clip; DTS from the origin, PTS by each unit's offset
    // (a first keyframe with offset k: its PTS is k frames after its DTS).
    const std::uint64_t base = media::ts::kTimestampOrigin;
    for (std::size_t i = 0; i < units.size(); ++i) {
      const auto& u = units[i];
      GstMapInfo map;
      if (!gst_buffer_map(u.buffer, &map, GST_MAP_READ)) return 1;
      std::uint64_t dts = base + i * frame;
      std::uint64_t pts = dts + static_cast<std::uint64_t>(u.pts_offset) * frame;
      if (u.keyframe) {
        mux.write_tables(out);
        ++keyframes;
      }
      mux.write_frame(out, {map.data, map.size}, pts, dts, u.keyframe);
      gst_buffer_unmap(u.buffer, &map);
    }
    // The first frame's PTS is the segment's start (docs/design/time.md).
    const std::string name =
        media::segment_stem(WallTime{std::chrono::nanoseconds{seg_start}}) + ".ts";
    const auto path = root / camera / name;
    std::ofstream f(path, std::ios::binary);
    f.write(reinterpret_cast<const char*>(out.data()), static_cast<std::streamsize>(out.size()));
    if (!f) return 1;
    storage::Segment s;
    s.camera_id = camera;
    s.start_ns = seg_start;
    s.end_ns = seg_start + 60'000'000'000LL;
    s.bytes = static_cast<std::int64_t>(out.size());
    s.path = camera + "/" + name;
    s.codec = "h264";
    s.keyframes = keyframes;
    s.state = storage::SegmentState::closed;
    rows.push_back(s);
    total += s.bytes;
  }
  if (auto ids = (*catalog)->add_segments(rows); !ids) {
    std::fprintf(stderr, "rows: %s\n", ids.error().message.c_str());
    return 1;
  }
  std::printf("%d segments, %lld bytes\n", minutes, static_cast<long long>(total));
  return 0;
}
