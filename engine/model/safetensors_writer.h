// Writing safetensors files: used by tests to build model directories, and by tools that
// export weights. Produces the layout parse_safetensors_header accepts: tensors stored in
// the given order, back to back, header padded with spaces to a multiple of 8 bytes.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "engine/common/result.h"
#include "engine/model/dtype.h"

namespace agentrt::model {

struct TensorData {
  std::string name;
  DType dtype = DType::f32;
  std::vector<std::int64_t> shape;
  std::string bytes;  // raw little-endian elements; size must be numel * dtype_size
};

// Returns the whole file image. Error (invalid_argument) when a tensor's byte size does not
// match its shape, or a name repeats or is "__metadata__".
Result<std::string> encode_safetensors(const std::vector<TensorData>& tensors,
                                       const std::map<std::string, std::string>& metadata = {});

// Frames arbitrary header text as a safetensors file: u64 LE length, header, data. No checks:
// meant for building malformed files in tests and fuzz seeds.
std::string frame_safetensors(std::string_view header_json, std::string_view data);

// Writes encode_safetensors(...) to path (replacing it). Errors name the path.
Status write_safetensors(const std::filesystem::path& path, const std::vector<TensorData>& tensors,
                         const std::map<std::string, std::string>& metadata = {});

// Writes text to path (replacing it). Errors name the path.
Status write_text_file(const std::filesystem::path& path, std::string_view text);

}  // namespace agentrt::model
