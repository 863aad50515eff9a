#include "server/recording/recording.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <nlohmann/json.hpp>
#include <thread>

#include "media/segment.h"
#include "server/api/api.h"
#include "server/api/bookmarks.h"
#include "server/api/recordings.h"
#include "server/security/audit.h"
#include "tests/unit/eventually.h"

namespace zaulek::server {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr std::int64_t kSecond = 1'000'000'000;
constexpr std::int64_t kDay = 86'400 * kSecond;

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "zaulek-rec-XXXXXX").string();
    if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             system_clock().realtime().time_since_epoch())
      .count();
}

// A real segment file of n frames at 25 fps starting at start_ns; finished
// (.ts) or left unfinished (.ts.part, as a crash leaves it).
fs::path write_segment(const fs::path& dir, std::int64_t start_ns, int frames, bool finish) {
  MonoTime now{};
  auto w = media::SegmentWriter::create(dir, {media::Codec::h264, 320, 240, start_ns}, {}, now);
  EXPECT_TRUE(w) << w.error().message;
  for (int i = 0; i < frames; ++i) {
    std::vector<std::uint8_t> au = {0, 0, 0, 1, static_cast<std::uint8_t>(i % 25 ? 0x41 : 0x65)};
    au.resize(600, 0x55);
    const std::uint64_t dts = media::ts::kTimestampOrigin + static_cast<std::uint64_t>(i) * 3600;
    now += std::chrono::milliseconds(40);
    EXPECT_TRUE((*w)->add_frame(au, dts, dts, i % 25 == 0, now));
  }
  if (!finish) {
    fs::path part = (*w)->part_path();
    w->reset();  // flushed, left as .part
    return part;
  }
  auto path = (*w)->finish();
  EXPECT_TRUE(path) << path.error().message;
  return *path;
}

struct Fixture {
  TempDir dir;
  std::unique_ptr<storage::Catalog> catalog;
  Fixture() {
    auto c = storage::Catalog::open(dir.path() / "zaulek.db");
    if (!c) throw std::runtime_error(c.error().message);
    catalog = std::move(*c);
  }
  std::unique_ptr<RecordingService> service(RecordingOptions o) {
    auto box = SecretBox::open_or_create(dir.path() / "secret.key");
    if (!box) throw std::runtime_error(box.error().message);
    o.root = dir.path();
    o.resync_retry = std::chrono::milliseconds(50);
    return std::make_unique<RecordingService>(*catalog, std::move(*box), system_clock(), o);
  }
  std::vector<storage::Segment> segments() {
    auto rows = catalog->list_all_segments(0, 1000);
    EXPECT_TRUE(rows);
    return rows ? *rows : std::vector<storage::Segment>{};
  }
};

using zaulek::testing::eventually;

bool has_metric(const RecordingService& s, const std::string& line) {
  return s.metrics_text().find("\n" + line + "\n") != std::string::npos;
}

