// Internal to the simulator's ONVIF device: the stateless services (Device,
// Media) as functions of what they may read of their camera, and what every
// service shares: the paths, and an answer as an envelope with its status.
// The stateful ones (events, subscriptions) live on the device's core
// (device_core.h).
#pragma once

#include <boost/beast/http/status.hpp>

#include <optional>
#include <string>

#include "core/clock.h"
#include "onvif/soap_buffer.h"
#include "sim/onvif_device.h"

namespace zaulek::sim::onvif_sim {

inline constexpr const char* kDevicePath = "/onvif/device_service";
inline constexpr const char* kMediaPath = "/onvif/media_service";
inline constexpr const char* kEventsPath = "/onvif/events_service";
inline constexpr const char* kSubscriptionPrefix = "/onvif/subscription/";
inline constexpr const char* kSnapshotPath = "/onvif/snapshot.jpg";

// An operation's answer: the SOAP envelope (a response or a Fault) and the
// HTTP status it goes out with.
struct Reply {
  boost::beast::http::status status = boost::beast::http::status::ok;
  std::string xml;
};
// env:Sender Fault, 400: the request is wrong.
Reply sender_fault(const std::string& subcode, const std::string& reason);

// What the Device and Media services read of their camera, taken per request.
struct DeviceView {
  const CameraIdentity& identity;
  std::string base_url;  // "http://host:port"
  WallTime now;          // device clock (skew included)
  OnvifFaults faults;
};

// tds: GetSystemDateAndTime, GetDeviceInformation, GetCapabilities,
// GetServices, GetScopes, GetNetworkInterfaces. nullopt: not one of them.
std::optional<Reply> device_service(onvif::SoapContext& ctx, const DeviceView& device);
// trt: GetProfiles, GetVideoSources, GetStreamUri, GetSnapshotUri.
std::optional<Reply> media_service(onvif::SoapContext& ctx, const DeviceView& device);

}  // namespace zaulek::sim::onvif_sim
