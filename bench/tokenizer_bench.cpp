// Tokenizer throughput in MB/s on a JSONL corpus (one JSON string per line), measured the
// way bench/tokenizer_compare.py measures Hugging Face `tokenizers` on the same corpus:
// best-of timings over at least --seconds, after a warm-up pass, plus the cold first pass.
//
//   tokenizer_bench --tokenizer DIR --corpus tests/tokenizer/corpus.jsonl [--json FILE]
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "engine/tokenizer/tokenizer.h"

namespace {

using Clock = std::chrono::steady_clock;

template <class Fn>
nlohmann::json best_of(Fn&& fn, double min_seconds, std::size_t bytes) {
  double best = 1e30;
  int runs = 0;
  const auto start = Clock::now();
  while (runs < 3 || std::chrono::duration<double>(Clock::now() - start).count() < min_seconds) {
    const auto t0 = Clock::now();
    fn();
    best = std::min(best, std::chrono::duration<double>(Clock::now() - t0).count());
    ++runs;
  }
  return {{"seconds", best}, {"runs", runs}, {"bytes", bytes}, {"mb_per_s", bytes / best / 1e6}};
}

}  // namespace

int main(int argc, char** argv) {
  std::string dir, corpus_path, json_path;
  double seconds = 2.0;
  CLI::App app{"Tokenizer throughput"};
  app.add_option("--tokenizer", dir, "Directory with tokenizer.json")->required();
  app.add_option("--corpus", corpus_path, "JSONL corpus, one string per line")->required();
  app.add_option("--seconds", seconds, "Minimum timing per case");
  app.add_option("--json", json_path, "Write results here");
  CLI11_PARSE(app, argc, argv);

  std::vector<std::string> corpus;
  std::ifstream in(corpus_path);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) corpus.push_back(nlohmann::json::parse(line).get<std::string>());
  }
  std::size_t bytes = 0;
  for (const auto& t : corpus)
    bytes += t.size();
  std::string big;
  for (int r = 0; r < 20; ++r) {
    for (const auto& t : corpus) {
      if (!big.empty()) big += '\n';
      big += t;
    }
  }
  const auto t_load = Clock::now();
  auto tok = agentrt::tokenizer::Tokenizer::load_dir(dir);
  if (!tok.ok()) {
    std::fprintf(stderr, "%s\n", tok.error().to_string().c_str());
    return 1;
  }
  const double load_s = std::chrono::duration<double>(Clock::now() - t_load).count();
  std::size_t tokens = 0;
  auto loop = [&] {
    for (const auto& t : corpus)
      tokens += tok->encode(t).size();
  };
  const auto t_cold = Clock::now();
  loop();  // cold: empty piece cache
  const double cold_s = std::chrono::duration<double>(Clock::now() - t_cold).count();
  nlohmann::json out = {
      {"tokenizer", dir},
      {"load_seconds", load_s},
      {"corpus_lines", corpus.size()},
      {"corpus_bytes", bytes},
      {"cold_first_pass", {{"seconds", cold_s}, {"mb_per_s", bytes / cold_s / 1e6}}},
      {"single_thread_loop", best_of(loop, seconds, bytes)},
      {"single_call_20x_corpus",
       best_of([&] { tokens += tok->encode(big).size(); }, seconds, big.size())}};
  std::printf("%s: load %.2f s, cold %.2f MB/s, loop %.2f MB/s, 20x single call %.2f MB/s\n",
              dir.c_str(), load_s, out["cold_first_pass"]["mb_per_s"].get<double>(),
              out["single_thread_loop"]["mb_per_s"].get<double>(),
              out["single_call_20x_corpus"]["mb_per_s"].get<double>());
  if (!json_path.empty()) std::ofstream(json_path) << out.dump(2) << "\n";
  return tokens > 0 ? 0 : 1;
}
