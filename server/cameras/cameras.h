// The camera registry: adding cameras (ONVIF onboarding), discovery scans,
// and one supervisor per camera that probes its health and publishes status
// changes on the hub ({"type":"camera", ...}).
//
// Threading. The route handlers of the HTTP server are synchronous, so the
// ONVIF side has an io_context of its own, run by ONE thread: onboarding,
// scans and every supervisor are asynchronous operations on it (a strand per
// supervisor, one for the registry's state). The blocking methods below post
// there and wait, each with a bound; they are called from HTTP threads only,
// never from that io thread. No thread and no blocking socket per camera.
//
// Statuses: connecting (not probed yet), online (last probe answered),
// unauthorized (the camera refuses the stored credentials), offline (no
// connection or no answer in time), degraded (answers, but wrongly: SOAP
// fault or malformed reply, or stored credentials that cannot be opened).
// A camera that is not online is retried with capped exponential backoff
// (500 ms doubling up to cameras.retry_max_ms, +-20 % jitter).
//
// The registry is the one writer of camera rows (and their streams): every
// add, edit, move and delete goes through it, and after each committed write
// it tells its change listeners (on_change). The other services (recording,
// events) learn of cameras from there, not by re-reading the catalogue.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "config/config.h"
#include "core/clock.h"
#include "core/error.h"
#include "onvif/client/client.h"
#include "onvif/client/discovery_client.h"
#include "server/security/secretbox.h"
#include "storage/catalog.h"

namespace zaulek::server {

class Hub;

enum class CameraStatus { connecting, online, unauthorized, offline, degraded };
std::string_view to_string(CameraStatus status);

// A known camera's WS-Discovery endpoint reference seen at another address
// (a Hello or a scan's ProbeMatch). WS-Discovery is unauthenticated UDP, so
// anyone on the camera network can claim any endpoint: a sighting is only a
// proposal that an administrator confirms (Cameras::move), except inside
// discovery.trusted_networks. Nothing is sent to the sighted address.
struct Sighting {
  std::string onvif_url;  // where the endpoint was seen
  std::string endpoint;
  std::string via;  // "probe" (a scan) or "hello"
  WallTime first_seen, last_seen;
};

struct CameraState {
  CameraStatus status = CameraStatus::connecting;
  std::string reason;  // why it is not online ("" when online)
  WallTime since;      // when this status began
  WallTime last_seen{};
  std::int64_t clock_offset_s = 0;   // camera clock - our clock
  std::string snapshot_uri;          // learnt when added ("" after a restart)
  std::optional<Sighting> sighting;  // seen elsewhere, not moved (see Sighting)
};

// A device that discovery has seen (a scan's answer or a Hello), by endpoint
// reference; a Bye removes it.
struct DiscoveredDevice {
  onvif::DiscoveryTarget target;
  std::string via;  // "probe" (a scan) or "hello" (it announced itself)
  WallTime first_seen, last_seen;
};

struct CamerasOptions {
  std::vector<std::string> discovery_interfaces{"lo"};
  std::chrono::milliseconds discovery_timeout{2000};
  std::uint16_t discovery_port = 3702;
  std::chrono::milliseconds health_interval{10000};
  std::chrono::milliseconds retry_min{500};
  std::chrono::milliseconds retry_max{60000};
  std::chrono::milliseconds onvif_timeout{5000};
  int max_age_days = 90;  // retention ceiling for retention_days
  // Listen for WS-Discovery Hello/Bye on discovery_interfaces.
  bool listen_announcements = true;
  // CIDR networks ("10.1.0.0/16") where a camera seen at a new address is
  // followed there without an administrator (discovery.trusted_networks);
  // empty: every move is only proposed.
  std::vector<std::string> trusted_networks;
};

// Whether `host` (an IP literal) lies in one of `networks` (CIDR strings;
// malformed entries never match). A host name never matches.
bool in_trusted_network(const std::string& host, const std::vector<std::string>& networks);
// "" when `cidr` is a network like 10.1.0.0/16 or fd00::/8, else what is wrong.
std::string check_network(const std::string& cidr);

// A committed change of a camera row or of its streams, as on_change tells
// it. Listeners read the row themselves if they need it (it may have changed
// again since; the last notification always follows the last write).
struct CameraChange {
  enum class Kind { added, changed, removed };
  std::string id;
  Kind kind = Kind::changed;
};
std::string_view to_string(CameraChange::Kind kind);

struct AddCamera {
  std::string name;  // "" = from the device (manufacturer model)
  std::string onvif_url, username, password;
  std::string endpoint;  // WS-Discovery endpoint reference from a scan ("" = unknown)
  storage::RecordingMode mode = storage::RecordingMode::continuous;
  int retention_days = 90;
  bool allow_basic_auth = false;        // RTSP Basic (password in clear) allowed for this camera
  std::optional<std::int64_t> site_id;  // the site it watches (checked by the caller)
  std::optional<storage::PlanPoint> plan_position;  // its place on the site's plan
  storage::RtspTransport rtsp_transport = storage::RtspTransport::tcp;
  storage::SubPull sub_pull = storage::SubPull::watched;
};

class Cameras {
 public:
  Cameras(storage::Catalog& catalog, SecretBox box, Hub* hub, Clock& clock, CamerasOptions options);
  ~Cameras();
  Cameras(const Cameras&) = delete;
  Cameras& operator=(const Cameras&) = delete;

