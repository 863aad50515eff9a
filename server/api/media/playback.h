// The playback endpoint (server/api/media/playback.cpp).
#pragma once

#include "server/api/api.h"

namespace zaulek::server {

void register_playback_routes(Router& router, ApiContext& ctx);

}  // namespace zaulek::server
