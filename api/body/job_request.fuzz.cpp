// libFuzzer: POST /v1/jobs bodies, then their inputs resolved against a workflow with a
// string, an int, a number, a bool and a list input. Neither may crash, hang or grow without
// bound; errors are values with a status and a pointer.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "api/body/job_request.h"
#include "workflows/inputs.h"
#include "workflows/loader.h"

namespace {

const agentrt::workflows::Workflow& fixture() {
  static const auto wf = [] {
    auto r = agentrt::workflows::load_workflow(R"(name: fuzz
agents:
  a: { system: hi }
inputs:
  s: { type: string, default: x }
  i: { type: int, default: 1 }
  n: { type: number, default: 0.5 }
  b: { type: bool, default: true }
  l: { type: list, default: [a] }
steps:
  - { id: s1, agent: a, input: "{{ inputs.s }}" }
)",
                                               "fuzz.yaml");
    return r.workflow;
  }();
  return wf;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  auto r = agentrt::api::parse_job_request(body);
  if (!r.ok()) {
    const auto j = agentrt::api::to_json(r.error());
    (void)j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    return 0;
  }
  agentrt::workflows::Diagnostics d;
  (void)agentrt::workflows::resolve_inputs(fixture(), r->inputs, d);
  return 0;
}
