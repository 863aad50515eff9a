#include "evidence/manifest.h"

#include <nlohmann/json.hpp>

#include "core/clock.h"

namespace zaulek::evidence {
namespace {

using nlohmann::json;

Error bad(const std::string& field, const std::string& what) {
  return make_error(ErrorKind::invalid_argument, "manifest: " + field + " " + what);
}

json interval(const Interval& i) {
  return {{"from", format_time(i.from_ns)}, {"to", format_time(i.to_ns)}};
}

bool is_hex_sha256(const std::string& s) {
  if (s.size() != 64) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

// Field readers that name what is wrong.
Result<std::string> text(const json& j, const std::string& where, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_string()) return bad(where + key, "must be a string");
  return it->get<std::string>();
}
Result<std::int64_t> integer(const json& j, const std::string& where, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_number_integer()) return bad(where + key, "must be an integer");
  return it->get<std::int64_t>();
}
Result<std::int64_t> time(const json& j, const std::string& where, const char* key) {
  auto t = text(j, where, key);
  if (!t) return t.error();
  auto ns = parse_time(*t);
  if (!ns) return bad(where + key, "must be an RFC 3339 time");
  return *ns;
}
Result<Interval> read_interval(const json& j, const std::string& where) {
  if (!j.is_object()) return bad(where, "must be an object");
  auto from = time(j, where + ".", "from");
  if (!from) return from.error();
  auto to = time(j, where + ".", "to");
  if (!to) return to.error();
  if (*to < *from) return bad(where, "ends before it starts");
  return Interval{*from, *to};
}
Result<std::string> hash(const json& j, const std::string& where) {
  auto h = text(j, where, "sha256");
  if (!h) return h.error();
  if (!is_hex_sha256(*h)) return bad(where + "sha256", "must be 64 lowercase hex digits");
  return *h;
}

}  // namespace

std::string format_time(std::int64_t ns) {
  return format_rfc3339(WallTime{std::chrono::nanoseconds{ns}}, 9);
}

std::optional<std::int64_t> parse_time(std::string_view text) {
  WallTime t;
  if (!parse_rfc3339(text, t)) return std::nullopt;
  return to_unix_ns(t);
}

bool valid_file_name(std::string_view name) {
  if (name.empty() || name.size() > 255 || name == "." || name == ".." || name == kManifestName ||
      name == kSignatureName) {
    return false;
  }
  for (char c : name) {
    if (c == '/' || c == '\\' || static_cast<unsigned char>(c) < 0x20) return false;
  }
  return true;
}

