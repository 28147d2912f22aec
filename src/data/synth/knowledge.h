// A handful of text-only facts about the suite's shapes and colours. They give the training set
// LLaVA-style text-only conversations and ScienceQA its problems without an image.
#pragma once

#include <string>
#include <vector>

namespace adallava::synth {

struct KnowledgeFact {
  std::string question;
  std::string answer;
  std::vector<std::string> options;  // contains `answer`
};

const std::vector<KnowledgeFact>& knowledge_facts();

}  // namespace adallava::synth
