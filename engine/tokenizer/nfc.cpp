#include "engine/tokenizer/nfc.h"

#include <algorithm>
#include <cstdint>
#include <vector>

#include "engine/tokenizer/nfc_tables.h"
#include "engine/tokenizer/utf8.h"

namespace agentrt::tokenizer {
namespace {

using namespace nfc_detail;

constexpr char32_t kSBase = 0xAC00, kLBase = 0x1100, kVBase = 0x1161, kTBase = 0x11A7;
constexpr char32_t kLCount = 19, kVCount = 21, kTCount = 28;
constexpr char32_t kNCount = kVCount * kTCount, kSCount = kLCount * kNCount;
// Marks a raw invalid byte carried through a code point buffer (above U+10FFFF).
constexpr char32_t kRawByte = 0x200000;

std::uint8_t ccc(char32_t cp) {
  if (cp < 0x300 || cp >= kRawByte) return 0;
  const auto* end = kCombiningClasses + kCombiningClassCount;
  const auto* it =
      std::upper_bound(kCombiningClasses, end, cp,
                       [](char32_t c, const CombiningClassRange& r) { return c < r.first; });
  if (it == kCombiningClasses) return 0;
  --it;
  return cp <= it->last ? it->ccc : 0;
}

const Decomposition* find_decomposition(char32_t cp) {
  if (cp < 0xC0) return nullptr;
  const auto* end = kDecompositions + kDecompositionCount;
  const auto* it = std::lower_bound(kDecompositions, end, cp,
                                    [](const Decomposition& d, char32_t c) { return d.cp < c; });
  return (it != end && it->cp == cp) ? it : nullptr;
}

bool is_composition_second(char32_t cp) {
  static const std::vector<char32_t> seconds = [] {
    std::vector<char32_t> v;
    for (std::size_t i = 0; i < kCompositionCount; ++i)
      v.push_back(kCompositions[i].second);
    std::sort(v.begin(), v.end());
    v.erase(std::unique(v.begin(), v.end()), v.end());
    return v;
  }();
  if (cp >= kVBase && cp < kVBase + kVCount) return true;
  if (cp > kTBase && cp < kTBase + kTCount) return true;
  return std::binary_search(seconds.begin(), seconds.end(), cp);
}

char32_t compose_pair(char32_t a, char32_t b) {
  if (a >= kLBase && a < kLBase + kLCount && b >= kVBase && b < kVBase + kVCount)
    return kSBase + ((a - kLBase) * kVCount + (b - kVBase)) * kTCount;
  if (a >= kSBase && a < kSBase + kSCount && (a - kSBase) % kTCount == 0 && b > kTBase &&
      b < kTBase + kTCount)
    return a + (b - kTBase);
  const auto* end = kCompositions + kCompositionCount;
  const auto* it =
      std::lower_bound(kCompositions, end, std::pair{a, b},
                       [](const Composition& c, std::pair<char32_t, char32_t> k) {
                         return c.first != k.first ? c.first < k.first : c.second < k.second;
                       });
  return (it != end && it->first == a && it->second == b) ? it->composite : 0;
}

void decompose(char32_t cp, std::vector<char32_t>& out) {
  if (cp >= kSBase && cp < kSBase + kSCount) {
    const char32_t s = cp - kSBase;
    out.push_back(kLBase + s / kNCount);
    out.push_back(kVBase + (s % kNCount) / kTCount);
    if (s % kTCount != 0) out.push_back(kTBase + s % kTCount);
    return;
  }
  const Decomposition* d = find_decomposition(cp);
  if (d == nullptr) {
    out.push_back(cp);
    return;
  }
  decompose(d->first, out);
  if (d->second != 0) decompose(d->second, out);
}

// Canonical ordering: stable sort of each run of non-starters by combining class.
void reorder(std::vector<char32_t>& cps) {
  for (std::size_t i = 0; i < cps.size();) {
    if (ccc(cps[i]) == 0) {
      ++i;
      continue;
    }
    std::size_t j = i;
    while (j < cps.size() && ccc(cps[j]) != 0)
      ++j;
    std::stable_sort(cps.begin() + static_cast<std::ptrdiff_t>(i),
                     cps.begin() + static_cast<std::ptrdiff_t>(j),
                     [](char32_t a, char32_t b) { return ccc(a) < ccc(b); });
    i = j;
  }
}

void compose(std::vector<char32_t>& cps) {
  if (cps.empty()) return;
  std::size_t starter = 0, out = 1;
  int last_ccc = ccc(cps[0]) == 0 ? 0 : 256;  // 256: no starter seen yet
  if (last_ccc != 0) starter = SIZE_MAX;
  for (std::size_t i = 1; i < cps.size(); ++i) {
    const char32_t c = cps[i];
    const int k = ccc(c);
    if (starter != SIZE_MAX && (last_ccc < k || (last_ccc == 0 && out == starter + 1))) {
      if (const char32_t comp = compose_pair(cps[starter], c); comp != 0 && c < kRawByte) {
        cps[starter] = comp;
        continue;
      }
    }
    if (k == 0) {
      starter = out;
      last_ccc = 0;
    } else {
      last_ccc = k;
    }
    cps[out++] = c;
  }
  cps.resize(out);
}

}  // namespace

bool is_nfc_quick(std::string_view text) {
  for (std::size_t i = 0; i < text.size();) {
    if (static_cast<unsigned char>(text[i]) < 0xC3) {  // below U+00C0: nothing to do
      ++i;
      continue;
    }
    char32_t cp = 0;
    const std::size_t n = utf8::decode(text, i, &cp);
    if (n == 0) {
      ++i;
      continue;
    }
    if (ccc(cp) != 0 || find_decomposition(cp) != nullptr || is_composition_second(cp))
      return false;
    i += n;
  }
  return true;
}

std::string to_nfc(std::string_view text) {
  if (is_nfc_quick(text)) return std::string(text);
  std::vector<char32_t> cps;
  cps.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    char32_t cp = 0;
    const std::size_t n = utf8::decode(text, i, &cp);
    if (n == 0) {
      cps.push_back(kRawByte | static_cast<unsigned char>(text[i]));
      ++i;
      continue;
    }
    decompose(cp, cps);
    i += n;
  }
  reorder(cps);
  compose(cps);
  std::string out;
  out.reserve(text.size());
  for (char32_t cp : cps) {
    if (cp >= kRawByte) {
      out.push_back(static_cast<char>(cp & 0xFF));
    } else {
      utf8::append(out, cp);
    }
  }
  return out;
}

}  // namespace agentrt::tokenizer
