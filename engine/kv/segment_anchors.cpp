#include "engine/kv/segment_anchors.h"

#include <cblas.h>

#include <algorithm>
#include <limits>
#include <numeric>

namespace agentrt::kv {

namespace {

float squared_norm(const float* x, std::size_t n) {
  return std::inner_product(x, x + n, x, 0.0f);
}

}  // namespace

SegmentAnchors::SegmentAnchors(int layers, std::size_t dim, const AnchorOptions& options)
    : book_(layers, dim, options),
      first_(static_cast<std::size_t>(layers)),
      offsets_(static_cast<std::size_t>(layers)),
      first_norms_(static_cast<std::size_t>(layers)),
      offset_norms_(static_cast<std::size_t>(layers)) {}

void SegmentAnchors::distances(const float* x, std::size_t n, std::size_t ld, int l, bool probe,
                               std::vector<float>& d) const {
  const auto layer = static_cast<std::size_t>(l);
  const std::vector<float>& y = probe ? offsets_[0] : first_[layer];
  const std::vector<float>& y_norms = probe ? offset_norms_[0] : first_norms_[layer];
  const std::size_t m = y_norms.size();
  d.resize(n * m);
  const auto k = static_cast<int>(book_.dim());
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(n), static_cast<int>(m), k,
              -2.0f, x, static_cast<int>(ld), y.data(), k, 0.0f, d.data(), static_cast<int>(m));
  const std::size_t dim = book_.dim();
  for (std::size_t i = 0; i < n; ++i) {
    const float xn = squared_norm(x + i * ld, dim);
    float* row = d.data() + i * m;
    for (std::size_t j = 0; j < m; ++j)
      row[j] = std::max(0.0f, row[j] + xn + y_norms[j]);
  }
}

double SegmentAnchors::novelty_of(const std::vector<float>& d, const float* probe, std::size_t n,
                                  std::size_t ld) const {
  const std::size_t m = d.size() / n;
  double nearest = 0.0, size = 0.0;
  for (std::size_t i = 0; i < n; ++i) {
    nearest += *std::min_element(d.begin() + static_cast<std::ptrdiff_t>(i * m),
                                 d.begin() + static_cast<std::ptrdiff_t>((i + 1) * m));
    size += squared_norm(probe + i * ld, book_.dim());
  }
  return size > 0.0 ? nearest / size : 0.0;
}

double SegmentAnchors::novelty(std::span<const float> probe) const {
  const std::size_t n = probe.size() / book_.dim();
  if (n == 0) return 0.0;
  if (book_.stats().anchors == 0) return std::numeric_limits<double>::infinity();
  std::vector<float> d;
  distances(probe.data(), n, book_.dim(), 0, true, d);
  return novelty_of(d, probe.data(), n, book_.dim());
}

void SegmentAnchors::record(std::span<const float> first, std::span<const float> offsets) {
  const std::size_t dim = book_.dim();
  const std::size_t stride = static_cast<std::size_t>(book_.layers()) * dim;
  const std::size_t n = first.size() / stride;
  if (n == 0 || offsets.size() != first.size() || !book_.fits(n)) return;
  if (const std::size_t old = book_.evict_for(n); old > 0) {
    const auto rows = static_cast<std::ptrdiff_t>(old);
    const auto floats = rows * static_cast<std::ptrdiff_t>(dim);
    for (std::size_t l = 0; l < first_.size(); ++l) {
      first_[l].erase(first_[l].begin(), first_[l].begin() + floats);
      offsets_[l].erase(offsets_[l].begin(), offsets_[l].begin() + floats);
      first_norms_[l].erase(first_norms_[l].begin(), first_norms_[l].begin() + rows);
      offset_norms_[l].erase(offset_norms_[l].begin(), offset_norms_[l].begin() + rows);
    }
  }
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t l = 0; l < first_.size(); ++l) {
      const float* f = first.data() + i * stride + l * dim;
      const float* o = offsets.data() + i * stride + l * dim;
      first_[l].insert(first_[l].end(), f, f + dim);
      offsets_[l].insert(offsets_[l].end(), o, o + dim);
      first_norms_[l].push_back(squared_norm(f, dim));
      offset_norms_[l].push_back(squared_norm(o, dim));
    }
  }
  book_.added(n);
}

AnchorPrediction SegmentAnchors::predict(std::span<const float> first,
                                         std::span<const float> probe_offsets,
                                         std::span<float> out) {
  const int layers = book_.layers();
  const std::size_t dim = book_.dim();
  const std::size_t stride = static_cast<std::size_t>(layers) * dim;
  const std::size_t n = first.size() / stride;
  if (const auto early = book_.before_probe(n)) return *early;
  // The probe term, which is also the novelty's.
  std::vector<float> probe_d;
  distances(probe_offsets.data(), n, stride, 0, true, probe_d);
  const auto what = book_.after_probe(novelty_of(probe_d, probe_offsets.data(), n, stride), n);
  if (what != AnchorPrediction::predicted) return what;
  std::fill(out.begin(), out.end(), 0.0f);
  const std::size_t m = probe_d.size() / n;
  const std::size_t k =
      std::min<std::size_t>(static_cast<std::size_t>(book_.options().neighbours), m);
  const std::size_t out_stride = static_cast<std::size_t>(layers - 1) * dim;
  const float w = 1.0f / static_cast<float>(k);
  std::vector<float> d;
  std::vector<float> best(k);
  std::vector<std::size_t> best_id(k);
  for (int l = 1; l < layers; ++l) {
    distances(first.data() + static_cast<std::size_t>(l) * dim, n, stride, l, false, d);
    const float* offsets = offsets_[static_cast<std::size_t>(l)].data();
    for (std::size_t i = 0; i < n; ++i) {
      // The k nearest: the first k, then each closer one replaces the farthest kept.
      const float* row = d.data() + i * m;
      const float* prow = probe_d.data() + i * m;
      std::size_t worst = 0;
      for (std::size_t j = 0; j < m; ++j) {
        const float dist = row[j] + prow[j];
        if (j < k) {
          best[j] = dist, best_id[j] = j;
          if (j + 1 == k)
            worst =
                static_cast<std::size_t>(std::max_element(best.begin(), best.end()) - best.begin());
        } else if (dist < best[worst]) {
          best[worst] = dist, best_id[worst] = j;
          worst =
              static_cast<std::size_t>(std::max_element(best.begin(), best.end()) - best.begin());
        }
      }
      float* o = out.data() + i * out_stride + static_cast<std::size_t>(l - 1) * dim;
      for (std::size_t q = 0; q < k; ++q) {
        const float* y = offsets + best_id[q] * dim;
        for (std::size_t e = 0; e < dim; ++e)
          o[e] += w * y[e];
      }
    }
  }
  return AnchorPrediction::predicted;
}

}  // namespace agentrt::kv
