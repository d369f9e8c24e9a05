// libFuzzer target for parse_safetensors_header (built with clang -fsanitize=fuzzer; excluded
// from the normal build by its .fuzz.cpp suffix). Traps when an accepted header breaks the
// invariants documented in safetensors.h.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "engine/model/safetensors.h"

namespace {

void check(bool condition) {
  if (!condition) __builtin_trap();
}

void check_invariants(const agentrt::model::SafetensorsHeader& h, std::size_t file_size) {
  check(h.data_offset <= file_size);
  const std::uint64_t data_size = file_size - h.data_offset;
  std::set<std::string> names;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> ranges;
  for (const agentrt::model::TensorInfo& t : h.tensors) {
    check(names.insert(t.name).second);
    check(t.begin <= t.end && t.end <= data_size);
    check(static_cast<std::uint64_t>(t.numel()) * agentrt::model::dtype_size(t.dtype) ==
          t.end - t.begin);
    if (t.end > t.begin) ranges.emplace_back(t.begin, t.end);
  }
  std::sort(ranges.begin(), ranges.end());
  for (std::size_t i = 1; i < ranges.size(); ++i)
    check(ranges[i - 1].second <= ranges[i].first);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::byte> file(reinterpret_cast<const std::byte*>(data), size);
  auto header = agentrt::model::parse_safetensors_header(file, "fuzz.safetensors");
  if (header.ok()) check_invariants(*header, size);
  return 0;
}
