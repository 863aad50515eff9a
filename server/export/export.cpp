#include "server/export/export.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <limits>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <system_error>
#include <thread>
#include <vector>

#include "evidence/manifest.h"
#include "evidence/package.h"
#include "evidence/signing_key.h"
#include "media/mp4/mp4_file.h"
#include "media/ts_reader.h"
#include "server/hub/hub.h"
#include "server/security/audit.h"

namespace zaulek::server {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr std::int64_t kSecondNs = 1'000'000'000;
// More segments than a day of one-minute ones at most ranges we allow.
constexpr int kMaxSegments = storage::Catalog::kMaxListLimit;
// Segments further apart than this leave a gap in the manifest (the
// recorder starts a segment where the previous one ended; a reconnect or an
// outage leaves a hole).
constexpr std::int64_t kGapToleranceNs = 50'000'000;
// Progress on the hub at most this often per job.
constexpr auto kProgressEvery = std::chrono::milliseconds{250};
// Rows looked at per query for segments after the ones listed.
constexpr int kNextRows = 16;
// The live edge (the segment being written): how long after `to` frames up
// to it may still arrive (the recorder writes about every second; a frame is
// whole once the next begins), the longest a job waits for them in all, and
// how often it looks again.
constexpr auto kLiveSlack = std::chrono::seconds{3};
constexpr auto kLiveWaitMax = std::chrono::seconds{15};
constexpr auto kLivePoll = std::chrono::milliseconds{100};

std::int64_t to_90k(std::int64_t ns) {
  // Rounded to the nearest tick, also below zero (the pre-roll).
  return ns >= 0 ? (ns * 9 + 50'000) / 100'000 : -((-ns * 9 + 50'000) / 100'000);
}

std::string time_text(std::int64_t ns) {
  return evidence::format_time(ns);
}

// The parameter sets of a keyframe, byte-stream (the MP4's sample entry).
std::vector<std::uint8_t> parameter_sets(media::Codec codec, std::span<const std::uint8_t> au) {
  std::vector<std::uint8_t> out;
  std::size_t i = 0;
  const std::size_t n = au.size();
  // Start codes: 00 00 01 (or 00 00 00 01).
  auto next_start = [&](std::size_t from) {
    for (std::size_t k = from; k + 3 <= n; ++k)
      if (au[k] == 0 && au[k + 1] == 0 && au[k + 2] == 1) return k;
    return n;
  };
  i = next_start(0);
  while (i < n) {
    std::size_t begin = i + 3;
    std::size_t end = next_start(begin);
    std::size_t stop = end;
    while (stop > begin && au[stop - 1] == 0) --stop;  // a 4-byte start code's zero
    if (begin < stop) {
      std::uint8_t h = au[begin];
      bool ps = codec == media::Codec::h264 ? ((h & 0x1f) == 7 || (h & 0x1f) == 8)
                                            : (((h >> 1) & 0x3f) >= 32 && ((h >> 1) & 0x3f) <= 34);
      if (ps) {
        static constexpr std::uint8_t kStart[] = {0, 0, 0, 1};
        out.insert(out.end(), std::begin(kStart), std::end(kStart));
        out.insert(out.end(), au.begin() + static_cast<std::ptrdiff_t>(begin),
                   au.begin() + static_cast<std::ptrdiff_t>(stop));
      }
    }
    i = end;
  }
  return out;
}

// SHA-256 of the source files on a thread of its own, over the very blocks
// the remux reads into: each file is read once for both (the hash is the
// file as stored, so what the demuxer skips is read and hashed too).
class SourceHasher {
 public:
  static constexpr std::size_t kBlock = 4 << 20;
  static constexpr int kBlocks = 4;

  SourceHasher() {
    for (int i = 0; i < kBlocks; ++i) free_.push_back(std::make_unique<Block>());
    thread_ = std::thread([this] { run(); });
  }
  ~SourceHasher() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  SourceHasher(const SourceHasher&) = delete;
  SourceHasher& operator=(const SourceHasher&) = delete;

  struct Block {
    std::vector<std::uint8_t> data = std::vector<std::uint8_t>(kBlock);
    std::size_t used = 0;
    bool end = false;  // the file's last: its hash goes to the waiting finish()
  };
  // A block to read into (waits while all are being hashed).
  std::unique_ptr<Block> acquire() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return !free_.empty(); });
    auto b = std::move(free_.back());
    free_.pop_back();
    b->used = 0;
    b->end = false;
    return b;
  }
  // Its first `used` bytes are the file's next bytes.
  void submit(std::unique_ptr<Block> b) {
    {
      std::lock_guard lock(mu_);
      queue_.push_back(std::move(b));
    }
    cv_.notify_all();
  }
  // The file ends here: its SHA-256 and size, once every block is hashed.
  std::pair<std::string, std::int64_t> finish() {
    auto b = acquire();
    b->end = true;
    submit(std::move(b));
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return done_.has_value(); });
    auto out = std::move(*done_);
    done_.reset();
    return out;
  }
  // The bytes [from, to) of a file (to: its end when negative), read here.
  Status add_range(const fs::path& file, std::uint64_t from, std::int64_t to) {
    int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
      return make_error(ErrorKind::data_loss,
                        "cannot open " + file.string() + ": " + std::strerror(errno));
    ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    std::uint64_t at = from;
    Status st;
    for (;;) {
      if (to >= 0 && at >= static_cast<std::uint64_t>(to)) break;
      auto b = acquire();
      std::size_t want = kBlock;
      if (to >= 0) want = std::min<std::uint64_t>(want, static_cast<std::uint64_t>(to) - at);
      ssize_t n = ::pread(fd, b->data.data(), want, static_cast<off_t>(at));
      if (n < 0 && errno == EINTR) {
        release(std::move(b));
        continue;
      }
      if (n <= 0) {
        release(std::move(b));
        if (n < 0)
          st = make_error(ErrorKind::data_loss,
                          "cannot read " + file.string() + ": " + std::strerror(errno));
        break;
      }
      b->used = static_cast<std::size_t>(n);
      at += b->used;
      submit(std::move(b));
    }
    ::close(fd);
    return st;
  }
  void release(std::unique_ptr<Block> b) {
    {
      std::lock_guard lock(mu_);
      free_.push_back(std::move(b));
    }
    cv_.notify_all();
  }

 private:
  void run() {
    auto sha = std::make_unique<evidence::Sha256>();
    std::int64_t bytes = 0;
    for (;;) {
      std::unique_ptr<Block> b;
      {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [&] { return !queue_.empty() || stopping_; });
        if (queue_.empty()) return;
        b = std::move(queue_.front());
        queue_.pop_front();
      }
      sha->update(b->data.data(), b->used);
      bytes += static_cast<std::int64_t>(b->used);
      std::optional<std::pair<std::string, std::int64_t>> result;
      if (b->end) {
        result = std::pair(sha->hex(), bytes);
        sha = std::make_unique<evidence::Sha256>();
        bytes = 0;
      }
      {
        std::lock_guard lock(mu_);
        free_.push_back(std::move(b));
        if (result) done_ = std::move(result);
      }
      cv_.notify_all();
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<Block>> free_;
  std::deque<std::unique_ptr<Block>> queue_;
  std::optional<std::pair<std::string, std::int64_t>> done_;
  bool stopping_ = false;
  std::thread thread_;
};

