#include "sim/rtsp_camera.h"

#include "sim/sei.h"
#include "sim/udp_faults.h"

#include <gst/app/gstappsrc.h>
#include <gst/rtsp-server/rtsp-server.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <deque>
#include <future>
#include <list>
#include <mutex>
#include <thread>

namespace zaulek::sim {

namespace {
constexpr guint kTickMs = 10;                     // frame ticker period; frames are due every 40 ms
constexpr GstClockTime kReanchor = GST_SECOND;    // grid this far off: pipeline was paused
constexpr int kMaxPushPerTick = 8;                // bound the catch-up after a slow tick
constexpr guint64 kQueueBytes = 8 * 1024 * 1024;  // appsrc max-bytes
constexpr gint64 kTickLateUs = 100'000;           // a tick this late is an incident
}  // namespace

// A stream's counters (StreamCounters), written by the ticker, read by the
// control thread.
struct AtomicCounters {
  std::atomic<std::uint64_t> frames_sent{0};
  std::atomic<std::uint64_t> frames_dropped{0};
  std::atomic<std::uint64_t> frames_stalled{0};
  std::atomic<std::uint64_t> regrids{0};
  std::atomic<std::int64_t> regrid_ms{0};
  std::atomic<std::uint64_t> late_frames{0};
  std::atomic<std::int64_t> max_late_ms{0};
  std::atomic<std::uint64_t> next_frame{0};  // the send-time stamp's frame number

  StreamCounters snapshot() const {
    return {frames_sent.load(), frames_dropped.load(), frames_stalled.load(), regrids.load(),
            regrid_ms.load(),   late_frames.load(),    max_late_ms.load()};
  }
};

// Faults and stagger shared by a camera's two streams. Atomics: written from
// the control thread, read by the ticker on the loop thread.
struct CameraShared {
  int index = 0;
  std::atomic<gint64> stall_until_us{0};  // g_get_monotonic_time() scale
  std::atomic<bool> no_keyframes{false};
  std::shared_ptr<UdpFaults> udp = std::make_shared<UdpFaults>();
};

struct StreamState {
  RtspLoop::Impl* loop = nullptr;
  std::shared_ptr<const Clip> clip;
  std::shared_ptr<CameraShared> camera;
  std::string name;  // "main", "sub"
  bool send_times = false;
  std::shared_ptr<AtomicCounters> counters = std::make_shared<AtomicCounters>();
};

// One prepared (shared) media: its appsrc and where in the clip it is.
struct Feed {
  GstRTSPMedia* media = nullptr;  // ref held: the pointer stays unique until removal
  GstElement* appsrc = nullptr;   // ref held
  std::shared_ptr<const Clip> clip;
  std::shared_ptr<CameraShared> camera;
  std::shared_ptr<AtomicCounters> counters;
  std::string name;
  bool send_times = false;
  std::vector<std::size_t> vcl_offsets;  // per clip unit, with send_times
  std::size_t next_unit = 0;
  bool anchored = false;
  GstClockTime anchor = 0;  // running time of slot 0
  std::uint64_t slot = 0;   // frame slots since anchor
};

struct RtspLoop::Impl {
  GMainContext* context = nullptr;
  GMainLoop* loop = nullptr;
  GSource* ticker = nullptr;
  std::thread thread;
  std::list<Feed> feeds;    // loop thread only
  gint64 last_tick_us = 0;  // loop thread only

  mutable std::mutex incidents_mu;
  std::deque<Incident> incidents;  // bounded: kMaxIncidents
  std::uint64_t incidents_total = 0;
  std::atomic<std::uint64_t> ticks{0};
  std::atomic<std::int64_t> max_tick_gap_ms{0};

  void incident(int camera, const std::string& stream, const char* kind, std::int64_t amount) {
    std::lock_guard lock(incidents_mu);
    if (incidents.size() == kMaxIncidents) incidents.pop_front();
    incidents.push_back({g_get_real_time(), camera, stream, kind, amount});
    ++incidents_total;
  }

