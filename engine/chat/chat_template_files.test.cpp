// detect_family_in_dir on a tokenizer_config.json that is not a regular file: an error
// naming the path, never a blocked or endless read.
#include <stdlib.h>
#include <sys/stat.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "engine/chat/chat_template.h"

namespace agentrt::chat {
namespace {

namespace fs = std::filesystem;

struct TempDir {
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "agentrt-chat-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) std::abort();
    path = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  fs::path path;
};

TEST(ChatTemplateFiles, TokenizerConfigThatIsNotARegularFile) {
  TempDir dir;
  const fs::path config = dir.path / "tokenizer_config.json";
  fs::create_symlink("/dev/zero", config);
  auto zero = detect_family_in_dir(dir.path.string());
  ASSERT_FALSE(zero.ok());
  EXPECT_EQ(zero.error().message, config.string() + ": a character device, not a regular file");
  fs::remove(config);
  ASSERT_EQ(::mkfifo(config.c_str(), 0600), 0);
  auto fifo = detect_family_in_dir(dir.path.string());
  ASSERT_FALSE(fifo.ok());
  EXPECT_EQ(fifo.error().message, config.string() + ": a FIFO, not a regular file");
  fs::remove(config);
  auto missing = detect_family_in_dir(dir.path.string());
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::not_found);
}

}  // namespace
}  // namespace agentrt::chat