struct Job {
  storage::Export row;
  std::string reason;
  std::atomic<bool> cancel{false};
  std::atomic<bool> running{false};
  std::string cancel_reason;  // under State::mu
  std::atomic<double> progress{0};
};

struct Finished {
  std::string zip;  // file name in the folder
  std::int64_t bytes = 0;
  std::string mp4_sha256;
};

}  // namespace

struct ExportService::State {
  State(storage::Catalog& c, Clock& k, Hub* h, AuditLog& a, const evidence::SigningKey& s,
        const ExportOptions& o)
      : catalog(c), clock(k), hub(h), audit(a), key(s), options(o) {}

  storage::Catalog& catalog;
  Clock& clock;
  Hub* hub;
  AuditLog& audit;
  const evidence::SigningKey& key;
  const ExportOptions& options;

  std::mutex mu;
  std::condition_variable cv;
  std::deque<std::shared_ptr<Job>> queue;
  std::map<std::string, std::shared_ptr<Job>> active;  // queued or running, by id
  std::vector<std::thread> workers;
  OpenSegmentLookup open_segment;  // under mu
  bool started = false;
  bool stopping = false;
  MonoTime next_expiry{};

  void publish(const Job& job, const storage::Export& row) {
    if (!hub) return;
    json msg = {{"kind", "export"},
                {"id", row.id},
                {"camera_id", row.camera_id},
                {"state", std::string(storage::to_string(row.state))},
                {"progress", row.state == storage::ExportState::done ? 1.0 : job.progress.load()},
                {"bytes", row.bytes},
                {"error", row.error.empty() ? json(nullptr) : json(row.error)}};
    hub->publish("job", std::move(msg), RoleSet{Role::administrator, Role::investigator},
                 row.camera_id);
  }

