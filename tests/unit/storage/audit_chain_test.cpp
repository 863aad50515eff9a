// The audit hash chain on a real SQLite file: links, what verify_audit finds
// after tampering done with a side connection (as someone with write access
// to the file would), and the migration of a catalogue written before it.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <string>
#include <thread>
#include <vector>

#include "core/crypto.h"
#include "storage/catalog.h"
#include "storage/migrations.h"
#include "tests/unit/storage/test_dir.h"

namespace zaulek::storage {
namespace {

using testing::TempDir;

// Runs SQL on a side connection with the append-only triggers dropped first
// (an attacker with write access can do the same).
void tamper(const std::filesystem::path& db, const std::string& sql) {
  sqlite3* h = nullptr;
  ASSERT_EQ(sqlite3_open(db.c_str(), &h), SQLITE_OK);
  std::string all =
      "DROP TRIGGER IF EXISTS audit_no_update; DROP TRIGGER IF EXISTS audit_no_delete; " + sql;
  char* err = nullptr;
  int rc = sqlite3_exec(h, all.c_str(), nullptr, nullptr, &err);
  std::string message = err ? err : "";
  sqlite3_free(err);
  sqlite3_close(h);
  ASSERT_EQ(rc, SQLITE_OK) << message;
}

class AuditChainTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto c = Catalog::open(db_, clock_);
    ASSERT_TRUE(c.ok()) << c.error().message;
    cat_ = std::move(*c);
    for (int i = 1; i <= 5; ++i) {
      AuditEntry e;
      e.actor = i % 2 ? "alice" : "bob";
      e.action = "camera.update";
      e.target = "camera:cam-" + std::to_string(i);
      e.detail = R"({"n":)" + std::to_string(i) + "}";
      e.remote = "192.0.2." + std::to_string(i);
      ASSERT_TRUE(cat_->audit(e).ok());
      clock_.advance(std::chrono::seconds{1});
    }
  }
  AuditVerification verify(const std::optional<AuditHead>& expected = std::nullopt) {
    auto v = cat_->verify_audit(expected);
    EXPECT_TRUE(v.ok()) << v.error().message;
    return v.ok() ? *v : AuditVerification{};
  }
  TempDir dir_;
  std::filesystem::path db_ = dir_.path() / "zaulek.db";
  FakeClock clock_;
  std::unique_ptr<Catalog> cat_;
};

TEST(AuditCanonical, LengthPrefixedFieldsInOrder) {
  EXPECT_EQ(audit_canonical(7, 1700000000000000000, "alice", "user.create", "user:bob", "{}", "::1",
                            kAuditGenesis),
            "15:zaulek-audit-v1,1:7,19:1700000000000000000,5:alice,11:user.create,8:user:bob,"
            "2:{},3:::1,64:" +
                std::string(kAuditGenesis) + ",");
  // A byte moved from one field into the next gives another encoding.
  EXPECT_NE(audit_hash(1, 1, "ab", "c", "", "{}", "", kAuditGenesis),
            audit_hash(1, 1, "a", "bc", "", "{}", "", kAuditGenesis));
  EXPECT_EQ(audit_hash(1, 1, "a", "b", "", "{}", "", kAuditGenesis),
            crypto::sha256_hex(audit_canonical(1, 1, "a", "b", "", "{}", "", kAuditGenesis)));
}

TEST_F(AuditChainTest, EachEntryLinksToThePreviousOne) {
  auto rows = cat_->list_audit(0, 100);
  ASSERT_TRUE(rows.ok()) << rows.error().message;
  ASSERT_EQ(rows->size(), 5u);
  std::string prev(kAuditGenesis);
  for (const auto& e : *rows) {
    SCOPED_TRACE(e.id);
    EXPECT_EQ(e.prev_hash, prev);
    EXPECT_EQ(
        e.hash,
        audit_hash(
            e.id,
            std::chrono::duration_cast<std::chrono::nanoseconds>(e.time.time_since_epoch()).count(),
            e.actor, e.action, e.target, e.detail, e.remote, e.prev_hash));
    EXPECT_EQ(e.hash.size(), 64u);
    prev = e.hash;
  }
  auto head = cat_->audit_head();
  ASSERT_TRUE(head.ok());
  EXPECT_EQ(*head, (AuditHead{5, prev}));
  auto v = verify();
  EXPECT_TRUE(v.intact) << v.problem;
  EXPECT_EQ(v.checked, 5);
  EXPECT_EQ(v.head, (AuditHead{5, prev}));
}

TEST(AuditChainEmpty, EmptyTrailIsIntactWithTheGenesisHead) {
  TempDir dir;
  auto c = Catalog::open(dir.path() / "zaulek.db");
  ASSERT_TRUE(c.ok()) << c.error().message;
  auto v = (*c)->verify_audit();
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v->intact);
  EXPECT_EQ(v->checked, 0);
  EXPECT_EQ(v->head, AuditHead{});
  auto head = (*c)->audit_head();
  ASSERT_TRUE(head.ok());
  EXPECT_EQ(*head, (AuditHead{0, std::string(kAuditGenesis)}));
}

