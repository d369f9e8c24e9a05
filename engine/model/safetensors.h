// Safetensors files: header parsing (pure, fuzzed) and a memory-mapped reader.
// Format: u64 little-endian header length N, N bytes of JSON, then the data section.
// Each tensor's data_offsets [begin, end) are relative to the data section.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/common/result.h"
#include "engine/model/dtype.h"

namespace agentrt::model {

struct TensorInfo {
  std::string name;
  DType dtype = DType::f32;
  std::vector<std::int64_t> shape;
  std::uint64_t begin = 0;  // offsets relative to the data section
  std::uint64_t end = 0;

  std::int64_t numel() const;
};

struct SafetensorsHeader {
  std::vector<TensorInfo> tensors;  // in file order of their offsets
  std::map<std::string, std::string> metadata;
  std::uint64_t data_offset = 0;  // 8 + header length
};

// Parses and validates the header of a whole file held in `file` (size = file size).
// Checks: length prefix within the file, valid JSON object, known dtype, shape of
// non-negative ints, offsets within the data section, end - begin == numel * dtype size,
// no overlapping tensors, no duplicate names. Never reads outside `file`. Errors name
// file_name and the tensor.
Result<SafetensorsHeader> parse_safetensors_header(std::span<const std::byte> file,
                                                   std::string_view file_name);

// A read-only memory map of a whole file. Movable, not copyable; unmaps on destruction.
class MappedFile {
 public:
  static Result<MappedFile> open(const std::filesystem::path& path);
  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile();

  std::span<const std::byte> bytes() const { return {data_, size_}; }
  const std::filesystem::path& path() const { return path_; }

 private:
  MappedFile() = default;
  const std::byte* data_ = nullptr;
  std::size_t size_ = 0;
  std::filesystem::path path_;
};

// A tensor inside a mapped checkpoint file. `data` stays valid while the owning
// Checkpoint lives; it need not be aligned to the element size (use convert_to_f32 or memcpy).
struct TensorView {
  std::string name;
  std::string file;  // file name, for messages
  DType dtype = DType::f32;
  std::vector<std::int64_t> shape;
  std::span<const std::byte> data;

  std::int64_t numel() const;
};

}  // namespace agentrt::model
