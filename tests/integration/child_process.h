// An agentrt process the test talks to while it runs: its stderr is read line by line (to
// act on a progress line as soon as it appears, not after a sleep), its stdout goes to a
// file, and the test may signal it. For tests of cancellation by signals.
#pragma once

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <csignal>
#include <cstdio>
#include <string>
#include <vector>

extern char** environ;

namespace agentrt::testing {

class AgentrtProcess {
 public:
  // Starts AGENTRT_BIN with `args`; stdout to `stdout_path`. started() says whether it ran.
  AgentrtProcess(const std::vector<std::string>& args, const std::string& stdout_path) {
    int fds[2];
    if (::pipe(fds) != 0) return;
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, stdout_path.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&actions, fds[1], STDERR_FILENO);
    posix_spawn_file_actions_addclose(&actions, fds[0]);
    posix_spawn_file_actions_addclose(&actions, fds[1]);
    std::vector<std::string> argv_text{AGENTRT_BIN};
    argv_text.insert(argv_text.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : argv_text)
      argv.push_back(a.data());
    argv.push_back(nullptr);
    if (posix_spawn(&pid_, AGENTRT_BIN, &actions, nullptr, argv.data(), environ) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&actions);
    ::close(fds[1]);
    err_ = ::fdopen(fds[0], "r");
  }
  ~AgentrtProcess() {
    if (pid_ > 0 && !reaped_) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    if (err_) std::fclose(err_);
  }
  AgentrtProcess(const AgentrtProcess&) = delete;
  AgentrtProcess& operator=(const AgentrtProcess&) = delete;

  bool started() const { return pid_ > 0 && err_ != nullptr; }

  // Reads stderr until a line containing `needle` (true) or the end of stderr (false).
  bool wait_for_line(const std::string& needle) { return read_lines(&needle); }

  void send(int sig) const { ::kill(pid_, sig); }

  // Reads the rest of stderr, waits for the exit and returns its code (-1: killed by a signal).
  int wait() {
    read_lines(nullptr);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    reaped_ = true;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  // All of stderr read so far.
  const std::string& stderr_text() const { return stderr_text_; }

 private:
  // Reads stderr lines until one contains *needle (true), or to the end (false).
  bool read_lines(const std::string* needle) {
    std::array<char, 4096> buf{};
    while (err_ && std::fgets(buf.data(), buf.size(), err_)) {
      stderr_text_ += buf.data();
      if (needle && std::string(buf.data()).find(*needle) != std::string::npos) return true;
    }
    return false;
  }

  pid_t pid_ = -1;
  FILE* err_ = nullptr;
  bool reaped_ = false;
  std::string stderr_text_;
};

}  // namespace agentrt::testing
