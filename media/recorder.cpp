#include "media/recorder.h"

#include "media/reorder.h"
#include "media/rtsp_client.h"
#include "media/segment.h"
#include "media/sps.h"

#include <gst/app/gstappsink.h>
#include <gst/gst.h>
#include <spdlog/spdlog.h>
#include <sys/statvfs.h>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <algorithm>
#include <atomic>
#include <deque>
#include <mutex>
#include <random>

namespace zaulek::media {
namespace asio = boost::asio;
namespace {

using Strand = asio::strand<asio::io_context::executor_type>;
constexpr std::int64_t kNtpToUnixNs = 2'208'988'800LL * 1'000'000'000LL;
constexpr std::int64_t kDefaultFrameNs = 40'000'000;  // 25 fps until we know better
// Samples posted to the strand but not yet written; beyond this the writer has
// fallen behind by seconds: drop, count, and end the segment (never silently).
constexpr int kMaxPendingSamples = 400;

// Move-only owners for GStreamer references carried through asio::post.
struct SampleRef {
  GstSample* s = nullptr;
  explicit SampleRef(GstSample* adopt) : s(adopt) {}
  SampleRef(SampleRef&& o) noexcept : s(std::exchange(o.s, nullptr)) {}
  SampleRef& operator=(SampleRef&& o) noexcept {
    if (this != &o) {
      if (s) gst_sample_unref(s);
      s = std::exchange(o.s, nullptr);
    }
    return *this;
  }
  ~SampleRef() {
    if (s) gst_sample_unref(s);
  }
};

// Never log credentials: drop any user:password@ part of a URL.
std::string redact_url(const std::string& url) {
  const auto scheme = url.find("://");
  if (scheme == std::string::npos) return url;
  const auto at = url.find('@', scheme + 3);
  const auto slash = url.find('/', scheme + 3);
  if (at == std::string::npos || (slash != std::string::npos && at > slash)) return url;
  return url.substr(0, scheme + 3) + "***@" + url.substr(at + 1);
}

GstCaps* ntp_caps() {
  static GstCaps* caps = gst_caps_new_empty_simple("timestamp/x-ntp");  // one per process
  return caps;
}

class RecorderImpl;

// What GStreamer's callbacks may hold: a weak reference to the camera, the
// strand to post to and the instance generation. Callbacks touch nothing else.
struct Link {
  std::weak_ptr<RecorderImpl> recorder;
  Strand strand;
  std::uint64_t generation = 0;
  GstElement* pipeline = nullptr;  // not owned; valid while callbacks can run
  std::atomic<int> pending{0};
  std::atomic<bool> overflow{false};
  std::atomic<bool> video_linked{false};
  std::atomic<bool> selected{false};
  Link(std::weak_ptr<RecorderImpl> r, Strand s, std::uint64_t g)
      : recorder(std::move(r)), strand(std::move(s)), generation(g) {}
};

// GLib user data: a heap shared_ptr released by the destroy notify.
using LinkHolder = std::shared_ptr<Link>;
void free_holder(gpointer data) {
  delete static_cast<LinkHolder*>(data);
}
void free_holder_closure(gpointer data, GClosure*) {
  free_holder(data);
}

}  // namespace

void init_gstreamer() {
  static std::once_flag once;
  std::call_once(once, [] { gst_init(nullptr, nullptr); });
}

namespace {

// One access unit on its way to the writer (held back one frame, or in the
// events-mode pre-buffer).
struct Pending {
  SampleRef sample{nullptr};
  std::vector<std::uint8_t> extra;  // untimed continuation buffers
  std::vector<std::uint8_t> data;   // native ingest: the whole unit, byte-stream
  bool native = false;
  bool empty() const { return !sample.s && !native; }
  std::int64_t media_ns = 0;
  std::int64_t cts_ns = 0;
  bool keyframe = false;
};

class RecorderImpl final : public Recorder, public std::enable_shared_from_this<RecorderImpl> {
 public:
  RecorderImpl(asio::io_context& io, const Clock& clock, CameraConfig config,
               SegmentCallback on_segment, StateCallback on_state)
      : strand_(asio::make_strand(io)),
        clock_(clock),
        cfg_(std::move(config)),
        on_segment_(std::move(on_segment)),
        on_state_(std::move(on_state)),
        tick_timer_(strand_),
        retry_timer_(strand_),
        backoff_(cfg_.backoff_initial),
        rng_(std::random_device{}()) {
    stats_.state = "stopped";
  }

  ~RecorderImpl() override {
    teardown();
    gst_caps_replace(&last_caps_, nullptr);
  }

  void start() override {
    asio::post(strand_, [self = shared_from_this()] {
      if (self->running_) return;
      self->running_ = true;
      self->stopping_ = false;
      self->build();
      self->schedule_tick();
    });
  }

  void stop(std::function<void()> done) override {
    asio::post(strand_, [self = shared_from_this(), done = std::move(done)] {
      self->stopping_ = true;
      self->running_ = false;
      self->teardown();
      self->write_pending(self->clock_.monotonic());
      self->close_segment("stop");
      self->tick_timer_.cancel();
      self->retry_timer_.cancel();
      self->set_state("stopped", "");
      if (done) done();
    });
  }

  void event(bool active) override {
    asio::post(strand_, [self = shared_from_this(), active] {
      const MonoTime now = self->clock_.monotonic();
      if (active) {
        self->event_active_ = true;
      } else if (self->event_active_) {
        self->event_active_ = false;
        self->post_until_ = now + self->cfg_.post_event;
      }
    });
  }

