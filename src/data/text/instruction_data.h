// Reader for LLaVA's instruction-data JSON (a list of {"id", "image"?, "conversations"}).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "data/text/supervised.h"

namespace adallava::text {

struct InstructionSample {
  std::string id;                    // numeric ids are kept as their decimal text
  std::optional<std::string> image;  // relative image path; nullopt for text-only samples
  std::vector<Turn> turns;
};

// `where` names the source in errors (e.g. "data.json[12]").
InstructionSample parse_instruction_sample(const nlohmann::json& entry, const std::string& where);
// Errors name the file, the entry index and the field.
std::vector<InstructionSample> load_instruction_data(const std::string& path);

}  // namespace adallava::text
