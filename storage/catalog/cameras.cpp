// Cameras and their streams.
#include "core/ids.h"
#include "storage/catalog/sqlite_catalog.h"

namespace zaulek::storage {
namespace {

Result<Camera> read_camera(const sql::Stmt& st) {
  Camera c;
  c.id = st.text("id");
  c.name = st.text("name");
  c.onvif_url = st.text("onvif_url");
  c.username = st.text("username");
  c.password_enc = st.blob("password_enc");
  c.manufacturer = st.text("manufacturer");
  c.model = st.text("model");
  c.serial = st.text("serial");
  c.hardware_id = st.text("hardware_id");
  c.endpoint_ref = st.text("endpoint_ref");
  auto mode = parse_recording_mode(st.text("recording_mode"));
  if (!mode) return make_error(ErrorKind::data_loss, "camera " + c.id + " has an unknown mode");
  c.recording_mode = *mode;
  c.retention_days = static_cast<int>(st.int64("retention_days"));
  c.allow_basic_auth = st.int64("allow_basic_auth") != 0;
  auto transport = parse_rtsp_transport(st.text("rtsp_transport"));
  auto sub_pull = parse_sub_pull(st.text("sub_pull"));
  if (!transport || !sub_pull)
    return make_error(ErrorKind::data_loss, "camera " + c.id + " has an unknown pull setting");
  c.rtsp_transport = *transport;
  c.sub_pull = *sub_pull;
  if (!st.is_null("site_id")) c.site_id = st.int64("site_id");
  if (!st.is_null("plan_x") && !st.is_null("plan_y"))
    c.plan_position = PlanPoint{st.real("plan_x"), st.real("plan_y")};
  c.created = from_ns(st.int64("created_ns"));
  c.updated = from_ns(st.int64("updated_ns"));
  return c;
}

Stream read_stream(const sql::Stmt& row) {
  Stream s;
  s.camera_id = row.text("camera_id");
  s.kind = row.text("kind") == "sub" ? StreamKind::sub : StreamKind::main;
  s.profile_token = row.text("profile_token");
  s.rtsp_uri = row.text("rtsp_uri");
  s.codec = row.text("codec");
  s.width = static_cast<int>(row.int64("width"));
  s.height = static_cast<int>(row.int64("height"));
  return s;
}

Status validate_camera(const Camera& c) {
  if (c.name.size() > 128)
    return make_error(ErrorKind::invalid_argument, "camera name over 128 characters");
  if (c.onvif_url.empty() || c.onvif_url.size() > 2048) {
    return make_error(ErrorKind::invalid_argument, "camera onvif_url must be 1 to 2048 characters");
  }
  if (c.retention_days < 1 || c.retention_days > 3650) {
    return make_error(ErrorKind::invalid_argument, "camera retention_days must be 1 to 3650");
  }
  if (c.password_enc.size() > 4096) {
    return make_error(ErrorKind::invalid_argument, "camera sealed password over 4096 bytes");
  }
  if (c.plan_position && !c.site_id)
    return make_error(ErrorKind::invalid_argument, "camera plan position without a site");
  if (c.plan_position && !valid_plan_point(*c.plan_position))
    return make_error(ErrorKind::invalid_argument, "camera plan position must be 0 to 1");
  for (const std::string* f :
       {&c.username, &c.manufacturer, &c.model, &c.serial, &c.hardware_id, &c.endpoint_ref}) {
    if (f->size() > 1024)
      return make_error(ErrorKind::invalid_argument, "camera field over 1024 characters");
  }
  return {};
}

std::optional<double> plan_x(const Camera& c) {
  return c.plan_position ? std::optional(c.plan_position->x) : std::nullopt;
}
std::optional<double> plan_y(const Camera& c) {
  return c.plan_position ? std::optional(c.plan_position->y) : std::nullopt;
}

}  // namespace

std::string_view to_string(RtspTransport t) {
  return t == RtspTransport::udp ? "udp" : "tcp";
}

std::string_view to_string(SubPull p) {
  return p == SubPull::always ? "always" : "watched";
}

std::optional<RtspTransport> parse_rtsp_transport(std::string_view text) {
  if (text == "tcp") return RtspTransport::tcp;
  if (text == "udp") return RtspTransport::udp;
  return std::nullopt;
}

std::optional<SubPull> parse_sub_pull(std::string_view text) {
  if (text == "watched") return SubPull::watched;
  if (text == "always") return SubPull::always;
  return std::nullopt;
}

std::string_view to_string(StreamKind kind) {
  return kind == StreamKind::sub ? "sub" : "main";
}

Result<Camera> SqliteCatalog::add_camera(const Camera& camera) {
  if (auto v = validate_camera(camera); !v) return v.error();
  if (!camera.id.empty() && !valid_camera_id(camera.id)) {
    return make_error(ErrorKind::invalid_argument,
                      "camera id must be 1 to 64 of A-Z a-z 0-9 . _ -");
  }
  Camera c = camera;
  c.created = c.updated = clock_.realtime();
  std::lock_guard lock(write_mu_);
  auto tx = sql::Transaction::begin(*writer_);
  if (!tx) return tx.error();
  // An explicit id may have taken "cam-<n>"; the counter then moves on.
  for (int attempt = 0; attempt < 100; ++attempt) {
    if (camera.id.empty()) {
      auto next = sql::query_one(
          *writer_, "UPDATE counters SET value = value + 1 WHERE name = 'camera' RETURNING value",
          [](const sql::Stmt& st) { return st.int64("value"); });
      if (!next) return next.error();
      if (!*next) return make_error(ErrorKind::data_loss, "camera id counter is missing");
      c.id = "cam-" + std::to_string(**next);
    }
    auto r = sql::execute(
        *writer_,
        "INSERT INTO cameras (id, name, onvif_url, username, password_enc, manufacturer, "
        "model, serial, hardware_id, endpoint_ref, recording_mode, retention_days, "
        "created_ns, updated_ns, allow_basic_auth, site_id, plan_x, plan_y, rtsp_transport, "
        "sub_pull) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?13, ?14, ?15, "
        "?16, ?17, ?18, ?19)",
        c.id, c.name, c.onvif_url, c.username, c.password_enc, c.manufacturer, c.model, c.serial,
        c.hardware_id, c.endpoint_ref, to_string(c.recording_mode), c.retention_days,
        to_unix_ns(c.created), std::int64_t{c.allow_basic_auth}, c.site_id, plan_x(c), plan_y(c),
        to_string(c.rtsp_transport), to_string(c.sub_pull));
    if (r) {
      if (auto s = tx->commit(); !s) return s.error();
      return c;
    }
    if (r.error().kind != ErrorKind::already_exists || !camera.id.empty()) {
      if (r.error().kind == ErrorKind::already_exists) {
        return make_error(ErrorKind::already_exists, "camera " + c.id + " already exists");
      }
      return with_context(r.error(), "adding camera " + c.id);
    }
  }
  return make_error(ErrorKind::internal, "could not find a free camera id");
}

Result<Camera> SqliteCatalog::find_camera(const std::string& id) {
  return find_one("SELECT * FROM cameras WHERE id = ?1", read_camera, "no camera " + id, id);
}

Result<std::vector<Camera>> SqliteCatalog::list_cameras() {
  return list_page("SELECT * FROM cameras ORDER BY created_ns, id", read_camera);
}

Result<Camera> SqliteCatalog::update_camera(const Camera& c) {
  if (auto v = validate_camera(c); !v) return v.error();
  std::lock_guard lock(write_mu_);
  if (auto r = sql::execute(
          *writer_,
          "UPDATE cameras SET name = ?2, onvif_url = ?3, username = ?4, password_enc = ?5, "
          "manufacturer = ?6, model = ?7, serial = ?8, hardware_id = ?9, endpoint_ref = ?10, "
          "recording_mode = ?11, retention_days = ?12, updated_ns = ?13, allow_basic_auth = ?14, "
          "site_id = ?15, plan_x = ?16, plan_y = ?17, rtsp_transport = ?18, sub_pull = ?19 "
          "WHERE id = ?1",
          c.id, c.name, c.onvif_url, c.username, c.password_enc, c.manufacturer, c.model, c.serial,
          c.hardware_id, c.endpoint_ref, to_string(c.recording_mode), c.retention_days,
          to_unix_ns(clock_.realtime()), std::int64_t{c.allow_basic_auth}, c.site_id, plan_x(c),
          plan_y(c), to_string(c.rtsp_transport), to_string(c.sub_pull));
      !r) {
    // The only reference a camera row has: its site.
    if (r.error().kind == ErrorKind::not_found && c.site_id)
      return make_error(ErrorKind::not_found, "no site with id " + std::to_string(*c.site_id));
    return with_context(r.error(), "updating camera " + c.id);
  }
  if (writer_->changes() == 0) return make_error(ErrorKind::not_found, "no camera " + c.id);
  auto back = sql::query_one(*writer_, "SELECT * FROM cameras WHERE id = ?1", read_camera, c.id);
  if (!back) return back.error();
  if (!*back) return make_error(ErrorKind::not_found, "no camera " + c.id);
  return std::move(**back);
}

Status SqliteCatalog::delete_camera(const std::string& id) {
  std::lock_guard lock(write_mu_);
  if (auto r = sql::execute(*writer_, "DELETE FROM cameras WHERE id = ?1", id); !r)
    return with_context(r.error(), "deleting camera " + id);
  if (writer_->changes() == 0) return make_error(ErrorKind::not_found, "no camera " + id);
  return {};
}

Status SqliteCatalog::set_streams(const std::string& camera_id,
                                  const std::vector<Stream>& streams) {
  if (streams.size() > 2)
    return make_error(ErrorKind::invalid_argument, "at most one main and one sub stream");
  std::lock_guard lock(write_mu_);
  auto tx = sql::Transaction::begin(*writer_);
  if (!tx) return tx.error();
  if (auto r = sql::execute(*writer_, "DELETE FROM streams WHERE camera_id = ?1", camera_id); !r)
    return r;
  for (const Stream& s : streams) {
    if (auto r = sql::execute(
            *writer_,
            "INSERT INTO streams (camera_id, kind, profile_token, rtsp_uri, codec, width, height) "
            "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            camera_id, to_string(s.kind), s.profile_token, s.rtsp_uri, s.codec, s.width, s.height);
        !r) {
      if (r.error().kind == ErrorKind::not_found)
        return make_error(ErrorKind::not_found, "no camera " + camera_id);
      if (r.error().kind == ErrorKind::already_exists) {
        return make_error(ErrorKind::invalid_argument,
                          "two " + std::string(to_string(s.kind)) + " streams for " + camera_id);
      }
      return with_context(r.error(), "setting streams of " + camera_id);
    }
  }
  return tx->commit();
}

Result<std::vector<Stream>> SqliteCatalog::list_streams(const std::string& camera_id) {
  return list_page("SELECT * FROM streams WHERE camera_id = ?1 ORDER BY kind", read_stream,
                   camera_id);
}

}  // namespace zaulek::storage
