// GET /api/v1/events?camera=&from=&to=&limit=&after= (every role).
#pragma once

#include "server/api/api.h"

namespace zaulek::server {

void register_event_routes(Router& router, ApiContext& ctx);

}  // namespace zaulek::server
