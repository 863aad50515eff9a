#include "onvif/client/replies.h"

#include <algorithm>

#include "onvif/soap_reply.h"

namespace zaulek::onvif {
namespace {

constexpr const char* kMediaNs = "http://www.onvif.org/ver10/media/wsdl";
constexpr const char* kEventsNs = "http://www.onvif.org/ver10/events/wsdl";
constexpr const char* kDeviceNs = "http://www.onvif.org/ver10/device/wsdl";

void set_service(ServiceAddrs& out, std::string_view ns, const std::string& xaddr) {
  if (ns == kDeviceNs && out.device.empty()) out.device = xaddr;
  if (ns == kMediaNs && out.media.empty()) out.media = xaddr;
  if (ns == kEventsNs && out.events.empty()) out.events = xaddr;
}

}  // namespace

Result<WallTime> parse_system_date_and_time(std::string_view xml) {
  SoapContext ctx;
  auto r = read_reply<_tds__GetSystemDateAndTimeResponse>(ctx, xml);
  if (!r) return r.error();
  const tt__SystemDateTime& sdt = (*r)->SystemDateAndTime;
  const tt__DateTime* dt = sdt.UTCDateTime ? sdt.UTCDateTime : sdt.LocalDateTime;
  if (!dt) return make_error(ErrorKind::invalid_argument, "camera reported no date and time");
  const auto& d = dt->Date;
  const auto& t = dt->Time;
  if (d.Year < 1970 || d.Year > 9999 || d.Month < 1 || d.Month > 12 || d.Day < 1 || d.Day > 31 ||
      t.Hour < 0 || t.Hour > 23 || t.Minute < 0 || t.Minute > 59 || t.Second < 0 || t.Second > 60)
    return make_error(ErrorKind::invalid_argument,
                      "camera reported an impossible date/time " + std::to_string(d.Year) + "-" +
                          std::to_string(d.Month) + "-" + std::to_string(d.Day) + " " +
                          std::to_string(t.Hour) + ":" + std::to_string(t.Minute) + ":" +
                          std::to_string(t.Second));
  // A day past the month's end (Feb 31) counts on into the next month, as
  // sys_days does for any valid year and month.
  using namespace std::chrono;
  const sys_days date{year{d.Year} / month{static_cast<unsigned>(d.Month)} /
                      day{static_cast<unsigned>(d.Day)}};
  return WallTime{date + hours{t.Hour} + minutes{t.Minute} + seconds{t.Second}};
}

Result<DeviceInfo> parse_device_information(std::string_view xml) {
  SoapContext ctx;
  auto r = read_reply<_tds__GetDeviceInformationResponse>(ctx, xml);
  if (!r) return r.error();
  DeviceInfo info;
  info.manufacturer = (*r)->Manufacturer;
  info.model = (*r)->Model;
  info.firmware = (*r)->FirmwareVersion;
  info.serial = (*r)->SerialNumber;
  info.hardware_id = (*r)->HardwareId;
  return info;
}

Result<ServiceAddrs> parse_capabilities(std::string_view xml) {
  SoapContext ctx;
  auto r = read_reply<_tds__GetCapabilitiesResponse>(ctx, xml);
  if (!r) return r.error();
  const tt__Capabilities& c = (*r)->Capabilities;
  ServiceAddrs out;
  if (c.Device) out.device = c.Device->XAddr;
  if (c.Media) out.media = c.Media->XAddr;
  if (c.Events) out.events = c.Events->XAddr;
  return out;
}

Result<ServiceAddrs> parse_services(std::string_view xml) {
  SoapContext ctx;
  auto r = read_reply<_tds__GetServicesResponse>(ctx, xml);
  if (!r) return r.error();
  ServiceAddrs out;
  for (const tds__Service& s : (*r)->Service) set_service(out, s.Namespace, s.XAddr);
  return out;
}

Result<std::vector<MediaProfile>> parse_profiles(std::string_view xml) {
  SoapContext ctx;
  auto r = read_reply<_trt__GetProfilesResponse>(ctx, xml);
  if (!r) return r.error();
  std::vector<MediaProfile> out;
  for (const tt__Profile& p : (*r)->Profiles) {
    if (p.token.empty()) continue;  // cannot ask for its stream
    MediaProfile m;
    m.token = p.token;
    m.name = p.Name;
    if (const tt__VideoEncoderConfiguration* v = p.VideoEncoderConfiguration) {
      m.encoding = v->Encoding;
      m.width = std::max(0, v->Resolution.Width);
      m.height = std::max(0, v->Resolution.Height);
    }
    out.push_back(std::move(m));
  }
  return out;
}

Result<std::string> parse_media_uri(std::string_view xml, bool stream) {
  SoapContext ctx;
  std::string uri;
  if (stream) {
    auto r = read_reply<_trt__GetStreamUriResponse>(ctx, xml);
    if (!r) return r.error();
    uri = (*r)->MediaUri.Uri;
  } else {
    auto r = read_reply<_trt__GetSnapshotUriResponse>(ctx, xml);
    if (!r) return r.error();
    uri = (*r)->MediaUri.Uri;
  }
  if (uri.empty())
    return make_error(ErrorKind::invalid_argument, std::string("camera returned an empty ") +
                                                       (stream ? "stream" : "snapshot") + " URI");
  return strip_userinfo(uri);
}

ProfileChoice choose_profiles(const std::vector<MediaProfile>& profiles) {
  ProfileChoice c;
  auto area = [&](int i) { return static_cast<long long>(profiles[i].width) * profiles[i].height; };
  auto video = [&](int i) { return !profiles[i].encoding.empty(); };
  int n = static_cast<int>(profiles.size());
  for (int i = 0; i < n; ++i) {
    if (c.main < 0 || (video(i) && !video(c.main)) ||
        (video(i) == video(c.main) && area(i) > area(c.main)))
      c.main = i;
  }
  for (int i = 0; i < n; ++i) {
    if (i == c.main || (!video(i) && video(c.main))) continue;
    if (c.sub < 0 || area(i) < area(c.sub)) c.sub = i;
  }
  if (c.sub < 0) c.sub = c.main;
  return c;
}

ProfileChoice choose_profiles(const std::vector<MediaProfile>& profiles, const ProfileWish& wish) {
  ProfileChoice c = choose_profiles(profiles);
  auto find = [&](const std::string& token) {
    for (int i = 0; i < static_cast<int>(profiles.size()); ++i)
      if (!token.empty() && profiles[i].token == token) return i;
    return -1;
  };
  if (int i = find(wish.main); i >= 0) c.main = i;
  if (int i = find(wish.sub); i >= 0) c.sub = i;
  return c;
}

std::string strip_userinfo(std::string_view uri) {
  auto scheme = uri.find("://");
  if (scheme == std::string_view::npos) return std::string(uri);
  auto start = scheme + 3;
  auto end = uri.find_first_of("/?#", start);
  if (end == std::string_view::npos) end = uri.size();
  auto at = uri.substr(start, end - start).rfind('@');
  if (at == std::string_view::npos) return std::string(uri);
  return std::string(uri.substr(0, start)) + std::string(uri.substr(start + at + 1));
}

}  // namespace zaulek::onvif
