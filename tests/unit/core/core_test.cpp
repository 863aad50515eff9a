#include <gtest/gtest.h>

#include "core/clock.h"
#include "core/crypto.h"
#include "core/error.h"
#include "core/log.h"
#include "core/recording_mode.h"
#include "core/role.h"

namespace zaulek {
namespace {

TEST(Result, CarriesValueOrError) {
  Result<int> good = 7;
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(*good, 7);
  Result<int> bad = make_error(ErrorKind::not_found, "no such camera");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().kind, ErrorKind::not_found);
  EXPECT_EQ(to_string(bad.error().kind), "not_found");
}

TEST(Clock, Rfc3339RoundTrip) {
  WallTime t;
  ASSERT_TRUE(parse_rfc3339("2026-11-25T09:40:16.123Z", t));
  EXPECT_EQ(format_rfc3339(t), "2026-11-25T09:40:16.123Z");
  ASSERT_TRUE(parse_rfc3339("2026-11-25T10:40:16+01:00", t));
  EXPECT_EQ(format_rfc3339(t), "2026-11-25T09:40:16.000Z");
  EXPECT_FALSE(parse_rfc3339("2026-11-25 09:40:16Z", t));
  EXPECT_FALSE(parse_rfc3339("2026-02-30T00:00:00Z", t));
  EXPECT_FALSE(parse_rfc3339("2026-11-25T09:40:16", t));
  EXPECT_FALSE(parse_rfc3339("2026-11-25T09:40:16.Z", t));
}

TEST(Clock, Rfc3339FractionDigits) {
  const WallTime t{std::chrono::nanoseconds{1'764'063'616'123'456'789LL}};
  EXPECT_EQ(format_rfc3339(t), "2025-11-25T09:40:16.123Z");
  EXPECT_EQ(format_rfc3339(t, 6), "2025-11-25T09:40:16.123456Z");
  EXPECT_EQ(format_rfc3339(t, 9), "2025-11-25T09:40:16.123456789Z");
  EXPECT_EQ(format_rfc3339(t, 0), "2025-11-25T09:40:16Z");
  // Before 1970 the second is the one the instant lies in.
  const WallTime before{std::chrono::microseconds{-1}};
  EXPECT_EQ(format_rfc3339(before, 6), "1969-12-31T23:59:59.999999Z");
  EXPECT_EQ(format_rfc3339(before), "1970-01-01T00:00:00.000Z");  // -1 us is 0 ms
}

TEST(Clock, FakeClockAdvancesBothClocks) {
  FakeClock clock;
  const auto w = clock.realtime();
  const auto m = clock.monotonic();
  clock.advance(std::chrono::seconds(90));
  EXPECT_EQ(clock.realtime() - w, std::chrono::seconds(90));
  EXPECT_EQ(clock.monotonic() - m, std::chrono::seconds(90));
}

TEST(Crypto, Argon2idHashVerifies) {
  crypto::init();
  // Test code only: a low cost, passed explicitly (the daemon's comes from its config).
  auto hash = crypto::hash_password("correct horse", {8, 1});
  ASSERT_TRUE(hash.ok());
  EXPECT_EQ(hash->rfind("$argon2id$v=19$m=8,t=1,p=1$", 0), 0u) << *hash;
  EXPECT_TRUE(crypto::verify_password(*hash, "correct horse"));
  EXPECT_FALSE(crypto::verify_password(*hash, "correct horsE"));
  EXPECT_FALSE(crypto::verify_password("garbage", "x"));
}

TEST(Crypto, HashRecordsItsCostAndVerifiesWithIt) {
  crypto::init();
  // The floor the configuration allows (OWASP's minimum): encoded in the hash.
  auto floor = crypto::hash_password("pw", crypto::kMinimumCost);
  ASSERT_TRUE(floor.ok());
  EXPECT_EQ(floor->rfind("$argon2id$v=19$m=19456,t=2,p=1$", 0), 0u) << *floor;
  // Verification reads the cost from the hash, not from any setting: a hash
  // made at one cost verifies after the configured cost changed.
  auto low = crypto::hash_password("pw", {16, 3});
  ASSERT_TRUE(low.ok());
  EXPECT_EQ(low->rfind("$argon2id$v=19$m=16,t=3,p=1$", 0), 0u) << *low;
  EXPECT_TRUE(crypto::verify_password(*floor, "pw"));
  EXPECT_TRUE(crypto::verify_password(*low, "pw"));
  EXPECT_FALSE(crypto::verify_password(*low, "pW"));
  EXPECT_EQ(crypto::kInteractiveCost, (crypto::HashCost{64 * 1024, 2}));
}

TEST(Crypto, CostBelowLibsodiumMinimumIsRefused) {
  crypto::init();
  auto r = crypto::hash_password("pw", {4, 1});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::invalid_argument);
  EXPECT_FALSE(crypto::hash_password("pw", {8, 0}).ok());
}

