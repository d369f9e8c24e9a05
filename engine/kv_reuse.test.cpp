#include "engine/kv_reuse.h"

#include <gtest/gtest.h>

#include "engine/engine.h"
#include "engine/prompt_segment.h"
#include "engine/toy_backend.h"

namespace agentrt {
namespace {

TEST(KvReuse, ParsesWhatItPrints) {
  for (KvReuse r : {KvReuse::exact, KvReuse::blend})
    EXPECT_EQ(*parse_kv_reuse(to_string(r)), r);
  auto bad = parse_kv_reuse("fuzzy");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("'fuzzy'"), std::string::npos);
}

TEST(PromptSegment, AcceptsSortedDisjointSpansInsideThePrompt) {
  const std::vector<PromptSegment> ok{{0, 4}, {4, 9}, {12, 20}};
  EXPECT_TRUE(check_segments(ok, 20).ok());
  EXPECT_TRUE(check_segments({}, 5).ok());
}

TEST(PromptSegment, NamesTheBadSegment) {
  auto message = [](std::vector<PromptSegment> s, std::int64_t n) {
    Status st = check_segments(s, n);
    EXPECT_FALSE(st.ok());
    return st.ok() ? std::string() : st.error().message;
  };
  EXPECT_NE(message({{0, 4}, {3, 6}}, 10).find("segments[1] [3, 6)"), std::string::npos);
  EXPECT_NE(message({{0, 4}, {3, 6}}, 10).find("overlaps"), std::string::npos);
  EXPECT_NE(message({{5, 11}}, 10).find("segments[0]"), std::string::npos);
  EXPECT_NE(message({{4, 4}}, 10).find("non-empty"), std::string::npos);
  EXPECT_NE(message({{-1, 2}}, 10).find("segments[0]"), std::string::npos);
  EXPECT_NE(message({{6, 8}, {1, 2}}, 10).find("segments[1]"), std::string::npos);
}

// Under exact the engine ignores segments, even ones that would be invalid; under blend it
// refuses them, naming the field.
TEST(KvReuse, ExactIgnoresSegmentsBlendChecksThem) {
  testing::Rig rig(16);
  EngineRequest r = testing::req(3, 10, 2);
  r.segments = {{4, 8}, {6, 12}};
  EXPECT_TRUE(rig.engine->add_request(r).ok());
  r.kv_reuse = KvReuse::blend;
  auto bad = rig.engine->add_request(r);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("segments[1]"), std::string::npos) << bad.error().message;
  r.segments = {{4, 8}};
  r.blend_recompute = 1.5f;
  bad = rig.engine->add_request(r);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("blend_recompute"), std::string::npos);
  r.blend_recompute = 0.5f;
  EXPECT_TRUE(rig.engine->add_request(r).ok());
}

// A backend that cannot blend (token_kv_bytes() == 0, e.g. CUDA today) serves blend
// requests as exact ones: same tokens, no segment cache.
TEST(KvReuse, BlendFallsBackToExactWithoutBackendSupport) {
  auto tokens_of = [](KvReuse reuse) {
    testing::Rig rig(16);
    EngineRequest r = testing::req(3, 10, 4);
    r.segments = {{2, 8}};
    r.kv_reuse = reuse;
    EXPECT_TRUE(rig.engine->add_request(r).ok());
    std::vector<std::int32_t> out;
    while (rig.engine->has_work()) {
      auto ev = rig.engine->step();
      EXPECT_TRUE(ev.ok());
      if (!ev.ok()) break;
      for (const auto& e : *ev)
        if (e.kind == EventKind::token) out.push_back(e.token);
    }
    EXPECT_EQ(rig.engine->segment_stats().lookups, 0);
    return out;
  };
  const auto exact = tokens_of(KvReuse::exact);
  EXPECT_EQ(exact.size(), 4u);
  EXPECT_EQ(tokens_of(KvReuse::blend), exact);
}

}  // namespace
}  // namespace agentrt
