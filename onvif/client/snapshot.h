// A camera's JPEG snapshot over HTTP: the URI its ONVIF Media service names
// (GetSnapshotUri), fetched with the camera's credentials and bounded in size
// and time. The checks are pure functions over what the camera said (unit
// tested without sockets); SnapshotFetch is the asynchronous GET.
//
// Untrusted camera (docs/design/threats.md): the URI must be http:// on the
// camera's own host, so that a camera cannot send our Digest answer (or, where
// allowed, Basic credentials) to another machine; the reply header is read
// alone first and a declared Content-Length over the cap is refused before any
// body is allocated; chunked and unsized bodies are cut at the cap; the whole
// exchange has one deadline. Credentials never appear in an Error message.
#pragma once

#include <boost/asio/any_io_executor.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/digest.h"
#include "core/error.h"
#include "onvif/client/client.h"
#include "onvif/client/http_auth.h"

namespace zaulek::onvif {

// Reply body cap: a 4K JPEG at high quality is about 2 MiB.
inline constexpr std::size_t kMaxSnapshotBytes = 4u << 20;

// The URI a camera gave for its snapshot, as the target to fetch: http:// on
// the host of `device_url` (the camera's ONVIF address; the port may differ).
// invalid_argument (no URI, not http, garbage) or permission_denied (another
// host), each saying why.
Result<HttpUrl> snapshot_target(std::string_view snapshot_uri, std::string_view device_url);

// A 200 reply's body is a whole JPEG: it starts with the SOI marker (FF D8 FF)
// and an EOI marker (FF D9) ends it (trailing padding of a few KiB allowed).
// invalid_argument naming what arrived (the content type, the first bytes).
Status check_jpeg(std::string_view content_type, std::string_view body);

struct SnapshotOptions {
  std::chrono::milliseconds timeout{5000};  // connect + both legs of a Digest exchange
  std::size_t max_bytes = kMaxSnapshotBytes;
  bool allow_basic = false;  // answer a Basic-only challenge (the password in clear)
};

// A camera's last Digest challenge, kept between fetches so that the next GET
// carries its answer at once (one round trip, not two); a stale nonce costs a
// 401 and one retry. Touched only on the fetches' executor.
struct DigestState {
  std::optional<digest::Challenge> challenge;
  unsigned nc = 0;
};

// One GET of a snapshot: resolve (unless the host is an address), connect,
// GET, read the header, refuse a Content-Length over max_bytes, read the body
// (cut at max_bytes), answer one 401 with Digest (or Basic where allowed),
// check the JPEG. On the executor given (a strand); `done` runs there exactly
// once: the JPEG, or an error whose message names the camera's address and
// says what it did (unavailable, deadline_exceeded, unauthenticated,
// resource_exhausted, invalid_argument, failed_precondition for another HTTP
// status).
class SnapshotFetch {
 public:
  using Done = std::function<void(Result<std::string>)>;
  static std::shared_ptr<SnapshotFetch> start(boost::asio::any_io_executor executor, HttpUrl url,
                                              Credentials credentials, SnapshotOptions options,
                                              std::shared_ptr<DigestState> digest, Done done);
  // Ends the fetch (on its executor); `done` gets unavailable "cancelled".
  void cancel();
  ~SnapshotFetch();

 private:
  struct Impl;
  explicit SnapshotFetch(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<Impl> impl_;
};

}  // namespace zaulek::onvif
