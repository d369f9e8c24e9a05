// Runs the agentrt executable under test (AGENTRT_BIN) through bash and collects its exit
// code and its stdout and stderr together. Shared by the integration tests.
#pragma once

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>

namespace agentrt::testing {

struct RunResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};

// `s` as one single-quoted shell word.
inline std::string quote(const std::string& s) {
  std::string q = "'";
  for (char c : s)
    q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

// `agentrt ARGS 2>&1` under bash (not sh: tests use here-strings); exit_code -1 when the
// process could not start or did not exit normally.
inline RunResult run_agentrt(const std::string& args) {
  const std::string cmd = "bash -c " + quote(std::string(AGENTRT_BIN) + " " + args + " 2>&1");
  RunResult r;
  FILE* pipe = popen(cmd.c_str(), "r");
  if (!pipe) return r;
  std::array<char, 4096> buf{};
  while (std::fgets(buf.data(), buf.size(), pipe))
    r.output += buf.data();
  const int status = pclose(pipe);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

}  // namespace agentrt::testing
