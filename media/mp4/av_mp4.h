// The libavformat MP4 setup that live view's fragmented muxer
// (media/live/fmp4.h) and the export's file writer (media/mp4/mp4_file.h)
// share: the muxer, one video stream with its sample entry made from our
// parameter sets (avcC / hvcC; hvc1 for H.265), and samples stripped of
// what the sample entry holds. Internal to media/.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "core/error.h"
#include "media/codec.h"

struct AVFormatContext;
struct AVIOContext;

namespace zaulek::media::mp4 {

// libavformat's error text for a negative return.
std::string av_text(int err);

// An mp4 output context with one video stream (time base 1/90000 asked; the
// muxer may choose its own, read streams[0]->time_base after the header),
// `params` (byte-stream parameter sets) as its extradata, writing through
// `io` (owned by the caller; AVFMT_FLAG_CUSTOM_IO set). `what` prefixes
// errors ("live", "export"). libavformat's own log: errors only.
Result<AVFormatContext*> open_output(Codec codec, int width, int height,
                                     std::span<const std::uint8_t> params, AVIOContext* io,
                                     const char* what);

// Frees a context from open_output (not its io).
void close_output(AVFormatContext* ctx);

// The sample as the MP4 stores it: the access unit's NAL units without
// parameter sets or delimiters (they are in the sample entry), with 4-byte
// start codes (the muxer turns them into lengths). Clears `out` first.
void sample_data(Codec codec, std::span<const std::uint8_t> au, std::vector<std::uint8_t>& out);

}  // namespace zaulek::media::mp4
