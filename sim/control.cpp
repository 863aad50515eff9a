#include "sim/control.h"

#include "core/text/text.h"
#include "sim/udp_faults.h"

#include <spdlog/spdlog.h>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

namespace zaulek::sim {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using json = nlohmann::json;
using tcp = asio::ip::tcp;

namespace {
constexpr std::size_t kBodyLimit = 16 * 1024;  // a control request is a few bytes
constexpr auto kReadTimeout = std::chrono::seconds(30);
constexpr int kMaxStallMs = 600'000;
constexpr int kMaxRebootS = 3600;
constexpr int kMaxSkewS = 10 * 365 * 24 * 3600;
constexpr int kMaxSoapDelayMs = 600'000;
constexpr int kMaxDuplicates = 100;

ControlReply error_reply(int status, const std::string& message) {
  return {status, json{{"error", message}}.dump()};
}

const char* kEventKinds[] = {"motion", "line_crossing", "field_detection", "tamper"};

json faults_json(const FleetCamera& c) {
  const auto now = std::chrono::steady_clock::now();
  auto left_ms = [now](std::chrono::steady_clock::time_point until) -> std::int64_t {
    return until > now ? std::chrono::duration_cast<std::chrono::milliseconds>(until - now).count()
                       : 0;
  };
  json faults{
      {"rtsp_stall_ms_left", left_ms(c.stalled_until)},
      {"no_keyframes", c.rtsp->no_keyframes()},
      {"rebooting", c.rtsp->down()},
      {"reboot_ms_left", left_ms(c.rebooting_until)},
      {"clock_skew_s", c.onvif_faults.clock_skew.count()},
      {"soap_delay_ms", c.onvif_faults.soap_delay.count()},
      {"malformed_soap", c.onvif_faults.malformed_soap},
      {"wrong_password", c.onvif_faults.wrong_password},
      {"duplicate_discovery", c.onvif_faults.duplicate_discovery},
      {"no_pullpoint", c.onvif_faults.no_pullpoint},
      {"event_flood", c.onvif_faults.event_flood},
      {"pull_fault", c.onvif_faults.pull_fault},
      {"snapshot_uri", c.onvif_faults.snapshot_uri},
      {"udp_loss_percent", c.rtsp->udp().loss_percent},
      {"udp_reorder_percent", c.rtsp->udp().reorder_percent},
  };
  add_rtsp_garbage_json(c, faults);
  return faults;
}

json counters_json(const StreamCounters& c) {
  return json{{"frames_sent", c.frames_sent},       {"frames_dropped", c.frames_dropped},
              {"frames_stalled", c.frames_stalled}, {"regrids", c.regrids},
              {"regrid_ms", c.regrid_ms},           {"late_frames", c.late_frames},
              {"max_late_ms", c.max_late_ms}};
}

// RTP packets handed to the camera's UDP clients, and what the faults did.
json udp_json(const RtspCamera::UdpCounts& u) {
  return json{
      {"packets_sent", u.sent}, {"packets_dropped", u.dropped}, {"packets_reordered", u.reordered}};
}

json camera_json(const FleetCamera& c) {
  return json{{"index", c.index},
              {"name", c.name},
              {"onvif_url", c.onvif_url},
              {"rtsp_main", c.rtsp->main_url()},
              {"rtsp_sub", c.rtsp->sub_url()},
              {"snapshot_url", c.snapshot_url.empty() ? json(nullptr) : json(c.snapshot_url)},
              {"rtsp_clients", c.rtsp->client_count()},
              {"udp", udp_json(c.rtsp->udp())},
              {"snapshots", c.onvif ? c.onvif->snapshots_served() : 0},
              {"onvif", c.onvif != nullptr},
              {"streams",
               {{"main", counters_json(c.rtsp->main_counters())},
                {"sub", counters_json(c.rtsp->sub_counters())}}},
              {"faults", faults_json(c)}};
}

// Reads an integer field within [lo, hi]; error text names the field.
Result<std::int64_t> int_field(const json& v, const std::string& name, std::int64_t lo,
                               std::int64_t hi) {
  if (!v.is_number_integer()) {
    return make_error(ErrorKind::invalid_argument, name + ": expected an integer");
  }
  const auto n = v.get<std::int64_t>();
  if (n < lo || n > hi) {
    return make_error(ErrorKind::invalid_argument, name + ": out of range [" + std::to_string(lo) +
                                                       ", " + std::to_string(hi) + "]");
  }
  return n;
}

void push_onvif_faults(FleetCamera& c) {
  if (c.onvif != nullptr) c.onvif->set_faults(c.onvif_faults);
}

// Takes the camera down for `seconds` (RTSP stops listening, ONVIF reports down),
// then brings it back. A second reboot while down restarts the countdown.
void reboot(asio::io_context& io, FleetCamera& c, std::int64_t seconds) {
  c.rtsp->set_down(true);
  c.onvif_faults.down = true;
  push_onvif_faults(c);
  c.rebooting_until = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  if (!c.reboot_timer) c.reboot_timer = std::make_unique<asio::steady_timer>(io);
  c.reboot_timer->expires_at(c.rebooting_until);
  c.reboot_timer->async_wait([&c](const boost::system::error_code& ec) {
    if (ec) return;  // cancelled: a newer reboot owns the timer
    c.rtsp->set_down(false);
    c.onvif_faults.down = false;
    push_onvif_faults(c);
    c.rebooting_until = {};
    spdlog::info("camera {}: back up after reboot", c.index);
  });
  spdlog::info("camera {}: rebooting for {} s", c.index, seconds);
}

ControlReply post_faults(asio::io_context& io, FleetCamera& c, const json& req) {
  if (!req.is_object()) return error_reply(400, "expected a JSON object");
  static const char* kKnown[] = {
      "rtsp_drop",           "rtsp_stall_ms", "no_keyframes",     "reboot_s",
      "clock_skew_s",        "soap_delay_ms", "malformed_soap",   "wrong_password",
      "duplicate_discovery", "no_pullpoint",  "event_flood",      "pull_fault",
      "rtsp_garbage",        "snapshot_uri",  "udp_loss_percent", "udp_reorder_percent"};
  for (const auto& [key, value] : req.items()) {
    bool known = false;
    for (const char* k : kKnown) known = known || key == k;
    if (!known) return error_reply(400, "unknown fault: " + key);
  }
  // Validate everything before applying anything.
  auto get_bool = [&](const char* name, bool& out) -> std::string {
    if (!req.contains(name)) return {};
    if (!req[name].is_boolean()) return std::string(name) + ": expected true or false";
    out = req[name].get<bool>();
    return {};
  };
  bool drop = false;
  bool no_key = c.rtsp->no_keyframes();
  OnvifFaults of = c.onvif_faults;
  for (auto [name, out] : {std::pair<const char*, bool*>{"rtsp_drop", &drop},
                           {"no_keyframes", &no_key},
                           {"malformed_soap", &of.malformed_soap},
                           {"wrong_password", &of.wrong_password},
                           {"no_pullpoint", &of.no_pullpoint},
                           {"pull_fault", &of.pull_fault}}) {
    if (auto err = get_bool(name, *out); !err.empty()) return error_reply(400, err);
  }
  std::int64_t stall_ms = 0;
  std::int64_t reboot_s = 0;
  struct IntField {
    const char* name;
    std::int64_t lo, hi;
    std::int64_t* out;
  };
  std::int64_t skew = of.clock_skew.count();
  std::int64_t delay = of.soap_delay.count();
  std::int64_t dups = of.duplicate_discovery;
  std::int64_t flood = of.event_flood;
  std::int64_t udp_loss = c.rtsp->udp().loss_percent;
  std::int64_t udp_reorder = c.rtsp->udp().reorder_percent;
  for (const IntField& f :
       {IntField{"rtsp_stall_ms", 0, kMaxStallMs, &stall_ms},
        IntField{"reboot_s", 0, kMaxRebootS, &reboot_s},
        IntField{"clock_skew_s", -kMaxSkewS, kMaxSkewS, &skew},
        IntField{"soap_delay_ms", 0, kMaxSoapDelayMs, &delay},
        IntField{"duplicate_discovery", 0, kMaxDuplicates, &dups},
        IntField{"event_flood", 0, 1000, &flood},
        IntField{"udp_loss_percent", 0, kMaxUdpFaultPercent, &udp_loss},
        IntField{"udp_reorder_percent", 0, kMaxUdpFaultPercent, &udp_reorder}}) {
    if (!req.contains(f.name)) continue;
    auto n = int_field(req[f.name], f.name, f.lo, f.hi);
    if (!n) return error_reply(400, n.error().message);
    *f.out = *n;
  }
  of.clock_skew = std::chrono::seconds(skew);
  of.soap_delay = std::chrono::milliseconds(delay);
  of.duplicate_discovery = static_cast<int>(dups);
  of.event_flood = static_cast<int>(flood);

  if (req.contains("snapshot_uri")) {
    const auto& v = req["snapshot_uri"];
    if (!v.is_string() || v.get_ref<const std::string&>().size() > 1024 ||
        (!v.get_ref<const std::string&>().empty() &&
         v.get_ref<const std::string&>().rfind("http://", 0) != 0))
      return error_reply(400,
                         "snapshot_uri: expected \"\" or an http:// URI of at most 1024 bytes");
    of.snapshot_uri = v.get<std::string>();
  }

  std::optional<GarbageSetting> garbage;
  if (req.contains("rtsp_garbage")) {
    auto g = parse_rtsp_garbage(req["rtsp_garbage"]);
    if (!g) return error_reply(400, g.error().message);
    garbage = *g;
  }
  // Applied first: it alone can still fail (a rebooting camera, a port taken).
  if (garbage) {
    if (auto st = apply_rtsp_garbage(io, c, *garbage); !st)
      return error_reply(409, st.error().message);
  }

  const bool touches_onvif = req.contains("clock_skew_s") || req.contains("soap_delay_ms") ||
                             req.contains("malformed_soap") || req.contains("wrong_password") ||
                             req.contains("duplicate_discovery") || req.contains("no_pullpoint") ||
                             req.contains("event_flood") || req.contains("pull_fault") ||
                             req.contains("snapshot_uri");
  if (touches_onvif) {
    of.down = c.onvif_faults.down;
    c.onvif_faults = of;
    push_onvif_faults(c);
  }
  if (req.contains("no_keyframes")) c.rtsp->set_no_keyframes(no_key);
  if (req.contains("udp_loss_percent") || req.contains("udp_reorder_percent"))
    c.rtsp->set_udp_faults(static_cast<int>(udp_loss), static_cast<int>(udp_reorder));
  if (stall_ms > 0) {
    c.rtsp->stall(std::chrono::milliseconds(stall_ms));
    c.stalled_until = std::chrono::steady_clock::now() + std::chrono::milliseconds(stall_ms);
  }
  if (drop) c.rtsp->drop_clients();
  if (reboot_s > 0) reboot(io, c, reboot_s);
  spdlog::info("camera {}: faults {}", c.index, req.dump());
  json reply = faults_json(c);
  if (touches_onvif && c.onvif == nullptr) reply["onvif_note"] = "ONVIF not linked: recorded only";
  return {200, reply.dump()};
}

ControlReply post_event(FleetCamera& c, const json& req) {
  if (!req.is_object()) return error_reply(400, "expected a JSON object");
  EventSpec ev;
  if (req.contains("kind")) {
    if (!req["kind"].is_string()) return error_reply(400, "kind: expected a string");
    ev.kind = req["kind"].get<std::string>();
    if (!known_event_kind(ev.kind)) return error_reply(400, "kind: unknown event kind " + ev.kind);
  }
  if (req.contains("state")) {
    if (!req["state"].is_boolean()) return error_reply(400, "state: expected true or false");
    ev.state = req["state"].get<bool>();
  }
  if (c.onvif == nullptr) return error_reply(501, "ONVIF is not built into this simulator");
  auto t = fire_event(c, ev);
  if (!t) return error_reply(409, t.error().message);
  return {200, json{{"time", format_rfc3339(*t, 6)}, {"time_ns", to_unix_ns(*t)}}.dump()};
}

// "/sim/cameras/12/events" -> 12, "events". Index must be plain decimal.
bool parse_camera_path(std::string_view rest, int& index, std::string_view& action) {
  const auto slash = rest.find('/');
  if (slash == std::string_view::npos || slash == 0) return false;
  const auto digits = rest.substr(0, slash);
  if (digits.size() > 6) return false;
  if (!parse_number(digits, index) || index < 0) return false;
  action = rest.substr(slash + 1);
  return true;
}

}  // namespace

bool known_event_kind(const std::string& kind) {
  for (const char* k : kEventKinds) {
    if (kind == k) return true;
  }
  return false;
}

Result<std::chrono::system_clock::time_point> fire_event(FleetCamera& camera,
                                                         const EventSpec& event) {
  if (camera.onvif == nullptr) {
    return make_error(ErrorKind::failed_precondition, "ONVIF is not built into this simulator");
  }
  if (camera.rtsp->down()) {
    return make_error(ErrorKind::unavailable,
                      "camera " + std::to_string(camera.index) + " is rebooting");
  }
  return camera.onvif->fire_event(event);
}

ControlReply handle_control(asio::io_context& io, Fleet& fleet, const std::string& method,
                            const std::string& target, const std::string& body) {
  std::string_view path = target;
  if (auto q = path.find('?'); q != std::string_view::npos) path = path.substr(0, q);
  if (path == "/sim/cameras" || path == "/sim/cameras/") {
    if (method != "GET") return error_reply(405, "use GET");
    json list = json::array();
    for (const auto& c : fleet.cameras) list.push_back(camera_json(*c));
    return {200, json{{"cameras", list}}.dump()};
  }
  if (path == "/sim/incidents") {
    if (method != "GET") return error_reply(405, "use GET");
    if (fleet.loop == nullptr) return error_reply(404, "no such resource");
    std::uint64_t total = 0;
    json list = json::array();
    for (const auto& i : fleet.loop->incidents(&total)) {
      list.push_back(json{{"wall_us", i.wall_us},
                          {"camera", i.camera < 0 ? json(nullptr) : json(i.camera)},
                          {"stream", i.stream.empty() ? json(nullptr) : json(i.stream)},
                          {"kind", i.kind},
                          {"amount", i.amount}});
    }
    const auto ticks = fleet.loop->tick_stats();
    return {200, json{{"incidents", list},
                      {"total", total},
                      {"ticks", ticks.ticks},
                      {"max_tick_gap_ms", ticks.max_gap_ms}}
                     .dump()};
  }
  constexpr std::string_view prefix = "/sim/cameras/";
  if (path.substr(0, prefix.size()) != prefix) return error_reply(404, "no such resource");
  int index = -1;
  std::string_view action;
  if (!parse_camera_path(path.substr(prefix.size()), index, action)) {
    return error_reply(404, "no such resource");
  }
  if (action != "events" && action != "faults") return error_reply(404, "no such resource");
  if (index >= static_cast<int>(fleet.cameras.size())) {
    return error_reply(404, "no camera " + std::to_string(index) + " (fleet has " +
                                std::to_string(fleet.cameras.size()) + ")");
  }
  FleetCamera& cam = *fleet.cameras[static_cast<std::size_t>(index)];
  if (method == "GET" && action == "faults") return {200, faults_json(cam).dump()};
  if (method != "POST") return error_reply(405, "use POST");
  json req = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (req.is_discarded()) return error_reply(400, "body is not valid JSON");
  return action == "events" ? post_event(cam, req) : post_faults(io, cam, req);
}

namespace {

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, asio::io_context& io, Fleet& fleet)
      : stream_(std::move(socket)), io_(io), fleet_(fleet) {}

