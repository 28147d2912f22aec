// Precompiled once (about 20 s) and reused by every torch-using target.
#pragma once
#include <torch/torch.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>
#include <map>
#include <string>
#include <vector>
