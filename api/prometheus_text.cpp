// PrometheusText and Histogram: the text exposition format 0.0.4 (prometheus.io, "Exposition
// formats").
#include "api/prometheus_text.h"

#include <algorithm>
#include <charconv>
#include <cmath>

namespace agentrt::api {

Histogram::Histogram(std::span<const double> bounds)
    : bounds_(bounds), counts_(bounds.size() + 1, 0) {}

void Histogram::observe(double v) {
  if (std::isnan(v)) return;
  // Upper bounds are inclusive: v lands in the first bucket whose bound is >= v.
  const auto it = std::lower_bound(bounds_.begin(), bounds_.end(), v);
  ++counts_[static_cast<std::size_t>(it - bounds_.begin())];
  ++count_;
  sum_ += v;
}

std::uint64_t Histogram::cumulative(std::size_t i) const {
  std::uint64_t n = 0;
  for (std::size_t j = 0; j <= i && j < counts_.size(); ++j)
    n += counts_[j];
  return n;
}

namespace {

std::string escape(std::string_view v, bool quotes) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '"' && quotes) {
      out += "\\\"";
    } else {
      out += c;
    }
  }
  return out;
}

const char* type_name(MetricType t) {
  switch (t) {
    case MetricType::counter:
      return "counter";
    case MetricType::gauge:
      return "gauge";
    case MetricType::histogram:
      return "histogram";
  }
  return "untyped";
}

}  // namespace

std::string escape_label_value(std::string_view v) {
  return escape(v, true);
}
std::string escape_help(std::string_view v) {
  return escape(v, false);
}

std::string format_metric_value(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  // Exact integers (the usual counter) print without a fraction or exponent.
  if (v == std::trunc(v) && std::fabs(v) < 9007199254740992.0)
    return std::to_string(static_cast<std::int64_t>(v));
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return ec == std::errc() ? std::string(buf, end) : "NaN";
}

std::string format_le(double bound) {
  std::string s = format_metric_value(bound);
  if (s.find_first_of(".eEIN") == std::string::npos) s += ".0";
  return s;
}

void PrometheusText::family(std::string_view name, MetricType type, std::string_view help) {
  out_ += "# HELP ";
  out_ += name;
  out_ += ' ';
  out_ += escape_help(help);
  out_ += "\n# TYPE ";
  out_ += name;
  out_ += ' ';
  out_ += type_name(type);
  out_ += '\n';
}

void PrometheusText::series(std::string_view name, const MetricLabels& labels,
                            const std::string* le) {
  out_ += name;
  if (labels.empty() && le == nullptr) return;
  char sep = '{';
  for (const auto& [k, v] : labels) {
    out_ += sep;
    out_ += k;
    out_ += "=\"";
    out_ += escape_label_value(v);
    out_ += '"';
    sep = ',';
  }
  if (le != nullptr) {
    out_ += sep;
    out_ += "le=\"";
    out_ += *le;
    out_ += '"';
  }
  out_ += '}';
}

void PrometheusText::sample(std::string_view name, const MetricLabels& labels, double value) {
  series(name, labels, nullptr);
  out_ += ' ';
  out_ += format_metric_value(value);
  out_ += '\n';
}

void PrometheusText::sample(std::string_view name, const MetricLabels& labels, std::int64_t value) {
  series(name, labels, nullptr);
  out_ += ' ';
  out_ += std::to_string(value);
  out_ += '\n';
}

void PrometheusText::histogram(std::string_view name, const MetricLabels& labels,
                               const Histogram& h) {
  const std::string bucket = std::string(name) + "_bucket";
  const auto bounds = h.bounds();
  for (std::size_t i = 0; i <= bounds.size(); ++i) {
    const std::string le = i < bounds.size() ? format_le(bounds[i]) : "+Inf";
    series(bucket, labels, &le);
    out_ += ' ';
    out_ += std::to_string(h.cumulative(i));
    out_ += '\n';
  }
  sample(std::string(name) + "_sum", labels, h.sum());
  sample(std::string(name) + "_count", labels, static_cast<std::int64_t>(h.count()));
}

}  // namespace agentrt::api
