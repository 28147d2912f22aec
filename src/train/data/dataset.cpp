#include "train/data/dataset.h"

#include <algorithm>
#include <cstdio>
#include <thread>

#include <torch/torch.h>

#include "common/error.h"
#include "common/files.h"
#include "common/log.h"
#include "common/py_text.h"
#include "data/text/conversation.h"

namespace adallava::train {

namespace {

constexpr char kImagePlaceholder[] = "<image>";

int64_t count_supervised(const std::vector<int64_t>& labels) {
  return std::count_if(labels.begin(), labels.end(),
                       [](int64_t l) { return l != text::kIgnoreIndex; });
}

// Errors of the text module start with "sample <id>: "; the record is already named elsewhere.
std::string without_sample_prefix(const std::string& message, const std::string& id) {
  const std::string prefix = "sample " + id + ": ";
  return message.rfind(prefix, 0) == 0 ? message.substr(prefix.size()) : message;
}

// Role and alternation problems, as LLaVA's preprocess would hit them (a leading gpt turn is
// dropped first). Unknown roles are all listed; alternation only when the roles are known.
std::vector<std::string> structure_problems(const std::vector<text::Turn>& turns,
                                            const text::ConversationTemplate& tmpl) {
  std::vector<std::string> problems;
  if (turns.empty()) {
    problems.push_back("conversation has no turns");
    return problems;
  }
  for (size_t i = 0; i < turns.size(); ++i) {
    if (turns[i].from != "human" && turns[i].from != "gpt")
      problems.push_back(
          fmt::format("turn {} has unknown role '{}' (expected human or gpt)", i, turns[i].from));
  }
  if (!problems.empty() || tmpl.style != text::SeparatorStyle::Two) return problems;
  const size_t first = turns[0].from == "gpt" ? 1 : 0;
  for (size_t i = first; i < turns.size(); ++i) {
    const char* expected = (i - first) % 2 == 0 ? "human" : "gpt";
    if (turns[i].from != expected) {
      problems.push_back(fmt::format("turns do not alternate: turn {} is from '{}', expected '{}'",
                                     i, turns[i].from, expected));
      break;
    }
  }
  return problems;
}

// Spliced position of the first supervised label of the untruncated sample (-1 if none).
int64_t first_answer_position(const text::SupervisedSample& s, int64_t image_tokens) {
  int64_t position = 0;
  for (size_t i = 0; i < s.input_ids.size(); ++i) {
    if (s.labels[i] != text::kIgnoreIndex) return position;
    position += s.input_ids[i] == text::kImageTokenIndex ? image_tokens : 1;
  }
  return -1;
}

}  // namespace

image::PreprocessConfig clip_preprocess_config(int image_size) {
  image::PreprocessConfig cfg;
  cfg.shortest_edge = image_size;
  cfg.crop_height = image_size;
  cfg.crop_width = image_size;
  return cfg;
}

TokenizedRecord tokenize_record(const text::InstructionSample& sample,
                                const text::Tokenizer& tokenizer, const DatasetOptions& options) {
  TokenizedRecord out;
  out.supervised =
      text::build_supervised_sample(sample.turns, sample.image.has_value(), tokenizer,
                                    options.conv_template, sample.id, options.max_length);
  const auto& ids = out.supervised.input_ids;
  const auto& labels = out.supervised.labels;
  // The collator cuts ids at max_length counting an image as one token; after splicing LLaVA cuts
  // again at max_length. Text tokens past that second cut are dropped here already; an image
  // straddling it is kept whole for the model to cut.
  const size_t collated = std::min<size_t>(ids.size(), static_cast<size_t>(options.max_length));
  int64_t spliced = 0;
  size_t keep = 0;
  for (; keep < collated; ++keep) {
    const bool is_image = ids[keep] == text::kImageTokenIndex;
    const int64_t width = is_image ? options.image_tokens : 1;
    if (spliced + width > options.max_length) {
      if (is_image && spliced < options.max_length) {
        spliced += width;
        ++keep;
      }
      break;
    }
    spliced += width;
  }
  out.tokens.ids.assign(ids.begin(), ids.begin() + keep);
  out.tokens.labels.assign(labels.begin(), labels.begin() + keep);
  out.image_placeholders =
      std::count(out.tokens.ids.begin(), out.tokens.ids.end(), text::kImageTokenIndex);
  out.spliced_length = spliced;
  out.supervised_tokens = count_supervised(out.tokens.labels);
  return out;
}

std::vector<std::string> record_problems(const DataRecord& record, const text::Tokenizer& tokenizer,
                                         const DatasetOptions& options, bool decode_image) {
  const auto& sample = record.sample;
  const auto& tmpl = text::conversation_template(options.conv_template);
  std::vector<std::string> problems = structure_problems(sample.turns, tmpl);

  std::vector<size_t> turns_with_placeholder;
  for (size_t i = 0; i < sample.turns.size(); ++i)
    if (py::contains(sample.turns[i].value, kImagePlaceholder)) turns_with_placeholder.push_back(i);
  if (sample.image) {
    if (tmpl.style == text::SeparatorStyle::Two) {
      if (turns_with_placeholder.empty())
        problems.push_back("has an image but no turn contains <image>");
      else if (turns_with_placeholder.size() > 1)
        problems.push_back(fmt::format(
            "<image> appears in {} turns but the record has one image (LLaVA would run out of "
            "images)",
            turns_with_placeholder.size()));
    }
    const std::string path = join_path(options.image_folder, *sample.image);
    if (!file_exists(path)) {
      problems.push_back(fmt::format("image file not found: {}", path));
    } else if (decode_image) {
      try {
        image::decode_image_file(path);
      } catch (const Error& e) {
        problems.push_back(fmt::format("image cannot be decoded: {}", e.what()));
      }
    }
  } else if (!turns_with_placeholder.empty() && tmpl.style == text::SeparatorStyle::Two) {
    problems.push_back(fmt::format(
        "text-only record (no 'image' field) has <image> in turn {}; it would be trained as "
        "literal text",
        turns_with_placeholder.front()));
  }
  // Tokenization needs a well-formed conversation.
  if (!structure_problems(sample.turns, tmpl).empty()) return problems;

  TokenizedRecord tokenized;
  try {
    tokenized = tokenize_record(sample, tokenizer, options);
  } catch (const Error& e) {
    problems.push_back(without_sample_prefix(e.what(), sample.id));
    return problems;
  }
  const auto& s = tokenized.supervised;
  if (s.mismatch) {
    // Upstream's warning reads "WARNING: tokenization mismatch: <cur_len> vs. <total_len>. ...".
    long rounds = 0, total = 0;
    const bool parsed =
        std::sscanf(s.warning.c_str(), "WARNING: tokenization mismatch: %ld vs. %ld", &rounds,
                    &total) == 2;
    problems.push_back(
        parsed ? fmt::format("tokenization mismatch: the rounds add up to {} tokens but the "
                             "conversation has {}, so every label is masked",
                             rounds, total)
               : fmt::format("tokenization mismatch ({}): every label is masked",
                             py::strip(s.warning)));
  } else if (count_supervised(s.labels) == 0) {
    problems.push_back("no answer tokens: every label is masked (empty answers?)");
  } else if (tokenized.supervised_tokens == 0) {
    problems.push_back(fmt::format(
        "conversation truncated to no answer tokens: the first answer token is at position {} "
        "(an image counts {} positions) but max_length is {}",
        first_answer_position(s, options.image_tokens), options.image_tokens, options.max_length));
  }
  return problems;
}

namespace {

// record_problems for every record, on `threads` threads (results in record order).
std::vector<std::vector<std::string>> validate_all(const std::vector<DataRecord>& records,
                                                   const text::Tokenizer& tokenizer,
                                                   const DatasetOptions& options,
                                                   bool decode_images) {
  std::vector<std::vector<std::string>> problems(records.size());
  const size_t threads =
      std::clamp<size_t>(static_cast<size_t>(std::max<int64_t>(options.num_threads, 1)), 1,
                         std::max<size_t>(records.size(), 1));
  std::vector<std::exception_ptr> errors(threads);
  auto work = [&](size_t t) {
    try {
      for (size_t i = t; i < records.size(); i += threads)
        problems[i] = record_problems(records[i], tokenizer, options, decode_images);
    } catch (...) {
      errors[t] = std::current_exception();
    }
  };
  std::vector<std::thread> pool;
  for (size_t t = 1; t < threads; ++t) pool.emplace_back(work, t);
  work(0);
  for (auto& th : pool) th.join();
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
  return problems;
}

std::vector<RecordProblem> merge_problems(const RecordFile& file,
                                          const std::vector<std::vector<std::string>>& found) {
  std::vector<RecordProblem> all = file.problems;
  for (size_t i = 0; i < file.records.size(); ++i) {
    const auto& r = file.records[i];
    for (const auto& p : found[i]) all.push_back({file.path, r.index, r.line, r.sample.id, p});
  }
  std::stable_sort(all.begin(), all.end(), [](const RecordProblem& a, const RecordProblem& b) {
    return a.index < b.index;
  });
  return all;
}

}  // namespace

std::vector<RecordProblem> check_dataset(const DatasetOptions& options,
                                         const text::Tokenizer& tokenizer, bool decode_images,
                                         int64_t* total_records) {
  text::conversation_template(options.conv_template);  // unknown names fail before reading
  const RecordFile file = read_record_file(options.data_path, options.max_records);
  if (total_records) *total_records = file.total_records;
  return merge_problems(file, validate_all(file.records, tokenizer, options, decode_images));
}

std::shared_ptr<InstructionDataset> InstructionDataset::open(const DatasetOptions& options,
                                                             const text::Tokenizer& tokenizer) {
  ADALLAVA_CHECK(options.bad_record_policy == "fail" || options.bad_record_policy == "skip",
                 "data.bad_record_policy must be fail or skip, not '{}'",
                 options.bad_record_policy);
  text::conversation_template(options.conv_template);
  std::shared_ptr<InstructionDataset> ds(new InstructionDataset(options, tokenizer));
  RecordFile file = read_record_file(options.data_path, options.max_records);
  for (const auto& p : file.problems)
    if (p.index < 0) fail("{}", p.to_string());
  const auto found = validate_all(file.records, tokenizer, options, /*decode_images=*/false);
  const auto problems = merge_problems(file, found);

  if (!problems.empty() && options.bad_record_policy == "fail") {
    std::string more;
    if (problems.size() > 1)
      more = fmt::format(
          " ({} more problems; `adallava data check` lists them all, or set "
          "data.bad_record_policy=skip)",
          problems.size() - 1);
    fail("{}{}", problems.front().to_string(), more);
  }
  for (size_t i = 0; i < file.records.size(); ++i) {
    if (!found[i].empty()) continue;
    auto& record = file.records[i];
    int64_t words = 0;
    for (const auto& turn : record.sample.turns)
      words += static_cast<int64_t>(py::split_whitespace(turn.value).size());
    // LLaVA asserts lengths are never 0; a wordless text-only record still counts as text.
    ds->modality_lengths_.push_back(record.sample.image ? std::max<int64_t>(words, 1)
                                                        : -std::max<int64_t>(words, 1));
    ds->records_.push_back(std::move(record));
  }
  ds->skipped_ = problems;
  if (!problems.empty()) {
    spdlog::warn(
        "[data] {}: skipped {} bad record(s) of {} (data.bad_record_policy=skip); first: {}",
        options.data_path, file.total_records - ds->size(), file.total_records,
        problems.front().to_string());
  }
  ADALLAVA_CHECK(ds->size() > 0, "{}: no usable records ({} read)", options.data_path,
                 file.total_records);
  return ds;
}

TokenizedRecord InstructionDataset::tokenize(int64_t i) const {
  return tokenize_record(record(i).sample, tokenizer_, options_);
}

std::string InstructionDataset::describe(int64_t i) const {
  const auto& r = record(i);
  std::string where = record_location(options_.data_path, r.index, r.line);
  if (r.line > 0) where += ": record " + std::to_string(r.index);
  return where + " (id " + r.sample.id + ")";
}

torch::Tensor InstructionDataset::load_image(int64_t i) const {
  const auto& r = record(i);
  ADALLAVA_CHECK(r.sample.image.has_value(), "{}: record has no image", describe(i));
  const std::string path = join_path(options_.image_folder, *r.sample.image);
  image::PixelTensor pixels;
  try {
    pixels = image::preprocess(image::decode_image_file(path), options_.preprocess,
                               options_.pad_to_square);
  } catch (const Error& e) {
    fail("{}: {}", describe(i), e.what());
  }
  return torch::from_blob(pixels.values.data(), {pixels.channels, pixels.height, pixels.width},
                          torch::kFloat32)
      .clone();
}

}  // namespace adallava::train
