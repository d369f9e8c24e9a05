// The command tool: runs a configured argv (no shell) with a timeout and an output limit.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <pthread.h>

#include <cerrno>
#include <cstring>

#include "actors/builtin_tools.h"

namespace agentrt::actors {
namespace {

using Clock = std::chrono::steady_clock;

struct Pipes {
  int in[2] = {-1, -1};
  int out[2] = {-1, -1};
  int exec_err[2] = {-1, -1};  // close-on-exec: gets the child's errno if exec fails
  ~Pipes() {
    for (int fd : {in[0], in[1], out[0], out[1], exec_err[0], exec_err[1]})
      if (fd >= 0) ::close(fd);
  }
};

void close_fd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

// Writes to a pipe whose reader may be gone without the process-wide SIGPIPE going off:
// SIGPIPE is blocked in this thread for the write, and one it raised (EPIPE) is consumed
// before the old mask comes back. The disposition of SIGPIPE is never changed.
ssize_t write_no_sigpipe(int fd, const char* data, std::size_t n) {
  sigset_t pipe_set, old;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  sigset_t pending;
  sigpending(&pending);
  const bool was_pending = sigismember(&pending, SIGPIPE) == 1;
  pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
  const ssize_t w = ::write(fd, data, n);
  const int err = errno;
  if (w < 0 && err == EPIPE && !was_pending) {
    const timespec zero{0, 0};
    while (sigtimedwait(&pipe_set, nullptr, &zero) < 0 && errno == EINTR) {
    }
  }
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  errno = err;
  return w;
}

// Feeds stdin and collects output until the child closes stdout or the deadline passes.
bool pump(Pipes& p, const std::string& input, Clock::time_point deadline, std::size_t max_out,
          std::string& out, bool& cut) {
  std::size_t written = 0;
  if (input.empty()) close_fd(p.in[1]);
  char buf[4096];
  while (p.out[0] >= 0) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return false;
    pollfd fds[2] = {{p.out[0], POLLIN, 0}, {p.in[1], POLLOUT, 0}};
    const int n = ::poll(fds, p.in[1] >= 0 ? 2 : 1, static_cast<int>(left.count()));
    if (n < 0 && errno != EINTR) return false;
    if (fds[0].revents != 0) {
      const ssize_t r = ::read(p.out[0], buf, sizeof buf);
      if (r <= 0) {
        close_fd(p.out[0]);
      } else {
        const std::size_t room = max_out > out.size() ? max_out - out.size() : 0;
        out.append(buf, std::min<std::size_t>(room, static_cast<std::size_t>(r)));
        if (static_cast<std::size_t>(r) > room) cut = true;
      }
    }
    if (p.in[1] >= 0 && fds[1].revents != 0) {
      const ssize_t w = write_no_sigpipe(p.in[1], input.data() + written, input.size() - written);
      if (w > 0) written += static_cast<std::size_t>(w);
      if (w < 0 || written == input.size()) close_fd(p.in[1]);
    }
  }
  return true;
}

}  // namespace

Result<std::string> run_command(const std::vector<std::string>& argv, const std::string& input,
                                std::chrono::milliseconds timeout, std::size_t max_output,
                                const std::string& cwd) {
  if (argv.empty()) return make_error(ErrorCode::invalid_argument, "command: empty argv");
  std::vector<char*> args;
  for (const auto& a : argv)
    args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  Pipes p;
  if (::pipe2(p.in, O_CLOEXEC) != 0 || ::pipe2(p.out, O_CLOEXEC) != 0 ||
      ::pipe2(p.exec_err, O_CLOEXEC) != 0)
    return make_error(ErrorCode::io, std::string("command: pipe: ") + std::strerror(errno));
  const pid_t pid = ::fork();
  if (pid < 0)
    return make_error(ErrorCode::io, std::string("command: fork: ") + std::strerror(errno));
  if (pid == 0) {  // child: only async-signal-safe calls until exec
    ::setpgid(0, 0);
    ::dup2(p.in[0], 0);
    ::dup2(p.out[1], 1);
    ::dup2(p.out[1], 2);
    if (!cwd.empty() && ::chdir(cwd.c_str()) != 0) {
      const int err = errno;
      (void)!::write(p.exec_err[1], &err, sizeof err);
      _exit(127);
    }
    ::execvp(args[0], args.data());
    const int err = errno;
    (void)!::write(p.exec_err[1], &err, sizeof err);
    _exit(127);
  }
  close_fd(p.exec_err[1]);
  int exec_errno = 0;
  const bool exec_failed =
      ::read(p.exec_err[0], &exec_errno, sizeof exec_errno) == sizeof exec_errno;
  ::setpgid(pid, pid);
  close_fd(p.in[0]);
  close_fd(p.out[1]);
  ::fcntl(p.in[1], F_SETFL, O_NONBLOCK);  // a child that exits unread: EPIPE, see above
  std::string out;
  bool cut = false;
  const bool done = pump(p, input, Clock::now() + timeout, max_output, out, cut);
  if (!done) ::kill(-pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!done) {
    return make_error(ErrorCode::timeout,
                      "command timed out after " + std::to_string(timeout.count()) + " ms");
  }
  if (cut) out += "\n[output cut at " + std::to_string(max_output) + " bytes]";
  if (exec_failed) {
    return make_error(ErrorCode::not_found, "command: cannot run '" + argv[0] + "'" +
                                                (cwd.empty() ? "" : " in '" + cwd + "'") + ": " +
                                                std::strerror(exec_errno));
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    const int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return make_error(ErrorCode::io, "command exited with status " + std::to_string(code) +
                                         (out.empty() ? "" : ": " + out));
  }
  return out;
}

