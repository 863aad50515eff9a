#include "sim/onvif/snapshot.h"

#include <gst/app/gstappsink.h>
#include <gst/gst.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <vector>

#include "core/clock.h"

namespace zaulek::sim::onvif_sim {
namespace {

std::vector<std::string> encode() {
  if (!gst_is_initialized()) gst_init(nullptr, nullptr);
  GError* err = nullptr;
  const std::string launch = "videotestsrc num-buffers=" + std::to_string(kSnapshotFrames) +
                             " pattern=smpte horizontal-speed=80 ! "
                             "video/x-raw,width=640,height=360 ! jpegenc ! appsink name=out "
                             "sync=false";
  GstElement* pipeline = gst_parse_launch(launch.c_str(), &err);
  if (!pipeline) {
    spdlog::error("onvif sim: snapshot pipeline: {}", err ? err->message : "unknown");
    if (err) g_error_free(err);
    return {};
  }
  std::vector<std::string> frames;
  GstElement* sink = gst_bin_get_by_name(GST_BIN(pipeline), "out");
  gst_element_set_state(pipeline, GST_STATE_PLAYING);
  // Bounded: kSnapshotFrames buffers, each within 10 s.
  while (frames.size() < static_cast<std::size_t>(kSnapshotFrames)) {
    GstSample* sample = gst_app_sink_try_pull_sample(GST_APP_SINK(sink), 10 * GST_SECOND);
    if (!sample) break;
    GstBuffer* buf = gst_sample_get_buffer(sample);
    GstMapInfo map;
    if (buf && gst_buffer_map(buf, &map, GST_MAP_READ)) {
      frames.emplace_back(reinterpret_cast<const char*>(map.data), map.size);
      gst_buffer_unmap(buf, &map);
    }
    gst_sample_unref(sample);
  }
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(sink);
  gst_object_unref(pipeline);
  if (frames.empty()) spdlog::error("onvif sim: snapshot pipeline produced no JPEG");
  return frames;
}

}  // namespace

const std::string& snapshot_jpeg() {
  static const std::vector<std::string> frames = encode();  // thread-safe one-time init
  static const std::string none;
  if (frames.empty()) return none;
  auto s = std::chrono::duration_cast<std::chrono::seconds>(
               system_clock().monotonic().time_since_epoch())
               .count();
  return frames[static_cast<std::size_t>(s) % frames.size()];
}

}  // namespace zaulek::sim::onvif_sim
