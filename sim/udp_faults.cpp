#include "sim/udp_faults.h"

#include <gst/rtsp-server/rtsp-server.h>

#include <random>
#include <string_view>

namespace zaulek::sim {
namespace {

// One UDP sink's probe: the camera's faults and a random source of its own
// (a probe runs on one streaming thread at a time).
struct Probe {
  std::shared_ptr<UdpFaults> faults;
  std::mt19937_64 rng;
};

using Holder = std::shared_ptr<UdpFaults>;

bool is_rtcp(GstBuffer* buf) {
  std::uint8_t head[2] = {0, 0};
  if (gst_buffer_extract(buf, 0, head, 2) != 2) return false;
  return (head[0] >> 6) == 2 && head[1] >= 200 && head[1] <= 207;  // RFC 3550 packet types
}

bool chance(Probe& p, int percent) {
  return percent > 0 && std::uniform_int_distribution<int>(0, 99)(p.rng) < percent;
}

GstPadProbeReturn on_packets(GstPad*, GstPadProbeInfo* info, gpointer data) {
  auto& p = *static_cast<Probe*>(data);
  const int loss = p.faults->loss_percent.load(std::memory_order_relaxed);
  const int reorder = p.faults->reorder_percent.load(std::memory_order_relaxed);
  if (GST_PAD_PROBE_INFO_TYPE(info) & GST_PAD_PROBE_TYPE_BUFFER) {
    GstBuffer* buf = GST_PAD_PROBE_INFO_BUFFER(info);
    if (is_rtcp(buf)) return GST_PAD_PROBE_OK;
    if (chance(p, loss)) {
      ++p.faults->dropped;
      return GST_PAD_PROBE_DROP;
    }
    ++p.faults->sent;
    return GST_PAD_PROBE_OK;
  }
  GstBufferList* list = GST_PAD_PROBE_INFO_BUFFER_LIST(info);
  const guint n = gst_buffer_list_length(list);
  if (n == 0 || is_rtcp(gst_buffer_list_get(list, 0))) return GST_PAD_PROBE_OK;
  if (loss == 0 && reorder == 0) {
    p.faults->sent += n;
    return GST_PAD_PROBE_OK;
  }
  // The tee hands every branch the same list: ours is a copy (of references).
  list = gst_buffer_list_make_writable(list);
  GST_PAD_PROBE_INFO_DATA(info) = list;
  for (guint i = 0; i < gst_buffer_list_length(list);) {
    if (chance(p, loss)) {
      gst_buffer_list_remove(list, i, 1);
      ++p.faults->dropped;
      continue;
    }
    if (i + 1 < gst_buffer_list_length(list) && chance(p, reorder)) {
      GstBuffer* later = gst_buffer_ref(gst_buffer_list_get(list, i + 1));
      gst_buffer_list_remove(list, i + 1, 1);
      gst_buffer_list_insert(list, static_cast<gint>(i), later);  // takes `later`
      ++p.faults->reordered;
      i += 2;  // the pair is done: each packet moves at most once
      continue;
    }
    ++i;
  }
  p.faults->sent += gst_buffer_list_length(list);
  if (gst_buffer_list_length(list) == 0) return GST_PAD_PROBE_DROP;
  return GST_PAD_PROBE_OK;
}

void on_element_added(GstBin*, GstElement* element, gpointer data) {
  GstElementFactory* factory = gst_element_get_factory(element);
  if (factory == nullptr ||
      std::string_view(GST_OBJECT_NAME(factory)) != std::string_view("multiudpsink"))
    return;
  const Holder& faults = *static_cast<Holder*>(data);
  GstPad* pad = gst_element_get_static_pad(element, "sink");
  if (pad == nullptr) return;
  // Each sink its own stream of random numbers, reproducible from the seed.
  static std::atomic<std::uint64_t> sinks{0};
  auto* probe = new Probe{faults, std::mt19937_64(faults->seed + 0x9e3779b97f4a7c15ULL * ++sinks)};
  gst_pad_add_probe(
      pad, static_cast<GstPadProbeType>(GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST),
      on_packets, probe, [](gpointer d) { delete static_cast<Probe*>(d); });
  gst_object_unref(pad);
}

}  // namespace

void watch_udp_sinks(GstRTSPMedia* media, std::shared_ptr<UdpFaults> faults) {
  // The media's pipeline (gst-rtsp-server adds the stream's sinks to it);
  // the launch line's bin is its child.
  GstElement* element = gst_rtsp_media_get_element(media);
  GstObject* pipeline = gst_object_get_parent(GST_OBJECT(element));
  gst_object_unref(element);
  if (pipeline == nullptr) return;
  g_signal_connect_data(
      pipeline, "element-added", G_CALLBACK(on_element_added), new Holder(std::move(faults)),
      [](gpointer d, GClosure*) { delete static_cast<Holder*>(d); }, GConnectFlags(0));
  gst_object_unref(pipeline);
}

std::shared_ptr<GstRTSPAddressPool> make_udp_pool(const std::string& host, std::uint16_t lo,
                                                  std::uint16_t hi) {
  GstRTSPAddressPool* pool = gst_rtsp_address_pool_new();
  gst_rtsp_address_pool_add_range(pool, host.c_str(), host.c_str(), lo, hi, 0 /* unicast */);
  return std::shared_ptr<GstRTSPAddressPool>(pool,
                                             [](GstRTSPAddressPool* p) { g_object_unref(p); });
}

}  // namespace zaulek::sim
