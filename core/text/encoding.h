// Hex and Base64 (RFC 4648), the one copy for every module (HTTP and RTSP
// authentication, WS-UsernameToken, stored hashes). Through libsodium, like
// the rest of core/crypto.h.
#pragma once

#include <string>
#include <string_view>

namespace zaulek {

// Lowercase hex of raw bytes.
std::string to_hex(std::string_view bytes);

// Standard alphabet with padding, no line breaks.
std::string base64_encode(std::string_view bytes);
// Standard alphabet, padding required; blanks (space, tab, CR, LF) between
// characters are skipped (Base64 in XML is often wrapped). false on anything
// else, `out` then unspecified.
bool base64_decode(std::string_view text, std::string& out);

}  // namespace zaulek
