// tokenizer.json and tokenizer_config.json that are not regular files: FIFOs, devices and
// symlink loops give errors naming the path and never block or read without end.
#include <stdlib.h>
#include <sys/stat.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "engine/tokenizer/tokenizer.h"

namespace agentrt::tokenizer {
namespace {

namespace fs = std::filesystem;

struct TempDir {
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "agentrt-tok-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) std::abort();
    path = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  fs::path path;
};

std::string load_error(const fs::path& file) {
  auto t = Tokenizer::load(file.string());
  return t.ok() ? std::string("(loaded)") : t.error().message;
}

TEST(TokenizerFiles, TokenizerJsonThatIsNotARegularFile) {
  TempDir dir;
  const fs::path fifo = dir.path / "tokenizer.json";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  EXPECT_EQ(load_error(fifo), fifo.string() + ": a FIFO, not a regular file");
  const fs::path zero = dir.path / "zero.json";
  fs::create_symlink("/dev/zero", zero);
  EXPECT_EQ(load_error(zero), zero.string() + ": a character device, not a regular file");
  const fs::path loop = dir.path / "loop.json";
  fs::create_symlink(loop, loop);
  EXPECT_EQ(load_error(loop), loop.string() + ": too many levels of symbolic links");
  EXPECT_EQ(load_error(dir.path), dir.path.string() + ": a directory, not a regular file");
}

TEST(TokenizerFiles, TokenizerConfigThatIsADevice) {
  TempDir dir;
  // A minimal valid tokenizer.json, so that load_dir gets to tokenizer_config.json.
  std::ofstream(dir.path / "tokenizer.json")
      << R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": []}, "decoder": {"type": "ByteLevel"}})";
  ASSERT_TRUE(Tokenizer::load((dir.path / "tokenizer.json").string()).ok());
  fs::create_symlink("/dev/zero", dir.path / "tokenizer_config.json");
  auto t = Tokenizer::load_dir(dir.path.string());
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.error().message, (dir.path / "tokenizer_config.json").string() +
                                   ": a character device, not a regular file");
}

// A normalizer of 30,000 nested Sequences overflowed the stack in the recursive loader;
// the depth is now checked before parsing, and the message names the place.
TEST(TokenizerFiles, DeeplyNestedSequencesAreRefusedBeforeParsing) {
  const int depth = 30000;
  std::string normalizer;
  for (int i = 0; i < depth; ++i)
    normalizer += R"({"type":"Sequence","normalizers":[)";
  normalizer += "null";
  for (int i = 0; i < depth; ++i)
    normalizer += "]}";
  const std::string text =
      R"({"model":{"type":"BPE","vocab":{},"merges":[]},"normalizer":)" + normalizer + "}";
  auto t = Tokenizer::from_json(text, "deep.json");
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.error().message.find("deep.json: JSON nested deeper than 128 levels at /normalizer/"),
            std::string::npos)
      << t.error().message;
  auto flat = Tokenizer::load_dir(std::string(AGENTRT_SOURCE_DIR) + "/models/tiny-calc");
  ASSERT_TRUE(flat.ok()) << flat.error().message;
  const Status deep_config =
      flat->set_config_json("[" + std::string(200, '[') + std::string(201, ']'), "cfg.json");
  ASSERT_FALSE(deep_config.ok());
  EXPECT_NE(deep_config.error().message.find("cfg.json: JSON nested deeper"), std::string::npos);
}

}  // namespace
}  // namespace agentrt::tokenizer
