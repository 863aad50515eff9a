// One live viewer's queue (pure: no I/O, no clock): what waits to be
// written to its WebSocket, bounded in count and bytes. A viewer that does
// not keep up never holds back the stream or grows memory: when a fragment
// finds the queue full, the queued media is dropped and the viewer skips to
// the next keyframe (from there the picture decodes again).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>

namespace zaulek::server::live {

using Bytes = std::shared_ptr<const std::string>;

class ViewerQueue {
 public:
  struct Item {
    Bytes bytes;
    bool binary = false;
  };
  enum class Pushed {
    queued,
    dropped,  // not a keyframe while waiting for one
    skipped,  // the queue was full: its media dropped, waiting for a keyframe
  };
  // Control messages (stall, resumed) beyond this many unsent are dropped.
  static constexpr std::size_t kMaxControl = 8;

  ViewerQueue(std::size_t max_items, std::size_t max_bytes)
      : max_items_(max_items), max_bytes_(max_bytes) {}

  // A new init segment: everything queued is of the old one. `text` the init
  // JSON, `init` the ftyp+moov; media follows from a keyframe.
  void restart(Bytes text, Bytes init);
  Pushed push_media(Bytes fragment, bool keyframe);
  void push_control(Bytes text);
  std::optional<Item> pop();

  bool empty() const { return items_.empty(); }
  std::size_t size() const { return items_.size(); }
  std::size_t bytes() const { return bytes_; }
  bool waiting_keyframe() const { return waiting_; }

 private:
  enum class Kind { init, control, media };
  struct Entry {
    Item item;
    Kind kind = Kind::init;
  };
  void drop_media();

  std::size_t max_items_;
  std::size_t max_bytes_;
  std::deque<Entry> items_;
  std::size_t bytes_ = 0;  // media bytes queued
  std::size_t media_ = 0;  // media items queued
  std::size_t control_ = 0;
  bool started_ = false;  // an init was queued: media may follow
  bool waiting_ = true;   // for a keyframe
};

}  // namespace zaulek::server::live
