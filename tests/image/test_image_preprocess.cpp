// Preprocessing pieces and configs: preprocessor_config.json parsing, resize geometry, center crop,
// the llava-tiny reference image (golden/llava-tiny/ref) and an untuned real photo.
#include <cmath>
#include <fstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "common/error.h"
#include "data/image/preprocess.h"
#include "golden_arrays.h"
#include "support/npy.h"
#include "support/paths.h"

using namespace adallava;
using namespace adallava::image;
using adallava::test::golden;
using Catch::Matchers::Contains;

namespace {

std::string write_config(const std::string& dir, const std::string& name, const std::string& json) {
  const std::string path = dir + "/" + name;
  std::ofstream(path) << json;
  return path;
}

void expect_config_error(const std::string& path, const std::string& fragment) {
  try {
    PreprocessConfig::from_json_file(path);
    FAIL("no error for " << path);
  } catch (const Error& e) {
    INFO(e.what());
    CHECK_THAT(std::string(e.what()), Contains(path));
    CHECK_THAT(std::string(e.what()), Contains(fragment));
  }
}

RgbImage gradient(int w, int h) {
  RgbImage img;
  img.width = w;
  img.height = h;
  img.pixels.resize(static_cast<size_t>(w) * h * 3);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int c = 0; c < 3; ++c)
        img.pixels[(static_cast<size_t>(y) * w + x) * 3 + c] =
            static_cast<uint8_t>((x * 37 + y * 11 + c * 85) % 256);
  return img;
}

}  // namespace

TEST_CASE("preprocessor_config.json: int and dict forms", "[image][config]") {
  const PreprocessConfig big =
      PreprocessConfig::from_json_file(golden("images/preprocessor_config.json"));
  CHECK(big.shortest_edge == 336);
  CHECK(big.crop_height == 336);
  CHECK(big.crop_width == 336);
  CHECK(big.resize_height == 0);
  CHECK(big.rescale_factor == 1.0 / 255.0);
  CHECK(big.image_mean[0] == 0.48145466f);
  CHECK(big.image_std[2] == 0.27577711f);

  const PreprocessConfig tiny =
      PreprocessConfig::from_json_file(golden("llava-tiny/clip_vision/preprocessor_config.json"));
  CHECK(tiny.shortest_edge == 112);
  CHECK(tiny.crop_height == 112);
  CHECK(tiny.crop_width == 112);
  CHECK(tiny.rescale_factor == 1.0 / 255.0);  // "0.00392156862745098" parses to the same double
  CHECK(tiny.do_convert_rgb);

  const std::string dir = test::scratch_dir("image_config");
  const PreprocessConfig hw = PreprocessConfig::from_json_file(write_config(
      dir, "hw.json",
      R"({"size": {"height": 200, "width": 100}, "crop_size": [50, 60], "do_normalize": false,
          "image_mean": 0.5, "rescale_factor": 0.5})"));
  CHECK(hw.resize_height == 200);
  CHECK(hw.resize_width == 100);
  CHECK(hw.crop_height == 50);
  CHECK(hw.crop_width == 60);
  CHECK_FALSE(hw.do_normalize);
  CHECK(hw.image_mean == std::array<float, 3>{0.5f, 0.5f, 0.5f});
  CHECK(hw.rescale_factor == 0.5);

  // Absent keys take CLIPImageProcessor's defaults (224), as from_pretrained would.
  const PreprocessConfig empty =
      PreprocessConfig::from_json_file(write_config(dir, "empty.json", "{}"));
  CHECK(empty.shortest_edge == 224);
  CHECK(empty.crop_height == 224);
  CHECK(empty.crop_width == 224);
  CHECK(empty.do_resize);
  CHECK(empty.resample == 3);
}

