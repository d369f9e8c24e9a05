// A REST job's kv_reuse override reaches the workflow a node loads (JobSpec::kv_reuse,
// apply_kv_reuse in node_job.h), as the server applies it to a job it runs itself.
#include "cluster/node_job.h"

#include <gtest/gtest.h>

#include "workflows/loader.h"

namespace agentrt::cluster {
namespace {

const char* kYaml = R"(agents:
  a: { kv_reuse: blend, blend_recompute: 0.05 }
steps:
  - { id: s, agent: a, input: x }
  - { id: t, agent: a, input: y, kv_reuse: exact }
)";

workflows::Workflow load() {
  auto r = workflows::load_workflow(kYaml, "wf.yaml");
  EXPECT_TRUE(r.ok()) << r.diagnostics.to_string();
  return r.workflow;
}

workflows::KvReuseSpec of(const workflows::Workflow& wf, int step) {
  const auto& s = wf.steps[static_cast<std::size_t>(step)];
  return wf.kv_reuse_of(*wf.find_agent(s.agent.name), s);
}

TEST(NodeJobKvReuse, TheJobsOverrideReplacesTheWorkflowsSettings) {
  JobSpec spec;
  spec.job = "j1";
  auto wf = load();
  ASSERT_TRUE(apply_kv_reuse(spec, wf).ok());  // none: the workflow's own
  EXPECT_EQ(of(wf, 0).mode, workflows::KvReuseMode::blend);
  EXPECT_EQ(of(wf, 1).mode, workflows::KvReuseMode::exact);

  spec.kv_reuse = "blend";
  spec.blend_recompute_ppm = 400000;
  spec.blend_anchors = 1;
  ASSERT_TRUE(apply_kv_reuse(spec, wf).ok());
  for (int s : {0, 1}) {
    EXPECT_EQ(of(wf, s).mode, workflows::KvReuseMode::blend) << s;
    EXPECT_EQ(of(wf, s).blend_recompute, 0.4) << s;
    EXPECT_EQ(of(wf, s).blend_anchors, true) << s;
  }

  wf = load();
  spec.kv_reuse = "exact";
  spec.blend_recompute_ppm = -1;
  spec.blend_anchors = -1;
  ASSERT_TRUE(apply_kv_reuse(spec, wf).ok());
  EXPECT_EQ(of(wf, 0).mode, workflows::KvReuseMode::exact);
  EXPECT_FALSE(of(wf, 0).blend_recompute.has_value());
  EXPECT_FALSE(of(wf, 0).blend_anchors.has_value());
}

TEST(NodeJobKvReuse, AnUnknownModeOrFractionIsRefusedWithTheJob) {
  auto wf = load();
  JobSpec spec;
  spec.job = "j2";
  spec.kv_reuse = "fuzzy";
  auto st = apply_kv_reuse(spec, wf);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("j2: kv_reuse 'fuzzy'"), std::string::npos)
      << st.error().message;
  spec.kv_reuse = "blend";
  spec.blend_recompute_ppm = 1500000;
  st = apply_kv_reuse(spec, wf);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("blend_recompute"), std::string::npos) << st.error().message;
  spec.blend_recompute_ppm = -1;
  spec.blend_anchors = 2;
  st = apply_kv_reuse(spec, wf);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("blend_anchors 2"), std::string::npos) << st.error().message;
}

}  // namespace
}  // namespace agentrt::cluster