  // Starts the io thread and a supervisor for every catalogued camera.
  Status start();
  // Stops every supervisor and joins the io thread (idempotent).
  void stop();

  const CamerasOptions& options() const { return options_; }

  struct Added {
    storage::Camera camera;
    std::vector<storage::Stream> streams;
    CameraState state;
  };

  // A camera's endpoint reference seen at a new address: followed there
  // (inside a trusted network) or only proposed (a Sighting).
  struct Moved {
    std::string id, from, to, endpoint;
    std::string via;        // "probe" or "hello"
    bool followed = false;  // false: proposed only, the camera stays where it was
  };
  // Called (on the registry's thread) for every sighting that a Hello
  // revealed; scans return theirs to the caller instead. Set before start().
  void set_on_moved(std::function<void(const Moved&)> fn) { on_moved_ = std::move(fn); }

  // Devices seen by scans and Hello announcements and not yet gone (Bye),
  // in order of first sight. Hello/Bye are heard on the discovery
  // interfaces while the registry runs: a known camera that says Hello from
  // a new address gets a Sighting (logged, on the hub, on_moved), and is
  // followed there only inside trusted_networks; one that says Hello from
  // its address (a reboot) is probed at once instead of at its next retry.
  std::vector<DiscoveredDevice> discovered();
  // Discovery scan (blocking, at most timeout + 2 s). A catalogued camera
  // whose endpoint reference answers from other XAddrs is handled as a
  // Hello from there would be, and listed in `moved` for the caller to audit.
  Result<onvif::ScanResult> scan(std::chrono::milliseconds timeout,
                                 std::vector<std::string> targets,
                                 std::vector<Moved>* moved = nullptr);

  // An administrator's move of camera `id` to `onvif_url`: onboards there
  // with the stored credentials first (blocking, like add), checks that the
  // device is the same one (serial number and hardware id, where the camera
  // had them), then stores the address and the new stream URIs and restarts
  // supervision. Errors as add(), plus not_found, already_exists (another
  // camera has the address) and failed_precondition (another device answers).
  Result<Added> move(const std::string& id, const std::string& onvif_url);

  // Onboards, stores (password sealed) and supervises. Errors keep their
  // kind: unauthenticated (wrong credentials), unavailable, deadline_exceeded,
  // invalid_argument (bad reply), failed_precondition (SOAP fault),
  // already_exists (same onvif_url). Nothing is stored on error.
  Result<Added> add(const AddCamera& request);

  // The camera's media profiles as it lists them now, with the main and sub
  // profile its streams use (the stored choice where the camera still lists
  // it): onboards with the stored credentials (blocking, like add). Errors
  // as add(), plus not_found.
  Result<onvif::OnboardInfo> profiles(const std::string& id);
  // An administrator's choice of the profiles the main and sub streams use
  // (both tokens the camera lists; they may be the same profile): their
  // stream URIs learnt from the camera, then stored, and the recorder and
  // live view follow (a change is told). invalid_argument naming a token
  // the camera does not list; otherwise errors as profiles().
  Result<Added> choose_streams(const std::string& id, const onvif::ProfileWish& wish);

  // An administrator's edit of a camera's settings (name, recording mode,
  // retention, allow_basic_auth): the row as given is stored (by id; the
  // address is move()'s, the credentials are not changed). Errors as
  // storage::Catalog::update_camera. Returns the stored row.
  Result<storage::Camera> update(const storage::Camera& camera);
  // Deletes the camera's row (its streams with it) and stops its supervisor.
  // not_found for an unknown id.
  Status remove(const std::string& id);

