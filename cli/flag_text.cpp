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

}  // namespace agentrt::cli
