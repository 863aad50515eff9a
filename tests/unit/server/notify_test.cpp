// The Basic Notification consumer endpoint's handler (no sockets): tokens,
// bounds, wrong content, retired URLs, and what reaches the sink.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "core/crypto.h"
#include "onvif/events/replies.h"
#include "server/events/notify.h"

namespace zaulek::server {
namespace {

Request notify_request(const std::string& url, std::string body,
                       std::string content_type = "application/soap+xml; charset=utf-8") {
  Request r;
  r.method = "POST";
  r.params["token"] = url.substr(url.rfind('/') + 1);
  r.headers["content-type"] = std::move(content_type);
  r.body = std::move(body);
  r.remote = "127.0.0.1";
  return r;
}

std::string good_notify() {
  onvif::Notification n;
  n.topic = "tns1:RuleEngine/CellMotionDetector/Motion";
  n.utc_time = "2026-11-25T09:59:59Z";
  n.data = {{"IsMotion", "true"}};
  return onvif::make_notify({n});
}

class NotifyConsumersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    crypto::init();
    consumers_.set_base_url("http://127.0.0.1:8080/");
  }
  NotifyConsumers consumers_;
  std::vector<std::pair<std::string, std::vector<onvif::Notification>>> got_;
  NotifyConsumers::Sink sink() {
    return [this](const std::string& url, std::vector<onvif::Notification> n) {
      got_.emplace_back(url, std::move(n));
    };
  }
};

TEST_F(NotifyConsumersTest, UrlCarriesAFresh256BitToken) {
  std::string a = consumers_.open(sink()), b = consumers_.open(sink());
  const std::string base = "http://127.0.0.1:8080/onvif/notify/";
  ASSERT_EQ(a.rfind(base, 0), 0u) << a;
  EXPECT_EQ(a.size(), base.size() + 64);
  EXPECT_NE(a, b);
  EXPECT_EQ(consumers_.open_count(), 2u);
  NotifyConsumers off;  // no base URL: no Basic Notification
  EXPECT_EQ(off.open(sink()), "");
}

TEST_F(NotifyConsumersTest, DeliversAGoodNotifyToItsSink) {
  std::string url = consumers_.open(sink());
  auto r = consumers_.handle(notify_request(url, good_notify()));
  EXPECT_EQ(r.status, 202);
  ASSERT_EQ(got_.size(), 1u);
  EXPECT_EQ(got_[0].first, url);
  ASSERT_EQ(got_[0].second.size(), 1u);
  EXPECT_EQ(got_[0].second[0].data, (onvif::Items{{"IsMotion", "true"}}));
  EXPECT_EQ(consumers_.handle(notify_request(url, good_notify(), "text/xml")).status, 202);
}

TEST_F(NotifyConsumersTest, UnknownMalformedOversizedAndRetired) {
  std::string url = consumers_.open(sink());
  std::string token = url.substr(url.rfind('/') + 1);
  auto status = [&](const Request& r) { return consumers_.handle(r).status; };
  // Unknown tokens, whatever their shape: 404, the sink never called.
  for (std::string fake : {std::string(64, 'a'), std::string("1"), std::string(), token + "0",
                           std::string(token.size(), 'F')}) {
    Request r = notify_request(url, good_notify());
    r.params["token"] = fake;
    auto res = consumers_.handle(r);
    EXPECT_EQ(res.status, 404) << fake;
    EXPECT_EQ(nlohmann::json::parse(res.body)["error"]["code"], "not_found");
  }
  EXPECT_EQ(status(notify_request(url, good_notify(), "application/json")), 400);
  EXPECT_EQ(status(notify_request(url, good_notify(), "")), 400);
  EXPECT_EQ(status(notify_request(url, "<not xml")), 400);
  EXPECT_EQ(status(notify_request(url, onvif::make_subscribe({}, "http://x/", {}))), 400);
  EXPECT_EQ(status(notify_request(url, std::string(kMaxNotifyBytes + 1, '<'))), 413);
  EXPECT_TRUE(got_.empty());
  consumers_.close(url);
  EXPECT_EQ(consumers_.open_count(), 0u);
  EXPECT_EQ(status(notify_request(url, good_notify())), 404);
  EXPECT_TRUE(got_.empty());
  std::string m = consumers_.metrics_text();
  EXPECT_NE(m.find("zaulek_notify_requests_total{outcome=\"unknown_token\"} 6"), std::string::npos)
      << m;
  EXPECT_NE(m.find("zaulek_notify_requests_total{outcome=\"rejected\"} 5"), std::string::npos) << m;
  EXPECT_NE(m.find("zaulek_notify_consumers 0"), std::string::npos) << m;
}

// What a hostile poster (one that knows a token) can send: a Notify that
// would cost gSOAP seconds is refused before parsing, with the reason; text
// that is not UTF-8 reaches the sink replaced, never as it came.
TEST_F(NotifyConsumersTest, CostlyNotifyIsRefusedAndInvalidUtf8Replaced) {
  std::string url = consumers_.open(sink());
  std::string costly = good_notify();
  auto tag = costly.find(":Notify");
  ASSERT_NE(tag, std::string::npos);
  std::string attrs;
  for (int i = 0; i < 20000; ++i) attrs += " a" + std::to_string(i) + "=''";
  costly.insert(tag + 7, attrs);
  ASSERT_LT(costly.size(), kMaxNotifyBytes);
  auto r = consumers_.handle(notify_request(url, costly));
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("more than 64 attributes on one element"), std::string::npos) << r.body;
  EXPECT_TRUE(got_.empty());

  std::string bad = good_notify();
  auto value = bad.find("Value=\"true\"");
  ASSERT_NE(value, std::string::npos);
  bad.replace(value + 7, 4, "tr\xed\xa0\x80ue\xc0\xaf");
  auto ok = consumers_.handle(notify_request(url, bad));
  ASSERT_EQ(ok.status, 202) << ok.body;
  ASSERT_EQ(got_.size(), 1u);
  ASSERT_EQ(got_[0].second.size(), 1u);
  EXPECT_EQ(got_[0].second[0].data, (onvif::Items{{"IsMotion", "tr???ue??"}}));
}

}  // namespace
}  // namespace zaulek::server
