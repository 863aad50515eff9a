// Polls `done` every 10 ms until it holds, for at most 10 s; false if it
// never did. For unit tests that wait on work running on another thread.
#pragma once

#include <chrono>
#include <thread>

namespace zaulek::testing {

template <class F>
bool eventually(F done) {
  for (int i = 0; i < 1000; ++i) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return done();
}

}  // namespace zaulek::testing
