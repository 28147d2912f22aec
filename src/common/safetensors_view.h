// Torch-free, validated view of a safetensors file (memory-mapped).
//
// Format: 8-byte little-endian header length N, N bytes of JSON, then the data buffer. Every
// check happens in open(), before any tensor data is touched: header length within the file,
// JSON valid and an object, known dtype strings, shapes non-negative, data_offsets inside the
// data buffer, sized exactly prod(shape) * itemsize, and not overlapping one another.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace adallava {

enum class StDType { Bool, U8, I8, I16, U16, F16, BF16, I32, U32, F32, F64, I64, U64 };

// "F32" -> StDType::F32; throws adallava::Error naming `context` for unknown strings.
StDType st_dtype_from_string(const std::string& s, const std::string& context);
const char* st_dtype_name(StDType t);
size_t st_dtype_size(StDType t);

struct StTensorView {
  std::string name;
  StDType dtype;
  std::vector<int64_t> shape;
  const uint8_t* data = nullptr;  // points into the mapping; valid while the file is alive
  size_t nbytes = 0;
};

class SafetensorsFile {
 public:
  // Maps and validates `path`; throws adallava::Error naming the file and the problem.
  static std::shared_ptr<SafetensorsFile> open(const std::string& path);
  ~SafetensorsFile();
  SafetensorsFile(const SafetensorsFile&) = delete;
  SafetensorsFile& operator=(const SafetensorsFile&) = delete;

  const std::string& path() const { return path_; }
  // Tensor names in file order of their data offsets.
  const std::vector<std::string>& names() const { return names_; }
  bool contains(const std::string& name) const { return tensors_.count(name) != 0; }
  // Throws adallava::Error naming the file when `name` is absent.
  const StTensorView& tensor(const std::string& name) const;
  const std::map<std::string, std::string>& metadata() const { return metadata_; }

  // Copies a tensor out as float32 (converting F16/BF16/F64/integers); for tests and small data.
  std::vector<float> read_as_float(const std::string& name) const;

 private:
  SafetensorsFile() = default;
  std::string path_;
  void* map_ = nullptr;
  size_t map_size_ = 0;
  std::vector<std::string> names_;
  std::map<std::string, StTensorView> tensors_;
  std::map<std::string, std::string> metadata_;
};

// Writes a safetensors file (header padded to 8 bytes as the reference writer does) through a
// temporary file and rename. `tensors` are written in name order.
struct StTensorData {
  StDType dtype;
  std::vector<int64_t> shape;
  const void* data;
  size_t nbytes;
};
void write_safetensors(const std::string& path, const std::map<std::string, StTensorData>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

}  // namespace adallava
