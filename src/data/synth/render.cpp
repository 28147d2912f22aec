#include "data/synth/render.h"

#include <algorithm>
#include <cmath>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "common/error.h"
#include "data/synth/rng.h"

namespace adallava::synth {

namespace {

// Unit vertex directions as literals rather than std::sin/std::cos, whose last-bit results are
// not guaranteed identical across C libraries. Image y grows downwards, so -1 is "up".
constexpr double kTriangle[3][2] = {
    {0.0, -1.0}, {0.8660254037844386, 0.5}, {-0.8660254037844386, 0.5}};
constexpr double kHexagon[6][2] = {
    {1.0, 0.0},  {0.5, 0.8660254037844386},   {-0.5, 0.8660254037844386},
    {-1.0, 0.0}, {-0.5, -0.8660254037844386}, {0.5, -0.8660254037844386}};
constexpr double kStar[10][2] = {
    {0.0, -1.0},
    {0.5877852522924731, -0.8090169943749475},
    {0.9510565162951535, -0.3090169943749474},
    {0.9510565162951536, 0.3090169943749474},
    {0.5877852522924732, 0.8090169943749473},
    {0.0, 1.0},
    {-0.5877852522924730, 0.8090169943749475},
    {-0.9510565162951535, 0.3090169943749477},
    {-0.9510565162951536, -0.3090169943749472},
    {-0.5877852522924734, -0.8090169943749473},
};

constexpr int kShift = 4;  // sub-pixel bits for polygon vertices
constexpr double kSub = 1 << kShift;

cv::Point sub_point(double x, double y) {
  return cv::Point(static_cast<int>(std::lround(x * kSub)),
                   static_cast<int>(std::lround(y * kSub)));
}

cv::Scalar bgr(Rgb c) {
  return cv::Scalar(c.b, c.g, c.r);
}

void fill_polygon(cv::Mat& img, const std::vector<cv::Point>& pts, const cv::Scalar& colour) {
  const cv::Point* data = pts.data();
  const int n = static_cast<int>(pts.size());
  cv::fillPoly(img, &data, &n, 1, colour, cv::LINE_AA, kShift);
}

void draw_shape(cv::Mat& img, const SceneObject& o) {
  const cv::Scalar colour = bgr(colour_rgb(o.colour));
  const double r = o.radius;
  std::vector<cv::Point> pts;
  switch (o.shape) {
    case Shape::Circle:
      cv::circle(img, cv::Point(o.x, o.y), o.radius, colour, cv::FILLED, cv::LINE_AA);
      return;
    case Shape::Square: {
      const double h = 0.88 * r;
      pts = {sub_point(o.x - h, o.y - h), sub_point(o.x + h, o.y - h), sub_point(o.x + h, o.y + h),
             sub_point(o.x - h, o.y + h)};
      break;
    }
    case Shape::Triangle:
      for (const auto& v : kTriangle)
        pts.push_back(sub_point(o.x + 1.18 * r * v[0], o.y + 0.1 * r + 1.18 * r * v[1]));
      break;
    case Shape::Star:
      for (int i = 0; i < 10; ++i) {
        const double rr = (i % 2 == 0 ? 1.2 : 0.5) * r;
        pts.push_back(sub_point(o.x + rr * kStar[i][0], o.y + rr * kStar[i][1]));
      }
      break;
    case Shape::Hexagon:
      for (const auto& v : kHexagon)
        pts.push_back(sub_point(o.x + 1.05 * r * v[0], o.y + 1.05 * r * v[1]));
      break;
    case Shape::Cross: {
      const double a = 1.0 * r, b = 0.32 * r;  // arm half-length, arm half-width
      pts = {sub_point(o.x - b, o.y - a), sub_point(o.x + b, o.y - a), sub_point(o.x + b, o.y - b),
             sub_point(o.x + a, o.y - b), sub_point(o.x + a, o.y + b), sub_point(o.x + b, o.y + b),
             sub_point(o.x + b, o.y + a), sub_point(o.x - b, o.y + a), sub_point(o.x - b, o.y + b),
             sub_point(o.x - a, o.y + b), sub_point(o.x - a, o.y - b), sub_point(o.x - b, o.y - b)};
      break;
    }
  }
  fill_polygon(img, pts, colour);
}

void draw_letter(cv::Mat& img, const SceneObject& o) {
  const int size = img.cols;
  const double scale = letter_font_scale(size);
  const int thickness = letter_thickness(size);
  int baseline = 0;
  const cv::Size box =
      cv::getTextSize(o.letter, cv::FONT_HERSHEY_SIMPLEX, scale, thickness, &baseline);
  // putText anchors the baseline's left end; shift so the glyph box is centred on (x, y).
  const cv::Point origin(o.x - box.width / 2, o.y + box.height / 2);
  cv::putText(img, o.letter, origin, cv::FONT_HERSHEY_SIMPLEX, scale, bgr(colour_rgb(o.colour)),
              thickness, cv::LINE_AA);
}

int lerp(int a, int b, int t, int n) {
  return a + (b - a) * t / std::max(1, n);
}

void draw_background(cv::Mat& img, const Background& bg) {
  const int w = img.cols, h = img.rows;
  for (int y = 0; y < h; ++y) {
    auto* row = img.ptr<cv::Vec3b>(y);
    for (int x = 0; x < w; ++x) {
      Rgb c = bg.first;
      if (bg.kind == BackgroundKind::Gradient) {
        const int t = bg.orientation == 0 ? y : x;
        const int n = (bg.orientation == 0 ? h : w) - 1;
        c = {lerp(bg.first.r, bg.second.r, t, n), lerp(bg.first.g, bg.second.g, t, n),
             lerp(bg.first.b, bg.second.b, t, n)};
      } else if (bg.kind == BackgroundKind::Stripes) {
        const int t = bg.orientation == 0 ? y : bg.orientation == 1 ? x : x + y;
        if ((t / std::max(1, bg.period / 2)) % 2 == 1) c = bg.second;
      }
      row[x] = cv::Vec3b(static_cast<uchar>(c.b), static_cast<uchar>(c.g), static_cast<uchar>(c.r));
    }
  }
}

void add_noise(cv::Mat& img, int amplitude, uint64_t seed) {
  if (amplitude <= 0) return;
  Rng rng(seed);
  const uint64_t span = 2 * static_cast<uint64_t>(amplitude) + 1;
  for (int y = 0; y < img.rows; ++y) {
    auto* row = img.ptr<cv::Vec3b>(y);
    for (int x = 0; x < img.cols; ++x) {
      const uint64_t bits = rng.next_u64();
      for (int c = 0; c < 3; ++c) {
        const int delta = static_cast<int>(((bits >> (16 * c)) & 0xFFFF) % span) - amplitude;
        row[x][c] = static_cast<uchar>(std::clamp(row[x][c] + delta, 0, 255));
      }
    }
  }
}

}  // namespace

cv::Mat render_scene(const Scene& scene, const RenderOptions& options) {
  cv::Mat img(scene.height, scene.width, CV_8UC3, cv::Scalar(128, 128, 128));
  if (options.background) draw_background(img, scene.background);
  if (options.objects) {
    for (const auto& o : scene.objects) {
      if (o.is_letter)
        draw_letter(img, o);
      else
        draw_shape(img, o);
    }
  }
  if (options.noise) add_noise(img, scene.noise_amplitude, scene.noise_seed);
  return img;
}

std::vector<unsigned char> encode_png(const cv::Mat& image) {
  std::vector<unsigned char> bytes;
  const std::vector<int> params = {cv::IMWRITE_PNG_COMPRESSION, 6, cv::IMWRITE_PNG_STRATEGY,
                                   cv::IMWRITE_PNG_STRATEGY_DEFAULT};
  ADALLAVA_CHECK(cv::imencode(".png", image, bytes, params), "PNG encoding failed ({}x{})",
                 image.cols, image.rows);
  return bytes;
}

}  // namespace adallava::synth
