// McpClient: the child process, its reader thread, and JSON-RPC requests.
#include "actors/mcp/mcp_client.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "engine/common/echo.h"

namespace agentrt::actors::mcp {
namespace {

using Clock = std::chrono::steady_clock;
constexpr std::size_t kStderrTail = 600;

void close_fd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

std::string exit_text(int status) {
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return "was killed by signal " + std::to_string(WTERMSIG(status));
  return "ended";
}

}  // namespace

McpClient::McpClient(ServerOptions options) : opt_(std::move(options)) {}

Result<std::shared_ptr<McpClient>> McpClient::start(const ServerOptions& options) {
  std::shared_ptr<McpClient> c(new McpClient(options));
  const std::string where = "MCP server '" + options.name + "'";
  if (options.argv.empty() || options.argv[0].empty())
    return make_error(ErrorCode::invalid_argument, where + ": no command");
  AGENTRT_TRY(c->spawn());
  Json params = {{"protocolVersion", kProtocolVersion},
                 {"capabilities", Json::object()},
                 {"clientInfo", {{"name", "agentrt"}, {"version", "0.1"}}}};
  auto init = c->request("initialize", std::move(params), options.start_timeout);
  if (!init.ok()) return init.error();
  if (init->is_object()) c->server_info_ = init->value("serverInfo", Json::object());
  AGENTRT_TRY(c->send_line({{"jsonrpc", "2.0"}, {"method", "notifications/initialized"}}));
  return c;
}

Status McpClient::spawn() {
  const std::string where = "MCP server '" + opt_.name + "'";
  int in[2], out[2], err[2], exec_err[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, in) != 0)
    return make_error(ErrorCode::io, where + ": socketpair: " + std::strerror(errno));
  if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0 ||
      ::pipe2(exec_err, O_CLOEXEC) != 0)
    return make_error(ErrorCode::io, where + ": pipe: " + std::strerror(errno));
  std::vector<char*> args;
  for (const auto& a : opt_.argv)
    args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) return make_error(ErrorCode::io, where + ": fork: " + std::strerror(errno));
  if (pid == 0) {  // child: only async-signal-safe calls until exec
    ::setpgid(0, 0);
    ::dup2(in[1], 0);
    ::dup2(out[1], 1);
    ::dup2(err[1], 2);
    if (opt_.cwd.empty() || ::chdir(opt_.cwd.c_str()) == 0) ::execvp(args[0], args.data());
    const int e = errno;
    (void)!::write(exec_err[1], &e, sizeof e);
    _exit(127);
  }
  ::setpgid(pid, pid);
  pid_ = pid;
  ::close(in[1]);
  ::close(out[1]);
  ::close(err[1]);
  ::close(exec_err[1]);
  in_fd_ = in[0];
  out_fd_ = out[0];
  err_fd_ = err[0];
  int e = 0;
  const bool failed = ::read(exec_err[0], &e, sizeof e) == sizeof e;
  ::close(exec_err[0]);
  if (failed) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    reaped_ = true;
    return make_error(ErrorCode::not_found, where + ": cannot run '" + opt_.argv[0] + "'" +
                                                (opt_.cwd.empty() ? "" : " in '" + opt_.cwd + "'") +
                                                ": " + std::strerror(e));
  }
  reader_ = std::thread([this] { reader(); });
  return ok_status();
}

McpClient::~McpClient() {
  stop();
  close_fd(in_fd_);
  close_fd(out_fd_);
  close_fd(err_fd_);
}

void McpClient::stop() {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  if (in_fd_ >= 0) ::shutdown(in_fd_, SHUT_WR);  // EOF on the server's stdin: it should exit
  {
    std::unique_lock lock(mu_);
    if (!cv_.wait_for(lock, std::chrono::seconds(1), [&] { return reaped_; }) && pid_ > 0) {
      ::kill(-pid_, SIGTERM);
      if (!cv_.wait_for(lock, std::chrono::seconds(1), [&] { return reaped_; }))
        ::kill(-pid_, SIGKILL);
    }
  }
  if (reader_.joinable()) reader_.join();
}

