// The slow pool: where handlers of routes marked Speed::slow run
// (server/http/routes.h). Blocking work that must not hold the two HTTP
// workers that answer every other call: onboarding a camera waits up to 7 ×
// the ONVIF timeout, a discovery scan seconds, Argon2id hashing (login, a new
// user) tens to hundreds of milliseconds. On the workers, two scans made
// /healthz wait 3.7 s. Its own threads, and a bound on jobs in flight
// (running or waiting for a thread): past it, try_post() refuses and the
// caller answers 503 with Retry-After (counted in /metrics).
#pragma once

#include <utility>  // before Asio: Boost 1.74 misses it

#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>

#include <atomic>
#include <cstdint>
#include <functional>

namespace zaulek::server {

class SlowPool {
 public:
  SlowPool(int threads, int max_in_flight)
      : pool_(static_cast<std::size_t>(threads < 1 ? 1 : threads)),
        max_in_flight_(max_in_flight < 1 ? 1 : max_in_flight) {}
  SlowPool(const SlowPool&) = delete;
  SlowPool& operator=(const SlowPool&) = delete;
  ~SlowPool() { join(); }

  // Runs `job` on the pool; false (and `job` dropped) when max_in_flight
  // jobs are already running or waiting. Any thread.
  bool try_post(std::function<void()> job) {
    int n = in_flight_.load();
    do {
      if (n >= max_in_flight_) {
        ++rejected_;
        return false;
      }
    } while (!in_flight_.compare_exchange_weak(n, n + 1));
    ++accepted_;
    boost::asio::post(pool_, [this, job = std::move(job)] {
      // The job's own exceptions are its business (Dispatcher::run catches
      // a handler's); the count must come down whatever happens.
      struct Done {
        std::atomic<int>& n;
        ~Done() { --n; }
      } done{in_flight_};
      job();
    });
    return true;
  }

  // Waits for every job posted (service shutdown).
  void join() { pool_.join(); }

  int in_flight() const { return in_flight_.load(); }
  int max_in_flight() const { return max_in_flight_; }
  std::uint64_t accepted() const { return accepted_.load(); }
  std::uint64_t rejected() const { return rejected_.load(); }

 private:
  boost::asio::thread_pool pool_;
  const int max_in_flight_;
  std::atomic<int> in_flight_{0};
  std::atomic<std::uint64_t> accepted_{0};
  std::atomic<std::uint64_t> rejected_{0};
};

}  // namespace zaulek::server
