#include "server/hub.h"

#include <boost/asio/post.hpp>
#include <nlohmann/json.hpp>

namespace zaulek::server {

namespace {
constexpr Role kRoles[] = {Role::operator_, Role::administrator, Role::investigator};
}

Hub::Hub(boost::asio::io_context& ioc, std::size_t ring_size)
    : strand_(boost::asio::make_strand(ioc)), ring_size_(ring_size == 0 ? 1 : ring_size) {}

Hub::Stream& Hub::stream(Role role) {
  switch (role) {
    case Role::operator_:
      return streams_[0];
    case Role::administrator:
      return streams_[1];
    case Role::investigator:
      return streams_[2];
  }
  return streams_[0];
}

void Hub::publish(std::string type, nlohmann::json fields, RoleSet audience) {
  if (!fields.is_object()) fields = nlohmann::json::object();
  boost::asio::post(strand_,
                    [this, type = std::move(type), fields = std::move(fields), audience]() mutable {
                      ++published_;
                      fields["type"] = type;
                      for (Role role : kRoles) {
                        if (!audience.contains(role)) continue;
                        Stream& s = stream(role);
                        fields["seq"] = ++s.seq;
                        // Serialized once per stream; every session of the role shares it.
                        auto msg = std::make_shared<const std::string>(fields.dump());
                        s.ring.emplace_back(s.seq, msg);
                        while (s.ring.size() > ring_size_) s.ring.pop_front();
                        auto& subs = s.subscribers;
                        for (std::size_t i = 0; i < subs.size();) {
                          if (auto sub = subs[i].lock()) {
                            sub->deliver(msg);
                            ++i;
                          } else {
                            subs[i] = subs.back();
                            subs.pop_back();
                            --sessions_;
                          }
                        }
                      }
                    });
}

void Hub::subscribe(std::weak_ptr<HubSubscriber> subscriber, Role role,
                    std::function<void(std::uint64_t)> done) {
  boost::asio::post(
      strand_, [this, subscriber = std::move(subscriber), role, done = std::move(done)]() mutable {
        if (stopped_) {
          if (auto s = subscriber.lock()) s->going_away();
          return;
        }
        Stream& s = stream(role);
        s.subscribers.push_back(std::move(subscriber));
        ++sessions_;
        done(s.seq);
      });
}

void Hub::unsubscribe(const HubSubscriber* subscriber, Role role) {
  boost::asio::post(strand_, [this, subscriber, role] {
    auto& subs = stream(role).subscribers;
    auto removed = std::erase_if(subs, [subscriber](const std::weak_ptr<HubSubscriber>& w) {
      auto sp = w.lock();
      return !sp || sp.get() == subscriber;
    });
    sessions_ -= removed;
  });
}

void Hub::replay(Role role, std::uint64_t after, std::uint64_t upto,
                 std::function<void(ReplayResult)> done) {
  boost::asio::post(strand_, [this, role, after, upto, done = std::move(done)] {
    Stream& s = stream(role);
    ReplayResult r;
    r.oldest = s.ring.empty() ? 0 : s.ring.front().first;
    if (after < upto) r.complete = !s.ring.empty() && r.oldest <= after + 1;
    for (auto& [seq, msg] : s.ring)
      if (seq > after && seq <= upto) r.messages.push_back(msg);
    done(std::move(r));
  });
}

void Hub::shutdown() {
  boost::asio::post(strand_, [this] {
    stopped_ = true;
    for (Stream& s : streams_) {
      for (auto& w : s.subscribers)
        if (auto sub = w.lock()) sub->going_away();
      s.subscribers.clear();
    }
    sessions_ = 0;
  });
}

}  // namespace zaulek::server
