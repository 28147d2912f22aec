// Tiny PNG writer for tests: builds files in colour types / bit depths OpenCV cannot write
// (palette, palette + tRNS, gray + alpha, 16-bit) so the decoder's PIL conventions can be checked
// without Python. Uses uncompressed (stored) deflate blocks; no filtering.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace adallava::test {

inline uint32_t png_crc32(const uint8_t* data, size_t n, uint32_t crc = 0xFFFFFFFFu) {
  for (size_t i = 0; i < n; ++i) {
    crc ^= data[i];
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
  }
  return crc;
}

inline void put_u32_be(std::vector<uint8_t>& out, uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<uint8_t>(v >> s));
}

inline void png_chunk(std::vector<uint8_t>& out, const char* type,
                      const std::vector<uint8_t>& payload) {
  put_u32_be(out, static_cast<uint32_t>(payload.size()));
  std::vector<uint8_t> body(type, type + 4);
  body.insert(body.end(), payload.begin(), payload.end());
  out.insert(out.end(), body.begin(), body.end());
  put_u32_be(out, png_crc32(body.data(), body.size()) ^ 0xFFFFFFFFu);
}

// `rows` holds the raw scanlines (without filter bytes), each ceil(width * bits_per_pixel / 8)
// bytes, 16-bit samples big-endian as PNG stores them.
inline std::vector<uint8_t> make_png(int width, int height, int bit_depth, int color_type,
                                     const std::vector<std::vector<uint8_t>>& rows,
                                     const std::vector<uint8_t>& palette_rgb = {},
                                     const std::vector<uint8_t>& trns = {}) {
  std::vector<uint8_t> out = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  std::vector<uint8_t> ihdr;
  put_u32_be(ihdr, static_cast<uint32_t>(width));
  put_u32_be(ihdr, static_cast<uint32_t>(height));
  ihdr.insert(ihdr.end(),
              {static_cast<uint8_t>(bit_depth), static_cast<uint8_t>(color_type), 0, 0, 0});
  png_chunk(out, "IHDR", ihdr);
  if (!palette_rgb.empty()) png_chunk(out, "PLTE", palette_rgb);
  if (!trns.empty()) png_chunk(out, "tRNS", trns);

  std::vector<uint8_t> raw;
  for (const auto& row : rows) {
    raw.push_back(0);  // filter type None
    raw.insert(raw.end(), row.begin(), row.end());
  }
  std::vector<uint8_t> z = {0x78, 0x01};
  size_t pos = 0;
  do {
    const size_t n = std::min<size_t>(65535, raw.size() - pos);
    const bool last = pos + n == raw.size();
    z.push_back(last ? 1 : 0);
    z.push_back(static_cast<uint8_t>(n & 0xFF));
    z.push_back(static_cast<uint8_t>(n >> 8));
    z.push_back(static_cast<uint8_t>(~n & 0xFF));
    z.push_back(static_cast<uint8_t>((~n >> 8) & 0xFF));
    z.insert(z.end(), raw.begin() + pos, raw.begin() + pos + n);
    pos += n;
  } while (pos < raw.size());
  uint32_t a = 1, b = 0;
  for (uint8_t v : raw) {
    a = (a + v) % 65521;
    b = (b + a) % 65521;
  }
  put_u32_be(z, (b << 16) | a);
  png_chunk(out, "IDAT", z);
  png_chunk(out, "IEND", {});
  return out;
}

}  // namespace adallava::test
