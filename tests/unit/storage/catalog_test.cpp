#include "storage/catalog.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <atomic>
#include <fstream>
#include <thread>

#include "storage/migrations.h"
#include "tests/unit/storage/test_dir.h"

namespace zaulek::storage {
namespace {

using namespace std::chrono_literals;
using testing::TempDir;

class StorageCatalogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto c = Catalog::open(dir_.path() / "zaulek.db", clock_);
    ASSERT_TRUE(c.ok()) << c.error().message;
    cat_ = std::move(*c);
  }
  TempDir dir_;
  FakeClock clock_;
  std::unique_ptr<Catalog> cat_;
};

// Runs one SQL statement on a side connection, returning its first column as text.
std::string query_text(const std::filesystem::path& db, const char* sql) {
  sqlite3* h = nullptr;
  EXPECT_EQ(sqlite3_open(db.c_str(), &h), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  std::string out = "<error>";
  if (sqlite3_prepare_v2(h, sql, -1, &st, nullptr) == SQLITE_OK) {
    out = sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0)
              ? reinterpret_cast<const char*>(sqlite3_column_text(st, 0))
              : "";
  }
  sqlite3_finalize(st);
  sqlite3_close(h);
  return out;
}

// ---- migrations ----

TEST(StorageMigrations, NumberedWithoutGaps) {
  auto all = migrations();
  ASSERT_FALSE(all.empty());
  for (std::size_t i = 0; i < all.size(); ++i) EXPECT_EQ(all[i].version, static_cast<int>(i + 1));
  EXPECT_EQ(Catalog::latest_schema_version(), static_cast<int>(all.size()));
}

TEST(StorageMigrations, FreshDatabaseIsAtLatestVersionInWalMode) {
  TempDir dir;
  auto db = dir.path() / "zaulek.db";
  auto c = Catalog::open(db);
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ((*c)->schema_version(), Catalog::latest_schema_version());
  EXPECT_EQ(query_text(db, "PRAGMA user_version"),
            std::to_string(Catalog::latest_schema_version()));
  EXPECT_EQ(query_text(db, "PRAGMA journal_mode"), "wal");
}

TEST(StorageMigrations, UpgradesEveryOlderSchema) {
  const int latest = Catalog::latest_schema_version();
  for (int k = 0; k < latest; ++k) {
    SCOPED_TRACE("from version " + std::to_string(k));
    TempDir dir;
    auto db = dir.path() / "zaulek.db";
    ASSERT_TRUE(create_at_version(db, k).ok());
    EXPECT_EQ(query_text(db, "PRAGMA user_version"), std::to_string(k));
    FakeClock clock;
    auto c = Catalog::open(db, clock);
    ASSERT_TRUE(c.ok()) << c.error().message;
    EXPECT_EQ((*c)->schema_version(), latest);
    EXPECT_EQ(query_text(db, "PRAGMA user_version"), std::to_string(latest));
    // The upgraded database works: a user can be added and found.
    ASSERT_TRUE((*c)->add_user("alice", Role::operator_, "$argon2id$x").ok());
    EXPECT_TRUE((*c)->find_user("alice").ok());
  }
}

