// Fuzzes what an MCP server may write: one line through parse_message, and its result
// through parse_tools_page and render_call_result. None may crash or throw.
#include <cstddef>
#include <cstdint>
#include <string>

#include "actors/mcp/mcp_message.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace agentrt::actors::mcp;
  const std::string line(reinterpret_cast<const char*>(data), size);
  auto m = parse_message(line);
  if (!m.ok()) return 0;
  std::string cursor;
  (void)parse_tools_page(m->result, cursor);
  (void)render_call_result(m->result, 64);
  if (m->id) (void)exposed_name("s", std::to_string(*m->id) + m->method);
  return 0;
}
