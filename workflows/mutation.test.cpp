// Randomized robustness: mutated example workflows and random bytes through load and
// validate never crash, and every error of a parsed file has a line and column inside it.
#include <gtest/gtest.h>

#include <fstream>
#include <random>
#include <sstream>

#include "workflows/loader.h"
#include "workflows/planner.h"
#include "workflows/validator.h"

namespace agentrt::workflows {
namespace {

std::string read_example(const std::string& name) {
  std::ifstream in(std::string(AGENTRT_SOURCE_DIR) + "/workflows/examples/" + name);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string mutate(std::string s, std::mt19937_64& rng) {
  static const char* kTokens[] = {"{",  "}",  "[", "]",     ":",  ": ", "- ", "&a ", "*a",
                                  "!!", "|",  ">", "{{",    "}}", "#",  "\n", "  ",  "\t",
                                  "'",  "\"", "~", "steps", "id", ",",  "%",  "\\",  "\xff"};
  const int edits = 1 + static_cast<int>(rng() % 4);
  for (int e = 0; e < edits && !s.empty(); ++e) {
    const std::size_t at = rng() % (s.size() + 1);
    switch (rng() % 5) {
      case 0:  // delete a span
        s.erase(std::min(at, s.size() - 1), 1 + rng() % 8);
        break;
      case 1:  // insert a YAML-significant token
        s.insert(at, kTokens[rng() % std::size(kTokens)]);
        break;
      case 2:  // replace a byte
        if (at < s.size()) s[at] = static_cast<char>(rng() % 256);
        break;
      case 3: {  // duplicate a line
        const auto b = s.rfind('\n', at == 0 ? 0 : at - 1);
        const auto start = b == std::string::npos ? 0 : b + 1;
        const auto end = s.find('\n', start);
        s.insert(start, s.substr(start, (end == std::string::npos ? s.size() : end + 1) - start));
        break;
      }
      default:  // truncate
        s.resize(at);
    }
  }
  return s;
}

void check_located(const std::string& text) {
  LoadResult r = load_workflow(text, "m.yaml");
  if (r.parsed) validate_workflow(r.workflow, r.diagnostics);
  int lines = 1;
  for (char c : text)
    lines += c == '\n';
  for (const auto& d : r.diagnostics.items()) {
    ASSERT_GE(d.loc.line, 1) << d.message << "\n---\n" << text;
    ASSERT_LE(d.loc.line, lines + 1) << d.message << "\n---\n" << text;
    ASSERT_GE(d.loc.col, 1) << d.message << "\n---\n" << text;
  }
  if (r.ok()) (void)plan_workflow(r.workflow);
}

TEST(Mutation, MutatedExamplesNeverCrashAndErrorsHavePlaces) {
  const char* names[] = {"single_agent.yaml",  "best_of_majority.yaml",  "team_review.yaml",
                         "map_questions.yaml", "loop_until_answer.yaml", "research_files.yaml",
                         "when_branch.yaml",   "schema_map.yaml"};
  std::mt19937_64 rng(20261201);
  int failing = 0, total = 0;
  for (const char* name : names) {
    const std::string base = read_example(name);
    ASSERT_FALSE(base.empty()) << name;
    ASSERT_TRUE(
        check_workflow_file(std::string(AGENTRT_SOURCE_DIR) + "/workflows/examples/" + name).ok());
    for (int i = 0; i < 600; ++i) {
      const std::string m = mutate(base, rng);
      check_located(m);
      if (::testing::Test::HasFatalFailure()) return;
      LoadResult r = load_workflow(m, "m.yaml");
      failing += !r.ok();
      ++total;
    }
  }
  // The mutations must actually exercise the error paths, not only reformat valid files.
  EXPECT_GT(failing, total / 4) << failing << " of " << total;
}

TEST(Mutation, RandomBytesNeverCrash) {
  std::mt19937_64 rng(7);
  for (int i = 0; i < 2000; ++i) {
    std::string s(rng() % 200, '\0');
    for (auto& c : s)
      c = static_cast<char>(rng() % 4 ? " :-{}[]\n'\"abc|>#&*!"[rng() % 20] : rng() % 256);
    check_located(s);
    if (::testing::Test::HasFatalFailure()) return;
  }
}

TEST(Mutation, DeepNestingIsAnErrorNotACrash) {
  const std::string deep = "steps: " + std::string(100000, '[') + "\n";
  LoadResult r = load_workflow(deep, "deep.yaml");
  EXPECT_FALSE(r.ok());
}

}  // namespace
}  // namespace agentrt::workflows
