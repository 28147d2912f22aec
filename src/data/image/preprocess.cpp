// LLaVA-1.5's image path: expand2square (optional) + CLIPImageProcessor (transformers 4.37.2).
//
// Deliberate differences from upstream, all outside what LLaVA-1.5 ever feeds the processor:
//  * transformers guesses the channel axis from the array shape, so an image whose height is 1 or
//    3 is misread as channels-first: a 1x1 image (or any height-1 image) raises "mean must have 1
//    elements", and a W x 3 image comes out channel-scrambled on the no-pad path. Our images are
//    always HWC, so we process them correctly; the result equals upstream's output with
//    input_data_format="channels_last" (golden `*_channels_last_explicit`).
//  * center_crop to a size larger than the image: upstream zero-pads but its slice drops one
//    row/column when (crop - size) is odd; we always return exactly crop_height x crop_width with
//    the image at offset (crop - size) // 2 (same pixels, plus the row/column upstream loses).
#include <algorithm>

#include "common/error.h"
#include "data/image/preprocess.h"

namespace adallava::image {
namespace {

void check_image(const RgbImage& img, const char* where) {
  ADALLAVA_CHECK(img.width > 0 && img.height > 0 &&
                     img.pixels.size() == static_cast<size_t>(img.width) * img.height * 3,
                 "{}: invalid image {}x{} with {} bytes (expected width*height*3)", where,
                 img.width, img.height, img.pixels.size());
}

// Python's floor division, for offsets that can be negative.
int floor_div2(int v) {
  return v >= 0 ? v / 2 : -((-v + 1) / 2);
}

}  // namespace

std::array<uint8_t, 3> pad_background(const PreprocessConfig& cfg) {
  std::array<uint8_t, 3> bg{};
  for (int c = 0; c < 3; ++c) {
    // Python int(x * 255) truncates toward zero; the mean is a Python float there.
    const int v = static_cast<int>(static_cast<double>(cfg.image_mean[c]) * 255.0);
    bg[c] = static_cast<uint8_t>(std::clamp(v, 0, 255));
  }
  return bg;
}

RgbImage expand_to_square(const RgbImage& img, std::array<uint8_t, 3> background) {
  check_image(img, "expand_to_square");
  if (img.width == img.height) return img;
  const int side = std::max(img.width, img.height);
  const int off_x = (side - img.width) / 2;
  const int off_y = (side - img.height) / 2;
  RgbImage out;
  out.width = out.height = side;
  out.pixels.resize(static_cast<size_t>(side) * side * 3);
  for (size_t i = 0; i < out.pixels.size(); i += 3) {
    out.pixels[i] = background[0];
    out.pixels[i + 1] = background[1];
    out.pixels[i + 2] = background[2];
  }
  const size_t row_bytes = static_cast<size_t>(img.width) * 3;
  for (int y = 0; y < img.height; ++y) {
    std::copy_n(&img.pixels[y * row_bytes], row_bytes,
                &out.pixels[(static_cast<size_t>(y + off_y) * side + off_x) * 3]);
  }
  return out;
}

std::array<int, 2> shortest_edge_output_size(int width, int height, int shortest_edge) {
  ADALLAVA_CHECK(width > 0 && height > 0 && shortest_edge > 0,
                 "shortest_edge_output_size: invalid sizes {}x{} -> {}", width, height,
                 shortest_edge);
  const int short_side = std::min(width, height);
  const int long_side = std::max(width, height);
  // Python: int(size * long / short) -- exact integer product, one correctly rounded division.
  const double long_exact = static_cast<double>(static_cast<int64_t>(shortest_edge) * long_side) /
                            static_cast<double>(short_side);
  ADALLAVA_CHECK(long_exact < 1e8, "shortest_edge_output_size: {}x{} is too elongated to resize",
                 width, height);
  const int new_long = static_cast<int>(long_exact);
  if (width <= height) return {shortest_edge, new_long};
  return {new_long, shortest_edge};
}

RgbImage center_crop(const RgbImage& img, int crop_width, int crop_height) {
  check_image(img, "center_crop");
  ADALLAVA_CHECK(crop_width > 0 && crop_height > 0, "center_crop: invalid crop size {}x{}",
                 crop_width, crop_height);
  if (crop_width == img.width && crop_height == img.height) return img;
  // Source offset (crop inside the image) or destination offset (image inside a zero canvas),
  // per axis.
  const int src_x = crop_width <= img.width ? floor_div2(img.width - crop_width) : 0;
  const int src_y = crop_height <= img.height ? floor_div2(img.height - crop_height) : 0;
  const int dst_x = crop_width <= img.width ? 0 : (crop_width - img.width) / 2;
  const int dst_y = crop_height <= img.height ? 0 : (crop_height - img.height) / 2;
  const int copy_w = std::min(crop_width, img.width);
  const int copy_h = std::min(crop_height, img.height);
  RgbImage out;
  out.width = crop_width;
  out.height = crop_height;
  out.pixels.assign(static_cast<size_t>(crop_width) * crop_height * 3, 0);
  for (int y = 0; y < copy_h; ++y) {
    const uint8_t* src = &img.pixels[(static_cast<size_t>(y + src_y) * img.width + src_x) * 3];
    uint8_t* dst = &out.pixels[(static_cast<size_t>(y + dst_y) * crop_width + dst_x) * 3];
    std::copy_n(src, static_cast<size_t>(copy_w) * 3, dst);
  }
  return out;
}

RgbImage resize_and_crop(const RgbImage& img, const PreprocessConfig& cfg) {
  check_image(img, "resize_and_crop");
  RgbImage resized;
  const RgbImage* current = &img;
  if (cfg.do_resize) {
    ADALLAVA_CHECK(cfg.resample == 3,
                   "resize_and_crop: resample={} is not supported (only 3 = "
                   "PIL BICUBIC)",
                   cfg.resample);
    std::array<int, 2> size{cfg.resize_width, cfg.resize_height};
    if (size[0] <= 0 || size[1] <= 0) {
      size = shortest_edge_output_size(img.width, img.height, cfg.shortest_edge);
    }
    resized = resize_bicubic_pil(img, size[0], size[1]);
    current = &resized;
  }
  if (cfg.do_center_crop) return center_crop(*current, cfg.crop_width, cfg.crop_height);
  return current == &img ? img : resized;
}

PixelTensor preprocess(const RgbImage& img, const PreprocessConfig& cfg, bool pad_to_square) {
  check_image(img, "preprocess");
  const RgbImage u8 = pad_to_square
                          ? resize_and_crop(expand_to_square(img, pad_background(cfg)), cfg)
                          : resize_and_crop(img, cfg);
  PixelTensor out;
  out.channels = 3;
  out.height = u8.height;
  out.width = u8.width;
  const size_t plane = static_cast<size_t>(u8.width) * u8.height;
  out.values.resize(plane * 3);
  for (int c = 0; c < 3; ++c) {
    const float mean = cfg.image_mean[c];
    const float std_dev = cfg.image_std[c];
    float* dst = &out.values[c * plane];
    for (size_t i = 0; i < plane; ++i) {
      const uint8_t v = u8.pixels[i * 3 + c];
      // numpy: uint8 * Python float is computed in float64, then cast to float32; the
      // normalisation then runs in float32 with float32 mean/std.
      float x = cfg.do_rescale ? static_cast<float>(static_cast<double>(v) * cfg.rescale_factor)
                               : static_cast<float>(v);
      if (cfg.do_normalize) {
        const float centered = x - mean;
        x = centered / std_dev;
      }
      dst[i] = x;
    }
  }
  return out;
}

}  // namespace adallava::image
