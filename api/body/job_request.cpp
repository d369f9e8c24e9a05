#include "api/body/job_request.h"

#include <algorithm>

#include "api/body/api_limits.h"
#include "engine/common/echo.h"
#include "engine/common/json_depth.h"
#include "engine/common/json_pointer.h"

namespace agentrt::api {
namespace {

using nlohmann::json;

ApiError invalid(std::string message, std::string pointer) {
  return api_error(422, "invalid_request", std::move(message), std::move(pointer));
}

// The text an input value stands for, as `--input NAME=TEXT` would give it.
ApiOr<std::string> input_text(const json& v, const std::string& pointer) {
  switch (v.type()) {
    case json::value_t::string:
      return v.get<std::string>();
    case json::value_t::boolean:
      return std::string(v.get<bool>() ? "true" : "false");
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
    case json::value_t::number_float:
      return v.dump();
    case json::value_t::array:
      for (std::size_t i = 0; i < v.size(); ++i)
        if (!v[i].is_string())
          return invalid("a list input's items must be strings", pointer + "/" + std::to_string(i));
      return v.dump(-1, ' ', false, json::error_handler_t::replace);
    default:
      return invalid("an input value must be a string, number, boolean or array of strings",
                     pointer);
  }
}

}  // namespace

std::string json_pointer(std::string_view parent, std::string_view member) {
  return std::string(parent) + "/" + json_pointer_token(member);
}

bool valid_workflow_name(std::string_view name) {
  if (name.empty() || name.size() > 128 || name.front() == '.') return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '-' || c == '.';
    if (!ok) return false;
  }
  return name.find("..") == std::string_view::npos;
}

ApiOr<JobRequest> parse_job_request(std::string_view body) {
  if (auto excess = find_json_depth_excess(body))
    return api_error(400, "invalid_body",
                     "body nests deeper than " + std::to_string(kMaxJsonDepth) + " levels",
                     excess->pointer);
  json doc;
  try {
    doc = json::parse(body);
  } catch (const json::parse_error& e) {
    return api_error(400, "invalid_body",
                     "body is not JSON: byte " + std::to_string(e.byte) + ": " +
                         std::string(e.what()).substr(0, 200),
                     "");
  } catch (const json::exception& e) {  // e.g. a number out of range (1e400)
    return api_error(400, "invalid_body",
                     "body is not valid JSON: " + std::string(e.what()).substr(0, 200), "");
  }
  if (!doc.is_object()) return api_error(400, "invalid_body", "body must be a JSON object", "");
  JobRequest r;
  for (const auto& [key, value] : doc.items()) {
    const std::string ptr = json_pointer("", key);
    if (key == "yaml") {
      if (!value.is_string()) return invalid("expected the workflow YAML as a string", ptr);
      r.yaml = value.get<std::string>();
      if (r.yaml.size() > kMaxYamlBytes)
        return api_error(413, "too_large",
                         "workflow YAML of " + std::to_string(r.yaml.size()) +
                             " bytes is over the limit of " + std::to_string(kMaxYamlBytes),
                         ptr);
      if (r.yaml.empty()) return invalid("the workflow YAML is empty", ptr);
    } else if (key == "workflow") {
      if (!value.is_string()) return invalid("expected a workflow name", ptr);
      r.workflow = value.get<std::string>();
      if (!valid_workflow_name(r.workflow))
        return invalid("workflow name '" + echo_value(r.workflow) +
                           "': use letters, digits, '_', '-' and '.', no directories",
                       ptr);
    } else if (key == "inputs") {
      if (!value.is_object()) return invalid("expected an object of input values", ptr);
      if (value.size() > kMaxJobInputs)
        return invalid("more than " + std::to_string(kMaxJobInputs) + " inputs", ptr);
      for (const auto& [name, v] : value.items()) {
        const std::string vp = json_pointer(ptr, name);
        auto text = input_text(v, vp);
        if (!text.ok()) return text.error();
        r.inputs.emplace_back(name, std::move(*text));
      }
    } else if (key == "kv_reuse") {
      if (!value.is_string() || (value != "exact" && value != "blend"))
        return invalid("kv_reuse: expected \"exact\" or \"blend\"", ptr);
      r.kv_reuse = value.get<std::string>();
    } else if (key == "blend_recompute") {
      if (!value.is_number() || value.get<double>() < 0 || value.get<double>() > 1)
        return invalid("blend_recompute: expected a number in [0, 1]", ptr);
      r.blend_recompute = value.get<double>();
    } else if (key == "blend_anchors") {
      if (!value.is_boolean()) return invalid("blend_anchors: expected true or false", ptr);
      r.blend_anchors = value.get<bool>();
    } else if (key == "program") {
      if (!value.is_string()) return invalid("program: expected a string", ptr);
      r.program = value.get<std::string>();
      const bool control = std::any_of(r.program.begin(), r.program.end(), [](char c) {
        return static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
      });
      if (r.program.empty() || r.program.size() > kMaxProgramBytes || control)
        return invalid("program: expected 1 to " + std::to_string(kMaxProgramBytes) +
                           " bytes without control characters",
                       ptr);
    } else {
      return invalid("unknown member '" + echo_value(key) +
                         "' (expected yaml, workflow, inputs, kv_reuse, blend_recompute, "
                         "blend_anchors, program)",
                     ptr);
    }
  }
  if (r.blend_recompute && r.kv_reuse != "blend")
    return invalid("blend_recompute applies to \"kv_reuse\": \"blend\" only", "/blend_recompute");
  if (r.blend_anchors && r.kv_reuse != "blend")
    return invalid("blend_anchors applies to \"kv_reuse\": \"blend\" only", "/blend_anchors");
  if (r.yaml.empty() == r.workflow.empty())
    return invalid(r.yaml.empty() ? "give the workflow: \"yaml\" (inline) or \"workflow\" (a name)"
                                  : "give either \"yaml\" or \"workflow\", not both",
                   "");
  return r;
}

}  // namespace agentrt::api
