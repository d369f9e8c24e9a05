#include "storage/json_record.h"

#include "storage/record_frame.h"

namespace agentrt::storage {

std::string encode_json_record(std::string_view key, const nlohmann::json& doc) {
  return frame_record(key, doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

Result<nlohmann::json> decode_json_record(std::string_view key, std::string_view value) {
  auto payload = unframe_record(key, value);
  if (!payload.ok()) return payload.error();
  auto doc = nlohmann::json::parse(*payload, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return make_error(ErrorCode::corrupt, "does not parse as JSON");
  return doc;
}

}  // namespace agentrt::storage
