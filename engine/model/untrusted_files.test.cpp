// Model directories whose files are not regular files: FIFOs, devices, directories and
// symlink loops give errors naming the path, and never block or read without end.
#include <sys/stat.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "engine/common/file_read.h"
#include "engine/model/checkpoint.h"
#include "engine/model/config.h"
#include "engine/model/model.h"
#include "engine/model/tiny_model.h"

namespace agentrt::model {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

// A valid tiny model directory, with `file` then replaced by what `make` puts there.
template <class Make>
Error load_error(const std::string& file, Make make) {
  TempDir dir;
  const auto config = testing::tiny_config_json(Architecture::llama);
  auto c = parse_config(config.dump(), "config.json");
  EXPECT_TRUE(c.ok());
  EXPECT_TRUE(testing::write_model_dir(dir.path(), config, testing::tiny_tensors(*c)).ok());
  fs::remove(dir.path() / file);
  make(dir.path() / file);
  auto m = Model::load(dir.path());
  EXPECT_FALSE(m.ok()) << file;
  return m.ok() ? Error{} : m.error();
}

void expect_parts(const Error& e, std::initializer_list<std::string> parts) {
  for (const std::string& part : parts) {
    EXPECT_NE(e.message.find(part), std::string::npos)
        << "'" << e.message << "' lacks '" << part << "'";
  }
}

void make_fifo(const fs::path& p) {
  ASSERT_EQ(::mkfifo(p.c_str(), 0600), 0);
}

TEST(UntrustedFiles, ConfigJsonThatIsNotARegularFile) {
  expect_parts(load_error("config.json", make_fifo), {"config.json: a FIFO, not a regular file"});
  expect_parts(
      load_error("config.json", [](const fs::path& p) { fs::create_symlink("/dev/zero", p); }),
      {"config.json: a character device, not a regular file"});
  expect_parts(load_error("config.json", [](const fs::path& p) { fs::create_directory(p); }),
               {"config.json: a directory, not a regular file"});
  expect_parts(load_error("config.json", [](const fs::path& p) { fs::create_symlink(p, p); }),
               {"config.json: too many levels of symbolic links"});
}

TEST(UntrustedFiles, ConfigJsonOverTheCapIsRefusedBeforeReading) {
  const Error e = load_error("config.json", [](const fs::path& p) {
    ASSERT_TRUE(write_text_file(p, std::string(kMaxConfigFileBytes + 1, ' ')).ok());
  });
  EXPECT_EQ(e.code, ErrorCode::invalid_argument);
  expect_parts(e, {"config.json: file too large", "limit 16777216"});
}

TEST(UntrustedFiles, SafetensorsThatIsNotARegularFile) {
  const Error fifo = load_error("model.safetensors", make_fifo);
  EXPECT_EQ(fifo.code, ErrorCode::io);
  expect_parts(fifo, {"model.safetensors: a FIFO, not a regular file"});
  expect_parts(load_error("model.safetensors", [](const fs::path& p) { fs::create_symlink(p, p); }),
               {"model.safetensors: too many levels of symbolic links"});
  expect_parts(load_error("model.safetensors",
                          [](const fs::path& p) { fs::create_symlink("/dev/zero", p); }),
               {"model.safetensors: a character device"});
}

TEST(UntrustedFiles, ShardIndexThatIsAFifo) {
  TempDir dir;
  const auto config = testing::tiny_config_json(Architecture::llama);
  ASSERT_TRUE(write_text_file(dir.path() / "config.json", config.dump()).ok());
  make_fifo(dir.path() / "model.safetensors.index.json");
  auto cp = Checkpoint::open(dir.path());
  ASSERT_FALSE(cp.ok());
  expect_parts(cp.error(), {"model.safetensors.index.json: a FIFO"});
}

TEST(UntrustedFiles, ModelDirThatIsASymlinkLoop) {
  TempDir dir;
  const fs::path loop = dir.path() / "loop";
  fs::create_symlink(loop, loop);
  auto cp = Checkpoint::open(loop);
  ASSERT_FALSE(cp.ok());
  expect_parts(cp.error(), {loop.string(), "Too many levels of symbolic links"});
  auto m = Model::load(loop);
  ASSERT_FALSE(m.ok());
  expect_parts(m.error(), {"config.json: too many levels of symbolic links"});
}

}  // namespace
}  // namespace agentrt::model
