// Sites in the catalogue (migration 0013): add, find, list by name, update,
// unique names, field validation, a camera's site and plan position, a site
// with cameras refused deletion, plan descriptions, open alarms per camera,
// the alarm list's site filter, and plan files on disk.
#include <gtest/gtest.h>

#include <cmath>

#include "storage/catalog.h"
#include "storage/plans.h"
#include "tests/unit/storage/test_dir.h"

namespace zaulek::storage {
namespace {

using testing::TempDir;

class StorageSitesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto c = Catalog::open(dir_.path() / "zaulek.db", clock_);
    ASSERT_TRUE(c.ok()) << c.error().message;
    cat_ = std::move(*c);
  }
  Site site(const std::string& name) {
    Site s;
    s.name = name;
    return s;
  }
  Camera camera(const std::string& url) {
    Camera c;
    c.name = url;
    c.onvif_url = url;
    return c;
  }
  TempDir dir_;
  FakeClock clock_;
  std::unique_ptr<Catalog> cat_;
};

TEST_F(StorageSitesTest, AddFindListUpdate) {
  Site park = site("Park Jordana");
  park.address = "al. 3 Maja, Kraków";
  park.position = GeoPoint{50.0614, 19.9165};
  park.plan_position = PlanPoint{0.25, 0.75};
  auto a = cat_->add_site(park);
  ASSERT_TRUE(a.ok()) << a.error().message;
  EXPECT_GT(a->id, 0);
  EXPECT_EQ(a->created, clock_.realtime());
  auto b = cat_->add_site(site("Aleja Róż"));
  ASSERT_TRUE(b.ok()) << b.error().message;

  auto found = cat_->find_site(a->id);
  ASSERT_TRUE(found.ok());
  EXPECT_EQ(found->name, "Park Jordana");
  EXPECT_EQ(found->address, "al. 3 Maja, Kraków");
  ASSERT_TRUE(found->position);
  EXPECT_DOUBLE_EQ(found->position->latitude, 50.0614);
  EXPECT_DOUBLE_EQ(found->position->longitude, 19.9165);
  EXPECT_EQ(found->plan_position, (PlanPoint{0.25, 0.75}));
  EXPECT_FALSE(found->plan);

  auto all = cat_->list_sites();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].name, "Aleja Róż");  // by name

  clock_.advance(std::chrono::seconds(5));
  Site changed = *found;
  changed.name = "Park im. Jordana";
  changed.position.reset();
  auto u = cat_->update_site(changed);
  ASSERT_TRUE(u.ok()) << u.error().message;
  EXPECT_EQ(u->name, "Park im. Jordana");
  EXPECT_FALSE(u->position);
  EXPECT_EQ(u->created, found->created);
  EXPECT_GT(u->updated, found->updated);

  EXPECT_EQ(cat_->find_site(999).error().kind, ErrorKind::not_found);
  changed.id = 999;
  EXPECT_EQ(cat_->update_site(changed).error().kind, ErrorKind::not_found);
}

TEST_F(StorageSitesTest, NamesAreUniqueIgnoringAsciiCase) {
  ASSERT_TRUE(cat_->add_site(site("Przejście podziemne")).ok());
  auto dup = cat_->add_site(site("PRZEJŚCIE podziemne"));  // Ś is not folded: another name
  EXPECT_TRUE(dup.ok());
  auto same = cat_->add_site(site("przejście PODZIEMNE"));
  ASSERT_FALSE(same.ok());
  EXPECT_EQ(same.error().kind, ErrorKind::already_exists);
  EXPECT_EQ(same.error().message, "a site named 'przejście PODZIEMNE' exists");
  auto other = cat_->add_site(site("Skwer"));
  ASSERT_TRUE(other.ok());
  Site renamed = *other;
  renamed.name = "Przejście podziemne";
  EXPECT_EQ(cat_->update_site(renamed).error().kind, ErrorKind::already_exists);
}

