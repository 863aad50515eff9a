// The API's shared parameter helpers (server/api/params.h): one copy of the
// body-field, paging and user-text rules that every endpoint uses.
#include "server/api/params.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace zaulek::server {
namespace {

using nlohmann::json;

TEST(ApiParams, StringFieldNamesTheFieldInEachError) {
  json body = {{"s", "abc"}, {"n", 5}, {"z", nullptr}};
  EXPECT_EQ(*string_field(body, "s", 3), "abc");
  EXPECT_EQ(string_field(body, "s", 2).error().message, "'s' is longer than 2");
  EXPECT_EQ(string_field(body, "n", 8).error().message, "'n' must be a string");
  EXPECT_EQ(string_field(body, "missing", 8).error().message, "'missing' is required (a string)");
  EXPECT_EQ(string_field(body, "z", 8).error().message, "'z' is required (a string)");
  EXPECT_EQ(string_field(json::array(), "s", 8).error().kind, ErrorKind::invalid_argument);

  EXPECT_FALSE(optional_string_field(body, "missing", 8)->has_value());
  EXPECT_FALSE(optional_string_field(body, "z", 8)->has_value());
  EXPECT_EQ(**optional_string_field(body, "s", 8), "abc");
  EXPECT_FALSE(optional_string_field(body, "n", 8));
}

TEST(ApiParams, NextCursorOnlyWhenThePageIsFull) {
  EXPECT_EQ(next_cursor(3, 3, 42), json("42"));
  EXPECT_TRUE(next_cursor(2, 3, 42).is_null());
  EXPECT_TRUE(next_cursor(0, 3, 0).is_null());
  EXPECT_TRUE(next_cursor(0, 0, 0).is_null());
}

TEST(ApiParams, ControlCharactersByKindOfText) {
  EXPECT_FALSE(has_control_chars("Zaułek, ul. Długa 5", TextLines::one));
  EXPECT_TRUE(has_control_chars("two\nlines", TextLines::one));
  EXPECT_FALSE(has_control_chars("two\nlines\tand a tab", TextLines::many));
  EXPECT_TRUE(has_control_chars("bell\a", TextLines::many));
  EXPECT_TRUE(has_control_chars("cr\r", TextLines::many));
  EXPECT_TRUE(has_control_chars(std::string("nul\0", 4), TextLines::many));
  EXPECT_TRUE(has_control_chars("del\x7f", TextLines::one));
}

}  // namespace
}  // namespace zaulek::server
