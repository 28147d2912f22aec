// Converting one YAML node into the typed value a schema key expects (internal to the config
// module; it is the only place that decides how YAML text becomes a value).
#pragma once

#include <yaml-cpp/yaml.h>

#include "config/schema.h"

namespace adallava::config {

// Reads `node` as a value of `spec`'s type and checks the key's constraints. Plain scalars
// null, Null, NULL, ~ and an empty value are null. Bools are true/false (YAML 1.2), numbers
// use the YAML 1.2 core forms (1e-5 is a float); quoted scalars are strings, so "5" is not an
// int. Throws adallava::Error with a message that does not name the key or location.
Value read_yaml_value(const YAML::Node& node, const KeySpec& spec);

// What a node looks like in an error message: 'text' for scalars, "a mapping", "a list".
std::string describe_node(const YAML::Node& node);

}  // namespace adallava::config
