// PrometheusText: writes metric families in the Prometheus text exposition format 0.0.4:
// HELP and TYPE lines, label values escaped, histograms as cumulative _bucket{le} series
// ending in le="+Inf", then _sum and _count. Histogram: the counts behind one histogram
// series. Neither is thread-safe (ServerMetrics guards its histograms).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace agentrt::api {

using MetricLabels = std::vector<std::pair<std::string, std::string>>;

enum class MetricType { counter, gauge, histogram };

class Histogram {
 public:
  // `bounds`: ascending upper bounds (inclusive), without +Inf; must outlive the histogram.
  explicit Histogram(std::span<const double> bounds);
  void observe(double v);
  std::span<const double> bounds() const { return bounds_; }
  // Observations <= bounds()[i]; i == bounds().size() is +Inf (== count()).
  std::uint64_t cumulative(std::size_t i) const;
  std::uint64_t count() const { return count_; }
  double sum() const { return sum_; }

 private:
  std::span<const double> bounds_;
  std::vector<std::uint64_t> counts_;  // per bucket, the last one past every bound
  std::uint64_t count_ = 0;
  double sum_ = 0;
};

class PrometheusText {
 public:
  // "# HELP name help" and "# TYPE name type". Call once per family, before its samples.
  void family(std::string_view name, MetricType type, std::string_view help);
  // "name{k="v",...} value" (no braces without labels).
  void sample(std::string_view name, const MetricLabels& labels, double value);
  void sample(std::string_view name, const MetricLabels& labels, std::int64_t value);
  // name_bucket{labels,le="b"} for each bound and "+Inf", name_sum, name_count.
  void histogram(std::string_view name, const MetricLabels& labels, const Histogram& h);
  const std::string& text() const { return out_; }

 private:
  void series(std::string_view name, const MetricLabels& labels, const std::string* le);
  std::string out_;
};

// Label value escaping: \ -> \\, " -> \", newline -> \n.
std::string escape_label_value(std::string_view v);
// HELP text escaping: \ -> \\, newline -> \n.
std::string escape_help(std::string_view v);
// A sample value: integers without a fraction ("3"), else the shortest exact form ("0.25"),
// "+Inf", "-Inf", "NaN".
std::string format_metric_value(double v);

// A bucket bound as the le label, as Prometheus' clients write it: "0.005", "1.0", "2560.0".
std::string format_le(double bound);

}  // namespace agentrt::api
