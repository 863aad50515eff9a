// Reading a camera's SOAP reply into a gSOAP struct: the one copy for the
// device/media readers (onvif/client/replies.h) and the event readers
// (onvif/events/replies.h). Bounded before parsing (kMaxEnvelopeBytes, then
// SoapContext::begin_read's pre-scan and UTF-8 repair); a SOAP Fault becomes
// an Error of our kinds; any other body than the one expected is named.
#pragma once

#include <string>
#include <string_view>

#include "core/error.h"
#include "onvif/soap_buffer.h"

namespace zaulek::onvif {

// ter:NotAuthorized (or a reason that says "not authorized") ->
// unauthenticated; any other fault -> failed_precondition. The message
// names the subcode and the reason, printable and cut short:
// "camera answered with a SOAP fault <subcode>: <reason>" (what
// is_action_not_supported in onvif/events/replies.h reads).
Error fault_error(const Fault& fault);

// The error for a body that is not the `expected` element (its tag as sent,
// or empty): "expected <expected><where>, got '<tag>'".
Error unexpected_body(std::string_view expected, std::string_view where, std::string_view tag);

// The reply's body as T (an arena pointer in ctx), or an error:
// resource_exhausted over kMaxEnvelopeBytes, the fault's error, or
// invalid_argument for anything that is not T.
template <class T>
Result<T*> read_reply(SoapContext& ctx, std::string_view xml) {
  if (xml.size() > kMaxEnvelopeBytes)
    return make_error(ErrorKind::resource_exhausted,
                      "camera reply larger than " + std::to_string(kMaxEnvelopeBytes) + " bytes");
  auto header = ctx.begin_read(xml);
  if (!header) return header.error();
  if (ctx.body_is("SOAP-ENV:Fault")) {
    auto f = ctx.read_fault();
    if (!f) return f.error();
    return fault_error(*f);
  }
  if (!ctx.body_is(SoapType<T>::tag))
    return unexpected_body(SoapType<T>::tag, " in the camera's reply", ctx.body_tag());
  return ctx.read_body<T>();
}

}  // namespace zaulek::onvif
