#include "storage/kv_store.h"

#include <rocksdb/db.h>
#include <xxhash.h>

#include <cstring>

namespace agentrt::storage {

namespace {

constexpr std::size_t kHeaderBytes = 4 + 2 + 2 + 16 + 16 + 8 + 8;
constexpr std::size_t kChecksumAt = kHeaderBytes - 8;

template <class T>
void put_le(std::string& out, T v) {
  for (std::size_t i = 0; i < sizeof(T); ++i)
    out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

template <class T>
T get_le(const char* p) {
  T v = 0;
  for (std::size_t i = 0; i < sizeof(T); ++i) {
    v |= static_cast<T>(static_cast<T>(static_cast<unsigned char>(p[i])) << (8 * i));
  }
  return v;
}

void append_key(std::string& out, const kv::BlockKey& k) {
  const auto b = k.bytes();
  out.append(reinterpret_cast<const char*>(b.data()), b.size());
}

std::uint64_t checksum(std::string_view header_without_sum, std::string_view payload) {
  XXH3_state_t* st = XXH3_createState();
  XXH3_64bits_reset(st);
  XXH3_64bits_update(st, header_without_sum.data(), header_without_sum.size());
  XXH3_64bits_update(st, payload.data(), payload.size());
  const std::uint64_t h = XXH3_64bits_digest(st);
  XXH3_freeState(st);
  return h;
}

Error io_error(const std::string& what, const rocksdb::Status& s) {
  return make_error(ErrorCode::io, "kv store: " + what + ": " + s.ToString());
}

}  // namespace

struct KvStore::Impl {
  std::unique_ptr<rocksdb::DB> db;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;  // [default, kv_blocks, kv_meta]
  kv::BlockKey model;

  rocksdb::ColumnFamilyHandle* blocks() const { return handles[1]; }
  rocksdb::ColumnFamilyHandle* meta() const { return handles[2]; }
  Status check_format();
  ~Impl() {
    for (auto* h : handles)
      db->DestroyColumnFamilyHandle(h).PermitUncheckedError();
  }

  std::string encode(const kv::BlockKey& key, std::span<const std::byte> payload) const {
    std::string v;
    v.reserve(kHeaderBytes + payload.size());
    put_le<std::uint32_t>(v, kKvBlockMagic);
    put_le<std::uint16_t>(v, kKvBlockFormatVersion);
    put_le<std::uint16_t>(v, 0);
    append_key(v, model);
    append_key(v, key);
    put_le<std::uint64_t>(v, payload.size());
    const std::string_view body(reinterpret_cast<const char*>(payload.data()), payload.size());
    put_le<std::uint64_t>(v, checksum(v, body));
    v.append(body);
    return v;
  }

  // The payload of a value that passes every check, else nullopt.
  std::optional<std::vector<std::byte>> decode(const kv::BlockKey& key, std::string_view v) const {
    if (v.size() < kHeaderBytes) return std::nullopt;
    const char* p = v.data();
    if (get_le<std::uint32_t>(p) != kKvBlockMagic) return std::nullopt;
    if (get_le<std::uint16_t>(p + 4) != kKvBlockFormatVersion) return std::nullopt;
    std::string expect_keys;
    append_key(expect_keys, model);
    append_key(expect_keys, key);
    if (std::memcmp(p + 8, expect_keys.data(), 32) != 0) return std::nullopt;
    if (get_le<std::uint64_t>(p + 40) != v.size() - kHeaderBytes) return std::nullopt;
    const std::string_view body = v.substr(kHeaderBytes);
    if (get_le<std::uint64_t>(p + kChecksumAt) != checksum(v.substr(0, kChecksumAt), body)) {
      return std::nullopt;
    }
    std::vector<std::byte> out(body.size());
    std::memcpy(out.data(), body.data(), body.size());
    return out;
  }
};

KvStore::KvStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
KvStore::~KvStore() = default;

std::string KvStore::format_tag() {
  return "agentrt kv block v" + std::to_string(kKvBlockFormatVersion) +
         "; key = model(16) block(16)";
}

// Drops every block when the store records another format version.
Status KvStore::Impl::check_format() {
  std::string recorded;
  auto s = db->Get({}, meta(), "format", &recorded);
  if (!s.ok() && !s.IsNotFound()) return io_error("read kv_meta", s);
  if (s.ok() && recorded != format_tag()) {
    // Row keys are 32 bytes, all below 33 bytes of 0xff.
    s = db->DeleteRange({}, blocks(), std::string(), std::string(33, '\xff'));
    if (!s.ok()) return io_error("drop blocks of format '" + recorded.substr(0, 200) + "'", s);
  }
  s = db->Put({}, meta(), "format", format_tag());
  if (!s.ok()) return io_error("write kv_meta", s);
  return ok_status();
}

Result<std::unique_ptr<KvStore>> KvStore::open(const std::filesystem::path& dir,
                                               const std::string& model_fingerprint,
                                               const KvStoreOptions& store_options) {
  rocksdb::DBOptions options;
  if (store_options.env != nullptr) options.env = store_options.env;
  options.create_if_missing = true;
  options.create_missing_column_families = true;
  std::vector<rocksdb::ColumnFamilyDescriptor> cfs{
      {rocksdb::kDefaultColumnFamilyName, {}}, {"kv_blocks", {}}, {"kv_meta", {}}};
  auto impl = std::make_unique<Impl>();
  rocksdb::DB* db = nullptr;
  auto s = rocksdb::DB::Open(options, dir.string(), cfs, &impl->handles, &db);
  if (!s.ok()) return io_error("open " + dir.string(), s);
  impl->db.reset(db);
  impl->model = kv::root_key(model_fingerprint);
  AGENTRT_TRY(impl->check_format());
  s = impl->db->Put({}, impl->meta(), "model:" + impl->model.hex(), model_fingerprint);
  if (!s.ok()) return io_error("write kv_meta", s);
  return std::unique_ptr<KvStore>(new KvStore(std::move(impl)));
}

std::string KvStore::row_key(const kv::BlockKey& key) const {
  std::string k;
  append_key(k, impl_->model);
  append_key(k, key);
  return k;
}

Status KvStore::put(const kv::BlockKey& key, std::span<const std::byte> bytes) {
  auto s = impl_->db->Put({}, impl_->blocks(), row_key(key), impl_->encode(key, bytes));
  if (!s.ok()) return io_error("put " + key.hex(), s);
  return ok_status();
}

Result<std::optional<std::vector<std::byte>>> KvStore::get(const kv::BlockKey& key) {
  std::string value;
  const std::string row = row_key(key);
  auto s = impl_->db->Get({}, impl_->blocks(), row, &value);
  if (s.IsNotFound()) return std::optional<std::vector<std::byte>>();
  if (!s.ok()) return io_error("get " + key.hex(), s);
  auto payload = impl_->decode(key, value);
  if (!payload) {
    ++corrupt_dropped_;
    impl_->db->Delete({}, impl_->blocks(), row).PermitUncheckedError();
  }
  return payload;
}

Status KvStore::erase(const kv::BlockKey& key) {
  auto s = impl_->db->Delete({}, impl_->blocks(), row_key(key));
  if (!s.ok()) return io_error("delete " + key.hex(), s);
  return ok_status();
}

}  // namespace agentrt::storage
