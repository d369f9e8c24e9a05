// make_backend: the CPU backend from a choice, and the errors for kinds it cannot make.
#include "engine/backends/backend_factory.h"

#include <gtest/gtest.h>

namespace agentrt::backends {
namespace {

std::shared_ptr<const model::Model> tiny_calc() {
  auto m = model::Model::load(std::string(AGENTRT_SOURCE_DIR) + "/models/tiny-calc");
  EXPECT_TRUE(m.ok());
  return m.ok() ? *m : nullptr;
}

TEST(BackendFactory, MakesTheCpuBackendAsChosen) {
  auto b = make_backend(tiny_calc(), {"cpu", 0, 64, 1, 16});
  ASSERT_TRUE(b.ok()) << b.error().to_string();
  EXPECT_EQ((*b)->name(), "cpu");
  EXPECT_EQ((*b)->kv_geometry().num_blocks, 64);
  EXPECT_EQ((*b)->kv_geometry().block_size, 16);
  EXPECT_TRUE(backend_available("cpu"));
}

TEST(BackendFactory, UnknownKindIsInvalid) {
  auto b = make_backend(tiny_calc(), {"tpu", 0, 64, 1, 16});
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.error().code, ErrorCode::invalid_argument);
  EXPECT_NE(b.error().message.find("expected cpu or cuda"), std::string::npos);
  EXPECT_FALSE(backend_available("tpu"));
}

TEST(BackendFactory, CudaOnlyInCudaBuilds) {
  if (backend_available("cuda")) GTEST_SKIP() << "this build has CUDA";
  auto b = make_backend(tiny_calc(), {"cuda", 0, 64, 1, 16});
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.error().code, ErrorCode::unsupported);
}

TEST(BackendFactory, CpuPoolErrorsPassThrough) {
  auto b = make_backend(tiny_calc(), {"cpu", 0, 0, 1, 16});
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.error().code, ErrorCode::invalid_argument);
}

}  // namespace
}  // namespace agentrt::backends
