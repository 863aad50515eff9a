// Sites: the places the cameras watch.
#include "storage/catalog/sqlite_catalog.h"

namespace zaulek::storage {
namespace {

Site read_site(const sql::Stmt& st) {
  Site s;
  s.id = st.int64("id");
  s.name = st.text("name");
  s.address = st.text("address");
  if (!st.is_null("latitude") && !st.is_null("longitude"))
    s.position = GeoPoint{st.real("latitude"), st.real("longitude")};
  if (!st.is_null("plan_x") && !st.is_null("plan_y"))
    s.plan_position = PlanPoint{st.real("plan_x"), st.real("plan_y")};
  if (!st.is_null("plan_type")) {
    SitePlan p;
    p.content_type = st.text("plan_type");
    p.width = static_cast<int>(st.int64("plan_width"));
    p.height = static_cast<int>(st.int64("plan_height"));
    p.bytes = st.int64("plan_bytes");
    p.sha256 = st.text("plan_sha256");
    p.updated = from_ns(st.int64("plan_updated_ns"));
    s.plan = std::move(p);
  }
  s.created = from_ns(st.int64("created_ns"));
  s.updated = from_ns(st.int64("updated_ns"));
  return s;
}

Status validate_site(const Site& s) {
  auto bad = [](const std::string& what) {
    return make_error(ErrorKind::invalid_argument, "site " + what);
  };
  if (s.name.empty() || s.name.size() > 128) return bad("name must be 1 to 128 bytes");
  if (s.address.size() > 512) return bad("address is longer than 512 bytes");
  if (s.position) {
    // Written so that NaN fails too.
    if (!(s.position->latitude >= -90 && s.position->latitude <= 90))
      return bad("latitude must be from -90 to 90");
    if (!(s.position->longitude >= -180 && s.position->longitude <= 180))
      return bad("longitude must be from -180 to 180");
  }
  if (s.plan_position && !valid_plan_point(*s.plan_position))
    return bad("plan position must be 0 to 1 in x and y");
  return {};
}

std::optional<double> lat(const Site& s) {
  return s.position ? std::optional(s.position->latitude) : std::nullopt;
}
std::optional<double> lon(const Site& s) {
  return s.position ? std::optional(s.position->longitude) : std::nullopt;
}
std::optional<double> px(const std::optional<PlanPoint>& p) {
  return p ? std::optional(p->x) : std::nullopt;
}
std::optional<double> py(const std::optional<PlanPoint>& p) {
  return p ? std::optional(p->y) : std::nullopt;
}

Error name_taken(const Site& s) {
  return make_error(ErrorKind::already_exists, "a site named '" + s.name + "' exists");
}

}  // namespace

bool valid_plan_point(const PlanPoint& p) {
  return p.x >= 0 && p.x <= 1 && p.y >= 0 && p.y <= 1;
}

Result<Site> SqliteCatalog::add_site(const Site& site) {
  if (auto v = validate_site(site); !v) return v.error();
  Site s = site;
  s.plan.reset();
  s.created = s.updated = clock_.realtime();
  std::lock_guard lock(write_mu_);
  if (auto r =
          sql::execute(*writer_,
                       "INSERT INTO sites (name, address, latitude, longitude, plan_x, "
                       "plan_y, created_ns, updated_ns) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)",
                       s.name, s.address, lat(s), lon(s), px(s.plan_position), py(s.plan_position),
                       to_unix_ns(s.created));
      !r) {
    if (r.error().kind == ErrorKind::already_exists) return name_taken(s);
    return with_context(r.error(), "adding site");
  }
  s.id = writer_->last_insert_rowid();
  return s;
}

Result<Site> SqliteCatalog::find_site(std::int64_t id) {
  return find_one("SELECT * FROM sites WHERE id = ?1", read_site,
                  "no site with id " + std::to_string(id), id);
}

Result<std::vector<Site>> SqliteCatalog::list_sites() {
  return list_page("SELECT * FROM sites ORDER BY name, id", read_site);
}

Result<Site> SqliteCatalog::update_site(const Site& s) {
  if (auto v = validate_site(s); !v) return v.error();
  std::lock_guard lock(write_mu_);
  if (auto r = sql::execute(*writer_,
                            "UPDATE sites SET name = ?2, address = ?3, latitude = ?4, "
                            "longitude = ?5, plan_x = ?6, plan_y = ?7, updated_ns = ?8 "
                            "WHERE id = ?1",
                            s.id, s.name, s.address, lat(s), lon(s), px(s.plan_position),
                            py(s.plan_position), to_unix_ns(clock_.realtime()));
      !r) {
    if (r.error().kind == ErrorKind::already_exists) return name_taken(s);
    return with_context(r.error(), "updating site " + std::to_string(s.id));
  }
  if (writer_->changes() == 0)
    return make_error(ErrorKind::not_found, "no site with id " + std::to_string(s.id));
  auto back = sql::query_one(*writer_, "SELECT * FROM sites WHERE id = ?1", read_site, s.id);
  if (!back) return back.error();
  if (!*back) return make_error(ErrorKind::not_found, "no site with id " + std::to_string(s.id));
  return std::move(**back);
}

Status SqliteCatalog::delete_site(std::int64_t id) {
  std::lock_guard lock(write_mu_);
  auto tx = sql::Transaction::begin(*writer_);
  if (!tx) return tx.error();
  auto cams = sql::query_all(
      *writer_, "SELECT id FROM cameras WHERE site_id = ?1 ORDER BY id",
      [](const sql::Stmt& st) { return st.text("id"); }, id);
  if (!cams) return cams.error();
  if (!cams->empty()) {
    std::string names;
    for (std::size_t i = 0; i < cams->size() && i < 10; ++i) names += (i ? ", " : "") + (*cams)[i];
    if (cams->size() > 10) names += ", ...";
    return make_error(ErrorKind::failed_precondition,
                      "site " + std::to_string(id) + " has " + std::to_string(cams->size()) +
                          " camera(s) (" + names + "); move them to another site or none first");
  }
  if (auto st =
          changed_one(sql::execute(*writer_, "DELETE FROM sites WHERE id = ?1", id), "site", id);
      !st)
    return st;
  return tx->commit();
}

Result<Site> SqliteCatalog::set_site_plan(std::int64_t id, const std::optional<SitePlan>& plan) {
  if (plan) {
    if ((plan->content_type != "image/png" && plan->content_type != "image/jpeg") ||
        plan->width <= 0 || plan->height <= 0 || plan->bytes <= 0 || plan->sha256.size() != 64)
      return make_error(ErrorKind::invalid_argument, "site plan description is incomplete");
  }
  std::lock_guard lock(write_mu_);
  const std::int64_t now = to_unix_ns(clock_.realtime());
  Status r;
  if (plan)
    r = sql::execute(*writer_,
                     "UPDATE sites SET plan_type = ?2, plan_width = ?3, plan_height = ?4, "
                     "plan_bytes = ?5, plan_sha256 = ?6, plan_updated_ns = ?7, updated_ns = ?7 "
                     "WHERE id = ?1",
                     id, plan->content_type, plan->width, plan->height, plan->bytes, plan->sha256,
                     now);
  else
    r = sql::execute(*writer_,
                     "UPDATE sites SET plan_type = NULL, plan_width = NULL, plan_height = NULL, "
                     "plan_bytes = NULL, plan_sha256 = NULL, plan_updated_ns = NULL, "
                     "updated_ns = ?2 WHERE id = ?1",
                     id, now);
  if (!r) return with_context(r.error(), "setting the plan of site " + std::to_string(id));
  if (writer_->changes() == 0)
    return make_error(ErrorKind::not_found, "no site with id " + std::to_string(id));
  auto back = sql::query_one(*writer_, "SELECT * FROM sites WHERE id = ?1", read_site, id);
  if (!back) return back.error();
  if (!*back) return make_error(ErrorKind::not_found, "no site with id " + std::to_string(id));
  return std::move(**back);
}

Result<std::map<std::string, std::int64_t>> SqliteCatalog::open_alarm_counts() {
  auto rows = list_page(
      "SELECT camera_id, count(*) AS n FROM alarms WHERE state IN ('new', 'acknowledged') "
      "GROUP BY camera_id",
      [](const sql::Stmt& st) { return std::pair(st.text("camera_id"), st.int64("n")); });
  if (!rows) return rows.error();
  return std::map<std::string, std::int64_t>(rows->begin(), rows->end());
}

}  // namespace zaulek::storage
