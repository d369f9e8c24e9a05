// Engine::step(): one batch from the scheduler's plan, then sampling and turn ends.
#include <algorithm>
#include <chrono>

#include "engine/engine.h"
#include "engine/engine_internal.h"

namespace agentrt {

namespace {

bool is_stop(const sampling::SamplingParams& p, const model::ModelConfig& config,
             const std::vector<std::int32_t>& extra_eos, std::int32_t t) {
  auto has = [t](const auto& ids) { return std::find(ids.begin(), ids.end(), t) != ids.end(); };
  if (has(p.stop_token_ids)) return true;
  return !p.ignore_eos && (has(config.eos_token_ids) || has(extra_eos));
}

// Params the backend's forward_sample() can serve: no penalties (they need the output so
// far, on the host) and no top-logprob alternatives. Greedy ones always (the device gives
// Sampler's token exactly); sampled ones when the options allow. A token constraint
// (structured output) when the backend applies masks (the host computes each row's mask,
// the device draws within it), without logprobs (Sampler reports them unmasked).
bool device_samplable(const sampling::SamplingParams& p, bool sampled_on_device,
                      bool masks_on_device) {
  return (!p.constraint || (masks_on_device && p.logprobs < 0)) &&
         (p.greedy() || sampled_on_device) && p.repetition_penalty == 1.0f &&
         p.presence_penalty == 0.0f && p.frequency_penalty == 0.0f && p.logprobs <= 0;
}

// How the device samples a sequence's next token; it sees temperature 0 for every greedy
// row (SamplingParams::greedy). The draw is fixed by (seed, the token's position).
DeviceSampling device_row(const sampling::SamplingParams& p, std::uint64_t seed,
                          std::size_t position) {
  return {p.greedy() ? 0.0f : p.temperature,   p.top_k, p.top_p, p.min_p, seed,
          static_cast<std::uint64_t>(position)};
}

}  // namespace

void Engine::sample(Seq& s, std::span<const float> logits, std::vector<EngineEvent>& events) {
  const auto step = std::ssize(s.tokens) - static_cast<std::int64_t>(s.turn_start);
  if (auto bad = sampling::check_logits(logits, step)) {  // fails this request only
    events.push_back(
        {s.id, EventKind::error, -1, 0.0f, std::nullopt, std::move(*bad), ErrorCode::corrupt});
    return end(s);
  }
  const std::span<const std::int32_t> all(s.tokens);
  accept(s, s.sampler->sample(logits, all.first(s.turn_start), all.subspan(s.turn_start)), events);
}

void Engine::accept(Seq& s, const sampling::SampledToken& tok, std::vector<EngineEvent>& events) {
  s.tokens.push_back(tok.token);
  ++stats_.decoded_tokens;
  EngineEvent ev{s.id, EventKind::token, tok.token, tok.logprob, std::nullopt, {}};
  ev.top = tok.top;
  const auto generated = std::ssize(s.tokens) - static_cast<std::int64_t>(s.turn_start);
  if (generated == 1)
    ev.cached_tokens =
        std::max<std::int64_t>(0, static_cast<std::int64_t>(s.turn_start) - s.turn_prefilled);
  if (is_stop(s.params, *deps_.config, opt_.extra_eos_ids, tok.token)) {
    ev.finish = FinishReason::stop_token;
  } else if (generated >= s.params.max_tokens) {
    ev.finish = FinishReason::length;
  } else if (std::ssize(s.tokens) >= deps_.config->max_context()) {
    ev.finish = FinishReason::context_full;
  }
  events.push_back(ev);
  if (!ev.finish) return;
  // The Engine owns the pause: a turn that pauses keeps its request, KV pinned.
  const bool pauses = s.pause_on_finish && ev.finish != FinishReason::context_full &&
                      (!s.pause_only_at_stop || ev.finish == FinishReason::stop_token);
  if (pauses) return do_pause(s, *s.pause_on_finish, events);
  end(s, true);
}

// Overlapped steps: the step's chunks can be queued before the step in flight is collected
// (all sampled on the device, no masks, no blended segment still to place or store).
bool Engine::overlappable(const scheduler::StepSchedule& plan) const {
  if (!opt_.overlap_steps || !deps_.backend->overlaps_steps() || !pending_anchors_.empty())
    return false;
  return std::all_of(plan.chunks.begin(), plan.chunks.end(), [&](const auto& ch) {
    const Seq& s = *seqs_.at(ch.seq);
    return device_samplable(s.params, opt_.device_sampling, false) &&
           std::none_of(s.blend.begin(), s.blend.end(),
                        [&](const auto& g) { return g.span.end > ch.start; });
  });
}

// The step in flight samples a token for these sequences: each gets a placeholder for it, so
// the scheduler plans its next token now. Not for a token that ends the turn for sure
// (max_tokens, a full context), nor for a turn's first: a caller that forks a request when
// its first token comes (best-of-N after one prefill) forks it with that token alone.
void Engine::hold_places() {
  for (std::size_t i = 0; i < launched_->chunks.size(); ++i) {
    Seq* taker = taker_of(*launched_, i);
    if (!taker) continue;
    Seq& s = *taker;
    const auto generated = std::ssize(s.tokens) + 1 - static_cast<std::int64_t>(s.turn_start);
    if (generated == 1 || generated >= s.params.max_tokens ||
        std::ssize(s.tokens) + 1 >= deps_.config->max_context())
      continue;
    s.tokens.push_back(pending_token(0));
    s.pending_row = static_cast<int>(i);
  }
}

Status Engine::collect(std::vector<EngineEvent>& events) {
  Launched l = std::move(*launched_);
  launched_.reset();
  std::vector<DeviceSample> sampled;
  const auto t0 = std::chrono::steady_clock::now();
  AGENTRT_TRY(deps_.backend->collect_sample(sampled));
  stats_.forward_seconds +=
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  for (std::size_t i = 0; i < l.chunks.size(); ++i) {
    Seq* taker = taker_of(l, i);
    if (!taker) continue;
    Seq& s = *taker;
    if (s.pending_row >= 0) {
      s.tokens.pop_back();
      s.pending_row = -1;
    }
    const auto& d = sampled.at(i);
    accept(s, {d.token, s.params.logprobs == 0 ? d.logprob : 0.0f, {}}, events);
  }
  return ok_status();
}

// The sequence that takes chunk i's sample: none when the chunk appends no token, or its
// sequence ended, paused or began another turn since the launch (a cancel, pause or resume
// applied while the step was in flight: its sample is dropped, as if the command had come
// before the step).
Engine::Seq* Engine::taker_of(const Launched& l, std::size_t i) {
  return l.appends[i] ? still_in_turn(l, i) : nullptr;
}

// Chunk i's sequence while it is in the turn it was launched in (running, not paused).
Engine::Seq* Engine::still_in_turn(const Launched& l, std::size_t i) {
  auto it = seqs_.find(l.chunks[i].seq);
  if (it == seqs_.end() || it->second->paused || it->second->turn != l.turns[i]) return nullptr;
  return it->second.get();
}

// Drops the chunks of `held` sequences, and of those whose turn ended at the step just
// collected.
void Engine::drop_ended(scheduler::StepSchedule& plan, std::span<const RequestId> held) const {
  std::erase_if(plan.chunks, [&](const auto& ch) {
    auto it = seqs_.find(ch.seq);
    return it == seqs_.end() || it->second->paused ||
           std::find(held.begin(), held.end(), ch.seq) != held.end();
  });
}

BatchPlan Engine::lay_out(const scheduler::StepSchedule& plan) const {
  BatchPlan batch;
  for (const auto& ch : plan.chunks) {
    const Seq& s = *seqs_.at(ch.seq);
    const auto first = s.tokens.begin() + ch.start;
    auto table = kv_->block_table(ch.seq);
    batch.seqs.push_back({std::vector<std::int32_t>(first, first + ch.count),
                          static_cast<std::int32_t>(ch.start),
                          std::vector<std::int32_t>(table.begin(), table.end()), false});
    // The placeholder is the last token: the device takes it from the step in flight.
    if (s.pending_row >= 0 && ch.start + ch.count == std::ssize(s.tokens))
      batch.seqs.back().tokens.back() = pending_token(s.pending_row);
  }
  return batch;
}

// Bookkeeping once chunk i's KV is queued and its tokens known: stats, and the commit.
Status Engine::commit_chunk(const scheduler::ScheduledChunk& ch, std::int64_t computed) {
  Seq& s = *seqs_.at(ch.seq);
  const bool decode = ch.count == 1 && ch.start + 1 == std::ssize(s.tokens) &&
                      static_cast<std::size_t>(ch.start) >= s.turn_start;
  if (!decode) stats_.prefilled_tokens += computed;
  if (s.tokens.size() == s.turn_start) s.turn_prefilled += computed;
  const std::span<const std::int32_t> chunk_tokens =
      std::span<const std::int32_t>(s.tokens).subspan(static_cast<std::size_t>(ch.start),
                                                      static_cast<std::size_t>(ch.count));
  return kv_->commit(ch.seq, chunk_tokens);
}

// Queues the step (the step in flight, if any, is collected after it) and commits its chunks
// once their placeholders are filled.
Status Engine::launch(scheduler::StepSchedule& plan, std::vector<EngineEvent>& events) {
  const BatchPlan batch = lay_out(plan);
  Launched next;
  std::vector<DeviceSampling> rows;
  bool want_logprobs = false;
  for (std::size_t i = 0; i < plan.chunks.size(); ++i) {
    const auto& ch = plan.chunks[i];
    const Seq& s = *seqs_.at(ch.seq);
    const auto& p = s.params;
    rows.push_back(device_row(p, s.seed, s.tokens.size()));
    want_logprobs = want_logprobs || p.logprobs == 0;
    next.chunks.push_back(ch);
    next.appends.push_back(ch.start + ch.count == std::ssize(s.tokens));
    next.turns.push_back(s.turn);
  }
  const auto t0 = std::chrono::steady_clock::now();
  if (auto st = deps_.backend->launch_sample(batch, rows, want_logprobs); !st.ok()) {
    for (auto& [id, s] : seqs_) {  // the step in flight stays; its places are held again
      if (s->pending_row < 0) continue;
      s->tokens.pop_back();
      s->pending_row = -1;
    }
    return st;
  }
  stats_.forward_seconds +=
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ++stats_.steps;
  if (launched_) {
    ++stats_.overlapped_steps;
    AGENTRT_TRY(collect(events));
  }
  // A sequence whose turn ended at the step just collected computed a token it will not
  // keep: its chunk is neither committed nor sampled.
  for (std::size_t i = 0; i < next.chunks.size(); ++i) {
    if (!still_in_turn(next, i)) {
      next.appends[i] = false;
      continue;
    }
    AGENTRT_TRY(commit_chunk(next.chunks[i], next.chunks[i].count));
  }
  launched_ = std::move(next);
  return ok_status();
}

Result<std::vector<EngineEvent>> Engine::step() {
  struct StepTimer {  // adds the step's wall time on every return path
    EngineStats& stats;
    std::chrono::steady_clock::time_point t0 = std::chrono::steady_clock::now();
    ~StepTimer() {
      stats.step_seconds +=
          std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    }
  } timer{stats_};
  std::vector<EngineEvent> events;
  std::vector<Command> commands;
  {
    std::lock_guard lock(mu_);
    commands.swap(queue_);
  }
  // A fork copies every token sampled so far. Other commands apply beside the step in
  // flight: a cancelled, paused or resumed sequence drops its sample (taker_of).
  const bool forks = std::any_of(commands.begin(), commands.end(), [](const Command& c) {
    return std::holds_alternative<Command::Fork>(c.what);
  });
  if (forks && launched_) {
    if (auto st = collect(events); !st.ok()) return st.error().with_context("engine step");
  }
  for (auto& c : commands)
    apply(c, events);
  if (launched_) hold_places();
  scheduler::StepSchedule plan = sched_->schedule();
  if (launched_ && (plan.chunks.empty() || !overlappable(plan))) {
    // Sequences planned on a placeholder wait for the next step: a step() call reports at
    // most one token a sequence, so a command the caller sends after a token comes before
    // the next one, as step by step.
    std::vector<RequestId> held;
    for (const auto& ch : plan.chunks)
      if (seqs_.at(ch.seq)->pending_row >= 0) held.push_back(ch.seq);
    if (auto st = collect(events); !st.ok()) return st.error().with_context("engine step");
    drop_ended(plan, held);
  }
  if (plan.chunks.empty()) {
    kv_->flush_events();
    return events;
  }
  if (overlappable(plan)) {
    if (auto st = launch(plan, events); !st.ok()) return st.error().with_context("engine step");
    kv_->flush_events();
    return events;
  }
  BatchPlan batch = lay_out(plan);
  // KvReuse::blend: cached segments are placed, the batch keeps only the tokens to compute.
  std::vector<int> row_of(plan.chunks.size());
  std::vector<std::int64_t> computed(plan.chunks.size());
  for (std::size_t i = 0; i < plan.chunks.size(); ++i) {
    row_of[i] = static_cast<int>(i);
    computed[i] = plan.chunks[i].count;
  }
  if (segments_) {
    if (auto st = blend_batch(plan, batch, row_of, computed); !st.ok())
      return st.error().with_context("engine step: blend");
  }
  // Batches whose every sequence the backend can sample on the device skip the logits'
  // trip to the host (a blended batch too: its logits rows are row_of's).
  const bool masks = deps_.backend->masks_on_device();
  const bool on_device =
      deps_.backend->samples_on_device() &&
      std::all_of(plan.chunks.begin(), plan.chunks.end(), [&](const auto& ch) {
        return device_samplable(seqs_.at(ch.seq)->params, opt_.device_sampling, masks);
      });
  Logits logits;
  std::vector<DeviceSample> sampled;
  // A blended step may compute nothing (every row of its chunks placed).
  if (on_device && !batch.seqs.empty()) {
    std::vector<DeviceSampling> rows;
    std::vector<Seq*> constrained;  // the rows with masks, in mask order
    bool want_logprobs = false;
    // One entry per logits row, in row order: row_of[i] for chunk i (a blended chunk all of
    // whose rows were placed has none).
    for (std::size_t i = 0; i < plan.chunks.size(); ++i) {
      const auto& ch = plan.chunks[i];
      if (row_of[i] < 0) continue;
      Seq& s = *seqs_.at(ch.seq);
      const auto& p = s.params;
      rows.push_back(device_row(p, s.seed, s.tokens.size()));
      want_logprobs = want_logprobs || p.logprobs == 0;
      if (!p.constraint || ch.start + ch.count != std::ssize(s.tokens)) continue;
      rows.back().mask = static_cast<std::int32_t>(constrained.size());
      constrained.push_back(&s);
    }
    // The masks are computed while the device runs the step (DeviceTokenMasks::fill).
    const auto vocab = static_cast<std::size_t>(deps_.config->vocab_size);
    const std::size_t words = (vocab + 63) / 64;
    std::vector<std::uint64_t> mask_words(constrained.size() * words);
    DeviceTokenMasks row_masks{mask_words.data(), static_cast<std::int32_t>(words),
                               static_cast<std::int32_t>(constrained.size()), nullptr};
    if (!constrained.empty()) {
      row_masks.fill = [&] {
        const auto t0 = std::chrono::steady_clock::now();
        auto one = [&](std::size_t m) {
          Seq& s = *constrained[m];
          const std::span<const std::int32_t> all(s.tokens);
          const auto allowed = s.sampler->allowed_tokens(all.subspan(s.turn_start), vocab);
          const auto out = mask_words.begin() + static_cast<std::ptrdiff_t>(m * words);
          if (allowed.empty()) {
            std::fill_n(out, words, ~0ull);  // nothing to fall back to: unconstrained
          } else {
            std::copy(allowed.begin(), allowed.end(), out);
          }
        };
        const std::size_t n = constrained.size();
        for (std::size_t m = 0; m < n; ++m)
          one(m);
        stats_.masked_rows += static_cast<std::int64_t>(n);
        stats_.mask_seconds +=
            std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      };
    }
    const auto sample_start = std::chrono::steady_clock::now();
    if (auto st = deps_.backend->forward_sample(batch, rows, row_masks, want_logprobs, sampled);
        !st.ok()) {
      return st.error().with_context("engine step");
    }
    const double took =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - sample_start).count();
    stats_.forward_seconds += took;
    if (!constrained.empty()) stats_.masked_step_seconds += took;
  } else if (!on_device && !batch.seqs.empty()) {
    const auto forward_start = std::chrono::steady_clock::now();
    if (auto st = deps_.backend->forward(batch, logits); !st.ok())
      return st.error().with_context("engine step");
    stats_.forward_seconds +=
        std::chrono::duration<double>(std::chrono::steady_clock::now() - forward_start).count();
  }
  if (segments_) store_segments(plan);
  if (!pending_anchors_.empty()) {
    if (auto st = record_anchors(); !st.ok())
      return st.error().with_context("engine step: anchors");
  }
  ++stats_.steps;
  for (std::size_t i = 0; i < plan.chunks.size(); ++i) {
    const auto& ch = plan.chunks[i];
    Seq& s = *seqs_.at(ch.seq);
    if (auto st = commit_chunk(ch, computed[i]); !st.ok())
      return st.error().with_context("engine step");
    if (ch.start + ch.count != std::ssize(s.tokens)) continue;
    const auto row = static_cast<std::size_t>(row_of[i]);  // >= 0: a prompt's end is computed
    if (on_device) {
      const float logprob = s.params.logprobs == 0 ? sampled[row].logprob : 0.0f;
      accept(s, {sampled[row].token, logprob, {}}, events);
    } else {
      sample(s, logits.row(row_of[i]), events);
    }
  }
  kv_->flush_events();
  return events;
}

}  // namespace agentrt
