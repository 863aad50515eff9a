// The simulator's picture: a short clip encoded once, kept in memory as
// access units and replayed by every camera. Nothing is encoded per camera or
// per client, which is what lets one process hold a hundred cameras.
#pragma once

#include "core/error.h"
#include "media/codec.h"

#include <gst/gst.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace zaulek::sim {

// The codec names as media/ has them (sim may depend on media/).
using media::Codec;

struct ClipSpec {
  Codec codec = Codec::h264;
  int width = 1920;
  int height = 1080;
  int fps = 25;
  int bitrate_kbps = 4000;
  int seconds = 10;
  int gop_frames = 50;  // key-int-max: one keyframe every 2 s at 25 fps
  // B-frames as x264/x265 make them by default (3 between references, the
  // middle one a reference: b-pyramid), closed GOPs; sent in decode order.
  bool bframes = false;

  // File name in the cache: every parameter is part of it, so a changed spec
  // never reads a stale clip.
  std::string cache_name() const;
};

// One access unit (a whole frame, byte-stream with start codes). Keyframes
// carry SPS/PPS(/VPS) in front, so replay may start at any keyframe.
struct AccessUnit {
  GstBuffer* buffer = nullptr;  // owned by Clip; read-only, timestamps unset
  bool keyframe = false;
  // Frames from its decode slot to its presentation slot (PTS = DTS +
  // pts_offset frames); 0 throughout without B-frames.
  int pts_offset = 0;
};

class Clip {
 public:
  Clip(ClipSpec spec, std::vector<AccessUnit> units);
  ~Clip();
  Clip(const Clip&) = delete;
  Clip& operator=(const Clip&) = delete;

  const ClipSpec& spec() const { return spec_; }
  const std::vector<AccessUnit>& units() const { return units_; }
  std::size_t bytes() const;
  // Indices of keyframe units, in order.
  const std::vector<std::size_t>& keyframes() const { return keyframes_; }
  // appsrc caps: byte-stream, au-aligned, with size and frame rate.
  std::string caps() const;

 private:
  ClipSpec spec_;
  std::vector<AccessUnit> units_;
  std::vector<std::size_t> keyframes_;
};

// Returns the clip from cache_dir, encoding it first (videotestsrc with a
// running timecode → x264enc/x265enc) when it is not cached yet. The cache
// file is written under a temporary name and renamed, so concurrent
// simulators never read half a file. gst_init must have been called.
Result<std::shared_ptr<const Clip>> load_or_encode_clip(const ClipSpec& spec,
                                                        const std::filesystem::path& cache_dir);

// $XDG_CACHE_HOME/zaulek-sim, else $HOME/.cache/zaulek-sim, else /tmp/zaulek-sim.
std::filesystem::path default_cache_dir();

}  // namespace zaulek::sim
