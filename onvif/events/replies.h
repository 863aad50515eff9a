// PullPoint subscription messages: requests we send and the replies we read.
// Plain functions on bytes (no sockets), so the unit tests reach every branch.
//
// Every reader bounds the input (kMaxEnvelopeBytes) before parsing, accepts
// any namespace prefixes, and turns a SOAP Fault into an Error
// (NotAuthorized -> unauthenticated, others -> failed_precondition naming
// subcode and reason; not the expected reply -> invalid_argument).
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/error.h"
#include "onvif/events/normalize.h"

namespace zaulek::onvif {

// Most reference parameters we keep from a SubscriptionReference, in bytes.
inline constexpr std::size_t kMaxReferenceParameterBytes = 4096;
// Most notifications we accept in one PullMessages reply.
inline constexpr std::size_t kMaxNotificationsPerPull = 1000;

struct SubscriptionRef {
  std::string address;  // wsa5:Address of the subscription manager / pull point
  // Raw XML of wsa5:ReferenceParameters children (e.g. a vendor's
  // <SubscriptionId>); echoed as SOAP header blocks. Empty when the camera
  // sent none (many do not: the address alone names the subscription).
  std::vector<std::string> reference_parameters;
};

struct CreatePullPointReply {
  SubscriptionRef ref;
  // How long the subscription lives from now (TerminationTime minus the
  // camera's CurrentTime, so the camera's clock offset does not matter).
  std::chrono::milliseconds lifetime{0};
};

struct PullMessagesReply {
  std::vector<Notification> notifications;
  std::optional<std::chrono::milliseconds> lifetime;  // when TerminationTime was readable
};

// xsd:duration (PnYnMnDTnHnMnS, fractions of seconds allowed, no negative):
// nullopt when unreadable. Years count 365 days and months 30.
std::optional<std::chrono::milliseconds> parse_xsd_duration(std::string_view text);
std::string format_xsd_duration(std::chrono::milliseconds d);  // PT60S, PT1.5S

// Remaining lifetime from a TerminationTime that is either absolute
// (xsd:dateTime, compared with `current` — the reply's CurrentTime — or
// with `now` when the reply had none) or relative (xsd:duration).
Result<std::chrono::milliseconds> termination_lifetime(std::string_view termination,
                                                       std::string_view current, WallTime now);

Result<CreatePullPointReply> parse_create_pull_point(std::string_view xml, WallTime now);
Result<PullMessagesReply> parse_pull_messages(std::string_view xml, WallTime now);
Result<std::chrono::milliseconds> parse_renew(std::string_view xml, WallTime now);
Status parse_unsubscribe(std::string_view xml);

// Basic Notification (WS-BaseNotification): the Subscribe reply has the
// same reference and, when the camera sent a TerminationTime, the lifetime
// (else `requested`: the standard lets a producer leave it out).
Result<CreatePullPointReply> parse_subscribe(std::string_view xml, WallTime now,
                                             std::chrono::milliseconds requested);
// An incoming wsnt:Notify (the camera POSTs it to our consumer endpoint):
// the same NotificationMessage shape PullMessages returns, so normalization
// is shared. Bounded like every reader (kMaxEnvelopeBytes, at most
// kMaxNotificationsPerPull messages); anything but a Notify body is
// invalid_argument.
Result<std::vector<Notification>> parse_notify(std::string_view xml);
// True for the SOAP fault a camera answers an operation it does not have
// with (ter:ActionNotSupported, wsa:ActionNotSupported, ...): the reason
// fault_error() wrote into an error message names the subcode.
bool is_action_not_supported(std::string_view message);

// Request bodies (envelope with optional WS-UsernameToken and, for calls on
// a subscription, its address as wsa5:To and its reference parameters).
struct RequestAuth {
  std::string username, password_digest, nonce_base64, created;  // empty: none
};
std::string make_create_pull_point(const RequestAuth& auth, std::chrono::milliseconds lifetime);
std::string make_pull_messages(const RequestAuth& auth, const SubscriptionRef& ref,
                               std::chrono::milliseconds timeout, int limit);
std::string make_renew(const RequestAuth& auth, const SubscriptionRef& ref,
                       std::chrono::milliseconds lifetime);
std::string make_unsubscribe(const RequestAuth& auth, const SubscriptionRef& ref);
// wsnt:Subscribe with ConsumerReference = consumer_url and no filter.
std::string make_subscribe(const RequestAuth& auth, const std::string& consumer_url,
                           std::chrono::milliseconds lifetime);
// A wsnt:Notify carrying `notifications` (tests and the fuzz corpus).
std::string make_notify(const std::vector<Notification>& notifications);

}  // namespace zaulek::onvif
