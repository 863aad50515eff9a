// Internal to the simulator's ONVIF device: one camera's state and its HTTP
// side. Core owns the listener, the sessions, the faults and the event
// subscriptions; all of it lives on one strand, except faults and request
// times, which any thread may read (fire_event/set_faults/faults too).
//
// Where each part is:
//   onvif_device.cpp   lifecycle, faults, event delivery, OnvifDevice itself
//   soap_http.cpp      HTTP sessions, digest/UsernameToken check, envelopes,
//                      the snapshot, dispatch to the services
//   device_service.cpp, media_service.cpp   (services.h; stateless)
//   events_service.cpp PullPoint: GetEventProperties, CreatePullPoint-
//                      Subscription, PullMessages
//   subscriptions.cpp  Basic Notification (Subscribe, the Notify push) and
//                      the subscription manager (Renew, Unsubscribe)
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <deque>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "onvif/auth.h"
#include "onvif/soap_buffer.h"
#include "sim/onvif/event_messages.h"
#include "sim/onvif/services.h"
#include "sim/onvif_device.h"

namespace zaulek::sim::onvif_sim {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;
using Done = std::function<void(Response)>;
using onvif::OutHeader;
using onvif::SoapContext;

inline constexpr std::size_t kQueueLimit = 100;       // messages per subscription
inline constexpr std::size_t kMaxSubscriptions = 64;  // per device
inline constexpr std::size_t kMaxPushInFlight = 32;   // Notify POSTs per device
inline constexpr std::size_t kMaxSessions = 64;       // HTTP connections per device
inline constexpr auto kDefaultTermination = std::chrono::seconds(60);
inline constexpr auto kMaxPullWait = std::chrono::seconds(60);
inline constexpr const char* kRealm = "zaulek-sim";
inline constexpr const char* kEventsWsdl = "http://www.onvif.org/ver10/events/wsdl/";

struct Subscription {
  int id = 0;
  bool pull = true;
  std::string consumer;  // Basic Notification consumer URL
  WallTime termination;  // real clock (skew does not change lifetimes)
  std::deque<EventMessage> queue;
  std::size_t dropped = 0;
  // A waiting PullMessages: called when messages arrive or the wait ends.
  std::function<void()> waiter;
  std::shared_ptr<asio::steady_timer> wait_timer;
};

// One SOAP request on its way through the services.
struct Call {
  const Request& req;
  onvif::SoapContext& ctx;
  const onvif::InHeader& header;
  int sub_id = 0;  // from /onvif/subscription/<id>; 0 on the other paths
  http::status status = http::status::ok;
  Done& done;          // an operation that answers later takes it...
  bool async = false;  // ...and sets this

  // env:Sender Fault (400); the envelope to return.
  std::string bad(const std::string& subcode, const std::string& reason);
  std::string read_error(const Error& e) { return bad("ter:InvalidArgVal", e.message); }
  // env:Receiver Fault (500): the device cannot.
  std::string receiver_fault(const std::string& subcode, const std::string& reason);
};

class Core;

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, std::shared_ptr<Core> core)
      : stream_(std::move(socket)), core_(std::move(core)) {}
  void start() { do_read(); }
  void close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.close();
  }

 private:
  void do_read();
  void on_read(beast::error_code ec);
  void write(Response res);

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::shared_ptr<Core> core_;
  Response res_;
};

class Core : public std::enable_shared_from_this<Core> {
 public:
  Core(asio::io_context& io, CameraIdentity id);

  asio::strand<asio::io_context::executor_type>& strand() { return strand_; }
  const CameraIdentity& identity() const { return identity_; }

  void start();
  void stop();
  std::string base_url() const;
  WallTime device_now() const;
  OnvifFaults faults() const;
  void set_faults(const OnvifFaults& f);
  void note_request(const std::string& operation);
  std::vector<std::chrono::steady_clock::time_point> request_times(
      const std::string& operation) const;
  WallTime fire_event(const EventSpec& spec);

  // An HTTP request from a session; `done` gets the answer (maybe later).
  void handle(const Request& req, Done done);
  void add_session(const std::shared_ptr<Session>& s);
  std::size_t session_count();
  bool accepting() const { return acceptor_.is_open(); }
  std::uint64_t snapshots_served() const { return snapshots_served_.load(); }

 private:
  // ---- lifecycle (onvif_device.cpp)
  void open_acceptor();
  void do_accept();
  void close_sessions();
  void drop_subscriptions();
  void do_stop();
  void schedule_sweep();
  void expire_subscriptions();
  void deliver(const EventMessage& m);

  // ---- HTTP and SOAP plumbing (soap_http.cpp)
  std::string subscription_url(int id) const {
    return base_url() + kSubscriptionPrefix + std::to_string(id);
  }
  Response soap_response(const Request& req, http::status st, std::string body);
  Response fault(const Request& req, bool sender, const std::string& subcode,
                 const std::string& reason, http::status st = http::status::bad_request);
  Response unauthorized(const Request& req, const std::string& why);
  // Applies soap_delay and malformed_soap, then answers.
  void finish(Response res, Done done);
  enum class Auth { ok, challenge, bad_digest, not_authorized };
  Auth authenticate(const Request& req, const onvif::InHeader& h, const OnvifFaults& f);
  // The envelope for the operation in call.ctx; sets call.status, or takes
  // call.done and sets call.async.
  std::string dispatch(Call& call, const std::string& path);

  // ---- PullPoint (events_service.cpp); nullopt: not one of its operations
  std::optional<std::string> events_service(Call& call);
  void pull_messages(const Request& req, int sub_id, const _tev__PullMessages& body, Done done);
  // `flood` > 0: exactly that many notifications, whatever `limit` says.
  std::string pull_response(onvif::SoapContext& ctx, Subscription* sub, int limit, int flood = 0);

  // ---- Basic Notification and the subscription manager (subscriptions.cpp)
  std::optional<std::string> subscription_service(Call& call);
  // InitialTerminationTime / TerminationTime: a duration or a device-clock
  // time, at most 24 h; what is wrong (naming `what`), or empty.
  std::string requested_lifetime(const std::string& text, const char* what,
                                 std::chrono::milliseconds& lifetime) const;
  // A new subscription's id, or 0 when the device has no room for one.
  int add_subscription(bool pull, std::string consumer, std::chrono::milliseconds lifetime);
  void push_notify(const Subscription& sub, const EventMessage& m);

  asio::io_context& io_;
  asio::strand<asio::io_context::executor_type> strand_;
  CameraIdentity identity_;
  tcp::acceptor acceptor_;
  asio::steady_timer sweep_;
  bool running_ = false;
  std::list<std::weak_ptr<Session>> sessions_;
  mutable std::mutex faults_mu_;  // faults are read per request from any thread
  mutable std::mutex times_mu_;   // request_times_ is read by tests from any thread
  std::map<std::string, std::deque<std::chrono::steady_clock::time_point>> request_times_;
  OnvifFaults faults_;
  std::atomic<int> object_counter_{0};
  std::map<int, Subscription> subs_;
  int next_sub_ = 1;
  std::size_t push_in_flight_ = 0;
  onvif::UsernameTokenVerifier verifier_;
  std::string digest_nonce_;
  std::atomic<std::uint64_t> snapshots_served_{0};
};

}  // namespace zaulek::sim::onvif_sim
