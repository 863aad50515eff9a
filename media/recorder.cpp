// The Recorder: the thin owner that wires, on one strand, an ingest
// (media/record/native_ingest.h or gst_ingest.h) to the time line
// (record/timeline.h), the events-mode gate (record/event_gate.h) and the
// segmenter (record/segmenter.h); it keeps the stream's format, the counters,
// the state and the restart backoff.
#include "media/recorder.h"

#include "media/live/feed.h"
#include "media/record/event_gate.h"
#include "media/record/frame.h"
#include "media/record/gst_ingest.h"
#include "media/record/ingest.h"
#include "media/record/native_ingest.h"
#include "media/record/segmenter.h"
#include "media/record/timeline.h"
#include "media/ts.h"

#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <algorithm>
#include <random>

namespace zaulek::media {
namespace asio = boost::asio;
namespace {

class RecorderImpl final : public Recorder,
                           public IngestSink,
                           public std::enable_shared_from_this<RecorderImpl> {
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
        rng_(std::random_device{}()),
        gate_(cfg_.mode, cfg_.post_event),
        prebuf_(cfg_.pre_event, cfg_.pre_event_max_bytes),
        segments_(cfg_),
        feed_(live::make_feed(io, clock, cfg_.id)) {
    stats_.state = "stopped";
  }

  ~RecorderImpl() override { teardown(); }

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
      self->count_loss();
      self->teardown();
      self->write_pending(self->clock_.monotonic());
      self->close_segment("stop");
      self->tick_timer_.cancel();
      self->retry_timer_.cancel();
      self->set_state("stopped", "");
      self->feed_->end("recording stopped");
      if (done) done();
    });
  }

  void event(bool active) override {
    asio::post(strand_, [self = shared_from_this(), active] {
      self->gate_.event(active, self->clock_.monotonic());
    });
  }

  std::shared_ptr<live::Feed> live_feed() const override { return feed_; }

  void stats(std::function<void(const CameraStats&)> fn) override {
    asio::post(strand_, [self = shared_from_this(), fn = std::move(fn)] {
      CameraStats s = self->stats_;
      const Timeline::Counters& t = self->timeline_.counters();
      s.timestamp_jumps = t.timestamp_jumps;
      s.ntp_frames = t.ntp_frames;
      s.ntp_offset_ms = t.ntp_offset_ms;
      if (auto edge = self->segments_.edge(self->timeline_.frame_ns())) {
        s.open_start_ns = edge->start_ns;
        s.open_end_ns = edge->end_ns;
      }
      fn(s);
    });
  }

  // --- IngestSink: on the strand ---

  void on_sample(std::uint64_t generation, SampleRef sample) override {
    if (generation != generation_ || !gst_) return;
    const bool overflow = gst_->received();
    // Read before anything below can fail the pipeline (and tear gst_ down).
    const std::optional<GstIngest::Unit> u = gst_->read(sample);
    const MonoTime now = clock_.monotonic();
    data_arrived(now);
    if (overflow) {
      ++stats_.dropped_overflow;
      spdlog::error("camera {}: writer fell behind, frames dropped; segment ended", cfg_.id);
      write_pending(now);
      close_segment("overflow");
    }
    if (!u) return;
    if (u->caps_changed) {
      write_pending(now);  // it belongs to the old format
      if (u->format) apply_caps(*u->format);
    }
    if (!u->timed) {
      // An untimed buffer is the rest of the frame before it: append it.
      // With nothing before it, there is nothing to time it by.
      ++stats_.no_pts_fixed;
      if (!pending_.empty()) append_sample(sample, pending_.extra);
      return;
    }
    write_pending(now);
    if (u->frame_ns) timeline_.set_frame_ns(*u->frame_ns);
    hold_back(time_frame(u->pts_ns, u->keyframe, u->ntp_wall), u->keyframe);
    pending_.sample = std::move(sample);
  }

  void on_warning(std::uint64_t generation, std::string text) override {
    if (generation != generation_) return;
    spdlog::warn("camera {}: {}", cfg_.id, text);
  }

  void on_playing(std::uint64_t generation, const RtspStream& stream) override {
    if (generation != generation_) return;
    write_pending(clock_.monotonic());
    clock_rate_ = stream.clock_rate;
    byte_stream_ = true;
    length_size_ = 4;
    if (stream.codec != codec_) {
      if (format_known_) {
        prebuf_.clear();
        close_segment("format change");
      }
      params_ = ts::ParamSets{};
      codec_ = stream.codec;
      format_known_ = false;
    }
    if (!stream.params.empty()) {
      params_.set(stream.params);
      if (auto size = unit_picture_size(codec_, stream.params))
        set_format(stream.codec, size->width, size->height);
    }
    spdlog::debug("camera {}: native ingest playing {} ({} Hz){}", cfg_.id, to_string(codec_),
                  clock_rate_, format_known_ ? "" : ", size from the first keyframe");
  }

  void on_unit(std::uint64_t generation, const rtp::AccessUnit& u,
               std::optional<std::int64_t> wall_ns) override {
    if (generation != generation_) return;
    const MonoTime now = clock_.monotonic();
    data_arrived(now);
    if (u.keyframe) {
      // In-band parameter sets: the size at the start, a change later.
      auto size = unit_picture_size(codec_, u.data);
      if (size && (!format_known_ || size->width != width_ || size->height != height_)) {
        write_pending(now);
        set_format(codec_, size->width, size->height);
      } else if (!format_known_) {
        set_format(codec_, 0, 0);  // no SPS anywhere: record, size unknown
      }
    }
    write_pending(now);
    const std::int64_t pts_ns = timeline_.rtp_pts_ns(u.rtp_time, clock_rate_);
    const Timeline::Timed t = time_frame(pts_ns, u.keyframe, wall_ns);
    // The live tap: the same unit, before the recording mode's gate (a
    // camera recorded on events is watched all the time); one copy and a
    // post, the muxing happens on the feed's strand.
    std::span<const std::uint8_t> au = u.data;
    if (u.keyframe) au = params_.fix(au, codec_, live_scratch_);
    feed_->unit(codec_, au, t.media_ns, t.cts_ns, timeline_.frame_ns(), u.keyframe);
    hold_back(t, u.keyframe);
    pending_.native = true;
    pending_.data.assign(u.data.begin(), u.data.end());
  }

  void on_failure(std::uint64_t generation, std::string text) override {
    if (generation != generation_) return;
    fail(std::move(text));
  }

 private:
  void set_state(const std::string& state, const std::string& detail) {
    if (state == stats_.state && detail.empty()) return;
    stats_.state = state;
    if (!detail.empty()) stats_.last_error = detail;
    if (on_state_) on_state_(cfg_.id, state, detail);
  }

  void data_arrived(MonoTime now) {
    last_data_ = now;
    if (stats_.state != "recording") set_state("recording", "");
  }

  // Times a frame on the time line (clocks read now).
  Timeline::Timed time_frame(std::int64_t pts_ns, bool keyframe,
                             std::optional<std::int64_t> ntp_wall) {
    const Timeline::Timed t =
        timeline_.frame(pts_ns, keyframe, ntp_wall, clock_.monotonic(), clock_.realtime());
    if (t.first_ntp)
      spdlog::info("camera {}: sender report time is {} ms from arrival time", cfg_.id,
                   timeline_.counters().ntp_offset_ms);
    return t;
  }

  // The frame just timed becomes the one held back (its payload set by the
  // caller).
  void hold_back(const Timeline::Timed& t, bool keyframe) {
    pending_.extra.clear();
    pending_.media_ns = t.media_ns;
    pending_.cts_ns = t.cts_ns;
    pending_.keyframe = keyframe;
  }

  void apply_caps(const GstIngest::Format& f) {
    set_format(f.codec, f.width, f.height);
    length_size_ = f.length_size;
    if (!f.params.empty()) params_.set(f.params);
    if (f.codec_data_malformed) spdlog::warn("camera {}: malformed codec_data ignored", cfg_.id);
    byte_stream_ = f.byte_stream;
  }

  // A change of codec or resolution ends the segment (and the pre-buffer).
  void set_format(Codec codec, int w, int h) {
    if (format_known_ && (codec != codec_ || w != width_ || h != height_)) {
      prebuf_.clear();
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

  // Hands on the frame held back according to the recording mode.
  void write_pending(MonoTime now) {
    if (pending_.empty()) return;
    Frame f = std::move(pending_);
    pending_ = Frame{};
    if (!f.native) feed_sample(f);
    switch (gate_.route(now)) {
      case EventGate::Route::write:
        // Pre-event footage first, from the keyframe before (start - pre).
        for (auto& old : prebuf_.frames()) write_frame(old, now);
        prebuf_.clear();
        write_frame(f, now);
        return;
      case EventGate::Route::drop:
        ++stats_.not_recorded;
        return;
      case EventGate::Route::hold:
        break;
    }
    if (segments_.is_open()) close_segment("event over");
    const std::size_t size = f.size();
    stats_.not_recorded += prebuf_.hold(std::move(f), size);
  }

  // The live tap of the GStreamer ingest: a frame is whole only once it is
  // handed on (untimed continuations join it while it is held back), one
  // frame later than the native ingest's tap. Before the mode's gate, as
  // there; byte-stream with its parameter sets, as the feed wants it.
  void feed_sample(const Frame& f) {
    if (!f.sample || !format_known_) return;
    f.sample.read([&](std::span<const std::uint8_t> au) {
      if (!f.extra.empty()) {
        live_joined_.assign(au.begin(), au.end());
        live_joined_.insert(live_joined_.end(), f.extra.begin(), f.extra.end());
        au = live_joined_;
      }
      if (!byte_stream_) {
        live_converted_.clear();
        if (!ts::to_byte_stream(au, length_size_, codec_, live_converted_)) return;
        au = live_converted_;
      }
      if (f.keyframe) au = params_.fix(au, codec_, live_scratch_);
      feed_->unit(codec_, au, f.media_ns, std::max<std::int64_t>(0, f.cts_ns), timeline_.frame_ns(),
                  f.keyframe);
    });
  }

  // Writes one frame, opening and cutting segments at keyframes.
  void write_frame(Frame& f, MonoTime now) {
    SampleRef sample = std::move(f.sample);
    if (!sample && !f.native) return;
    const bool keyframe = f.keyframe;
    const std::int64_t media = f.media_ns;
    const std::int64_t cts = std::max<std::int64_t>(0, f.cts_ns);
    if (segments_.cut_before(media, cts, keyframe, timeline_.frame_ns())) close_segment("duration");
    if (!segments_.is_open()) {
      if (!keyframe || !format_known_) {
        ++stats_.waiting_keyframe;
        return;
      }
      // The segment starts when its first frame is presented.
      if (Status st = segments_.open(timeline_.wall_ns(media, cts), media, cts, codec_, width_,
                                     height_, now);
          !st) {
        fail(st.error().message);
        return;
      }
    }
    if (f.native) {
      write_unit(f.data, f, media, cts, now);
    } else {
      sample.read([&](std::span<const std::uint8_t> au) { write_unit(au, f, media, cts, now); });
    }
  }

  // The unit's bytes as the file wants them: its continuation joined,
  // length prefixes made start codes, parameter sets in front of a keyframe.
  void write_unit(std::span<const std::uint8_t> au, Frame& f, std::int64_t media, std::int64_t cts,
                  MonoTime now) {
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
    if (f.keyframe) au = params_.fix(au, codec_, scratch_);
    Status st = segments_.add(au, media, cts, f.keyframe, now);
    stats_.bytes += au.size();
    f.extra.clear();
    if (!st) {
      fail(st.error().message);
      return;
    }
    ++stats_.frames;
  }

  void close_segment(const char* why) {
    if (auto info = segments_.close(why, timeline_.frame_ns())) {
      ++stats_.segments;
      if (on_segment_) on_segment_(*info);
    }
  }

  void build() {
    ++generation_;
    timeline_.restart();
    feed_->restart();
    // A new instance starts a new media time line: frames of the old one
    // cannot be mixed with it.
    pending_ = Frame{};
    prebuf_.clear();
    last_data_ = clock_.monotonic();
    lost_seen_ = 0;  // each instance counts from zero
    if (cfg_.ingest == Ingest::native && cfg_.transport == Transport::tcp) {
      rtsp_ = make_native_ingest(cfg_, clock_, strand_, weak_from_this(), generation_);
      set_state("connecting", "");
      spdlog::info("camera {}: connecting to {} over tcp (native ingest)", cfg_.id,
                   redact_url(cfg_.url));
      rtsp_->start();
      return;
    }
    auto gst = GstIngest::create(cfg_, strand_, weak_from_this(), generation_);
    if (!gst) {
      fail(gst.error().message);
      return;
    }
    gst_ = std::move(*gst);
    set_state("connecting", "");
    spdlog::info("camera {}: connecting to {} over {}", cfg_.id, redact_url(cfg_.url),
                 cfg_.transport == Transport::tcp ? "tcp" : "udp");
    if (!gst_->play()) fail("pipeline would not start");
  }

  void teardown() {
    if (rtsp_) {
      ++generation_;  // anything it still delivers is ignored
      std::exchange(rtsp_, nullptr)->stop();
    }
    if (!gst_) return;
    ++generation_;  // anything still posted by the old instance is ignored
    gst_.reset();
  }

  void fail(std::string reason) {
    if (stopping_) return;
    spdlog::warn("camera {}: pipeline ended: {}; retry in {} ms", cfg_.id, reason,
                 backoff_.count());
    count_loss();
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

  // RTP packets the ingest instance counted lost so far (its own total).
  std::uint64_t ingest_lost() const {
    if (rtsp_) return rtsp_->depay_stats().lost_packets;
    if (gst_) return gst_->lost_packets();
    return 0;
  }

  // What the instance newly counted lost goes to the counters.
  void count_loss() {
    const std::uint64_t total = ingest_lost();
    if (total <= lost_seen_) return;
    const std::uint64_t fresh = total - lost_seen_;
    lost_seen_ = total;
    stats_.packets_lost += fresh;
    if (cfg_.on_packets_lost) cfg_.on_packets_lost(fresh);
  }

  void tick() {
    const MonoTime now = clock_.monotonic();
    count_loss();
    if (segments_.is_open() && gate_.closed(now)) {
      write_pending(now);
      close_segment("event over");
    }
    if (segments_.is_open()) {
      if (auto st = segments_.tick(now); !st) {
        fail(st.error().message);
        return;
      }
      // Frames reached the file: the camera and the disk work. (Not at the
      // segment's opening: with a full disk every retry opens one, and the
      // backoff must still grow.)
      if (segments_.written() > 0) backoff_ = cfg_.backoff_initial;
    }
    if ((gst_ || rtsp_) && now - last_data_ > cfg_.stall_timeout) {
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

  // The ingest instance: one of the two.
  std::unique_ptr<GstIngest> gst_;
  std::shared_ptr<RtspClient> rtsp_;
  std::uint32_t clock_rate_ = 90'000;
  std::uint64_t generation_ = 0;
  MonoTime last_data_{};
  std::uint64_t lost_seen_ = 0;  // of this instance's ingest_lost(), already counted

  // Format of the stream as the ingest reports it.
  bool format_known_ = false;
  Codec codec_ = Codec::h264;
  int width_ = 0;
  int height_ = 0;
  int length_size_ = 4;
  bool byte_stream_ = false;
  ts::ParamSets params_;

  Timeline timeline_;
  EventGate gate_;
  Frame pending_;  // held back one frame, so that an untimed continuation can join it
  PreRoll<Frame> prebuf_;
  Segmenter segments_;
  std::vector<std::uint8_t> joined_;
  std::vector<std::uint8_t> converted_;
  std::vector<std::uint8_t> scratch_;
  std::vector<std::uint8_t> live_scratch_;
  std::vector<std::uint8_t> live_joined_;     // the GStreamer ingest's live tap
  std::vector<std::uint8_t> live_converted_;  // (see feed_sample)
  CameraStats stats_;
  std::shared_ptr<live::FeedSource> feed_;  // either ingest's units, for live viewers
};

}  // namespace

std::shared_ptr<Recorder> make_recorder(asio::io_context& io, const Clock& clock,
                                        CameraConfig config, SegmentCallback on_segment,
                                        StateCallback on_state) {
  init_gstreamer();
  return std::make_shared<RecorderImpl>(io, clock, std::move(config), std::move(on_segment),
                                        std::move(on_state));
}

}  // namespace zaulek::media
