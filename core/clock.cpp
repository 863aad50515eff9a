#include "core/clock.h"

#include <cstdio>
#include <ctime>

namespace zaulek {

namespace {
class SystemClock final : public Clock {
 public:
  WallTime realtime() const override { return std::chrono::system_clock::now(); }
  MonoTime monotonic() const override { return std::chrono::steady_clock::now(); }
};
}  // namespace

Clock& system_clock() {
  static SystemClock clock;
  return clock;
}

std::string format_rfc3339(WallTime t, int fraction_digits) {
  using namespace std::chrono;
  fraction_digits = fraction_digits < 0 ? 0 : fraction_digits > 9 ? 9 : fraction_digits;
  long long per_second = 1;
  for (int i = 0; i < fraction_digits; ++i) per_second *= 10;
  // Whole units of the fraction (toward zero), then whole seconds (floor).
  const long long units =
      duration_cast<nanoseconds>(t.time_since_epoch()).count() / (1'000'000'000LL / per_second);
  std::time_t secs = static_cast<std::time_t>(units >= 0 ? units / per_second
                                                         : (units - per_second + 1) / per_second);
  const long long frac = units - static_cast<long long>(secs) * per_second;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  int n = std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900,
                        tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
  if (fraction_digits > 0)
    n += std::snprintf(buf + n, sizeof buf - static_cast<std::size_t>(n), ".%0*lld",
                       fraction_digits, frac);
  std::snprintf(buf + n, sizeof buf - static_cast<std::size_t>(n), "Z");
  return buf;
}

bool parse_rfc3339(std::string_view text, WallTime& out) {
  using namespace std::chrono;
  int y, mo, d, h, mi, s;
  std::string str(text);
  int consumed = 0;
  if (std::sscanf(str.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &s, &consumed) !=
          6 ||
      consumed != 19) {
    return false;
  }
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) return false;
  // Nanoseconds since 1970 in 64 bits end in 2262: a year past that wrapped
  // (3000-01-01 was stored as 1830). Nothing we keep lies outside these.
  if (y < kMinYear || y >= kMaxYear) return false;
  std::size_t i = 19;
  long long frac_ns = 0;
  if (i < str.size() && str[i] == '.') {
    ++i;
    long long scale = 100'000'000;
    std::size_t digits = 0;
    while (i < str.size() && str[i] >= '0' && str[i] <= '9') {
      if (scale > 0) frac_ns += (str[i] - '0') * scale;
      scale /= 10;
      ++i;
      ++digits;
    }
    if (digits == 0) return false;
  }
  long long offset = 0;
  if (i < str.size() && (str[i] == 'Z' || str[i] == 'z')) {
    ++i;
  } else if (i < str.size() && (str[i] == '+' || str[i] == '-')) {
    int oh, om;
    if (str.size() - i != 6 || std::sscanf(str.c_str() + i + 1, "%2d:%2d", &oh, &om) != 2)
      return false;
    offset = (oh * 3600 + om * 60) * (str[i] == '+' ? 1 : -1);
    i += 6;
  } else {
    return false;
  }
  if (i != str.size()) return false;
  const year_month_day ymd{year{y}, month{static_cast<unsigned>(mo)},
                           day{static_cast<unsigned>(d)}};
  if (!ymd.ok()) return false;
  const auto days = sys_days{ymd};
  out = time_point_cast<WallTime::duration>(days + hours{h} + minutes{mi} + seconds{s} -
                                            seconds{offset} + nanoseconds{frac_ns});
  return true;
}

}  // namespace zaulek
