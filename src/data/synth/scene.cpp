#include "data/synth/scene.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include <opencv2/imgproc.hpp>

#include "common/error.h"

namespace adallava::synth {

std::vector<int> Scene::shape_indices() const {
  std::vector<int> out;
  for (size_t i = 0; i < objects.size(); ++i)
    if (!objects[i].is_letter) out.push_back(static_cast<int>(i));
  return out;
}

std::vector<int> Scene::letter_indices() const {
  std::vector<int> out;
  for (size_t i = 0; i < objects.size(); ++i)
    if (objects[i].is_letter) out.push_back(static_cast<int>(i));
  return out;
}

int shape_radius(SizeClass s, int size) {
  // 8 and 14 px at 96 px: the big/small distinction survives a 16 px ViT patch.
  const int base = s == SizeClass::Big ? 14 : 8;
  return std::max(2, (base * size + 48) / 96);
}

double shape_extent(Shape shape, int radius) {
  switch (shape) {
    case Shape::Square:
      return radius * 1.25;  // half-side 0.88 r, corner at 1.24 r
    case Shape::Triangle:
      return radius * 1.25;
    case Shape::Star:
      return radius * 1.2;
    case Shape::Hexagon:
      return radius * 1.08;
    case Shape::Cross:
      return radius * 1.08;
    case Shape::Circle:
    default:
      return radius;
  }
}

double letter_font_scale(int size) {
  return 0.7 * size / 96.0;
}
int letter_thickness(int size) {
  return std::max(1, (2 * size + 48) / 96);
}

namespace {

int letter_half_diagonal(const std::string& letter, int size) {
  int baseline = 0;
  cv::Size box = cv::getTextSize(letter, cv::FONT_HERSHEY_SIMPLEX, letter_font_scale(size),
                                 letter_thickness(size), &baseline);
  const double d = std::sqrt(double(box.width) * box.width + double(box.height) * box.height);
  return static_cast<int>(std::ceil(d / 2));
}

double object_extent(const SceneObject& o) {
  return o.is_letter ? o.radius : shape_extent(o.shape, o.radius);
}

// Places `o` at a random free position; false when 300 tries all collide.
bool place(Rng& rng, SceneObject& o, const std::vector<SceneObject>& placed, int size) {
  const double gap = 3.0 * size / 96.0;
  const int margin = static_cast<int>(std::ceil(object_extent(o) + gap / 2));
  if (2 * margin >= size) return false;
  for (int attempt = 0; attempt < 300; ++attempt) {
    o.x = rng.range(margin, size - 1 - margin);
    o.y = rng.range(margin, size - 1 - margin);
    bool free = true;
    for (const auto& p : placed) {
      const double dx = o.x - p.x, dy = o.y - p.y;
      const double need = object_extent(o) + object_extent(p) + gap;
      if (dx * dx + dy * dy < need * need) {
        free = false;
        break;
      }
    }
    if (free) return true;
  }
  return false;
}

Colour pick_colour(Rng& rng, const ScenePlan& plan) {
  if (plan.colour_weights.empty()) return static_cast<Colour>(rng.below(kNumColours));
  return static_cast<Colour>(rng.weighted(plan.colour_weights));
}

Shape pick_shape(Rng& rng, const ScenePlan& plan, const std::vector<Shape>& excluded) {
  std::vector<double> w(kNumShapes, 1.0);
  if (!plan.shape_weights.empty()) w = plan.shape_weights;
  for (Shape s : excluded) w[static_cast<int>(s)] = 0;
  return static_cast<Shape>(rng.weighted(w));
}

Background sample_background(Rng& rng, int size) {
  Background bg;
  const auto& palette = background_palette();
  const int kind = static_cast<int>(rng.weighted({0.4, 0.3, 0.3}));
  bg.kind = static_cast<BackgroundKind>(kind);
  const size_t a = rng.below(palette.size());
  size_t b = rng.below(palette.size() - 1);
  if (b >= a) ++b;
  bg.first = palette[a];
  bg.second = bg.kind == BackgroundKind::Plain ? palette[a] : palette[b];
  bg.orientation = bg.kind == BackgroundKind::Stripes ? rng.range(0, 2) : rng.range(0, 1);
  bg.period = std::max(2, rng.range(8, 16) * size / 96);
  return bg;
}

int distinct_pairs(const std::vector<SceneObject>& objects) {
  std::vector<int> keys;
  for (const auto& o : objects)
    if (!o.is_letter)
      keys.push_back(static_cast<int>(o.colour) * kNumShapes + static_cast<int>(o.shape));
  std::sort(keys.begin(), keys.end());
  return static_cast<int>(std::unique(keys.begin(), keys.end()) - keys.begin());
}

}  // namespace

Scene sample_scene(Rng& rng, int size, const ScenePlan& plan) {
  ADALLAVA_CHECK(size >= 32 && size <= 1024, "synthetic image size {} outside [32, 1024]", size);
  Scene scene;
  scene.width = scene.height = size;
  scene.background = sample_background(rng, size);
  scene.noise_amplitude = 8;
  scene.noise_seed = rng.next_u64();

  // Letter count: the plan's, else mostly none (letters then serve as distractors and anchors).
  int letters = plan.letters;
  if (letters < 0) letters = static_cast<int>(rng.weighted({0.6, 0.25, 0.15}));

  for (int attempt = 0; attempt < 200; ++attempt) {
    std::vector<SceneObject> objects;
    // A group of k objects sharing a shape or a colour gives count questions answers 1..5;
    // larger groups are drawn more often because the other objects already supply many 1s.
    const int k = plan.group_size > 0
                      ? std::min(plan.group_size, 5)
                      : 1 + static_cast<int>(rng.weighted({1.0, 1.0, 1.2, 1.4, 1.6}));
    const bool same_colour_group = plan.group_mode >= 0 ? plan.group_mode == 1 : rng.chance(0.4);
    const Shape group_shape = pick_shape(rng, plan, {});
    const Colour group_colour = pick_colour(rng, plan);
    std::vector<Shape> used_shapes = {group_shape};
    for (int i = 0; i < k; ++i) {
      SceneObject o;
      o.shape = same_colour_group ? pick_shape(rng, plan, {}) : group_shape;
      o.colour = same_colour_group ? group_colour : pick_colour(rng, plan);
      o.size = rng.chance(0.5) ? SizeClass::Big : SizeClass::Small;
      if (same_colour_group) used_shapes.push_back(o.shape);
      objects.push_back(o);
    }
    const int singles = rng.range(1, 3);
    for (int i = 0; i < singles && static_cast<int>(used_shapes.size()) < kNumShapes; ++i) {
      SceneObject o;
      o.shape = pick_shape(rng, plan, used_shapes);
      used_shapes.push_back(o.shape);
      o.colour = pick_colour(rng, plan);
      if (same_colour_group && o.colour == group_colour)
        o.colour = static_cast<Colour>(
            (static_cast<int>(o.colour) + 1 + rng.below(kNumColours - 1)) % kNumColours);
      o.size = rng.chance(0.5) ? SizeClass::Big : SizeClass::Small;
      objects.push_back(o);
    }
    if (distinct_pairs(objects) < plan.min_distinct_objects) continue;
    std::vector<std::string> letter_pool = letter_names();
    rng.shuffle(letter_pool);
    for (int i = 0; i < letters; ++i) {
      SceneObject o;
      o.is_letter = true;
      o.letter = letter_pool[i];
      o.colour = rng.chance(0.5) ? Colour::White : Colour::Black;
      o.radius = letter_half_diagonal(o.letter, size);
      objects.push_back(o);
    }
    // Crowded scenes fall back to small shapes after a few failed layouts.
    const bool shrink = attempt >= 20;
    for (auto& o : objects) {
      if (o.is_letter) continue;
      if (shrink) o.size = SizeClass::Small;
      o.radius = shape_radius(o.size, size);
    }
    // Letters and big shapes first: they are the hardest to fit.
    std::vector<size_t> order(objects.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
      return object_extent(objects[a]) > object_extent(objects[b]);
    });
    std::vector<SceneObject> placed;
    bool ok = true;
    for (size_t i : order) {
      SceneObject o = objects[i];
      if (!place(rng, o, placed, size)) {
        ok = false;
        break;
      }
      placed.push_back(o);
    }
    if (!ok) continue;
    rng.shuffle(placed);  // object order carries no information
    scene.objects = placed;
    return scene;
  }
  fail("synthetic scene: could not place the objects on a {} px canvas (image size too small?)",
       size);
}

