// zaulek-test-rtsp: a small RTSP source for the recorder's tests and benchmark.
// A short clip is encoded once at start-up and kept in memory; every mount
// replays it in a loop (one shared media per mount), so neither a camera nor a
// client costs an encoder. Prints {"port":N,"urls":[...]} on stdout once it
// listens; runs until SIGINT/SIGTERM.
#include <glib-unix.h>
#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>
#include <gst/gst.h>
#include <gst/rtsp-server/rtsp-server.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

namespace {

struct Options {
  int port = 0;
  int mounts = 1;
  std::string codec = "h264";
  int width = 640;
  int height = 360;
  int fps = 25;
  int gop = 25;
  int seconds = 4;
  int bitrate_kbps = 1000;
  std::string pattern = "ball";  // videotestsrc pattern; "snow" fills the bitrate
  std::string user;              // with password from $ZAULEK_TEST_RTSP_PASSWORD
};

struct Unit {
  GstBuffer* buffer;
  bool key;
};

struct Clip {
  std::vector<Unit> units;
  std::string caps;
  ~Clip() {
    for (auto& u : units) gst_buffer_unref(u.buffer);
  }
};

std::unique_ptr<Clip> encode_clip(const Options& o) {
  const bool h264 = o.codec == "h264";
  const std::string enc =
      h264 ? "x264enc tune=zerolatency threads=1 speed-preset=ultrafast key-int-max=" +
                 std::to_string(o.gop) + " bitrate=" + std::to_string(o.bitrate_kbps) +
                 " ! video/x-h264,stream-format=byte-stream,alignment=au,profile=baseline"
           : "x265enc tune=zerolatency speed-preset=ultrafast "
             "option-string=frame-threads=1:slices=1 key-int-max=" +
                 std::to_string(o.gop) + " bitrate=" + std::to_string(o.bitrate_kbps) +
                 " ! h265parse ! video/x-h265,stream-format=byte-stream,alignment=au";
  const std::string desc =
      "videotestsrc pattern=" + o.pattern + " num-buffers=" + std::to_string(o.fps * o.seconds) +
      " ! video/x-raw,format=I420,width=" + std::to_string(o.width) +
      ",height=" + std::to_string(o.height) + ",framerate=" + std::to_string(o.fps) + "/1 ! " +
      enc + " ! appsink name=out sync=false";
  GError* err = nullptr;
  GstElement* p = gst_parse_launch(desc.c_str(), &err);
  if (!p) {
    std::fprintf(stderr, "encode: %s\n", err ? err->message : "?");
    return nullptr;
  }
  GstElement* sink = gst_bin_get_by_name(GST_BIN(p), "out");
  gst_element_set_state(p, GST_STATE_PLAYING);
  auto clip = std::make_unique<Clip>();
  while (GstSample* s = gst_app_sink_pull_sample(GST_APP_SINK(sink))) {
    GstBuffer* b = gst_sample_get_buffer(s);
    if (clip->caps.empty()) {
      GstCaps* c = gst_caps_copy(gst_sample_get_caps(s));
      GstStructure* st = gst_caps_get_structure(c, 0);
      gst_structure_remove_fields(st, "codec_data", "streamheader", nullptr);
      gchar* text = gst_caps_to_string(c);
      clip->caps = text;
      g_free(text);
      gst_caps_unref(c);
    }
    clip->units.push_back(
        {gst_buffer_copy_deep(b), !GST_BUFFER_FLAG_IS_SET(b, GST_BUFFER_FLAG_DELTA_UNIT)});
    gst_sample_unref(s);
  }
  gst_element_set_state(p, GST_STATE_NULL);
  gst_object_unref(sink);
  gst_object_unref(p);
  if (clip->units.empty() || !clip->units.front().key) {
    std::fprintf(stderr, "encode: no frames or first frame not a keyframe\n");
    return nullptr;
  }
  return clip;
}

struct Feed {
  const Clip* clip = nullptr;
  const Options* opts = nullptr;
  std::size_t next = 0;
  guint64 count = 0;
  GstClockTime origin = GST_CLOCK_TIME_NONE;
};

// appsrc streaming thread: push one frame; identity sync=true downstream paces
// the stream to real time.
void need_data(GstAppSrc* src, guint, gpointer data) {
  auto* f = static_cast<Feed*>(data);
  if (!GST_CLOCK_TIME_IS_VALID(f->origin)) {
    GstClock* clock = gst_element_get_clock(GST_ELEMENT(src));
    f->origin = clock ? gst_clock_get_time(clock) - gst_element_get_base_time(GST_ELEMENT(src)) : 0;
    if (clock) gst_object_unref(clock);
  }
  const Unit& u = f->clip->units[f->next];
  f->next = (f->next + 1) % f->clip->units.size();
  GstBuffer* b = gst_buffer_copy(u.buffer);
  const GstClockTime dur = GST_SECOND / static_cast<GstClockTime>(f->opts->fps);
  const GstClockTime t = f->origin + f->count * dur;
  ++f->count;
  GST_BUFFER_PTS(b) = t;
  GST_BUFFER_DTS(b) = t;
  GST_BUFFER_DURATION(b) = dur;
  if (u.key) {
    GST_BUFFER_FLAG_UNSET(b, GST_BUFFER_FLAG_DELTA_UNIT);
  } else {
    GST_BUFFER_FLAG_SET(b, GST_BUFFER_FLAG_DELTA_UNIT);
  }
  gst_app_src_push_buffer(src, b);
}

void media_configure(GstRTSPMediaFactory*, GstRTSPMedia* media, gpointer data) {
  GstElement* bin = gst_rtsp_media_get_element(media);
  GstElement* src = gst_bin_get_by_name_recurse_up(GST_BIN(bin), "src");
  auto* feed = new Feed(*static_cast<Feed*>(data));
  GstCaps* caps = gst_caps_from_string(feed->clip->caps.c_str());
  g_object_set(src, "caps", caps, "is-live", TRUE, "format", GST_FORMAT_TIME, "max-buffers",
               static_cast<guint64>(2), nullptr);
  gst_caps_unref(caps);
  GstAppSrcCallbacks cb{};
  cb.need_data = need_data;
  gst_app_src_set_callbacks(GST_APP_SRC(src), &cb, feed,
                            [](gpointer p) { delete static_cast<Feed*>(p); });
  gst_object_unref(src);
  gst_object_unref(bin);
}

gboolean on_signal(gpointer loop) {
  g_main_loop_quit(static_cast<GMainLoop*>(loop));
  return G_SOURCE_REMOVE;
}

int usage() {
  std::printf(
      "usage: zaulek-test-rtsp [--port N] [--mounts N] [--codec h264|h265] [--width W]\n"
      "                        [--height H] [--fps F] [--gop G] [--seconds S] [--bitrate KBPS]\n"
      "                        [--pattern ball|snow|smpte|...]\n"
      "                        [--user NAME (password from $ZAULEK_TEST_RTSP_PASSWORD)]\n"
      "Serves rtsp://127.0.0.1:PORT/cam0 .. cam{N-1}; prints {\"port\",\"urls\"} when ready.\n");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  gst_init(&argc, &argv);
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> const char* { return i + 1 < argc ? argv[++i] : ""; };
    auto num = [&](int lo, int hi) {
      const int v = std::atoi(next());
      if (v < lo || v > hi) {
        std::fprintf(stderr, "%s: %d..%d\n", a.c_str(), lo, hi);
        std::exit(2);
      }
      return v;
    };
    if (a == "--help") return usage();
    if (a == "--port")
      o.port = num(0, 65535);
    else if (a == "--mounts")
      o.mounts = num(1, 1000);
    else if (a == "--codec")
      o.codec = next();
    else if (a == "--width")
      o.width = num(16, 4096);
    else if (a == "--height")
      o.height = num(16, 4096);
    else if (a == "--fps")
      o.fps = num(1, 120);
    else if (a == "--gop")
      o.gop = num(1, 1000);
    else if (a == "--seconds")
      o.seconds = num(1, 120);
    else if (a == "--bitrate")
      o.bitrate_kbps = num(50, 50000);
    else if (a == "--pattern")
      o.pattern = next();
    else if (a == "--user")
      o.user = next();
    else {
      std::fprintf(stderr, "unknown argument %s\n", a.c_str());
      return 2;
    }
  }
  // The pattern goes into a launch string: letters and dashes only.
  if (o.pattern.empty() ||
      o.pattern.find_first_not_of("abcdefghijklmnopqrstuvwxyz-") != std::string::npos) {
    std::fprintf(stderr, "--pattern: a videotestsrc pattern name\n");
    return 2;
  }
  if (o.codec != "h264" && o.codec != "h265") {
    std::fprintf(stderr, "--codec: h264 or h265\n");
    return 2;
  }
  auto clip = encode_clip(o);
  if (!clip) return 1;

