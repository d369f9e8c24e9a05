// SegmentAnchors: KVCOMM's anchor pool for KvReuse::blend (issue 21). A segment placed in a
// new context keeps the KV of its first context; only its keys are re-rotated. Its true KV
// there differs by an offset that depends on how the context changed and on the token.
// An anchor is a segment that was placed and then computed in full, so both are known: for
// each of its tokens and each layer of [probe layer, num_layers), its first context's KV
// (keys un-rotated) and its offset (Backend::token_kv_offsets).
//
// A later placement is predicted from the anchors. The probe (layers up to the probe layer
// computed in the new context, as CacheBlend's selection runs it) gives each token's offset
// at the probe layer exactly. At each deeper layer l a token's offset is the mean of those
// of the k anchor tokens nearest by
//   ||probe offset(i) - probe offset(j)||^2 + ||first-context KV_l(i) - KV_l(j)||^2:
// tokens that saw a similar change of context (the first term: KVCOMM's offset proximity)
// and hold similar KV (the second: its KV proximity) move alike. Anchors of every context
// share one pool; the first term keeps unrelated ones apart. On tiny-calc word problems
// quoted in other prompts this cuts the KL divergence of reuse without recomputation 12x
// (1.7-2.3x at 5-30% recomputed), at 6.7% of placements computed in full to become anchors
// (bench/RESULTS.md, issue 21 runs A and A3).
//
// Which placements become anchors instead: while the pool holds fewer than min_anchors
// and has room for the placement's tokens, each one; then those whose novelty (the mean
// over tokens of the squared distance from its probe offset to the nearest anchor token's,
// over the mean squared probe offset) exceeds `novelty`: a change of context the pool has
// not seen. 0.1: at 0.4 a team_review checker's pool stopped at 8 anchors (its prompts all
// look alike at that distance) and its answers agreed with exact's less often than at 0.1
// (110 against 163 of 200, run A3).
//
// Cost of a prediction over n tokens with M anchor tokens held (at most max_tokens): one
// n x M x dim product (sgemm) per layer from the probe layer on, and a scan of its n x M
// distances.
//
// Bounded in tokens and bytes; the oldest anchor goes first. Engine thread only.
#pragma once

#include <cstddef>
#include <span>
#include <vector>

#include "engine/kv/anchor_book.h"

namespace agentrt::kv {

class SegmentAnchors {
 public:
  // `layers`: the layers an anchor covers, [probe layer, num_layers), at least 2; `dim`:
  // floats of one token's K and V at one layer (Backend::token_offset_floats(1)).
  SegmentAnchors(int layers, std::size_t dim, const AnchorOptions& options = {});

  // The novelty defined above of a placement with these probe offsets (n tokens x dim: the
  // probe layer's only); +infinity with no anchors, 0 for no tokens.
  double novelty(std::span<const float> probe) const;
  // Adds an anchor: `first` (its first context's KV, un-rotated) and `offsets`, each
  // n x layers x dim, as Backend::token_kv_offsets() writes them. A segment over the
  // capacity is not kept. Evicts the oldest anchors until it fits.
  void record(std::span<const float> first, std::span<const float> offsets);
  // A placement's offsets at the layers after the probe layer, into `out` (n x (layers - 1)
  // x dim, Backend::add_token_kv_offsets() over [probe + 1, num_layers)). `first`: n x
  // layers x dim as in record(); `probe_offsets`: n x layers x dim offsets of which only the
  // probe layer's (each token's first dim floats) are read. Writes nothing unless it
  // returns `predicted`; `record` when the placement should become an anchor instead (too
  // few anchors, or novel), `none` when it should but fits() says it cannot.
  AnchorPrediction predict(std::span<const float> first, std::span<const float> probe_offsets,
                           std::span<float> out);
  // Whether a placement of n tokens could be held: within max_tokens and capacity_bytes.
  // A model's per-token bytes are 2 x layers x dim x 4 (32 MiB holds 64 tokens at 8B).
  bool fits(std::size_t n) const { return book_.fits(n); }

  AnchorStats stats() const { return book_.stats(); }
  int layers() const { return book_.layers(); }

 private:
  // Squared distances from each of the n rows of x (row stride `ld`) to every anchor token
  // at layer l (l = 0: the probe offsets, else the first-context KV), into d (n x M).
  void distances(const float* x, std::size_t n, std::size_t ld, int l, bool probe,
                 std::vector<float>& d) const;
  // The novelty of n probe rows (stride `ld`) from their distances() to the probe offsets.
  double novelty_of(const std::vector<float>& d, const float* probe, std::size_t n,
                    std::size_t ld) const;

  AnchorBook book_;
  // Every anchor token, oldest anchor's first, per layer of [probe, num_layers): first-
  // context KV and offsets (M x dim each) and their squared norms (M).
  std::vector<std::vector<float>> first_, offsets_, first_norms_, offset_norms_;
};

}  // namespace agentrt::kv
