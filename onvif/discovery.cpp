#include "onvif/discovery.h"

#include <sodium.h>

#include <cstdio>
#include <sstream>

#include "core/text/text.h"
#include "onvif/soap_buffer.h"

namespace zaulek::onvif {
namespace {

constexpr const char* kProbeAction = "http://schemas.xmlsoap.org/ws/2005/04/discovery/Probe";
constexpr const char* kProbeMatchesAction =
    "http://schemas.xmlsoap.org/ws/2005/04/discovery/ProbeMatches";
constexpr const char* kHelloAction = "http://schemas.xmlsoap.org/ws/2005/04/discovery/Hello";
constexpr const char* kByeAction = "http://schemas.xmlsoap.org/ws/2005/04/discovery/Bye";
constexpr const char* kDiscoveryTo = "urn:schemas-xmlsoap-org:ws:2005:04:discovery";
constexpr const char* kAnonymous =
    "http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous";
constexpr const char* kRfc3986 = "http://schemas.xmlsoap.org/ws/2005/04/discovery/rfc3986";
constexpr const char* kStrcmp0 = "http://schemas.xmlsoap.org/ws/2005/04/discovery/strcmp0";

std::vector<std::string> split(std::string_view s) {
  std::vector<std::string> out;
  std::istringstream in{std::string(s)};
  std::string word;
  while (in >> word) out.push_back(word);
  return out;
}

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) {
    if (!out.empty()) out += ' ';
    out += s;
  }
  return out;
}

// RFC 3986 rule of WS-Discovery 5.1: same scheme and authority
// (case-insensitive), probe path segments a prefix of the target's.
bool scope_matches(std::string_view probe, std::string_view target, bool exact) {
  if (exact) return probe == target;
  auto split_uri = [&](std::string_view u, std::string& head, std::vector<std::string>& segs) {
    auto scheme_end = u.find("://");
    if (scheme_end == std::string_view::npos) {
      head = u;
      return;
    }
    auto path_start = u.find('/', scheme_end + 3);
    head = ascii_lower(u.substr(0, path_start));
    if (path_start == std::string_view::npos) return;
    std::string_view path = u.substr(path_start + 1);
    while (!path.empty()) {
      auto slash = path.find('/');
      std::string_view seg = path.substr(0, slash);
      if (!seg.empty()) segs.emplace_back(seg);
      path.remove_prefix(slash == std::string_view::npos ? path.size() : slash + 1);
    }
  };
  std::string ph, th;
  std::vector<std::string> ps, ts;
  split_uri(probe, ph, ps);
  split_uri(target, th, ts);
  if (ph != th || ps.size() > ts.size()) return false;
  for (std::size_t i = 0; i < ps.size(); ++i)
    if (ps[i] != ts[i]) return false;
  return true;
}

OutHeader discovery_header(const char* action, const char* to, std::string_view message_id,
                           std::string_view relates_to) {
  OutHeader h;
  h.action = action;
  h.to = to;
  h.message_id = message_id;
  h.relates_to = relates_to;
  h.discovery = true;
  return h;
}

template <class T>
void fill_announcement(SoapContext& ctx, T& msg, const DiscoveryTarget& t) {
  msg.wsa__EndpointReference.Address = t.endpoint;
  msg.Types = ctx.strdup(join(t.types));
  msg.Scopes = soap_new_wsdd__ScopesType(ctx.get(), -1);
  msg.Scopes->__item = join(t.scopes);
  msg.XAddrs = soap_new_std__string(ctx.get(), -1);
  *msg.XAddrs = join(t.xaddrs);
  msg.MetadataVersion = t.metadata_version;
}

}  // namespace

std::string new_message_id() {
  unsigned char b[16];
  randombytes_buf(b, sizeof b);
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);
  char out[64];
  std::snprintf(out, sizeof out,
                "urn:uuid:%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
                b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12],
                b[13], b[14], b[15]);
  return out;
}

std::string build_probe(std::string_view message_id, std::string_view types) {
  SoapContext ctx;
  _wsdd__Probe probe;
  soap_default__wsdd__Probe(ctx.get(), &probe);
  probe.Types = ctx.strdup(types);
  OutHeader h = discovery_header(kProbeAction, kDiscoveryTo, message_id, {});
  return ctx.write(h, probe);
}

std::string build_probe_matches(const DiscoveryTarget& target, std::string_view relates_to,
                                std::string_view message_id) {
  SoapContext ctx;
  _wsdd__ProbeMatches pm;
  soap_default__wsdd__ProbeMatches(ctx.get(), &pm);
  wsdd__ProbeMatchType m;
  soap_default_wsdd__ProbeMatchType(ctx.get(), &m);
  fill_announcement(ctx, m, target);
  pm.ProbeMatch.push_back(m);
  OutHeader h = discovery_header(kProbeMatchesAction, kAnonymous, message_id, relates_to);
  return ctx.write(h, pm);
}

