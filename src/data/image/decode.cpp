// Image decoding with OpenCV, converted to what PIL's Image.open(f).convert('RGB') yields.
//
// PIL conventions reproduced here (LLaVA loads every image that way):
//  * EXIF orientation is NOT applied: PIL exposes the stored pixel grid.
//  * Alpha (RGBA, LA, palette with tRNS) is dropped, never composited onto a background.
//  * Grayscale and palette images expand to RGB by replication / palette lookup (OpenCV's libpng
//    expansion yields the same values, including 1/2/4-bit gray scaled to 0..255).
//  * 16-bit PNGs: PIL opens 16-bit gray as mode "I" and its I->RGB conversion CLIPS to 255
//    (so most of a 16-bit gray image becomes white), while 16-bit RGB/RGBA/gray+alpha are
//    unpacked keeping the most significant byte. We do the same: single-channel 16-bit ->
//    min(v, 255); multi-channel 16-bit -> v >> 8.
//  * A truncated JPEG is an error (PIL raises "image file is truncated"; libjpeg would silently
//    fill the missing part with gray).
#include <cstring>
#include <fstream>
#include <iterator>
#include <limits>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include "common/error.h"
#include "common/files.h"
#include "data/image/preprocess.h"

namespace adallava::image {
namespace {

bool starts_with(const std::vector<uint8_t>& bytes, const char* magic, size_t n) {
  return bytes.size() >= n && std::memcmp(bytes.data(), magic, n) == 0;
}

bool is_jpeg(const std::vector<uint8_t>& bytes) {
  return starts_with(bytes, "\xFF\xD8\xFF", 3);
}

// Walks the JPEG marker structure and reports whether the End-Of-Image marker is reached before
// the data runs out. Segment lengths are honoured, so an EOI inside an embedded EXIF thumbnail
// does not count; inside entropy-coded scans, FF 00 (stuffing) and FF D0..D7 (restarts) are data.
bool jpeg_is_complete(const std::vector<uint8_t>& bytes) {
  const size_t n = bytes.size();
  size_t i = 2;  // after SOI
  while (i + 1 < n) {
    if (bytes[i] != 0xFF) {  // extraneous bytes between segments: libjpeg (and PIL) skip them
      ++i;
      continue;
    }
    const uint8_t marker = bytes[i + 1];
    if (marker == 0xFF) {  // fill byte
      ++i;
      continue;
    }
    if (marker == 0xD9) return true;
    if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7)) {  // parameterless markers
      i += 2;
      continue;
    }
    if (i + 3 >= n) return false;
    const size_t length = (size_t{bytes[i + 2]} << 8) | bytes[i + 3];
    i += 2 + length;
    if (marker == 0xDA) {  // start of scan: skip entropy-coded data up to the next real marker
      while (i + 1 < n) {
        if (bytes[i] == 0xFF && bytes[i + 1] != 0x00 &&
            !(bytes[i + 1] >= 0xD0 && bytes[i + 1] <= 0xD7)) {
          break;
        }
        ++i;
      }
    }
  }
  return false;
}

uint8_t to_u8(uint16_t v, bool single_channel) {
  if (single_channel) return static_cast<uint8_t>(v > 255 ? 255 : v);
  return static_cast<uint8_t>(v >> 8);
}

// Converts an OpenCV decode result (BGR order, 1/3/4 channels, 8 or 16 bit) to RGB.
RgbImage to_rgb(const cv::Mat& m, const std::string& name) {
  const int channels = m.channels();
  const int depth = m.depth();
  if (depth != CV_8U && depth != CV_16U) {
    fail("{}: unsupported pixel type (OpenCV depth {}); only 8- and 16-bit images are supported",
         name, depth);
  }
  if (channels != 1 && channels != 2 && channels != 3 && channels != 4) {
    fail("{}: unsupported number of channels {}", name, channels);
  }
  RgbImage out;
  out.width = m.cols;
  out.height = m.rows;
  out.pixels.resize(static_cast<size_t>(m.cols) * m.rows * 3);
  const bool single = channels <= 2;  // gray or gray+alpha
  const bool gray_clips = channels == 1;
  for (int y = 0; y < m.rows; ++y) {
    uint8_t* dst = &out.pixels[static_cast<size_t>(y) * m.cols * 3];
    for (int x = 0; x < m.cols; ++x) {
      uint8_t r, g, b;
      if (depth == CV_8U) {
        const uint8_t* p = m.ptr<uint8_t>(y) + static_cast<size_t>(x) * channels;
        if (single) {
          r = g = b = p[0];
        } else {
          b = p[0];
          g = p[1];
          r = p[2];
        }
      } else {
        const uint16_t* p = m.ptr<uint16_t>(y) + static_cast<size_t>(x) * channels;
        if (single) {
          r = g = b = to_u8(p[0], gray_clips);
        } else {
          b = to_u8(p[0], false);
          g = to_u8(p[1], false);
          r = to_u8(p[2], false);
        }
      }
      dst[3 * x + 0] = r;
      dst[3 * x + 1] = g;
      dst[3 * x + 2] = b;
    }
  }
  return out;
}

}  // namespace

RgbImage decode_image_bytes(const std::vector<uint8_t>& bytes, const std::string& name_for_errors) {
  const std::string& name = name_for_errors;
  if (bytes.empty()) fail("{}: empty image file", name);
  if (bytes.size() > static_cast<size_t>(std::numeric_limits<int>::max())) {
    fail("{}: image file too large ({} bytes)", name, bytes.size());
  }
  if (is_jpeg(bytes) && !jpeg_is_complete(bytes)) {
    fail("{}: truncated JPEG (data ends before the end-of-image marker)", name);
  }
  cv::Mat decoded;
  try {
    // OpenCV wraps the buffer without copying; imdecode only reads it.
    const cv::Mat buffer(1, static_cast<int>(bytes.size()), CV_8U,
                         const_cast<uint8_t*>(bytes.data()));
    decoded = cv::imdecode(buffer, cv::IMREAD_UNCHANGED | cv::IMREAD_IGNORE_ORIENTATION);
  } catch (const cv::Exception& e) {
    fail("{}: cannot decode image ({})", name, e.what());
  }
  if (decoded.empty() || decoded.cols <= 0 || decoded.rows <= 0) {
    fail("{}: cannot decode image (not a supported JPEG/PNG/BMP/WebP file, or corrupt/truncated)",
         name);
  }
  return to_rgb(decoded, name);
}

RgbImage decode_image_file(const std::string& path) {
  if (!file_exists(path)) fail("{}: image file not found", path);
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("{}: cannot open image file", path);
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                             std::istreambuf_iterator<char>());
  if (in.bad()) fail("{}: error while reading image file", path);
  return decode_image_bytes(bytes, path);
}

}  // namespace adallava::image
