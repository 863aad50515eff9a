// The evidence package an export hands over: a ZIP (or the same files in a
// folder) holding the MP4, manifest.json, manifest.sig (Ed25519 over the
// manifest's exact bytes) and VERIFY.txt; written and checked here, offline.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "evidence/manifest.h"
#include "evidence/signing_key.h"

namespace zaulek::evidence {

// SHA-256 by OpenSSL's libcrypto (the CPU's SHA extensions where it has them).
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void update(const void* data, std::size_t n);
  std::string hex();  // lowercase; once

 private:
  struct Ctx;
  std::unique_ptr<Ctx> ctx_;
};

// Lowercase hex SHA-256 of a file, read in blocks (a 2 GB MP4 is never in memory).
// limit > 0: of its first `limit` bytes at most (a file still being written,
// as far as it was read).
Result<std::string> sha256_file(const std::filesystem::path& file, std::int64_t* bytes = nullptr,
                                std::uint64_t limit = 0);

// How to verify, in Polish and English (VERIFY.txt).
std::string verify_text();

// The same package from a media file (through PackageWriter; `out` is
// replaced): hashes `media` and VERIFY.txt into `manifest.files` (replacing
// what is there; the media first, as `media_name`), signs the manifest with
// `key` and writes the ZIP. Returns the manifest as written.
Result<Manifest> write_package(const std::filesystem::path& out, Manifest manifest,
                               const std::filesystem::path& media, const std::string& media_name,
                               const SigningKey& key);

// A package ZIP written front to back in one pass while its media is made
// (docs/design/export.md): the media entry's local header, then the media's
// bytes as they come, hashed (SHA-256) and checksummed (CRC-32) on the way
// on a thread of the writer's own and written (O_DIRECT where the file
// system takes it) by another; at finish() the
// header gets the sizes and CRC (rewritten in place, the same length), and
// the manifest, its signature, VERIFY.txt and the central directory follow
// (all stored: video does not compress; ZIP64 where sizes need it). The
// bytes are read once and never copied into a second file.
class PackageWriter {
 public:
  ~PackageWriter();  // unfinished: the file stays, for the caller to remove
  PackageWriter(const PackageWriter&) = delete;
  PackageWriter& operator=(const PackageWriter&) = delete;

  // Creates `out` (O_EXCL) with the media entry `media_name` opened.
  static Result<std::unique_ptr<PackageWriter>> create(const std::filesystem::path& out,
                                                       const std::string& media_name);
  // The media's next bytes (copied, then hashed and written on the writer's
  // thread; at most a few blocks wait). A failed write (ENOSPC:
  // resource_exhausted, naming the file) is returned by a later call.
  Status write(std::span<const std::uint8_t> bytes);
  // The media is whole: hashes it and VERIFY.txt into `manifest.files` (the
  // media first), signs the manifest (setting key_id and public_key), writes
  // the rest, fdatasyncs and closes. Returns the manifest as written.
  Result<Manifest> finish(Manifest manifest, const SigningKey& key);

 private:
  struct Impl;
  explicit PackageWriter(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

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
