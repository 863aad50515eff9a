// onvif/xml_prescan.h: what gSOAP would pay for is counted and refused
// before it parses; ordinary envelopes pass.
#include "onvif/xml_prescan.h"

#include <gtest/gtest.h>

#include <string>

#include "core/camera_faults.h"
#include "core/text/utf8.h"
#include "onvif/soap_buffer.h"

namespace zaulek::onvif {
namespace {

const std::string kHead = R"(<?xml version="1.0" encoding="UTF-8"?>)"
                          R"(<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" )"
                          R"(xmlns:tds="http://www.onvif.org/ver10/device/wsdl"><s:Body>)";
const std::string kTail = "</s:Body></s:Envelope>";

std::string device_info(const std::string& open_tag, const std::string& manufacturer = "Axis") {
  return kHead + open_tag + "<tds:Manufacturer>" + manufacturer +
         "</tds:Manufacturer><tds:Model>M3106</tds:Model><tds:FirmwareVersion>9.80"
         "</tds:FirmwareVersion><tds:SerialNumber>ACCC8E000001</tds:SerialNumber>"
         "<tds:HardwareId>7A1</tds:HardwareId></tds:GetDeviceInformationResponse>" +
         kTail;
}

std::string attributes(std::size_t n, const char* prefix = "a") {
  std::string s;
  for (std::size_t i = 0; i < n; ++i) s += " " + std::string(prefix) + std::to_string(i) + "=\"v\"";
  return s;
}

std::string nested(std::size_t depth, const std::string& attrs = "") {
  std::string s;
  for (std::size_t i = 0; i < depth; ++i) s += "<e" + attrs + ">";
  for (std::size_t i = 0; i < depth; ++i) s += "</e>";
  return s;
}

TEST(XmlPrescan, OrdinaryEnvelopesPass) {
  EXPECT_TRUE(prescan_xml(device_info("<tds:GetDeviceInformationResponse>")).ok());
  // Comments, CDATA and '>' or '<'-free markup in attribute values, single
  // quotes, whitespace around '=', references allowed by XML.
  std::string x =
      "<?xml version='1.0'?><!-- a <comment> --><r a = '1>2' b=\"x/y\">"
      "<![CDATA[<not><a><tag attr=1>]]>&#x10FFFF;&#65;&lt;&amp;<e/><e /></r>";
  auto st = prescan_xml(x);
  EXPECT_TRUE(st.ok()) << st.error().message;
  EXPECT_TRUE(prescan_xml("").ok());  // gSOAP says what is wrong with it
  // Exactly at the limits.
  EXPECT_TRUE(prescan_xml("<r" + attributes(64) + attributes(64, "xmlns:n") + "/>").ok());
  EXPECT_TRUE(prescan_xml(nested(64)).ok());
}

// n distinct attributes with 3-character names: 100,000 fit in 700 KB.
std::string short_attributes(std::size_t n) {
  static const char kAlphabet[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  std::string s;
  for (std::size_t i = 0; i < n; ++i) {
    s += ' ';
    s += kAlphabet[i / (62 * 62) % 52];  // a name starts with a letter
    s += kAlphabet[i / 62 % 62];
    s += kAlphabet[i % 62];
    s += "=''";
  }
  return s;
}

TEST(XmlPrescan, HundredThousandAttributesAreRefusedBeforeParsing) {
  // Under 1 MiB and well-formed: gSOAP took over 90 s of CPU on it.
  std::string x = device_info("<tds:GetDeviceInformationResponse" + short_attributes(100000) + ">");
  ASSERT_LT(x.size(), kMaxEnvelopeBytes);
  auto st = prescan_xml(x);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().kind, ErrorKind::resource_exhausted);
  EXPECT_EQ(st.error().message.rfind("XML refused before parsing: more than 64 attributes on one "
                                     "element (at byte ",
                                     0),
            0u)
      << st.error().message;

  // And through SoapContext, where every reader starts: refused, counted.
  auto before = camera_faults(CameraFault::onvif_reply_too_complex);
  SoapContext in;
  auto h = in.begin_read(x);
  ASSERT_FALSE(h.ok());
  EXPECT_EQ(h.error().kind, ErrorKind::resource_exhausted);
  EXPECT_NE(h.error().message.find("more than 64 attributes"), std::string::npos);
  EXPECT_EQ(camera_faults(CameraFault::onvif_reply_too_complex), before + 1);
}

TEST(XmlPrescan, NamespaceDeclarationsAreBoundedPerElementAndInScope) {
  auto one = prescan_xml("<r" + attributes(65, "xmlns:n") + "/>");
  ASSERT_FALSE(one.ok());
  EXPECT_NE(one.error().message.find("more than 64 namespace declarations on one element"),
            std::string::npos)
      << one.error().message;
  // A default namespace counts as a declaration too, not as an attribute.
  auto defaults = prescan_xml("<r xmlns=\"u\"" + attributes(64, "xmlns:n") + "/>");
  ASSERT_FALSE(defaults.ok());

  // 40 per element, nested 10 deep: 400 in scope at the innermost tag.
  auto scope = prescan_xml(nested(10, attributes(40, "xmlns:n")));
  ASSERT_FALSE(scope.ok());
  EXPECT_NE(scope.error().message.find("more than 256 namespace declarations in scope"),
            std::string::npos)
      << scope.error().message;
  // Siblings do not add up: each one's declarations leave scope with it.
  std::string siblings = "<r>";
  for (int i = 0; i < 100; ++i) siblings += "<e" + attributes(40, "xmlns:n") + "></e>";
  siblings += "</r>";
  EXPECT_TRUE(prescan_xml(siblings).ok());
}

TEST(XmlPrescan, DepthAndElementCountAreBounded) {
  auto deep = prescan_xml(nested(65));
  ASSERT_FALSE(deep.ok());
  EXPECT_NE(deep.error().message.find("nested deeper than 64"), std::string::npos);
  auto deeper = prescan_xml(std::string(200000, '<'));
  EXPECT_FALSE(deeper.ok());  // not even tags: no name

  std::string many = "<r>";
  for (int i = 0; i < 50000; ++i) many += "<e/>";
  many += "</r>";
  ASSERT_LT(many.size(), kMaxEnvelopeBytes);
  auto st = prescan_xml(many);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("more than 50000 elements"), std::string::npos);

