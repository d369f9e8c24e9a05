#include "workflows/inputs.h"

#include <cerrno>
#include <cstdlib>

namespace agentrt::workflows {

Status check_input_value(const InputSpec& in, const std::string& text) {
  auto bad = [&](const char* what) {
    return make_error(ErrorCode::invalid_argument,
                      "input '" + in.name + "' is " + what + ", got '" + text + "'");
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
  }
  return ok_status();
}

InputValues resolve_inputs(const Workflow& wf,
                           const std::vector<std::pair<std::string, std::string>>& given,
                           Diagnostics& diags) {
  InputValues out;
  for (const auto& [name, text] : given) {
    const InputSpec* in = wf.find_input(name);
    if (!in) {
      std::string names;
      for (const auto& i : wf.inputs)
        names += (names.empty() ? "" : ", ") + i.name;
      diags.error({}, "--input " + name + ": the workflow has no input '" + name +
                          "' (inputs: " + (names.empty() ? "none" : names) + ")");
      continue;
    }
    if (auto st = check_input_value(*in, text); !st.ok()) {
      diags.error({}, "--input " + name + ": " + st.error().message);
      continue;
    }
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
