// storage/sqlite.h: the helpers every catalogue query goes through (bind_all,
// execute, query_one, query_all), the reader pool and the durable scope, on a
// real file.
#include "storage/sqlite.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/unit/storage/test_dir.h"

namespace zaulek::storage::sql {
namespace {

using testing::TempDir;

class SqliteTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto c = Connection::open(dir_.path() / "t.db", true);
    ASSERT_TRUE(c.ok()) << c.error().message;
    db_ = std::move(*c);
    ASSERT_TRUE(db_->exec("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, "
                          "n INTEGER, blob BLOB)")
                    .ok());
  }

  Status add(std::int64_t id, const std::string& name, std::optional<std::int64_t> n) {
    return execute(*db_, "INSERT INTO t (id, name, n, blob) VALUES (?1, ?2, ?3, ?4)", id, name, n,
                   std::vector<std::uint8_t>{1, 2});
  }

  TempDir dir_;
  std::unique_ptr<Connection> db_;
};

struct Row {
  std::int64_t id;
  std::string name;
  bool null_n;
};

Row read_row(const Stmt& st) {
  return {st.int64("id"), st.text("name"), st.is_null("n")};
}

TEST_F(SqliteTest, ExecuteBindsInOrderAndMapsConstraints) {
  ASSERT_TRUE(add(1, "a", 7).ok());
  ASSERT_TRUE(add(2, "b", std::nullopt).ok());
  auto dup = add(3, "a", 1);
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.error().kind, ErrorKind::already_exists);
}

TEST_F(SqliteTest, QueryOneReadsTheRowOrNothing) {
  ASSERT_TRUE(add(1, "a", 7).ok());
  ASSERT_TRUE(add(2, "b", std::nullopt).ok());
  auto b = query_one(*db_, "SELECT * FROM t WHERE name = ?1", read_row, "b");
  ASSERT_TRUE(b.ok()) << b.error().message;
  ASSERT_TRUE(b->has_value());
  EXPECT_EQ((*b)->id, 2);
  EXPECT_TRUE((*b)->null_n);
  auto none = query_one(*db_, "SELECT * FROM t WHERE name = ?1", read_row, "zz");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
}

TEST_F(SqliteTest, ReaderErrorsAndSqlErrorsComeBack) {
  ASSERT_TRUE(add(1, "a", 7).ok());
  auto bad = query_one(
      *db_, "SELECT * FROM t WHERE id = ?1",
      [](const Stmt&) -> Result<int> { return make_error(ErrorKind::data_loss, "unreadable"); }, 1);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message, "unreadable");
  auto typo = query_all(*db_, "SELECT * FROM nowhere", read_row);
  ASSERT_FALSE(typo.ok());
}

TEST_F(SqliteTest, QueryAllReadsAPageWithItsLimit) {
  for (int i = 1; i <= 5; ++i) ASSERT_TRUE(add(i, "n" + std::to_string(i), i).ok());
  auto page = query_all(*db_, "SELECT * FROM t WHERE id > ?1 ORDER BY id LIMIT ?2", read_row,
                        std::int64_t{2}, Limit{2});
  ASSERT_TRUE(page.ok()) << page.error().message;
  ASSERT_EQ(page->size(), 2u);
  EXPECT_EQ((*page)[0].id, 3);
  EXPECT_EQ((*page)[1].id, 4);
}

TEST_F(SqliteTest, CachedStatementsAreResetBetweenUses) {
  ASSERT_TRUE(add(1, "a", 7).ok());
  ASSERT_TRUE(add(2, "b", 8).ok());
  // The same literal twice: the cached statement must not keep the first
  // binding or its cursor.
  for (const char* name : {"a", "b", "a"}) {
    auto r = query_one(*db_, "SELECT * FROM t WHERE name = ?1", read_row, name);
    ASSERT_TRUE(r.ok() && r->has_value());
    EXPECT_EQ((*r)->name, name);
  }
}

TEST_F(SqliteTest, ReaderPoolReusesAnIdleConnectionAndIsReadOnly) {
  ReaderPool pool(dir_.path() / "t.db");
  Connection* first = nullptr;
  {
    auto lease = pool.borrow();
    ASSERT_TRUE(lease.ok()) << lease.error().message;
    first = &**lease;
    EXPECT_FALSE((*lease)->exec("INSERT INTO t (id, name) VALUES (9, 'x')").ok());
  }
  auto again = pool.borrow();
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(&**again, first);
  auto other = pool.borrow();  // the first is lent: another connection
  ASSERT_TRUE(other.ok());
  EXPECT_NE(&**other, first);
}

TEST_F(SqliteTest, DurableScopeRestoresNormalSynchronous) {
  auto level = [&] {
    auto r = query_one(*db_, "PRAGMA synchronous",
                       [](const Stmt& st) { return st.int64("synchronous"); });
    return r.ok() && r->has_value() ? **r : -1;
  };
  EXPECT_EQ(level(), 1);  // NORMAL
  {
    DurableScope durable(*db_);
    EXPECT_EQ(level(), 2);  // FULL
  }
  EXPECT_EQ(level(), 1);
}

}  // namespace
}  // namespace zaulek::storage::sql
