// Model-based randomized test: thousands of random operations on a KvManager (with a host
// tier, swap space and pins under a fake clock), checked after every step against a simple
// reference model: sequences' tokens, live pins and their expected content.
#include <gtest/gtest.h>

#include <map>
#include <random>

#include "engine/kv/fake_block_memory.h"
#include "engine/kv/host_tier.h"
#include "engine/kv/kv_manager.h"

namespace agentrt::kv {
namespace {

constexpr int kBs = 4;
constexpr int kBlocks = 24;

struct RefPin {
  std::vector<std::int32_t> blocks;
  std::vector<std::vector<std::int32_t>> content;  // expected slots of each block
  TimePoint expiry;
  std::int64_t revoked_before = 0;  // KvMetrics::pins_revoked when it was made
};

class KvModelTest : public ::testing::TestWithParam<std::uint64_t> {
 protected:
  void SetUp() override {
    rng_.seed(GetParam());
    KvManagerDeps deps{&mem_, &clock_, {&host_}, nullptr};
    auto m =
        KvManager::create({kBlocks, kBs, "fp", true, 40 * mem_.block_bytes()}, std::move(deps));
    ASSERT_TRUE(m.ok());
    kv_ = std::move(*m);
    // Shared prefixes make prefix hits, forks and pins overlap.
    for (int f = 0; f < 3; ++f)
      families_.push_back(random_tokens(4 + f * 5));
  }

