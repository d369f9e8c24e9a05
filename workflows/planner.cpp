#include "workflows/planner.h"

#include <algorithm>

#include "engine/common/echo.h"

namespace agentrt::workflows {
namespace {

void add_template_deps(const Workflow& wf, const TemplateText& t, std::vector<StepEdge>& out) {
  for (const auto& e : t.tpl.expressions()) {
    if (e.path.size() < 2 || e.path[0] != "steps") continue;
    const int j = wf.step_index(e.path[1]);
    if (j >= 0) out.push_back({j, t.loc_of(e.offset)});
  }
}

}  // namespace

std::vector<std::vector<StepEdge>> step_dependencies(const Workflow& wf) {
  std::vector<std::vector<StepEdge>> deps(wf.steps.size());
  for (std::size_t i = 0; i < wf.steps.size(); ++i) {
    const Step& s = wf.steps[i];
    std::vector<StepEdge> all;
    for (const auto& a : s.after) {
      const int j = wf.step_index(a.name);
      if (j >= 0) all.push_back({j, a.loc});
    }
    add_template_deps(wf, s.input, all);
    if (s.map) add_template_deps(wf, s.map->over, all);
    if (s.when)  // a condition over a step waits for it, as a template does
      for (const auto& e : s.when->cond.references())
        if (const int j =
                e.path.size() >= 2 && e.path[0] == "steps" ? wf.step_index(e.path[1]) : -1;
            j >= 0)
          all.push_back({j, s.when->loc_of(e.offset)});
    for (const auto& e : all)
      if (std::none_of(deps[i].begin(), deps[i].end(),
                       [&](const StepEdge& d) { return d.from == e.from; }))
        deps[i].push_back(e);
  }
  return deps;
}

void find_cycles(const Workflow& wf, Diagnostics& diags) {
  const auto deps = step_dependencies(wf);
  const std::size_t n = deps.size();
  std::vector<int> color(n, 0);  // 0 new, 1 on the stack, 2 done
  std::vector<int> stack;
  // Iterative DFS: a workflow may have many steps and recursion depth is not bounded.
  struct Frame {
    int node;
    std::size_t next;
  };
  for (std::size_t root = 0; root < n; ++root) {
    if (color[root]) continue;
    std::vector<Frame> frames{{static_cast<int>(root), 0}};
    color[root] = 1;
    stack.push_back(static_cast<int>(root));
    while (!frames.empty()) {
      Frame& f = frames.back();
      const auto& out = deps[static_cast<std::size_t>(f.node)];
      if (f.next == out.size()) {
        color[static_cast<std::size_t>(f.node)] = 2;
        stack.pop_back();
        frames.pop_back();
        continue;
      }
      const StepEdge& e = out[f.next++];
      const auto to = static_cast<std::size_t>(e.from);
      if (color[to] == 0) {
        color[to] = 1;
        stack.push_back(e.from);
        frames.push_back({e.from, 0});
      } else if (color[to] == 1) {
        auto it = std::find(stack.begin(), stack.end(), e.from);
        std::string path;
        for (; it != stack.end(); ++it)
          path += wf.steps[static_cast<std::size_t>(*it)].id + " -> ";
        path += wf.steps[to].id;
        diags.error(e.loc, "step '" + echo_value(wf.steps[static_cast<std::size_t>(f.node)].id) +
                               "' is part of a dependency cycle: " + echo_value(path) +
                               " (each step waits for the next)");
      }
    }
  }
}

Plan plan_workflow(const Workflow& wf) {
  Plan p;
  p.deps = step_dependencies(wf);
  const std::size_t n = p.deps.size();
  std::vector<int> level(n, -1);
  std::vector<std::size_t> waiting(n);
  std::vector<std::vector<int>> users(n);
  std::vector<int> ready;
  for (std::size_t i = 0; i < n; ++i) {
    waiting[i] = p.deps[i].size();
    for (const auto& d : p.deps[i])
      users[static_cast<std::size_t>(d.from)].push_back(static_cast<int>(i));
    if (waiting[i] == 0) ready.push_back(static_cast<int>(i)), level[i] = 0;
  }
  // Kahn's order; a step's level is one more than its deepest dependency's.
  while (!ready.empty()) {
    const auto i = static_cast<std::size_t>(ready.back());
    ready.pop_back();
    for (int u : users[i]) {
      const auto ui = static_cast<std::size_t>(u);
      level[ui] = std::max(level[ui], level[i] + 1);
      if (--waiting[ui] == 0) ready.push_back(u);
    }
  }
  for (std::size_t i = 0; i < n; ++i)
    if (waiting[i] != 0) level[i] = -1;  // on or behind a cycle
  for (std::size_t i = 0; i < n; ++i) {
    if (level[i] < 0) continue;
    const auto l = static_cast<std::size_t>(level[i]);
    if (p.levels.size() <= l) p.levels.resize(l + 1);
    p.levels[l].push_back(static_cast<int>(i));
  }
  return p;
}

}  // namespace agentrt::workflows
