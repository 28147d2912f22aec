// Loading YAML files and overrides into the training schema: errors name key, file and line;
// merge order is defaults < files in order < overrides in order.
#include <fstream>

#include <catch2/catch.hpp>

#include "common/error.h"
#include "config/train_config.h"
#include "support/paths.h"

using namespace adallava::config;
using Catch::Matchers::Contains;

namespace {

const char* kMinimal = R"(model:
  init: ckpt/llava
data:
  train: train.json
optimizer:
  lr: 1e-4
checkpointing:
  output_dir: runs/x
)";

ResolvedConfig minimal() {
  ResolvedConfig r(train_schema());
  r.merge_yaml_text(kMinimal, "base.yaml");
  return r;
}

// The message of the adallava::Error thrown by `f` ("" when none is thrown).
template <typename F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const adallava::Error& e) {
    return e.what();
  }
  return "";
}

std::string merge_error(const std::string& yaml) {
  return error_of([&] { minimal().merge_yaml_text(yaml, "bad.yaml"); });
}

std::string override_error(const std::string& argument) {
  return error_of([&] { minimal().apply_override(argument); });
}

}  // namespace

TEST_CASE("minimal config resolves with defaults and typed access") {
  ResolvedConfig r = minimal();
  REQUIRE_NOTHROW(check_train_config(r));
  CHECK(r.get_float("optimizer.lr") == 1e-4);
  CHECK(r.get_string("data.train") == "train.json");
  CHECK(r.get_int("schedule.seed") == 42);
  CHECK(r.get_float_list("optimizer.betas") == std::vector<double>{0.9, 0.999});
  CHECK(r.get_float("adaptive.tau") == 5.0);
  CHECK_FALSE(r.is_set("optimizer.projector_lr"));
  CHECK(r.origin("optimizer.lr") == "base.yaml:6");
  CHECK(r.origin("schedule.seed") == "default");

  const TrainConfig cfg = to_train_config(r);
  CHECK(cfg.optimizer.lr == 1e-4);
  CHECK(cfg.model.init == std::optional<std::string>("ckpt/llava"));
  CHECK_FALSE(cfg.optimizer.projector_lr.has_value());
  CHECK(cfg.schedule.global_batch_size == 128);
  CHECK(cfg.grad_accum_steps(1) == 8);
  CHECK(cfg.checkpointing.save_every == Frequency::every_epochs(1));
  CHECK(cfg.logging.log_every == Frequency::every_updates(10));

  // Typed access refuses the wrong type and unknown keys.
  CHECK_THROWS_WITH(r.get_int("optimizer.lr"), Contains("optimizer.lr") && Contains("float"));
  CHECK_THROWS_WITH(r.get_float("optimizer.lrr"), Contains("unknown key 'optimizer.lrr'"));
  CHECK_THROWS_WITH(r.get_float("optimizer.projector_lr"), Contains("not set"));
}

TEST_CASE("unknown key names the key, the file and its line") {
  const std::string msg = merge_error("optimizer:\n  lr: 1e-4\n  weight_decai: 0.1\n");
  CHECK_THAT(msg, Contains("bad.yaml:3:3"));
  CHECK_THAT(msg, Contains("unknown key 'optimizer.weight_decai'"));
  CHECK_THAT(msg, Contains("did you mean 'optimizer.weight_decay'"));

  // A key under the wrong section points at where it belongs.
  CHECK_THAT(merge_error("optimizer:\n  warmup_ratio: 0.1\n"),
             Contains("bad.yaml:2:3") && Contains("schedule.warmup_ratio"));
  CHECK_THAT(merge_error("optimiser:\n  lr: 1\n"),
             Contains("bad.yaml:1:1") && Contains("unknown key 'optimiser'"));
  // Nested sections keep full paths.
  CHECK_THAT(merge_error("model:\n  arch:\n    llm_layerz: 4\n"),
             Contains("bad.yaml:3:5") && Contains("model.arch.llm_layerz") &&
                 Contains("model.arch.llm_layers"));
}

TEST_CASE("unknown key in a real file names the file path") {
  const std::string dir = adallava::test::scratch_dir("config_loading");
  const std::string path = dir + "/recipe.yaml";
  std::ofstream(path) << "data:\n  train: a.json\n\n  bogus_key: 3\n";
  ResolvedConfig r(train_schema());
  const std::string msg = error_of([&] { r.merge_file(path); });
  CHECK_THAT(msg, Contains(path + ":4:3") && Contains("data.bogus_key"));
  CHECK_THAT(error_of([&] { r.merge_file(dir + "/missing.yaml"); }),
             Contains("missing.yaml") && Contains("cannot open"));
}

