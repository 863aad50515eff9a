// Camera events into zaulekd: one ONVIF PullPoint subscription per
// catalogued camera (onvif/events/subscription.h), or, for a camera that
// answers CreatePullPointSubscription with ActionNotSupported, a Basic
// Notification subscription (onvif/events/basic_subscription.h) whose
// Notifies arrive at zaulekd's consumer endpoint (server/events/notify.h); every
// event normalized,
// stored in the catalogue in batches and published on the hub as
// {"type":"event", id, camera_id, time, kind, state, topic, source, data}
// (the DESIGN.md event shape; ids are strings, times RFC 3339 UTC).
//
// Which cameras: every camera is read once at start(); after that zaulekd
// calls camera_changed(id) for each change the camera registry commits
// (server/cameras/cameras.h, on_change), and that camera's row is read
// again. A new camera (or one whose URL or credentials changed) gets a
// subscriber, a deleted one is unsubscribed; the catalogue is not polled.
// Subscribing does not wait for the camera registry's health probe: a
// camera that does not answer is retried by its subscriber with capped,
// jittered backoff (see PullPointSubscription).
//
// Threading: everything runs on the io_context given to the constructor;
// the service's own state (camera set, pending batch) on one strand, each
// subscriber on a strand of its own. No thread per camera: a PullMessages
// long-poll is one pending Asio operation. An event is published on the hub
// as soon as it has an id (storage::Catalog::reserve_event_ids), before its
// row is written: neither the consoles nor the rules (on_published) wait for
// the disk. The catalogue write of a batch is a blocking SQLite transaction
// on a writer thread of the service's own, at most one per 10 ms; events
// published meanwhile form the next batch (at most Catalog::kMaxBatch). A
// batch the catalogue cannot take for now (locked, disk full, I/O error) is
// kept and retried, in order, after 0.1 s doubling to 5 s (store_retries);
// only beyond max_unwritten, or refused for good, is an event not written:
// it has still reached the consoles and the rules, and the loss is logged
// and counted (store_failures).
//
// Budget: every camera event enters through submit() (PullPoint and Basic
// Notification alike) and passes a per-camera token bucket first
// (server/events/event_budget.h; EventsOptions::budget). Events over it are not
// published; they are counted per camera (zaulek_events_suppressed_total)
// with the notifications a camera sent beyond our MessageLimit, and once per
// summary_interval each camera with a count gets one published and stored
// event: kind `other`, topic `zaulek:Events/RateLimited`, data
// {suppressed, from, to, max_per_second, burst}.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <nlohmann/json_fwd.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "core/clock.h"
#include "onvif/events/subscription.h"
#include "server/events/event_budget.h"
#include "server/security/secretbox.h"
#include "storage/catalog.h"

namespace zaulek::server {

class Hub;
class NotifyConsumers;

struct EventsOptions {
  // After a catalogue read failed (a change would stay unapplied), every
  // camera is read again after this, until a read succeeds.
  std::chrono::milliseconds resync_retry{1000};
  onvif::SubscriptionOptions subscription;
  // Published events waiting for the writer, at most (about 50 MB at the
  // default); beyond it the oldest are dropped and counted as store failures.
  std::size_t max_unwritten = 100'000;
  // Per-camera rate limit (see the top of this file).
  EventBudgetOptions budget;
  std::chrono::milliseconds summary_interval{1000};  // between a camera's RateLimited events
  // Optional hooks (the alarm router, server/alarms/alarms.h); called on the
  // service's strands, must not block. Each published batch, ids set; the
  // rows may not be written yet (alarms refer to events by id only):
  std::function<void(std::vector<storage::Event>)> on_published;
  // A camera's subscription failed (failing = true, once per outage) or is
  // active again after a failure:
  std::function<void(const std::string& camera_id, bool failing, const std::string& reason)>
      on_subscription_health;
  // The consumer endpoint for Basic Notification (cameras without a
  // PullPoint); null: such cameras get no events (logged).
  NotifyConsumers* notify = nullptr;
};

// The DESIGN.md event shape of a stored event.
nlohmann::json event_json(const storage::Event& e);
// The topic of the summary of a camera's events over its budget.
inline constexpr const char* kRateLimitedTopic = "zaulek:Events/RateLimited";
// A received event as the catalogue stores it; names, values and the topic
// bounded (the catalogue refuses topics over 1024 and source/data over 8192
// bytes) and made valid UTF-8.
storage::Event to_stored_event(const std::string& camera_id, const onvif::ReceivedEvent& e);

class EventService {
 public:
  EventService(boost::asio::io_context& ioc, storage::Catalog& catalog, Hub* hub, SecretBox box,
               Clock& clock, EventsOptions options = {});
  ~EventService();
  EventService(const EventService&) = delete;
  EventService& operator=(const EventService&) = delete;

