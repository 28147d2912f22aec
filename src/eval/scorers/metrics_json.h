// Metrics are reported as ordered JSON so printed and saved files read in a sensible order.
#pragma once

#include <cmath>

#include <nlohmann/json.hpp>

namespace adallava::scorers {

using MetricsJson = nlohmann::ordered_json;

// Ratios whose denominator is zero are NaN in the structs (upstream raises ZeroDivisionError
// there); JSON has no NaN, so they are written as null.
inline MetricsJson number_or_null(double value) {
  return std::isnan(value) ? MetricsJson(nullptr) : MetricsJson(value);
}

inline double ratio(double numerator, double denominator) {
  return denominator == 0 ? std::nan("") : numerator / denominator;
}

}  // namespace adallava::scorers
