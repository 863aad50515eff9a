// RTSP over UDP in the simulator: the loopback port pool the cameras'
// RTP/RTCP sockets come from, and the faults a UDP network adds (packets
// lost, packets out of order), applied only to what UDP clients get.
//
// gst-rtsp-server sends to UDP clients through one multiudpsink per stream
// (TCP clients get the same packets through an appsink beside it), so the
// faults are a pad probe on that sink: TCP clients of the same mount never
// see them, as on a real network. Packets come as buffer lists (one per NAL
// unit the payloader fragments); a swap exchanges two neighbours in a list,
// a loss removes one. RTCP (sender reports) passes untouched.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

struct _GstRTSPMedia;        // gst-rtsp-server's
struct _GstRTSPAddressPool;  // gst-rtsp-server's

namespace zaulek::sim {

// Percentages the control API may set (0 to this).
inline constexpr int kMaxUdpFaultPercent = 50;

// One camera's UDP faults and counters; written by the control thread, read
// by GStreamer's streaming threads (atomics).
struct UdpFaults {
  std::atomic<int> loss_percent{0};     // each RTP packet is dropped with this chance
  std::atomic<int> reorder_percent{0};  // each packet swaps with the next with this chance
  std::atomic<std::uint64_t> sent{0};   // RTP packets handed to UDP clients
  std::atomic<std::uint64_t> dropped{0};
  std::atomic<std::uint64_t> reordered{0};
  std::uint64_t seed = 0;  // the faults' random choices (with --seed: reproducible)
};

// Applies `faults` to the UDP sinks the media's streams add for UDP clients
// (from now on; call in media-configure, before any SETUP).
void watch_udp_sinks(_GstRTSPMedia* media, std::shared_ptr<UdpFaults> faults);

// A unicast pool of `host` (the simulator's bind address) with ports
// [lo, hi]: every UDP socket of the cameras is bound there, never to the
// wildcard address. A port someone else holds is skipped. The pool is
// released by the deleter.
std::shared_ptr<_GstRTSPAddressPool> make_udp_pool(const std::string& host, std::uint16_t lo,
                                                   std::uint16_t hi);

}  // namespace zaulek::sim
