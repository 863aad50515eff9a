#include "server/http/http_types.h"

#include <boost/asio/ip/address.hpp>
#include <nlohmann/json.hpp>

#include "core/text/text.h"
#include "server/cameras/cameras.h"

namespace zaulek::server {

Response json_response(int status, const nlohmann::json& body) {
  Response r;
  r.status = status;
  r.body = body.dump();
  return r;
}

Response error_response(int status, std::string_view code, std::string_view message) {
  return json_response(status, {{"error", {{"code", code}, {"message", message}}}});
}

int http_status(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::invalid_argument:
      return 400;
    case ErrorKind::not_found:
      return 404;
    case ErrorKind::already_exists:
      return 409;
    case ErrorKind::unauthenticated:
      return 401;
    case ErrorKind::permission_denied:
      return 403;
    case ErrorKind::failed_precondition:
      return 409;
    case ErrorKind::resource_exhausted:
      return 429;
    case ErrorKind::unavailable:
      return 503;
    case ErrorKind::deadline_exceeded:
      return 504;
    case ErrorKind::data_loss:
    case ErrorKind::internal:
      return 500;
  }
  return 500;
}

Response error_response(const Error& error) {
  int status = http_status(error.kind);
  // Internal details stay in the log; the client gets the kind only.
  std::string_view message = status >= 500 ? "internal error" : std::string_view(error.message);
  return error_response(status, to_string(error.kind), message);
}

namespace {

// An IP literal (IPv6 optionally in brackets), v4-mapped IPv6 written as IPv4.
std::optional<boost::asio::ip::address> ip_literal(std::string_view text) {
  if (text.size() > 2 && text.front() == '[' && text.back() == ']')
    text = text.substr(1, text.size() - 2);
  boost::system::error_code ec;
  auto a = boost::asio::ip::make_address(std::string(text), ec);
  if (ec) return std::nullopt;
  if (a.is_v6() && a.to_v6().is_v4_mapped())
    return boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, a.to_v6());
  return a;
}

ClientAddress make_client(const std::string& text) {
  auto a = ip_literal(text);
  return {text, a && a->is_loopback()};
}

}  // namespace

ClientAddress client_address(const std::string& peer, const std::string& forwarded_for,
                             const std::vector<std::string>& trusted_proxies) {
  std::string current = peer;
  if (trusted_proxies.empty() || forwarded_for.empty()) return make_client(current);
  std::string_view rest = forwarded_for;
  while (in_trusted_network(current, trusted_proxies)) {
    if (rest.empty()) break;
    auto comma = rest.rfind(',');
    std::string_view entry =
        trim(comma == std::string_view::npos ? rest : rest.substr(comma + 1), " \t");
    rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(0, comma);
    auto a = ip_literal(entry);
    if (!a) break;  // not an address: the proxy that passed it on is the client we know
    current = a->to_string();
  }
  return make_client(current);
}

bool is_trusted_proxy(const std::string& peer, const std::vector<std::string>& trusted_proxies) {
  return !trusted_proxies.empty() && in_trusted_network(peer, trusted_proxies);
}

}  // namespace zaulek::server
