// clang-format off
// (gSOAP directives "//gsoap ..." and "@attribute" members are not C++.)
// gSOAP interface header for the ONVIF subset Zaułek speaks (device, media,
// events, WS-Discovery 2005/04). Written by hand from the ONVIF WSDL/XSD
// texts (ver10 device/media/events, ver10 schema, OASIS WS-BaseNotification
// b-2, WS-Topics); soapcpp2 turns it into ONE serializer library at build
// time (onvif/CMakeLists.txt), so there is one namespace table for all.
//
// Only what we send or read is declared. gSOAP skips unknown elements on
// input, so richer cameras still parse. Choices that differ from the XSD:
// - enumerations are strings (cameras send values newer than the schema,
//   e.g. H265 in ver10 VideoEncoderConfiguration),
// - dateTime and duration are strings: we format and parse them ourselves
//   (millisecond precision, see onvif/soap_buffer.h),
// - open content (TopicSet, Filter, Capabilities) is literal XML (_XML).

#import "stlvector.h"
#import "wsa5.h"  // WS-Addressing 2005/08: events (subscription references)

//gsoap tt schema namespace: http://www.onvif.org/ver10/schema
//gsoap tt schema elementForm: qualified
//gsoap tt schema attributeForm: unqualified
//gsoap tds schema namespace: http://www.onvif.org/ver10/device/wsdl
//gsoap tds schema elementForm: qualified
//gsoap tds schema attributeForm: unqualified
//gsoap trt schema namespace: http://www.onvif.org/ver10/media/wsdl
//gsoap trt schema elementForm: qualified
//gsoap trt schema attributeForm: unqualified
//gsoap tev schema namespace: http://www.onvif.org/ver10/events/wsdl
//gsoap tev schema elementForm: qualified
//gsoap tev schema attributeForm: unqualified
//gsoap wsnt schema namespace: http://docs.oasis-open.org/wsn/b-2
//gsoap wsnt schema elementForm: qualified
//gsoap wsnt schema attributeForm: unqualified
//gsoap wstop schema namespace: http://docs.oasis-open.org/wsn/t-1
//gsoap wstop schema elementForm: qualified
//gsoap wstop schema attributeForm: unqualified
//gsoap tns1 schema namespace: http://www.onvif.org/ver10/topics
//gsoap ter schema namespace: http://www.onvif.org/ver10/error
//gsoap dn schema namespace: http://www.onvif.org/ver10/network/wsdl
//gsoap wsdd schema namespace: http://schemas.xmlsoap.org/ws/2005/04/discovery
//gsoap wsdd schema elementForm: qualified
//gsoap wsdd schema attributeForm: unqualified
//gsoap wsse schema namespace: http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd
//gsoap wsse schema elementForm: qualified
//gsoap wsse schema attributeForm: unqualified
//gsoap wsu schema namespace: http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd
//gsoap wsu schema elementForm: qualified
//gsoap wsu schema attributeForm: unqualified

typedef std::string xsd__string;
typedef std::string xsd__anyURI;
typedef std::string xsd__token;
typedef std::string xsd__dateTime;  // RFC 3339 / xsd:dateTime text
typedef std::string xsd__duration;  // xsd:duration text (PT10S)

// ---------------------------------------------------------------- WS-Security

// wsse:Password / wsse:Nonce: text with a Type / EncodingType attribute.
struct wsse__PasswordString {
  std::string __item;
  @std::string* Type 0;
};
struct wsse__EncodedString {
  std::string __item;
  @std::string* EncodingType 0;
};
struct _wsse__UsernameToken {
  std::string* Username 0;
  struct wsse__PasswordString* Password 0;
  struct wsse__EncodedString* Nonce 0;
  std::string* wsu__Created 0;
};
struct _wsse__Security {
  struct _wsse__UsernameToken* UsernameToken 0;
};

// WS-Addressing 2004/08, used by WS-Discovery 2005/04. Declared here rather
// than imported: gSOAP's wsa.h and wsa5.h both declare SOAP_ENV__Fault.
//gsoap wsa schema namespace: http://schemas.xmlsoap.org/ws/2004/08/addressing
//gsoap wsa schema elementForm: qualified
//gsoap wsa schema attributeForm: unqualified
struct wsa__EndpointReferenceType {
  std::string Address 1;
};
struct wsa__Relationship {
  std::string __item;
  @_QName RelationshipType 0;
};