  void stats(std::function<void(const CameraStats&)> fn) override {
    asio::post(strand_, [self = shared_from_this(), fn = std::move(fn)] {
      CameraStats s = self->stats_;
      if (self->seg_ && self->seg_info_.frames > 0) {
        s.open_start_ns = self->seg_start_ns_;
        s.open_end_ns = self->seg_last_wall_ns_ + self->frame_ns_;
      }
      fn(s);
    });
  }

  // --- called on the strand from posted GStreamer callbacks ---

  void on_sample(std::uint64_t generation, SampleRef sample) {
    if (generation != generation_ || !link_) return;
    link_->pending.fetch_sub(1, std::memory_order_relaxed);
    const MonoTime now = clock_.monotonic();
    last_data_ = now;
    if (stats_.state != "recording") set_state("recording", "");
    if (link_->overflow.exchange(false)) {
      ++stats_.dropped_overflow;
      spdlog::error("camera {}: writer fell behind, frames dropped; segment ended", cfg_.id);
      write_pending(now);
      close_segment("overflow");
    }
    GstBuffer* buf = gst_sample_get_buffer(sample.s);
    GstCaps* caps = gst_sample_get_caps(sample.s);
    if (!buf || !caps) return;
    if (caps != last_caps_) {
      // New caps object; the format changed only if the contents differ.
      if (!last_caps_ || !gst_caps_is_equal(caps, last_caps_)) {
        write_pending(now);  // it belongs to the old format
        update_format(caps);
      }
      gst_caps_replace(&last_caps_, caps);
    }

    // Buffers without timestamps: seen in the field ("Buffer has no PTS"
    // killed mp4mux), and h264parse 1.22 splits multi-slice keyframes into a
    // timed buffer and an untimed rest. An untimed buffer is the rest of the
    // frame before it: append it. Counted either way.
    GstClockTime pts = GST_BUFFER_PTS(buf);
    GstClockTime dts = GST_BUFFER_DTS(buf);
    if (!GST_CLOCK_TIME_IS_VALID(pts) && !GST_CLOCK_TIME_IS_VALID(dts)) {
      ++stats_.no_pts_fixed;
      if (!pending_.empty()) {
        GstMapInfo map;
        if (gst_buffer_map(buf, &map, GST_MAP_READ)) {
          pending_.extra.insert(pending_.extra.end(), map.data, map.data + map.size);
          gst_buffer_unmap(buf, &map);
        }
      }
      return;  // with nothing before it, there is nothing to time it by
    }
    write_pending(now);
    // The RTP timestamp is the presentation time; decode times are derived
    // the same way as on the native ingest (media/reorder.h), whatever the
    // parser guessed.
    if (!GST_CLOCK_TIME_IS_VALID(pts)) pts = dts;
    const bool keyframe = !GST_BUFFER_FLAG_IS_SET(buf, GST_BUFFER_FLAG_DELTA_UNIT);
    if (GST_BUFFER_DURATION_IS_VALID(buf) && GST_BUFFER_DURATION(buf) > 0 &&
        GST_BUFFER_DURATION(buf) < GST_SECOND)
      frame_ns_ = static_cast<std::int64_t>(GST_BUFFER_DURATION(buf));
    std::optional<std::int64_t> ntp_wall;
    if (auto* meta = gst_buffer_get_reference_timestamp_meta(buf, ntp_caps()))
      ntp_wall = static_cast<std::int64_t>(meta->timestamp) - kNtpToUnixNs;
    const std::int64_t cts_ns = time_frame(static_cast<std::int64_t>(pts), keyframe, ntp_wall);
    pending_.sample = std::move(sample);
    pending_.extra.clear();
    pending_.media_ns = media_ns_;
    pending_.cts_ns = cts_ns;
    pending_.keyframe = keyframe;
  }

  // Times one frame given its presentation time, in decode order: derives
  // its decode time (B-frames: media/reorder.h), advances the time line and
  // returns the composition offset (PTS - DTS, >= 0).
  std::int64_t time_frame(std::int64_t pts_ns, bool keyframe,
                          std::optional<std::int64_t> ntp_wall) {
    const DecodeTimes::Frame d = reorder_.push(pts_ns, keyframe);
    const std::int64_t cts_ns = pts_ns - d.dts;
    advance_time(d.dts, cts_ns, ntp_wall, d.jump);
    return cts_ns;
  }