TEST_F(StorageSitesTest, FieldsAreValidated) {
  struct Case {
    Site s;
    std::string message;
  };
  Site empty;
  Site long_name = site(std::string(129, 'x'));
  Site long_address = site("a");
  long_address.address = std::string(513, 'x');
  Site north = site("b");
  north.position = GeoPoint{90.5, 0};
  Site east = site("c");
  east.position = GeoPoint{0, -180.5};
  Site nan = site("d");
  nan.position = GeoPoint{std::nan(""), 0};
  Site off_plan = site("e");
  off_plan.plan_position = PlanPoint{1.01, 0};
  for (const auto& [s, message] :
       std::vector<Case>{{empty, "site name must be 1 to 128 bytes"},
                         {long_name, "site name must be 1 to 128 bytes"},
                         {long_address, "site address is longer than 512 bytes"},
                         {north, "site latitude must be from -90 to 90"},
                         {east, "site longitude must be from -180 to 180"},
                         {nan, "site latitude must be from -90 to 90"},
                         {off_plan, "site plan position must be 0 to 1 in x and y"}}) {
    auto r = cat_->add_site(s);
    ASSERT_FALSE(r.ok()) << message;
    EXPECT_EQ(r.error().kind, ErrorKind::invalid_argument);
    EXPECT_EQ(r.error().message, message);
  }
  EXPECT_TRUE(cat_->list_sites()->empty());
}

TEST_F(StorageSitesTest, CamerasJoinSitesAndASiteWithCamerasStays) {
  auto s = cat_->add_site(site("Zaułek"));
  ASSERT_TRUE(s.ok());
  auto c = cat_->add_camera(camera("http://127.0.0.1:1/onvif/device_service"));
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_FALSE(c->site_id);

  Camera in = *c;
  in.site_id = s->id;
  in.plan_position = PlanPoint{0.5, 0.125};
  auto u = cat_->update_camera(in);
  ASSERT_TRUE(u.ok()) << u.error().message;
  EXPECT_EQ(u->site_id, s->id);
  EXPECT_EQ(u->plan_position, (PlanPoint{0.5, 0.125}));
  EXPECT_EQ(cat_->find_camera(c->id)->site_id, s->id);

  // A position needs a site and must lie on the plan; an unknown site is not_found.
  Camera no_site = *u;
  no_site.site_id.reset();
  EXPECT_EQ(cat_->update_camera(no_site).error().message, "camera plan position without a site");
  Camera off = *u;
  off.plan_position = PlanPoint{-0.1, 0.5};
  EXPECT_EQ(cat_->update_camera(off).error().kind, ErrorKind::invalid_argument);
  Camera unknown = *u;
  unknown.site_id = 4242;
  auto nf = cat_->update_camera(unknown);
  ASSERT_FALSE(nf.ok());
  EXPECT_EQ(nf.error().kind, ErrorKind::not_found);
  EXPECT_EQ(nf.error().message, "no site with id 4242");

  auto refused = cat_->delete_site(s->id);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().kind, ErrorKind::failed_precondition);
  EXPECT_EQ(refused.error().message, "site " + std::to_string(s->id) + " has 1 camera(s) (" +
                                         c->id + "); move them to another site or none first");
  EXPECT_TRUE(cat_->find_site(s->id).ok());

  Camera out = *u;
  out.site_id.reset();
  out.plan_position.reset();
  ASSERT_TRUE(cat_->update_camera(out).ok());
  EXPECT_TRUE(cat_->delete_site(s->id).ok());
  EXPECT_EQ(cat_->find_site(s->id).error().kind, ErrorKind::not_found);
  EXPECT_EQ(cat_->delete_site(s->id).error().kind, ErrorKind::not_found);
}

TEST_F(StorageSitesTest, PlanDescriptionIsSetAndCleared) {
  auto s = cat_->add_site(site("Skwer"));
  ASSERT_TRUE(s.ok());
  SitePlan p;
  p.content_type = "image/png";
  p.width = 1920;
  p.height = 1080;
  p.bytes = 12345;
  p.sha256 = std::string(64, 'a');
  clock_.advance(std::chrono::seconds(1));
  auto with = cat_->set_site_plan(s->id, p);
  ASSERT_TRUE(with.ok()) << with.error().message;
  ASSERT_TRUE(with->plan);
  EXPECT_EQ(with->plan->content_type, "image/png");
  EXPECT_EQ(with->plan->width, 1920);
  EXPECT_EQ(with->plan->height, 1080);
  EXPECT_EQ(with->plan->bytes, 12345);
  EXPECT_EQ(with->plan->updated, clock_.realtime());
  // update_site keeps the plan.
  Site renamed = *with;
  renamed.name = "Skwer Wielki";
  renamed.plan.reset();
  auto u = cat_->update_site(renamed);
  ASSERT_TRUE(u.ok());
  EXPECT_TRUE(u->plan);

  SitePlan gif = p;
  gif.content_type = "image/gif";
  EXPECT_EQ(cat_->set_site_plan(s->id, gif).error().kind, ErrorKind::invalid_argument);
  EXPECT_EQ(cat_->set_site_plan(999, p).error().kind, ErrorKind::not_found);
  auto without = cat_->set_site_plan(s->id, std::nullopt);
  ASSERT_TRUE(without.ok());
  EXPECT_FALSE(without->plan);
}

