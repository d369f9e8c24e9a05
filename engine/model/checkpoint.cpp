// checkpoint.h: opening a single-file or sharded safetensors checkpoint.
#include "engine/model/checkpoint.h"

#include <limits>
#include <set>
#include <system_error>
#include <utility>

#include "engine/common/file_read.h"
#include "engine/model/strict_json.h"

namespace agentrt::model {
namespace {

constexpr const char* kSingleFile = "model.safetensors";
constexpr const char* kIndexFile = "model.safetensors.index.json";

bool is_plain_file_name(const std::string& name) {
  return !name.empty() && name != "." && name != ".." &&
         name.find_first_of(std::string("/\0", 2)) == std::string::npos;
}

Error index_error(ErrorCode code, const std::string& message) {
  return make_error(code, std::string(kIndexFile) + ": " + message);
}

// weight_map of the index: shard file name -> the tensors the index places there.
Result<std::map<std::string, std::vector<std::string>>> read_weight_map(
    const std::filesystem::path& dir) {
  auto index = read_strict_json_file(dir / kIndexFile, kIndexFile);
  AGENTRT_TRY(index);
  if (!index->is_object()) return index_error(ErrorCode::parse, "expected a JSON object");
  const auto it = index->find("weight_map");
  if (it == index->end() || !it->is_object()) {
    return index_error(ErrorCode::parse, "/weight_map: missing or not an object");
  }
  if (it->empty()) return index_error(ErrorCode::parse, "/weight_map: empty");
  std::map<std::string, std::vector<std::string>> shards;
  for (const auto& [tensor, shard] : it->items()) {
    const std::string where = "/weight_map/" + json_pointer_token(tensor);
    if (!shard.is_string()) return index_error(ErrorCode::parse, where + ": expected a file name");
    const auto& name = shard.get_ref<const std::string&>();
    if (!is_plain_file_name(name)) {
      return index_error(
          ErrorCode::invalid_argument,
          where + ": shard file name '" + name + "' must name a file inside the model directory");
    }
    shards[name].push_back(tensor);
  }
  return shards;
}

}  // namespace

Status Checkpoint::add_file(const std::string& file_name) {
  auto file = MappedFile::open(dir_ / file_name);
  AGENTRT_TRY(file);
  auto header = parse_safetensors_header(file->bytes(), file_name);
  AGENTRT_TRY(header);
  const std::byte* data = file->bytes().data() + header->data_offset;
  for (TensorInfo& info : header->tensors) {
    const auto [it, inserted] = tensors_.try_emplace(info.name);
    if (!inserted) {
      return make_error(ErrorCode::corrupt,
                        file_name + ": tensor '" + info.name + "' is also in " + it->second.file);
    }
    TensorView& view = it->second;
    view.name = info.name;
    view.file = file_name;
    view.dtype = info.dtype;
    view.shape = std::move(info.shape);
    view.data = {data + info.begin, static_cast<std::size_t>(info.end - info.begin)};
  }
  files_.push_back(std::move(file).value());  // moving keeps the mapping, so views stay valid
  return ok_status();
}

Status Checkpoint::add_sharded() {
  auto shards = read_weight_map(dir_);
  AGENTRT_TRY(shards);
  for (const auto& [shard, names] : *shards) {
    const Status added = add_file(shard);
    if (!added.ok()) {
      return added.error().with_context(std::string(kIndexFile) + ": shard '" + shard + "'");
    }
  }
  for (const auto& [shard, names] : *shards) {
    for (const std::string& name : names) {
      const TensorView* view = find(name);
      if (view == nullptr || view->file != shard) {
        return index_error(ErrorCode::corrupt,
                           "tensor '" + name + "' is listed in shard '" + shard + "', but " +
                               (view == nullptr ? "no shard" : "'" + view->file + "'") +
                               " holds it");
      }
    }
  }
  return ok_status();
}

namespace {

// Whether dir/name exists. Errors (naming the path) other than "no such file": a symlink
// loop, a permission problem. Never throws.
Result<bool> entry_exists(const std::filesystem::path& path) {
  std::error_code ec;
  const auto st = std::filesystem::status(path, ec);
  if (ec && ec != std::errc::no_such_file_or_directory) {
    // check_regular_file words it as every bounded read does ("too many levels of ...").
    auto named = check_regular_file(path, std::numeric_limits<std::uint64_t>::max());
    if (!named.ok()) return named.error();
    return make_error(ErrorCode::io, path.string() + ": " + ec.message());
  }
  return std::filesystem::exists(st);
}

}  // namespace

Result<Checkpoint> Checkpoint::open(const std::filesystem::path& model_dir) {
  Checkpoint checkpoint;
  checkpoint.dir_ = model_dir;
  std::error_code ec;
  if (!std::filesystem::is_directory(model_dir, ec)) {
    if (ec && ec != std::errc::no_such_file_or_directory) {
      return make_error(ErrorCode::io, model_dir.string() + ": " + ec.message());
    }
    return make_error(ErrorCode::not_found, model_dir.string() + ": not a directory");
  }
  auto single = entry_exists(model_dir / kSingleFile);
  AGENTRT_TRY(single);
  auto index = *single ? Result<bool>(false) : entry_exists(model_dir / kIndexFile);
  AGENTRT_TRY(index);
  if (*single) {
    checkpoint.source_ = kSingleFile;
    AGENTRT_TRY(checkpoint.add_file(kSingleFile));
  } else if (*index) {
    checkpoint.source_ = kIndexFile;
    AGENTRT_TRY(checkpoint.add_sharded());
  } else {
    return make_error(ErrorCode::not_found, model_dir.string() +
                                                ": no checkpoint found (looked for " + kSingleFile +
                                                " and " + kIndexFile + ")");
  }
  return checkpoint;
}

const TensorView* Checkpoint::find(const std::string& name) const {
  const auto it = tensors_.find(name);
  return it == tensors_.end() ? nullptr : &it->second;
}

std::vector<const TensorView*> Checkpoint::tensors() const {
  std::vector<const TensorView*> out;
  out.reserve(tensors_.size());
  for (const auto& [name, view] : tensors_)
    out.push_back(&view);
  return out;
}

}  // namespace agentrt::model
