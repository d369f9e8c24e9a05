#include "engine/grammar/matcher.h"

#include <cstring>

namespace agentrt::grammar {
namespace {

// Frame phases; 0 is every kind's start (before the value's first byte).
enum : std::uint8_t {
  kStart = 0,
  // object
  kObjFirst,    // after '{'
  kObjKey,      // inside a declared key
  kObjFreeKey,  // a string child holds the key
  kObjColon,
  kObjValue,  // a child holds the value
  kObjAfter,  // after a value: ',' or '}'
  kObjComma,  // after ',': '"'
  // array
  kArrFirst,  // after '['
  kArrItem,   // a child holds the item
  kArrAfter,
  // string
  kStrBody,
  kStrEscape,
  kStrHex,
  kStrUtf8,
  // number
  kNumMinus,
  kNumZero,
  kNumInt,
  kNumDot,
  kNumFrac,
  kNumE,
  kNumESign,
  kNumExp,
  // literal
  kLit,
};

// The key of an object with free keys: any string, matched by a string frame.
const Node kKeyNode = [] {
  Node n;
  n.kind = NodeKind::string;
  return n;
}();

constexpr std::uint32_t kMaxIntDigits = 18;  // fits an int64 (and a double exactly)
constexpr std::uint32_t kMaxFracDigits = 18;
constexpr std::uint32_t kMaxExpDigits = 2;  // |exponent| < 100: finite doubles

bool is_digit(std::uint8_t b) {
  return b >= '0' && b <= '9';
}
bool is_hex(std::uint8_t b) {
  return is_digit(b) || (b >= 'a' && b <= 'f') || (b >= 'A' && b <= 'F');
}

std::uint64_t all_properties(const Node& n) {
  const std::size_t k = n.properties.size();
  return k >= 64 ? ~0ull : (1ull << k) - 1;
}

// One byte of a string's text outside escapes: returns false on a byte a JSON string
// cannot hold here. aux/lo/hi carry an open UTF-8 sequence.
bool utf8_step(std::uint8_t b, std::uint8_t& aux, std::uint32_t& lo, std::uint32_t& hi) {
  if (aux > 0) {
    if (b < lo || b > hi) return false;
    --aux;
    lo = 0x80;
    hi = 0xbf;
    return true;
  }
  if (b < 0x80) return true;
  lo = 0x80;
  hi = 0xbf;
  if (b >= 0xc2 && b <= 0xdf) {
    aux = 1;
  } else if (b == 0xe0) {
    aux = 2;
    lo = 0xa0;
  } else if (b == 0xed) {
    aux = 2;
    hi = 0x9f;
  } else if (b >= 0xe1 && b <= 0xef) {
    aux = 2;
  } else if (b == 0xf0) {
    aux = 3;
    lo = 0x90;
  } else if (b >= 0xf1 && b <= 0xf3) {
    aux = 3;
  } else if (b == 0xf4) {
    aux = 3;
    hi = 0x8f;
  } else {
    return false;
  }
  return true;
}

}  // namespace

MatchState::MatchState(const SchemaGrammar& grammar) {
  push(grammar.root());
}

void MatchState::copy_from(const MatchState& other) {
  size_ = other.size_;
  std::memcpy(static_cast<void*>(frames_.data()), other.frames_.data(), size_ * sizeof(Frame));
}

bool MatchState::push(const Node* node, std::uint8_t phase) {
  if (size_ >= kMaxFrames) return false;
  Frame& f = frames_[size_++];
  f = Frame{};
  f.node = node;
  f.phase = phase;
  return true;
}

void MatchState::child_closed() {
  if (size_ == 0) return;
  Frame& p = frames_[size_ - 1];
  if (p.phase == kObjValue) {
    p.phase = kObjAfter;
  } else if (p.phase == kObjFreeKey) {
    p.phase = kObjColon;
  } else if (p.phase == kArrItem) {
    p.phase = kArrAfter;
    ++p.a;
  }
}

bool MatchState::advance(std::uint8_t byte) {
  while (size_ > 0) {
    switch (step(byte)) {
      case Step::consumed:
        return true;
      case Step::rejected:
        return false;
      case Step::closed:
        --size_;
        child_closed();
        return true;
      case Step::closed_refeed:
        --size_;
        child_closed();
        break;
      case Step::refeed:
        break;
    }
  }
  return false;  // the value is complete: nothing may follow
}

bool MatchState::advance(std::string_view bytes) {
  for (char c : bytes) {
    if (!advance(static_cast<std::uint8_t>(c))) return false;
  }
  return true;
}

bool MatchState::complete() const {
  if (size_ == 0) return true;
  if (size_ > 1) return false;
  const Frame& f = frames_[0];
  switch (f.phase) {
    case kNumZero:
    case kNumInt:
    case kNumFrac:
    case kNumExp:
      return true;
    case kLit:
      return f.node->literals[f.a].size() == f.pos;
    default:
      return false;
  }
}

bool MatchState::in_plain_string() const {
  return size_ > 0 && frames_[size_ - 1].phase == kStrBody;
}

MatchState::Step MatchState::step(std::uint8_t b) {
  Frame& f = frames_[size_ - 1];
  const Node& n = *f.node;
  switch (n.kind) {
    case NodeKind::ref:
      f.node = n.target;
      return Step::refeed;
    case NodeKind::any_of: {
      const std::uint8_t alt = n.dispatch[b];
      if (alt == kNoAlternative) return Step::rejected;
      f.node = n.alternatives[alt];
      return Step::refeed;
    }
    case NodeKind::object:
      return step_object(f, b);
    case NodeKind::array:
      return step_array(f, b);
    case NodeKind::number:
      return step_number(f, b);
    case NodeKind::literal:
      return step_literal(f, b);
    case NodeKind::string:
      break;
  }
  switch (f.phase) {
    case kStart:
      if (b != '"') return Step::rejected;
      f.phase = kStrBody;
      return Step::consumed;
    case kStrBody:
      if (b == '"') return Step::closed;
      if (b == '\\') {
        f.phase = kStrEscape;
        return Step::consumed;
      }
      if (b < 0x20 || !utf8_step(b, f.aux, f.a, f.b)) return Step::rejected;
      if (f.aux > 0) f.phase = kStrUtf8;
      return Step::consumed;
    case kStrUtf8:
      if (!utf8_step(b, f.aux, f.a, f.b)) return Step::rejected;
      if (f.aux == 0) f.phase = kStrBody;
      return Step::consumed;
    case kStrEscape:
      if (b == 'u') {
        f.phase = kStrHex;
        f.aux = 4;
        return Step::consumed;
      }
      if (std::strchr("\"\\/bfnrt", b) == nullptr || b == 0) return Step::rejected;
      f.phase = kStrBody;
      return Step::consumed;
    case kStrHex:
      // No surrogates (U+D800..U+DFFF): a lone one is invalid; U+D000..U+D7FF go with them.
      if (!is_hex(b) || (f.aux == 4 && (b == 'd' || b == 'D'))) return Step::rejected;
      if (--f.aux == 0) f.phase = kStrBody;
      return Step::consumed;
    default:
      return Step::rejected;
  }
}

MatchState::Step MatchState::step_object(Frame& f, std::uint8_t b) {
  const Node& n = *f.node;
  auto begin_key = [&]() {
    if (!n.properties.empty()) {
      f.candidates = all_properties(n) & ~f.seen;
      f.pos = 0;
      f.phase = kObjKey;
      return Step::consumed;
    }
    if (n.additional == nullptr) return Step::rejected;
    f.phase = kObjFreeKey;
    return push(&kKeyNode, kStrBody) ? Step::consumed : Step::rejected;
  };
  switch (f.phase) {
    case kStart:
      if (b != '{') return Step::rejected;
      f.phase = kObjFirst;
      return Step::consumed;
    case kObjFirst:
      if (b == '}') return n.required_mask == 0 ? Step::closed : Step::rejected;
      return b == '"' ? begin_key() : Step::rejected;
    case kObjComma:
      return b == '"' ? begin_key() : Step::rejected;
    case kObjKey: {
      std::uint64_t keep = 0;
      for (std::uint64_t c = f.candidates; c != 0; c &= c - 1) {
        const auto i = static_cast<std::size_t>(__builtin_ctzll(c));
        const std::string& key = n.properties[i].key_json;
        if (b == '"' ? key.size() == f.pos
                     : key.size() > f.pos && static_cast<std::uint8_t>(key[f.pos]) == b) {
          keep |= 1ull << i;
        }
      }
      if (keep == 0) return Step::rejected;
      if (b == '"') {  // keys are distinct: exactly one ends here
        const auto i = static_cast<std::uint32_t>(__builtin_ctzll(keep));
        f.seen |= 1ull << i;
        f.a = i;
        f.phase = kObjColon;
      } else {
        f.candidates = keep;
        ++f.pos;
      }
      return Step::consumed;
    }
    case kObjColon: {
      if (b != ':') return Step::rejected;
      const Node* value = n.properties.empty() ? n.additional : n.properties[f.a].value;
      f.phase = kObjValue;
      return push(value) ? Step::consumed : Step::rejected;
    }
    case kObjAfter:
      if (b == ',') {
        if (!n.properties.empty() && (f.seen | ~all_properties(n)) == ~0ull) {
          return Step::rejected;  // every declared property is out
        }
        f.phase = kObjComma;
        return Step::consumed;
      }
      if (b == '}') {
        return (f.seen & n.required_mask) == n.required_mask ? Step::closed : Step::rejected;
      }
      return Step::rejected;
    default:
      return Step::rejected;
  }
}

MatchState::Step MatchState::step_array(Frame& f, std::uint8_t b) {
  const Node& n = *f.node;
  switch (f.phase) {
    case kStart:
      if (b != '[') return Step::rejected;
      f.phase = kArrFirst;
      f.a = 0;
      return Step::consumed;
    case kArrFirst:
      if (b == ']') return n.min_items == 0 ? Step::closed : Step::rejected;
      if (n.max_items == 0) return Step::rejected;
      f.phase = kArrItem;
      return push(n.items) ? Step::refeed : Step::rejected;
    case kArrAfter:
      if (b == ',') {
        if (f.a >= n.max_items) return Step::rejected;
        f.phase = kArrItem;
        return push(n.items) ? Step::consumed : Step::rejected;
      }
      if (b == ']') return f.a >= n.min_items ? Step::closed : Step::rejected;
      return Step::rejected;
    default:
      return Step::rejected;
  }
}

MatchState::Step MatchState::step_number(Frame& f, std::uint8_t b) {
  const bool integer = f.node->integer;
  auto digit_run = [&](std::uint32_t cap) {
    if (f.pos >= cap) return Step::rejected;
    ++f.pos;
    return Step::consumed;
  };
  auto start_run = [&](std::uint8_t phase) {
    f.phase = phase;
    f.pos = 1;
    return Step::consumed;
  };
  auto fraction_or_exponent = [&]() {
    if (integer) return Step::closed_refeed;
    if (b == '.') {
      f.phase = kNumDot;
      return Step::consumed;
    }
    if (b == 'e' || b == 'E') {
      f.phase = kNumE;
      return Step::consumed;
    }
    return Step::closed_refeed;
  };
  switch (f.phase) {
    case kStart:
      if (b == '-') {
        f.phase = kNumMinus;
        return Step::consumed;
      }
      [[fallthrough]];
    case kNumMinus:
      if (b == '0') {
        f.phase = kNumZero;
        return Step::consumed;
      }
      return is_digit(b) ? start_run(kNumInt) : Step::rejected;
    case kNumZero:
      return is_digit(b) ? Step::rejected : fraction_or_exponent();
    case kNumInt:
      return is_digit(b) ? digit_run(kMaxIntDigits) : fraction_or_exponent();
    case kNumDot:
      return is_digit(b) ? start_run(kNumFrac) : Step::rejected;
    case kNumFrac:
      if (is_digit(b)) return digit_run(kMaxFracDigits);
      if (b == 'e' || b == 'E') {
        f.phase = kNumE;
        return Step::consumed;
      }
      return Step::closed_refeed;
    case kNumE:
      if (b == '+' || b == '-') {
        f.phase = kNumESign;
        return Step::consumed;
      }
      return is_digit(b) ? start_run(kNumExp) : Step::rejected;
    case kNumESign:
      return is_digit(b) ? start_run(kNumExp) : Step::rejected;
    case kNumExp:
      return is_digit(b) ? digit_run(kMaxExpDigits) : Step::closed_refeed;
    default:
      return Step::rejected;
  }
}

MatchState::Step MatchState::step_literal(Frame& f, std::uint8_t b) {
  const auto& lits = f.node->literals;
  if (f.phase == kStart) {
    f.phase = kLit;
    f.pos = 0;
    f.a = 0;
    f.b = static_cast<std::uint32_t>(lits.size());
  }
  // Candidates [a, b) share the first pos bytes and are sorted, so those continuing with
  // `b` are contiguous; one equal to the prefix itself sorts first.
  std::uint32_t lo = f.a;
  while (lo < f.b && !(lits[lo].size() > f.pos && static_cast<std::uint8_t>(lits[lo][f.pos]) == b))
    ++lo;
  if (lo == f.b) return lits[f.a].size() == f.pos ? Step::closed_refeed : Step::rejected;
  std::uint32_t hi = lo + 1;
  while (hi < f.b && static_cast<std::uint8_t>(lits[hi][f.pos]) == b)
    ++hi;
  f.a = lo;
  f.b = hi;
  ++f.pos;
  return hi - lo == 1 && lits[lo].size() == f.pos ? Step::closed : Step::consumed;
}

}  // namespace agentrt::grammar
