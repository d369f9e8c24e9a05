// The CPU backend's batched block copies (Backend::read_blocks / write_blocks): the same
// bytes as block-by-block copies, ids checked, and a registered host range changes nothing.
#include <gtest/gtest.h>

#include "engine/cpu/cpu_backend.h"

namespace agentrt::cpu {
namespace {

TEST(CpuBlockIo, BatchedWritesAndReadsRoundTrip) {
  auto m = model::Model::load(std::string(AGENTRT_SOURCE_DIR) + "/models/tiny-calc");
  ASSERT_TRUE(m.ok()) << m.error().to_string();
  auto backend = CpuBackend::create(*m, {8, 16, 1});
  ASSERT_TRUE(backend.ok());
  Backend& b = **backend;
  const std::size_t n = b.block_bytes();
  ASSERT_GT(n, 0u);
  // One slab for three blocks, as the host tier keeps them.
  std::vector<std::byte> slab(3 * n);
  for (std::size_t i = 0; i < slab.size(); ++i)
    slab[i] = static_cast<std::byte>((i * 7 + i / n) & 0xff);
  ASSERT_TRUE(b.register_host_memory(slab.data(), slab.size()).ok());
  const std::vector<std::int32_t> ids{5, 1, 6};
  std::vector<std::span<const std::byte>> in;
  for (std::size_t i = 0; i < ids.size(); ++i)
    in.push_back(std::span<const std::byte>(slab).subspan(i * n, n));
  ASSERT_TRUE(b.write_blocks(ids, in).ok());
  for (std::size_t i = 0; i < ids.size(); ++i) {
    std::vector<std::byte> one(n);
    ASSERT_TRUE(b.read_block(ids[i], one).ok());
    EXPECT_TRUE(std::equal(one.begin(), one.end(), in[i].begin())) << "block " << ids[i];
  }
  std::vector<std::byte> back(3 * n);
  std::vector<std::span<std::byte>> out;
  for (std::size_t i = 0; i < ids.size(); ++i)
    out.push_back(std::span<std::byte>(back).subspan(i * n, n));
  ASSERT_TRUE(b.read_blocks(ids, out).ok());
  EXPECT_EQ(back, slab);
  b.unregister_host_memory(slab.data());

  const std::vector<std::int32_t> bad{0, 8};
  EXPECT_FALSE(b.write_blocks(bad, std::span(in).first(2)).ok());
  EXPECT_FALSE(b.write_blocks(ids, std::span(in).first(2)).ok());  // count mismatch
  EXPECT_FALSE(b.read_blocks(bad, std::span(out).first(2)).ok());
}

}  // namespace
}  // namespace agentrt::cpu