  void start() { do_read(); }

 private:
  void do_read() {
    parser_.emplace();
    parser_->body_limit(kBodyLimit);
    stream_.expires_after(kReadTimeout);
    http::async_read(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_read(ec); });
  }

  void on_read(beast::error_code ec) {
    if (ec == http::error::end_of_stream || ec == beast::error::timeout ||
        ec == asio::error::operation_aborted) {
      close();
      return;
    }
    auto res = std::make_shared<http::response<http::string_body>>();
    res->version(11);
    res->set(http::field::content_type, "application/json");
    res->set(http::field::server, "zaulek-sim");
    bool keep_alive = false;
    ControlReply reply;
    if (ec == http::error::body_limit) {
      reply = error_reply(413, "body larger than " + std::to_string(kBodyLimit) + " bytes");
    } else if (ec) {
      reply = error_reply(400, "bad request: " + ec.message());
    } else {
      const auto& req = parser_->get();
      keep_alive = req.keep_alive();
      reply = handle_control(io_, fleet_, std::string(req.method_string()),
                             std::string(req.target()), req.body());
    }
    res->result(static_cast<unsigned>(reply.status));
    res->body() = reply.body + "\n";
    res->keep_alive(keep_alive);
    res->prepare_payload();
    stream_.expires_after(kReadTimeout);
    http::async_write(
        stream_, *res,
        [self = shared_from_this(), res, keep_alive](beast::error_code wec, std::size_t) {
          if (wec || !keep_alive) {
            self->close();
            return;
          }
          self->do_read();
        });
  }

  void close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  asio::io_context& io_;
  Fleet& fleet_;
};

