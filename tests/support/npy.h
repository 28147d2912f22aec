// Minimal, torch-free reader for NumPy .npy files (format 1.0/2.0/3.0) holding little-endian,
// C-ordered float32, float64, int64, int32 or uint8 arrays. Enough for tests that compare against
// reference arrays; anything else is rejected with a message naming the file.
#pragma once

#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <vector>

namespace adallava::test {

struct NpyArray {
  std::string descr;  // e.g. "<f4"
  std::vector<int64_t> shape;
  std::vector<uint8_t> data;  // raw little-endian bytes

  int64_t numel() const {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    return n;
  }
  std::vector<float> as_float() const {
    std::vector<float> out(static_cast<size_t>(numel()));
    for (size_t i = 0; i < out.size(); ++i) {
      if (descr == "<f4") {
        std::memcpy(&out[i], &data[i * 4], 4);
      } else if (descr == "<f8") {
        double v;
        std::memcpy(&v, &data[i * 8], 8);
        out[i] = static_cast<float>(v);
      } else if (descr == "<i8") {
        int64_t v;
        std::memcpy(&v, &data[i * 8], 8);
        out[i] = static_cast<float>(v);
      } else if (descr == "<i4") {
        int32_t v;
        std::memcpy(&v, &data[i * 4], 4);
        out[i] = static_cast<float>(v);
      } else {
        out[i] = data[i];
      }
    }
    return out;
  }
  std::vector<int64_t> as_int64() const {
    std::vector<int64_t> out(static_cast<size_t>(numel()));
    for (size_t i = 0; i < out.size(); ++i) {
      if (descr == "<i8") {
        std::memcpy(&out[i], &data[i * 8], 8);
      } else if (descr == "<i4") {
        int32_t v;
        std::memcpy(&v, &data[i * 4], 4);
        out[i] = v;
      } else if (descr == "|u1") {
        out[i] = data[i];
      } else {
        throw std::runtime_error("npy: as_int64 on non-integer dtype " + descr);
      }
    }
    return out;
  }
};

namespace npy_detail {
// Value of 'key' in the header dict, from just after "'key':" to the next top-level ',' or '}'.
inline std::string dict_value(const std::string& header, const std::string& key,
                              const std::string& path) {
  const std::string quoted = "'" + key + "'";
  size_t pos = header.find(quoted);
  if (pos == std::string::npos) throw std::runtime_error(path + ": npy header lacks " + quoted);
  pos = header.find(':', pos + quoted.size());
  if (pos == std::string::npos) throw std::runtime_error(path + ": malformed npy header");
  ++pos;
  int depth = 0;
  size_t end = pos;
  for (; end < header.size(); ++end) {
    const char c = header[end];
    if (c == '(') ++depth;
    if (c == ')') --depth;
    if (depth == 0 && (c == ',' || c == '}')) break;
  }
  std::string v = header.substr(pos, end - pos);
  const size_t b = v.find_first_not_of(" "), e = v.find_last_not_of(" ");
  return b == std::string::npos ? "" : v.substr(b, e - b + 1);
}
}  // namespace npy_detail

inline NpyArray read_npy(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path + ": cannot open .npy file");
  const std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                                   std::istreambuf_iterator<char>());
  if (bytes.size() < 10 || std::memcmp(bytes.data(), "\x93NUMPY", 6) != 0) {
    throw std::runtime_error(path + ": not a .npy file");
  }
  const int major = bytes[6];
  size_t header_len = 0, header_start = 0;
  if (major == 1) {
    header_len = bytes[8] | (bytes[9] << 8);
    header_start = 10;
  } else {
    if (bytes.size() < 12) throw std::runtime_error(path + ": truncated .npy header");
    header_len = bytes[8] | (bytes[9] << 8) | (bytes[10] << 16) | (size_t{bytes[11]} << 24);
    header_start = 12;
  }
  if (header_start + header_len > bytes.size()) throw std::runtime_error(path + ": truncated .npy");
  const std::string header(bytes.begin() + header_start, bytes.begin() + header_start + header_len);

  NpyArray arr;
  std::string descr = npy_detail::dict_value(header, "descr", path);
  if (descr.size() >= 2) descr = descr.substr(1, descr.size() - 2);  // strip quotes
  arr.descr = descr;
  size_t itemsize = 0;
  if (descr == "<f4" || descr == "<i4")
    itemsize = 4;
  else if (descr == "<f8" || descr == "<i8")
    itemsize = 8;
  else if (descr == "|u1")
    itemsize = 1;
  else
    throw std::runtime_error(path + ": unsupported npy dtype " + descr);
  if (npy_detail::dict_value(header, "fortran_order", path) != "False") {
    throw std::runtime_error(path + ": Fortran-ordered arrays are not supported");
  }
  std::string shape = npy_detail::dict_value(header, "shape", path);
  size_t i = 0;
  while (i < shape.size()) {
    if (shape[i] >= '0' && shape[i] <= '9') {
      int64_t v = 0;
      while (i < shape.size() && shape[i] >= '0' && shape[i] <= '9')
        v = v * 10 + (shape[i++] - '0');
      arr.shape.push_back(v);
    } else {
      ++i;
    }
  }
  const size_t nbytes = static_cast<size_t>(arr.numel()) * itemsize;
  const size_t data_start = header_start + header_len;
  if (bytes.size() - data_start != nbytes) {
    throw std::runtime_error(path + ": .npy data size does not match its shape");
  }
  arr.data.assign(bytes.begin() + data_start, bytes.end());
  return arr;
}

}  // namespace adallava::test
