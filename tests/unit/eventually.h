// Polls `done` every 10 ms until it holds, for at most `limit` (10 s unless
// told); false if it never did. For unit tests that wait on work running on
// another thread: the one bounded wait of the unit tests, never a fixed sleep.
#pragma once

#include <chrono>
#include <thread>

namespace zaulek::testing {

template <class F>
bool eventually(F done, std::chrono::milliseconds limit = std::chrono::seconds(10)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return done();
}

}  // namespace zaulek::testing
