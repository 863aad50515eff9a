// core/text/text.h: the string helpers for outside text.
#include <gtest/gtest.h>

#include "core/text/text.h"

namespace zaulek {
namespace {

TEST(Text, CaseIsAsciiOnly) {
  EXPECT_EQ(ascii_lower("Digest REALM=\"X\""), "digest realm=\"x\"");
  EXPECT_EQ(ascii_lower("\xc3\x84"), "\xc3\x84");  // UTF-8 bytes untouched
  EXPECT_TRUE(iequals("Content-Length", "content-LENGTH"));
  EXPECT_FALSE(iequals("Content-Length", "Content-Lengt"));
  EXPECT_TRUE(contains_nocase("ter:ActionNotSupported", "actionnotsupported"));
  EXPECT_TRUE(contains_nocase("abc", ""));
  EXPECT_FALSE(contains_nocase("ab", "abc"));
}

TEST(Text, SearchFoldLowersAndDropsLatinDiacritics) {
  EXPECT_EQ(search_fold("Zaułek ŻÓŁW Gęś Ćma Źdźbło ŃŚĄ"), "zaulek zolw ges cma zdzblo nsa");
  EXPECT_EQ(search_fold("Müller Straße Øresund ĳ"), "muller strase oresund i");
  EXPECT_EQ(search_fold("× ÷ stay; ABC-123"), "× ÷ stay; abc-123");
  EXPECT_EQ(search_fold("Ωμέγα кот 猫"), "Ωμέγα кот 猫");  // outside Latin: as it is
  // Not valid UTF-8: byte by byte, nothing read past the end.
  EXPECT_EQ(search_fold(std::string("a\xc5")), std::string("a\xc5"));
  EXPECT_EQ(search_fold(std::string("\xc5\x41")), std::string("\xc5"
                                                              "a"));
  EXPECT_EQ(search_fold(""), "");
}

TEST(Text, TrimTakesTheBlanksAsked) {
  EXPECT_EQ(trim(" \t\r\nx y\n "), "x y");
  EXPECT_EQ(trim("\r\n\t "), "");
  EXPECT_EQ(trim(""), "");
  EXPECT_EQ(trim("\r x \r", " \t"), "\r x \r");
  EXPECT_EQ(trim("\v x\f", " \t\n\v\f\r"), "x");
}

TEST(Text, PrintableReplacesAndCuts) {
  EXPECT_EQ(printable("ok"), "ok");
  EXPECT_EQ(printable(std::string("a\0b\x7f\xff\n", 6)), "a?b???");
  EXPECT_EQ(printable("abcdef", 3), "abc...");
  EXPECT_EQ(printable(std::string(300, 'x')).size(), 203u);  // 200 and "..."
}

TEST(Text, ParseNumberTakesTheWholeTextOrNothing) {
  int i = 7;
  EXPECT_TRUE(parse_number("42", i));
  EXPECT_EQ(i, 42);
  EXPECT_TRUE(parse_number("-3", i));
  EXPECT_EQ(i, -3);
  for (const char* bad : {"", " 1", "1 ", "+1", "1x", "0x10", "99999999999"}) {
    i = 7;
    EXPECT_FALSE(parse_number(bad, i)) << bad;
    EXPECT_EQ(i, 7) << bad;
  }
  unsigned u = 0;
  EXPECT_FALSE(parse_number("-1", u));
  double d = 0;
  EXPECT_TRUE(parse_number("1.5", d));
  EXPECT_EQ(d, 1.5);
}

}  // namespace
}  // namespace zaulek
