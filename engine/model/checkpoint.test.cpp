#include "engine/model/checkpoint.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "engine/model/safetensors_writer.h"
#include "engine/model/tiny_model.h"

namespace agentrt::model {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::random_tensor;
using testing::TempDir;

void expect_error(const fs::path& dir, std::vector<std::string> parts) {
  auto cp = Checkpoint::open(dir);
  ASSERT_FALSE(cp.ok()) << parts.front();
  for (const std::string& part : parts) {
    EXPECT_NE(cp.error().message.find(part), std::string::npos)
        << "'" << cp.error().message << "' lacks '" << part << "'";
  }
}

void write_index(const fs::path& dir, const json& weight_map) {
  ASSERT_TRUE(
      write_text_file(dir / "model.safetensors.index.json", json{{"weight_map", weight_map}}.dump())
          .ok());
}

void write_shard(const fs::path& dir, const std::string& name, std::vector<std::string> tensors) {
  std::vector<TensorData> data;
  for (const std::string& t : tensors)
    data.push_back(random_tensor(t, {2, 2}, DType::f32, 9));
  ASSERT_TRUE(write_safetensors(dir / name, data).ok());
}

TEST(Checkpoint, OpensSingleFile) {
  TempDir dir;
  const TensorData b = random_tensor("b", {3}, DType::bf16, 1);
  ASSERT_TRUE(write_safetensors(dir.path() / "model.safetensors",
                                {b, random_tensor("a", {2, 2}, DType::f32, 2)})
                  .ok());
  auto cp = Checkpoint::open(dir.path());
  ASSERT_TRUE(cp.ok()) << cp.error().to_string();
  EXPECT_EQ(cp->source(), "model.safetensors");
  const auto all = cp->tensors();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0]->name, "a");
  EXPECT_EQ(all[1]->name, "b");
  const TensorView* view = cp->find("b");
  ASSERT_NE(view, nullptr);
  EXPECT_EQ(view->file, "model.safetensors");
  EXPECT_EQ(view->dtype, DType::bf16);
  EXPECT_EQ(view->numel(), 3);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(view->data.data()), view->data.size()),
            b.bytes);
  EXPECT_EQ(cp->find("c"), nullptr);
  // Moving the checkpoint keeps views valid.
  Checkpoint moved = std::move(cp).value();
  EXPECT_EQ(moved.find("b"), view);
  EXPECT_EQ(view->data.size(), 6u);
}

TEST(Checkpoint, OpensShardsAndIncludesUnindexedTensors) {
  TempDir dir;
  write_shard(dir.path(), "s1.safetensors", {"a", "b"});
  write_shard(dir.path(), "s2.safetensors", {"c", "extra"});
  write_index(dir.path(),
              {{"a", "s1.safetensors"}, {"b", "s1.safetensors"}, {"c", "s2.safetensors"}});
  auto cp = Checkpoint::open(dir.path());
  ASSERT_TRUE(cp.ok()) << cp.error().to_string();
  EXPECT_EQ(cp->source(), "model.safetensors.index.json");
  EXPECT_EQ(cp->tensors().size(), 4u);
  ASSERT_NE(cp->find("extra"), nullptr);
  EXPECT_EQ(cp->find("c")->file, "s2.safetensors");
}

TEST(Checkpoint, NothingToOpen) {
  TempDir dir;
  expect_error(dir.path(), {"no checkpoint found",
                            "model.safetensors and "
                            "model.safetensors.index.json"});
  expect_error(dir.path() / "missing", {"not a directory"});
}