  std::vector<std::int32_t> random_tokens(int n) {
    std::vector<std::int32_t> t;
    for (int i = 0; i < n; ++i)
      t.push_back(pick(0, 7));
    return t;
  }
  int pick(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
  SeqId any_seq() {
    auto it = seqs_.begin();
    std::advance(it, pick(0, static_cast<int>(seqs_.size()) - 1));
    return it->first;
  }

  // Computes tokens [computed, target) of seq like a forward step would.
  bool grow(SeqId seq, std::size_t target) {
    auto& toks = seqs_[seq];
    if (!kv_->reserve(seq, static_cast<std::int64_t>(target)).ok()) return false;
    const auto from = static_cast<std::size_t>(kv_->computed(seq));
    std::span<const std::int32_t> part = std::span(toks).subspan(from, target - from);
    mem_.write_tokens(kv_->block_table(seq), from, part);
    EXPECT_TRUE(kv_->commit(seq, part).ok());
    return true;
  }

  void op_open() {
    const SeqId seq = next_++;
    auto toks = families_[static_cast<std::size_t>(pick(0, 2))];
    auto tail = random_tokens(pick(1, 9));
    toks.insert(toks.end(), tail.begin(), tail.end());
    seqs_[seq] = toks;
    auto hit = kv_->open(seq, toks);
    ASSERT_TRUE(hit.ok());
    ASSERT_LT(*hit, std::ssize(toks));
    if (!grow(seq, toks.size())) drop(seq);
  }
  void op_append() {
    const SeqId seq = any_seq();
    if (kv_->swapped_out(seq)) return;
    if (seqs_[seq].size() > 48) return drop(seq);
    auto more = random_tokens(pick(1, 6));
    seqs_[seq].insert(seqs_[seq].end(), more.begin(), more.end());
    if (!grow(seq, seqs_[seq].size())) drop(seq);
  }
  void op_fork() {
    const SeqId seq = any_seq();
    if (kv_->swapped_out(seq)) return;
    const SeqId child = next_++;
    ASSERT_TRUE(kv_->fork(seq, child).ok());
    seqs_[child] = seqs_[seq];
  }
  void op_pin() {
    const SeqId seq = any_seq();
    if (kv_->swapped_out(seq)) return;
    const PinOwner owner = pick(0, 5);
    const auto ttl = std::chrono::milliseconds(pick(1, 400));
    ASSERT_TRUE(kv_->pin(owner, seq, ttl).ok());
    RefPin p;
    const auto full = seqs_[seq].size() / kBs;
    auto table = kv_->block_table(seq);
    for (std::size_t i = 0; i < full; ++i) {
      p.blocks.push_back(table[i]);
      p.content.emplace_back(seqs_[seq].begin() + static_cast<std::ptrdiff_t>(i * kBs),
                             seqs_[seq].begin() + static_cast<std::ptrdiff_t>((i + 1) * kBs));
    }
    p.expiry = clock_.now() + ttl;
    p.revoked_before = kv_->metrics().pins_revoked;
    pins_[owner] = p;
  }
  void op_swap() {
    const SeqId seq = any_seq();
    if (kv_->swapped_out(seq)) {
      if (kv_->swap_in(seq).ok()) {
        EXPECT_TRUE(mem_.holds(kv_->block_table(seq), seqs_[seq]));
      }
    } else {
      kv_->swap_out(seq).permit_unchecked();  // may lack swap space
    }
  }
  void drop(SeqId seq) {
    kv_->release(seq);
    seqs_.erase(seq);
  }

  void step() {
    const int op = pick(0, 99);
    if (seqs_.empty() || op < 25) return op_open();
    if (op < 45) return op_append();
    if (op < 52) return op_fork();
    if (op < 67) return drop(any_seq());
    if (op < 77) return op_pin();
    if (op < 82) {
      const PinOwner owner = pick(0, 5);
      kv_->unpin(owner);
      pins_.erase(owner);
      return;
    }
    if (op < 90) return op_swap();
    clock_.advance(std::chrono::milliseconds(pick(1, 100)));
    kv_->expire_pins();
  }

  void check() {
    auto inv = kv_->check_invariants();
    ASSERT_TRUE(inv.ok()) << inv.error().to_string();
    for (const auto& [seq, toks] : seqs_) {
      if (kv_->swapped_out(seq)) continue;
      const auto computed = static_cast<std::size_t>(kv_->computed(seq));
      ASSERT_EQ(computed, toks.size()) << "seq " << seq;
      ASSERT_TRUE(mem_.holds(kv_->block_table(seq), toks)) << "seq " << seq;
    }
    for (auto it = pins_.begin(); it != pins_.end();) {
      if (clock_.now() >= it->second.expiry) {
        kv_->expire_pins();
        ASSERT_FALSE(kv_->pinned(it->first)) << "pin past its TTL";
        it = pins_.erase(it);
        continue;
      }
      if (!kv_->pinned(it->first)) {
        // Before its TTL a pin only goes when revoked under pressure.
        ASSERT_GT(kv_->metrics().pins_revoked, it->second.revoked_before);
        it = pins_.erase(it);
        continue;
      }
      for (std::size_t i = 0; i < it->second.blocks.size(); ++i) {
        const std::int32_t b = it->second.blocks[i];
        ASSERT_GT(kv_->pool().block(b).pins, 0);
        for (int s = 0; s < kBs; ++s)
          ASSERT_EQ(mem_.slot(b, s), it->second.content[i][static_cast<std::size_t>(s)]);
      }
      ++it;
    }
  }

  testing::FakeBlockMemory mem_{kBlocks, kBs};
  FakeClock clock_;
  HostTier host_{16 * sizeof(std::int32_t) * kBs};
  std::unique_ptr<KvManager> kv_;
  std::mt19937_64 rng_;
  std::vector<std::vector<std::int32_t>> families_;
  std::map<SeqId, std::vector<std::int32_t>> seqs_;
  std::map<PinOwner, RefPin> pins_;
  SeqId next_ = 1;
};

TEST_P(KvModelTest, RandomOperationsKeepInvariants) {
  for (int i = 0; i < 5000; ++i) {
    step();
    if (HasFatalFailure()) return;
    check();
    if (HasFatalFailure()) return;
  }
  const auto& m = kv_->metrics();
  // The run must have exercised the interesting paths.
  EXPECT_GT(m.hit_tokens[0], 0);
  EXPECT_GT(m.evictions, 0);
  EXPECT_GT(m.cow_copies, 0);
  EXPECT_GT(m.pins_created, 0);
  std::cout << "[kv-model] seed " << GetParam() << ": device hits " << m.hit_tokens[0]
            << ", host hits " << m.hit_tokens[1] << ", evictions " << m.evictions << ", cow "
            << m.cow_copies << ", pins " << m.pins_created << " (expired " << m.pins_expired
            << ", revoked " << m.pins_revoked << "), swapped out " << m.swapped_out_blocks << "\n";
}

INSTANTIATE_TEST_SUITE_P(Seeds, KvModelTest, ::testing::Values(1u, 2u, 3u, 42u));

}  // namespace
}  // namespace agentrt::kv
