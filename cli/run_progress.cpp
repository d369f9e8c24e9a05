#include "cli/run_progress.h"

#include <cstdio>

namespace agentrt::cli {

using actors::workflow::StepState;
using actors::workflow::StepStatus;

RunProgress::RunProgress(actors::workflow::WorkflowRunner& runner, bool live, bool quiet)
    : runner_(runner), live_(live && !quiet), quiet_(quiet) {
  if (live_) {
    redraw_ = std::thread([this] {
      while (!done_.load()) {
        draw();
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
    });
  }
}

RunProgress::~RunProgress() {
  finish();
}

void RunProgress::finish() {
  if (done_.exchange(true)) return;
  if (redraw_.joinable()) redraw_.join();
  if (live_) draw();
}

void RunProgress::on_event(const std::string& step, const std::string& line) {
  if (live_ || quiet_) return;
  const double t = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count();
  std::lock_guard lk(mu_);
  std::fprintf(stderr, "[%7.2fs] %s: %s\n", t, step.c_str(), line.c_str());
}

std::string RunProgress::row(const StepStatus& s) const {
  const char* colour = s.state == StepState::done      ? "\x1b[32m"
                       : s.state == StepState::failed  ? "\x1b[31m"
                       : s.state == StepState::running ? "\x1b[33m"
                                                       : "\x1b[2m";
  const std::string activity = s.state == StepState::running ? s.activity : "";
  char buf[256];
  std::snprintf(buf, sizeof buf, "  %-16.16s %s%-9s\x1b[0m %-10.10s %7lld tok %4d calls %7.1fs",
                s.id.c_str(), colour, to_string(s.state), activity.c_str(),
                static_cast<long long>(s.tokens), s.tool_calls, s.elapsed);
  std::string out = buf;
  if (s.samples_total > 0) {  // best-of-N: a bar of finished samples
    const int width = 20;
    const int filled = s.samples_done * width / s.samples_total;
    out += "  [" + std::string(static_cast<std::size_t>(filled), '#') +
           std::string(static_cast<std::size_t>(width - filled), '.') + "] " +
           std::to_string(s.samples_done) + "/" + std::to_string(s.samples_total);
  } else if (s.units_total > 1) {
    out += "  " + std::to_string(s.units_done) + "/" + std::to_string(s.units_total) + " items";
  }
  return out;
}

void RunProgress::draw() {
  const auto steps = runner_.snapshot();
  std::lock_guard lk(mu_);
  std::string frame;
  if (drawn_lines_ > 0) frame += "\x1b[" + std::to_string(drawn_lines_) + "F";
  for (const auto& s : steps)
    frame += "\x1b[2K" + row(s) + "\n";
  std::fputs(frame.c_str(), stderr);
  std::fflush(stderr);
  drawn_lines_ = static_cast<int>(steps.size());
}

}  // namespace agentrt::cli
