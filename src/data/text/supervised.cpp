#include "data/text/supervised.h"

#include <algorithm>

#include "common/error.h"
#include "common/py_text.h"
#include "data/text/conversation.h"
#include "data/text/tokenizer.h"

namespace adallava::text {

namespace {

constexpr char kImagePlaceholder[] = "<image>";

// target[begin:end] = IGNORE with Python/torch slice semantics (negative indices count from the
// end, out-of-range bounds clamp), so odd round lengths behave as they do upstream.
void ignore_slice(std::vector<int64_t>& labels, int64_t begin, int64_t end) {
  const auto size = static_cast<int64_t>(labels.size());
  auto normalize = [size](int64_t index) {
    if (index < 0) index += size;
    return std::clamp<int64_t>(index, 0, size);
  };
  for (int64_t i = normalize(begin); i < normalize(end); ++i) labels[i] = kIgnoreIndex;
}

}  // namespace

std::vector<Turn> preprocess_multimodal(std::vector<Turn> turns) {
  for (auto& turn : turns) {
    if (!py::contains(turn.value, kImagePlaceholder)) continue;
    const std::string rest = py::strip(py::replace_all(turn.value, kImagePlaceholder, ""));
    turn.value = py::strip(std::string(kImagePlaceholder) + "\n" + rest);
  }
  return turns;
}

SupervisedSample preprocess_v1(const std::vector<Turn>& turns, bool has_image,
                               const Tokenizer& tokenizer, const ConversationTemplate& tmpl,
                               const std::string& sample_id, int64_t model_max_length) {
  ADALLAVA_CHECK(tmpl.style == SeparatorStyle::Two,
                 "sample {}: preprocess_v1 needs a two-separator template, '{}' is not", sample_id,
                 tmpl.name);
  ADALLAVA_CHECK(!turns.empty(), "sample {}: conversation has no turns", sample_id);
  auto role_of = [&](const Turn& turn, size_t index) -> const std::string& {
    if (turn.from == "human") return tmpl.user_role;
    if (turn.from == "gpt") return tmpl.assistant_role;
    fail("sample {}: turn {} is from '{}', expected 'human' or 'gpt'", sample_id, index, turn.from);
  };

  // Upstream drops a leading assistant turn, then requires strict human/gpt alternation.
  const size_t first = role_of(turns[0], 0) != tmpl.user_role ? 1 : 0;
  std::vector<Message> messages;
  for (size_t i = first; i < turns.size(); ++i) {
    const std::string& role = role_of(turns[i], i);
    const size_t j = i - first;
    const std::string& expected = j % 2 == 0 ? tmpl.user_role : tmpl.assistant_role;
    ADALLAVA_CHECK(role == expected,
                   "sample {}: turn {} is from '{}' but human and gpt turns must alternate",
                   sample_id, i, turns[i].from);
    messages.push_back({role, turns[i].value});
  }

  SupervisedSample sample;
  sample.prompt = build_prompt(tmpl, messages);
  auto count_tokens = [&](const std::string& text) -> int64_t {
    return static_cast<int64_t>(has_image ? tokenizer.encode_with_image(text).size()
                                          : tokenizer.encode(text).size());
  };
  if (has_image) {
    sample.input_ids = tokenizer.encode_with_image(sample.prompt);
  } else {
    sample.input_ids = tokenizer.encode(sample.prompt);
    if (static_cast<int64_t>(sample.input_ids.size()) > model_max_length) {
      sample.input_ids.resize(model_max_length);
    }
  }
  sample.labels = sample.input_ids;

  // LLaVA pads with <unk>, so a genuine <unk> in the text is not counted here (as upstream).
  const int64_t pad_id = tokenizer.unk_id();
  const auto total_len =
      static_cast<int64_t>(std::count_if(sample.input_ids.begin(), sample.input_ids.end(),
                                         [pad_id](int64_t id) { return id != pad_id; }));

  // Rounds are measured by re-tokenizing each "</s>"-separated piece on its own: round_len
  // counts its own BOS in place of the missing "</s>", and instruction_len drops BOS and the
  // trailing "▁" of "ASSISTANT: " that merges into the answer's first token.
  const std::string answer_sep = tmpl.sep + tmpl.assistant_role + ": ";
  int64_t cur_len = 1;
  ignore_slice(sample.labels, 0, cur_len);
  const auto rounds = py::split(sample.prompt, tmpl.sep2);
  for (size_t i = 0; i < rounds.size(); ++i) {
    const std::string& round = rounds[i];
    if (round.empty()) break;
    auto parts = py::split(round, answer_sep);
    if (parts.size() != 2) break;
    parts[0] += answer_sep;
    int64_t round_len = count_tokens(round);
    int64_t instruction_len = count_tokens(parts[0]) - 2;
    // Non-legacy tokenization of "USER" right after "</s>" has no "▁" prefix: one token fewer
    // than the standalone encoding above (upstream's tokenizers >= 0.14 adjustment).
    if (i != 0) {
      round_len -= 1;
      instruction_len -= 1;
    }
    ignore_slice(sample.labels, cur_len, cur_len + instruction_len);
    cur_len += round_len;
  }
  ignore_slice(sample.labels, cur_len, static_cast<int64_t>(sample.labels.size()));

  if (cur_len < model_max_length && cur_len != total_len) {
    std::fill(sample.labels.begin(), sample.labels.end(), kIgnoreIndex);
    sample.mismatch = true;
    sample.warning =
        fmt::format("WARNING: tokenization mismatch: {} vs. {}. (ignored)", cur_len, total_len);
  }
  return sample;
}

SupervisedSample preprocess_plain(const std::vector<Turn>& turns, const Tokenizer& tokenizer,
                                  const std::string& sample_id) {
  ADALLAVA_CHECK(turns.size() == 2,
                 "sample {}: the plain template needs exactly 2 turns (image, caption), got {}",
                 sample_id, turns.size());
  ADALLAVA_CHECK(py::contains(turns[0].value, kImagePlaceholder),
                 "sample {}: the plain template needs '<image>' in the first turn", sample_id);
  const ConversationTemplate& tmpl = conversation_template("plain");
  // The instruction text is discarded: stage 1 learns to caption the image alone.
  SupervisedSample sample;
  sample.prompt = kImagePlaceholder + turns[1].value + tmpl.sep;
  sample.input_ids = tokenizer.encode_with_image(sample.prompt);
  sample.labels = sample.input_ids;
  const auto masked = static_cast<int64_t>(tokenizer.encode_with_image(kImagePlaceholder).size());
  ignore_slice(sample.labels, 0, masked);
  return sample;
}

SupervisedSample build_supervised_sample(const std::vector<Turn>& turns, bool has_image,
                                         const Tokenizer& tokenizer,
                                         const std::string& template_name,
                                         const std::string& sample_id, int64_t model_max_length) {
  const ConversationTemplate& tmpl = conversation_template(template_name);
  const std::vector<Turn> prepared = has_image ? preprocess_multimodal(turns) : turns;
  if (tmpl.style == SeparatorStyle::Plain) return preprocess_plain(prepared, tokenizer, sample_id);
  return preprocess_v1(prepared, has_image, tokenizer, tmpl, sample_id, model_max_length);
}

}  // namespace adallava::text
