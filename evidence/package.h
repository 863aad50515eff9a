// The evidence package an export hands over: a ZIP (or the same files in a
// folder) holding the MP4, manifest.json, manifest.sig (Ed25519 over the
// manifest's exact bytes) and VERIFY.txt; written and checked here, offline.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "core/error.h"
#include "evidence/manifest.h"
#include "evidence/signing_key.h"

namespace zaulek::evidence {

// Lowercase hex SHA-256 of a file, read in blocks (a 2 GB MP4 is never in memory).
// limit > 0: of its first `limit` bytes at most (a file still being written,
// as far as it was read).
Result<std::string> sha256_file(const std::filesystem::path& file, std::int64_t* bytes = nullptr,
                                std::uint64_t limit = 0);

// How to verify, in Polish and English (VERIFY.txt).
std::string verify_text();

// Hashes `media` and VERIFY.txt into `manifest.files` (replacing what is
// there; the media first, as `media_name`), signs the manifest with `key`
// (setting key_id and public_key), and writes the ZIP at `out` (ZIP64 when
// needed; the MP4 stored, not compressed, and streamed from its file).
// Returns the manifest as written.
Result<Manifest> write_package(const std::filesystem::path& out, Manifest manifest,
                               const std::filesystem::path& media, const std::string& media_name,
                               const SigningKey& key);

struct Verification {
  std::vector<std::string> problems;  // empty: the package is intact
  std::optional<Manifest> manifest;   // when it could be read
  std::string key_id;                 // of the key the signature was checked with
  bool key_from_manifest = false;     // true: integrity only, not origin
  bool ok() const { return problems.empty(); }
};

// Checks a ZIP or a folder: the signature over manifest.json (with
// `public_key`, 32 raw bytes, or else the key the manifest carries), the
// size and SHA-256 of every file the manifest lists, and that nothing else
// is there. Every problem names the file it is about.
Verification verify_package(const std::filesystem::path& path,
                            const std::optional<std::string>& public_key);

}  // namespace zaulek::evidence
