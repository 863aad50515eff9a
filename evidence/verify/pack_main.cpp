// zaulek-evidence-pack: a test helper that builds an evidence package through
// evidence/package.h, as the export job will (#20), from files on disk.
//   zaulek-evidence-pack --key-file F --media F.mp4 --out P.zip --camera ID
//       --from T --to T --by USER --reason TEXT [--segment PATH]...
//   zaulek-evidence-pack --key-file F --public-key   prints the key (Base64)
#include <cstdio>
#include <map>
#include <string>
#include <string_view>

#include "core/text/encoding.h"
#include "evidence/package.h"

using namespace zaulek;

int main(int argc, char** argv) {
  std::map<std::string, std::string> opt;
  std::vector<std::string> segments;
  bool print_key = false;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--public-key") {
      print_key = true;
    } else if (a.starts_with("--") && i + 1 < argc) {
      if (a == "--segment") {
        segments.emplace_back(argv[++i]);
      } else {
        opt[std::string(a.substr(2))] = argv[++i];
      }
    } else {
      std::fprintf(stderr, "zaulek-evidence-pack: unexpected %s\n", argv[i]);
      return 2;
    }
  }
  if (!opt.count("key-file")) {
    std::fprintf(stderr, "zaulek-evidence-pack: --key-file is required\n");
    return 2;
  }
  auto key = evidence::SigningKey::open_or_create(opt["key-file"]);
  if (!key) {
    std::fprintf(stderr, "zaulek-evidence-pack: %s\n", key.error().message.c_str());
    return 1;
  }
  if (print_key) {
    std::printf("%s\n", base64_encode(key->public_key()).c_str());
    return 0;
  }
  for (const char* need : {"media", "out", "camera", "from", "to", "by", "reason"}) {
    if (!opt.count(need)) {
      std::fprintf(stderr, "zaulek-evidence-pack: --%s is required\n", need);
      return 2;
    }
  }
  evidence::Manifest m;
  m.export_id = "test-1";
  m.camera = {opt["camera"],
              "Test camera",
              "Zaulek",
              "Sim",
              "SN-1",
              "hw-1",
              "http://127.0.0.1:18000/onvif/device_service"};
  auto from = evidence::parse_time(opt["from"]);
  auto to = evidence::parse_time(opt["to"]);
  if (!from || !to) {
    std::fprintf(stderr, "zaulek-evidence-pack: --from and --to must be RFC 3339\n");
    return 2;
  }
  m.requested = {*from, *to};
  m.delivered = m.requested;
  std::int64_t at = *from;
  for (const std::string& s : segments) {
    std::int64_t bytes = 0;
    auto h = evidence::sha256_file(s, &bytes);
    if (!h) {
      std::fprintf(stderr, "zaulek-evidence-pack: %s\n", h.error().message.c_str());
      return 1;
    }
    m.segments.push_back(
        {std::filesystem::path(s).filename().string(), at, at + 60'000'000'000LL, bytes, *h});
    at += 60'000'000'000LL;
  }
  m.exported_by = opt["by"];
  m.exported_ns = *from;
  m.reason = opt["reason"];
  auto w = evidence::write_package(opt["out"], m, opt["media"],
                                   std::filesystem::path(opt["media"]).filename().string(), *key);
  if (!w) {
    std::fprintf(stderr, "zaulek-evidence-pack: %s\n", w.error().message.c_str());
    return 1;
  }
  std::printf("%s\n", opt["out"].c_str());
  return 0;
}
