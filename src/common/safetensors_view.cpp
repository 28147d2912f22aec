#include "common/safetensors_view.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>
#include <utility>

#include <nlohmann/json.hpp>

#include "common/error.h"

namespace adallava {

namespace {

// The reference implementation refuses headers above this size; so do we, before allocating.
constexpr uint64_t kMaxHeaderBytes = 100u * 1000u * 1000u;

struct DTypeInfo {
  StDType type;
  const char* name;
  size_t size;
};

constexpr DTypeInfo kDTypes[] = {
    {StDType::Bool, "BOOL", 1}, {StDType::U8, "U8", 1},   {StDType::I8, "I8", 1},
    {StDType::I16, "I16", 2},   {StDType::U16, "U16", 2}, {StDType::F16, "F16", 2},
    {StDType::BF16, "BF16", 2}, {StDType::I32, "I32", 4}, {StDType::U32, "U32", 4},
    {StDType::F32, "F32", 4},   {StDType::F64, "F64", 8}, {StDType::I64, "I64", 8},
    {StDType::U64, "U64", 8},
};

const DTypeInfo& dtype_info(StDType t) {
  for (const auto& info : kDTypes) {
    if (info.type == t) return info;
  }
  fail("safetensors: invalid dtype enum value {}", static_cast<int>(t));
}

std::string errno_text() {
  return std::strerror(errno);
}

float half_to_float(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  uint32_t exponent = (h >> 10) & 0x1fu;
  uint32_t mantissa = h & 0x3ffu;
  uint32_t bits;
  if (exponent == 0x1f) {  // inf / nan
    bits = sign | 0x7f800000u | (mantissa << 13);
  } else if (exponent != 0) {
    bits = sign | ((exponent + 112) << 23) | (mantissa << 13);
  } else if (mantissa == 0) {
    bits = sign;
  } else {  // subnormal half: renormalise into a normal float
    exponent = 113;
    while ((mantissa & 0x400u) == 0) {
      mantissa <<= 1;
      --exponent;
    }
    mantissa &= 0x3ffu;
    bits = sign | (exponent << 23) | (mantissa << 13);
  }
  float out;
  std::memcpy(&out, &bits, sizeof(out));
  return out;
}

float bf16_to_float(uint16_t b) {
  const uint32_t bits = static_cast<uint32_t>(b) << 16;
  float out;
  std::memcpy(&out, &bits, sizeof(out));
  return out;
}

// Data pointers may be unaligned (headers need not be padded), so every load goes via memcpy.
template <typename T>
T load_unaligned(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

// Reads a JSON integer as int64, rejecting floats and values beyond int64.
bool json_to_int64(const nlohmann::json& j, int64_t* out) {
  if (j.is_number_unsigned()) {
    const uint64_t u = j.get<uint64_t>();
    if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return false;
    *out = static_cast<int64_t>(u);
    return true;
  }
  if (j.is_number_integer()) {
    *out = j.get<int64_t>();
    return true;
  }
  return false;
}

uint64_t read_le_u64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

void parse_metadata(const std::string& path, const nlohmann::json& meta,
                    std::map<std::string, std::string>* out) {
  if (!meta.is_object()) fail("{}: safetensors __metadata__ is not a JSON object", path);
  for (const auto& [key, value] : meta.items()) {
    if (!value.is_string()) {
      fail(
          "{}: safetensors __metadata__ entry '{}' is not a string (metadata must map strings to "
          "strings)",
          path, key);
    }
    (*out)[key] = value.get<std::string>();
  }
}

struct Range {
  uint64_t begin, end;
  const std::string* name;
};

}  // namespace

StDType st_dtype_from_string(const std::string& s, const std::string& context) {
  for (const auto& info : kDTypes) {
    if (s == info.name) return info.type;
  }
  fail("{}: unknown safetensors dtype '{}'", context, s);
}

const char* st_dtype_name(StDType t) {
  return dtype_info(t).name;
}

size_t st_dtype_size(StDType t) {
  return dtype_info(t).size;
}

std::shared_ptr<SafetensorsFile> SafetensorsFile::open(const std::string& path) {
  std::shared_ptr<SafetensorsFile> file(new SafetensorsFile());
  file->path_ = path;

  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail("{}: cannot open safetensors file: {}", path, errno_text());
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const std::string why = errno_text();
    ::close(fd);
    fail("{}: cannot stat safetensors file: {}", path, why);
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    fail("{}: not a regular file", path);
  }
  const uint64_t file_size = static_cast<uint64_t>(st.st_size);
  if (file_size < 8) {
    ::close(fd);
    fail("{}: truncated safetensors file: {} bytes, shorter than the 8-byte header length", path,
         file_size);
  }
  void* map = ::mmap(nullptr, file_size, PROT_READ, MAP_PRIVATE, fd, 0);
  const std::string map_error = map == MAP_FAILED ? errno_text() : std::string();
  ::close(fd);  // the mapping keeps its own reference to the file
  if (map == MAP_FAILED) fail("{}: mmap failed: {}", path, map_error);
  // From here the destructor unmaps on any error thrown below.
  file->map_ = map;
  file->map_size_ = file_size;
  const auto* bytes = static_cast<const uint8_t*>(map);

