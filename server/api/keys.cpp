#include "server/api/keys.h"

#include <nlohmann/json.hpp>

#include "core/text/encoding.h"
#include "evidence/signing_key.h"

namespace zaulek::server {
namespace {

Response list_keys(ApiContext& ctx, Request&) {
  const evidence::SigningKey& k = *ctx.signing_key;
  nlohmann::json key = {{"id", k.id()},
                        {"algorithm", "Ed25519"},
                        {"public_key", base64_encode(k.public_key())},
                        {"created", format_rfc3339(k.created())}};
  return json_response(200, {{"keys", nlohmann::json::array({key})}});
}

}  // namespace

void register_key_routes(Router& router, ApiContext& ctx) {
  auto h = service_handlers(ctx, "signing key",
                            [](const ApiContext& c) { return c.signing_key != nullptr; });
  router.add({"GET", "/api/v1/keys", Access::roles, RoleSet::all(), false, false, h(list_keys)});
}

}  // namespace zaulek::server
