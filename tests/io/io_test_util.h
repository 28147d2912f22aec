// Helpers shared by the io tests: golden listings, file bytes and running /usr/bin/python3.
#pragma once

#include <catch2/catch.hpp>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include <ATen/ATen.h>

#include "io/weights.h"
#include "support/paths.h"

namespace adallava::test {

struct ListedTensor {
  std::string name, dtype, shape;
};

// tensors_*.txt lines: name <TAB> dtype <TAB> [d0, d1, ...]
inline std::vector<ListedTensor> read_listing(const std::string& path) {
  std::ifstream in(path);
  REQUIRE(in.good());
  std::vector<ListedTensor> out;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    std::istringstream fields(line);
    ListedTensor t;
    std::getline(fields, t.name, '\t');
    std::getline(fields, t.dtype, '\t');
    std::getline(fields, t.shape);
    out.push_back(t);
  }
  return out;
}

inline std::string shape_text(at::IntArrayRef shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

inline std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in.good());
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

inline void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
  REQUIRE(out.good());
}

// Runs a Python script with /usr/bin/python3 and returns its stdout; fails the test on error.
inline std::string run_python(const std::string& script_path, const std::string& args) {
  const std::string command = "/usr/bin/python3 " + script_path + " " + args + " 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::string output;
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof(buffer), pipe)) > 0) output.append(buffer, n);
  const int status = pclose(pipe);
  INFO(command << "\n" << output);
  REQUIRE(status == 0);
  return output;
}

// Exact equality of two state dicts: names, dtypes, shapes and every element.
inline void require_same_state_dict(const io::StateDict& a, const io::StateDict& b) {
  REQUIRE(a.size() == b.size());
  auto ia = a.begin();
  auto ib = b.begin();
  for (; ia != a.end(); ++ia, ++ib) {
    INFO(ia->first);
    REQUIRE(ia->first == ib->first);
    REQUIRE(ia->second.scalar_type() == ib->second.scalar_type());
    REQUIRE(ia->second.sizes() == ib->second.sizes());
    REQUIRE(at::equal(ia->second, ib->second));
  }
}

}  // namespace adallava::test
