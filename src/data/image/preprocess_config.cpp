// PreprocessConfig from a Hugging Face preprocessor_config.json (CLIPImageProcessor /
// CLIPFeatureExtractor). Keys absent from the file take CLIPImageProcessor's own defaults (size and
// crop 224, OpenAI CLIP mean/std, rescale 1/255), as from_pretrained would -- not the 336 defaults
// of the struct, which describe LLaVA-1.5's tower.
#include <string>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/files.h"
#include "data/image/preprocess.h"

namespace adallava::image {
namespace {

using nlohmann::json;

constexpr int kClipDefaultSize = 224;

int positive_int(const json& v, const std::string& path, const std::string& key) {
  if (!v.is_number_integer() || v.get<int64_t>() <= 0 || v.get<int64_t>() > 1000000) {
    fail("{}: '{}' must be a positive integer, got {}", path, key, v.dump());
  }
  return static_cast<int>(v.get<int64_t>());
}

bool boolean(const json& obj, const std::string& path, const char* key, bool fallback) {
  if (!obj.contains(key) || obj[key].is_null()) return fallback;
  if (!obj[key].is_boolean())
    fail("{}: '{}' must be true or false, got {}", path, key, obj[key].dump());
  return obj[key].get<bool>();
}

std::array<float, 3> triple(const json& obj, const std::string& path, const char* key,
                            std::array<float, 3> fallback) {
  if (!obj.contains(key) || obj[key].is_null()) return fallback;
  const json& v = obj[key];
  std::array<float, 3> out{};
  if (v.is_number()) {  // transformers broadcasts a scalar mean/std to every channel
    out.fill(static_cast<float>(v.get<double>()));
    return out;
  }
  if (!v.is_array() || v.size() != 3) {
    fail("{}: '{}' must be a list of 3 numbers (RGB), got {}", path, key, v.dump());
  }
  for (int c = 0; c < 3; ++c) {
    if (!v[c].is_number()) fail("{}: '{}[{}]' must be a number, got {}", path, key, c, v[c].dump());
    out[c] = static_cast<float>(v[c].get<double>());
  }
  return out;
}

// {height, width} from an int, a {height, width} dict or an [h, w] list.
std::array<int, 2> height_width(const json& v, const std::string& path, const std::string& key) {
  if (v.is_number_integer()) {
    const int s = positive_int(v, path, key);
    return {s, s};
  }
  if (v.is_object() && v.contains("height") && v.contains("width")) {
    return {positive_int(v["height"], path, key + ".height"),
            positive_int(v["width"], path, key + ".width")};
  }
  if (v.is_array() && v.size() == 2) {
    return {positive_int(v[0], path, key + "[0]"), positive_int(v[1], path, key + "[1]")};
  }
  fail("{}: '{}' must be an integer, {{\"height\", \"width\"}} or [height, width], got {}", path,
       key, v.dump());
}

}  // namespace

PreprocessConfig PreprocessConfig::from_json_file(const std::string& path) {
  const json j = read_json_file(path);
  if (!j.is_object()) fail("{}: preprocessor config must be a JSON object", path);

  PreprocessConfig cfg;
  cfg.shortest_edge = kClipDefaultSize;
  cfg.crop_height = cfg.crop_width = kClipDefaultSize;

  if (j.contains("size") && !j["size"].is_null()) {
    const json& size = j["size"];
    if (size.is_number_integer()) {
      // An int size means "shortest edge" for CLIP (get_size_dict(default_to_square=False)).
      cfg.shortest_edge = positive_int(size, path, "size");
    } else if (size.is_object() && size.contains("shortest_edge")) {
      cfg.shortest_edge = positive_int(size["shortest_edge"], path, "size.shortest_edge");
    } else {
      const auto hw = height_width(size, path, "size");
      cfg.resize_height = hw[0];
      cfg.resize_width = hw[1];
    }
  }
  if (j.contains("crop_size") && !j["crop_size"].is_null()) {
    const auto hw = height_width(j["crop_size"], path, "crop_size");
    cfg.crop_height = hw[0];
    cfg.crop_width = hw[1];
  }

  cfg.do_resize = boolean(j, path, "do_resize", true);
  cfg.do_center_crop = boolean(j, path, "do_center_crop", true);
  cfg.do_rescale = boolean(j, path, "do_rescale", true);
  cfg.do_normalize = boolean(j, path, "do_normalize", true);
  cfg.do_convert_rgb = boolean(j, path, "do_convert_rgb", true);

  if (j.contains("rescale_factor") && !j["rescale_factor"].is_null()) {
    const json& v = j["rescale_factor"];
    if (!v.is_number() || !(v.get<double>() > 0.0)) {
      fail("{}: 'rescale_factor' must be a positive number, got {}", path, v.dump());
    }
    cfg.rescale_factor = v.get<double>();
  }
  cfg.image_mean = triple(j, path, "image_mean", cfg.image_mean);
  cfg.image_std = triple(j, path, "image_std", cfg.image_std);
  for (int c = 0; c < 3; ++c) {
    if (!(cfg.image_std[c] != 0.0f)) fail("{}: 'image_std[{}]' must be non-zero", path, c);
  }

  if (j.contains("resample") && !j["resample"].is_null()) {
    if (!j["resample"].is_number_integer()) {
      fail("{}: 'resample' must be an integer PIL filter id, got {}", path, j["resample"].dump());
    }
    cfg.resample = j["resample"].get<int>();
  }
  if (cfg.do_resize && cfg.resample != 3) {
    fail("{}: 'resample' = {} is not supported; only 3 (PIL BICUBIC) is implemented", path,
         cfg.resample);
  }
  return cfg;
}

}  // namespace adallava::image
