// How often something periodic happens during training (saving, evaluating, logging).
//
// One grammar for every *_every key, parsed here and nowhere else:
//   500, 500u, 500 updates, 500 steps  -> every 500 optimizer updates (counted after gradient
//                                         accumulation, i.e. not micro-batches)
//   2e, 0.5e, 1 epoch, 3 epochs        -> every N epochs (fractions allowed)
//   0, never, off                      -> never
#pragma once

#include <cstdint>
#include <string>

namespace adallava::config {

struct Frequency {
  enum class Unit { Never, Updates, Epochs };

  Unit unit = Unit::Never;
  int64_t updates = 0;  // when unit == Updates
  double epochs = 0.0;  // when unit == Epochs

  static Frequency never() { return {}; }
  static Frequency every_updates(int64_t n);
  static Frequency every_epochs(double n);

  bool enabled() const { return unit != Unit::Never; }
  // The period in optimizer updates (0 = never). Epoch periods round to the nearest update and
  // are at least 1, so "0.001e" on a small data set still fires every update rather than never.
  int64_t to_updates(int64_t updates_per_epoch) const;
  // Canonical text that parse_frequency() reads back to an equal value: "500u", "0.5e", "never".
  std::string to_string() const;

  bool operator==(const Frequency& other) const;
  bool operator!=(const Frequency& other) const { return !(*this == other); }
};

// Throws adallava::Error describing the accepted forms when `text` is not a frequency.
Frequency parse_frequency(const std::string& text);

}  // namespace adallava::config