  const uint64_t header_len = read_le_u64(bytes);
  if (header_len > kMaxHeaderBytes) {
    fail(
        "{}: safetensors header length {} exceeds the {} byte limit (corrupt or not a "
        "safetensors file)",
        path, header_len, kMaxHeaderBytes);
  }
  if (header_len > file_size - 8) {
    fail("{}: safetensors header length {} runs past the end of the file ({} bytes)", path,
         header_len, file_size);
  }
  const std::string header_text(reinterpret_cast<const char*>(bytes + 8), header_len);
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(header_text);
  } catch (const nlohmann::json::parse_error& e) {
    fail("{}: safetensors header is not valid JSON: {}", path, e.what());
  }
  if (!header.is_object()) {
    fail("{}: safetensors header is not a JSON object (got {})", path, header.type_name());
  }

  const uint8_t* data_start = bytes + 8 + header_len;
  const uint64_t data_size = file_size - 8 - header_len;
  std::vector<Range> ranges;
  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__") {
      parse_metadata(path, entry, &file->metadata_);
      continue;
    }
    if (!entry.is_object()) fail("{}: tensor '{}': header entry is not a JSON object", path, name);
    for (const char* key : {"dtype", "shape", "data_offsets"}) {
      if (!entry.contains(key)) fail("{}: tensor '{}': header entry has no '{}'", path, name, key);
    }
    const auto& dtype_json = entry.at("dtype");
    if (!dtype_json.is_string()) fail("{}: tensor '{}': dtype is not a string", path, name);
    StTensorView view;
    view.name = name;
    view.dtype = st_dtype_from_string(dtype_json.get<std::string>(),
                                      fmt::format("{}: tensor '{}'", path, name));

    const auto& shape_json = entry.at("shape");
    if (!shape_json.is_array()) fail("{}: tensor '{}': shape is not an array", path, name);
    // Element count computed with overflow checks so a hostile shape cannot wrap around.
    uint64_t numel = 1;
    bool overflow = false;
    for (const auto& dim_json : shape_json) {
      int64_t dim = 0;
      if (!json_to_int64(dim_json, &dim)) {
        fail("{}: tensor '{}': shape entry {} is not an integer", path, name, dim_json.dump());
      }
      if (dim < 0) fail("{}: tensor '{}': negative dimension {} in shape", path, name, dim);
      view.shape.push_back(dim);
      if (dim != 0 && numel > std::numeric_limits<uint64_t>::max() / static_cast<uint64_t>(dim)) {
        overflow = true;
      }
      numel *= static_cast<uint64_t>(dim);
    }
    const size_t itemsize = st_dtype_size(view.dtype);
    if (overflow || (numel != 0 && numel > std::numeric_limits<uint64_t>::max() / itemsize)) {
      fail("{}: tensor '{}': shape {} is too large", path, name, shape_json.dump());
    }
    const uint64_t expected_bytes = numel * itemsize;

    const auto& offsets_json = entry.at("data_offsets");
    int64_t begin = 0, end = 0;
    if (!offsets_json.is_array() || offsets_json.size() != 2 ||
        !json_to_int64(offsets_json[0], &begin) || !json_to_int64(offsets_json[1], &end)) {
      fail("{}: tensor '{}': data_offsets must be two integers, got {}", path, name,
           offsets_json.dump());
    }
    if (begin < 0 || end < 0) {
      fail("{}: tensor '{}': negative data_offsets [{}, {}]", path, name, begin, end);
    }
    if (begin > end) {
      fail("{}: tensor '{}': data_offsets begin {} is after end {}", path, name, begin, end);
    }
    if (static_cast<uint64_t>(end) > data_size) {
      fail(
          "{}: tensor '{}': data_offsets end {} is past the end of the data buffer ({} bytes; "
          "file truncated?)",
          path, name, end, data_size);
    }
    const uint64_t nbytes = static_cast<uint64_t>(end - begin);
    if (nbytes != expected_bytes) {
      fail("{}: tensor '{}': data_offsets [{}, {}] hold {} bytes but shape {} of {} needs {}", path,
           name, begin, end, nbytes, shape_json.dump(), st_dtype_name(view.dtype), expected_bytes);
    }
    view.data = data_start + begin;
    view.nbytes = static_cast<size_t>(nbytes);
    auto inserted = file->tensors_.emplace(name, std::move(view));
    ranges.push_back(
        {static_cast<uint64_t>(begin), static_cast<uint64_t>(end), &inserted.first->first});
  }

  std::sort(ranges.begin(), ranges.end(), [](const Range& a, const Range& b) {
    return a.begin != b.begin ? a.begin < b.begin : *a.name < *b.name;
  });
  // Empty tensors occupy no bytes and so cannot overlap anything.
  const Range* previous = nullptr;
  for (const auto& range : ranges) {
    if (range.begin == range.end) continue;
    if (previous != nullptr && range.begin < previous->end) {
      fail("{}: tensors '{}' [{}, {}] and '{}' [{}, {}] have overlapping data_offsets", path,
           *previous->name, previous->begin, previous->end, *range.name, range.begin, range.end);
    }
    previous = &range;
  }
  for (const auto& range : ranges) file->names_.push_back(*range.name);
  return file;
}