TEST(Checkpoint, BadIndexes) {
  TempDir dir;
  const fs::path index = dir.path() / "model.safetensors.index.json";
  ASSERT_TRUE(write_text_file(index, "{not json").ok());
  expect_error(dir.path(), {"model.safetensors.index.json: invalid JSON"});
  ASSERT_TRUE(write_text_file(index, R"({"metadata": {}})").ok());
  expect_error(dir.path(), {"/weight_map: missing"});
  ASSERT_TRUE(write_text_file(index, R"({"weight_map": []})").ok());
  expect_error(dir.path(), {"/weight_map: missing or not an object"});
  ASSERT_TRUE(write_text_file(index, R"({"weight_map": {}})").ok());
  expect_error(dir.path(), {"/weight_map: empty"});
  write_index(dir.path(), {{"a", 3}});
  expect_error(dir.path(), {"/weight_map/a: expected a file name"});
  write_index(dir.path(), {{"a", "../x.safetensors"}});
  expect_error(dir.path(), {"/weight_map/a: shard file name '../x.safetensors' must name a file "
                            "inside the model directory"});
  write_index(dir.path(), {{"a", "/etc/passwd"}});
  expect_error(dir.path(), {"must name a file inside"});
  write_index(dir.path(), {{"a", ".."}});
  expect_error(dir.path(), {"must name a file inside"});
  ASSERT_TRUE(write_text_file(index, R"({"weight_map": {"a": "x", "a": "y"}})").ok());
  expect_error(dir.path(), {"/weight_map/a: duplicate key 'a'"});
}

TEST(Checkpoint, MissingShard) {
  TempDir dir;
  write_shard(dir.path(), "s1.safetensors", {"a"});
  write_index(dir.path(), {{"a", "s1.safetensors"}, {"b", "s2.safetensors"}});
  expect_error(dir.path(), {"shard 's2.safetensors'", "s2.safetensors: no such file"});
}

TEST(Checkpoint, TensorAbsentFromItsShard) {
  TempDir dir;
  write_shard(dir.path(), "s1.safetensors", {"a"});
  write_shard(dir.path(), "s2.safetensors", {"b", "c"});
  write_index(dir.path(),
              {{"a", "s1.safetensors"}, {"b", "s1.safetensors"}, {"c", "s2.safetensors"}});
  expect_error(dir.path(), {"tensor 'b' is listed in shard 's1.safetensors'",
                            "'s2.safetensors' "
                            "holds it"});
  write_index(dir.path(), {{"a", "s1.safetensors"}, {"zzz", "s1.safetensors"}});
  expect_error(dir.path(), {"tensor 'zzz'", "no shard holds it"});
}

TEST(Checkpoint, TensorInTwoShards) {
  TempDir dir;
  write_shard(dir.path(), "s1.safetensors", {"a", "b"});
  write_shard(dir.path(), "s2.safetensors", {"b"});
  write_index(dir.path(), {{"a", "s1.safetensors"}, {"b", "s2.safetensors"}});
  expect_error(dir.path(), {"tensor 'b' is also in s1.safetensors"});
}

TEST(Checkpoint, TruncatedAndLyingFiles) {
  TempDir dir;
  auto image = encode_safetensors({random_tensor("a", {8}, DType::f32, 3)});
  ASSERT_TRUE(image.ok());
  const fs::path file = dir.path() / "model.safetensors";
  ASSERT_TRUE(write_text_file(file, image->substr(0, image->size() - 1)).ok());
  expect_error(dir.path(),
               {"model.safetensors: tensor 'a'", "exceed the data section", "truncated"});
  ASSERT_TRUE(write_text_file(file, image->substr(0, 20)).ok());
  expect_error(dir.path(), {"model.safetensors: header length", "exceeds the file size 20"});
  ASSERT_TRUE(write_text_file(file, "").ok());
  expect_error(dir.path(), {"model.safetensors: file of 0 bytes is too short"});
  // Offsets that lie: the header claims more bytes than the shape needs.
  ASSERT_TRUE(write_text_file(file, frame_safetensors(R"({"a": {"dtype": "F32", "shape": [2],
                                                          "data_offsets": [0, 12]}})",
                                                      std::string(12, '\0')))
                  .ok());
  expect_error(dir.path(), {"tensor 'a'", "hold 12 bytes"});
}

TEST(Checkpoint, SymlinkedShardsAreFollowed) {
  // Hugging Face cache snapshots link each file to a blob outside the snapshot directory.
  TempDir dir;
  fs::create_directory(dir.path() / "blobs");
  fs::create_directory(dir.path() / "snapshot");
  write_shard(dir.path() / "blobs", "123abc", {"a"});
  fs::create_symlink("../blobs/123abc", dir.path() / "snapshot" / "model.safetensors");
  auto cp = Checkpoint::open(dir.path() / "snapshot");
  ASSERT_TRUE(cp.ok()) << cp.error().to_string();
  EXPECT_NE(cp->find("a"), nullptr);
}

}  // namespace
}  // namespace agentrt::model
