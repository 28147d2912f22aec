// VQAv2 submission file against convert_vqav2_for_submission.py's golden output: the upload
// JSON must be byte-identical, and the malformed answer line counted, not fatal.
#include <catch2/catch.hpp>

#include "common/files.h"
#include "eval/scorers/vqav2.h"
#include "support/paths.h"

using namespace adallava::scorers;
using adallava::test::golden;

TEST_CASE("VQAv2 upload file is identical to upstream's", "[scorers][vqav2]") {
  const std::string dir = "scorers/vqav2/";
  const auto expected = adallava::read_json_file(golden(dir + "expected.json"));
  const auto sub = convert_vqav2_files(
      golden(dir + "answers/llava_vqav2_mscoco_test-dev2015/llava-v1.5-synthetic/merge.jsonl"),
      golden(dir + "llava_vqav2_mscoco_test2015.jsonl"));
  CHECK(sub.summary_line() + "\n" == expected["stdout"].get<std::string>());
  CHECK(sub.error_lines == 1);
  CHECK(sub.error_line_numbers == std::vector<size_t>{22});
  CHECK(sub.total_split == 24);
  CHECK(sub.answered == 21);

  const auto& want = expected["answers_upload"];
  REQUIRE(sub.answers.size() == want.size());
  size_t passed = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    const bool ok = sub.answers[i].first == want[i]["question_id"] &&
                    sub.answers[i].second == want[i]["answer"].get<std::string>();
    INFO("question " << want[i]["question_id"]);
    CHECK(ok);
    passed += ok;
  }
  CHECK(passed == 24);
  CHECK(sub.upload_text() ==
        adallava::read_text_file(golden(dir + "answers_upload/llava_vqav2_mscoco_test-dev2015/"
                                              "llava-v1.5-synthetic.json")));
}

TEST_CASE("python_json_dumps follows json.dumps defaults", "[scorers][vqav2]") {
  nlohmann::ordered_json v = nlohmann::ordered_json::array();
  v.push_back({{"question_id", 1}, {"answer", "caf\xC3\xA9 \"x\"\n"}});
  v.push_back({{"f", 2.0}, {"g", 0.5}, {"n", nullptr}, {"b", true}});
  CHECK(python_json_dumps(v) ==
        "[{\"question_id\": 1, \"answer\": \"caf\\u00e9 \\\"x\\\"\\n\"}, "
        "{\"f\": 2.0, \"g\": 0.5, \"n\": null, \"b\": true}]");
}