// Migration 0012 folds the segments already indexed into segment_ranges:
// two cameras, touching, overlapping, gapped, zero-length and deleting rows.
TEST(StorageMigrations, SegmentRangesAreBuiltFromExistingSegments) {
  TempDir dir;
  auto db = dir.path() / "zaulek.db";
  ASSERT_TRUE(create_at_version(db, 11).ok());
  {
    sqlite3* h = nullptr;
    ASSERT_EQ(sqlite3_open(db.c_str(), &h), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(h,
                           "INSERT INTO segments (camera_id, start_ns, end_ns, path, state) VALUES "
                           "('cam-1', 0, 60, 'a', 'closed'), ('cam-1', 60, 120, 'b', 'closed'),"
                           "('cam-1', 100, 110, 'c', 'closed'), ('cam-1', 200, 200, 'd', 'closed'),"
                           "('cam-1', 300, 360, 'e', 'deleting'), ('cam-1', 400, 460, 'f', 'open'),"
                           "('cam-2', 50, 70, 'g', 'closed')",
                           nullptr, nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(h);
  }
  FakeClock clock;
  auto c = Catalog::open(db, clock);
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(query_text(db,
                       "SELECT group_concat(camera_id || ':' || start_ns || '-' || end_ns || '/' "
                       "|| segments, ' ') FROM (SELECT * FROM segment_ranges ORDER BY camera_id, "
                       "start_ns)"),
            "cam-1:0-120/3 cam-1:200-200/1 cam-1:400-460/1 cam-2:50-70/1");
  auto t = (*c)->timeline("cam-1", 0, 1000, 0);
  ASSERT_TRUE(t.ok()) << t.error().message;
  EXPECT_EQ(t->ranges, (std::vector<TimeRange>{{0, 120}, {200, 200}, {400, 460}}));
  EXPECT_EQ(t->segments, 5);
}

// The export_holds migration links each export to the hold it placed (found
// then by the reason's "export <id>:" prefix, same camera and range); a
// hand-made hold with other bounds, or another export's, is not taken.
TEST(StorageMigrations, ExportsLearnTheirHoldFromItsReason) {
  int version = 0;
  for (const auto& m : migrations())
    if (std::string_view(m.name).find("_export_holds.sql") != std::string_view::npos)
      version = m.version;
  ASSERT_GT(version, 1);
  TempDir dir;
  auto db = dir.path() / "zaulek.db";
  ASSERT_TRUE(create_at_version(db, version - 1).ok());
  {
    sqlite3* h = nullptr;
    ASSERT_EQ(sqlite3_open(db.c_str(), &h), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(h,
                           "INSERT INTO holds (id, camera_id, from_ns, to_ns, reason, created_by, "
                           "created_ns) VALUES "
                           "(1, 'cam-1', 0, 60, 'export exp-1: hand-made, other bounds', 'a', 1),"
                           "(2, 'cam-1', 0, 60, 'export exp-12: the other export', 'a', 1),"
                           "(3, 'cam-1', 10, 60, 'export exp-1: case', 'a', 1),"
                           "(4, 'cam-1', 10, 60, 'export exp-1: a copy', 'a', 1);"
                           "INSERT INTO exports (id, camera_id, from_ns, to_ns, state, created_by, "
                           "created_ns) VALUES ('exp-1', 'cam-1', 10, 60, 'done', 'a', 1),"
                           "('exp-2', 'cam-1', 0, 60, 'failed', 'a', 1),"
                           "('exp-12', 'cam-1', 0, 60, 'done', 'a', 1)",
                           nullptr, nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(h);
  }
  FakeClock clock;
  auto c = Catalog::open(db, clock);
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ((*c)->find_export("exp-1")->hold_id, std::optional<std::int64_t>(3));
  EXPECT_FALSE((*c)->find_export("exp-2")->hold_id.has_value());
  EXPECT_EQ((*c)->find_export("exp-12")->hold_id, std::optional<std::int64_t>(2));
}

TEST(StorageMigrations, DataSurvivesUpgradeFromVersionOne) {
  TempDir dir;
  auto db = dir.path() / "zaulek.db";
  ASSERT_TRUE(create_at_version(db, 1).ok());
  {
    sqlite3* h = nullptr;
    ASSERT_EQ(sqlite3_open(db.c_str(), &h), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(h,
                           "INSERT INTO users (name, role, password_hash, created_ns) "
                           "VALUES ('old', 'investigator', 'h', 5)",
                           nullptr, nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(h);
  }
  auto c = Catalog::open(db);
  ASSERT_TRUE(c.ok()) << c.error().message;
  auto u = (*c)->find_user("old");
  ASSERT_TRUE(u.ok()) << u.error().message;
  EXPECT_EQ(u->role, Role::investigator);
}

// Migration 0016: cameras from before keep TCP and the sub stream pulled
// while watched; the columns refuse anything else.
TEST(StorageMigrations, CamerasKeepTcpAndWatchedSubAcrossTheUpgrade) {
  TempDir dir;
  auto db = dir.path() / "zaulek.db";
  ASSERT_TRUE(create_at_version(db, 15).ok());
  {
    sqlite3* h = nullptr;
    ASSERT_EQ(sqlite3_open(db.c_str(), &h), SQLITE_OK);
    ASSERT_EQ(
        sqlite3_exec(h,
                     "INSERT INTO cameras (id, name, onvif_url, password_enc, created_ns, "
                     "updated_ns) VALUES ('cam-7', 'Old', 'http://127.0.0.1/onvif', x'', 1, 1)",
                     nullptr, nullptr, nullptr),
        SQLITE_OK);
    sqlite3_close(h);
  }
  FakeClock clock;
  auto c = Catalog::open(db, clock);
  ASSERT_TRUE(c.ok()) << c.error().message;
  auto cam = (*c)->find_camera("cam-7");
  ASSERT_TRUE(cam.ok()) << cam.error().message;
  EXPECT_EQ(cam->rtsp_transport, RtspTransport::tcp);
  EXPECT_EQ(cam->sub_pull, SubPull::watched);
  sqlite3* h = nullptr;
  ASSERT_EQ(sqlite3_open(db.c_str(), &h), SQLITE_OK);
  EXPECT_EQ(
      sqlite3_exec(h, "UPDATE cameras SET rtsp_transport = 'sctp'", nullptr, nullptr, nullptr),
      SQLITE_CONSTRAINT);
  EXPECT_EQ(sqlite3_exec(h, "UPDATE cameras SET sub_pull = 'never'", nullptr, nullptr, nullptr),
            SQLITE_CONSTRAINT);
  sqlite3_close(h);
}

// Migration 0011 gives sessions ids: a login from before stays valid.
TEST(StorageMigrations, SessionsSurviveTheUpgradeToSessionIds) {
  TempDir dir;
  auto db = dir.path() / "zaulek.db";
  ASSERT_TRUE(create_at_version(db, 10).ok());
  FakeClock clock;
  const auto now_ns = std::to_string(to_unix_ns(clock.realtime()));
  const auto later_ns = std::to_string(to_unix_ns(clock.realtime() + 1h));
  {
    sqlite3* h = nullptr;
    ASSERT_EQ(sqlite3_open(db.c_str(), &h), SQLITE_OK);
    const std::string sql =
        "INSERT INTO users (id, name, role, password_hash, created_ns) VALUES (1, 'old', "
        "'operator', 'h', 5); INSERT INTO sessions VALUES ('hash-a', 1, 'csrf', " +
        now_ns + ", " + later_ns + "); INSERT INTO sessions VALUES ('hash-b', 1, 'csrf', " +
        now_ns + ", " + later_ns + ");";
    ASSERT_EQ(sqlite3_exec(h, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(h);
  }
  auto c = Catalog::open(db, clock);
  ASSERT_TRUE(c.ok()) << c.error().message;
  auto a = (*c)->find_session("hash-a");
  auto b = (*c)->find_session("hash-b");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_GE(a->id, 1);
  EXPECT_NE(a->id, b->id);
  EXPECT_EQ(a->remote, "");
  EXPECT_EQ((*c)->list_user_sessions(1)->size(), 2u);
}

TEST(StorageMigrations, RefusesNewerDatabase) {
  TempDir dir;
  auto db = dir.path() / "zaulek.db";
  { ASSERT_TRUE(Catalog::open(db).ok()); }
  const int newer = Catalog::latest_schema_version() + 3;
  {
    sqlite3* h = nullptr;
    ASSERT_EQ(sqlite3_open(db.c_str(), &h), SQLITE_OK);
    std::string pragma = "PRAGMA user_version = " + std::to_string(newer);
    ASSERT_EQ(sqlite3_exec(h, pragma.c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(h);
  }
  auto c = Catalog::open(db);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().kind, ErrorKind::failed_precondition);
  EXPECT_EQ(c.error().message, "catalogue " + db.string() + " has schema version " +
                                   std::to_string(newer) + " but this zaulekd knows only up to " +
                                   std::to_string(Catalog::latest_schema_version()) +
                                   "; upgrade zaulekd");
  // Refusing did not touch the file.
  EXPECT_EQ(query_text(db, "PRAGMA user_version"), std::to_string(newer));
}

TEST(StorageMigrations, CorruptFileIsDataLossNotCrash) {
  TempDir dir;
  auto db = dir.path() / "zaulek.db";
  {
    std::ofstream f(db, std::ios::binary);
    for (int i = 0; i < 2000; ++i) f << "this is not an sqlite database " << i << '\n';
  }
  auto c = Catalog::open(db);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().kind, ErrorKind::data_loss);
  EXPECT_NE(c.error().message.find(db.string()), std::string::npos) << c.error().message;
}

TEST(StorageMigrations, DamagedPagesAreDataLoss) {
  TempDir dir;
  auto db = dir.path() / "zaulek.db";
  {
    auto c = Catalog::open(db);
    ASSERT_TRUE(c.ok());
    for (int i = 0; i < 300; ++i) {
      ASSERT_TRUE(
          (*c)->add_user("user" + std::to_string(i), Role::operator_, std::string(200, 'h')).ok());
    }
  }
  // Fold the WAL into the main file, then scribble over pages after the header.
  ASSERT_EQ(query_text(db, "PRAGMA wal_checkpoint(TRUNCATE)").substr(0, 1), "0");
  auto size = std::filesystem::file_size(db);
  ASSERT_GT(size, 8192u);
  {
    std::fstream f(db, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(4096);
    std::string junk(size - 4096, '\xA5');
    f.write(junk.data(), static_cast<std::streamsize>(junk.size()));
  }
  auto c = Catalog::open(db);
  if (c.ok()) {
    // Opening may not touch a damaged page; reading or checking must say so.
    auto users = (*c)->list_users();
    auto check = (*c)->integrity_check();
    ASSERT_FALSE(users.ok() && check.ok());
    if (!users.ok()) {
      EXPECT_EQ(users.error().kind, ErrorKind::data_loss) << users.error().message;
    }
    if (!check.ok()) {
      EXPECT_EQ(check.error().kind, ErrorKind::data_loss) << check.error().message;
    }
  } else {
    EXPECT_EQ(c.error().kind, ErrorKind::data_loss) << c.error().message;
  }
}

TEST(StorageMigrations, MissingDirectoryIsAClearError) {
  TempDir dir;
  auto db = dir.path() / "no" / "such" / "zaulek.db";
  auto c = Catalog::open(db);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().kind, ErrorKind::unavailable);
  EXPECT_NE(c.error().message.find(db.string()), std::string::npos) << c.error().message;
}

TEST_F(StorageCatalogTest, IntegrityCheckPassesOnHealthyFile) {
  EXPECT_TRUE(cat_->integrity_check().ok());
}

// ---- users ----

TEST_F(StorageCatalogTest, AddFindListUsers) {
  auto a = cat_->add_user("alice", Role::administrator, "$argon2id$a");
  ASSERT_TRUE(a.ok()) << a.error().message;
  EXPECT_GT(a->id, 0);
  EXPECT_EQ(a->created, clock_.realtime());
  ASSERT_TRUE(cat_->add_user("bob", Role::investigator, "$argon2id$b").ok());

  auto by_name = cat_->find_user("alice");
  ASSERT_TRUE(by_name.ok());
  EXPECT_EQ(by_name->id, a->id);
  EXPECT_EQ(by_name->role, Role::administrator);
  EXPECT_EQ(by_name->password_hash, "$argon2id$a");
  EXPECT_EQ(by_name->created, clock_.realtime());
  EXPECT_FALSE(by_name->disabled);

  auto by_id = cat_->find_user(a->id);
  ASSERT_TRUE(by_id.ok());
  EXPECT_EQ(by_id->name, "alice");

  auto all = cat_->list_users();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].name, "alice");
  EXPECT_EQ((*all)[1].name, "bob");
}

TEST_F(StorageCatalogTest, DuplicateUserIsAlreadyExists) {
  ASSERT_TRUE(cat_->add_user("alice", Role::operator_, "h").ok());
  auto again = cat_->add_user("alice", Role::administrator, "h2");
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().kind, ErrorKind::already_exists);
  EXPECT_EQ(again.error().message, "user 'alice' already exists");
}

TEST_F(StorageCatalogTest, BadUserNamesAreInvalidArgument) {
  EXPECT_EQ(cat_->add_user("", Role::operator_, "h").error().kind, ErrorKind::invalid_argument);
  EXPECT_EQ(cat_->add_user(std::string(65, 'x'), Role::operator_, "h").error().kind,
            ErrorKind::invalid_argument);
}

TEST_F(StorageCatalogTest, UnknownUserIsNotFound) {
  EXPECT_EQ(cat_->find_user("nobody").error().kind, ErrorKind::not_found);
  EXPECT_EQ(cat_->find_user(std::int64_t{42}).error().kind, ErrorKind::not_found);
  EXPECT_EQ(cat_->set_user_disabled(42, true).error().kind, ErrorKind::not_found);
}

TEST_F(StorageCatalogTest, UpdateUser) {
  auto a = cat_->add_user("alice", Role::operator_, "h1");
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(cat_->set_user_disabled(a->id, true).ok());
  ASSERT_TRUE(cat_->set_user_password(a->id, "h2").ok());
  ASSERT_TRUE(cat_->set_user_role(a->id, Role::investigator).ok());
  auto u = cat_->find_user("alice");
  ASSERT_TRUE(u.ok());
  EXPECT_TRUE(u->disabled);
  EXPECT_EQ(u->password_hash, "h2");
  EXPECT_EQ(u->role, Role::investigator);
}

TEST_F(StorageCatalogTest, LastEnabledAdministratorKeepsTheRole) {
  auto a = cat_->add_user("alice", Role::administrator, "h");
  auto b = cat_->add_user("bob", Role::administrator, "h");
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_TRUE(cat_->set_user_disabled(b->id, true).ok());
  auto refused = cat_->set_user_role(a->id, Role::operator_);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().kind, ErrorKind::failed_precondition);
  EXPECT_EQ(cat_->find_user("alice")->role, Role::administrator);
  // A disabled administrator may be made something else; with another
  // enabled administrator, so may this one.
  ASSERT_TRUE(cat_->set_user_role(b->id, Role::investigator).ok());
  ASSERT_TRUE(cat_->set_user_role(b->id, Role::administrator).ok());
  ASSERT_TRUE(cat_->set_user_disabled(b->id, false).ok());
  ASSERT_TRUE(cat_->set_user_role(a->id, Role::operator_).ok());
  EXPECT_EQ(cat_->find_user("alice")->role, Role::operator_);
  EXPECT_EQ(cat_->set_user_role(42, Role::operator_).error().kind, ErrorKind::not_found);
}

// ---- sessions ----

TEST_F(StorageCatalogTest, SessionExpiresWithTheClock) {
  auto a = cat_->add_user("alice", Role::operator_, "h");
  ASSERT_TRUE(a.ok());
  Session s{"hash1", a->id, "csrf1", clock_.realtime(), clock_.realtime() + 1h};
  ASSERT_TRUE(cat_->add_session(s).ok());

  auto found = cat_->find_session("hash1");
  ASSERT_TRUE(found.ok()) << found.error().message;
  EXPECT_EQ(found->user_id, a->id);
  EXPECT_EQ(found->csrf_token, "csrf1");
  EXPECT_EQ(found->expires, s.expires);

  clock_.advance(59min);
  EXPECT_TRUE(cat_->find_session("hash1").ok());
  clock_.advance(1min);
  auto expired = cat_->find_session("hash1");
  ASSERT_FALSE(expired.ok());
  EXPECT_EQ(expired.error().kind, ErrorKind::not_found);

  // The expired row is gone after the sweep; a fresh one stays.
  ASSERT_TRUE(
      cat_->add_session({"hash2", a->id, "c", clock_.realtime(), clock_.realtime() + 1h}).ok());
  ASSERT_TRUE(cat_->delete_expired_sessions().ok());
  EXPECT_EQ(query_text(dir_.path() / "zaulek.db", "SELECT count(*) FROM sessions"), "1");
  EXPECT_TRUE(cat_->find_session("hash2").ok());
}

TEST_F(StorageCatalogTest, SessionDeleteAndCascade) {
  auto a = cat_->add_user("alice", Role::operator_, "h");
  ASSERT_TRUE(a.ok());
  auto later = clock_.realtime() + 1h;
  ASSERT_TRUE(cat_->add_session({"t1", a->id, "c", clock_.realtime(), later}).ok());
  ASSERT_TRUE(cat_->add_session({"t2", a->id, "c", clock_.realtime(), later}).ok());
  ASSERT_TRUE(cat_->delete_session("t1").ok());
  EXPECT_EQ(cat_->find_session("t1").error().kind, ErrorKind::not_found);
  EXPECT_TRUE(cat_->delete_session("t1").ok());  // idempotent logout
  ASSERT_TRUE(cat_->delete_user_sessions(a->id).ok());
  EXPECT_EQ(cat_->find_session("t2").error().kind, ErrorKind::not_found);
}

TEST_F(StorageCatalogTest, SessionsHaveIdsListAndEndByUser) {
  auto a = cat_->add_user("alice", Role::operator_, "h");
  auto b = cat_->add_user("bob", Role::operator_, "h");
  ASSERT_TRUE(a.ok() && b.ok());
  auto later = clock_.realtime() + 1h;
  Session s1{"t1", a->id, "c", clock_.realtime(), later};
  s1.remote = "127.0.0.2";
  auto id1 = cat_->add_session(s1);
  auto id2 = cat_->add_session({"t2", a->id, "c", clock_.realtime(), later});
  auto id3 = cat_->add_session({"t3", a->id, "c", clock_.realtime(), later});
  auto idb = cat_->add_session({"tb", b->id, "c", clock_.realtime(), later});
  ASSERT_TRUE(id1.ok() && id2.ok() && id3.ok() && idb.ok());
  EXPECT_LT(*id1, *id2);
  auto found = cat_->find_session("t1");
  ASSERT_TRUE(found.ok());
  EXPECT_EQ(found->id, *id1);
  EXPECT_EQ(found->remote, "127.0.0.2");
  auto by_id = cat_->find_session_by_id(*id2);
  ASSERT_TRUE(by_id.ok());
  EXPECT_EQ(by_id->token_hash, "t2");
  auto listed = cat_->list_user_sessions(a->id);
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 3u);
  EXPECT_EQ((*listed)[0].id, *id1);
  // One by id; not_found twice.
  ASSERT_TRUE(cat_->delete_session_by_id(*id2).ok());
  EXPECT_EQ(cat_->delete_session_by_id(*id2).error().kind, ErrorKind::not_found);
  EXPECT_EQ(cat_->find_session_by_id(*id2).error().kind, ErrorKind::not_found);
  // All of a user's but one: the ids of those ended; bob's untouched.
  auto ended = cat_->delete_user_sessions(a->id, *id1);
  ASSERT_TRUE(ended.ok());
  EXPECT_EQ(*ended, std::vector<std::int64_t>{*id3});
  EXPECT_TRUE(cat_->find_session("t1").ok());
  EXPECT_TRUE(cat_->find_session("tb").ok());
  // A deleted id is never given again.
  auto id4 = cat_->add_session({"t4", a->id, "c", clock_.realtime(), later});
  ASSERT_TRUE(id4.ok());
  EXPECT_GT(*id4, *idb);
  // Expired sessions are neither found by id nor listed.
  clock_.advance(2h);
  EXPECT_EQ(cat_->find_session_by_id(*id1).error().kind, ErrorKind::not_found);
  EXPECT_TRUE(cat_->list_user_sessions(a->id)->empty());
}

TEST_F(StorageCatalogTest, TheLastEnabledAdministratorCannotBeDisabled) {
  auto a = cat_->add_user("adam", Role::administrator, "h");
  auto o = cat_->add_user("olga", Role::operator_, "h");
  ASSERT_TRUE(a.ok() && o.ok());
  ASSERT_TRUE(cat_->set_user_disabled(o->id, true).ok());  // not an administrator
  auto r = cat_->set_user_disabled(a->id, true);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::failed_precondition);
  EXPECT_EQ(r.error().message,
            "'adam' is the last enabled administrator; enable or add another first");
  auto b = cat_->add_user("beata", Role::administrator, "h");
  ASSERT_TRUE(b.ok());
  ASSERT_TRUE(cat_->set_user_disabled(a->id, true).ok());
  EXPECT_EQ(cat_->set_user_disabled(b->id, true).error().kind, ErrorKind::failed_precondition);
  EXPECT_TRUE(cat_->set_user_disabled(a->id, true).ok());  // already disabled: no change
  EXPECT_TRUE(cat_->set_user_disabled(a->id, false).ok());
  EXPECT_TRUE(cat_->set_user_disabled(b->id, true).ok());
  EXPECT_EQ(cat_->set_user_disabled(999, true).error().kind, ErrorKind::not_found);
}

TEST_F(StorageCatalogTest, SessionForUnknownUserIsNotFound) {
  auto r = cat_->add_session({"t", 999, "c", clock_.realtime(), clock_.realtime() + 1h});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::not_found);
  EXPECT_EQ(r.error().message.find("\"t\""), std::string::npos);
}

TEST_F(StorageCatalogTest, DuplicateSessionIsAlreadyExists) {
  auto a = cat_->add_user("alice", Role::operator_, "h");
  ASSERT_TRUE(a.ok());
  Session s{"secret-token-hash", a->id, "c", clock_.realtime(), clock_.realtime() + 1h};
  ASSERT_TRUE(cat_->add_session(s).ok());
  auto again = cat_->add_session(s);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().kind, ErrorKind::already_exists);
  // No secret in the message.
  EXPECT_EQ(again.error().message.find("secret-token-hash"), std::string::npos);
}