namespace {

nlohmann::ordered_json rgb_json(Rgb c) {
  return nlohmann::ordered_json::array({c.r, c.g, c.b});
}

Rgb rgb_from_json(const nlohmann::json& j, const std::string& context) {
  ADALLAVA_CHECK(j.is_array() && j.size() == 3, "{}: colour must be [r, g, b]", context);
  Rgb c{j[0].get<int>(), j[1].get<int>(), j[2].get<int>()};
  for (int v : {c.r, c.g, c.b})
    ADALLAVA_CHECK(v >= 0 && v <= 255, "{}: colour value {} outside 0..255", context, v);
  return c;
}

const char* kBackgroundKinds[] = {"plain", "gradient", "stripes"};

}  // namespace

nlohmann::ordered_json scene_to_json(const Scene& scene) {
  nlohmann::ordered_json j;
  j["width"] = scene.width;
  j["height"] = scene.height;
  nlohmann::ordered_json bg;
  bg["kind"] = kBackgroundKinds[static_cast<int>(scene.background.kind)];
  bg["first"] = rgb_json(scene.background.first);
  bg["second"] = rgb_json(scene.background.second);
  bg["orientation"] = scene.background.orientation;
  bg["period"] = scene.background.period;
  j["background"] = bg;
  j["noise_amplitude"] = scene.noise_amplitude;
  char seed[17];
  std::snprintf(seed, sizeof seed, "%016llx", static_cast<unsigned long long>(scene.noise_seed));
  j["noise_seed"] = seed;  // hex: JSON readers that use doubles would round a 64-bit integer
  j["objects"] = nlohmann::ordered_json::array();
  for (const auto& o : scene.objects) {
    nlohmann::ordered_json oj;
    if (o.is_letter) {
      oj["kind"] = "letter";
      oj["letter"] = o.letter;
    } else {
      oj["kind"] = "shape";
      oj["shape"] = shape_name(o.shape);
      oj["size"] = size_name(o.size);
    }
    oj["color"] = colour_name(o.colour);
    oj["x"] = o.x;
    oj["y"] = o.y;
    oj["radius"] = o.radius;
    j["objects"].push_back(oj);
  }
  return j;
}

