// The one grammar for save_every / eval_every / log_every.
#include <catch2/catch.hpp>

#include "common/error.h"
#include "config/frequency.h"
#include "config/value.h"

using namespace adallava::config;
using Catch::Matchers::Contains;

TEST_CASE("plain integers and u/updates/steps suffixes count optimizer updates") {
  for (const char* text :
       {"500", "500u", "500 u", "500updates", "500 update", "500 steps", "500U"}) {
    INFO(text);
    const Frequency f = parse_frequency(text);
    CHECK(f.unit == Frequency::Unit::Updates);
    CHECK(f.updates == 500);
    CHECK(f.to_updates(7) == 500);  // independent of the epoch length
  }
}

TEST_CASE("e/epochs suffixes count epochs, fractions allowed") {
  CHECK(parse_frequency("2e") == Frequency::every_epochs(2));
  CHECK(parse_frequency("1 epoch") == Frequency::every_epochs(1));
  CHECK(parse_frequency("3 epochs") == Frequency::every_epochs(3));
  CHECK(parse_frequency("0.5e") == Frequency::every_epochs(0.5));
  CHECK(parse_frequency(".25e") == Frequency::every_epochs(0.25));
  CHECK(parse_frequency("1e-3e") == Frequency::every_epochs(1e-3));

  // Conversion to updates: rounded to nearest, at least 1.
  CHECK(parse_frequency("2e").to_updates(2181) == 4362);
  CHECK(parse_frequency("0.5e").to_updates(5) == 3);  // 2.5 rounds away from zero
  CHECK(parse_frequency("0.001e").to_updates(10) == 1);
  CHECK_THROWS_AS(parse_frequency("1e").to_updates(0), adallava::Error);
}

TEST_CASE("never, off and zero disable") {
  for (const char* text : {"never", "off", "0", "0u", "0e", "NEVER"}) {
    INFO(text);
    const Frequency f = parse_frequency(text);
    CHECK_FALSE(f.enabled());
    CHECK(f.to_updates(100) == 0);
  }
}

TEST_CASE("malformed frequencies are errors explaining the forms") {
  for (const char* text : {"", "e", "u", "-5", "5x", "1.5u", "2 epochs ago", "1e3", "five"}) {
    INFO(text);
    CHECK_THROWS_WITH(parse_frequency(text), Contains("not a frequency") && Contains("Ne"));
  }
  CHECK_THROWS_WITH(parse_frequency("99999999999999999999u"), Contains("too large"));
}

TEST_CASE("to_string reads back to the same frequency") {
  for (const Frequency f :
       {Frequency::never(), Frequency::every_updates(1), Frequency::every_updates(24000),
        Frequency::every_epochs(1), Frequency::every_epochs(0.1),
        Frequency::every_epochs(1.0 / 3.0), Frequency::every_epochs(2.5e-7)}) {
    INFO(f.to_string());
    CHECK(parse_frequency(f.to_string()) == f);
  }
  CHECK(Frequency::every_updates(500).to_string() == "500u");
  CHECK(Frequency::every_epochs(2).to_string() == "2e");
  CHECK(Frequency::every_epochs(0.5).to_string() == "0.5e");
}

TEST_CASE("format_float is the shortest round-trip text and always reads as a float") {
  CHECK(format_float(1.0) == "1.0");
  CHECK(format_float(2e-5) == "2e-05");
  CHECK(format_float(0.03) == "0.03");
  CHECK(format_float(0.1 + 0.2) == "0.30000000000000004");
  CHECK(format_yaml_string("true") == "\"true\"");
  CHECK(format_yaml_string("null") == "\"null\"");
  CHECK(format_yaml_string("123") == "\"123\"");
  CHECK(format_yaml_string("runs/a-b_c.d") == "runs/a-b_c.d");
  CHECK(format_yaml_string("a b") == "\"a b\"");
  CHECK(format_yaml_string("q\"\\\n") == "\"q\\\"\\\\\\n\"");
}
