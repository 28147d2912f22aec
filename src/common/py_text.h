// Python 3 string semantics that upstream preprocessing and scorers depend on (str.lower,
// str.split(), str.strip, slicing by code point, universal-newline line splitting). Scores are
// reproduced only if these match Python exactly, so they work on code points rather than bytes.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace adallava::py {

// UTF-8 <-> code points. Invalid bytes decode to U+FFFD (upstream would refuse such input).
std::u32string decode(std::string_view utf8);
std::string encode(std::u32string_view text);

// str.isspace() (Unicode White_Space as Python defines it).
bool is_space(char32_t c);
// re's \d on str patterns: Unicode decimal digits (common scripts).
bool is_digit(char32_t c);

// str.lower(): ASCII, Latin-1, Latin Extended-A/Additional, Greek, Cyrillic, Armenian and
// full-width letters (the scripts benchmark answers use); other code points are unchanged.
std::u32string lower(std::u32string_view text);
std::string lower(std::string_view utf8);

// str.strip() with no argument and str.split() with no argument.
std::u32string strip(std::u32string_view text);
std::string strip(std::string_view utf8);
std::vector<std::u32string> split_whitespace(std::u32string_view text);
std::vector<std::string> split_whitespace(std::string_view utf8);

// str.split(sep) for a non-empty separator (keeps empty pieces).
std::vector<std::string> split(std::string_view text, std::string_view sep);
// str.replace(old, new) for a non-empty `from`.
std::string replace_all(std::string_view text, std::string_view from, std::string_view to);
std::u32string replace_all(std::u32string_view text, std::u32string_view from,
                           std::u32string_view to);
bool contains(std::string_view text, std::string_view part);
bool starts_with(std::string_view text, std::string_view prefix);
bool ends_with(std::string_view text, std::string_view suffix);
// str.rstrip(chars) for a set of ASCII characters.
std::string rstrip_chars(std::string_view text, std::string_view chars);

// file.readlines() in text mode: "\r\n", "\r" and "\n" all end a line and become "\n"; every
// line keeps its terminator except possibly the last.
std::vector<std::string> readlines(std::string_view text);

// "%.Nf" formatting (correctly rounded, as Python's % and format()).
std::string fixed(double value, int decimals);
// repr(float): shortest round-trip digits, always with a '.' or exponent ("1315.0").
std::string repr(double value);

}  // namespace adallava::py
