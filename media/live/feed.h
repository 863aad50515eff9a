// A camera stream's live feed: the access units the stream's one RTSP pull
// delivers to the recorder, also as fragmented MP4 for live viewers, with
// no second connection to the camera (issue 19). media/ knows nothing of
// HTTP: server/live turns a viewer into a WebSocket.
//
// Contract:
//  - One feed per pulled stream, made and fed by its Recorder
//    (media/recorder.h Recorder::live_feed); it lives as long as anyone
//    holds it; after the recorder stops, viewers get on_end.
//  - One fMP4 muxer per feed, shared by every viewer: the init segment and
//    each fragment are made once (std::shared_ptr<const std::string>).
//    The muxer runs only while someone watches.
//  - The feed keeps the access units since the last keyframe (bounded by
//    kMaxGopUnits and kMaxGopBytes; past either it keeps nothing until the
//    next keyframe): a new viewer gets the init segment and then the
//    fragments from that keyframe on, at once.
//  - Everything a viewer is told comes on the feed's strand, which the
//    viewer may use for its own state (post()). A viewer must not block.
//  - stall: no access unit for kStallAfter while someone watches;
//    resumed at the next one.
#pragma once

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>

#include "core/clock.h"
#include "media/codec.h"

namespace zaulek::media::live {

using Bytes = std::shared_ptr<const std::string>;

struct Format {
  Codec codec = Codec::h264;
  std::string codec_string;  // RFC 6381, e.g. "avc1.64001f", "hvc1.1.6.L93.B0"
  int width = 0;
  int height = 0;
};

class Viewer {
 public:
  virtual ~Viewer() = default;
  // A new muxer (first subscription, a new ingest instance, a format change):
  // what follows starts at a keyframe and needs this init segment.
  virtual void on_init(const Format& format, Bytes init) = 0;
  // One moof+mdat (one access unit); keyframe: a viewer may start here.
  virtual void on_fragment(Bytes fragment, bool keyframe) = 0;
  virtual void on_stall(bool stalled) = 0;
  // The feed ends (the recorder stopped); nothing follows.
  virtual void on_end(const std::string& reason) = 0;
};

constexpr std::size_t kMaxGopUnits = 600;
constexpr std::size_t kMaxGopBytes = 16u << 20;
constexpr std::chrono::milliseconds kStallAfter{2'000};

struct FeedCounters {
  std::uint64_t units = 0;      // access units received from the ingest
  std::uint64_t fragments = 0;  // fragments made (only while watched)
  std::uint64_t mux_errors = 0;
  std::uint64_t gop_overflows = 0;    // GOP dropped for its size
  std::uint64_t mux_cpu_ns = 0;       // CPU time the muxer took (its thread's)
  std::uint64_t timestamp_fixes = 0;  // composition offsets past 16 frames, replaced
};

class Feed {
 public:
  virtual ~Feed() = default;
  // Any thread. The viewer gets, on the strand, the init segment and the
  // kept GOP (if any), then everything live; held until unsubscribe or end.
  virtual void subscribe(std::shared_ptr<Viewer> viewer) = 0;
  virtual void unsubscribe(const Viewer* viewer) = 0;
  // Runs fn on the feed's strand.
  virtual void post(std::function<void()> fn) = 0;
  // Any thread: a copy of the counters (atomics).
  virtual FeedCounters counters() const = 0;
};

// The producer's side: what the recorder calls, on its own strand; each
// call only posts to the feed's strand.
class FeedSource : public Feed {
 public:
  // A new ingest instance: its media time starts again. Decode times stay
  // continuous for viewers.
  virtual void restart() = 0;
  // One access unit in decode order, byte-stream with its parameter sets in
  // front if it is a keyframe. dts_ns: continuous media time; cts_ns >= 0.
  // Always from the same strand (the recorder's).
  virtual void unit(Codec codec, std::span<const std::uint8_t> au, std::int64_t dts_ns,
                    std::int64_t cts_ns, std::int64_t frame_ns, bool keyframe) = 0;
  virtual void end(const std::string& reason) = 0;
};

std::shared_ptr<FeedSource> make_feed(boost::asio::io_context& io, const Clock& clock,
                                      std::string name);

}  // namespace zaulek::media::live
