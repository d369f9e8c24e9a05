// Secrets and proofs (secret.h).
#include "cluster/secret.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

namespace agentrt::cluster {
namespace {

TEST(ClusterSecret, ProofChecksOnlyWithTheSameSecretAndMessage) {
  const std::string secret = "0123456789abcdef-secret";
  const std::string proof = prove(secret, "worker|nonce|a");
  EXPECT_TRUE(check_proof(secret, "worker|nonce|a", proof));
  EXPECT_FALSE(check_proof(secret + "x", "worker|nonce|a", proof));
  EXPECT_FALSE(check_proof(secret, "worker|nonce|b", proof));
  EXPECT_FALSE(check_proof(secret, "worker|nonce|a", proof.substr(1)));
  EXPECT_EQ(proof.size(), 64u);  // SHA-256 in hex
}

TEST(ClusterSecret, NoncesDiffer) {
  auto a = make_nonce();
  auto b = make_nonce();
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(a->size(), 64u);
  EXPECT_NE(*a, *b);
}

TEST(ClusterSecret, LoadsFromFileAndEnvironmentAndRefusesShortOnes) {
  const std::string path = ::testing::TempDir() + "cluster_secret_" + std::to_string(getpid());
  { std::ofstream(path) << "a-long-enough-secret-value\n"; }
  auto s = load_secret(path);
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ(*s, "a-long-enough-secret-value");
  { std::ofstream(path) << "short\n"; }
  auto short_one = load_secret(path);
  ASSERT_FALSE(short_one.ok());
  EXPECT_EQ(short_one.error().message.find("short"), std::string::npos);  // never echoed
  std::remove(path.c_str());
  EXPECT_FALSE(load_secret(path).ok());

  unsetenv("AGENTRT_CLUSTER_SECRET_FILE");
  setenv("AGENTRT_CLUSTER_SECRET", "from-the-environment-1", 1);
  auto env = load_secret("");
  ASSERT_TRUE(env.ok());
  EXPECT_EQ(*env, "from-the-environment-1");
  unsetenv("AGENTRT_CLUSTER_SECRET");
  EXPECT_FALSE(load_secret("").ok());
}

}  // namespace
}  // namespace agentrt::cluster