SafetensorsFile::~SafetensorsFile() {
  if (map_ != nullptr) ::munmap(map_, map_size_);
}

const StTensorView& SafetensorsFile::tensor(const std::string& name) const {
  auto it = tensors_.find(name);
  if (it == tensors_.end()) fail("{}: no tensor named '{}'", path_, name);
  return it->second;
}

std::vector<float> SafetensorsFile::read_as_float(const std::string& name) const {
  const StTensorView& view = tensor(name);
  const size_t itemsize = st_dtype_size(view.dtype);
  const size_t count = view.nbytes / itemsize;
  std::vector<float> out(count);
  const uint8_t* p = view.data;
  for (size_t i = 0; i < count; ++i, p += itemsize) {
    switch (view.dtype) {
      case StDType::Bool:
        out[i] = *p != 0 ? 1.0f : 0.0f;
        break;
      case StDType::U8:
        out[i] = static_cast<float>(*p);
        break;
      case StDType::I8:
        out[i] = static_cast<float>(static_cast<int8_t>(*p));
        break;
      case StDType::I16:
        out[i] = static_cast<float>(load_unaligned<int16_t>(p));
        break;
      case StDType::U16:
        out[i] = static_cast<float>(load_unaligned<uint16_t>(p));
        break;
      case StDType::F16:
        out[i] = half_to_float(load_unaligned<uint16_t>(p));
        break;
      case StDType::BF16:
        out[i] = bf16_to_float(load_unaligned<uint16_t>(p));
        break;
      case StDType::I32:
        out[i] = static_cast<float>(load_unaligned<int32_t>(p));
        break;
      case StDType::U32:
        out[i] = static_cast<float>(load_unaligned<uint32_t>(p));
        break;
      case StDType::F32:
        out[i] = load_unaligned<float>(p);
        break;
      case StDType::F64:
        out[i] = static_cast<float>(load_unaligned<double>(p));
        break;
      case StDType::I64:
        out[i] = static_cast<float>(load_unaligned<int64_t>(p));
        break;
      case StDType::U64:
        out[i] = static_cast<float>(load_unaligned<uint64_t>(p));
        break;
    }
  }
  return out;
}

