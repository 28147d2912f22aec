// Learning-rate multipliers with linear warmup, with the semantics of HF's
// get_{cosine,linear,constant}_schedule_with_warmup (LLaVA trains with the cosine one).
#pragma once

#include <cstdint>
#include <string>

namespace adallava::train {

enum class LrSchedule { Cosine, Linear, Constant };

LrSchedule parse_lr_schedule(const std::string& name);  // cosine, linear, constant

// Multiplier of the peak lr for the update with 0-based index `step` (HF calls the scheduler
// after each update, so update k runs with lambda(k): the first warmup update has lr 0).
// Warmup: step / max(1, warmup). Then progress p = (step - warmup) / max(1, total - warmup) and
// cosine: max(0, 0.5 (1 + cos(pi p))), linear: max(0, (total - step) / max(1, total - warmup)),
// constant: 1.
double lr_factor(LrSchedule schedule, int64_t step, int64_t warmup_steps, int64_t total_steps);

}  // namespace adallava::train
