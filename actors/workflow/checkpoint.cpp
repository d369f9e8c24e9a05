// Checkpoint JSON (see checkpoint.h): writers, and readers that name the JSON pointer of
// the first key they cannot use.
#include "actors/workflow/checkpoint.h"

#include "engine/common/json_pointer.h"

#include <array>
#include <utility>

namespace agentrt::actors::workflow {
namespace {

using nlohmann::json;
using workflows::StepKind;
using workflows::Value;

constexpr std::array<StepState, 6> kStates = {StepState::waiting,   StepState::running,
                                              StepState::done,      StepState::failed,
                                              StepState::cancelled, StepState::skipped};
constexpr std::array<StepKind, 4> kKinds = {StepKind::agent, StepKind::best_of, StepKind::map,
                                            StepKind::loop};

json value_json(const Value& v) {
  return v.is_list() ? json(v.list()) : json(v.text());
}

json optional_json(const std::optional<std::string>& s) {
  return s ? json(*s) : json(nullptr);
}

json tool_records_json(const std::vector<ToolCallRecord>& records) {
  json out = json::array();
  for (const auto& r : records)  // arguments as their text: exact round trips
    out.push_back({{"name", r.name},
                   {"arguments", r.arguments},
                   {"ok", r.ok},
                   {"result", r.result},
                   {"duration_ms", r.duration_ms},
                   {"attempts", r.attempts},
                   {"turn", r.turn}});
  return out;
}

json samples_json(const std::vector<SampleSummary>& samples) {
  json out = json::array();
  for (const auto& s : samples)
    out.push_back({{"finished", s.finished},
                   {"answer", optional_json(s.answer)},
                   {"tokens", s.tokens},
                   {"tool_calls", s.tool_calls},
                   {"error", s.error},
                   {"messages", s.messages},
                   {"unit", s.unit},
                   {"sample", s.sample},
                   {"tool_records", tool_records_json(s.tool_records)}});
  return out;
}

// A key as a JSON pointer token (RFC 6901).
std::string token(const std::string& key) {
  return json_pointer_token(key);
}

Error bad(const std::string& pointer, const std::string& what) {
  return make_error(ErrorCode::parse,
                    "checkpoint: " + (pointer.empty() ? std::string("/") : pointer) + ": " + what);
}

// Reads the members of one JSON object; `at` is the object's pointer.
class Reader {
 public:
  Reader(const json& j, std::string at) : j_(j), at_(std::move(at)) {}

  Status object() const {
    if (!j_.is_object()) return bad(at_, "expected an object");
    return ok_status();
  }
  Result<const json*> member(const char* key) const {
    auto it = j_.find(key);
    if (it == j_.end()) return bad(at_ + "/" + key, "missing");
    return &*it;
  }
  std::string ptr(const char* key) const { return at_ + "/" + key; }

  Result<std::string> text(const char* key) const {
    auto m = member(key);
    if (!m.ok()) return m.error();
    if (!(*m)->is_string()) return bad(ptr(key), "expected a string");
    return (*m)->get<std::string>();
  }
  Result<std::optional<std::string>> optional_text(const char* key) const {
    auto m = member(key);
    if (!m.ok()) return m.error();
    if ((*m)->is_null()) return std::optional<std::string>();
    if (!(*m)->is_string()) return bad(ptr(key), "expected a string or null");
    return std::optional<std::string>((*m)->get<std::string>());
  }
  Result<std::int64_t> integer(const char* key) const {
    auto m = member(key);
    if (!m.ok()) return m.error();
    if (!(*m)->is_number_integer()) return bad(ptr(key), "expected an integer");
    return (*m)->get<std::int64_t>();
  }
  Result<int> small(const char* key) const {
    auto v = integer(key);
    if (!v.ok()) return v.error();
    if (*v < -1 || *v > (std::int64_t{1} << 30)) return bad(ptr(key), "out of range");
    return static_cast<int>(*v);
  }
  Result<double> number(const char* key) const {
    auto m = member(key);
    if (!m.ok()) return m.error();
    if (!(*m)->is_number()) return bad(ptr(key), "expected a number");
    return (*m)->get<double>();
  }
  Result<bool> boolean(const char* key) const {
    auto m = member(key);
    if (!m.ok()) return m.error();
    if (!(*m)->is_boolean()) return bad(ptr(key), "expected true or false");
    return (*m)->get<bool>();
  }

