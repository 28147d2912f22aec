// Helpers shared by the image tests: golden arrays as RgbImage / float vectors, and agreement
// statistics between two arrays.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "common/safetensors_view.h"
#include "data/image/preprocess.h"

namespace adallava::test {

inline image::RgbImage golden_rgb(const SafetensorsFile& st, const std::string& key) {
  const StTensorView& t = st.tensor(key);
  if (t.dtype != StDType::U8 || t.shape.size() != 3 || t.shape[2] != 3) {
    throw std::runtime_error(key + ": expected uint8 [H,W,3]");
  }
  image::RgbImage img;
  img.height = static_cast<int>(t.shape[0]);
  img.width = static_cast<int>(t.shape[1]);
  img.pixels.assign(t.data, t.data + t.nbytes);
  return img;
}

inline std::vector<float> golden_f32(const SafetensorsFile& st, const std::string& key) {
  const StTensorView& t = st.tensor(key);
  if (t.dtype != StDType::F32) throw std::runtime_error(key + ": expected float32");
  std::vector<float> v(t.nbytes / 4);
  std::memcpy(v.data(), t.data, t.nbytes);
  return v;
}

struct U8Agreement {
  size_t total = 0;
  size_t equal = 0;
  int max_diff = 0;
  double exact_fraction() const { return total ? static_cast<double>(equal) / total : 1.0; }
};

inline U8Agreement compare_u8(const std::vector<uint8_t>& a, const std::vector<uint8_t>& b) {
  U8Agreement r;
  r.total = std::min(a.size(), b.size());
  for (size_t i = 0; i < r.total; ++i) {
    const int d = std::abs(int{a[i]} - int{b[i]});
    if (d == 0) ++r.equal;
    r.max_diff = std::max(r.max_diff, d);
  }
  return r;
}

inline double max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  double m = 0.0;
  const size_t n = std::min(a.size(), b.size());
  for (size_t i = 0; i < n; ++i) m = std::max(m, std::fabs(double{a[i]} - double{b[i]}));
  return m;
}

}  // namespace adallava::test
