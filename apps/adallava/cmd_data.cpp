// `adallava data <action>`: dataset tools. Each action is one entry of data_actions() below:
// synth (the synthetic suite), check (every problem of a training file in one pass) and tokenize
// (prompt, ids, labels and pieces of chosen records).
#include <algorithm>
#include <functional>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "command.h"
#include "common/error.h"
#include "common/files.h"
#include "config/resolved_config.h"
#include "config/train_config.h"
#include "data/synth/generator.h"
#include "data/text/conversation.h"
#include "data/text/tokenizer.h"
#include "train/data/dataset.h"
#include "train/model_factory.h"

namespace adallava::cli {
namespace {

// One nested sub-command: adds its options to `app` and returns the function that runs it.
struct DataAction {
  std::string name;
  std::string description;
  std::function<std::function<int()>(CLI::App& app)> setup;
};

std::function<int()> setup_synth(CLI::App& app) {
  auto options = std::make_shared<synth::SynthOptions>();
  app.add_option("--out", options->out_dir, "Output folder (created; must be empty unless --force)")
      ->required();
  app.add_option("--seed", options->seed,
                 "Random seed; the same seed and options give the same bytes");
  app.add_option("--size", options->size, "tiny (tests), small, default or large (demo)")
      ->check(CLI::IsMember({"tiny", "small", "default", "large"}));
  app.add_option("--eval-size", options->eval_size,
                 "Size of the held-out benchmark sets when it differs from --size")
      ->check(CLI::IsMember({"tiny", "small", "default", "large"}));
  app.add_option("--image-size", options->image_size, "Image side in pixels")
      ->check(CLI::Range(48, 1024));
  app.add_flag("--force", options->force, "Replace a suite previously written to --out");
  return [options]() {
    const auto manifest = synth::generate_suite(*options);
    const auto& counts = manifest["counts"];
    spdlog::info(
        "[synth] wrote {} (seed {}, size {}): {} train / {} val questions, {} caption images",
        options->out_dir, options->seed, options->size, counts["train"]["questions"].get<long>(),
        counts["val"]["questions"].get<long>(), counts["pretrain"]["images"].get<long>());
    for (auto it = counts["eval"].begin(); it != counts["eval"].end(); ++it)
      spdlog::info("[synth]   eval/{}: {} questions on {} images", it.key(),
                   it.value()["questions"].get<long>(), it.value()["images"].get<long>());
    return 0;
  };
}

// Options shared by check and tokenize: the data file and how the model would tokenize it, from
// flags or from a training recipe (flags win over the recipe).
struct InspectOptions {
  std::string config;
  std::vector<std::string> overrides;  // section.key=value, applied to the recipe in order
  bool use_eval = false;
  std::string data;
  std::string image_folder;
  std::string tokenizer;
  std::string conv_template;
  int64_t max_length = 0;
  int64_t image_tokens = 0;
  bool json = false;
};

void add_inspect_options(CLI::App& app, InspectOptions& o) {
  app.add_option("--data", o.data, "Instruction data: LLaVA JSON list or JSON lines");
  app.add_option("--image-folder", o.image_folder,
                 "Folder the records' image paths are relative to");
  app.add_option("--tokenizer", o.tokenizer, "SentencePiece tokenizer.model (or its folder)");
  app.add_option("--template", o.conv_template, "Conversation template (default vicuna_v1)")
      ->check(CLI::IsMember(text::conversation_template_names()));
  app.add_option("--max-length", o.max_length,
                 "Sequence limit, image positions included "
                 "(default 2048)")
      ->check(CLI::Range(int64_t{8}, int64_t{1} << 20));
  app.add_option("--image-tokens", o.image_tokens,
                 "Positions one image takes after splicing (default 576 = 336/14 squared)")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 20));
  app.add_option("--config", o.config,
                 "Training recipe (YAML): take data.train, image folder, tokenizer, template, "
                 "max length and image size from it");
  app.add_flag("--eval", o.use_eval, "With --config: inspect data.eval instead of data.train");
  app.add_flag("--json", o.json, "Machine-readable output");
  app.add_option("overrides", o.overrides,
                 "With --config: section.key=value overrides of the recipe, as train takes them");
}

