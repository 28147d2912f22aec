#include "eval/runner/svg_plot.h"

#include <algorithm>
#include <cmath>
#include <map>

#include <fmt/format.h>

namespace adallava::eval {
namespace {

const char* const kPalette[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e",
                                "#9467bd", "#8c564b", "#e377c2", "#17becf"};

constexpr double kPanelWidth = 300, kPanelHeight = 240;
constexpr double kLeft = 52, kRight = 12, kTop = 28, kBottom = 42;

struct Range {
  double lo = 0, hi = 1;
};

Range padded_range(std::vector<double> values) {
  if (values.empty()) return {0, 1};
  const auto [mn, mx] = std::minmax_element(values.begin(), values.end());
  double lo = *mn, hi = *mx;
  if (hi - lo < 1e-12 * std::max(1.0, std::abs(hi))) {
    const double pad = std::max(std::abs(hi) * 0.05, 1e-9);
    return {lo - pad, hi + pad};
  }
  const double pad = (hi - lo) * 0.08;
  return {lo - pad, hi + pad};
}

std::string marker(double x, double y, const char* colour, bool diamond) {
  if (diamond) {
    return fmt::format(
        "<path d=\"M{:.2f},{:.2f} l5,5 l-5,5 l-5,-5 z\" fill=\"{}\" stroke=\"black\" "
        "stroke-width=\"0.6\"/>\n",
        x, y - 5, colour);
  }
  return fmt::format("<circle cx=\"{:.2f}\" cy=\"{:.2f}\" r=\"3.2\" fill=\"{}\"/>\n", x, y, colour);
}

}  // namespace

std::string xml_escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

std::vector<double> nice_ticks(double lo, double hi, int target) {
  if (!(hi > lo) || !std::isfinite(lo) || !std::isfinite(hi)) return {lo};
  const double raw = (hi - lo) / std::max(1, target);
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  double step = magnitude;
  for (double m : {1.0, 2.0, 2.5, 5.0, 10.0}) {
    step = m * magnitude;
    if (step >= raw) break;
  }
  std::vector<double> ticks;
  for (double t = std::ceil(lo / step) * step; t <= hi + step * 1e-9; t += step)
    ticks.push_back(std::abs(t) < step * 1e-9 ? 0.0 : t);
  return ticks;
}

std::string tick_label(double value) {
  if (value == 0) return "0";
  const double a = std::abs(value);
  if (a >= 1e5 || a < 1e-3) return fmt::format("{:.3g}", value);
  return fmt::format("{:.6g}", std::round(value * 1e6) / 1e6);
}

std::string render_svg(const std::vector<PlotPanel>& panels, const std::string& title) {
  std::map<std::string, const char*> colours;
  std::vector<std::pair<std::string, bool>> legend;  // label, curve
  for (const auto& panel : panels) {
    for (const auto& s : panel.series) {
      if (colours.count(s.label)) continue;
      colours[s.label] = kPalette[colours.size() % (sizeof(kPalette) / sizeof(kPalette[0]))];
      legend.emplace_back(s.label, s.curve);
    }
  }
  const int columns = std::max(1, std::min<int>(3, static_cast<int>(panels.size())));
  const int rows = std::max(1, (static_cast<int>(panels.size()) + columns - 1) / columns);
  const double legend_height = 22.0 * ((legend.size() + 2) / 3) + 8;
  const double header = 30 + legend_height;
  const double width = columns * kPanelWidth;
  const double height = header + rows * kPanelHeight;

  std::string svg = fmt::format(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"{:.0f}\" "
      "height=\"{:.0f}\" viewBox=\"0 0 {:.0f} {:.0f}\" font-family=\"Helvetica, Arial, "
      "sans-serif\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
      "<text x=\"{:.1f}\" y=\"20\" font-size=\"15\" text-anchor=\"middle\" "
      "font-weight=\"bold\">{}</text>\n",
      width, height, width, height, width / 2, xml_escape(title));
  for (size_t i = 0; i < legend.size(); ++i) {
    const double x = 20 + (i % 3) * (width - 40) / 3.0;
    const double y = 40 + 22.0 * (i / 3);
    const char* colour = colours[legend[i].first];
    if (legend[i].second) {
      svg += fmt::format(
          "<line x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"{}\" "
          "stroke-width=\"2\"/>\n",
          x, y, x + 22, y, colour);
      svg += marker(x + 11, y, colour, false);
    } else {
      svg += marker(x + 11, y, colour, true);
    }
    svg += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" font-size=\"12\">{}{}</text>\n", x + 28,
                       y + 4, xml_escape(legend[i].first), legend[i].second ? "" : " (static)");
  }

