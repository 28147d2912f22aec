// FNV-1a: a stable, dependency-free 64-bit hash for identifiers and change detection (never for
// security).
#pragma once

#include <cstdint>
#include <string_view>

namespace adallava {

inline constexpr uint64_t kFnvOffsetBasis = 14695981039346656037ULL;

inline uint64_t fnv1a(std::string_view bytes, uint64_t seed = kFnvOffsetBasis) {
  uint64_t h = seed;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

}  // namespace adallava
