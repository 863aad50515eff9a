// The simulated camera's HTTP side and the SOAP plumbing every service
// shares: sessions, the digest / UsernameToken check, envelopes and faults,
// the fault injections on the way out, the snapshot, and the dispatch of an
// operation to its service.
#include <spdlog/spdlog.h>

#include <boost/asio/bind_executor.hpp>

#include "sim/onvif/device_core.h"
#include "sim/onvif/snapshot.h"

namespace zaulek::sim::onvif_sim {

Reply sender_fault(const std::string& subcode, const std::string& reason) {
  onvif::SoapContext ctx;
  return {http::status::bad_request, ctx.write_fault({true, subcode, reason})};
}

std::string Call::bad(const std::string& subcode, const std::string& reason) {
  auto r = sender_fault(subcode, reason);
  status = r.status;
  return std::move(r.xml);
}

std::string Call::receiver_fault(const std::string& subcode, const std::string& reason) {
  status = http::status::internal_server_error;
  onvif::SoapContext ctx;
  return ctx.write_fault({false, subcode, reason});
}

// ---------------------------------------------------------------- Session

void Session::do_read() {
  parser_.emplace();
  parser_->body_limit(onvif::kMaxEnvelopeBytes);
  parser_->header_limit(16 * 1024);
  buffer_.reserve(16 * 1024);  // else Beast starts with 512-byte reads
  stream_.expires_after(std::chrono::seconds(30));
  http::async_read(stream_, buffer_, *parser_,
                   asio::bind_executor(core_->strand(), [self = shared_from_this()](
                                                            beast::error_code ec, std::size_t) {
                     self->on_read(ec);
                   }));
}

void Session::on_read(beast::error_code ec) {
  if (ec == http::error::end_of_stream || ec == beast::error::timeout ||
      ec == asio::error::operation_aborted) {
    close();
    return;
  }
  if (ec) {
    // Bad HTTP (too big, broken framing): answer 400 and close.
    Response res{
        ec == http::error::body_limit ? http::status::payload_too_large : http::status::bad_request,
        11};
    res.set(http::field::content_type, "text/plain");
    res.body() = "bad request: " + ec.message() + "\n";
    res.keep_alive(false);
    res.prepare_payload();
    write(std::move(res));
    return;
  }
  stream_.expires_never();  // PullMessages may hold the answer back
  core_->handle(parser_->get(),
                [self = shared_from_this()](Response res) { self->write(std::move(res)); });
}

void Session::write(Response res) {
  res_ = std::move(res);
  stream_.expires_after(std::chrono::seconds(30));
  http::async_write(stream_, res_,
                    asio::bind_executor(core_->strand(), [self = shared_from_this()](
                                                             beast::error_code ec, std::size_t) {
                      if (ec || !self->res_.keep_alive()) {
                        self->close();
                        return;
                      }
                      self->do_read();
                    }));
}

// ---------------------------------------------------------------- envelopes

Response Core::soap_response(const Request& req, http::status st, std::string body) {
  Response res{st, req.version()};
  res.set(http::field::server, "zaulek-sim");
  res.set(http::field::content_type, "application/soap+xml; charset=utf-8");
  res.keep_alive(req.keep_alive());
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

Response Core::fault(const Request& req, bool sender, const std::string& subcode,
                     const std::string& reason, http::status st) {
  SoapContext ctx;
  return soap_response(req, sender ? st : http::status::internal_server_error,
                       ctx.write_fault({sender, subcode, reason}));
}

Response Core::unauthorized(const Request& req, const std::string& why) {
  Response res{http::status::unauthorized, req.version()};
  res.set(http::field::server, "zaulek-sim");
  res.set(http::field::www_authenticate, std::string("Digest realm=\"") + kRealm +
                                             "\", qop=\"auth\", nonce=\"" + digest_nonce_ +
                                             "\", algorithm=MD5");
  res.set(http::field::content_type, "text/plain");
  res.keep_alive(req.keep_alive());
  res.body() = why + "\n";
  res.prepare_payload();
  return res;
}

// Applies soap_delay and malformed_soap, then answers.
void Core::finish(Response res, Done done) {
  auto f = faults();
  if (f.malformed_soap && res.body().size() > 40) {
    // Broken XML: cut mid-element and leave garbage, as a crashing
    // firmware would. The HTTP framing stays valid.
    res.body().resize(res.body().size() / 2);
    res.body() += "<<&&not-xml";
    res.prepare_payload();
  }
  if (f.soap_delay.count() > 0) {
    auto timer = std::make_shared<asio::steady_timer>(strand_, f.soap_delay);
    timer->async_wait(
        [timer, res = std::move(res), done](beast::error_code) mutable { done(std::move(res)); });
    return;
  }
  done(std::move(res));
}

// ---------------------------------------------------------------- requests

Core::Auth Core::authenticate(const Request& req, const onvif::InHeader& h, const OnvifFaults& f) {
  if (identity_.username.empty() && !f.wrong_password) return Auth::ok;
  auto authz = req[http::field::authorization];
  if (!authz.empty() && authz.substr(0, 7) == "Digest ") {
    bool ok = !f.wrong_password &&
              onvif::verify_http_digest(
                  std::string_view(authz.data(), authz.size()),
                  std::string_view(req.method_string().data(), req.method_string().size()),
                  identity_.username, identity_.password, kRealm, digest_nonce_);
    return ok ? Auth::ok : Auth::bad_digest;
  }
  if (h.has_username_token) {
    if (f.wrong_password) return Auth::not_authorized;
    if (h.password_type.find("#PasswordDigest") == std::string::npos) {
      spdlog::info("onvif sim {}: UsernameToken without PasswordDigest refused", identity_.name);
      return Auth::not_authorized;
    }
    auto r = verifier_.check(h.username, h.password, h.nonce_base64, h.created, identity_.username,
                             identity_.password, device_now());
    if (r == onvif::TokenCheck::ok) return Auth::ok;
    static const char* why[] = {"ok", "wrong user or password", "Created outside +-5 min",
                                "nonce replayed", "malformed token"};
    spdlog::info("onvif sim {}: UsernameToken refused: {}", identity_.name,
                 why[static_cast<int>(r)]);
    return Auth::not_authorized;
  }
  return Auth::challenge;
}

void Core::handle(const Request& req, Done done) {
  const std::string target(req.target());
  const std::string path = target.substr(0, target.find('?'));
  if (path == kSnapshotPath && (req.method() == http::verb::get)) {
    auto f = faults();
    if (!identity_.username.empty() || f.wrong_password) {
      auto authz = req[http::field::authorization];
      bool ok =
          !f.wrong_password && authz.substr(0, 7) == "Digest " &&
          onvif::verify_http_digest(std::string_view(authz.data(), authz.size()), "GET",
                                    identity_.username, identity_.password, kRealm, digest_nonce_);
      if (!ok) return done(unauthorized(req, "snapshot needs HTTP digest"));
    }
    Response res{http::status::ok, req.version()};
    res.set(http::field::server, "zaulek-sim");
    res.set(http::field::content_type, "image/jpeg");
    res.keep_alive(req.keep_alive());
    res.body() = onvif_sim::snapshot_jpeg();
    res.prepare_payload();
    ++snapshots_served_;
    return finish(std::move(res), std::move(done));
  }
  bool soap_path = path == kDevicePath || path == kMediaPath || path == kEventsPath ||
                   path.rfind(kSubscriptionPrefix, 0) == 0;
  if (!soap_path) {
    Response res{http::status::not_found, req.version()};
    res.set(http::field::content_type, "text/plain");
    res.keep_alive(req.keep_alive());
    res.body() = "no such service\n";
    res.prepare_payload();
    return done(std::move(res));
  }
  if (req.method() != http::verb::post) {
    Response res{http::status::method_not_allowed, req.version()};
    res.set(http::field::allow, "POST");
    res.keep_alive(req.keep_alive());
    res.prepare_payload();
    return done(std::move(res));
  }

  auto ctx = std::make_shared<SoapContext>();
  auto header = ctx->begin_read(req.body());
  if (!header) {
    spdlog::info("onvif sim {}: {}", identity_.name, header.error().message);
    return finish(fault(req, true, "ter:WellFormed", header.error().message), std::move(done));
  }
  // GetSystemDateAndTime is open to all (ONVIF Core 5.9.4: clients need the
  // device time to build a valid UsernameToken).
  if (!ctx->body_is("tds:GetSystemDateAndTime")) {
    switch (authenticate(req, *header, faults())) {
      case Auth::ok:
        break;
      case Auth::challenge:
        return finish(unauthorized(req, "credentials required"), std::move(done));
      case Auth::bad_digest:
        return finish(unauthorized(req, "HTTP digest refused"), std::move(done));
      case Auth::not_authorized:
        return finish(fault(req, true, "ter:NotAuthorized", "Sender not authorized"),
                      std::move(done));
    }
  }
  Call call{.req = req, .ctx = *ctx, .header = *header, .done = done};
  std::string xml = dispatch(call, path);
  if (call.async) return;  // an operation took `done`
  finish(soap_response(req, call.status, std::move(xml)), std::move(done));
}

std::string Core::dispatch(Call& call, const std::string& path) {
  if (path.rfind(kSubscriptionPrefix, 0) == 0) {
    std::string id = path.substr(std::string(kSubscriptionPrefix).size());
    if (id.empty() || id.size() > 9 || id.find_first_not_of("0123456789") != std::string::npos)
      return call.bad("ter:InvalidArgVal", "no such subscription");
    call.sub_id = std::stoi(id);
  }
  // Any operation on any of the device's paths, as the simulator always did.
  const DeviceView device{identity_, base_url(), device_now(), faults()};
  std::optional<Reply> reply = device_service(call.ctx, device);
  if (!reply) reply = media_service(call.ctx, device);
  if (reply) {
    call.status = reply->status;
    return std::move(reply->xml);
  }
  if (auto xml = events_service(call)) return std::move(*xml);
  if (auto xml = subscription_service(call)) return std::move(*xml);
  spdlog::info("onvif sim {}: unsupported operation {}", identity_.name, call.ctx.body_tag());
  return call.bad("ter:ActionNotSupported", "operation not supported: " + call.ctx.body_tag());
}

}  // namespace zaulek::sim::onvif_sim
