// Registration of the wire types (wire.h) on an actor system config.
#include "cluster/wire.h"

#include <caf/io/middleman.hpp>

#include "cluster/engine_wire.h"

namespace agentrt::cluster {

void configure_wire(caf::actor_system_config& cfg) {
  cfg.load<caf::io::middleman>();
  cfg.add_message_type<NamedText>("agentrt_NamedText");
  cfg.add_message_type<NodeHello>("agentrt_NodeHello");
  cfg.add_message_type<Challenge>("agentrt_Challenge");
  cfg.add_message_type<AuthProof>("agentrt_AuthProof");
  cfg.add_message_type<Welcome>("agentrt_Welcome");
  cfg.add_message_type<LoadReport>("agentrt_LoadReport");
  cfg.add_message_type<KvEventMsg>("agentrt_KvEventMsg");
  cfg.add_message_type<KvSnapshotMsg>("agentrt_KvSnapshotMsg");
  cfg.add_message_type<JobSpec>("agentrt_JobSpec");
  cfg.add_message_type<JobCheckpoint>("agentrt_JobCheckpoint");
  cfg.add_message_type<JobResultMsg>("agentrt_JobResultMsg");
  cfg.add_message_type<CompletionCall>("agentrt_CompletionCall");
  cfg.add_message_type<CompletionPart>("agentrt_CompletionPart");
  cfg.add_message_type<KvShipment>("agentrt_KvShipment");
  cfg.add_message_type<KvMoveCall>("agentrt_KvMoveCall");
  cfg.add_message_type<KvAdoptCall>("agentrt_KvAdoptCall");
  cfg.add_message_type<std::vector<std::uint64_t>>("agentrt_u64_vector");
  configure_engine_wire(cfg);
}

}  // namespace agentrt::cluster
