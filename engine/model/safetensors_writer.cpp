// safetensors_writer.h: building safetensors file images.
#include "engine/model/safetensors_writer.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

namespace agentrt::model {

Result<std::string> encode_safetensors(const std::vector<TensorData>& tensors,
                                       const std::map<std::string, std::string>& metadata) {
  nlohmann::json header = nlohmann::json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::set<std::string> names;
  std::string data;
  for (const TensorData& t : tensors) {
    std::uint64_t numel = 1;
    for (std::int64_t d : t.shape) {
      if (d < 0) return make_error(ErrorCode::invalid_argument, t.name + ": negative dimension");
      numel *= static_cast<std::uint64_t>(d);
    }
    if (numel * dtype_size(t.dtype) != t.bytes.size()) {
      return make_error(
          ErrorCode::invalid_argument,
          t.name + ": " + std::to_string(t.bytes.size()) + " bytes do not match the shape");
    }
    if (t.name == "__metadata__" || !names.insert(t.name).second) {
      return make_error(ErrorCode::invalid_argument, t.name + ": duplicate or reserved name");
    }
    header[t.name] = {{"dtype", dtype_name(t.dtype)},
                      {"shape", t.shape},
                      {"data_offsets", {data.size(), data.size() + t.bytes.size()}}};
    data += t.bytes;
  }
  return frame_safetensors(header.dump(), data);
}

std::string frame_safetensors(std::string_view header_json, std::string_view data) {
  std::string header(header_json);
  while ((8 + header.size()) % 8 != 0)
    header += ' ';
  std::string out(8, '\0');
  std::uint64_t length = header.size();
  for (int i = 0; i < 8; ++i)
    out[i] = static_cast<char>((length >> (8 * i)) & 0xff);
  out += header;
  out += data;
  return out;
}

Status write_text_file(const std::filesystem::path& path, std::string_view text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (out) out.write(text.data(), static_cast<std::streamsize>(text.size()));
  if (!out) {
    return make_error(ErrorCode::io, path.string() + ": cannot write: " + std::strerror(errno));
  }
  return ok_status();
}

Status write_safetensors(const std::filesystem::path& path, const std::vector<TensorData>& tensors,
                         const std::map<std::string, std::string>& metadata) {
  auto image = encode_safetensors(tensors, metadata);
  AGENTRT_TRY(image);
  return write_text_file(path, *image);
}

}  // namespace agentrt::model
