// The simulated cameras' RTSP face: one GstRTSPServer per camera (its own
// port, /main and /sub mounts, optional digest auth), all attached to one
// GMainContext run by one thread (RtspLoop). Each mount is a shared media
// `appsrc ! parse ! pay0` fed with the pre-encoded clip, so a stream costs
// one appsrc however many clients pull it, and nothing is encoded at run time.
#pragma once

#include "core/error.h"
#include "sim/clip.h"

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

struct _GstRTSPAddressPool;  // gst-rtsp-server's (sim/udp_faults.h)

namespace zaulek::sim {

// The GLib main loop thread shared by every RTSP server, and the frame ticker
// that pushes clip frames into every live appsrc at the clip's frame rate.
class RtspLoop {
 public:
  RtspLoop();
  ~RtspLoop();  // stops the loop and joins its thread
  RtspLoop(const RtspLoop&) = delete;
  RtspLoop& operator=(const RtspLoop&) = delete;

  // Runs fn on the loop thread and waits for it (runs inline when called
  // from the loop thread).
  void run_sync(const std::function<void()>& fn);

  // What went wrong on the sending side, for benchmarks to tell a
  // simulator's loss or time jump from a receiver's (GET /sim/incidents).
  struct Incident {
    std::int64_t wall_us = 0;  // when it was seen
    int camera = 0;
    std::string stream;       // "main", "sub"; empty for the ticker
    std::string kind;         // "queue_full", "regrid", "tick_late"
    std::int64_t amount = 0;  // frames dropped, or ms jumped / late
  };
  // The last kMaxIncidents, oldest first, and how many were seen in all.
  static constexpr std::size_t kMaxIncidents = 1000;
  std::vector<Incident> incidents(std::uint64_t* total = nullptr) const;
  // The ticker: how many ticks ran, the longest time between two (ms).
  struct TickStats {
    std::uint64_t ticks = 0;
    std::int64_t max_gap_ms = 0;
  };
  TickStats tick_stats() const;

  struct Impl;
  Impl& impl() { return *impl_; }

 private:
  std::unique_ptr<Impl> impl_;
};

struct RtspCameraConfig {
  int index = 0;
  std::string bind_host = "127.0.0.1";
  std::uint16_t port = 0;  // 0: pick a free port (see RtspCamera::port())
  std::string username;    // empty: no authentication
  std::string password;
  std::shared_ptr<const Clip> main_clip;
  std::shared_ptr<const Clip> sub_clip;
  // Each frame carries an SEI with its number and wall-clock send time
  // (sim/sei.h); off by default so normal recordings are unchanged.
  bool send_times = false;
  // RTSP over UDP: the sockets come from this pool (sim/udp_faults.h); null:
  // the camera serves interleaved TCP only.
  std::shared_ptr<_GstRTSPAddressPool> udp_pool;
  std::uint64_t fault_seed = 0;  // the UDP faults' random choices
};

// A stream's sending counters since start (all its RTSP sessions together:
// one shared appsrc feeds every client of the stream).
struct StreamCounters {
  std::uint64_t frames_sent = 0;     // pushed into the appsrc
  std::uint64_t frames_dropped = 0;  // not pushed: the appsrc queue was full
  std::uint64_t frames_stalled = 0;  // slots skipped by the rtsp_stall_ms fault
  std::uint64_t regrids = 0;         // time grid re-anchored (a jump in timestamps)
  std::int64_t regrid_ms = 0;        // total of those jumps
  std::uint64_t late_frames = 0;     // pushed more than one frame after their due time
  std::int64_t max_late_ms = 0;
};

class RtspCamera {
 public:
  // Binds and starts serving on the loop. Error when the port is taken.
  static Result<std::unique_ptr<RtspCamera>> create(RtspLoop& loop, RtspCameraConfig config);
  ~RtspCamera();

  std::uint16_t port() const;
  std::string main_url() const;
  std::string sub_url() const;
  int client_count() const;
  StreamCounters main_counters() const;
  StreamCounters sub_counters() const;

  // Faults, callable from any thread.
  // Closes every client connection (the mounts stay; clients may reconnect).
  void drop_clients();
  // Pushes no frames for `d`; clients see a gap in the timestamps after it.
  void stall(std::chrono::milliseconds d);
  // Drops keyframes (and their SPS/PPS) while set.
  void set_no_keyframes(bool on);
  bool no_keyframes() const;
  // down = true: stop listening and drop clients (a reboot); false: listen
  // again on the same port.
  void set_down(bool down);
  bool down() const;
  // UDP clients only: each RTP packet is lost, or swapped with the next one
  // of its frame, with these chances (0 to kMaxUdpFaultPercent).
  void set_udp_faults(int loss_percent, int reorder_percent);
  struct UdpCounts {
    int loss_percent = 0, reorder_percent = 0;
    std::uint64_t sent = 0, dropped = 0, reordered = 0;  // RTP packets to UDP clients
  };
  UdpCounts udp() const;

  struct Impl;

 private:
  explicit RtspCamera(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// "rtsp://host:port" with IPv6 literals bracketed.
std::string url_host(const std::string& host);

}  // namespace zaulek::sim