struct SOAP_ENV__Header {
  mustUnderstand struct _wsse__Security* wsse__Security 0;
  std::string* wsa__MessageID 0;
  struct wsa__Relationship* wsa__RelatesTo 0;
  mustUnderstand std::string* wsa__To 0;
  mustUnderstand std::string* wsa__Action 0;
};

// ---------------------------------------------------------------- tt: schema

struct tt__IntRectangle {
  @int x 1;
  @int y 1;
  @int width 1;
  @int height 1;
};
struct tt__VideoResolution {
  int Width 1;
  int Height 1;
};
struct tt__VideoRateControl {
  int FrameRateLimit 1;
  int EncodingInterval 1;
  int BitrateLimit 1;
};
struct tt__H264Configuration {
  int GovLength 1;
  std::string H264Profile 1;  // Baseline | Main | Extended | High
};
struct tt__IPAddress {
  std::string Type 1;  // IPv4 | IPv6
  std::string* IPv4Address 0;
  std::string* IPv6Address 0;
};
struct tt__MulticastConfiguration {
  struct tt__IPAddress Address 1;
  int Port 1;
  int TTL 1;
  bool AutoStart 1;
};
struct tt__VideoSourceConfiguration {
  @std::string token 1;
  std::string Name 1;
  int UseCount 1;
  std::string SourceToken 1;
  struct tt__IntRectangle Bounds 1;
};
struct tt__VideoEncoderConfiguration {
  @std::string token 1;
  std::string Name 1;
  int UseCount 1;
  std::string Encoding 1;  // JPEG | MPEG4 | H264 (and H265 in practice)
  struct tt__VideoResolution Resolution 1;
  float Quality 1;
  struct tt__VideoRateControl* RateControl 0;
  struct tt__H264Configuration* H264 0;
  struct tt__MulticastConfiguration Multicast 1;
  xsd__duration SessionTimeout 1;
};
struct tt__Profile {
  @std::string token 1;
  @bool* fixed 0;
  std::string Name 1;
  struct tt__VideoSourceConfiguration* VideoSourceConfiguration 0;
  struct tt__VideoEncoderConfiguration* VideoEncoderConfiguration 0;
};
struct tt__VideoSource {
  @std::string token 1;
  float Framerate 1;
  struct tt__VideoResolution Resolution 1;
};
struct tt__Transport {
  std::string Protocol 1;  // UDP | TCP | RTSP | HTTP
};
struct tt__StreamSetup {
  std::string Stream 1;  // RTP-Unicast | RTP-Multicast
  struct tt__Transport Transport 1;
};
struct tt__MediaUri {
  xsd__anyURI Uri 1;
  bool InvalidAfterConnect 1;
  bool InvalidAfterReboot 1;
  xsd__duration Timeout 1;
};

// Capabilities (GetCapabilities): only the services we have.
struct tt__DeviceCapabilities {
  xsd__anyURI XAddr 1;
};
struct tt__EventCapabilities {
  xsd__anyURI XAddr 1;
  bool WSSubscriptionPolicySupport 1;
  bool WSPullPointSupport 1;
  bool WSPausableSubscriptionManagerInterfaceSupport 1;
};
struct tt__RealTimeStreamingCapabilities {
  bool* RTPMulticast 0;
  bool* RTP_USCORETCP 0;
  bool* RTP_USCORERTSP_USCORETCP 0;
};
struct tt__MediaCapabilities {
  xsd__anyURI XAddr 1;
  struct tt__RealTimeStreamingCapabilities StreamingCapabilities 1;
};
struct tt__Capabilities {
  struct tt__DeviceCapabilities* Device 0;
  struct tt__EventCapabilities* Events 0;
  struct tt__MediaCapabilities* Media 0;
};

