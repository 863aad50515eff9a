// The live view endpoint (server/api/live.cpp).
#pragma once

#include "server/api/api.h"

namespace zaulek::server {

void register_live_routes(Router& router, ApiContext& ctx);

}  // namespace zaulek::server
