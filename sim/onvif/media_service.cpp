// The simulated camera's Media service (trt): two fixed profiles ("main" at
// 1080p in the camera's codec, "sub" at 360p H.264), one video source, and
// the stream and snapshot URIs.
#include <string>

#include "sim/onvif/services.h"

namespace zaulek::sim::onvif_sim {
namespace {

using onvif::OutHeader;
using onvif::SoapContext;

std::string profiles(const DeviceView& d) {
  SoapContext out;
  struct soap* s = out.get();
  _trt__GetProfilesResponse r;
  soap_default__trt__GetProfilesResponse(s, &r);
  auto* vsc = soap_new_tt__VideoSourceConfiguration(s, -1);
  vsc->token = "vsc0";
  vsc->Name = "VideoSourceConfig";
  vsc->UseCount = 2;
  vsc->SourceToken = "vs0";
  vsc->Bounds.x = 0;
  vsc->Bounds.y = 0;
  vsc->Bounds.width = 1920;
  vsc->Bounds.height = 1080;
  auto encoder = [&](const char* token, const char* codec, int w, int h, int bitrate) {
    auto* e = soap_new_tt__VideoEncoderConfiguration(s, -1);
    e->token = token;
    e->Name = token;
    e->UseCount = 1;
    e->Encoding = codec;
    e->Resolution.Width = w;
    e->Resolution.Height = h;
    e->Quality = 5;
    e->RateControl = soap_new_tt__VideoRateControl(s, -1);
    e->RateControl->FrameRateLimit = 25;
    e->RateControl->EncodingInterval = 1;
    e->RateControl->BitrateLimit = bitrate;
    if (std::string(codec) == "H264") {
      e->H264 = soap_new_tt__H264Configuration(s, -1);
      e->H264->GovLength = 50;
      e->H264->H264Profile = "Main";
    }
    e->Multicast.Address.Type = "IPv4";
    e->Multicast.Address.IPv4Address = soap_new_std__string(s, -1);
    *e->Multicast.Address.IPv4Address = "0.0.0.0";
    e->Multicast.Port = 0;
    e->Multicast.TTL = 1;
    e->Multicast.AutoStart = false;
    e->SessionTimeout = "PT60S";
    return e;
  };
  auto profile = [&](const char* token, tt__VideoEncoderConfiguration* e) {
    tt__Profile p;
    soap_default_tt__Profile(s, &p);
    p.token = token;
    p.fixed = static_cast<bool*>(soap_malloc(s, sizeof(bool)));
    *p.fixed = true;
    p.Name = token;
    p.VideoSourceConfiguration = vsc;
    p.VideoEncoderConfiguration = e;
    r.Profiles.push_back(p);
  };
  profile("main", encoder("vec_main", d.identity.h265 ? "H265" : "H264", 1920, 1080, 4096));
  profile("sub", encoder("vec_sub", "H264", 640, 360, 512));
  return out.write(OutHeader{}, r);
}

std::string video_sources() {
  SoapContext out;
  _trt__GetVideoSourcesResponse r;
  soap_default__trt__GetVideoSourcesResponse(out.get(), &r);
  tt__VideoSource vs;
  soap_default_tt__VideoSource(out.get(), &vs);
  vs.token = "vs0";
  vs.Framerate = 25;
  vs.Resolution.Width = 1920;
  vs.Resolution.Height = 1080;
  r.VideoSources.push_back(vs);
  return out.write(OutHeader{}, r);
}

// GetStreamUri or GetSnapshotUri.
Reply media_uri(SoapContext& ctx, const DeviceView& d) {
  bool stream = ctx.body_is("trt:GetStreamUri");
  std::string token;
  if (stream) {
    auto b = ctx.read_body<_trt__GetStreamUri>();
    if (!b) return sender_fault("ter:InvalidArgVal", b.error().message);
    token = (*b)->ProfileToken;
  } else {
    auto b = ctx.read_body<_trt__GetSnapshotUri>();
    if (!b) return sender_fault("ter:InvalidArgVal", b.error().message);
    token = (*b)->ProfileToken;
  }
  if (token != "main" && token != "sub")
    return sender_fault("ter:InvalidArgVal", "no such profile");
  SoapContext out;
  tt__MediaUri uri;
  soap_default_tt__MediaUri(out.get(), &uri);
  uri.Uri = stream ? (token == "main" ? d.identity.rtsp_main_url : d.identity.rtsp_sub_url)
            : !d.faults.snapshot_uri.empty() ? d.faults.snapshot_uri
                                             : d.base_url + kSnapshotPath;
  uri.InvalidAfterConnect = false;
  uri.InvalidAfterReboot = false;
  uri.Timeout = "PT0S";
  if (stream) {
    _trt__GetStreamUriResponse r;
    soap_default__trt__GetStreamUriResponse(out.get(), &r);
    r.MediaUri = uri;
    return Reply{.xml = out.write(OutHeader{}, r)};
  }
  _trt__GetSnapshotUriResponse r;
  soap_default__trt__GetSnapshotUriResponse(out.get(), &r);
  r.MediaUri = uri;
  return Reply{.xml = out.write(OutHeader{}, r)};
}

}  // namespace

std::optional<Reply> media_service(SoapContext& ctx, const DeviceView& d) {
  if (ctx.body_is("trt:GetProfiles")) return Reply{.xml = profiles(d)};
  if (ctx.body_is("trt:GetVideoSources")) return Reply{.xml = video_sources()};
  if (ctx.body_is("trt:GetStreamUri") || ctx.body_is("trt:GetSnapshotUri"))
    return media_uri(ctx, d);
  return std::nullopt;
}

}  // namespace zaulek::sim::onvif_sim
