#include "server/app/build_info.h"

namespace zaulek::server {

const char* build_version() {
  return ZAULEK_VERSION;
}
const char* default_web_root() {
  return ZAULEK_DEFAULT_WEB_ROOT;
}

}  // namespace zaulek::server
