// libFuzzer target: every ONVIF reply parser of the client on arbitrary bytes,
// each through the XML pre-scan (onvif/xml_prescan.h) as in zaulekd.
// The first byte picks the parser, the rest is the envelope.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "onvif/client/replies.h"
#include "onvif/xml_prescan.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  std::string_view xml(reinterpret_cast<const char*>(data + 1), size - 1);
  using namespace zaulek::onvif;
  // Every parser below starts with this pre-scan (SoapContext::begin_read);
  // on its own too, with limits small enough that inputs reach them.
  XmlLimits small;
  small.attributes = small.namespaces = 3;
  small.namespaces_in_scope = 5;
  small.depth = 6;
  small.elements = 40;
  (void)prescan_xml(xml, small);
  switch (data[0] % 7) {
    case 0:
      (void)parse_system_date_and_time(xml);
      break;
    case 1:
      (void)parse_device_information(xml);
      break;
    case 2:
      (void)parse_capabilities(xml);
      break;
    case 3:
      (void)parse_services(xml);
      break;
    case 4: {
      auto p = parse_profiles(xml);
      if (p) (void)choose_profiles(*p);
      break;
    }
    case 5:
      (void)parse_media_uri(xml, true);
      break;
    default:
      (void)parse_media_uri(xml, false);
      (void)strip_userinfo(xml);
      break;
  }
  return 0;
}
