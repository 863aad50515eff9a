// The only place that reads clocks. Tests substitute FakeClock so that timers,
// expiry and retention advance without sleeping.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>

namespace zaulek {

using WallTime = std::chrono::system_clock::time_point;
using MonoTime = std::chrono::steady_clock::time_point;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual WallTime realtime() const = 0;
  virtual MonoTime monotonic() const = 0;
};

// The process's real clocks.
Clock& system_clock();

class FakeClock final : public Clock {
 public:
  explicit FakeClock(WallTime start = WallTime{std::chrono::seconds{1'700'000'000}})
      : wall_ns_(start.time_since_epoch().count()) {}
  WallTime realtime() const override { return WallTime{WallTime::duration{wall_ns_.load()}}; }
  MonoTime monotonic() const override { return MonoTime{MonoTime::duration{mono_ns_.load()}}; }
  template <class Rep, class Period>
  void advance(std::chrono::duration<Rep, Period> d) {
    wall_ns_ += std::chrono::duration_cast<WallTime::duration>(d).count();
    mono_ns_ += std::chrono::duration_cast<MonoTime::duration>(d).count();
  }

 private:
  std::atomic<WallTime::rep> wall_ns_;
  std::atomic<MonoTime::rep> mono_ns_{0};
};

// Nanoseconds since the Unix epoch: how the catalogue and the API store times.
inline std::int64_t to_unix_ns(WallTime t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

// RFC 3339 in UTC, by default with millisecond precision:
// 2026-11-25T09:40:16.123Z; `fraction_digits` 0..9 (0: no fraction; 6:
// microseconds). The fraction is truncated, never rounded up.
std::string format_rfc3339(WallTime t, int fraction_digits = 3);
// Accepts RFC 3339 with Z or a numeric offset, optional fraction, with a year
// in [kMinYear, kMaxYear). false on error.
inline constexpr int kMinYear = 1970;
inline constexpr int kMaxYear = 2200;
bool parse_rfc3339(std::string_view text, WallTime& out);

}  // namespace zaulek