struct tt__Time {
  int Hour 1;
  int Minute 1;
  int Second 1;
};
struct tt__Date {
  int Year 1;
  int Month 1;
  int Day 1;
};
struct tt__DateTime {
  struct tt__Time Time 1;
  struct tt__Date Date 1;
};
struct tt__TimeZone {
  std::string TZ 1;
};
struct tt__SystemDateTime {
  std::string DateTimeType 1;  // Manual | NTP
  bool DaylightSavings 1;
  struct tt__TimeZone* TimeZone 0;
  struct tt__DateTime* UTCDateTime 0;
  struct tt__DateTime* LocalDateTime 0;
};

struct tt__Scope {
  std::string ScopeDef 1;  // Fixed | Configurable
  xsd__anyURI ScopeItem 1;
};

struct tt__NetworkInterfaceInfo {
  std::string* Name 0;
  std::string HwAddress 1;
  int* MTU 0;
};
struct tt__PrefixedIPv4Address {
  std::string Address 1;
  int PrefixLength 1;
};
struct tt__IPv4Configuration {
  std::vector<struct tt__PrefixedIPv4Address> Manual 0;
  bool DHCP 1;
};
struct tt__IPv4NetworkInterface {
  bool Enabled 1;
  struct tt__IPv4Configuration Config 1;
};
struct tt__NetworkInterface {
  @std::string token 1;
  bool Enabled 1;
  struct tt__NetworkInterfaceInfo* Info 0;
  struct tt__IPv4NetworkInterface* IPv4 0;
};

// Event message payload (tt:Message inside wsnt:Message).
struct tt__SimpleItem {
  @std::string Name 1;
  @std::string Value 1;
};
struct tt__ItemList {
  std::vector<struct tt__SimpleItem> SimpleItem 0;
};
struct _tt__Message {
  @xsd__dateTime UtcTime 1;
  @std::string* PropertyOperation 0;  // Initialized | Changed | Deleted
  struct tt__ItemList* Source 0;
  struct tt__ItemList* Key 0;
  struct tt__ItemList* Data 0;
};

// ---------------------------------------------------------------- device (tds)

struct tds__Version {
  int Major 1;
  int Minor 1;
};
struct tds__Service {
  xsd__anyURI Namespace 1;
  xsd__anyURI XAddr 1;
  struct tds__Version Version 1;
};

struct _tds__GetDeviceInformation {};
struct _tds__GetDeviceInformationResponse {
  std::string Manufacturer 1;
  std::string Model 1;
  std::string FirmwareVersion 1;
  std::string SerialNumber 1;
  std::string HardwareId 1;
};
struct _tds__GetCapabilities {
  std::vector<std::string> Category 0;  // All | Device | Events | Media ...
};
struct _tds__GetCapabilitiesResponse {
  struct tt__Capabilities Capabilities 1;
};
struct _tds__GetServices {
  bool IncludeCapability 1;
};
struct _tds__GetServicesResponse {
  std::vector<struct tds__Service> Service 1;
};
struct _tds__GetSystemDateAndTime {};
struct _tds__GetSystemDateAndTimeResponse {
  struct tt__SystemDateTime SystemDateAndTime 1;
};
struct _tds__GetScopes {};
struct _tds__GetScopesResponse {
  std::vector<struct tt__Scope> Scopes 1;
};
struct _tds__GetNetworkInterfaces {};
struct _tds__GetNetworkInterfacesResponse {
  std::vector<struct tt__NetworkInterface> NetworkInterfaces 1;
};

// ---------------------------------------------------------------- media (trt)

struct _trt__GetProfiles {};
struct _trt__GetProfilesResponse {
  std::vector<struct tt__Profile> Profiles 0;
};
struct _trt__GetStreamUri {
  struct tt__StreamSetup StreamSetup 1;
  std::string ProfileToken 1;
};
struct _trt__GetStreamUriResponse {
  struct tt__MediaUri MediaUri 1;
};
struct _trt__GetSnapshotUri {
  std::string ProfileToken 1;
};
struct _trt__GetSnapshotUriResponse {
  struct tt__MediaUri MediaUri 1;
};
struct _trt__GetVideoSources {};
struct _trt__GetVideoSourcesResponse {
  std::vector<struct tt__VideoSource> VideoSources 0;
};

// ---------------------------------------------------------------- events (tev, wsnt)

