#include "onvif/events/subscription.h"

#include <algorithm>

namespace zaulek::onvif {

namespace asio = boost::asio;
using std::chrono::milliseconds;

std::shared_ptr<PullPointSubscription> PullPointSubscription::create(
    asio::any_io_executor executor, std::string device_url, std::string events_url,
    Credentials credentials, SubscriptionOptions options, Clock& clock, OnEvents on_events,
    OnState on_state) {
  return std::shared_ptr<PullPointSubscription>(new PullPointSubscription(
      std::move(executor), std::move(device_url), std::move(events_url), std::move(credentials),
      options, clock, std::move(on_events), std::move(on_state)));
}

PullPointSubscription::PullPointSubscription(asio::any_io_executor executor, std::string device_url,
                                             std::string events_url, Credentials credentials,
                                             SubscriptionOptions options, Clock& clock,
                                             OnEvents on_events, OnState on_state)
    : SubscriptionBase(executor, std::move(device_url), std::move(events_url), credentials, options,
                       clock, std::move(on_events), std::move(on_state)),
      puller_(Client::create(executor, device_url_, credentials,
                             {options.pull_timeout + options.call_timeout}, clock)),
      pace_timer_(executor) {}

void PullPointSubscription::ended() {
  puller_->cancel();
  pace_timer_.cancel();
}

void PullPointSubscription::send_subscribe(std::uint64_t gen) {
  auto self = this->self();
  auto lifetime = options_.lifetime;
  control_->call(
      events_url_,
      [self, lifetime](bool with_token) {
        return make_create_pull_point(with_token ? self->auth() : RequestAuth{}, lifetime);
      },
      true,
      [self, gen](Result<std::string> body) {
        if (!self->current(gen)) return;
        if (!body) return self->fail("CreatePullPointSubscription: " + body.error().message);
        auto r = parse_create_pull_point(*body, self->clock_.realtime());
        if (!r) return self->fail("CreatePullPointSubscription: " + r.error().message);
        if (r->lifetime <= milliseconds(0))
          return self->fail("CreatePullPointSubscription: TerminationTime is not in the future");
        self->subscribed(std::move(r->ref), r->lifetime);
        self->pull();
      },
      Client::Idempotent::no);
}

void PullPointSubscription::pull() {
  if (stopping_) return;
  const auto gen = generation_;
  auto self = this->self();
  pull_started_ = clock_.monotonic();
  puller_->call(
      ref_.address,
      [self](bool with_token) {
        return make_pull_messages(with_token ? self->auth() : RequestAuth{}, self->ref_,
                                  self->options_.pull_timeout, self->options_.message_limit);
      },
      true,
      [self, gen](Result<std::string> body) {
        if (!self->current(gen)) return;
        if (!body) return self->fail("PullMessages: " + body.error().message);
        const WallTime now = self->clock_.realtime();
        auto r = parse_pull_messages(*body, now);
        if (!r) return self->fail("PullMessages: " + r.error().message);
        auto& notes = r->notifications;
        const auto limit = static_cast<std::size_t>(std::max(1, self->options_.message_limit));
        const bool partial = !notes.empty() && notes.size() < limit;
        if (notes.size() > limit) {
          self->excess_ += notes.size() - limit;
          notes.resize(limit);
        }
        self->delivered();
        if (!notes.empty() && self->on_events_) {
          self->on_events_(self->received(notes, now));
          if (!self->current(gen)) return;
        }
        self->pull_later(partial ? self->options_.busy_pull_interval
                                 : self->options_.min_pull_interval);
      });
}

void PullPointSubscription::pull_later(milliseconds interval) {
  const auto since = clock_.monotonic() - pull_started_;
  if (since >= interval) return pull();
  const auto gen = generation_;
  pace_timer_.expires_after(interval - since);
  pace_timer_.async_wait([self = this->self(), gen](boost::system::error_code ec) {
    if (ec || !self->current(gen)) return;
    self->pull();
  });
}

}  // namespace zaulek::onvif