TEST(RecordingService, ReconcilesBeforeRecording) {
  Fixture f;
  const fs::path cam = f.dir.path() / "cam-a";
  const std::int64_t t0 = now_ns() - 3600 * kSecond;
  const fs::path orphan = write_segment(cam, t0, 50, true);
  const fs::path part = write_segment(cam, t0 + 2 * kSecond, 30, false);
  ASSERT_TRUE(fs::exists(part));
  storage::Segment ghost;
  ghost.camera_id = "cam-a";
  ghost.start_ns = t0 - 10 * kSecond;
  ghost.end_ns = t0 - 5 * kSecond;
  ghost.bytes = 1000;
  ghost.path = "cam-a/20200101T000000.000000Z.ts";
  ghost.codec = "h264";
  ghost.state = storage::SegmentState::closed;
  ASSERT_TRUE(f.catalog->add_segment(ghost));

  RecordingOptions o;
  o.min_free_percent = 0;  // the host's free space is not under test: retention must not run
  auto svc = f.service(o);
  EXPECT_FALSE(svc->ready());
  svc->start();
  ASSERT_TRUE(eventually([&] { return svc->ready(); }));
  auto rows = f.segments();
  ASSERT_EQ(rows.size(), 2u);
  std::map<std::string, storage::Segment> by_path;
  for (const auto& r : rows) by_path[r.path] = r;
  // The file without a row is indexed from the file itself.
  const std::string orphan_rel = "cam-a/" + orphan.filename().string();
  ASSERT_TRUE(by_path.count(orphan_rel));
  EXPECT_EQ(by_path[orphan_rel].start_ns, t0);
  EXPECT_EQ(by_path[orphan_rel].end_ns, t0 + 2 * kSecond);
  EXPECT_EQ(by_path[orphan_rel].keyframes, 2);
  // The unfinished segment is finished and indexed.
  std::string part_rel = "cam-a/" + part.filename().string();
  part_rel.resize(part_rel.size() - std::string(".part").size());
  ASSERT_TRUE(by_path.count(part_rel)) << part_rel;
  EXPECT_EQ(by_path[part_rel].start_ns, t0 + 2 * kSecond);
  EXPECT_EQ(by_path[part_rel].bytes,
            static_cast<std::int64_t>(fs::file_size(f.dir.path() / part_rel)));
  EXPECT_FALSE(fs::exists(part));
  // The row without a file is gone.
  EXPECT_FALSE(by_path.count(ghost.path));
  EXPECT_TRUE(has_metric(*svc, "zaulek_recording_recovered_total 1"));
  EXPECT_TRUE(has_metric(*svc, "zaulek_recording_cameras 0"));
  // No camera, no recorder.
  EXPECT_FALSE(svc->status("cam-a"));
  svc->stop();
  svc->stop();  // idempotent
}

TEST(RecordingService, RetentionKeepsHeldFootage) {
  Fixture f;
  const fs::path cam = f.dir.path() / "gone";
  const std::int64_t old = now_ns() - 10 * kDay;
  std::vector<storage::Segment> rows;
  for (int i = 0; i < 3; ++i) {
    const std::int64_t start = old + i * 2 * kSecond;
    fs::path file = write_segment(cam, start, 50, true);
    storage::Segment s;
    s.camera_id = "gone";
    s.start_ns = start;
    s.end_ns = start + 2 * kSecond;
    s.bytes = static_cast<std::int64_t>(fs::file_size(file));
    s.path = "gone/" + file.filename().string();
    s.codec = "h264";
    s.keyframes = 2;
    s.state = storage::SegmentState::closed;
    auto id = f.catalog->add_segment(s);
    ASSERT_TRUE(id);
    s.id = *id;
    rows.push_back(s);
  }
  storage::Hold h;
  h.camera_id = "gone";
  h.from_ns = rows[1].start_ns + kSecond / 2;
  h.to_ns = rows[1].start_ns + kSecond;
  h.reason = "case 12";
  h.created_by = "iwona";
  ASSERT_TRUE(f.catalog->add_hold(h));

  RecordingOptions o;
  o.max_age_days = 5;
  o.min_free_percent = 0;
  auto svc = f.service(o);
  svc->start();
  ASSERT_TRUE(eventually([&] { return has_metric(*svc, "zaulek_retention_passes_total 1"); }));
  auto left = f.segments();
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0].id, rows[1].id);
  EXPECT_TRUE(fs::exists(f.dir.path() / rows[1].path));
  EXPECT_FALSE(fs::exists(f.dir.path() / rows[0].path));
  EXPECT_FALSE(fs::exists(f.dir.path() / rows[2].path));
  EXPECT_TRUE(has_metric(*svc, "zaulek_retention_deleted_total 2"));
  svc->stop();
}

