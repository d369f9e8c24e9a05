// Per-family renderers behind render() (internal to agentrt_chat).
#pragma once

#include <string>

#include "engine/chat/chat_template.h"

namespace agentrt::chat {

Result<std::string> render_chatml_qwen(const Conversation& conv, const RenderOptions& options);
Result<std::string> render_llama3(const Conversation& conv, const RenderOptions& options);
Result<std::string> render_llama3_tools(const Conversation& conv, const RenderOptions& options);

}  // namespace agentrt::chat