  XmlLimits small;
  small.elements = 3;
  EXPECT_TRUE(prescan_xml("<a><b/><c/></a>", small).ok());
  EXPECT_FALSE(prescan_xml("<a><b/><c/><d/></a>", small).ok());
}

TEST(XmlPrescan, WhatCannotBeXmlIsRefused) {
  const char* bad[] = {
      "<!DOCTYPE r [<!ENTITY a \"aaaa\">]><r>&a;</r>",  // no DTD, no entity expansion
      "<r>&#xD800;</r>",                                // surrogate
      "<r a=\"&#55296;\"/>",                            // surrogate, decimal, in a value
      "<r>&#x110000;</r>",                              // above U+10FFFF
      "<r>&#0;</r>",                                    // NUL
      "<r>&#x;</r>",
      "<r>&#123456789;</r>",
      "<r>&#12</r>",
      "<r",
      "<r a=\"1></r>",
      "<r a></r>",
      "<r a=1></r>",
      "<r / >",
      "</r>",
      "<!-- never closed",
      "<![CDATA[ never closed",
      "<?xml never closed",
      "<r><",
      "< r/>",
  };
  for (const char* x : bad) {
    auto st = prescan_xml(x);
    ASSERT_FALSE(st.ok()) << x;
    EXPECT_EQ(st.error().kind, ErrorKind::invalid_argument) << x;
    EXPECT_EQ(st.error().message.rfind("not XML: ", 0), 0u) << st.error().message;
  }
}

// Every string a reader hands on is valid UTF-8, whatever bytes came.
TEST(XmlPrescan, SoapContextReadsInvalidUtf8AsReplaced) {
  std::string bad_bytes = "\xed\xa0\x80\xc0\xaf\xe0\x80\xaf\xf5\xf4\x90\x80\x80 \xa3\xf3";
  std::string x = device_info("<tds:GetDeviceInformationResponse>", "Kamera " + bad_bytes);
  SoapContext in;
  auto h = in.begin_read(x);
  ASSERT_TRUE(h.ok()) << h.error().message;
  ASSERT_TRUE(in.body_is("tds:GetDeviceInformationResponse"));
  auto body = in.read_body<_tds__GetDeviceInformationResponse>();
  ASSERT_TRUE(body.ok()) << body.error().message;
  EXPECT_EQ((*body)->Manufacturer, "Kamera ????????????? ??");
  EXPECT_EQ((*body)->Model, "M3106");
  EXPECT_EQ(valid_utf8_prefix((*body)->Manufacturer), (*body)->Manufacturer.size());
  // A reference to a surrogate would be decoded into invalid UTF-8: refused.
  SoapContext in2;
  auto r = in2.begin_read(device_info("<tds:GetDeviceInformationResponse>", "&#xD800;"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::invalid_argument);
}

}  // namespace
}  // namespace zaulek::onvif
