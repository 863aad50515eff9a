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
//   zaulek-bench-rtsp-floor [--user U --password-file F] [--seconds S [--deadline D]]
//                           rtsp://127.0.0.1:P/main ...
// Runs until SIGINT/SIGTERM or, with --seconds, for S seconds from the moment
// every camera has delivered its first access unit (or failed), but never
// longer than D seconds in all (default 60). Then prints one JSON line:
//   {"cameras", "playing", "frames", "keyframes", "bytes", "with_wall_time",
//    "sender_reports", "rtp_packets", "lost_packets", "dropped_units", "malformed",
//    "first_unit_ms" (slowest camera, from start; -1 if one never delivered),
//    "errors": [...]}
#include <utility>  // before Asio: Boost 1.74 misses it

#include <boost/asio.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
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
  int seconds = 0, deadline = 60;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if ((a == "--user" || a == "--password-file" || a == "--seconds" || a == "--deadline") &&
        i + 1 < argc) {
      std::string v = argv[++i];
      if (a == "--user") {
        user = v;
      } else if (a == "--seconds" || a == "--deadline") {
        const int n = std::atoi(v.c_str());
        if (n <= 0 || n > 3600) {
          std::fprintf(stderr, "zaulek-bench-rtsp-floor: %s wants 1..3600 seconds, not '%s'\n",
                       a.c_str(), v.c_str());
          return 1;
        }
        (a == "--seconds" ? seconds : deadline) = n;
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
                 "[--seconds S [--deadline D]] rtsp://HOST:PORT/PATH ... (1..1000)\n");
    return 1;
  }
  net::io_context io(1);
  const auto started = std::chrono::steady_clock::now();
  std::uint64_t frames = 0, keyframes = 0, bytes = 0, with_wall = 0;
  int playing = 0;
  std::vector<std::string> errors;
  std::vector<std::shared_ptr<zaulek::media::RtspClient>> clients;
  // Per camera: ms from start to its first unit, or -1 (none yet / failed).
  std::vector<long> first_unit_ms(urls.size(), -1);
  std::size_t settled = 0;  // cameras with a first unit or an error
  bool stopping = false;
  net::steady_timer window(io);
  auto stop_all = [&] {
    if (stopping) return;
    stopping = true;
    window.cancel();
    for (auto& c : clients) c->stop();
    // TEARDOWNs go out; then the loop ends (bounded: 600 ms).
    auto t = std::make_shared<net::steady_timer>(io, std::chrono::milliseconds(600));
    t->async_wait([&io, t](auto) { io.stop(); });
  };
  // The measuring window starts once every camera has settled, so a slow
  // start (a loaded machine) shortens nothing that the caller asserts on.
  auto settle = [&] {
    if (++settled != urls.size() || seconds == 0 || stopping) return;
    window.expires_after(std::chrono::seconds(seconds));
    window.async_wait([&](auto ec) {
      if (!ec) stop_all();
    });
  };
  for (std::size_t i = 0; i < urls.size(); ++i) {
    const std::string& url = urls[i];
    zaulek::media::RtspHandlers h;
    h.on_playing = [&playing](const zaulek::media::RtspStream&) { ++playing; };
    h.on_unit = [&, i](const zaulek::media::rtp::AccessUnit& u, std::optional<std::int64_t> wall) {
      ++frames;
      bytes += u.data.size();
      if (u.keyframe) ++keyframes;
      if (wall) ++with_wall;
      if (first_unit_ms[i] < 0) {
        first_unit_ms[i] = static_cast<long>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                                 std::chrono::steady_clock::now() - started)
                                                 .count());
        settle();
      }
    };
    h.on_error = [&, url, i](const std::string& e) {
      errors.push_back(url + ": " + e);
      if (first_unit_ms[i] < 0) settle();
    };
    zaulek::media::RtspTarget target;
    target.url = url;
    target.username = user;
    target.password = password;
    clients.push_back(
        zaulek::media::make_rtsp_client(net::make_strand(io), std::move(target), std::move(h)));
    clients.back()->start();
  }
  net::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](auto, int) { stop_all(); });
  net::steady_timer bound(io, std::chrono::seconds(deadline));
  if (seconds > 0)
    bound.async_wait([&](auto ec) {
      if (!ec) stop_all();
    });
  io.run();
  std::uint64_t packets = 0, lost = 0, dropped = 0, malformed = 0, reports = 0;
  long slowest = 0;
  for (long ms : first_unit_ms) slowest = (ms < 0 || slowest < 0) ? -1 : std::max(slowest, ms);
  for (const auto& c : clients) {
    packets += c->depay_stats().packets;
    lost += c->depay_stats().lost_packets;
    dropped += c->depay_stats().dropped_units;
    malformed += c->depay_stats().malformed;
    reports += c->sender_reports();
  }
  std::string errs;
  for (const auto& e : errors) errs += (errs.empty() ? "" : ",") + json_string(e);
  std::printf(
      "{\"cameras\":%zu,\"playing\":%d,\"frames\":%llu,\"keyframes\":%llu,\"bytes\":%llu,"
      "\"with_wall_time\":%llu,\"sender_reports\":%llu,\"rtp_packets\":%llu,"
      "\"lost_packets\":%llu,\"dropped_units\":%llu,\"malformed\":%llu,"
      "\"first_unit_ms\":%ld,\"errors\":[%s]}\n",
      urls.size(), playing, static_cast<unsigned long long>(frames),
      static_cast<unsigned long long>(keyframes), static_cast<unsigned long long>(bytes),
      static_cast<unsigned long long>(with_wall), static_cast<unsigned long long>(reports),
      static_cast<unsigned long long>(packets), static_cast<unsigned long long>(lost),
      static_cast<unsigned long long>(dropped), static_cast<unsigned long long>(malformed), slowest,
      errs.c_str());
  return 0;
}
