// safetensors.h: header parsing. Every check works on untrusted bytes and never reads outside
// the given span; the fuzz targets (safetensors.fuzz.cpp, safetensors_fuzz.test.cpp) hold it
// to that.
#include "engine/model/safetensors.h"

#include <algorithm>
#include <limits>
#include <tuple>

#include "engine/model/strict_json.h"

namespace agentrt::model {
namespace {

using nlohmann::json;

// Same cap as the reference implementation: a larger header is an attack, not a model.
constexpr std::uint64_t kMaxHeaderBytes = 100ull << 20;

std::int64_t shape_numel(const std::vector<std::int64_t>& shape) {
  std::int64_t n = 1;
  for (std::int64_t d : shape)
    n *= d;
  return n;
}

class HeaderParser {
 public:
  HeaderParser(std::string_view file_name, std::uint64_t data_size)
      : file_(file_name), data_size_(data_size) {}

  Error fail(ErrorCode code, const std::string& message) const {
    return make_error(code, std::string(file_) + ": " + message);
  }
  Error tensor_fail(const std::string& name, const std::string& message) const {
    return fail(ErrorCode::corrupt, "tensor '" + name + "': " + message);
  }

  Status parse_metadata(const json& value, SafetensorsHeader& out) const;
  Result<TensorInfo> parse_tensor(const std::string& name, const json& value) const;
  Status check_overlaps(std::vector<TensorInfo>& tensors) const;

 private:
  Result<std::vector<std::int64_t>> parse_shape(const std::string& name, const json& value) const;
  Status parse_offsets(const json& value, TensorInfo& info) const;

