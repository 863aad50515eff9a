// The recording engine: per camera one ingest, our own RTSP client over TCP
// (media/rtsp_client.h, the default) or a GStreamer pipeline
//   rtspsrc -> depay -> parse (H.264/H.265 from caps) -> tee -> queue -> appsink
// whose access units are written by our own MPEG-TS writer into keyframe-aligned
// segment files (see docs/recording.md for why TS and why our own cutting).
//
// Contract:
//  - A Recorder's state lives on its strand. GStreamer callbacks only post to
//    that strand; they never block and never touch the Recorder.
//  - Any pipeline failure (error, EOS, stall, unsupported codec) ends that
//    pipeline instance; the Recorder rebuilds it with capped, jittered backoff.
//    Other Recorders are unaffected.
//  - A segment is reported through the callback only after its file is
//    complete on disk: written, fsync'd, renamed from *.ts.part to *.ts, and the
//    directory fsync'd.
//  - Credentials are passed to the RTSP client (or rtspsrc's properties) and
//    never logged.
//
// media/ knows nothing of ONVIF, SQLite or HTTP.
#pragma once

#include "core/clock.h"
#include "core/error.h"
#include "core/recording_mode.h"
#include "media/codec.h"

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace zaulek::media {

namespace live {
class Feed;  // media/live/feed.h
}

enum class Transport { tcp, udp };

// native (the default): our own RTSP client and depayloader on the
// recorder's strand (media/rtsp_client.h; TCP only, UDP always uses
// rtspsrc): no thread hand-off per packet, a fraction of the CPU
// (docs/recording.md "Performance"). gstreamer: rtspsrc -> depay -> parse
// -> tee, the pipeline below. Both feed live view (Recorder::live_feed).
enum class Ingest { gstreamer, native };

// continuous, events (see Recorder::event), off: core/recording_mode.h.
using zaulek::RecordingMode;

// One closed segment file.
struct SegmentInfo {
  std::string camera_id;
  std::filesystem::path path;
  WallTime start;  // wall time of the first frame (a keyframe)
  WallTime end;    // wall time of the last frame plus its duration
  std::uint64_t bytes = 0;
  Codec codec = Codec::h264;
  int width = 0;  // 0 when the stream's caps did not say
  int height = 0;
  std::uint32_t keyframes = 0;
  std::uint64_t frames = 0;
  bool recovered = false;  // closed by reconciliation after a crash
};

struct CameraConfig {
  std::string id;        // also the directory name under the recording root
  std::string url;       // rtsp://host:port/path (no credentials in it)
  std::string username;  // passed as rtspsrc user-id; never logged
  std::string password;  // passed as rtspsrc user-pw; never logged
  // Native ingest: answer a Basic challenge (password in clear); otherwise it
  // fails the camera with a reason. rtspsrc (gstreamer ingest) ignores it.
  bool allow_basic_auth = false;
  Transport transport = Transport::tcp;
  Ingest ingest = Ingest::native;
  std::filesystem::path dir;  // this camera's directory (created if missing)
  std::chrono::milliseconds segment_duration{60'000};
  // Power-cut loss bound: the file is fdatasync'd at this cadence.
  std::chrono::milliseconds sync_interval{1'000};
  // kill -9 loss bound: buffered bytes are written at least this often.
  std::chrono::milliseconds flush_interval{200};
  std::chrono::milliseconds latency{200};           // rtspsrc jitterbuffer
  std::chrono::milliseconds stall_timeout{10'000};  // no data for this long -> rebuild
  std::chrono::milliseconds backoff_initial{1'000};
  std::chrono::milliseconds backoff_max{30'000};
  RecordingMode mode = RecordingMode::continuous;
  // events mode: footage from the keyframe at or before (event start - pre_event)
  // to (event stop + post_event) is written.
  std::chrono::milliseconds pre_event{5'000};
  std::chrono::milliseconds post_event{5'000};
  std::size_t pre_event_max_bytes = 32 * 1024 * 1024;  // whole GOPs dropped beyond it
  // A segment is opened only while the file system of `dir` has at least this
  // many bytes free (empty: no check); otherwise the pipeline fails with
  // "segment: disk full: ...". Called on the recorder's strand: keep it cheap.
  std::function<std::uint64_t()> min_free_bytes;
  // RTP packets the camera sent that never arrived (sequence gaps: UDP
  // loss, a camera skipping numbers), as the ingest counts them: called on
  // the recorder's strand with each new count (at most every 250 ms, and
  // when an ingest instance ends). Empty: counted in CameraStats only.
  using LossCallback = std::function<void(std::uint64_t packets)>;
  LossCallback on_packets_lost;
};

// Counters, read on the Recorder's strand (see Recorder::stats).
struct CameraStats {
  std::uint64_t frames = 0;
  std::uint64_t bytes = 0;
  std::uint64_t segments = 0;
  std::uint64_t restarts = 0;          // pipeline instances rebuilt
  std::uint64_t no_pts_fixed = 0;      // buffers without PTS given one
  std::uint64_t timestamp_jumps = 0;   // PTS went back or leapt; re-anchored
  std::uint64_t dropped_overflow = 0;  // writer fell behind; segment ended
  std::uint64_t waiting_keyframe = 0;  // frames skipped before a keyframe
  std::uint64_t ntp_frames = 0;        // frames timed from RTCP SR (NTP)
  std::int64_t ntp_offset_ms = 0;      // sender-report time minus arrival time (first SR)
  std::uint64_t not_recorded = 0;      // frames not written by mode (off, outside events)
  std::uint64_t malformed = 0;         // frames whose NAL lengths did not add up; skipped
  std::uint64_t packets_lost = 0;      // RTP packets that never arrived (see on_packets_lost)
  std::string state;                   // "connecting", "recording", "backoff", "stopped"
  std::string last_error;
  // The segment being written (the live edge): wall time of its first frame
  // and the end of the last frame handed to the writer; 0 when none is open.
  std::int64_t open_start_ns = 0;
  std::int64_t open_end_ns = 0;
};

using SegmentCallback = std::function<void(const SegmentInfo&)>;
// Camera state changes ("recording", "backoff" with the reason), for logs/status.
using StateCallback = std::function<void(const std::string& camera_id, const std::string& state,
                                         const std::string& detail)>;

// Calls gst_init once; safe to call from several places.
void init_gstreamer();

class Recorder {
 public:
  virtual ~Recorder() = default;
  // Posts to the strand: builds the pipeline and starts recording.
  virtual void start() = 0;
  // Posts to the strand: tears the pipeline down, closes and reports the open
  // segment, then calls done (on the strand).
  virtual void stop(std::function<void()> done) = 0;
  // events mode: an event (alarm, motion) started (true) or stopped (false).
  virtual void event(bool active) = 0;
  // Posts to the strand and hands a copy of the counters to fn.
  virtual void stats(std::function<void(const CameraStats&)> fn) = 0;
  // The stream's live feed (media/live/feed.h): fed by either ingest from
  // the same pull, whatever the recording mode. Any thread; the same feed
  // for the recorder's life.
  virtual std::shared_ptr<live::Feed> live_feed() const = 0;
};

std::shared_ptr<Recorder> make_recorder(boost::asio::io_context& io, const Clock& clock,
                                        CameraConfig config, SegmentCallback on_segment,
                                        StateCallback on_state = {});

// Start-up reconciliation of one camera directory: every unfinished segment
// (*.ts.part, left by a crash or power cut) is trimmed to its last whole
// 188-byte packet with a valid sync byte, fsync'd, renamed to *.ts and
// reported as recovered; one with no whole frame is removed. Each is logged.
Result<std::vector<SegmentInfo>> reconcile_camera_dir(const std::filesystem::path& dir,
                                                      const std::string& camera_id);

// Reads a closed segment file written by this engine (start, end, frames,
// codec, resolution) without changing it; for indexing a file with no row.
Result<SegmentInfo> probe_segment(const std::filesystem::path& path, const std::string& camera_id);

// "20261125T101500.123456Z" for a segment starting at t.
std::string segment_stem(WallTime t);

}  // namespace zaulek::media
