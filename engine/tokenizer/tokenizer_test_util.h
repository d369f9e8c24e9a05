// Test helpers: locating the real tokenizer files and the golden fixtures.
#pragma once

#include <cstdlib>
#include <map>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "engine/tokenizer/tokenizer.h"

namespace agentrt::tokenizer::test {

// $AGENTRT_TOKENIZERS_DIR, else $HOME/.cache/agentrt/tokenizers.
inline std::string tokenizers_dir() {
  if (const char* d = std::getenv("AGENTRT_TOKENIZERS_DIR"); d != nullptr && *d != '\0') return d;
  const char* home = std::getenv("HOME");
  return std::string(home != nullptr ? home : "") + "/.cache/agentrt/tokenizers";
}

// Loads (once per process) the real tokenizer NAME; on failure records a test failure that
// says how to fetch the files and returns nullptr.
inline const Tokenizer* real_tokenizer(const std::string& name) {
  static std::map<std::string, std::unique_ptr<Tokenizer>> cache;
  if (auto it = cache.find(name); it != cache.end()) return it->second.get();
  const std::string dir = tokenizers_dir() + "/" + name;
  auto tok = Tokenizer::load_dir(dir);
  if (!tok.ok()) {
    ADD_FAILURE() << "cannot load the real '" << name << "' tokenizer from " << dir << ": "
                  << tok.error().to_string()
                  << "\nRun scripts/fetch_tokenizers.sh (or set AGENTRT_TOKENIZERS_DIR).";
    return nullptr;
  }
  return cache.emplace(name, std::make_unique<Tokenizer>(std::move(*tok))).first->second.get();
}

}  // namespace agentrt::tokenizer::test
