// The OpenAI chat route on a model whose chat template only the Jinja interpreter renders:
// tiny-calc with its Qwen template rewritten so that no hand-written family matches (the
// <|im_start|> marker built by concatenation; the text it renders is unchanged). Tool calls
// are parsed in the format detected from the template (<tool_call>), and the second turn's
// prompt, rendered again through Jinja, is served from the first turn's pinned KV.
#include <gtest/gtest.h>

#include <fstream>

#include "api/openai_choice.h"
#include "api/server_testing.h"
#include "engine/tokenizer/tokenizer_test_util.h"

namespace agentrt::api {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::fresh_dir;
using testing::RunningServer;
using testing::source_dir;

// DATA/tiny-calc: tiny-calc's files linked, its tokenizer_config.json rewritten.
fs::path jinja_only_tiny_calc(const fs::path& data) {
  const fs::path dir = data / "models" / "tiny-calc";
  fs::create_directories(dir);
  const fs::path src = source_dir() / "models" / "tiny-calc";
  for (const char* f :
       {"config.json", "generation_config.json", "model.safetensors", "tokenizer.json"})
    fs::create_symlink(src / f, dir / f);
  std::ifstream in(src / "tokenizer_config.json");
  json config = json::parse(in);
  std::string t = config["chat_template"].get<std::string>();
  for (std::size_t p; (p = t.find("'<|im_start|>")) != std::string::npos;)
    t.replace(p, 13, "'<|im_' + 'start|>");
  config["chat_template"] = t;
  std::ofstream(dir / "tokenizer_config.json") << config.dump();
  return dir;
}

TEST(OpenAiJinja, ToolCallRoundTripOnAJinjaOnlyTemplate) {
  const fs::path data = fresh_dir("oa-jinja");
  ServerOptions o = testing::test_options(data);
  o.model_dirs = {jinja_only_tiny_calc(data)};
  o.enable_thinking = false;
  RunningServer s(o);
  ASSERT_TRUE(s.ok()) << s.error();
  auto c = s.client();
  std::ifstream f(source_dir() / "models/tiny-calc/examples/beads.json");
  json req = json::parse(f);
  req["model"] = "tiny-calc";
  req["temperature"] = 0;
  req["max_tokens"] = 120;
  auto r = c.Post("/v1/chat/completions", req.dump(), "application/json");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  const json b = json::parse(r->body);
  const json& choice = b["choices"][0];
  ASSERT_EQ(choice["finish_reason"], "tool_calls") << r->body;
  const json& call = choice["message"]["tool_calls"][0];
  EXPECT_EQ(call["function"]["name"], "calculator");
  EXPECT_TRUE(
      json::parse(call["function"]["arguments"].get<std::string>())["expression"].is_string());

  req["messages"].push_back(choice["message"]);
  req["messages"].push_back({{"role", "tool"}, {"tool_call_id", call["id"]}, {"content", "24"}});
  auto r2 = c.Post("/v1/chat/completions", req.dump(), "application/json");
  ASSERT_TRUE(r2);
  ASSERT_EQ(r2->status, 200) << r2->body;
  const json b2 = json::parse(r2->body);
  // The re-rendered conversation starts with the tokens the first turn left pinned.
  EXPECT_GT(b2["usage"]["prompt_tokens_details"]["cached_tokens"].get<int>(), 200) << b2.dump();
}

// gpt-oss's real tokenizer: harmony's markers are special tokens, so the choice decodes with
// special tokens kept; the analysis channel is reasoning, the commentary call a tool call.
// The reply ends at <|call|> (an end-of-turn id: not decoded).
TEST(OpenAiJinja, HarmonyReplyTokenByToken) {
  const tokenizer::Tokenizer* tok = tokenizer::test::real_tokenizer("gptoss");
  ASSERT_NE(tok, nullptr);
  ChoiceOptions o;
  o.parse_tools = true;
  o.format = chat::ToolCallFormat::harmony;
  ChoiceDecoder d(*tok, o);
  const auto ids = tok->encode(
      "<|channel|>analysis<|message|>Need 6*4.<|end|><|start|>assistant<|channel|>commentary "
      "to=functions.calculator <|constrain|>json<|message|>{\"expression\": \"6*4\"}<|call|>",
      false);
  ASSERT_GT(ids.size(), 10u);
  ChoiceDelta all;
  for (std::size_t i = 0; i < ids.size(); ++i) {
    actors::CompletionToken t{ids[i], -0.5f, {}};
    auto x = d.feed(std::span(&t, 1), i + 1 == ids.size());
    ASSERT_TRUE(x.ok());
    all.content += x->content;
    all.reasoning += x->reasoning;
    for (auto& c : x->calls)
      all.calls.push_back(std::move(c));
  }
  auto end = d.finish();
  ASSERT_TRUE(end.ok());
  all.content += end->content;
  for (auto& c : end->calls)
    all.calls.push_back(std::move(c));
  EXPECT_EQ(all.content, "");
  EXPECT_EQ(all.reasoning, "Need 6*4.");
  ASSERT_EQ(all.calls.size(), 1u);
  EXPECT_EQ(all.calls[0].name, "calculator");
  EXPECT_EQ(all.calls[0].arguments, chat::Json::parse(R"({"expression": "6*4"})"));
  EXPECT_EQ(d.calls(), 1);
}

}  // namespace
}  // namespace agentrt::api
