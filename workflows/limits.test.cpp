// Hostile inputs to workflows: deep JSON and YAML nesting, huge lists, echoed values, files
// that are FIFOs, symlink loops or hold NUL bytes. Each is refused with a placed message,
// never a crash.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "engine/common/echo.h"
#include "engine/common/json_depth.h"
#include "workflows/inputs.h"
#include "workflows/loader.h"
#include "workflows/test_util.h"

namespace agentrt::workflows {
namespace {

namespace fs = std::filesystem;
using testing::dump;
using testing::errors_of;
using testing::has_error;

std::string nested(int depth) {
  return std::string(depth, '[') + std::string(depth, ']');
}

Workflow load(const std::string& yaml) {
  LoadResult r = load_workflow(yaml, "wf.yaml");
  EXPECT_TRUE(r.ok()) << r.diagnostics.to_string();
  return r.workflow;
}

const char* kListWorkflow = R"(agents: {a: {}}
inputs:
  xs: { type: list, default: [a] }
  s: { type: string, default: x }
  n: { type: int, default: 1 }
steps: [{ id: s, agent: a, input: x }]
)";

TEST(Limits, DeepJsonValuesAreListsNeverCrashes) {
  const std::string deep = nested(50000);
  // to_list never fails: too deep to read as JSON, it is read as lines.
  EXPECT_EQ(Value(deep).to_list(), std::vector<std::string>{deep});
  auto items = Value(deep).to_items("map.over");
  ASSERT_FALSE(items.ok());
  EXPECT_EQ(
      items.error().message.rfind("map.over: JSON nested deeper than 128 levels at /0/0/0", 0), 0u)
      << items.error().message;
  // At the limit, elements that are not strings come back as their JSON text.
  auto fine = Value("[\"a\", " + nested(kMaxJsonDepth - 1) + "]").to_items("x");
  ASSERT_TRUE(fine.ok());
  EXPECT_EQ(fine->at(1), nested(kMaxJsonDepth - 1));
}

TEST(Limits, ListInputsHaveItemAndByteCaps) {
  const Workflow wf = load(kListWorkflow);
  std::string many;
  for (std::size_t i = 0; i <= kMaxListItems; ++i)
    many += "x\n";
  Diagnostics d("wf.yaml");
  (void)resolve_inputs(wf, {{"xs", many}}, d);
  EXPECT_EQ(d.to_string(),
            "wf.yaml: --input xs: input 'xs': a list may have at most 10000 items, "
            "got 10001\n");
  std::string json = "[";
  for (std::size_t i = 0; i <= kMaxListItems; ++i)
    json += std::string(i ? "," : "") + "1";
  Diagnostics dj("wf.yaml");
  (void)resolve_inputs(wf, {{"xs", json + "]"}}, dj);
  EXPECT_NE(dj.to_string().find("at most 10000 items, got 10001"), std::string::npos);
  Diagnostics db("wf.yaml");
  (void)resolve_inputs(wf, {{"xs", std::string(kMaxListBytes + 1, 'x')}}, db);
  EXPECT_NE(db.to_string().find("a list may hold at most 8388608 bytes, got 8388609"),
            std::string::npos);
  Diagnostics dd("wf.yaml");
  (void)resolve_inputs(wf, {{"xs", nested(100000)}, {"s", nested(100000)}}, dd);
  EXPECT_EQ(dd.size(), 2u);
  EXPECT_NE(dd.to_string().find("--input xs: input 'xs': JSON nested deeper than 128"),
            std::string::npos);
  EXPECT_NE(dd.to_string().find("--input s: input 's': JSON nested deeper than 128"),
            std::string::npos);
}

TEST(Limits, EchoedValuesAreCut) {
  const Workflow wf = load(kListWorkflow);
  Diagnostics d("wf.yaml");
  const std::string secret(100000, 's');
  (void)resolve_inputs(wf, {{"n", secret}, {std::string(5000, 'k'), "1"}}, d);
  ASSERT_EQ(d.size(), 2u);
  for (const auto& item : d.items())
    EXPECT_LT(item.message.size(), 3 * kMaxEchoBytes) << item.message.substr(0, 300);
  EXPECT_NE(d.to_string().find("... (100000 bytes)'"), std::string::npos);
}

TEST(Limits, DeepStringDefaultFailsValidateAtItsPlace) {
  const std::string yaml = "agents: {a: {}}\ninputs:\n  s: { type: string, default: '" +
                           nested(20000) +
                           "' }\nsteps: [{ id: s, agent: a, input: x, map: { over: "
                           "'{{ inputs.s }}' } }]\n";
  const auto errs = errors_of(yaml);
  EXPECT_TRUE(has_error(errs, "3:31", "inputs.s.default: input 's': JSON nested deeper than 128"))
      << dump(errs).substr(0, 500);
}

TEST(Limits, ListDefaultsHaveAnItemCap) {
  std::string items;
  for (std::size_t i = 0; i <= kMaxListItems; ++i)
    items += std::string(i ? ", " : "") + "x";
  const auto errs = errors_of("agents: {a: {}}\ninputs:\n  xs: { type: list, default: [" + items +
                              "] }\nsteps: [{ id: s, agent: a, input: x }]\n");
  EXPECT_TRUE(has_error(errs, "3:30", "inputs.xs.default: a list may have at most 10000 items"))
      << dump(errs).substr(0, 2000);
}

TEST(Limits, DeepYamlFlowNestingIsASyntaxError) {
  for (const std::string& open : {std::string("["), std::string("{a: "), std::string("[{a: ")}) {
    std::string deep;
    for (int i = 0; i < 100000 && deep.size() < kMaxWorkflowBytes / 2; ++i)
      deep += open;
    const auto errs = errors_of("agents: {a: {}}\nsteps: " + deep + "\n");
    ASSERT_FALSE(errs.empty());
    EXPECT_NE(errs[0].find("YAML nested too deep (more than 500 levels of lists and mappings)"),
              std::string::npos)
        << errs[0];
  }
}

TEST(Limits, TemplateListFiltersCheckTheCaps) {
  auto t = Template::parse("{{ inputs.xs | first }}");
  ASSERT_TRUE(t.ok());
  auto r = t->render([](const std::vector<std::string>&) { return Value(nested(1000)); });
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message.rfind("{{ inputs.xs | first }}: JSON nested deeper than 128", 0), 0u)
      << r.error().message;
}

