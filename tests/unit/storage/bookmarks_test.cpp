// Bookmarks in the catalogue (migration 0007): add, find, list by camera and
// time with paging, delete, and field-naming validation.
#include <gtest/gtest.h>

#include "storage/catalog.h"
#include "tests/unit/storage/test_dir.h"

namespace zaulek::storage {
namespace {

using testing::TempDir;

constexpr std::int64_t kSec = 1'000'000'000;

class StorageBookmarksTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto c = Catalog::open(dir_.path() / "zaulek.db", clock_);
    ASSERT_TRUE(c.ok()) << c.error().message;
    cat_ = std::move(*c);
  }
  Bookmark mark(const std::string& camera, std::int64_t t_ns, const std::string& note = "") {
    Bookmark b;
    b.camera_id = camera;
    b.time_ns = t_ns;
    b.note = note;
    b.created_by = "ivan";
    return b;
  }
  TempDir dir_;
  FakeClock clock_;
  std::unique_ptr<Catalog> cat_;
};

TEST_F(StorageBookmarksTest, AddFindListDelete) {
  Bookmark from_alarm = mark("cam-1", 50 * kSec, "line_crossing");
  from_alarm.alarm_id = 7;
  from_alarm.rule_id = "gate";
  from_alarm.until_ns = 60 * kSec;
  from_alarm.created_by = "system";
  auto a = cat_->add_bookmark(from_alarm);
  ASSERT_TRUE(a.ok()) << a.error().message;
  EXPECT_GT(a->id, 0);
  EXPECT_EQ(a->created, clock_.realtime());
  auto b = cat_->add_bookmark(mark("cam-1", 10 * kSec, "car"));
  ASSERT_TRUE(b.ok());
  auto c = cat_->add_bookmark(mark("cam-2", 20 * kSec));
  ASSERT_TRUE(c.ok());

  auto found = cat_->find_bookmark(a->id);
  ASSERT_TRUE(found.ok());
  EXPECT_EQ(found->camera_id, "cam-1");
  EXPECT_EQ(found->time_ns, 50 * kSec);
  EXPECT_EQ(found->until_ns, std::optional<std::int64_t>(60 * kSec));
  EXPECT_EQ(found->alarm_id, std::optional<std::int64_t>(7));
  EXPECT_EQ(found->rule_id, std::optional<std::string>("gate"));
  EXPECT_EQ(found->note, "line_crossing");
  EXPECT_EQ(found->created_by, "system");
  auto plain = cat_->find_bookmark(b->id);
  ASSERT_TRUE(plain.ok());
  EXPECT_FALSE(plain->until_ns);
  EXPECT_FALSE(plain->alarm_id);
  EXPECT_FALSE(plain->rule_id);

  // By time then id, one camera or all, [from, to).
  auto cam1 = cat_->list_bookmarks({"cam-1", 0, 100 * kSec, 0, 100});
  ASSERT_TRUE(cam1.ok());
  ASSERT_EQ(cam1->size(), 2u);
  EXPECT_EQ((*cam1)[0].id, b->id);
  EXPECT_EQ((*cam1)[1].id, a->id);
  auto all = cat_->list_bookmarks({"", 0, 100 * kSec, 0, 100});
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 3u);
  auto window = cat_->list_bookmarks({"", 10 * kSec, 50 * kSec, 0, 100});
  ASSERT_TRUE(window.ok());
  ASSERT_EQ(window->size(), 2u);  // 10 s and 20 s; 50 s is past the end
  auto page = cat_->list_bookmarks({"", 0, 100 * kSec, 0, 1});
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->size(), 1u);
  EXPECT_EQ(cat_->list_bookmarks({"", 5, 5, 0, 10}).error().kind, ErrorKind::invalid_argument);
  EXPECT_EQ(cat_->list_bookmarks({"", 0, 5, 0, 0}).error().kind, ErrorKind::invalid_argument);

  ASSERT_TRUE(cat_->delete_bookmark(b->id).ok());
  EXPECT_EQ(cat_->delete_bookmark(b->id).error().kind, ErrorKind::not_found);
  EXPECT_EQ(cat_->find_bookmark(b->id).error().kind, ErrorKind::not_found);
  EXPECT_EQ(cat_->list_bookmarks({"cam-1", 0, 100 * kSec, 0, 100})->size(), 1u);
}

TEST_F(StorageBookmarksTest, BadBookmarksNameTheField) {
  auto error_of = [&](Bookmark b) {
    auto r = cat_->add_bookmark(b);
    EXPECT_FALSE(r.ok());
    if (r.ok()) return std::string("(no error)");
    EXPECT_EQ(r.error().kind, ErrorKind::invalid_argument);
    return r.error().message;
  };
  EXPECT_EQ(error_of(mark("../x", kSec)), "bookmark camera_id is not a camera id");
  Bookmark span = mark("cam-1", 10 * kSec);
  span.until_ns = 10 * kSec;
  EXPECT_EQ(error_of(span), "bookmark until must be after time");
  EXPECT_EQ(error_of(mark("cam-1", kSec, std::string(4097, 'x'))),
            "bookmark note is longer than 4096 bytes");
  Bookmark rule = mark("cam-1", kSec);
  rule.rule_id = "a b";
  EXPECT_EQ(error_of(rule), "bookmark rule_id must be [A-Za-z0-9._-]{1,64}");
  Bookmark nobody = mark("cam-1", kSec);
  nobody.created_by.clear();
  EXPECT_EQ(error_of(nobody), "bookmark created_by must be 1 to 64 characters");
  EXPECT_EQ(cat_->list_bookmarks({"", 0, INT64_MAX, 0, 100})->size(), 0u);
}

}  // namespace
}  // namespace zaulek::storage
