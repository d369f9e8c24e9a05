// The dashboard's routes on a real server: its embedded files with their types and caching,
// 404 for unknown ones, no API key for the page but one for its data, and a job's graph.
#include <gtest/gtest.h>

#include <fstream>

#include "api/dashboard/dashboard_assets.h"
#include "api/dashboard/job_graph.h"
#include "api/server_testing.h"

namespace agentrt::api {
namespace {

using nlohmann::json;
using testing::body_of;
using testing::fresh_dir;
using testing::RunningServer;
using testing::test_options;

TEST(Dashboard, ServesEmbeddedFilesWithTypesAndEtags) {
  RunningServer s(test_options(fresh_dir("dash-files")));
  ASSERT_TRUE(s.ok()) << s.error();
  auto c = s.client();
  auto page = c.Get("/");
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200);
  EXPECT_EQ(page->get_header_value("Content-Type"), "text/html; charset=utf-8");
  EXPECT_EQ(page->get_header_value("Cache-Control"), "no-cache");
  EXPECT_NE(page->get_header_value("Content-Security-Policy").find("default-src 'self'"),
            std::string::npos);
  EXPECT_NE(page->body.find("dashboard/app.js"), std::string::npos);
  const std::string etag = page->get_header_value("ETag");
  ASSERT_FALSE(etag.empty());
  auto again = c.Get("/", {{"If-None-Match", etag}});
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 304);
  EXPECT_TRUE(again->body.empty());

  const std::pair<const char*, const char*> files[] = {
      {"/dashboard/app.js", "text/javascript; charset=utf-8"},
      {"/dashboard/style.css", "text/css; charset=utf-8"},
      {"/dashboard/vendor/uPlot.iife.min.js", "text/javascript; charset=utf-8"},
      {"/dashboard/vendor/uPlot.min.css", "text/css; charset=utf-8"}};
  for (const auto& [path, type] : files) {
    auto r = c.Get(path);
    ASSERT_TRUE(r) << path;
    EXPECT_EQ(r->status, 200) << path;
    EXPECT_EQ(r->get_header_value("Content-Type"), type) << path;
    EXPECT_EQ(r->get_header_value("X-Content-Type-Options"), "nosniff") << path;
    EXPECT_GT(r->body.size(), 100u) << path;
  }
  for (const char* path : {"/dashboard/nope.js", "/dashboard/../api/server.cpp",
                           "/dashboard/vendor/", "/favicon.ico"}) {
    auto r = c.Get(path);
    ASSERT_TRUE(r) << path;
    EXPECT_EQ(r->status, 404) << path;
    EXPECT_EQ(body_of(r)["error"]["code"], "not_found") << path;
  }
  EXPECT_FALSE(find_dashboard_asset("../index.html"));
  EXPECT_FALSE(find_dashboard_asset("/index.html"));
}

TEST(Dashboard, PageWithoutKeyDataWithKey) {
  auto dir = fresh_dir("dash-keys");
  auto o = test_options(dir / "data");
  o.api_key_file = dir / "keys";
  std::ofstream(o.api_key_file) << "test-key-0123456789abcdef\n";
  RunningServer s(o);
  ASSERT_TRUE(s.ok()) << s.error();
  auto c = s.client();
  EXPECT_EQ(c.Get("/")->status, 200);
  EXPECT_EQ(c.Get("/dashboard/app.js")->status, 200);
  EXPECT_EQ(c.Get("/metrics")->status, 401);
  EXPECT_EQ(c.Get("/v1/jobs/j-1/graph")->status, 401);
  EXPECT_EQ(c.Get("/v1/jobs/j-1/events")->status, 401);
  const httplib::Headers key{{"Authorization", "Bearer test-key-0123456789abcdef"}};
  EXPECT_EQ(c.Get("/metrics", key)->status, 200);
  EXPECT_EQ(c.Get("/v1/jobs/j-nope/graph", key)->status, 404);
}

TEST(Dashboard, JobGraphHasStepsDependenciesAndLevels) {
  RunningServer s(test_options(fresh_dir("dash-graph")));
  ASSERT_TRUE(s.ok()) << s.error();
  auto c = s.client();
  auto sub = c.Post("/v1/jobs", R"({"workflow": "team_review"})", "application/json");
  ASSERT_TRUE(sub);
  ASSERT_EQ(sub->status, 201) << sub->body;
  const std::string id = body_of(sub)["id"];
  auto g = c.Get("/v1/jobs/" + id + "/graph");
  ASSERT_TRUE(g);
  ASSERT_EQ(g->status, 200) << g->body;
  const json graph = body_of(g);
  EXPECT_EQ(graph["name"], "team-review");
  ASSERT_EQ(graph["steps"].size(), 4u);
  const json& check = graph["steps"][3];
  EXPECT_EQ(check["id"], "check");
  EXPECT_EQ(check["agent"], "checker");
  EXPECT_EQ(check["kind"], "agent");
  EXPECT_EQ(check["level"], 1);
  EXPECT_EQ(check["needs"], json::array({"review_a", "review_b", "review_c"}));
  EXPECT_EQ(graph["steps"][0]["needs"], json::array());
  EXPECT_EQ(graph["steps"][0]["level"], 0);
  c.Delete("/v1/jobs/" + id);
}

TEST(Dashboard, JobGraphOfBestOf) {
  auto g = job_graph_json(R"(name: vote
agents:
  a: {system: s}
steps:
  - id: solve
    agent: a
    input: hi
    best_of: {n: 5}
  - {id: after, agent: a, input: "{{ steps.solve.output }}"}
)",
                          "inline.yaml");
  ASSERT_TRUE(g.ok()) << g.error().message;
  EXPECT_EQ((*g)["steps"][0]["kind"], "best_of");
  EXPECT_EQ((*g)["steps"][0]["best_of"], 5);
  EXPECT_EQ((*g)["steps"][1]["needs"], json::array({"solve"}));
  auto bad = job_graph_json("name: x\nsteps: [\n", "inline.yaml");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("inline.yaml:"), std::string::npos) << bad.error().message;
}

}  // namespace
}  // namespace agentrt::api
