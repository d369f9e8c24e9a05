// Why a request's turn ended.
#pragma once

namespace agentrt {

enum class FinishReason { length, stop_token, stop_string, context_full };

const char* to_string(FinishReason reason);

}  // namespace agentrt
