// Faults a camera caused and zaulekd contained: the call or the camera
// failed with a reason, the process went on. Process-wide counters (any
// thread, lock-free) for /metrics as zaulek_camera_faults_total{kind}; the
// kinds are a fixed set, so the label stays bounded whatever cameras send.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace zaulek {

enum class CameraFault : std::uint8_t {
  onvif_reply,              // an exception while handling an ONVIF reply or datagram
  onvif_reply_too_large,    // a reply over the size limit, declared or streamed
  onvif_reply_too_complex,  // refused by the XML pre-scan (attributes, namespaces, depth, ...)
  escaped_handler,          // an exception escaped a camera-facing handler (server/run_contained.h)
  rtsp_answer,              // an RTSP answer the parsers refused (media/rtsp_parse.h)
};
inline constexpr std::size_t kCameraFaultKinds = 5;

std::string_view to_string(CameraFault kind);
void count_camera_fault(CameraFault kind);
std::uint64_t camera_faults(CameraFault kind);
// HELP, TYPE and one line per kind (zeros included).
std::string camera_faults_metrics();

}  // namespace zaulek
