#include "data/synth/knowledge.h"

namespace adallava::synth {

const std::vector<KnowledgeFact>& knowledge_facts() {
  static const std::vector<KnowledgeFact> facts = {
      {"How many sides does a triangle have?", "3", {"3", "4", "5", "6"}},
      {"How many sides does a square have?", "4", {"3", "4", "5", "6"}},
      {"How many sides does a hexagon have?", "6", {"3", "4", "5", "6"}},
      {"How many points does a star have?", "5", {"3", "4", "5", "6"}},
      {"Which shape has no corners?", "circle", {"circle", "square", "triangle", "star"}},
      {"Which shape has three corners?", "triangle", {"circle", "square", "triangle", "hexagon"}},
      {"Which color do you get by mixing red and yellow?",
       "orange",
       {"orange", "green", "purple", "black"}},
      {"Which color do you get by mixing blue and yellow?",
       "green",
       {"orange", "green", "purple", "white"}},
      {"Which color do you get by mixing red and blue?",
       "purple",
       {"orange", "green", "purple", "yellow"}},
      {"What color is snow?", "white", {"white", "black", "red", "blue"}},
  };
  return facts;
}

}  // namespace adallava::synth
