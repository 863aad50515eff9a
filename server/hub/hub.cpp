#include "server/hub/hub.h"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>

namespace zaulek::server {

namespace {

constexpr Role kRoles[] = {Role::operator_, Role::administrator, Role::investigator};

// A ring slot's memory beyond the text: the shared string's control block
// and header, the deque entry.
constexpr std::size_t kSlotOverhead = 96;

std::size_t slot_bytes(const SharedMessage& m) {
  return m->size() + kSlotOverhead;
}

// Every camera a message names must be visible to the audience.
bool sees(const Audience& a, const std::vector<std::string>& cameras) {
  if (!a.cameras) return true;
  for (const auto& id : cameras)
    if (!id.empty() && !std::binary_search(a.cameras->begin(), a.cameras->end(), id)) return false;
  return true;
}

}  // namespace

Hub::Hub(boost::asio::io_context& ioc, Clock& clock, RingLimits ring, std::size_t max_streams,
         std::chrono::steady_clock::duration idle_ttl)
    : strand_(boost::asio::make_strand(ioc)),
      clock_(clock),
      ring_(std::max<std::size_t>(ring.keep, 1),
            std::max(ring.most, std::max<std::size_t>(ring.keep, 1)), ring.budget_bytes),
      max_streams_(max_streams),
      idle_ttl_(idle_ttl) {
  for (Role role : kRoles) {
    auto s = std::make_unique<Stream>();
    s->id = role_stream(role);
    s->audience.role = role;
    s->permanent = true;
    streams_.push_back(std::move(s));
  }
}

std::uint64_t Hub::role_stream(Role role) {
  switch (role) {
    case Role::operator_:
      return 1;
    case Role::administrator:
      return 2;
    case Role::investigator:
      return 3;
  }
  return 1;
}

Hub::Stream* Hub::find(std::uint64_t id) {
  for (auto& s : streams_)
    if (s->id == id) return s.get();
  return nullptr;
}

// Restricted streams without a session for idle_ttl go (from publish() at
// most once a second; from subscribe() every time).
void Hub::drop_idle(std::chrono::steady_clock::time_point now, bool throttled) {
  if (streams_.size() == 3) return;
  if (throttled && now - last_sweep_ < std::chrono::seconds{1}) return;
  last_sweep_ = now;
  std::erase_if(streams_, [&](const std::unique_ptr<Stream>& s) {
    bool idle = !s->permanent && s->subscribers.empty() && now - s->idle_since >= idle_ttl_;
    if (idle)
      for (const auto& slot : s->ring) ring_bytes_ -= slot_bytes(slot.second);
    return idle;
  });
  streams_count_ = streams_.size();
}

void Hub::subscribers_changed(Stream& s, std::chrono::steady_clock::time_point now) {
  s.lanes.clear();
  s.direct = 0;
  std::vector<std::pair<const Lane*, std::vector<std::weak_ptr<HubSubscriber>>>> by_lane;
  for (const auto& sub : s.subscribers) {
    if (!sub.lane) {
      ++s.direct;
      continue;
    }
    auto it = std::find_if(by_lane.begin(), by_lane.end(),
                           [&](const auto& l) { return l.first == sub.lane; });
    if (it == by_lane.end()) it = by_lane.insert(by_lane.end(), {sub.lane, {}});
    it->second.push_back(sub.ptr);
  }
  for (auto& [lane, members] : by_lane)
    s.lanes.push_back({lane, std::make_shared<const std::vector<std::weak_ptr<HubSubscriber>>>(
                                 std::move(members))});
  if (s.subscribers.empty()) s.idle_since = now;
}

void Hub::prune_dead(std::chrono::steady_clock::time_point now, bool throttled) {
  if (throttled && now - last_prune_ < std::chrono::seconds{1}) return;
  last_prune_ = now;
  for (auto& s : streams_) {
    auto removed =
        std::erase_if(s->subscribers, [](const Subscriber& w) { return w.ptr.expired(); });
    if (removed == 0) continue;
    sessions_ -= removed;
    subscribers_changed(*s, now);
  }
}

void Hub::publish(std::string type, nlohmann::json fields, RoleSet audience,
                  std::string camera_id) {
  std::vector<std::string> cameras;
  if (!camera_id.empty()) cameras.push_back(std::move(camera_id));
  publish_about(std::move(type), std::move(fields), audience, std::move(cameras));
}

void Hub::publish_about(std::string type, nlohmann::json fields, RoleSet audience,
                        std::vector<std::string> cameras) {
  if (!fields.is_object()) fields = nlohmann::json::object();
  auto run = [this, type = std::move(type), fields = std::move(fields), audience,
              cameras = std::move(cameras)]() mutable {
    ++published_;
    fields["type"] = type;
    fields.erase("seq");
    // Serialized once; each stream puts its own seq in front, and every
    // session of the stream shares that text.
    const std::string body = fields.dump();
    const auto now = clock_.monotonic();
    bool found_dead = false;  // a direct subscriber gone: pruned now, not in a second
    for (auto& sp : streams_) {
      Stream& s = *sp;
      if (!audience.contains(s.audience.role) || !sees(s.audience, cameras)) continue;
      std::string text = "{\"seq\":" + std::to_string(++s.seq) + ",";
      text.append(body, 1);
      auto msg = std::make_shared<const std::string>(std::move(text));
      s.ring.emplace_back(s.seq, msg);
      ring_bytes_ += slot_bytes(msg);
      while (s.ring.size() > ring_.most ||
             (s.ring.size() > ring_.keep && ring_bytes_ > ring_.budget_bytes)) {
        ring_bytes_ -= slot_bytes(s.ring.front().second);
        s.ring.pop_front();
      }
      for (const auto& l : s.lanes)
        boost::asio::post(*l.lane, [members = l.members, msg] {
          for (const auto& w : *members)
            if (auto sub = w.lock()) sub->deliver_here(msg);
        });
      if (s.direct == 0) continue;
      for (auto& w : s.subscribers) {
        if (w.lane) continue;
        if (auto sub = w.ptr.lock())
          sub->deliver(msg);
        else
          found_dead = true;
      }
    }
    prune_dead(now, !found_dead);
    if (streams_.size() > 3) drop_idle(now, true);
  };
  // Dispatched: from an I/O thread with the hub idle, the message goes out
  // on this thread, without waking another. From within the hub's strand
  // (a nested publish), posted, so that it follows the message in hand.
  if (strand_.running_in_this_thread())
    boost::asio::post(strand_, std::move(run));
  else
    boost::asio::dispatch(strand_, std::move(run));
}

void Hub::subscribe(std::weak_ptr<HubSubscriber> subscriber, Audience audience, SessionUser user,
                    std::function<void(Subscription)> done) {
  if (audience.role == Role::administrator) audience.cameras.reset();  // administrators see all
  if (audience.cameras) {
    auto& c = *audience.cameras;
    std::sort(c.begin(), c.end());
    c.erase(std::unique(c.begin(), c.end()), c.end());
  }
  boost::asio::post(
      strand_, [this, subscriber = std::move(subscriber), audience = std::move(audience), user,
                done = std::move(done)]() mutable {
        if (stopped_) {
          if (auto s = subscriber.lock()) s->going_away();
          return;
        }
        if (auto why = closed_reason(user); !why.empty()) {
          if (auto s = subscriber.lock()) s->revoked(std::move(why));
          return;
        }
        Stream* stream = audience.cameras ? nullptr : find(role_stream(audience.role));
        if (!stream) {
          drop_idle(clock_.monotonic(), false);
          for (auto& s : streams_)
            if (s->audience == audience) stream = s.get();
        }
        if (!stream) {
          if (streams_.size() - 3 >= max_streams_) {
            Subscription refused;
            refused.refused = "too many distinct camera sets (" + std::to_string(max_streams_) +
                              " streams); try again later";
            done(std::move(refused));
            return;
          }
          auto s = std::make_unique<Stream>();
          s->id = next_id_++;
          s->audience = std::move(audience);
          // Never below a seq any stream gave out (see hub.h).
          s->seq = published_;
          stream = s.get();
          streams_.push_back(std::move(s));
          streams_count_ = streams_.size();
        }
        const Lane* lane = nullptr;
        if (auto sp = subscriber.lock()) lane = sp->lane();
        stream->subscribers.push_back({std::move(subscriber), user.user_id, user.session_id, lane});
        ++sessions_;
        subscribers_changed(*stream, clock_.monotonic());
        Subscription ok;
        ok.ok = true;
        ok.stream = stream->id;
        ok.last_seq = stream->seq;
        done(std::move(ok));
      });
}

void Hub::subscribe(std::weak_ptr<HubSubscriber> subscriber, Role role,
                    std::function<void(std::uint64_t)> done) {
  subscribe(std::move(subscriber), Audience{role, std::nullopt}, SessionUser{},
            [done = std::move(done)](Subscription s) { done(s.last_seq); });
}

void Hub::unsubscribe(const HubSubscriber* subscriber, std::uint64_t stream) {
  boost::asio::post(strand_, [this, subscriber, stream] {
    Stream* s = find(stream);
    if (!s) return;
    auto removed = std::erase_if(s->subscribers, [subscriber](const Subscriber& w) {
      auto sp = w.ptr.lock();
      return !sp || sp.get() == subscriber;
    });
    sessions_ -= removed;
    if (removed > 0) subscribers_changed(*s, clock_.monotonic());
  });
}

void Hub::replay(std::uint64_t stream, std::uint64_t after, std::uint64_t upto,
                 std::function<void(ReplayResult)> done) {
  boost::asio::post(strand_, [this, stream, after, upto, done = std::move(done)] {
    ReplayResult r;
    // after > upto: the console counted on another stream (one since dropped,
    // or before a restart); it cannot be resumed here.
    r.complete = after == upto;
    Stream* s = find(stream);
    if (!s) {
      done(std::move(r));
      return;
    }
    r.oldest = s->ring.empty() ? 0 : s->ring.front().first;
    if (after < upto) r.complete = !s->ring.empty() && r.oldest <= after + 1;
    for (auto& [seq, msg] : s->ring)
      if (seq > after && seq <= upto) r.messages.push_back(msg);
    done(std::move(r));
  });
}

void Hub::close_user(std::int64_t user_id, std::string reason) {
  boost::asio::post(strand_, [this, user_id, reason = std::move(reason)] {
    closed_users_[user_id] = {clock_.monotonic(), reason};
    for (auto& s : streams_)
      for (auto& sub : s->subscribers)
        if (sub.user_id == user_id)
          if (auto p = sub.ptr.lock()) p->revoked(reason);
    for (auto& w : watchers_)
      if (w.user_id == user_id)
        if (auto p = w.ptr.lock()) p->revoked(reason);
  });
}

void Hub::close_session(std::int64_t session_id, std::string reason) {
  if (session_id == 0) return;
  boost::asio::post(strand_, [this, session_id, reason = std::move(reason)] {
    if (closed_sessions_.emplace(session_id, reason).second) {
      closed_order_.push_back(session_id);
      if (closed_order_.size() > kClosedSessions) {
        closed_sessions_.erase(closed_order_.front());
        closed_order_.pop_front();
      }
    }
    for (auto& s : streams_)
      for (auto& sub : s->subscribers)
        if (sub.session_id == session_id)
          if (auto p = sub.ptr.lock()) p->revoked(reason);
    for (auto& w : watchers_)
      if (w.session_id == session_id)
        if (auto p = w.ptr.lock()) p->revoked(reason);
  });
}

std::string Hub::closed_reason(const SessionUser& user) const {
  // Authenticated before the user's sessions were closed: its audience may
  // be the old one.
  if (auto c = closed_users_.find(user.user_id);
      c != closed_users_.end() && user.authenticated != std::chrono::steady_clock::time_point{} &&
      user.authenticated <= c->second.first)
    return c->second.second;
  if (auto c = closed_sessions_.find(user.session_id);
      user.session_id != 0 && c != closed_sessions_.end())
    return c->second;
  return {};
}

void Hub::watch(std::weak_ptr<HubSubscriber> socket, SessionUser user) {
  boost::asio::post(strand_, [this, socket = std::move(socket), user] {
    auto s = socket.lock();
    if (!s) return;
    if (stopped_) return s->going_away();
    if (auto why = closed_reason(user); !why.empty()) return s->revoked(std::move(why));
    std::erase_if(watchers_, [](const Subscriber& w) { return w.ptr.expired(); });
    watchers_.push_back({socket, user.user_id, user.session_id, nullptr});
  });
}

void Hub::unwatch(const HubSubscriber* socket) {
  boost::asio::post(strand_, [this, socket] {
    std::erase_if(watchers_, [socket](const Subscriber& w) {
      auto sp = w.ptr.lock();
      return !sp || sp.get() == socket;
    });
  });
}

void Hub::open_sessions(std::function<void(std::vector<std::int64_t>)> done) {
  boost::asio::post(strand_, [this, done = std::move(done)] {
    std::vector<std::int64_t> ids;
    for (auto& s : streams_)
      for (auto& sub : s->subscribers)
        if (sub.session_id != 0) ids.push_back(sub.session_id);
    for (auto& w : watchers_)
      if (w.session_id != 0 && !w.ptr.expired()) ids.push_back(w.session_id);
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
    done(std::move(ids));
  });
}

void Hub::shutdown() {
  boost::asio::post(strand_, [this] {
    stopped_ = true;
    for (auto& w : watchers_)
      if (auto sub = w.ptr.lock()) sub->going_away();
    watchers_.clear();
    for (auto& s : streams_) {
      for (auto& w : s->subscribers)
        if (auto sub = w.ptr.lock()) sub->going_away();
      s->subscribers.clear();
      subscribers_changed(*s, clock_.monotonic());
    }
    sessions_ = 0;
  });
}

}  // namespace zaulek::server
