// fingerprint.h: XXH3-128 over the canonical config and a sample of every tensor.
#include "engine/model/fingerprint.h"

#include <xxhash.h>

#include <array>
#include <cstdint>
#include <memory>

namespace agentrt::model {
namespace {

constexpr std::size_t kSampleBytes = 4096;

// Streams fields into XXH3-128; integers little-endian and every string length-prefixed, so
// field boundaries cannot shift between inputs.
class Hasher {
 public:
  Hasher() : state_(XXH3_createState(), &XXH3_freeState) { XXH3_128bits_reset(state_.get()); }

  void bytes(const void* data, std::size_t size) {
    if (size > 0) XXH3_128bits_update(state_.get(), data, size);
  }
  void u64(std::uint64_t v) {
    std::array<unsigned char, 8> le{};
    for (std::size_t i = 0; i < le.size(); ++i)
      le[i] = static_cast<unsigned char>(v >> (8 * i));
    bytes(le.data(), le.size());
  }
  void str(std::string_view s) {
    u64(s.size());
    bytes(s.data(), s.size());
  }
  std::string hex_digest() const {
    XXH128_canonical_t canonical;
    XXH128_canonicalFromHash(&canonical, XXH3_128bits_digest(state_.get()));
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    for (unsigned char byte : canonical.digest) {
      out += kHex[byte >> 4];
      out += kHex[byte & 15];
    }
    return out;
  }

 private:
  std::unique_ptr<XXH3_state_t, decltype(&XXH3_freeState)> state_;
};

void hash_tensor(Hasher& h, const TensorView& t) {
  h.str(t.name);
  h.str(dtype_name(t.dtype));
  h.u64(t.shape.size());
  for (std::int64_t d : t.shape)
    h.u64(static_cast<std::uint64_t>(d));
  const std::size_t n = t.data.size();
  h.u64(n);
  // First and last 4 KiB; a tensor of 8 KiB or less is hashed whole, once.
  const std::size_t head = std::min(n, kSampleBytes);
  const std::size_t tail = std::min(n - head, kSampleBytes);
  h.bytes(t.data.data(), head);
  h.bytes(t.data.data() + (n - tail), tail);
}

}  // namespace

std::string compute_fingerprint(const ModelConfig& config, const Checkpoint& checkpoint) {
  Hasher h;
  h.str("agentrt-model-fingerprint-v1");
  h.str(config.canonical_json());
  const std::vector<const TensorView*> tensors = checkpoint.tensors();  // sorted by name
  h.u64(tensors.size());
  for (const TensorView* t : tensors)
    hash_tensor(h, *t);
  return h.hex_digest();
}

}  // namespace agentrt::model
