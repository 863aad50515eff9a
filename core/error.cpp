#include "core/error.h"

namespace zaulek {

std::string_view to_string(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::invalid_argument:
      return "invalid_argument";
    case ErrorKind::not_found:
      return "not_found";
    case ErrorKind::already_exists:
      return "already_exists";
    case ErrorKind::unauthenticated:
      return "unauthenticated";
    case ErrorKind::permission_denied:
      return "permission_denied";
    case ErrorKind::failed_precondition:
      return "failed_precondition";
    case ErrorKind::resource_exhausted:
      return "resource_exhausted";
    case ErrorKind::unavailable:
      return "unavailable";
    case ErrorKind::deadline_exceeded:
      return "deadline_exceeded";
    case ErrorKind::data_loss:
      return "data_loss";
    case ErrorKind::internal:
      return "internal";
  }
  return "internal";
}

}  // namespace zaulek
