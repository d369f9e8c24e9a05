// Test helpers for the multi-process cluster tests (cluster_openai, cluster_serve,
// cluster_local_engine, ...): the `agentrt` binary as a child process, and polling a
// condition or its log.
// Test-only: needs AGENTRT_BIN (the test target defines it).
#pragma once

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace agentrt::cluster::test_process {

inline std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// `agentrt ARGS...` (args[0] is the program name) with stdout and stderr in `log`; continued
// (if a test stopped it) and SIGKILLed on destruction.
struct Child {
  pid_t pid = -1;
  Child(std::vector<std::string> args, const std::string& log) {
    pid = fork();
    if (pid == 0) {
      if (std::freopen(log.c_str(), "w", stdout) == nullptr || dup2(fileno(stdout), 2) < 0)
        _exit(126);
      std::vector<char*> argv;
      for (auto& a : args)
        argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(AGENTRT_BIN, argv.data());
      _exit(127);
    }
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  ~Child() {
    if (pid > 0) {
      ::kill(pid, SIGCONT);
      ::kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
    }
  }
};

// Whether `pred` holds within `limit` (polled every 20 ms).
template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds limit) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < until) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return pred();
}

// The first group of `pattern` in the file (the whole match without a group), once it
// appears within `limit`; empty if it does not.
inline std::string wait_for(const std::string& file, const std::string& pattern,
                            std::chrono::milliseconds limit) {
  const std::regex re(pattern);
  const auto until = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < until) {
    std::smatch m;
    const std::string text = read_text(file);
    if (std::regex_search(text, m, re)) return m.size() > 1 ? m[1].str() : m[0].str();
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return "";
}

}  // namespace agentrt::cluster::test_process
