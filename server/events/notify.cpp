#include "server/events/notify.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "core/crypto.h"
#include "onvif/events/replies.h"

namespace zaulek::server {

namespace {

constexpr std::string_view kPath = "/onvif/notify/";

bool token_shape(std::string_view t) {
  return t.size() == 64 && std::all_of(t.begin(), t.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

bool xml_content_type(const std::string& content_type) {
  std::string ct = content_type.substr(0, content_type.find(';'));
  ct.erase(0, ct.find_first_not_of(" \t"));
  ct.erase(ct.find_last_not_of(" \t") + 1);
  std::transform(ct.begin(), ct.end(), ct.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return ct == "application/soap+xml" || ct == "text/xml" || ct == "application/xml";
}

// Logs the 1st, 2nd, 4th, 8th, ... occurrence: visible without flooding.
bool power_of_two(std::uint64_t n) {
  return n != 0 && (n & (n - 1)) == 0;
}

}  // namespace

void NotifyConsumers::set_base_url(std::string base) {
  while (!base.empty() && base.back() == '/') base.pop_back();
  std::lock_guard lock(mu_);
  base_ = std::move(base);
}

std::string NotifyConsumers::base_url() const {
  std::lock_guard lock(mu_);
  return base_;
}

std::string NotifyConsumers::open(Sink sink) {
  std::string token = crypto::random_token();
  std::lock_guard lock(mu_);
  if (base_.empty() || sinks_.size() >= kMaxNotifyConsumers) return {};
  sinks_[crypto::sha256_hex(token)] = std::move(sink);
  return base_ + std::string(kPath) + token;
}

void NotifyConsumers::close(const std::string& url) {
  auto slash = url.rfind('/');
  if (slash == std::string::npos) return;
  std::string hash = crypto::sha256_hex(std::string_view(url).substr(slash + 1));
  std::lock_guard lock(mu_);
  sinks_.erase(hash);
}

std::size_t NotifyConsumers::open_count() const {
  std::lock_guard lock(mu_);
  return sinks_.size();
}

Response NotifyConsumers::handle(const Request& req) {
  auto it = req.params.find("token");
  const std::string token = it == req.params.end() ? std::string() : it->second;
  Sink sink;
  std::string url;
  if (token_shape(token)) {
    std::string hash = crypto::sha256_hex(token);
    std::lock_guard lock(mu_);
    auto s = sinks_.find(hash);
    if (s != sinks_.end()) {
      sink = s->second;
      url = base_ + std::string(kPath) + token;
    }
  }
  if (!sink) {
    if (power_of_two(++unknown_))
      spdlog::warn("events: Notify from {} for an unknown subscription refused ({} so far)",
                   req.remote, unknown_.load());
    return error_response(404, "not_found", "no such notification subscription");
  }
  if (req.body.size() > kMaxNotifyBytes) {
    ++rejected_;
    return error_response(413, "payload_too_large",
                          "Notify larger than " + std::to_string(kMaxNotifyBytes) + " bytes");
  }
  if (!xml_content_type(req.header("content-type"))) {
    ++rejected_;
    return error_response(400, "invalid_argument",
                          "Content-Type must be application/soap+xml or text/xml");
  }
  auto notes = onvif::parse_notify(req.body);
  if (!notes) {
    if (power_of_two(++rejected_))
      spdlog::warn("events: unreadable Notify from {} refused: {}", req.remote,
                   notes.error().message);
    return error_response(400, "invalid_argument", "not a wsnt:Notify: " + notes.error().message);
  }
  ++accepted_;
  messages_ += notes->size();
  sink(url, std::move(*notes));
  // A one-way SOAP message: accepted, nothing to answer.
  Response r;
  r.status = 202;
  r.content_type = "text/plain; charset=utf-8";
  return r;
}

std::string NotifyConsumers::metrics_text() const {
  std::string out;
  out += "# HELP zaulek_notify_consumers Basic Notification consumer URLs open.\n";
  out += "# TYPE zaulek_notify_consumers gauge\n";
  out += "zaulek_notify_consumers " + std::to_string(open_count()) + "\n";
  out += "# HELP zaulek_notify_requests_total Notify POSTs received, by outcome.\n";
  out += "# TYPE zaulek_notify_requests_total counter\n";
  out += "zaulek_notify_requests_total{outcome=\"accepted\"} " + std::to_string(accepted_.load()) +
         "\n";
  out += "zaulek_notify_requests_total{outcome=\"unknown_token\"} " +
         std::to_string(unknown_.load()) + "\n";
  out += "zaulek_notify_requests_total{outcome=\"rejected\"} " + std::to_string(rejected_.load()) +
         "\n";
  out += "# HELP zaulek_notify_messages_total Notification messages received by Notify.\n";
  out += "# TYPE zaulek_notify_messages_total counter\n";
  out += "zaulek_notify_messages_total " + std::to_string(messages_.load()) + "\n";
  return out;
}

void register_notify_routes(Router& router, ApiContext& ctx) {
  router.add(
      {"POST", "/onvif/notify/{token}", Access::public_, {}, false, false, [&ctx](Request& r) {
         if (!ctx.notify)
           return error_response(503, "unavailable", "the event service is not running");
         return ctx.notify->handle(r);
       }});
}

}  // namespace zaulek::server
