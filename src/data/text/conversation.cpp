#include "data/text/conversation.h"

#include <fmt/format.h>

#include "common/error.h"
#include "common/py_text.h"

namespace adallava::text {

namespace {

const ConversationTemplate& vicuna_v1() {
  static const ConversationTemplate tmpl{
      "vicuna_v1",
      "A chat between a curious user and an artificial intelligence assistant. The assistant "
      "gives helpful, detailed, and polite answers to the user's questions.",
      "USER",
      "ASSISTANT",
      SeparatorStyle::Two,
      " ",
      "</s>"};
  return tmpl;
}

const ConversationTemplate& llava_v1() {
  static const ConversationTemplate tmpl{
      "llava_v1",
      "A chat between a curious human and an artificial intelligence assistant. The assistant "
      "gives helpful, detailed, and polite answers to the human's questions.",
      "USER",
      "ASSISTANT",
      SeparatorStyle::Two,
      " ",
      "</s>"};
  return tmpl;
}

// Upstream's plain template has sep2 = None; build_prompt rejects a second message instead.
const ConversationTemplate& plain() {
  static const ConversationTemplate tmpl{"plain", "", "", "", SeparatorStyle::Plain, "\n", ""};
  return tmpl;
}

}  // namespace

const ConversationTemplate& conversation_template(const std::string& name) {
  if (name == "vicuna_v1" || name == "v1") return vicuna_v1();
  if (name == "llava_v1") return llava_v1();
  if (name == "plain") return plain();
  fail("unknown conversation template '{}' (known: {})", name,
       fmt::join(conversation_template_names(), ", "));
}

std::vector<std::string> conversation_template_names() {
  return {"vicuna_v1", "v1", "llava_v1", "plain"};
}

std::string build_prompt(const ConversationTemplate& tmpl, const std::vector<Message>& messages) {
  const std::string seps[2] = {tmpl.sep, tmpl.sep2};
  std::string prompt;
  if (tmpl.style == SeparatorStyle::Two) {
    prompt = tmpl.system + tmpl.sep;
    for (size_t i = 0; i < messages.size(); ++i) {
      const auto& message = messages[i];
      // Python's `if message:` treats "" like None: no content and no separator.
      if (message.content && !message.content->empty()) {
        prompt += message.role + ": " + *message.content + seps[i % 2];
      } else {
        prompt += message.role + ":";
      }
    }
    return prompt;
  }
  prompt = tmpl.system;
  for (size_t i = 0; i < messages.size(); ++i) {
    const auto& message = messages[i];
    if (!message.content || message.content->empty()) continue;
    if (i % 2 == 1 && tmpl.sep2.empty()) {
      // Upstream concatenates None here and raises TypeError.
      fail(
          "conversation template '{}': message {} (role '{}') cannot have content: the plain "
          "template only formats the user turn",
          tmpl.name, i, message.role);
    }
    prompt += *message.content + seps[i % 2];
  }
  return prompt;
}

std::string build_question_prompt(const ConversationTemplate& tmpl, const std::string& question,
                                  bool has_image) {
  std::string user_turn = question;
  if (has_image && !py::contains(question, "<image>")) user_turn = "<image>\n" + question;
  return build_prompt(tmpl, {{tmpl.user_role, user_turn}, {tmpl.assistant_role, std::nullopt}});
}

}  // namespace adallava::text
