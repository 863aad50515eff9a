#include "onvif/events/replies.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "core/text/text.h"
#include "onvif/soap_reply.h"

namespace zaulek::onvif {
namespace {

constexpr const char* kEventsWsdl = "http://www.onvif.org/ver10/events/wsdl/";
constexpr const char* kWsnBw2 = "http://docs.oasis-open.org/wsn/bw-2/";

// What std::isspace calls white space (XML's, and vertical tab and form feed).
std::string_view trim(std::string_view s) {
  return zaulek::trim(s, " \t\n\v\f\r");
}

Items items(const tt__ItemList* list) {
  Items out;
  if (!list) return out;
  for (const auto& i : list->SimpleItem) out.emplace_back(i.Name, i.Value);
  return out;
}

// The one reading of a NotificationMessage, for PullMessages and Notify alike.
std::vector<Notification> notifications_of(
    const std::vector<wsnt__NotificationMessageHolderType>& holders) {
  std::vector<Notification> out;
  out.reserve(holders.size());
  for (const auto& holder : holders) {
    Notification n;
    if (holder.Topic && holder.Topic->__mixed) n.topic = std::string(trim(holder.Topic->__mixed));
    if (const auto* m = holder.Message.tt__Message) {
      n.utc_time = m->UtcTime;
      if (m->PropertyOperation) n.property_operation = *m->PropertyOperation;
      n.source = items(m->Source);
      n.key = items(m->Key);
      n.data = items(m->Data);
    }
    out.push_back(std::move(n));
  }
  return out;
}

// The SubscriptionReference of a CreatePullPointSubscription or Subscribe
// reply: its address (bounded) and reference parameters (bounded together).
Result<SubscriptionRef> subscription_ref(const wsa5__EndpointReferenceType& ref,
                                         const char* reply) {
  SubscriptionRef out;
  out.address = std::string(trim(ref.Address ? ref.Address : ""));
  if (out.address.empty())
    return make_error(ErrorKind::invalid_argument,
                      std::string(reply) + " without a SubscriptionReference address");
  if (out.address.size() > 2048)
    return make_error(ErrorKind::invalid_argument, "subscription address longer than 2048 bytes");
  if (ref.ReferenceParameters) {
    std::size_t bytes = 0;
    for (int i = 0; i < ref.ReferenceParameters->__size; ++i) {
      const char* p = ref.ReferenceParameters->__any[i];
      if (!p || !*p) continue;
      bytes += std::strlen(p);
      if (bytes > kMaxReferenceParameterBytes)
        return make_error(ErrorKind::resource_exhausted,
                          "subscription reference parameters larger than " +
                              std::to_string(kMaxReferenceParameterBytes) + " bytes");
      out.reference_parameters.emplace_back(p);
    }
  }
  return out;
}

std::string header_block(const SubscriptionRef& ref) {
  std::string blocks;
  for (const auto& p : ref.reference_parameters) blocks += p;
  return blocks;
}

// Adds reference parameters as SOAP header blocks (WS-Addressing 1.0 §3.3).
std::string with_reference_parameters(std::string envelope, const SubscriptionRef& ref) {
  std::string blocks = header_block(ref);
  if (blocks.empty()) return envelope;
  auto end = envelope.find("</SOAP-ENV:Header>");
  if (end != std::string::npos) {
    envelope.insert(end, blocks);
    return envelope;
  }
  auto body = envelope.find("<SOAP-ENV:Body");
  if (body != std::string::npos)
    envelope.insert(body, "<SOAP-ENV:Header>" + blocks + "</SOAP-ENV:Header>");
  return envelope;
}

OutHeader out_header(const RequestAuth& auth, std::string action, std::string to) {
  OutHeader h;
  h.action = std::move(action);
  h.to = std::move(to);
  h.username = auth.username;
  h.password_digest = auth.password_digest;
  h.nonce_base64 = auth.nonce_base64;
  h.created = auth.created;
  return h;
}

}  // namespace

std::optional<std::chrono::milliseconds> parse_xsd_duration(std::string_view text) {
  text = trim(text);
  if (text.size() < 3 || text.size() > 64 || text[0] != 'P') return std::nullopt;
  double total_ms = 0;
  bool time_part = false, any = false;
  std::size_t i = 1;
  while (i < text.size()) {
    if (text[i] == 'T') {
      if (time_part) return std::nullopt;
      time_part = true;
      ++i;
      continue;
    }
    std::size_t start = i;
    while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.'))
      ++i;
    if (i == start || i >= text.size()) return std::nullopt;
    std::string number(text.substr(start, i - start));
    if (std::count(number.begin(), number.end(), '.') > 1) return std::nullopt;
    double v = std::strtod(number.c_str(), nullptr);
    char unit = text[i++];
    double unit_ms = 0;
    if (!time_part && unit == 'Y')
      unit_ms = 365.0 * 86400e3;
    else if (!time_part && unit == 'M')
      unit_ms = 30.0 * 86400e3;
    else if (!time_part && unit == 'D')
      unit_ms = 86400e3;
    else if (time_part && unit == 'H')
      unit_ms = 3600e3;
    else if (time_part && unit == 'M')
      unit_ms = 60e3;
    else if (time_part && unit == 'S')
      unit_ms = 1e3;
    else
      return std::nullopt;
    if (number.find('.') != std::string::npos && unit != 'S') return std::nullopt;
    total_ms += v * unit_ms;
    any = true;
  }
  if (!any || !std::isfinite(total_ms) || total_ms > 1e15) return std::nullopt;
  return std::chrono::milliseconds(static_cast<std::int64_t>(std::llround(total_ms)));
}

std::string format_xsd_duration(std::chrono::milliseconds d) {
  auto ms = std::max<std::int64_t>(0, d.count());
  std::string out = "PT" + std::to_string(ms / 1000);
  if (ms % 1000) {
    char frac[8];
    std::snprintf(frac, sizeof frac, ".%03d", static_cast<int>(ms % 1000));
    out += frac;
  }
  return out + "S";
}

Result<std::chrono::milliseconds> termination_lifetime(std::string_view termination,
                                                       std::string_view current, WallTime now) {
  termination = trim(termination);
  if (termination.empty())
    return make_error(ErrorKind::invalid_argument, "the camera sent no TerminationTime");
  if (auto d = parse_xsd_duration(termination)) return *d;
  WallTime end;
  if (!parse_rfc3339(termination, end))
    return make_error(ErrorKind::invalid_argument,
                      "unreadable TerminationTime '" + printable(termination, 64) + "'");
  WallTime base = now;
  WallTime cur;
  if (!trim(current).empty() && parse_rfc3339(trim(current), cur)) base = cur;
  return std::chrono::duration_cast<std::chrono::milliseconds>(end - base);
}

Result<CreatePullPointReply> parse_create_pull_point(std::string_view xml, WallTime now) {
  SoapContext ctx;
  auto r = read_reply<_tev__CreatePullPointSubscriptionResponse>(ctx, xml);
  if (!r) return r.error();
  CreatePullPointReply out;
  auto ref = subscription_ref((*r)->SubscriptionReference, "CreatePullPointSubscriptionResponse");
  if (!ref) return ref.error();
  out.ref = std::move(*ref);
  auto life = termination_lifetime((*r)->wsnt__TerminationTime, (*r)->wsnt__CurrentTime, now);
  if (!life) return life.error();
  out.lifetime = *life;
  return out;
}

Result<PullMessagesReply> parse_pull_messages(std::string_view xml, WallTime now) {
  SoapContext ctx;
  auto r = read_reply<_tev__PullMessagesResponse>(ctx, xml);
  if (!r) return r.error();
  PullMessagesReply out;
  if (auto life = termination_lifetime((*r)->TerminationTime, (*r)->CurrentTime, now))
    out.lifetime = *life;
  if ((*r)->wsnt__NotificationMessage.size() > kMaxNotificationsPerPull)
    return make_error(
        ErrorKind::resource_exhausted,
        "PullMessages reply with " + std::to_string((*r)->wsnt__NotificationMessage.size()) +
            " notifications (at most " + std::to_string(kMaxNotificationsPerPull) + ")");
  out.notifications = notifications_of((*r)->wsnt__NotificationMessage);
  return out;
}

Result<std::chrono::milliseconds> parse_renew(std::string_view xml, WallTime now) {
  SoapContext ctx;
  auto r = read_reply<_wsnt__RenewResponse>(ctx, xml);
  if (!r) return r.error();
  return termination_lifetime((*r)->TerminationTime, (*r)->CurrentTime ? *(*r)->CurrentTime : "",
                              now);
}

Status parse_unsubscribe(std::string_view xml) {
  SoapContext ctx;
  auto r = read_reply<_wsnt__UnsubscribeResponse>(ctx, xml);
  if (!r) return r.error();
  return {};
}

std::string make_create_pull_point(const RequestAuth& auth, std::chrono::milliseconds lifetime) {
  SoapContext ctx;
  _tev__CreatePullPointSubscription req;
  soap_default__tev__CreatePullPointSubscription(ctx.get(), &req);
  std::string initial = format_xsd_duration(lifetime);
  req.InitialTerminationTime = &initial;
  return ctx.write(
      out_header(auth,
                 std::string(kEventsWsdl) + "EventPortType/CreatePullPointSubscriptionRequest", ""),
      req);
}

std::string make_pull_messages(const RequestAuth& auth, const SubscriptionRef& ref,
                               std::chrono::milliseconds timeout, int limit) {
  SoapContext ctx;
  _tev__PullMessages req;
  soap_default__tev__PullMessages(ctx.get(), &req);
  req.Timeout = format_xsd_duration(timeout);
  req.MessageLimit = limit;
  return with_reference_parameters(
      ctx.write(
          out_header(auth, std::string(kEventsWsdl) + "PullPointSubscription/PullMessagesRequest",
                     ref.address),
          req),
      ref);
}

std::string make_renew(const RequestAuth& auth, const SubscriptionRef& ref,
                       std::chrono::milliseconds lifetime) {
  SoapContext ctx;
  _wsnt__Renew req;
  soap_default__wsnt__Renew(ctx.get(), &req);
  std::string term = format_xsd_duration(lifetime);
  req.TerminationTime = &term;
  return with_reference_parameters(
      ctx.write(
          out_header(auth, std::string(kWsnBw2) + "SubscriptionManager/RenewRequest", ref.address),
          req),
      ref);
}

std::string make_unsubscribe(const RequestAuth& auth, const SubscriptionRef& ref) {
  SoapContext ctx;
  _wsnt__Unsubscribe req;
  soap_default__wsnt__Unsubscribe(ctx.get(), &req);
  return with_reference_parameters(
      ctx.write(out_header(auth, std::string(kWsnBw2) + "SubscriptionManager/UnsubscribeRequest",
                           ref.address),
                req),
      ref);
}

Result<CreatePullPointReply> parse_subscribe(std::string_view xml, WallTime now,
                                             std::chrono::milliseconds requested) {
  SoapContext ctx;
  auto r = read_reply<_wsnt__SubscribeResponse>(ctx, xml);
  if (!r) return r.error();
  CreatePullPointReply out;
  auto ref = subscription_ref((*r)->SubscriptionReference, "SubscribeResponse");
  if (!ref) return ref.error();
  out.ref = std::move(*ref);
  out.lifetime = requested;
  if ((*r)->TerminationTime && !trim(*(*r)->TerminationTime).empty()) {
    auto life = termination_lifetime(*(*r)->TerminationTime,
                                     (*r)->CurrentTime ? *(*r)->CurrentTime : "", now);
    if (!life) return life.error();
    out.lifetime = *life;
  }
  return out;
}

Result<std::vector<Notification>> parse_notify(std::string_view xml) {
  if (xml.size() > kMaxEnvelopeBytes)
    return make_error(ErrorKind::resource_exhausted,
                      "Notify larger than " + std::to_string(kMaxEnvelopeBytes) + " bytes");
  SoapContext ctx;
  auto header = ctx.begin_read(xml);
  if (!header) return header.error();
  if (!ctx.body_is(SoapType<_wsnt__Notify>::tag))
    return unexpected_body(SoapType<_wsnt__Notify>::tag, "", ctx.body_tag());
  auto r = ctx.read_body<_wsnt__Notify>();
  if (!r) return r.error();
  if ((*r)->NotificationMessage.size() > kMaxNotificationsPerPull)
    return make_error(ErrorKind::resource_exhausted,
                      "Notify with " + std::to_string((*r)->NotificationMessage.size()) +
                          " notifications (at most " + std::to_string(kMaxNotificationsPerPull) +
                          ")");
  return notifications_of((*r)->NotificationMessage);
}

bool is_action_not_supported(std::string_view message) {
  // "camera answered with a SOAP fault ter:ActionNotSupported: ..." (also
  // wsa:ActionNotSupported, wsa5:ActionNotSupported from WS-Addressing).
  // Not a NotAuthorized fault ("camera refused the credentials (SOAP fault
  // ...: <reason>)"), whatever its reason says: that is the credentials.
  return contains_nocase(message, "answered with a SOAP fault") &&
         contains_nocase(message, "ActionNotSupported");
}

std::string make_subscribe(const RequestAuth& auth, const std::string& consumer_url,
                           std::chrono::milliseconds lifetime) {
  SoapContext ctx;
  _wsnt__Subscribe req;
  soap_default__wsnt__Subscribe(ctx.get(), &req);
  req.ConsumerReference.Address = ctx.strdup(consumer_url);
  std::string initial = format_xsd_duration(lifetime);
  req.InitialTerminationTime = &initial;
  return ctx.write(
      out_header(auth, std::string(kWsnBw2) + "NotificationProducer/SubscribeRequest", ""), req);
}

std::string make_notify(const std::vector<Notification>& notifications) {
  SoapContext ctx;
  struct soap* s = ctx.get();
  _wsnt__Notify n;
  soap_default__wsnt__Notify(s, &n);
  auto list = [&](const Items& kv) {
    auto* l = soap_new_tt__ItemList(s, -1);
    for (const auto& [k, v] : kv) {
      tt__SimpleItem item;
      soap_default_tt__SimpleItem(s, &item);
      item.Name = k;
      item.Value = v;
      l->SimpleItem.push_back(item);
    }
    return l;
  };
  for (const auto& note : notifications) {
    wsnt__NotificationMessageHolderType h;
    soap_default_wsnt__NotificationMessageHolderType(s, &h);
    h.Topic = soap_new_wsnt__TopicExpressionType(s, -1);
    h.Topic->Dialect = "http://www.onvif.org/ver10/tev/topicExpression/ConcreteSet";
    h.Topic->__mixed = ctx.strdup(note.topic);
    auto* m = soap_new__tt__Message(s, -1);
    m->UtcTime = note.utc_time;
    if (!note.property_operation.empty()) {
      m->PropertyOperation = soap_new_std__string(s, -1);
      *m->PropertyOperation = note.property_operation;
    }
    m->Source = list(note.source);
    if (!note.key.empty()) m->Key = list(note.key);
    m->Data = list(note.data);
    h.Message.tt__Message = m;
    n.NotificationMessage.push_back(h);
  }
  OutHeader o;
  o.action = std::string(kWsnBw2) + "NotificationConsumer/Notify";
  return ctx.write(o, n);
}

}  // namespace zaulek::onvif