TEST_CASE("preprocessor_config.json errors name the file and key", "[image][config][errors]") {
  const std::string dir = test::scratch_dir("image_config_errors");
  expect_config_error(dir + "/missing.json", "missing.json");
  expect_config_error(write_config(dir, "syntax.json", "{\"size\": 3"), "invalid JSON");
  expect_config_error(write_config(dir, "array.json", "[1, 2]"), "JSON object");
  expect_config_error(write_config(dir, "resample.json", R"({"resample": 2})"), "resample");
  expect_config_error(write_config(dir, "size_str.json", R"({"size": "big"})"), "size");
  expect_config_error(write_config(dir, "size_neg.json", R"({"size": {"shortest_edge": -4}})"),
                      "size.shortest_edge");
  expect_config_error(write_config(dir, "crop.json", R"({"crop_size": {"shortest_edge": 3}})"),
                      "crop_size");
  expect_config_error(write_config(dir, "mean.json", R"({"image_mean": [0.5, 0.5]})"),
                      "image_mean");
  expect_config_error(write_config(dir, "std.json", R"({"image_std": [1, 0, 1]})"), "image_std");
  expect_config_error(write_config(dir, "flag.json", R"({"do_resize": "yes"})"), "do_resize");
  expect_config_error(write_config(dir, "rescale.json", R"({"rescale_factor": "x"})"),
                      "rescale_factor");
}

TEST_CASE("shortest-edge output size truncates like int(size * long / short)", "[image][resize]") {
  using Size = std::array<int, 2>;
  CHECK(shortest_edge_output_size(570, 380, 336) == Size{504, 336});
  CHECK(shortest_edge_output_size(380, 570, 336) == Size{336, 504});
  CHECK(shortest_edge_output_size(7, 5, 336) == Size{470, 336});  // 470.4
  CHECK(shortest_edge_output_size(1000, 50, 336) == Size{6720, 336});
  CHECK(shortest_edge_output_size(64, 3, 336) == Size{7168, 336});
  CHECK(shortest_edge_output_size(150, 100, 112) == Size{168, 112});
  CHECK(shortest_edge_output_size(1, 1, 336) == Size{336, 336});
  CHECK(shortest_edge_output_size(3, 7, 10) == Size{10, 23});  // 23.33
  CHECK_THROWS_AS(shortest_edge_output_size(0, 5, 10), Error);
}

TEST_CASE("center crop offsets floor; oversize crops zero-pad", "[image][crop]") {
  const RgbImage img = gradient(5, 4);
  const RgbImage c = center_crop(img, 2, 3);  // left = 1, top = 0
  REQUIRE(c.width == 2);
  REQUIRE(c.height == 3);
  for (int y = 0; y < 3; ++y)
    for (int x = 0; x < 2; ++x)
      for (int ch = 0; ch < 3; ++ch)
        CHECK(c.pixels[(y * 2 + x) * 3 + ch] == img.pixels[(y * 5 + x + 1) * 3 + ch]);

  const RgbImage padded = center_crop(img, 8, 4);  // image at x offset (8 - 5) // 2 = 1
  REQUIRE(padded.width == 8);
  REQUIRE(padded.height == 4);
  for (int y = 0; y < 4; ++y) {
    for (int x = 0; x < 8; ++x) {
      for (int ch = 0; ch < 3; ++ch) {
        const uint8_t expected = (x >= 1 && x < 6) ? img.pixels[(y * 5 + x - 1) * 3 + ch] : 0;
        CHECK(padded.pixels[(y * 8 + x) * 3 + ch] == expected);
      }
    }
  }
}

TEST_CASE("bicubic resize basic properties", "[image][resize]") {
  const RgbImage img = gradient(13, 9);
  CHECK(resize_bicubic_pil(img, 13, 9).pixels == img.pixels);

  // A flat image stays flat at every scale (normalised taps, rounding in fixed point), including
  // horizontal-only (40x6) and vertical-only (17x50) resizes.
  RgbImage flat;
  flat.width = 17;
  flat.height = 6;
  flat.pixels.assign(17 * 6 * 3, 201);
  for (const auto& [w, h] : std::vector<std::pair<int, int>>{{3, 2}, {40, 6}, {17, 50}, {1, 1}}) {
    const RgbImage r = resize_bicubic_pil(flat, w, h);
    REQUIRE(r.pixels.size() == static_cast<size_t>(w) * h * 3);
    for (uint8_t v : r.pixels) CHECK(int{v} == 201);
  }
  CHECK_THROWS_AS(resize_bicubic_pil(img, 0, 5), Error);
  RgbImage broken = img;
  broken.pixels.pop_back();
  CHECK_THROWS_AS(resize_bicubic_pil(broken, 4, 4), Error);
  CHECK_THROWS_AS(preprocess(broken, PreprocessConfig{}, true), Error);
}

