// LLaVA conversation templates (llava/conversation.py) and prompt building.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace adallava::text {

enum class SeparatorStyle { Two, Plain };

struct ConversationTemplate {
  std::string name;
  std::string system;
  std::string user_role;
  std::string assistant_role;
  SeparatorStyle style;
  std::string sep;
  std::string sep2;
};

// "vicuna_v1" (alias "v1"), "llava_v1", "plain". Unknown names are an error listing the known ones.
const ConversationTemplate& conversation_template(const std::string& name);
std::vector<std::string> conversation_template_names();

struct Message {
  std::string role;  // the template's role string
  std::optional<std::string>
      content;  // nullopt (or empty) = open turn, e.g. the answer to generate
};

// Conversation.get_prompt() for the template.
std::string build_prompt(const ConversationTemplate& tmpl, const std::vector<Message>& messages);

// The single-turn inference prompt: "<image>\n" is put in front of `question` when `has_image`
// and the question has no "<image>" yet (as LLaVA's run scripts do).
std::string build_question_prompt(const ConversationTemplate& tmpl, const std::string& question,
                                  bool has_image);

}  // namespace adallava::text
