// libFuzzer: arbitrary bytes through CAF's binary deserializer into the cluster's wire
// messages (wire.h), the way BASP hands a received payload to the coordinator or a node, then
// the receiver's checks (wire_checks.h). The first byte picks the target: 0, a whole
// caf::message (type names, an atom, then the values, as on the wire), dispatched like the
// coordinator's behavior; 1 to 20, one wire type read directly (17 to 20 the engine messages of
// engine_wire.h). Besides "no crash, no sanitizer report": the caps of wire_caps.h hold; a
// value that deserializes serializes back to bytes that read as the same value; a refused
// hello, result or KV snapshot part comes with a reason, and a checked report dumps; an engine
// message converts (from_wire) or is refused with a message, and one that converts converts
// back (to_wire) to a message that converts again.
#include <algorithm>
#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <iterator>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "cluster/engine_wire.h"
#include "cluster/wire.h"
#include "cluster/wire_caps.h"
#include "cluster/wire_checks.h"

namespace {

using namespace agentrt::cluster;

// One actor system for every input (the type registry BASP reads message types from), with
// an actor to stand for a request's subscribers (a handle read here never names a live actor:
// it needs BASP's proxy registry), and a node's compiled schemas over a small vocabulary.
struct Holder {
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  caf::actor subscriber;
  std::unique_ptr<SchemaConstraints> schemas;
  Holder() {
    configure_wire(cfg);
    sys = std::make_unique<caf::actor_system>(cfg);
    // With an argument: CAF 0.17 dereferences a null argument tuple for a function actor
    // spawned without any (UBSan: reference binding to null pointer).
    subscriber = sys->spawn([](int) -> caf::behavior { return {[](const WireTokenBatch&) {}}; }, 0);
    schemas = std::make_unique<SchemaConstraints>(
        std::make_shared<const agentrt::grammar::TokenVocabulary>(
            std::vector<std::string>{"{", "}", "\"", "a", ":", "1", "[", "]", ",", "", "true",
                                     "null"},
            std::vector<std::int32_t>{9}));
  }
};
Holder& holder() {
  static Holder* h = new Holder();  // never torn down: libFuzzer exits without unwinding
  return *h;
}
caf::actor_system& wire_system() {
  return *holder().sys;
}

void require(bool ok) {
  if (!ok) std::abort();
}

bool fits(const std::string& s, std::size_t max) {
  return s.size() <= max;
}
bool fits(const std::vector<NamedText>& v) {
  if (v.size() > kMaxWireListItems) return false;
  for (const auto& t : v)
    if (!fits(t.key, kMaxWireShortBytes) || !fits(t.text, kMaxWireTextBytes)) return false;
  return true;
}

// Whether a deserialized value respects the caps (the deserializer must have refused it
// otherwise).
bool within_caps(const NamedText& x) {
  return fits(x.key, kMaxWireShortBytes) && fits(x.text, kMaxWireTextBytes);
}
bool within_caps(const NodeHello& x) {
  return fits(x.name, kMaxWireShortBytes) && fits(x.model, kMaxWireShortBytes) &&
         fits(x.backend, kMaxWireShortBytes) && fits(x.nonce, kMaxWireShortBytes) &&
         fits(x.kv_store, kMaxWireShortBytes);
}
bool within_caps(const Challenge& x) {
  return fits(x.proof, kMaxWireShortBytes) && fits(x.nonce, kMaxWireShortBytes);
}
bool within_caps(const AuthProof& x) {
  return fits(x.proof, kMaxWireShortBytes);
}
bool within_caps(const Welcome&) {
  return true;
}
bool within_caps(const LoadReport&) {
  return true;
}
bool within_caps(const KvEventMsg& x) {
  return x.keys.size() <= kMaxWireListItems;
}
bool within_caps(const KvSnapshotMsg& x) {
  return x.keys.size() <= kMaxWireSnapshotWords && x.pins.size() <= kMaxWireSnapshotWords / 2;
}
bool within_caps(const JobSpec& x) {
  return fits(x.job, kMaxWireShortBytes) && fits(x.workflow_yaml, kMaxWireTextBytes) &&
         fits(x.workflow_file, kMaxWireShortBytes) && fits(x.inputs) && fits(x.resume) &&
         fits(x.kv_store, kMaxWireShortBytes) && fits(x.kv_reuse, kMaxWireShortBytes);
}
bool within_caps(const JobCheckpoint& x) {
  return fits(x.job, kMaxWireShortBytes) && within_caps(x.checkpoint);
}
bool within_caps(const CompletionCall& x) {
  return fits(x.body, kMaxWireTextBytes) && fits(x.model, kMaxWireShortBytes) &&
         fits(x.client, kMaxWireShortBytes) && fits(x.session_header, kMaxWireShortBytes);
}
bool within_caps(const CompletionPart& x) {
  return fits(x.bytes, kMaxWireTextBytes);
}
bool within_caps(const KvShipment& x) {
  return fits(x.session, kMaxWireShortBytes) && fits(x.fingerprint, kMaxWireShortBytes) &&
         x.tokens.size() <= kMaxWireListItems && x.blocks.size() <= kMaxWireListItems;
}
bool within_caps(const KvMoveCall& x) {
  return fits(x.session, kMaxWireShortBytes);
}
bool within_caps(const KvAdoptCall& x) {
  return fits(x.session, kMaxWireShortBytes) && fits(x.store, kMaxWireShortBytes) &&
         x.keys.size() <= kMaxWireListItems;
}
bool within_caps(const WireSampling& x) {
  if (x.stop_token_ids.size() > agentrt::sampling::kMaxStopTokenIds ||
      x.stop_strings.size() > agentrt::sampling::kMaxStopStrings)
    return false;
  for (const auto& s : x.stop_strings)
    if (!fits(s, agentrt::sampling::kMaxStopStringBytes)) return false;
  return fits(x.constraint_schema, kMaxWireSchemaBytes);
}
bool within_caps(const WireGenerate& x) {
  return x.request.prompt.size() <= kMaxWireListItems &&
         x.request.segments.size() <= kMaxWireListItems && within_caps(x.request.params) &&
         x.subscribers.size() <= kMaxWireSubscribers;
}
bool within_caps(const WireResume& x) {
  return x.appended.size() <= kMaxWireListItems && x.segments.size() <= kMaxWireListItems &&
         fits(x.constraint_schema, kMaxWireSchemaBytes);
}
bool within_caps(const WireReply& x) {
  return fits(x.error_message, kMaxWireTextBytes);
}
bool within_caps(const WireTokenBatch& x) {
  if (x.tokens.size() > kMaxWireListItems || x.logprobs.size() > kMaxWireListItems ||
      x.top.size() > kMaxWireListItems || !fits(x.error_message, kMaxWireTextBytes))
    return false;
  for (const auto& t : x.top)
    if (t.alternatives.size() > kMaxWireTopLogprobs) return false;
  return true;
}
bool within_caps(const JobResultMsg& x) {
  return fits(x.job, kMaxWireShortBytes) && fits(x.error_message, kMaxWireTextBytes) &&
         fits(x.report, kMaxWireTextBytes);
}

template <class T>
std::vector<char> bytes_of(T& x) {
  std::vector<char> buf;
  caf::binary_serializer sink{wire_system(), buf};
  require(!sink(x));  // a value that was read can be written
  return buf;
}

// The receiver's checks, as the coordinator applies them.
void receive(const NodeHello& h) {
  auto s = check_hello(h);
  require(s.ok() || !s.error().message.empty());
}
void receive(const JobResultMsg& r) {
  auto checked = check_job_result(r);
  require(checked.status.ok() || !checked.status.error().message.empty());
  (void)checked.report.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}
void receive(const KvSnapshotMsg& m) {
  auto s = check_kv_snapshot(m);
  require(s.ok() || !s.error().message.empty());
  if (s.ok())
    require(m.keys.size() % 2 == 0 && (m.pins.empty() || 2 * m.pins.size() == m.keys.size()));
}
void receive(const KvAdoptCall& m) {
  auto s = check_kv_adopt(m);
  require(s.ok() || !s.error().message.empty());
  if (s.ok()) require(m.keys.size() % 2 == 0 && m.store.front() == '/');
}
// An engine message as a node (or, for replies and batches, the coordinator) converts it:
// refused with a message, or converted; a converted one goes back to the wire and converts
// again.
agentrt::Result<WireGenerate> back_to_wire(const agentrt::actors::GenerateMsg& m) {
  return to_wire(m);
}
agentrt::Result<WireResume> back_to_wire(const agentrt::actors::ResumeMsg& m) {
  return to_wire(m);
}
agentrt::Result<WireReply> back_to_wire(const agentrt::actors::GenerateReply& m) {
  return to_wire(m);
}
agentrt::Result<WireTokenBatch> back_to_wire(const agentrt::actors::TokenBatch& m) {
  return to_wire(m);
}
auto convert(WireGenerate w) {
  return from_wire(std::move(w), *holder().schemas);
}
auto convert(WireResume w) {
  return from_wire(std::move(w), *holder().schemas);
}
auto convert(WireReply w) {
  return from_wire(std::move(w));
}
auto convert(WireTokenBatch w) {
  return from_wire(std::move(w));
}
template <class W>
void converts_back(W w) {
  auto local = convert(std::move(w));
  if (!local.ok()) {
    require(!local.error().message.empty());
    return;
  }
  auto again = back_to_wire(*local);
  require(again.ok());
  require(convert(std::move(*again)).ok());
}
void receive(const WireGenerate& m) {
  // As read, its subscribers are none (or null): always refused.
  auto as_read = convert(m);
  require(!as_read.ok() && !as_read.error().message.empty());
  // With live subscribers, as many as it asks for (when that is within the cap).
  WireGenerate live = m;
  const std::int64_t want = m.samples_after_prefill > 0 ? std::int64_t{m.samples_after_prefill}
                                                        : std::int64_t{m.fork_after_prefill} + 1;
  live.subscribers.assign(
      static_cast<std::size_t>(std::clamp<std::int64_t>(want, 0, kMaxWireSubscribers)),
      holder().subscriber);
  converts_back(std::move(live));
}
void receive(const WireResume& m) {
  converts_back(m);
}
void receive(const WireReply& m) {
  converts_back(m);
}
void receive(const WireTokenBatch& m) {
  converts_back(m);
}
template <class T>
void receive(const T&) {}

// One wire type read from `bytes`: caps, round trip, the receiver's checks.
template <class T>
void read_as(const char* bytes, std::size_t size) {
  T x;
  caf::binary_deserializer source{wire_system(), bytes, size};
  if (source(x)) return;  // refused: a short input, or a length over a cap
  require(within_caps(x));
  auto once = bytes_of(x);
  T y;
  caf::binary_deserializer again{wire_system(), once};
  require(!again(y));
  require(bytes_of(y) == once);
  receive(x);
}

// A whole message, dispatched on its atom and type like the coordinator's behavior.
template <class T>
bool dispatch_as(const caf::message& msg, caf::atom_value atom) {
  if (!msg.match_elements<caf::atom_value, T>() || msg.get_as<caf::atom_value>(0) != atom)
    return false;
  const T& x = msg.get_as<T>(1);
  require(within_caps(x));
  receive(x);
  return true;
}

void read_message(const char* bytes, std::size_t size) {
  caf::message msg;
  caf::binary_deserializer source{wire_system(), bytes, size};
  try {
    if (source(msg)) return;
  } catch (const std::runtime_error& e) {
    // Known, not ours: CAF 0.17 throws "invalid type found" reading a caf::config_value (a
    // built-in message type) whose variant index a peer set out of range (seed
    // crash_config_value). BASP reads payloads the same way, so a peer that reaches the
    // cluster port can end the process with it: docs/cluster.md "Limits" (loopback, or TLS).
    if (std::string_view(e.what()) == "invalid type found") return;
    throw;
  }
  const bool ours = (dispatch_as<NodeHello>(msg, hello_atom::value) ||
                     dispatch_as<AuthProof>(msg, auth_atom::value) ||
                     dispatch_as<LoadReport>(msg, heartbeat_atom::value) ||
                     dispatch_as<KvEventMsg>(msg, kv_event_atom::value) ||
                     dispatch_as<KvSnapshotMsg>(msg, kv_snapshot_atom::value) ||
                     dispatch_as<JobCheckpoint>(msg, checkpoint_atom::value) ||
                     dispatch_as<JobResultMsg>(msg, job_done_atom::value) ||
                     dispatch_as<JobSpec>(msg, run_job_atom::value) ||
                     dispatch_as<CompletionCall>(msg, complete_atom::value) ||
                     dispatch_as<CompletionPart>(msg, completion_part_atom::value) ||
                     dispatch_as<KvShipment>(msg, kv_ship_atom::value) ||
                     dispatch_as<KvMoveCall>(msg, kv_move_atom::value) ||
                     dispatch_as<KvAdoptCall>(msg, kv_adopt_atom::value));
  // Error paths may print a message the actors handle. Any other message the coordinator and
  // node actors drop unprinted (caf::drop): CAF 0.17 crashes stringifying a caf::duration
  // with an out-of-range unit, which a peer can send (seed crash_duration_unit).
  if (ours) (void)caf::to_string(msg);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const char* bytes = reinterpret_cast<const char*>(data) + 1;
  const std::size_t n = size - 1;
  using Reader = void (*)(const char*, std::size_t);
  static constexpr Reader kReaders[] = {
      read_message,
      read_as<NamedText>,
      read_as<NodeHello>,
      read_as<Challenge>,
      read_as<AuthProof>,
      read_as<Welcome>,
      read_as<LoadReport>,
      read_as<KvEventMsg>,
      read_as<JobSpec>,
      read_as<JobCheckpoint>,
      read_as<JobResultMsg>,
      read_as<CompletionCall>,
      read_as<CompletionPart>,
      read_as<KvShipment>,
      read_as<KvMoveCall>,
      read_as<KvSnapshotMsg>,
      read_as<KvAdoptCall>,
      read_as<WireGenerate>,
      read_as<WireResume>,
      read_as<WireReply>,
      read_as<WireTokenBatch>,
  };
  kReaders[data[0] % std::size(kReaders)](bytes, n);
  return 0;
}
