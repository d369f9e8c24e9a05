// KvStore values damaged past what a flipped byte does: truncated, sized wrong under a valid
// checksum, a valid value under another key or model, bad magic or version, a store of
// another format. Each is dropped and reported absent by the store, and recomputed (never
// served) by the KV manager above it; the value format itself is pinned.
#include <gtest/gtest.h>

#include <cstring>
#include <functional>

#include "storage/kv_store_testing.h"

namespace agentrt::storage {
namespace {

using namespace testing;

std::vector<std::byte> payload(std::size_t n, int seed) {
  std::vector<std::byte> v(n);
  for (std::size_t i = 0; i < n; ++i)
    v[i] = static_cast<std::byte>(static_cast<int>(i) * 7 + seed);
  return v;
}

const kv::BlockKey kKey{0x0123456789abcdefull, 0xfedcba9876543210ull};
const kv::BlockKey kOtherKey{0x1111111111111111ull, 0x2222222222222222ull};

// Rows the damage may draw on: valid values of another key and of another model.
struct Rows {
  std::string other_key_value;
  std::string other_model_value;
};

struct Damage {
  const char* name;
  std::function<void(std::string& v, const Rows& rows)> apply;
};

const Damage kDamages[] = {
    {"EmptyValue", [](std::string& v, const Rows&) { v.clear(); }},
    {"TruncatedHeader", [](std::string& v, const Rows&) { v.resize(kHeaderBytes - 1); }},
    {"TruncatedPayload", [](std::string& v, const Rows&) { v.resize(v.size() - 1); }},
    {"TruncatedPayloadResealed",
     [](std::string& v, const Rows&) {
       v.resize(v.size() - 5);
       reseal(v);
     }},
    {"HeaderOnly",
     [](std::string& v, const Rows&) {
       v.resize(kHeaderBytes);
       reseal(v);
     }},
    {"LongerPayloadResealed",
     [](std::string& v, const Rows&) {
       v.append("extra");
       reseal(v);
     }},
    {"SizeFieldWrongResealed",
     [](std::string& v, const Rows&) {
       put_u64(v, kSizeAt, v.size() - kHeaderBytes + 1);
       reseal(v);
     }},
    {"BadMagicResealed",
     [](std::string& v, const Rows&) {
       v[0] = static_cast<char>(v[0] ^ 0x20);
       reseal(v);
     }},
    {"NextVersionResealed",
     [](std::string& v, const Rows&) {
       v[kVersionAt] = static_cast<char>(kKvBlockFormatVersion + 1);
       reseal(v);
     }},
    {"VersionZeroResealed",
     [](std::string& v, const Rows&) {
       v[kVersionAt] = 0;
       reseal(v);
     }},
    {"ValidValueOfAnotherKey", [](std::string& v, const Rows& r) { v = r.other_key_value; }},
    {"ValidValueOfAnotherModel", [](std::string& v, const Rows& r) { v = r.other_model_value; }},
    {"BlockKeyFieldRewrittenResealed",
     [](std::string& v, const Rows& r) {
       v.replace(kBlockKeyAt, 16, r.other_key_value, kBlockKeyAt, 16);
       reseal(v);
     }},
};

void PrintTo(const Damage& d, std::ostream* os) {
  *os << d.name;
}

class KvStoreDamage : public ::testing::TestWithParam<Damage> {};

// Writes kKey and kOtherKey for model-a and kKey for model-b, then applies the damage to
// model-a's kKey row. Returns that row's key.
std::string damaged_store(const std::filesystem::path& dir, const Damage& damage) {
  std::string row, other_row, other_model_row;
  {
    auto a = KvStore::open(dir, "model-a");
    EXPECT_TRUE(a.ok());
    EXPECT_TRUE((*a)->put(kKey, payload(64, 1)).ok());
    EXPECT_TRUE((*a)->put(kOtherKey, payload(64, 2)).ok());
    row = (*a)->row_key(kKey);
    other_row = (*a)->row_key(kOtherKey);
  }
  {
    auto b = KvStore::open(dir, "model-b");
    EXPECT_TRUE(b.ok());
    EXPECT_TRUE((*b)->put(kKey, payload(64, 1)).ok());
    other_model_row = (*b)->row_key(kKey);
  }
  RawDb db(dir);
  EXPECT_TRUE(db.ok());
  Rows rows{db.get(other_row).value_or(""), db.get(other_model_row).value_or("")};
  std::string v = db.get(row).value_or("");
  EXPECT_EQ(v.size(), kHeaderBytes + 64);
  damage.apply(v, rows);
  EXPECT_TRUE(db.put(row, v));
  return row;
}

TEST_P(KvStoreDamage, IsDroppedNeverServed) {
  TempDir dir;
  const std::string row = damaged_store(dir.path(), GetParam());
  {
    auto store = KvStore::open(dir.path(), "model-a");
    ASSERT_TRUE(store.ok());
    auto got = (*store)->get(kKey);
    ASSERT_TRUE(got.ok()) << got.error().to_string();
    EXPECT_FALSE(got->has_value());
    EXPECT_EQ((*store)->corrupt_dropped(), 1);
    got = (*store)->get(kOtherKey);  // the damage stays where it is
    ASSERT_TRUE(got.ok() && got->has_value());
    EXPECT_EQ(**got, payload(64, 2));
  }
  RawDb db(dir.path());
  ASSERT_TRUE(db.ok());
  EXPECT_FALSE(db.get(row).has_value()) << "the damaged row was not deleted";
}

INSTANTIATE_TEST_SUITE_P(Kinds, KvStoreDamage, ::testing::ValuesIn(kDamages),
                         [](const auto& p) { return std::string(p.param.name); });

// The same damage under the KV manager: the block is recomputed, the run's tokens are its
// own (Process::run checks the table's contents).
class KvStoreTierDamage : public ::testing::TestWithParam<Damage> {};

TEST_P(KvStoreTierDamage, IsRecomputed) {
  TempDir dir;
  const kv::BlockKey k0 = first_block_key();
  const kv::BlockKey k1 = kv::chain_key(k0, std::span(kPrompt).subspan(4, 4), "model");
  std::string row, other_row;
  {
    Process a(dir.path());
    a.run(1, kPrompt);
    a.run(2, kOther);  // evicts kPrompt's two full blocks into the store
    row = a.store->row_key(k0);
    other_row = a.store->row_key(k1);
  }
  {
    RawDb db(dir.path());
    ASSERT_TRUE(db.ok());
    std::string v = db.get(row).value_or("");
    ASSERT_FALSE(v.empty());
    GetParam().apply(v, {db.get(other_row).value_or(""), db.get(other_row).value_or("")});
    ASSERT_TRUE(db.put(row, v));
  }
  Process b(dir.path());
  EXPECT_EQ(b.run(1, kPrompt), 0);  // the first block is bad, so nothing after it is used
  EXPECT_EQ(b.store->corrupt_dropped(), 1);
  EXPECT_EQ(b.kv->metrics().hit_tokens[2], 0);
}

INSTANTIATE_TEST_SUITE_P(Kinds, KvStoreTierDamage, ::testing::ValuesIn(kDamages),
                         [](const auto& p) { return std::string(p.param.name); });

// A value the store finds sound but that is no block of this pool (another block size):
// the manager drops it and computes the block instead of serving it.
TEST(KvStoreTierDamage, ValueOfTheWrongBlockSizeIsDroppedAndRecomputed) {
  TempDir dir;
  {
    auto store = KvStore::open(dir.path(), "model");
    ASSERT_TRUE(store.ok());
    ASSERT_TRUE((*store)->put(first_block_key(), payload(24, 3)).ok());  // blocks are 16 bytes
  }
  Process b(dir.path());
  EXPECT_EQ(b.run(1, kPrompt), 0);
  EXPECT_EQ(b.kv->metrics().tier_dropped_blocks, 1);
  auto got = b.store->get(first_block_key());
  ASSERT_TRUE(got.ok());
  EXPECT_FALSE(got->has_value()) << "the wrong-size value was kept";
}

TEST(KvStoreFormat, AStoreOfAnotherFormatVersionLosesItsBlocksOnOpen) {
  TempDir dir;
  {
    auto store = KvStore::open(dir.path(), "model-a");
    ASSERT_TRUE(store.ok());
    ASSERT_TRUE((*store)->put(kKey, payload(64, 1)).ok());
  }
  {
    RawDb db(dir.path());
    ASSERT_TRUE(db.ok());
    EXPECT_EQ(db.get("format", 2), KvStore::format_tag());
    ASSERT_TRUE(db.put("format", "agentrt kv block v0; key = model(16) block(16)", 2));
  }
  auto store = KvStore::open(dir.path(), "model-a");
  ASSERT_TRUE(store.ok());
  auto got = (*store)->get(kKey);
  ASSERT_TRUE(got.ok());
  EXPECT_FALSE(got->has_value());
  EXPECT_EQ((*store)->corrupt_dropped(), 0);  // cleared on open, not dropped on read
}

TEST(KvStoreFormat, TheSameFormatKeepsItsBlocks) {
  TempDir dir;
  for (int i = 0; i < 2; ++i) {
    auto store = KvStore::open(dir.path(), "model-a");
    ASSERT_TRUE(store.ok());
    if (i == 0) {
      ASSERT_TRUE((*store)->put(kKey, payload(64, 1)).ok());
    }
    auto got = (*store)->get(kKey);
    ASSERT_TRUE(got.ok() && got->has_value());
  }
}

// PINNED VALUE. The on-disk value of an 8-byte payload: a change here must be deliberate,
// with a bump of kKvBlockFormatVersion (storage/kv_store.h).
TEST(KvStoreFormat, ValueLayoutIsPinned) {
  TempDir dir;
  std::string row;
  {
    auto store = KvStore::open(dir.path(), "model-a");
    ASSERT_TRUE(store.ok());
    ASSERT_TRUE((*store)->put(kKey, payload(8, 5)).ok());
    row = (*store)->row_key(kKey);
  }
  EXPECT_EQ(KvStore::format_tag(), "agentrt kv block v1; key = model(16) block(16)");
  RawDb db(dir.path());
  ASSERT_TRUE(db.ok());
  const std::string v = db.get(row).value_or("");
  std::string hex;
  for (unsigned char c : v) {
    static constexpr char kHex[] = "0123456789abcdef";
    hex += kHex[c >> 4];
    hex += kHex[c & 15];
  }
  // magic "AKVB", version 1, reserved, root_key("model-a"), kKey, size 8, XXH3-64, payload.
  EXPECT_EQ(hex,
            "414b564201000000"
            "ca698d3bce1627c3072f0ee479aef0c7"
            "0123456789abcdeffedcba9876543210"
            "0800000000000000"
            "b9a6811cdffe7b9f"
            "050c131a21282f36");
  EXPECT_EQ(row.size(), 32u);
  EXPECT_EQ(row.substr(16), v.substr(kBlockKeyAt, 16));
}

// Damage RocksDB itself catches (a table block failing its checksum) is corrupt KV too: the
// row is deleted and reported absent, and the store's other blocks are served.
TEST(KvStoreTableDamage, ADamagedTableBlockIsDroppedLikeACorruptValue) {
  TempDir dir;
  const std::string marker = "a-unique-marker-in-the-payload";
  std::vector<std::byte> big = payload(6000, 9);
  std::memcpy(big.data() + 3000, marker.data(), marker.size());
  {
    auto db = Db::open(dir.path());
    ASSERT_TRUE(db.ok());
    auto store = KvStore::open(*db, "model");
    ASSERT_TRUE(store.ok());
    ASSERT_TRUE((*store)->put(kKey, big).ok());
    ASSERT_TRUE((*store)->put(kOtherKey, payload(6000, 4)).ok());
    ASSERT_TRUE((*db)->flush().ok());
  }
  const auto table = largest_table(dir.path(), Cf::kv_blocks);
  const auto at = read_file(table).find(marker);
  ASSERT_NE(at, std::string::npos);
  flip(table, at + 5);

  auto store = KvStore::open(dir.path(), "model");
  ASSERT_TRUE(store.ok()) << store.error().to_string();
  for (int i = 0; i < 2; ++i) {
    auto got = (*store)->get(kKey);
    ASSERT_TRUE(got.ok()) << got.error().to_string();
    EXPECT_FALSE(got->has_value());
    EXPECT_EQ((*store)->corrupt_dropped(), 1);  // the second get finds it deleted
  }
  auto other = (*store)->get(kOtherKey);
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(*other, payload(6000, 4));
}

}  // namespace
}  // namespace agentrt::storage
