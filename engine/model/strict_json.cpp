// strict_json.h: nlohmann parsing with duplicate-key detection through the parser callback.
#include "engine/model/strict_json.h"

#include <optional>
#include <set>
#include <vector>

#include "engine/common/file_read.h"
#include "engine/common/json_depth.h"

namespace agentrt::model {
namespace {

using nlohmann::json;

// One open object or array while parsing; enough to name the pointer of a duplicate key.
struct Frame {
  bool is_array = false;
  std::size_t index = 0;
  std::string key;
  std::set<std::string, std::less<>> keys;
};

std::string frames_pointer(const std::vector<Frame>& frames) {
  std::string pointer;
  for (std::size_t i = 0; i + 1 < frames.size(); ++i) {
    pointer += '/';
    pointer +=
        frames[i].is_array ? std::to_string(frames[i].index) : json_pointer_token(frames[i].key);
  }
  return pointer;
}

class DuplicateKeyWatcher {
 public:
  bool on_event(json::parse_event_t event, const json& parsed) {
    switch (event) {
      case json::parse_event_t::object_start:
        frames_.push_back(Frame{});
        break;
      case json::parse_event_t::array_start:
        frames_.push_back(Frame{true, 0, {}, {}});
        break;
      case json::parse_event_t::key:
        on_key(parsed);
        break;
      case json::parse_event_t::object_end:
      case json::parse_event_t::array_end:
        if (!frames_.empty()) frames_.pop_back();
        next_element();
        break;
      case json::parse_event_t::value:
        next_element();
        break;
    }
    return true;
  }
  const std::optional<std::string>& duplicate() const { return duplicate_; }

 private:
  void on_key(const json& parsed) {
    if (frames_.empty() || !parsed.is_string()) return;
    Frame& frame = frames_.back();
    frame.key = parsed.get<std::string>();
    if (!frame.keys.insert(frame.key).second && !duplicate_) {
      duplicate_ = frames_pointer(frames_) + "/" + json_pointer_token(frame.key) +
                   ": duplicate key '" + frame.key + "'";
    }
  }
  void next_element() {
    if (!frames_.empty() && frames_.back().is_array) ++frames_.back().index;
  }

  std::vector<Frame> frames_;
  std::optional<std::string> duplicate_;
};

}  // namespace

Result<nlohmann::json> parse_strict_json(std::string_view text, std::string_view file_name) {
  AGENTRT_TRY(check_json_depth(text, file_name));  // copies of parsed values recurse
  DuplicateKeyWatcher watcher;
  json::parser_callback_t callback = [&watcher](int /*depth*/, json::parse_event_t event,
                                                json& parsed) {
    return watcher.on_event(event, parsed);
  };
  json value;
  try {
    value = json::parse(text.begin(), text.end(), callback);
  } catch (const json::exception& e) {
    return make_error(ErrorCode::parse,
                      std::string(file_name) + ": invalid JSON: " + std::string(e.what()));
  }
  if (watcher.duplicate()) {
    return make_error(ErrorCode::parse, std::string(file_name) + ": " + *watcher.duplicate());
  }
  return value;
}

Result<nlohmann::json> read_strict_json_file(const std::filesystem::path& path,
                                             std::string_view file_name) {
  // Bounded: a FIFO, device or huge file named config.json must not block or exhaust memory.
  auto text = read_file_bounded(path, kMaxConfigFileBytes);
  if (!text.ok()) return text.error();
  return parse_strict_json(*text, file_name);
}

}  // namespace agentrt::model
