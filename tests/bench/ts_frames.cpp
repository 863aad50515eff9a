// zaulek-bench-ts-frames FILE...: per recorded segment (our MPEG-TS, read with
// media/ts_reader.h), one JSON line: its frames, the gaps in its decode times,
// and the simulator's frame numbers and send times found in the frames
// (zaulek-sim --send-times, sim/sei.h). tests/bench/live_bench.py uses it to
// tell a frame the simulator never sent from one the recording lost.
#include "media/ts_reader.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

namespace {

constexpr std::string_view kUuid = "zaulek-sim-frame";  // sim/sei.h kSendTimeUuid

// "n=<frame> t=<us>" after the UUID; false when absent or malformed.
bool stamp_of(const std::vector<std::uint8_t>& au, std::int64_t& n, std::int64_t& t) {
  const std::string_view bytes(reinterpret_cast<const char*>(au.data()), au.size());
  const auto at = bytes.find(kUuid);
  if (at == std::string_view::npos) return false;
  const std::string text(bytes.substr(at + kUuid.size(), 48));
  long long a = 0, b = 0;
  if (std::sscanf(text.c_str(), "n=%lld t=%lld", &a, &b) != 2) return false;
  n = a;
  t = b;
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  using nlohmann::json;
  for (int i = 1; i < argc; ++i) {
    std::ifstream in(argv[i], std::ios::binary);
    if (!in) {
      std::cout << json{{"path", argv[i]}, {"error", "cannot open"}}.dump() << "\n";
      continue;
    }
    zaulek::media::ts::Demuxer demux;
    std::vector<std::uint8_t> chunk(1 << 20);
    std::uint64_t frames = 0, keyframes = 0, stamped = 0;
    std::int64_t first_dts = -1, last_dts = -1, step = 0;
    json gaps = json::array();     // [at_ms, gap_ms] where decode times leap
    json missing = json::array();  // [after_n, count] where frame numbers leap
    std::int64_t first_n = -1, last_n = -1, first_t = 0, last_t = 0;
    auto take = [&] {
      while (auto au = demux.next()) {
        ++frames;
        if (au->keyframe) ++keyframes;
        const auto dts = static_cast<std::int64_t>(au->dts90);
        if (last_dts >= 0) {
          const std::int64_t d = dts - last_dts;
          if (step == 0 || (d > 0 && d < step)) step = d;
          if (step > 0 && d * 2 > step * 3) gaps.push_back({(last_dts - first_dts) / 90, d / 90});
        } else {
          first_dts = dts;
        }
        last_dts = dts;
        std::int64_t n = 0, t = 0;
        if (stamp_of(au->data, n, t)) {
          ++stamped;
          if (first_n < 0) {
            first_n = n;
            first_t = t;
          } else if (n != last_n + 1) {
            missing.push_back({last_n, n - last_n - 1});
          }
          last_n = n;
          last_t = t;
        }
      }
    };
    while (in) {
      in.read(reinterpret_cast<char*>(chunk.data()), static_cast<std::streamsize>(chunk.size()));
      demux.feed({chunk.data(), static_cast<std::size_t>(in.gcount())});
      take();
    }
    demux.finish();
    take();
    json out{{"path", argv[i]},
             {"frames", frames},
             {"keyframes", keyframes},
             {"stamped", stamped},
             {"first_n", first_n},
             {"last_n", last_n},
             {"first_t_us", first_t},
             {"last_t_us", last_t},
             {"missing", missing},
             {"dts_gaps", gaps},
             {"span_ms", last_dts >= 0 ? (last_dts - first_dts) / 90 : 0},
             {"dropped_broken", demux.dropped_broken()},
             {"dropped_tail", demux.dropped_tail()}};
    if (demux.error()) out["error"] = demux.error()->message;
    std::cout << out.dump() << "\n";
  }
  return 0;
}