TEST_F(StorageSitesTest, OpenAlarmsPerCameraAndTheSiteFilter) {
  auto s = cat_->add_site(site("Plac"));
  ASSERT_TRUE(s.ok());
  auto c1 = cat_->add_camera(camera("http://127.0.0.1:1/onvif/device_service"));
  auto c2 = cat_->add_camera(camera("http://127.0.0.1:2/onvif/device_service"));
  ASSERT_TRUE(c1.ok() && c2.ok());
  Camera in = *c1;
  in.site_id = s->id;
  ASSERT_TRUE(cat_->update_camera(in).ok());
  auto raise = [&](const std::string& cam, const std::string& key) {
    Alarm a;
    a.camera_id = cam;
    a.kind = "motion";
    a.source_key = key;
    a.rule_id = "r";
    a.first_event_id = a.last_event_id = 1;
    auto r = cat_->raise_alarm(a);
    EXPECT_TRUE(r.ok()) << r.error().message;
    return r->alarm.id;
  };
  raise(c1->id, "a");
  auto resolved = raise(c1->id, "b");
  raise(c2->id, "c");
  raise(c2->id, "d");
  ASSERT_TRUE(cat_->resolve_alarm(resolved, "olga", "checked").ok());

  auto counts = cat_->open_alarm_counts();
  ASSERT_TRUE(counts.ok()) << counts.error().message;
  EXPECT_EQ(*counts, (std::map<std::string, std::int64_t>{{c1->id, 1}, {c2->id, 2}}));

  AlarmQuery q;
  q.site_id = s->id;
  auto in_site = cat_->list_alarms(q);
  ASSERT_TRUE(in_site.ok());
  EXPECT_EQ(in_site->size(), 2u);
  for (const auto& a : *in_site) EXPECT_EQ(a.camera_id, c1->id);
  q.site_id = 0;  // no site
  auto outside = cat_->list_alarms(q);
  ASSERT_TRUE(outside.ok());
  EXPECT_EQ(outside->size(), 2u);
  for (const auto& a : *outside) EXPECT_EQ(a.camera_id, c2->id);
}

TEST(StoragePlanFiles, WriteReadRemove) {
  TempDir dir;
  PlanFiles plans(dir.path());
  const std::string sha(64, 'b');
  const std::string bytes = "\x89PNG not really";
  ASSERT_TRUE(plans.write(3, sha, "png", bytes).ok());
  EXPECT_EQ(plans.path(3, sha, "png"), dir.path() / "plans" / "site-3-bbbbbbbbbbbbbbbb.png");
  auto back = plans.read(3, sha, "png", static_cast<std::int64_t>(bytes.size()));
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(*back, bytes);
  // No temporary file stays.
  int files = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir.path() / "plans")) {
    (void)e;
    ++files;
  }
  EXPECT_EQ(files, 1);
  // A size other than the catalogue's is data_loss; a wrong name or type is refused.
  EXPECT_EQ(plans.read(3, sha, "png", 3).error().kind, ErrorKind::data_loss);
  EXPECT_EQ(plans.read(4, sha, "png", 3).error().kind, ErrorKind::not_found);
  EXPECT_EQ(plans.write(3, sha, "gif", bytes).error().kind, ErrorKind::invalid_argument);
  EXPECT_EQ(plans.write(3, "../../etc/passwd", "png", bytes).error().kind,
            ErrorKind::invalid_argument);
  ASSERT_TRUE(plans.remove(3, sha, "png").ok());
  EXPECT_FALSE(std::filesystem::exists(plans.path(3, sha, "png")));
  EXPECT_TRUE(plans.remove(3, sha, "png").ok());  // gone already: fine
}

}  // namespace
}  // namespace zaulek::storage
