// The server's public signing key (evidence/signing_key.h):
//   GET /api/v1/keys   every role
//     {"keys": [{"id", "algorithm": "Ed25519", "public_key": Base64, "created"}]}
// Investigators hand the key to whoever checks an export (zaulek-verify
// --key). Operators may read it too: a public key opens nothing and proves
// nothing to its reader; hiding it would only make checking harder.
#pragma once

#include "server/api/api.h"

namespace zaulek::server {

// Needs ctx.signing_key when serving; null for --list-routes (503 then).
void register_key_routes(Router& router, ApiContext& ctx);

}  // namespace zaulek::server