  GMainLoop* loop = g_main_loop_new(nullptr, FALSE);
  GstRTSPServer* server = gst_rtsp_server_new();
  gst_rtsp_server_set_address(server, "127.0.0.1");
  gst_rtsp_server_set_service(server, std::to_string(o.port).c_str());
  GstRTSPMountPoints* mounts = gst_rtsp_server_get_mount_points(server);
  const std::string pay = o.codec == "h264" ? "h264parse ! rtph264pay" : "h265parse ! rtph265pay";
  const std::string launch =
      "( appsrc name=src ! identity sync=true ! " + pay + " name=pay0 pt=96 config-interval=-1 )";
  Feed proto{clip.get(), &o};
  if (!o.user.empty()) {
    const char* pw = std::getenv("ZAULEK_TEST_RTSP_PASSWORD");
    GstRTSPAuth* auth = gst_rtsp_auth_new();
    GstRTSPToken* token =
        gst_rtsp_token_new(GST_RTSP_TOKEN_MEDIA_FACTORY_ROLE, G_TYPE_STRING, "user", nullptr);
    gchar* basic = gst_rtsp_auth_make_basic(o.user.c_str(), pw ? pw : "");
    gst_rtsp_auth_add_basic(auth, basic, token);
    g_free(basic);
    gst_rtsp_token_unref(token);
    gst_rtsp_server_set_auth(server, auth);
    g_object_unref(auth);
  }
  for (int i = 0; i < o.mounts; ++i) {
    GstRTSPMediaFactory* f = gst_rtsp_media_factory_new();
    gst_rtsp_media_factory_set_launch(f, launch.c_str());
    gst_rtsp_media_factory_set_shared(f, TRUE);
    gst_rtsp_media_factory_set_protocols(
        f, static_cast<GstRTSPLowerTrans>(GST_RTSP_LOWER_TRANS_TCP | GST_RTSP_LOWER_TRANS_UDP));
    if (!o.user.empty()) {
      GstRTSPPermissions* perms = gst_rtsp_permissions_new();
      gst_rtsp_permissions_add_role(perms, "user", GST_RTSP_PERM_MEDIA_FACTORY_ACCESS,
                                    G_TYPE_BOOLEAN, TRUE, GST_RTSP_PERM_MEDIA_FACTORY_CONSTRUCT,
                                    G_TYPE_BOOLEAN, TRUE, nullptr);
      gst_rtsp_media_factory_set_permissions(f, perms);
      gst_rtsp_permissions_unref(perms);
    }
    g_signal_connect(f, "media-configure", G_CALLBACK(media_configure), &proto);
    const std::string path = "/cam" + std::to_string(i);
    gst_rtsp_mount_points_add_factory(mounts, path.c_str(), f);
  }
  g_object_unref(mounts);
  if (gst_rtsp_server_attach(server, nullptr) == 0) {
    std::fprintf(stderr, "cannot listen on 127.0.0.1:%d\n", o.port);
    return 1;
  }
  const int port = gst_rtsp_server_get_bound_port(server);
  std::string json = "{\"port\":" + std::to_string(port) + ",\"urls\":[";
  for (int i = 0; i < o.mounts; ++i) {
    if (i) json += ",";
    json += "\"rtsp://127.0.0.1:" + std::to_string(port) + "/cam" + std::to_string(i) + "\"";
  }
  json += "]}";
  std::printf("%s\n", json.c_str());
  std::fflush(stdout);
  g_unix_signal_add(SIGINT, on_signal, loop);
  g_unix_signal_add(SIGTERM, on_signal, loop);
  g_main_loop_run(loop);
  g_main_loop_unref(loop);
  g_object_unref(server);
  return 0;
}
