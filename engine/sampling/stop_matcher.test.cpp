#include "engine/sampling/stop_matcher.h"

#include <gtest/gtest.h>

namespace agentrt::sampling {
namespace {

TEST(StopMatcher, PassesTextWithoutStops) {
  StopMatcher m({});
  auto s = m.feed("hello");
  EXPECT_EQ(s.emit, "hello");
  EXPECT_FALSE(s.stopped);
  EXPECT_EQ(m.flush(), "");
}

TEST(StopMatcher, HoldsBackPartialMatchesAcrossFeeds) {
  StopMatcher m({"</end>"});
  auto s = m.feed("abc</e");
  EXPECT_EQ(s.emit, "abc");
  EXPECT_FALSE(s.stopped);
  s = m.feed("n");
  EXPECT_EQ(s.emit, "");
  s = m.feed("d>tail");
  EXPECT_TRUE(s.stopped);
  EXPECT_EQ(s.emit, "");
}

TEST(StopMatcher, ReleasesAFalseStart) {
  StopMatcher m({"</end>"});
  EXPECT_EQ(m.feed("x</e").emit, "x");
  auto s = m.feed("x");
  EXPECT_FALSE(s.stopped);
  EXPECT_EQ(s.emit, "</ex");
  EXPECT_EQ(m.feed("</").emit, "");
  EXPECT_EQ(m.flush(), "</");
}

TEST(StopMatcher, EarliestOfSeveralStopsWins) {
  StopMatcher m({"world", "lo w", "zzz"});
  auto s = m.feed("hello world");
  EXPECT_TRUE(s.stopped);
  EXPECT_EQ(s.emit, "hel");
}

TEST(StopMatcher, MatchSpanningManyFeeds) {
  StopMatcher m({"STOP", "ST!"});
  std::string out;
  bool stopped = false;
  for (const char* piece : {"a", "S", "T", "x", "S", "T", "O", "P", "b"}) {
    auto s = m.feed(piece);
    out += s.emit;
    if (s.stopped) {
      stopped = true;
      break;
    }
  }
  EXPECT_TRUE(stopped);
  EXPECT_EQ(out, "aSTx");
}

}  // namespace
}  // namespace agentrt::sampling