void write_safetensors(const std::string& path, const std::map<std::string, StTensorData>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) {
    nlohmann::ordered_json meta = nlohmann::ordered_json::object();
    for (const auto& [key, value] : metadata) meta[key] = value;
    header["__metadata__"] = std::move(meta);
  }
  uint64_t offset = 0;
  for (const auto& [name, t] : tensors) {
    if (name == "__metadata__") fail("{}: '__metadata__' cannot be a tensor name", path);
    uint64_t numel = 1;
    for (int64_t dim : t.shape) {
      if (dim < 0) fail("{}: tensor '{}': negative dimension {} in shape", path, name, dim);
      numel *= static_cast<uint64_t>(dim);
    }
    const uint64_t expected = numel * st_dtype_size(t.dtype);
    if (expected != t.nbytes) {
      fail("{}: tensor '{}': {} bytes given but shape and dtype {} need {}", path, name, t.nbytes,
           st_dtype_name(t.dtype), expected);
    }
    if (t.nbytes != 0 && t.data == nullptr) fail("{}: tensor '{}': null data", path, name);
    nlohmann::ordered_json entry = nlohmann::ordered_json::object();
    entry["dtype"] = st_dtype_name(t.dtype);
    entry["shape"] = t.shape;
    entry["data_offsets"] = {offset, offset + t.nbytes};
    header[name] = std::move(entry);
    offset += t.nbytes;
  }
  std::string header_text = header.dump();
  // Space padding keeps the data buffer 8-byte aligned and is valid JSON whitespace.
  header_text.append((8 - header_text.size() % 8) % 8, ' ');

  const std::string tmp = path + ".tmp";
  std::FILE* out = std::fopen(tmp.c_str(), "wb");
  if (out == nullptr) fail("{}: cannot open for writing: {}", tmp, errno_text());
  bool ok = true;
  uint8_t length_bytes[8];
  uint64_t length = header_text.size();
  for (int i = 0; i < 8; ++i) length_bytes[i] = static_cast<uint8_t>(length >> (8 * i));
  ok = ok && std::fwrite(length_bytes, 1, 8, out) == 8;
  ok = ok && std::fwrite(header_text.data(), 1, header_text.size(), out) == header_text.size();
  for (const auto& [name, t] : tensors) {
    if (!ok) break;
    if (t.nbytes != 0) ok = std::fwrite(t.data, 1, t.nbytes, out) == t.nbytes;
  }
  const std::string write_error = ok ? std::string() : errno_text();
  if (std::fclose(out) != 0 && ok) {
    ok = false;
  }
  if (!ok) {
    std::remove(tmp.c_str());
    fail("{}: write failed: {}", tmp, write_error.empty() ? errno_text() : write_error);
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string why = errno_text();
    std::remove(tmp.c_str());
    fail("{}: cannot rename from {}: {}", path, tmp, why);
  }
}

}  // namespace adallava