Scene scene_from_json(const nlohmann::json& j, const std::string& context) {
  try {
    Scene s;
    s.width = j.at("width").get<int>();
    s.height = j.at("height").get<int>();
    ADALLAVA_CHECK(s.width >= 32 && s.width <= 1024 && s.height == s.width,
                   "{}: scene size {}x{} not a square of 32..1024 px", context, s.width, s.height);
    const auto& bg = j.at("background");
    const std::string kind = bg.at("kind").get<std::string>();
    int k = -1;
    for (int i = 0; i < 3; ++i)
      if (kind == kBackgroundKinds[i]) k = i;
    ADALLAVA_CHECK(k >= 0, "{}: unknown background kind '{}'", context, kind);
    s.background.kind = static_cast<BackgroundKind>(k);
    s.background.first = rgb_from_json(bg.at("first"), context);
    s.background.second = rgb_from_json(bg.at("second"), context);
    s.background.orientation = bg.at("orientation").get<int>();
    s.background.period = bg.at("period").get<int>();
    ADALLAVA_CHECK(s.background.period >= 1, "{}: stripe period must be positive", context);
    s.noise_amplitude = j.at("noise_amplitude").get<int>();
    ADALLAVA_CHECK(s.noise_amplitude >= 0 && s.noise_amplitude <= 64,
                   "{}: noise amplitude {} outside 0..64", context, s.noise_amplitude);
    s.noise_seed = std::stoull(j.at("noise_seed").get<std::string>(), nullptr, 16);
    for (const auto& oj : j.at("objects")) {
      SceneObject o;
      const std::string okind = oj.at("kind").get<std::string>();
      if (okind == "letter") {
        o.is_letter = true;
        o.letter = oj.at("letter").get<std::string>();
        ADALLAVA_CHECK(!o.letter.empty(), "{}: empty letter", context);
      } else if (okind == "shape") {
        o.shape = shape_from_name(oj.at("shape").get<std::string>(), context);
        o.size = size_from_name(oj.at("size").get<std::string>(), context);
      } else {
        fail("{}: unknown object kind '{}'", context, okind);
      }
      o.colour = colour_from_name(oj.at("color").get<std::string>(), context);
      o.x = oj.at("x").get<int>();
      o.y = oj.at("y").get<int>();
      o.radius = oj.at("radius").get<int>();
      s.objects.push_back(o);
    }
    return s;
  } catch (const nlohmann::json::exception& e) {
    fail("{}: malformed scene: {}", context, e.what());
  } catch (const std::invalid_argument&) {
    fail("{}: malformed scene: noise_seed is not hexadecimal", context);
  } catch (const std::out_of_range&) {
    fail("{}: malformed scene: noise_seed out of range", context);
  }
}

}  // namespace adallava::synth
