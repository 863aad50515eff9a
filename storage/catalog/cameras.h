// Cameras and their streams. Part of Catalog (storage/catalog.h).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/error.h"
#include "core/recording_mode.h"
#include "storage/catalog/sites.h"

namespace zaulek::storage {

using zaulek::parse_recording_mode;  // core/recording_mode.h
using zaulek::RecordingMode;
using zaulek::to_string;

// How a camera's RTSP streams are pulled (migration 0016). tcp: interleaved
// in the RTSP connection; udp: RTP over UDP (the GStreamer ingest).
enum class RtspTransport { tcp, udp };
// watched: the sub stream is pulled while someone watches it (and a linger
// after); always: all the time, for live view (it is not recorded).
enum class SubPull { watched, always };
std::string_view to_string(RtspTransport t);
std::string_view to_string(SubPull p);
std::optional<RtspTransport> parse_rtsp_transport(std::string_view text);
std::optional<SubPull> parse_sub_pull(std::string_view text);

struct Camera {
  std::string
      id;  // "cam-<n>" assigned by add_camera when empty; [A-Za-z0-9._-]{1,64}, no leading "."
  std::string name;
  std::string onvif_url;
  std::string username;
  std::vector<std::uint8_t> password_enc;  // sealed by the server; storage never sees plaintext
  std::string manufacturer;
  std::string model;
  std::string serial;
  std::string hardware_id;
  std::string endpoint_ref;  // WS-Discovery endpoint reference (urn:uuid:...)
  RecordingMode recording_mode = RecordingMode::continuous;
  int retention_days = 90;  // 1..3650; the effective limit is min(this, config max_age_days)
  // The recorder may answer an RTSP Basic challenge (the password in clear).
  bool allow_basic_auth = false;
  RtspTransport rtsp_transport = RtspTransport::tcp;
  SubPull sub_pull = SubPull::watched;
  // The site it watches (storage/catalog/sites.h) and its place on that
  // site's plan (only with a site).
  std::optional<std::int64_t> site_id;
  std::optional<PlanPoint> plan_position;
  WallTime created;  // set by the catalogue
  WallTime updated;  // set by the catalogue
};

enum class StreamKind { main, sub };
std::string_view to_string(StreamKind kind);

struct Stream {
  std::string camera_id;
  StreamKind kind = StreamKind::main;
  std::string profile_token;
  std::string rtsp_uri;  // without credentials
  std::string codec;
  int width = 0;
  int height = 0;
};

class CameraCatalog {
 public:
  // Cameras. Deleting a camera deletes its streams; its segments and holds
  // stay (the footage still exists) until retention or release removes them.
  virtual Result<Camera> add_camera(const Camera& camera) = 0;  // already_exists, invalid_argument
  virtual Result<Camera> find_camera(const std::string& id) = 0;  // not_found
  virtual Result<std::vector<Camera>> list_cameras() = 0;
  // By id; keeps `created`. not_found also for a site_id that is no site.
  virtual Result<Camera> update_camera(const Camera& camera) = 0;
  virtual Status delete_camera(const std::string& id) = 0;  // not_found
  // Replaces the camera's streams (one per kind).
  virtual Status set_streams(const std::string& camera_id, const std::vector<Stream>& streams) = 0;
  virtual Result<std::vector<Stream>> list_streams(const std::string& camera_id) = 0;

 protected:
  ~CameraCatalog() = default;
};

}  // namespace zaulek::storage
