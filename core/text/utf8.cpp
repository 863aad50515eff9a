#include "core/text/utf8.h"

#include <algorithm>

namespace zaulek {

namespace {

// Length of the valid sequence at s[i], 0 if there is none (RFC 3629's
// table: the second byte's range depends on the lead byte, which excludes
// overlong forms, surrogates and code points above U+10FFFF).
std::size_t sequence_at(std::string_view s, std::size_t i) {
  auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[i + k]); };
  unsigned char c = b(0);
  if (c < 0x80) return 1;
  std::size_t len;
  unsigned char lo = 0x80, hi = 0xBF;  // range of the second byte
  if (c >= 0xC2 && c <= 0xDF) {
    len = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    len = 3;
    if (c == 0xE0) lo = 0xA0;  // overlong below U+0800
    if (c == 0xED) hi = 0x9F;  // surrogates
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4;
    if (c == 0xF0) lo = 0x90;  // overlong below U+10000
    if (c == 0xF4) hi = 0x8F;  // above U+10FFFF
  } else {
    return 0;  // continuation byte, C0/C1 (overlong ASCII), F5..FF
  }
  if (s.size() - i < len) return 0;
  if (b(1) < lo || b(1) > hi) return 0;
  for (std::size_t k = 2; k < len; ++k)
    if ((b(k) & 0xC0) != 0x80) return 0;
  return len;
}

}  // namespace

std::size_t valid_utf8_prefix(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    // ASCII runs, the common case, a byte at a time without the table.
    if (static_cast<unsigned char>(s[i]) < 0x80) {
      ++i;
      continue;
    }
    std::size_t n = sequence_at(s, i);
    if (n == 0) break;
    i += n;
  }
  return i;
}

std::string to_valid_utf8(std::string_view s, std::size_t max) {
  std::string out;
  out.reserve(std::min(s.size(), max));
  std::size_t i = 0;
  while (i < s.size()) {
    std::size_t n = sequence_at(s, i);
    std::size_t add = n == 0 ? 1 : n;
    if (out.size() + add > max) break;
    if (n == 0)
      out += '?';
    else
      out.append(s.substr(i, n));
    i += add;
  }
  return out;
}

}  // namespace zaulek
