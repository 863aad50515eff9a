// The feed: a kept GOP of access units, one muxer while watched, fan-out.
#include "media/live/feed.h"

#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <time.h>

#include <algorithm>
#include <atomic>
#include <optional>
#include <vector>

#include "media/live/codec_string.h"
#include "media/live/fmp4.h"
#include "media/live/gop_cache.h"
#include "media/sps.h"

namespace zaulek::media::live {
namespace asio = boost::asio;
namespace {

struct Unit {
  Codec codec = Codec::h264;
  std::vector<std::uint8_t> data;
  std::int64_t dts_ns = 0;  // on the feed's continuous time line
  std::int64_t cts_ns = 0;
  std::int64_t frame_ns = 0;
  bool keyframe = false;
};
using UnitPtr = std::shared_ptr<const Unit>;

std::int64_t thread_cpu_ns() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return std::int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

std::int64_t to_90k(std::int64_t ns) {
  return ns / 100'000 * 9 + (ns % 100'000) * 9 / 100'000;
}

// The parameter sets of a keyframe, byte-stream; the format from its SPS.
struct KeyInfo {
  std::vector<std::uint8_t> params;
  Format format;
};
std::optional<KeyInfo> key_info(Codec codec, std::span<const std::uint8_t> au) {
  auto k = keyframe_info(codec, au);
  if (!k) return std::nullopt;
  return KeyInfo{std::move(k->params),
                 Format{codec, std::move(k->codec_string), k->width, k->height}};
}

class FeedImpl final : public FeedSource, public std::enable_shared_from_this<FeedImpl> {
 public:
  FeedImpl(asio::io_context& io, const Clock& clock, std::string name)
      : strand_(asio::make_strand(io)),
        clock_(clock),
        name_(std::move(name)),
        timer_(strand_),
        gop_(kMaxGopUnits, kMaxGopBytes),
        frags_(kMaxGopUnits, kMaxGopBytes) {}

  void subscribe(std::shared_ptr<Viewer> viewer) override {
    asio::post(strand_, [self = shared_from_this(), viewer = std::move(viewer)] {
      self->add_viewer(viewer);
    });
  }

  void unsubscribe(const Viewer* viewer) override {
    asio::post(strand_, [self = shared_from_this(), viewer] {
      auto& v = self->viewers_;
      v.erase(std::remove_if(v.begin(), v.end(), [&](auto& p) { return p.get() == viewer; }),
              v.end());
      if (v.empty()) self->idle();
    });
  }

  void post(std::function<void()> fn) override { asio::post(strand_, std::move(fn)); }

  FeedCounters counters() const override {
    return {units_.load(),         fragments_.load(),  mux_errors_.load(),
            gop_overflows_.load(), mux_cpu_ns_.load(), timestamp_fixes_.load()};
  }

  void restart() override {
    asio::post(strand_, [self = shared_from_this()] { self->rebase_ = true; });
  }

  void unit(Codec codec, std::span<const std::uint8_t> au, std::int64_t dts_ns, std::int64_t cts_ns,
            std::int64_t frame_ns, bool keyframe) override {
    auto u = std::make_shared<Unit>();
    u->codec = codec;
    u->data.assign(au.begin(), au.end());
    u->dts_ns = dts_ns;
    u->cts_ns = std::max<std::int64_t>(0, cts_ns);
    u->frame_ns = frame_ns > 0 ? frame_ns : 40'000'000;
    // No stream reorders by more than its decoded picture buffer (16
    // frames): a larger offset is the time line's guess at a PTS gap (the
    // frame after a camera's pause), and presenting that frame seconds late
    // would stall a player's clock; it gets the offset of the frame before.
    if (u->cts_ns > 16 * u->frame_ns) {
      u->cts_ns = last_cts_ns_;
      ++timestamp_fixes_;
    }
    last_cts_ns_ = u->cts_ns;
    u->keyframe = keyframe;
    ++units_;
    asio::post(strand_, [self = shared_from_this(), u = std::move(u)]() mutable {
      self->on_unit(std::move(u));
    });
  }

  void end(const std::string& reason) override {
    asio::post(strand_, [self = shared_from_this(), reason] {
      self->ended_ = true;
      auto viewers = std::exchange(self->viewers_, {});
      for (auto& v : viewers) v->on_end(reason);
      self->idle();
      self->gop_.reset();
    });
  }

 private:
  // --- on the strand ---

  void add_viewer(const std::shared_ptr<Viewer>& viewer) {
    if (ended_) return viewer->on_end("stream stopped");
    viewers_.push_back(viewer);
    if (viewers_.size() == 1) arm_timer();
    if (!muxer_) {
      // The first viewer: a muxer from the kept GOP (told to every viewer, i.e. this one).
      held_ = nullptr;
      for (auto& u : gop_.units()) mux(u);
    } else {
      viewer->on_init(format_, init_);
      for (auto& f : frags_.units()) viewer->on_fragment(f.bytes, f.keyframe);
    }
    if (stalled_) viewer->on_stall(true);
  }

  void idle() {
    held_ = nullptr;
    muxer_.reset();
    frags_.reset();
    timer_.cancel();
  }