  static void raise_max(std::atomic<std::int64_t>& at, std::int64_t v) {
    std::int64_t cur = at.load();
    while (v > cur && !at.compare_exchange_weak(cur, v)) {
    }
  }

  static gboolean on_tick(gpointer self) {
    static_cast<Impl*>(self)->tick();
    return G_SOURCE_CONTINUE;
  }

  void tick() {
    const gint64 mono_us = g_get_monotonic_time();
    if (last_tick_us != 0) {
      const gint64 gap = mono_us - last_tick_us;
      raise_max(max_tick_gap_ms, gap / 1000);
      if (gap > kTickLateUs) incident(-1, {}, "tick_late", gap / 1000);
    }
    last_tick_us = mono_us;
    ++ticks;
    for (auto& f : feeds) feed_one(f, mono_us);
  }

  void feed_one(Feed& f, gint64 mono_us) {
    // Clock and base time are read together, and only once the appsrc is
    // PLAYING: while the pipeline is on its way there, the appsrc can have
    // the clock but not yet this run's base time, and a frame stamped with
    // that running time (the clock's whole uptime) would hold the sink in
    // its clock wait for hours -- a stream that answers PLAY and sends
    // nothing (seen under load in test_rtsp_floor).
    GstElement* src = f.appsrc;
    GST_OBJECT_LOCK(src);
    GstClock* clock = GST_STATE(src) == GST_STATE_PLAYING && GST_ELEMENT_CLOCK(src) != nullptr
                          ? GST_CLOCK(gst_object_ref(GST_ELEMENT_CLOCK(src)))
                          : nullptr;
    const GstClockTime base = GST_ELEMENT_CAST(src)->base_time;
    GST_OBJECT_UNLOCK(src);
    if (clock == nullptr) return;  // not playing (yet)
    const GstClockTime now_abs = gst_clock_get_time(clock);
    gst_object_unref(clock);
    if (now_abs < base) return;
    const GstClockTime now = now_abs - base;
    const auto& spec = f.clip->spec();
    const GstClockTime frame = GST_SECOND / static_cast<GstClockTime>(spec.fps);
    auto due = [&f, frame] { return f.anchor + f.slot * frame; };
    // A fixed grid gives evenly spaced timestamps; re-anchor only when the
    // running time jumped (pipeline paused and resumed).
    if (!f.anchored || now + kReanchor < due() || now > due() + kReanchor) {
      if (f.anchored) {  // not the first frame: the timestamps jump
        const std::int64_t jump_ms =
            (static_cast<std::int64_t>(now) - static_cast<std::int64_t>(due())) / 1'000'000;
        ++f.counters->regrids;
        f.counters->regrid_ms += jump_ms;
        incident(f.camera->index, f.name, "regrid", jump_ms);
      }
      f.anchored = true;
      f.anchor = now;
      f.slot = 0;
    }
    if (mono_us < f.camera->stall_until_us.load()) {
      const std::uint64_t slot = (now - f.anchor) / frame + 1;
      if (slot > f.slot) f.counters->frames_stalled += slot - f.slot;
      f.slot = slot;  // the stalled slots are lost: a gap in PTS
      return;
    }
    const auto& units = f.clip->units();
    std::uint64_t dropped = 0;
    for (int pushed = 0; pushed < kMaxPushPerTick && due() <= now; ++pushed) {
      const std::size_t index = f.next_unit;
      const AccessUnit& au = units[index];
      f.next_unit = (f.next_unit + 1) % units.size();
      const GstClockTime pts = due();
      ++f.slot;
      if (au.keyframe && f.camera->no_keyframes.load()) continue;
      const std::uint64_t number = f.counters->next_frame++;
      // The queue appsrc would drop it from (leaky upstream), counted here.
      if (gst_app_src_get_current_level_bytes(GST_APP_SRC(f.appsrc)) +
              gst_buffer_get_size(au.buffer) >
          kQueueBytes) {
        ++dropped;
        continue;
      }
      GstBuffer* buf = nullptr;
      if (f.send_times) {
        // Shares the clip's memory around the stamp (no byte copy of the frame).
        const std::size_t at = f.vcl_offsets[index];
        buf = gst_buffer_new();
        gst_buffer_copy_into(buf, au.buffer, GST_BUFFER_COPY_MEMORY, 0, at);
        const std::string sei = send_time_sei(f.clip->spec().codec, number, g_get_real_time());
        gst_buffer_append_memory(
            buf, gst_memory_new_wrapped(GST_MEMORY_FLAG_READONLY, g_memdup2(sei.data(), sei.size()),
                                        sei.size(), 0, sei.size(), nullptr, nullptr));
        gst_buffer_copy_into(buf, au.buffer, GST_BUFFER_COPY_MEMORY, at, static_cast<gsize>(-1));
        if (!au.keyframe) GST_BUFFER_FLAG_SET(buf, GST_BUFFER_FLAG_DELTA_UNIT);
      } else {
        buf = gst_buffer_copy(au.buffer);  // shares the memory, own timestamps
      }
      // due() is the decode slot; a B-frame is presented later (clip.h).
      GST_BUFFER_PTS(buf) = pts + static_cast<GstClockTime>(au.pts_offset) * frame;
      GST_BUFFER_DTS(buf) = pts;
      GST_BUFFER_DURATION(buf) = frame;
      const auto late_ms = static_cast<std::int64_t>(now - pts) / 1'000'000;
      if (now - pts > frame) ++f.counters->late_frames;
      raise_max(f.counters->max_late_ms, late_ms);
      gst_app_src_push_buffer(GST_APP_SRC(f.appsrc), buf);  // takes buf
      ++f.counters->frames_sent;
    }
    if (dropped > 0) {
      f.counters->frames_dropped += dropped;
      incident(f.camera->index, f.name, "queue_full", static_cast<std::int64_t>(dropped));
    }
  }

