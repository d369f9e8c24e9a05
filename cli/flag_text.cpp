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

void add_blend_anchor_flags(CLI::App* cmd, bool& on, kv::AnchorOptions& pool) {
  cmd->add_flag("--blend-anchors", on,
                "Under kv_reuse blend, correct placed segments by KVCOMM-style anchors "
                "(offsets learned from earlier placements computed in full, kept in the "
                "engine's RAM): lower divergence at low blend_recompute, at a host-side cost "
                "per placement. The default for work that does not set blend_anchors");
  cmd->add_option_function<double>(
         "--blend-anchor-mib",
         [&pool](double mib) { pool.capacity_bytes = static_cast<std::size_t>(mib * (1 << 20)); },
         "Host RAM of the anchor pool in MiB (default 32; an anchor token takes 2 x layers x "
         "KV width x 4 bytes: 14 KiB on tiny-calc, ~500 KiB at 8B)")
      ->check(CLI::Range(1.0, 1048576.0));
  cmd->add_option("--blend-anchor-tokens", pool.max_tokens,
                  "Anchor tokens the pool holds, which bounds a prediction's cost (default 2048)")
      ->check(CLI::Range(16, 1 << 20));
  cmd->add_option("--blend-anchor-novelty", pool.novelty,
                  "A placement whose change of context is this far from every anchor's "
                  "(relative layer-1 offset distance) is computed in full and recorded as an "
                  "anchor (default 0.1; lower records more)")
      ->check(CLI::Range(0.0, 1000.0));
}

}  // namespace agentrt::cli
