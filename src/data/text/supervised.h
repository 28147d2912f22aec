// LLaVA's training-time preprocessing (llava/train/train.py): the prompt string, input ids and
// labels of one instruction sample, with upstream's masking quirks reproduced exactly.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace adallava::text {

class Tokenizer;
struct ConversationTemplate;

constexpr int64_t kModelMaxLength = 2048;  // LLaVA-1.5's tokenizer.model_max_length

// One turn of LLaVA's instruction data: from = "human" | "gpt".
struct Turn {
  std::string from;
  std::string value;
};

struct SupervisedSample {
  std::string prompt;              // the exact string that was tokenized
  std::vector<int64_t> input_ids;  // kImageTokenIndex where the image goes
  std::vector<int64_t> labels;     // same length; kIgnoreIndex = no loss
  // Upstream's "tokenization mismatch" path: the round lengths did not add up to the sequence
  // length, so every label is kIgnoreIndex (the sample still trains nothing, as upstream).
  bool mismatch = false;
  std::string warning;  // upstream's printed line for a mismatch, empty otherwise
};

// preprocess_multimodal: in every turn that mentions "<image>", the placeholder is moved to the
// front on a line of its own ("<image>\n" + rest.strip(), then strip()).
std::vector<Turn> preprocess_multimodal(std::vector<Turn> turns);

// preprocess_v1 for a SeparatorStyle::Two template (vicuna_v1 for LLaVA-1.5 finetuning). Image
// samples are tokenized with encode_with_image (not truncated: the collator truncates), text-only
// ones with encode truncated to model_max_length. A leading "gpt" turn is dropped; turns that do
// not alternate human/gpt, or unknown roles, are errors naming sample_id.
SupervisedSample preprocess_v1(const std::vector<Turn>& turns, bool has_image,
                               const Tokenizer& tokenizer, const ConversationTemplate& tmpl,
                               const std::string& sample_id,
                               int64_t model_max_length = kModelMaxLength);

// preprocess_plain (stage-1 pretraining): "<image>" + caption + "\n", only the caption (and its
// newline) supervised. Needs exactly 2 turns with "<image>" in the first (upstream asserts);
// otherwise an error naming sample_id.
SupervisedSample preprocess_plain(const std::vector<Turn>& turns, const Tokenizer& tokenizer,
                                  const std::string& sample_id);

// LLaVA's LazySupervisedDataset path: preprocess_multimodal when the sample has an image, then
// preprocess_plain for the "plain" template or preprocess_v1 for the others.
SupervisedSample build_supervised_sample(const std::vector<Turn>& turns, bool has_image,
                                         const Tokenizer& tokenizer,
                                         const std::string& template_name,
                                         const std::string& sample_id,
                                         int64_t model_max_length = kModelMaxLength);

}  // namespace adallava::text