  // Runs fn on the loop thread (inline when already there).
  void post(std::function<void()> fn) {
    auto* heap = new std::function<void()>(std::move(fn));
    g_main_context_invoke_full(
        context, G_PRIORITY_DEFAULT,
        [](gpointer p) -> gboolean {
          (*static_cast<std::function<void()>*>(p))();
          return G_SOURCE_REMOVE;
        },
        heap, [](gpointer p) { delete static_cast<std::function<void()>*>(p); });
  }

  void add_feed(GstRTSPMedia* media, GstElement* appsrc, const StreamState& st) {
    Feed f;
    f.media = GST_RTSP_MEDIA(g_object_ref(media));
    f.appsrc = GST_ELEMENT(gst_object_ref(appsrc));
    f.clip = st.clip;
    f.camera = st.camera;
    f.counters = st.counters;
    f.name = st.name;
    f.send_times = st.send_times;
    if (f.send_times) {
      for (const auto& au : st.clip->units()) {
        GstMapInfo map;
        if (!gst_buffer_map(au.buffer, &map, GST_MAP_READ)) {
          f.vcl_offsets.push_back(0);
          continue;
        }
        f.vcl_offsets.push_back(first_vcl_offset(map.data, map.size, st.clip->spec().codec));
        gst_buffer_unmap(au.buffer, &map);
      }
    }
    // Stagger: each camera starts at another keyframe, so that a fleet whose
    // clients connect together does not wrap the clip at one instant.
    const auto& keys = st.clip->keyframes();
    f.next_unit = keys[static_cast<std::size_t>(st.camera->index) % keys.size()];
    feeds.push_back(std::move(f));
  }

