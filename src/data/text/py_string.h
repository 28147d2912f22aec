// Python str semantics the LLaVA preprocessing depends on (split, replace, strip), on UTF-8 bytes.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace adallava::text::py {

// str.split(sep) with a non-empty separator: n separators always give n + 1 parts.
std::vector<std::string> split(std::string_view text, std::string_view sep);
// str.replace(old, new) with a non-empty `old`.
std::string replace(std::string_view text, std::string_view from, std::string_view to);
// str.strip() without arguments: removes leading/trailing code points for which
// Python's str.isspace() is true (Unicode whitespace, not only ASCII).
std::string strip(std::string_view text);
bool contains(std::string_view text, std::string_view needle);
bool starts_with(std::string_view text, std::string_view prefix);

}  // namespace adallava::text::py
