#include "data/text/instruction_data.h"

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/files.h"

namespace adallava::text {

namespace {

const std::string& string_field(const nlohmann::json& object, const char* key,
                                const std::string& where) {
  const auto it = object.find(key);
  if (it == object.end()) fail("{}: missing field '{}'", where, key);
  if (!it->is_string()) fail("{}: field '{}' must be a string", where, key);
  return it->get_ref<const std::string&>();
}

}  // namespace

InstructionSample parse_instruction_sample(const nlohmann::json& entry, const std::string& where) {
  if (!entry.is_object()) fail("{}: sample must be a JSON object", where);
  InstructionSample sample;
  const auto id = entry.find("id");
  if (id == entry.end()) fail("{}: missing field 'id'", where);
  if (id->is_string()) {
    sample.id = id->get<std::string>();
  } else if (id->is_number_integer()) {
    sample.id = std::to_string(id->get<int64_t>());
  } else {
    fail("{}: field 'id' must be a string or an integer", where);
  }
  if (entry.contains("image")) sample.image = string_field(entry, "image", where);

  const auto conversations = entry.find("conversations");
  if (conversations == entry.end()) fail("{}: missing field 'conversations'", where);
  if (!conversations->is_array()) fail("{}: field 'conversations' must be a list", where);
  for (size_t i = 0; i < conversations->size(); ++i) {
    const auto& turn = (*conversations)[i];
    const std::string turn_where = where + ".conversations[" + std::to_string(i) + "]";
    if (!turn.is_object()) fail("{}: turn must be a JSON object", turn_where);
    sample.turns.push_back(
        {string_field(turn, "from", turn_where), string_field(turn, "value", turn_where)});
  }
  return sample;
}

std::vector<InstructionSample> load_instruction_data(const std::string& path) {
  const nlohmann::json document = read_json_file(path);
  if (!document.is_array()) fail("{}: expected a JSON list of samples", path);
  std::vector<InstructionSample> samples;
  samples.reserve(document.size());
  for (size_t i = 0; i < document.size(); ++i) {
    samples.push_back(parse_instruction_sample(document[i], path + "[" + std::to_string(i) + "]"));
  }
  return samples;
}

}  // namespace adallava::text