// Image positions after splicing for the tower the recipe builds; nullopt when it does not tell
// yet (e.g. model.init not trained).
std::optional<int64_t> image_tokens_of(const config::TrainConfig& cfg) {
  const auto vision = train::recipe_vision_config(cfg);
  if (!vision) return std::nullopt;
  return vision->num_patches() + (cfg.model.vision_select_feature == "cls_patch" ? 1 : 0);
}

train::DatasetOptions resolve_inspect_options(const InspectOptions& o, std::string& tokenizer) {
  train::DatasetOptions d;
  d.conv_template = "vicuna_v1";
  config::check_override_arguments(o.overrides);
  if (!o.overrides.empty() && o.config.empty())
    fail("data: the override '{}' needs --config RECIPE", o.overrides.front());
  if (!o.config.empty()) {
    const auto cfg = config::to_train_config(config::resolve_train_config({o.config}, o.overrides));
    if (o.use_eval) {
      ADALLAVA_CHECK(cfg.data.eval.has_value(), "{}: data.eval is not set", o.config);
      d.data_path = *cfg.data.eval;
      d.image_folder = cfg.data.eval_image_folder.value_or(cfg.data.image_folder.value_or(""));
    } else {
      d.data_path = cfg.data.train;
      d.image_folder = cfg.data.image_folder.value_or("");
    }
    d.conv_template = cfg.model.conv_template;
    d.max_length = cfg.data.max_length;
    d.max_records = o.use_eval ? cfg.data.max_eval_samples : cfg.data.max_train_samples;
    const auto tokens = image_tokens_of(cfg);
    ADALLAVA_CHECK(tokens || o.image_tokens > 0,
                   "{}: cannot tell how many positions an image takes (no model.arch vision size "
                   "and no config.json in model.init '{}'); pass --image-tokens N",
                   o.config, cfg.model.init.value_or(""));
    if (tokens) d.image_tokens = *tokens;
    if (cfg.model.tokenizer)
      tokenizer = *cfg.model.tokenizer;
    else if (cfg.model.init)
      tokenizer = join_path(*cfg.model.init, "tokenizer.model");
  }
  if (!o.data.empty()) d.data_path = o.data;
  if (!o.image_folder.empty()) d.image_folder = o.image_folder;
  if (!o.conv_template.empty()) d.conv_template = o.conv_template;
  if (o.max_length > 0) d.max_length = o.max_length;
  if (o.image_tokens > 0) d.image_tokens = o.image_tokens;
  if (!o.tokenizer.empty()) tokenizer = o.tokenizer;
  ADALLAVA_CHECK(!d.data_path.empty(), "data: --data FILE (or --config RECIPE) is required");
  ADALLAVA_CHECK(!tokenizer.empty(), "data: --tokenizer MODEL (or --config RECIPE) is required");
  return d;
}

text::Tokenizer load_tokenizer(const std::string& path) {
  return dir_exists(path) ? text::Tokenizer::load_dir(path) : text::Tokenizer::load(path);
}

nlohmann::json problem_json(const train::RecordProblem& p) {
  nlohmann::json j;
  j["index"] = p.index;
  if (p.line > 0) j["line"] = p.line;
  j["id"] = p.id;
  j["problem"] = p.problem;
  j["message"] = p.to_string();
  return j;
}

