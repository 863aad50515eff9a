// Answering a camera's HTTP 401, shared by the SOAP exchange and the snapshot
// fetch: which scheme to answer (pure, unit tested) and the Authorization
// value. Nothing here logs; the password stays in the caller's hands.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/digest.h"
#include "core/error.h"
#include "onvif/client/client.h"

namespace zaulek::onvif {

// How to answer a 401, from its WWW-Authenticate values (every one the camera
// sent: some send Basic first and Digest second): Digest when offered
// (preferred), else Basic when `allow_basic`. unauthenticated saying why not
// (no challenge, Basic only and not allowed, an unknown scheme, a Digest
// challenge without realm or nonce).
struct AuthAnswer {
  enum class Scheme { digest, basic };
  Scheme scheme = Scheme::digest;
  digest::Challenge challenge;  // for Digest
};
Result<AuthAnswer> choose_auth(const std::vector<std::string>& www_authenticate, bool allow_basic);

// The Authorization value answering `challenge` for `method` on `target`,
// with a fresh random cnonce and the request count `nc`.
std::string digest_authorization(std::string_view method, std::string_view target,
                                 const Credentials& credentials, const digest::Challenge& challenge,
                                 unsigned nc);

}  // namespace zaulek::onvif