  std::string_view file_;
  std::uint64_t data_size_;
};

Status HeaderParser::parse_metadata(const json& value, SafetensorsHeader& out) const {
  if (!value.is_object()) return fail(ErrorCode::corrupt, "__metadata__ is not an object");
  for (const auto& [key, item] : value.items()) {
    if (!item.is_string()) {
      return fail(ErrorCode::corrupt, "__metadata__ value '" + key + "' is not a string");
    }
    out.metadata.emplace(key, item.get<std::string>());
  }
  return ok_status();
}

Result<std::vector<std::int64_t>> HeaderParser::parse_shape(const std::string& name,
                                                            const json& value) const {
  if (!value.is_array()) return tensor_fail(name, "shape is not an array");
  std::vector<std::int64_t> shape;
  std::int64_t numel = 1;
  constexpr auto kMaxDim = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  for (const json& dim : value) {
    // No dump() of untrusted values here: it recurses, and the input may nest deeply.
    const std::string where = "shape dimension " + std::to_string(shape.size());
    if (!dim.is_number_unsigned() || dim.get<std::uint64_t>() > kMaxDim) {
      return tensor_fail(name, where + " is not a non-negative integer");
    }
    const auto d = static_cast<std::int64_t>(dim.get<std::uint64_t>());
    if (__builtin_mul_overflow(numel, d, &numel)) {
      return tensor_fail(name, where + " overflows the element count");
    }
    shape.push_back(d);
  }
  return shape;
}

Status HeaderParser::parse_offsets(const json& value, TensorInfo& info) const {
  if (!value.is_array() || value.size() != 2 || !value[0].is_number_unsigned() ||
      !value[1].is_number_unsigned()) {
    return tensor_fail(info.name, "data_offsets is not a pair of non-negative integers");
  }
  info.begin = value[0].get<std::uint64_t>();
  info.end = value[1].get<std::uint64_t>();
  const std::string range =
      "[" + std::to_string(info.begin) + ", " + std::to_string(info.end) + ")";
  if (info.end < info.begin)
    return tensor_fail(info.name, "data_offsets " + range + " end before begin");
  if (info.end > data_size_) {
    return tensor_fail(info.name, "data_offsets " + range + " exceed the data section of " +
                                      std::to_string(data_size_) + " bytes (truncated file?)");
  }
  std::uint64_t bytes = 0;
  const auto numel = static_cast<std::uint64_t>(info.numel());
  const bool overflow = __builtin_mul_overflow(numel, dtype_size(info.dtype), &bytes);
  if (overflow || bytes != info.end - info.begin) {
    return tensor_fail(info.name,
                       "data_offsets " + range + " hold " + std::to_string(info.end - info.begin) +
                           " bytes, but " + std::to_string(numel) + " " +
                           std::string(dtype_name(info.dtype)) + " elements need " +
                           (overflow ? "more than 2^64" : std::to_string(bytes)) + " bytes");
  }
  return ok_status();
}

Result<TensorInfo> HeaderParser::parse_tensor(const std::string& name, const json& value) const {
  if (!value.is_object()) return tensor_fail(name, "entry is not an object");
  TensorInfo info;
  info.name = name;
  const auto dtype_it = value.find("dtype");
  const auto shape_it = value.find("shape");
  const auto offsets_it = value.find("data_offsets");
  if (dtype_it == value.end() || !dtype_it->is_string()) return tensor_fail(name, "missing dtype");
  if (shape_it == value.end()) return tensor_fail(name, "missing shape");
  if (offsets_it == value.end()) return tensor_fail(name, "missing data_offsets");
  const auto& dtype_str = dtype_it->get_ref<const std::string&>();
  const std::optional<DType> dtype = parse_dtype(dtype_str);
  if (!dtype) {
    return fail(ErrorCode::unsupported, "tensor '" + name + "': dtype '" + dtype_str +
                                            "' is not supported (supported: F32, F16, BF16)");
  }
  info.dtype = *dtype;
  auto shape = parse_shape(name, *shape_it);
  AGENTRT_TRY(shape);
  info.shape = std::move(shape).value();
  AGENTRT_TRY(parse_offsets(*offsets_it, info));
  return info;
}

Status HeaderParser::check_overlaps(std::vector<TensorInfo>& tensors) const {
  std::sort(tensors.begin(), tensors.end(), [](const TensorInfo& a, const TensorInfo& b) {
    return std::tie(a.begin, a.end, a.name) < std::tie(b.begin, b.end, b.name);
  });
  const TensorInfo* reach = nullptr;  // the non-empty tensor that ends last so far
  for (const TensorInfo& t : tensors) {
    if (t.begin == t.end) continue;
    if (reach != nullptr && t.begin < reach->end) {
      return tensor_fail(t.name, "data overlaps tensor '" + reach->name + "'");
    }
    if (reach == nullptr || t.end > reach->end) reach = &t;
  }
  return ok_status();
}

Result<std::uint64_t> read_header_length(std::span<const std::byte> file, std::string_view name) {
  const std::string where(name);
  if (file.size() < 8) {
    return make_error(ErrorCode::corrupt, where + ": file of " + std::to_string(file.size()) +
                                              " bytes is too short for a safetensors header");
  }
  std::uint64_t length = 0;
  for (int i = 7; i >= 0; --i)
    length = (length << 8) | static_cast<std::uint8_t>(file[i]);
  if (length > file.size() - 8) {
    return make_error(ErrorCode::corrupt, where + ": header length " + std::to_string(length) +
                                              " exceeds the file size " +
                                              std::to_string(file.size()) + " (truncated file?)");
  }
  if (length > kMaxHeaderBytes) {
    return make_error(ErrorCode::unsupported,
                      where + ": header length " + std::to_string(length) + " exceeds 100 MiB");
  }
  return length;
}

}  // namespace

std::int64_t TensorInfo::numel() const {
  return shape_numel(shape);
}
std::int64_t TensorView::numel() const {
  return shape_numel(shape);
}

Result<SafetensorsHeader> parse_safetensors_header(std::span<const std::byte> file,
                                                   std::string_view file_name) {
  auto length = read_header_length(file, file_name);
  AGENTRT_TRY(length);
  const std::string_view text(reinterpret_cast<const char*>(file.data()) + 8, *length);
  auto root = parse_strict_json(text, file_name);
  AGENTRT_TRY(root);
  SafetensorsHeader header;
  header.data_offset = 8 + *length;
  HeaderParser parser(file_name, file.size() - header.data_offset);
  if (!root->is_object()) return parser.fail(ErrorCode::corrupt, "header is not a JSON object");
  for (const auto& [name, value] : root->items()) {
    if (name == "__metadata__") {
      AGENTRT_TRY(parser.parse_metadata(value, header));
      continue;
    }
    auto info = parser.parse_tensor(name, value);
    AGENTRT_TRY(info);
    header.tensors.push_back(std::move(info).value());
  }
  AGENTRT_TRY(parser.check_overlaps(header.tensors));
  return header;
}

}  // namespace agentrt::model
