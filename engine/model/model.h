// Model: a loaded Hugging Face checkpoint (config + mapped weights + fingerprint).
// Immutable after load, so any number of threads may read it.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "engine/common/result.h"
#include "engine/model/checkpoint.h"
#include "engine/model/config.h"
#include "engine/model/weight_check.h"
#include "engine/model/weights.h"

namespace agentrt::model {

struct LoadOptions {
  // NaN/infinity check of the weights (weight_check.h): a sample by default, every element
  // on request (the CLI's --check-weights full).
  WeightCheck weight_check = WeightCheck::sample;
};

class Model {
 public:
  // Loads DIR/config.json and the safetensors checkpoint, binds and checks every tensor
  // (shapes; finite values per options.weight_check). Errors name the file and the tensor.
  static Result<std::shared_ptr<const Model>> load(const std::filesystem::path& model_dir,
                                                   const LoadOptions& options = {});

  const ModelConfig& config() const { return config_; }
  const ModelWeights& weights() const { return weights_; }
  const Checkpoint& checkpoint() const { return checkpoint_; }
  // 32 hex digits; see fingerprint.h.
  const std::string& fingerprint() const { return fingerprint_; }

  // weights_ points into checkpoint_, so a Model never moves or copies.
  Model(const Model&) = delete;
  Model& operator=(const Model&) = delete;

 private:
  Model(ModelConfig config, Checkpoint checkpoint);
  ModelConfig config_;
  Checkpoint checkpoint_;
  ModelWeights weights_;
  std::string fingerprint_;
};

}  // namespace agentrt::model
