// An RTSP/1.0 client for one camera's video stream over TCP (RTP and RTCP
// interleaved on the RTSP connection), on Asio: no thread per camera, RTP
// read in large chunks and depayloaded by media/rtp.h. This is the native
// ingest that tests/bench/record.sh measures against ffmpeg and rtspsrc
// (docs/recording.md "Performance") and media::Recorder's default ingest.
//
// What it does: DESCRIBE (SDP: the first video section, H.264 or H.265, its
// parameter sets and control URL), SETUP interleaved=0-1, PLAY, OPTIONS as
// keep-alive at half the session timeout, TEARDOWN on stop. Digest (RFC 2617,
// MD5, with or without qop=auth) when the camera answers 401; Basic only when
// the target allows it (else the client fails and sends nothing); credentials
// are never logged or put in error texts. RTCP sender reports map RTP time to
// wall time. Every wait is bounded: connect, each answer and the stream itself
// (no RTP for `timeout` is an error). Everything the camera sends is parsed by
// media/rtsp_parse.h (bounded before it is read); a malformed answer, or any
// exception while handling one, fails this client through on_error.
//
// Threading: everything runs on the executor given to create() (a strand);
// handlers are called there. After on_error the client is finished.
#pragma once

#include <boost/asio/any_io_executor.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "media/rtp.h"

namespace zaulek::media {

struct RtspTarget {
  std::string url;  // rtsp://host[:port]/path, no credentials in it
  std::string username, password;
  // Basic sends the password in clear: only when the camera's record says so.
  bool allow_basic = false;
  std::chrono::milliseconds timeout{10'000};
  // Times the stream's silence (`timeout`); null: system_clock(). Not owned.
  const Clock* clock = nullptr;
};

struct RtspStream {
  Codec codec = Codec::h264;
  std::uint32_t clock_rate = 90'000;
  std::vector<std::uint8_t> params;  // sprop parameter sets, byte-stream (may be empty)
};

struct RtspHandlers {
  std::function<void(const RtspStream&)> on_playing;
  // wall_ns: the unit's wall time from the last RTCP sender report (ns since
  // the Unix epoch), or nullopt before the first one.
  std::function<void(const rtp::AccessUnit&, std::optional<std::int64_t> wall_ns)> on_unit;
  std::function<void(const std::string& error)> on_error;  // once, then nothing more
};

class RtspClient {
 public:
  virtual ~RtspClient() = default;
  virtual void start() = 0;
  // TEARDOWN (best effort) and close; no handler is called after it.
  virtual void stop() = 0;
  virtual const rtp::DepayStats& depay_stats() const = 0;
  virtual std::uint64_t sender_reports() const = 0;
};

std::shared_ptr<RtspClient> make_rtsp_client(boost::asio::any_io_executor executor,
                                             RtspTarget target, RtspHandlers handlers);

}  // namespace zaulek::media
