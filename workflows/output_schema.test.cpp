// A step's output_schema at load time: the structured-output compiler checks it, and its
// refusals are located at the offending key of the YAML mapping.
#include <gtest/gtest.h>

#include "workflows/loader.h"
#include "workflows/test_util.h"

namespace agentrt::workflows {
namespace {

using testing::dump;
using testing::errors_of;
using testing::has_error;

std::string wf(const std::string& schema_lines, const std::string& later_input = "x") {
  return R"(agents:
  a: { system: hi }
steps:
  - id: plan
    agent: a
    input: go
    output_schema:
)" + schema_lines +
         R"(  - id: use
    agent: a
    input: ")" +
         later_input + R"("
)";
}

TEST(OutputSchema, MappingLoadsWithItsPropertiesAsFields) {
  auto r = load_workflow(wf(R"(      type: object
      properties:
        items: { type: array, items: { type: string }, maxItems: 3 }
        count: { type: integer }
        ok: { type: boolean }
      required: [items]
)",
                            "{{ steps.plan.items }} {{ steps.plan.count }}"),
                         "wf.yaml");
  ASSERT_TRUE(r.ok()) << r.diagnostics.to_string();
  ASSERT_TRUE(r.workflow.steps[0].output_schema.has_value());
  const auto& s = *r.workflow.steps[0].output_schema;
  EXPECT_EQ(s.fields, (std::vector<std::string>{"items", "count", "ok"}));
  EXPECT_EQ(s.json,
            R"({"type":"object","properties":{"items":{"type":"array","items":{"type":"string"},)"
            R"("maxItems":3},"count":{"type":"integer"},"ok":{"type":"boolean"}},)"
            R"("required":["items"]})");
  EXPECT_EQ(s.loc.line, 8);
  EXPECT_TRUE(errors_of(wf(R"(      type: object
      properties: { items: { type: array } }
)",
                           "{{ steps.plan.items }}"))
                  .empty());
}

TEST(OutputSchema, JsonTextLoadsToo) {
  auto r = load_workflow(
      wf("      '{\"type\": \"object\", \"properties\": {\"n\": {\"enum\": [1, 2]}}}'\n"),
      "wf.yaml");
  ASSERT_TRUE(r.ok()) << r.diagnostics.to_string();
  EXPECT_EQ(r.workflow.steps[0].output_schema->fields, std::vector<std::string>{"n"});
}

TEST(OutputSchema, UnsupportedKeywordIsLocatedAtItsKey) {
  const auto errs = errors_of(wf(R"(      type: object
      properties:
        name: { type: string, pattern: "^a" }
        tags:
          type: array
          items:
            - { type: string }
)"));
  // The compiler stops at its first refusal, reported where the keyword is written.
  EXPECT_TRUE(has_error(errs, "10:31",
                        "step 'plan'.output_schema: /properties/name/pattern: unsupported "
                        "keyword 'pattern'"))
      << dump(errs);
  const auto errs2 = errors_of(wf(R"(      type: object
      properties:
        tags:
          type: array
          items: { type: string, minLength: 2 }
)"));
  EXPECT_TRUE(has_error(errs2, "12:34", "/properties/tags/items/minLength: unsupported keyword"))
      << dump(errs2);
}

TEST(OutputSchema, BadSchemasAreErrors) {
  // JSON text: the error sits at the text.
  auto errs =
      errors_of(wf("      '{\"type\": \"object\", \"properties\": {\"s\": {\"format\": "
                   "\"x\", \"maxLength\": 3}}}'\n"));
  EXPECT_TRUE(has_error(errs, "8:7", "/properties/s/maxLength: unsupported keyword")) << dump(errs);
  errs = errors_of(wf("      '{\"type\": '\n"));
  EXPECT_TRUE(has_error(errs, "8:7", "expected a mapping or JSON object text")) << dump(errs);
  errs = errors_of(wf("      { type: string }\n"));
  EXPECT_TRUE(has_error(errs, "8:7", "must be an object schema with 'properties'")) << dump(errs);
  errs = errors_of(wf("      { type: object, properties: {} }\n"));
  EXPECT_TRUE(has_error(errs, "8:7", "must be an object schema with 'properties'")) << dump(errs);
  errs = errors_of(wf("      { type: object, properties: { a: { type: strin } } }\n"));
  EXPECT_FALSE(errs.empty()) << "an unknown type name";
}

TEST(OutputSchema, LaterStepsSeeOnlyItsFields) {
  const auto errs = errors_of(
      wf("      { type: object, properties: { a: { type: string } } }\n", "{{ steps.plan.b }}"));
  EXPECT_TRUE(has_error(errs, "11:13", "step 'plan' has no field 'b' (fields: output, a)"))
      << dump(errs);
}

}  // namespace
}  // namespace agentrt::workflows