std::string build_hello(const DiscoveryTarget& target, std::string_view message_id) {
  SoapContext ctx;
  _wsdd__Hello hello;
  soap_default__wsdd__Hello(ctx.get(), &hello);
  fill_announcement(ctx, hello, target);
  OutHeader h = discovery_header(kHelloAction, kDiscoveryTo, message_id, {});
  return ctx.write(h, hello);
}

std::string build_bye(const DiscoveryTarget& target, std::string_view message_id) {
  SoapContext ctx;
  _wsdd__Bye bye;
  soap_default__wsdd__Bye(ctx.get(), &bye);
  bye.wsa__EndpointReference.Address = target.endpoint;
  OutHeader h = discovery_header(kByeAction, kDiscoveryTo, message_id, {});
  return ctx.write(h, bye);
}

Result<Probe> parse_probe(std::string_view datagram) {
  if (datagram.size() > kMaxDatagramBytes)
    return make_error(ErrorKind::resource_exhausted, "datagram larger than 64 KiB");
  SoapContext ctx;
  auto header = ctx.begin_read(datagram);
  if (!header) return header.error();
  if (!ctx.body_is("wsdd:Probe"))
    return make_error(ErrorKind::invalid_argument, "not a Probe: " + ctx.body_tag());
  auto body = ctx.read_body<_wsdd__Probe>();
  if (!body) return body.error();
  Probe p;
  p.message_id = header->message_id;
  if ((*body)->Types) p.types = split((*body)->Types);
  if ((*body)->Scopes) {
    p.scopes = split((*body)->Scopes->__item);
    if ((*body)->Scopes->MatchBy) p.match_by = *(*body)->Scopes->MatchBy;
  }
  return p;
}

Result<std::vector<DiscoveryTarget>> parse_probe_matches(std::string_view datagram,
                                                         std::string* relates_to) {
  if (datagram.size() > kMaxDatagramBytes)
    return make_error(ErrorKind::resource_exhausted, "datagram larger than 64 KiB");
  SoapContext ctx;
  auto header = ctx.begin_read(datagram);
  if (!header) return header.error();
  if (relates_to) *relates_to = header->relates_to;
  if (!ctx.body_is("wsdd:ProbeMatches"))
    return make_error(ErrorKind::invalid_argument, "not ProbeMatches: " + ctx.body_tag());
  auto body = ctx.read_body<_wsdd__ProbeMatches>();
  if (!body) return body.error();
  std::vector<DiscoveryTarget> out;
  for (const auto& m : (*body)->ProbeMatch) {
    DiscoveryTarget t;
    t.endpoint = m.wsa__EndpointReference.Address;
    t.types = m.Types ? split(m.Types) : std::vector<std::string>{};
    if (m.Scopes) t.scopes = split(m.Scopes->__item);
    if (m.XAddrs) t.xaddrs = split(*m.XAddrs);
    t.metadata_version = m.MetadataVersion;
    out.push_back(std::move(t));
  }
  return out;
}

Result<Announcement> parse_announcement(std::string_view datagram) {
  if (datagram.size() > kMaxDatagramBytes)
    return make_error(ErrorKind::resource_exhausted, "datagram larger than 64 KiB");
  SoapContext ctx;
  auto header = ctx.begin_read(datagram);
  if (!header) return header.error();
  Announcement a;
  if (ctx.body_is("wsdd:Hello")) {
    auto body = ctx.read_body<_wsdd__Hello>();
    if (!body) return body.error();
    const auto& m = **body;
    a.kind = Announcement::Kind::hello;
    a.target.endpoint = m.wsa__EndpointReference.Address;
    a.target.types = m.Types ? split(m.Types) : std::vector<std::string>{};
    if (m.Scopes) a.target.scopes = split(m.Scopes->__item);
    if (m.XAddrs) a.target.xaddrs = split(*m.XAddrs);
    a.target.metadata_version = m.MetadataVersion;
  } else if (ctx.body_is("wsdd:Bye")) {
    auto body = ctx.read_body<_wsdd__Bye>();
    if (!body) return body.error();
    a.kind = Announcement::Kind::bye;
    a.target.endpoint = (*body)->wsa__EndpointReference.Address;
    a.target.types.clear();
  } else {
    return make_error(ErrorKind::invalid_argument, "not Hello or Bye: " + ctx.body_tag());
  }
  if (a.target.endpoint.empty())
    return make_error(ErrorKind::invalid_argument, "announcement without an endpoint reference");
  return a;
}

bool matches(const Probe& probe, const DiscoveryTarget& target) {
  for (const auto& type : probe.types) {
    bool found = false;
    for (const auto& t : target.types) found = found || t == type;
    if (!found) return false;
  }
  bool exact = probe.match_by == kStrcmp0;
  if (!probe.match_by.empty() && !exact && probe.match_by != kRfc3986) return false;
  for (const auto& scope : probe.scopes) {
    bool found = false;
    for (const auto& s : target.scopes) found = found || scope_matches(scope, s, exact);
    if (!found) return false;
  }
  return true;
}

}  // namespace zaulek::onvif
