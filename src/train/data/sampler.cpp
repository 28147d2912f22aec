#include "train/data/sampler.h"

#include <algorithm>
#include <limits>

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include "common/error.h"

namespace adallava::train {

namespace {

// torch.randperm(n, generator) so the permutation is the one Python would draw for the seed.
std::vector<int64_t> randperm(int64_t n, at::Generator& generator) {
  if (n == 0) return {};
  auto perm = torch::randperm(n, generator, torch::kInt64);
  return std::vector<int64_t>(perm.data_ptr<int64_t>(), perm.data_ptr<int64_t>() + n);
}

// get_length_grouped_indices: random megabatches, each sorted by length and split evenly.
std::vector<int64_t> length_grouped_indices(const std::vector<int64_t>& lengths,
                                            int64_t megabatch_size, int64_t chunks,
                                            at::Generator& generator) {
  const auto n = static_cast<int64_t>(lengths.size());
  const auto indices = randperm(n, generator);
  std::vector<int64_t> out;
  out.reserve(n);
  for (int64_t start = 0; start < n; start += megabatch_size) {
    std::vector<int64_t> mega(indices.begin() + start,
                              indices.begin() + std::min(n, start + megabatch_size));
    // Python's sorted(reverse=True) is stable: ties keep their order.
    std::stable_sort(mega.begin(), mega.end(),
                     [&](int64_t a, int64_t b) { return lengths[a] > lengths[b]; });
    for (const auto& chunk : split_to_even_chunks(mega, lengths, chunks))
      out.insert(out.end(), chunk.begin(), chunk.end());
  }
  return out;
}

std::vector<int64_t> modality_grouped_indices(const std::vector<int64_t>& lengths,
                                              int64_t megabatch_size, int64_t chunks,
                                              at::Generator& generator) {
  const bool all_image =
      std::all_of(lengths.begin(), lengths.end(), [](int64_t l) { return l > 0; });
  const bool all_text =
      std::all_of(lengths.begin(), lengths.end(), [](int64_t l) { return l < 0; });
  if (all_image || all_text) {
    std::vector<int64_t> magnitudes;
    for (auto l : lengths) magnitudes.push_back(l < 0 ? -l : l);
    return length_grouped_indices(magnitudes, megabatch_size, chunks, generator);
  }
  std::vector<int64_t> mm_indices, mm_lengths, lang_indices, lang_lengths;
  for (size_t i = 0; i < lengths.size(); ++i) {
    ADALLAVA_CHECK(lengths[i] != 0, "modality length of record {} is 0", i);
    if (lengths[i] > 0) {
      mm_indices.push_back(static_cast<int64_t>(i));
      mm_lengths.push_back(lengths[i]);
    } else {
      lang_indices.push_back(static_cast<int64_t>(i));
      lang_lengths.push_back(-lengths[i]);
    }
  }
  auto megabatches_of = [&](const std::vector<int64_t>& ids, const std::vector<int64_t>& lens) {
    std::vector<std::vector<int64_t>> megabatches;
    const auto order = length_grouped_indices(lens, megabatch_size, chunks, generator);
    for (size_t start = 0; start < order.size(); start += megabatch_size) {
      std::vector<int64_t> mega;
      for (size_t k = start; k < std::min(order.size(), start + megabatch_size); ++k)
        mega.push_back(ids[order[k]]);
      megabatches.push_back(std::move(mega));
    }
    return megabatches;
  };
  auto mm = megabatches_of(mm_indices, mm_lengths);
  auto lang = megabatches_of(lang_indices, lang_lengths);
  // The last megabatch of each modality may be short: both join one mixed tail megabatch.
  std::vector<int64_t> additional = mm.back();
  additional.insert(additional.end(), lang.back().begin(), lang.back().end());
  std::vector<std::vector<int64_t>> megabatches(mm.begin(), mm.end() - 1);
  megabatches.insert(megabatches.end(), lang.begin(), lang.end() - 1);
  const auto perm = randperm(static_cast<int64_t>(megabatches.size()), generator);
  std::vector<int64_t> out;
  out.reserve(lengths.size());
  for (auto p : perm) out.insert(out.end(), megabatches[p].begin(), megabatches[p].end());
  std::sort(additional.begin(), additional.end());
  out.insert(out.end(), additional.begin(), additional.end());
  return out;
}

void check_options(const SamplerOptions& o) {
  ADALLAVA_CHECK(o.micro_batch_size >= 1, "sampler: micro batch size {} < 1", o.micro_batch_size);
  ADALLAVA_CHECK(o.world_size >= 1, "sampler: world size {} < 1", o.world_size);
  ADALLAVA_CHECK(o.rank >= 0 && o.rank < o.world_size, "sampler: rank {} outside 0..{}", o.rank,
                 o.world_size - 1);
  ADALLAVA_CHECK(o.grad_accum_steps >= 1, "sampler: gradient accumulation {} < 1",
                 o.grad_accum_steps);
}

}  // namespace

std::vector<std::vector<int64_t>> split_to_even_chunks(const std::vector<int64_t>& indices,
                                                       const std::vector<int64_t>& lengths,
                                                       int64_t chunks) {
  const auto n = static_cast<int64_t>(indices.size());
  std::vector<std::vector<int64_t>> out(chunks);
  if (n % chunks != 0) {
    for (int64_t i = 0; i < n; ++i) out[i % chunks].push_back(indices[i]);
    return out;
  }
  const int64_t per_chunk = n / chunks;
  std::vector<double> totals(chunks, 0.0);
  for (auto index : indices) {
    // list.index(min(...)): the first shortest chunk.
    const auto shortest = std::min_element(totals.begin(), totals.end()) - totals.begin();
    out[shortest].push_back(index);
    totals[shortest] += static_cast<double>(lengths[index]);
    if (static_cast<int64_t>(out[shortest].size()) == per_chunk)
      totals[shortest] = std::numeric_limits<double>::infinity();
  }
  return out;
}

std::vector<int64_t> epoch_order(const std::vector<int64_t>& modality_lengths,
                                 const SamplerOptions& options, int64_t epoch) {
  check_options(options);
  const auto n = static_cast<int64_t>(modality_lengths.size());
  auto generator = at::make_generator<at::CPUGeneratorImpl>(options.seed + epoch);
  if (options.group_by_modality && n > 0) {
    const int64_t chunks = options.world_size * options.grad_accum_steps;
    return modality_grouped_indices(modality_lengths, options.micro_batch_size * chunks, chunks,
                                    generator);
  }
  if (options.shuffle) return randperm(n, generator);
  std::vector<int64_t> order(n);
  for (int64_t i = 0; i < n; ++i) order[i] = i;
  return order;
}

std::vector<std::vector<int64_t>> epoch_batches(const std::vector<int64_t>& modality_lengths,
                                                const SamplerOptions& options, int64_t epoch) {
  std::vector<int64_t> order = epoch_order(modality_lengths, options, epoch);
  const int64_t n = static_cast<int64_t>(order.size());
  const int64_t world = options.world_size, bs = options.micro_batch_size;
  // DistributedSampler's padding: repeat the start until every rank has the same count.
  const int64_t padded = n == 0 ? 0 : (n + world - 1) / world * world;
  for (int64_t i = n; i < padded; ++i) order.push_back(order[(i - n) % n]);

  std::vector<int64_t> mine;
  if (!options.group_by_modality) {
    for (int64_t i = options.rank; i < padded; i += world) mine.push_back(order[i]);
  } else {
    // Whole micro-batches per rank, so a single-modality megabatch stays single-modality on every
    // rank: each run of world * bs positions gives rank r its r-th block of bs; the last short
    // run is split into world equal blocks.
    for (int64_t start = 0; start < padded; start += world * bs) {
      const int64_t run = std::min(world * bs, padded - start);
      const int64_t block = run / world;
      const int64_t begin = start + options.rank * block;
      mine.insert(mine.end(), order.begin() + begin, order.begin() + begin + block);
    }
  }
  std::vector<std::vector<int64_t>> batches;
  for (size_t start = 0; start < mine.size(); start += bs)
    batches.emplace_back(mine.begin() + start,
                         mine.begin() + std::min(mine.size(), start + static_cast<size_t>(bs)));
  return batches;
}

}  // namespace adallava::train
