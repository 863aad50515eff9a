// Small string helpers for text from the outside world (camera replies,
// headers), the one copy for every module. ASCII only: locale-independent,
// so a camera's bytes are judged the same on every machine.
#pragma once

#include <charconv>
#include <cstddef>
#include <string>
#include <string_view>

namespace zaulek {

char ascii_lower(char c);
std::string ascii_lower(std::string_view s);
bool iequals(std::string_view a, std::string_view b);
// `needle` in `hay`, ASCII case-insensitive.
bool contains_nocase(std::string_view hay, std::string_view needle);

// Text as a search compares it (alarm search, server/api/alarms.cpp): ASCII
// lowered, and the Latin letters of U+00C0..U+017F (Polish among them) to
// their base letter lowered ("Zaułek" -> "zaulek", "ŻÓŁW" -> "zolw"); other
// characters stay as they are. Not valid UTF-8 passes through byte by byte.
std::string search_fold(std::string_view s);

// `s` without leading and trailing `blanks` (by default XML's white space).
std::string_view trim(std::string_view s, std::string_view blanks = " \t\r\n");

// Outside text made safe for a log line or an error message: at most `max`
// bytes, each outside printable ASCII shown as '?', "..." when cut.
std::string printable(std::string_view s, std::size_t max = 200);

// The whole of `s` as a number (std::from_chars: no blanks, no '+', a '-'
// only for signed types, decimal); false, `out` unchanged, for anything else.
template <class T>
bool parse_number(std::string_view s, T& out) {
  T v{};
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return false;
  out = v;
  return true;
}

}  // namespace zaulek