  // Current state of one camera / all supervised cameras.
  std::optional<CameraState> state(const std::string& id);
  std::map<std::string, CameraState> states();
  // Stops the camera's supervisor and drops its state (remove() does it
  // after the row is gone); no change is told, nothing is written.
  void forget(const std::string& id);
  // Adds a listener told of every committed camera change (the row or its
  // streams written), in the order of the writes, on the registry's strand:
  // it must not block (post to a strand of its own). Any thread, any time;
  // a change committed before the call may or may not be told, so a new
  // listener reads every camera once after adding itself. What a listener
  // refers to must live until stop() has returned.
  using ChangeListener = std::function<void(const CameraChange&)>;
  void on_change(ChangeListener listener);
  // Called on the registry's strand after each status change (the alarm
  // router turns them into health events); must not block. When set, it is
  // first told every camera that is already not online.
  using StatusListener =
      std::function<void(const std::string& id, CameraStatus status, const std::string& reason)>;
  void set_status_listener(StatusListener listener);

 private:
  class Supervisor;
  void supervise(const std::string& id, const std::string& url, onvif::Credentials credentials,
                 CameraState initial);
  void follow_moved_cameras(const onvif::ScanResult& result, std::vector<Moved>* moved);
  // Camera `c` seen at the first usable XAddr of `d`: followed (trusted
  // network) or a sighting recorded (nullopt: nothing new to report).
  // `all`: every camera (known_ or a copy of it).
  std::optional<Moved> sighted(const storage::Camera& c, const onvif::DiscoveryTarget& d,
                               const std::map<std::string, storage::Camera>& all, const char* via);
  // Stores the new address and restarts supervision (the trusted follow).
  bool follow(const storage::Camera& c, const std::string& to);
  Result<onvif::OnboardInfo> onboard(const std::string& url, onvif::Credentials credentials,
                                     onvif::ProfileWish wish = {});
  // The profile tokens of the camera's stored streams (kept across a move).
  onvif::ProfileWish stored_wish(const std::string& id);
  void publish_sighting(const std::string& id, const Sighting& s);  // on strand_
  void refresh_streams(const std::string& id, const std::string& url,
                       onvif::Credentials credentials, onvif::ProfileWish wish);
  void remember(const onvif::DiscoveryTarget& d, const char* via);  // on strand_
  void on_announcement(const onvif::Announcement& a);               // on strand_
  void on_status(const std::string& id, CameraStatus status, std::string reason,
                 std::int64_t offset);
  // After a committed write of camera `id`: known_ follows (`row`, or erased
  // for removed) and the change listeners are told, on strand_.
  void committed(CameraChange::Kind kind, const std::string& id,
                 std::optional<storage::Camera> row);
  template <class F>
  auto on_registry(F f) -> decltype(f());

  storage::Catalog& catalog_;
  SecretBox box_;
  Hub* hub_;
  Clock& clock_;
  CamerasOptions options_;
  boost::asio::io_context ioc_;
  boost::asio::strand<boost::asio::io_context::executor_type> strand_;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_;
  std::thread thread_;
  std::atomic<bool> running_{false};
  // On strand_ only.
  std::map<std::string, std::shared_ptr<Supervisor>> supervisors_;
  std::map<std::string, CameraState> states_;
  std::map<std::string, WallTime> sighting_told_;  // last report per camera (flood bound)
  std::vector<DiscoveredDevice> discovered_;
  // Every camera row, as the registry last wrote it (read at start()): the
  // Hello and scan paths match endpoint references here, not in SQLite.
  std::map<std::string, storage::Camera> known_;
  std::vector<ChangeListener> change_listeners_;
  std::shared_ptr<onvif::AnnouncementListener> listener_;
  std::function<void(const Moved&)> on_moved_;
  StatusListener status_listener_;
};

// The registry as zaulekd runs it: options from the config, credentials key
// `storage.key_file` (created 0600 at first start), started.
Result<std::unique_ptr<Cameras>> start_cameras(
    const config::Config& config, storage::Catalog& catalog, Hub* hub, Clock& clock,
    std::function<void(const Cameras::Moved&)> on_moved = {});

}  // namespace zaulek::server
