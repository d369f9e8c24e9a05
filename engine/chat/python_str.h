// Python str methods that chat templates use (strip/lstrip/rstrip with and without chars),
// on UTF-8 text, so renderers match Jinja output exactly.
#pragma once

#include <string>
#include <string_view>

namespace agentrt::chat::py {

// str.strip(chars) / lstrip / rstrip for ASCII chars.
std::string_view strip(std::string_view s, std::string_view chars);
std::string_view lstrip(std::string_view s, std::string_view chars);
std::string_view rstrip(std::string_view s, std::string_view chars);

// str.strip() with no argument: removes Unicode whitespace (str.isspace) at both ends, as
// Jinja's `trim` filter does.
std::string_view strip_whitespace(std::string_view s);

}  // namespace agentrt::chat::py