TEST(Crypto, TokensAreRandom256Bit) {
  crypto::init();
  const auto a = crypto::random_token();
  const auto b = crypto::random_token();
  EXPECT_EQ(a.size(), 64u);
  EXPECT_NE(a, b);
  EXPECT_EQ(crypto::sha256_hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_TRUE(crypto::equal_constant_time("abc", "abc"));
  EXPECT_FALSE(crypto::equal_constant_time("abc", "abd"));
}

TEST(Role, ParsesTheThreeRoles) {
  EXPECT_EQ(parse_role("operator"), Role::operator_);
  EXPECT_EQ(parse_role("administrator"), Role::administrator);
  EXPECT_EQ(parse_role("investigator"), Role::investigator);
  EXPECT_FALSE(parse_role("root").has_value());
  RoleSet s{Role::administrator, Role::investigator};
  EXPECT_TRUE(s.contains(Role::investigator));
  EXPECT_FALSE(s.contains(Role::operator_));
}

}  // namespace
}  // namespace zaulek

namespace zaulek {
namespace {

TEST(Log, EscapesControlCharactersIntoOneLine) {
  EXPECT_EQ(log::escape_line("plain text ąę"), "plain text ąę");
  EXPECT_EQ(log::escape_line("a\nwarn: forged"), "a\\nwarn: forged");
  EXPECT_EQ(log::escape_line("a\r\tb"), "a\\r\\tb");
  EXPECT_EQ(log::escape_line(std::string("\x1b[31m\x7f\0z", 8)), "\\x1b[31m\\x7f\\x00z");
  EXPECT_EQ(log::escape_line("\xed\xa0\x80"), "???");  // not UTF-8: replaced, not passed on
}

}  // namespace
}  // namespace zaulek

namespace zaulek {
namespace {

TEST(Clock, Rfc3339OutsideTheNanosecondRangeIsRefused) {
  WallTime t;
  EXPECT_FALSE(parse_rfc3339("3000-01-01T00:00:00Z", t));  // once stored as 1830
  EXPECT_FALSE(parse_rfc3339("2262-04-12T00:00:00Z", t));
  EXPECT_FALSE(parse_rfc3339("2200-01-01T00:00:00Z", t));
  EXPECT_FALSE(parse_rfc3339("1969-12-31T23:59:59Z", t));
  EXPECT_FALSE(parse_rfc3339("0001-01-01T00:00:00Z", t));
  ASSERT_TRUE(parse_rfc3339("2199-12-31T23:59:59.999Z", t));
  EXPECT_EQ(format_rfc3339(t), "2199-12-31T23:59:59.999Z");
  ASSERT_TRUE(parse_rfc3339("1970-01-01T00:00:00Z", t));
  EXPECT_EQ(t.time_since_epoch().count(), 0);
}

TEST(RecordingModeTest, NamesRoundTripAndNothingElseParses) {
  for (auto m : {RecordingMode::continuous, RecordingMode::events, RecordingMode::off})
    EXPECT_EQ(parse_recording_mode(to_string(m)), m);
  EXPECT_EQ(to_string(RecordingMode::events), "events");
  EXPECT_FALSE(parse_recording_mode("Events"));
  EXPECT_FALSE(parse_recording_mode(""));
  EXPECT_FALSE(parse_recording_mode(std::string_view("off\0", 4)));
}

}  // namespace
}  // namespace zaulek
