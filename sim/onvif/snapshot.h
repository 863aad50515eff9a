// One JPEG for every simulated camera's snapshot URI, made once per process.
#pragma once

#include <string>

namespace zaulek::sim::onvif_sim {

// videotestsrc num-buffers=1 ! jpegenc, encoded on first call (initializes
// GStreamer if the caller has not). Empty if GStreamer cannot encode.
const std::string& snapshot_jpeg();

}  // namespace zaulek::sim::onvif_sim
