#include "workflows/inputs.h"

#include <cerrno>
#include <cstdlib>

#include "engine/common/echo.h"
#include "engine/common/json_depth.h"

namespace agentrt::workflows {

Status check_input_value(const InputSpec& in, const std::string& text) {
  auto bad = [&](const char* what) {
    return make_error(ErrorCode::invalid_argument, "input '" + echo_value(in.name) + "' is " +
                                                       what + ", got '" + echo_value(text) + "'");
  };
  if (in.type == InputType::integer) {
    char* end = nullptr;
    errno = 0;
    (void)std::strtoll(text.c_str(), &end, 10);
    if (text.empty() || *end != '\0' || errno == ERANGE) return bad("an int");
  } else if (in.type == InputType::number) {
    char* end = nullptr;
    errno = 0;
    (void)std::strtod(text.c_str(), &end);
    if (text.empty() || *end != '\0' || errno == ERANGE) return bad("a number");
  } else if (in.type == InputType::boolean) {
    if (text != "true" && text != "false") return bad("a bool (true or false)");
  } else if (in.type == InputType::list) {
    auto items = Value(text).to_items("input '" + echo_value(in.name) + "'");
    if (!items.ok()) return items.error();
  } else if (const auto first = text.find_first_not_of(" \t\r\n");
             first != std::string::npos && text[first] == '[') {
    // A string may be read as a JSON list later (map.over, list filters): refuse now the
    // depth that reading it would refuse then, so validate reports what run would fail on.
    if (Status s = check_json_depth(text, "input '" + echo_value(in.name) + "'"); !s.ok()) return s;
  }
  return ok_status();
}

InputValues resolve_inputs(const Workflow& wf,
                           const std::vector<std::pair<std::string, std::string>>& given,
                           Diagnostics& diags) {
  InputValues out;
  for (const auto& [name, text] : given) {
    const std::string shown = echo_value(name);
    const InputSpec* in = wf.find_input(name);
    if (!in) {
      std::string names;
      for (const auto& i : wf.inputs)
        names += (names.empty() ? "" : ", ") + i.name;
      diags.error({}, "--input " + shown + ": the workflow has no input '" + shown +
                          "' (inputs: " + (names.empty() ? "none" : echo_value(names)) + ")");
      continue;
    }
    if (auto st = check_input_value(*in, text); !st.ok()) {
      diags.error({}, "--input " + shown + ": " + st.error().message);
      continue;
    }
    // check_input_value has checked the list's caps and depth.
    out[name] = in->type == InputType::list ? Value(Value(text).to_list()) : Value(text);
  }
  for (const auto& in : wf.inputs) {
    if (out.count(in.name)) continue;
    if (in.default_value) {
      out[in.name] = *in.default_value;
    } else {
      diags.error(in.loc, "input '" + in.name + "' is required (it has no default) but was not " +
                              "given; pass --input " + in.name + "=...");
    }
  }
  return out;
}

}  // namespace agentrt::workflows