std::function<int()> setup_check(CLI::App& app) {
  auto o = std::make_shared<InspectOptions>();
  auto threads = std::make_shared<int64_t>(2);
  add_inspect_options(app, *o);
  app.add_option("--threads", *threads, "Validation threads")->check(CLI::Range(1, 256));
  return [o, threads]() {
    std::string tokenizer_path;
    auto options = resolve_inspect_options(*o, tokenizer_path);
    options.num_threads = *threads;
    const auto tokenizer = load_tokenizer(tokenizer_path);
    int64_t total = 0;
    const auto problems = train::check_dataset(options, tokenizer, /*decode_images=*/true, &total);
    std::map<int64_t, int> bad_records;
    for (const auto& p : problems) bad_records[p.index]++;
    if (o->json) {
      nlohmann::json out;
      out["file"] = options.data_path;
      out["records"] = total;
      out["bad_records"] = bad_records.size();
      out["problems"] = nlohmann::json::array();
      for (const auto& p : problems) out["problems"].push_back(problem_json(p));
      out["ok"] = problems.empty();
      std::cout << out.dump(1) << "\n";
    } else {
      for (const auto& p : problems) std::cout << p.to_string() << "\n";
      std::cout << fmt::format("data check: {}: {} record(s), {} problem(s) in {} record(s)\n",
                               options.data_path, total, problems.size(), bad_records.size());
    }
    return problems.empty() ? 0 : 1;
  };
}

std::vector<int64_t> parse_index_list(const std::string& text) {
  std::vector<int64_t> out;
  std::stringstream stream(text);
  std::string item;
  while (std::getline(stream, item, ',')) {
    try {
      size_t used = 0;
      const long long v = std::stoll(item, &used);
      if (used != item.size() || v < 0) throw std::invalid_argument(item);
      out.push_back(v);
    } catch (const std::exception&) {
      fail("--index: '{}' is not a non-negative record index", item);
    }
  }
  return out;
}

