// Golden test: agentrt's Jinja interpreter against the reference renderer @huggingface/jinja,
// byte for byte. tests/jinja/run.sh (ctest jinja_golden) renders the cases with node into
// JINJA_GOLDEN_FILE first: the real chat templates (qwen3, llama3_1, llama3_2, llama3, gemma3,
// deepseek_v3) on tests/tokenizer/conversations.json, and the feature templates of
// tests/jinja/features.json. Where the reference fails, the C++ render must fail too.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "engine/chat/jinja/template.h"

namespace agentrt::chat::jinja {
namespace {

using Json = nlohmann::ordered_json;

TEST(JinjaGolden, MatchesHuggingFaceJinja) {
  const char* file = std::getenv("JINJA_GOLDEN_FILE");
  ASSERT_NE(file, nullptr) << "JINJA_GOLDEN_FILE is not set: run the jinja_golden ctest "
                              "(tests/jinja/run.sh renders the expected outputs with node)";
  std::ifstream in(file);
  ASSERT_TRUE(in) << file << " is missing: run tests/jinja/run.sh";
  std::string line;
  int rendered = 0;
  int refused = 0;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    const Json row = Json::parse(line);
    const std::string name = row["name"].get<std::string>();
    auto t = Template::parse(row["template"].get<std::string>(), name);
    Result<std::string> text = t.ok() ? t->render(row["context"]) : Result<std::string>(t.error());
    if (row.contains("error")) {
      EXPECT_FALSE(text.ok()) << name << ": the reference failed with '"
                              << row["error"].get<std::string>() << "' but we rendered:\n"
                              << *text;
      ++refused;
      continue;
    }
    ASSERT_TRUE(text.ok()) << name << ": " << text.error().to_string();
    EXPECT_EQ(*text, row["text"].get<std::string>()) << name;
    ++rendered;
  }
  EXPECT_GT(rendered, 100);
  std::printf("jinja golden: %d cases rendered identically, %d refused like the reference\n",
              rendered, refused);
}

}  // namespace
}  // namespace agentrt::chat::jinja
