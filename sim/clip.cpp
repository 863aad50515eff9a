#include "sim/clip.h"

#include <gst/app/gstappsink.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <system_error>

namespace zaulek::sim {
namespace {

const char* codec_name(Codec c) {
  return c == Codec::h264 ? "h264" : "h265";
}

// Runs a pipeline description to EOS; bounded so a wedged encoder cannot hang
// start-up forever.
Status run_to_eos(const std::string& description, std::chrono::seconds limit) {
  GError* err = nullptr;
  GstElement* pipeline = gst_parse_launch(description.c_str(), &err);
  if (pipeline == nullptr || err != nullptr) {
    std::string msg = err != nullptr ? err->message : "unknown error";
    if (err != nullptr) g_error_free(err);
    if (pipeline != nullptr) gst_object_unref(pipeline);
    return make_error(ErrorKind::internal, "clip pipeline: " + msg);
  }
  gst_element_set_state(pipeline, GST_STATE_PLAYING);
  GstBus* bus = gst_element_get_bus(pipeline);
  GstMessage* msg = gst_bus_timed_pop_filtered(
      bus, static_cast<GstClockTime>(std::chrono::nanoseconds(limit).count()),
      static_cast<GstMessageType>(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
  Status result;
  if (msg == nullptr) {
    result = make_error(ErrorKind::deadline_exceeded, "clip encode did not finish in time");
  } else if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_ERROR) {
    GError* e = nullptr;
    gst_message_parse_error(msg, &e, nullptr);
    result = make_error(ErrorKind::internal, std::string("clip pipeline: ") + e->message);
    g_error_free(e);
  }
  if (msg != nullptr) gst_message_unref(msg);
  gst_object_unref(bus);
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(pipeline);
  return result;
}

std::string encode_description(const ClipSpec& s, const std::string& out) {
  const int frames = s.fps * s.seconds;
  std::string enc;
  std::string parse;
  if (s.bframes) {
    // B-frames: x264's defaults (3, b-pyramid), fixed so that every GOP has
    // the pyramid; closed GOPs so that replay may start at any keyframe. The
    // file is MPEG-TS, which keeps each frame's PTS and DTS.
    if (s.codec == Codec::h264) {
      enc = "x264enc key-int-max=" + std::to_string(s.gop_frames) +
            " bitrate=" + std::to_string(s.bitrate_kbps) +
            " speed-preset=superfast sliced-threads=false bframes=3 b-pyramid=true b-adapt=false "
            "! video/x-h264,profile=main";
      parse = "h264parse config-interval=-1 ! video/x-h264,stream-format=byte-stream,alignment=au";
    } else {
      enc = "x265enc key-int-max=" + std::to_string(s.gop_frames) +
            " bitrate=" + std::to_string(s.bitrate_kbps) +
            " speed-preset=ultrafast option-string=\"bframes=3:b-adapt=0:b-pyramid=1:open-gop=0\"";
      parse = "h265parse config-interval=-1 ! video/x-h265,stream-format=byte-stream,alignment=au";
    }
    parse += " ! mpegtsmux";
  } else if (s.codec == Codec::h264) {
    // superfast: the one-time 1080p encode takes a few seconds; no B-frames
    // so that PTS == DTS and replay needs no reordering; one slice per frame
    // (zerolatency would slice), as most cameras send.
    enc = "x264enc key-int-max=" + std::to_string(s.gop_frames) +
          " bitrate=" + std::to_string(s.bitrate_kbps) +
          " speed-preset=superfast tune=zerolatency sliced-threads=false bframes=0 "
          "! video/x-h264,profile=main";
    parse = "h264parse config-interval=-1 ! video/x-h264,stream-format=byte-stream,alignment=au";
  } else {
    enc = "x265enc key-int-max=" + std::to_string(s.gop_frames) +
          " bitrate=" + std::to_string(s.bitrate_kbps) + " speed-preset=ultrafast tune=zerolatency";
    parse = "h265parse config-interval=-1 ! video/x-h265,stream-format=byte-stream,alignment=au";
  }
  const int font = s.height >= 720 ? 48 : 20;
  return "videotestsrc num-buffers=" + std::to_string(frames) +
         " pattern=smpte ! video/x-raw,format=I420,width=" + std::to_string(s.width) +
         ",height=" + std::to_string(s.height) + ",framerate=" + std::to_string(s.fps) +
         "/1 ! timeoverlay font-desc=\"Sans " + std::to_string(font) +
         "\" halignment=center valignment=center ! " + enc + " ! " + parse +
         " ! filesink location=\"" + out + "\"";
}

// Reads a cached byte-stream file back as access units.
// B-frames: each unit's presentation slot from its PTS, relative to its
// decode slot, shifted so that no unit presents before it is decoded. False
// when the PTS do not make one frame per slot.
bool set_pts_offsets(std::vector<AccessUnit>& units, const std::vector<GstClockTime>& pts,
                     int fps) {
  if (pts.size() != units.size() || pts.empty()) return false;
  GstClockTime first = GST_CLOCK_TIME_NONE;
  for (GstClockTime t : pts) {
    if (!GST_CLOCK_TIME_IS_VALID(t)) return false;
    first = GST_CLOCK_TIME_IS_VALID(first) ? std::min(first, t) : t;
  }
  const GstClockTime frame = GST_SECOND / static_cast<GstClockTime>(fps);
  std::vector<bool> taken(units.size(), false);
  std::vector<long long> offset(units.size());
  long long delay = 0;
  for (std::size_t i = 0; i < units.size(); ++i) {
    const auto slot = static_cast<std::size_t>((pts[i] - first + frame / 2) / frame);
    if (slot >= units.size() || taken[slot]) return false;
    taken[slot] = true;
    offset[i] = static_cast<long long>(slot) - static_cast<long long>(i);
    delay = std::max(delay, -offset[i]);
  }
  for (std::size_t i = 0; i < units.size(); ++i)
    units[i].pts_offset = static_cast<int>(offset[i] + delay);
  return true;
}

Result<std::vector<AccessUnit>> read_units(const ClipSpec& s, const std::filesystem::path& file) {
  std::string parse = s.codec == Codec::h264
                          ? "h264parse ! video/x-h264,stream-format=byte-stream,alignment=au"
                          : "h265parse ! video/x-h265,stream-format=byte-stream,alignment=au";
  if (s.bframes) parse = "tsdemux ! " + parse;
  const std::string description =
      "filesrc location=\"" + file.string() + "\" ! " + parse + " ! appsink name=sink sync=false";
  GError* err = nullptr;
  GstElement* pipeline = gst_parse_launch(description.c_str(), &err);
  if (pipeline == nullptr || err != nullptr) {
    std::string msg = err != nullptr ? err->message : "unknown error";
    if (err != nullptr) g_error_free(err);
    if (pipeline != nullptr) gst_object_unref(pipeline);
    return make_error(ErrorKind::internal, "clip reader: " + msg);
  }
  GstElement* sink = gst_bin_get_by_name(GST_BIN(pipeline), "sink");
  gst_element_set_state(pipeline, GST_STATE_PLAYING);
  std::vector<AccessUnit> units;
  std::vector<GstClockTime> pts;
  const std::size_t limit = static_cast<std::size_t>(s.fps) * s.seconds * 2;
  while (units.size() <= limit) {
    GstSample* sample = gst_app_sink_try_pull_sample(GST_APP_SINK(sink), 10 * GST_SECOND);
    if (sample == nullptr) break;  // EOS, error or timeout: checked below
    GstBuffer* buf = gst_sample_get_buffer(sample);
    AccessUnit au;
    au.buffer = gst_buffer_ref(buf);
    au.keyframe = !GST_BUFFER_FLAG_IS_SET(buf, GST_BUFFER_FLAG_DELTA_UNIT);
    units.push_back(au);
    pts.push_back(GST_BUFFER_PTS(buf));
    gst_sample_unref(sample);
  }
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(sink);
  gst_object_unref(pipeline);
  const std::size_t expected = static_cast<std::size_t>(s.fps) * s.seconds;
  if (units.size() != expected || !units.front().keyframe) {
    for (auto& u : units) gst_buffer_unref(u.buffer);
    return make_error(ErrorKind::data_loss, "clip " + file.string() + ": " +
                                                std::to_string(units.size()) +
                                                " frames, expected " + std::to_string(expected));
  }
  if (s.bframes && !set_pts_offsets(units, pts, s.fps)) {
    for (auto& u : units) gst_buffer_unref(u.buffer);
    return make_error(ErrorKind::data_loss,
                      "clip " + file.string() + ": presentation times are not one per frame");
  }
  return units;
}

}  // namespace

std::string ClipSpec::cache_name() const {
  return std::string(codec_name(codec)) + "-" + std::to_string(width) + "x" +
         std::to_string(height) + "-" + std::to_string(fps) + "fps-" +
         std::to_string(bitrate_kbps) + "k-" + std::to_string(seconds) + "s-g" +
         std::to_string(gop_frames) +
         (bframes ? "-b3-v2.ts" : "-v2." + std::string(codec_name(codec)));
}

Clip::Clip(ClipSpec spec, std::vector<AccessUnit> units) : spec_(spec), units_(std::move(units)) {
  for (std::size_t i = 0; i < units_.size(); ++i) {
    if (units_[i].keyframe) keyframes_.push_back(i);
  }
}

Clip::~Clip() {
  for (auto& u : units_) gst_buffer_unref(u.buffer);
}

std::size_t Clip::bytes() const {
  std::size_t n = 0;
  for (const auto& u : units_) n += gst_buffer_get_size(u.buffer);
  return n;
}

std::string Clip::caps() const {
  return std::string(spec_.codec == Codec::h264 ? "video/x-h264" : "video/x-h265") +
         ",stream-format=byte-stream,alignment=au,width=" + std::to_string(spec_.width) +
         ",height=" + std::to_string(spec_.height) + ",framerate=" + std::to_string(spec_.fps) +
         "/1";
}

std::filesystem::path default_cache_dir() {
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg != nullptr && *xdg != '\0') {
    return std::filesystem::path(xdg) / "zaulek-sim";
  }
  if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0') {
    return std::filesystem::path(home) / ".cache" / "zaulek-sim";
  }
  return "/tmp/zaulek-sim";
}

