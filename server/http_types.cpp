#include "server/http_types.h"

#include <nlohmann/json.hpp>

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

}  // namespace zaulek::server