  void remove_feed(GstRTSPMedia* media) {
    for (auto it = feeds.begin(); it != feeds.end(); ++it) {
      if (it->media == media) {
        gst_object_unref(it->appsrc);
        g_object_unref(it->media);
        feeds.erase(it);
        return;
      }
    }
  }
};

namespace {

struct Invocation {
  std::function<void()> fn;
  std::promise<void> done;
};

gboolean run_invocation(gpointer data) {
  auto* inv = static_cast<Invocation*>(data);
  inv->fn();
  inv->done.set_value();
  return G_SOURCE_REMOVE;
}

}  // namespace

RtspLoop::RtspLoop() : impl_(std::make_unique<Impl>()) {
  impl_->context = g_main_context_new();
  impl_->loop = g_main_loop_new(impl_->context, FALSE);
  impl_->ticker = g_timeout_source_new(kTickMs);
  g_source_set_callback(impl_->ticker, &Impl::on_tick, impl_.get(), nullptr);
  g_source_attach(impl_->ticker, impl_->context);
  impl_->thread = std::thread([ctx = impl_->context, loop = impl_->loop] {
    g_main_context_push_thread_default(ctx);
    g_main_loop_run(loop);
    g_main_context_pop_thread_default(ctx);
  });
}

RtspLoop::~RtspLoop() {
  run_sync([this] {
    while (!impl_->feeds.empty()) impl_->remove_feed(impl_->feeds.front().media);
  });
  g_main_loop_quit(impl_->loop);
  impl_->thread.join();
  g_source_destroy(impl_->ticker);
  g_source_unref(impl_->ticker);
  g_main_loop_unref(impl_->loop);
  g_main_context_unref(impl_->context);
}

void RtspLoop::run_sync(const std::function<void()>& fn) {
  if (g_main_context_is_owner(impl_->context)) {
    fn();
    return;
  }
  Invocation inv{fn, {}};
  auto done = inv.done.get_future();
  g_main_context_invoke(impl_->context, run_invocation, &inv);
  done.wait();
}

std::string url_host(const std::string& host) {
  return host.find(':') != std::string::npos ? "[" + host + "]" : host;
}

struct RtspCamera::Impl {
  RtspLoop* loop = nullptr;
  RtspCameraConfig config;
  GstRTSPServer* server = nullptr;
  guint source_id = 0;
  std::uint16_t port = 0;
  std::shared_ptr<CameraShared> shared = std::make_shared<CameraShared>();
  StreamState main_state;
  StreamState sub_state;
  std::atomic<bool> down{false};

  ~Impl() {
    if (server != nullptr) {
      loop->run_sync([this] {
        detach();
        drop_everyone();
        g_object_unref(server);
      });
    }
  }

  static GstRTSPFilterResult close_client(GstRTSPServer*, GstRTSPClient*, gpointer) {
    return GST_RTSP_FILTER_REMOVE;
  }

  static GstRTSPFilterResult remove_session(GstRTSPSessionPool*, GstRTSPSession*, gpointer) {
    return GST_RTSP_FILTER_REMOVE;
  }

  // Closes every connection and removes every session: a UDP session would
  // otherwise outlive its RTSP connection and keep streaming until timeout.
  void drop_everyone() {
    gst_rtsp_server_client_filter(server, close_client, nullptr);
    GstRTSPSessionPool* pool = gst_rtsp_server_get_session_pool(server);
    GList* removed = gst_rtsp_session_pool_filter(pool, remove_session, nullptr);
    g_list_free_full(removed, g_object_unref);
    g_object_unref(pool);
  }

  void detach() {
    if (source_id == 0) return;
    GSource* src = g_main_context_find_source_by_id(loop->impl().context, source_id);
    if (src != nullptr) g_source_destroy(src);  // closes the listening socket
    source_id = 0;
  }

  static void on_unprepared(GstRTSPMedia* media, gpointer data) {
    auto* st = static_cast<StreamState*>(data);
    // Emitted from whichever thread unprepares; the feed list is the loop's.
    g_object_ref(media);
    st->loop->post([st, media] {
      st->loop->remove_feed(media);
      g_object_unref(media);
    });
  }