Result<std::shared_ptr<const Clip>> load_or_encode_clip(const ClipSpec& spec,
                                                        const std::filesystem::path& cache_dir) {
  std::error_code ec;
  std::filesystem::create_directories(cache_dir, ec);
  if (ec) {
    return make_error(ErrorKind::unavailable,
                      "cache directory " + cache_dir.string() + ": " + ec.message());
  }
  const auto file = cache_dir / spec.cache_name();
  if (std::filesystem::exists(file)) {
    auto units = read_units(spec, file);
    if (units) {
      spdlog::info("clip {}: {} frames from cache", file.string(), units->size());
      return std::make_shared<const Clip>(spec, std::move(*units));
    }
    spdlog::warn("clip cache unusable, encoding again: {}", units.error().message);
  }
  const auto tmp = cache_dir / (spec.cache_name() + ".tmp" + std::to_string(::getpid()));
  const auto started = std::chrono::steady_clock::now();
  if (auto st = run_to_eos(encode_description(spec, tmp.string()), std::chrono::seconds(600));
      !st) {
    std::filesystem::remove(tmp, ec);
    return st.error();
  }
  std::filesystem::rename(tmp, file, ec);
  if (ec) {
    std::filesystem::remove(tmp, ec);
    return make_error(ErrorKind::unavailable, "cache " + file.string() + ": " + ec.message());
  }
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - started);
  spdlog::info("clip {} encoded in {} ms", file.string(), took.count());
  auto units = read_units(spec, file);
  if (!units) return units.error();
  return std::make_shared<const Clip>(spec, std::move(*units));
}

}  // namespace zaulek::sim
