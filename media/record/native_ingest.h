// The native ingest (internal to media/): our own RTSP/TCP client
// (media/rtsp_client.h) on the recorder's strand, delivering access units to
// the recorder (IngestSink, media/record/ingest.h) with no thread hand-off.
// The default for TCP (docs/recording.md "Performance").
#pragma once

#include "media/codec.h"
#include "media/record/ingest.h"
#include "media/recorder.h"
#include "media/sps.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <span>

namespace zaulek::media {

// A client for cfg's camera whose handlers call sink with generation (once
// the sink is gone, nothing), timing the stream's silence on clock; not
// started.
std::shared_ptr<RtspClient> make_native_ingest(const CameraConfig& cfg, const Clock& clock,
                                               Strand strand, std::weak_ptr<IngestSink> sink,
                                               std::uint64_t generation);

// The picture size from the SPS in a byte-stream unit (or parameter sets), if
// it carries one.
std::optional<PictureSize> unit_picture_size(Codec codec, std::span<const std::uint8_t> au);

}  // namespace zaulek::media