  void work(int index) {
    for (;;) {
      std::shared_ptr<Job> job;
      bool expire = false;
      {
        std::unique_lock lock(mu);
        for (;;) {
          if (stopping) return;
          if (!queue.empty()) {
            job = queue.front();
            queue.pop_front();
            job->running = true;
            break;
          }
          if (index == 0 && clock.monotonic() >= next_expiry) {
            next_expiry = clock.monotonic() + options.expiry_interval;
            expire = true;
            break;
          }
          // Only the first worker wakes for expiry; a new job notifies.
          if (index == 0)
            cv.wait_for(lock, options.expiry_interval);
          else
            cv.wait(lock);
        }
      }
      if (expire) {
        expire_old();
        continue;
      }
      run(*job);
      {
        std::lock_guard lock(mu);
        active.erase(job->row.id);
      }
      cv.notify_all();
    }
  }

  void run(Job& job) {
    storage::Export row = job.row;
    row.state = storage::ExportState::running;
    auto moved = catalog.update_export(row);
    if (!moved) {
      spdlog::warn("export: {} could not start: {}", row.id, moved.error().message);
      return;
    }
    row = *moved;
    publish(job, row);
    spdlog::info("export: {} of {} from {} to {} started", row.id, row.camera_id,
                 time_text(row.from_ns), time_text(row.to_ns));
    auto done = export_range(job, row);
    // A job cancelled ends with the cancel's reason, whatever its last step
    // said (a read the deletion interrupted).
    if (!done && job.cancel) done = cancelled(job);
    if (!done) {
      remove_work_files(row.id);
      row.state = storage::ExportState::failed;
      row.error = done.error().message.substr(0, 4096);
      spdlog::warn("export: {} failed: {}", row.id, row.error);
    } else {
      row.state = storage::ExportState::done;
      row.path = done->zip;
      row.bytes = done->bytes;
      row.sha256 = done->mp4_sha256;
      job.progress = 1.0;
      spdlog::info("export: {} done: {} ({} bytes)", row.id, done->zip, done->bytes);
    }
    auto finished = catalog.update_export(row);
    if (!finished) {
      // Deleted meanwhile (remove() waits for us, so this is a catalogue error).
      spdlog::warn("export: {} could not be recorded as {}: {}", row.id,
                   storage::to_string(row.state), finished.error().message);
      return;
    }
    publish(job, *finished);
  }

  fs::path work_mp4(const std::string& id) const { return options.folder / (id + ".mp4.part"); }
  fs::path work_zip(const std::string& id) const { return options.folder / (id + ".zip.part"); }

  void remove_work_files(const std::string& id) {
    std::error_code ec;
    fs::remove(work_mp4(id), ec);
    fs::remove(work_zip(id), ec);
  }

  Error cancelled(Job& job) {
    std::lock_guard lock(mu);
    return make_error(ErrorKind::failed_precondition, job.cancel_reason.empty()
                                                          ? std::string("export cancelled")
                                                          : job.cancel_reason);
  }

