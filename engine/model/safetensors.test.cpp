#include "engine/model/safetensors.h"

#include <gtest/gtest.h>

#include <string>

#include "engine/model/safetensors_writer.h"
#include "engine/model/tiny_model.h"

namespace agentrt::model {
namespace {

std::span<const std::byte> as_bytes(const std::string& s) {
  return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

Result<SafetensorsHeader> parse(const std::string& file) {
  return parse_safetensors_header(as_bytes(file), "model.safetensors");
}

// Expects a failure whose message contains every part.
void expect_error(const std::string& file, std::vector<std::string> parts) {
  auto h = parse(file);
  ASSERT_FALSE(h.ok()) << parts.front();
  for (const std::string& part : parts) {
    EXPECT_NE(h.error().message.find(part), std::string::npos)
        << "'" << h.error().message << "' lacks '" << part << "'";
  }
  EXPECT_EQ(h.error().message.rfind("model.safetensors: ", 0), 0u) << h.error().message;
}

std::string framed(const std::string& header, std::size_t data_bytes) {
  return frame_safetensors(header, std::string(data_bytes, '\0'));
}

TEST(Safetensors, RoundTripsWriterOutput) {
  auto image = encode_safetensors({testing::random_tensor("b", {2, 3}, DType::f16, 1),
                                   testing::random_tensor("a", {4}, DType::f32, 2),
                                   testing::random_tensor("empty", {0, 5}, DType::bf16, 3),
                                   testing::random_tensor("scalar", {}, DType::bf16, 4)},
                                  {{"format", "pt"}});
  ASSERT_TRUE(image.ok());
  auto h = parse(*image);
  ASSERT_TRUE(h.ok()) << h.error().to_string();
  EXPECT_EQ(h->data_offset % 8, 0u);
  ASSERT_EQ(h->tensors.size(), 4u);
  EXPECT_EQ(h->tensors[0].name, "b");  // file order of offsets
  EXPECT_EQ(h->tensors[0].dtype, DType::f16);
  EXPECT_EQ(h->tensors[0].shape, (std::vector<std::int64_t>{2, 3}));
  EXPECT_EQ(h->tensors[0].begin, 0u);
  EXPECT_EQ(h->tensors[0].end, 12u);
  EXPECT_EQ(h->tensors[1].name, "a");
  EXPECT_EQ(h->tensors[3].name, "scalar");
  EXPECT_EQ(h->tensors[3].numel(), 1);
  EXPECT_EQ(h->metadata.at("format"), "pt");
}

TEST(Safetensors, RejectsBadFraming) {
  expect_error("", {"too short"});
  expect_error(std::string(7, '\0'), {"too short"});
  std::string huge(8, '\xff');
  expect_error(huge + "{}", {"header length", "exceeds the file size"});
  std::string lying = frame_safetensors("{}", "");
  lying[0] = 100;
  expect_error(lying, {"exceeds the file size 16"});
}

TEST(Safetensors, RejectsBadJson) {
  expect_error(framed("not json", 0), {"invalid JSON"});
  expect_error(framed("[1, 2]", 0), {"header is not a JSON object"});
  expect_error(framed("{\"a\": 1", 0), {"invalid JSON"});
  expect_error(framed(R"({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},
                          "a": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}})",
                      8),
               {"duplicate key 'a'"});
  expect_error(framed(R"({"__metadata__": {"k": 1}})", 0), {"__metadata__ value 'k'"});
  expect_error(framed(R"({"__metadata__": []})", 0), {"__metadata__ is not an object"});
}

