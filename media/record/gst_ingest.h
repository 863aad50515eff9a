// The GStreamer ingest (internal to media/): one pipeline instance
//   rtspsrc -> depay -> parse (H.264/H.265 from caps) -> tee -> queue -> appsink
// whose callbacks, on GStreamer's streaming threads, only post to the
// recorder's strand (IngestSink, media/record/ingest.h). They hold a weak
// reference to the recorder and the instance's generation, nothing else.
// Used for UDP and when the camera's ingest is "gstreamer".
#pragma once

#include "core/error.h"
#include "media/codec.h"
#include "media/record/ingest.h"
#include "media/recorder.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

struct _GstElement;  // GStreamer's, as in frame.h
struct _GstCaps;

namespace zaulek::media {

struct GstLink;

class GstIngest {
 public:
  // Builds the pipeline (not yet playing); an error when rtspsrc is missing.
  static Result<std::unique_ptr<GstIngest>> create(const CameraConfig& cfg, Strand strand,
                                                   std::weak_ptr<IngestSink> sink,
                                                   std::uint64_t generation);
  // Tears the pipeline down: anything it still posts is ignored by generation.
  ~GstIngest();
  GstIngest(const GstIngest&) = delete;
  GstIngest& operator=(const GstIngest&) = delete;

  // Sets it playing; false when it would not start.
  bool play();

  // A sample of this instance reached the strand; true when samples were
  // dropped before it (the writer fell behind: too many waiting).
  bool received();

  // RTP packets rtspsrc's jitter buffer gave up on so far (over UDP: lost,
  // or later than its latency); this instance's total. Any thread.
  std::uint64_t lost_packets() const;

  // What the stream's caps say (the record branch's parser output).
  struct Format {
    Codec codec = Codec::h264;
    int width = 0;  // 0 when the caps do not say
    int height = 0;
    int length_size = 4;                // NAL length prefix size
    std::vector<std::uint8_t> params;   // from codec_data, byte-stream (may be empty)
    bool codec_data_malformed = false;  // codec_data present but unreadable: ignored
    bool byte_stream = false;           // else length-prefixed (avc/hvc1)
  };
  // One sample read: a caps change (with the new format when it is H.264 or
  // H.265) and the buffer's timing.
  struct Unit {
    bool caps_changed = false;
    std::optional<Format> format;
    bool timed = false;  // false: no PTS and no DTS (the rest of the frame before)
    std::int64_t pts_ns = 0;
    bool keyframe = false;
    std::optional<std::int64_t> frame_ns;  // the buffer's duration, when plausible
    std::optional<std::int64_t> ntp_wall;  // from the RTCP sender report, ns since the epoch
  };
  // nullopt: the sample has no buffer or no caps.
  std::optional<Unit> read(const SampleRef& sample);

 private:
  GstIngest() = default;

  std::string camera_id_;  // for logs

  _GstElement* pipeline_ = nullptr;
  std::shared_ptr<GstLink> link_;
  _GstCaps* last_caps_ = nullptr;  // ref held
};

// Appends the bytes of a sample's buffer to out.
void append_sample(const SampleRef& sample, std::vector<std::uint8_t>& out);

}  // namespace zaulek::media
