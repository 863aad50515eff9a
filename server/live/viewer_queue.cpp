#include "server/live/viewer_queue.h"

#include <algorithm>

namespace zaulek::server::live {

void ViewerQueue::restart(Bytes text, Bytes init) {
  items_.clear();
  bytes_ = media_ = control_ = 0;
  items_.push_back({{std::move(text), false}, Kind::init});
  items_.push_back({{std::move(init), true}, Kind::init});
  started_ = true;
  waiting_ = true;  // the feed's next fragment is its keyframe
}

ViewerQueue::Pushed ViewerQueue::push_media(Bytes fragment, bool keyframe) {
  if (!started_ || !fragment) return Pushed::dropped;
  if (waiting_ && !keyframe) return Pushed::dropped;
  Pushed result = Pushed::queued;
  if (media_ + 1 > max_items_ || bytes_ + fragment->size() > max_bytes_) {
    drop_media();
    result = Pushed::skipped;
    if (!keyframe) {
      waiting_ = true;
      return result;
    }
  }
  waiting_ = false;
  bytes_ += fragment->size();
  ++media_;
  items_.push_back({{std::move(fragment), true}, Kind::media});
  return result;
}

void ViewerQueue::push_control(Bytes text) {
  if (control_ >= kMaxControl) return;
  ++control_;
  items_.push_back({{std::move(text), false}, Kind::control});
}

std::optional<ViewerQueue::Item> ViewerQueue::pop() {
  if (items_.empty()) return std::nullopt;
  Entry e = std::move(items_.front());
  items_.pop_front();
  if (e.kind == Kind::media) {
    --media_;
    bytes_ -= e.item.bytes->size();
  } else if (e.kind == Kind::control) {
    --control_;
  }
  return std::move(e.item);
}

void ViewerQueue::drop_media() {
  items_.erase(std::remove_if(items_.begin(), items_.end(),
                              [](const Entry& e) { return e.kind == Kind::media; }),
               items_.end());
  bytes_ = 0;
  media_ = 0;
}

}  // namespace zaulek::server::live
