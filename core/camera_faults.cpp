#include "core/camera_faults.h"

#include <array>
#include <atomic>

namespace zaulek {

namespace {
std::array<std::atomic<std::uint64_t>, kCameraFaultKinds> counts{};
}  // namespace

std::string_view to_string(CameraFault kind) {
  switch (kind) {
    case CameraFault::onvif_reply:
      return "onvif_reply";
    case CameraFault::onvif_reply_too_large:
      return "onvif_reply_too_large";
    case CameraFault::onvif_reply_too_complex:
      return "onvif_reply_too_complex";
    case CameraFault::escaped_handler:
      return "escaped_handler";
    case CameraFault::rtsp_answer:
      return "rtsp_answer";
  }
  return "other";
}

void count_camera_fault(CameraFault kind) {
  counts[static_cast<std::size_t>(kind)].fetch_add(1, std::memory_order_relaxed);
}

std::uint64_t camera_faults(CameraFault kind) {
  return counts[static_cast<std::size_t>(kind)].load(std::memory_order_relaxed);
}

std::string camera_faults_metrics() {
  std::string out =
      "# HELP zaulek_camera_faults_total Faults a camera caused that were contained to it "
      "(that call or camera failed with a reason), by kind.\n"
      "# TYPE zaulek_camera_faults_total counter\n";
  for (std::size_t i = 0; i < kCameraFaultKinds; ++i) {
    auto kind = static_cast<CameraFault>(i);
    out += "zaulek_camera_faults_total{kind=\"" + std::string(to_string(kind)) + "\"} " +
           std::to_string(camera_faults(kind)) + "\n";
  }
  return out;
}

}  // namespace zaulek