  static void on_media_configure(GstRTSPMediaFactory*, GstRTSPMedia* media, gpointer data) {
    auto* st = static_cast<StreamState*>(data);
    GstElement* element = gst_rtsp_media_get_element(media);
    GstElement* appsrc = gst_bin_get_by_name_recurse_up(GST_BIN(element), "src");
    gst_object_unref(element);
    if (appsrc == nullptr) return;
    GstCaps* caps = gst_caps_from_string(st->clip->caps().c_str());
    // Live source; bounded queue that drops new frames when the media stops
    // draining it (a paused pipeline), instead of growing without end.
    g_object_set(appsrc, "caps", caps, "is-live", TRUE, "format", GST_FORMAT_TIME, "do-timestamp",
                 FALSE, "max-bytes", kQueueBytes, "leaky-type", 1 /* upstream: drop new */,
                 nullptr);
    gst_caps_unref(caps);
    g_signal_connect(media, "unprepared", G_CALLBACK(on_unprepared), st);
    watch_udp_sinks(media, st->camera->udp);
    // media-configure normally runs on the loop thread (no thread pool), but
    // the feed list is the loop's either way.
    g_object_ref(media);
    gst_object_ref(appsrc);
    st->loop->post([st, media, appsrc] {
      st->loop->add_feed(media, appsrc, *st);
      gst_object_unref(appsrc);
      g_object_unref(media);
    });
    gst_object_unref(appsrc);
  }

  GstRTSPMediaFactory* make_factory(StreamState& st) {
    GstRTSPMediaFactory* f = gst_rtsp_media_factory_new();
    const bool h264 = st.clip->spec().codec == Codec::h264;
    const std::string launch = std::string("( appsrc name=src ! ") +
                               (h264 ? "h264parse ! rtph264pay" : "h265parse ! rtph265pay") +
                               " name=pay0 pt=96 config-interval=-1 )";
    gst_rtsp_media_factory_set_launch(f, launch.c_str());
    gst_rtsp_media_factory_set_shared(f, TRUE);
    // Unicast UDP from the loopback pool, or TCP; never multicast.
    if (config.udp_pool) {
      gst_rtsp_media_factory_set_protocols(
          f, static_cast<GstRTSPLowerTrans>(GST_RTSP_LOWER_TRANS_UDP | GST_RTSP_LOWER_TRANS_TCP));
      gst_rtsp_media_factory_set_address_pool(f, config.udp_pool.get());
    } else {
      gst_rtsp_media_factory_set_protocols(f, GST_RTSP_LOWER_TRANS_TCP);
    }
    if (!config.username.empty()) {
      gst_rtsp_media_factory_add_role(f, "viewer", GST_RTSP_PERM_MEDIA_FACTORY_ACCESS,
                                      G_TYPE_BOOLEAN, TRUE, GST_RTSP_PERM_MEDIA_FACTORY_CONSTRUCT,
                                      G_TYPE_BOOLEAN, TRUE, nullptr);
    }
    g_signal_connect(f, "media-configure", G_CALLBACK(on_media_configure), &st);
    return f;
  }

