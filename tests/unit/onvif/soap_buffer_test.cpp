#include "onvif/soap_buffer.h"

#include <gtest/gtest.h>

#include <string>

namespace zaulek::onvif {
namespace {

TEST(OnvifSoapBuffer, RoundTripsDeviceInformation) {
  SoapContext out;
  _tds__GetDeviceInformationResponse r;
  soap_default__tds__GetDeviceInformationResponse(out.get(), &r);
  r.Manufacturer = "Zaulek";
  r.Model = "SimCam-1080";
  r.FirmwareVersion = "1.0";
  r.SerialNumber = "SN-0001 <&>";
  r.HardwareId = "hw-1";
  OutHeader h;
  h.action = "http://www.onvif.org/ver10/device/wsdl/GetDeviceInformationResponse";
  std::string xml = out.write(h, r);
  ASSERT_FALSE(xml.empty());
  EXPECT_NE(xml.find("http://www.w3.org/2003/05/soap-envelope"), std::string::npos);
  EXPECT_NE(xml.find("SN-0001 &lt;&amp;&gt;"), std::string::npos);

  SoapContext in;
  auto header = in.begin_read(xml);
  ASSERT_TRUE(header.ok()) << header.error().message;
  EXPECT_EQ(header->action, h.action);
  ASSERT_TRUE(in.body_is("tds:GetDeviceInformationResponse"));
  auto body = in.read_body<_tds__GetDeviceInformationResponse>();
  ASSERT_TRUE(body.ok()) << body.error().message;
  EXPECT_EQ((*body)->SerialNumber, "SN-0001 <&>");
  EXPECT_EQ((*body)->Model, "SimCam-1080");
}

TEST(OnvifSoapBuffer, ReadsForeignPrefixesAndSoap12Request) {
  // As a third-party client writes it: its own prefixes, default namespaces.
  std::string xml =
      R"(<?xml version="1.0" encoding="UTF-8"?>)"
      R"(<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body>)"
      R"(<GetStreamUri xmlns="http://www.onvif.org/ver10/media/wsdl"><StreamSetup>)"
      R"(<Stream xmlns="http://www.onvif.org/ver10/schema">RTP-Unicast</Stream>)"
      R"(<Transport xmlns="http://www.onvif.org/ver10/schema"><Protocol>RTSP</Protocol></Transport>)"
      R"(</StreamSetup><ProfileToken>sub</ProfileToken></GetStreamUri></s:Body></s:Envelope>)";
  SoapContext in;
  ASSERT_TRUE(in.begin_read(xml).ok());
  EXPECT_FALSE(in.body_is("trt:GetProfiles"));
  ASSERT_TRUE(in.body_is("trt:GetStreamUri"));
  auto body = in.read_body<_trt__GetStreamUri>();
  ASSERT_TRUE(body.ok()) << body.error().message;
  EXPECT_EQ((*body)->ProfileToken, "sub");
  EXPECT_EQ((*body)->StreamSetup.Transport.Protocol, "RTSP");
}

TEST(OnvifSoapBuffer, ReadsUsernameToken) {
  SoapContext out;
  _tds__GetDeviceInformation req;
  soap_default__tds__GetDeviceInformation(out.get(), &req);
  OutHeader h;
  h.username = "admin";
  h.password_digest = "ZGlnZXN0";
  h.nonce_base64 = "bm9uY2U=";
  h.created = "2026-11-25T10:00:00.000Z";
  std::string xml = out.write(h, req);
  SoapContext in;
  auto header = in.begin_read(xml);
  ASSERT_TRUE(header.ok()) << header.error().message;
  EXPECT_TRUE(header->has_username_token);
  EXPECT_EQ(header->username, "admin");
  EXPECT_EQ(header->password, "ZGlnZXN0");
  EXPECT_NE(header->password_type.find("#PasswordDigest"), std::string::npos);
  EXPECT_EQ(header->nonce_base64, "bm9uY2U=");
  EXPECT_EQ(header->created, "2026-11-25T10:00:00.000Z");
}

TEST(OnvifSoapBuffer, FaultRoundTrip) {
  SoapContext out;
  std::string xml = out.write_fault({true, "ter:NotAuthorized", "Sender not authorized"});
  ASSERT_FALSE(xml.empty());
  EXPECT_NE(xml.find("ter:NotAuthorized"), std::string::npos);
  SoapContext in;
  ASSERT_TRUE(in.begin_read(xml).ok());
  ASSERT_TRUE(in.body_is("SOAP-ENV:Fault"));
  auto fault = in.read_fault();
  ASSERT_TRUE(fault.ok()) << fault.error().message;
  EXPECT_TRUE(fault->sender);
  EXPECT_EQ(fault->subcode, "ter:NotAuthorized");
  EXPECT_EQ(fault->reason, "Sender not authorized");
}

TEST(OnvifSoapBuffer, RejectsGarbageAndOversize) {
  const char* bad[] = {"", "not xml at all", "<a><b></a>",
                       "<s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\"><s:Body>",
                       "\xff\xfe\x00<<<>>>"};
  for (const char* x : bad) {
    SoapContext in;
    auto h = in.begin_read(x);
    if (h.ok()) {
      // Envelope head parsed: the body must still fail to read.
      EXPECT_FALSE(in.read_body<_trt__GetProfiles>().ok()) << x;
    }
  }
  SoapContext in;
  std::string huge(kMaxEnvelopeBytes + 1, ' ');
  auto h = in.begin_read(huge);
  ASSERT_FALSE(h.ok());
  EXPECT_EQ(h.error().kind, ErrorKind::resource_exhausted);
}

TEST(OnvifSoapBuffer, ContextIsReusableAfterReset) {
  SoapContext ctx;
  for (int i = 0; i < 3; ++i) {
    _trt__GetProfilesResponse r;
    soap_default__trt__GetProfilesResponse(ctx.get(), &r);
    tt__Profile p;
    soap_default_tt__Profile(ctx.get(), &p);
    p.token = "main";
    p.Name = "main";
    r.Profiles.push_back(p);
    std::string xml = ctx.write(OutHeader{}, r);
    ctx.reset();
    ASSERT_TRUE(ctx.begin_read(xml).ok());
    auto body = ctx.read_body<_trt__GetProfilesResponse>();
    ASSERT_TRUE(body.ok()) << body.error().message;
    ASSERT_EQ((*body)->Profiles.size(), 1u);
    EXPECT_EQ((*body)->Profiles[0].token, "main");
    ctx.reset();
  }
}

TEST(OnvifSoapBuffer, TwoContextsReadInterleaved) {
  // Each context keeps its own input: begin A, begin B, then finish A.
  auto make = [](const char* token) {
    SoapContext c;
    _trt__GetSnapshotUri r;
    soap_default__trt__GetSnapshotUri(c.get(), &r);
    r.ProfileToken = token;
    return c.write(OutHeader{}, r);
  };
  std::string xa = make("aaaa"), xb = make("bbbb");
  SoapContext a, b;
  ASSERT_TRUE(a.begin_read(xa).ok());
  ASSERT_TRUE(b.begin_read(xb).ok());
  auto ra = a.read_body<_trt__GetSnapshotUri>();
  auto rb = b.read_body<_trt__GetSnapshotUri>();
  ASSERT_TRUE(ra.ok() && rb.ok());
  EXPECT_EQ((*ra)->ProfileToken, "aaaa");
  EXPECT_EQ((*rb)->ProfileToken, "bbbb");
}

// Contexts are pooled per thread (soap_buffer.cpp): one handed out again
// must behave as a new one, whatever its last message was.
std::string snapshot_request(const char* token) {
  SoapContext c;
  _trt__GetSnapshotUri r;
  soap_default__trt__GetSnapshotUri(c.get(), &r);
  r.ProfileToken = token;
  OutHeader h;
  h.action = "http://www.onvif.org/ver10/media/wsdl/GetSnapshotUri";
  h.username = "admin";
  h.password_digest = "digest";
  h.nonce_base64 = "bm9uY2U=";
  h.created = "2026-12-02T08:00:00Z";
  return c.write(h, r);
}

TEST(OnvifSoapBuffer, PooledContextIsHandedOutAgain) {
  struct soap* first = nullptr;
  {
    SoapContext c;
    first = c.get();
  }
  SoapContext again;
  EXPECT_EQ(again.get(), first);
  SoapContext second;  // the pool had one: this one is new
  EXPECT_NE(second.get(), first);
}

TEST(OnvifSoapBuffer, PooledContextWritesSoap12AfterReadingSoap11) {
  const std::string before = snapshot_request("main");
  ASSERT_NE(before.find("\"http://www.w3.org/2003/05/soap-envelope\""), std::string::npos);
  {
    // A SOAP 1.1 camera's fault: gSOAP switches the context's envelope
    // namespace and version to 1.1 while reading it.
    SoapContext in;
    std::string xml =
        R"(<?xml version="1.0"?><SOAP-ENV:Envelope )"
        R"(xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/"><SOAP-ENV:Body>)"
        R"(<SOAP-ENV:Fault><faultcode>SOAP-ENV:Client</faultcode>)"
        R"(<faultstring>no such profile</faultstring></SOAP-ENV:Fault>)"
        R"(</SOAP-ENV:Body></SOAP-ENV:Envelope>)";
    ASSERT_TRUE(in.begin_read(xml).ok());
    ASSERT_TRUE(in.body_is("SOAP-ENV:Fault"));
    auto f = in.read_fault();
    ASSERT_TRUE(f.ok()) << f.error().message;
    EXPECT_EQ(f->reason, "no such profile");
    EXPECT_EQ(in.get()->version, 1);
  }
  const std::string after = snapshot_request("main");
  EXPECT_EQ(after, before);
  EXPECT_EQ(after.find("schemas.xmlsoap.org/soap/envelope"), std::string::npos);
  // A fault written by the next user is a SOAP 1.2 one (Code/Reason, not
  // faultcode/faultstring).
  SoapContext out;
  const std::string fault = out.write_fault({true, "ter:InvalidArgVal", "bad token"});
  EXPECT_NE(fault.find("SOAP-ENV:Code"), std::string::npos) << fault;
  EXPECT_EQ(fault.find("faultstring"), std::string::npos) << fault;
}

TEST(OnvifSoapBuffer, PooledContextReadsAfterAnAbandonedRead) {
  {
    // Left in the middle of the body, and one left on a parse error.
    SoapContext a;
    ASSERT_TRUE(a.begin_read(snapshot_request("left")).ok());
    SoapContext b;
    auto h = b.begin_read("<s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\"><s:Bo");
    if (h.ok()) {
      EXPECT_FALSE(b.read_body<_trt__GetSnapshotUri>().ok());
    }
  }
  for (const char* token : {"one", "two", "three"}) {
    SoapContext in;
    auto h = in.begin_read(snapshot_request(token));
    ASSERT_TRUE(h.ok()) << h.error().message;
    EXPECT_TRUE(h->has_username_token);
    EXPECT_EQ(h->username, "admin");
    auto body = in.read_body<_trt__GetSnapshotUri>();
    ASSERT_TRUE(body.ok()) << body.error().message;
    EXPECT_EQ((*body)->ProfileToken, token);
  }
}

}  // namespace
}  // namespace zaulek::onvif