// The handlers, called as the dispatcher calls them (after access checks).
struct Api {
  Fixture f;
  AuditLog audit{*f.catalog, system_clock()};
  ApiContext ctx;
  Router router;
  Api() {
    ctx.catalog = f.catalog.get();
    ctx.audit = &audit;
    ctx.clock = &system_clock();
    register_recording_routes(router, ctx);
    register_bookmark_routes(router, ctx);
  }
  std::pair<int, json> call(const std::string& method, const std::string& path,
                            std::map<std::string, std::string> query = {},
                            std::optional<json> body = std::nullopt) {
    Request r;
    r.method = method;
    r.path = path;
    r.query = std::move(query);
    Principal p;
    p.name = "iwona";
    p.role = Role::investigator;
    r.principal = p;
    if (body) r.json = std::make_shared<json>(*body);
    auto m = router.match(method, path, &r.params);
    EXPECT_NE(m.route, nullptr) << method << " " << path;
    if (!m.route) return {0, json()};
    Response resp = m.route->handler(r);
    return {resp.status, json::parse(resp.body)};
  }
};

std::string rfc(std::int64_t ns) {
  return format_rfc3339(
      WallTime{std::chrono::duration_cast<WallTime::duration>(std::chrono::nanoseconds(ns))});
}

TEST(RecordingApi, RangesGapsAndHolds) {
  Api api;
  const std::int64_t t0 = (now_ns() / kSecond - 3600) * kSecond;  // whole seconds
  storage::Camera cam;
  cam.id = "cam-1";
  cam.name = "alley";
  cam.onvif_url = "http://127.0.0.1:1/onvif/device_service";
  ASSERT_TRUE(api.f.catalog->add_camera(cam));
  // Two contiguous segments, a 30 s outage, one more.
  for (std::int64_t start : {t0, t0 + 60 * kSecond, t0 + 150 * kSecond}) {
    storage::Segment s;
    s.camera_id = "cam-1";
    s.start_ns = start;
    s.end_ns = start + 60 * kSecond;
    s.bytes = 1;
    s.path = "cam-1/" + std::to_string(start) + ".ts";
    s.codec = "h264";
    s.state = storage::SegmentState::closed;
    ASSERT_TRUE(api.f.catalog->add_segment(s));
  }
  auto [status, body] = api.call("GET", "/api/v1/cameras/cam-1/recordings",
                                 {{"from", rfc(t0 - 60 * kSecond)}, {"to", rfc(t0 + kDay)}});
  ASSERT_EQ(status, 200) << body.dump();
  EXPECT_EQ(body["segments"], 3);
  ASSERT_EQ(body["ranges"].size(), 2u) << body.dump();
  EXPECT_EQ(body["ranges"][0]["start"], rfc(t0));
  EXPECT_EQ(body["ranges"][0]["end"], rfc(t0 + 120 * kSecond));
  EXPECT_EQ(body["ranges"][1]["start"], rfc(t0 + 150 * kSecond));
  ASSERT_EQ(body["gaps"].size(), 3u);
  EXPECT_EQ(body["gaps"][1]["start"], rfc(t0 + 120 * kSecond));
  EXPECT_EQ(body["gaps"][1]["end"], rfc(t0 + 150 * kSecond));
  // Defaults: the last day up to now.
  std::tie(status, body) = api.call("GET", "/api/v1/cameras/cam-1/recordings");
  EXPECT_EQ(status, 200);
  EXPECT_EQ(body["segments"], 3);
  // Bad input names the parameter; unknown cameras are 404.
  std::tie(status, body) = api.call("GET", "/api/v1/cameras/cam-1/recordings", {{"to", "noon"}});
  EXPECT_EQ(status, 400);
  EXPECT_NE(body["error"]["message"].get<std::string>().find("'to'"), std::string::npos);
  std::tie(status, body) =
      api.call("GET", "/api/v1/cameras/cam-1/recordings", {{"from", rfc(t0)}, {"to", rfc(t0)}});
  EXPECT_EQ(status, 400);
  std::tie(status, body) = api.call("GET", "/api/v1/cameras/cam-9/recordings");
  EXPECT_EQ(status, 404);
  std::tie(status, body) = api.call("GET", "/api/v1/cameras/..%2F/recordings");
  EXPECT_EQ(status, 400);

  json hold = {{"camera_id", "cam-1"},
               {"from", rfc(t0 + 10 * kSecond)},
               {"to", rfc(t0 + 20 * kSecond)},
               {"reason", "case 7"}};
  std::tie(status, body) = api.call("POST", "/api/v1/holds", {}, hold);
  ASSERT_EQ(status, 201) << body.dump();
  const std::string id = body["id"];
  EXPECT_EQ(body["created_by"], "iwona");
  EXPECT_EQ(body["from"], rfc(t0 + 10 * kSecond));
  for (auto [field, value] : std::vector<std::pair<std::string, json>>{
           {"camera_id", 5}, {"from", "x"}, {"to", rfc(t0)}, {"reason", ""}}) {
    json b = hold;
    b[field] = value;
    std::tie(status, body) = api.call("POST", "/api/v1/holds", {}, b);
    EXPECT_EQ(status, 400) << field << " " << body.dump();
  }
  std::tie(status, body) = api.call("POST", "/api/v1/holds", {}, json::array());
  EXPECT_EQ(status, 400);
  std::tie(status, body) = api.call("GET", "/api/v1/holds", {{"camera", "cam-1"}});
  ASSERT_EQ(status, 200);
  ASSERT_EQ(body["holds"].size(), 1u);
  EXPECT_EQ(body["holds"][0]["id"], id);
  std::tie(status, body) = api.call("DELETE", "/api/v1/holds/" + id);
  EXPECT_EQ(status, 200);
  std::tie(status, body) = api.call("DELETE", "/api/v1/holds/" + id);
  EXPECT_EQ(status, 404);
  std::tie(status, body) = api.call("DELETE", "/api/v1/holds/x1");
  EXPECT_EQ(status, 404);
  auto audit = api.f.catalog->list_audit(0, 100);
  ASSERT_TRUE(audit);
  std::vector<std::string> actions;
  for (const auto& e : *audit) actions.push_back(e.action + " " + e.target + " " + e.actor);
  EXPECT_EQ(actions, (std::vector<std::string>{"hold.add hold:" + id + " iwona",
                                               "hold.delete hold:" + id + " iwona"}));
}

