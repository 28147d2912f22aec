// Standard base64 (RFC 4648, '=' padding, whitespace ignored) for MMBench's embedded images.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace adallava::eval {

// Throws adallava::Error naming `what` on a character outside the alphabet or a bad length.
std::vector<uint8_t> base64_decode(const std::string& text, const std::string& what);

}  // namespace adallava::eval
