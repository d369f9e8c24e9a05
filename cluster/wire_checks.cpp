// Checks of received wire messages (wire_checks.h).
#include "cluster/wire_checks.h"

#include "engine/common/json_depth.h"

namespace agentrt::cluster {

Status check_hello(const NodeHello& hello) {
  if (hello.protocol != kProtocolVersion)
    return make_error(ErrorCode::invalid_argument, "protocol " + std::to_string(hello.protocol) +
                                                       ", this coordinator speaks " +
                                                       std::to_string(kProtocolVersion));
  if (hello.nonce.size() < 32)
    return make_error(ErrorCode::invalid_argument, "a nonce shorter than 16 bytes");
  if (!hello.kv_store.empty() && hello.kv_store.front() != '/')
    return make_error(ErrorCode::invalid_argument, "a KV store path that is not absolute");
  return ok_status();
}

Status check_kv_adopt(const KvAdoptCall& m) {
  auto refuse = [](const std::string& why) {
    return make_error(ErrorCode::invalid_argument, "KV adopt call: " + why);
  };
  if (m.store.empty() || m.store.front() != '/') return refuse("a store path that is not absolute");
  if (m.keys.size() % 2 != 0) return refuse("an odd number of key words");
  if (m.keys.size() / 2 > kMaxAdoptBlocks)
    return refuse(std::to_string(m.keys.size() / 2) + " keys, at most " +
                  std::to_string(kMaxAdoptBlocks));
  return ok_status();
}

Status check_kv_snapshot(const KvSnapshotMsg& m) {
  auto refuse = [](const std::string& why) {
    return make_error(ErrorCode::invalid_argument, "KV snapshot part: " + why);
  };
  if (m.part < 0) return refuse("part " + std::to_string(m.part));
  if (m.tier < 0 || m.tier > 2) return refuse("tier " + std::to_string(m.tier));
  if (m.keys.size() % 2 != 0) return refuse("an odd number of key words");
  if (!m.pins.empty() && m.pins.size() != m.keys.size() / 2)
    return refuse(std::to_string(m.pins.size()) + " pin counts for " +
                  std::to_string(m.keys.size() / 2) + " keys");
  for (std::int32_t p : m.pins)
    if (p < 0 || p > kMaxWireSnapshotPins) return refuse("a pin count of " + std::to_string(p));
  return ok_status();
}

CheckedJobResult check_job_result(const JobResultMsg& r) {
  CheckedJobResult out;
  constexpr auto kLastCode = static_cast<std::int32_t>(ErrorCode::internal);
  if (r.error_code > kLastCode || r.error_code < -1)
    out.status =
        make_error(ErrorCode::internal, "the node sent an unknown error code " +
                                            std::to_string(r.error_code) + ": " + r.error_message);
  else if (r.error_code >= 0)
    out.status = make_error(
        static_cast<ErrorCode>(r.error_code),
        r.error_message.empty() ? "the node reported an error without a message" : r.error_message);
  if (auto deep = check_json_depth(r.report, "the node's report"); !deep.ok()) {
    if (out.status.ok()) out.status = make_error(ErrorCode::corrupt, deep.error().message);
    return out;
  }
  out.report = nlohmann::json::parse(r.report, nullptr, false);
  if (out.report.is_discarded()) {
    out.report = nullptr;
    if (out.status.ok())
      out.status = make_error(ErrorCode::corrupt, "the node's report is not JSON");
  }
  return out;
}

}  // namespace agentrt::cluster
