// A parsed Jinja template (a model's tokenizer_config.json "chat_template"), rendered with
// the semantics of the reference renderer @huggingface/jinja 0.5.11 (transformers.js):
// lstrip_blocks and trim_blocks on, the reference's filters, tests, methods and globals
// (namespace, range, raise_exception, strftime_now). Golden-tested byte for byte against it
// (tests/jinja). What is covered and what is not: /work docs, "Jinja chat templates".
//
// Bad or hostile templates get an error "SOURCE:LINE:COL: message", never a crash: output
// size, loop iterations, value sizes and nesting are capped (Limits). Thread-safe for
// concurrent render() calls on one Template (render keeps its state on its own stack).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "engine/chat/jinja/ast.h"
#include "engine/chat/jinja/value.h"
#include "engine/common/result.h"

namespace agentrt::chat::jinja {

class Template {
 public:
  // Parses text. source names the template in errors ("qwen3/tokenizer_config.json").
  // Errors: parse, "SOURCE:LINE:COL: Unexpected token: ...".
  static Result<Template> parse(std::string_view text, std::string source);

  // Renders with the variables of context (a JSON object: messages, tools,
  // add_generation_prompt, bos_token, ...). Errors name the template line:col of the failing
  // node: raise_exception(msg) gives invalid_argument "SOURCE:LINE:COL: msg"; a cap or a type
  // error gives invalid_argument too.
  Result<std::string> render(const nlohmann::ordered_json& context,
                             const Limits& limits = Limits()) const;

  const std::string& source() const { return source_; }

 private:
  Template() = default;
  std::string text_;
  std::string source_;
  std::shared_ptr<const Node> program_;
};

}  // namespace agentrt::chat::jinja
