// The wire types survive CAF's binary serialization (wire.h).
#include "cluster/wire.h"

#include <gtest/gtest.h>

#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>

namespace agentrt::cluster {
namespace {

template <class T>
T round_trip(caf::actor_system& sys, T x) {
  std::vector<char> buf;
  caf::binary_serializer sink{sys, buf};
  EXPECT_FALSE(sink(x));
  T y;
  caf::binary_deserializer source{sys, buf};
  EXPECT_FALSE(source(y));
  return y;
}

TEST(ClusterWire, JobSpecAndResultRoundTrip) {
  caf::actor_system_config cfg;
  configure_wire(cfg);
  caf::actor_system sys{cfg};
  JobSpec spec;
  spec.job = "job-1";
  spec.attempt = 3;
  spec.workflow_yaml = "name: x\n";
  spec.workflow_file = "wf.yaml";
  spec.inputs = {{"question", "What is 2+2?"}};
  spec.resume = {{"step:0", "{\"output\":\"4\"}"}, {"unit:1:2", std::string("\xff\x00z", 3)}};
  spec.kv_store = "/var/lib/agentrt/n1-kv";
  spec.kv_reuse = "blend";
  spec.blend_recompute_ppm = 250000;
  spec.blend_anchors = 1;
  const JobSpec got = round_trip(sys, spec);
  EXPECT_EQ(got.kv_store, "/var/lib/agentrt/n1-kv");
  EXPECT_EQ(got.kv_reuse, "blend");
  EXPECT_EQ(got.blend_recompute_ppm, 250000);
  EXPECT_EQ(got.blend_anchors, 1);
  EXPECT_EQ(got.job, "job-1");
  EXPECT_EQ(got.attempt, 3);
  EXPECT_EQ(got.workflow_yaml, spec.workflow_yaml);
  ASSERT_EQ(got.inputs.size(), 1u);
  EXPECT_EQ(got.inputs[0].text, "What is 2+2?");
  ASSERT_EQ(got.resume.size(), 2u);
  EXPECT_EQ(got.resume[1].key, "unit:1:2");
  EXPECT_EQ(got.resume[1].text, std::string("\xff\x00z", 3));

  KvEventMsg kv{2, 1, {1, 2, 3, 4}};
  const KvEventMsg kv2 = round_trip(sys, kv);
  EXPECT_EQ(kv2.kind, 2);
  EXPECT_EQ(kv2.tier, 1);
  EXPECT_EQ(kv2.keys, kv.keys);

  JobResultMsg r{"job-1", 1, -1, "", "{\"outputs\":{}}"};
  EXPECT_EQ(round_trip(sys, r).report, r.report);
}

}  // namespace
}  // namespace agentrt::cluster