std::string to_bytes(const Manifest& m) {
  json j;  // nlohmann's object keeps keys sorted: the order is part of the format
  j["format"] = m.format;
  j["export_id"] = m.export_id;
  j["camera"] = {{"id", m.camera.id},
                 {"name", m.camera.name},
                 {"manufacturer", m.camera.manufacturer},
                 {"model", m.camera.model},
                 {"serial_number", m.camera.serial_number},
                 {"hardware_id", m.camera.hardware_id},
                 {"onvif_url", m.camera.onvif_url}};
  j["requested"] = interval(m.requested);
  j["delivered"] = m.delivered ? interval(*m.delivered) : json(nullptr);
  j["gaps"] = json::array();
  for (const Interval& g : m.gaps) j["gaps"].push_back(interval(g));
  j["segments"] = json::array();
  for (const SourceSegment& s : m.segments) {
    j["segments"].push_back({{"path", s.path},
                             {"start", format_time(s.start_ns)},
                             {"end", format_time(s.end_ns)},
                             {"bytes", s.bytes},
                             {"sha256", s.sha256}});
  }
  j["files"] = json::array();
  for (const PackageFile& f : m.files) {
    j["files"].push_back({{"name", f.name}, {"bytes", f.bytes}, {"sha256", f.sha256}});
  }
  j["exported_by"] = m.exported_by;
  j["exported_at"] = format_time(m.exported_ns);
  j["reason"] = m.reason;
  j["key"] = {{"id", m.key_id}, {"algorithm", "Ed25519"}, {"public_key", m.public_key}};
  // Invalid UTF-8 in a name or reason is replaced, never thrown on.
  return j.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

Result<Manifest> parse(std::string_view bytes) {
  constexpr std::size_t kMaxBytes = 64 << 20;  // ~300,000 segments: far beyond a day's export
  if (bytes.size() > kMaxBytes) return bad("", "is larger than 64 MiB");
  json j = json::parse(bytes, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return bad("", "is not a JSON object");
  Manifest m;
  auto format = text(j, "", "format");
  if (!format) return format.error();
  if (*format != kFormat) return bad("format", "is " + *format + ", not " + std::string(kFormat));
  m.format = *format;
  auto id = text(j, "", "export_id");
  if (!id) return id.error();
  m.export_id = *id;
  auto cam = j.find("camera");
  if (cam == j.end() || !cam->is_object()) return bad("camera", "must be an object");
  for (auto [key, field] :
       {std::pair{"id", &m.camera.id}, std::pair{"name", &m.camera.name},
        std::pair{"manufacturer", &m.camera.manufacturer}, std::pair{"model", &m.camera.model},
        std::pair{"serial_number", &m.camera.serial_number},
        std::pair{"hardware_id", &m.camera.hardware_id},
        std::pair{"onvif_url", &m.camera.onvif_url}}) {
    auto v = text(*cam, "camera.", key);
    if (!v) return v.error();
    *field = *v;
  }
  auto requested = read_interval(j.value("requested", json()), "requested");
  if (!requested) return requested.error();
  m.requested = *requested;
  auto delivered = j.find("delivered");
  if (delivered == j.end()) return bad("delivered", "is missing");
  if (!delivered->is_null()) {
    auto d = read_interval(*delivered, "delivered");
    if (!d) return d.error();
    m.delivered = *d;
  }
  auto gaps = j.find("gaps");
  if (gaps == j.end() || !gaps->is_array()) return bad("gaps", "must be an array");
  for (std::size_t i = 0; i < gaps->size(); ++i) {
    auto g = read_interval((*gaps)[i], "gaps[" + std::to_string(i) + "]");
    if (!g) return g.error();
    m.gaps.push_back(*g);
  }
  auto segs = j.find("segments");
  if (segs == j.end() || !segs->is_array()) return bad("segments", "must be an array");
  for (std::size_t i = 0; i < segs->size(); ++i) {
    const json& s = (*segs)[i];
    std::string where = "segments[" + std::to_string(i) + "].";
    if (!s.is_object()) return bad(where, "must be an object");
    SourceSegment seg;
    auto path = text(s, where, "path");
    if (!path) return path.error();
    auto start = time(s, where, "start");
    if (!start) return start.error();
    auto end = time(s, where, "end");
    if (!end) return end.error();
    auto size = integer(s, where, "bytes");
    if (!size) return size.error();
    auto h = hash(s, where);
    if (!h) return h.error();
    seg.path = *path;
    seg.start_ns = *start;
    seg.end_ns = *end;
    seg.bytes = *size;
    seg.sha256 = *h;
    m.segments.push_back(std::move(seg));
  }
  auto files = j.find("files");
  if (files == j.end() || !files->is_array() || files->empty()) {
    return bad("files", "must be a non-empty array");
  }
  for (std::size_t i = 0; i < files->size(); ++i) {
    const json& f = (*files)[i];
    std::string where = "files[" + std::to_string(i) + "].";
    if (!f.is_object()) return bad(where, "must be an object");
    auto name = text(f, where, "name");
    if (!name) return name.error();
    if (!valid_file_name(*name)) return bad(where + "name", "is not a plain file name");
    for (const PackageFile& seen : m.files) {
      if (seen.name == *name) return bad(where + "name", "names " + *name + " twice");
    }
    auto size = integer(f, where, "bytes");
    if (!size) return size.error();
    if (*size < 0) return bad(where + "bytes", "must not be negative");
    auto h = hash(f, where);
    if (!h) return h.error();
    m.files.push_back({*name, *size, *h});
  }
  auto by = text(j, "", "exported_by");
  if (!by) return by.error();
  m.exported_by = *by;
  auto at = time(j, "", "exported_at");
  if (!at) return at.error();
  m.exported_ns = *at;
  auto reason = text(j, "", "reason");
  if (!reason) return reason.error();
  m.reason = *reason;
  auto key = j.find("key");
  if (key == j.end() || !key->is_object()) return bad("key", "must be an object");
  auto alg = text(*key, "key.", "algorithm");
  if (!alg) return alg.error();
  if (*alg != "Ed25519") return bad("key.algorithm", "is " + *alg + ", not Ed25519");
  auto kid = text(*key, "key.", "id");
  if (!kid) return kid.error();
  m.key_id = *kid;
  auto pk = text(*key, "key.", "public_key");
  if (!pk) return pk.error();
  m.public_key = *pk;
  return m;
}

}  // namespace zaulek::evidence