Status McpClient::send_line(const Json& message) {
  const std::string line = message.dump() + "\n";
  std::lock_guard lock(write_mu_);
  std::size_t done = 0;
  while (done < line.size()) {
    const ssize_t w = ::send(in_fd_, line.data() + done, line.size() - done, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0)
      return make_error(ErrorCode::io,
                        std::string("cannot write to its stdin: ") + std::strerror(errno));
    done += static_cast<std::size_t>(w);
  }
  return ok_status();
}

Result<Json> McpClient::request(const std::string& method, Json params,
                                std::chrono::milliseconds timeout) {
  const std::string where = "MCP server '" + opt_.name + "': " + method;
  Pending p;
  std::int64_t id = 0;
  {
    std::lock_guard lock(mu_);
    if (dead_) return dead_->with_context(where);
    id = next_id_++;
    pending_[id] = &p;
  }
  Json msg = {{"jsonrpc", "2.0"}, {"id", id}, {"method", method}};
  if (!params.is_null()) msg["params"] = std::move(params);
  if (auto st = send_line(msg); !st.ok()) {
    // The server is gone; its reader is about to say why (exit status, stderr).
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, std::chrono::seconds(3), [&] { return dead_.has_value(); });
    pending_.erase(id);
    if (dead_) return dead_->with_context(where);
    return st.error().with_context(where);
  }
  std::unique_lock lock(mu_);
  const bool answered = cv_.wait_for(lock, timeout, [&] { return p.done; });
  pending_.erase(id);
  if (answered) {
    if (p.error) return p.error->with_context(where);
    return std::move(p.result);
  }
  lock.unlock();
  // Tell the server to stop working on it (best effort).
  (void)send_line({{"jsonrpc", "2.0"},
                   {"method", "notifications/cancelled"},
                   {"params", {{"requestId", id}, {"reason", "timed out"}}}});
  return make_error(ErrorCode::timeout,
                    where + ": no answer in " + std::to_string(timeout.count()) + " ms");
}

Result<std::vector<ToolInfo>> McpClient::list_tools() {
  std::vector<ToolInfo> all;
  std::string cursor;
  for (int page = 0; page < 100; ++page) {
    Json params = Json::object();
    if (!cursor.empty()) params["cursor"] = cursor;
    auto r = request("tools/list", std::move(params), opt_.call_timeout);
    if (!r.ok()) return r.error();
    auto tools = parse_tools_page(*r, cursor);
    if (!tools.ok()) return tools.error().with_context("MCP server '" + opt_.name + "'");
    for (auto& t : *tools)
      all.push_back(std::move(t));
    if (cursor.empty()) return all;
  }
  return make_error(ErrorCode::parse,
                    "MCP server '" + opt_.name + "': tools/list: more than 100 pages");
}

Result<std::string> McpClient::call_tool(const std::string& tool, const Json& arguments,
                                         std::chrono::milliseconds timeout) {
  auto r = request("tools/call", {{"name", tool}, {"arguments", arguments}}, timeout);
  if (!r.ok()) {
    Error e = r.error();
    const std::string prefix = "MCP server '" + opt_.name + "': tools/call";
    if (e.message.starts_with(prefix)) e.message.insert(prefix.size(), " '" + tool + "'");
    return e;
  }
  auto text = render_call_result(*r, opt_.max_output_bytes);
  if (!text.ok() && text.error().code == ErrorCode::parse)
    return text.error().with_context("MCP server '" + opt_.name + "'");
  return text;
}

void McpClient::fail_pending(const Error& e) {
  for (auto& [id, p] : pending_) {
    if (p->done) continue;
    p->done = true;
    p->error = e;
  }
  cv_.notify_all();
}

void McpClient::mark_dead(std::string why, ErrorCode code) {
  std::lock_guard lock(mu_);
  if (!dead_) dead_ = make_error(code, std::move(why));
  fail_pending(*dead_);
}

std::string McpClient::stderr_tail() {
  std::lock_guard lock(mu_);
  std::string t = err_tail_;
  while (!t.empty() && (t.back() == '\n' || t.back() == ' '))
    t.pop_back();
  return t.empty() ? "" : " (stderr: " + echo_value(t, kStderrTail) + ")";
}

