#include "media/record/gst_ingest.h"

#include "media/ts.h"

#include <gst/app/gstappsink.h>
#include <gst/gst.h>
#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>

#include <atomic>
#include <mutex>
#include <vector>

namespace zaulek::media {
namespace asio = boost::asio;

// What GStreamer's callbacks may hold: a weak reference to the recorder, the
// strand to post to and the instance generation. Callbacks touch nothing else.
struct GstLink {
  std::weak_ptr<IngestSink> sink;
  Strand strand;
  std::uint64_t generation = 0;
  GstElement* pipeline = nullptr;  // not owned; valid while callbacks can run
  std::atomic<int> pending{0};
  std::atomic<bool> overflow{false};
  std::atomic<bool> video_linked{false};
  std::atomic<bool> selected{false};
  // rtpbin's jitter buffers (refs held), for their loss counts.
  mutable std::mutex jitter_mu;
  std::vector<GstElement*> jitterbuffers;
  ~GstLink() {
    for (GstElement* jb : jitterbuffers) gst_object_unref(jb);
  }
  GstLink(std::weak_ptr<IngestSink> s, Strand st, std::uint64_t g)
      : sink(std::move(s)), strand(std::move(st)), generation(g) {}
};

namespace {

constexpr std::int64_t kNtpToUnixNs = 2'208'988'800LL * 1'000'000'000LL;
// Samples posted to the strand but not yet written; beyond this the writer has
// fallen behind by seconds: drop, count, and end the segment (never silently).
constexpr int kMaxPendingSamples = 400;

GstCaps* ntp_caps() {
  static GstCaps* caps = gst_caps_new_empty_simple("timestamp/x-ntp");  // one per process
  return caps;
}

// GLib user data: a heap shared_ptr released by the destroy notify.
using LinkHolder = std::shared_ptr<GstLink>;
void free_holder(gpointer data) {
  delete static_cast<LinkHolder*>(data);
}
void free_holder_closure(gpointer data, GClosure*) {
  free_holder(data);
}

// --- GStreamer callbacks: streaming threads; they only post. ---

void post_failure(const LinkHolder& link, std::string text) {
  asio::post(link->strand,
             [weak = link->sink, gen = link->generation, text = std::move(text)]() mutable {
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
             [weak = link->sink, gen = link->generation, s = SampleRef(sample)]() mutable {
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
  } else {
    text = "end of stream";
  }
  asio::post(link->strand,
             [weak = link->sink, gen = link->generation, type, text = std::move(text)]() mutable {
               auto r = weak.lock();
               if (!r) return;
               if (type == GST_MESSAGE_WARNING) {
                 r->on_warning(gen, std::move(text));
               } else {
                 r->on_failure(gen, std::move(text));
               }
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

// rtspsrc made its RTP manager (rtpbin): its jitter buffers are kept for
// their statistics (num-lost). Bounded: one per stream set up (one here).
void on_new_jitterbuffer(GstElement*, GstElement* jitterbuffer, guint, guint, gpointer data) {
  const LinkHolder& link = *static_cast<LinkHolder*>(data);
  std::lock_guard lock(link->jitter_mu);
  if (link->jitterbuffers.size() < 8)
    link->jitterbuffers.push_back(GST_ELEMENT(gst_object_ref(jitterbuffer)));
}

void on_new_manager(GstElement*, GstElement* manager, gpointer data) {
  const LinkHolder& link = *static_cast<LinkHolder*>(data);
  if (!g_signal_lookup("new-jitterbuffer", G_OBJECT_TYPE(manager))) return;
  g_signal_connect_data(manager, "new-jitterbuffer", G_CALLBACK(on_new_jitterbuffer),
                        new LinkHolder(link), free_holder_closure, GConnectFlags(0));
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

// The format new caps describe; nullopt unless H.264 or H.265.
std::optional<GstIngest::Format> caps_format(const std::string& camera_id, GstCaps* caps) {
  if (spdlog::should_log(spdlog::level::debug)) {
    gchar* text = gst_caps_to_string(caps);
    spdlog::debug("camera {}: caps {}", camera_id, text);
    g_free(text);
  }
  const GstStructure* s = gst_caps_get_structure(caps, 0);
  if (!s) return std::nullopt;
  const std::string name = gst_structure_get_name(s);
  GstIngest::Format f;
  if (name == "video/x-h265") {
    f.codec = Codec::h265;
  } else if (name != "video/x-h264") {
    return std::nullopt;
  }
  gst_structure_get_int(s, "width", &f.width);
  gst_structure_get_int(s, "height", &f.height);
  if (const GValue* v = gst_structure_get_value(s, "codec_data"); v && GST_VALUE_HOLDS_BUFFER(v)) {
    GstBuffer* cd = gst_value_get_buffer(v);
    GstMapInfo map;
    if (cd && gst_buffer_map(cd, &map, GST_MAP_READ)) {
      int length_size = 4;
      if (ts::parse_codec_data({map.data, map.size}, f.codec, f.params, length_size)) {
        f.length_size = length_size;
      } else {
        f.params.clear();
        f.codec_data_malformed = true;
      }
      gst_buffer_unmap(cd, &map);
    }
  }
  const gchar* fmt = gst_structure_get_string(s, "stream-format");
  f.byte_stream = fmt && std::string_view(fmt) == "byte-stream";
  return f;
}

}  // namespace

void init_gstreamer() {
  static std::once_flag once;
  std::call_once(once, [] { gst_init(nullptr, nullptr); });
}

// --- SampleRef (media/record/frame.h) ---

SampleRef& SampleRef::operator=(SampleRef&& o) noexcept {
  if (this != &o) {
    if (s_) gst_sample_unref(s_);
    s_ = std::exchange(o.s_, nullptr);
  }
  return *this;
}

SampleRef::~SampleRef() {
  if (s_) gst_sample_unref(s_);
}

std::size_t SampleRef::size() const {
  GstBuffer* buf = s_ ? gst_sample_get_buffer(s_) : nullptr;
  return buf ? gst_buffer_get_size(buf) : 0;
}

bool SampleRef::read(const std::function<void(std::span<const std::uint8_t>)>& fn) const {
  GstBuffer* buf = s_ ? gst_sample_get_buffer(s_) : nullptr;
  GstMapInfo map{};
  if (buf && !gst_buffer_map(buf, &map, GST_MAP_READ)) return false;
  struct Unmap {
    GstBuffer* b;
    GstMapInfo* m;
    ~Unmap() {
      if (b) gst_buffer_unmap(b, m);
    }
  } unmap{buf, &map};
  fn(std::span<const std::uint8_t>(map.data, map.size));
  return true;
}

void append_sample(const SampleRef& sample, std::vector<std::uint8_t>& out) {
  GstBuffer* buf = sample ? gst_sample_get_buffer(sample.get()) : nullptr;
  if (!buf) return;
  GstMapInfo map;
  if (gst_buffer_map(buf, &map, GST_MAP_READ)) {
    out.insert(out.end(), map.data, map.data + map.size);
    gst_buffer_unmap(buf, &map);
  }
}

// --- GstIngest ---

Result<std::unique_ptr<GstIngest>> GstIngest::create(const CameraConfig& cfg, Strand strand,
                                                     std::weak_ptr<IngestSink> sink,
                                                     std::uint64_t generation) {
  init_gstreamer();
  GstElement* pipeline = gst_pipeline_new(nullptr);
  GstElement* src = make("rtspsrc");
  if (!pipeline || !src) {
    if (pipeline) gst_object_unref(pipeline);
    if (src) gst_object_unref(gst_object_ref_sink(src));
    return make_error(ErrorKind::failed_precondition,
                      "rtspsrc is not available (gstreamer1.0-plugins-good)");
  }
  std::unique_ptr<GstIngest> self(new GstIngest());
  self->camera_id_ = cfg.id;
  self->link_ = std::make_shared<GstLink>(std::move(sink), std::move(strand), generation);
  self->link_->pipeline = pipeline;
  g_object_set(
      src, "location", cfg.url.c_str(), "latency", static_cast<guint>(cfg.latency.count()),
      "add-reference-timestamp-meta", TRUE, "buffer-mode", 0, "do-retransmission", FALSE,
      "tcp-timeout",
      static_cast<guint64>(
          std::chrono::duration_cast<std::chrono::microseconds>(cfg.stall_timeout).count()),
      nullptr);
  gst_util_set_object_arg(G_OBJECT(src), "protocols",
                          cfg.transport == Transport::tcp ? "tcp" : "udp");
  if (!cfg.username.empty()) {
    g_object_set(src, "user-id", cfg.username.c_str(), "user-pw", cfg.password.c_str(), nullptr);
  }
  gst_bin_add(GST_BIN(pipeline), src);
  g_signal_connect_data(src, "select-stream", G_CALLBACK(on_select_stream),
                        new LinkHolder(self->link_), free_holder_closure, GConnectFlags(0));
  g_signal_connect_data(src, "pad-added", G_CALLBACK(on_pad_added), new LinkHolder(self->link_),
                        free_holder_closure, GConnectFlags(0));
  g_signal_connect_data(src, "new-manager", G_CALLBACK(on_new_manager), new LinkHolder(self->link_),
                        free_holder_closure, GConnectFlags(0));
  GstBus* bus = gst_element_get_bus(pipeline);
  gst_bus_set_sync_handler(bus, on_bus, new LinkHolder(self->link_), free_holder);
  gst_object_unref(bus);
  self->pipeline_ = pipeline;
  return self;
}

GstIngest::~GstIngest() {
  gst_caps_replace(&last_caps_, nullptr);
  if (!pipeline_) return;
  GstElement* pipeline = std::exchange(pipeline_, nullptr);
  gst_element_set_state(pipeline, GST_STATE_NULL);
  GstBus* bus = gst_element_get_bus(pipeline);
  gst_bus_set_sync_handler(bus, nullptr, nullptr, nullptr);
  gst_object_unref(bus);
  gst_object_unref(pipeline);
}

bool GstIngest::play() {
  return gst_element_set_state(pipeline_, GST_STATE_PLAYING) != GST_STATE_CHANGE_FAILURE;
}

std::uint64_t GstIngest::lost_packets() const {
  std::lock_guard lock(link_->jitter_mu);
  std::uint64_t lost = 0;
  for (GstElement* jb : link_->jitterbuffers) {
    GstStructure* stats = nullptr;
    g_object_get(jb, "stats", &stats, nullptr);
    if (!stats) continue;
    guint64 n = 0;
    if (gst_structure_get_uint64(stats, "num-lost", &n)) lost += n;
    gst_structure_free(stats);
  }
  return lost;
}

bool GstIngest::received() {
  link_->pending.fetch_sub(1, std::memory_order_relaxed);
  return link_->overflow.exchange(false);
}

std::optional<GstIngest::Unit> GstIngest::read(const SampleRef& sample) {
  GstBuffer* buf = gst_sample_get_buffer(sample.get());
  GstCaps* caps = gst_sample_get_caps(sample.get());
  if (!buf || !caps) return std::nullopt;
  Unit u;
  if (caps != last_caps_) {
    // New caps object; the format changed only if the contents differ.
    if (!last_caps_ || !gst_caps_is_equal(caps, last_caps_)) {
      u.caps_changed = true;
      u.format = caps_format(camera_id_, caps);
    }
    gst_caps_replace(&last_caps_, caps);
  }
  // Buffers without timestamps: seen in the field ("Buffer has no PTS"
  // killed mp4mux), and h264parse 1.22 splits multi-slice keyframes into a
  // timed buffer and an untimed rest: the rest of the frame before it.
  GstClockTime pts = GST_BUFFER_PTS(buf);
  const GstClockTime dts = GST_BUFFER_DTS(buf);
  if (!GST_CLOCK_TIME_IS_VALID(pts) && !GST_CLOCK_TIME_IS_VALID(dts)) return u;
  // The RTP timestamp is the presentation time; decode times are derived
  // the same way as on the native ingest (media/reorder.h), whatever the
  // parser guessed.
  if (!GST_CLOCK_TIME_IS_VALID(pts)) pts = dts;
  u.timed = true;
  u.pts_ns = static_cast<std::int64_t>(pts);
  u.keyframe = !GST_BUFFER_FLAG_IS_SET(buf, GST_BUFFER_FLAG_DELTA_UNIT);
  if (GST_BUFFER_DURATION_IS_VALID(buf) && GST_BUFFER_DURATION(buf) > 0 &&
      GST_BUFFER_DURATION(buf) < GST_SECOND)
    u.frame_ns = static_cast<std::int64_t>(GST_BUFFER_DURATION(buf));
  if (auto* meta = gst_buffer_get_reference_timestamp_meta(buf, ntp_caps()))
    u.ntp_wall = static_cast<std::int64_t>(meta->timestamp) - kNtpToUnixNs;
  return u;
}

}  // namespace zaulek::media
