// Live view (issue 19): a viewer of a camera stream's live feed
// (media/live/feed.h, filled by the recorder from its one RTSP pull) as the
// source of a WebSocket (server/http/http_types.h WsSource). Knows nothing
// of Beast.
//
// Per viewer: a bounded queue (viewer_queue.h; kQueueItems fragments,
// kQueueBytes bytes) and one message written at a time; a viewer that falls
// behind skips to the next keyframe (zaulek_live_skips_total). All of a
// viewer's state lives on its feed's strand; the transport only posts there.
//
// Messages: text {"type":"init","codec","width","height","stream"}, then
// binary: the init segment, media segments; text {"type":"stall"} and
// {"type":"resumed"}. A feed that ends closes the WebSocket with its reason.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "server/http/http_types.h"

namespace zaulek::media::live {
class Feed;
}

namespace zaulek::server {

class LiveViewer;  // live.cpp

class LiveService {
 public:
  static constexpr std::size_t kQueueItems = 75;  // 3 s at 25 fps
  static constexpr std::size_t kQueueBytes = 8u << 20;

  // A camera stream's live feed (null when nothing pulls it: no recorder
  // for main, mode off, not started), the stream actually served ("main"
  // stands in for a camera without a sub stream), and a lease the viewer
  // holds while it is open (a sub stream is pulled while anyone holds one).
  struct Hold {
    std::shared_ptr<media::live::Feed> feed;
    std::string stream;
    std::shared_ptr<void> lease;
  };
  using FeedLookup = std::function<Hold(const std::string& camera, const std::string& stream)>;
  // Every feed (for /metrics: what the muxers did).
  using FeedList = std::function<std::vector<std::shared_ptr<media::live::Feed>>()>;
  LiveService(FeedLookup lookup, FeedList list);

  // A viewer of the camera's stream ("main" or "sub"); null when the stream
  // is not pulled. The init message says which stream is served.
  std::shared_ptr<WsSource> viewer(const std::string& camera_id, const std::string& stream,
                                   const std::string& user);

  // Closes every viewer ("server shutting down"); any thread.
  void shutdown();

  // zaulek_live_* lines for /metrics (no camera label: a bounded set).
  std::string metrics_text() const;

  struct Counters {
    std::atomic<std::int64_t> viewers{0};
    std::atomic<std::uint64_t> opened{0};
    std::atomic<std::uint64_t> skips{0};      // a viewer's queue overflowed
    std::atomic<std::uint64_t> dropped{0};    // fragments not sent (skips and waiting)
    std::atomic<std::uint64_t> fragments{0};  // fragments written to viewers
    std::atomic<std::uint64_t> bytes{0};      // bytes written to viewers
  };

 private:
  FeedLookup lookup_;
  FeedList list_;
  std::shared_ptr<Counters> counters_;
  // Open viewers, for shutdown(). A mutex: viewers are made on the HTTP
  // worker pool, held for a push or a sweep of expired entries.
  std::mutex mu_;
  std::vector<std::weak_ptr<LiveViewer>> viewers_;
};

}  // namespace zaulek::server
