#include "data/synth/generator.h"

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "common/error.h"
#include "common/files.h"
#include "data/synth/benchmarks.h"
#include "data/synth/questions.h"
#include "data/synth/splits.h"
#include "data/synth/suite_context.h"
#include "data/text/conversation.h"
#include "data/text/tokenizer_training.h"

namespace adallava::synth {

const char* const kGeneratorVersion = "1.3.0";

namespace {

namespace fs = std::filesystem;

// An existing folder is only replaced when it holds a suite we wrote, so a typo in --out can
// never wipe unrelated data.
void prepare_output(const SynthOptions& options) {
  const fs::path root(options.out_dir);
  std::error_code ec;
  if (fs::exists(root, ec)) {
    if (!fs::is_directory(root, ec)) fail("{}: exists and is not a folder", options.out_dir);
    if (!fs::is_empty(root, ec)) {
      const fs::path manifest = root / "manifest.json";
      bool ours = false;
      if (fs::exists(manifest, ec)) {
        try {
          ours = read_json_file(manifest.string()).value("generator", "") == "adallava-synth";
        } catch (const Error&) {
          ours = false;
        }
      }
      if (!options.force)
        fail("{}: folder is not empty (use --force to replace a suite written by this command)",
             options.out_dir);
      if (!ours)
        fail(
            "{}: folder is not empty and its manifest.json was not written by adallava data synth; "
            "refusing "
            "to delete it",
            options.out_dir);
      for (const auto& entry : fs::directory_iterator(root)) fs::remove_all(entry.path());
    }
  }
  fs::create_directories(root, ec);
  if (ec) fail("{}: cannot create folder: {}", options.out_dir, ec.message());
}

// The suite's own SentencePiece model (no pretrained tokenizer exists offline for a model
// trained from scratch), trained on corpus.txt plus vicuna_v1's fixed text. The system prompt
// starts every training conversation, so it is weighted as often as one corpus line in 16
// appears; that keeps it to whole-word pieces and prompts short. 1024 pieces = 259 specials and
// bytes (byte fallback keeps "\n" and unseen characters off <unk>) + 765 learned: enough for every
// word of the suite to be one piece. 512 split answers such as "right" and "purple" into letters,
// and made training conversations a third longer (docs/demo.md, round 5).
void write_tokenizer(const std::string& out_dir, size_t corpus_lines) {
  text::TokenizerTrainingOptions options;
  options.vocab_size = kTokenizerVocabSize;
  const auto& vicuna = text::conversation_template("vicuna_v1");
  const std::string fixed_text =
      vicuna.system + " " + vicuna.user_role + ": " + vicuna.assistant_role + ":";
  options.extra_sentences.assign(std::max<size_t>(1, corpus_lines / 16), fixed_text);
  text::train_tokenizer(join_path(out_dir, "corpus.txt"), join_path(out_dir, "tokenizer.model"),
                        options);
}

}  // namespace

nlohmann::ordered_json generate_suite(const SynthOptions& options) {
  ADALLAVA_CHECK(!options.out_dir.empty(), "data synth: --out is required");
  ADALLAVA_CHECK(options.image_size >= 48 && options.image_size <= 1024,
                 "data synth: --image-size {} outside 48..1024", options.image_size);
  SizePreset preset = size_preset(options.size);
  if (!options.eval_size.empty()) {
    const SizePreset e = size_preset(options.eval_size);
    preset.vqav2_images = e.vqav2_images;
    preset.gqa_images = e.gqa_images;
    preset.textvqa_images = e.textvqa_images;
    preset.scienceqa_problems = e.scienceqa_problems;
    preset.pope_images = e.pope_images;
    preset.mme_images_per_category = e.mme_images_per_category;
    preset.mmbench_questions = e.mmbench_questions;
  }
  prepare_output(options);
  SuiteContext ctx(options.out_dir, options.seed, options.image_size, preset);

  std::vector<ojson> scenes;
  const SplitStats train = write_instruction_split(ctx, "train", preset.train_images, scenes);
  const SplitStats val = write_instruction_split(ctx, "val", preset.val_images, scenes);
  ctx.write_jsonl("scenes.jsonl", scenes);

  ojson eval;
  eval["vqav2"] = write_vqav2(ctx);
  eval["gqa"] = write_gqa(ctx);
  eval["textvqa"] = write_textvqa(ctx);
  eval["scienceqa"] = write_scienceqa(ctx);
  eval["pope"] = write_pope(ctx);
  eval["mme"] = write_mme(ctx);
  eval["mmbench"] = write_mmbench(ctx);

  std::string corpus;
  for (const auto& line : ctx.corpus()) corpus += line + "\n";
  ctx.write_text("corpus.txt", corpus);
  write_tokenizer(options.out_dir, ctx.corpus().size());

  ojson m;
  m["generator"] = "adallava-synth";
  m["generator_version"] = kGeneratorVersion;
  m["seed"] = options.seed;
  ojson opts;
  opts["size"] = preset.name;
  if (!options.eval_size.empty()) opts["eval_size"] = options.eval_size;
  opts["image_size"] = options.image_size;
  m["options"] = opts;
  ojson vocab;
  vocab["families"] = family_names();
  vocab["colors"] = colour_names();
  vocab["shapes"] = shape_names();
  vocab["sizes"] = ojson::array({"small", "big"});
  vocab["letters"] = letter_names();
  m["vocabulary"] = vocab;
  ojson files;
  files["images"] = "images";
  files["pretrain"] = "pretrain.json";
  files["train"] = "train.json";
  files["val"] = "val.json";
  files["scenes"] = "scenes.jsonl";
  files["corpus"] = "corpus.txt";
  files["tokenizer"] = "tokenizer.model";
  ojson eval_manifests;
  for (auto it = eval.begin(); it != eval.end(); ++it)
    eval_manifests[it.key()] = "eval/" + it.key() + "/manifest.json";
  files["eval"] = eval_manifests;
  m["files"] = files;
  ojson counts;
  ojson pretrain;
  pretrain["images"] = train.images;
  pretrain["captions"] = train.images;
  counts["pretrain"] = pretrain;
  counts["train"] = split_stats_json(train);
  counts["val"] = split_stats_json(val);
  ojson eval_counts;
  for (auto it = eval.begin(); it != eval.end(); ++it) eval_counts[it.key()] = it.value()["counts"];
  counts["eval"] = eval_counts;
  counts["corpus_lines"] = ctx.corpus().size();
  m["counts"] = counts;
  write_text_file_atomic(join_path(options.out_dir, "manifest.json"), m.dump(1) + "\n");
  return m;
}

}  // namespace adallava::synth
