#include "core/text/text.h"

#include <algorithm>

namespace zaulek {

char ascii_lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

std::string ascii_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = ascii_lower(c);
  return out;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  return true;
}

bool contains_nocase(std::string_view hay, std::string_view needle) {
  auto it = std::search(hay.begin(), hay.end(), needle.begin(), needle.end(),
                        [](char a, char b) { return ascii_lower(a) == ascii_lower(b); });
  return it != hay.end();
}

namespace {
// U+00C0..U+017F: the base letter, '_' where the character stays (x, /).
constexpr std::string_view kLatinFold =
    "aaaaaaaceeeeiiiidnooooo_ouuuuytsaaaaaaaceeeeiiiidnooooo_ouuuuytyaaaaaaccccccccddddeeeeeeeeee"
    "gggggggghhhhiiiiiiiiiiiijjkkkllllllllllnnnnnnnnnoooooooorrrrrrssssssssttttttuuuuuuuuuuuuwwyyy"
    "zzzzzzs";
static_assert(kLatinFold.size() == 0x180 - 0xC0);
}  // namespace

std::string search_fold(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto b0 = static_cast<unsigned char>(s[i]);
    // Two-byte sequences C3 80..C5 BF are U+00C0..U+017F.
    if (b0 >= 0xC3 && b0 <= 0xC5 && i + 1 < s.size()) {
      const auto b1 = static_cast<unsigned char>(s[i + 1]);
      if (b1 >= 0x80 && b1 <= 0xBF) {
        const unsigned cp = ((b0 & 0x1Fu) << 6) | (b1 & 0x3Fu);
        if (cp >= 0xC0 && kLatinFold[cp - 0xC0] != '_') {
          out += kLatinFold[cp - 0xC0];
          ++i;
          continue;
        }
      }
    }
    out += ascii_lower(s[i]);
  }
  return out;
}

std::string_view trim(std::string_view s, std::string_view blanks) {
  const auto first = s.find_first_not_of(blanks);
  if (first == std::string_view::npos) return {};
  return s.substr(first, s.find_last_not_of(blanks) - first + 1);
}

std::string printable(std::string_view s, std::size_t max) {
  std::string out;
  for (char c : s.substr(0, max)) out += (c >= 0x20 && c < 0x7f) ? c : '?';
  if (s.size() > max) out += "...";
  return out;
}

}  // namespace zaulek
