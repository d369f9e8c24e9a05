#include "engine/common/file_read.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

namespace agentrt {
namespace {

namespace fs = std::filesystem;

class FileReadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("agentrt_file_read_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name, std::ios::binary) << text;
    return dir_ / name;
  }
  fs::path dir_;
};

TEST_F(FileReadTest, ReadsARegularFileWhole) {
  const auto p = write("a.txt", std::string("x\0y", 3));
  auto r = read_file_bounded(p, 16);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(*r, std::string("x\0y", 3));
  auto empty = read_file_bounded(write("e.txt", ""), 16);
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(*empty, "");
}

TEST_F(FileReadTest, RefusesAFileOverTheCapBeforeReading) {
  const auto p = write("big.txt", std::string(100, 'a'));
  auto r = read_file_bounded(p, 99);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::invalid_argument);
  EXPECT_NE(r.error().message.find("file too large (100 bytes, limit 99)"), std::string::npos)
      << r.error().message;
  EXPECT_TRUE(read_file_bounded(p, 100).ok());
}

TEST_F(FileReadTest, RefusesAFifoWithoutBlocking) {
  const auto p = dir_ / "fifo";
  ASSERT_EQ(::mkfifo(p.c_str(), 0600), 0);
  auto r = read_file_bounded(p, 1 << 20);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("a FIFO, not a regular file"), std::string::npos)
      << r.error().message;
}

TEST_F(FileReadTest, RefusesDevicesAndDirectories) {
  auto zero = read_file_bounded("/dev/zero", 1 << 20);
  ASSERT_FALSE(zero.ok());
  EXPECT_NE(zero.error().message.find("/dev/zero: a character device"), std::string::npos);
  auto d = read_file_bounded(dir_, 1 << 20);
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.error().message.find("a directory"), std::string::npos);
}

TEST_F(FileReadTest, NamesMissingFilesAndSymlinkLoops) {
  auto missing = read_file_bounded(dir_ / "nope.json", 16);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::not_found);
  EXPECT_NE(missing.error().message.find("nope.json: no such file"), std::string::npos);
  fs::create_symlink(dir_ / "b", dir_ / "a");
  fs::create_symlink(dir_ / "a", dir_ / "b");
  auto loop = read_file_bounded(dir_ / "a", 16);
  ASSERT_FALSE(loop.ok());
  EXPECT_NE(loop.error().message.find("too many levels of symbolic links"), std::string::npos)
      << loop.error().message;
}

TEST_F(FileReadTest, CheckRegularFileReportsTheSize) {
  auto r = check_regular_file(write("s.txt", "12345"), 5);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 5u);
  EXPECT_FALSE(check_regular_file("/dev/null", 5).ok());
}

}  // namespace
}  // namespace agentrt