  Result<Finished> export_range(Job& job, const storage::Export& row) {
    const std::string& cam = row.camera_id;
    const std::int64_t from = row.from_ns, to = row.to_ns;
    auto no_footage = [&] {
      return make_error(
          ErrorKind::failed_precondition,
          "camera '" + cam + "' has no footage from " + time_text(from) + " to " + time_text(to));
    };
    auto listed = catalog.list_segments(cam, from, to, kMaxSegments);
    if (!listed) return listed.error();
    std::vector<storage::Segment> segs = std::move(*listed);
    // The segment being written has no row until it closes: read as far as
    // it is written (docs/design/export.md "The live edge").
    // (It may have begun before `from`.)
    if (segs.empty() || segs.back().state != storage::SegmentState::open)
      if (auto open = open_segment_after(
              cam, segs.empty() ? std::numeric_limits<std::int64_t>::min() : segs.back().start_ns,
              to))
        segs.push_back(*open);
    if (segs.empty()) return no_footage();
    std::int64_t total_bytes = 0;
    for (const auto& s : segs) total_bytes += std::max<std::int64_t>(s.bytes, 1);

    evidence::Manifest manifest;
    manifest.export_id = row.id;
    manifest.camera.id = cam;
    if (auto c = catalog.find_camera(cam)) {
      manifest.camera.name = c->name;
      manifest.camera.manufacturer = c->manufacturer;
      manifest.camera.model = c->model;
      manifest.camera.serial_number = c->serial;
      manifest.camera.hardware_id = c->hardware_id;
      manifest.camera.onvif_url = c->onvif_url;
    }
    manifest.requested = {from, to};
    manifest.exported_by = row.created_by;
    manifest.reason = job.reason;

    remove_work_files(row.id);
    const fs::path zip_part = work_zip(row.id);
    std::unique_ptr<evidence::PackageWriter> package;
    std::unique_ptr<media::mp4::Mp4File> out;
    media::Codec codec{};
    int width = 0, height = 0;
    std::int64_t origin = 0;        // wall time of the file's 0
    std::int64_t last_dts = 0;      // 90 kHz, of the last sample written
    std::int64_t frame_90k = 3600;  // the last spacing seen (25 fps until known)
    std::int64_t end_wall = 0;      // latest presentation end seen
    std::int64_t prev_end = 0;      // the previous segment's end (gaps)
    std::int64_t bytes_before = 0;  // of the segments finished
    bool reached_end = false;
    // Where the time goes (logged when done: docs/design/export.md).
    const MonoTime started = clock.monotonic();
    MonoTime::duration hashing{};
    MonoTime last_progress{};
    double last_sent = -1;
    // Reading the segment being written ends by this time at the latest
    // (set when its written end is first reached).
    std::optional<MonoTime> live_deadline;
    SourceHasher hasher;

    // segs grows at its end while the job runs (segments closed or begun
    // meanwhile); each turn reads one file whose start is later than the last.
    for (std::size_t index = 0; index < segs.size(); ++index) {
      const storage::Segment seg = segs[index];
      if (job.cancel) return cancelled(job);
      fs::path file = options.storage_root / seg.path;
      std::error_code ec;
      // The segment being written is still *.ts.part (media/segment.h).
      if (!fs::exists(file, ec) && seg.state == storage::SegmentState::open)
        file = options.storage_root / (seg.path + ".part");
      // A file still growing is hashed as far as it was read.
      bool growing = file.extension() == ".part";
      // A growing file renamed to *.ts is closed: every byte was written
      // before the rename.
      auto follow_rename = [&] {
        if (!growing || fs::exists(file, ec)) return false;
        fs::path closed = file;
        closed.replace_extension();
        if (!fs::exists(closed, ec)) return false;
        file = std::move(closed);
        growing = false;
        return true;
      };
      auto unreadable = [&](const std::string& why) {
        return make_error(ErrorKind::data_loss, "source segment '" + seg.path +
                                                    "' cannot be read (" + why +
                                                    "); was it deleted after it was recorded?");
      };
      auto sf = media::ts::SegmentFile::open(file);
      // A segment just begun may not hold a whole frame yet.
      while (!sf && growing && sf.error().kind == ErrorKind::not_found &&
             (follow_rename() || wait_live(job, live_deadline, to)))
        sf = media::ts::SegmentFile::open(file);
      if (!sf && growing) {
        // Not catalogued, and nothing of it readable in time: the footage
        // delivered ends before it.
        spdlog::warn("export: {}: the segment being written {} is not readable: {}", row.id,
                     file.string(), sf.error().message);
        break;
      }
      if (!sf) {
        if (!fs::exists(file, ec)) return unreadable("cannot open " + file.string());
        return make_error(ErrorKind::data_loss,
                          "source segment '" + seg.path + "' is unreadable: " + sf.error().message);
      }
      const auto& meta = sf->meta();
      if (out && (meta.codec != codec || meta.width != width || meta.height != height))
        return make_error(ErrorKind::failed_precondition,
                          "the footage changes codec or picture size at " +
                              time_text(seg.start_ns) + "; export the parts before and after it " +
                              "separately");
      if (!out && from > seg.start_ns) {
        if (auto k = sf->seek_keyframe(sf->pts90_at(from)); !k)
          return make_error(ErrorKind::data_loss,
                            "source segment '" + seg.path + "': " + k.error().message);
        // The hash covers the whole file: what lies before the keyframe too.
        if (auto st = hasher.add_range(file, 0, static_cast<std::int64_t>(sf->position())); !st)
          return unreadable(st.error().message);
      }
      if (out && seg.start_ns - prev_end > kGapToleranceNs)
        manifest.gaps.push_back({prev_end, std::min(seg.start_ns, to)});
      bool file_done = false;
      while (!file_done && !reached_end) {
        if (job.cancel) return cancelled(job);
        // One read for the demuxer and the hash (large: the file is read
        // front to back).
        auto block = hasher.acquire();
        auto n = sf->read_into(block->data);
        if (!n) {
          hasher.release(std::move(block));
          return make_error(ErrorKind::data_loss,
                            "source segment '" + seg.path + "': " + n.error().message);
        }
        block->used = *n;
        hasher.submit(std::move(block));
        if (*n == 0 && growing && (follow_rename() || wait_live(job, live_deadline, to))) continue;
        if (*n == 0) {
          sf->finish();
          file_done = true;
        }
        while (auto au = sf->next()) {
          const std::int64_t pts_wall = sf->wall_ns(au->pts90);
          const auto cts =
              static_cast<std::int64_t>(au->pts90) - static_cast<std::int64_t>(au->dts90);
          const std::int64_t dts_wall = pts_wall - cts * kSecondNs / 90'000;
          // Every frame shown before `to` is decoded before it: nothing
          // after is needed (the edit list ends the picture at `to`).
          if (dts_wall >= to) {
            reached_end = true;
            break;
          }
          if (!out) {
            if (!au->keyframe) continue;
            if (pts_wall >= to) {
              reached_end = true;
              break;
            }
            auto params = parameter_sets(meta.codec, au->data);
            if (params.empty())
              return make_error(ErrorKind::data_loss, "source segment '" + seg.path +
                                                          "': a keyframe without parameter sets");
            codec = meta.codec;
            width = meta.width;
            height = meta.height;
            origin = std::max(from, pts_wall);
            // The MP4 goes straight into the package's ZIP entry, hashed on
            // the way (evidence/package.h): no second pass over it.
            auto zip = evidence::PackageWriter::create(zip_part, row.id + ".mp4");
            if (!zip) return zip.error();
            package = std::move(*zip);
            auto made = media::mp4::Mp4File::create(
                [w = package.get()](std::span<const std::uint8_t> b) { return w->write(b); }, codec,
                width, height, params);
            if (!made) return made.error();
            out = std::move(*made);
            manifest.gaps.clear();
          }
          std::int64_t dts = to_90k(dts_wall - origin);
          std::int64_t pts = to_90k(pts_wall - origin);
          if (out->samples() > 0) {
            if (dts <= last_dts) dts = last_dts + 1;
            // Spacing of frames, not of a gap (a gap holds the last frame).
            if (dts - last_dts < 90'000) frame_90k = dts - last_dts;
          }
          pts = std::max(pts, dts);
          if (auto st = out->write(au->data, dts, pts, au->keyframe); !st) return st.error();
          last_dts = dts;
          end_wall = std::max(end_wall, pts_wall + frame_90k * kSecondNs / 90'000);
        }
        if (auto e = sf->demuxer().error(); e && !file_done) {
          // Units before a bad packet were handed out; the rest of the file is lost.
          spdlog::warn("export: {}: {} ends early: {}", row.id, seg.path, e->message);
          file_done = true;
        }
        // Progress by bytes read.
        double p = std::min(
            0.99, static_cast<double>(bytes_before + static_cast<std::int64_t>(sf->position())) /
                      static_cast<double>(total_bytes));
        job.progress = p;
        MonoTime now = clock.monotonic();
        if (now - last_progress >= kProgressEvery && p - last_sent >= 0.01) {
          last_progress = now;
          last_sent = p;
          storage::Export shown = row;
          publish(job, shown);
        }
      }
      // What the remux did not need (after `to`, after a bad packet) is
      // hashed all the same; a file still being written, as far as it was read.
      if (!growing) {
        if (auto st = hasher.add_range(file, sf->position(), -1); !st)
          return unreadable(st.error().message);
      }
      const MonoTime hash_wait = clock.monotonic();
      auto [sha, hashed_bytes] = hasher.finish();
      hashing += clock.monotonic() - hash_wait;
      // A segment read while written ends where its last frame read ended.
      const std::int64_t seg_end =
          seg.state == storage::SegmentState::open ? std::max(seg.start_ns, end_wall) : seg.end_ns;
      manifest.segments.push_back({seg.path, seg.start_ns, seg_end, hashed_bytes, sha});
      bytes_before += std::max<std::int64_t>(seg.bytes, 1);
      prev_end = std::max(end_wall, seg_end);
      if (reached_end || job.cancel) break;
      // Past the listed ones: what closed or began since (the live edge),
      // until the reading of a growing file has timed out.
      if (index + 1 == segs.size() && !(live_deadline && clock.monotonic() >= *live_deadline)) {
        auto more = segments_after(cam, seg.start_ns, to);
        if (!more) return more.error();
        for (auto& m : *more) {
          total_bytes += std::max<std::int64_t>(m.bytes, 1);
          segs.push_back(std::move(m));
        }
      }
    }
    if (!out) return no_footage();
    const std::int64_t delivered_to = std::min(to, end_wall);
    if (delivered_to <= origin) return no_footage();
    auto size = out->finish(frame_90k, to_90k(delivered_to - origin));
    if (!size) return size.error();
    out.reset();
    manifest.delivered = evidence::Interval{origin, delivered_to};
    // Gaps within what was delivered.
    std::vector<evidence::Interval> gaps;
    for (auto g : manifest.gaps) {
      g.from_ns = std::max(g.from_ns, origin);
      g.to_ns = std::min(g.to_ns, delivered_to);
      if (g.to_ns > g.from_ns) gaps.push_back(g);
    }
    manifest.gaps = std::move(gaps);
    manifest.exported_ns = to_unix_ns(clock.realtime());
    if (job.cancel) return cancelled(job);
    const MonoTime package_start = clock.monotonic();
    auto written = package->finish(manifest, key);
    if (!written) return written.error();
    package.reset();
    auto ms = [](MonoTime::duration d) {
      return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
    };
    spdlog::info(
        "export: {}: {} source bytes read once, remuxed and hashed, the {} byte MP4 written into "
        "the ZIP as made, in {} ms (of it {} ms waiting for the sources' SHA-256); the package "
        "finished (MP4 writes drained, manifest signed, synced) in {} ms",
        row.id, total_bytes, *size, ms(package_start - started), ms(hashing),
        ms(clock.monotonic() - package_start));
    const std::string zip_name = row.id + ".zip";
    std::error_code ec;
    fs::rename(zip_part, options.folder / zip_name, ec);
    if (ec)
      return make_error(ErrorKind::unavailable,
                        "export: renaming " + zip_part.string() + ": " + ec.message());
    Finished f;
    f.zip = zip_name;
    f.bytes = static_cast<std::int64_t>(fs::file_size(options.folder / zip_name, ec));
    if (!written->files.empty()) f.mp4_sha256 = written->files.front().sha256;
    return f;
  }

  // The segment being written for `cam` as a row (state open, the path it
  // will have once closed), when it began after `after` and before `to`.
  std::optional<storage::Segment> open_segment_after(const std::string& cam, std::int64_t after,
                                                     std::int64_t to) {
    OpenSegmentLookup lookup;
    {
      std::lock_guard lock(mu);
      lookup = open_segment;
    }
    if (!lookup) return std::nullopt;
    auto os = lookup(cam);
    if (!os || os->start_ns <= after || os->start_ns >= to) return std::nullopt;
    storage::Segment seg;
    seg.camera_id = cam;
    seg.start_ns = seg.end_ns = os->start_ns;
    seg.path = os->path;
    seg.state = storage::SegmentState::open;
    std::error_code ec;
    const auto size = fs::file_size(options.storage_root / (seg.path + ".part"), ec);
    seg.bytes = ec ? 0 : static_cast<std::int64_t>(size);
    return seg;
  }

  // Segments that began after `after` and before `to`: those closed since
  // the job listed them, else the one being written.
  Result<std::vector<storage::Segment>> segments_after(const std::string& cam, std::int64_t after,
                                                       std::int64_t to) {
    std::vector<storage::Segment> out;
    if (after + 1 >= to) return out;
    auto rows = catalog.list_segments(cam, after + 1, to, kNextRows);
    if (!rows) return rows.error();
    for (auto& r : *rows)
      if (r.start_ns > after) out.push_back(std::move(r));
    if (out.empty())
      if (auto open = open_segment_after(cam, after, to)) out.push_back(std::move(*open));
    return out;
  }

  // At the written end of a growing file, before `to` was reached: waits a
  // moment for more and returns true, or false once waiting is over. Frames
  // up to `to` are written about when the wall clock passes `to`; the wait
  // ends kLiveSlack after that (a camera that stalled sends none), and never
  // later than kLiveWaitMax after the job first reached the live edge (an
  // export whose `to` lies in the future delivers what exists by then).
  bool wait_live(Job& job, std::optional<MonoTime>& deadline, std::int64_t to) {
    const MonoTime now = clock.monotonic();
    if (!deadline) {
      const auto ahead =
          std::chrono::nanoseconds(std::max<std::int64_t>(0, to - to_unix_ns(clock.realtime())));
      *deadline = now + std::min<MonoTime::duration>(ahead + kLiveSlack, kLiveWaitMax);
    }
    if (now >= *deadline || job.cancel) return false;
    std::unique_lock lock(mu);
    cv.wait_for(lock, kLivePoll, [&] { return stopping || job.cancel.load(); });
    return true;
  }

  // Finished exports older than keep: removed with their hold, unless
  // another hold (not an export's) covers their range (the query leaves
  // those out).
  void expire_old() {
    const WallTime before = clock.realtime() - options.keep;
    auto old = catalog.finished_exports(before, 100);
    if (!old) {
      spdlog::warn("export: expiry: {}", old.error().message);
      return;
    }
    for (const auto& x : *old) {
      if (auto st = remove_finished(x); !st) {
        spdlog::warn("export: expiry of {}: {}", x.id, st.error().message);
        continue;
      }
      spdlog::info("export: {} expired (finished more than {} days ago)", x.id,
                   options.keep.count() / 24);
      audit.record("system", "export.expire", "export:" + x.id,
                   json{{"camera_id", x.camera_id},
                        {"from", time_text(x.from_ns)},
                        {"to", time_text(x.to_ns)}}
                       .dump(),
                   "");
    }
  }

  // The package, the export's hold, the row.
  Status remove_finished(const storage::Export& x) {
    std::error_code ec;
    if (!x.path.empty()) fs::remove(options.folder / fs::path(x.path).filename(), ec);
    remove_work_files(x.id);
    // Its own hold, by id (another hold on the same footage stays).
    if (x.hold_id)
      if (auto st = catalog.delete_hold(*x.hold_id); !st && st.error().kind != ErrorKind::not_found)
        return st;
    if (auto st = catalog.delete_export(x.id); !st && st.error().kind != ErrorKind::not_found)
      return st;
    return {};
  }
};

ExportService::ExportService(storage::Catalog& catalog, Clock& clock, Hub* hub, AuditLog& audit,
                             const evidence::SigningKey& key, ExportOptions options)
    : options_(std::move(options)) {
  state_ = std::make_unique<State>(catalog, clock, hub, audit, key, options_);
}

ExportService::~ExportService() {
  stop();
}

Status ExportService::start() {
  auto& s = *state_;
  std::error_code ec;
  fs::create_directories(options_.folder, ec);
  if (ec)
    return make_error(ErrorKind::unavailable,
                      "export: cannot create " + options_.folder.string() + ": " + ec.message());
  // What a previous run left: never a job stuck in running.
  auto failed = s.catalog.fail_unfinished_exports(
      "zaulekd stopped while the export was queued or running; export again");
  if (!failed) return failed.error();
  if (*failed > 0)
    spdlog::warn("export: {} unfinished export(s) of the previous run failed", *failed);
  for (const auto& e : fs::directory_iterator(options_.folder, ec))
    if (e.path().extension() == ".part") fs::remove(e.path(), ec);
  std::lock_guard lock(s.mu);
  if (s.started) return {};
  s.started = true;
  s.next_expiry = s.clock.monotonic();
  for (int i = 0; i < options_.max_concurrent; ++i) s.workers.emplace_back([&s, i] { s.work(i); });
  return {};
}

void ExportService::stop() {
  auto& s = *state_;
  {
    std::lock_guard lock(s.mu);
    if (s.stopping) return;
    s.stopping = true;
    for (auto& [id, job] : s.active) {
      job->cancel_reason = "zaulekd stopped while the export was running; export again";
      job->cancel = true;
    }
  }
  s.cv.notify_all();
  for (auto& t : s.workers)
    if (t.joinable()) t.join();
  // Queued jobs never ran: failed now, not left queued.
  if (s.started)
    (void)s.catalog.fail_unfinished_exports("zaulekd stopped before the export ran; export again");
}

void ExportService::set_open_segment(OpenSegmentLookup lookup) {
  std::lock_guard lock(state_->mu);
  state_->open_segment = std::move(lookup);
}

Result<storage::Export> ExportService::submit(const ExportRequest& request) {
  auto& s = *state_;
  {
    std::lock_guard lock(s.mu);
    if (s.stopping || !s.started)
      return make_error(ErrorKind::unavailable, "the export service is not running");
    if (static_cast<int>(s.queue.size()) >= options_.max_queued)
      return make_error(ErrorKind::resource_exhausted,
                        std::to_string(s.queue.size()) +
                            " exports are waiting already; try again "
                            "when one has finished");
  }
  storage::Export row;
  row.camera_id = request.camera_id;
  row.from_ns = request.from_ns;
  row.to_ns = request.to_ns;
  row.created_by = request.user;
  // The row and its hold in one transaction: footage asked for is protected
  // from retention from this moment, and no hold is left without its export.
  auto added = s.catalog.add_export_with_hold(row, request.reason);
  if (!added) return added.error();
  auto job = std::make_shared<Job>();
  job->row = *added;
  job->reason = request.reason;
  // Told before a worker can take it: its `running` must come after (the
  // hub orders messages as they reach it).
  s.publish(*job, *added);
  {
    std::lock_guard lock(s.mu);
    s.queue.push_back(job);
    s.active[added->id] = job;
  }
  s.cv.notify_all();
  return *added;
}

ExportStatus ExportService::status_of(const storage::Export& job) {
  auto& s = *state_;
  ExportStatus out{job, job.state == storage::ExportState::done ? 1.0 : 0.0};
  if (job.state == storage::ExportState::running) {
    std::lock_guard lock(s.mu);
    if (auto it = s.active.find(job.id); it != s.active.end())
      out.progress = it->second->progress.load();
  }
  return out;
}

Result<ExportStatus> ExportService::status(const std::string& id) {
  auto row = state_->catalog.find_export(id);
  if (!row) return row.error();
  return status_of(*row);
}

Status ExportService::remove(const std::string& id) {
  auto& s = *state_;
  {
    std::unique_lock lock(s.mu);
    if (auto it = s.active.find(id); it != s.active.end()) {
      auto job = it->second;
      auto q = std::find(s.queue.begin(), s.queue.end(), job);
      if (q != s.queue.end()) {
        s.queue.erase(q);
        s.active.erase(it);
      } else {
        job->cancel_reason = "the export was deleted while it ran";
        job->cancel = true;
        spdlog::info("export: {} is running; cancelling it and waiting for its worker", id);
        // The worker stops at its next frame or read and removes its work files.
        s.cv.wait(lock, [&] { return !s.active.contains(id); });
      }
    }
  }
  auto row = s.catalog.find_export(id);
  if (!row) return row.error();
  return s.remove_finished(*row);
}

Result<fs::path> ExportService::package(const storage::Export& job) const {
  if (job.state != storage::ExportState::done || job.path.empty())
    return make_error(ErrorKind::failed_precondition,
                      "export " + job.id + " is " + std::string(storage::to_string(job.state)) +
                          (job.state == storage::ExportState::failed ? ": " + job.error : ""));
  fs::path p = options_.folder / fs::path(job.path).filename();
  std::error_code ec;
  if (!fs::is_regular_file(p, ec))
    return make_error(ErrorKind::not_found, "the package of export " + job.id + " is gone");
  return p;
}

}  // namespace zaulek::server
