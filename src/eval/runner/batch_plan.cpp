#include "eval/runner/batch_plan.h"

#include <algorithm>
#include <numeric>

#include "common/error.h"

namespace adallava::eval {

ItemRange get_chunk(size_t size, int64_t num_chunks, int64_t chunk_idx) {
  if (num_chunks < 1) fail("--num-chunks must be at least 1 (got {})", num_chunks);
  if (chunk_idx < 0 || chunk_idx >= num_chunks)
    fail("--chunk-idx must be in [0, {}) (got {})", num_chunks, chunk_idx);
  const size_t n = static_cast<size_t>(num_chunks);
  const size_t chunk_size = (size + n - 1) / n;
  ItemRange r;
  r.begin = std::min(size, chunk_size * static_cast<size_t>(chunk_idx));
  r.end = std::min(size, r.begin + chunk_size);
  return r;
}

std::vector<std::vector<size_t>> plan_batches(const std::vector<PlanInput>& items,
                                              size_t batch_size) {
  if (batch_size < 1) fail("batch size must be at least 1");
  const size_t window = batch_size * kPlanWindowBatches;
  std::vector<std::vector<size_t>> batches;
  for (size_t start = 0; start < items.size(); start += window) {
    const size_t stop = std::min(items.size(), start + window);
    std::vector<size_t> order(stop - start);
    std::iota(order.begin(), order.end(), start);
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
      if (items[a].has_image != items[b].has_image) return items[a].has_image;
      return items[a].prompt_tokens < items[b].prompt_tokens;
    });
    for (size_t i = 0; i < order.size(); i += batch_size) {
      batches.emplace_back(order.begin() + i,
                           order.begin() + std::min(order.size(), i + batch_size));
    }
  }
  return batches;
}

}  // namespace adallava::eval
