// CLIP image preprocessing as LLaVA-1.5 runs it (PIL decode + expand2square + CLIPImageProcessor),
// reimplemented with OpenCV and a PIL-exact bicubic resampler.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace adallava::image {

// 8-bit RGB, row-major HWC.
struct RgbImage {
  int width = 0;
  int height = 0;
  std::vector<uint8_t> pixels;
};

// Normalised float pixels, CHW, ready for the vision tower.
struct PixelTensor {
  int channels = 3;
  int height = 0;
  int width = 0;
  std::vector<float> values;
};

struct PreprocessConfig {
  int shortest_edge = 336;
  int crop_height = 336;
  int crop_width = 336;
  bool do_resize = true;
  bool do_center_crop = true;
  bool do_rescale = true;
  bool do_normalize = true;
  bool do_convert_rgb = true;
  double rescale_factor = 1.0 / 255.0;
  std::array<float, 3> image_mean = {0.48145466f, 0.4578275f, 0.40821073f};
  std::array<float, 3> image_std = {0.26862954f, 0.26130258f, 0.27577711f};
  int resample = 3;  // PIL BICUBIC; the only one supported
  // When the JSON gives size as {height, width} (or [h, w]), CLIPImageProcessor resizes to exactly
  // that size instead of scaling the shortest edge; 0 = use shortest_edge.
  int resize_height = 0;
  int resize_width = 0;

  // Reads an HF preprocessor_config.json (int or dict forms of size/crop_size); errors name the
  // file and key.
  static PreprocessConfig from_json_file(const std::string& path);
};

// Decodes JPEG/PNG (gray, palette, alpha)/BMP/WebP to RGB like PIL's convert('RGB'): alpha is
// dropped, EXIF orientation ignored. Errors name the file.
RgbImage decode_image_file(const std::string& path);
RgbImage decode_image_bytes(const std::vector<uint8_t>& bytes, const std::string& name_for_errors);

// LLaVA's expand2square: pad the short side with `background`, image centred (floor).
RgbImage expand_to_square(const RgbImage& img, std::array<uint8_t, 3> background);
// The background LLaVA uses: int(mean * 255) per channel.
std::array<uint8_t, 3> pad_background(const PreprocessConfig& cfg);

// PIL Image.resize(..., BICUBIC) for 8-bit RGB, antialiased when downscaling, bit-exact.
RgbImage resize_bicubic_pil(const RgbImage& img, int out_width, int out_height);

// transformers' get_resize_output_image_size(default_to_square=False): {width, height} with the
// short side = shortest_edge and the long side int(shortest_edge * long / short).
std::array<int, 2> shortest_edge_output_size(int width, int height, int shortest_edge);

// transformers' center_crop: top = (H - h) // 2, left = (W - w) // 2. A crop larger than the image
// zero-pads (pixel value 0) with the image at (crop - size) // 2 and always returns exactly
// crop_width x crop_height (upstream's slice loses a row/column there when crop - size is odd).
RgbImage center_crop(const RgbImage& img, int crop_width, int crop_height);

// Resize of the shortest edge (long edge int(size*long/short)) then center crop: the 8-bit image
// that CLIPImageProcessor would rescale and normalise.
RgbImage resize_and_crop(const RgbImage& img, const PreprocessConfig& cfg);

// Full path: optional expand2square (image_aspect_ratio == "pad"), resize, crop, rescale,
// normalise.
PixelTensor preprocess(const RgbImage& img, const PreprocessConfig& cfg, bool pad_to_square);

}  // namespace adallava::image
