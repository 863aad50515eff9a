// manifest.json of an evidence package: what was asked, what was delivered,
// where it came from, who took it and why, and the hash of every file in the
// package. The bytes that `to_bytes` returns are the bytes that are signed
// and the bytes stored in the ZIP; a reader never re-serialises them to check
// a signature.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace zaulek::evidence {

inline constexpr std::string_view kFormat = "zaulek-evidence/1";
inline constexpr std::string_view kManifestName = "manifest.json";
inline constexpr std::string_view kSignatureName = "manifest.sig";
inline constexpr std::string_view kVerifyName = "VERIFY.txt";

// Times: int64 nanoseconds since the Unix epoch, UTC (RFC 3339 in the JSON).
struct Interval {
  std::int64_t from_ns = 0;
  std::int64_t to_ns = 0;
  bool operator==(const Interval&) const = default;
};

struct CameraIdentity {
  std::string id;
  std::string name;
  std::string manufacturer;
  std::string model;
  std::string serial_number;
  std::string hardware_id;
  std::string onvif_url;
  bool operator==(const CameraIdentity&) const = default;
};

// A recorded segment the export read (its SHA-256 over the file as stored).
struct SourceSegment {
  std::string path;  // relative to the storage root
  std::int64_t start_ns = 0;
  std::int64_t end_ns = 0;
  std::int64_t bytes = 0;
  std::string sha256;  // lowercase hex
  bool operator==(const SourceSegment&) const = default;
};

// A file in the package beside the manifest and its signature.
struct PackageFile {
  std::string name;  // a plain file name: no '/', no "..", not the manifest or signature
  std::int64_t bytes = 0;
  std::string sha256;  // lowercase hex
  bool operator==(const PackageFile&) const = default;
};

struct Manifest {
  std::string format{kFormat};
  std::string export_id;
  CameraIdentity camera;
  Interval requested;
  std::optional<Interval> delivered;  // none when no footage exists in the range
  std::vector<Interval> gaps;         // within the delivered range
  std::vector<SourceSegment> segments;
  std::vector<PackageFile> files;  // the MP4 first, then VERIFY.txt
  std::string exported_by;
  std::int64_t exported_ns = 0;
  std::string reason;
  std::string key_id;      // the server's signing key (evidence/signing_key.h)
  std::string public_key;  // its public half, Base64: proves integrity, not origin
  bool operator==(const Manifest&) const = default;
};

// Canonical bytes: UTF-8 JSON, keys sorted, two-space indent, one final newline.
std::string to_bytes(const Manifest& m);
// Reads and checks the shape (invalid_argument naming the field on anything wrong).
Result<Manifest> parse(std::string_view bytes);

// RFC 3339 UTC with nanoseconds ("2026-12-07T20:31:32.123456789Z"), and back.
std::string format_time(std::int64_t ns);
std::optional<std::int64_t> parse_time(std::string_view text);

// A plain name for a file in the package (see PackageFile::name).
bool valid_file_name(std::string_view name);

}  // namespace zaulek::evidence
