#include "sim/onvif/snapshot.h"

#include <gst/app/gstappsink.h>
#include <gst/gst.h>
#include <spdlog/spdlog.h>

namespace zaulek::sim::onvif_sim {
namespace {

std::string encode() {
  if (!gst_is_initialized()) gst_init(nullptr, nullptr);
  GError* err = nullptr;
  GstElement* pipeline = gst_parse_launch(
      "videotestsrc num-buffers=1 pattern=smpte ! video/x-raw,width=640,height=360 ! "
      "jpegenc ! appsink name=out sync=false",
      &err);
  if (!pipeline) {
    spdlog::error("onvif sim: snapshot pipeline: {}", err ? err->message : "unknown");
    if (err) g_error_free(err);
    return {};
  }
  std::string jpeg;
  GstElement* sink = gst_bin_get_by_name(GST_BIN(pipeline), "out");
  gst_element_set_state(pipeline, GST_STATE_PLAYING);
  // Bounded: one buffer or 10 s, whichever comes first.
  if (GstSample* sample = gst_app_sink_try_pull_sample(GST_APP_SINK(sink), 10 * GST_SECOND)) {
    GstBuffer* buf = gst_sample_get_buffer(sample);
    GstMapInfo map;
    if (buf && gst_buffer_map(buf, &map, GST_MAP_READ)) {
      jpeg.assign(reinterpret_cast<const char*>(map.data), map.size);
      gst_buffer_unmap(buf, &map);
    }
    gst_sample_unref(sample);
  }
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(sink);
  gst_object_unref(pipeline);
  if (jpeg.empty()) spdlog::error("onvif sim: snapshot pipeline produced no JPEG");
  return jpeg;
}

}  // namespace

const std::string& snapshot_jpeg() {
  static const std::string jpeg = encode();  // thread-safe one-time init
  return jpeg;
}

}  // namespace zaulek::sim::onvif_sim
