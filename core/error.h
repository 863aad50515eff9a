// One error space for the whole daemon (see docs/design/errors.md).
// Modules return Result<T>; only server/ maps ErrorKind to HTTP statuses.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace zaulek {

enum class ErrorKind {
  invalid_argument,     // the caller's input is wrong (config, request, reply)
  not_found,            // the thing named does not exist
  already_exists,       // unique name taken
  unauthenticated,      // no or bad credentials
  permission_denied,    // authenticated, but the role may not
  failed_precondition,  // state does not allow it (e.g. database newer than binary)
  resource_exhausted,   // disk full, rate limit, queue full
  unavailable,          // peer unreachable, retry may help
  deadline_exceeded,    // timed out
  data_loss,            // corrupt file or database
  internal,             // broken invariant
};

std::string_view to_string(ErrorKind kind);

struct Error {
  ErrorKind kind = ErrorKind::internal;
  std::string message;
};

inline Error make_error(ErrorKind kind, std::string message) {
  return {kind, std::move(message)};
}

// A value or an Error; a tiny stand-in for C++23 std::expected.
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}      // NOLINT(google-explicit-constructor)
  Result(Error error) : v_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT
  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const { return error_; }

 private:
  Error error_;
  bool ok_ = true;
};

using Status = Result<void>;

}  // namespace zaulek
