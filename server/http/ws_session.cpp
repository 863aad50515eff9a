// A console's WebSocket: the hub's live messages through a bounded queue,
// resume after a reconnect, and closing a console that does not read.
#include <utility>  // before Asio: Boost 1.74 misses it

#include <linux/sockios.h>  // SIOCOUTQNSD
#include <spdlog/spdlog.h>
#include <sys/ioctl.h>

#include <deque>
#include <nlohmann/json.hpp>

#include "server/http/ws_session.h"
#include "server/security/visibility.h"

namespace zaulek::server::transport {
namespace {

template <class Stream>
class WsSession final : public HubSubscriber,
                        public std::enable_shared_from_this<WsSession<Stream>> {
 public:
  // `lane`: the strand of `stream`'s executor when it is one of sh.lanes.
  WsSession(Stream&& stream, Shared& sh, Principal principal, std::string remote,
            std::unique_ptr<ConnectionSlot> slot, bool batch, const Lane* lane = nullptr,
            std::shared_ptr<WsSource> source = nullptr)
      : ws_(std::move(stream)),
        source_(std::move(source)),
        lane_(lane),
        batch_(batch && !source_),
        sh_(sh),
        principal_(std::move(principal)),
        remote_(std::move(remote)),
        slot_(std::move(slot)),
        close_timer_(ws_.get_executor()),
        expiry_timer_(ws_.get_executor()) {}

  void run(http::request<http::string_body> req) {
    // The websocket stream keeps its own timeouts; the TCP one must be off.
    if constexpr (kIsTls<Stream>) beast::get_lowest_layer(ws_).expires_never();
    websocket::stream_base::timeout t{};
    t.handshake_timeout = sh_.cfg.read_timeout;
    t.idle_timeout = sh_.cfg.idle_timeout;
    t.keep_alive_pings = true;  // ping when idle half the time; close if no pong
    ws_.set_option(t);
    bool tls = kIsTls<Stream>;
    ws_.set_option(websocket::stream_base::decorator(
        [tls](websocket::response_type& res) { security_headers(res, true, tls); }));
    ws_.read_message_max(kMaxWsMessageIn);
    // A small kernel send buffer: a console that stops reading shows up in
    // our bounded queue after tens of kilobytes, not megabytes.
    beast::error_code ec;
    tcp_socket(beast::get_lowest_layer(ws_))
        .set_option(net::socket_base::send_buffer_size(kWsSendBuffer), ec);
    ws_.async_accept(req,
                     beast::bind_front_handler(&WsSession::on_accept, this->shared_from_this()));
  }

  void deliver(SharedMessage message) override {
    net::post(ws_.get_executor(), [self = this->shared_from_this(), message = std::move(message)] {
      self->enqueue(message, Origin::hub);
    });
  }

  const Lane* lane() const override { return lane_; }

  // The source's side of this session (WsPeer): posts to the session.
  class Peer final : public WsPeer {
   public:
    explicit Peer(std::weak_ptr<WsSession> s) : s_(std::move(s)) {}
    void send(std::shared_ptr<const std::string> message, bool binary) override {
      auto s = s_.lock();
      if (!s) return;
      net::post(s->ws_.get_executor(), [s, message = std::move(message), binary]() mutable {
        s->enqueue(std::move(message), Origin::source, binary);
      });
    }
    void close(std::string reason) override {
      auto s = s_.lock();
      if (!s) return;
      net::post(s->ws_.get_executor(), [s, reason = std::move(reason)] {
        s->close_with(websocket::close_code::normal, reason);
      });
    }

   private:
    std::weak_ptr<WsSession> s_;
  };
  void deliver_here(const SharedMessage& message) override { enqueue(message, Origin::hub); }

  void going_away() override {
    net::post(ws_.get_executor(), [self = this->shared_from_this()] {
      self->close_with(websocket::close_code::going_away, "server shutting down");
    });
  }

  void revoked(std::string reason) override {
    net::post(ws_.get_executor(), [self = this->shared_from_this(), reason = std::move(reason)] {
      self->close_with(websocket::close_code::policy_error, reason);
    });
  }

 private:
  void on_accept(beast::error_code ec) {
    if (ec) {
      spdlog::debug("ws: handshake with {} failed: {}", remote_, ec.message());
      return;
    }
    spdlog::info("ws: '{}' connected from {}", principal_.name, remote_);
    if (source_) {
      // No hub messages, but the socket ends with its login session.
      sh_.hub.watch(
          this->weak_from_this(),
          SessionUser{principal_.user_id, principal_.authenticated, principal_.session_id});
      source_->open(std::make_shared<Peer>(this->weak_from_this()));
      watch_expiry();
      return do_read();
    }
    // The stream of this session's audience: its role and visible cameras.
    sh_.hub.subscribe(
        this->weak_from_this(), Audience{principal_.role, visible_cameras(principal_)},
        SessionUser{principal_.user_id, principal_.authenticated, principal_.session_id},
        [self = this->shared_from_this()](Subscription sub) {
          net::post(self->ws_.get_executor(), [self, sub = std::move(sub)] {
            if (!sub.ok) {
              spdlog::warn("ws: '{}' from {} refused: {}", self->principal_.name, self->remote_,
                           sub.refused);
              return self->close_with(websocket::close_code::try_again_later, sub.refused);
            }
            self->stream_ = sub.stream;
            self->live_start_ = sub.last_seq;
            self->send_control({{"type", "hello"},
                                {"last_seq", sub.last_seq},
                                {"stream", sub.stream},
                                {"user", self->principal_.name},
                                {"role", to_string(self->principal_.role)}});
          });
        });
    watch_expiry();
    do_read();
  }

  // The login session ends at its expiry: so does its WebSocket, then, not
  // at its next read (logout and revocation come through the hub).
  void watch_expiry() {
    if (principal_.session_expires == WallTime{}) return;
    auto left = principal_.session_expires - sh_.clock.realtime();
    expiry_timer_.expires_after(
        std::max(std::chrono::duration_cast<std::chrono::steady_clock::duration>(left),
                 std::chrono::steady_clock::duration::zero()));
    expiry_timer_.async_wait([self = this->shared_from_this()](beast::error_code ec) {
      if (ec) return;
      spdlog::info("ws: '{}' from {}: session expired; closing", self->principal_.name,
                   self->remote_);
      self->close_with(websocket::close_code::policy_error, close_reason::kSessionExpired);
    });
  }

  void do_read() {
    ws_.async_read(in_, beast::bind_front_handler(&WsSession::on_read, this->shared_from_this()));
  }

  void on_read(beast::error_code ec, std::size_t) {
    if (ec) {
      if (ec != websocket::error::closed && ec != net::error::operation_aborted)
        spdlog::debug("ws: '{}' from {}: {}", principal_.name, remote_, ec.message());
      finish();
      return;
    }
    std::string text = beast::buffers_to_string(in_.data());
    in_.consume(in_.size());
    handle_message(text);
    do_read();
  }

  void handle_message(const std::string& text) {
    if (!json_depth_ok(text, kMaxJsonDepth)) return send_error("message nests too deeply");
    auto j = nlohmann::json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return send_error("message is not a JSON object");
    auto type = j.find("type");
    if (type == j.end() || !type->is_string()) return send_error("message has no string 'type'");
    if (*type == "ping") return send_control({{"type", "pong"}});
    // A source's session has no hub stream: nothing to resume from; the
    // source takes what it understands (playback's seek, speed, ...).
    if (source_) {
      if (auto err = source_->message(j)) send_error(*err);
      return;
    }
    if (*type == "resume") {
      auto after = j.find("after");
      if (after == j.end() || !after->is_number_unsigned())
        return send_error("'after' must be a non-negative integer");
      // One replay at a time: each may queue up to a ring of messages.
      if (resuming_) return send_error("a resume is already in progress");
      resuming_ = true;
      std::uint64_t a = after->get<std::uint64_t>();
      std::uint64_t upto = live_start_;
      sh_.hub.replay(stream_, a, upto, [self = this->shared_from_this(), a, upto](ReplayResult r) {
        net::post(self->ws_.get_executor(), [self, a, upto, r = std::move(r)] {
          self->resuming_ = false;
          if (!r.complete)
            self->send_control({{"type", "resume_gap"}, {"after", a}, {"oldest", r.oldest}});
          for (auto& m : r.messages) self->enqueue(m, Origin::replay);
          self->send_control(
              {{"type", "resumed"}, {"after", a}, {"upto", upto}, {"count", r.messages.size()}});
        });
      });
      return;
    }
    send_error("unknown message type");
  }

  void send_error(std::string_view message) {
    send_control({{"type", "error"}, {"message", message}});
  }
  void send_control(const nlohmann::json& j) {
    enqueue(std::make_shared<const std::string>(j.dump()), Origin::reply);
  }

  // Every outgoing message is bounded by where it comes from: the hub's
  // live ones by the queue (a console that does not keep up), the replies
  // to the console's own messages by kMaxWsReplies unsent (a console that
  // sends without reading), a replay by one resume at a time.
  enum class Origin { hub, reply, replay, source };
  void enqueue(SharedMessage message, Origin origin, bool binary = false) {
    if (closing_) return;
    // A source bounds what it sends (one write at a time); this is its backstop.
    if (origin == Origin::source && sources_queued_ >= kMaxWsSourceQueue) {
      spdlog::warn("ws: '{}' from {}: source sent {} unwritten messages; closing", principal_.name,
                   remote_, sources_queued_);
      close_with(websocket::close_code::policy_error, "too slow");
      return;
    }
    if (origin == Origin::hub && queue_.size() >= kMaxWsQueue &&
        (queue_.size() >= kMaxWsQueueHard || console_not_reading())) {
      ++sh_.metrics.ws_overflow_closes;
      spdlog::warn("ws: '{}' from {} fell behind ({} messages queued); closing", principal_.name,
                   remote_, queue_.size());
      close_with(websocket::close_code::policy_error, "too slow; reconnect and resume");
      return;
    }
    if (origin == Origin::reply && replies_queued_ >= kMaxWsReplies) {
      ++sh_.metrics.ws_unread_closes;
      spdlog::warn("ws: '{}' from {} sends without reading ({} replies unsent); closing",
                   principal_.name, remote_, replies_queued_);
      close_with(websocket::close_code::policy_error, "sends without reading");
      return;
    }
    bool reply = origin == Origin::reply;
    replies_queued_ += reply;
    bool from_source = origin == Origin::source;
    sources_queued_ += from_source;
    queue_.push_back({std::move(message), reply, binary, from_source});
    if (!writing_) do_write();
  }

  // The kernel holds at least kWsBehindBytes for this console not yet sent
  // (SIOCOUTQNSD), or cannot say. Not SIOCOUTQ: that counts bytes sent and
  // not acknowledged too, and delayed ACKs leave tens of KB of those to a
  // console that reads at once.
  bool console_not_reading() {
    // A console that reads completes its writes, however slowly: a burst
    // under CPU starvation must not look like a console that stopped.
    if (!writing_ || sh_.clock.monotonic() - write_started_ < kWsWriteStalled) return false;
    int unsent = 0;
    int fd = tcp_socket(beast::get_lowest_layer(ws_)).native_handle();
    return ioctl(fd, SIOCOUTQNSD, &unsent) != 0 || unsent >= kWsBehindBytes;
  }

  // One message per frame; with batching, what has piled up behind the
  // write in flight goes as one array frame `[m1,m2,...]` (each message as
  // the hub serialized it, joined, not parsed again): a console that fell
  // behind costs one write per batch instead of one per message.
  void do_write() {
    if (queue_.empty()) return;
    writing_ = true;
    write_started_ = sh_.clock.monotonic();
    ws_.text(true);
    in_flight_ = 1;
    if (batch_ && queue_.size() > 1) {
      batch_buf_.assign(1, '[');
      std::size_t n = 0;
      for (const auto& q : queue_) {
        if (n > 0 &&
            (n >= kMaxWsBatch || batch_buf_.size() + q.message->size() + 2 > kMaxWsBatchBytes))
          break;
        if (n++ > 0) batch_buf_ += ',';
        batch_buf_ += *q.message;
      }
      in_flight_ = n;
      batch_buf_ += ']';
      ++sh_.metrics.ws_batches;
      return ws_.async_write(
          net::buffer(batch_buf_),
          beast::bind_front_handler(&WsSession::on_write, this->shared_from_this()));
    }
    ws_.text(!queue_.front().binary);
    ws_.async_write(net::buffer(*queue_.front().message),
                    beast::bind_front_handler(&WsSession::on_write, this->shared_from_this()));
  }

  void on_write(beast::error_code ec, std::size_t) {
    writing_ = false;
    if (ec) {
      spdlog::debug("ws: write to {} failed: {}", remote_, ec.message());
      finish();
      beast::error_code ignored;
      tcp_socket(beast::get_lowest_layer(ws_)).close(ignored);
      return;
    }
    auto sent = queue_.begin() + static_cast<std::ptrdiff_t>(std::min(in_flight_, queue_.size()));
    std::size_t from_source = 0;
    for (auto it = queue_.begin(); it != sent; ++it) {
      replies_queued_ -= it->reply;
      from_source += it->source;
    }
    sources_queued_ -= from_source;
    queue_.erase(queue_.begin(), sent);
    for (std::size_t i = 0; i < from_source && !closing_; ++i) source_->written();
    in_flight_ = 0;
    if (pending_close_) return start_close();
    do_write();
  }

  // Queued messages are dropped; the close frame follows the write in flight
  // (whose messages stay at the front: their buffers are being sent, and
  // on_write pops them).
  void close_with(websocket::close_code code, std::string reason) {
    if (closing_) return;
    closing_ = true;
    queue_.erase(queue_.begin() + static_cast<std::ptrdiff_t>(
                                      writing_ ? std::min(in_flight_, queue_.size()) : 0),
                 queue_.end());
    replies_queued_ = 0;
    sources_queued_ = 0;
    for (const auto& q : queue_) {
      replies_queued_ += q.reply;
      sources_queued_ += q.source;
    }
    close_reason_ = websocket::close_reason(code, reason);
    // A peer that stops reading would hold the write (and so the close)
    // forever: give it a grace period, then drop the connection.
    close_timer_.expires_after(std::chrono::seconds{3});
    close_timer_.async_wait([self = this->shared_from_this()](beast::error_code ec) {
      beast::error_code ignored;
      if (!ec) tcp_socket(beast::get_lowest_layer(self->ws_)).close(ignored);
    });
    if (writing_) {
      pending_close_ = true;
      return;
    }
    start_close();
  }

  void start_close() {
    pending_close_ = false;
    if (!ws_.is_open()) {
      close_timer_.cancel();
      return;
    }
    ws_.async_close(close_reason_, [self = this->shared_from_this()](beast::error_code) {
      self->close_timer_.cancel();
    });
  }

  void finish() {
    if (finished_) return;
    finished_ = true;
    close_timer_.cancel();
    expiry_timer_.cancel();
    if (stream_ != 0) sh_.hub.unsubscribe(this, stream_);
    if (source_) {
      sh_.hub.unwatch(this);
      source_->closed();
    }
    spdlog::info("ws: '{}' from {} disconnected", principal_.name, remote_);
  }

  websocket::stream<Stream> ws_;
  std::shared_ptr<WsSource> source_;  // a route's messages instead of the hub's
  std::size_t sources_queued_ = 0;    // of queue_
  const Lane* lane_;
  const bool batch_;           // the console asked for array frames (?batch=1)
  std::size_t in_flight_ = 0;  // queue_ messages in the write in flight
  std::string batch_buf_;      // the array frame in flight
  Shared& sh_;
  Principal principal_;
  std::string remote_;
  std::unique_ptr<ConnectionSlot> slot_;
  net::steady_timer close_timer_;
  net::steady_timer expiry_timer_;  // the login session's end
  beast::flat_buffer in_;
  struct Queued {
    SharedMessage message;
    bool reply;           // an answer to the console's own message
    bool binary = false;  // a source's binary message
    bool source = false;  // from source_
  };
  std::deque<Queued> queue_;
  std::size_t replies_queued_ = 0;  // of queue_
  bool resuming_ = false;           // a replay is under way
  std::uint64_t live_start_ = 0;
  std::uint64_t stream_ = 0;  // the hub stream, once subscribed
  bool writing_ = false;
  MonoTime write_started_{};  // of the write in flight
  bool closing_ = false;
  bool pending_close_ = false;
  bool finished_ = false;
  websocket::close_reason close_reason_;
};

}  // namespace

void start_websocket(TlsStream&& stream, Shared& sh, Principal principal, std::string remote,
                     std::unique_ptr<ConnectionSlot> slot, bool batch,
                     http::request<http::string_body> req, std::shared_ptr<WsSource> source) {
  std::make_shared<WsSession<TlsStream>>(std::move(stream), sh, std::move(principal),
                                         std::move(remote), std::move(slot), batch, nullptr,
                                         std::move(source))
      ->run(std::move(req));
}

void start_websocket(LaneSocket&& socket, const Lane& lane, Shared& sh, Principal principal,
                     std::string remote, std::unique_ptr<ConnectionSlot> slot, bool batch,
                     http::request<http::string_body> req, std::shared_ptr<WsSource> source) {
  auto ws = std::make_shared<WsSession<LaneSocket>>(std::move(socket), sh, std::move(principal),
                                                    std::move(remote), std::move(slot), batch,
                                                    &lane, std::move(source));
  net::post(lane, [ws, req = std::move(req)]() mutable { ws->run(std::move(req)); });
}

}  // namespace zaulek::server::transport
