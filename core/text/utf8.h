// Text from cameras as valid UTF-8. A camera's bytes reach JSON
// (nlohmann::json::dump throws on invalid UTF-8) and SQLite; anything not
// valid UTF-8 (RFC 3629) is replaced, never passed on.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace zaulek {

// Length of the longest prefix of `s` that is valid UTF-8: no surrogates
// (U+D800..U+DFFF), no overlong forms, nothing above U+10FFFF, no lead byte
// C0, C1 or F5..FF, no stray continuation byte, no truncated sequence.
std::size_t valid_utf8_prefix(std::string_view s);

// `s` with every byte that does not begin a valid sequence replaced by '?'
// (so an invalid sequence of n bytes becomes n '?'), at most `max` bytes,
// cut on a character boundary. Valid input comes back unchanged.
std::string to_valid_utf8(std::string_view s, std::size_t max = std::string_view::npos);

}  // namespace zaulek