  // Media time and wall time of the frame whose stream DTS is dts_ns;
  // ntp_wall: its presentation time from an RTCP sender report, when known.
  // jump: the decode times say a new time line starts here (media/reorder.h).
  void advance_time(std::int64_t dts_ns, std::int64_t cts_ns, std::optional<std::int64_t> ntp_wall,
                    bool jump) {
    // Frame spacing from the presentation times (not from DTS steps, which
    // skip ahead once when the reorder depth is lowered).
    if (const std::int64_t f = reorder_.frame_ns(); f > 1'000'000 && f < 1'000'000'000)
      frame_ns_ = f;
    // Media time: the derived DTS made continuous. A jump back, or forward by
    // more than 10 s, is replaced by one frame's duration and counted.
    // Nor may it run ahead of our own clock (media/reorder.h paced_step).
    const MonoTime mono = clock_.monotonic();
    if (!have_last_) {
      media_ns_ = 0;
      pace_mono_ = mono;
    } else {
      std::int64_t delta = dts_ns - last_dts_;
      if (jump || delta <= 0 || delta > 10'000'000'000LL) {
        ++stats_.timestamp_jumps;
        delta = frame_ns_;
      }
      const std::int64_t paced = paced_step(
          media_ns_,
          std::chrono::duration_cast<std::chrono::nanoseconds>(mono - pace_mono_).count(), delta);
      if (paced != delta) ++stats_.timestamp_jumps;
      media_ns_ += paced;
    }
    last_dts_ = dts_ns;
    have_last_ = true;

    // Wall time: an anchor (wall, media) advanced by media time. The anchor is
    // the arrival time of the first frame, replaced by the RTCP sender
    // report's NTP time whenever a buffer carries it. See docs/design/time.md.
    if (!anchored_) {
      anchor_media_ = media_ns_;
      anchor_wall_ns_ = to_ns(clock_.realtime());
      anchored_ = true;
    }
    if (ntp_wall) {
      if (*ntp_wall > 0) {
        ++stats_.ntp_frames;
        anchor_media_ = media_ns_;
        anchor_wall_ns_ = *ntp_wall - cts_ns;  // the SR maps presentation time
        if (!ntp_seen_) {
          // How far the camera's clock (via its sender reports) is from ours
          // at arrival: a wrong camera clock shows here.
          ntp_seen_ = true;
          stats_.ntp_offset_ms = (anchor_wall_ns_ - to_ns(clock_.realtime())) / 1'000'000;
          spdlog::info("camera {}: sender report time is {} ms from arrival time", cfg_.id,
                       stats_.ntp_offset_ms);
        }
      }
    }
  }

  // Hands on the frame held back (one frame, so that an untimed continuation
  // can still join it) according to the recording mode.
  void write_pending(MonoTime now) {
    if (pending_.empty()) return;
    Pending f = std::move(pending_);
    pending_ = Pending{};
    switch (cfg_.mode) {
      case RecordingMode::continuous:
        write_frame(f, now);
        return;
      case RecordingMode::off:
        ++stats_.not_recorded;
        return;
      case RecordingMode::events:
        break;
    }
    if (event_active_ || now < post_until_) {
      // Pre-event footage first, from the keyframe before (start - pre).
      for (auto& old : prebuf_) write_frame(old, now);
      prebuf_.clear();
      prebuf_bytes_ = 0;
      write_frame(f, now);
      return;
    }
    if (seg_) close_segment("event over");
    const GstBuffer* buf = f.sample.s ? gst_sample_get_buffer(f.sample.s) : nullptr;
    const std::size_t size = (buf ? gst_buffer_get_size(const_cast<GstBuffer*>(buf)) : 0) +
                             f.extra.size() + f.data.size();
    if (prebuf_.empty() && !f.keyframe) {
      ++stats_.not_recorded;
      return;
    }
    prebuf_bytes_ += size;
    prebuf_sizes_.push_back(size);
    prebuf_.push_back(std::move(f));
    trim_prebuffer();
  }

  // Keeps the pre-buffer starting at the last keyframe at or before
  // (newest - pre_event), and under its byte cap (dropping whole GOPs).
  void trim_prebuffer() {
    const std::int64_t pre =
        std::chrono::duration_cast<std::chrono::nanoseconds>(cfg_.pre_event).count();
    const std::int64_t newest = prebuf_.back().media_ns;
    std::size_t keep_from = 0;
    for (std::size_t i = 0; i < prebuf_.size(); ++i) {
      if (prebuf_[i].media_ns > newest - pre) break;
      if (prebuf_[i].keyframe) keep_from = i;
    }
    auto drop_front = [this](std::size_t n) {
      for (std::size_t i = 0; i < n; ++i) {
        prebuf_bytes_ -= prebuf_sizes_.front();
        prebuf_sizes_.pop_front();
        prebuf_.pop_front();
        ++stats_.not_recorded;
      }
    };
    drop_front(keep_from);
    while (prebuf_bytes_ > cfg_.pre_event_max_bytes && prebuf_.size() > 1) {
      std::size_t next_key = 1;
      while (next_key < prebuf_.size() && !prebuf_[next_key].keyframe) ++next_key;
      if (next_key >= prebuf_.size()) next_key = prebuf_.size();  // no later keyframe: all
      drop_front(next_key);
    }
  }

  void clear_prebuffer() {
    prebuf_.clear();
    prebuf_sizes_.clear();
    prebuf_bytes_ = 0;
  }

  // Writes one frame, opening and cutting segments at keyframes.
  void write_frame(Pending& f, MonoTime now) {
    SampleRef sample = std::move(f.sample);
    if (!sample.s && !f.native) return;
    const bool keyframe = f.keyframe;
    const std::int64_t media = f.media_ns;
    const std::int64_t cts = std::max<std::int64_t>(0, f.cts_ns);
    if (seg_ && keyframe &&
        // Half a frame of slack: early frames' jittery timestamps must not
        // push the cut a whole GOP later. Presentation time: decode times
        // step once when the reorder depth is lowered.
        media + cts - seg_start_media_ - seg_start_cts_ + frame_ns_ / 2 >=
            std::chrono::duration_cast<std::chrono::nanoseconds>(cfg_.segment_duration).count()) {
      close_segment("duration");
    }
    if (!seg_) {
      if (!keyframe || !format_known_) {
        ++stats_.waiting_keyframe;
        return;
      }
      // Within a segment time is media time (smooth, exact durations); the
      // wall clock only places the segment's start, never before the end of
      // the previous one.
      // The segment starts when its first frame is presented (its decode
      // time plus its composition offset).
      std::int64_t start = anchor_wall_ns_ + (media - anchor_media_) + cts;
      if (start < last_end_ns_) start = last_end_ns_;
      if (!open_segment(start, now)) return;
      seg_start_media_ = media;
      seg_start_cts_ = cts;
    }
    GstBuffer* buf = sample.s ? gst_sample_get_buffer(sample.s) : nullptr;
    GstMapInfo map{};
    if (buf && !gst_buffer_map(buf, &map, GST_MAP_READ)) return;
    struct Unmap {
      GstBuffer* b;
      GstMapInfo* m;
      ~Unmap() {
        if (b) gst_buffer_unmap(b, m);
      }
    } unmap{buf, &map};
    const std::int64_t rel = media - seg_start_media_;
    const std::uint64_t dts90 =
        ts::kTimestampOrigin + static_cast<std::uint64_t>(rel * 9 / 100'000);
    const std::uint64_t pts90 = dts90 + static_cast<std::uint64_t>(cts * 9 / 100'000);
    std::span<const std::uint8_t> au = f.native ? std::span<const std::uint8_t>(f.data)
                                                : std::span<const std::uint8_t>(map.data, map.size);
    if (!f.extra.empty()) {
      joined_.assign(au.begin(), au.end());
      joined_.insert(joined_.end(), f.extra.begin(), f.extra.end());
      au = joined_;
    }
    if (!byte_stream_ && !f.native) {
      converted_.clear();
      if (!ts::to_byte_stream(au, length_size_, codec_, converted_)) {
        ++stats_.malformed;
        f.extra.clear();
        return;
      }
      au = converted_;
    }
    if (keyframe) au = params_.fix(au, codec_, scratch_);
    Status st = seg_->add_frame(au, pts90, dts90, keyframe, now);
    stats_.bytes += au.size();
    f.extra.clear();
    if (!st) {
      fail("write: " + st.error().message);
      return;
    }
    ++stats_.frames;
    ++seg_info_.frames;
    if (keyframe) ++seg_info_.keyframes;
    // The segment ends with the frame presented last, which with B-frames is
    // not the one decoded last.
    seg_last_wall_ns_ = std::max(seg_last_wall_ns_, seg_start_ns_ + rel + cts - seg_start_cts_);
  }

  void on_message(std::uint64_t generation, GstMessageType type, std::string text) {
    if (generation != generation_) return;
    if (type == GST_MESSAGE_WARNING) {
      spdlog::warn("camera {}: {}", cfg_.id, text);
      return;
    }
    fail(type == GST_MESSAGE_EOS ? std::string("end of stream") : text);
  }

  void on_failure(std::uint64_t generation, std::string text) {
    if (generation != generation_) return;
    fail(std::move(text));
  }

 private:
  static std::int64_t to_ns(WallTime t) {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
  }

  void set_state(const std::string& state, const std::string& detail) {
    if (state == stats_.state && detail.empty()) return;
    stats_.state = state;
    if (!detail.empty()) stats_.last_error = detail;
    if (on_state_) on_state_(cfg_.id, state, detail);
  }

  void update_format(GstCaps* caps) {
    if (spdlog::should_log(spdlog::level::debug)) {
      gchar* text = gst_caps_to_string(caps);
      spdlog::debug("camera {}: caps {}", cfg_.id, text);
      g_free(text);
    }
    const GstStructure* s = gst_caps_get_structure(caps, 0);
    if (!s) return;
    const std::string name = gst_structure_get_name(s);
    Codec codec = Codec::h264;
    if (name == "video/x-h265") {
      codec = Codec::h265;
    } else if (name != "video/x-h264") {
      return;
    }
    int w = 0;
    int h = 0;
    gst_structure_get_int(s, "width", &w);
    gst_structure_get_int(s, "height", &h);
    set_format(codec, w, h);
    length_size_ = 4;
    if (const GValue* v = gst_structure_get_value(s, "codec_data");
        v && GST_VALUE_HOLDS_BUFFER(v)) {
      GstBuffer* cd = gst_value_get_buffer(v);
      GstMapInfo map;
      if (cd && gst_buffer_map(cd, &map, GST_MAP_READ)) {
        std::vector<std::uint8_t> params;
        int length_size = 4;
        if (ts::parse_codec_data({map.data, map.size}, codec, params, length_size)) {
          length_size_ = length_size;
          if (!params.empty()) params_.set(params);
        } else {
          spdlog::warn("camera {}: malformed codec_data ignored", cfg_.id);
        }
        gst_buffer_unmap(cd, &map);
      }
    }
    const gchar* fmt = gst_structure_get_string(s, "stream-format");
    byte_stream_ = fmt && std::string_view(fmt) == "byte-stream";
  }

  // A change of codec or resolution ends the segment (and the pre-buffer).
  void set_format(Codec codec, int w, int h) {
    if (format_known_ && (codec != codec_ || w != width_ || h != height_)) {
      clear_prebuffer();
      spdlog::info("camera {}: format changed to {} {}x{}; new segment", cfg_.id, to_string(codec),
                   w, h);
      close_segment("format change");
    }
    if (codec != codec_) params_ = ts::ParamSets{};
    codec_ = codec;
    width_ = w;
    height_ = h;
    format_known_ = true;
  }

  // --- native ingest (media/rtsp_client.h), on the strand ---

  // The SPS of a byte-stream unit: its picture size, if it carries one.
  std::optional<PictureSize> unit_picture_size(std::span<const std::uint8_t> au) const {
    for (std::size_t i = 0; i + 4 < au.size(); ++i) {
      if (au[i] != 0 || au[i + 1] != 0 || au[i + 2] != 1) continue;
      const std::uint8_t first = au[i + 3];
      const bool sps = codec_ == Codec::h264 ? (first & 0x1f) == 7 : ((first >> 1) & 0x3f) == 33;
      if (!sps) continue;
      std::size_t end = i + 3;
      while (end + 2 < au.size() && !(au[end] == 0 && au[end + 1] == 0 && au[end + 2] <= 1)) ++end;
      if (end + 2 >= au.size()) end = au.size();
      return sps_picture_size(codec_, au.subspan(i + 3, end - i - 3));
    }
    return std::nullopt;
  }

  void on_native_playing(std::uint64_t generation, const RtspStream& stream) {
    if (generation != generation_) return;
    write_pending(clock_.monotonic());
    clock_rate_ = stream.clock_rate;
    byte_stream_ = true;
    length_size_ = 4;
    if (stream.codec != codec_) {
      if (format_known_) {
        clear_prebuffer();
        close_segment("format change");
      }
      params_ = ts::ParamSets{};
      codec_ = stream.codec;
      format_known_ = false;
    }
    if (!stream.params.empty()) {
      params_.set(stream.params);
      if (auto size = unit_picture_size(stream.params))
        set_format(stream.codec, size->width, size->height);
    }
    spdlog::debug("camera {}: native ingest playing {} ({} Hz){}", cfg_.id, to_string(codec_),
                  clock_rate_, format_known_ ? "" : ", size from the first keyframe");
  }

  void on_unit(std::uint64_t generation, const rtp::AccessUnit& u,
               std::optional<std::int64_t> wall_ns) {
    if (generation != generation_) return;
    const MonoTime now = clock_.monotonic();
    last_data_ = now;
    if (stats_.state != "recording") set_state("recording", "");
    if (u.keyframe) {
      // In-band parameter sets: the size at the start, a change later.
      auto size = unit_picture_size(u.data);
      if (size && (!format_known_ || size->width != width_ || size->height != height_)) {
        write_pending(now);
        set_format(codec_, size->width, size->height);
      } else if (!format_known_) {
        set_format(codec_, 0, 0);  // no SPS anywhere: record, size unknown
      }
    }
    write_pending(now);
    // RTP time (the presentation time) made 64-bit; split so that a long
    // connection cannot overflow the nanoseconds.
    const std::int64_t ticks = rtp_clock_.ticks(u.rtp_time);
    const std::int64_t rate = clock_rate_ > 0 ? clock_rate_ : 90'000;
    const std::int64_t pts_ns =
        ticks / rate * 1'000'000'000LL + ticks % rate * 1'000'000'000LL / rate;
    const std::int64_t cts_ns = time_frame(pts_ns, u.keyframe, wall_ns);
    pending_.native = true;
    pending_.data.assign(u.data.begin(), u.data.end());
    pending_.media_ns = media_ns_;
    pending_.cts_ns = cts_ns;
    pending_.keyframe = u.keyframe;
  }

  void build_native() {
    const std::uint64_t generation = generation_;
    RtspTarget target;
    target.url = cfg_.url;
    target.username = cfg_.username;
    target.password = cfg_.password;
    target.allow_basic = cfg_.allow_basic_auth;
    target.timeout = cfg_.stall_timeout;
    RtspHandlers h;
    std::weak_ptr<RecorderImpl> weak = weak_from_this();
    h.on_playing = [weak, generation](const RtspStream& st) {
      if (auto r = weak.lock()) r->on_native_playing(generation, st);
    };
    h.on_unit = [weak, generation](const rtp::AccessUnit& u, std::optional<std::int64_t> wall) {
      if (auto r = weak.lock()) r->on_unit(generation, u, wall);
    };
    h.on_error = [weak, generation](const std::string& e) {
      if (auto r = weak.lock()) r->on_failure(generation, e);
    };
    rtsp_ = make_rtsp_client(strand_, std::move(target), std::move(h));
    set_state("connecting", "");
    spdlog::info("camera {}: connecting to {} over tcp (native ingest)", cfg_.id,
                 redact_url(cfg_.url));
    rtsp_->start();
  }

  bool open_segment(std::int64_t wall_ns, MonoTime now) {
    if (cfg_.min_free_bytes) {
      const std::uint64_t need = cfg_.min_free_bytes();
      struct statvfs st {};
      if (need > 0 && ::statvfs(cfg_.dir.c_str(), &st) == 0 &&
          static_cast<std::uint64_t>(st.f_bavail) * st.f_frsize < need) {
        fail(
            fmt::format("segment: disk full: {:.1f} MiB free on {}, a new segment needs {:.1f} MiB",
                        static_cast<double>(st.f_bavail) * st.f_frsize / 1048576.0,
                        cfg_.dir.string(), static_cast<double>(need) / 1048576.0));
        return false;
      }
    }
    ts::StreamMeta meta{codec_, width_, height_, wall_ns};
    SegmentPolicy policy{cfg_.flush_interval, cfg_.sync_interval};
    auto w = SegmentWriter::create(cfg_.dir, meta, policy, now);
    if (!w) {
      fail("segment: " + w.error().message);
      return false;
    }
    seg_ = std::move(*w);
    seg_start_ns_ = wall_ns;
    seg_last_wall_ns_ = wall_ns;
    seg_info_ = SegmentInfo{};
    seg_info_.camera_id = cfg_.id;
    seg_info_.codec = codec_;
    seg_info_.width = width_;
    seg_info_.height = height_;
    seg_info_.start =
        WallTime{std::chrono::duration_cast<WallTime::duration>(std::chrono::nanoseconds{wall_ns})};
    return true;
  }

  void close_segment(const char* why) {
    if (!seg_) return;
    seg_info_.end = WallTime{std::chrono::duration_cast<WallTime::duration>(
        std::chrono::nanoseconds{seg_last_wall_ns_ + frame_ns_})};
    last_end_ns_ = seg_last_wall_ns_ + frame_ns_;
    auto path = seg_->finish();
    seg_info_.bytes = seg_->written();  // what is in the file (a failed write is cut off)
    const std::filesystem::path part = seg_->part_path();
    seg_.reset();
    if (!path && path.error().kind == ErrorKind::not_found) {
      spdlog::warn("camera {}: closing segment ({}): {}", cfg_.id, why, path.error().message);
      return;
    }
    if (!path) {
      spdlog::error("camera {}: closing {} ({}): {}; left for reconciliation", cfg_.id,
                    part.string(), why, path.error().message);
      return;
    }
    seg_info_.path = *path;
    ++stats_.segments;
    if (on_segment_) on_segment_(seg_info_);
  }

  void build();
  void teardown();

  void fail(std::string reason) {
    if (stopping_) return;
    spdlog::warn("camera {}: pipeline ended: {}; retry in {} ms", cfg_.id, reason,
                 backoff_.count());
    teardown();
    write_pending(clock_.monotonic());
    close_segment("pipeline ended");
    stats_.last_error = reason;
    set_state("backoff", reason);
    // Jitter +-25% so that cameras that failed together do not return together.
    std::uniform_real_distribution<double> jitter(0.75, 1.25);
    const auto wait = std::chrono::milliseconds(
        static_cast<std::int64_t>(static_cast<double>(backoff_.count()) * jitter(rng_)));
    backoff_ = std::min(backoff_ * 2, cfg_.backoff_max);
    retry_timer_.expires_after(wait);
    retry_timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
      if (ec || !self->running_ || self->stopping_) return;
      ++self->stats_.restarts;
      self->build();
    });
  }

  void schedule_tick() {
    tick_timer_.expires_after(std::chrono::milliseconds(250));
    tick_timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
      if (ec || !self->running_) return;
      self->tick();
      self->schedule_tick();
    });
  }

