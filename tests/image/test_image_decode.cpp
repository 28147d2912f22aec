// Decoder conventions not covered by the golden images (palette, gray+alpha, 16-bit, low bit
// depths, BMP, WebP) and bad input: every failure is an adallava::Error naming the file.
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include "common/error.h"
#include "data/image/preprocess.h"
#include "png_writer.h"
#include "support/paths.h"

using namespace adallava;
using namespace adallava::image;
using Catch::Matchers::Contains;

namespace {

std::vector<uint8_t> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_bytes(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
  REQUIRE(out.good());
}

std::vector<uint8_t> rgb_of(const RgbImage& img, int x, int y) {
  const size_t i = (static_cast<size_t>(y) * img.width + x) * 3;
  return {img.pixels[i], img.pixels[i + 1], img.pixels[i + 2]};
}

// Expects decode_image_file(path) to throw an adallava::Error whose message names the file.
void expect_decode_error(const std::string& path, const std::string& fragment) {
  try {
    decode_image_file(path);
    FAIL("no error for " << path);
  } catch (const Error& e) {
    const std::string msg = e.what();
    INFO(msg);
    CHECK_THAT(msg, Contains(path));
    CHECK_THAT(msg, Contains(fragment));
  }
}

}  // namespace

TEST_CASE("palette PNG expands through the palette; tRNS alpha is dropped", "[image][decode]") {
  const std::vector<uint8_t> palette = {10, 20, 30, 200, 100, 50, 0, 255, 7};
  const std::vector<std::vector<uint8_t>> rows = {{0, 1, 2}, {2, 2, 1}};
  for (const bool with_trns : {false, true}) {
    INFO("tRNS " << with_trns);
    const auto png =
        test::make_png(3, 2, 8, 3, rows, palette,
                       with_trns ? std::vector<uint8_t>{0, 128} : std::vector<uint8_t>{});
    const RgbImage img = decode_image_bytes(png, "palette.png");
    REQUIRE(img.width == 3);
    REQUIRE(img.height == 2);
    CHECK(rgb_of(img, 0, 0) == std::vector<uint8_t>{10, 20, 30});
    CHECK(rgb_of(img, 1, 0) == std::vector<uint8_t>{200, 100, 50});
    CHECK(rgb_of(img, 2, 0) == std::vector<uint8_t>{0, 255, 7});
    CHECK(rgb_of(img, 2, 1) == std::vector<uint8_t>{200, 100, 50});
  }
}

TEST_CASE("gray+alpha PNG: gray replicated, alpha dropped (no compositing)", "[image][decode]") {
  // Pixel values (gray, alpha): fully transparent pixels keep their gray value, as in PIL.
  const auto png = test::make_png(2, 1, 8, 4, {{77, 0, 200, 255}});
  const RgbImage img = decode_image_bytes(png, "la.png");
  CHECK(rgb_of(img, 0, 0) == std::vector<uint8_t>{77, 77, 77});
  CHECK(rgb_of(img, 1, 0) == std::vector<uint8_t>{200, 200, 200});
}

TEST_CASE("RGBA PNG: alpha dropped without compositing", "[image][decode]") {
  const auto png = test::make_png(2, 1, 8, 6, {{1, 2, 3, 0, 250, 251, 252, 17}});
  const RgbImage img = decode_image_bytes(png, "rgba.png");
  CHECK(rgb_of(img, 0, 0) == std::vector<uint8_t>{1, 2, 3});
  CHECK(rgb_of(img, 1, 0) == std::vector<uint8_t>{250, 251, 252});
}

