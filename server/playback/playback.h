// Playback of recorded footage over WebSocket (issue 20): a viewer reads a
// camera's segments (archive.h) from a time on, the state machine
// (player.h) paces them, and the same libavformat fMP4 muxer as live view
// (media/live/fmp4.h) frames them. Knows nothing of Beast: a viewer is a
// WsSource (server/http/http_types.h).
//
// Threads. Reading files (and the catalogue, and asking the recorder where
// its open segment is) blocks, so viewers run on playback's own small pool
// (kThreads threads, one strand per viewer), never on the threads that
// serve HTTP and consoles. Not the slow pool: that one bounds requests in
// flight and answers 503 beyond; a viewer lives for minutes.
//
// Per viewer: the state machine holds at most kMaxReady frames read ahead
// (16 MiB); one message is written at a time (the next after written());
// a client that never reads therefore costs that much and no more, and
// the file is not read further until it does.
//
// Messages out: text {"type":"init","codec","width","height","camera_id"},
// binary init segment (again at a format change), then the player's text
// messages (start, gap, live, acks) and binary media segments (one access
// unit each). Messages in: {"type":"seek","time":T}, {"type":"speed",
// "value":1|2|4|8}, {"type":"pause"}, {"type":"play"} (and the transport's
// ping); anything else gets {"type":"error","message":...}.
#pragma once

#include <boost/asio/io_context.hpp>

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "server/http/http_types.h"
#include "server/playback/archive.h"

namespace zaulek::server {

class PlaybackViewer;  // playback.cpp

class PlaybackService {
 public:
  static constexpr int kThreads = 2;

  PlaybackService(storage::Catalog& catalog, std::filesystem::path root, const Clock& clock,
                  playback::OpenSegmentLookup open_segment);
  ~PlaybackService();  // stop()
  PlaybackService(const PlaybackService&) = delete;
  PlaybackService& operator=(const PlaybackService&) = delete;

  void start();
  // Closes every viewer and joins the threads.
  void stop();

  // Whether the camera has footage at or after t (closed, or being
  // written); the endpoint's 404. Blocking (SQLite): a worker thread.
  Result<bool> has_footage(const std::string& camera_id, std::int64_t t_ns);

  // A viewer of the camera's footage from from_ns at `speed` (valid_speed).
  std::shared_ptr<WsSource> viewer(const std::string& camera_id, std::int64_t from_ns, int speed,
                                   const std::string& user);

  // Closes every viewer ("server shutting down"); any thread.
  void shutdown();

  // zaulek_playback_* lines for /metrics.
  std::string metrics_text() const;

  struct Counters {
    std::atomic<std::int64_t> viewers{0};
    std::atomic<std::uint64_t> opened{0};
    std::atomic<std::uint64_t> fragments{0};
    std::atomic<std::uint64_t> bytes{0};
    std::atomic<std::uint64_t> seeks{0};
    std::atomic<std::uint64_t> read_errors{0};  // catalogue or file errors
    std::atomic<std::uint64_t> mux_errors{0};
  };

 private:
  storage::Catalog& catalog_;
  std::filesystem::path root_;
  const Clock& clock_;
  playback::OpenSegmentLookup open_segment_;
  boost::asio::io_context ioc_;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_;
  std::vector<std::thread> threads_;
  std::shared_ptr<Counters> counters_;
  std::mutex mu_;  // viewers_ (made on HTTP workers, swept at shutdown)
  std::vector<std::weak_ptr<PlaybackViewer>> viewers_;
};

}  // namespace zaulek::server