  void tick() {
    const MonoTime now = clock_.monotonic();
    if (cfg_.mode == RecordingMode::events && seg_ && !event_active_ && now >= post_until_) {
      write_pending(now);
      close_segment("event over");
    }
    if (seg_) {
      if (auto st = seg_->tick(now); !st) {
        fail("write: " + st.error().message);
        return;
      }
      // Frames reached the file: the camera and the disk work. (Not at the
      // segment's opening: with a full disk every retry opens one, and the
      // backoff must still grow.)
      if (seg_->written() > 0) backoff_ = cfg_.backoff_initial;
    }
    if ((pipeline_ || rtsp_) && now - last_data_ > cfg_.stall_timeout) {
      fail("no data for " + std::to_string(cfg_.stall_timeout.count()) + " ms");
    }
  }

  Strand strand_;
  const Clock& clock_;
  CameraConfig cfg_;
  SegmentCallback on_segment_;
  StateCallback on_state_;
  asio::steady_timer tick_timer_;
  asio::steady_timer retry_timer_;
  std::chrono::milliseconds backoff_;
  std::mt19937 rng_;
  bool running_ = false;
  bool stopping_ = false;

  GstElement* pipeline_ = nullptr;
  std::shared_ptr<Link> link_;
  std::shared_ptr<RtspClient> rtsp_;  // native ingest instead of pipeline_
  std::uint32_t clock_rate_ = 90'000;
  std::uint64_t generation_ = 0;
  MonoTime last_data_{};