 private:
  const json& j_;
  std::string at_;
};

// Assigns the value of a Result member or returns its error from the enclosing function.
#define CHECKPOINT_READ(dst, expr)                         \
  do {                                                     \
    auto checkpoint_v_ = (expr);                           \
    if (!checkpoint_v_.ok()) return checkpoint_v_.error(); \
    dst = std::move(*checkpoint_v_);                       \
  } while (false)

Result<Value> value_from(const json& j, const std::string& at) {
  if (j.is_string()) return Value(j.get<std::string>());
  if (!j.is_array()) return bad(at, "expected a string or an array of strings");
  std::vector<std::string> items;
  for (std::size_t i = 0; i < j.size(); ++i) {
    if (!j[i].is_string()) return bad(at + "/" + std::to_string(i), "expected a string");
    items.push_back(j[i].get<std::string>());
  }
  return Value(std::move(items));
}

Result<std::vector<ToolCallRecord>> tool_records_from(const json& j, const std::string& at) {
  if (!j.is_array()) return bad(at, "expected an array");
  std::vector<ToolCallRecord> out;
  for (std::size_t i = 0; i < j.size(); ++i) {
    Reader r(j[i], at + "/" + std::to_string(i));
    AGENTRT_TRY(r.object());
    ToolCallRecord t;
    CHECKPOINT_READ(t.name, r.text("name"));
    CHECKPOINT_READ(t.arguments, r.text("arguments"));
    CHECKPOINT_READ(t.ok, r.boolean("ok"));
    CHECKPOINT_READ(t.result, r.text("result"));
    CHECKPOINT_READ(t.duration_ms, r.number("duration_ms"));
    CHECKPOINT_READ(t.attempts, r.small("attempts"));
    CHECKPOINT_READ(t.turn, r.small("turn"));
    out.push_back(std::move(t));
  }
  return out;
}

Result<std::vector<SampleSummary>> samples_from(const json& j, const std::string& at) {
  if (!j.is_array()) return bad(at, "expected an array");
  std::vector<SampleSummary> out;
  for (std::size_t i = 0; i < j.size(); ++i) {
    Reader r(j[i], at + "/" + std::to_string(i));
    AGENTRT_TRY(r.object());
    SampleSummary s;
    CHECKPOINT_READ(s.finished, r.boolean("finished"));
    CHECKPOINT_READ(s.answer, r.optional_text("answer"));
    CHECKPOINT_READ(s.tokens, r.integer("tokens"));
    CHECKPOINT_READ(s.tool_calls, r.small("tool_calls"));
    CHECKPOINT_READ(s.error, r.text("error"));
    CHECKPOINT_READ(s.messages, r.text("messages"));
    CHECKPOINT_READ(s.unit, r.small("unit"));
    CHECKPOINT_READ(s.sample, r.small("sample"));
    if (j[i].contains("tool_records"))  // checkpoints written before records existed lack it
      CHECKPOINT_READ(s.tool_records,
                      tool_records_from(j[i]["tool_records"], r.ptr("tool_records")));
    out.push_back(std::move(s));
  }
  return out;
}

Result<StepStatus> status_from(const json& j, const std::string& at) {
  Reader r(j, at);
  AGENTRT_TRY(r.object());
  StepStatus s;
  std::string text;
  CHECKPOINT_READ(s.id, r.text("id"));
  CHECKPOINT_READ(text, r.text("kind"));
  auto kind = parse_step_kind(text);
  if (!kind) return bad(r.ptr("kind"), "unknown step kind '" + text + "'");
  s.kind = *kind;
  CHECKPOINT_READ(text, r.text("state"));
  auto state = parse_step_state(text);
  if (!state) return bad(r.ptr("state"), "unknown step state '" + text + "'");
  s.state = *state;
  CHECKPOINT_READ(s.activity, r.text("activity"));
  CHECKPOINT_READ(s.tokens, r.integer("tokens"));
  CHECKPOINT_READ(s.cached_tokens, r.integer("cached_tokens"));
  CHECKPOINT_READ(s.tool_calls, r.small("tool_calls"));
  CHECKPOINT_READ(s.elapsed, r.number("elapsed"));
  CHECKPOINT_READ(s.units_total, r.small("units_total"));
  CHECKPOINT_READ(s.units_done, r.small("units_done"));
  CHECKPOINT_READ(s.samples_total, r.small("samples_total"));
  CHECKPOINT_READ(s.samples_done, r.small("samples_done"));
  CHECKPOINT_READ(s.error, r.text("error"));
  return s;
}

}  // namespace

const char* to_string(StepKind k) {
  switch (k) {
    case StepKind::agent:
      return "agent";
    case StepKind::best_of:
      return "best_of";
    case StepKind::map:
      return "map";
    case StepKind::loop:
      return "loop";
  }
  return "?";
}

std::optional<StepState> parse_step_state(const std::string& s) {
  for (StepState x : kStates)
    if (s == to_string(x)) return x;
  return std::nullopt;
}

std::optional<StepKind> parse_step_kind(const std::string& s) {
  for (StepKind x : kKinds)
    if (s == to_string(x)) return x;
  return std::nullopt;
}

json to_json(const StepResult& r) {
  const StepStatus& s = r.status;
  json fields = json::object();
  for (const auto& [name, v] : r.fields)
    fields[name] = value_json(v);
  return {{"status",
           {{"id", s.id},
            {"kind", to_string(s.kind)},
            {"state", to_string(s.state)},
            {"activity", s.activity},
            {"tokens", s.tokens},
            {"cached_tokens", s.cached_tokens},
            {"tool_calls", s.tool_calls},
            {"elapsed", s.elapsed},
            {"units_total", s.units_total},
            {"units_done", s.units_done},
            {"samples_total", s.samples_total},
            {"samples_done", s.samples_done},
            {"error", s.error}}},
          {"output", value_json(r.output)},
          {"fields", std::move(fields)},
          {"samples", samples_json(r.samples)}};
}

json to_json(const UnitOutcome& u) {
  return {{"output", u.output},
          {"answer", optional_json(u.answer)},
          {"confidence", u.confidence},
          {"samples", samples_json(u.samples)}};
}

Result<StepResult> step_result_from_json(const json& j) {
  Reader r(j, "");
  AGENTRT_TRY(r.object());
  StepResult out;
  const json* m = nullptr;
  CHECKPOINT_READ(m, r.member("status"));
  CHECKPOINT_READ(out.status, status_from(*m, "/status"));
  CHECKPOINT_READ(m, r.member("output"));
  CHECKPOINT_READ(out.output, value_from(*m, "/output"));
  CHECKPOINT_READ(m, r.member("fields"));
  if (!m->is_object()) return bad("/fields", "expected an object");
  for (auto it = m->begin(); it != m->end(); ++it)
    CHECKPOINT_READ(out.fields[it.key()], value_from(it.value(), "/fields/" + token(it.key())));
  CHECKPOINT_READ(m, r.member("samples"));
  CHECKPOINT_READ(out.samples, samples_from(*m, "/samples"));
  return out;
}

Result<UnitOutcome> unit_outcome_from_json(const json& j) {
  Reader r(j, "");
  AGENTRT_TRY(r.object());
  UnitOutcome out;
  CHECKPOINT_READ(out.output, r.text("output"));
  CHECKPOINT_READ(out.answer, r.optional_text("answer"));
  CHECKPOINT_READ(out.confidence, r.number("confidence"));
  const json* m = nullptr;
  CHECKPOINT_READ(m, r.member("samples"));
  CHECKPOINT_READ(out.samples, samples_from(*m, "/samples"));
  return out;
}

#undef CHECKPOINT_READ

}  // namespace agentrt::actors::workflow
