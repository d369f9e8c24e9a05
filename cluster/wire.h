// The messages that cross the wire between a coordinator (`agentrt serve --cluster-port`)
// and its worker nodes (`agentrt node --join`), with their CAF 0.17 serialization
// (inspect) and the atoms that tag them. Everything else in the runtime stays local.
//
// Protocol (worker W, coordinator C; C is the one published actor, W reaches it with
// remote_actor and hands C its own node actor inside the first message):
//   W -> C  (hello_atom, NodeHello)        -> Challenge  (C proves the secret on W's nonce)
//   W -> C  (auth_atom, AuthProof)          -> Welcome    (W proved it on C's nonce)
//   W -> C  (heartbeat_atom, LoadReport)    -> bool       (false: not a member, join again)
//   W -> C  (kv_event_atom, KvEventMsg)     (no reply)
//   W -> C  (kv_snapshot_atom, KvSnapshotMsg) (no reply; parts of what W's KV holds, after a
//           join or a lost event: C replaces what it knew of W with them, events apply on top)
//   C -> W  (run_job_atom, JobSpec)         (no reply; W answers with checkpoints, a result)
//   W -> C  (checkpoint_atom, JobCheckpoint), (job_done_atom, JobResultMsg)
//   C -> W  (cancel_job_atom, job id, attempt)
//   C -> W  (complete_atom, CompletionCall) (no reply; W answers with CompletionPart messages:
//           one head, then bytes, then one end; or one error head)
//   W -> C  (completion_part_atom, CompletionPart)
//   C -> W  (cancel_completion_atom, completion id, attempt)
//   W -> C  (drain_atom)                    -> bool  (W leaves: C routes nothing new to it)
//   W -> C  (kv_ship_atom, KvShipment)      -> int32 (C forwards it to the session's new
//   C -> W  (kv_ship_atom, KvShipment)      -> int32  node, which imports it: blocks stored)
//   C -> W  (kv_move_atom, KvMoveCall)      -> int32 (W ships one paused session's KV with
//           kv_ship_atom as above, to the node C moved its next turn to: blocks imported)
//   C -> W  (kv_adopt_atom, KvAdoptCall)    -> int32 (W copies a session's blocks out of the
//           on-disk KV store of the dead node that ran its last turn: blocks copied)
// Agent turns (`serve --cluster-route turns`, turn_front.h and node_engine.h; the types in
// engine_wire.h): after Welcome W hands C its engine front,
//   W -> C  (turn_engine_atom, actor)       (no reply)
// which C's turn fronts then send a turn's messages to, with request ids local to W:
//   C -> W' (turn_generate_atom, WireGenerate) -> WireReply; the tokens go to the
//           subscribers named in it (C's relays) as (turn_batch_atom, WireTokenBatch)
//   C -> W' (turn_resume_atom, WireResume)  -> WireReply
//   C -> W' (turn_pause_atom | turn_repin_atom, id, ttl ns) -> WireReply
//   C -> W' (turn_fork_atom, id, subscriber) -> WireReply (the child's id)
//   C -> W' (turn_cancel_atom, id); (turn_cancel_atom, subscriber): withdraw waiting work
//   C -> W  (turn_orphan_atom, store path, hold ms) (no reply): a dead worker's on-disk KV
//           store (NodeHello::kv_store); W holds it open and reads through it for that long
//           (node_held_stores.h), while the jobs that ran turns there run again
// C drops every message but hello/auth from an actor that has not proved the secret.
// Strings and lists are capped (wire_caps.h): a message over a cap does not deserialize.
#pragma once

#include <caf/all.hpp>

#include <bit>
#include <cstddef>

#include <cstdint>
#include <string>
#include <vector>

#include "cluster/wire_caps.h"
#include "engine/sampling/sampling_params.h"

