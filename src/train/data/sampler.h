// The order in which one rank sees the training records in one epoch.
//
// Without grouping: a seeded permutation (torch.randperm with seed + epoch, as torch's
// DistributedSampler), padded by repeating its start to a multiple of world_size, rank r taking
// every world_size-th index from r.
//
// With data.group_by_modality_length: LLaVA's LengthGroupedSampler(group_by_modality=True)
// (llava/train/llava_trainer.py get_modality_length_grouped_indices). Image and text records are
// permuted separately and cut into megabatches of micro_batch * world_size * grad_accum (one
// optimizer step of the whole job); each megabatch is sorted by length (longest first) and dealt
// into world_size * grad_accum micro-batches of balanced total length; the megabatches of both
// modalities are shuffled together, and the two incomplete tail megabatches form one last mixed
// megabatch (sorted by index). Micro-batch j of the job goes to rank j % world_size, as
// accelerate shards batches, so every optimizer step except the last mixed one sees a single
// modality on every rank.
#pragma once

#include <cstdint>
#include <vector>

namespace adallava::train {

struct SamplerOptions {
  int64_t micro_batch_size = 1;
  int64_t world_size = 1;
  int64_t rank = 0;
  int64_t grad_accum_steps = 1;  // enters the megabatch size of the modality grouping
  bool shuffle = true;
  bool group_by_modality = false;
  uint64_t seed = 0;
};

// Micro-batches (positions into `modality_lengths`) of `rank` in `epoch`. Every rank gets the
// same number of batches; across ranks every position appears at least once (at most
// world_size - 1 repeats pad the tail). `modality_lengths`: LLaVA's, > 0 for image records and
// < 0 for text-only ones (only the sign matters without grouping).
std::vector<std::vector<int64_t>> epoch_batches(const std::vector<int64_t>& modality_lengths,
                                                const SamplerOptions& options, int64_t epoch);

// The job-wide order before sharding (LLaVA's sampler output, or the plain permutation).
std::vector<int64_t> epoch_order(const std::vector<int64_t>& modality_lengths,
                                 const SamplerOptions& options, int64_t epoch);

// LLaVA's split_to_even_chunks: deals `indices` (sorted longest first) into `chunks` lists of
// equal size, each next index to the currently shortest list; round-robin when the count does
// not divide.
std::vector<std::vector<int64_t>> split_to_even_chunks(const std::vector<int64_t>& indices,
                                                       const std::vector<int64_t>& lengths,
                                                       int64_t chunks);

}  // namespace adallava::train
