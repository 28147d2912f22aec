// A scene is the complete description of one synthetic image: background, noise seed and the
// objects (shapes and rendered letters) with their pixel positions. Rendering is a pure function
// of it, and every answer is computed from it, so answers are correct by construction.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/synth/rng.h"
#include "data/synth/vocab.h"

namespace adallava::synth {

enum class BackgroundKind { Plain, Gradient, Stripes };

struct Background {
  BackgroundKind kind = BackgroundKind::Plain;
  Rgb first{128, 128, 128};
  Rgb second{128, 128, 128};
  int orientation = 0;  // 0 horizontal, 1 vertical, 2 diagonal (gradients use 0/1)
  int period = 12;      // stripe period in pixels
};

struct SceneObject {
  bool is_letter = false;
  Shape shape = Shape::Circle;        // shapes only
  SizeClass size = SizeClass::Small;  // shapes only
  Colour colour = Colour::Red;        // letters are white or black
  std::string letter;                 // letters only
  int x = 0, y = 0;                   // centre, pixels
  int radius = 0;                     // shapes: nominal radius; letters: half the box diagonal
};

struct Scene {
  int width = 96, height = 96;
  Background background;
  int noise_amplitude = 8;  // uniform per-channel noise in [-a, a]
  uint64_t noise_seed = 0;
  std::vector<SceneObject> objects;

  std::vector<int> shape_indices() const;
  std::vector<int> letter_indices() const;
};

// Requirements a question plan puts on the scene sampler.
struct ScenePlan {
  int letters = -1;              // exact number of letters (0..2), or -1 for the default mix
  int min_distinct_objects = 0;  // distinct (colour, shape) pairs among shapes
  int group_size = 0;            // size of the same-shape or same-colour group (1..5), 0 = random
  int group_mode = -1;           // 0 same shape, 1 same colour, -1 random
  std::vector<double> colour_weights;  // empty = uniform
  std::vector<double> shape_weights;   // empty = uniform
};

// Samples a non-overlapping scene on a `size` x `size` canvas.
Scene sample_scene(Rng& rng, int size, const ScenePlan& plan);

// Geometry constants shared by the sampler and the renderer, in pixels for a canvas of `size`.
int shape_radius(SizeClass s, int size);
// Radius of the circle enclosing the drawn shape (used for the no-overlap rule).
double shape_extent(Shape shape, int radius);
double letter_font_scale(int size);
int letter_thickness(int size);

nlohmann::ordered_json scene_to_json(const Scene& scene);
// Parses what scene_to_json wrote; throws adallava::Error naming `context` on bad input.
Scene scene_from_json(const nlohmann::json& j, const std::string& context);

}  // namespace adallava::synth
