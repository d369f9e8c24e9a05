// model.h: Model::load, which ties config, checkpoint, weight binding and fingerprint together.
#include "engine/model/model.h"

#include <utility>

#include "engine/model/fingerprint.h"

namespace agentrt::model {

Model::Model(ModelConfig config, Checkpoint checkpoint)
    : config_(std::move(config)), checkpoint_(std::move(checkpoint)) {}

Result<std::shared_ptr<const Model>> Model::load(const std::filesystem::path& model_dir,
                                                 const LoadOptions& options) {
  auto config = load_config(model_dir);
  if (!config.ok()) return config.error().with_context(model_dir.string());
  auto checkpoint = Checkpoint::open(model_dir);
  if (!checkpoint.ok()) return checkpoint.error().with_context(model_dir.string());
  // Bind only once the checkpoint sits in its final place: weights_ points into its map.
  std::shared_ptr<Model> model(new Model(std::move(config).value(), std::move(checkpoint).value()));
  auto weights = bind_weights(model->checkpoint_, model->config_);
  AGENTRT_TRY(weights);
  if (auto st = check_finite_weights(model->checkpoint_, options.weight_check); !st.ok()) {
    return st.error().with_context(model_dir.string());
  }
  model->weights_ = std::move(weights).value();
  model->fingerprint_ = compute_fingerprint(model->config_, model->checkpoint_);
  return std::shared_ptr<const Model>(std::move(model));
}

}  // namespace agentrt::model
