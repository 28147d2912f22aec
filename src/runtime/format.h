// The exported-model file format shared by the exporter (src/export) and the runtime.
//
// Header-only on purpose: the exporter includes it without linking the runtime library, and the
// runtime never links the exporter.
//
// model.pt is a TorchScript archive (torch.jit.save layout) whose extra files make it
// self-contained:
//   extra/adallava_format_version  the decimal format version (kFormatVersion)
//   extra/adallava_config.json     model facts the runtime needs (see docs/export.md) and a
//                                  digest of every tensor and of the other extra files
//   extra/tokenizer.model          the SentencePiece model bytes
//   extra/preprocess.json          image preprocessing settings (ours, not HF's schema)
//   extra/source_config.json       the checkpoint's config.json, for provenance
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

namespace adallava::exported {

// Bump when methods, their signatures or the config keys change incompatibly.
constexpr int kFormatVersion = 1;

constexpr const char* kVersionFile = "adallava_format_version";
constexpr const char* kConfigFile = "adallava_config.json";
constexpr const char* kTokenizerFile = "tokenizer.model";
constexpr const char* kPreprocessFile = "preprocess.json";
constexpr const char* kSourceConfigFile = "source_config.json";

// TorchScript's zip reader does not check CRCs, so flipped bytes in a weight would load silently;
// the exporter records this digest of every tensor and extra file and the runtime re-checks it.
// FNV-1a over 64-bit little-endian words (then the tail bytes): fast enough for 14 GB of weights
// (a few seconds), and any single corrupted byte changes it.
inline uint64_t content_digest(const void* data, size_t nbytes) {
  constexpr uint64_t kOffset = 1469598103934665603ULL;
  constexpr uint64_t kPrime = 1099511628211ULL;
  const auto* bytes = static_cast<const unsigned char*>(data);
  uint64_t h = kOffset ^ static_cast<uint64_t>(nbytes);
  size_t i = 0;
  for (; i + 8 <= nbytes; i += 8) {
    uint64_t word;
    std::memcpy(&word, bytes + i, 8);
    h = (h ^ word) * kPrime;
    h ^= h >> 29;
  }
  for (; i < nbytes; ++i) h = (h ^ bytes[i]) * kPrime;
  return h;
}

inline std::string digest_hex(uint64_t digest) {
  static const char* kHex = "0123456789abcdef";
  std::string out(16, '0');
  for (int i = 15; i >= 0; --i) {
    out[i] = kHex[digest & 0xF];
    digest >>= 4;
  }
  return out;
}

}  // namespace adallava::exported
