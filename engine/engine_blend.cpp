// Engine's KvReuse::blend step (issue 21). A prompt segment found in the segment cache is
// placed at its new positions (keys re-rotated by the backend), then a fraction of its
// tokens is recomputed in the new context and the rest reused, as CacheBlend does: the
// tokens whose layer-1 K/V deviate most between the cached and the new context. The probe
// that measures the deviation computes layers 0 and 1 (its K/V) of the chunk up to the
// segment's end; those layers then hold the new context's K/V for every token. The
// prompt's last token is always computed (it gives the logits). A miss is computed as
// under exact and stored once its last token is computed.
//
// With anchors (kv/segment_anchors.h, KVCOMM) every placement is probed: the probe layer's
// offsets (exact, from the probe) and the segment's first-context KV pick the anchor tokens
// whose offsets correct the layers after the probe layer; a placement the pool has not seen
// the like of is computed in full instead and recorded as an anchor after the step.
#include <algorithm>
#include <cmath>
#include <numeric>

#include "engine/engine.h"
#include "engine/engine_internal.h"

namespace agentrt {

namespace {

struct Part {
  std::size_t chunk = 0;
  std::int64_t lo = 0, hi = 0;  // positions of the segment inside the chunk
  std::int64_t recompute = 0;   // tokens of it to recompute
  bool anchors = false;         // its sequence uses the anchor pool
  bool anchor = false;          // computed in full, recorded as an anchor after the step
  PromptSegment span;
  std::shared_ptr<const kv::SegmentEntry> hit;
};

}  // namespace

Status Engine::blend_batch(const scheduler::StepSchedule& plan, BatchPlan& batch,
                           std::vector<int>& row_of, std::vector<std::int64_t>& computed) {
  Backend& be = *deps_.backend;
  const std::size_t tkb = be.token_kv_bytes();
  pending_anchors_.clear();  // a failed step's, never computed
  std::vector<Part> parts;
  for (std::size_t i = 0; i < plan.chunks.size(); ++i) {
    const auto& ch = plan.chunks[i];
    Seq& s = *seqs_.at(ch.seq);
    for (auto& g : s.blend) {
      const std::int64_t lo = std::max<std::int64_t>(g.span.begin, ch.start);
      const std::int64_t hi = std::min<std::int64_t>(g.span.end, ch.start + ch.count);
      if (lo >= hi) continue;
      if (!g.looked_up) {
        g.looked_up = true;
        g.hit = segments_->find(std::span<const std::int32_t>(s.tokens).subspan(
            static_cast<std::size_t>(g.span.begin),
            static_cast<std::size_t>(g.span.end - g.span.begin)));
      }
      if (!g.hit) continue;
      const auto k = static_cast<std::int64_t>(
          std::llround(static_cast<double>(s.blend_recompute) * static_cast<double>(hi - lo)));
      // Anchors serve a placement the pool can predict, or one it could hold as an anchor.
      const bool anchors =
          anchors_ && s.blend_anchors &&
          (anchors_->stats().anchors > 0 || anchors_->fits(static_cast<std::size_t>(hi - lo)));
      parts.push_back(
          {i, lo, hi, std::clamp<std::int64_t>(k, 0, hi - lo), anchors, false, g.span, g.hit});
    }
  }
  if (parts.empty()) return ok_status();
  auto kv_of = [&](const Part& p) {
    return std::span<const std::byte>(p.hit->kv).subspan(
        static_cast<std::size_t>(p.lo - p.span.begin) * tkb,
        static_cast<std::size_t>(p.hi - p.lo) * tkb);
  };
  auto source_of = [](const Part& p) {
    return static_cast<std::int32_t>(p.hit->position + (p.lo - p.span.begin));
  };
  // compute[i][r]: whether row r of chunk i is computed (empty: all of them).
  std::vector<std::vector<char>> compute(plan.chunks.size());
  std::vector<std::int64_t> probe_end(plan.chunks.size(), 0);
  for (const Part& p : parts) {
    const auto& ch = plan.chunks[p.chunk];
    const auto& table = batch.seqs[p.chunk].block_table;
    // A part of a segment is named only when it is the whole segment (the id names all of it).
    const std::uint64_t id = p.lo == p.span.begin && p.hi == p.span.end ? p.hit->id : 0;
    AGENTRT_TRY(
        be.place_segment_kv(id, table, static_cast<std::int32_t>(p.lo), kv_of(p), source_of(p)));
    auto& c = compute[p.chunk];
    if (c.empty()) c.assign(static_cast<std::size_t>(ch.count), 1);
    std::fill(c.begin() + (p.lo - ch.start), c.begin() + (p.hi - ch.start), 0);
    const bool selects =
        p.recompute > 0 && p.recompute < p.hi - p.lo && opt_.blend_select_by_deviation;
    if (selects || (p.anchors && p.recompute < p.hi - p.lo))
      probe_end[p.chunk] = std::max(probe_end[p.chunk], p.hi);
  }
  // CacheBlend's selection: one probe over every chunk that selects, up to its last part.
  const int layer = blend_probe_layer(deps_.config->num_layers);
  BatchPlan probe;
  for (std::size_t i = 0; i < plan.chunks.size(); ++i) {
    if (probe_end[i] == 0) continue;
    const auto& ch = plan.chunks[i];
    const auto& tokens = batch.seqs[i].tokens;
    probe.seqs.push_back(
        {std::vector<std::int32_t>(tokens.begin(), tokens.begin() + (probe_end[i] - ch.start)),
         static_cast<std::int32_t>(ch.start), batch.seqs[i].block_table, false});
  }
  if (!probe.seqs.empty()) AGENTRT_TRY(be.forward_kv_probe(probe, layer));
  // Anchors: each placement that was probed is corrected by predicted offsets, or (one the
  // pool has not seen the like of) computed in full to become an anchor; a placement
  // computed in full anyway becomes one at no cost.
  for (Part& p : parts) {
    if (!anchors_) break;
    if (!p.anchors) continue;
    const bool whole = p.lo == p.span.begin && p.hi == p.span.end;
    const auto n = static_cast<std::size_t>(p.hi - p.lo);
    const auto& table = batch.seqs[p.chunk].block_table;
    if (p.recompute >= p.hi - p.lo) {
      p.anchor = whole && anchors_->fits(n);
    } else {
      const std::uint64_t id = whole ? p.hit->id : 0;
      const auto what =
          anchors_->predict({table, static_cast<std::int32_t>(p.lo), kv_of(p), source_of(p), id});
      if (!what.ok() && what.error().code == ErrorCode::unsupported) {
        anchors_.reset();  // this backend cannot: placement as CacheBlend alone
        break;
      }
      if (!what.ok()) return what.error();
      // A part of a segment, or one over the pool's caps, is placed as CacheBlend alone.
      p.anchor = whole && *what == kv::AnchorPrediction::record;
    }
    if (p.anchor) {
      pending_anchors_.push_back(
          {plan.chunks[p.chunk].seq, static_cast<std::int32_t>(p.lo), p.hit});
    }
  }
  std::vector<float> dev;
  std::vector<std::size_t> order;
  for (const Part& p : parts) {
    const auto& ch = plan.chunks[p.chunk];
    auto& c = compute[p.chunk];
    const auto n = static_cast<std::size_t>(p.hi - p.lo);
    const auto first = c.begin() + (p.lo - ch.start);
    if (p.anchor) {
      std::fill_n(first, n, 1);
      continue;
    }
    if (p.recompute == 0) continue;
    if (p.recompute >= p.hi - p.lo || !opt_.blend_select_by_deviation) {
      std::fill_n(first, std::min<std::size_t>(n, static_cast<std::size_t>(p.recompute)), 1);
      continue;
    }
    dev.assign(n, 0.0f);
    AGENTRT_TRY(be.token_kv_deviation(batch.seqs[p.chunk].block_table,
                                      static_cast<std::int32_t>(p.lo), kv_of(p), source_of(p),
                                      layer, dev));
    order.resize(n);
    std::iota(order.begin(), order.end(), std::size_t{0});
    const auto k = static_cast<std::ptrdiff_t>(p.recompute);
    std::partial_sort(order.begin(), order.begin() + k, order.end(),
                      [&](std::size_t a, std::size_t b) { return dev[a] > dev[b]; });
    for (std::ptrdiff_t j = 0; j < k; ++j)
      first[static_cast<std::ptrdiff_t>(order[static_cast<std::size_t>(j)])] = 1;
  }
  // The prompt's last token gives the logits; rows placed but not computed are counted and
  // their blocks kept out of the prefix cache.
  for (std::size_t i = 0; i < plan.chunks.size(); ++i) {
    auto& c = compute[i];
    if (c.empty()) continue;
    const auto& ch = plan.chunks[i];
    if (ch.start + ch.count == std::ssize(seqs_.at(ch.seq)->tokens)) c.back() = 1;
    const auto reused_at = std::find(c.begin(), c.end(), 0);
    if (reused_at != c.end()) kv_->stop_sealing(ch.seq, ch.start + (reused_at - c.begin()));
  }
  for (const Part& p : parts) {
    const auto& c = compute[p.chunk];
    const auto first = c.begin() + (p.lo - plan.chunks[p.chunk].start);
    const auto recomputed = std::count(first, first + (p.hi - p.lo), 1);
    segments_->count_use(p.hi - p.lo - recomputed, recomputed);
  }
  // The batch: each chunk's runs of computed rows; only a chunk's last run has a logits row
  // (row_of[i] counts logits rows, not sequences).
  BatchPlan out;
  int logits_rows = 0;
  for (std::size_t i = 0; i < plan.chunks.size(); ++i) {
    auto& seq = batch.seqs[i];
    const auto& c = compute[i];
    if (c.empty()) {
      row_of[i] = logits_rows++;
      out.seqs.push_back(std::move(seq));
      continue;
    }
    row_of[i] = -1;
    computed[i] = std::count(c.begin(), c.end(), 1);
    for (std::size_t r = 0; r < c.size();) {
      if (!c[r]) {
        ++r;
        continue;
      }
      std::size_t e = r;
      while (e < c.size() && c[e])
        ++e;
      SequenceChunk run{
          std::vector<std::int32_t>(seq.tokens.begin() + static_cast<std::ptrdiff_t>(r),
                                    seq.tokens.begin() + static_cast<std::ptrdiff_t>(e)),
          static_cast<std::int32_t>(seq.start_pos + static_cast<std::int32_t>(r)), seq.block_table,
          false};
      run.no_logits = std::find(c.begin() + static_cast<std::ptrdiff_t>(e), c.end(), 1) != c.end();
      if (!run.no_logits) row_of[i] = logits_rows++;
      out.seqs.push_back(std::move(run));
      r = e;
    }
  }
  batch = std::move(out);
  return ok_status();
}

void Engine::store_segments(const scheduler::StepSchedule& plan) {
  const std::size_t tkb = deps_.backend->token_kv_bytes();
  for (const auto& ch : plan.chunks) {
    auto it = seqs_.find(ch.seq);
    if (it == seqs_.end()) continue;
    Seq& s = *it->second;
    for (auto& g : s.blend) {
      if (!g.looked_up || g.hit || g.stored || g.span.end <= ch.start ||
          g.span.end > ch.start + ch.count)
        continue;
      g.stored = true;
      const auto n = g.span.end - g.span.begin;
      kv::SegmentEntry e;
      e.tokens.assign(s.tokens.begin() + g.span.begin, s.tokens.begin() + g.span.end);
      e.position = g.span.begin;
      e.id = kv::next_segment_id();
      e.kv.resize(static_cast<std::size_t>(n) * tkb);
      if (deps_.backend->read_segment_kv(e.id, kv_->block_table(ch.seq), g.span.begin, n, e.kv)
              .ok())
        segments_->insert(std::move(e));
    }
  }
}

Status Engine::record_anchors() {
  const std::vector<PendingAnchor> pending = std::move(pending_anchors_);
  pending_anchors_.clear();
  for (const PendingAnchor& a : pending) {
    if (!anchors_ || !seqs_.contains(a.seq)) continue;
    AGENTRT_TRY(anchors_->record(
        {kv_->block_table(a.seq), a.begin, a.hit->kv, a.hit->position, a.hit->id}));
  }
  return ok_status();
}

}  // namespace agentrt
