// Sampler: LLaVA's modality-grouped order against an independent Python reference (torch 1.13
// randperm with the same seeds, /tmp script recorded in the expected values below), structural
// properties, and rank sharding.
#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <set>

#include "train/data/sampler.h"

using namespace adallava::train;

namespace {

const std::vector<int64_t> kLengths = {5, -3, 7, 2, -8, 9, 4, -1, 6, 3, -5, 2,
                                       8, -2, 1, 7, -6, 3, 5, -4, 2, 9, 6};

SamplerOptions grouped(int64_t bs, int64_t world, int64_t accum, uint64_t seed, int64_t rank = 0) {
  SamplerOptions o;
  o.micro_batch_size = bs;
  o.world_size = world;
  o.rank = rank;
  o.grad_accum_steps = accum;
  o.group_by_modality = true;
  o.seed = seed;
  return o;
}

std::vector<int64_t> sorted_copy(std::vector<int64_t> v) {
  std::sort(v.begin(), v.end());
  return v;
}

std::vector<int64_t> lengths_of(int64_t n, int64_t text_every, uint64_t salt) {
  std::vector<int64_t> lengths;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t words = 1 + static_cast<int64_t>((i * 2654435761u + salt) % 97);
    lengths.push_back(i % text_every == 0 ? -words : words);
  }
  return lengths;
}

}  // namespace

TEST_CASE("split_to_even_chunks deals longest-first to the shortest chunk", "[train][data]") {
  const std::vector<int64_t> lengths = {5, 1, 7, 2, 0, 9, 0, 0, 6};
  const auto chunks = split_to_even_chunks({5, 2, 8, 0, 3, 1}, lengths, 2);
  CHECK(chunks == std::vector<std::vector<int64_t>>{{5, 0, 1}, {2, 8, 3}});
  // Not divisible: round robin.
  CHECK(split_to_even_chunks({5, 2, 8, 0, 3}, lengths, 2) ==
        std::vector<std::vector<int64_t>>{{5, 8, 3}, {2, 0}});
}

TEST_CASE("modality-grouped order equals the Python reference of LLaVA's sampler",
          "[train][data]") {
  // Megabatch = bs * world * accum; chunks = world * accum (LLaVA passes world*accum as world).
  CHECK(epoch_order(kLengths, grouped(2, 2, 1, 7), 0) ==
        std::vector<int64_t>{12, 11, 22, 0,  4, 13, 19, 1, 18, 20, 17, 3,
                             5,  2,  21, 14, 6, 7,  8,  9, 10, 15, 16});
  CHECK(epoch_order(kLengths, grouped(2, 1, 2, 7), 1) ==
        std::vector<int64_t>{22, 20, 18, 3, 0, 14, 6,  9,  4,  1,  16, 10,
                             5,  12, 21, 8, 2, 7,  11, 13, 15, 17, 19});
  CHECK(epoch_order(kLengths, grouped(3, 1, 1, 11), 0) ==
        std::vector<int64_t>{5,  18, 9,  21, 2, 17, 16, 1, 13, 4,  10, 7,
                             12, 0,  20, 8,  6, 11, 15, 3, 14, 19, 22});
  SamplerOptions plain;
  plain.seed = 3;
  CHECK(epoch_order(kLengths, plain, 0) == std::vector<int64_t>{12, 9,  0,  10, 6,  17, 3,  2,
                                                                1,  16, 15, 14, 13, 22, 11, 20,
                                                                7,  5,  18, 19, 4,  8,  21});
}

