// AnchorBook's policy: the first placements are recorded while the pool is small, novelty
// decides after that, caps in tokens and bytes, the oldest anchors evicted first.
#include "engine/kv/anchor_book.h"

#include <gtest/gtest.h>

namespace agentrt::kv {
namespace {

TEST(AnchorBook, RecordsUntilMinAnchorsThenNoveltyDecides) {
  AnchorOptions o;
  o.min_anchors = 2;
  o.novelty = 0.5f;
  AnchorBook book(3, 4, o);  // 2 x 3 x 4 x 4 = 96 bytes a token
  EXPECT_EQ(book.token_bytes(), 96u);
  EXPECT_EQ(book.before_probe(10), AnchorPrediction::record);  // empty
  book.added(10);
  EXPECT_EQ(book.before_probe(10), AnchorPrediction::record);  // under min_anchors
  book.added(10);
  EXPECT_EQ(book.before_probe(10), std::nullopt);  // the novelty decides
  EXPECT_EQ(book.before_probe(0), AnchorPrediction::predicted);
  EXPECT_EQ(book.after_probe(0.6, 10), AnchorPrediction::record);
  EXPECT_EQ(book.stats().predicted_segments, 0);
  EXPECT_EQ(book.after_probe(0.4, 10), AnchorPrediction::predicted);
  EXPECT_EQ(book.stats().predicted_segments, 1);
  EXPECT_EQ(book.stats().predicted_tokens, 10);
  EXPECT_EQ(book.stats().anchors, 2);
  EXPECT_EQ(book.stats().tokens, 20);
  EXPECT_EQ(book.stats().bytes, 20 * 96);
  EXPECT_EQ(book.stats().recorded, 2);
}

TEST(AnchorBook, CapsAndOldestFirstEviction) {
  AnchorOptions o;
  o.max_tokens = 25;
  o.capacity_bytes = 96 * 100;
  o.min_anchors = 1;
  AnchorBook book(3, 4, o);
  EXPECT_TRUE(book.fits(25));
  EXPECT_FALSE(book.fits(26));
  // Over a cap: never to be recorded, so `none` for an empty pool and a novel placement.
  EXPECT_EQ(book.before_probe(26), AnchorPrediction::none);
  book.added(10);
  EXPECT_EQ(book.after_probe(1.0, 26), AnchorPrediction::none);
  book.added(8);
  // 12 more tokens: 30 > 25, the oldest (10 tokens) goes; 8 + 12 fit.
  EXPECT_EQ(book.evict_for(12), 10u);
  book.added(12);
  EXPECT_EQ(book.stats().anchors, 2);
  EXPECT_EQ(book.stats().tokens, 20);
  EXPECT_EQ(book.stats().evicted, 1);
  // 25 more: both go.
  EXPECT_EQ(book.evict_for(25), 20u);
  EXPECT_EQ(book.stats().anchors, 0);
  o.max_tokens = 1000;
  o.capacity_bytes = 96 * 30;  // now the bytes bind
  AnchorBook bytes(3, 4, o);
  bytes.added(20);
  EXPECT_EQ(bytes.evict_for(20), 20u);
  EXPECT_FALSE(bytes.fits(31));
}

// A pool that keeps fewer bytes a token (the device pool's bf16 rows) says so: the byte cap
// and the counters use its figure.
TEST(AnchorBook, ThePoolsBytesATokenSetTheByteCap) {
  AnchorOptions o;
  o.capacity_bytes = 1000;
  o.min_anchors = 1;
  AnchorBook book(3, 4, o, 40);
  EXPECT_EQ(book.token_bytes(), 40u);
  EXPECT_TRUE(book.fits(25));  // 1,000 bytes; with the default 96 a token, 10 would fit
  EXPECT_FALSE(book.fits(26));
  book.added(25);
  EXPECT_EQ(book.stats().bytes, 1000);
  EXPECT_EQ(book.evict_for(5), 25u);
}

}  // namespace
}  // namespace agentrt::kv