void McpClient::on_line(const std::string& line) {
  if (line.empty() || line == "\r") return;
  auto m = parse_message(line);
  if (m.ok() && m->kind == Message::Kind::request) {  // sampling, roots...: not offered
    (void)send_line(
        {{"jsonrpc", "2.0"},
         {"id", m->id ? Json(*m->id) : Json()},
         {"error", {{"code", -32601}, {"message", "agentrt does not support " + m->method}}}});
    return;
  }
  std::lock_guard lock(mu_);
  if (!m.ok()) {
    // Which call this answered is unknown: fail the ones waiting rather than time them out.
    fail_pending(make_error(ErrorCode::parse, "the server sent " + m.error().message));
    return;
  }
  if (m->kind != Message::Kind::response) return;  // notifications (logging, list_changed)
  auto it = pending_.find(*m->id);
  if (it == pending_.end()) return;  // a call that timed out already
  it->second->done = true;
  it->second->error = m->error;
  it->second->result = std::move(m->result);
  cv_.notify_all();
}

void McpClient::reader() {
  std::string buf;
  char chunk[65536];
  bool out_open = true, err_open = true;
  while (out_open) {
    pollfd fds[2] = {{out_fd_, POLLIN, 0}, {err_open ? err_fd_ : -1, POLLIN, 0}};
    const int n = ::poll(fds, 2, 100);
    if (n < 0 && errno != EINTR) break;
    if (fds[1].revents != 0) {
      const ssize_t r = ::read(err_fd_, chunk, sizeof chunk);
      if (r <= 0) {
        err_open = false;
      } else {
        std::lock_guard lock(mu_);
        err_tail_.append(chunk, static_cast<std::size_t>(r));
        if (err_tail_.size() > kStderrTail) err_tail_.erase(0, err_tail_.size() - kStderrTail);
      }
    }
    if (fds[0].revents == 0) continue;
    const ssize_t r = ::read(out_fd_, chunk, sizeof chunk);
    if (r <= 0) {
      out_open = false;
      break;
    }
    buf.append(chunk, static_cast<std::size_t>(r));
    std::size_t start = 0;
    for (std::size_t nl; (nl = buf.find('\n', start)) != std::string::npos; start = nl + 1)
      on_line(buf.substr(start, nl - start));
    buf.erase(0, start);
    if (buf.size() > kMaxLineBytes) {
      mark_dead("the server sent a line over " + std::to_string(kMaxLineBytes) +
                " bytes; it was stopped");
      ::kill(-pid_, SIGKILL);
      buf.clear();
    }
  }
  // stdout closed: the server has exited or is about to. Reap it (it is killed if it
  // lingers for 2 s with stdout closed).
  int status = 0;
  pid_t got = 0;
  for (int i = 0; i < 200 && (got = ::waitpid(pid_, &status, WNOHANG)) == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  if (got == 0) {
    ::kill(-pid_, SIGKILL);
    ::waitpid(pid_, &status, 0);
  }
  // Drain what stderr still holds, for the message.
  if (err_open) {
    ::fcntl(err_fd_, F_SETFL, O_NONBLOCK);
    ssize_t r;
    while ((r = ::read(err_fd_, chunk, sizeof chunk)) > 0) {
      std::lock_guard lock(mu_);
      err_tail_.append(chunk, static_cast<std::size_t>(r));
      if (err_tail_.size() > kStderrTail) err_tail_.erase(0, err_tail_.size() - kStderrTail);
    }
  }
  bool stopping = false;
  {
    std::lock_guard lock(mu_);
    stopping = stopping_;
  }
  // A stopped server's calls are cancelled (not retried); a crashed one's failed (io).
  mark_dead("the server " + (stopping ? std::string("was stopped") : exit_text(status)) +
                (stopping ? "" : stderr_tail()),
            stopping ? ErrorCode::cancelled : ErrorCode::io);
  std::lock_guard lock(mu_);
  reaped_ = true;
  cv_.notify_all();
}

}  // namespace agentrt::actors::mcp
