// json_fields.h: checked field reads for config.json-like objects.
#include "engine/model/json_fields.h"

#include <cmath>
#include <limits>

#include "engine/model/strict_json.h"

namespace agentrt::model {

std::optional<int> json_to_int(const nlohmann::json& value) {
  constexpr double kMin = std::numeric_limits<int>::min();
  constexpr double kMax = std::numeric_limits<int>::max();
  if (value.is_number_unsigned()) {
    const auto v = value.get<std::uint64_t>();
    if (v > static_cast<std::uint64_t>(kMax)) return std::nullopt;
    return static_cast<int>(v);
  }
  if (value.is_number_integer()) {
    const auto v = value.get<std::int64_t>();
    if (v < kMin || v > kMax) return std::nullopt;
    return static_cast<int>(v);
  }
  if (value.is_number_float()) {
    const double v = value.get<double>();
    if (!std::isfinite(v) || v != std::floor(v) || v < kMin || v > kMax) return std::nullopt;
    return static_cast<int>(v);
  }
  return std::nullopt;
}

JsonFields::JsonFields(const nlohmann::json& object, std::string file, std::string pointer)
    : object_(&object), file_(std::move(file)), pointer_(std::move(pointer)) {}

const nlohmann::json* JsonFields::find(std::string_view key) const {
  if (!object_->is_object()) return nullptr;
  const auto it = object_->find(key);
  if (it == object_->end() || it->is_null()) return nullptr;
  return &*it;
}

std::string JsonFields::pointer(std::string_view key) const {
  return pointer_ + "/" + json_pointer_token(key);
}

Error JsonFields::error(ErrorCode code, std::string_view key, const std::string& message) const {
  return make_error(code, file_ + ": " + pointer(key) + ": " + message);
}

Error JsonFields::error(ErrorCode code, std::string_view key, std::size_t index,
                        const std::string& message) const {
  return make_error(code,
                    file_ + ": " + pointer(key) + "/" + std::to_string(index) + ": " + message);
}

Result<std::optional<int>> JsonFields::optional_int(std::string_view key) const {
  const nlohmann::json* value = find(key);
  if (value == nullptr) return std::optional<int>();
  const std::optional<int> v = json_to_int(*value);
  if (!v) return error(ErrorCode::parse, key, "expected an integer");
  return v;
}

Result<int> JsonFields::required_positive_int(std::string_view key) const {
  auto v = optional_int(key);
  AGENTRT_TRY(v);
  if (!v->has_value()) return error(ErrorCode::parse, key, "missing (a positive integer)");
  if (**v <= 0) {
    return error(ErrorCode::parse, key, "must be positive, got " + std::to_string(**v));
  }
  return **v;
}

Result<int> JsonFields::positive_int_or(std::string_view key, int fallback) const {
  if (find(key) == nullptr) return fallback;
  return required_positive_int(key);
}

Result<double> JsonFields::number_or(std::string_view key, double fallback) const {
  const nlohmann::json* value = find(key);
  if (value == nullptr) return fallback;
  if (!value->is_number()) return error(ErrorCode::parse, key, "expected a number");
  const double v = value->get<double>();
  if (!std::isfinite(v)) return error(ErrorCode::parse, key, "expected a finite number");
  return v;
}

Result<double> JsonFields::positive_number_or(std::string_view key, double fallback) const {
  auto v = number_or(key, fallback);
  AGENTRT_TRY(v);
  if (*v <= 0) return error(ErrorCode::parse, key, "must be positive");
  return v;
}

Result<bool> JsonFields::bool_or(std::string_view key, bool fallback) const {
  const nlohmann::json* value = find(key);
  if (value == nullptr) return fallback;
  if (!value->is_boolean()) return error(ErrorCode::parse, key, "expected true or false");
  return value->get<bool>();
}

Result<std::optional<std::string>> JsonFields::optional_string(std::string_view key) const {
  const nlohmann::json* value = find(key);
  if (value == nullptr) return std::optional<std::string>();
  if (!value->is_string()) return error(ErrorCode::parse, key, "expected a string");
  return std::optional<std::string>(value->get<std::string>());
}

Result<std::optional<JsonFields>> JsonFields::optional_object(std::string_view key) const {
  const nlohmann::json* value = find(key);
  if (value == nullptr) return std::optional<JsonFields>();
  if (!value->is_object()) return error(ErrorCode::parse, key, "expected an object");
  return std::optional<JsonFields>(JsonFields(*value, file_, pointer(key)));
}

}  // namespace agentrt::model
