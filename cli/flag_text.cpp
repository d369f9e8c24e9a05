#include "cli/flag_text.h"

namespace agentrt::cli {

CLI::Option* add_flag_text(CLI::App* cmd, const std::string& name, std::optional<std::string>& out,
                           const std::string& description) {
  return cmd
      ->add_option_function<std::string>(
          name, [&out](const std::string& text) { out = text; }, description)
      ->type_name("NUMBER");
}

CLI::Option* add_check_weights_flag(CLI::App* cmd, std::string& out) {
  return cmd
      ->add_option("--check-weights", out,
                   "NaN/infinity check of the weights at load: none, sample (norms and biases "
                   "whole, a strided sample of the rest) or full (every element)")
      ->check(CLI::IsMember({"none", "sample", "full"}))
      ->default_str("sample");
}

CLI::Option* add_schedule_option(CLI::App* cmd, std::string& out) {
  return cmd
      ->add_option("--schedule", out,
                   "The engine's queue order: attained (least service first, by program: "
                   "Autellix), program (a resumed turn of a running program first) or fcfs")
      ->check(CLI::IsMember({"attained", "program", "fcfs"}))
      ->default_str("attained");
}

CLI::Option* add_blend_anchors_flag(CLI::App* cmd, bool& out) {
  return cmd->add_flag("--blend-anchors", out,
                       "Under kv_reuse blend, correct placed segments by KVCOMM-style anchors "
                       "(offsets learned from earlier placements computed in full, kept in "
                       "the engine's RAM): lower divergence at low blend_recompute, at a "
                       "host-side cost per placement. The default for work that does not set "
                       "blend_anchors");
}

}  // namespace agentrt::cli
