// Bit-exact reimplementation of Pillow's 8-bit convolution resize (ImagingResample with the
// BICUBIC filter, as Image.resize(size, BICUBIC) runs it for an RGB image with the default box).
//
// Why every detail below matters: CLIP features are computed from these uint8 values, and the
// golden data was produced by Pillow. Pillow computes the filter taps in double precision, turns
// them into 22-bit fixed point, accumulates in integers and rounds/clips to uint8 after EACH of the
// two separable passes (horizontal first, then vertical). Reordering the passes, keeping floats
// between them or rounding the taps differently changes about 1 value in 10^3 by one level.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "common/error.h"
#include "data/image/preprocess.h"

namespace adallava::image {
namespace {

// 32 bits minus 8 for the sample value minus 2 bits of headroom for filter overshoot.
constexpr int kPrecisionBits = 22;

// Keys' cubic convolution kernel with a = -0.5 (Pillow's BICUBIC; not torch's a = -0.75).
double cubic_kernel(double x) {
  constexpr double a = -0.5;
  if (x < 0.0) x = -x;
  if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0;
  if (x < 2.0) return (((x - 5.0) * x + 8.0) * x - 4.0) * a;
  return 0.0;
}
constexpr double kCubicSupport = 2.0;

// For every output index: the first input index it reads, how many it reads, and the fixed-point
// weights (stride `taps_per_output`).
struct FilterTaps {
  int taps_per_output = 0;
  std::vector<int> first;
  std::vector<int> count;
  std::vector<int32_t> weights;
};

FilterTaps compute_taps(int in_size, int out_size) {
  // Pillow's box is (0, in_size) in float; the difference is exact for any realistic size.
  const double scale = static_cast<double>(in_size) / out_size;
  // Downscaling widens the kernel by the scale factor: that is the antialiasing.
  const double filter_scale = std::max(scale, 1.0);
  const double support = kCubicSupport * filter_scale;
  const double inv_filter_scale = 1.0 / filter_scale;

  FilterTaps taps;
  taps.taps_per_output = static_cast<int>(std::ceil(support)) * 2 + 1;
  taps.first.resize(out_size);
  taps.count.resize(out_size);
  taps.weights.assign(static_cast<size_t>(out_size) * taps.taps_per_output, 0);

  std::vector<double> w(taps.taps_per_output);
  for (int out = 0; out < out_size; ++out) {
    const double center = (out + 0.5) * scale;
    // Truncating casts, exactly as Pillow rounds the window ends.
    const int lo = std::max(static_cast<int>(center - support + 0.5), 0);
    const int hi = std::min(static_cast<int>(center + support + 0.5), in_size);
    const int n = hi - lo;
    double sum = 0.0;
    for (int i = 0; i < n; ++i) {
      // Same operation order as Pillow so the doubles (and thus the rounded taps) agree.
      const double pos = (static_cast<double>(i + lo) - center + 0.5) * inv_filter_scale;
      w[i] = cubic_kernel(pos);
      sum += w[i];
    }
    int32_t* dst = &taps.weights[static_cast<size_t>(out) * taps.taps_per_output];
    for (int i = 0; i < n; ++i) {
      const double normalized = sum != 0.0 ? w[i] / sum : w[i];
      const double fixed = normalized * static_cast<double>(1 << kPrecisionBits);
      // Round half away from zero, then truncate.
      dst[i] = static_cast<int32_t>(normalized < 0 ? fixed - 0.5 : fixed + 0.5);
    }
    taps.first[out] = lo;
    taps.count[out] = n;
  }
  return taps;
}

// Pillow starts each accumulator at one half (rounding) and floors the shifted sum into [0, 255].
inline uint8_t fixed_to_u8(int64_t acc) {
  if (acc < 0) return 0;
  const int64_t v = acc >> kPrecisionBits;
  return static_cast<uint8_t>(v > 255 ? 255 : v);
}
constexpr int64_t kRoundingHalf = int64_t{1} << (kPrecisionBits - 1);

// Resamples rows [row_begin, row_begin + rows) of `src` horizontally to `taps.first.size()`
// columns.
std::vector<uint8_t> horizontal_pass(const RgbImage& src, int row_begin, int rows,
                                     const FilterTaps& taps) {
  const int out_w = static_cast<int>(taps.first.size());
  std::vector<uint8_t> out(static_cast<size_t>(out_w) * rows * 3);
  for (int y = 0; y < rows; ++y) {
    const uint8_t* in_row = &src.pixels[static_cast<size_t>(row_begin + y) * src.width * 3];
    uint8_t* out_row = &out[static_cast<size_t>(y) * out_w * 3];
    for (int x = 0; x < out_w; ++x) {
      const int32_t* k = &taps.weights[static_cast<size_t>(x) * taps.taps_per_output];
      const uint8_t* in_px = in_row + static_cast<size_t>(taps.first[x]) * 3;
      int64_t r = kRoundingHalf, g = kRoundingHalf, b = kRoundingHalf;
      for (int i = 0; i < taps.count[x]; ++i) {
        r += int64_t{in_px[3 * i + 0]} * k[i];
        g += int64_t{in_px[3 * i + 1]} * k[i];
        b += int64_t{in_px[3 * i + 2]} * k[i];
      }
      out_row[3 * x + 0] = fixed_to_u8(r);
      out_row[3 * x + 1] = fixed_to_u8(g);
      out_row[3 * x + 2] = fixed_to_u8(b);
    }
  }
  return out;
}

// Resamples `src` (width w, any height) vertically; `row_offset` is subtracted from the tap rows
// because the horizontal pass only produced the rows the vertical taps touch.
std::vector<uint8_t> vertical_pass(const std::vector<uint8_t>& src, int w, int row_offset,
                                   const FilterTaps& taps) {
  const int out_h = static_cast<int>(taps.first.size());
  const size_t stride = static_cast<size_t>(w) * 3;
  std::vector<uint8_t> out(stride * out_h);
  for (int y = 0; y < out_h; ++y) {
    const int32_t* k = &taps.weights[static_cast<size_t>(y) * taps.taps_per_output];
    const uint8_t* first_row = &src[static_cast<size_t>(taps.first[y] - row_offset) * stride];
    uint8_t* out_row = &out[static_cast<size_t>(y) * stride];
    for (size_t c = 0; c < stride; ++c) {
      int64_t acc = kRoundingHalf;
      for (int i = 0; i < taps.count[y]; ++i) acc += int64_t{first_row[i * stride + c]} * k[i];
      out_row[c] = fixed_to_u8(acc);
    }
  }
  return out;
}

}  // namespace

RgbImage resize_bicubic_pil(const RgbImage& img, int out_width, int out_height) {
  ADALLAVA_CHECK(img.width > 0 && img.height > 0 &&
                     img.pixels.size() == static_cast<size_t>(img.width) * img.height * 3,
                 "resize_bicubic_pil: invalid input image {}x{} with {} bytes", img.width,
                 img.height, img.pixels.size());
  ADALLAVA_CHECK(out_width > 0 && out_height > 0,
                 "resize_bicubic_pil: invalid output size {}x{} (from {}x{})", out_width,
                 out_height, img.width, img.height);
  // Pillow returns a copy when nothing changes, and skips a pass whose size is unchanged.
  const bool need_horizontal = out_width != img.width;
  const bool need_vertical = out_height != img.height;
  if (!need_horizontal && !need_vertical) return img;

  const FilterTaps vertical = compute_taps(img.height, out_height);
  // Only rows some vertical tap reads need the (expensive) horizontal pass.
  const int row_first = vertical.first.front();
  const int row_last = vertical.first.back() + vertical.count.back();

  RgbImage out;
  out.width = out_width;
  out.height = out_height;
  if (!need_horizontal) {
    out.pixels = vertical_pass(img.pixels, img.width, 0, vertical);
    return out;
  }
  const FilterTaps horizontal = compute_taps(img.width, out_width);
  if (!need_vertical) {
    out.pixels = horizontal_pass(img, 0, img.height, horizontal);
    return out;
  }
  const std::vector<uint8_t> temp =
      horizontal_pass(img, row_first, row_last - row_first, horizontal);
  out.pixels = vertical_pass(temp, out_width, row_first, vertical);
  return out;
}

}  // namespace adallava::image
