// Process-wide compute settings: intra-op threads and a check of the BLAS LibTorch calls.
#pragma once

#include <string>

namespace adallava {

// Sets LibTorch's intra-op thread count (0 = all cores; LibTorch starts at 1 on Debian's build),
// and warns once when the reference BLAS is the libblas.so.3 in use.
void configure_compute(int threads);

// The resolved path of the loaded libblas.so.3 (empty when none is loaded).
std::string loaded_blas_library();
bool reference_blas_active();

}  // namespace adallava