TEST_CASE("preprocess flags: rescale / normalise / crop switches", "[image][normalize]") {
  const RgbImage img = gradient(6, 4);
  PreprocessConfig cfg;
  cfg.do_resize = false;
  cfg.do_center_crop = false;
  cfg.do_normalize = false;
  PixelTensor t = preprocess(img, cfg, /*pad_to_square=*/false);
  REQUIRE(t.width == 6);
  REQUIRE(t.height == 4);
  for (int c = 0; c < 3; ++c)
    for (int i = 0; i < 24; ++i)
      CHECK(t.values[c * 24 + i] == static_cast<float>(img.pixels[i * 3 + c] * (1.0 / 255.0)));

  cfg.do_rescale = false;
  cfg.do_normalize = true;
  t = preprocess(img, cfg, false);
  CHECK(t.values[0] == (static_cast<float>(img.pixels[0]) - cfg.image_mean[0]) / cfg.image_std[0]);

  // Padding a 6x4 image makes it 6x6 with background rows at top and bottom.
  cfg.do_rescale = cfg.do_normalize = false;
  t = preprocess(img, cfg, true);
  REQUIRE(t.width == 6);
  REQUIRE(t.height == 6);
  CHECK(t.values[0] == 122.0f);
  CHECK(t.values[36] == 116.0f);
  CHECK(t.values[72] == 104.0f);
}

TEST_CASE("llava-tiny reference image: LLaVA pad path and llava-hf path", "[image][golden][tiny]") {
  const std::string ref_dir = golden("llava-tiny/ref");
  const RgbImage img = decode_image_file(ref_dir + "/synthetic_150x100.png");
  REQUIRE(img.width == 150);
  REQUIRE(img.height == 100);

  const PreprocessConfig tower_cfg =
      PreprocessConfig::from_json_file(golden("llava-tiny/clip_vision/preprocessor_config.json"));
  const PreprocessConfig hf_cfg =
      PreprocessConfig::from_json_file(golden("llava-tiny/llava15_hf/preprocessor_config.json"));

  const test::NpyArray pad_ref = test::read_npy(ref_dir + "/preproc_pixel_values_llava_pad.npy");
  REQUIRE(pad_ref.shape == std::vector<int64_t>{1, 3, 112, 112});
  const PixelTensor pad = preprocess(img, tower_cfg, /*pad_to_square=*/true);
  const double pad_diff = test::max_abs_diff(pad.values, pad_ref.as_float());
  REQUIRE(pad.values.size() == 3u * 112 * 112);
  std::printf("tiny   synthetic_150x100 pad   max|diff| %.3g\n", pad_diff);
  CHECK(pad_diff <= 1e-6);

  const test::NpyArray hf_ref = test::read_npy(ref_dir + "/preproc_pixel_values_hf.npy");
  REQUIRE(hf_ref.shape == std::vector<int64_t>{1, 3, 112, 112});
  const PixelTensor nopad = preprocess(img, hf_cfg, /*pad_to_square=*/false);
  const double hf_diff = test::max_abs_diff(nopad.values, hf_ref.as_float());
  std::printf("tiny   synthetic_150x100 nopad max|diff| %.3g\n", hf_diff);
  CHECK(hf_diff <= 1e-6);
  // The two paths really differ, so the comparisons above are not vacuous.
  CHECK(test::max_abs_diff(pad.values, nopad.values) > 0.1);
}

TEST_CASE("untuned real photo decodes and preprocesses", "[image][photo]") {
  const RgbImage img = decode_image_file(golden("photos/waterview.jpg"));
  CHECK(img.width > 0);
  CHECK(img.height > 0);
  const PreprocessConfig cfg =
      PreprocessConfig::from_json_file(golden("images/preprocessor_config.json"));
  for (const bool pad : {true, false}) {
    const PixelTensor t = preprocess(img, cfg, pad);
    REQUIRE(t.channels == 3);
    REQUIRE(t.height == 336);
    REQUIRE(t.width == 336);
    REQUIRE(t.values.size() == 3u * 336 * 336);
    const size_t plane = 336 * 336;
    for (int c = 0; c < 3; ++c) {
      const float lo = (0.0f - cfg.image_mean[c]) / cfg.image_std[c];
      const float hi = (1.0f - cfg.image_mean[c]) / cfg.image_std[c];
      size_t out_of_range = 0;
      for (size_t i = 0; i < plane; ++i) {
        const float v = t.values[c * plane + i];
        if (!std::isfinite(v) || v < lo - 1e-6f || v > hi + 1e-6f) ++out_of_range;
      }
      CHECK(out_of_range == 0);
    }
  }
}
