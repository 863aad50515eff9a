// What the two ingests (media/record/gst_ingest.h, native_ingest.h) deliver
// to the recorder (internal to media/). Everything is called on the
// recorder's strand; `generation` names the ingest instance, and calls from
// an instance the recorder has torn down are ignored by it.
#pragma once

#include "media/record/frame.h"
#include "media/rtp.h"
#include "media/rtsp_client.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>

#include <cstdint>
#include <optional>
#include <string>

namespace zaulek::media {

using Strand = boost::asio::strand<boost::asio::io_context::executor_type>;

class IngestSink {
 public:
  virtual ~IngestSink() = default;
  // GStreamer: a sample from the appsink; a warning on the bus.
  virtual void on_sample(std::uint64_t generation, SampleRef sample) = 0;
  virtual void on_warning(std::uint64_t generation, std::string text) = 0;
  // Native: the stream is playing; one access unit (wall_ns from RTCP).
  virtual void on_playing(std::uint64_t generation, const RtspStream& stream) = 0;
  virtual void on_unit(std::uint64_t generation, const rtp::AccessUnit& unit,
                       std::optional<std::int64_t> wall_ns) = 0;
  // Either: this instance is finished (error, end of stream, unsupported).
  virtual void on_failure(std::uint64_t generation, std::string text) = 0;
};

// Never log credentials: drop any user:password@ part of a URL.
inline std::string redact_url(const std::string& url) {
  const auto scheme = url.find("://");
  if (scheme == std::string::npos) return url;
  const auto at = url.find('@', scheme + 3);
  const auto slash = url.find('/', scheme + 3);
  if (at == std::string::npos || (slash != std::string::npos && at > slash)) return url;
  return url.substr(0, scheme + 3) + "***@" + url.substr(at + 1);
}

}  // namespace zaulek::media
