// The JPEGs every simulated camera's snapshot URI serves, made once per process.
#pragma once

#include <string>

namespace zaulek::sim::onvif_sim {

// The picture of the moment: one of kSnapshotFrames JPEGs (640x360 SMPTE
// bars sliding sideways), a new one each second, so that a grid's
// thumbnails visibly change. Encoded together on first call (initializes
// GStreamer if the caller has not): `videotestsrc ! jpegenc`, once. Empty if
// GStreamer cannot encode.
inline constexpr int kSnapshotFrames = 8;
const std::string& snapshot_jpeg();

}  // namespace zaulek::sim::onvif_sim
