#include "data/synth/vocab.h"

#include "common/error.h"

namespace adallava::synth {

namespace {

const std::vector<std::string> kShapeNames = {"circle", "square",  "triangle",
                                              "star",   "hexagon", "cross"};
const std::vector<std::string> kShapePlurals = {"circles", "squares",  "triangles",
                                                "stars",   "hexagons", "crosses"};
const std::vector<std::string> kColourNames = {"red",    "green",  "blue",  "yellow",
                                               "purple", "orange", "white", "black"};
const std::array<Rgb, kNumColours> kColourRgb = {{{220, 30, 30},
                                                  {30, 170, 50},
                                                  {40, 70, 225},
                                                  {240, 220, 30},
                                                  {140, 45, 185},
                                                  {245, 135, 20},
                                                  {250, 250, 250},
                                                  {15, 15, 15}}};
const std::vector<std::string> kSizeNames = {"small", "big"};
const std::vector<std::string> kLetters = {"A", "B", "E", "H", "K", "M",
                                           "P", "R", "S", "T", "X", "Z"};
const std::vector<Rgb> kBackgrounds = {{150, 140, 118}, {118, 128, 146}, {132, 150, 132},
                                       {152, 128, 140}, {126, 126, 126}, {108, 140, 150},
                                       {160, 150, 140}, {140, 118, 110}};
const std::vector<std::string> kNumberWords = {"zero", "one",   "two",   "three", "four", "five",
                                               "six",  "seven", "eight", "nine",  "ten"};

template <typename E>
E lookup(const std::vector<std::string>& names, const std::string& name, const char* what,
         const std::string& context) {
  for (size_t i = 0; i < names.size(); ++i) {
    if (names[i] == name) return static_cast<E>(i);
  }
  fail("{}: unknown {} '{}'", context, what, name);
}

}  // namespace

const std::string& shape_name(Shape s) {
  return kShapeNames[static_cast<int>(s)];
}
const std::string& shape_plural(Shape s) {
  return kShapePlurals[static_cast<int>(s)];
}
const std::string& colour_name(Colour c) {
  return kColourNames[static_cast<int>(c)];
}
const std::string& size_name(SizeClass s) {
  return kSizeNames[static_cast<int>(s)];
}
Rgb colour_rgb(Colour c) {
  return kColourRgb[static_cast<int>(c)];
}

Shape shape_from_name(const std::string& name, const std::string& context) {
  return lookup<Shape>(kShapeNames, name, "shape", context);
}
Colour colour_from_name(const std::string& name, const std::string& context) {
  return lookup<Colour>(kColourNames, name, "colour", context);
}
SizeClass size_from_name(const std::string& name, const std::string& context) {
  return lookup<SizeClass>(kSizeNames, name, "size", context);
}

std::vector<Shape> all_shapes() {
  std::vector<Shape> out;
  for (int i = 0; i < kNumShapes; ++i) out.push_back(static_cast<Shape>(i));
  return out;
}
std::vector<Colour> all_colours() {
  std::vector<Colour> out;
  for (int i = 0; i < kNumColours; ++i) out.push_back(static_cast<Colour>(i));
  return out;
}
const std::vector<std::string>& shape_names() {
  return kShapeNames;
}
const std::vector<std::string>& colour_names() {
  return kColourNames;
}
const std::vector<std::string>& letter_names() {
  return kLetters;
}
const std::vector<Rgb>& background_palette() {
  return kBackgrounds;
}

const std::string& number_word(int n) {
  ADALLAVA_CHECK(n >= 0 && n < static_cast<int>(kNumberWords.size()),
                 "number_word: {} out of range", n);
  return kNumberWords[n];
}

}  // namespace adallava::synth
