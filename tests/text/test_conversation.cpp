// Conversation templates and evaluation prompts vs golden/text eval_prompts.
#include <catch2/catch.hpp>

#include "common/error.h"
#include "data/text/conversation.h"
#include "golden_text.h"

using adallava::Error;
using namespace adallava::text;
using namespace adallava::test;

namespace {

// Checks prompt, ids and pieces of one template's golden entry; returns whether all matched.
bool check_eval_prompt(const std::string& template_name, const std::string& text,
                       const nlohmann::json& expected) {
  const auto& tok = llama_tokenizer();
  const std::string prompt =
      build_question_prompt(conversation_template(template_name), text, /*has_image=*/true);
  const auto ids = tok.encode_with_image(prompt);
  INFO("template " << template_name << ", text '" << text << "'");
  CHECK(prompt == expected.at("prompt").get<std::string>());
  CHECK(ids == ids_of(expected.at("input_ids")));
  CHECK(tok.pieces(ids) == expected.at("pieces").get<std::vector<std::string>>());
  return prompt == expected.at("prompt").get<std::string>() &&
         ids == ids_of(expected.at("input_ids")) &&
         tok.pieces(ids) == expected.at("pieces").get<std::vector<std::string>>();
}

}  // namespace

TEST_CASE("eval prompts: vicuna_v1, llava_v1 and plain match model_vqa_loader",
          "[text][conversation]") {
  const auto& prompts = text_golden().at("eval_prompts");
  REQUIRE(prompts.size() == 11);
  int vicuna = 0, llava = 0, plain = 0;
  for (const auto& e : prompts) {
    const std::string text = e.at("text");
    vicuna += check_eval_prompt("vicuna_v1", text, e);
    llava += check_eval_prompt("llava_v1", text, e.at("other_templates").at("llava_v1"));
    plain += check_eval_prompt("plain", text, e.at("other_templates").at("plain"));
    // The image block starts right after "USER: " (FastV's SYS_LENGTH = 35).
    const auto ids = llama_tokenizer().encode_with_image(e.at("prompt").get<std::string>());
    const auto position = std::find(ids.begin(), ids.end(), kImageTokenIndex) - ids.begin();
    CHECK(position == e.at("image_token_position").get<int64_t>());
  }
  const int total = static_cast<int>(prompts.size());
  report("eval_prompts vicuna_v1", vicuna, total);
  report("eval_prompts llava_v1", llava, total);
  report("eval_prompts plain", plain, total);
  REQUIRE(vicuna == total);
  REQUIRE(llava == total);
  REQUIRE(plain == total);
}

TEST_CASE("template registry: names, alias and unknown names", "[text][conversation]") {
  CHECK(&conversation_template("v1") == &conversation_template("vicuna_v1"));
  const auto& vicuna = conversation_template("vicuna_v1");
  CHECK(vicuna.style == SeparatorStyle::Two);
  CHECK(vicuna.sep == " ");
  CHECK(vicuna.sep2 == "</s>");
  CHECK(vicuna.user_role == "USER");
  CHECK(vicuna.assistant_role == "ASSISTANT");
  CHECK(conversation_template("plain").style == SeparatorStyle::Plain);
  CHECK(conversation_template("plain").sep == "\n");
  for (const auto& name : conversation_template_names()) {
    CHECK_NOTHROW(conversation_template(name));
  }
  try {
    conversation_template("llama_2");
    FAIL("expected an error");
  } catch (const Error& e) {
    CHECK_THAT(e.what(), Catch::Contains("llama_2") && Catch::Contains("vicuna_v1"));
  }
}

TEST_CASE("build_prompt follows Conversation.get_prompt", "[text][conversation]") {
  const auto& tmpl = conversation_template("vicuna_v1");
  const std::string system = tmpl.system + " ";
  // Two rounds: answers end with sep2, questions with sep.
  CHECK(build_prompt(
            tmpl,
            {{"USER", "q1"}, {"ASSISTANT", "a1"}, {"USER", "q2"}, {"ASSISTANT", std::nullopt}}) ==
        system + "USER: q1 ASSISTANT: a1</s>USER: q2 ASSISTANT:");
  // An empty message counts as None: role + ":" with no separator.
  CHECK(build_prompt(tmpl, {{"USER", "q"}, {"ASSISTANT", ""}}) == system + "USER: q ASSISTANT:");
  CHECK(build_prompt(tmpl, {}) == system);

  const auto& plain = conversation_template("plain");
  CHECK(build_prompt(plain, {{"", "<image>\nq"}, {"", std::nullopt}}) == "<image>\nq\n");
  CHECK_THROWS_AS(build_prompt(plain, {{"", "q"}, {"", "answer"}}), Error);
}

TEST_CASE("build_question_prompt adds the image line only when needed", "[text][conversation]") {
  const auto& tmpl = conversation_template("vicuna_v1");
  const std::string head = tmpl.system + " USER: ";
  CHECK(build_question_prompt(tmpl, "What?", true) == head + "<image>\nWhat? ASSISTANT:");
  CHECK(build_question_prompt(tmpl, "What?", false) == head + "What? ASSISTANT:");
  CHECK(build_question_prompt(tmpl, "What? <image>", true) == head + "What? <image> ASSISTANT:");
}
