// The training material: stage-1 captions, the stage-2 instruction set and its validation split.
#pragma once

#include <map>
#include <string>

#include "data/synth/suite_context.h"

namespace adallava::synth {

struct SplitStats {
  long images = 0;
  long conversations = 0;
  long questions = 0;
  long multiple_choice = 0;
  long ocr_lines = 0;  // reading questions with a "Reference OCR token:" line
  std::map<std::string, long> families;
};

// Writes images/<split>_NNNNNN.png and <split>.json (LLaVA instruction format); for "train" also
// pretrain.json (captions). Appends the split's scenes to `scenes` (JSONL lines).
SplitStats write_instruction_split(SuiteContext& ctx, const std::string& split, int images,
                                   std::vector<ojson>& scenes);

ojson split_stats_json(const SplitStats& stats);

}  // namespace adallava::synth
