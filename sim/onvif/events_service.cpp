// The simulated camera's PullPoint events (tev): GetEventProperties,
// CreatePullPointSubscription and PullMessages, which waits on the
// subscription's queue. Renew and Unsubscribe, shared with Basic
// Notification, are in subscriptions.cpp.
#include <spdlog/spdlog.h>

#include <algorithm>

#include "sim/onvif/device_core.h"

namespace zaulek::sim::onvif_sim {
namespace {

OutHeader events_header(const Call& call, const std::string& action) {
  OutHeader o;
  o.action = kEventsWsdl + action;
  o.relates_to = call.header.message_id;
  return o;
}

std::string event_properties(const Call& call) {
  SoapContext out;
  _tev__GetEventPropertiesResponse r;
  soap_default__tev__GetEventPropertiesResponse(out.get(), &r);
  r.TopicNamespaceLocation = {"http://www.onvif.org/onvif/ver10/topics/topicns.xml"};
  r.wsnt__FixedTopicSet = true;
  r.wstop__TopicSet = soap_new__wstop__TopicSet(out.get(), -1);
  r.wstop__TopicSet->__any = out.strdup(topic_set_xml());
  r.wsnt__TopicExpressionDialect = {"http://www.onvif.org/ver10/tev/topicExpression/ConcreteSet",
                                    "http://docs.oasis-open.org/wsn/t-1/TopicExpression/Concrete"};
  r.MessageContentFilterDialect = {
      "http://www.onvif.org/ver10/tev/messageContentFilter/ItemFilter"};
  r.MessageContentSchemaLocation = {"http://www.onvif.org/onvif/ver10/schema/onvif.xsd"};
  return out.write(events_header(call, "EventPortType/GetEventPropertiesResponse"), r);
}

}  // namespace

std::optional<std::string> Core::events_service(Call& call) {
  SoapContext& ctx = call.ctx;
  if (ctx.body_is("tev:GetEventProperties")) return event_properties(call);

  if (ctx.body_is("tev:CreatePullPointSubscription")) {
    note_request("CreatePullPointSubscription");
    if (faults().no_pullpoint) {
      // As a camera without a PullPoint answers (ONVIF Core: env:Receiver,
      // ter:ActionNotSupported).
      spdlog::info("onvif sim {}: no PullPoint (fault): CreatePullPointSubscription refused",
                   identity_.name);
      return call.receiver_fault("ter:ActionNotSupported",
                                 "CreatePullPointSubscription is not supported");
    }
    auto b = ctx.read_body<_tev__CreatePullPointSubscription>();
    if (!b) return call.read_error(b.error());
    std::chrono::milliseconds lifetime = kDefaultTermination;
    if ((*b)->InitialTerminationTime && !(*b)->InitialTerminationTime->empty()) {
      auto what =
          requested_lifetime(*(*b)->InitialTerminationTime, "InitialTerminationTime", lifetime);
      if (!what.empty()) return call.bad("ter:InvalidArgVal", what);
    }
    const int id = add_subscription(true, {}, lifetime);
    if (id == 0) return call.receiver_fault("ter:OutofResources", "too many subscriptions");
    spdlog::info("onvif sim {}: pull-point subscription {} for {} ms", identity_.name, id,
                 lifetime.count());
    WallTime now = device_now();
    SoapContext out;
    _tev__CreatePullPointSubscriptionResponse r;
    soap_default__tev__CreatePullPointSubscriptionResponse(out.get(), &r);
    r.SubscriptionReference.Address = out.strdup(subscription_url(id));
    r.wsnt__CurrentTime = format_rfc3339(now);
    r.wsnt__TerminationTime = format_rfc3339(now + lifetime);
    return out.write(events_header(call, "EventPortType/CreatePullPointSubscriptionResponse"), r);
  }

  if (ctx.body_is("tev:PullMessages")) {
    auto it = subs_.find(call.sub_id);
    if (it == subs_.end())
      return call.bad("ter:InvalidArgVal",
                      "unknown or expired subscription (wsrf-rw:ResourceUnknown)");
    auto b = ctx.read_body<_tev__PullMessages>();
    if (!b) return call.read_error(b.error());
    if (!it->second.pull) return call.bad("ter:InvalidArgVal", "not a pull-point subscription");
    note_request("PullMessages");
    if (faults().pull_fault) return call.bad("ter:InvalidArgVal", "PullMessages refused (fault)");
    call.async = true;
    pull_messages(call.req, call.sub_id, **b, std::move(call.done));
    return std::string();
  }
  return std::nullopt;
}

std::string Core::pull_response(SoapContext& out, Subscription* sub, int limit, int flood) {
  WallTime now = device_now();
  _tev__PullMessagesResponse r;
  soap_default__tev__PullMessagesResponse(out.get(), &r);
  r.CurrentTime = format_rfc3339(now);
  if (sub) {
    auto left = sub->termination - zaulek::system_clock().realtime();
    r.TerminationTime =
        format_rfc3339(now + std::chrono::duration_cast<std::chrono::milliseconds>(left));
    std::string address = subscription_url(sub->id);
    if (flood > 0) limit = flood;
    while (!sub->queue.empty() && static_cast<int>(r.wsnt__NotificationMessage.size()) < limit) {
      wsnt__NotificationMessageHolderType holder;
      fill_notification(out, sub->queue.front(), address, holder);
      r.wsnt__NotificationMessage.push_back(holder);
      sub->queue.pop_front();
    }
    // The flooding camera's filler: motion start and stop, one after another.
    const std::string utc = format_rfc3339(now);
    while (static_cast<int>(r.wsnt__NotificationMessage.size()) < flood) {
      bool start = r.wsnt__NotificationMessage.size() % 2 == 0;
      auto msg = make_event({"motion", start}, utc, 0);
      if (!msg) break;
      wsnt__NotificationMessageHolderType holder;
      fill_notification(out, *msg, address, holder);
      r.wsnt__NotificationMessage.push_back(holder);
    }
  } else {
    r.TerminationTime = r.CurrentTime;  // ended while waiting
  }
  OutHeader o;
  o.action = std::string(kEventsWsdl) + "PullPointSubscription/PullMessagesResponse";
  return out.write(o, r);
}

void Core::pull_messages(const Request& req, int sub_id, const _tev__PullMessages& body,
                         Done done) {
  int limit = std::clamp(body.MessageLimit, 1, 1000);
  const int flood = std::clamp(faults().event_flood, 0, 1000);
  auto timeout = parse_duration(body.Timeout);
  if (!timeout) {
    SoapContext fctx;
    return finish(
        soap_response(req, http::status::bad_request,
                      fctx.write_fault({true, "ter:InvalidArgVal", "unreadable Timeout"})),
        std::move(done));
  }
  auto wait = std::min<std::chrono::milliseconds>(*timeout, kMaxPullWait);
  Subscription& sub = subs_.at(sub_id);
  auto respond = [self = shared_from_this(), req_version = req.version(), keep = req.keep_alive(),
                  sub_id, limit, flood, done = std::move(done)]() {
    auto it = self->subs_.find(sub_id);
    SoapContext out;
    std::string xml =
        self->pull_response(out, it == self->subs_.end() ? nullptr : &it->second, limit, flood);
    Request fake{http::verb::post, "/", req_version};
    fake.keep_alive(keep);
    self->finish(self->soap_response(fake, http::status::ok, std::move(xml)), done);
  };
  if (!sub.queue.empty() || wait.count() == 0 || flood > 0) return respond();
  if (sub.waiter) {
    // One waiting pull per subscription: the older one is answered now.
    auto older = std::move(sub.waiter);
    sub.waiter = nullptr;
    if (sub.wait_timer) sub.wait_timer->cancel();
    older();
  }
  sub.waiter = respond;
  sub.wait_timer = std::make_shared<asio::steady_timer>(strand_, wait);
  sub.wait_timer->async_wait([self = shared_from_this(), sub_id](beast::error_code ec) {
    if (ec) return;  // cancelled: an event or Unsubscribe answered
    auto it = self->subs_.find(sub_id);
    if (it == self->subs_.end() || !it->second.waiter) return;
    auto waiter = std::move(it->second.waiter);
    it->second.waiter = nullptr;
    waiter();
  });
}

}  // namespace zaulek::sim::onvif_sim
