// McpClient: one MCP server over stdio, a child process that reads JSON-RPC 2.0 requests
// on stdin and writes responses on stdout, one JSON object per line. start() spawns it (no
// shell, its own process group) and runs initialize and notifications/initialized; then
// list_tools() and call_tool() may be called from any thread, several at once.
// A server that exits or closes stdout fails the calls in flight and every later one with
// its exit status and the tail of its stderr; one that does not answer fails only the call
// that waited (a timeout; notifications/cancelled is sent). A line that is not JSON-RPC
// fails the calls in flight (their answers cannot be told apart any more). There is no
// restart: a job's server lives as long as the job (stop(), or the destructor).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "actors/mcp/mcp_message.h"

namespace agentrt::actors::mcp {

struct ServerOptions {
  std::string name;               // the workflow's key, e.g. "files": names it in errors
  std::vector<std::string> argv;  // required
  std::string cwd;                // empty: this process's
  std::chrono::milliseconds start_timeout{30000};  // spawn to the end of initialize
  std::chrono::milliseconds call_timeout{30000};   // per tools/call (and tools/list page)
  std::size_t max_output_bytes = 64 * 1024;        // per tools/call result text
  // The tools start_server() offers, by MCP name (empty: all). Fewer tools, a shorter
  // prompt: every offered tool's schema is in it.
  std::vector<std::string> tools;
};

class McpClient {
 public:
  // Spawns the server and initializes it. Errors: the program cannot run (not_found), it
  // exits or answers initialize with an error (io), no answer in start_timeout (timeout).
  static Result<std::shared_ptr<McpClient>> start(const ServerOptions& options);
  // stop()s the server.
  ~McpClient();
  // Closes the server's stdin, waits up to 1 s for it to exit, then SIGTERMs and SIGKILLs
  // its process group. Later calls fail with "the server was stopped". Idempotent.
  void stop();
  McpClient(const McpClient&) = delete;
  McpClient& operator=(const McpClient&) = delete;

  // Every tool, following nextCursor (at most 100 pages).
  Result<std::vector<ToolInfo>> list_tools();
  // tools/call; the result's text (render_call_result). Errors name the server and tool.
  Result<std::string> call_tool(const std::string& tool, const Json& arguments,
                                std::chrono::milliseconds timeout);
  // One request; the response's result. Errors: the server's error, timeout, exit.
  Result<Json> request(const std::string& method, Json params, std::chrono::milliseconds timeout);

  const ServerOptions& options() const { return opt_; }
  const Json& server_info() const { return server_info_; }
  // The server's process id (tests kill it).
  int pid() const { return pid_; }

 private:
  explicit McpClient(ServerOptions options);
  Status spawn();
  Status send_line(const Json& message);
  void reader();
  void on_line(const std::string& line);
  void fail_pending(const Error& e);
  void mark_dead(std::string why, ErrorCode code = ErrorCode::io);
  std::string stderr_tail();

  struct Pending {
    bool done = false;
    Json result;
    std::optional<Error> error;
  };

  const ServerOptions opt_;
  Json server_info_;
  int pid_ = -1;
  int in_fd_ = -1;   // the child's stdin (a socket: writes never raise SIGPIPE)
  int out_fd_ = -1;  // the child's stdout
  int err_fd_ = -1;  // the child's stderr
  std::thread reader_;
  std::mutex write_mu_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::int64_t next_id_ = 1;
  std::map<std::int64_t, Pending*> pending_;
  std::optional<Error> dead_;  // why the server is gone
  bool stopping_ = false;
  bool reaped_ = false;
  std::string err_tail_;  // the last bytes of stderr
};

}  // namespace agentrt::actors::mcp