class ControlServerImpl final : public ControlServer {
 public:
  ControlServerImpl(asio::io_context& io, Fleet& fleet, std::string host)
      : io_(io), fleet_(fleet), acceptor_(io), host_(std::move(host)) {}

  Status listen(std::uint16_t port) {
    boost::system::error_code ec;
    auto addr = asio::ip::make_address(host_, ec);
    if (ec) return make_error(ErrorKind::invalid_argument, "bad bind address " + host_);
    tcp::endpoint ep(addr, port);
    acceptor_.open(ep.protocol(), ec);
    if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(ep, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      return make_error(ErrorKind::unavailable, "control API on " + host_ + ":" +
                                                    std::to_string(port) + ": " + ec.message());
    }
    port_ = acceptor_.local_endpoint().port();
    do_accept();
    return {};
  }

  std::uint16_t port() const override { return port_; }
  std::string url() const override {
    return "http://" + url_host(host_) + ":" + std::to_string(port_);
  }
  void stop() override {
    boost::system::error_code ec;
    acceptor_.close(ec);
  }

 private:
  void do_accept() {
    acceptor_.async_accept([this](boost::system::error_code ec, tcp::socket socket) {
      if (ec == asio::error::operation_aborted) return;
      if (!ec) std::make_shared<Session>(std::move(socket), io_, fleet_)->start();
      do_accept();
    });
  }

  asio::io_context& io_;
  Fleet& fleet_;
  tcp::acceptor acceptor_;
  std::string host_;
  std::uint16_t port_ = 0;
};

}  // namespace

Result<std::unique_ptr<ControlServer>> ControlServer::create(asio::io_context& io, Fleet& fleet,
                                                             const std::string& host,
                                                             std::uint16_t port) {
  auto server = std::make_unique<ControlServerImpl>(io, fleet, host);
  if (auto st = server->listen(port); !st) return st.error();
  return std::unique_ptr<ControlServer>(std::move(server));
}

}  // namespace zaulek::sim
