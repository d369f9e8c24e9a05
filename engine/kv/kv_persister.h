// KvPersister: write-behind of full KV blocks to a persistent tier (e.g. storage::KvStore).
// The engine thread offers blocks whose bytes it has already copied out of block memory; a
// writer thread stores them in batches with KvTier::put_many, so the engine never waits on
// the disk. A tier that is not thread_safe() is written on the engine thread instead, at
// submit(). A bounded set of keys already written (or queued) keeps a shared prefix from
// being rewritten every turn. A failed write is counted, never reported to a request.
// Threads: every method but the writer's own loop runs on the engine thread; counters may
// be read from any thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <list>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include "engine/kv/kv_tier.h"

namespace agentrt::kv {

struct KvPersisterOptions {
  std::size_t batch_blocks = 64;              // blocks per put_many
  std::size_t max_queued_bytes = 256u << 20;  // past it, offers are dropped (not waited for)
  std::size_t known_keys = 1u << 16;          // keys remembered as written, least recent dropped
};

class KvPersister {
 public:
  // `tier` outlives the persister. Starts the writer thread when tier->thread_safe().
  KvPersister(KvTier* tier, const KvPersisterOptions& options = {});
  // Writes what is queued, then stops the writer.
  ~KvPersister();
  KvPersister(const KvPersister&) = delete;
  KvPersister& operator=(const KvPersister&) = delete;

  KvTier* tier() const { return tier_; }
  // Whether `key` still needs writing: neither written nor queued (as far as the bounded
  // memory of keys knows). A known key becomes the most recent.
  bool wants(const BlockKey& key);
  // Records that the tier holds `key` (e.g. a block just read from it).
  void mark_known(const BlockKey& key);
  // Queues one block. `wait`: blocks while the queue is full instead of dropping the block
  // (flush). Call submit() after a run of offers.
  void offer(const BlockKey& key, std::vector<std::byte> bytes, bool wait = false);
  // Hands the queued blocks to the writer (or writes them now, for a tier that is not
  // thread_safe()).
  void submit();
  // Returns once every block offered so far is written or has failed.
  void drain();

  std::int64_t written() const { return written_.load(); }  // blocks stored
  std::int64_t errors() const { return errors_.load(); }    // blocks whose write failed
  std::int64_t dropped() const { return dropped_.load(); }  // offers refused: queue full

 private:
  void run();
  // Stores one batch (without mu_), then counts it and forgets its keys on failure.
  void write(std::vector<KvTier::Item>& batch);
  std::vector<KvTier::Item> take_batch();  // holds mu_
  void write_queued();                     // a tier that is not thread_safe(): on this thread
  void remember(const BlockKey& key);      // holds mu_
  void forget(const BlockKey& key);        // holds mu_

  KvTier* tier_;
  KvPersisterOptions opt_;

  std::mutex mu_;                    // guards everything below but the counters and thread_
  std::condition_variable cv_;       // the writer waits for work
  std::condition_variable idle_cv_;  // drain() and full-queue offers wait for progress
  std::deque<KvTier::Item> queue_;
  std::size_t queued_bytes_ = 0;
  std::size_t in_flight_ = 0;  // blocks taken by the writer, not yet written
  bool ready_ = false;         // submitted (or a batch is full): the writer may take it
  bool stop_ = false;
  std::list<BlockKey> known_order_;  // front = most recent
  std::unordered_map<BlockKey, std::list<BlockKey>::iterator, BlockKeyHash> known_;

  std::atomic<std::int64_t> written_{0};
  std::atomic<std::int64_t> errors_{0};
  std::atomic<std::int64_t> dropped_{0};
  std::thread thread_;  // only for a thread_safe() tier
};

}  // namespace agentrt::kv
