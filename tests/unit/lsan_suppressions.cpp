// Linked into every unit test. GLib's own library constructor (run by the
// dynamic loader before main, whenever a test pulls in GStreamer or GLib)
// keeps a 16 KiB block that LeakSanitizer reports as lost; it is GLib's, not
// ours. Only that library is suppressed; every other leak still fails.
extern "C" const char* __lsan_default_suppressions() {
  return "leak:libglib-2.0.so\n";
}
