// A tiny synthetic suite shared by the eval tests (generated once per test executable).
#pragma once

#include <string>

#include "data/synth/generator.h"
#include "support/paths.h"

namespace adallava::test {

inline const std::string& tiny_synth_suite() {
  static const std::string dir = [] {
    const std::string d = scratch_dir("eval-synth-tiny");
    synth::SynthOptions o;
    o.out_dir = d;
    o.size = "tiny";
    synth::generate_suite(o);
    return d;
  }();
  return dir;
}

}  // namespace adallava::test
