// Tool: one callable function an agent may use (calculator, HTTP request, command, a custom
// program, an MCP server's tool (actors/mcp/), or a tool supplied by the embedding program),
// and the configuration of the built-in ones.
// The registry (tool_registry.h) validates arguments against spec().parameters before
// invoke() runs; a tool actor runs invoke() on a thread of its own and turns a throw, an
// error or a timeout into a tool error message for the model.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "engine/chat/conversation.h"
#include "engine/common/result.h"

namespace agentrt::actors {

using Json = chat::Json;

struct ToolSpec {
  std::string name;         // what the model calls, e.g. "calculator"
  std::string description;  // shown to the model
  Json parameters;          // JSON schema of the arguments object (see json_schema.h)
  std::chrono::milliseconds timeout{10000};  // the agent gives up after this long
};

class Tool {
 public:
  virtual ~Tool() = default;
  virtual const ToolSpec& spec() const = 0;
  // Runs one call with arguments that passed the schema. Returns the result text for the
  // model, or an error (shown to the model as "error: ..."). Called from a tool actor's own
  // thread, possibly several at once: must be thread-safe. May block; may throw (caught).
  virtual Result<std::string> invoke(const Json& arguments) = 0;
};

// The tools make_builtin_tool makes. `custom` is a program of the workflow's author: it
// reads the call's arguments as one JSON object on stdin and writes its result to stdout.
enum class BuiltinTool { calculator, http, command, custom };

// HTTP request tool: {"url": "http://host:port/path", "method": "GET"|"POST", "body": "..."}.
struct HttpToolOptions {
  // Hosts the tool may reach (exact names or IP literals). Default: loopback only.
  std::vector<std::string> allow_hosts{"127.0.0.1", "localhost", "::1"};
  // The whole call (connect, send, read) ends after this: a watchdog drops the connection.
  std::chrono::milliseconds timeout{5000};
  // The body is read up to this many bytes, then the connection is dropped (never buffered
  // whole); the result then ends with a "[cut at N bytes]" note.
  std::size_t max_response_bytes = 64 * 1024;
};

// Command tool: runs argv (no shell) with {"input": "..."} on stdin; when append_args,
// {"args": ["..."]} are appended to argv: at most 16 of at most 256 bytes each, and none
// may start with '-', so the model cannot add options (builtin_tools.h, kMaxCommandArgs).
// Off unless argv is configured. The process's SIGPIPE disposition is left alone.
struct CommandToolOptions {
  std::vector<std::string> argv;  // required: argv[0] is the program
  bool append_args = false;
  std::chrono::milliseconds timeout{5000};   // then the process group is killed
  std::size_t max_output_bytes = 64 * 1024;  // stdout + stderr; the rest is cut
};

// Custom tool: runs argv (no shell) once per call with the arguments (checked against
// `schema` by the registry) as one line of JSON on stdin; its stdout and stderr, cut at
// max_output_bytes, are the result. A non-zero exit status is an error that carries the
// output. The process group is killed at the timeout.
struct CustomToolOptions {
  std::vector<std::string> argv;  // required
  Json schema;                    // required: an object schema (json_schema.h)
  std::chrono::milliseconds timeout{10000};
  std::size_t max_output_bytes = 64 * 1024;
};

// Limits around any tool (make_limited_tool): a failed attempt (a timeout, an I/O error or
// an overloaded tool; not bad arguments) is retried after backoff, which doubles after each
// retry up to 10 s; at most `concurrency` calls run at once (0: no limit), the others wait.
struct ToolLimits {
  int retries = 0;
  std::chrono::milliseconds backoff{200};
  int concurrency = 0;
  bool any() const { return retries > 0 || concurrency > 0; }
};

// One entry of RuntimeOptions::tools / Runtime::add_tool.
struct ToolConfig {
  std::string name;  // the name the model sees; empty: the built-in's default name
  BuiltinTool builtin = BuiltinTool::calculator;
  std::string description;               // empty: the built-in's default description
  std::chrono::milliseconds timeout{0};  // 0: the built-in's default
  HttpToolOptions http;
  CommandToolOptions command;
  CustomToolOptions custom;
  ToolLimits limits;
  // Working directory of command and custom tools' processes; empty: the process's own.
  std::string cwd;
};

// Creates a built-in tool, wrapped in its limits when config.limits.any(). Errors
// (invalid_argument): a command or custom tool without argv, a custom tool whose schema is
// not an object schema, an HTTP tool with an empty allow-list.
Result<std::shared_ptr<Tool>> make_builtin_tool(const ToolConfig& config);

// `tool` with retries, backoff and a concurrency limit. Its spec's timeout (what the agent
// waits at most) covers every attempt and backoff: (retries + 1) * timeout + backoffs.
// A call that waits for a slot longer than that fails with a timeout.
std::shared_ptr<Tool> make_limited_tool(std::shared_ptr<Tool> tool, const ToolLimits& limits);

}  // namespace agentrt::actors
