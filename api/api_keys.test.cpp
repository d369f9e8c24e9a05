#include "api/api_keys.h"

#include <gtest/gtest.h>

#include <fstream>

namespace agentrt::api {
namespace {

std::filesystem::path write_file(const std::string& name, const std::string& text) {
  auto p = std::filesystem::temp_directory_path() /
           ("agentrt-keys-" + std::to_string(::getpid()) + name);
  std::ofstream(p) << text;
  return p;
}

TEST(ApiKeys, AcceptsOnlyListedKeys) {
  auto f = write_file("a", "# comment\n\n  first-key-0123456789  \nsecond-key-0123456789\n");
  auto keys = ApiKeys::load(f);
  ASSERT_TRUE(keys.ok()) << keys.error().message;
  EXPECT_EQ(keys->size(), 2u);
  EXPECT_EQ(keys->check("Bearer first-key-0123456789"), "key-1");
  EXPECT_EQ(keys->check("Bearer second-key-0123456789"), "key-2");
  EXPECT_FALSE(keys->check("Bearer second-key-012345678"));
  EXPECT_FALSE(keys->check("Bearer second-key-01234567890"));
  EXPECT_FALSE(keys->check("second-key-0123456789"));
  EXPECT_FALSE(keys->check("Basic second-key-0123456789"));
  EXPECT_FALSE(keys->check(""));
  std::filesystem::remove(f);
}

TEST(ApiKeys, RefusesEmptyAndShortKeyFiles) {
  auto empty = write_file("b", "# only a comment\n");
  EXPECT_FALSE(ApiKeys::load(empty).ok());
  auto shortk = write_file("c", "short\n");
  auto r = ApiKeys::load(shortk);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find(":1:"), std::string::npos) << r.error().message;
  EXPECT_FALSE(ApiKeys::load("/nonexistent/keys").ok());
  EXPECT_FALSE(ApiKeys::load("/dev/zero").ok());
  std::filesystem::remove(empty);
  std::filesystem::remove(shortk);
}

}  // namespace
}  // namespace agentrt::api
