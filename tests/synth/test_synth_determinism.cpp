// Same seed and options -> byte-identical suite; another seed -> different content.
#include <catch2/catch.hpp>

#include <filesystem>

#include "common/error.h"
#include "data/synth/rng.h"
#include "synth_fixture.h"

namespace fs = std::filesystem;
using namespace adallava::synth;

namespace {

std::map<std::string, std::string> all_files(const std::string& root) {
  std::map<std::string, std::string> files;
  for (const auto& e : fs::recursive_directory_iterator(root))
    if (e.is_regular_file())
      files[fs::relative(e.path(), root).string()] = synth_test::read_file(e.path().string());
  return files;
}

std::string generate(const std::string& name, uint64_t seed, int image_size = 96) {
  SynthOptions o;
  o.out_dir = adallava::test::scratch_dir(name);
  o.seed = seed;
  o.size = "tiny";
  o.image_size = image_size;
  generate_suite(o);
  return o.out_dir;
}

}  // namespace

TEST_CASE("splitmix64 matches the reference sequence", "[synth][rng]") {
  // Published splitmix64 outputs for state 0 (Vigna's reference implementation).
  uint64_t state = 0;
  CHECK(splitmix64_next(state) == 0xE220A8397B1DCDAFULL);
  CHECK(splitmix64_next(state) == 0x6E789E6AA1B965F4ULL);
  CHECK(splitmix64_next(state) == 0x06C45D188009454FULL);
}

TEST_CASE("Rng helpers stay in range and are reproducible", "[synth][rng]") {
  Rng a = Rng::stream(5, "train", 3), b = Rng::stream(5, "train", 3),
      c = Rng::stream(5, "train", 4);
  CHECK(a.next_u64() == b.next_u64());
  CHECK(Rng::stream(5, "train", 3).next_u64() != c.next_u64());
  std::vector<int> hits(7, 0);
  for (int i = 0; i < 7000; ++i) {
    const int v = a.range(3, 9);
    REQUIRE(v >= 3);
    REQUIRE(v <= 9);
    hits[v - 3]++;
  }
  for (int h : hits) CHECK(h > 800);  // expected 1000 each
  std::vector<int> items = {1, 2, 3, 4, 5, 6};
  Rng s1(9), s2(9);
  auto i1 = items, i2 = items;
  s1.shuffle(i1);
  s2.shuffle(i2);
  CHECK(i1 == i2);
  std::sort(i1.begin(), i1.end());
  CHECK(i1 == items);
}

TEST_CASE("same seed gives byte-identical files, another seed differs", "[synth][determinism]") {
  const auto first = all_files(generate("synth_det_a", 11));
  const auto second = all_files(generate("synth_det_b", 11));
  const auto other = all_files(generate("synth_det_c", 12));
  REQUIRE(first.size() > 50);
  REQUIRE(first.size() == second.size());
  for (const auto& [name, bytes] : first) {
    INFO(name);
    REQUIRE(second.count(name) == 1);
    CHECK(second.at(name) == bytes);
  }
  // Another seed: every image differs, and so do the question files.
  int images = 0, same_images = 0;
  for (const auto& [name, bytes] : first) {
    if (!synth_test::ends_with(name, ".png")) continue;
    ++images;
    if (other.count(name) && other.at(name) == bytes) ++same_images;
  }
  CHECK(images > 40);
  CHECK(same_images == 0);
  CHECK(first.at("train.json") != other.at("train.json"));
  CHECK(first.at("eval/pope/coco/coco_pope_random.json") !=
        other.at("eval/pope/coco/coco_pope_random.json"));
}

TEST_CASE("image size option scales the images", "[synth]") {
  const std::string dir = generate("synth_det_px", 11, 64);
  const auto manifest = synth_test::read_json(dir + "/manifest.json");
  CHECK(manifest["options"]["image_size"] == 64);
  const std::string png = synth_test::read_file(dir + "/images/train_000000.png");
  // PNG IHDR: width and height as big-endian 32-bit integers at offsets 16 and 20.
  auto be32 = [&](size_t at) {
    return (static_cast<unsigned char>(png[at]) << 24) |
           (static_cast<unsigned char>(png[at + 1]) << 16) |
           (static_cast<unsigned char>(png[at + 2]) << 8) | static_cast<unsigned char>(png[at + 3]);
  };
  CHECK(be32(16) == 64u);
  CHECK(be32(20) == 64u);
}

TEST_CASE("bad options and occupied folders are refused with a clear error", "[synth][errors]") {
  SynthOptions o;
  o.out_dir = adallava::test::scratch_dir("synth_bad");
  o.size = "huge";
  CHECK_THROWS_WITH(generate_suite(o),
                    Catch::Contains("huge") && Catch::Contains("tiny, small, default or large"));
  o.size = "tiny";
  o.image_size = 20;
  CHECK_THROWS_WITH(generate_suite(o), Catch::Contains("--image-size 20"));
  o.image_size = 96;
  synth_test::read_file(synth_test::suite("tiny") + "/manifest.json");
  // A non-empty folder that is not a suite is never deleted, even with --force.
  std::ofstream(o.out_dir + "/precious.txt") << "keep me";
  o.force = true;
  CHECK_THROWS_WITH(generate_suite(o), Catch::Contains("refusing"));
  CHECK(synth_test::exists(o.out_dir + "/precious.txt"));
  // A previous suite needs --force to be replaced.
  SynthOptions again;
  again.out_dir = synth_test::suite("tiny");
  again.size = "tiny";
  again.seed = 7;
  CHECK_THROWS_WITH(generate_suite(again),
                    Catch::Contains("not empty") && Catch::Contains("--force"));
  again.force = true;
  CHECK_NOTHROW(generate_suite(again));
}
