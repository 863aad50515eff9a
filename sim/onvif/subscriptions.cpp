// The simulated camera's WS-BaseNotification side: Subscribe (Basic
// Notification, events pushed to the consumer as Notify POSTs), and the
// subscription manager both kinds share (Renew, Unsubscribe), with the
// lifetime rules and the limit on subscriptions.
#include <spdlog/spdlog.h>

#include <cstdlib>

#include "sim/onvif/device_core.h"

namespace zaulek::sim::onvif_sim {
namespace {

constexpr const char* kWsnBw2 = "http://docs.oasis-open.org/wsn/bw-2/";

OutHeader wsn_header(const Call& call, const std::string& action) {
  OutHeader o;
  o.action = kWsnBw2 + action;
  o.relates_to = call.header.message_id;
  return o;
}

// Loopback only: the simulator never sends to another address.
bool loopback_http_url(const std::string& url, std::string& host, std::string& port,
                       std::string& target) {
  const std::string scheme = "http://";
  if (url.rfind(scheme, 0) != 0 || url.size() > 2048) return false;
  std::string rest = url.substr(scheme.size());
  auto slash = rest.find('/');
  std::string authority = rest.substr(0, slash);
  target = slash == std::string::npos ? "/" : rest.substr(slash);
  if (!authority.empty() && authority[0] == '[') {
    auto close = authority.find(']');
    if (close == std::string::npos) return false;
    host = authority.substr(1, close - 1);
    port = close + 2 <= authority.size() ? authority.substr(close + 2) : "80";
  } else {
    auto colon = authority.rfind(':');
    host = authority.substr(0, colon);
    port = colon == std::string::npos ? "80" : authority.substr(colon + 1);
  }
  if (port.empty()) port = "80";
  if (host == "localhost") host = "127.0.0.1";
  boost::system::error_code ec;
  auto addr = asio::ip::make_address(host, ec);
  return !ec && addr.is_loopback();
}

}  // namespace

std::string Core::requested_lifetime(const std::string& text, const char* what,
                                     std::chrono::milliseconds& lifetime) const {
  WallTime abs;
  if (auto d = parse_duration(text))
    lifetime = *d;
  else if (parse_rfc3339(text, abs))
    lifetime = std::chrono::duration_cast<std::chrono::milliseconds>(abs - device_now());
  else
    return std::string("unreadable ") + what;
  if (lifetime.count() <= 0) return "termination time in the past";
  if (lifetime > std::chrono::hours(24)) lifetime = std::chrono::hours(24);
  return {};
}

int Core::add_subscription(bool pull, std::string consumer, std::chrono::milliseconds lifetime) {
  if (subs_.size() >= kMaxSubscriptions) return 0;
  Subscription s;
  s.id = next_sub_++;
  s.pull = pull;
  s.consumer = std::move(consumer);
  s.termination = zaulek::system_clock().realtime() + lifetime;
  const int id = s.id;
  subs_.emplace(id, std::move(s));
  return id;
}

std::optional<std::string> Core::subscription_service(Call& call) {
  SoapContext& ctx = call.ctx;
  if (ctx.body_is("wsnt:Subscribe")) {
    auto b = ctx.read_body<_wsnt__Subscribe>();
    if (!b) return call.read_error(b.error());
    std::chrono::milliseconds lifetime = kDefaultTermination;
    const std::string consumer =
        (*b)->ConsumerReference.Address ? (*b)->ConsumerReference.Address : "";
    std::string host, port, target;
    if (!loopback_http_url(consumer, host, port, target))
      return call.bad("ter:InvalidArgVal", "ConsumerReference must be an http:// loopback URL");
    if ((*b)->InitialTerminationTime && !(*b)->InitialTerminationTime->empty()) {
      auto what =
          requested_lifetime(*(*b)->InitialTerminationTime, "InitialTerminationTime", lifetime);
      if (!what.empty()) return call.bad("ter:InvalidArgVal", what);
    }
    const int id = add_subscription(false, consumer, lifetime);
    if (id == 0) return call.receiver_fault("ter:OutofResources", "too many subscriptions");
    // The consumer URL too: tests read it from this log (the simulator is no vault).
    spdlog::info("onvif sim {}: notification subscription {} for {} ms to {}", identity_.name, id,
                 lifetime.count(), consumer);
    WallTime now = device_now();
    SoapContext out;
    _wsnt__SubscribeResponse r;
    soap_default__wsnt__SubscribeResponse(out.get(), &r);
    r.SubscriptionReference.Address = out.strdup(subscription_url(id));
    r.CurrentTime = soap_new_std__string(out.get(), -1);
    *r.CurrentTime = format_rfc3339(now);
    r.TerminationTime = soap_new_std__string(out.get(), -1);
    *r.TerminationTime = format_rfc3339(now + lifetime);
    return out.write(wsn_header(call, "NotificationProducer/SubscribeResponse"), r);
  }

  const bool renew = ctx.body_is("wsnt:Renew");
  if (!renew && !ctx.body_is("wsnt:Unsubscribe")) return std::nullopt;
  auto it = subs_.find(call.sub_id);
  if (it == subs_.end())
    return call.bad("ter:InvalidArgVal",
                    "unknown or expired subscription (wsrf-rw:ResourceUnknown)");
  SoapContext out;
  if (renew) {
    auto b = ctx.read_body<_wsnt__Renew>();
    if (!b) return call.read_error(b.error());
    std::chrono::milliseconds lifetime = kDefaultTermination;
    if ((*b)->TerminationTime) {
      auto what = requested_lifetime(*(*b)->TerminationTime, "TerminationTime", lifetime);
      if (!what.empty()) return call.bad("ter:InvalidArgVal", what);
    }
    it->second.termination = zaulek::system_clock().realtime() + lifetime;
    WallTime now = device_now();
    _wsnt__RenewResponse r;
    soap_default__wsnt__RenewResponse(out.get(), &r);
    r.TerminationTime = format_rfc3339(now + lifetime);
    r.CurrentTime = soap_new_std__string(out.get(), -1);
    *r.CurrentTime = format_rfc3339(now);
    return out.write(wsn_header(call, "SubscriptionManager/RenewResponse"), r);
  }
  auto b = ctx.read_body<_wsnt__Unsubscribe>();
  if (!b) return call.read_error(b.error());
  if (it->second.wait_timer) it->second.wait_timer->cancel();
  auto waiter = std::move(it->second.waiter);
  subs_.erase(it);
  if (waiter) waiter();
  spdlog::info("onvif sim {}: subscription {} unsubscribed", identity_.name, call.sub_id);
  _wsnt__UnsubscribeResponse r;
  soap_default__wsnt__UnsubscribeResponse(out.get(), &r);
  return out.write(wsn_header(call, "SubscriptionManager/UnsubscribeResponse"), r);
}

// Basic Notification: one short-lived HTTP POST per Notify, loopback only.
void Core::push_notify(const Subscription& sub, const EventMessage& m) {
  std::string host, port, target;
  if (!loopback_http_url(sub.consumer, host, port, target)) return;
  if (push_in_flight_ >= kMaxPushInFlight) {
    spdlog::warn("onvif sim {}: {} Notify POSTs in flight, dropping one", identity_.name,
                 push_in_flight_);
    return;
  }
  SoapContext out;
  _wsnt__Notify n;
  soap_default__wsnt__Notify(out.get(), &n);
  wsnt__NotificationMessageHolderType holder;
  fill_notification(out, m, subscription_url(sub.id), holder);
  n.NotificationMessage.push_back(holder);
  OutHeader o;
  o.action = "http://docs.oasis-open.org/wsn/bw-2/NotificationConsumer/Notify";
  o.to = sub.consumer;
  struct Post {
    beast::tcp_stream stream;
    Request req;
    Response res;
    beast::flat_buffer buf;
  };
  auto p = std::make_shared<Post>(Post{beast::tcp_stream(strand_), {}, {}, {}});
  p->req = Request{http::verb::post, target, 11};
  p->req.set(http::field::host, host + ":" + port);
  p->req.set(http::field::content_type, "application/soap+xml; charset=utf-8");
  p->req.body() = out.write(o, n);
  p->req.prepare_payload();
  ++push_in_flight_;
  boost::system::error_code ec;
  tcp::endpoint ep(asio::ip::make_address(host, ec),
                   static_cast<unsigned short>(std::atoi(port.c_str())));
  auto self = shared_from_this();
  auto end = [self, p, consumer = sub.consumer](beast::error_code e, const char* what) {
    --self->push_in_flight_;
    beast::error_code ignore;
    p->stream.socket().shutdown(tcp::socket::shutdown_both, ignore);
    if (e)
      spdlog::info("onvif sim {}: Notify to {} failed at {}: {}", self->identity_.name, consumer,
                   what, e.message());
  };
  p->stream.expires_after(std::chrono::seconds(5));
  p->stream.async_connect(ep, [p, end](beast::error_code e) {
    if (e) return end(e, "connect");
    http::async_write(p->stream, p->req, [p, end](beast::error_code e, std::size_t) {
      if (e) return end(e, "write");
      http::async_read(p->stream, p->buf, p->res,
                       [p, end](beast::error_code e, std::size_t) { end(e, "read"); });
    });
  });
}

}  // namespace zaulek::sim::onvif_sim