TEST_CASE("16-bit PNGs convert as PIL 9.4 does", "[image][decode]") {
  SECTION("16-bit gray opens as mode I and clips to 255") {
    const std::vector<uint16_t> values = {0, 100, 255, 256, 1000, 65535};
    std::vector<uint8_t> row;
    for (uint16_t v : values) {
      row.push_back(static_cast<uint8_t>(v >> 8));
      row.push_back(static_cast<uint8_t>(v & 0xFF));
    }
    const RgbImage img = decode_image_bytes(test::make_png(6, 1, 16, 0, {row}), "gray16.png");
    const std::vector<uint8_t> expected = {0, 100, 255, 255, 255, 255};
    for (int x = 0; x < 6; ++x) {
      INFO("x " << x);
      CHECK(rgb_of(img, x, 0) == std::vector<uint8_t>(3, expected[x]));
    }
  }
  SECTION("16-bit RGB keeps the most significant byte") {
    const std::vector<uint8_t> row = {0x12, 0xAB, 0xFF, 0x01, 0x00, 0xFF};
    const RgbImage img = decode_image_bytes(test::make_png(1, 1, 16, 2, {row}), "rgb16.png");
    CHECK(rgb_of(img, 0, 0) == std::vector<uint8_t>{0x12, 0xFF, 0x00});
  }
  SECTION("16-bit RGBA keeps the most significant byte and drops alpha") {
    const std::vector<uint8_t> row = {0x80, 0x7F, 0x01, 0xFF, 0xFE, 0x00, 0x00, 0x00};
    const RgbImage img = decode_image_bytes(test::make_png(1, 1, 16, 6, {row}), "rgba16.png");
    CHECK(rgb_of(img, 0, 0) == std::vector<uint8_t>{0x80, 0x01, 0xFE});
  }
}

TEST_CASE("low bit depth gray PNGs scale to 0..255", "[image][decode]") {
  // 1-bit: pixels 1,0,1,1,0,0,0,1 -> 255/0; 4-bit: 0x0, 0x5, 0xF -> v * 17.
  const RgbImage one = decode_image_bytes(test::make_png(8, 1, 1, 0, {{0xB1}}), "gray1.png");
  const std::vector<int> bits = {1, 0, 1, 1, 0, 0, 0, 1};
  for (int x = 0; x < 8; ++x) CHECK(int{rgb_of(one, x, 0)[0]} == bits[x] * 255);
  const RgbImage four = decode_image_bytes(test::make_png(3, 1, 4, 0, {{0x05, 0xF0}}), "gray4.png");
  CHECK(int{rgb_of(four, 0, 0)[1]} == 0);
  CHECK(int{rgb_of(four, 1, 0)[1]} == 5 * 17);
  CHECK(int{rgb_of(four, 2, 0)[1]} == 255);
}

TEST_CASE("BMP and lossless WebP round-trip exactly", "[image][decode]") {
  const std::string dir = test::scratch_dir("image_decode_formats");
  cv::Mat bgr(5, 7, CV_8UC3);
  for (int y = 0; y < 5; ++y)
    for (int x = 0; x < 7; ++x) bgr.at<cv::Vec3b>(y, x) = cv::Vec3b(x * 30, y * 50, (x + y) * 11);
  std::vector<std::pair<std::string, std::vector<int>>> formats = {{".bmp", {}}};
  if (cv::haveImageWriter(".webp")) formats.push_back({".webp", {cv::IMWRITE_WEBP_QUALITY, 101}});
  CHECK(formats.size() == 2);  // WebP support is part of what we promise
  for (const auto& [ext, params] : formats) {
    INFO("format " << ext);
    const std::string path = dir + "/img" + ext;
    REQUIRE(cv::imwrite(path, bgr, params));
    const RgbImage img = decode_image_file(path);
    REQUIRE(img.width == 7);
    REQUIRE(img.height == 5);
    for (int y = 0; y < 5; ++y) {
      for (int x = 0; x < 7; ++x) {
        const cv::Vec3b p = bgr.at<cv::Vec3b>(y, x);
        CHECK(rgb_of(img, x, y) == std::vector<uint8_t>{p[2], p[1], p[0]});
      }
    }
  }
}

