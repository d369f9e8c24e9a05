// The caps of wire_caps.h hold during CAF's deserialization, before anything of a claimed
// length is allocated; the coordinator's checks of received messages (wire_checks.h).
#include "cluster/wire_caps.h"

#include <gtest/gtest.h>

#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>
#include <fstream>
#include <iterator>

#include "cluster/wire.h"
#include "cluster/wire_checks.h"

namespace agentrt::cluster {
namespace {

// CAF's length prefix: 7 bits a byte, low bits first, the top bit set on all but the last.
std::vector<char> varbyte(std::uint32_t n) {
  std::vector<char> out;
  do {
    std::uint8_t b = n & 0x7f;
    n >>= 7;
    if (n != 0) b |= 0x80;
    out.push_back(static_cast<char>(b));
  } while (n != 0);
  return out;
}

class WireCaps : public ::testing::Test {
 protected:
  WireCaps() {
    configure_wire(cfg_);
    sys_ = std::make_unique<caf::actor_system>(cfg_);
  }
  template <class T>
  std::vector<char> bytes_of(T x) {
    std::vector<char> buf;
    caf::binary_serializer sink{*sys_, buf};
    EXPECT_FALSE(sink(x));
    return buf;
  }
  // Deserializes `bytes` into `x`; the error's text, or "" on success.
  template <class T>
  std::string read(const std::vector<char>& bytes, T& x) {
    caf::binary_deserializer source{*sys_, bytes};
    auto err = source(x);
    return err ? sys_->render(err) : "";
  }
  caf::actor_system_config cfg_;
  std::unique_ptr<caf::actor_system> sys_;
};

TEST_F(WireCaps, StringLengthOverTheCapIsRefusedEvenWhenTheBytesArePresent) {
  AuthProof p;
  p.proof = std::string(kMaxWireShortBytes, 'a');
  AuthProof got;
  EXPECT_EQ(read(bytes_of(p), got), "");
  EXPECT_EQ(got.proof, p.proof);

  p.proof.push_back('a');
  const std::string err = read(bytes_of(p), got);
  EXPECT_NE(err.find("over the cap of 4096"), std::string::npos) << err;
}

TEST_F(WireCaps, ClaimedLengthAllocatesOnlyWhatIsRead) {
  // A result whose report claims 60 MiB (under the text cap) but carries 100 bytes.
  auto bytes = bytes_of(JobResultMsg{"j", 0, -1, "", ""});
  ASSERT_EQ(bytes.back(), 0);  // the empty report's length
  bytes.pop_back();
  for (char c : varbyte(60u << 20))
    bytes.push_back(c);
  bytes.insert(bytes.end(), 100, 'x');
  JobResultMsg r;
  EXPECT_NE(read(bytes, r), "");
  EXPECT_LT(r.report.capacity(), 1u << 20) << "the claimed length was allocated";

  // Over the cap: refused at the length.
  bytes = bytes_of(JobResultMsg{"j", 0, -1, "", ""});
  bytes.pop_back();
  for (char c : varbyte(static_cast<std::uint32_t>(kMaxWireTextBytes + 1)))
    bytes.push_back(c);
  JobResultMsg r2;
  const std::string err = read(bytes, r2);
  EXPECT_NE(err.find("over the cap"), std::string::npos) << err;
  EXPECT_EQ(r2.report.capacity(), std::string().capacity());
}

TEST_F(WireCaps, ListCountOverTheCapIsRefusedAndAClaimedCountAllocatesNothingAhead) {
  auto bytes = bytes_of(KvEventMsg{0, 0, {}});
  ASSERT_EQ(bytes.back(), 0);  // the empty key list's count
  bytes.pop_back();
  auto over = bytes;
  for (char c : varbyte(static_cast<std::uint32_t>(kMaxWireListItems + 1)))
    over.push_back(c);
  KvEventMsg m;
  const std::string err = read(over, m);
  EXPECT_NE(err.find("wire list of 1048577 items, over the cap"), std::string::npos) << err;
  EXPECT_EQ(m.keys.capacity(), 0u);

  // At the cap, with three keys present: the keys read, then the end of the input.
  for (char c : varbyte(static_cast<std::uint32_t>(kMaxWireListItems)))
    bytes.push_back(c);
  bytes.insert(bytes.end(), 3 * 8, '\0');
  EXPECT_NE(read(bytes, m), "");
  EXPECT_LT(m.keys.capacity(), 64u);

  // NamedText lists (a job's inputs and checkpoints) the same way.
  auto spec = bytes_of(JobSpec{"j", 0, "y", "f", {}, {}});
  spec.resize(spec.size() - 8);  // blend_recompute_ppm and blend_anchors, two int32
  ASSERT_EQ(spec.back(), 0);     // kv_reuse's length
  spec.pop_back();
  ASSERT_EQ(spec.back(), 0);  // kv_store's length
  spec.pop_back();
  ASSERT_EQ(spec.back(), 0);  // the checkpoints' count
  spec.pop_back();
  for (char c : varbyte(static_cast<std::uint32_t>(kMaxWireListItems + 1)))
    spec.push_back(c);
  JobSpec s;
  EXPECT_NE(read(spec, s).find("over the cap"), std::string::npos);
}

TEST_F(WireCaps, CappedMessagesKeepTheirWireFormat) {
  // Capped fields write what plain strings and vectors would.
  JobSpec spec{"job", 2, "name: x\n", "wf.yaml", {{"q", "2+2"}}, {{"step:0", "{}"}}};
  std::vector<char> plain;
  caf::binary_serializer sink{*sys_, plain};
  using Pairs = std::vector<std::pair<std::string, std::string>>;
  EXPECT_FALSE(sink(std::string("job"), std::int32_t{2}, std::string("name: x\n"),
                    std::string("wf.yaml"), Pairs{{"q", "2+2"}}, Pairs{{"step:0", "{}"}},
                    std::string(), std::string(), std::int32_t{-1}, std::int32_t{-1}));
  EXPECT_EQ(bytes_of(spec), plain);
  JobSpec got;
  EXPECT_EQ(read(plain, got), "");
  EXPECT_EQ(got.inputs[0].text, "2+2");
  EXPECT_EQ(got.resume[0].key, "step:0");
}

TEST_F(WireCaps, KvSnapshotPartsRoundTripAndTheirListsAreCapped) {
  KvSnapshotMsg m{3, 1, {1, 1001, 2, 1002}, {2, 0}};
  KvSnapshotMsg got;
  EXPECT_EQ(read(bytes_of(m), got), "");
  EXPECT_EQ(got.part, 3);
  EXPECT_EQ(got.tier, 1);
  EXPECT_EQ(got.keys, m.keys);
  EXPECT_EQ(got.pins, m.pins);
  // A key list claimed over the cap is refused before it is read.
  std::vector<char> bytes = bytes_of(KvSnapshotMsg{});
  bytes.resize(8);  // part and tier
  for (char c : varbyte(static_cast<std::uint32_t>(kMaxWireSnapshotWords + 1)))
    bytes.push_back(c);
  EXPECT_NE(read(bytes, got).find("over the cap"), std::string::npos);
  // The fuzz corpus's seed (its first byte picks the reader) is such a part.
  std::ifstream seed(
      std::string(AGENTRT_SOURCE_DIR) + "/tests/fuzz/corpus/cluster_wire/kv_snapshot",
      std::ios::binary);
  std::vector<char> file((std::istreambuf_iterator<char>(seed)), std::istreambuf_iterator<char>());
  ASSERT_GT(file.size(), 1u);
  EXPECT_EQ(read(std::vector<char>(file.begin() + 1, file.end()), got), "");
  EXPECT_EQ(got.pins, (std::vector<std::int32_t>{2, 0}));
  EXPECT_TRUE(check_kv_snapshot(got).ok());
  // And its whole-message seed reads as the coordinator's behavior receives it.
  std::ifstream msg_seed(
      std::string(AGENTRT_SOURCE_DIR) + "/tests/fuzz/corpus/cluster_wire/msg_kv_snapshot",
      std::ios::binary);
  std::vector<char> msg_file((std::istreambuf_iterator<char>(msg_seed)),
                             std::istreambuf_iterator<char>());
  ASSERT_GT(msg_file.size(), 1u);
  caf::message msg;
  EXPECT_EQ(read(std::vector<char>(msg_file.begin() + 1, msg_file.end()), msg), "");
  ASSERT_TRUE((msg.match_elements<caf::atom_value, KvSnapshotMsg>()));
  EXPECT_EQ(msg.get_as<caf::atom_value>(0), kv_snapshot_atom::value);
  EXPECT_EQ(msg.get_as<KvSnapshotMsg>(1).keys, got.keys);
}

TEST_F(WireCaps, AdoptCallsAndHellosWithAStoreRoundTripAndTheirSeedsRead) {
  KvAdoptCall a{"agent-1", "/var/lib/agentrt/n1-kv", {1, 1001, 2, 1002}};
  KvAdoptCall got;
  EXPECT_EQ(read(bytes_of(a), got), "");
  EXPECT_EQ(got.session, a.session);
  EXPECT_EQ(got.store, a.store);
  EXPECT_EQ(got.keys, a.keys);
  NodeHello h;
  h.name = "n1";
  h.nonce = std::string(32, 'a');
  h.kv_store = "/var/lib/agentrt/n1-kv";
  NodeHello hgot;
  EXPECT_EQ(read(bytes_of(h), hgot), "");
  EXPECT_EQ(hgot.kv_store, h.kv_store);
  // The fuzz corpus's seeds (the first byte picks the reader) are such values.
  auto seed = [](const char* name) {
    std::ifstream in(std::string(AGENTRT_SOURCE_DIR) + "/tests/fuzz/corpus/cluster_wire/" + name,
                     std::ios::binary);
    std::vector<char> file((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    return file.size() > 1 ? std::vector<char>(file.begin() + 1, file.end()) : file;
  };
  EXPECT_EQ(read(seed("kv_adopt_call"), got), "");
  EXPECT_TRUE(check_kv_adopt(got).ok());
  EXPECT_EQ(read(seed("hello"), hgot), "");
  EXPECT_TRUE(check_hello(hgot).ok());
  JobSpec spec;  // a job moved off a dead node with a store (protocol 7)
  EXPECT_EQ(read(seed("job_spec"), spec), "");
  EXPECT_EQ(spec.kv_store, "/var/lib/agentrt/n1-kv");
  EXPECT_EQ(spec.kv_reuse, "blend");
  EXPECT_EQ(spec.blend_recompute_ppm, 250000);
  EXPECT_EQ(spec.blend_anchors, 1);
  caf::message msg;
  EXPECT_EQ(read(seed("msg_kv_adopt"), msg), "");
  ASSERT_TRUE((msg.match_elements<caf::atom_value, KvAdoptCall>()));
  EXPECT_EQ(msg.get_as<caf::atom_value>(0), kv_adopt_atom::value);
  EXPECT_EQ(read(seed("msg_hello"), msg), "");
  ASSERT_TRUE((msg.match_elements<caf::atom_value, NodeHello>()));
  EXPECT_TRUE(check_hello(msg.get_as<NodeHello>(1)).ok());
}

TEST(WireChecks, AdoptCallsNeedAnAbsoluteStoreAndPairedKeys) {
  EXPECT_TRUE(check_kv_adopt({"s", "/kv", {1, 2}}).ok());
  EXPECT_TRUE(check_kv_adopt({"s", "/kv", {}}).ok());
  const std::vector<std::pair<KvAdoptCall, std::string>> bad = {
      {{"s", "", {}}, "not absolute"},
      {{"s", "kv/n1", {}}, "not absolute"},
      {{"s", "/kv", {1, 2, 3}}, "odd number"},
      {{"s", "/kv", std::vector<std::uint64_t>(2 * (kMaxAdoptBlocks + 1), 7)}, "at most 65536"},
  };
  for (const auto& [m, why] : bad) {
    auto s = check_kv_adopt(m);
    ASSERT_FALSE(s.ok()) << why;
    EXPECT_EQ(s.error().code, ErrorCode::invalid_argument);
    EXPECT_NE(s.error().message.find(why), std::string::npos) << s.error().message;
  }
}

TEST(WireChecks, KvSnapshotPartsNeedATierPairedKeysAndOnePinCountEach) {
  EXPECT_TRUE(check_kv_snapshot({0, 2, {1, 2}, {}}).ok());
  EXPECT_TRUE(check_kv_snapshot({1, 0, {1, 2, 3, 4}, {0, kMaxWireSnapshotPins}}).ok());
  EXPECT_TRUE(check_kv_snapshot({0, 0, {}, {}}).ok()) << "an empty engine's part 0";
  const std::vector<std::pair<KvSnapshotMsg, std::string>> bad = {
      {{-1, 0, {}, {}}, "part -1"},
      {{0, 3, {}, {}}, "tier 3"},
      {{0, -1, {}, {}}, "tier -1"},
      {{0, 0, {1, 2, 3}, {}}, "odd number"},
      {{0, 0, {1, 2, 3, 4}, {1}}, "1 pin counts for 2 keys"},
      {{0, 0, {1, 2}, {-1}}, "pin count of -1"},
      {{0, 0, {1, 2}, {kMaxWireSnapshotPins + 1}}, "pin count of 65536"},
  };
  for (const auto& [m, why] : bad) {
    auto s = check_kv_snapshot(m);
    ASSERT_FALSE(s.ok()) << why;
    EXPECT_EQ(s.error().code, ErrorCode::invalid_argument);
    EXPECT_NE(s.error().message.find(why), std::string::npos) << s.error().message;
  }
}

TEST(WireChecks, HelloNeedsThisProtocolAndANonce) {
  NodeHello h;
  h.nonce = std::string(32, 'a');
  EXPECT_TRUE(check_hello(h).ok());
  h.protocol = kProtocolVersion + 1;
  EXPECT_NE(check_hello(h).error().message.find("this coordinator speaks"), std::string::npos);
  h.protocol = kProtocolVersion;
  h.kv_store = "relative/kv";
  EXPECT_NE(check_hello(h).error().message.find("not absolute"), std::string::npos);
  h.kv_store = "/abs/kv";
  EXPECT_TRUE(check_hello(h).ok());
  h.nonce = "abc";
  EXPECT_FALSE(check_hello(h).ok());
}

TEST(WireChecks, JobResultCodesAndReports) {
  auto ok = check_job_result({"j", 0, -1, "", R"({"outputs": {"a": "4"}})"});
  EXPECT_TRUE(ok.status.ok());
  EXPECT_EQ(ok.report["outputs"]["a"], "4");

  auto cancelled =
      check_job_result({"j", 0, static_cast<std::int32_t>(ErrorCode::cancelled), "stopped", "{}"});
  ASSERT_FALSE(cancelled.status.ok());
  EXPECT_EQ(cancelled.status.error().code, ErrorCode::cancelled);

  auto silent = check_job_result({"j", 0, static_cast<std::int32_t>(ErrorCode::parse), "", "{}"});
  ASSERT_FALSE(silent.status.ok());
  EXPECT_FALSE(silent.status.error().message.empty());  // found by fuzz_cluster_wire

  for (std::int32_t code : {999, -2}) {
    auto unknown = check_job_result({"j", 0, code, "boom", "{}"});
    ASSERT_FALSE(unknown.status.ok());
    EXPECT_EQ(unknown.status.error().code, ErrorCode::internal);
    EXPECT_NE(unknown.status.error().message.find("unknown error code " + std::to_string(code)),
              std::string::npos);
  }

  auto not_json = check_job_result({"j", 0, -1, "", "{"});
  ASSERT_FALSE(not_json.status.ok());
  EXPECT_EQ(not_json.status.error().code, ErrorCode::corrupt);
  EXPECT_TRUE(not_json.report.is_null());

  // Deeper than kMaxJsonDepth: refused before parsing (dumping it would recurse per level).
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  auto too_deep = check_job_result({"j", 0, -1, "", deep});
  ASSERT_FALSE(too_deep.status.ok());
  EXPECT_EQ(too_deep.status.error().code, ErrorCode::corrupt);
  EXPECT_NE(too_deep.status.error().message.find("nested deeper"), std::string::npos);
  EXPECT_TRUE(too_deep.report.is_null());
}

}  // namespace
}  // namespace agentrt::cluster
