// Asynchronous ONVIF device/media client on Boost.Asio/Beast: SOAP 1.2 over
// HTTP POST, a deadline per call, the reply bounded (kMaxEnvelopeBytes) before
// it is parsed (onvif/client/replies.h). The connection is kept alive between
// calls (a PullMessages loop would otherwise open a TCP connection per event
// batch) and reused for at most 4 s of idleness; one that the camera closed
// meanwhile is noticed before the request or, failing that, replaced once.
//
// Authentication: WS-UsernameToken PasswordDigest on every call except
// GetSystemDateAndTime, with Created on the device's clock (the offset learnt
// from GetSystemDateAndTime), and one retry with HTTP Digest when the device
// answers 401 with a Digest challenge. Credentials are never logged and never
// appear in an Error message.
//
// Untrusted replies (docs/design/onvif.md): the HTTP header is read alone
// first and a declared Content-Length over kMaxEnvelopeBytes refused before
// any body is allocated; chunked and unsized bodies are bounded while they
// stream; the envelope is pre-scanned before gSOAP parses it.
//
// Threading: a Client lives on the executor it is created with (give it a
// strand); call its methods there, its callbacks run there. No threads, no
// blocking sockets. Callbacks are always invoked exactly once, except that
// a callback that throws on a reply is invoked once more with the error
// (kind internal, the exception's text): an exception never leaves a
// handler of this client (counted as CameraFault::onvif_reply).
#pragma once

#include <boost/asio/any_io_executor.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/error.h"
#include "onvif/client/replies.h"

namespace zaulek::onvif {

struct HttpUrl {
  std::string host;    // without brackets for IPv6
  std::string port;    // "80" when absent
  std::string target;  // "/onvif/device_service"
};
// http://host[:port][/path]; anything else (https, garbage, userinfo) is invalid_argument.
Result<HttpUrl> parse_http_url(std::string_view url);

struct Credentials {
  std::string username, password;  // empty username: no authentication
};

struct ClientOptions {
  std::chrono::milliseconds timeout{5000};  // per SOAP call (connect + write + read)
};

// What adding a camera learns from it.
struct OnboardInfo {
  DeviceInfo device;
  ServiceAddrs services;
  std::vector<MediaProfile> profiles;
  MediaProfile main, sub;
  std::string main_uri, sub_uri;         // RTSP unicast, no credentials
  std::string snapshot_uri;              // "" if the camera has none
  std::chrono::seconds clock_offset{0};  // device clock - our clock
};

class Client : public std::enable_shared_from_this<Client> {
 public:
  template <class T>
  using Callback = std::function<void(Result<T>)>;

  static std::shared_ptr<Client> create(boost::asio::any_io_executor executor,
                                        std::string device_url, Credentials credentials,
                                        ClientOptions options = {}, Clock& clock = system_clock());
  ~Client();

  // Reads the device clock and remembers the offset for WS-UsernameToken.
  void get_system_date_and_time(Callback<WallTime> done);
  void get_device_information(Callback<DeviceInfo> done);
  // GetServices, falling back to GetCapabilities when the device has no
  // GetServices (older firmware); the device XAddr defaults to device_url.
  void get_service_addrs(Callback<ServiceAddrs> done);
  void get_profiles(const std::string& media_url, Callback<std::vector<MediaProfile>> done);
  void get_stream_uri(const std::string& media_url, const std::string& token,
                      Callback<std::string> done);
  void get_snapshot_uri(const std::string& media_url, const std::string& token,
                        Callback<std::string> done);

  // Everything adding a camera needs, in order: GetSystemDateAndTime,
  // GetDeviceInformation, GetServices/GetCapabilities, GetProfiles,
  // GetStreamUri (main, sub), GetSnapshotUri (failure there is not fatal).
  // The main and sub profiles: choose_profiles(profiles, wish).
  void onboard(Callback<OnboardInfo> done, ProfileWish wish = {});
  // The snapshot URI of profile `token` as the camera names it now (a URI
  // learnt when the camera was added may be stale after its reboot):
  // GetSystemDateAndTime (the clock offset for the UsernameToken; a fault
  // there is not fatal), GetServices/GetCapabilities (the media service),
  // GetSnapshotUri. Errors name the step that failed.
  void snapshot_uri(const std::string& token, Callback<std::string> done);
  // Health probe: GetSystemDateAndTime (refreshes the offset) then the
  // authenticated GetDeviceInformation.
  void health(Callback<DeviceInfo> done);

  std::chrono::seconds clock_offset() const { return offset_; }
  const std::string& device_url() const { return device_url_; }
  // Aborts the call in flight (its callback gets an error).
  void cancel();

  // Low level: POSTs the envelope made by `make(with_token)` (called again
  // for a digest retry, so a fresh nonce each time) and hands back the body
  // of a 200 reply, or of a 4xx/5xx reply that carries a SOAP envelope.
  // `idempotent` = no: the call creates something on the camera (a
  // subscription). It goes on a new connection, never on a kept-alive one,
  // because a kept-alive connection that breaks before the reply is replaced
  // by sending the request again, and the camera may have acted on the first.
  enum class Idempotent : bool { no, yes };
  void call(const std::string& url, std::function<std::string(bool with_token)> make, bool auth,
            Callback<std::string> done, Idempotent idempotent = Idempotent::yes);

 private:
  Client(boost::asio::any_io_executor executor, std::string device_url, Credentials credentials,
         ClientOptions options, Clock& clock);
  struct Exchange;
  friend struct Exchange;
  struct Idle;
  // The kept-alive connection, if it still serves `host_port`, is open and
  // has not idled too long; otherwise closed and null.
  std::unique_ptr<Idle> take_idle(const std::string& host_port);
  void keep_idle(std::unique_ptr<Idle> idle);
  template <class Req>
  std::string envelope(const Req& body, bool with_token) const;

  boost::asio::any_io_executor executor_;
  std::string device_url_;
  Credentials credentials_;
  ClientOptions options_;
  Clock& clock_;
  std::chrono::seconds offset_{0};
  std::weak_ptr<Exchange> current_;
  std::unique_ptr<Idle> idle_;
};

}  // namespace zaulek::onvif
