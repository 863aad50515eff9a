// The simulator's cameras as main.cpp wires them: each camera's RTSP server,
// its ONVIF device (when the ONVIF half is linked) and its current faults.
// Touched only on the io_context thread (the simulator runs io with one thread).
#pragma once

#include "core/clock.h"
#include "core/error.h"
#include "sim/hostile_rtsp.h"
#include "sim/onvif_device.h"
#include "sim/rtsp_camera.h"

#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace zaulek::sim {

struct FleetCamera {
  int index = 0;
  std::string name;
  std::unique_ptr<RtspCamera> rtsp;
  std::unique_ptr<OnvifDevice> onvif;  // null when built without the ONVIF half
  std::string onvif_url;
  std::string snapshot_url;  // empty when unknown
  OnvifFaults onvif_faults;  // what was last set (also kept without ONVIF)
  std::chrono::steady_clock::time_point rebooting_until{};  // epoch: not rebooting
  std::chrono::steady_clock::time_point stalled_until{};
  std::unique_ptr<boost::asio::steady_timer> reboot_timer;
  std::unique_ptr<HostileRtsp> hostile_rtsp;  // set: the rtsp_garbage fault holds the port
};

struct Fleet {
  std::vector<std::unique_ptr<FleetCamera>> cameras;
  RtspLoop* loop = nullptr;  // the ticker's incidents (GET /sim/incidents)
};

// Fires an event on a camera's ONVIF device; error when ONVIF is not linked
// or the camera is rebooting.
Result<std::chrono::system_clock::time_point> fire_event(FleetCamera& camera,
                                                         const EventSpec& event);

// The event kinds the ONVIF side understands (EventSpec::kind).
bool known_event_kind(const std::string& kind);

}  // namespace zaulek::sim
