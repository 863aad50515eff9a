// libFuzzer target: the readers of ONVIF event messages on arbitrary bytes —
// above all parse_notify, which reads what anyone may POST to zaulekd's
// Basic Notification consumer, and the Subscribe/PullMessages replies.
// The first byte picks the reader, the rest is the envelope.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "onvif/events/normalize.h"
#include "onvif/events/replies.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  std::string_view xml(reinterpret_cast<const char*>(data + 1), size - 1);
  using namespace zaulek::onvif;
  const auto now = zaulek::WallTime{std::chrono::seconds(1700000000)};
  switch (data[0] % 4) {
    case 0:
    case 1: {
      auto r = parse_notify(xml);
      if (r)
        for (const auto& n : *r) (void)normalize(n);
      break;
    }
    case 2:
      (void)parse_subscribe(xml, now, std::chrono::seconds(60));
      break;
    default: {
      auto r = parse_pull_messages(xml, now);
      if (r)
        for (const auto& n : r->notifications) (void)normalize(n);
      break;
    }
  }
  return 0;
}
