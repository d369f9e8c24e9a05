// Caps on the strings and lists of the wire messages (wire.h). Each is checked when CAF's
// deserializer reads the length a peer claims, before anything of that length is allocated;
// a string then grows only with the bytes actually read. A message over a cap does not
// deserialize, and CAF drops it (the connection stays). CAF 0.17 itself range-checks strings
// but fills lists one element at a time with no limit, and a list element costs more memory
// than its bytes on the wire (a NamedText is 64 bytes from 2 bytes of input).
//
// In an inspect function: f(..., capped<kMaxWireShortBytes>(x.name), capped_list<N>(x.keys)).
#pragma once

#include <caf/all.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace agentrt::cluster {

inline constexpr std::size_t kMaxWireShortBytes = 4096;      // names, ids, nonces, proofs, paths
inline constexpr std::size_t kMaxWireTextBytes = 64u << 20;  // YAML, JSON, reports, bodies
inline constexpr std::size_t kMaxWireListItems = 1u << 20;   // inputs, checkpoints, block keys
// A KvSnapshotMsg's key words (two per key; a node sends at most 2 x NodeKvEventsOptions::
// max_batch) and, half of it, its pin counts; wire_checks.h bounds each pin count.
inline constexpr std::size_t kMaxWireSnapshotWords = 1u << 16;
inline constexpr std::int32_t kMaxWireSnapshotPins = 65535;  // pins on one key

template <std::size_t Max>
struct CappedString {
  std::string& s;
};
template <std::size_t Max, class T>
struct CappedList {
  std::vector<T>& v;
};

// A list of at most MaxItems strings of at most MaxBytes bytes each.
template <std::size_t MaxItems, std::size_t MaxBytes>
struct CappedStrings {
  std::vector<std::string>& v;
};

template <std::size_t Max>
CappedString<Max> capped(std::string& s) {
  return {s};
}
template <std::size_t Max, class T>
CappedList<Max, T> capped_list(std::vector<T>& v) {
  return {v};
}

template <std::size_t MaxItems, std::size_t MaxBytes>
CappedStrings<MaxItems, MaxBytes> capped_strings(std::vector<std::string>& v) {
  return {v};
}

// Loading (a deserializer): the claimed length is checked first; the bytes are read in
// chunks, so a short input never allocates its claimed length. Saving and printing: as a
// plain string (the same bytes on the wire).
template <class Inspector, std::size_t Max>
typename Inspector::result_type inspect(Inspector& f, CappedString<Max>& x) {
  if constexpr (Inspector::writes_state) {
    std::size_t n = 0;
    if (auto err = f.begin_sequence(n)) return err;
    if (n > Max)
      return caf::make_error(
          caf::sec::invalid_argument,
          "wire string of " + std::to_string(n) + " bytes, over the cap of " + std::to_string(Max));
    constexpr std::size_t kChunk = 64 * 1024;
    x.s.clear();
    while (x.s.size() < n) {
      const std::size_t at = x.s.size();
      const std::size_t k = std::min(kChunk, n - at);
      x.s.resize(at + k);
      if (auto err = f.apply_raw(k, x.s.data() + at)) return err;
    }
    return f.end_sequence();
  } else {
    return f(x.s);
  }
}

// Loading: the claimed count is checked first, and elements are appended as they are read.
template <class Inspector, std::size_t Max, class T>
typename Inspector::result_type inspect(Inspector& f, CappedList<Max, T>& x) {
  if constexpr (Inspector::writes_state) {
    std::size_t n = 0;
    if (auto err = f.begin_sequence(n)) return err;
    if (n > Max)
      return caf::make_error(
          caf::sec::invalid_argument,
          "wire list of " + std::to_string(n) + " items, over the cap of " + std::to_string(Max));
    x.v.clear();
    for (std::size_t i = 0; i < n; ++i) {
      T item;
      if (auto err = f(item)) return err;
      x.v.push_back(std::move(item));
    }
    return f.end_sequence();
  } else {
    return f(x.v);
  }
}

// Loading: the claimed count is checked first, then each string as capped() reads it.
template <class Inspector, std::size_t MaxItems, std::size_t MaxBytes>
typename Inspector::result_type inspect(Inspector& f, CappedStrings<MaxItems, MaxBytes>& x) {
  if constexpr (Inspector::writes_state) {
    std::size_t n = 0;
    if (auto err = f.begin_sequence(n)) return err;
    if (n > MaxItems)
      return caf::make_error(caf::sec::invalid_argument, "wire list of " + std::to_string(n) +
                                                             " strings, over the cap of " +
                                                             std::to_string(MaxItems));
    x.v.clear();
    for (std::size_t i = 0; i < n; ++i) {
      std::string item;
      if (auto err = f(capped<MaxBytes>(item))) return err;
      x.v.push_back(std::move(item));
    }
    return f.end_sequence();
  } else {
    return f(x.v);
  }
}

}  // namespace agentrt::cluster
