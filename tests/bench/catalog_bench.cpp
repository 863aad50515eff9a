// Catalogue benchmark: 8 cameras x 90 days of one-minute segments
// (1,029,600 rows) in a real SQLite file. Prints figures; asserts nothing
// about time. Run: build/storage/bench_catalog [--benchmark_filter=...]
// Set ZAULEK_BENCH_DIR to put the database somewhere else than $TMPDIR.
#include <benchmark/benchmark.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "storage/catalog.h"
#include "tests/bench/catalog_synth.h"

namespace zaulek::storage {
namespace {

using synth::kDay;
using synth::kMin;

constexpr int kCameras = 8;
constexpr int kDays = 90;
constexpr std::int64_t kFirstNs = 1'767'225'600LL * synth::kSec;  // 2026-01-01T00:00:00Z

std::unique_ptr<FakeClock> g_clock;
std::unique_ptr<Catalog> g_cat;
std::filesystem::path g_dir;

void die(const std::string& what, const Error& e) {
  std::fprintf(stderr, "bench_catalog: %s: %s\n", what.c_str(), e.message.c_str());
  std::exit(1);
}

void setup() {
  const char* base = std::getenv("ZAULEK_BENCH_DIR");
  std::string tmpl = (std::filesystem::path(base ? base : std::filesystem::temp_directory_path()) /
                      "zaulek-bench-XXXXXX")
                         .string();
  if (!mkdtemp(tmpl.data())) {
    std::perror("mkdtemp");
    std::exit(1);
  }
  g_dir = tmpl;
  // "Now" is the end of the synthetic footage, so age-based retention has work.
  g_clock =
      std::make_unique<FakeClock>(WallTime{std::chrono::nanoseconds{kFirstNs + kDays * kDay}});
  auto c = Catalog::open(g_dir / "zaulek.db", *g_clock);
  if (!c) die("open", c.error());
  g_cat = std::move(*c);

  auto t0 = std::chrono::steady_clock::now();
  std::int64_t rows = 0;
  for (int i = 1; i <= kCameras; ++i) {
    auto n = synth::fill_camera(*g_cat, "cam-" + std::to_string(i), kFirstNs, kDays);
    if (!n) die("fill", n.error());
    rows += *n;
  }
  // Some evidence holds scattered over the oldest days of every camera.
  for (int i = 1; i <= kCameras; ++i) {
    for (int d = 0; d < 30; d += 3) {
      Hold h{0,
             "cam-" + std::to_string(i),
             kFirstNs + d * kDay,
             kFirstNs + d * kDay + 2 * 3600LL * synth::kSec,
             "case " + std::to_string(d),
             "bench",
             {}};
      if (auto r = g_cat->add_hold(h); !r) die("hold", r.error());
    }
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf(
      "setup: %lld segment rows for %d cameras x %d days indexed in %.2f s (%.0f rows/s), "
      "database %.1f MiB\n",
      static_cast<long long>(rows), kCameras, kDays, secs, static_cast<double>(rows) / secs,
      static_cast<double>(std::filesystem::file_size(g_dir / "zaulek.db") +
                          std::filesystem::file_size(g_dir / "zaulek.db-wal")) /
          (1024.0 * 1024.0));
}

void BM_TimelineOneDay(benchmark::State& state) {
  std::int64_t day = 0;
  for (auto _ : state) {
    std::int64_t from = kFirstNs + (day++ % kDays) * kDay;
    auto t = g_cat->timeline("cam-3", from, from + kDay, synth::kSec);
    if (!t) die("timeline", t.error());
    benchmark::DoNotOptimize(t->ranges.data());
  }
  state.SetLabel("1 of 8 cameras, 1,430 segments of 1,029,600 rows");
}
BENCHMARK(BM_TimelineOneDay)->Unit(benchmark::kMicrosecond);

void BM_TimelineNinetyDays(benchmark::State& state) {
  for (auto _ : state) {
    auto t = g_cat->timeline("cam-3", kFirstNs, kFirstNs + kDays * kDay, synth::kSec);
    if (!t) die("timeline", t.error());
    benchmark::DoNotOptimize(t->ranges.data());
  }
  state.SetLabel("128,700 segments -> 91 ranges");
}
BENCHMARK(BM_TimelineNinetyDays)->Unit(benchmark::kMillisecond);

// The query the timeline ran before segment_ranges (migration 0012): every
// segment of the 90 days read and folded at each call, on its own reader
// connection to the same file. Side by side with the one above (#20: 10 ms).
void BM_TimelineNinetyDaysFoldingSegments(benchmark::State& state) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2((g_dir / "zaulek.db").c_str(), &db, SQLITE_OPEN_READONLY, nullptr) !=
      SQLITE_OK)
    std::exit(1);
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db,
                         "SELECT start_ns, end_ns FROM segments WHERE camera_id = ?1 AND "
                         "start_ns >= ?2 - ?4 AND start_ns < ?3 AND end_ns > ?2 AND "
                         "state != 'deleting' ORDER BY start_ns",
                         -1, &st, nullptr) != SQLITE_OK)
    std::exit(1);
  const std::int64_t from = kFirstNs, to = kFirstNs + kDays * kDay;
  std::size_t ranges = 0, segments = 0;
  for (auto _ : state) {
    sqlite3_reset(st);
    sqlite3_bind_text(st, 1, "cam-3", -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, from);
    sqlite3_bind_int64(st, 3, to);
    sqlite3_bind_int64(st, 4, Catalog::kMaxSegmentNs);
    std::vector<std::pair<std::int64_t, std::int64_t>> out;
    segments = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
      ++segments;
      std::int64_t s = std::max<std::int64_t>(sqlite3_column_int64(st, 0), from);
      std::int64_t e = std::min<std::int64_t>(sqlite3_column_int64(st, 1), to);
      if (!out.empty() && s - out.back().second <= synth::kSec)
        out.back().second = std::max(out.back().second, e);
      else
        out.emplace_back(s, e);
    }
    ranges = out.size();
    benchmark::DoNotOptimize(out.data());
  }
  state.SetLabel(std::to_string(segments) + " segments -> " + std::to_string(ranges) +
                 " ranges (the fold before 0012)");
  sqlite3_finalize(st);
  sqlite3_close(db);
}
BENCHMARK(BM_TimelineNinetyDaysFoldingSegments)->Unit(benchmark::kMillisecond);