// ---- audit ----

TEST_F(StorageCatalogTest, AuditAppendAndList) {
  for (int i = 0; i < 5; ++i) {
    AuditEntry e;
    e.actor = "alice";
    e.action = "camera.add";
    e.target = "camera:cam-" + std::to_string(i);
    e.detail = R"({"n":)" + std::to_string(i) + "}";
    e.remote = "127.0.0.1";
    ASSERT_TRUE(cat_->audit(e).ok());
    clock_.advance(1s);
  }
  auto first = cat_->list_audit(0, 3);
  ASSERT_TRUE(first.ok());
  ASSERT_EQ(first->size(), 3u);
  EXPECT_EQ((*first)[0].target, "camera:cam-0");
  EXPECT_EQ((*first)[0].detail, R"({"n":0})");
  EXPECT_EQ((*first)[0].remote, "127.0.0.1");
  EXPECT_EQ((*first)[1].time - (*first)[0].time, 1s);
  auto rest = cat_->list_audit((*first)[2].id, 100);
  ASSERT_TRUE(rest.ok());
  ASSERT_EQ(rest->size(), 2u);
  EXPECT_EQ((*rest)[1].target, "camera:cam-4");
  EXPECT_GT((*rest)[0].id, (*first)[2].id);
}

// A user restricted to some cameras reads only the entries every camera of
// which it may see: the target camera:<id>, a string camera_id in detail,
// the strings of "cameras", "from" and "to" arrays (a rule, a user's
// visibility change). An entry that names no camera is read by all.
TEST_F(StorageCatalogTest, AuditListedForACameraSet) {
  auto add = [&](std::string action, std::string target, std::string detail) {
    AuditEntry e;
    e.actor = "alice";
    e.action = std::move(action);
    e.target = std::move(target);
    e.detail = std::move(detail);
    ASSERT_TRUE(cat_->audit(e).ok());
  };
  add("camera.add", "camera:cam-a", "{}");
  add("camera.add", "camera:cam-b", R"({"camera_id":"cam-a"})");  // names both
  add("alarm.ack", "alarm:7", R"({"camera_id":"cam-a"})");
  add("alarm.ack", "alarm:8", R"({"camera_id":"cam-b"})");
  add("alarm.ack", "alarm:9", R"({"camera_id":9})");  // not a camera id: about no camera
  add("user.create", "user:bob", "{}");
  add("user.cameras", "user:carl", R"({"from":null,"to":["cam-a","cam-b"]})");
  add("user.cameras", "user:dora", R"({"from":["cam-a"],"to":["cam-a"]})");
  add("rule.add", "rule:r1", R"({"id":"r1","cameras":["cam-b"],"kinds":["motion"]})");
  add("rule.add", "rule:r2", R"({"id":"r2","cameras":[],"kinds":["motion"]})");     // every camera
  add("camera.moved", "camera:cam-a", R"({"from":"http://a/","to":"http://b/"})");  // URLs
  auto actions = [&](const std::optional<std::vector<std::string>>& cams) {
    std::vector<std::string> out;
    auto rows = cat_->list_audit(0, 100, cams);
    EXPECT_TRUE(rows.ok());
    if (rows)
      for (const auto& e : *rows) out.push_back(e.target);
    return out;
  };
  EXPECT_EQ(actions(std::vector<std::string>{"cam-a"}),
            (std::vector<std::string>{"camera:cam-a", "alarm:7", "alarm:9", "user:bob", "user:dora",
                                      "rule:r2", "camera:cam-a"}));
  EXPECT_EQ(actions(std::vector<std::string>{"cam-b"}),
            (std::vector<std::string>{"alarm:8", "alarm:9", "user:bob", "rule:r1", "rule:r2"}));
  EXPECT_EQ(actions(std::vector<std::string>{"cam-a", "cam-b"}).size(), 11u);
  EXPECT_EQ(actions(std::vector<std::string>{}),
            (std::vector<std::string>{"alarm:9", "user:bob", "rule:r2"}));
  EXPECT_EQ(actions(std::nullopt).size(), 11u);
  using V = std::vector<std::string>;
  EXPECT_EQ(audit_cameras("camera:cam-b", R"({"camera_id":"cam-a"})"), (V{"cam-b", "cam-a"}));
  EXPECT_EQ(audit_cameras("alarm:8", R"({"camera_id":"cam-b"})"), V{"cam-b"});
  EXPECT_EQ(audit_cameras("alarm:9", R"({"camera_id":9})"), V{});
  EXPECT_EQ(audit_cameras("user:bob", "not json"), V{});
  EXPECT_EQ(audit_cameras("user:carl", R"({"from":["x"],"to":["y",3]})"), (V{"x", "y"}));
  EXPECT_EQ(audit_cameras("rule:r1", R"({"cameras":["cam-b"]})"), V{"cam-b"});
  EXPECT_EQ(audit_cameras("camera:c", R"({"from":"http://a/","to":"http://b/"})"), V{"c"});
}

TEST_F(StorageCatalogTest, AuditRejectsBadInput) {
  AuditEntry e;
  e.actor = "alice";
  e.action = "user.create";
  e.detail = "{not json";
  auto r = cat_->audit(e);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::invalid_argument);
  e.detail = "";
  EXPECT_TRUE(cat_->audit(e).ok());  // empty detail is stored as {}
  auto l = cat_->list_audit(0, 10);
  ASSERT_TRUE(l.ok());
  ASSERT_EQ(l->size(), 1u);
  EXPECT_EQ((*l)[0].detail, "{}");
  EXPECT_EQ(cat_->list_audit(0, 0).error().kind, ErrorKind::invalid_argument);
  EXPECT_EQ(cat_->list_audit(0, Catalog::kMaxListLimit + 1).error().kind,
            ErrorKind::invalid_argument);
  e.action = "";
  EXPECT_EQ(cat_->audit(e).error().kind, ErrorKind::invalid_argument);
}

TEST_F(StorageCatalogTest, AuditIsAppendOnlyEvenInSql) {
  ASSERT_TRUE(cat_->audit({0, {}, "system", "start", "", "{}", ""}).ok());
  sqlite3* h = nullptr;
  ASSERT_EQ(sqlite3_open((dir_.path() / "zaulek.db").c_str(), &h), SQLITE_OK);
  EXPECT_EQ(sqlite3_exec(h, "DELETE FROM audit", nullptr, nullptr, nullptr), SQLITE_CONSTRAINT);
  EXPECT_EQ(sqlite3_exec(h, "UPDATE audit SET actor = 'x'", nullptr, nullptr, nullptr),
            SQLITE_CONSTRAINT);
  sqlite3_close(h);
  auto l = cat_->list_audit(0, 10);
  ASSERT_TRUE(l.ok());
  ASSERT_EQ(l->size(), 1u);
  EXPECT_EQ((*l)[0].actor, "system");
}

// ---- concurrency ----

TEST_F(StorageCatalogTest, ReadersRunWhileWriterWrites) {
  constexpr int kWrites = 400;
  std::atomic<bool> done{false};
  std::atomic<int> reads{0};
  std::atomic<int> read_errors{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 3; ++t) {
    readers.emplace_back([&] {
      std::size_t last = 0;
      // Bounded: stops when the writer is done, or after 200000 reads.
      for (int i = 0; i < 200000 && !done.load(); ++i) {
        auto l = cat_->list_audit(0, Catalog::kMaxListLimit);
        if (!l.ok()) {
          ++read_errors;
          continue;
        }
        // Readers see a growing prefix of the trail, never a torn state.
        if (l->size() < last) ++read_errors;
        last = l->size();
        ++reads;
      }
    });
  }
  for (int i = 0; i < kWrites; ++i) {
    ASSERT_TRUE(cat_->audit({0, {}, "w", "write", std::to_string(i), "{}", ""}).ok());
  }
  done = true;
  for (auto& t : readers) t.join();
  EXPECT_EQ(read_errors.load(), 0);
  EXPECT_GT(reads.load(), 0);
  auto l = cat_->list_audit(0, Catalog::kMaxListLimit);
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(l->size(), static_cast<std::size_t>(kWrites));
}

TEST_F(StorageCatalogTest, ConcurrentWritersAreSerialized) {
  std::vector<std::thread> writers;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t) {
    writers.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        if (!cat_->add_user("u" + std::to_string(t) + "-" + std::to_string(i), Role::operator_, "h")
                 .ok())
          ++failures;
      }
    });
  }
  for (auto& t : writers) t.join();
  EXPECT_EQ(failures.load(), 0);
  auto all = cat_->list_users();
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 200u);
}

}  // namespace
}  // namespace zaulek::storage

