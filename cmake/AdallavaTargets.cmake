# Helpers that keep each module a small library of its own, so a target links only what it needs
# (the deployment runtime must never pull in the training code) and heavy torch headers are
# compiled once as a shared precompiled header.

# No target sets POSITION_INDEPENDENT_CODE: the precompiled header is only reused by targets
# compiled with identical code-model flags (Debian's gcc builds PIE by default).
# One object library owns the precompiled torch header; every torch-using target reuses it.
add_library(adallava_pch OBJECT ${CMAKE_SOURCE_DIR}/cmake/pch_anchor.cpp)
target_link_libraries(adallava_pch PUBLIC torch spdlog::spdlog nlohmann_json::nlohmann_json)
target_precompile_headers(adallava_pch PUBLIC ${CMAKE_SOURCE_DIR}/cmake/torch_pch.h)

# adallava_module(<name> DIR <src dir> [TORCH] [DEPS <targets>...])
# Builds every .cpp below DIR into the static library adallava_<name>.
function(adallava_module name)
  cmake_parse_arguments(ARG "TORCH" "DIR" "DEPS" ${ARGN})
  file(GLOB_RECURSE sources CONFIGURE_DEPENDS ${ARG_DIR}/*.cpp)
  if(NOT sources)
    message(FATAL_ERROR "module ${name}: no sources in ${ARG_DIR}")
  endif()
  add_library(adallava_${name} STATIC ${sources})
  target_include_directories(adallava_${name} PUBLIC ${CMAKE_SOURCE_DIR}/src)
  target_link_libraries(adallava_${name} PUBLIC ${ARG_DEPS})
  if(ARG_TORCH)
    target_link_libraries(adallava_${name} PUBLIC torch)
    target_precompile_headers(adallava_${name} REUSE_FROM adallava_pch)
  endif()
  set_property(GLOBAL APPEND PROPERTY ADALLAVA_MODULES ${name})
  if(ARG_TORCH)
    set_property(GLOBAL APPEND PROPERTY ADALLAVA_TORCH_MODULES ${name})
  endif()
endfunction()
