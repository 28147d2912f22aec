#include "config/frequency.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <regex>

#include "common/error.h"
#include "config/value.h"

namespace adallava::config {

Frequency Frequency::every_updates(int64_t n) {
  if (n <= 0) return never();
  Frequency f;
  f.unit = Unit::Updates;
  f.updates = n;
  return f;
}

Frequency Frequency::every_epochs(double n) {
  if (!(n > 0.0)) return never();
  Frequency f;
  f.unit = Unit::Epochs;
  f.epochs = n;
  return f;
}

int64_t Frequency::to_updates(int64_t updates_per_epoch) const {
  switch (unit) {
    case Unit::Never:
      return 0;
    case Unit::Updates:
      return updates;
    case Unit::Epochs:
      ADALLAVA_CHECK(updates_per_epoch > 0,
                     "frequency {}: updates per epoch must be positive, got {}", to_string(),
                     updates_per_epoch);
      return std::max<int64_t>(1, std::llround(epochs * static_cast<double>(updates_per_epoch)));
  }
  return 0;
}

std::string Frequency::to_string() const {
  switch (unit) {
    case Unit::Never:
      return "never";
    case Unit::Updates:
      return std::to_string(updates) + "u";
    case Unit::Epochs: {
      // format_float gives the shortest text that reads back to the same double.
      std::string number = format_float(epochs);
      if (number.size() > 2 && number.compare(number.size() - 2, 2, ".0") == 0) {
        number.resize(number.size() - 2);
      }
      return number + "e";
    }
  }
  return "never";
}

bool Frequency::operator==(const Frequency& other) const {
  if (unit != other.unit) return false;
  if (unit == Unit::Updates) return updates == other.updates;
  if (unit == Unit::Epochs) return epochs == other.epochs;
  return true;
}

Frequency parse_frequency(const std::string& text) {
  std::string t = text;
  t.erase(t.begin(),
          std::find_if(t.begin(), t.end(), [](unsigned char c) { return !std::isspace(c); }));
  t.erase(
      std::find_if(t.rbegin(), t.rend(), [](unsigned char c) { return !std::isspace(c); }).base(),
      t.end());
  std::transform(t.begin(), t.end(), t.begin(), [](unsigned char c) { return std::tolower(c); });

  static const std::regex kNever("never|off");
  static const std::regex kUpdates("([0-9]+)\\s*(u|updates?|steps?)?");
  static const std::regex kEpochs("(([0-9]+\\.?[0-9]*|\\.[0-9]+)(e[-+]?[0-9]+)?)\\s*(e|epochs?)");
  std::smatch m;
  if (std::regex_match(t, kNever)) return Frequency::never();
  if (std::regex_match(t, m, kUpdates)) {
    errno = 0;
    const long long n = std::strtoll(m[1].str().c_str(), nullptr, 10);
    if (errno == ERANGE) fail("'{}' is too large for a number of updates", text);
    return Frequency::every_updates(n);
  }
  if (std::regex_match(t, m, kEpochs)) {
    const double n = std::strtod(m[1].str().c_str(), nullptr);
    if (!std::isfinite(n)) fail("'{}' is not a finite number of epochs", text);
    return Frequency::every_epochs(n);
  }
  fail(
      "'{}' is not a frequency: write N or Nu for every N optimizer updates, Ne for every N epochs "
      "(fractions allowed, e.g. 0.5e), or never",
      text);
}

}  // namespace adallava::config