TEST(RecordingApi, BookmarksMarkListDeleteAndShowOnTheTimeline) {
  Api api;
  const std::int64_t t0 = (now_ns() / kSecond - 3600) * kSecond;
  storage::Camera cam;
  cam.id = "cam-1";
  cam.onvif_url = "http://127.0.0.1:1/onvif/device_service";
  ASSERT_TRUE(api.f.catalog->add_camera(cam));
  auto [status, body] = api.call("POST", "/api/v1/bookmarks", {},
                                 json{{"camera_id", "cam-1"},
                                      {"time", rfc(t0 + 10 * kSecond)},
                                      {"until", rfc(t0 + 20 * kSecond)},
                                      {"note", "van parked\nno plates"}});
  ASSERT_EQ(status, 201) << body.dump();
  const std::string id = body["id"];
  EXPECT_EQ(body["created_by"], "iwona");
  EXPECT_EQ(body["until"], rfc(t0 + 20 * kSecond));
  EXPECT_TRUE(body["alarm_id"].is_null());
  std::tie(status, body) =
      api.call("POST", "/api/v1/bookmarks", {}, json{{"camera_id", "cam-1"}, {"time", rfc(t0)}});
  ASSERT_EQ(status, 201) << body.dump();
  EXPECT_EQ(body["note"], "");
  const std::string early = body["id"];
  // Bad input names the field; an unknown camera is 404.
  for (auto [b, needle] : std::vector<std::pair<json, std::string>>{
           {json{{"time", rfc(t0)}}, "'camera_id'"},
           {json{{"camera_id", "cam-1"}}, "'time'"},
           {json{{"camera_id", "cam-1"}, {"time", 5}}, "'time'"},
           {json{{"camera_id", "cam-1"}, {"time", rfc(t0)}, {"until", rfc(t0)}}, "'until'"},
           {json{{"camera_id", "cam-1"}, {"time", rfc(t0)}, {"note", "a\x01"}}, "'note'"},
           {json{{"camera_id", "cam-1"}, {"time", rfc(t0)}, {"note", std::string(4097, 'n')}},
            "'note'"},
           {json{{"camera_id", "cam-1"}, {"time", rfc(t0)}, {"colour", "red"}}, "colour"},
           {json{{"camera_id", "../x"}, {"time", rfc(t0)}}, "'camera_id'"},
           {json::array(), "object"}}) {
    std::tie(status, body) = api.call("POST", "/api/v1/bookmarks", {}, b);
    EXPECT_EQ(status, 400) << b.dump() << " " << body.dump();
    EXPECT_NE(body["error"]["message"].get<std::string>().find(needle), std::string::npos)
        << body.dump();
  }
  std::tie(status, body) =
      api.call("POST", "/api/v1/bookmarks", {}, json{{"camera_id", "cam-9"}, {"time", rfc(t0)}});
  EXPECT_EQ(status, 404);
  // Listed by time, filtered, paged.
  std::tie(status, body) = api.call("GET", "/api/v1/bookmarks", {{"camera", "cam-1"}});
  ASSERT_EQ(status, 200);
  ASSERT_EQ(body["bookmarks"].size(), 2u);
  EXPECT_EQ(body["bookmarks"][0]["id"], early);
  EXPECT_EQ(body["bookmarks"][1]["id"], id);
  EXPECT_TRUE(body["next_after"].is_null());
  std::tie(status, body) = api.call("GET", "/api/v1/bookmarks", {{"limit", "1"}});
  ASSERT_EQ(status, 200);
  ASSERT_EQ(body["bookmarks"].size(), 1u);
  EXPECT_EQ(body["next_after"], early);
  std::tie(status, body) =
      api.call("GET", "/api/v1/bookmarks", {{"from", rfc(t0 + kSecond)}, {"to", rfc(t0 + kDay)}});
  ASSERT_EQ(body["bookmarks"].size(), 1u);
  for (auto [k, v] : std::vector<std::pair<std::string, std::string>>{
           {"from", "noon"}, {"camera", "../x"}, {"limit", "0"}, {"after", "-1"}}) {
    std::tie(status, body) = api.call("GET", "/api/v1/bookmarks", {{k, v}});
    EXPECT_EQ(status, 400) << k;
    EXPECT_NE(body["error"]["message"].get<std::string>().find("'" + k + "'"), std::string::npos)
        << body.dump();
  }
  // The recordings timeline carries the bookmarks of its stretch.
  std::tie(status, body) = api.call("GET", "/api/v1/cameras/cam-1/recordings",
                                    {{"from", rfc(t0 + kSecond)}, {"to", rfc(t0 + kDay)}});
  ASSERT_EQ(status, 200) << body.dump();
  ASSERT_EQ(body["bookmarks"].size(), 1u);
  EXPECT_EQ(body["bookmarks"][0]["id"], id);
  // Deleted once; audited with what it said.
  std::tie(status, body) = api.call("DELETE", "/api/v1/bookmarks/" + id);
  EXPECT_EQ(status, 200);
  std::tie(status, body) = api.call("DELETE", "/api/v1/bookmarks/" + id);
  EXPECT_EQ(status, 404);
  std::tie(status, body) = api.call("DELETE", "/api/v1/bookmarks/x1");
  EXPECT_EQ(status, 404);
  auto audit = api.f.catalog->list_audit(0, 100);
  ASSERT_TRUE(audit);
  std::vector<std::string> actions;
  for (const auto& e : *audit) actions.push_back(e.action + " " + e.target + " " + e.actor);
  EXPECT_EQ(actions, (std::vector<std::string>{"bookmark.add bookmark:" + id + " iwona",
                                               "bookmark.add bookmark:" + early + " iwona",
                                               "bookmark.delete bookmark:" + id + " iwona"}));
  EXPECT_NE(audit->back().detail.find("van parked"), std::string::npos);
}

}  // namespace
}  // namespace zaulek::server
