#include "onvif/xml_prescan.h"

#include <cstdint>
#include <string>
#include <vector>

namespace zaulek::onvif {

namespace {

bool space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

Error refused(const std::string& what, std::size_t at) {
  return make_error(ErrorKind::resource_exhausted, "XML refused before parsing: " + what +
                                                       " (at byte " + std::to_string(at) + ")");
}

Error malformed(const std::string& what, std::size_t at) {
  return make_error(ErrorKind::invalid_argument,
                    "not XML: " + what + " (at byte " + std::to_string(at) + ")");
}

// The reference starting at x[at] == '&': numeric ones must name a
// character XML allows; named ones are gSOAP's to judge. `end` is where
// the text or attribute value ends.
Status check_reference(std::string_view x, std::size_t at, std::size_t end) {
  if (at + 1 >= end || x[at + 1] != '#') return {};
  std::size_t i = at + 2;
  bool hex = i < end && (x[i] == 'x' || x[i] == 'X');
  if (hex) ++i;
  std::uint32_t v = 0;
  std::size_t digits = 0;
  for (; i < end && x[i] != ';'; ++i, ++digits) {
    char c = x[i];
    int d = c >= '0' && c <= '9'                            ? c - '0'
            : hex && (c | 0x20) >= 'a' && (c | 0x20) <= 'f' ? (c | 0x20) - 'a' + 10
                                                            : -1;
    if (d < 0 || digits >= 8) return malformed("bad character reference", at);
    v = v * (hex ? 16 : 10) + static_cast<std::uint32_t>(d);
  }
  if (i >= end || digits == 0) return malformed("bad character reference", at);
  if (v == 0 || (v >= 0xD800 && v <= 0xDFFF) || v > 0x10FFFF)
    return malformed("character reference to a code point XML does not allow", at);
  return {};
}

// Every reference in x[from, to).
Status check_references(std::string_view x, std::size_t from, std::size_t to) {
  // Searched within the range only: a search on to the end of the message
  // for every text would make the pass quadratic.
  std::string_view part = x.substr(from, to - from);
  for (std::size_t k = part.find('&'); k != std::string_view::npos; k = part.find('&', k + 1))
    if (auto st = check_reference(x, from + k, to); !st) return st;
  return {};
}

}  // namespace

Status prescan_xml(std::string_view x, const XmlLimits& limits) {
  const std::size_t n = x.size();
  std::size_t elements = 0, in_scope = 0;
  std::vector<std::size_t> declared;  // namespace declarations per open element
  std::size_t i = 0;
  while (i < n) {
    std::size_t lt = x.find('<', i);
    if (auto st = check_references(x, i, lt == std::string_view::npos ? n : lt); !st) return st;
    if (lt == std::string_view::npos) break;
    i = lt + 1;
    if (i >= n) return malformed("truncated tag", lt);
    if (x[i] == '?') {  // XML declaration, processing instruction
      std::size_t end = x.find("?>", i);
      if (end == std::string_view::npos)
        return malformed("unterminated processing instruction", lt);
      i = end + 2;
      continue;
    }
    if (x[i] == '!') {
      if (x.substr(i, 3) == "!--") {
        std::size_t end = x.find("-->", i + 3);
        if (end == std::string_view::npos) return malformed("unterminated comment", lt);
        i = end + 3;
      } else if (x.substr(i, 8) == "![CDATA[") {
        std::size_t end = x.find("]]>", i + 8);
        if (end == std::string_view::npos) return malformed("unterminated CDATA section", lt);
        i = end + 3;
      } else {
        return malformed("DOCTYPE or markup declaration", lt);
      }
      continue;
    }
    if (x[i] == '/') {
      std::size_t end = x.find('>', i);
      if (end == std::string_view::npos) return malformed("truncated end tag", lt);
      if (declared.empty()) return malformed("end tag without a start tag", lt);
      in_scope -= declared.back();
      declared.pop_back();
      i = end + 1;
      continue;
    }
    // A start tag: its name, then attributes up to '>' or '/>'.
    if (++elements > limits.elements)
      return refused("more than " + std::to_string(limits.elements) + " elements", lt);
    std::size_t j = i;
    while (j < n && !space(x[j]) && x[j] != '>' && x[j] != '/') ++j;
    if (j == i) return malformed("element without a name", lt);
    std::size_t attributes = 0, namespaces = 0;
    bool empty_element = false;
    for (;;) {
      while (j < n && space(x[j])) ++j;
      if (j >= n) return malformed("truncated start tag", lt);
      if (x[j] == '>') {
        ++j;
        break;
      }
      if (x[j] == '/') {
        if (j + 1 >= n || x[j + 1] != '>') return malformed("'/' inside a start tag", j);
        j += 2;
        empty_element = true;
        break;
      }
      std::size_t name = j;
      while (j < n && !space(x[j]) && x[j] != '=' && x[j] != '>' && x[j] != '/') ++j;
      std::string_view attr = x.substr(name, j - name);
      if (attr.empty()) return malformed("attribute without a name", name);
      while (j < n && space(x[j])) ++j;
      if (j >= n || x[j] != '=') return malformed("attribute without a value", name);
      ++j;
      while (j < n && space(x[j])) ++j;
      if (j >= n || (x[j] != '"' && x[j] != '\''))
        return malformed("unquoted attribute value", name);
      std::size_t close = x.find(x[j], j + 1);
      if (close == std::string_view::npos) return malformed("unterminated attribute value", name);
      if (auto st = check_references(x, j + 1, close); !st) return st;
      j = close + 1;
      if (attr == "xmlns" || attr.substr(0, 6) == "xmlns:") {
        if (++namespaces > limits.namespaces)
          return refused("more than " + std::to_string(limits.namespaces) +
                             " namespace declarations on one element",
                         lt);
      } else if (++attributes > limits.attributes) {
        return refused(
            "more than " + std::to_string(limits.attributes) + " attributes on one element", lt);
      }
    }
    if (in_scope + namespaces > limits.namespaces_in_scope)
      return refused("more than " + std::to_string(limits.namespaces_in_scope) +
                         " namespace declarations in scope",
                     lt);
    if (!empty_element) {
      if (declared.size() >= limits.depth)
        return refused("elements nested deeper than " + std::to_string(limits.depth), lt);
      declared.push_back(namespaces);
      in_scope += namespaces;
    }
    i = j;
  }
  return {};
}

}  // namespace zaulek::onvif
