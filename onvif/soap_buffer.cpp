#include "onvif/soap_buffer.h"

#include "core/camera_faults.h"
#include "core/text/utf8.h"
#include "onvif/xml_prescan.h"

#include <new>
#include <sstream>
#include <vector>

// The one namespace table for every message we read or write (libgsoap++
// refers to the global `namespaces`). Written by hand rather than taken from
// soapcpp2's .nsmap: wsa5's generated entry also matches WS-Addressing
// 2004/08, which would swallow WS-Discovery's wsa: headers; and tns1, ter, dn
// have no types but must be declared on every envelope (topic and QName text).
SOAP_NMAC struct Namespace namespaces[] = {
    {"SOAP-ENV", "http://www.w3.org/2003/05/soap-envelope",
     "http://schemas.xmlsoap.org/soap/envelope/", nullptr},
    {"SOAP-ENC", "http://www.w3.org/2003/05/soap-encoding",
     "http://schemas.xmlsoap.org/soap/encoding/", nullptr},
    {"xsi", "http://www.w3.org/2001/XMLSchema-instance", "http://www.w3.org/*/XMLSchema-instance",
     nullptr},
    {"xsd", "http://www.w3.org/2001/XMLSchema", "http://www.w3.org/*/XMLSchema", nullptr},
    {"wsa5", "http://www.w3.org/2005/08/addressing", nullptr, nullptr},
    {"wsa", "http://schemas.xmlsoap.org/ws/2004/08/addressing", nullptr, nullptr},
    {"wsdd", "http://schemas.xmlsoap.org/ws/2005/04/discovery", nullptr, nullptr},
    {"chan", "http://schemas.microsoft.com/ws/2005/02/duplex", nullptr, nullptr},
    {"wsse", "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd",
     nullptr, nullptr},
    {"wsu", "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd",
     nullptr, nullptr},
    {"tt", "http://www.onvif.org/ver10/schema", nullptr, nullptr},
    {"tds", "http://www.onvif.org/ver10/device/wsdl", nullptr, nullptr},
    {"trt", "http://www.onvif.org/ver10/media/wsdl", nullptr, nullptr},
    {"tev", "http://www.onvif.org/ver10/events/wsdl", nullptr, nullptr},
    {"wsnt", "http://docs.oasis-open.org/wsn/b-2", nullptr, nullptr},
    {"wstop", "http://docs.oasis-open.org/wsn/t-1", nullptr, nullptr},
    {"tns1", "http://www.onvif.org/ver10/topics", nullptr, nullptr},
    {"ter", "http://www.onvif.org/ver10/error", nullptr, nullptr},
    {"dn", "http://www.onvif.org/ver10/network/wsdl", nullptr, nullptr},
    {nullptr, nullptr, nullptr, nullptr},
};

