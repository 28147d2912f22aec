// Budget -> unit count k, as integers: the method notes' 7B table, the official float32
// quantization on every budget of quantization_table.json, and the rejected budgets.
#include <cmath>
#include <fstream>
#include <limits>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "adaptive/budget.h"
#include "common/error.h"
#include "support/paths.h"

using namespace adallava;
using adaptive::UnitSpec;
using adaptive::Variant;

namespace {
UnitSpec spec_of(Variant v, int64_t layers, int64_t prefix, int64_t heads, int64_t rank = 8) {
  UnitSpec s;
  s.variant = v;
  s.num_layers = layers;
  s.num_prefix_layers = prefix;
  s.num_heads = heads;
  s.scheduler_rank = rank;
  return s;
}
}  // namespace

TEST_CASE("the method notes' 7B budget table", "[adaptive]") {
  const auto L = spec_of(Variant::L, 32, 16, 32);
  const auto H = spec_of(Variant::H, 32, 16, 32, 8);
  CHECK(L.switchable_units() == 16);
  CHECK(H.prefix_units() == 64);
  CHECK(H.total_units() == 128);
  CHECK(H.scheduler_outputs() == 1024);
  const std::vector<std::tuple<double, int64_t, int64_t>> table = {
      {0.5, 0, 0},    {0.6, 3, 12},  {0.75, 8, 32}, {0.8, 9, 38},
      {0.85, 11, 44}, {0.9, 12, 51}, {1.0, 16, 64}};
  for (auto [b, kl, kh] : table) {
    INFO("budget " << b);
    CHECK(adaptive::units_for_budget(b, L) == kl);
    CHECK(adaptive::units_for_budget(b, H) == kh);
  }
  // Budgets under the prefix share run the prefix only.
  CHECK(adaptive::units_for_budget(0.0, L) == 0);
  CHECK(adaptive::units_for_budget(0.3, H) == 0);
}

TEST_CASE("k and q equal the official float32 quantization on every listed budget",
          "[adaptive][golden]") {
  std::ifstream in(test::golden("adallava/quantization_table.json"));
  nlohmann::json table;
  in >> table;
  const std::map<std::string, UnitSpec> specs = {
      {"7B_L(16,32)", spec_of(Variant::L, 32, 16, 32)},
      {"7B_H_r8(64,128)", spec_of(Variant::H, 32, 16, 32, 8)},
      {"13B_L(20,40)", spec_of(Variant::L, 40, 20, 40)},
      {"13B_H_r8(100,200)", spec_of(Variant::H, 40, 20, 40, 8)}};
  int checked = 0;
  for (const auto& [name, spec] : specs) {
    REQUIRE(table.contains(name));
    for (const auto& [budget_text, dtypes] : table[name].items()) {
      const double budget = std::stod(budget_text);
      const auto expected = dtypes["float32"];
      const int64_t k = adaptive::units_for_budget(budget, spec);
      INFO(name << " budget " << budget_text);
      CHECK(k == expected[0].get<int64_t>());
      CHECK(static_cast<float>(adaptive::encoder_value(k, spec)) == expected[1].get<float>());
      ++checked;
    }
  }
  CHECK(checked >= 100);
}

TEST_CASE("every training level maps back to its unit count", "[adaptive]") {
  for (const auto& spec : {spec_of(Variant::L, 32, 16, 32), spec_of(Variant::H, 40, 20, 40, 8),
                           spec_of(Variant::H, 4, 2, 4, 2)}) {
    for (int64_t k = 0; k <= spec.switchable_units(); ++k)
      CHECK(adaptive::units_for_budget(adaptive::budget_for_units(k, spec), spec) == k);
  }
}

TEST_CASE("budgets outside [0, 1] are rejected", "[adaptive]") {
  const auto L = spec_of(Variant::L, 32, 16, 32);
  for (double b : {-0.1, 1.05, 1.5, std::nan(""), std::numeric_limits<double>::infinity()}) {
    INFO("budget " << b);
    CHECK_THROWS_WITH(adaptive::units_for_budget(b, L), Catch::Contains("between 0 and 1"));
  }
  CHECK(adaptive::parse_budget("0.6", "--budget") == 0.6);
  CHECK_THROWS_WITH(adaptive::parse_budget("1.2", "--budget"),
                    Catch::Contains("--budget") && Catch::Contains("between 0 and 1"));
  CHECK_THROWS_WITH(adaptive::parse_budget("fast", "--budget"), Catch::Contains("not a number"));
  CHECK_THROWS_WITH(adaptive::parse_budget("0.5x", "--budget"), Catch::Contains("not a number"));
}

TEST_CASE("inconsistent AdaLLaVA configurations are rejected", "[adaptive]") {
  CHECK_THROWS_WITH(spec_of(Variant::H, 32, 16, 32, 5).validate(), Catch::Contains("must divide"));
  CHECK_THROWS_WITH(spec_of(Variant::L, 32, 32, 32).validate(),
                    Catch::Contains("num_prefix_layers"));
  CHECK_THROWS_WITH(adaptive::parse_variant("X"), Catch::Contains("\"L\" or \"H\""));
}