TEST_CASE("wrong types are errors naming key, file and line") {
  CHECK_THAT(merge_error("optimizer:\n  lr: fast\n"),
             Contains("bad.yaml:2:7") && Contains("optimizer.lr") && Contains("expected a float") &&
                 Contains("'fast'"));
  CHECK_THAT(merge_error("schedule:\n  micro_batch_size: 2.5\n"),
             Contains("bad.yaml:2") && Contains("schedule.micro_batch_size") && Contains("an int"));
  CHECK_THAT(merge_error("data:\n  shuffle: maybe\n"),
             Contains("data.shuffle") && Contains("bool"));
  // Quoting makes a string, so "5" is not an int.
  CHECK_THAT(merge_error("schedule:\n  seed: \"5\"\n"), Contains("quoted string"));
  CHECK_THAT(merge_error("optimizer:\n  betas: 0.9\n"),
             Contains("optimizer.betas") && Contains("list"));
  CHECK_THAT(merge_error("optimizer:\n  betas: [0.9, x]\n"),
             Contains("element 1") && Contains("'x'"));
  CHECK_THAT(merge_error("optimizer:\n  lr: [1, 2]\n"), Contains("expected a float, got a list"));
  CHECK_THAT(merge_error("optimizer: 3\n"),
             Contains("bad.yaml:1:1") && Contains("optimizer: is a section"));
  CHECK_THAT(merge_error("schedule:\n  seed: null\n"),
             Contains("schedule.seed") && Contains("null"));
  CHECK_THAT(merge_error("checkpointing:\n  save_every: 3x\n"),
             Contains("checkpointing.save_every") && Contains("not a frequency"));
}

TEST_CASE("out-of-range values and bad enums are errors") {
  CHECK_THAT(merge_error("optimizer:\n  lr: 0\n"), Contains("bad.yaml:2:7") &&
                                                       Contains("optimizer.lr") &&
                                                       Contains("out of range") && Contains("> 0"));
  CHECK_THAT(merge_error("optimizer:\n  betas: [0.9, 1.0]\n"),
             Contains("optimizer.betas") && Contains("element 1") && Contains("< 1"));
  CHECK_THAT(merge_error("optimizer:\n  betas: [0.9]\n"), Contains("expected 2 elements"));
  CHECK_THAT(merge_error("schedule:\n  micro_batch_size: 0\n"), Contains(">= 1"));
  CHECK_THAT(merge_error("schedule:\n  lr_schedule: cosin\n"),
             Contains("bad.yaml:2:16") && Contains("schedule.lr_schedule") &&
                 Contains("'cosin' is not one of: cosine, linear, constant"));
  CHECK_THAT(merge_error("adaptive:\n  variant: l\n"), Contains("none, L, H"));
}

TEST_CASE("duplicate keys and YAML syntax errors are reported with their line") {
  CHECK_THAT(merge_error("optimizer:\n  lr: 1e-4\n  lr: 1e-3\n"),
             Contains("bad.yaml:3") && Contains("duplicate key") && Contains("optimizer.lr"));
  CHECK_THAT(merge_error("optimizer:\n  lr: [1e-4\n"), Contains("bad.yaml:") && Contains("syntax"));
  CHECK_THAT(merge_error("- a\n- b\n"), Contains("top level"));
}

TEST_CASE("a failed merge leaves the config unchanged") {
  ResolvedConfig r = minimal();
  CHECK_THROWS(r.merge_yaml_text("optimizer:\n  lr: 0.5\n  bogus: 1\n", "bad.yaml"));
  CHECK(r.get_float("optimizer.lr") == 1e-4);
}

