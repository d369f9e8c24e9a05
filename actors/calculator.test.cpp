// The calculator against the reference contract (models/train/calculator.py).
#include "actors/calculator.h"

#include <gtest/gtest.h>

namespace agentrt::actors {
namespace {

std::string eval(const std::string& s) {
  auto r = evaluate_expression(s);
  return r.ok() ? std::to_string(*r) : "error: " + r.error().message;
}

TEST(Calculator, PrecedenceAssociativityAndUnaryMinus) {
  EXPECT_EQ(eval("12 * (3 + 4)"), "84");
  EXPECT_EQ(eval("2 + 3 * 4"), "14");
  EXPECT_EQ(eval("20 - 5 - 3"), "12");
  EXPECT_EQ(eval("64 / 4 / 2"), "8");
  EXPECT_EQ(eval("-7"), "-7");
  EXPECT_EQ(eval("--7"), "7");
  EXPECT_EQ(eval("3 * -2"), "-6");
  EXPECT_EQ(eval(" ( 1+2 )*\t3\n"), "9");
  EXPECT_EQ(eval("-7 / 7"), "-1");
}

TEST(Calculator, ErrorsMatchTheReference) {
  EXPECT_EQ(eval(""), "error: invalid expression");
  EXPECT_EQ(eval("   "), "error: invalid expression");
  EXPECT_EQ(eval("1.5 + 2"), "error: invalid expression");
  EXPECT_EQ(eval("2 ** 3"), "error: invalid expression");
  EXPECT_EQ(eval("(1 + 2"), "error: invalid expression");
  EXPECT_EQ(eval("1 + 2)"), "error: invalid expression");
  EXPECT_EQ(eval("system(\"ls\")"), "error: invalid expression");
  EXPECT_EQ(eval("7 / 0"), "error: division by zero");
  EXPECT_EQ(eval("7 / 2"), "error: inexact division");
  EXPECT_EQ(eval("-7 / 2"), "error: inexact division");
  EXPECT_EQ(eval("1000000000000000"), "error: number too large");
  EXPECT_EQ(eval("999999999999999"), "999999999999999");
  EXPECT_EQ(eval("99999999 * 99999999"), "error: number too large");
  EXPECT_EQ(eval("999999999999999 * 999999999999999"), "error: number too large");
  EXPECT_EQ(eval("999999999999999 + 1"), "error: number too large");
  EXPECT_EQ(eval("-999999999999999 - 1"), "error: number too large");
  // Tokenizing comes first: a stray character wins over a too-large literal.
  EXPECT_EQ(eval("99999999999999999999 + x"), "error: invalid expression");
  EXPECT_EQ(eval("99999999999999999999 +"), "error: number too large");
}

TEST(Calculator, DeepNestingIsAnErrorNotACrash) {
  std::string deep(100000, '(');
  deep += "1";
  EXPECT_EQ(eval(deep), "error: invalid expression");
  EXPECT_EQ(eval(std::string(100000, '-') + "1"), "error: invalid expression");
}

}  // namespace
}  // namespace agentrt::actors