namespace agentrt::cluster {

// Bumped when a message changes shape; a worker of another version is refused at hello.
// 4: NodeHello::kv_store, KvAdoptCall; 5: JobSpec::kv_store, kv_reuse, blend_recompute_ppm;
// 6: agent turns on the nodes' engines (turn_* atoms, engine_wire.h); 7: JobSpec::
// blend_anchors, WireRequest::blend_anchors.
inline constexpr std::uint32_t kProtocolVersion = 7;

using hello_atom = caf::atom_constant<caf::atom("cl_hello")>;
using auth_atom = caf::atom_constant<caf::atom("cl_auth")>;
using heartbeat_atom = caf::atom_constant<caf::atom("cl_beat")>;
using kv_event_atom = caf::atom_constant<caf::atom("cl_kv")>;
using kv_snapshot_atom = caf::atom_constant<caf::atom("cl_kvsnap")>;
using run_job_atom = caf::atom_constant<caf::atom("cl_run")>;
using checkpoint_atom = caf::atom_constant<caf::atom("cl_ckpt")>;
using job_done_atom = caf::atom_constant<caf::atom("cl_done")>;
using cancel_job_atom = caf::atom_constant<caf::atom("cl_cancel")>;
using complete_atom = caf::atom_constant<caf::atom("cl_compl")>;
using completion_part_atom = caf::atom_constant<caf::atom("cl_cpart")>;
using cancel_completion_atom = caf::atom_constant<caf::atom("cl_ccanc")>;
using drain_atom = caf::atom_constant<caf::atom("cl_drain")>;
using kv_ship_atom = caf::atom_constant<caf::atom("cl_kvship")>;
using kv_move_atom = caf::atom_constant<caf::atom("cl_kvmove")>;
using kv_adopt_atom = caf::atom_constant<caf::atom("cl_kvadopt")>;
using turn_engine_atom = caf::atom_constant<caf::atom("cl_teng")>;
using turn_generate_atom = caf::atom_constant<caf::atom("cl_tgen")>;
using turn_resume_atom = caf::atom_constant<caf::atom("cl_tres")>;
using turn_pause_atom = caf::atom_constant<caf::atom("cl_tpause")>;
using turn_repin_atom = caf::atom_constant<caf::atom("cl_trepin")>;
using turn_fork_atom = caf::atom_constant<caf::atom("cl_tfork")>;
using turn_cancel_atom = caf::atom_constant<caf::atom("cl_tcanc")>;
using turn_batch_atom = caf::atom_constant<caf::atom("cl_tbatch")>;
using turn_orphan_atom = caf::atom_constant<caf::atom("cl_torphan")>;

// A key and a text (a checkpoint key and its JSON, an input name and its value).
struct NamedText {
  std::string key;
  std::string text;
};

struct NodeHello {
  std::uint32_t protocol = kProtocolVersion;
  std::string name;     // the node's name (--name, else host:pid)
  std::string model;    // the model directory it serves
  std::string backend;  // "cpu" or "cuda"
  std::int32_t slots = 1;
  std::string nonce;  // hex; the coordinator proves the secret on it
  // The absolute path of its on-disk KV snapshot store (--kv-store), empty when in memory:
  // where another node can read this one's KV after it dies (a shared filesystem).
  std::string kv_store;
};

struct Challenge {
  std::string proof;  // hex HMAC-SHA256(secret, "coordinator|" + hello.nonce)
  std::string nonce;  // hex; the worker proves the secret on it
};

struct AuthProof {
  std::string proof;  // hex HMAC-SHA256(secret, "worker|" + challenge.nonce + "|" + name)
};

struct Welcome {
  std::int64_t node = 0;  // the node's id for this membership (a rejoin gets a new one)
  std::int64_t heartbeat_ms = 0;
};

// Sent with every heartbeat.
struct LoadReport {
  std::int32_t running_jobs = 0;
  std::int32_t active_requests = 0;  // engine requests admitted (RuntimeMetrics)
  std::int32_t queued_requests = 0;
  std::int32_t kv_blocks = 0;
  std::int32_t kv_available_blocks = 0;
};

// Blocks of one tier stored, evicted, pinned or unpinned on the node (chained block keys
// only, engine/kv/block_key.h, as (hi, lo) pairs). kind: 0 stored, 1 evicted, 2 pinned,
// 3 unpinned (engine/kv/kv_events.h), 4 clear: the node dropped events (its backlog was
// full), so the coordinator forgets what it knew of the node's blocks (tier and keys unused).
// A node sends at most NodeKvEventsOptions::max_batch keys in one message.
inline constexpr std::int32_t kKvEventClear = 4;
struct KvEventMsg {
  std::int32_t kind = 0;
  std::int32_t tier = 0;  // 0 device, 1 host, 2 persistent
  std::vector<std::uint64_t> keys;
};

// One part of a snapshot of what a node's engine KV holds (cluster/node_kv_events.h), sent
// when it joins and after its event backlog overflowed: `keys` of `tier` are held, and on the
// device key i has pins[i] pins (pins empty: none). Part 0 starts a snapshot: the coordinator
// first forgets what it knew of the node's blocks. Events sent after the last part apply on
// top. wire_checks.h's check_kv_snapshot says what a coordinator accepts.
struct KvSnapshotMsg {
  std::int32_t part = 0;
  std::int32_t tier = 0;            // 0 device, 1 host, 2 persistent
  std::vector<std::uint64_t> keys;  // (hi, lo) pairs
  std::vector<std::int32_t> pins;   // one per key, or empty
};

// A workflow job for a node, with the checkpoints of earlier attempts (resume state).
struct JobSpec {
  std::string job;
  std::int32_t attempt = 0;  // results of other attempts are stale
  std::string workflow_yaml;
  std::string workflow_file;      // names the text in messages, anchors relative paths
  std::vector<NamedText> inputs;  // --input NAME=VALUE pairs
  std::vector<NamedText> resume;  // "step:N" / "unit:N:M" -> checkpoint JSON
  // The on-disk KV store (NodeHello::kv_store) of the node the job's last attempt died on, which
  // the node reads the KV it lacks from while it runs the job (orphan_stores.h); "" none.
  std::string kv_store{};
  // The job's kv_reuse override: "" none, "exact" or "blend", with blend_recompute in
  // millionths, [0, 1000000] (negative: the workflow's own), applied to the loaded workflow as
  // the server applies it. An integer: CAF 0.17's float serializer loops forever on infinity.
  std::string kv_reuse{};
  std::int32_t blend_recompute_ppm = -1;
  std::int32_t blend_anchors = -1;  // -1: the workflow's own; 0 false, 1 true
};

struct JobCheckpoint {
  std::string job;
  std::int32_t attempt = 0;
  NamedText checkpoint;
};

struct JobResultMsg {
  std::string job;
  std::int32_t attempt = 0;
  std::int32_t error_code = -1;  // -1: ok, else an agentrt::ErrorCode
  std::string error_message;
  std::string report;  // the run report's JSON (cli's run_report_json shape)
};

// One OpenAI request (POST /v1/chat/completions or /v1/completions) for a node's engine: the
// client's body as it came, with what the server decided about it (docs/cluster.md).
struct CompletionCall {
  std::uint64_t id = 0;
  std::int32_t attempt = 0;   // parts of other attempts are stale
  std::int32_t endpoint = 0;  // 0 chat, 1 completions
  std::string body;           // the request's JSON
  std::string model;          // the name replies carry
  std::string client;         // the API key's name ("" without keys)
  bool has_session_header = false;
  std::string session_header;  // X-Agentrt-Session
  std::int32_t thinking = -1;  // the server's enable_thinking: -1 unset, 0 off, 1 on
};

// What a node's run of a CompletionCall writes back, in order.
//   kind 0 head: the call was admitted; `status` 200.
//   kind 1 error: the call failed before its reply began; `status` is the HTTP status and
//          `bytes` the OpenAI error object (JSON). No more parts follow.
//   kind 2 bytes: reply bytes (SSE frames, or the whole JSON reply), never heartbeats.
//   kind 3 end: the reply is complete.
struct CompletionPart {
  std::uint64_t id = 0;
  std::int32_t attempt = 0;
  std::int32_t kind = 0;
  std::int32_t status = 200;
  std::string bytes;
};

// One batch of a paused agent session's KV blocks, shipped off a draining node: blocks
// [first_block, first_block + blocks.size()) of the chain of `tokens` (16-token blocks keyed
// with kv::chain_key under `fingerprint`), each the bytes the KV snapshot store keeps for it
// (Backend::read_block's layout). cluster/kv_shipping.h makes and checks them.
struct KvShipment {
  std::string session;               // the session's key (program_affinity's program)
  std::string fingerprint;           // kv::layout_fingerprint: model and block layout
  std::int32_t block_size = 16;      // tokens per block
  std::vector<std::int32_t> tokens;  // the session's tokens, at least the shipped blocks'
  std::int32_t first_block = 0;
  std::vector<std::string> blocks;  // one block's bytes each
  bool last = false;                // the session's last batch
};

// The coordinator moved a paused session's next turn off this node for load: ship the
// session's KV (KvShipment batches, through the coordinator), if this node holds at least
// `min_blocks` of its chain.
struct KvMoveCall {
  std::string session;  // the session's key (program_affinity's program)
  std::int32_t min_blocks = 0;
};

// The node that ran a session's last turn died; its KV store (NodeHello::kv_store) is at
// `store`. Copy the blocks of `keys` (the next turn's prompt, chained block keys as (hi, lo)
// pairs, the coordinator's own model and layout), in order up to the first one missing, from
// that store into this node's snapshot tier, where the turn's prefix lookup finds them.
struct KvAdoptCall {
  std::string session;
  std::string store;
  std::vector<std::uint64_t> keys;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, NamedText& x) {
  return f(caf::meta::type_name("agentrt_NamedText"), capped<kMaxWireShortBytes>(x.key),
           capped<kMaxWireTextBytes>(x.text));
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, NodeHello& x) {
  return f(caf::meta::type_name("agentrt_NodeHello"), x.protocol,
           capped<kMaxWireShortBytes>(x.name), capped<kMaxWireShortBytes>(x.model),
           capped<kMaxWireShortBytes>(x.backend), x.slots, capped<kMaxWireShortBytes>(x.nonce),
           capped<kMaxWireShortBytes>(x.kv_store));
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, Challenge& x) {
  return f(caf::meta::type_name("agentrt_Challenge"), capped<kMaxWireShortBytes>(x.proof),
           capped<kMaxWireShortBytes>(x.nonce));
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, AuthProof& x) {
  return f(caf::meta::type_name("agentrt_AuthProof"), capped<kMaxWireShortBytes>(x.proof));
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, Welcome& x) {
  return f(caf::meta::type_name("agentrt_Welcome"), x.node, x.heartbeat_ms);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, LoadReport& x) {
  return f(caf::meta::type_name("agentrt_LoadReport"), x.running_jobs, x.active_requests,
           x.queued_requests, x.kv_blocks, x.kv_available_blocks);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, KvEventMsg& x) {
  return f(caf::meta::type_name("agentrt_KvEventMsg"), x.kind, x.tier,
           capped_list<kMaxWireListItems>(x.keys));
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, KvSnapshotMsg& x) {
  return f(caf::meta::type_name("agentrt_KvSnapshotMsg"), x.part, x.tier,
           capped_list<kMaxWireSnapshotWords>(x.keys),
           capped_list<kMaxWireSnapshotWords / 2>(x.pins));
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, JobSpec& x) {
  return f(caf::meta::type_name("agentrt_JobSpec"), capped<kMaxWireShortBytes>(x.job), x.attempt,
           capped<kMaxWireTextBytes>(x.workflow_yaml), capped<kMaxWireShortBytes>(x.workflow_file),
           capped_list<kMaxWireListItems>(x.inputs), capped_list<kMaxWireListItems>(x.resume),
           capped<kMaxWireShortBytes>(x.kv_store), capped<kMaxWireShortBytes>(x.kv_reuse),
           x.blend_recompute_ppm, x.blend_anchors);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, JobCheckpoint& x) {
  return f(caf::meta::type_name("agentrt_JobCheckpoint"), capped<kMaxWireShortBytes>(x.job),
           x.attempt, x.checkpoint);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, JobResultMsg& x) {
  return f(caf::meta::type_name("agentrt_JobResultMsg"), capped<kMaxWireShortBytes>(x.job),
           x.attempt, x.error_code, capped<kMaxWireTextBytes>(x.error_message),
           capped<kMaxWireTextBytes>(x.report));
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, CompletionCall& x) {
  return f(caf::meta::type_name("agentrt_CompletionCall"), x.id, x.attempt, x.endpoint,
           capped<kMaxWireTextBytes>(x.body), capped<kMaxWireShortBytes>(x.model),
           capped<kMaxWireShortBytes>(x.client), x.has_session_header,
           capped<kMaxWireShortBytes>(x.session_header), x.thinking);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, CompletionPart& x) {
  return f(caf::meta::type_name("agentrt_CompletionPart"), x.id, x.attempt, x.kind, x.status,
           capped<kMaxWireTextBytes>(x.bytes));
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, KvShipment& x) {
  return f(caf::meta::type_name("agentrt_KvShipment"), capped<kMaxWireShortBytes>(x.session),
           capped<kMaxWireShortBytes>(x.fingerprint), x.block_size,
           capped_list<kMaxWireListItems>(x.tokens), x.first_block,
           capped_list<kMaxWireListItems>(x.blocks), x.last);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, KvMoveCall& x) {
  return f(caf::meta::type_name("agentrt_KvMoveCall"), capped<kMaxWireShortBytes>(x.session),
           x.min_blocks);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, KvAdoptCall& x) {
  return f(caf::meta::type_name("agentrt_KvAdoptCall"), capped<kMaxWireShortBytes>(x.session),
           capped<kMaxWireShortBytes>(x.store), capped_list<kMaxWireListItems>(x.keys));
}

// --- Engine messages: agent turns (`--cluster-route turns`) ---
// The wire form of the engine actor's messages (actors/messages.h: GenerateMsg, ResumeMsg,
// GenerateReply, TokenBatch); engine_wire.h converts to and from the local ones and checks
// what a peer sent. Floats cross as their IEEE bit patterns (CAF 0.17's float serializer
// loops forever on an infinity), optionals as has_X + X, durations as int64 nanoseconds, a
// structured-output constraint as its JSON schema's text, subscribers as actor handles.

// Caps of the engine messages, besides wire_caps.h's kMaxWireListItems (prompt, appended,
// tokens of a batch, segments).
inline constexpr std::size_t kMaxWireSchemaBytes = 1u << 20;  // a constraint's schema text
inline constexpr std::size_t kMaxWireSubscribers = 1024;      // actors::kMaxBestOfSamples
inline constexpr std::size_t kMaxWireTopLogprobs = 20;        // SamplingParams::logprobs <= 20

// A float as its IEEE-754 bits, and back.
constexpr std::uint32_t float_bits(float x) {
  return std::bit_cast<std::uint32_t>(x);
}
constexpr float bits_float(std::uint32_t bits) {
  return std::bit_cast<float>(bits);
}

// sampling::SamplingParams; constraint_schema is "" for none.
struct WireSampling {
  std::uint32_t temperature = float_bits(1.0f);
  std::int32_t top_k = 0;
  std::uint32_t top_p = float_bits(1.0f);
  std::uint32_t min_p = float_bits(0.0f);
  std::uint32_t repetition_penalty = float_bits(1.0f);
  std::uint32_t presence_penalty = float_bits(0.0f);
  std::uint32_t frequency_penalty = float_bits(0.0f);
  bool has_seed = false;
  std::uint64_t seed = 0;
  std::int32_t max_tokens = 16;
  std::vector<std::int32_t> stop_token_ids;
  std::vector<std::string> stop_strings;
  bool ignore_eos = false;
  std::int32_t logprobs = -1;
  std::string constraint_schema;
};

// PromptSegment: token indices [begin, end).
struct WireSegment {
  std::int32_t begin = 0;
  std::int32_t end = 0;
};

// EngineRequest. kv_reuse: 0 exact, 1 blend.
struct WireRequest {
  std::vector<std::int32_t> prompt;
  WireSampling params;
  bool has_program = false;
  std::int64_t program = 0;
  bool has_pause_on_finish = false;
  std::int64_t pause_on_finish_ns = 0;
  bool pause_only_at_stop = false;
  std::vector<WireSegment> segments;
  std::int32_t kv_reuse = 0;
  bool has_blend_recompute = false;
  std::uint32_t blend_recompute = float_bits(0.0f);
  std::int32_t blend_anchors = -1;  // EngineRequest::blend_anchors: -1 unset, 0 false, 1 true
};

// actors::GenerateMsg: one subscriber per sample (fork_after_prefill + 1, or
// samples_after_prefill), who receive WireTokenBatch messages from the node.
struct WireGenerate {
  WireRequest request;
  bool has_pause_at_eos = false;
  std::int64_t pause_at_eos_ns = 0;
  std::int32_t fork_after_prefill = 0;
  std::vector<caf::actor> subscribers;
  std::int32_t samples_after_prefill = 0;
};

// actors::ResumeMsg. constraint_mode: what the next turns' constraint becomes.
inline constexpr std::int32_t kWireConstraintKeep = 0;    // unchanged (constraint nullopt)
inline constexpr std::int32_t kWireConstraintNone = 1;    // removed (a null constraint)
inline constexpr std::int32_t kWireConstraintSchema = 2;  // JSON of constraint_schema
struct WireResume {
  std::int64_t id = 0;
  std::vector<std::int32_t> appended;
  bool has_max_tokens = false;
  std::int32_t max_tokens = 0;
  bool has_pause_at_eos = false;
  std::int64_t pause_at_eos_ns = 0;
  std::int32_t constraint_mode = kWireConstraintKeep;
  std::string constraint_schema;  // with kWireConstraintSchema only
  std::vector<WireSegment> segments;
};

// actors::GenerateReply. error_code: -1 none, else an agentrt::ErrorCode.
struct WireReply {
  std::int64_t id = 0;
  std::int32_t error_code = -1;
  std::string error_message;
};

// One of a token's top alternatives (sampling::TokenLogprob), and a token's list of them.
struct WireTokenLogprob {
  std::int32_t token = 0;
  std::uint32_t logprob = float_bits(0.0f);
};
struct WireTopLogprobs {
  std::vector<WireTokenLogprob> alternatives;
};

// actors::TokenBatch. finish: -1 none, else a FinishReason; error_code as WireReply's.
struct WireTokenBatch {
  std::int64_t id = 0;
  std::vector<std::int32_t> tokens;
  std::vector<std::uint32_t> logprobs;
  std::int32_t finish = -1;
  bool paused_at_eos = false;
  bool cancelled = false;
  std::int32_t error_code = -1;
  std::string error_message;
  std::int64_t cached_tokens = -1;
  std::vector<WireTopLogprobs> top;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, WireSampling& x) {
  return f(caf::meta::type_name("agentrt_WireSampling"), x.temperature, x.top_k, x.top_p, x.min_p,
           x.repetition_penalty, x.presence_penalty, x.frequency_penalty, x.has_seed, x.seed,
           x.max_tokens, capped_list<sampling::kMaxStopTokenIds>(x.stop_token_ids),
           capped_strings<sampling::kMaxStopStrings, sampling::kMaxStopStringBytes>(x.stop_strings),
           x.ignore_eos, x.logprobs, capped<kMaxWireSchemaBytes>(x.constraint_schema));
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, WireSegment& x) {
  return f(caf::meta::type_name("agentrt_WireSegment"), x.begin, x.end);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, WireRequest& x) {
  return f(caf::meta::type_name("agentrt_WireRequest"), capped_list<kMaxWireListItems>(x.prompt),
           x.params, x.has_program, x.program, x.has_pause_on_finish, x.pause_on_finish_ns,
           x.pause_only_at_stop, capped_list<kMaxWireListItems>(x.segments), x.kv_reuse,
           x.has_blend_recompute, x.blend_recompute, x.blend_anchors);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, WireGenerate& x) {
  return f(caf::meta::type_name("agentrt_WireGenerate"), x.request, x.has_pause_at_eos,
           x.pause_at_eos_ns, x.fork_after_prefill, capped_list<kMaxWireSubscribers>(x.subscribers),
           x.samples_after_prefill);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, WireResume& x) {
  return f(
      caf::meta::type_name("agentrt_WireResume"), x.id, capped_list<kMaxWireListItems>(x.appended),
      x.has_max_tokens, x.max_tokens, x.has_pause_at_eos, x.pause_at_eos_ns, x.constraint_mode,
      capped<kMaxWireSchemaBytes>(x.constraint_schema), capped_list<kMaxWireListItems>(x.segments));
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, WireReply& x) {
  return f(caf::meta::type_name("agentrt_WireReply"), x.id, x.error_code,
           capped<kMaxWireTextBytes>(x.error_message));
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, WireTokenLogprob& x) {
  return f(caf::meta::type_name("agentrt_WireTokenLogprob"), x.token, x.logprob);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, WireTopLogprobs& x) {
  return f(caf::meta::type_name("agentrt_WireTopLogprobs"),
           capped_list<kMaxWireTopLogprobs>(x.alternatives));
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, WireTokenBatch& x) {
  return f(caf::meta::type_name("agentrt_WireTokenBatch"), x.id,
           capped_list<kMaxWireListItems>(x.tokens), capped_list<kMaxWireListItems>(x.logprobs),
           x.finish, x.paused_at_eos, x.cancelled, x.error_code,
           capped<kMaxWireTextBytes>(x.error_message), x.cached_tokens,
           capped_list<kMaxWireListItems>(x.top));
}

// Registers every type above on a config (both ends must), and loads the middleman.
void configure_wire(caf::actor_system_config& cfg);

}  // namespace agentrt::cluster