void BM_ListSegmentsOneHour(benchmark::State& state) {
  std::int64_t hour = 0;
  for (auto _ : state) {
    std::int64_t from = kFirstNs + (hour++ % (kDays * 24)) * 60 * kMin;
    auto l = g_cat->list_segments("cam-5", from, from + 60 * kMin, 1000);
    if (!l) die("list", l.error());
    benchmark::DoNotOptimize(l->data());
  }
}
BENCHMARK(BM_ListSegmentsOneHour)->Unit(benchmark::kMicrosecond);

void BM_OldestUnheld(benchmark::State& state) {
  for (auto _ : state) {
    auto o = g_cat->oldest_unheld_segments(static_cast<int>(state.range(0)));
    if (!o) die("oldest", o.error());
    benchmark::DoNotOptimize(o->data());
  }
  state.SetLabel("over 1,029,600 rows, 80 holds");
}
BENCHMARK(BM_OldestUnheld)->Arg(100)->Arg(1000)->Unit(benchmark::kMillisecond);

void BM_ExpiredSixtyDays(benchmark::State& state) {
  for (auto _ : state) {
    auto e = g_cat->expired_segments(60, 1000);
    if (!e) die("expired", e.error());
    benchmark::DoNotOptimize(e->data());
  }
  state.SetLabel("max_age 60 d, limit 1000, over 1,029,600 rows");
}
BENCHMARK(BM_ExpiredSixtyDays)->Unit(benchmark::kMillisecond);

// What a recorder does once a minute per camera: index a segment, close it.
void BM_AddAndCloseSegment(benchmark::State& state) {
  static std::int64_t n = 0;  // the framework calls this several times: paths stay unique
  for (auto _ : state) {
    Segment s;
    s.camera_id = "cam-live";
    s.start_ns = kFirstNs + n * kMin;
    s.end_ns = s.start_ns;
    s.path = "cam-live/" + std::to_string(n++) + ".mkv";
    auto id = g_cat->add_segment(s);
    if (!id) die("add", id.error());
    if (auto c = g_cat->close_segment(*id, s.start_ns + kMin, 7'500'000, 30, std::nullopt); !c) {
      die("close", c.error());
    }
  }
}
BENCHMARK(BM_AddAndCloseSegment)->Unit(benchmark::kMicrosecond);

// A retention step: the 100 oldest unheld segments marked, then their rows
// removed; each marked segment's timeline range (a day here) is folded again
// (segment_ranges). Last, since it deletes footage; bounded to 200 steps.
void BM_RetentionMarkAndDelete(benchmark::State& state) {
  for (auto _ : state) {
    auto o = g_cat->oldest_unheld_segments(100);
    if (!o) die("oldest", o.error());
    std::vector<std::int64_t> ids;
    for (const Segment& s : *o) ids.push_back(s.id);
    auto marked = g_cat->mark_segments_deleting(ids);
    if (!marked) die("mark", marked.error());
    if (auto d = g_cat->delete_segments(*marked); !d) die("delete", d.error());
  }
  state.SetLabel("100 segments per step");
}
BENCHMARK(BM_RetentionMarkAndDelete)->Iterations(200)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace zaulek::storage

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  zaulek::storage::setup();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  zaulek::storage::g_cat.reset();
  std::error_code ec;
  std::filesystem::remove_all(zaulek::storage::g_dir, ec);
  return 0;
}
