// In-memory SOAP 1.2 envelopes over the gSOAP serializers generated from
// onvif/onvif.h. No sockets here: callers (the simulator's Beast server, the
// zaulekd ONVIF client on Asio) move bytes; this turns them into typed
// structs and back. See docs/design/onvif.md.
//
// A SoapContext is not thread-safe; use one per message or per strand. All
// values read from or written with it live in its arena until reset().
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "core/error.h"
#include "soapH.h"

namespace zaulek::onvif {

// Envelopes larger than this are refused before parsing.
inline constexpr std::size_t kMaxEnvelopeBytes = 1 << 20;

// Maps a generated body type to its element tag and serializer functions.
template <class T>
struct SoapType;

#define ZAULEK_ONVIF_SOAP_TYPE(T, TAG)                                                          \
  template <>                                                                                   \
  struct SoapType<T> {                                                                          \
    static constexpr const char* tag = TAG;                                                     \
    static void defaults(struct soap* s, T* p) { soap_default_##T(s, p); }                      \
    static void serialize(struct soap* s, const T* p) { soap_serialize_##T(s, p); }             \
    static int out(struct soap* s, const T* p) { return soap_out_##T(s, TAG, -2, p, nullptr); } \
    static T* in(struct soap* s, T* p) { return soap_in_##T(s, TAG, p, nullptr); }              \
    static T* make(struct soap* s) { return soap_new_##T(s, -1); }                              \
  }

ZAULEK_ONVIF_SOAP_TYPE(_tds__GetDeviceInformation, "tds:GetDeviceInformation");
ZAULEK_ONVIF_SOAP_TYPE(_tds__GetDeviceInformationResponse, "tds:GetDeviceInformationResponse");
ZAULEK_ONVIF_SOAP_TYPE(_tds__GetCapabilities, "tds:GetCapabilities");
ZAULEK_ONVIF_SOAP_TYPE(_tds__GetCapabilitiesResponse, "tds:GetCapabilitiesResponse");
ZAULEK_ONVIF_SOAP_TYPE(_tds__GetServices, "tds:GetServices");
ZAULEK_ONVIF_SOAP_TYPE(_tds__GetServicesResponse, "tds:GetServicesResponse");
ZAULEK_ONVIF_SOAP_TYPE(_tds__GetSystemDateAndTime, "tds:GetSystemDateAndTime");
ZAULEK_ONVIF_SOAP_TYPE(_tds__GetSystemDateAndTimeResponse, "tds:GetSystemDateAndTimeResponse");
ZAULEK_ONVIF_SOAP_TYPE(_tds__GetScopes, "tds:GetScopes");
ZAULEK_ONVIF_SOAP_TYPE(_tds__GetScopesResponse, "tds:GetScopesResponse");
ZAULEK_ONVIF_SOAP_TYPE(_tds__GetNetworkInterfaces, "tds:GetNetworkInterfaces");
ZAULEK_ONVIF_SOAP_TYPE(_tds__GetNetworkInterfacesResponse, "tds:GetNetworkInterfacesResponse");
ZAULEK_ONVIF_SOAP_TYPE(_trt__GetProfiles, "trt:GetProfiles");
ZAULEK_ONVIF_SOAP_TYPE(_trt__GetProfilesResponse, "trt:GetProfilesResponse");
ZAULEK_ONVIF_SOAP_TYPE(_trt__GetStreamUri, "trt:GetStreamUri");
ZAULEK_ONVIF_SOAP_TYPE(_trt__GetStreamUriResponse, "trt:GetStreamUriResponse");
ZAULEK_ONVIF_SOAP_TYPE(_trt__GetSnapshotUri, "trt:GetSnapshotUri");
ZAULEK_ONVIF_SOAP_TYPE(_trt__GetSnapshotUriResponse, "trt:GetSnapshotUriResponse");
ZAULEK_ONVIF_SOAP_TYPE(_trt__GetVideoSources, "trt:GetVideoSources");
ZAULEK_ONVIF_SOAP_TYPE(_trt__GetVideoSourcesResponse, "trt:GetVideoSourcesResponse");
ZAULEK_ONVIF_SOAP_TYPE(_tev__GetEventProperties, "tev:GetEventProperties");
ZAULEK_ONVIF_SOAP_TYPE(_tev__GetEventPropertiesResponse, "tev:GetEventPropertiesResponse");
ZAULEK_ONVIF_SOAP_TYPE(_tev__CreatePullPointSubscription, "tev:CreatePullPointSubscription");
ZAULEK_ONVIF_SOAP_TYPE(_tev__CreatePullPointSubscriptionResponse,
                       "tev:CreatePullPointSubscriptionResponse");
ZAULEK_ONVIF_SOAP_TYPE(_tev__PullMessages, "tev:PullMessages");
ZAULEK_ONVIF_SOAP_TYPE(_tev__PullMessagesResponse, "tev:PullMessagesResponse");
ZAULEK_ONVIF_SOAP_TYPE(_wsnt__Renew, "wsnt:Renew");
ZAULEK_ONVIF_SOAP_TYPE(_wsnt__RenewResponse, "wsnt:RenewResponse");
ZAULEK_ONVIF_SOAP_TYPE(_wsnt__Unsubscribe, "wsnt:Unsubscribe");
ZAULEK_ONVIF_SOAP_TYPE(_wsnt__UnsubscribeResponse, "wsnt:UnsubscribeResponse");
ZAULEK_ONVIF_SOAP_TYPE(_wsnt__Subscribe, "wsnt:Subscribe");
ZAULEK_ONVIF_SOAP_TYPE(_wsnt__SubscribeResponse, "wsnt:SubscribeResponse");
ZAULEK_ONVIF_SOAP_TYPE(_wsnt__Notify, "wsnt:Notify");
ZAULEK_ONVIF_SOAP_TYPE(_wsdd__Probe, "wsdd:Probe");
ZAULEK_ONVIF_SOAP_TYPE(_wsdd__ProbeMatches, "wsdd:ProbeMatches");
ZAULEK_ONVIF_SOAP_TYPE(_wsdd__Hello, "wsdd:Hello");
ZAULEK_ONVIF_SOAP_TYPE(_wsdd__Bye, "wsdd:Bye");

// SOAP header fields we write. Empty strings are left out.
struct OutHeader {
  std::string action;      // wsa5:Action (or wsa:Action when discovery)
  std::string to;          // wsa5:To / wsa:To
  std::string message_id;  // wsa5:MessageID / wsa:MessageID
  std::string relates_to;  // wsa5:RelatesTo / wsa:RelatesTo
  bool discovery = false;  // WS-Addressing 2004/08 (WS-Discovery) instead of 2005/08
  // WS-UsernameToken (PasswordDigest) when username is set.
  std::string username, password_digest, nonce_base64, created;
};

// SOAP header fields we read (both WS-Addressing versions land here).
struct InHeader {
  std::string action, to, message_id, relates_to;
  bool has_username_token = false;
  std::string username, password, password_type, nonce_base64, created;
};

struct Fault {
  bool sender = true;   // env:Sender (client's fault) or env:Receiver
  std::string subcode;  // "ter:NotAuthorized", "ter:InvalidArgVal"
  std::string reason;
};

class SoapContext {
 public:
  SoapContext();
  ~SoapContext();
  SoapContext(const SoapContext&) = delete;
  SoapContext& operator=(const SoapContext&) = delete;

  struct soap* get() {
    return soap_;
  }
  // Frees everything read or allocated since the last reset.
  void reset();

  // Reads an envelope up to the first body element. On success the body
  // element is next: test it with body_is() and read it with read_body().
  // Untrusted bytes: the envelope is bounded (kMaxEnvelopeBytes) and
  // pre-scanned (onvif/xml_prescan.h: attributes and namespaces per
  // element, depth, elements) before gSOAP sees it, and bytes that are not
  // valid UTF-8 are replaced by '?' (a copy; the caller's bytes are not
  // changed), so every string read is valid UTF-8. No reader throws: an
  // exception inside gSOAP or our conversion becomes an Error (counted as
  // a camera fault).
  Result<InHeader> begin_read(std::string_view xml);
  bool body_is(const char* tag);
  // The body element's tag as the sender wrote it (for error messages).
  std::string body_tag() const;
  template <class T>
  Result<T*> read_body() noexcept {
    try {
      T* value = SoapType<T>::make(soap_);
      if (!value || !SoapType<T>::in(soap_, value) || finish_read() != SOAP_OK)
        return read_error(SoapType<T>::tag);
      return value;
    } catch (const std::exception& e) {
      return thrown(SoapType<T>::tag, e.what());
    }
  }
  // Reads a SOAP Fault body (when body_is("SOAP-ENV:Fault")).
  Result<Fault> read_fault();

  template <class T>
  std::string write(const OutHeader& header, const T& body) {
    prepare_header(header);
    // SOAP_XML_TREE output: no soap_serialize pass needed for id/href.
    return write_envelope([&] { return SoapType<T>::out(soap_, &body); });
  }
  std::string write_fault(const Fault& fault, const OutHeader& header = {});

  // Copies s into the arena (for _XML and _QName members).
  char* strdup(std::string_view s);

 private:
  void prepare_header(const OutHeader& header);
  std::string write_envelope(const std::function<int()>& body);
  int finish_read();
  Error read_error(const char* what);
  Error thrown(const char* what, const char* exception) noexcept;
  Result<InHeader> begin_read_checked(std::string_view xml);

  struct soap* soap_;
  std::pair<std::string_view, std::size_t> in_;  // input being read, position
  std::string repaired_;                         // the input with invalid UTF-8 replaced
};

}  // namespace zaulek::onvif