TEST_F(AuditChainTest, ChangedDetailIsNamed) {
  tamper(db_, R"(UPDATE audit SET detail = '{"n":33}' WHERE id = 3)");
  auto v = verify();
  EXPECT_FALSE(v.intact);
  EXPECT_EQ(v.bad_id, 3);
  EXPECT_EQ(v.checked, 2);
  EXPECT_EQ(v.problem, "entry 3 was changed: its content does not match its hash");
}

TEST_F(AuditChainTest, ChangedActorIsNamed) {
  tamper(db_, "UPDATE audit SET actor = 'mallory' WHERE id = 4");
  auto v = verify();
  EXPECT_FALSE(v.intact);
  EXPECT_EQ(v.bad_id, 4);
  EXPECT_EQ(v.problem, "entry 4 was changed: its content does not match its hash");
}

TEST_F(AuditChainTest, RehashedEntryBreaksTheNextLink) {
  // Someone who knows the encoding rewrites entry 2 with a matching hash:
  // entry 3 still names the old one.
  auto rows = cat_->list_audit(0, 100);
  ASSERT_TRUE(rows.ok());
  const auto& e = (*rows)[1];
  const std::int64_t t =
      std::chrono::duration_cast<std::chrono::nanoseconds>(e.time.time_since_epoch()).count();
  std::string h = audit_hash(2, t, "mallory", e.action, e.target, e.detail, e.remote, e.prev_hash);
  tamper(db_, "UPDATE audit SET actor = 'mallory', hash = '" + h + "' WHERE id = 2");
  auto v = verify();
  EXPECT_FALSE(v.intact);
  EXPECT_EQ(v.bad_id, 3);
  EXPECT_EQ(v.problem,
            "entry 3 does not follow entry 2: the order was changed or entry 2 was replaced");
}

TEST_F(AuditChainTest, DeletedMiddleEntryIsNamed) {
  tamper(db_, "DELETE FROM audit WHERE id = 3");
  auto v = verify();
  EXPECT_FALSE(v.intact);
  EXPECT_EQ(v.bad_id, 3);
  EXPECT_EQ(v.problem, "entry 3 is missing (entry 2 is followed by entry 4)");
}

TEST_F(AuditChainTest, DeletedFirstEntryIsNamed) {
  tamper(db_, "DELETE FROM audit WHERE id = 1");
  auto v = verify();
  EXPECT_FALSE(v.intact);
  EXPECT_EQ(v.bad_id, 1);
  EXPECT_EQ(v.problem, "entry 1 is missing (the trail starts at entry 2)");
}

TEST_F(AuditChainTest, SwappedEntriesAreNamed) {
  // Rows 2 and 3 trade places: every column but the id, hashes included.
  tamper(db_,
         "CREATE TEMP TABLE t AS SELECT * FROM audit WHERE id IN (2, 3);"
         "UPDATE audit SET (time_ns, actor, action, target, detail, remote, prev_hash, hash) = "
         "(SELECT time_ns, actor, action, target, detail, remote, prev_hash, hash FROM t "
         " WHERE t.id = 5 - audit.id) WHERE id IN (2, 3);");
  auto v = verify();
  EXPECT_FALSE(v.intact);
  EXPECT_EQ(v.bad_id, 2);
  EXPECT_EQ(v.problem, "entry 2 was changed: its content does not match its hash");
}

TEST_F(AuditChainTest, RenumberedEntriesAreNamed) {
  // Entry 3 deleted and the later ones moved down to close the gap.
  tamper(db_, "DELETE FROM audit WHERE id = 3; UPDATE audit SET id = id - 1 WHERE id > 3;");
  auto v = verify();
  EXPECT_FALSE(v.intact);
  EXPECT_EQ(v.bad_id, 3);
  EXPECT_EQ(v.problem, "entry 3 was changed: its content does not match its hash");
}

TEST_F(AuditChainTest, DeletedLastEntryShowsOnlyAgainstAnEarlierHead) {
  // A removed tail leaves a shorter chain that is intact in itself: verify
  // alone cannot see it (documented). The head written to the log before
  // does: it no longer matches, and verify given that head names the entry.
  auto before = cat_->audit_head();
  ASSERT_TRUE(before.ok());
  tamper(db_, "DELETE FROM audit WHERE id = 5");
  auto v = verify();
  EXPECT_TRUE(v.intact) << v.problem;
  EXPECT_EQ(v.checked, 4);
  auto after = cat_->audit_head();
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->id, 4);
  EXPECT_NE(*after, *before);
  auto given = verify(*before);
  EXPECT_FALSE(given.intact);
  EXPECT_EQ(given.bad_id, 5);
  EXPECT_EQ(given.problem,
            "entry 5 (the head given) is missing: the trail ends at entry 4, its tail was removed");
}