Result<std::vector<std::string>> check_appended_args(const Json& args) {
  if (!args.is_array())
    return make_error(ErrorCode::invalid_argument, "command: /args: expected an array");
  if (args.size() > kMaxCommandArgs) {
    return make_error(ErrorCode::invalid_argument,
                      "command: /args: " + std::to_string(args.size()) + " arguments, limit " +
                          std::to_string(kMaxCommandArgs) + " (kMaxCommandArgs)");
  }
  std::vector<std::string> out;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string where = "command: /args/" + std::to_string(i);
    if (!args[i].is_string())
      return make_error(ErrorCode::invalid_argument, where + ": expected a string");
    const auto& a = args[i].get_ref<const std::string&>();
    const std::string shown = a.substr(0, 64) + (a.size() > 64 ? "..." : "");
    if (a.size() > kMaxCommandArgBytes) {
      return make_error(ErrorCode::invalid_argument,
                        where + ": " + std::to_string(a.size()) + " bytes, limit " +
                            std::to_string(kMaxCommandArgBytes) + " (kMaxCommandArgBytes)");
    }
    if (a.empty() || a[0] == '-')
      return make_error(ErrorCode::invalid_argument, where + ": '" + shown +
                                                         "': options (a leading '-') and empty "
                                                         "arguments may not be appended");
    if (a.find('\0') != std::string::npos)
      return make_error(ErrorCode::invalid_argument, where + ": contains a NUL byte");
    out.push_back(a);
  }
  return out;
}

namespace {

class CommandTool final : public Tool {
 public:
  CommandTool(ToolSpec spec, CommandToolOptions opt, std::string cwd)
      : spec_(std::move(spec)), opt_(std::move(opt)), cwd_(std::move(cwd)) {}
  const ToolSpec& spec() const override { return spec_; }
  Result<std::string> invoke(const Json& args) override {
    std::vector<std::string> argv = opt_.argv;
    if (opt_.append_args && args.contains("args")) {
      auto extra = check_appended_args(args.at("args"));
      if (!extra.ok()) return extra.error();
      argv.insert(argv.end(), extra->begin(), extra->end());
    }
    return run_command(argv, args.value("input", std::string()), opt_.timeout,
                       opt_.max_output_bytes, cwd_);
  }

 private:
  ToolSpec spec_;
  CommandToolOptions opt_;
  std::string cwd_;
};

}  // namespace

Result<std::shared_ptr<Tool>> make_command_tool(const ToolConfig& config) {
  if (config.command.argv.empty() || config.command.argv[0].empty())
    return make_error(ErrorCode::invalid_argument,
                      "command tool '" + config.name + "': argv is not configured");
  ToolSpec s;
  s.name = config.name.empty() ? "command" : config.name;
  s.description = config.description.empty()
                      ? "Run the configured command with the given input on stdin."
                      : config.description;
  Json props = {{"input", {{"type", "string"}}}};
  if (config.command.append_args)
    props["args"] = {
        {"type", "array"},
        {"maxItems", kMaxCommandArgs},
        {"items", {{"type", "string"}, {"minLength", 1}, {"maxLength", kMaxCommandArgBytes}}}};
  s.parameters = {{"type", "object"}, {"properties", props}, {"additionalProperties", false}};
  s.timeout = config.timeout.count() > 0 ? config.timeout
                                         : config.command.timeout + std::chrono::seconds(1);
  return std::shared_ptr<Tool>(
      std::make_shared<CommandTool>(std::move(s), config.command, config.cwd));
}

}  // namespace agentrt::actors
