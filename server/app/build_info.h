// Facts fixed at build time, kept in one translation unit so that the
// precompiled header is the same for every other file.
#pragma once

namespace zaulek::server {

const char* build_version();     // project version, e.g. "0.1.0"
const char* default_web_root();  // the source tree's web/ directory

}  // namespace zaulek::server
