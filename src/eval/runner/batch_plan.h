// Which questions a run answers, and in which batches.
//
// Batches are planned over the whole question list, never over what is left to do: a question
// is always generated together with the same neighbours, so an interrupted-and-resumed run, a
// limited run and a chunked run give byte-identical answers to a single full run (batched
// matmuls round differently for different batch compositions).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

namespace adallava::eval {

// LLaVA's get_chunk(lst, n, k): contiguous chunks of ceil(size / n) items; [begin, end).
// A chunk index past the last non-empty chunk gives an empty range (upstream raises
// IndexError there).
struct ItemRange {
  size_t begin = 0, end = 0;
  size_t size() const { return end - begin; }
};
ItemRange get_chunk(size_t size, int64_t num_chunks, int64_t chunk_idx);

// Questions of similar prompt length are batched together: the list is cut into windows of
// `batch_size * kPlanWindowBatches` consecutive questions, each window is stably sorted by
// (has image, prompt length) and cut into batches. Returns item indices per batch.
constexpr size_t kPlanWindowBatches = 4;
struct PlanInput {
  bool has_image = false;
  size_t prompt_tokens = 0;
};
std::vector<std::vector<size_t>> plan_batches(const std::vector<PlanInput>& items,
                                              size_t batch_size);

}  // namespace adallava::eval
