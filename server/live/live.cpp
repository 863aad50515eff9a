#include "server/live/live.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include "media/live/feed.h"
#include "server/live/viewer_queue.h"

namespace zaulek::server {
namespace {

using live::Bytes;
using live::ViewerQueue;

Bytes text(const nlohmann::json& j) {
  return std::make_shared<const std::string>(j.dump());
}

}  // namespace

class LiveViewer final : public media::live::Viewer,
                         public WsSource,
                         public std::enable_shared_from_this<LiveViewer> {
 public:
  LiveViewer(LiveService::Hold hold, std::shared_ptr<LiveService::Counters> c, std::string camera,
             std::string user)
      : feed_(hold.feed),
        stream_(std::move(hold.stream)),
        lease_(std::move(hold.lease)),
        c_(std::move(c)),
        camera_(std::move(camera)),
        user_(std::move(user)),
        queue_(LiveService::kQueueItems, LiveService::kQueueBytes) {}

  // --- WsSource: from the transport; each only posts to the feed's strand ---

  void open(std::shared_ptr<WsPeer> peer) override {
    ++c_->viewers;
    ++c_->opened;
    auto feed = feed_.lock();
    if (!feed) return peer->close("stream stopped");
    feed->post([self = shared_from_this(), feed, peer = std::move(peer)]() mutable {
      self->peer_ = std::move(peer);
      feed->subscribe(self);
    });
  }

  void written() override {
    if (auto feed = feed_.lock())
      feed->post([self = shared_from_this()] {
        self->in_flight_ = false;
        self->pump();
      });
  }

  void closed() override {
    --c_->viewers;
    if (auto feed = feed_.lock())
      feed->post([self = shared_from_this(), feed] {
        self->gone_ = true;
        self->peer_.reset();
        self->queue_ = ViewerQueue(0, 0);
        feed->unsubscribe(self.get());
        self->lease_.reset();  // the last viewer of a sub stream: its pull lingers, then stops
      });
  }

  // Any thread: the server stops.
  void shutdown() {
    if (auto feed = feed_.lock())
      feed->post([self = shared_from_this()] {
        if (self->peer_) self->peer_->close("server shutting down");
      });
  }

  // --- media::live::Viewer: on the feed's strand ---

  void on_init(const media::live::Format& f, Bytes init) override {
    queue_.restart(text({{"type", "init"},
                         {"codec", f.codec_string},
                         {"width", f.width},
                         {"height", f.height},
                         {"stream", stream_}}),
                   std::move(init));
    pump();
  }

  void on_fragment(Bytes fragment, bool keyframe) override {
    switch (queue_.push_media(std::move(fragment), keyframe)) {
      case ViewerQueue::Pushed::queued:
        break;
      case ViewerQueue::Pushed::skipped:
        ++c_->skips;
        ++c_->dropped;
        if (++skips_ == 1 || skips_ % 100 == 0)
          spdlog::info("live {}: viewer '{}' is too slow; skipped to the next keyframe ({} times)",
                       camera_, user_, skips_);
        break;
      case ViewerQueue::Pushed::dropped:
        ++c_->dropped;
        break;
    }
    pump();
  }

  void on_stall(bool stalled) override {
    queue_.push_control(text({{"type", stalled ? "stall" : "resumed"}}));
    pump();
  }

  void on_end(const std::string& reason) override {
    if (peer_) peer_->close(reason);
  }

 private:
  void pump() {
    if (gone_ || !peer_ || in_flight_) return;
    auto item = queue_.pop();
    if (!item) return;
    in_flight_ = true;
    if (item->binary) {
      ++c_->fragments;
      c_->bytes += item->bytes->size();
    }
    peer_->send(std::move(item->bytes), item->binary);
  }

  // Weak: the recorder owns its feed (and the io_context its strand is
  // on); a viewer never keeps a stopped recorder's feed alive.
  std::weak_ptr<media::live::Feed> feed_;
  const std::string stream_;  // served: "main" or "sub"
  // Keeps a sub stream's pull while the viewer is open; dropped on the
  // feed's strand when it closes (or with the viewer).
  std::shared_ptr<void> lease_;
  std::shared_ptr<LiveService::Counters> c_;
  std::string camera_;
  std::string user_;
  // On the feed's strand.
  std::shared_ptr<WsPeer> peer_;
  ViewerQueue queue_;
  bool in_flight_ = false;
  bool gone_ = false;
  std::uint64_t skips_ = 0;
};

LiveService::LiveService(FeedLookup lookup, FeedList list)
    : lookup_(std::move(lookup)), list_(std::move(list)), counters_(std::make_shared<Counters>()) {}

std::shared_ptr<WsSource> LiveService::viewer(const std::string& camera_id,
                                              const std::string& stream, const std::string& user) {
  Hold hold = lookup_ ? lookup_(camera_id, stream) : Hold{};
  if (!hold.feed) return nullptr;
  auto v = std::make_shared<LiveViewer>(std::move(hold), counters_, camera_id, user);
  std::lock_guard lock(mu_);
  std::erase_if(viewers_, [](const std::weak_ptr<LiveViewer>& w) { return w.expired(); });
  viewers_.push_back(v);
  return v;
}

void LiveService::shutdown() {
  std::vector<std::weak_ptr<LiveViewer>> all;
  {
    std::lock_guard lock(mu_);
    all.swap(viewers_);
  }
  for (auto& w : all)
    if (auto v = w.lock()) v->shutdown();
}

std::string LiveService::metrics_text() const {
  const Counters& c = *counters_;
  std::string s;
  s += "# HELP zaulek_live_viewers Live viewers connected.\n# TYPE zaulek_live_viewers gauge\n";
  s += "zaulek_live_viewers " + std::to_string(c.viewers.load()) + "\n";
  s += "# HELP zaulek_live_viewers_opened_total Live viewers that connected.\n"
       "# TYPE zaulek_live_viewers_opened_total counter\n";
  s += "zaulek_live_viewers_opened_total " + std::to_string(c.opened.load()) + "\n";
  s += "# HELP zaulek_live_skips_total Times a slow viewer's queue was full and it skipped to "
       "the next keyframe.\n# TYPE zaulek_live_skips_total counter\n";
  s += "zaulek_live_skips_total " + std::to_string(c.skips.load()) + "\n";
  s += "# HELP zaulek_live_dropped_fragments_total Fragments a viewer did not get (skips, "
       "waiting for a keyframe).\n# TYPE zaulek_live_dropped_fragments_total counter\n";
  s += "zaulek_live_dropped_fragments_total " + std::to_string(c.dropped.load()) + "\n";
  s += "# HELP zaulek_live_fragments_sent_total Media segments written to viewers.\n"
       "# TYPE zaulek_live_fragments_sent_total counter\n";
  s += "zaulek_live_fragments_sent_total " + std::to_string(c.fragments.load()) + "\n";
  s += "# HELP zaulek_live_sent_bytes_total Bytes of media written to viewers.\n"
       "# TYPE zaulek_live_sent_bytes_total counter\n";
  s += "zaulek_live_sent_bytes_total " + std::to_string(c.bytes.load()) + "\n";
  // The muxers of the current recorders (a replaced recorder's are gone).
  media::live::FeedCounters sum;
  if (list_)
    for (const auto& f : list_()) {
      const auto fc = f->counters();
      sum.fragments += fc.fragments;
      sum.mux_errors += fc.mux_errors;
      sum.gop_overflows += fc.gop_overflows;
      sum.mux_cpu_ns += fc.mux_cpu_ns;
      sum.timestamp_fixes += fc.timestamp_fixes;
    }
  s += "# HELP zaulek_live_fragments_made_total Media segments muxed (once per stream, shared "
       "by its viewers).\n# TYPE zaulek_live_fragments_made_total counter\n";
  s += "zaulek_live_fragments_made_total " + std::to_string(sum.fragments) + "\n";
  s += "# HELP zaulek_live_mux_cpu_seconds_total CPU time of the fMP4 muxers.\n"
       "# TYPE zaulek_live_mux_cpu_seconds_total counter\n";
  s += fmt::format("zaulek_live_mux_cpu_seconds_total {:.6f}\n",
                   static_cast<double>(sum.mux_cpu_ns) / 1e9);
  s += "# HELP zaulek_live_mux_errors_total Access units the muxer refused (the viewers then "
       "wait for a keyframe).\n# TYPE zaulek_live_mux_errors_total counter\n";
  s += "zaulek_live_mux_errors_total " + std::to_string(sum.mux_errors) + "\n";
  s += "# HELP zaulek_live_gop_overflows_total GOPs too large to keep for new viewers.\n"
       "# TYPE zaulek_live_gop_overflows_total counter\n";
  s += "zaulek_live_gop_overflows_total " + std::to_string(sum.gop_overflows) + "\n";
  s += "# HELP zaulek_live_timestamp_fixes_total Frames whose composition offset was past 16 "
       "frames (a PTS gap), given the previous frame's.\n"
       "# TYPE zaulek_live_timestamp_fixes_total counter\n";
  s += "zaulek_live_timestamp_fixes_total " + std::to_string(sum.timestamp_fixes) + "\n";
  return s;
}

}  // namespace zaulek::server