struct wsnt__TopicExpressionType {
  @xsd__anyURI Dialect 1;
  _XML __mixed;  // tns1:RuleEngine/CellMotionDetector/Motion
};
struct wsnt__FilterType {
  _XML __any;  // TopicExpression / MessageContent: accepted, not applied
};
struct wsnt__MessageType {
  struct _tt__Message* tt__Message 0;
};
struct wsnt__NotificationMessageHolderType {
  struct wsa5__EndpointReferenceType* SubscriptionReference 0;
  struct wsnt__TopicExpressionType* Topic 0;
  struct wsa5__EndpointReferenceType* ProducerReference 0;
  struct wsnt__MessageType Message 1;
};
struct _wstop__TopicSet {
  _XML __any;
};

struct _tev__GetEventProperties {};
struct _tev__GetEventPropertiesResponse {
  std::vector<xsd__anyURI> TopicNamespaceLocation 1;
  bool wsnt__FixedTopicSet 1;
  struct _wstop__TopicSet* wstop__TopicSet 1;
  std::vector<xsd__anyURI> wsnt__TopicExpressionDialect 1;
  std::vector<xsd__anyURI> MessageContentFilterDialect 1;
  std::vector<xsd__anyURI> MessageContentSchemaLocation 1;
};
struct _tev__CreatePullPointSubscription {
  struct wsnt__FilterType* Filter 0;
  std::string* InitialTerminationTime 0;  // dateTime or duration
};
struct _tev__CreatePullPointSubscriptionResponse {
  struct wsa5__EndpointReferenceType SubscriptionReference 1;
  xsd__dateTime wsnt__CurrentTime 1;
  xsd__dateTime wsnt__TerminationTime 1;
};
struct _tev__PullMessages {
  xsd__duration Timeout 1;
  int MessageLimit 1;
};
struct _tev__PullMessagesResponse {
  xsd__dateTime CurrentTime 1;
  xsd__dateTime TerminationTime 1;
  std::vector<struct wsnt__NotificationMessageHolderType> wsnt__NotificationMessage 0;
};
struct _wsnt__Renew {
  std::string* TerminationTime 0;  // dateTime or duration
};
struct _wsnt__RenewResponse {
  xsd__dateTime TerminationTime 1;
  xsd__dateTime* CurrentTime 0;
};
struct _wsnt__Unsubscribe {};
struct _wsnt__UnsubscribeResponse {};
struct _wsnt__Subscribe {
  struct wsa5__EndpointReferenceType ConsumerReference 1;
  struct wsnt__FilterType* Filter 0;
  std::string* InitialTerminationTime 0;
};
struct _wsnt__SubscribeResponse {
  struct wsa5__EndpointReferenceType SubscriptionReference 1;
  xsd__dateTime* CurrentTime 0;
  xsd__dateTime* TerminationTime 0;
};
struct _wsnt__Notify {
  std::vector<struct wsnt__NotificationMessageHolderType> NotificationMessage 1;
};

// ---------------------------------------------------------------- WS-Discovery 2005/04

struct wsdd__ScopesType {
  std::string __item;  // space-separated URIs
  @std::string* MatchBy 0;
};
struct _wsdd__Probe {
  _QName Types 0;  // prefixes normalized to this table's (dn:, tds:)
  struct wsdd__ScopesType* Scopes 0;
};
struct wsdd__ProbeMatchType {
  struct wsa__EndpointReferenceType wsa__EndpointReference 1;
  _QName Types 0;
  struct wsdd__ScopesType* Scopes 0;
  std::string* XAddrs 0;
  unsigned int MetadataVersion 1;
};
struct _wsdd__ProbeMatches {
  std::vector<struct wsdd__ProbeMatchType> ProbeMatch 0;
};
struct _wsdd__Hello {
  struct wsa__EndpointReferenceType wsa__EndpointReference 1;
  _QName Types 0;
  struct wsdd__ScopesType* Scopes 0;
  std::string* XAddrs 0;
  unsigned int MetadataVersion 1;
};
struct _wsdd__Bye {
  struct wsa__EndpointReferenceType wsa__EndpointReference 1;
};

// No service operations are declared: requests are dispatched on the body
// element by the caller (see onvif/soap_buffer.h), and sockets belong to
// Boost.Asio, so soapClient.cpp / soapServer.cpp are not wanted.
