// libFuzzer target: WS-Discovery datagrams as the scanner reads them
// (ProbeMatches) and as the announcement listener reads them (Hello, Bye),
// plus the Probe parser and the unicast target parser.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "onvif/client/discovery_client.h"
#include "onvif/discovery.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view d(reinterpret_cast<const char*>(data), size);
  using namespace zaulek::onvif;
  std::string relates_to;
  auto m = parse_probe_matches(d, &relates_to);
  if (m)
    for (const auto& t : *m) {
      Probe p;
      p.types = {"dn:NetworkVideoTransmitter"};
      (void)matches(p, t);
    }
  (void)parse_probe(d);
  if (auto a = parse_announcement(d); a && a->target.endpoint.empty()) __builtin_trap();
  if (size <= 80) (void)parse_target(d, 3702);
  return 0;
}
