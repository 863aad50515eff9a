// zaulek-verify ZIP|DIR [--key PUBKEY]: checks an evidence package offline
// (evidence/package.h). Exit 0 with a summary, 1 naming what does not match,
// 2 for a usage error.
#include <cstdio>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>

#include "core/text/encoding.h"
#include "evidence/package.h"

namespace {

using namespace zaulek;

constexpr const char* kUsage =
    "usage: zaulek-verify ZIP|DIR [--key PUBKEY]\n"
    "\n"
    "Checks a Zaułek evidence package offline: the Ed25519 signature over\n"
    "manifest.json and the size and SHA-256 of every file it lists.\n"
    "Sprawdza pakiet dowodowy Zaułka bez sieci: podpis Ed25519 manifestu\n"
    "oraz rozmiar i skrót SHA-256 każdego wymienionego w nim pliku.\n"
    "\n"
    "  --key PUBKEY  the server's public key (GET /api/v1/keys): Base64, or a\n"
    "                file holding it (Base64 text or 32 raw bytes). Without it\n"
    "                the key inside the manifest is used, which proves the\n"
    "                package is unchanged but not who issued it.\n"
    "  --help        this text\n"
    "\n"
    "Exit status: 0 intact, 1 something does not match (named), 2 usage error.\n";

int usage_error(const std::string& what) {
  std::fprintf(stderr, "zaulek-verify: %s\n%s", what.c_str(), kUsage);
  return 2;
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  std::size_t i = 0;
  while (i < s.size() && s[i] == ' ') ++i;
  return s.substr(i);
}

// Base64 text, or a file holding Base64 or the raw 32 bytes.
std::optional<std::string> read_key(const std::string& arg) {
  std::string raw;
  if (base64_decode(trim(arg), raw) && raw.size() == evidence::kPublicKeyBytes) return raw;
  std::ifstream in(arg, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  std::string content = text.str();
  if (content.size() == evidence::kPublicKeyBytes) return content;
  raw.clear();
  if (base64_decode(trim(content), raw) && raw.size() == evidence::kPublicKeyBytes) return raw;
  return std::nullopt;
}

}  // namespace

int main(int argc, char** argv) {
  std::optional<std::string> package;
  std::optional<std::string> key;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--help" || a == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    }
    if (a == "--key") {
      if (i + 1 >= argc) return usage_error("--key needs a value");
      auto k = read_key(argv[++i]);
      if (!k) {
        return usage_error("--key " + std::string(argv[i]) +
                           " is neither a Base64 Ed25519 public key nor a file holding one");
      }
      key = *k;
    } else if (!a.empty() && a[0] == '-') {
      return usage_error("unknown option " + std::string(a));
    } else if (package) {
      return usage_error("one package at a time");
    } else {
      package = std::string(a);
    }
  }
  if (!package) return usage_error("which package?");
  std::error_code ec;
  if (!std::filesystem::exists(*package, ec)) {
    return usage_error(*package + ": no such file or folder");
  }

  auto v = evidence::verify_package(*package, key);
  if (!v.ok()) {
    std::printf("FAILED: %s\n", package->c_str());
    for (const std::string& p : v.problems) std::printf("  %s\n", p.c_str());
    return 1;
  }
  const evidence::Manifest& m = *v.manifest;
  std::printf("OK: %s\n", package->c_str());
  std::printf("  camera:    %s (%s)", m.camera.id.c_str(), m.camera.name.c_str());
  if (!m.camera.serial_number.empty()) {
    std::printf(", %s %s, serial %s", m.camera.manufacturer.c_str(), m.camera.model.c_str(),
                m.camera.serial_number.c_str());
  }
  std::printf("\n  requested: %s .. %s\n", evidence::format_time(m.requested.from_ns).c_str(),
              evidence::format_time(m.requested.to_ns).c_str());
  if (m.delivered) {
    std::printf("  delivered: %s .. %s, %zu gap(s), %zu source segment(s)\n",
                evidence::format_time(m.delivered->from_ns).c_str(),
                evidence::format_time(m.delivered->to_ns).c_str(), m.gaps.size(),
                m.segments.size());
  } else {
    std::printf("  delivered: nothing (no footage in the range)\n");
  }
  std::printf("  exported:  %s by %s, reason: %s\n", evidence::format_time(m.exported_ns).c_str(),
              m.exported_by.c_str(), m.reason.c_str());
  for (const evidence::PackageFile& f : m.files) {
    std::printf("  file:      %s, %lld bytes, SHA-256 %s\n", f.name.c_str(),
                static_cast<long long>(f.bytes), f.sha256.c_str());
  }
  std::printf("  key:       %s (Ed25519)\n", v.key_id.c_str());
  if (v.key_from_manifest) {
    std::printf(
        "  NOTE: checked with the key inside the manifest: this proves the package is\n"
        "  unchanged since it was signed, not who signed it. Pass --key with the server's\n"
        "  public key (GET /api/v1/keys, obtained separately) to prove its origin.\n");
  }
  return 0;
}
