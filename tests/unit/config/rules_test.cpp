// [[rules]] in the config file: parsing, line:col errors, round trip.
#include <gtest/gtest.h>

#include "config/config.h"
#include "config/rules.h"
#include "config/schema.h"

namespace zaulek::config {
namespace {

Result<Config> parse_text(std::string_view text) {
  return parse(text, "zaulekd.toml", [](std::string_view) { return std::optional<std::string>(); });
}

std::string error_of(std::string_view text) {
  auto r = parse_text(text);
  if (r.ok()) return "(no error)";
  EXPECT_EQ(r.error().kind, ErrorKind::invalid_argument);
  return r.error().message;
}

TEST(ConfigRules, ParsesEveryKey) {
  auto cfg = parse_text(R"([log]
level = "info"

[[rules]]
id = "night-motion"
cameras = ["cam-1", "cam-2"]
kinds = ["motion", "intrusion"]
days = ["fri", "mon"]
hours = "22:00-06:30"
debounce_ms = 30000
priority = 4

[[rules]]
id = "off"
enabled = false

[[rules]]
id = "gate"
kinds = ["line_crossing"]
record = true
record_seconds = 30
bookmark = true
)");
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  ASSERT_EQ(cfg->rules.size(), 3u);
  const Rule& r = cfg->rules[0];
  EXPECT_EQ(r.id, "night-motion");
  EXPECT_EQ(r.cameras, (std::vector<std::string>{"cam-1", "cam-2"}));
  EXPECT_EQ(r.kinds, (std::vector<std::string>{"motion", "intrusion"}));
  EXPECT_EQ(r.days, (std::vector<int>{0, 4}));
  EXPECT_EQ(r.from_minute, 22 * 60);
  EXPECT_EQ(r.to_minute, 6 * 60 + 30);
  EXPECT_EQ(r.debounce_ms, 30000);
  EXPECT_EQ(r.priority, 4);
  EXPECT_TRUE(r.enabled);
  EXPECT_EQ(cfg->rules[1].id, "off");
  EXPECT_FALSE(cfg->rules[1].enabled);
  EXPECT_TRUE(cfg->rules[1].cameras.empty());
  EXPECT_EQ(cfg->rules[1].priority, 3);
  // record and bookmark default to false.
  EXPECT_FALSE(r.record);
  EXPECT_FALSE(r.bookmark);
  EXPECT_TRUE(cfg->rules[2].record);
  EXPECT_TRUE(cfg->rules[2].bookmark);
  EXPECT_EQ(r.record_seconds, 0);
  EXPECT_EQ(cfg->rules[2].record_seconds, 30);

  // to_toml gives the rules back.
  auto again = parse_text(to_toml(*cfg));
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ(again->rules, cfg->rules);
}

TEST(ConfigRules, ErrorsNameLineColumnAndField) {
  EXPECT_EQ(error_of("[[rules]]\nid = \"a\"\nkinds = [\"smoke\"]\n"),
            "zaulekd.toml:3:9: rules[0].kinds: unknown kind \"smoke\"; expected one of motion, "
            "line_crossing, intrusion, tamper, video_loss, io_input, health, other");
  EXPECT_EQ(error_of("[[rules]]\nid = \"a\"\nhours = \"25:00-06:00\"\n"),
            "zaulekd.toml:3:9: rules[0].hours: expected \"HH:MM-HH:MM\" (24-hour local time), "
            "got \"25:00-06:00\"");
  EXPECT_EQ(error_of("[[rules]]\nid = \"a\"\npriority = 9\n"),
            "zaulekd.toml:3:12: rules[0].priority: 9 is out of range 1..5");
  EXPECT_EQ(error_of("[[rules]]\nid = \"a\"\ndays = [\"monday\"]\n"),
            "zaulekd.toml:3:8: rules[0].days: unknown day \"monday\"; expected mon, tue, wed, thu, "
            "fri, sat, sun");
  EXPECT_EQ(error_of("[[rules]]\nid = \"a\"\ncolour = \"red\"\n"),
            "zaulekd.toml:3:10: rules[0].unknown key colour");
  EXPECT_EQ(error_of("[[rules]]\nkinds = [\"motion\"]\n"),
            "zaulekd.toml:1:1: rules[0]: id is required");
  EXPECT_EQ(error_of("[[rules]]\nid = \"a b\"\n"),
            "zaulekd.toml:2:6: rules[0].id: must be 1 to 64 characters of A-Z a-z 0-9 . _ - (not "
            "leading .)");
  EXPECT_EQ(error_of("[[rules]]\nid = \"a\"\n[[rules]]\nid = \"a\"\n"),
            "zaulekd.toml:4:6: rules[1].id: duplicate rule id \"a\"");
  EXPECT_EQ(error_of("[[rules]]\nid = \"a\"\ndebounce_ms = -1\n"),
            "zaulekd.toml:3:15: rules[0].debounce_ms: -1 is out of range 0..86400000");
  EXPECT_EQ(error_of("rules = 5\n"),
            "zaulekd.toml:1:9: rules: expected an array of tables ([[rules]])");
  EXPECT_EQ(error_of("[[rules]]\nid = \"a\"\nrecord = \"yes\"\n"),
            "zaulekd.toml:3:10: rules[0].record: expected a boolean (true or false)");
  EXPECT_EQ(error_of("[[rules]]\nid = \"a\"\nrecord = true\nrecord_seconds = 3601\n"),
            "zaulekd.toml:4:18: rules[0].record_seconds: 3601 is out of range 0..3600");
  EXPECT_EQ(error_of("[[rules]]\nid = \"a\"\nrecord_seconds = 10\n"),
            "zaulekd.toml:3:18: rules[0].record_seconds: needs record = true");
  EXPECT_EQ(error_of("[[rules]]\nid = \"a\"\nbookmark = 1\n"),
            "zaulekd.toml:3:12: rules[0].bookmark: expected a boolean (true or false)");
  EXPECT_EQ(error_of("[[rules]]\nid = \"a\"\ncameras = [\"../x\"]\n"),
            "zaulekd.toml:3:11: rules[0].cameras: \"../x\" is not a camera id");
}

TEST(ConfigRules, HoursAndDaysHelpers) {
  int from = 0, to = 0;
  EXPECT_EQ(parse_hours("00:00-23:59", from, to), "");
  EXPECT_EQ(from, 0);
  EXPECT_EQ(to, 23 * 60 + 59);
  EXPECT_NE(parse_hours("0:00-23:59", from, to), "");
  EXPECT_NE(parse_hours("00:60-01:00", from, to), "");
  Rule r;
  r.from_minute = 22 * 60;
  r.to_minute = 6 * 60;
  EXPECT_EQ(hours_text(r), "22:00-06:00");
  r.to_minute = r.from_minute;
  EXPECT_EQ(hours_text(r), "");
  std::vector<int> days;
  EXPECT_EQ(parse_days({"sun", "mon", "sun"}, days), "");
  EXPECT_EQ(days, (std::vector<int>{0, 6}));
  EXPECT_EQ(day_names(days), (std::vector<std::string>{"mon", "sun"}));
}

}  // namespace
}  // namespace zaulek::config
