// NFC against Python's unicodedata (tests/tokenizer/nfc_cases.jsonl, made by
// tests/tokenizer/gen_nfc_tables.py), plus the invalid-UTF-8 pass-through.
#include "engine/tokenizer/nfc.h"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

namespace agentrt::tokenizer {
namespace {

TEST(Nfc, MatchesPythonUnicodedata) {
  const std::string path = std::string(AGENTRT_SOURCE_DIR) + "/tests/tokenizer/nfc_cases.jsonl";
  std::ifstream in(path);
  ASSERT_TRUE(in) << path << " is missing (python3 tests/tokenizer/gen_nfc_tables.py)";
  std::string line;
  int cases = 0, failures = 0;
  while (std::getline(in, line) && failures < 10) {
    const auto pair = nlohmann::json::parse(line);
    const std::string input = pair[0].get<std::string>(), want = pair[1].get<std::string>();
    if (to_nfc(input) != want) {
      ++failures;
      ADD_FAILURE() << "NFC(" << pair[0].dump() << ") = " << nlohmann::json(to_nfc(input)).dump()
                    << ", want " << pair[1].dump();
    }
    if (is_nfc_quick(input)) {
      EXPECT_EQ(input, want) << pair[0].dump();
    }
    ++cases;
  }
  EXPECT_GT(cases, 5000);
}

TEST(Nfc, BasicsAndInvalidBytes) {
  EXPECT_EQ(to_nfc("plain ascii"), "plain ascii");
  EXPECT_EQ(to_nfc("e\u0301"), "\u00e9");
  EXPECT_EQ(to_nfc("\u1100\u1161\u11a8"), "\uac01");
  EXPECT_EQ(to_nfc("\u212b"), "\u00c5");
  EXPECT_EQ(to_nfc("e\xFF\u0301"), "e\xFF\u0301");  // a raw byte blocks composition
  EXPECT_EQ(to_nfc("\xC3"), "\xC3");
  EXPECT_TRUE(is_nfc_quick("日本語 cafe 한국어"));
  EXPECT_FALSE(is_nfc_quick("cafe\u0301"));
}

}  // namespace
}  // namespace agentrt::tokenizer
