// MatchState: a position in a SchemaGrammar, advanced one output byte at a time. A stack of
// frames (one per open JSON value), stored inline so that copying a state, which the token
// mask does once per vocabulary trie node, costs a memcpy of the open frames only.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "engine/grammar/schema_grammar.h"

namespace agentrt::grammar {

// Deepest nesting of JSON values an output may reach; deeper '{' or '[' are refused.
inline constexpr std::size_t kMaxFrames = 48;

struct Frame {
  const Node* node = nullptr;
  std::uint64_t seen = 0;        // object: properties emitted
  std::uint64_t candidates = 0;  // object: properties whose key matches the key so far
  std::uint32_t a = 0;           // array: items; literal: first candidate; string: UTF-8 low
  std::uint32_t b = 0;           // literal: past the last candidate; string: UTF-8 high
  std::uint32_t pos = 0;         // bytes into a key or literal; digits of a number part
  std::uint8_t phase = 0;
  std::uint8_t aux = 0;  // string: UTF-8 continuation bytes or hex digits still due
};

class MatchState {
 public:
  MatchState() = default;
  // At the start of a value of `grammar`'s root.
  explicit MatchState(const SchemaGrammar& grammar);

  // Moves past one byte. Returns false when the byte cannot follow; the state is then
  // unspecified (callers advance a copy).
  bool advance(std::uint8_t byte);
  // All of `bytes`, with the same contract.
  bool advance(std::string_view bytes);
  // The output so far is a complete value.
  bool complete() const;
  // Inside a string's text with no escape or UTF-8 sequence open: what a token does up to
  // the string's closing quote is then the same whatever holds the string.
  bool in_plain_string() const;
  // Copies only the open frames (operator= copies them all).
  void copy_from(const MatchState& other);
  std::size_t depth() const { return size_; }

 private:
  enum class Step : std::uint8_t { consumed, rejected, closed, closed_refeed, refeed };
  Step step(std::uint8_t byte);
  Step step_object(Frame& f, std::uint8_t byte);
  Step step_array(Frame& f, std::uint8_t byte);
  Step step_number(Frame& f, std::uint8_t byte);
  Step step_literal(Frame& f, std::uint8_t byte);
  bool push(const Node* node, std::uint8_t phase = 0);
  void child_closed();

  std::array<Frame, kMaxFrames> frames_{};
  std::uint32_t size_ = 0;
};

}  // namespace agentrt::grammar
