// The last boundary of a camera-facing io_context (the camera registry's, the
// camera events', recording's). Every handler there has its own boundary that
// fails its call or camera with a reason; an exception that still escapes one
// is logged and counted (zaulek_camera_faults_total{kind="escaped_handler"}),
// and the thread runs on: one camera must never end the process.
#pragma once

#include <spdlog/spdlog.h>

#include <boost/asio/io_context.hpp>
#include <exception>
#include <string_view>

#include "core/camera_faults.h"
#include "core/text/utf8.h"

namespace zaulek::server {

inline void run_contained(boost::asio::io_context& ioc, std::string_view what) {
  for (;;) {
    try {
      ioc.run();
      return;
    } catch (const std::exception& e) {
      count_camera_fault(CameraFault::escaped_handler);
      spdlog::error("{}: a handler failed and was contained: {}", what,
                    to_valid_utf8(e.what(), 200));
    } catch (...) {
      count_camera_fault(CameraFault::escaped_handler);
      spdlog::error("{}: a handler failed and was contained (not a std::exception)", what);
    }
  }
}

}  // namespace zaulek::server