  void on_unit(std::shared_ptr<Unit> u) {
    if (ended_) return;
    // Decode times continuous across ingest instances: a viewer's
    // MediaSource keeps appending after a reconnect.
    if (rebase_) {
      rebase_ = false;
      offset_ns_ = have_last_ ? last_dts_ + u->frame_ns - u->dts_ns : 0;
    }
    u->dts_ns += offset_ns_;
    if (have_last_ && u->dts_ns <= last_dts_) {
      // The time line never goes back; if it did, start over at a keyframe.
      offset_ns_ += last_dts_ + u->frame_ns - u->dts_ns;
      u->dts_ns = last_dts_ + u->frame_ns;
    }
    have_last_ = true;
    last_dts_ = u->dts_ns;
    last_unit_ = clock_.monotonic();
    if (stalled_) {
      stalled_ = false;
      for (auto& v : viewers_) v->on_stall(false);
    }
    UnitPtr p = std::move(u);
    const std::uint64_t overflows = gop_.overflows();
    const bool kept = gop_.push(p, p->data.size(), p->keyframe);
    gop_overflows_ += gop_.overflows() - overflows;
    // Nothing to start a picture from (before the first keyframe, or a GOP
    // too large to keep): wait for the next keyframe.
    if (!kept) return;
    if (!viewers_.empty()) mux(p);
  }

  // The unit held back is muxed once the next one shows its duration (the
  // next decode time minus its own): libavformat writes a fragment's last
  // sample with the duration it is given and starts the next fragment where
  // that duration ends, so a guessed one would shift every later frame.
  // It costs one frame of latency.
  void mux(const UnitPtr& next) {
    if (held_) {
      std::int64_t duration = next->dts_ns - held_->dts_ns;
      if (duration <= 0 || duration > 10'000'000'000LL) duration = held_->frame_ns;
      emit(*held_, duration);
    }
    held_ = next;
  }

  void emit(const Unit& u, std::int64_t duration_ns) {
    if (u.keyframe) {
      auto k = key_info(u.codec, u.data);
      if (k && (!muxer_ || k->params != params_))
        open_muxer(u.codec, *k);
      else if (!k && !muxer_) {
        ++mux_errors_;
        return;
      }
    }
    if (!muxer_) return;
    // The muxer's CPU time (this thread's, not a clock of the stream):
    // zaulek_live_mux_cpu_seconds_total, the figure docs/design/live.md cites.
    const std::int64_t cpu0 = thread_cpu_ns();
    auto frag = muxer_->fragment(u.data, to_90k(u.dts_ns), to_90k(u.dts_ns + u.cts_ns),
                                 to_90k(duration_ns), u.keyframe);
    mux_cpu_ns_ += static_cast<std::uint64_t>(thread_cpu_ns() - cpu0);
    if (!frag) {
      ++mux_errors_;
      spdlog::warn("live {}: {}; waiting for the next keyframe", name_, frag.error().message);
      muxer_.reset();
      frags_.reset();
      return;
    }
    ++fragments_;
    auto bytes = std::make_shared<const std::string>(std::move(*frag));
    frags_.push({bytes, u.keyframe}, bytes->size(), u.keyframe);
    for (auto& v : viewers_) v->on_fragment(bytes, u.keyframe);
  }

  void open_muxer(Codec codec, KeyInfo& k) {
    muxer_.reset();
    frags_.reset();
    auto m = Fmp4Muxer::open(codec, k.format.width, k.format.height, k.params);
    if (!m) {
      ++mux_errors_;
      spdlog::warn("live {}: {}", name_, m.error().message);
      return;
    }
    muxer_ = std::move(*m);
    params_ = std::move(k.params);
    format_ = k.format;
    init_ = std::make_shared<const std::string>(muxer_->init());
    for (auto& v : viewers_) v->on_init(format_, init_);
  }

  void arm_timer() {
    timer_.expires_after(std::chrono::milliseconds(250));
    timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
      if (ec || self->viewers_.empty()) return;
      if (!self->stalled_ && self->clock_.monotonic() - self->last_unit_ > kStallAfter) {
        self->stalled_ = true;
        for (auto& v : self->viewers_) v->on_stall(true);
      }
      self->arm_timer();
    });
  }

  asio::strand<asio::io_context::executor_type> strand_;
  const Clock& clock_;
  std::string name_;
  asio::steady_timer timer_;
  std::vector<std::shared_ptr<Viewer>> viewers_;
  GopCache<UnitPtr> gop_;  // the access units since the last keyframe
  struct Frag {
    Bytes bytes;
    bool keyframe;
  };
  GopCache<Frag> frags_;  // the same GOP as fragments (while watched)
  std::unique_ptr<Fmp4Muxer> muxer_;
  UnitPtr held_;                  // the last unit, muxed when the next arrives (see mux)
  std::int64_t last_cts_ns_ = 0;  // the producer's (unit(), the recorder's strand)
  std::vector<std::uint8_t> params_;
  Format format_;
  Bytes init_;
  bool rebase_ = false;
  bool have_last_ = false;
  std::int64_t offset_ns_ = 0;
  std::int64_t last_dts_ = 0;
  MonoTime last_unit_{};
  bool stalled_ = false;
  bool ended_ = false;
  std::atomic<std::uint64_t> units_{0}, fragments_{0}, mux_errors_{0}, gop_overflows_{0},
      mux_cpu_ns_{0}, timestamp_fixes_{0};
};

}  // namespace

std::shared_ptr<FeedSource> make_feed(asio::io_context& io, const Clock& clock, std::string name) {
  return std::make_shared<FeedImpl>(io, clock, std::move(name));
}

}  // namespace zaulek::media::live
