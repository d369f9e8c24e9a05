// JsonFields: typed, checked reads of one JSON object's fields, with errors that name the
// file and the field's JSON pointer ("config.json: /rope_scaling/factor: expected a number").
// A field that is absent or null counts as absent everywhere.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "engine/common/result.h"

namespace agentrt::model {

class JsonFields {
 public:
  // `object` must outlive this reader and be a JSON object.
  JsonFields(const nlohmann::json& object, std::string file, std::string pointer = "");

  // nullptr when the field is absent or null.
  const nlohmann::json* find(std::string_view key) const;
  std::string pointer(std::string_view key) const;  // "/rope_scaling/factor"
  Error error(ErrorCode code, std::string_view key, const std::string& message) const;
  // The same for element `index` of the list at key ("/layer_types/3").
  Error error(ErrorCode code, std::string_view key, std::size_t index,
              const std::string& message) const;

  // An integer in int range (an integral float is accepted); nullopt when absent.
  Result<std::optional<int>> optional_int(std::string_view key) const;
  Result<int> required_positive_int(std::string_view key) const;
  Result<int> positive_int_or(std::string_view key, int fallback) const;
  Result<double> number_or(std::string_view key, double fallback) const;
  Result<double> positive_number_or(std::string_view key, double fallback) const;
  Result<bool> bool_or(std::string_view key, bool fallback) const;
  Result<std::optional<std::string>> optional_string(std::string_view key) const;
  // The nested object at key; nullopt when absent; an error when not an object.
  Result<std::optional<JsonFields>> optional_object(std::string_view key) const;

 private:
  const nlohmann::json* object_;
  std::string file_;
  std::string pointer_;
};

// The JSON value as an int when it is an integer (or integral float) within int range.
std::optional<int> json_to_int(const nlohmann::json& value);

}  // namespace agentrt::model