TEST(Safetensors, RejectsBadTensorEntries) {
  const auto one = [](const std::string& entry, std::size_t data = 16) {
    return framed("{\"w\": " + entry + "}", data);
  };
  expect_error(one("3"), {"tensor 'w': entry is not an object"});
  expect_error(one(R"({"shape": [1], "data_offsets": [0, 4]})"), {"tensor 'w': missing dtype"});
  expect_error(one(R"({"dtype": "F32", "data_offsets": [0, 4]})"), {"missing shape"});
  expect_error(one(R"({"dtype": "F32", "shape": [1]})"), {"missing data_offsets"});
  expect_error(one(R"({"dtype": "I64", "shape": [1], "data_offsets": [0, 8]})"),
               {"tensor 'w': dtype 'I64' is not supported"});
  expect_error(one(R"({"dtype": "F8_E4M3", "shape": [1], "data_offsets": [0, 1]})"),
               {"'F8_E4M3' is not supported"});
  expect_error(one(R"({"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]})"),
               {"shape dimension 0 is not a non-negative integer"});
  expect_error(one(R"({"dtype": "F32", "shape": [1.5], "data_offsets": [0, 4]})"),
               {"shape dimension 0"});
  expect_error(one(R"({"dtype": "F32", "shape": "1", "data_offsets": [0, 4]})"),
               {"shape is not an array"});
  expect_error(one(R"({"dtype": "F32", "shape": [4294967296, 4294967296],
                       "data_offsets": [0, 4]})"),
               {"overflows the element count"});
  expect_error(one(R"({"dtype": "F32", "shape": [4611686018427387904],
                       "data_offsets": [0, 4]})"),
               {"more than 2^64 bytes"});
  expect_error(one(R"({"dtype": "F32", "shape": [1], "data_offsets": [0]})"),
               {"data_offsets is not a pair"});
  expect_error(one(R"({"dtype": "F32", "shape": [1], "data_offsets": [-4, 0]})"),
               {"data_offsets is not a pair"});
  expect_error(one(R"({"dtype": "F32", "shape": [1], "data_offsets": [8, 4]})"),
               {"end before begin"});
  expect_error(one(R"({"dtype": "F32", "shape": [2], "data_offsets": [12, 20]})"),
               {"exceed the data section of 16 bytes"});
  expect_error(one(R"({"dtype": "F32", "shape": [2], "data_offsets": [0, 4]})"),
               {"hold 4 bytes, but 2 F32 elements need 8 bytes"});
}

TEST(Safetensors, RejectsOverlapsButAllowsEmptyTensorsAnywhere) {
  expect_error(framed(R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                          "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}})",
                      16),
               {"tensor 'b': data overlaps tensor 'a'"});
  expect_error(framed(R"({"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]},
                          "b": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}})",
                      16),
               {"overlaps"});
  auto ok = parse(framed(R"({"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]},
                             "e": {"dtype": "F32", "shape": [0], "data_offsets": [4, 4]}})",
                         16));
  EXPECT_TRUE(ok.ok()) << ok.error().to_string();
}

TEST(Safetensors, SurvivesDeepNesting) {
  const std::string deep = std::string(200000, '[') + std::string(200000, ']');
  expect_error(
      framed("{\"w\": {\"dtype\": \"F32\", \"shape\": [" + deep + "], \"data_offsets\": [0, 4]}}",
             4),
      {"JSON nested deeper than 128 levels at /w/shape/0"});
}

TEST(MappedFile, MapsFilesAndNamesErrors) {
  testing::TempDir dir;
  auto missing = MappedFile::open(dir.path() / "nope.safetensors");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::not_found);
  EXPECT_NE(missing.error().message.find("nope.safetensors: no such file"), std::string::npos)
      << missing.error().message;
  auto is_dir = MappedFile::open(dir.path());
  EXPECT_FALSE(is_dir.ok());

  ASSERT_TRUE(write_text_file(dir.path() / "empty", "").ok());
  auto empty = MappedFile::open(dir.path() / "empty");
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->bytes().size(), 0u);
  EXPECT_FALSE(parse_safetensors_header(empty->bytes(), "empty").ok());

  ASSERT_TRUE(write_text_file(dir.path() / "f", "hello").ok());
  auto f = MappedFile::open(dir.path() / "f");
  ASSERT_TRUE(f.ok());
  MappedFile moved = std::move(f).value();
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(moved.bytes().data()), moved.bytes().size()),
            "hello");
  auto other = MappedFile::open(dir.path() / "empty");
  ASSERT_TRUE(other.ok());
  moved = std::move(other).value();
  EXPECT_EQ(moved.bytes().size(), 0u);
}

}  // namespace
}  // namespace agentrt::model
