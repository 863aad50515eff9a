// zaulek-bench-events: the console fleet of tests/bench/events.sh. ONE
// process, one thread, one io_context (epoll) holding every connection, so
// that 200 consoles cost the benchmark little CPU next to the server.
//
//   zaulek-bench-events zaulek --url http://127.0.0.1:P --user U --password-file F
//       --sim http://127.0.0.1:C --camera-ids FILE --consoles K --rate R --seconds W
//       [--pid ZAULEKD_PID] [--sim-pid PID] [--drivers D]
//     Logs in, opens K WebSocket consoles to /api/v1/ws and fires R events/s
//     for W s through the simulator's control API (POST /sim/cameras/{i}/events,
//     line_crossing, cameras round robin; camera i's fires all go over one of
//     D keep-alive connections, so they reach the simulator in order). Every
//     `event` message is matched to its fire call: the simulator numbers a
//     camera's events (data.ObjectId, one per fire), and the fire call returns
//     the event's timestamp (time_ns, CLOCK_REALTIME on this machine); latency
//     = receipt (CLOCK_REALTIME) - that timestamp. FILE lists zaulekd's camera
//     id of simulator camera i on line i.
//
//   zaulek-bench-events mqtt --broker 127.0.0.1:P --consoles K --rate R --seconds W
//       --size BYTES [--pid BROKER_PID]
//     The same fan-out through an MQTT broker: K subscribers (QoS 0, one
//     topic), one publisher sending R messages/s of BYTES bytes, each carrying
//     its sequence number and send time (CLOCK_REALTIME, taken just before the
//     write); latency = receipt - send time.
//
// Prints one JSON line with the figures (stdout) and a summary (stderr).
// Measures; never judges: the exit status is 0 whenever the run completed,
// 1 only when it could not run (connection refused, login failed, ...).
// Every phase is bounded in time. The WebSocket and MQTT framing is read by
// hand (a few lines each) so both systems' consoles cost the same per message.
#include <utility>  // before Asio: Boost 1.74 misses it

#include <sys/resource.h>
#include <time.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <deque>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using steady = std::chrono::steady_clock;
using std::chrono::milliseconds;

std::int64_t realtime_ns() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1000000000LL + ts.tv_nsec;
}

[[noreturn]] void die(const std::string& why) {
  std::fprintf(stderr, "zaulek-bench-events: %s\n", why.c_str());
  std::exit(1);
}

// ------------------------------------------------------------------ options

struct Options {
  std::string mode;
  std::string host = "127.0.0.1";
  std::string port;
  std::string user, password_file;
  std::string sim_host = "127.0.0.1", sim_port;
  std::string camera_ids_file;
  int consoles = 20;
  double rate = 100;
  double seconds = 10;
  int pid = 0, sim_pid = 0;
  int drivers = 5;
  int size = 300;
  bool verbose = false;
  bool batch = false;  // zaulek: connect with ?batch=1 (array frames when behind)
};

// "http://H:P" or "H:P" -> host, port.
void split_url(std::string u, std::string& host, std::string& port) {
  if (auto p = u.find("://"); p != std::string::npos) u = u.substr(p + 3);
  if (auto p = u.find('/'); p != std::string::npos) u = u.substr(0, p);
  auto c = u.rfind(':');
  if (c == std::string::npos) die("address without a port: " + u);
  host = u.substr(0, c);
  port = u.substr(c + 1);
}

Options parse_options(int argc, char** argv) {
  Options o;
  if (argc < 2) die("usage: zaulek-bench-events zaulek|mqtt OPTIONS (see the source's header)");
  o.mode = argv[1];
  if (o.mode != "zaulek" && o.mode != "mqtt") die("mode must be zaulek or mqtt");
  for (int i = 2; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--verbose") {
      o.verbose = true;
      continue;
    }
    if (a == "--batch") {
      o.batch = true;
      continue;
    }
    if (i + 1 >= argc) die("option " + a + " needs a value");
    std::string v = argv[++i];
    try {
      if (a == "--url" || a == "--broker")
        split_url(v, o.host, o.port);
      else if (a == "--sim")
        split_url(v, o.sim_host, o.sim_port);
      else if (a == "--user")
        o.user = v;
      else if (a == "--password-file")
        o.password_file = v;
      else if (a == "--camera-ids")
        o.camera_ids_file = v;
      else if (a == "--consoles")
        o.consoles = std::stoi(v);
      else if (a == "--rate")
        o.rate = std::stod(v);
      else if (a == "--seconds")
        o.seconds = std::stod(v);
      else if (a == "--pid")
        o.pid = std::stoi(v);
      else if (a == "--sim-pid")
        o.sim_pid = std::stoi(v);
      else if (a == "--drivers")
        o.drivers = std::stoi(v);
      else if (a == "--size")
        o.size = std::stoi(v);
      else
        die("unknown option " + a);
    } catch (const std::invalid_argument&) {
      die("option " + a + ": not a number: " + v);
    } catch (const std::out_of_range&) {
      die("option " + a + ": out of range: " + v);
    }
  }
  if (o.port.empty()) die("--url/--broker is required");
  if (o.consoles < 1 || o.consoles > 5000) die("--consoles must be 1..5000");
  if (!(o.rate > 0 && o.rate <= 100000)) die("--rate must be in (0, 100000]");
  if (!(o.seconds > 0 && o.seconds <= 600)) die("--seconds must be in (0, 600]");
  if (o.drivers < 1 || o.drivers > 64) die("--drivers must be 1..64");
  if (o.size < 64 || o.size > 65536) die("--size must be 64..65536");
  if (o.mode == "zaulek" && (o.user.empty() || o.password_file.empty() || o.sim_port.empty() ||
                             o.camera_ids_file.empty()))
    die("zaulek mode needs --user, --password-file, --sim and --camera-ids");
  return o;
}

