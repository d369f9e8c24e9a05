// RuntimePool: one runtime per canonical model directory, backend and device.
#include "actors/runtime_pool.h"

#include <gtest/gtest.h>

#include <string>

namespace agentrt::actors {
namespace {

const std::string kModel = std::string(AGENTRT_SOURCE_DIR) + "/models/tiny-calc";

TEST(RuntimePool, OneRuntimePerCanonicalDirectory) {
  RuntimePool pool{RuntimeOptions{}};
  ModelKey a;
  a.dir = kModel;
  a.kv_blocks = 64;
  a.threads = 1;
  auto first = pool.get(a);
  ASSERT_TRUE(first.ok()) << first.error().to_string();
  ModelKey b = a;
  b.dir = kModel + "/../tiny-calc/.";  // another spelling
  b.kv_blocks = 128;                   // ignored: the runtime exists
  auto second = pool.get(b);
  ASSERT_TRUE(second.ok()) << second.error().to_string();
  EXPECT_EQ(*first, *second);
  EXPECT_EQ((*second)->metrics().kv_blocks, 64);
  EXPECT_EQ(pool.all().size(), 1u);
}

TEST(RuntimePool, ToolsAreRegisteredOnce) {
  RuntimePool pool{RuntimeOptions{}};
  ModelKey k;
  k.dir = kModel;
  k.kv_blocks = 64;
  k.threads = 1;
  auto rt = pool.get(k);
  ASSERT_TRUE(rt.ok()) << rt.error().to_string();
  ToolConfig calc;
  calc.name = "calculator";
  ASSERT_TRUE(pool.add_tools(*rt, {calc}).ok());
  EXPECT_TRUE(pool.add_tools(*rt, {calc}).ok()) << "a second workflow naming it again";
  Runtime* other = nullptr;
  EXPECT_FALSE(pool.add_tools(other, {calc}).ok());
}

TEST(RuntimePool, ErrorsAreValuesAndNotRemembered) {
  RuntimePool pool{RuntimeOptions{}};
  ModelKey k;
  k.dir = "/nonexistent/model";
  auto r = pool.get(k);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("/nonexistent/model"), std::string::npos) << r.error().message;
  k.dir = kModel;
  k.backend = "tpu";
  r = pool.get(k);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::invalid_argument);
  EXPECT_TRUE(pool.all().empty());
}

}  // namespace
}  // namespace agentrt::actors
