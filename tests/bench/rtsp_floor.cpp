// zaulek-bench-rtsp-floor: the "native ingest" floor of tests/bench/record.sh.
// ONE thread, one io_context (epoll) pulling every camera through
// media/rtsp_client.h (RTSP/TCP interleaved, RTP read in large chunks,
// H.264/H.265 depayloaded by media/rtp.h into whole access units), which are
// counted and dropped. It answers one question: what do receiving and
// depayloading cost without GStreamer's per-packet thread hand-offs
// (rtspsrc -> jitterbuffer -> depay), next to ffmpeg's recorder and
// rtspsrc ! fakesink in the same run. Nothing is written to disk.
// Runs in ctest too (tests/integration/test_rtsp_floor.py): real packets
// from gst-rtsp-server through our client and depayloader.
//
//   zaulek-bench-rtsp-floor [--user U --password-file F] rtsp://127.0.0.1:P/main ...
// Runs until SIGINT/SIGTERM, then prints one JSON line to stdout:
//   {"cameras", "playing", "frames", "keyframes", "bytes", "with_wall_time",
//    "sender_reports", "lost_packets", "dropped_units", "malformed", "errors": [...]}
#include <utility>  // before Asio: Boost 1.74 misses it

#include <boost/asio.hpp>

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "media/rtsp_client.h"

namespace net = boost::asio;

namespace {

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\')
      out += '\\', out += c;
    else if (static_cast<unsigned char>(c) < 0x20)
      out += ' ';
    else
      out += c;
  }
  return out + "\"";
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> urls;
  std::string user, password;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if ((a == "--user" || a == "--password-file") && i + 1 < argc) {
      std::string v = argv[++i];
      if (a == "--user") {
        user = v;
      } else {
        std::ifstream f(v);
        std::getline(f, password);
      }
    } else {
      urls.push_back(a);
    }
  }
  if (urls.empty() || urls.size() > 1000) {
    std::fprintf(stderr,
                 "usage: zaulek-bench-rtsp-floor [--user U --password-file F] "
                 "rtsp://HOST:PORT/PATH ... (1..1000)\n");
    return 1;
  }
  net::io_context io(1);
  std::uint64_t frames = 0, keyframes = 0, bytes = 0, with_wall = 0;
  int playing = 0;
  std::vector<std::string> errors;
  std::vector<std::shared_ptr<zaulek::media::RtspClient>> clients;
  for (const auto& url : urls) {
    zaulek::media::RtspHandlers h;
    h.on_playing = [&playing](const zaulek::media::RtspStream&) { ++playing; };
    h.on_unit = [&](const zaulek::media::rtp::AccessUnit& u, std::optional<std::int64_t> wall) {
      ++frames;
      bytes += u.data.size();
      if (u.keyframe) ++keyframes;
      if (wall) ++with_wall;
    };
    h.on_error = [&errors, url](const std::string& e) { errors.push_back(url + ": " + e); };
    zaulek::media::RtspTarget target;
    target.url = url;
    target.username = user;
    target.password = password;
    clients.push_back(
        zaulek::media::make_rtsp_client(net::make_strand(io), std::move(target), std::move(h)));
    clients.back()->start();
  }
  net::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](auto, int) {
    for (auto& c : clients) c->stop();
    // TEARDOWNs go out; then the loop ends (bounded: half a second).
    auto t = std::make_shared<net::steady_timer>(io, std::chrono::milliseconds(600));
    t->async_wait([&io, t](auto) { io.stop(); });
  });
  io.run();
  std::uint64_t lost = 0, dropped = 0, malformed = 0, reports = 0;
  for (const auto& c : clients) {
    lost += c->depay_stats().lost_packets;
    dropped += c->depay_stats().dropped_units;
    malformed += c->depay_stats().malformed;
    reports += c->sender_reports();
  }
  std::string errs;
  for (const auto& e : errors) errs += (errs.empty() ? "" : ",") + json_string(e);
  std::printf(
      "{\"cameras\":%zu,\"playing\":%d,\"frames\":%llu,\"keyframes\":%llu,\"bytes\":%llu,"
      "\"with_wall_time\":%llu,\"sender_reports\":%llu,\"lost_packets\":%llu,"
      "\"dropped_units\":%llu,\"malformed\":%llu,\"errors\":[%s]}\n",
      urls.size(), playing, static_cast<unsigned long long>(frames),
      static_cast<unsigned long long>(keyframes), static_cast<unsigned long long>(bytes),
      static_cast<unsigned long long>(with_wall), static_cast<unsigned long long>(reports),
      static_cast<unsigned long long>(lost), static_cast<unsigned long long>(dropped),
      static_cast<unsigned long long>(malformed), errs.c_str());
  return 0;
}