  Status attach() {
    gst_rtsp_server_set_service(server, std::to_string(port).c_str());
    source_id = gst_rtsp_server_attach(server, loop->impl().context);
    if (source_id == 0) {
      return make_error(ErrorKind::unavailable, "camera " + std::to_string(config.index) +
                                                    ": cannot listen for RTSP on " +
                                                    config.bind_host + ":" + std::to_string(port));
    }
    port = static_cast<std::uint16_t>(gst_rtsp_server_get_bound_port(server));
    return {};
  }
};

RtspCamera::RtspCamera(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
RtspCamera::~RtspCamera() = default;

Result<std::unique_ptr<RtspCamera>> RtspCamera::create(RtspLoop& loop, RtspCameraConfig config) {
  auto impl = std::make_unique<Impl>();
  impl->loop = &loop;
  impl->config = std::move(config);
  impl->port = impl->config.port;
  impl->shared->index = impl->config.index;
  impl->shared->udp->seed = impl->config.fault_seed;
  impl->main_state.loop = impl->sub_state.loop = &loop.impl();
  impl->main_state.camera = impl->sub_state.camera = impl->shared;
  impl->main_state.clip = impl->config.main_clip;
  impl->sub_state.clip = impl->config.sub_clip;
  impl->main_state.name = "main";
  impl->sub_state.name = "sub";
  impl->main_state.send_times = impl->sub_state.send_times = impl->config.send_times;
  Status st;
  loop.run_sync([&] {
    Impl& i = *impl;
    i.server = gst_rtsp_server_new();
    gst_rtsp_server_set_address(i.server, i.config.bind_host.c_str());
    if (!i.config.username.empty()) {
      GstRTSPAuth* auth = gst_rtsp_auth_new();
      gst_rtsp_auth_set_supported_methods(auth, GST_RTSP_AUTH_DIGEST);
      GstRTSPToken* token =
          gst_rtsp_token_new(GST_RTSP_TOKEN_MEDIA_FACTORY_ROLE, G_TYPE_STRING, "viewer", nullptr);
      gst_rtsp_auth_add_digest(auth, i.config.username.c_str(), i.config.password.c_str(), token);
      gst_rtsp_token_unref(token);
      gst_rtsp_server_set_auth(i.server, auth);
      g_object_unref(auth);
    }
    GstRTSPMountPoints* mounts = gst_rtsp_server_get_mount_points(i.server);
    gst_rtsp_mount_points_add_factory(mounts, "/main", i.make_factory(i.main_state));
    gst_rtsp_mount_points_add_factory(mounts, "/sub", i.make_factory(i.sub_state));
    g_object_unref(mounts);
    st = i.attach();
  });
  if (!st) return st.error();
  return std::unique_ptr<RtspCamera>(new RtspCamera(std::move(impl)));
}

std::uint16_t RtspCamera::port() const {
  return impl_->port;
}

std::string RtspCamera::main_url() const {
  return "rtsp://" + url_host(impl_->config.bind_host) + ":" + std::to_string(impl_->port) +
         "/main";
}

std::string RtspCamera::sub_url() const {
  return "rtsp://" + url_host(impl_->config.bind_host) + ":" + std::to_string(impl_->port) + "/sub";
}

int RtspCamera::client_count() const {
  int n = 0;
  impl_->loop->run_sync([&] {
    GList* clients = gst_rtsp_server_client_filter(impl_->server, nullptr, nullptr);
    n = static_cast<int>(g_list_length(clients));
    g_list_free_full(clients, g_object_unref);
  });
  return n;
}

StreamCounters RtspCamera::main_counters() const {
  return impl_->main_state.counters->snapshot();
}

StreamCounters RtspCamera::sub_counters() const {
  return impl_->sub_state.counters->snapshot();
}

std::vector<RtspLoop::Incident> RtspLoop::incidents(std::uint64_t* total) const {
  std::lock_guard lock(impl_->incidents_mu);
  if (total != nullptr) *total = impl_->incidents_total;
  return {impl_->incidents.begin(), impl_->incidents.end()};
}

RtspLoop::TickStats RtspLoop::tick_stats() const {
  return {impl_->ticks.load(), impl_->max_tick_gap_ms.load()};
}

void RtspCamera::drop_clients() {
  impl_->loop->run_sync([this] { impl_->drop_everyone(); });
}

void RtspCamera::stall(std::chrono::milliseconds d) {
  impl_->shared->stall_until_us.store(g_get_monotonic_time() +
                                      std::chrono::microseconds(d).count());
}

void RtspCamera::set_no_keyframes(bool on) {
  impl_->shared->no_keyframes.store(on);
}
bool RtspCamera::no_keyframes() const {
  return impl_->shared->no_keyframes.load();
}

void RtspCamera::set_down(bool down) {
  impl_->down.store(down);
  impl_->loop->run_sync([this, down] {
    if (down) {
      impl_->detach();
      impl_->drop_everyone();
    } else if (impl_->source_id == 0) {
      if (auto st = impl_->attach(); !st) spdlog::error("{}", st.error().message);
    }
  });
}

bool RtspCamera::down() const {
  return impl_->down.load();
}

void RtspCamera::set_udp_faults(int loss_percent, int reorder_percent) {
  impl_->shared->udp->loss_percent.store(std::clamp(loss_percent, 0, kMaxUdpFaultPercent));
  impl_->shared->udp->reorder_percent.store(std::clamp(reorder_percent, 0, kMaxUdpFaultPercent));
}

RtspCamera::UdpCounts RtspCamera::udp() const {
  const UdpFaults& u = *impl_->shared->udp;
  return {u.loss_percent.load(), u.reorder_percent.load(), u.sent.load(), u.dropped.load(),
          u.reordered.load()};
}

}  // namespace zaulek::sim