  for (size_t p = 0; p < panels.size(); ++p) {
    const auto& panel = panels[p];
    const double ox = (p % columns) * kPanelWidth;
    const double oy = header + (p / columns) * kPanelHeight;
    const double px0 = ox + kLeft, px1 = ox + kPanelWidth - kRight;
    const double py0 = oy + kTop, py1 = oy + kPanelHeight - kBottom;
    std::vector<double> xs, ys;
    for (const auto& s : panel.series)
      for (const auto& [x, y] : s.points)
        if (std::isfinite(x) && std::isfinite(y)) xs.push_back(x), ys.push_back(y);
    const Range xr = padded_range(xs), yr = padded_range(ys);
    auto X = [&](double x) { return px0 + (x - xr.lo) / (xr.hi - xr.lo) * (px1 - px0); };
    auto Y = [&](double y) { return py1 - (y - yr.lo) / (yr.hi - yr.lo) * (py1 - py0); };

    svg += fmt::format(
        "<g>\n<text x=\"{:.1f}\" y=\"{:.1f}\" font-size=\"13\" "
        "text-anchor=\"middle\" font-weight=\"bold\">{}</text>\n",
        (px0 + px1) / 2, oy + 18, xml_escape(panel.title));
    svg += fmt::format(
        "<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" fill=\"none\" "
        "stroke=\"#444\" stroke-width=\"0.8\"/>\n",
        px0, py0, px1 - px0, py1 - py0);
    for (double t : nice_ticks(xr.lo, xr.hi, 4)) {
      if (t < xr.lo || t > xr.hi) continue;
      svg += fmt::format(
          "<line x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{0:.1f}\" y2=\"{2:.1f}\" stroke=\"#ddd\"/>\n"
          "<text x=\"{0:.1f}\" y=\"{3:.1f}\" font-size=\"10\" text-anchor=\"middle\">{4}</text>\n",
          X(t), py0, py1, py1 + 13, tick_label(t));
    }
    for (double t : nice_ticks(yr.lo, yr.hi, 5)) {
      if (t < yr.lo || t > yr.hi) continue;
      svg += fmt::format(
          "<line x1=\"{0:.1f}\" y1=\"{2:.1f}\" x2=\"{1:.1f}\" y2=\"{2:.1f}\" stroke=\"#ddd\"/>\n"
          "<text x=\"{3:.1f}\" y=\"{4:.1f}\" font-size=\"10\" text-anchor=\"end\">{5}</text>\n",
          px0, px1, Y(t), px0 - 4, Y(t) + 3.5, tick_label(t));
    }
    svg += fmt::format(
        "<text x=\"{:.1f}\" y=\"{:.1f}\" font-size=\"11\" text-anchor=\"middle\">{}</text>\n",
        (px0 + px1) / 2, py1 + 30, xml_escape(panel.x_label));
    svg += fmt::format(
        "<text x=\"{0:.1f}\" y=\"{1:.1f}\" font-size=\"11\" text-anchor=\"middle\" "
        "transform=\"rotate(-90 {0:.1f} {1:.1f})\">{2}</text>\n",
        ox + 14, (py0 + py1) / 2, xml_escape(panel.y_label));
    for (const auto& s : panel.series) {
      auto points = s.points;
      points.erase(std::remove_if(points.begin(), points.end(),
                                  [](const auto& pt) {
                                    return !std::isfinite(pt.first) || !std::isfinite(pt.second);
                                  }),
                   points.end());
      std::sort(points.begin(), points.end());
      const char* colour = colours[s.label];
      if (s.curve && points.size() > 1) {
        std::string d;
        for (const auto& [x, y] : points)
          d += fmt::format("{}{:.2f},{:.2f}", d.empty() ? "M" : " L", X(x), Y(y));
        svg += fmt::format("<path d=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"2\"/>\n", d,
                           colour);
      }
      for (const auto& [x, y] : points) svg += marker(X(x), Y(y), colour, !s.curve);
    }
    svg += "</g>\n";
  }
  svg += "</svg>\n";
  return svg;
}

}  // namespace adallava::eval