namespace zaulek::onvif {
namespace {

// Reads from the string_view given to begin_read (the caller keeps it alive
// until read_body/read_fault returns; reading is synchronous).
std::size_t recv_from_buffer(struct soap* soap, char* buf, std::size_t len) {
  auto* in = static_cast<std::pair<std::string_view, std::size_t>*>(soap->data[0]);
  if (!in) return 0;
  std::size_t n = std::min(len, in->first.size() - in->second);
  std::copy_n(in->first.data() + in->second, n, buf);
  in->second += n;
  return n;
}

int send_to_string(struct soap* soap, const char* buf, std::size_t len) {
  auto* out = static_cast<std::string*>(soap->data[1]);
  if (!out) return SOAP_EOF;
  out->append(buf, len);
  return SOAP_OK;
}

std::string str(const char* s) {
  return s ? std::string(s) : std::string();
}
std::string str(const std::string* s) {
  return s ? *s : std::string();
}

}  // namespace

// A gSOAP context is a large struct (buffers, hash tables) that soap_new2
// zeroes and soap_free tears down: at 2,000 events/s, making and freeing
// one per message (two per PullMessages round trip) was about 6 % of
// zaulekd's CPU. So each thread keeps a few finished contexts and hands them
// out again, reset to the state of a new one: arena freed, namespace table
// (and with it the SOAP version) restored. Reading a SOAP 1.1 envelope
// changes both; gSOAP also sets them again when the next message begins,
// and the tests check that a pooled context writes what a new one does.
namespace {

constexpr std::size_t kPooledPerThread = 4;

struct soap* new_context() {
  // Plain XML both ways (HTTP is Beast's), UTF-8 kept as is, no id/href
  // graphs on output.
  struct soap* s = soap_new2(SOAP_ENC_PLAIN | SOAP_C_UTFSTRING | SOAP_XML_TREE,
                             SOAP_ENC_PLAIN | SOAP_C_UTFSTRING | SOAP_XML_TREE | SOAP_XML_NOTYPE);
  if (!s) throw std::bad_alloc();
  soap_set_namespaces(s, namespaces);
  s->recv_maxlength = kMaxEnvelopeBytes;
  s->maxlevel = 64;  // ONVIF messages nest about 12 deep
  s->maxoccurs = 10000;
  s->frecv = recv_from_buffer;
  s->fsend = send_to_string;
  s->data[0] = nullptr;
  s->data[1] = nullptr;
  return s;
}

struct ContextPool {
  std::vector<struct soap*> idle;
  ~ContextPool() {
    for (struct soap* s : idle) soap_free(s);
  }
};
thread_local ContextPool pool;

}  // namespace

SoapContext::SoapContext() {
  if (!pool.idle.empty()) {
    soap_ = pool.idle.back();
    pool.idle.pop_back();
    return;
  }
  soap_ = new_context();
}

SoapContext::~SoapContext() {
  reset();
  if (pool.idle.size() >= kPooledPerThread) {
    soap_free(soap_);
    return;
  }
  soap_->encodingStyle = nullptr;
  soap_->data[0] = nullptr;
  soap_->data[1] = nullptr;
  soap_set_namespaces(soap_, namespaces);  // the table, and the version it implies
  pool.idle.push_back(soap_);
}

void SoapContext::reset() {
  soap_destroy(soap_);
  soap_end(soap_);
  soap_->header = nullptr;
  soap_->fault = nullptr;
  soap_->error = SOAP_OK;
}

char* SoapContext::strdup(std::string_view s) {
  char* p = static_cast<char*>(soap_malloc(soap_, s.size() + 1));
  std::copy(s.begin(), s.end(), p);
  p[s.size()] = '\0';
  return p;
}

Error SoapContext::read_error(const char* what) {
  std::string detail;
  if (soap_->error != SOAP_OK) {
    char buf[512];
    soap_sprint_fault(soap_, buf, sizeof buf);
    // gSOAP's text may quote the sender's tags: valid UTF-8, one line.
    detail = to_valid_utf8(buf);
    for (char& c : detail)
      if (c == '\n' || c == '\r') c = ' ';
  }
  soap_->data[0] = nullptr;
  return make_error(ErrorKind::invalid_argument,
                    std::string("malformed SOAP (") + what + "): " + detail);
}

Error SoapContext::thrown(const char* what, const char* exception) noexcept {
  count_camera_fault(CameraFault::onvif_reply);
  soap_->data[0] = nullptr;
  try {
    return make_error(ErrorKind::internal, std::string("SOAP (") + what + ") could not be read: " +
                                               to_valid_utf8(exception, 200));
  } catch (...) {
    return Error{};  // the message could not be made either (out of memory)
  }
}

Result<InHeader> SoapContext::begin_read(std::string_view xml) {
  try {
    return begin_read_checked(xml);
  } catch (const std::exception& e) {
    return thrown("envelope", e.what());
  }
}

Result<InHeader> SoapContext::begin_read_checked(std::string_view xml) {
  if (xml.size() > kMaxEnvelopeBytes) {
    count_camera_fault(CameraFault::onvif_reply_too_large);
    return make_error(ErrorKind::resource_exhausted, "SOAP envelope larger than 1 MiB");
  }
  // gSOAP's cost is not bounded by size alone (xml_prescan.h).
  if (auto st = prescan_xml(xml); !st) {
    if (st.error().kind == ErrorKind::resource_exhausted)
      count_camera_fault(CameraFault::onvif_reply_too_complex);
    return make_error(st.error().kind, "malformed SOAP: " + st.error().message);
  }
  // Strings gSOAP reads are the input's bytes (SOAP_C_UTFSTRING): made
  // valid here, once, for every reader (JSON dumps throw on invalid UTF-8).
  repaired_.clear();
  if (valid_utf8_prefix(xml) != xml.size()) {
    repaired_ = to_valid_utf8(xml);
    xml = repaired_;
  }
  in_ = {xml, 0};
  soap_->data[0] = &in_;
  soap_->header = nullptr;
  soap_->error = SOAP_OK;
  soap_begin(soap_);
  if (soap_begin_recv(soap_)) return read_error("envelope");
  // gSOAP tolerates a missing Envelope unless strict; we want one (and
  // strict mode would also refuse the unknown elements cameras add).
  if (soap_peek_element(soap_) != SOAP_OK ||
      soap_match_tag(soap_, soap_->tag, "SOAP-ENV:Envelope") != SOAP_OK) {
    soap_->data[0] = nullptr;
    return make_error(ErrorKind::invalid_argument, "malformed SOAP: no SOAP 1.1/1.2 Envelope");
  }
  if (soap_envelope_begin_in(soap_) || soap_recv_header(soap_) || soap_body_begin_in(soap_))
    return read_error("envelope");
  InHeader h;
  if (const SOAP_ENV__Header* hd = soap_->header) {
    h.action = hd->wsa5__Action ? str(hd->wsa5__Action) : str(hd->wsa__Action);
    h.to = hd->wsa5__To ? str(hd->wsa5__To) : str(hd->wsa__To);
    h.message_id = hd->wsa5__MessageID ? str(hd->wsa5__MessageID) : str(hd->wsa__MessageID);
    if (hd->wsa5__RelatesTo)
      h.relates_to = str(hd->wsa5__RelatesTo->__item);
    else if (hd->wsa__RelatesTo)
      h.relates_to = hd->wsa__RelatesTo->__item;
    if (hd->wsse__Security && hd->wsse__Security->UsernameToken) {
      const _wsse__UsernameToken* t = hd->wsse__Security->UsernameToken;
      h.has_username_token = true;
      h.username = str(t->Username);
      if (t->Password) {
        h.password = t->Password->__item;
        h.password_type = str(t->Password->Type);
      }
      if (t->Nonce) h.nonce_base64 = t->Nonce->__item;
      h.created = str(t->wsu__Created);
    }
  }
  return h;
}

bool SoapContext::body_is(const char* tag) {
  if (soap_peek_element(soap_) != SOAP_OK) {
    soap_->error = SOAP_OK;  // a later read reports what is wrong
    return false;
  }
  return soap_match_tag(soap_, soap_->tag, tag) == SOAP_OK;
}

std::string SoapContext::body_tag() const {
  return soap_->tag;
}

int SoapContext::finish_read() {
  soap_body_end_in(soap_) || soap_envelope_end_in(soap_) || soap_end_recv(soap_);
  soap_->data[0] = nullptr;
  return soap_->error;
}

Result<Fault> SoapContext::read_fault() {
  try {
    if (soap_getfault(soap_) != SOAP_OK || finish_read() != SOAP_OK) return read_error("fault");
    Fault f;
    const char** code = soap_faultcode(soap_);
    std::string c = code ? str(*code) : std::string();
    f.sender = c.find("Sender") != std::string::npos || c.find("Client") != std::string::npos;
    f.subcode = str(soap_fault_subcode(soap_));
    f.reason = str(soap_fault_string(soap_));
    return f;
  } catch (const std::exception& e) {
    return thrown("fault", e.what());
  }
}

void SoapContext::prepare_header(const OutHeader& o) {
  soap_->header = nullptr;
  if (o.action.empty() && o.to.empty() && o.message_id.empty() && o.relates_to.empty() &&
      o.username.empty())
    return;
  SOAP_ENV__Header* h = soap_new_SOAP_ENV__Header(soap_);
  auto sp = [&](const std::string& s) -> std::string* {
    if (s.empty()) return nullptr;
    std::string* p = soap_new_std__string(soap_, -1);
    *p = s;
    return p;
  };
  auto cp = [&](const std::string& s) -> char* { return s.empty() ? nullptr : strdup(s); };
  if (o.discovery) {
    h->wsa__Action = sp(o.action);
    h->wsa__To = sp(o.to);
    h->wsa__MessageID = sp(o.message_id);
    if (!o.relates_to.empty()) {
      h->wsa__RelatesTo = soap_new_wsa__Relationship(soap_, -1);
      h->wsa__RelatesTo->__item = o.relates_to;
    }
  } else {
    h->wsa5__Action = cp(o.action);
    h->wsa5__To = cp(o.to);
    h->wsa5__MessageID = cp(o.message_id);
    if (!o.relates_to.empty()) {
      h->wsa5__RelatesTo = soap_new_wsa5__RelatesToType(soap_, -1);
      h->wsa5__RelatesTo->__item = strdup(o.relates_to);
    }
  }
  if (!o.username.empty()) {
    auto* sec = soap_new__wsse__Security(soap_, -1);
    auto* tok = soap_new__wsse__UsernameToken(soap_, -1);
    tok->Username = sp(o.username);
    tok->Password = soap_new_wsse__PasswordString(soap_, -1);
    tok->Password->__item = o.password_digest;
    tok->Password->Type =
        sp("http://docs.oasis-open.org/wss/2004/01/"
           "oasis-200401-wss-username-token-profile-1.0#PasswordDigest");
    tok->Nonce = soap_new_wsse__EncodedString(soap_, -1);
    tok->Nonce->__item = o.nonce_base64;
    tok->Nonce->EncodingType =
        sp("http://docs.oasis-open.org/wss/2004/01/"
           "oasis-200401-soap-message-security-1.0#Base64Binary");
    tok->wsu__Created = sp(o.created);
    sec->UsernameToken = tok;
    h->wsse__Security = sec;
  }
  soap_->header = h;
}

std::string SoapContext::write_envelope(const std::function<int()>& body) {
  std::string out;
  soap_->data[1] = &out;
  soap_->error = SOAP_OK;
  soap_->encodingStyle = nullptr;
  soap_serializeheader(soap_);
  if (soap_begin_send(soap_) || soap_envelope_begin_out(soap_) || soap_putheader(soap_) ||
      soap_body_begin_out(soap_) || body() || soap_body_end_out(soap_) ||
      soap_envelope_end_out(soap_) || soap_end_send(soap_))
    out.clear();
  soap_->data[1] = nullptr;
  return out;
}

std::string SoapContext::write_fault(const Fault& fault, const OutHeader& header) {
  prepare_header(header);
  if (fault.sender)
    soap_sender_fault_subcode(soap_, fault.subcode.empty() ? nullptr : fault.subcode.c_str(),
                              fault.reason.c_str(), nullptr);
  else
    soap_receiver_fault_subcode(soap_, fault.subcode.empty() ? nullptr : fault.subcode.c_str(),
                                fault.reason.c_str(), nullptr);
  soap_serializefault(soap_);
  return write_envelope([this] { return soap_putfault(soap_); });
}

}  // namespace zaulek::onvif
