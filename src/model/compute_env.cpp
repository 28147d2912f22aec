#include "model/compute_env.h"

#include <link.h>

#include <climits>
#include <cstdlib>
#include <string>
#include <thread>

#include <ATen/Parallel.h>
#include <spdlog/spdlog.h>

namespace adallava {

namespace {
int find_blas(struct dl_phdr_info* info, size_t, void* out) {
  std::string name = info->dlpi_name ? info->dlpi_name : "";
  if (name.find("libblas.so") != std::string::npos ||
      name.find("libopenblas") != std::string::npos) {
    char resolved[PATH_MAX];
    if (realpath(name.c_str(), resolved)) {
      *static_cast<std::string*>(out) = resolved;
      return 1;
    }
  }
  return 0;
}
}  // namespace

std::string loaded_blas_library() {
  std::string path;
  dl_iterate_phdr(find_blas, &path);
  return path;
}

bool reference_blas_active() {
  const std::string path = loaded_blas_library();
  // Debian's reference BLAS lives in .../blas/libblas.so.3; OpenBLAS in .../openblas-*/.
  return !path.empty() && path.find("openblas") == std::string::npos &&
         path.find("blis") == std::string::npos && path.find("mkl") == std::string::npos;
}

void configure_compute(int threads) {
  if (threads <= 0) {
    threads = static_cast<int>(std::thread::hardware_concurrency());
    if (threads <= 0) threads = 1;
  }
  at::set_num_threads(threads);
  spdlog::debug("[compute] intra-op threads: {}", at::get_num_threads());
  static bool warned = false;
  if (!warned && reference_blas_active()) {
    warned = true;
    spdlog::warn(
        "[compute] LibTorch is using the reference BLAS ({}): float32 matmuls run about 30x "
        "slower. Install libopenblas0-openmp (scripts/setup.sh does) to fix this.",
        loaded_blas_library());
  }
}

}  // namespace adallava