namespace zaulek::storage {
namespace {

TEST_F(StorageCatalogTest, HostileSizesAndBytesAreRejectedNotStored) {
  EXPECT_EQ(cat_->add_user(std::string("al\0ice", 6), Role::operator_, "h").error().kind,
            ErrorKind::invalid_argument);
  EXPECT_EQ(cat_->add_user("alice", Role::operator_, "").error().kind, ErrorKind::invalid_argument);
  AuditEntry big{0, {}, "alice", "x", "", "[" + std::string(Catalog::kMaxAuditDetail, '1') + "]",
                 ""};
  EXPECT_EQ(cat_->audit(big).error().kind, ErrorKind::invalid_argument);
  AuditEntry deep{0, {}, "alice", "x", "", std::string(5000, '[') + std::string(5000, ']'), ""};
  // Deep nesting within the size bound: SQLite's JSON parser refuses it without crashing.
  auto r = cat_->audit(deep);
  EXPECT_FALSE(r.ok());
  Event e{0, "cam-1", 0, "motion", "start", "t", std::string(10000, ' '), "{}"};
  EXPECT_EQ(cat_->add_events({e}).error().kind, ErrorKind::invalid_argument);
  // UTF-8 names are fine and come back byte for byte.
  ASSERT_TRUE(cat_->add_user("Zażółć", Role::operator_, "h").ok());
  auto u = cat_->find_user("Zażółć");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->name, "Zażółć");
  EXPECT_TRUE(cat_->list_audit(0, 10)->empty());
}

}  // namespace
}  // namespace zaulek::storage