TEST_CASE("grayscale JPEG decodes to replicated RGB", "[image][decode]") {
  const std::string dir = test::scratch_dir("image_decode_grayjpeg");
  cv::Mat gray(8, 8, CV_8UC1, cv::Scalar(90));
  const std::string path = dir + "/gray.jpg";
  REQUIRE(cv::imwrite(path, gray));
  const RgbImage img = decode_image_file(path);
  REQUIRE(img.width == 8);
  for (size_t i = 0; i < img.pixels.size(); i += 3) {
    CHECK(img.pixels[i] == img.pixels[i + 1]);
    CHECK(img.pixels[i] == img.pixels[i + 2]);
  }
}

TEST_CASE("progressive JPEG and JPEG with trailing bytes decode", "[image][decode]") {
  const std::string dir = test::scratch_dir("image_decode_jpeg_variants");
  cv::Mat bgr(40, 56, CV_8UC3);
  cv::randu(bgr, cv::Scalar::all(0), cv::Scalar::all(255));
  const std::string progressive = dir + "/progressive.jpg";
  REQUIRE(cv::imwrite(progressive, bgr, {cv::IMWRITE_JPEG_PROGRESSIVE, 1}));
  const RgbImage a = decode_image_file(progressive);
  CHECK(a.width == 56);
  CHECK(a.height == 40);

  auto bytes = read_bytes(test::golden("images/extreme_ironing.jpg"));
  const RgbImage reference = decode_image_bytes(bytes, "extreme_ironing.jpg");
  for (const char c : std::string("trailing garbage after EOI"))
    bytes.push_back(static_cast<uint8_t>(c));
  const RgbImage b = decode_image_bytes(bytes, "with_trailer.jpg");
  CHECK(b.pixels == reference.pixels);

  // Truncating a progressive JPEG anywhere inside its scans is detected as well.
  auto prog_bytes = read_bytes(progressive);
  prog_bytes.resize(prog_bytes.size() * 3 / 4);
  CHECK_THROWS_AS(decode_image_bytes(prog_bytes, "progressive-truncated.jpg"), Error);
}

TEST_CASE("bad image input raises adallava::Error naming the file", "[image][decode][errors]") {
  const std::string dir = test::scratch_dir("image_decode_errors");

  SECTION("missing file") {
    expect_decode_error(dir + "/does_not_exist.jpg", "not found");
  }
  SECTION("directory instead of a file") {
    expect_decode_error(dir, "not found");
  }
  SECTION("empty file") {
    write_bytes(dir + "/empty.png", {});
    expect_decode_error(dir + "/empty.png", "empty");
  }
  SECTION("text file named .jpg") {
    const std::string text = "this is not an image\n";
    write_bytes(dir + "/text.jpg", std::vector<uint8_t>(text.begin(), text.end()));
    expect_decode_error(dir + "/text.jpg", "cannot decode");
  }
  SECTION("truncated PNG") {
    auto bytes = read_bytes(test::golden("images/synth_rgba.png"));
    for (const double keep : {0.1, 0.5, 0.9}) {
      INFO("kept fraction " << keep);
      bytes.resize(static_cast<size_t>(bytes.size() * keep));
      write_bytes(dir + "/truncated.png", bytes);
      expect_decode_error(dir + "/truncated.png", "cannot decode");
    }
  }
  SECTION("truncated JPEG") {
    auto bytes = read_bytes(test::golden("images/extreme_ironing.jpg"));
    bytes.resize(bytes.size() / 2);
    write_bytes(dir + "/truncated.jpg", bytes);
    expect_decode_error(dir + "/truncated.jpg", "truncated");
  }
  SECTION("PNG with corrupted image data") {
    auto bytes = read_bytes(test::golden("images/synth_gray.png"));
    for (size_t i = bytes.size() / 2; i < bytes.size() / 2 + 64; ++i) bytes[i] ^= 0x5A;
    write_bytes(dir + "/corrupt.png", bytes);
    expect_decode_error(dir + "/corrupt.png", "cannot decode");
  }
  SECTION("bytes API names the caller's label") {
    try {
      decode_image_bytes({'G', 'I', 'F'}, "shard-3/item-17");
      FAIL("no error");
    } catch (const Error& e) {
      CHECK_THAT(std::string(e.what()), Contains("shard-3/item-17"));
    }
  }
}
