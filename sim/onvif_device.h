// The simulated camera's ONVIF face: device, media and events services over
// HTTP (one port per camera) and its WS-Discovery presence. The RTSP side
// lives in rtsp_camera.h; sim/main.cpp and the control API wire both.
//
// Contract between the simulator's parts. All methods are thread-safe unless
// noted; everything network-facing runs on the io_context given to start().
#pragma once

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace zaulek::sim {

struct CameraIdentity {
  int index = 0;     // 0-based position in the fleet
  std::string name;  // "sim-cam-007"
  std::string manufacturer = "Zaulek";
  std::string model = "SimCam-1080";
  std::string firmware = "1.0";
  std::string serial;         // unique per camera
  std::string hardware_id;    // scope onvif://www.onvif.org/hardware/...
  std::string location;       // scope onvif://www.onvif.org/location/...
  std::string endpoint_uuid;  // WS-Discovery EndpointReference "urn:uuid:..."
  std::string bind_host = "127.0.0.1";
  std::uint16_t onvif_port = 0;  // device service at http://host:port/onvif/device_service
  std::string rtsp_main_url;     // rtsp://host:port/main
  std::string rtsp_sub_url;      // rtsp://host:port/sub
  std::string username;          // empty: no authentication
  std::string password;
  bool h265 = false;  // main stream codec
};

// One event as the simulator fires it.
struct EventSpec {
  // "motion" (RuleEngine/CellMotionDetector/Motion), "motion_alarm"
  // (VideoSource/MotionAlarm), "line_crossing", "field_detection", "tamper"
  std::string kind = "motion";
  bool state = true;  // true = start (IsMotion/State true), false = stop
};

// Faults the ONVIF side can be told to simulate (control API).
struct OnvifFaults {
  std::chrono::milliseconds soap_delay{0};  // answer every SOAP request this late
  bool malformed_soap = false;              // answer with broken XML
  bool wrong_password = false;              // reject every credential
  std::chrono::seconds clock_skew{0};       // device clock = real clock + skew
  int duplicate_discovery = 1;              // ProbeMatches sent per Probe
  bool down = false;                        // reboot: refuse connections, no discovery
  // No PullPoint: CreatePullPointSubscription answers env:Receiver
  // ter:ActionNotSupported and GetCapabilities says WSPullPointSupport=false;
  // Basic Notification (wsnt:Subscribe) still works. Pull-point
  // subscriptions made before it was set keep working until they end.
  bool no_pullpoint = false;
  // A flooding camera: every PullMessages is answered at once with this many
  // notifications (queued events first, then motion start/stop), whatever
  // MessageLimit asked for. 0 = off; at most 1000.
  int event_flood = 0;
  // Every PullMessages is answered with a SOAP fault (ter:InvalidArgVal);
  // CreatePullPointSubscription still succeeds.
  bool pull_fault = false;
  // GetSnapshotUri names this URI instead of the camera's own picture (a
  // hostile picture server in a test); "" = the camera's own.
  std::string snapshot_uri;
};

class OnvifDevice {
 public:
  static std::unique_ptr<OnvifDevice> create(boost::asio::io_context& io, CameraIdentity identity);
  virtual ~OnvifDevice() = default;

  // Binds the HTTP port (identity.onvif_port; 0 picks one, see identity()).
  virtual void start() = 0;
  // Sends Bye (if discovery is running) and closes sockets.
  virtual void stop() = 0;
  virtual const CameraIdentity& identity() const = 0;
  virtual std::string device_service_url() const = 0;
  virtual std::string snapshot_url() const = 0;
  // JPEGs served at snapshot_url() so far (answers 200; refused requests and
  // digest challenges are not counted).
  virtual std::uint64_t snapshots_served() const = 0;

  // Queues the event for every PullPoint subscription and every Basic
  // Notification subscriber; returns the event's UtcTime as written into the
  // NotificationMessage (device clock, so including skew).
  virtual std::chrono::system_clock::time_point fire_event(const EventSpec& event) = 0;
  virtual void set_faults(const OnvifFaults& faults) = 0;
  virtual OnvifFaults faults() const = 0;
  // When the device received its last (at most 1,024) requests of an
  // operation: "CreatePullPointSubscription" or "PullMessages". Tests of a
  // client's pacing and backoff read the gaps from here.
  virtual std::vector<std::chrono::steady_clock::time_point> request_times(
      const std::string& operation) const = 0;

  // The scopes a device announces (GetScopes, WS-Discovery):
  // onvif://www.onvif.org/{type/video_encoder, Profile/Streaming, name/<name>,
  // hardware/<hardware_id>, location/<location>} (path text percent-encoded).
  static std::vector<std::string> scopes_of(const CameraIdentity& identity);
};

// Answers WS-Discovery Probes (multicast 239.255.255.250:3702 joined on the
// given interface address, and unicast to the same port) for every device in
// the fleet; sends Hello for each on start and Bye on stop.
class DiscoveryResponder {
 public:
  static std::unique_ptr<DiscoveryResponder> create(boost::asio::io_context& io,
                                                    std::string interface_address,
                                                    std::vector<OnvifDevice*> devices);
  // Same on another UDP port (tests that must not collide on 3702).
  static std::unique_ptr<DiscoveryResponder> create(boost::asio::io_context& io,
                                                    std::string interface_address,
                                                    std::vector<OnvifDevice*> devices,
                                                    std::uint16_t port);
  virtual ~DiscoveryResponder() = default;
  virtual void start() = 0;
  virtual void stop() = 0;
};

}  // namespace zaulek::sim