TEST(Limits, LongNamesInTheFileAreCutInMessages) {
  const std::string longname(5000, 'q');
  // (Keys cannot be this long: YAML caps implicit keys at 1024 characters.)
  const auto errs =
      errors_of("agents: {a: {model: " + longname + "}}\nsteps: [{ id: s, agent: " + longname +
                ", input: '{{ inputs." + longname + " }}' }]\n");
  ASSERT_GE(errs.size(), 3u) << dump(errs).substr(0, 1000);
  for (const auto& e : errs)
    EXPECT_LT(e.size(), 3 * kMaxEchoBytes) << e.substr(0, 300);
}

TEST(Limits, NulByteIsNamedAtItsPlace) {
  const std::string yaml =
      std::string("agents: {a: {}}\nsteps: [{ id: s, agent: a, input: \"x") + '\0' + "\" }]\n";
  LoadResult r = load_workflow(yaml, "wf.yaml");
  EXPECT_EQ(r.diagnostics.to_string(),
            "wf.yaml:2:37: NUL byte at 2:37; YAML text may not contain NUL\n");
}

class LimitsFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("agentrt_wf_limits_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(LimitsFiles, FifoIsNamedWithoutBlocking) {
  const fs::path fifo = dir_ / "wf.yaml";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  const LoadResult r = load_workflow_file(fifo.string());  // would block if it opened the FIFO
  EXPECT_EQ(r.diagnostics.to_string(), fifo.string() + ": a FIFO, not a regular file\n");
}

TEST_F(LimitsFiles, SymlinkLoopIsNamed) {
  const fs::path a = dir_ / "a.yaml", b = dir_ / "b.yaml";
  fs::create_symlink(b, a);
  fs::create_symlink(a, b);
  const LoadResult r = load_workflow_file(a.string());
  EXPECT_EQ(r.diagnostics.to_string(), a.string() + ": too many levels of symbolic links\n");
}

TEST_F(LimitsFiles, OversizedFileIsRefusedBeforeReading) {
  const fs::path big = dir_ / "big.yaml";
  std::ofstream(big) << std::string(kMaxWorkflowBytes + 1, '#');
  const LoadResult r = load_workflow_file(big.string());
  EXPECT_NE(r.diagnostics.to_string().find("file too large"), std::string::npos)
      << r.diagnostics.to_string();
}

}  // namespace
}  // namespace agentrt::workflows