  // Format of the stream as the parser reports it.
  GstCaps* last_caps_ = nullptr;  // ref held
  bool format_known_ = false;
  Codec codec_ = Codec::h264;
  int width_ = 0;
  int height_ = 0;

  // Time line of the current pipeline instance.
  bool anchored_ = false;
  bool ntp_seen_ = false;
  bool have_last_ = false;
  std::int64_t anchor_media_ = 0;
  std::int64_t anchor_wall_ns_ = 0;
  std::int64_t last_dts_ = 0;  // the derived DTS of the last frame
  DecodeTimes reorder_;        // PTS (RTP) -> DTS; keeps the learned depth
  MonoTime pace_mono_{};       // when media time 0 of this instance arrived
  RtpUnwrap rtp_clock_;
  std::int64_t media_ns_ = 0;  // continuous media time of the last frame
  std::int64_t frame_ns_ = kDefaultFrameNs;
  std::int64_t last_end_ns_ = 0;  // end of the last closed segment (ordering)

  Pending pending_;
  std::deque<Pending> prebuf_;  // events mode: frames before an event
  std::deque<std::size_t> prebuf_sizes_;
  std::size_t prebuf_bytes_ = 0;
  bool event_active_ = false;
  MonoTime post_until_{};
  std::vector<std::uint8_t> joined_;
  std::vector<std::uint8_t> converted_;
  int length_size_ = 4;
  bool byte_stream_ = false;
  ts::ParamSets params_;
  std::vector<std::uint8_t> scratch_;
  std::unique_ptr<SegmentWriter> seg_;
  SegmentInfo seg_info_;
  std::int64_t seg_start_ns_ = 0;
  std::int64_t seg_start_media_ = 0;
  std::int64_t seg_start_cts_ = 0;  // composition offset of the segment's first frame
  std::int64_t seg_last_wall_ns_ = 0;
  CameraStats stats_;
};

// --- GStreamer callbacks: streaming threads; they only post. ---

void post_failure(const LinkHolder& link, std::string text) {
  asio::post(link->strand,
             [weak = link->recorder, gen = link->generation, text = std::move(text)]() mutable {
               if (auto r = weak.lock()) r->on_failure(gen, std::move(text));
             });
}

GstFlowReturn on_new_sample(GstAppSink* sink, gpointer data) {
  const LinkHolder& link = *static_cast<LinkHolder*>(data);
  GstSample* sample = gst_app_sink_pull_sample(sink);
  if (!sample) return GST_FLOW_EOS;
  if (link->pending.load(std::memory_order_relaxed) >= kMaxPendingSamples) {
    gst_sample_unref(sample);
    link->overflow.store(true);
    return GST_FLOW_OK;
  }
  link->pending.fetch_add(1, std::memory_order_relaxed);
  asio::post(link->strand,
             [weak = link->recorder, gen = link->generation, s = SampleRef(sample)]() mutable {
               if (auto r = weak.lock()) r->on_sample(gen, std::move(s));
             });
  return GST_FLOW_OK;
}

GstBusSyncReply on_bus(GstBus*, GstMessage* msg, gpointer data) {
  const LinkHolder& link = *static_cast<LinkHolder*>(data);
  const GstMessageType type = GST_MESSAGE_TYPE(msg);
  if (type != GST_MESSAGE_ERROR && type != GST_MESSAGE_EOS && type != GST_MESSAGE_WARNING)
    return GST_BUS_DROP;
  std::string text;
  if (type != GST_MESSAGE_EOS) {
    GError* err = nullptr;
    gchar* dbg = nullptr;
    if (type == GST_MESSAGE_ERROR) {
      gst_message_parse_error(msg, &err, &dbg);
    } else {
      gst_message_parse_warning(msg, &err, &dbg);
    }
    text = std::string(GST_OBJECT_NAME(GST_MESSAGE_SRC(msg))) + ": " +
           (err ? err->message : "unknown");
    if (err) g_error_free(err);
    g_free(dbg);  // debug strings may carry URLs; not logged
  }
  asio::post(link->strand, [weak = link->recorder, gen = link->generation, type,
                            text = std::move(text)]() mutable {
    if (auto r = weak.lock()) r->on_message(gen, type, std::move(text));
  });
  return GST_BUS_DROP;
}

// rtspsrc asks per stream whether to set it up: only the first video stream,
// so audio and metadata tracks cost nothing.
gboolean on_select_stream(GstElement*, guint, GstCaps* caps, gpointer data) {
  const LinkHolder& link = *static_cast<LinkHolder*>(data);
  const GstStructure* s = gst_caps_get_structure(caps, 0);
  const gchar* media = s ? gst_structure_get_string(s, "media") : nullptr;
  if (!media || std::string_view(media) != "video") return FALSE;
  bool expected = false;
  return link->selected.compare_exchange_strong(expected, true) ? TRUE : FALSE;
}

GstElement* make(const char* factory) {
  return gst_element_factory_make(factory, nullptr);
}

void on_pad_added(GstElement*, GstPad* pad, gpointer data) {
  const LinkHolder& link = *static_cast<LinkHolder*>(data);
  GstCaps* caps = gst_pad_get_current_caps(pad);
  if (!caps) caps = gst_pad_query_caps(pad, nullptr);
  const GstStructure* s = gst_caps_get_structure(caps, 0);
  const gchar* media = s ? gst_structure_get_string(s, "media") : nullptr;
  const gchar* enc = s ? gst_structure_get_string(s, "encoding-name") : nullptr;
  const std::string encoding = enc ? enc : "";
  const bool video = media && std::string_view(media) == "video";
  gst_caps_unref(caps);
  GstBin* bin = GST_BIN(link->pipeline);
  bool expected = false;
  if (!video || !link->video_linked.compare_exchange_strong(expected, true)) {
    // Anything else is sunk so that it never returns not-linked upstream.
    GstElement* sink = make("fakesink");
    g_object_set(sink, "sync", FALSE, "async", FALSE, nullptr);
    gst_bin_add(bin, sink);
    gst_element_sync_state_with_parent(sink);
    GstPad* sinkpad = gst_element_get_static_pad(sink, "sink");
    gst_pad_link(pad, sinkpad);
    gst_object_unref(sinkpad);
    return;
  }
  const bool h264 = encoding == "H264";
  const bool h265 = encoding == "H265";
  if (!h264 && !h265) {
    post_failure(link, "unsupported codec '" + encoding + "' (H.264 and H.265 are recorded)");
    return;
  }
  GstElement* depay = make(h264 ? "rtph264depay" : "rtph265depay");
  GstElement* parse = make(h264 ? "h264parse" : "h265parse");
  GstElement* filter = make("capsfilter");
  GstElement* tee = make("tee");
  GstElement* queue = make("queue");
  GstElement* sink = make("appsink");
  if (!depay || !parse || !filter || !tee || !queue || !sink) {
    for (GstElement* e : {depay, parse, filter, tee, queue, sink})
      if (e) gst_object_unref(gst_object_ref_sink(e));
    post_failure(link, "missing GStreamer elements for " + encoding);
    return;
  }
  // Not config-interval=-1: ParamSets (ts.h) puts the parameter sets from
  // codec_data in front of keyframes that lack them, without splitting frames.
  // Length-prefixed: the depayloaders give whole frames this way (their
  // byte-stream output can split a keyframe); ts.cpp converts.
  GstCaps* want =
      gst_caps_new_simple(h264 ? "video/x-h264" : "video/x-h265", "stream-format", G_TYPE_STRING,
                          h264 ? "avc" : "hvc1", "alignment", G_TYPE_STRING, "au", nullptr);
  g_object_set(filter, "caps", want, nullptr);
  gst_caps_unref(want);
  // The record branch's bound: 2 s or 8 MB or 200 frames; it blocks upstream
  // (the appsink callback never blocks, so this only fills if a thread starves).
  g_object_set(queue, "max-size-buffers", 200u, "max-size-bytes", 8u * 1024 * 1024, "max-size-time",
               static_cast<guint64>(2 * GST_SECOND), nullptr);
  g_object_set(sink, "sync", FALSE, "async", FALSE, "enable-last-sample", FALSE, "max-buffers", 8u,
               nullptr);
  GstAppSinkCallbacks callbacks{};
  callbacks.new_sample = on_new_sample;
  gst_app_sink_set_callbacks(GST_APP_SINK(sink), &callbacks, new LinkHolder(link), free_holder);
  gst_bin_add_many(bin, depay, parse, filter, tee, queue, sink, nullptr);
  if (!gst_element_link_many(depay, parse, filter, tee, queue, sink, nullptr)) {
    post_failure(link, "could not link the record branch");
    return;
  }
  for (GstElement* e : {sink, queue, tee, filter, parse, depay})
    gst_element_sync_state_with_parent(e);
  GstPad* sinkpad = gst_element_get_static_pad(depay, "sink");
  const GstPadLinkReturn rc = gst_pad_link(pad, sinkpad);
  gst_object_unref(sinkpad);
  if (rc != GST_PAD_LINK_OK) post_failure(link, "could not link rtspsrc to the depayloader");
}

void RecorderImpl::build() {
  init_gstreamer();
  ++generation_;
  link_ = std::make_shared<Link>(weak_from_this(), strand_, generation_);
  anchored_ = false;
  ntp_seen_ = false;
  have_last_ = false;
  reorder_.restart();
  rtp_clock_.reset();
  gst_caps_replace(&last_caps_, nullptr);
  // A new instance starts a new media time line: frames of the old one
  // cannot be mixed with it.
  pending_ = Pending{};
  clear_prebuffer();
  last_data_ = clock_.monotonic();
  if (cfg_.ingest == Ingest::native && cfg_.transport == Transport::tcp) {
    link_.reset();
    build_native();
    return;
  }

  GstElement* pipeline = gst_pipeline_new(nullptr);
  GstElement* src = make("rtspsrc");
  if (!pipeline || !src) {
    if (pipeline) gst_object_unref(pipeline);
    if (src) gst_object_unref(gst_object_ref_sink(src));
    link_.reset();
    fail("rtspsrc is not available (gstreamer1.0-plugins-good)");
    return;
  }
  link_->pipeline = pipeline;
  g_object_set(
      src, "location", cfg_.url.c_str(), "latency", static_cast<guint>(cfg_.latency.count()),
      "add-reference-timestamp-meta", TRUE, "buffer-mode", 0, "do-retransmission", FALSE,
      "tcp-timeout",
      static_cast<guint64>(
          std::chrono::duration_cast<std::chrono::microseconds>(cfg_.stall_timeout).count()),
      nullptr);
  gst_util_set_object_arg(G_OBJECT(src), "protocols",
                          cfg_.transport == Transport::tcp ? "tcp" : "udp");
  if (!cfg_.username.empty()) {
    g_object_set(src, "user-id", cfg_.username.c_str(), "user-pw", cfg_.password.c_str(), nullptr);
  }
  gst_bin_add(GST_BIN(pipeline), src);
  g_signal_connect_data(src, "select-stream", G_CALLBACK(on_select_stream), new LinkHolder(link_),
                        free_holder_closure, GConnectFlags(0));
  g_signal_connect_data(src, "pad-added", G_CALLBACK(on_pad_added), new LinkHolder(link_),
                        free_holder_closure, GConnectFlags(0));
  GstBus* bus = gst_element_get_bus(pipeline);
  gst_bus_set_sync_handler(bus, on_bus, new LinkHolder(link_), free_holder);
  gst_object_unref(bus);
  pipeline_ = pipeline;
  set_state("connecting", "");
  spdlog::info("camera {}: connecting to {} over {}", cfg_.id, redact_url(cfg_.url),
               cfg_.transport == Transport::tcp ? "tcp" : "udp");
  if (gst_element_set_state(pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
    fail("pipeline would not start");
  }
}

void RecorderImpl::teardown() {
  if (rtsp_) {
    ++generation_;  // anything it still delivers is ignored
    std::exchange(rtsp_, nullptr)->stop();
  }
  if (!pipeline_) return;
  GstElement* pipeline = std::exchange(pipeline_, nullptr);
  ++generation_;  // anything still posted by the old instance is ignored
  gst_element_set_state(pipeline, GST_STATE_NULL);
  GstBus* bus = gst_element_get_bus(pipeline);
  gst_bus_set_sync_handler(bus, nullptr, nullptr, nullptr);
  gst_object_unref(bus);
  gst_object_unref(pipeline);
  link_.reset();
}

}  // namespace

std::shared_ptr<Recorder> make_recorder(asio::io_context& io, const Clock& clock,
                                        CameraConfig config, SegmentCallback on_segment,
                                        StateCallback on_state) {
  init_gstreamer();
  return std::make_shared<RecorderImpl>(io, clock, std::move(config), std::move(on_segment),
                                        std::move(on_state));
}

}  // namespace zaulek::media