TEST_F(AuditChainTest, ReplacedLastEntryShowsAgainstAnEarlierHead) {
  auto before = cat_->audit_head();
  ASSERT_TRUE(before.ok());
  tamper(db_, "DELETE FROM audit WHERE id = 5");
  AuditEntry e;
  e.actor = "mallory";
  e.action = "camera.update";
  ASSERT_TRUE(cat_->audit(e).ok());  // appended through the catalogue: a valid chain again
  EXPECT_TRUE(verify().intact);
  auto given = verify(*before);
  EXPECT_FALSE(given.intact);
  EXPECT_EQ(given.bad_id, 5);
  EXPECT_EQ(given.problem, "entry 5 differs from the head given (" + before->hash + ")");
  // An earlier head that is still there is accepted.
  auto rows = cat_->list_audit(0, 3);
  ASSERT_TRUE(rows.ok());
  EXPECT_TRUE(verify(AuditHead{3, (*rows)[2].hash}).intact);
}

TEST_F(AuditChainTest, ConcurrentWritersKeepOneChain) {
  // Two catalogues on the same file (as zaulekd and `zaulekd user add`) and
  // two threads each: the file's write lock orders them into one chain.
  auto other = Catalog::open(db_, clock_);
  ASSERT_TRUE(other.ok()) << other.error().message;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    Catalog* c = t % 2 ? other->get() : cat_.get();
    threads.emplace_back([c, t] {
      for (int i = 0; i < 25; ++i) {
        AuditEntry e;
        e.actor = "writer-" + std::to_string(t);
        e.action = "test.write";
        e.target = std::to_string(i);
        EXPECT_TRUE(c->audit(e).ok());
      }
    });
  }
  for (auto& th : threads) th.join();
  auto v = verify();
  EXPECT_TRUE(v.intact) << v.problem;
  EXPECT_EQ(v.checked, 105);
  EXPECT_EQ(v.head.id, 105);
}

TEST(AuditChainMigration, EntriesWrittenBeforeAreChainedInIdOrder) {
  TempDir dir;
  auto db = dir.path() / "zaulek.db";
  const int chain_version = 10;  // 0010_audit_chain.sql
  ASSERT_TRUE(create_at_version(db, chain_version - 1).ok());
  {
    sqlite3* h = nullptr;
    ASSERT_EQ(sqlite3_open(db.c_str(), &h), SQLITE_OK);
    ASSERT_EQ(
        sqlite3_exec(h,
                     "INSERT INTO audit (time_ns, actor, action, target, detail, remote) "
                     "VALUES (100, 'cli', 'user.create', 'user:alice', '{\"role\":\"a\"}', ''),"
                     " (200, 'alice', 'auth.login', '', '{}', '10.0.0.1'),"
                     " (300, 'alice', 'camera.add', 'camera:cam-1', '{}', '10.0.0.1')",
                     nullptr, nullptr, nullptr),
        SQLITE_OK);
    sqlite3_close(h);
  }
  FakeClock clock;
  auto c = Catalog::open(db, clock);
  ASSERT_TRUE(c.ok()) << c.error().message;
  auto rows = (*c)->list_audit(0, 100);
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 3u);
  EXPECT_EQ((*rows)[0].prev_hash, kAuditGenesis);
  EXPECT_EQ((*rows)[0].hash, audit_hash(1, 100, "cli", "user.create", "user:alice",
                                        R"({"role":"a"})", "", kAuditGenesis));
  EXPECT_EQ((*rows)[1].prev_hash, (*rows)[0].hash);
  EXPECT_EQ((*rows)[1].hash,
            audit_hash(2, 200, "alice", "auth.login", "", "{}", "10.0.0.1", (*rows)[0].hash));
  EXPECT_EQ((*rows)[2].prev_hash, (*rows)[1].hash);
  // New entries continue the same chain, and the trail stays append-only.
  AuditEntry e;
  e.actor = "system";
  e.action = "start";
  ASSERT_TRUE((*c)->audit(e).ok());
  auto v = (*c)->verify_audit();
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v->intact) << v->problem;
  EXPECT_EQ(v->checked, 4);
  sqlite3* h = nullptr;
  ASSERT_EQ(sqlite3_open(db.c_str(), &h), SQLITE_OK);
  EXPECT_EQ(sqlite3_exec(h, "UPDATE audit SET actor = 'x' WHERE id = 1", nullptr, nullptr, nullptr),
            SQLITE_CONSTRAINT);
  sqlite3_close(h);
}

TEST(AuditChainMigration, EmptyTrailMigratesToAnEmptyChain) {
  TempDir dir;
  auto db = dir.path() / "zaulek.db";
  ASSERT_TRUE(create_at_version(db, 9).ok());
  auto c = Catalog::open(db);
  ASSERT_TRUE(c.ok()) << c.error().message;
  auto v = (*c)->verify_audit();
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v->intact);
  EXPECT_EQ(v->checked, 0);
}

}  // namespace
}  // namespace zaulek::storage
