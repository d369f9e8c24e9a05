// ToolCallRecord: what one tool call of an agent did, for reports (a workflow run's JSON,
// a REST job's result): the call, its result or error (capped), how long it took.
#pragma once

#include <cstddef>
#include <string>

namespace agentrt::actors {

// Result or error text kept per record; longer text is cut (at a UTF-8 boundary) and ends
// in "... [N bytes]".
inline constexpr std::size_t kToolRecordTextBytes = 2048;

struct ToolCallRecord {
  std::string name;
  std::string arguments;     // the call's arguments as compact JSON
  bool ok = false;           // false: `result` is the error the model saw ("error: ...")
  std::string result;        // capped at kToolRecordTextBytes
  double duration_ms = 0.0;  // from the call's start to its answer (0: refused before running)
  int attempts = 0;          // tries the tool made, when it says; 0: not known
  int turn = 0;              // the agent's reply (1-based) that made the call
};

// `text` cut to kToolRecordTextBytes (never inside a UTF-8 sequence), with the full length.
inline std::string cap_tool_text(const std::string& text) {
  if (text.size() <= kToolRecordTextBytes) return text;
  std::size_t n = kToolRecordTextBytes;
  while (n > 0 && (static_cast<unsigned char>(text[n]) & 0xC0) == 0x80)
    --n;
  return text.substr(0, n) + "... [" + std::to_string(text.size()) + " bytes]";
}

}  // namespace agentrt::actors
