// Stage-1 captions: every object of the scene, left to right, in a fixed short grammar.
#pragma once

#include <string>

#include "data/synth/scene.h"

namespace adallava::synth {

// e.g. "two small red circles, a big blue star and the letter K on a striped background."
std::string caption_scene(const Scene& scene);

}  // namespace adallava::synth
