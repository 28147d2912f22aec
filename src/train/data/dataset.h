// LLaVA instruction data for training: records from a JSON list or JSON lines, validated once
// (every problem named by file, index and id), tokenized with the model's conversation template
// exactly as LLaVA's LazySupervisedDataset + collator do, images decoded and preprocessed as
// LLaVA's training does.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <torch/types.h>

#include "data/image/preprocess.h"
#include "data/text/supervised.h"
#include "data/text/tokenizer.h"
#include "model/llava.h"
#include "train/data/records.h"

namespace adallava::train {

struct DatasetOptions {
  std::string data_path;                       // JSON list or JSON lines
  std::string image_folder;                    // the records' image paths are relative to it
  std::string conv_template = "vicuna_v1";     // "plain" for stage 1
  int64_t max_length = text::kModelMaxLength;  // LLaVA's tokenizer.model_max_length
  // Sequence positions one image takes after splicing (CLIP patches: (size/patch)^2, +1 with
  // cls_patch); the limit counts them, as LLaVA truncates again after splicing.
  int64_t image_tokens = 576;
  std::string bad_record_policy = "fail";  // fail | skip
  std::optional<int64_t> max_records;      // data.max_train_samples: only the first N records
  image::PreprocessConfig preprocess;
  bool pad_to_square = true;  // model.image_aspect_ratio == "pad"
  int64_t num_threads = 1;    // threads of the validation pass
};

// The CLIPImageProcessor settings of a from-scratch vision tower of `image_size` pixels (resize
// the shortest edge and centre-crop to image_size, OpenAI CLIP mean/std).
image::PreprocessConfig clip_preprocess_config(int image_size);

// One record as the model sees it.
struct TokenizedRecord {
  text::SupervisedSample
      supervised;                  // LLaVA's preprocess output (prompt, ids, labels), untruncated
  model::SampleTokens tokens;      // truncated: what TrainBatch carries
  int64_t image_placeholders = 0;  // kImageTokenIndex entries in tokens.ids
  int64_t spliced_length = 0;      // tokens.ids after image expansion (<= max_length unless an
                                   // image straddles the limit; the model cuts that)
  int64_t supervised_tokens = 0;   // labels != -100 that survive both truncations
};

// Tokenizes one record: build_supervised_sample with the template, then LLaVA's collator cut of
// ids/labels at max_length and the post-splice cut of text tokens past max_length (so the spliced
// sequence is what LLaVA's prepare_inputs_labels_for_multimodal trains on).
TokenizedRecord tokenize_record(const text::InstructionSample& sample,
                                const text::Tokenizer& tokenizer, const DatasetOptions& options);

// Everything wrong with one record (empty = usable): roles, alternation, <image> placement,
// image file missing (or, with decode_image, undecodable), tokenization mismatch, no answer
// tokens, truncated to no answer tokens.
std::vector<std::string> record_problems(const DataRecord& record, const text::Tokenizer& tokenizer,
                                         const DatasetOptions& options, bool decode_image);

// Every problem of a data file in one pass (adallava data check); `total_records` receives the
// number of records read.
std::vector<RecordProblem> check_dataset(const DatasetOptions& options,
                                         const text::Tokenizer& tokenizer, bool decode_images,
                                         int64_t* total_records = nullptr);

class InstructionDataset {
 public:
  // Reads and validates the file (image existence, not decodability). Policy "fail": a bad record
  // is an Error naming file, index, id and problem. "skip": bad records are dropped, counted and
  // summarised in the log.
  static std::shared_ptr<InstructionDataset> open(const DatasetOptions& options,
                                                  const text::Tokenizer& tokenizer);

  int64_t size() const { return static_cast<int64_t>(records_.size()); }
  const DataRecord& record(int64_t i) const { return records_.at(i); }
  bool has_image(int64_t i) const { return records_.at(i).sample.image.has_value(); }
  // LLaVA's modality_lengths: words of all turns, negative for text-only records.
  const std::vector<int64_t>& modality_lengths() const { return modality_lengths_; }
  const DatasetOptions& options() const { return options_; }
  const text::Tokenizer& tokenizer() const { return tokenizer_; }
  const std::string& path() const { return options_.data_path; }

  // Records dropped by the skip policy when opening, with their problems.
  const std::vector<RecordProblem>& skipped() const { return skipped_; }

  TokenizedRecord tokenize(int64_t i) const;
  // Decoded and preprocessed image of record i: [3, S, S] float32. Errors name file, index, id
  // and the image path.
  torch::Tensor load_image(int64_t i) const;
  // "file[index] (id X)" for messages about record i.
  std::string describe(int64_t i) const;

 private:
  InstructionDataset(const DatasetOptions& options, const text::Tokenizer& tokenizer)
      : options_(options), tokenizer_(tokenizer) {}
  DatasetOptions options_;
  text::Tokenizer tokenizer_;
  std::vector<DataRecord> records_;
  std::vector<int64_t> modality_lengths_;
  std::vector<RecordProblem> skipped_;
};

}  // namespace adallava::train
