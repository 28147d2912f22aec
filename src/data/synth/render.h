// Draws a Scene with fixed OpenCV primitives and our own noise, and encodes PNGs.
#pragma once

#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "data/synth/scene.h"

namespace adallava::synth {

struct RenderOptions {
  bool background = true;  // false: flat mid-gray canvas (tests count objects on it)
  bool noise = true;
  bool objects = true;
};

// 8-bit BGR image of the scene.
cv::Mat render_scene(const Scene& scene, const RenderOptions& options = {});

// PNG bytes with fixed encoder settings.
std::vector<unsigned char> encode_png(const cv::Mat& image);

}  // namespace adallava::synth