TEST_CASE("overrides are typed by the schema and win over files") {
  ResolvedConfig r = minimal();
  r.apply_override("optimizer.lr=3e-4");
  r.apply_override("optimizer.betas=[0.9, 0.95]");
  r.apply_override("schedule.micro_batch_size=4");
  r.apply_override("data.train=\"my data/train.json\"");
  r.apply_override("checkpointing.save_every=2e");
  r.apply_override("logging.progress=off");  // an enum word, not the YAML 1.1 bool
  r.apply_override("optimizer.projector_lr=2e-5");
  r.apply_override("logging.metrics_file=null");
  r.apply_override("threads=2");
  CHECK(r.get_float("optimizer.lr") == 3e-4);
  CHECK(r.origin("optimizer.lr") == "override 'optimizer.lr=3e-4'");
  CHECK(r.get_float_list("optimizer.betas") == std::vector<double>{0.9, 0.95});
  CHECK(r.get_int("schedule.micro_batch_size") == 4);
  CHECK(r.get_string("data.train") == "my data/train.json");
  CHECK(r.get_frequency("checkpointing.save_every") == Frequency::every_epochs(2));
  CHECK(r.get_string("logging.progress") == "off");
  CHECK(r.get_float("optimizer.projector_lr") == 2e-5);
  CHECK_FALSE(r.is_set("logging.metrics_file"));
  CHECK(r.get_int("threads") == 2);

  // Files merged after the override was applied do not matter to the CLI order, but a later
  // override replaces an earlier one.
  r.apply_override("optimizer.lr=5e-4");
  CHECK(r.get_float("optimizer.lr") == 5e-4);
}

TEST_CASE("bad overrides name the argument") {
  CHECK_THAT(override_error("optimizer.lrr=1e-4"), Contains("override 'optimizer.lrr=1e-4'") &&
                                                       Contains("unknown key") &&
                                                       Contains("optimizer.lr"));
  CHECK_THAT(override_error("optimizer.lr=abc"),
             Contains("override 'optimizer.lr=abc'") && Contains("expected a float"));
  CHECK_THAT(override_error("schedule.seed=1.5"),
             Contains("override 'schedule.seed=1.5'") && Contains("int"));
  CHECK_THAT(override_error("optimizer.lr=-1"), Contains("out of range"));
  CHECK_THAT(override_error("schedule.lr_schedule=step"), Contains("not one of"));
  CHECK_THAT(override_error("optimizer=1"), Contains("is a section"));
  CHECK_THAT(override_error("optimizer.lr"), Contains("expected section.key=value"));
  CHECK_THAT(override_error("=3"), Contains("expected section.key=value"));
  CHECK_THAT(override_error("optimizer.betas=[0.9, 0.95"), Contains("not valid YAML"));
  CHECK_THAT(override_error("optimizer.lr="), Contains("may not be null"));
}

TEST_CASE("several files merge in order, later wins, and required keys are enforced") {
  ResolvedConfig r(train_schema());
  r.merge_yaml_text("optimizer:\n  lr: 1e-3\n  weight_decay: 0.1\ndata:\n  train: a.json\n",
                    "a.yaml");
  r.merge_yaml_text("optimizer:\n  lr: 2e-5\n", "b.yaml");
  CHECK(r.get_float("optimizer.lr") == 2e-5);
  CHECK(r.origin("optimizer.lr") == "b.yaml:2");
  CHECK(r.get_float("optimizer.weight_decay") == 0.1);  // untouched by b.yaml
  CHECK(r.get_string("data.train") == "a.json");

  const std::string msg = error_of([&] { r.check_required(); });
  CHECK_THAT(msg, Contains("checkpointing.output_dir"));
  CHECK_THAT(msg, !Contains("optimizer.lr"));
  r.apply_override("checkpointing.output_dir=runs/y");
  CHECK_NOTHROW(r.check_required());

  // Dotted keys also work inside files, and an empty section is allowed.
  r.merge_yaml_text("optimizer.grad_clip: 0.5\nlogging:\n", "c.yaml");
  CHECK(r.get_float("optimizer.grad_clip") == 0.5);
}

TEST_CASE("resolve_train_config reads files then overrides") {
  const std::string dir = adallava::test::scratch_dir("config_resolve");
  std::ofstream(dir + "/a.yaml") << kMinimal;
  std::ofstream(dir + "/b.yaml") << "optimizer:\n  lr: 7e-5\nschedule:\n  micro_batch_size: 8\n";
  const ResolvedConfig r =
      resolve_train_config({dir + "/a.yaml", dir + "/b.yaml"}, {"schedule.micro_batch_size=32"});
  CHECK(r.get_float("optimizer.lr") == 7e-5);           // b.yaml over a.yaml
  CHECK(r.get_int("schedule.micro_batch_size") == 32);  // override over b.yaml
  CHECK(to_train_config(r).grad_accum_steps(1) == 4);
}

TEST_CASE("is_override_argument tells overrides from file names") {
  CHECK(is_override_argument("optimizer.lr=1e-4"));
  CHECK(is_override_argument("threads=2"));
  CHECK(is_override_argument("data.train=a=b.json"));
  CHECK_FALSE(is_override_argument("configs/train/x.yaml"));
  CHECK_FALSE(is_override_argument("=x"));
  CHECK_FALSE(is_override_argument("my file=x"));
}
