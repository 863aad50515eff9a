// A cheap, linear look at an XML message before gSOAP parses it. gSOAP's
// cost grows with the square of the attributes on one element (a reply
// under 1 MiB with 100,000 attributes took over 90 s of CPU) and with the
// namespace declarations in scope at every tag it matches; size and depth
// alone do not bound it. This pass counts, per element, what gSOAP would
// have to handle and refuses the message before any of it is parsed.
//
// It is not a validator: it follows tags, attributes (quoted values may
// hold '>'), comments, CDATA and processing instructions only as far as
// counting needs, and leaves every other check to gSOAP. It refuses a
// DOCTYPE (SOAP forbids one; no entity expansion ever starts) and numeric
// character references to code points XML does not allow (0, surrogates,
// above U+10FFFF), which gSOAP would turn into invalid UTF-8.
//
// Pure function over bytes; every byte is looked at a bounded number of
// times.
#pragma once

#include <cstddef>
#include <string_view>

#include "core/error.h"

namespace zaulek::onvif {

struct XmlLimits {
  std::size_t attributes = 64;            // per element, namespace declarations not counted
  std::size_t namespaces = 64;            // xmlns declarations on one element
  std::size_t namespaces_in_scope = 256;  // declared on an element and its ancestors together
  std::size_t depth = 64;                 // open elements (ONVIF replies nest about 12 deep)
  std::size_t elements = 50000;           // in the whole message
};

// OK, or resource_exhausted naming the limit and the byte offset (never
// the sender's text), or invalid_argument for a message that cannot be XML
// (truncated tag, DOCTYPE, bad character reference, unbalanced end tag).
Status prescan_xml(std::string_view xml, const XmlLimits& limits = {});

}  // namespace zaulek::onvif