std::function<int()> setup_tokenize(CLI::App& app) {
  auto o = std::make_shared<InspectOptions>();
  auto indices = std::make_shared<std::string>();
  auto ids = std::make_shared<std::vector<std::string>>();
  add_inspect_options(app, *o);
  auto* index_opt =
      app.add_option("--index", *indices, "Comma-separated record indices (0-based), e.g. 3,7");
  auto* id_opt = app.add_option("--id", *ids, "Record id (repeatable)");
  index_opt->excludes(id_opt);
  return [o, indices, ids]() {
    ADALLAVA_CHECK(!indices->empty() || !ids->empty(), "data tokenize: give --index or --id");
    std::string tokenizer_path;
    const auto options = resolve_inspect_options(*o, tokenizer_path);
    const auto tokenizer = load_tokenizer(tokenizer_path);
    const auto file = train::read_record_file(options.data_path);
    for (const auto& p : file.problems)
      if (p.index < 0) fail("{}", p.to_string());

    // Requested records in request order; unreadable ones report their problem.
    std::vector<const train::DataRecord*> chosen;
    std::vector<train::RecordProblem> unreadable;
    auto find_problem = [&](int64_t index) -> const train::RecordProblem* {
      for (const auto& p : file.problems)
        if (p.index == index) return &p;
      return nullptr;
    };
    if (!indices->empty()) {
      for (const int64_t index : parse_index_list(*indices)) {
        const auto it = std::find_if(file.records.begin(), file.records.end(),
                                     [&](const train::DataRecord& r) { return r.index == index; });
        if (it != file.records.end()) {
          chosen.push_back(&*it);
        } else if (const auto* p = find_problem(index)) {
          unreadable.push_back(*p);
        } else {
          fail("{}: no record {} ({} records)", options.data_path, index, file.total_records);
        }
      }
    } else {
      for (const auto& id : *ids) {
        size_t found = 0;
        for (const auto& r : file.records)
          if (r.sample.id == id) {
            chosen.push_back(&r);
            ++found;
          }
        for (const auto& p : file.problems)
          if (p.id == id) {
            unreadable.push_back(p);
            ++found;
          }
        if (found == 0) fail("{}: no record with id '{}'", options.data_path, id);
      }
    }

    nlohmann::json out = nlohmann::json::array();
    bool any_problem = !unreadable.empty();
    for (const auto& p : unreadable) {
      if (o->json) {
        nlohmann::json j = problem_json(p);
        j["problems"] = nlohmann::json::array({p.problem});
        out.push_back(j);
      } else {
        std::cout << p.to_string() << "\n\n";
      }
    }
    for (const auto* record : chosen) {
      const auto problems = train::record_problems(*record, tokenizer, options, true);
      any_problem = any_problem || !problems.empty();
      std::optional<train::TokenizedRecord> t;
      std::string error;
      try {
        t = train::tokenize_record(record->sample, tokenizer, options);
      } catch (const Error& e) {
        error = e.what();
      }
      const std::string where =
          train::record_location(options.data_path, record->index, record->line);
      if (o->json) {
        nlohmann::json j;
        j["index"] = record->index;
        if (record->line > 0) j["line"] = record->line;
        j["id"] = record->sample.id;
        j["template"] = options.conv_template;
        if (t) {
          const auto& s = t->supervised;
          j["prompt"] = s.prompt;
          j["input_ids"] = s.input_ids;
          j["labels"] = s.labels;
          j["pieces"] = tokenizer.pieces(s.input_ids);
          j["num_tokens"] = s.input_ids.size();
          j["tokenization_mismatch"] = s.mismatch;
          j["truncated_length"] = t->tokens.ids.size();
          j["spliced_length"] = t->spliced_length;
          j["num_supervised_tokens"] = t->supervised_tokens;
        }
        j["problems"] = problems;
        out.push_back(j);
        continue;
      }
      std::cout << "== " << where << " (id " << record->sample.id << "), template "
                << options.conv_template << "\n";
      if (t) {
        const auto& s = t->supervised;
        const auto pieces = tokenizer.pieces(s.input_ids);
        std::cout << "prompt:\n" << s.prompt << "\n";
        auto join = [](const auto& values) {
          std::string line;
          for (const auto& v : values) line += (line.empty() ? "" : " ") + fmt::format("{}", v);
          return line;
        };
        std::cout << "input_ids (" << s.input_ids.size() << "): " << join(s.input_ids) << "\n";
        std::cout << "labels    (" << s.labels.size() << "): " << join(s.labels) << "\n";
        std::cout << "pieces: " << join(pieces) << "\n";
        std::cout << fmt::format(
            "kept after max_length {}: {} ids ({} positions spliced), {} supervised tokens\n",
            options.max_length, t->tokens.ids.size(), t->spliced_length, t->supervised_tokens);
        // The supervised text, so a wrongly masked answer is visible at a glance.
        std::string supervised;
        for (size_t i = 0; i < s.labels.size(); ++i)
          supervised += s.labels[i] == text::kIgnoreIndex ? "\u00b7" : pieces[i];
        std::cout << "supervised: " << supervised << "\n";
      }
      for (const auto& p : problems) std::cout << "problem: " << p << "\n";
      std::cout << "\n";
    }
    if (o->json) std::cout << out.dump(1) << "\n";
    return any_problem ? 1 : 0;
  };
}

const std::vector<DataAction>& data_actions() {
  static const std::vector<DataAction> actions = {
      {"synth",
       "Generate the embedded synthetic shapes suite (training, validation and benchmark sets)",
       setup_synth},
      {"check", "Report every problem of an instruction dataset in one pass (exit 1 if any)",
       setup_check},
      {"tokenize",
       "Print the prompt, token ids, labels and pieces of chosen records as training sees them",
       setup_tokenize},
  };
  return actions;
}

RegisterCommand register_data("data", "Dataset tools: synth, check, tokenize", 20,
                              [](CLI::App& app, const GlobalOptions&) -> std::function<int()> {
                                app.require_subcommand(1);
                                auto runners =
                                    std::make_shared<std::map<CLI::App*, std::function<int()>>>();
                                for (const auto& action : data_actions()) {
                                  CLI::App* sub =
                                      app.add_subcommand(action.name, action.description);
                                  (*runners)[sub] = action.setup(*sub);
                                }
                                return [runners]() {
                                  for (auto& [sub, run] : *runners)
                                    if (sub->parsed()) return run();
                                  return 1;
                                };
                              });

}  // namespace
}  // namespace adallava::cli
