// The closed vocabulary of the synthetic suite: object colours, shapes, sizes and letters. Kept
// tiny and regular on purpose so a small tokenizer and a small LLM can cover it.
#pragma once

#include <array>
#include <string>
#include <vector>

namespace adallava::synth {

struct Rgb {
  int r, g, b;
};

enum class Shape { Circle, Square, Triangle, Star, Hexagon, Cross };
constexpr int kNumShapes = 6;

enum class Colour { Red, Green, Blue, Yellow, Purple, Orange, White, Black };
constexpr int kNumColours = 8;

enum class SizeClass { Small, Big };

const std::string& shape_name(Shape s);
const std::string& shape_plural(Shape s);
const std::string& colour_name(Colour c);
const std::string& size_name(SizeClass s);
Rgb colour_rgb(Colour c);

// Name -> enum; throw adallava::Error naming `context` for unknown names.
Shape shape_from_name(const std::string& name, const std::string& context);
Colour colour_from_name(const std::string& name, const std::string& context);
SizeClass size_from_name(const std::string& name, const std::string& context);

std::vector<Shape> all_shapes();
std::vector<Colour> all_colours();
const std::vector<std::string>& shape_names();
const std::vector<std::string>& colour_names();

// Letters that may be rendered; visually distinct in OpenCV's Hershey simplex font at ~15 px.
const std::vector<std::string>& letter_names();

// Muted mid-tone background colours: far from every object colour (including white and black)
// so object colours stay unambiguous on any background.
const std::vector<Rgb>& background_palette();

// Number words used in captions and in the human-answer variants ("two" for "2").
const std::string& number_word(int n);

}  // namespace adallava::synth
