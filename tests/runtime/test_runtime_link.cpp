// The deployment runtime must not link the training / checkpoint code. Two checks on the build
// itself: (1) the link line CMake generated for this very test executable (which links
// adallava_runtime and nothing else of ours) names no library beyond runtime, text, image,
// common and the SentencePiece shim; (2) libadallava_runtime.a has no undefined references to
// the io, model, adaptive, train, eval or export namespaces. This executable also links and runs,
// which is the practical proof that the runtime is complete without those libraries.
#include <catch2/catch.hpp>

#include <cstdio>
#include <regex>
#include <set>

#include "runtime_fixture.h"

using namespace adallava::test;

namespace {

const std::set<std::string> kAllowed = {"adallava_runtime", "adallava_text", "adallava_image",
                                        "adallava_common", "adallava_spm"};
const std::vector<std::string> kForbiddenNamespaces = {
    "adallava::io::",    "adallava::model::", "adallava::adaptive::",
    "adallava::train::", "adallava::eval::",  "adallava::exporter::"};

// The link libraries of `target` from build.ninja (Ninja) or its link.txt (Makefiles).
std::string link_line(const std::string& target) {
  const std::string build_dir = ADALLAVA_BINARY_DIR;
  const std::string txt = slurp(build_dir + "/tests/CMakeFiles/" + target + ".dir/link.txt");
  if (!txt.empty()) return txt;
  const std::string ninja = slurp(build_dir + "/build.ninja");
  const std::string marker = "build tests/" + target + ":";
  const auto start = ninja.find(marker);
  if (start == std::string::npos) return "";
  const auto libs = ninja.find("LINK_LIBRARIES =", start);
  if (libs == std::string::npos) return "";
  return ninja.substr(libs, ninja.find('\n', libs) - libs);
}

}  // namespace

TEST_CASE("the runtime's link closure has no training or checkpoint libraries", "[runtime][link]") {
  const std::string line = link_line("test_runtime_link");
  INFO("link line: " << line);
  REQUIRE(!line.empty());
  CHECK(line.find("libadallava_runtime.a") != std::string::npos);
  std::regex ours("(lib)?(adallava_[a-z_]+)\\.(a|so)");
  std::set<std::string> found;
  for (std::sregex_iterator it(line.begin(), line.end(), ours), end; it != end; ++it)
    found.insert((*it)[2]);
  for (const auto& lib : found) {
    INFO("linked: " << lib);
    CHECK(kAllowed.count(lib) == 1);
  }
}

TEST_CASE("libadallava_runtime.a references nothing from io/model/adaptive/train/eval/export",
          "[runtime][link]") {
  const std::string archive = std::string(ADALLAVA_BINARY_DIR) + "/src/libadallava_runtime.a";
  REQUIRE(adallava::file_exists(archive));
  const std::string scratch = scratch_dir("runtime-link");
  auto r = run_command("nm -C --undefined-only " + archive, scratch);
  REQUIRE(r.exit_code == 0);
  REQUIRE(r.out.find("adallava::text::Tokenizer") != std::string::npos);  // nm saw our symbols
  for (const auto& ns : kForbiddenNamespaces) {
    INFO("namespace " << ns);
    CHECK(r.out.find(ns) == std::string::npos);
  }
}