// ---------------------------------------------------------------- CPU usage

// utime + stime of a process in clock ticks (0 when it cannot be read).
long long proc_ticks(int pid) {
  if (pid <= 0) return 0;
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  auto close = text.rfind(')');  // the command name may hold spaces
  if (close == std::string::npos) return 0;
  std::istringstream in(text.substr(close + 2));
  std::string field;
  long long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && in >> field; ++i) {
    if (i == 14) utime = std::stoll(field);
    if (i == 15) stime = std::stoll(field);
  }
  return utime + stime;
}

double self_cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_stime.tv_sec + (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

// ------------------------------------------------------------ text helpers

// The unsigned integer after `key` in `text` (e.g. key = "\"seq\":"), or -1.
long long number_after(std::string_view text, std::string_view key) {
  auto p = text.find(key);
  if (p == std::string_view::npos) return -1;
  p += key.size();
  while (p < text.size() && (text[p] == ' ' || text[p] == '"')) ++p;
  long long v = 0;
  auto [end, ec] = std::from_chars(text.data() + p, text.data() + text.size(), v);
  if (ec != std::errc() || end == text.data() + p) return -1;
  return v;
}

// The string value after `key` (e.g. "\"camera_id\":\""), without escapes.
std::string_view string_after(std::string_view text, std::string_view key) {
  auto p = text.find(key);
  if (p == std::string_view::npos) return {};
  p += key.size();
  auto q = text.find('"', p);
  if (q == std::string_view::npos) return {};
  return text.substr(p, q - p);
}

// Calls fn for each top-level object of a JSON array frame `[{..},{..}]`,
// or once for a frame that is one object (strings may hold brackets).
template <class Fn>
void for_each_message(std::string_view frame, Fn&& fn) {
  if (frame.empty() || frame.front() != '[') return fn(frame);
  int depth = 0;
  bool in_string = false, escaped = false;
  std::size_t begin = 0;
  for (std::size_t i = 1; i < frame.size(); ++i) {
    char ch = frame[i];
    if (in_string) {
      if (escaped)
        escaped = false;
      else if (ch == '\\')
        escaped = true;
      else if (ch == '"')
        in_string = false;
    } else if (ch == '"') {
      in_string = true;
    } else if (ch == '{' || ch == '[') {
      if (depth++ == 0) begin = i;
    } else if ((ch == '}' || ch == ']') && --depth == 0) {
      fn(frame.substr(begin, i + 1 - begin));
    }
  }
}

// ------------------------------------------------------------- the results

struct Receipt {
  std::uint32_t event;  // global event index
  std::int64_t at;      // CLOCK_REALTIME ns
};

struct Console {
  explicit Console(net::io_context& io) : sock(io) {}
  tcp::socket sock;
  std::vector<char> buf = std::vector<char>(64 * 1024);
  std::size_t have = 0;
  std::string fragments;  // a WebSocket message in several frames
  std::uint64_t last_seq = 0, seq_gaps = 0;
  std::uint64_t received = 0, dups = 0, stale = 0, others = 0;
  std::vector<bool> seen;
  bool closed = false;
  std::string close_reason;
  // MQTT
  bool connacked = false, subacked = false;
};

struct Run {
  Options opt;
  net::io_context io{1};
  std::vector<std::unique_ptr<Console>> consoles;
  std::vector<Receipt> receipts;
  std::vector<std::int64_t> fire_ns;  // by global event index; 0 = no answer (yet)
  std::uint64_t fired = 0, fire_errors = 0;
  std::size_t message_bytes = 0;              // size of one event message (first seen)
  std::int64_t last_wake = 0, max_stall = 0;  // client reads during the window
  enum class Phase { connect, warmup, calibrate, window, drain, done } phase = Phase::connect;
  std::string failure;
};

void fail(Run& run, std::string why) {
  if (run.failure.empty()) run.failure = std::move(why);
  run.io.stop();
}

// --------------------------------------------------------- socket reading

using FrameHandler = std::function<void(Console&, std::string_view payload, std::int64_t at)>;

void send_pong(Console& c, std::string_view payload) {
  // A client frame is masked; the mask may be zero (RFC 6455 5.3 allows any).
  auto frame = std::make_shared<std::string>();
  frame->push_back(static_cast<char>(0x8A));
  frame->push_back(static_cast<char>(0x80 | std::min<std::size_t>(payload.size(), 125)));
  frame->append(4, '\0');
  frame->append(payload.substr(0, 125));
  net::async_write(c.sock, net::buffer(*frame), [frame](beast::error_code, std::size_t) {});
}

// Parses whole WebSocket frames out of c.buf; returns false when the buffer
// holds only part of one. `need` is set to the bytes the frame needs.
std::size_t parse_ws(Run& run, Console& c, const FrameHandler& on_text, std::int64_t at) {
  std::size_t off = 0;
  while (c.have - off >= 2) {
    auto* p = reinterpret_cast<const unsigned char*>(c.buf.data() + off);
    std::size_t avail = c.have - off;
    bool fin = p[0] & 0x80;
    int opcode = p[0] & 0x0f;
    std::uint64_t len = p[1] & 0x7f;
    std::size_t hdr = 2;
    if (len == 126) {
      if (avail < 4) break;
      len = (std::uint64_t{p[2]} << 8) | p[3];
      hdr = 4;
    } else if (len == 127) {
      if (avail < 10) break;
      len = 0;
      for (int i = 0; i < 8; ++i) len = (len << 8) | p[2 + i];
      hdr = 10;
    }
    if (p[1] & 0x80) {
      fail(run, "server sent a masked frame");
      return off;
    }
    if (len > (1u << 24)) {
      fail(run, "frame over 16 MiB");
      return off;
    }
    if (avail < hdr + len) {
      if (c.buf.size() < hdr + len) c.buf.resize(hdr + len);
      break;
    }
    std::string_view payload(c.buf.data() + off + hdr, len);
    off += hdr + len;
    if (opcode == 0x9) {
      send_pong(c, payload);
    } else if (opcode == 0x8) {
      c.closed = true;
      unsigned code = payload.size() >= 2 ? (static_cast<unsigned char>(payload[0]) << 8) |
                                                static_cast<unsigned char>(payload[1])
                                          : 1005;
      c.close_reason = std::to_string(code) + " " +
                       std::string(payload.size() > 2 ? payload.substr(2) : std::string_view{});
    } else if (opcode == 0x1 || opcode == 0x0) {
      auto each = [&](std::string_view m) { on_text(c, m, at); };
      if (fin && c.fragments.empty()) {
        for_each_message(payload, each);
      } else {
        c.fragments.append(payload);
        if (fin) {
          std::string whole = std::move(c.fragments);
          c.fragments.clear();
          for_each_message(whole, each);
        }
      }
    }
  }
  return off;
}

// MQTT 3.1.1 packets: PUBLISH payloads go to on_publish; CONNACK and SUBACK
// are noted.
std::size_t parse_mqtt(Run& run, Console& c, const FrameHandler& on_publish, std::int64_t at) {
  std::size_t off = 0;
  while (c.have - off >= 2) {
    auto* p = reinterpret_cast<const unsigned char*>(c.buf.data() + off);
    std::size_t avail = c.have - off;
    std::size_t len = 0, i = 1;
    int shift = 0;
    bool complete = false;
    while (i < avail && i <= 4) {
      len |= std::size_t{static_cast<unsigned char>(p[i] & 0x7f)} << shift;
      shift += 7;
      if (!(p[i++] & 0x80)) {
        complete = true;
        break;
      }
    }
    if (!complete) {
      if (i > 4) fail(run, "bad MQTT remaining length");
      break;
    }
    std::size_t hdr = i;
    if (avail < hdr + len) {
      if (c.buf.size() < hdr + len) c.buf.resize(hdr + len);
      break;
    }
    int type = p[0] >> 4;
    const char* body = c.buf.data() + off + hdr;
    off += hdr + len;
    if (type == 3 && len >= 2) {
      std::size_t topic_len = (std::size_t{static_cast<unsigned char>(body[0])} << 8) |
                              static_cast<unsigned char>(body[1]);
      std::size_t skip = 2 + topic_len + ((p[0] & 0x06) ? 2 : 0);
      if (skip <= len) on_publish(c, std::string_view(body + skip, len - skip), at);
    } else if (type == 2) {
      c.connacked = len >= 2 && body[1] == 0;
      if (!c.connacked) fail(run, "broker refused the connection");
    } else if (type == 9) {
      c.subacked = true;
    }
  }
  return off;
}

void read_loop(Run& run, Console& c, bool mqtt, const FrameHandler& on_message) {
  if (c.have == c.buf.size()) c.buf.resize(c.buf.size() * 2);
  c.sock.async_read_some(net::buffer(c.buf.data() + c.have, c.buf.size() - c.have),
                         [&run, &c, mqtt, &on_message](beast::error_code ec, std::size_t n) {
                           if (ec) {
                             c.closed = true;
                             if (c.close_reason.empty()) c.close_reason = "read: " + ec.message();
                             return;
                           }
                           std::int64_t at = realtime_ns();
                           // The longest the client itself went without
                           // reading: a stall there is the benchmark's own.
                           if (run.phase == Run::Phase::window) {
                             if (run.last_wake != 0)
                               run.max_stall = std::max(run.max_stall, at - run.last_wake);
                             run.last_wake = at;
                           }
                           c.have += n;
                           std::size_t used = mqtt ? parse_mqtt(run, c, on_message, at)
                                                   : parse_ws(run, c, on_message, at);
                           if (used > 0) {
                             std::memmove(c.buf.data(), c.buf.data() + used, c.have - used);
                             c.have -= used;
                           }
                           if (c.closed && !mqtt) return;
                           read_loop(run, c, mqtt, on_message);
                         });
}

void note_seq(Console& c, long long seq) {
  if (seq <= 0) return;
  auto s = static_cast<std::uint64_t>(seq);
  if (c.last_seq != 0 && s > c.last_seq + 1) c.seq_gaps += s - c.last_seq - 1;
  if (s > c.last_seq) c.last_seq = s;
}

// ----------------------------------------------------------- percentiles

struct Figures {
  double p50 = 0, p99 = 0, max = 0;
  std::uint64_t negative = 0;
};

Figures figures(Run& run) {
  std::vector<std::int64_t> lat;
  lat.reserve(run.receipts.size());
  Figures f;
  for (const auto& r : run.receipts) {
    std::int64_t t = run.fire_ns[r.event];
    if (t == 0) continue;
    if (r.at < t) ++f.negative;
    lat.push_back(r.at - t);
  }
  if (lat.empty()) return f;
  std::sort(lat.begin(), lat.end());
  auto at = [&](double q) {
    std::size_t i =
        std::min(lat.size() - 1, static_cast<std::size_t>(std::ceil(q * lat.size())) - 1);
    return lat[i] / 1e6;
  };
  f.p50 = at(0.50);
  f.p99 = at(0.99);
  f.max = lat.back() / 1e6;
  return f;
}

// --------------------------------------------------- the zaulekd side

std::string read_first_line(const std::string& file) {
  std::ifstream f(file);
  std::string line;
  if (!std::getline(f, line)) die("cannot read " + file);
  return line;
}

tcp::endpoint resolve(net::io_context& io, const std::string& host, const std::string& port) {
  tcp::resolver r(io);
  beast::error_code ec;
  auto res = r.resolve(host, port, ec);
  if (ec || res.empty()) die("cannot resolve " + host + ":" + port + ": " + ec.message());
  return *res.begin();
}

std::string login(net::io_context& io, const Options& o) {
  beast::tcp_stream s(io);
  s.expires_after(std::chrono::seconds(30));
  beast::error_code ec;
  s.connect(resolve(io, o.host, o.port), ec);
  if (ec) die("cannot connect to zaulekd: " + ec.message());
  http::request<http::string_body> req{http::verb::post, "/api/v1/auth/login", 11};
  req.set(http::field::host, o.host + ":" + o.port);
  req.set(http::field::content_type, "application/json");
  req.body() =
      nlohmann::json{{"username", o.user}, {"password", read_first_line(o.password_file)}}.dump();
  req.prepare_payload();
  http::write(s, req, ec);
  beast::flat_buffer b;
  http::response<http::string_body> res;
  if (!ec) http::read(s, b, res, ec);
  if (ec) die("login: " + ec.message());
  if (res.result_int() != 200) die("login refused: " + std::to_string(res.result_int()));
  auto j = nlohmann::json::parse(res.body(), nullptr, false);
  if (!j.is_object() || !j.contains("token")) die("login: no token in the reply");
  return j["token"].get<std::string>();
}

// Connects a console and completes the WebSocket handshake (blocking; before
// the measurement). Bytes after the 101 stay in the console's buffer.
void ws_connect(Run& run, Console& c, const tcp::endpoint& ep, const std::string& token) {
  beast::error_code ec;
  c.sock.connect(ep, ec);
  if (ec) die("console connect: " + ec.message());
  c.sock.set_option(tcp::no_delay(true), ec);
  std::string req = std::string("GET /api/v1/ws") + (run.opt.batch ? "?batch=1" : "") +
                    " HTTP/1.1\r\nHost: " + run.opt.host + ":" + run.opt.port +
                    "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
                    "Authorization: Bearer " +
                    token + "\r\n\r\n";
  net::write(c.sock, net::buffer(req), ec);
  if (ec) die("console handshake: " + ec.message());
  std::string head;
  while (head.find("\r\n\r\n") == std::string::npos) {
    std::size_t n = c.sock.read_some(net::buffer(c.buf.data() + c.have, c.buf.size() - c.have), ec);
    if (ec) die("console handshake: " + ec.message());
    head.append(c.buf.data() + c.have, n);
    if (head.size() > 16384) die("console handshake: reply header too large");
  }
  if (head.compare(0, 12, "HTTP/1.1 101") != 0)
    die("console handshake refused: " + head.substr(0, head.find("\r\n")));
  auto end = head.find("\r\n\r\n") + 4;
  std::size_t rest = head.size() - end;
  std::memcpy(c.buf.data(), head.data() + end, rest);
  c.have = rest;
}

// One keep-alive connection to the simulator's control API; fires the
// events of its cameras in order, one request at a time.
struct Driver {
  Driver(net::io_context& io, int index) : stream(io), timer(io), index(index) {}
  beast::tcp_stream stream;
  net::steady_timer timer;
  int index;
  std::vector<int> cameras;                        // simulator camera indices of this driver
  std::deque<std::pair<int, std::string>> urgent;  // warm-up/calibration: (camera, kind)
  std::uint64_t next = 0;   // next window fire of this driver (its own count)
  std::uint64_t total = 0;  // window fires of this driver
  bool busy = false;
  beast::flat_buffer buf;
  http::request<http::string_body> req;
  http::response<http::string_body> res;
};

class ZaulekBench {
 public:
  explicit ZaulekBench(Run& run) : run_(run) {}

  void run() {
    auto& o = run_.opt;
    // Camera ids, in simulator index order.
    std::ifstream f(o.camera_ids_file);
    for (std::string line; std::getline(f, line);)
      if (!line.empty()) ids_.push_back(line);
    if (ids_.empty()) die("no camera ids in " + o.camera_ids_file);
    for (std::size_t i = 0; i < ids_.size(); ++i) index_of_[ids_[i]] = static_cast<int>(i);
    int cams = static_cast<int>(ids_.size());
    total_ = static_cast<std::uint64_t>(std::llround(o.rate * o.seconds));
    cap_ = (total_ + cams - 1) / cams + 1;
    base_.assign(cams, -1);
    fires_of_.assign(cams, 0);
    warm_seen_.assign(cams, false);
    run_.fire_ns.assign(cap_ * cams, 0);
    run_.receipts.reserve(static_cast<std::size_t>(total_) * o.consoles + 1024);

    std::string token = login(run_.io, o);
    auto ep = resolve(run_.io, o.host, o.port);
    for (int i = 0; i < o.consoles; ++i) {
      auto c = std::make_unique<Console>(run_.io);
      ws_connect(run_, *c, ep, token);
      c->seen.assign(cap_ * cams, false);
      run_.consoles.push_back(std::move(c));
    }
    on_message_ = [this](Console& c, std::string_view m, std::int64_t at) { on_message(c, m, at); };
    for (auto& c : run_.consoles) read_loop(run_, *c, false, on_message_);

    auto sim_ep = resolve(run_.io, o.sim_host, o.sim_port);
    int d = std::min(o.drivers, cams);
    for (int i = 0; i < d; ++i) {
      drivers_.push_back(std::make_unique<Driver>(run_.io, i));
      beast::error_code ec;
      drivers_.back()->stream.socket().connect(sim_ep, ec);
      if (ec) die("cannot connect to the simulator: " + ec.message());
      drivers_.back()->stream.socket().set_option(tcp::no_delay(true), ec);
    }
    for (int cam = 0; cam < cams; ++cam) drivers_[cam % d]->cameras.push_back(cam);
    // Window fire n (0-based, global) goes to camera n % cams; so driver k
    // fires n = cam + cams * j for its cameras, in n order.
    for (auto& dr : drivers_) {
      std::uint64_t t = 0;
      for (int cam : dr->cameras)
        if (static_cast<std::uint64_t>(cam) < total_) t += (total_ - cam + cams - 1) / cams;
      dr->total = t;
    }

    // Warm-up: a motion event on every camera until each has reached a
    // console (the subscriptions are up), then one line_crossing each to
    // learn the simulator's current ObjectId per camera (calibration).
    run_.phase = Run::Phase::warmup;
    phase_timer_ = std::make_unique<net::steady_timer>(run_.io);
    phase_started_ = steady::now();
    warm_tick();
    run_.io.run();
  }

 private:
  void warm_tick() {
    if (run_.phase != Run::Phase::warmup && run_.phase != Run::Phase::calibrate) return;
    int cams = static_cast<int>(ids_.size());
    bool all = true;
    for (int cam = 0; cam < cams; ++cam) {
      bool done = run_.phase == Run::Phase::warmup ? warm_seen_[cam] : base_[cam] >= 0;
      if (done) continue;
      all = false;
      // Motion until it arrives; exactly one line_crossing per camera (a
      // second one would shift the ObjectId numbering).
      if (run_.phase == Run::Phase::warmup)
        queue_urgent(cam, "motion");
      else if (!calibration_sent_)
        queue_urgent(cam, "line_crossing");
    }
    if (run_.phase == Run::Phase::calibrate) calibration_sent_ = true;
    auto limit =
        run_.phase == Run::Phase::warmup ? std::chrono::seconds(120) : std::chrono::seconds(30);
    if (!all && steady::now() - phase_started_ > limit) {
      int missing = 0;
      for (int cam = 0; cam < cams; ++cam)
        missing += run_.phase == Run::Phase::warmup ? !warm_seen_[cam] : base_[cam] < 0;
      return fail(run_, std::to_string(missing) + " cameras' events never reached a console (" +
                            (run_.phase == Run::Phase::warmup ? "warm-up" : "calibration") + ")");
    }
    if (all && run_.phase == Run::Phase::warmup) {
      run_.phase = Run::Phase::calibrate;
      phase_started_ = steady::now();
      return warm_tick();
    }
    if (all) return start_window();
    phase_timer_->expires_after(milliseconds(run_.phase == Run::Phase::warmup ? 1000 : 100));
    phase_timer_->async_wait([this](beast::error_code ec) {
      if (!ec) warm_tick();
    });
  }

  void queue_urgent(int cam, const char* kind) {
    auto& d = *drivers_[cam % drivers_.size()];
    d.urgent.emplace_back(cam, kind);
    pump(d);
  }

  void start_window() {
    auto& o = run_.opt;
    // Let the calibration events drain, so that the window starts quiet.
    phase_timer_->expires_after(milliseconds(500));
    phase_timer_->async_wait([this, &o](beast::error_code ec) {
      if (ec) return;
      run_.phase = Run::Phase::window;
      t0_ = steady::now();
      cpu0_ = proc_ticks(o.pid);
      sim_cpu0_ = proc_ticks(o.sim_pid);
      self_cpu0_ = self_cpu_seconds();
      for (auto& d : drivers_) pump(*d);
      // The window ends when every driver has fired its share, or at most
      // 3x the window (a simulator that cannot keep up).
      watch_window();
    });
  }

  void watch_window() {
    bool fired_all = true;
    for (auto& d : drivers_) fired_all = fired_all && d->next >= d->total && !d->busy;
    auto elapsed = steady::now() - t0_;
    if (fired_all || elapsed > std::chrono::duration<double>(3 * run_.opt.seconds)) {
      t1_ = steady::now();
      cpu1_ = proc_ticks(run_.opt.pid);
      sim_cpu1_ = proc_ticks(run_.opt.sim_pid);
      self_cpu1_ = self_cpu_seconds();
      run_.phase = Run::Phase::drain;
      last_progress_ = steady::now();
      last_received_ = received_total();
      return watch_drain();
    }
    phase_timer_->expires_after(milliseconds(20));
    phase_timer_->async_wait([this](beast::error_code ec) {
      if (!ec) watch_window();
    });
  }

  std::uint64_t received_total() const {
    std::uint64_t n = 0;
    for (auto& c : run_.consoles) n += c->received;
    return n;
  }

  // After the last fire: wait until every console has every event, or 3 s
  // without progress (at most 15 s).
  void watch_drain() {
    std::uint64_t got = received_total();
    std::uint64_t want = run_.fired * run_.consoles.size();
    if (got != last_received_) {
      last_received_ = got;
      last_progress_ = steady::now();
    }
    bool all_closed =
        std::all_of(run_.consoles.begin(), run_.consoles.end(), [](auto& c) { return c->closed; });
    if (got >= want || all_closed || steady::now() - last_progress_ > std::chrono::seconds(3) ||
        steady::now() - t1_ > std::chrono::seconds(15)) {
      run_.phase = Run::Phase::done;
      run_.io.stop();
      return;
    }
    phase_timer_->expires_after(milliseconds(50));
    phase_timer_->async_wait([this](beast::error_code ec) {
      if (!ec) watch_drain();
    });
  }

  // Sends the driver's next request when it is due.
  void pump(Driver& d) {
    if (d.busy) return;
    int cam = -1;
    std::string kind = "line_crossing";
    bool window_fire = false;
    if (!d.urgent.empty()) {
      cam = d.urgent.front().first;
      kind = d.urgent.front().second;
      d.urgent.pop_front();
    } else if (run_.phase == Run::Phase::window && d.next < d.total) {
      int cams = static_cast<int>(ids_.size());
      // This driver's j-th fire is global fire n = cam + cams * round.
      std::size_t per = d.cameras.size();
      cam = d.cameras[d.next % per];
      std::uint64_t n = static_cast<std::uint64_t>(cam) + cams * (d.next / per);
      auto due = t0_ + std::chrono::duration_cast<steady::duration>(
                           std::chrono::duration<double>(n / run_.opt.rate));
      if (steady::now() < due) {
        d.timer.expires_at(due);
        d.timer.async_wait([this, &d](beast::error_code ec) {
          if (!ec) pump(d);
        });
        return;
      }
      ++d.next;
      window_fire = true;
    } else {
      return;
    }
    d.busy = true;
    d.req = {http::verb::post, "/sim/cameras/" + std::to_string(cam) + "/events", 11};
    d.req.set(http::field::host, run_.opt.sim_host);
    d.req.set(http::field::content_type, "application/json");
    d.req.body() = "{\"kind\":\"" + kind + "\",\"state\":true}";
    d.req.prepare_payload();
    d.res = {};
    http::async_write(
        d.stream, d.req, [this, &d, cam, window_fire](beast::error_code ec, std::size_t) {
          if (ec) return fail(run_, "simulator control: " + ec.message());
          http::async_read(d.stream, d.buf, d.res,
                           [this, &d, cam, window_fire](beast::error_code ec, std::size_t) {
                             d.busy = false;
                             if (ec) return fail(run_, "simulator control: " + ec.message());
                             if (d.res.result_int() != 200) {
                               ++run_.fire_errors;
                             } else if (window_fire) {
                               long long t = number_after(d.res.body(), "\"time_ns\":");
                               std::uint64_t k = fires_of_[cam]++;
                               if (t > 0 && k < cap_) run_.fire_ns[cam * cap_ + k] = t;
                               ++run_.fired;
                             }
                             pump(d);
                           });
        });
  }

  void on_message(Console& c, std::string_view m, std::int64_t at) {
    note_seq(c, number_after(m, "\"seq\":"));
    if (m.find("\"type\":\"event\"") == std::string_view::npos) {
      ++c.others;
      return;
    }
    auto it = index_of_.find(std::string(string_after(m, "\"camera_id\":\"")));
    if (it == index_of_.end()) {
      ++c.others;
      return;
    }
    int cam = it->second;
    bool crossing = m.find("\"kind\":\"line_crossing\"") != std::string_view::npos;
    if (run_.phase == Run::Phase::warmup || run_.phase == Run::Phase::calibrate) {
      warm_seen_[cam] = true;
      if (run_.phase == Run::Phase::calibrate && crossing && base_[cam] < 0) {
        long long id = number_after(m, "\"ObjectId\":");
        if (id > 0) base_[cam] = id;
      }
      return;
    }
    long long id = crossing ? number_after(m, "\"ObjectId\":") : -1;
    if (id <= base_[cam]) {
      ++c.stale;  // warm-up or calibration, late
      return;
    }
    std::uint64_t k = static_cast<std::uint64_t>(id - base_[cam] - 1);
    if (k >= cap_) {
      ++c.others;
      return;
    }
    std::uint32_t g = static_cast<std::uint32_t>(cam * cap_ + k);
    if (c.seen[g]) {
      ++c.dups;
      return;
    }
    c.seen[g] = true;
    ++c.received;
    if (run_.message_bytes == 0) run_.message_bytes = m.size();
    run_.receipts.push_back({g, at});
  }

 public:
  double window_seconds() const { return std::chrono::duration<double>(t1_ - t0_).count(); }
  long long cpu_ticks() const { return cpu1_ - cpu0_; }
  long long sim_cpu_ticks() const { return sim_cpu1_ - sim_cpu0_; }
  double self_cpu() const { return self_cpu1_ - self_cpu0_; }

 private:
  Run& run_;
  std::vector<std::string> ids_;
  std::unordered_map<std::string, int> index_of_;
  std::uint64_t total_ = 0, cap_ = 0;
  std::vector<long long> base_;
  std::vector<std::uint64_t> fires_of_;
  std::vector<bool> warm_seen_;
  bool calibration_sent_ = false;
  std::vector<std::unique_ptr<Driver>> drivers_;
  std::unique_ptr<net::steady_timer> phase_timer_;
  FrameHandler on_message_;
  steady::time_point phase_started_, t0_, t1_, last_progress_;
  std::uint64_t last_received_ = 0;
  long long cpu0_ = 0, cpu1_ = 0, sim_cpu0_ = 0, sim_cpu1_ = 0;
  double self_cpu0_ = 0, self_cpu1_ = 0;
};

// ------------------------------------------------------------ the MQTT side

std::string mqtt_remaining_length(std::size_t n) {
  std::string out;
  do {
    unsigned char b = n % 128;
    n /= 128;
    if (n > 0) b |= 0x80;
    out.push_back(static_cast<char>(b));
  } while (n > 0);
  return out;
}

std::string mqtt_string(std::string_view s) {
  std::string out;
  out.push_back(static_cast<char>(s.size() >> 8));
  out.push_back(static_cast<char>(s.size() & 0xff));
  out.append(s);
  return out;
}

std::string mqtt_connect(const std::string& client_id) {
  std::string var = mqtt_string("MQTT");
  var.push_back(4);     // protocol level 3.1.1
  var.push_back(0x02);  // clean session
  var.push_back(0);
  var.push_back(60);  // keep-alive 60 s
  var += mqtt_string(client_id);
  return std::string(1, '\x10') + mqtt_remaining_length(var.size()) + var;
}

const std::string kTopic = "zaulek/bench/events";

std::string mqtt_subscribe() {
  std::string var;
  var.push_back(0);
  var.push_back(1);  // packet id
  var += mqtt_string(kTopic);
  var.push_back(0);  // QoS 0
  return std::string(1, '\x82') + mqtt_remaining_length(var.size()) + var;
}

class MqttBench {
 public:
  explicit MqttBench(Run& run) : run_(run), pub_(run.io), timer_(run.io) {}

  void run() {
    auto& o = run_.opt;
    total_ = static_cast<std::uint64_t>(std::llround(o.rate * o.seconds));
    run_.fire_ns.assign(total_ + 1, 0);
    run_.receipts.reserve(static_cast<std::size_t>(total_) * o.consoles + 1024);
    auto ep = resolve(run_.io, o.host, o.port);
    on_message_ = [this](Console& c, std::string_view m, std::int64_t at) { on_message(c, m, at); };
    for (int i = 0; i < o.consoles; ++i) {
      auto c = std::make_unique<Console>(run_.io);
      beast::error_code ec;
      c->sock.connect(ep, ec);
      if (ec) die("cannot connect to the broker: " + ec.message());
      c->sock.set_option(tcp::no_delay(true), ec);
      std::string hello = mqtt_connect("bench-sub-" + std::to_string(i)) + mqtt_subscribe();
      net::write(c->sock, net::buffer(hello), ec);
      if (ec) die("broker: " + ec.message());
      c->seen.assign(total_ + 1, false);
      run_.consoles.push_back(std::move(c));
    }
    for (auto& c : run_.consoles) read_loop(run_, *c, true, on_message_);
    beast::error_code ec;
    pub_.connect(ep, ec);
    if (ec) die("cannot connect to the broker: " + ec.message());
    pub_.set_option(tcp::no_delay(true), ec);
    std::string hello = mqtt_connect("bench-pub");
    net::write(pub_, net::buffer(hello), ec);
    if (ec) die("broker: " + ec.message());
    pub_buf_.resize(64);
    pub_.async_read_some(net::buffer(pub_buf_), [](beast::error_code, std::size_t) {});
    run_.phase = Run::Phase::warmup;
    phase_started_ = steady::now();
    warm_tick();
    run_.io.run();
  }

  double window_seconds() const { return std::chrono::duration<double>(t1_ - t0_).count(); }
  long long cpu_ticks() const { return cpu1_ - cpu0_; }
  double self_cpu() const { return self_cpu1_ - self_cpu0_; }

 private:
  // Until every subscriber has its SUBACK and has received a warm-up message.
  void warm_tick() {
    bool all = true;
    for (auto& c : run_.consoles) all = all && c->subacked && c->others > 0;
    if (all) return start_window();
    if (steady::now() - phase_started_ > std::chrono::seconds(60))
      return fail(run_, "not every subscriber got a message within 60 s");
    publish(0);  // seq 0: warm-up
    timer_.expires_after(milliseconds(500));
    timer_.async_wait([this](beast::error_code ec) {
      if (!ec) warm_tick();
    });
  }

  void start_window() {
    timer_.expires_after(milliseconds(500));
    timer_.async_wait([this](beast::error_code ec) {
      if (ec) return;
      run_.phase = Run::Phase::window;
      t0_ = steady::now();
      cpu0_ = proc_ticks(run_.opt.pid);
      self_cpu0_ = self_cpu_seconds();
      pace();
    });
  }

  void pace() {
    auto now = steady::now();
    double elapsed = std::chrono::duration<double>(now - t0_).count();
    auto due = static_cast<std::uint64_t>(std::min<double>(total_, elapsed * run_.opt.rate) + 1);
    while (next_ < std::min(due, total_)) publish(++next_);
    if (next_ >= total_) {
      t1_ = steady::now();
      cpu1_ = proc_ticks(run_.opt.pid);
      self_cpu1_ = self_cpu_seconds();
      run_.phase = Run::Phase::drain;
      last_progress_ = steady::now();
      return drain();
    }
    auto when = t0_ + std::chrono::duration_cast<steady::duration>(
                          std::chrono::duration<double>(next_ / run_.opt.rate));
    timer_.expires_at(when);
    timer_.async_wait([this](beast::error_code ec) {
      if (!ec) pace();
    });
  }

  void drain() {
    std::uint64_t got = 0;
    for (auto& c : run_.consoles) got += c->received;
    if (got != last_received_) {
      last_received_ = got;
      last_progress_ = steady::now();
    }
    if (got >= run_.fired * run_.consoles.size() ||
        steady::now() - last_progress_ > std::chrono::seconds(3) ||
        steady::now() - t1_ > std::chrono::seconds(15)) {
      run_.phase = Run::Phase::done;
      run_.io.stop();
      return;
    }
    timer_.expires_after(milliseconds(50));
    timer_.async_wait([this](beast::error_code ec) {
      if (!ec) drain();
    });
  }

  // One PUBLISH (QoS 0) of exactly opt.size payload bytes.
  void publish(std::uint64_t seq) {
    std::int64_t t = realtime_ns();
    char head[96];
    int n =
        std::snprintf(head, sizeof head, "{\"type\":\"event\",\"seq\":%llu,\"t\":%lld,\"pad\":\"",
                      static_cast<unsigned long long>(seq), static_cast<long long>(t));
    std::string payload(head, n);
    std::size_t size = static_cast<std::size_t>(run_.opt.size);
    if (payload.size() + 2 < size) payload.append(size - payload.size() - 2, 'x');
    payload += "\"}";
    std::string var = mqtt_string(kTopic) + payload;
    out_ += '\x30';
    out_ += mqtt_remaining_length(var.size());
    out_ += var;
    if (seq > 0) {
      run_.fire_ns[seq] = t;
      ++run_.fired;
      if (run_.message_bytes == 0) run_.message_bytes = payload.size();
    }
    flush();
  }

  void flush() {
    if (writing_ || out_.empty()) return;
    writing_ = true;
    sending_ = std::move(out_);
    out_.clear();
    net::async_write(pub_, net::buffer(sending_), [this](beast::error_code ec, std::size_t) {
      writing_ = false;
      if (ec) return fail(run_, "publisher: " + ec.message());
      flush();
    });
  }

  void on_message(Console& c, std::string_view m, std::int64_t at) {
    long long seq = number_after(m, "\"seq\":");
    if (seq <= 0) {
      ++c.others;  // warm-up
      return;
    }
    note_seq(c, seq);
    auto s = static_cast<std::uint64_t>(seq);
    if (s > total_) return;
    if (c.seen[s]) {
      ++c.dups;
      return;
    }
    c.seen[s] = true;
    ++c.received;
    run_.receipts.push_back({static_cast<std::uint32_t>(s), at});
  }

  Run& run_;
  tcp::socket pub_;
  net::steady_timer timer_;
  std::vector<char> pub_buf_;
  std::string out_, sending_;
  bool writing_ = false;
  std::uint64_t total_ = 0, next_ = 0, last_received_ = 0;
  FrameHandler on_message_;
  steady::time_point phase_started_, t0_, t1_, last_progress_;
  long long cpu0_ = 0, cpu1_ = 0;
  double self_cpu0_ = 0, self_cpu1_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
  Run run;
  run.opt = parse_options(argc, argv);
  const auto& o = run.opt;
  double window = 0, self_cpu = 0;
  long long ticks = 0, sim_ticks = 0;
  if (o.mode == "zaulek") {
    ZaulekBench b(run);
    b.run();
    window = b.window_seconds();
    ticks = b.cpu_ticks();
    sim_ticks = b.sim_cpu_ticks();
    self_cpu = b.self_cpu();
  } else {
    MqttBench b(run);
    b.run();
    window = b.window_seconds();
    ticks = b.cpu_ticks();
    self_cpu = b.self_cpu();
  }
  if (!run.failure.empty()) die(run.failure);
  auto f = figures(run);
  std::uint64_t received = 0, seq_gaps = 0, dups = 0, closed = 0, stale = 0;
  std::uint64_t per_min = UINT64_MAX, per_max = 0;
  std::map<std::string, int> reasons;
  for (auto& c : run.consoles) {
    received += c->received;
    seq_gaps += c->seq_gaps;
    dups += c->dups;
    stale += c->stale;
    per_min = std::min(per_min, c->received);
    per_max = std::max(per_max, c->received);
    if (c->closed) {
      ++closed;
      ++reasons[c->close_reason];
    }
  }
  std::uint64_t expected = run.fired * run.consoles.size();
  double hz = static_cast<double>(sysconf(_SC_CLK_TCK));
  double loads[3] = {0, 0, 0};
  getloadavg(loads, 3);
  nlohmann::json out = {
      {"system", o.mode == "zaulek" ? "zaulekd" : "mqtt"},
      {"rate", o.rate},
      {"consoles", o.consoles},
      {"window_s", window},
      {"fired", run.fired},
      {"fire_errors", run.fire_errors},
      {"achieved_rate", window > 0 ? run.fired / window : 0},
      {"expected", expected},
      {"received", received},
      {"lost", expected > received ? expected - received : 0},
      {"lost_by_seq", seq_gaps},
      {"duplicates", dups},
      {"late_warmup", stale},
      {"per_console_min", per_min == UINT64_MAX ? 0 : per_min},
      {"per_console_max", per_max},
      {"closed", closed},
      {"p50_ms", f.p50},
      {"p99_ms", f.p99},
      {"max_ms", f.max},
      {"negative_latencies", f.negative},
      {"msgs_per_s", window > 0 ? received / window : 0},
      {"message_bytes", run.message_bytes},
      {"server_cpu_pct", window > 0 && o.pid > 0 ? 100.0 * ticks / hz / window : -1},
      {"sim_cpu_pct", window > 0 && o.sim_pid > 0 ? 100.0 * sim_ticks / hz / window : -1},
      {"client_cpu_pct", window > 0 ? 100.0 * self_cpu / window : 0},
      {"client_max_stall_ms", run.max_stall / 1e6},
      {"load1", loads[0]}};
  if (!reasons.empty()) out["close_reasons"] = reasons;
  std::printf("%s\n", out.dump().c_str());
  std::fflush(stdout);
  std::fprintf(stderr,
               "%s rate=%g consoles=%d: p50 %.3f ms p99 %.3f ms max %.3f ms, %.0f msgs/s, "
               "lost %llu (seq gaps %llu), closed %llu, server CPU %.1f %%\n",
               out["system"].get<std::string>().c_str(), o.rate, o.consoles, f.p50, f.p99, f.max,
               out["msgs_per_s"].get<double>(),
               static_cast<unsigned long long>(out["lost"].get<std::uint64_t>()),
               static_cast<unsigned long long>(seq_gaps), static_cast<unsigned long long>(closed),
               out["server_cpu_pct"].get<double>());
  if (o.verbose) {
    std::fprintf(stderr, "per-console received:");
    for (auto& c : run.consoles)
      std::fprintf(stderr, " %llu", static_cast<unsigned long long>(c->received));
    std::fprintf(stderr, "\n");
  }
  // Sockets and handlers die with the process; nothing to flush.
  std::_Exit(0);
}
