#include "engine/host_anchor_pool.h"

namespace agentrt {

HostAnchorPool::HostAnchorPool(Backend& backend, int probe_layer, int num_layers,
                               const kv::AnchorOptions& options)
    : backend_(backend),
      probe_layer_(probe_layer),
      anchors_(num_layers - probe_layer, backend.token_offset_floats(1), options) {}

Status HostAnchorPool::read(const SegmentPlacement& p, std::vector<float>& offsets,
                            std::vector<float>& first) {
  const int span = anchors_.layers();
  const std::size_t n = p.kv.size() / backend_.token_kv_bytes();
  offsets.assign(n * backend_.token_offset_floats(span), 0.0f);
  first.assign(offsets.size(), 0.0f);
  return backend_.token_kv_offsets(p.block_table, p.begin, p.kv, p.source_begin, probe_layer_,
                                   probe_layer_ + span, offsets, first);
}

Result<kv::AnchorPrediction> HostAnchorPool::predict(const SegmentPlacement& p) {
  std::vector<float> offsets, first;
  AGENTRT_TRY(read(p, offsets, first));
  const int span = anchors_.layers();
  std::vector<float> predicted(offsets.size() / static_cast<std::size_t>(span) *
                               static_cast<std::size_t>(span - 1));
  const auto what = anchors_.predict(first, offsets, predicted);
  if (what == kv::AnchorPrediction::predicted) {
    AGENTRT_TRY(backend_.add_token_kv_offsets(p.block_table, p.begin, probe_layer_ + 1,
                                              probe_layer_ + span, predicted));
  }
  return what;
}

Status HostAnchorPool::record(const SegmentPlacement& p) {
  std::vector<float> offsets, first;
  AGENTRT_TRY(read(p, offsets, first));
  anchors_.record(first, offsets);
  return ok_status();
}

}  // namespace agentrt
