#include "data/synth/caption.h"

#include <algorithm>
#include <map>
#include <vector>

namespace adallava::synth {

std::string caption_scene(const Scene& scene) {
  // Group identical-looking shapes, keep the left-to-right order of their first member.
  struct Group {
    std::string key;
    int first_x;
    int count;
    const SceneObject* object;
  };
  std::vector<Group> groups;
  for (const auto& o : scene.objects) {
    const std::string key =
        o.is_letter ? "letter " + o.letter
                    : size_name(o.size) + " " + colour_name(o.colour) + " " + shape_name(o.shape);
    auto it =
        std::find_if(groups.begin(), groups.end(), [&](const Group& g) { return g.key == key; });
    if (it == groups.end()) {
      groups.push_back({key, o.x, 1, &o});
    } else {
      it->count++;
      it->first_x = std::min(it->first_x, o.x);
    }
  }
  std::stable_sort(groups.begin(), groups.end(),
                   [](const Group& a, const Group& b) { return a.first_x < b.first_x; });
  std::vector<std::string> parts;
  for (const auto& g : groups) {
    const SceneObject& o = *g.object;
    if (o.is_letter) {
      parts.push_back("the letter " + o.letter);
    } else if (g.count == 1) {
      parts.push_back("a " + size_name(o.size) + " " + colour_name(o.colour) + " " +
                      shape_name(o.shape));
    } else {
      parts.push_back(number_word(g.count) + " " + size_name(o.size) + " " + colour_name(o.colour) +
                      " " + shape_plural(o.shape));
    }
  }
  std::string text;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) text += i + 1 == parts.size() ? " and " : ", ";
    text += parts[i];
  }
  static const char* kBackgroundWords[] = {"plain", "gradient", "striped"};
  text += " on a ";
  text += kBackgroundWords[static_cast<int>(scene.background.kind)];
  text += " background.";
  text[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(text[0])));
  return text;
}

}  // namespace adallava::synth
