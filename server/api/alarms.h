// Alarm and rule endpoints (server/alarms/alarms.h):
//   GET  /api/v1/alarms?state=&camera=&before=&limit=   every role
//   POST /api/v1/alarms/{id}/ack                         operator, administrator
//   POST /api/v1/alarms/{id}/resolve {note}              operator, administrator
//   POST /api/v1/alarms/{id}/assign {user}               operator, administrator
//   GET/POST /api/v1/rules, DELETE /api/v1/rules/{id}    administrator
#pragma once

#include "server/api/api.h"

namespace zaulek::server {

void register_alarm_routes(Router& router, ApiContext& ctx);

}  // namespace zaulek::server
