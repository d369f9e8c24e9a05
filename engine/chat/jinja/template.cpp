#include "engine/chat/jinja/template.h"

#include "engine/chat/jinja/interpreter.h"
#include "engine/chat/jinja/lexer.h"
#include "engine/chat/jinja/parser.h"

namespace agentrt::chat::jinja {

Result<Template> Template::parse(std::string_view text, std::string source) {
  auto tokens = tokenize(text, source);
  if (!tokens.ok()) return tokens.error();
  auto program = jinja::parse(*tokens, text, source);
  if (!program.ok()) return program.error();
  Template t;
  t.text_ = std::string(text);
  t.source_ = std::move(source);
  t.program_ = std::shared_ptr<const Node>(std::move(*program));
  return t;
}

Result<std::string> Template::render(const nlohmann::ordered_json& context,
                                     const Limits& limits) const {
  if (!context.is_object() && !context.is_null())
    return make_error(ErrorCode::invalid_argument, source_ + ": render context must be an object");
  try {
    Interpreter interp(limits);
    auto env = std::make_shared<Env>();
    install_globals(*env, interp);
    if (context.is_object())
      for (auto it = context.begin(); it != context.end(); ++it)
        env->set(it.key(), from_json(it.value()));
    std::string out = interp.run(*program_, env);
    env->clear();
    return out;
  } catch (const Failure& f) {
    const std::string where =
        f.offset == static_cast<std::size_t>(-1) ? "" : ":" + line_col(text_, f.offset);
    return make_error(ErrorCode::invalid_argument, source_ + where + ": " + f.message);
  } catch (const std::bad_alloc&) {
    return make_error(ErrorCode::out_of_memory, source_ + ": out of memory while rendering");
  } catch (const std::exception& e) {
    return make_error(ErrorCode::internal, source_ + ": " + e.what());
  }
}

}  // namespace agentrt::chat::jinja
