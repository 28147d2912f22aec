// A small SVG writer for the accuracy-cost figure (AdaLLaVA's accuracy-vs-FLOPs style): one
// panel per benchmark, one line per adaptive model across its budgets, static baselines as
// single diamond markers, a shared legend. No dependencies; the output is plain SVG 1.1.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace adallava::eval {

struct PlotSeries {
  std::string label;
  bool curve = true;                              // false: a static baseline drawn as markers only
  std::vector<std::pair<double, double>> points;  // (x, y); drawn sorted by x
};

struct PlotPanel {
  std::string title;
  std::string x_label;
  std::string y_label;
  std::vector<PlotSeries> series;
};

// Series with the same label share a colour across panels.
std::string render_svg(const std::vector<PlotPanel>& panels, const std::string& title);

// Round tick positions covering [lo, hi] (about `target` of them).
std::vector<double> nice_ticks(double lo, double hi, int target = 5);

// "1.5", "0.25", "1e+03": short labels for ticks.
std::string tick_label(double value);

// XML-escaped text.
std::string xml_escape(const std::string& text);

}  // namespace adallava::eval
