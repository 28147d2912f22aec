// Seeded pseudo-random numbers with outputs fixed by this file alone. The standard
// <random> distributions are implementation-defined (libstdc++ and libc++ differ), so the dataset
// would not be reproducible across machines with them; everything here is plain integer math.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace adallava::synth {

// splitmix64 step: a good 64-bit mixer, used both as a generator and to derive stream seeds.
inline uint64_t splitmix64_next(uint64_t& state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

// FNV-1a, to turn a stream name into a seed component.
inline uint64_t hash_name(const std::string& name) {
  uint64_t h = 0xCBF29CE484222325ULL;
  for (unsigned char c : name) {
    h ^= c;
    h *= 0x100000001B3ULL;
  }
  return h;
}

class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}

  // An independent stream per (seed, name, index): each image's content depends only on these,
  // never on how many numbers earlier images consumed.
  static Rng stream(uint64_t seed, const std::string& name, uint64_t index) {
    uint64_t s = seed ^ hash_name(name);
    splitmix64_next(s);
    s ^= index * 0xD1B54A32D192ED03ULL;
    splitmix64_next(s);
    return Rng(s);
  }

  uint64_t next_u64() { return splitmix64_next(state_); }

  // Uniform integer in [0, n) without modulo bias (rejection of the short top range).
  uint64_t below(uint64_t n) {
    if (n <= 1) return 0;
    const uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t x;
    do {
      x = next_u64();
    } while (x >= limit);
    return x % n;
  }

  // Uniform integer in [lo, hi] (inclusive).
  int range(int lo, int hi) {
    return lo + static_cast<int>(below(static_cast<uint64_t>(hi - lo) + 1));
  }

  // Uniform double in [0, 1) from the top 53 bits.
  double unit() { return static_cast<double>(next_u64() >> 11) * (1.0 / 9007199254740992.0); }

  bool chance(double p) { return unit() < p; }

  template <typename T>
  const T& pick(const std::vector<T>& items) {
    return items[below(items.size())];
  }

  // Index drawn with the given non-negative weights (at least one positive).
  size_t weighted(const std::vector<double>& weights) {
    double total = 0;
    for (double w : weights) total += w;
    double x = unit() * total;
    for (size_t i = 0; i < weights.size(); ++i) {
      if (x < weights[i]) return i;
      x -= weights[i];
    }
    return weights.size() - 1;
  }

  // Fisher-Yates with our own integers (std::shuffle's use of the engine is unspecified).
  template <typename T>
  void shuffle(std::vector<T>& items) {
    for (size_t i = items.size(); i > 1; --i) {
      size_t j = below(i);
      std::swap(items[i - 1], items[j]);
    }
  }

 private:
  uint64_t state_;
};

}  // namespace adallava::synth