  void start();
  // Stops every subscriber (each Unsubscribes, bounded by its call timeout).
  // Does not wait.
  void stop();

  // The camera registry committed a change of camera `camera_id` (added,
  // moved, credentials, removed): its row is read again on the service's
  // strand and its subscriber follows. Any thread; does not block (the
  // registry calls it from its own strand).
  void camera_changed(const std::string& camera_id);

  // Stores and publishes what the camera's budget admits (any thread);
  // `dropped`: events the camera sent that were cut off before this (over
  // a PullMessages MessageLimit), counted as suppressed.
  void submit(std::string camera_id, std::vector<onvif::ReceivedEvent> events,
              std::uint64_t dropped = 0);

  // "pullpoint" or "basic_notification" for a camera whose subscriber has
  // chosen (from the first CreatePullPointSubscription answer); "" otherwise.
  std::string mode(const std::string& camera_id) const;
  // Prometheus text: zaulek_event_subscription_mode{camera,mode} 1 per camera (any thread).
  std::string metrics_text() const;

  // Blocks until the rows of every event published before the call are
  // written (or their write has failed), for at most `bound`; false if the
  // bound passed first. For GET /api/v1/events, on a work thread (never an
  // I/O thread): a console that received an event and then lists events
  // finds it, although rows follow the consoles by up to 10 ms.
  bool wait_written(std::chrono::milliseconds bound);

  std::uint64_t stored() const { return stored_; }
  std::uint64_t store_failures() const { return store_failures_; }
  std::uint64_t store_retries() const { return store_retries_; }
  // Events over the cameras' budgets, all cameras (any thread).
  std::uint64_t suppressed() const;

 private:
  class Subscriber;
  void sync();                              // every camera
  void sync_camera(const std::string& id);  // one camera
  void apply(const std::string& id, const storage::Camera* camera);
  void resync_later();
  void flush();
  void write();
  bool store(const std::vector<storage::Event>& batch, bool final_try);
  void bound_unwritten();
  void set_mode(const std::string& camera_id, std::string mode);  // any thread; "" removes
  void arm_summary();
  void summarize();  // publishes one RateLimited event per camera with suppressed events

  boost::asio::io_context& ioc_;
  storage::Catalog& catalog_;
  Hub* hub_;
  SecretBox box_;
  Clock& clock_;
  EventsOptions options_;
  boost::asio::strand<boost::asio::io_context::executor_type> strand_;
  boost::asio::steady_timer resync_timer_;
  // On strand_ only.
  bool stopped_ = false;
  bool synced_ = false;        // the first full sync ran: changes apply from now on
  bool resync_armed_ = false;  // resync_timer_ runs
  struct Entry {
    std::string fingerprint;  // onvif_url + username + sealed password
    std::shared_ptr<Subscriber> subscriber;
  };
  std::map<std::string, Entry> cameras_;
  std::vector<storage::Event> pending_;   // received, not published yet
  std::deque<storage::Event> unwritten_;  // published, not written yet (front: oldest)
  bool writing_ = false;                  // a batch is with writer_
  bool write_waiting_ = false;            // write_timer_ runs: the next batch is due then
  boost::asio::steady_timer write_timer_;
  std::chrono::steady_clock::time_point next_write_{};  // no transaction before
  std::chrono::milliseconds retry_delay_{0};            // after the last failed batch
  std::atomic<std::uint64_t> stored_{0}, store_failures_{0}, store_retries_{0};
  // Read-your-writes for wait_written: the highest id published (set on
  // strand_ before the hub sees it) and the highest id of a batch the writer
  // has finished (ids are reserved and written in order).
  std::atomic<std::int64_t> published_id_{0};
  std::mutex written_mu_;
  std::condition_variable written_cv_;
  std::int64_t written_id_ = 0;  // guarded by written_mu_
  // The catalogue write of each batch runs here, one batch at a time and in
  // order: an I/O thread never waits on the disk (a slow fsync stalled every
  // console's deliveries).
  boost::asio::thread_pool writer_{1};
  mutable std::mutex modes_mu_;  // written by subscribers' strands, read by /metrics
  std::map<std::string, std::string> modes_;
  EventBudget budget_;
  boost::asio::steady_timer summary_timer_;  // on strand_
  bool summary_armed_ = false;               // on strand_
  std::set<std::string> over_budget_;        // on strand_: cameras summarized at the last tick
};

}  // namespace zaulek::server
