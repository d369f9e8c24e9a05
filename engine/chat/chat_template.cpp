#include "engine/chat/chat_template.h"

#include <cstdio>
#include <ctime>

#include "engine/chat/template_renderers.h"
#include "engine/common/file_read.h"
#include "engine/common/json_depth.h"

namespace agentrt::chat {

const char* to_string(Family family) {
  switch (family) {
    case Family::chatml_qwen:
      return "chatml_qwen";
    case Family::llama3:
      return "llama3";
    case Family::llama3_tools:
      return "llama3_tools";
  }
  return "?";
}

const char* to_string(ToolCallFormat format) {
  switch (format) {
    case ToolCallFormat::none:
      return "none";
    case ToolCallFormat::hermes:
      return "hermes";
    case ToolCallFormat::llama_json:
      return "llama_json";
    case ToolCallFormat::mistral:
      return "mistral";
    case ToolCallFormat::harmony:
      return "harmony";
  }
  return "?";
}

ToolCallFormat tool_call_format(Family family) {
  return family == Family::chatml_qwen ? ToolCallFormat::hermes : ToolCallFormat::llama_json;
}

ToolCallFormat detect_tool_call_format(std::string_view t) {
  auto has = [&](std::string_view marker) { return t.find(marker) != std::string_view::npos; };
  if (has("[TOOL_CALLS]")) return ToolCallFormat::mistral;
  if (has("<|channel|>") && has("to=functions")) return ToolCallFormat::harmony;
  if (has("<tool_call>")) return ToolCallFormat::hermes;
  if (has("<|python_tag|>") || (has("<|start_header_id|>") && has("\"parameters\"")))
    return ToolCallFormat::llama_json;
  return ToolCallFormat::none;
}

bool needs_special_tokens(ToolCallFormat format) {
  return format == ToolCallFormat::mistral || format == ToolCallFormat::harmony;
}

Result<Family> parse_family(std::string_view name) {
  if (name == "chatml_qwen") return Family::chatml_qwen;
  if (name == "llama3") return Family::llama3;
  if (name == "llama3_tools" || name == "llama3_1") return Family::llama3_tools;
  return make_error(ErrorCode::invalid_argument, "unknown chat family '" + std::string(name) +
                                                     "' (chatml_qwen, llama3, llama3_tools)");
}

std::string today_date_string() {
  const std::time_t now = std::time(nullptr);
  std::tm local{};
  if (localtime_r(&now, &local) == nullptr) return "26 Jul 2024";  // the template's fallback
  // %d and %Y are locale-independent; %b is not, so spell the C locale's month names.
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%02d %s %04d", local.tm_mday, kMonths[local.tm_mon % 12],
                local.tm_year + 1900);
  return buf;
}

Result<std::string> render(Family family, const Conversation& conv, const RenderOptions& options) {
  if (conv.messages.empty())
    return make_error(ErrorCode::invalid_argument, "cannot render an empty conversation");
  switch (family) {
    case Family::chatml_qwen:
      return render_chatml_qwen(conv, options);
    case Family::llama3:
      return render_llama3(conv, options);
    case Family::llama3_tools:
      return render_llama3_tools(conv, options);
  }
  return make_error(ErrorCode::internal, "unknown chat family");
}

Result<Family> detect_family(std::string_view chat_template, const std::string& source) {
  if (chat_template.find("<|im_start|>") != std::string_view::npos) return Family::chatml_qwen;
  if (chat_template.find("<|start_header_id|>") != std::string_view::npos) {
    // Meta's tool-calling template dates its system header and names the ipython role.
    const bool tools = chat_template.find("Environment: ipython") != std::string_view::npos ||
                       chat_template.find("Cutting Knowledge Date") != std::string_view::npos;
    return tools ? Family::llama3_tools : Family::llama3;
  }
  return make_error(ErrorCode::unsupported,
                    source +
                        ": chat template matches no known family (chatml_qwen, llama3, "
                        "llama3_tools); name the family explicitly");
}

Result<Family> detect_family_in_dir(const std::string& model_dir) {
  const std::string path = model_dir + "/tokenizer_config.json";
  // Bounded: a FIFO or device named tokenizer_config.json must not block or grow.
  auto text = read_file_bounded(path, kMaxConfigFileBytes);
  if (!text.ok()) return text.error();
  AGENTRT_TRY(check_json_depth(*text, path));
  try {
    const Json config = Json::parse(*text);
    if (!config.is_object() || !config.contains("chat_template"))
      return make_error(ErrorCode::unsupported, path + ": no chat_template");
    const Json& t = config["chat_template"];
    if (t.is_string()) return detect_family(t.get<std::string>(), model_dir);
    // A list of named templates: use "default".
    if (t.is_array())
      for (const Json& named : t)
        if (named.is_object() && named.value("name", "") == "default" &&
            named.contains("template") && named["template"].is_string())
          return detect_family(named["template"].get<std::string>(), model_dir);
    return make_error(ErrorCode::unsupported, path + ": /chat_template: expected a string");
  } catch (const std::exception& e) {
    return make_error(ErrorCode::parse, path + ": " + e.what());
  }
}

}  // namespace agentrt::chat
