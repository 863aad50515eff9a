// The simulated camera's Device service (tds): identity, capabilities and
// service addresses, clock, scopes and network interface.
#include <cctype>
#include <cstdio>
#include <ctime>

#include "sim/onvif/services.h"

namespace zaulek::sim::onvif_sim {
namespace {

using onvif::OutHeader;
using onvif::SoapContext;

// Scope path segments are URI text: keep unreserved characters only.
std::string scope_escape(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

std::string device_information(const DeviceView& d) {
  SoapContext out;
  _tds__GetDeviceInformationResponse r;
  soap_default__tds__GetDeviceInformationResponse(out.get(), &r);
  r.Manufacturer = d.identity.manufacturer;
  r.Model = d.identity.model;
  r.FirmwareVersion = d.identity.firmware;
  r.SerialNumber = d.identity.serial;
  r.HardwareId = d.identity.hardware_id;
  return out.write(OutHeader{}, r);
}

std::string capabilities(const DeviceView& d) {
  SoapContext out;
  struct soap* s = out.get();
  _tds__GetCapabilitiesResponse r;
  soap_default__tds__GetCapabilitiesResponse(s, &r);
  r.Capabilities.Device = soap_new_tt__DeviceCapabilities(s, -1);
  r.Capabilities.Device->XAddr = d.base_url + kDevicePath;
  r.Capabilities.Events = soap_new_tt__EventCapabilities(s, -1);
  r.Capabilities.Events->XAddr = d.base_url + kEventsPath;
  r.Capabilities.Events->WSSubscriptionPolicySupport = false;
  r.Capabilities.Events->WSPullPointSupport = !d.faults.no_pullpoint;
  r.Capabilities.Events->WSPausableSubscriptionManagerInterfaceSupport = false;
  r.Capabilities.Media = soap_new_tt__MediaCapabilities(s, -1);
  r.Capabilities.Media->XAddr = d.base_url + kMediaPath;
  auto t = [&](bool v) {
    bool* b = static_cast<bool*>(soap_malloc(s, sizeof(bool)));
    *b = v;
    return b;
  };
  r.Capabilities.Media->StreamingCapabilities.RTPMulticast = t(false);
  r.Capabilities.Media->StreamingCapabilities.RTP_USCORETCP = t(true);
  r.Capabilities.Media->StreamingCapabilities.RTP_USCORERTSP_USCORETCP = t(true);
  return out.write(OutHeader{}, r);
}

std::string services(const DeviceView& d) {
  SoapContext out;
  _tds__GetServicesResponse r;
  soap_default__tds__GetServicesResponse(out.get(), &r);
  auto add = [&](const char* ns, const char* path) {
    tds__Service svc;
    soap_default_tds__Service(out.get(), &svc);
    svc.Namespace = ns;
    svc.XAddr = d.base_url + path;
    svc.Version.Major = 2;
    svc.Version.Minor = 60;
    r.Service.push_back(svc);
  };
  add("http://www.onvif.org/ver10/device/wsdl", kDevicePath);
  add("http://www.onvif.org/ver10/media/wsdl", kMediaPath);
  add("http://www.onvif.org/ver10/events/wsdl", kEventsPath);
  return out.write(OutHeader{}, r);
}

std::string system_date_time(const DeviceView& d) {
  SoapContext out;
  struct soap* s = out.get();
  _tds__GetSystemDateAndTimeResponse r;
  soap_default__tds__GetSystemDateAndTimeResponse(s, &r);
  auto now = std::chrono::system_clock::to_time_t(d.now);
  std::tm tm{};
  gmtime_r(&now, &tm);
  r.SystemDateAndTime.DateTimeType = "NTP";
  r.SystemDateAndTime.DaylightSavings = false;
  r.SystemDateAndTime.TimeZone = soap_new_tt__TimeZone(s, -1);
  r.SystemDateAndTime.TimeZone->TZ = "UTC0";
  auto dt = [&] {
    auto* d = soap_new_tt__DateTime(s, -1);
    d->Time.Hour = tm.tm_hour;
    d->Time.Minute = tm.tm_min;
    d->Time.Second = tm.tm_sec;
    d->Date.Year = tm.tm_year + 1900;
    d->Date.Month = tm.tm_mon + 1;
    d->Date.Day = tm.tm_mday;
    return d;
  };
  r.SystemDateAndTime.UTCDateTime = dt();
  r.SystemDateAndTime.LocalDateTime = dt();
  return out.write(OutHeader{}, r);
}

std::string scopes(const DeviceView& d) {
  SoapContext out;
  _tds__GetScopesResponse r;
  soap_default__tds__GetScopesResponse(out.get(), &r);
  for (const auto& uri : OnvifDevice::scopes_of(d.identity)) {
    tt__Scope sc;
    soap_default_tt__Scope(out.get(), &sc);
    sc.ScopeDef =
        uri.find("/name/") != std::string::npos || uri.find("/location/") != std::string::npos
            ? "Configurable"
            : "Fixed";
    sc.ScopeItem = uri;
    r.Scopes.push_back(sc);
  }
  return out.write(OutHeader{}, r);
}

std::string network_interfaces(const DeviceView& d) {
  SoapContext out;
  struct soap* s = out.get();
  _tds__GetNetworkInterfacesResponse r;
  soap_default__tds__GetNetworkInterfacesResponse(s, &r);
  tt__NetworkInterface ni;
  soap_default_tt__NetworkInterface(s, &ni);
  ni.token = "eth0";
  ni.Enabled = true;
  ni.Info = soap_new_tt__NetworkInterfaceInfo(s, -1);
  ni.Info->Name = soap_new_std__string(s, -1);
  *ni.Info->Name = "eth0";
  char mac[32];
  std::snprintf(mac, sizeof mac, "02:5a:4b:00:%02x:%02x", (d.identity.index >> 8) & 0xff,
                d.identity.index & 0xff);
  ni.Info->HwAddress = mac;
  ni.IPv4 = soap_new_tt__IPv4NetworkInterface(s, -1);
  ni.IPv4->Enabled = true;
  ni.IPv4->Config.DHCP = false;
  tt__PrefixedIPv4Address a;
  soap_default_tt__PrefixedIPv4Address(s, &a);
  a.Address = d.identity.bind_host;
  a.PrefixLength = d.identity.bind_host.rfind("127.", 0) == 0 ? 8 : 24;
  ni.IPv4->Config.Manual.push_back(a);
  r.NetworkInterfaces.push_back(ni);
  return out.write(OutHeader{}, r);
}

}  // namespace

std::optional<Reply> device_service(SoapContext& ctx, const DeviceView& d) {
  if (ctx.body_is("tds:GetSystemDateAndTime")) {
    if (!ctx.read_body<_tds__GetSystemDateAndTime>())
      return sender_fault("ter:WellFormed", "bad body");
    return Reply{.xml = system_date_time(d)};
  }
  if (ctx.body_is("tds:GetDeviceInformation")) return Reply{.xml = device_information(d)};
  if (ctx.body_is("tds:GetCapabilities")) return Reply{.xml = capabilities(d)};
  if (ctx.body_is("tds:GetServices")) return Reply{.xml = services(d)};
  if (ctx.body_is("tds:GetScopes")) return Reply{.xml = scopes(d)};
  if (ctx.body_is("tds:GetNetworkInterfaces")) return Reply{.xml = network_interfaces(d)};
  return std::nullopt;
}

}  // namespace zaulek::sim::onvif_sim

namespace zaulek::sim {

std::vector<std::string> OnvifDevice::scopes_of(const CameraIdentity& id) {
  const std::string base = "onvif://www.onvif.org/";
  return {base + "type/video_encoder", base + "Profile/Streaming",
          base + "name/" + onvif_sim::scope_escape(id.name),
          base + "hardware/" +
              onvif_sim::scope_escape(id.hardware_id.empty() ? id.model : id.hardware_id),
          base + "location/" + onvif_sim::scope_escape(id.location)};
}

}  // namespace zaulek::sim
