#include "cli/flag_text.h"

namespace agentrt::cli {

CLI::Option* add_flag_text(CLI::App* cmd, const std::string& name, std::optional<std::string>& out,
                           const std::string& description) {
  return cmd
      ->add_option_function<std::string>(
          name, [&out](const std::string& text) { out = text; }, description)
      ->type_name("NUMBER");
}

}  // namespace agentrt::cli
