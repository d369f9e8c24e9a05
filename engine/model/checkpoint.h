// Checkpoint: the tensors of a Hugging Face model directory, memory-mapped.
// Reads DIR/model.safetensors, or DIR/model.safetensors.index.json and its shards.
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
  // two shards, a truncated file, lying offsets.
  static Result<Checkpoint> open(const std::filesystem::path& model_dir);

  // nullptr when absent.
  const TensorView* find(const std::string& name) const;
  // All tensors, sorted by name.
  std::vector<const TensorView*> tensors() const;
  const std::filesystem::path& dir() const { return dir_; }

 private:
  std::filesystem::path dir_;
  std::vector<MappedFile> files_;
  std::map<std::string, TensorView> tensors_;
};

}  // namespace agentrt::model
