// Checkpoint: the tensors of a Hugging Face model directory, memory-mapped.
// Reads DIR/model.safetensors, or (when that is absent) DIR/model.safetensors.index.json and
// its shards. Shard names must be plain file names in DIR; symlinks are followed (the Hugging
// Face cache links snapshot files to blobs elsewhere). The files must not be truncated while
// mapped: reading a page past the new end raises SIGBUS.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "engine/common/result.h"
#include "engine/model/safetensors.h"

namespace agentrt::model {

class Checkpoint {
 public:
  // Opens every shard and validates every header. Errors name the file (and the tensor):
  // a missing shard, a tensor listed in the index but absent from its shard, a tensor in
  // two shards, a truncated file, lying offsets. Tensors a shard holds but the index does not
  // list are included.
  static Result<Checkpoint> open(const std::filesystem::path& model_dir);

  // nullptr when absent.
  const TensorView* find(const std::string& name) const;
  // All tensors, sorted by name.
  std::vector<const TensorView*> tensors() const;
  std::size_t tensor_count() const { return tensors_.size(); }
  const std::filesystem::path& dir() const { return dir_; }
  // "model.safetensors" or "model.safetensors.index.json": the file that names the tensors.
  const std::string& source() const { return source_; }

  // Movable (moves keep every TensorView address and its data valid), not copyable.
  Checkpoint(Checkpoint&&) noexcept = default;
  Checkpoint& operator=(Checkpoint&&) noexcept = default;
  Checkpoint(const Checkpoint&) = delete;
  Checkpoint& operator=(const Checkpoint&) = delete;
  ~Checkpoint() = default;

 private:
  Checkpoint() = default;
  Status add_file(const std::string& file_name);
  Status add_sharded();

  std::filesystem::path dir_;
  std::string source_;
  std::vector<MappedFile> files_;
  std::map<std::string, TensorView> tensors_;
};

}  // namespace agentrt::model
