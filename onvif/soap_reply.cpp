#include "onvif/soap_reply.h"

#include "core/text/text.h"

namespace zaulek::onvif {

// Drift between the two former copies: events' NotAuthorized message left the
// fault's reason out; the client's kept it. Kept: the reason (printable, at
// most 200 bytes), as for every other fault.
Error fault_error(const Fault& f) {
  const std::string reason = f.reason.empty() ? std::string() : ": " + printable(f.reason);
  if (contains_nocase(f.subcode, "NotAuthorized") || contains_nocase(f.reason, "not authorized"))
    return make_error(ErrorKind::unauthenticated,
                      "camera refused the credentials (SOAP fault " +
                          printable(f.subcode.empty() ? "NotAuthorized" : f.subcode) + reason +
                          ")");
  return make_error(ErrorKind::failed_precondition,
                    "camera answered with a SOAP fault" +
                        (f.subcode.empty() ? std::string() : " " + printable(f.subcode)) + reason);
}

Error unexpected_body(std::string_view expected, std::string_view where, std::string_view tag) {
  return make_error(ErrorKind::invalid_argument,
                    "expected " + std::string(expected) + std::string(where) + ", got " +
                        (tag.empty() ? std::string("an empty body") : "'" + printable(tag) + "'"));
}

}  // namespace zaulek::onvif
