// libFuzzer: POST /v1/chat/completions and /v1/completions bodies through
// parse_openai_request, then the replies a server would build from what was accepted. Neither
// may crash, hang or grow without bound; a refused body is a 400 whose pointer is empty or a
// JSON pointer, and an accepted one has sampling params that validate and caps respected.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "api/body/api_limits.h"
#include "api/body/openai_request.h"
#include "api/body/openai_response.h"

namespace {

using agentrt::api::OpenAiEndpoint;
namespace openai = agentrt::api::openai;

void check(bool ok) {
  if (!ok) std::abort();
}

void accepted(const agentrt::api::OpenAiRequest& r) {
  check(r.params.validate().ok());
  check(!r.model.empty());
  check(r.n >= 1 && r.n <= agentrt::api::kMaxOpenAiChoices);
  check(r.top_logprobs >= 0 && r.top_logprobs <= agentrt::api::kMaxOpenAiTopLogprobs);
  check(r.params.logprobs == (r.want_logprobs ? r.top_logprobs : -1));
  // A reply that echoes the request's strings: the builders make them valid UTF-8.
  const openai::ReplyHead head{"id", 0, r.model, r.endpoint};
  openai::ChoiceOut c;
  c.content = r.endpoint == OpenAiEndpoint::chat && !r.conversation.messages.empty()
                  ? r.conversation.messages.back().content
                  : r.prompt_text;
  for (const auto& t : r.conversation.tools)
    c.tool_calls.push_back({"call_x", t.name, t.name});
  const openai::Json j = openai::completion_json(head, std::span<const openai::ChoiceOut>(&c, 1),
                                                 openai::usage_json(1, 1, 0));
  (void)j.dump();  // throws on invalid UTF-8: the builders must have replaced it
  for (const auto& call : c.tool_calls)
    for (const auto& chunk : openai::chat_tool_call_chunks(head, 0, 0, call))
      (void)chunk.dump();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  for (OpenAiEndpoint ep : {OpenAiEndpoint::chat, OpenAiEndpoint::completions}) {
    auto r = agentrt::api::parse_openai_request(body, ep);
    if (!r.ok()) {
      check(r.error().status == 400);
      check(r.error().pointer.empty() || r.error().pointer.front() == '/');
      const auto j = agentrt::api::to_openai_json(r.error());
      (void)j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      continue;
    }
    accepted(*r);
  }
  return 0;
}
