// Reading ONVIF replies: plain functions from a SOAP envelope (bytes) to
// plain structs, no sockets. The asynchronous client (onvif/client/client.h)
// calls them; unit tests and the fuzz targets call them directly.
//
// Every function bounds the input (kMaxEnvelopeBytes) before parsing, accepts
// any namespace prefixes (gSOAP matches by namespace URI), tolerates missing
// optional fields, and turns a SOAP Fault into an Error:
// ter:NotAuthorized (or a fault reason that says so) -> unauthenticated,
// any other fault -> failed_precondition naming subcode and reason, anything
// that is not the expected reply -> invalid_argument naming what came.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/error.h"

namespace zaulek::onvif {

struct DeviceInfo {
  std::string manufacturer, model, firmware, serial, hardware_id;
};

// XAddrs of the services we use; empty when the device did not name one.
struct ServiceAddrs {
  std::string device, media, events;
};

struct MediaProfile {
  std::string token, name;
  std::string encoding;  // H264, H265, JPEG, ... ("" without a video encoder)
  int width = 0, height = 0;
};

// The device's UTC clock (UTCDateTime; LocalDateTime only if UTC is absent).
Result<WallTime> parse_system_date_and_time(std::string_view xml);
Result<DeviceInfo> parse_device_information(std::string_view xml);
Result<ServiceAddrs> parse_capabilities(std::string_view xml);
Result<ServiceAddrs> parse_services(std::string_view xml);
Result<std::vector<MediaProfile>> parse_profiles(std::string_view xml);
// The Uri of a GetStreamUriResponse (stream = true) or GetSnapshotUriResponse.
Result<std::string> parse_media_uri(std::string_view xml, bool stream);

// Picks the main (largest video) and sub (smallest other video) profiles;
// sub == main when there is only one video profile. Index into `profiles`,
// -1 when there is no profile at all.
struct ProfileChoice {
  int main = -1, sub = -1;
};
ProfileChoice choose_profiles(const std::vector<MediaProfile>& profiles);
// Profile tokens an administrator chose for the main and sub stream (""
// where none was chosen): choose_profiles(profiles) overridden by each token
// the device still lists; one it no longer lists falls back to that pick.
struct ProfileWish {
  std::string main, sub;
};
ProfileChoice choose_profiles(const std::vector<MediaProfile>& profiles, const ProfileWish& wish);

// Removes "user:password@" from a URI (cameras sometimes embed credentials
// in stream URIs; we never store or return them).
std::string strip_userinfo(std::string_view uri);

}  // namespace zaulek::onvif
