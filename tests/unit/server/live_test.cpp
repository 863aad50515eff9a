// server/live's viewer queue: bounded, control messages in order, a slow
// viewer skips to the next keyframe and its memory stays bounded.
#include <gtest/gtest.h>

#include <string>

#include "server/live/viewer_queue.h"

namespace zaulek::server::live {
namespace {

Bytes b(std::string s) {
  return std::make_shared<const std::string>(std::move(s));
}

std::string pop_text(ViewerQueue& q) {
  auto item = q.pop();
  return item ? *item->bytes : "<empty>";
}

TEST(LiveViewerQueue, InitThenMediaFromAKeyframe) {
  ViewerQueue q(10, 1000);
  EXPECT_EQ(q.push_media(b("early"), true), ViewerQueue::Pushed::dropped) << "no init yet";
  q.restart(b("{init}"), b("ftyp+moov"));
  EXPECT_EQ(q.push_media(b("P"), false), ViewerQueue::Pushed::dropped) << "starts at a keyframe";
  EXPECT_EQ(q.push_media(b("I1"), true), ViewerQueue::Pushed::queued);
  EXPECT_EQ(q.push_media(b("P1"), false), ViewerQueue::Pushed::queued);
  auto init = q.pop();
  ASSERT_TRUE(init);
  EXPECT_FALSE(init->binary);
  EXPECT_EQ(*init->bytes, "{init}");
  auto moov = q.pop();
  ASSERT_TRUE(moov);
  EXPECT_TRUE(moov->binary);
  EXPECT_EQ(pop_text(q), "I1");
  EXPECT_EQ(pop_text(q), "P1");
  EXPECT_TRUE(q.empty());
}

TEST(LiveViewerQueue, FullQueueSkipsToTheNextKeyframe) {
  ViewerQueue q(3, 1000);
  q.restart(b("{init}"), b("moov"));
  q.pop();
  q.pop();
  EXPECT_EQ(q.push_media(b("I1"), true), ViewerQueue::Pushed::queued);
  EXPECT_EQ(q.push_media(b("P1"), false), ViewerQueue::Pushed::queued);
  q.push_control(b("{stall}"));
  EXPECT_EQ(q.push_media(b("P2"), false), ViewerQueue::Pushed::queued);
  EXPECT_EQ(q.push_media(b("P3"), false), ViewerQueue::Pushed::skipped);
  EXPECT_TRUE(q.waiting_keyframe());
  EXPECT_EQ(q.bytes(), 0u);
  EXPECT_EQ(q.push_media(b("P4"), false), ViewerQueue::Pushed::dropped);
  EXPECT_EQ(q.push_media(b("I2"), true), ViewerQueue::Pushed::queued);
  EXPECT_FALSE(q.waiting_keyframe());
  EXPECT_EQ(pop_text(q), "{stall}") << "control messages survive a skip";
  EXPECT_EQ(pop_text(q), "I2");
  EXPECT_TRUE(q.empty());
}

TEST(LiveViewerQueue, AKeyframeThatFindsItFullIsKept) {
  ViewerQueue q(2, 1000);
  q.restart(b("{init}"), b("moov"));
  q.push_media(b("I1"), true);
  q.push_media(b("P1"), false);
  EXPECT_EQ(q.push_media(b("I2"), true), ViewerQueue::Pushed::skipped);
  EXPECT_FALSE(q.waiting_keyframe());
  EXPECT_EQ(pop_text(q), "{init}");
  EXPECT_EQ(pop_text(q), "moov");
  EXPECT_EQ(pop_text(q), "I2");
}

TEST(LiveViewerQueue, BoundedInBytesAndControl) {
  ViewerQueue q(1000, 10);
  q.restart(b("{init}"), b("moov"));
  EXPECT_EQ(q.push_media(b("IIIIII"), true), ViewerQueue::Pushed::queued);
  EXPECT_EQ(q.push_media(b("PPPPPP"), false), ViewerQueue::Pushed::skipped);
  EXPECT_LE(q.bytes(), 10u);
  // A viewer that never reads: memory stays bounded however long it lasts.
  for (int i = 0; i < 10'000; ++i) {
    q.push_media(b(std::string(4, 'x')), i % 25 == 0);
    if (i % 7 == 0) q.push_control(b("{stall}"));
    ASSERT_LE(q.bytes(), 10u);
    ASSERT_LE(q.size(), 2u + 3u + ViewerQueue::kMaxControl);
  }
}

TEST(LiveViewerQueue, ANewInitReplacesWhatWasQueued) {
  ViewerQueue q(10, 1000);
  q.restart(b("{init1}"), b("moov1"));
  q.push_media(b("I1"), true);
  q.push_control(b("{stall}"));
  q.restart(b("{init2}"), b("moov2"));
  EXPECT_EQ(q.size(), 2u);
  EXPECT_EQ(pop_text(q), "{init2}");
  EXPECT_EQ(pop_text(q), "moov2");
}

}  // namespace
}  // namespace zaulek::server::live