TEST_CASE("modality grouping: every index once, single-modality optimizer steps", "[train][data]") {
  int checked_megabatches = 0;
  for (const int64_t n : {1, 7, 64, 301}) {
    for (const int64_t text_every : {3, 10, 1000}) {
      const auto lengths = lengths_of(n, text_every, 17);
      for (const auto& [bs, world, accum] : std::vector<std::array<int64_t, 3>>{
               {1, 1, 1}, {4, 1, 1}, {2, 2, 2}, {3, 4, 1}, {8, 1, 4}}) {
        for (int64_t epoch = 0; epoch < 2; ++epoch) {
          const auto order = epoch_order(lengths, grouped(bs, world, accum, 42), epoch);
          std::vector<int64_t> all(n);
          for (int64_t i = 0; i < n; ++i) all[i] = i;
          REQUIRE(sorted_copy(order) == all);
          // LLaVA guarantees one modality per full megabatch; only the final mixed megabatch
          // (the two modality tails) may mix, and it is sorted.
          const int64_t mega = bs * world * accum;
          int64_t n_image =
              std::count_if(lengths.begin(), lengths.end(), [](int64_t l) { return l > 0; });
          const int64_t n_text = n - n_image;
          const bool mixed = n_image > 0 && n_text > 0;
          const int64_t tail = !mixed ? 0
                                      : (n_image % mega == 0 ? mega : n_image % mega) +
                                            (n_text % mega == 0 ? mega : n_text % mega);
          const int64_t full_end = n - tail;
          for (int64_t start = 0; start + mega <= full_end; start += mega) {
            const bool first_is_image = lengths[order[start]] > 0;
            for (int64_t k = start; k < start + mega; ++k)
              REQUIRE((lengths[order[k]] > 0) == first_is_image);
            ++checked_megabatches;
          }
          if (mixed) CHECK(std::is_sorted(order.begin() + full_end, order.end()));
          // Within a megabatch, micro-batches are balanced: each holds bs indices.
        }
      }
    }
  }
  CHECK(checked_megabatches > 100);
}

TEST_CASE("sharding: every sample once per epoch across ranks, equal batch counts",
          "[train][data]") {
  for (const bool group : {false, true}) {
    for (const int64_t n : {1, 5, 10, 37, 64}) {
      for (const int64_t world : {1, 2, 3, 4}) {
        for (const int64_t bs : {1, 2, 3}) {
          const auto lengths = lengths_of(n, 4, 5);
          std::map<int64_t, int> seen;
          size_t batches_per_rank = 0;
          int64_t total = 0;
          for (int64_t rank = 0; rank < world; ++rank) {
            auto o = grouped(bs, world, 2, 9, rank);
            o.group_by_modality = group;
            const auto batches = epoch_batches(lengths, o, 3);
            if (rank == 0) batches_per_rank = batches.size();
            INFO("group " << group << " n " << n << " world " << world << " bs " << bs);
            REQUIRE(batches.size() == batches_per_rank);
            for (const auto& b : batches) {
              REQUIRE(!b.empty());
              REQUIRE(static_cast<int64_t>(b.size()) <= bs);
              for (auto i : b) {
                ++seen[i];
                ++total;
              }
            }
          }
          // All covered, padding as DistributedSampler: total = ceil(n / world) * world.
          REQUIRE(static_cast<int64_t>(seen.size()) == n);
          REQUIRE(total == (n + world - 1) / world * world);
        }
      }
    }
  }
}

TEST_CASE("grouped sharding keeps every rank's step single-modality", "[train][data]") {
  const auto lengths = lengths_of(200, 5, 3);
  const int64_t world = 2, bs = 3, accum = 2;
  std::vector<std::vector<std::vector<int64_t>>> per_rank;
  for (int64_t rank = 0; rank < world; ++rank)
    per_rank.push_back(epoch_batches(lengths, grouped(bs, world, accum, 1, rank), 0));
  // Steps (accum micro-batches on each rank) before the final mixed megabatch: one modality.
  const size_t steps = per_rank[0].size() / accum;
  int single = 0;
  for (size_t s = 0; s + 1 < steps; ++s) {
    std::set<bool> modalities;
    for (int64_t rank = 0; rank < world; ++rank)
      for (int64_t a = 0; a < accum; ++a)
        for (auto i : per_rank[rank][s * accum + a]) modalities.insert(lengths[i] > 0);
    single += modalities.size() == 1;
  }
  // Only the megabatch straddling the mixed tail may mix (at most 2 of the steps).
  CHECK(single >= static_cast<int>(steps) - 3);
  CHECK(steps > 10);
}

TEST_CASE("orders depend on seed and epoch only", "[train][data]") {
  const auto lengths = lengths_of(50, 4, 1);
  for (const bool group : {false, true}) {
    auto o = grouped(4, 1, 1, 5);
    o.group_by_modality = group;
    CHECK(epoch_order(lengths, o, 0) == epoch_order(lengths, o, 0));
    CHECK(epoch_order(lengths, o, 0) != epoch_order(lengths, o, 1));
    auto other = o;
    other.seed = 6;
    CHECK(epoch_order(lengths, o, 0) != epoch_order(lengths, other, 0));
  }
  SamplerOptions sequential;
  sequential.shuffle = false;
  const auto order = epoch_order(lengths, sequential, 4);
  CHECK(std::is_sorted(order.begin(), order.end()));
}
