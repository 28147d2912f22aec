#include "data/text/spm_processor.h"

#include <dlfcn.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <mutex>

#include "common/error.h"
#include "common/files.h"

namespace adallava::text {

namespace {

struct ShimApi {
  void* (*load)(const char*, size_t, char*, size_t) = nullptr;
  void (*free)(void*) = nullptr;
  int (*piece_size)(const void*) = nullptr;
  int (*piece_to_id)(const void*, const char*, size_t) = nullptr;
  size_t (*id_to_piece)(const void*, int, char*, size_t) = nullptr;
  long (*encode)(const void*, const char*, size_t, int*, size_t, char*, size_t) = nullptr;
  long (*decode)(const void*, const int*, size_t, char*, size_t, char*, size_t) = nullptr;
  int (*train)(const char*, size_t, const char*, size_t, unsigned, int, char**, size_t*, char*,
               size_t) = nullptr;
  void (*free_buffer)(char*) = nullptr;
};

std::string executable_dir() {
  char buf[PATH_MAX];
  const ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  if (n <= 0) return ".";
  buf[n] = '\0';
  return parent_dir(buf);
}

// Candidates in order: $ADALLAVA_SPM_SHIM, beside the executable, ../lib, the build tree.
std::vector<std::string> shim_candidates() {
  std::vector<std::string> c;
  if (const char* env = std::getenv("ADALLAVA_SPM_SHIM")) c.push_back(env);
  const std::string exe = executable_dir();
  c.push_back(join_path(exe, "libadallava_spm.so"));
  c.push_back(join_path(exe, "../lib/libadallava_spm.so"));
#ifdef ADALLAVA_SPM_SHIM_PATH
  c.push_back(ADALLAVA_SPM_SHIM_PATH);
#endif
  return c;
}

const ShimApi& shim() {
  static ShimApi api;
  static std::once_flag once;
  static std::string error;
  std::call_once(once, [] {
    void* lib = nullptr;
    std::string tried;
    for (const auto& path : shim_candidates()) {
      if (!file_exists(path)) {
        tried += " " + path;
        continue;
      }
      lib = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND);
      if (lib) break;
      tried += fmt::format(" {} ({})", path, dlerror());
    }
    if (!lib) {
      error = "cannot load the SentencePiece shim libadallava_spm.so; tried:" + tried;
      return;
    }
    auto sym = [&](auto& fn, const char* name) {
      fn = reinterpret_cast<std::decay_t<decltype(fn)>>(dlsym(lib, name));
      if (!fn) error = fmt::format("libadallava_spm.so lacks symbol {}", name);
    };
    sym(api.load, "adl_spm_load");
    sym(api.free, "adl_spm_free");
    sym(api.piece_size, "adl_spm_piece_size");
    sym(api.piece_to_id, "adl_spm_piece_to_id");
    sym(api.id_to_piece, "adl_spm_id_to_piece");
    sym(api.encode, "adl_spm_encode");
    sym(api.decode, "adl_spm_decode");
    sym(api.train, "adl_spm_train");
    sym(api.free_buffer, "adl_spm_free_buffer");
  });
  if (!error.empty()) throw Error(error);
  return api;
}

}  // namespace

std::shared_ptr<SpmProcessor> SpmProcessor::load(const std::string& serialized,
                                                 const std::string& path) {
  const auto& api = shim();
  char err[512] = {0};
  void* handle = api.load(serialized.data(), serialized.size(), err, sizeof(err));
  if (!handle) fail("{}: not a valid SentencePiece tokenizer.model ({})", path, err);
  std::shared_ptr<SpmProcessor> p(new SpmProcessor());
  p->handle_ = handle;
  p->path_ = path;
  return p;
}

SpmProcessor::~SpmProcessor() {
  if (handle_) shim().free(handle_);
}

std::string SpmProcessor::train(const std::string& options, const std::string& sentences,
                                unsigned seed, bool quiet, const std::string& what) {
  const auto& api = shim();
  char err[1024] = {0};
  char* model = nullptr;
  size_t model_len = 0;
  if (api.train(options.data(), options.size(), sentences.data(), sentences.size(), seed,
                quiet ? 1 : 0, &model, &model_len, err, sizeof(err)) != 0)
    fail("{}: SentencePiece training failed ({})", what, err);
  std::string serialized(model, model_len);
  api.free_buffer(model);
  return serialized;
}

int SpmProcessor::piece_size() const {
  return shim().piece_size(handle_);
}

int SpmProcessor::piece_to_id(const std::string& piece) const {
  return shim().piece_to_id(handle_, piece.data(), piece.size());
}

std::string SpmProcessor::id_to_piece(int id) const {
  std::string out(64, '\0');
  size_t n = shim().id_to_piece(handle_, id, out.data(), out.size());
  if (n > out.size()) {
    out.resize(n);
    n = shim().id_to_piece(handle_, id, out.data(), out.size());
  }
  out.resize(n);
  return out;
}

std::vector<int> SpmProcessor::encode(const std::string& text) const {
  std::vector<int> ids(text.size() + 8);
  char err[512] = {0};
  long n =
      shim().encode(handle_, text.data(), text.size(), ids.data(), ids.size(), err, sizeof(err));
  if (n < 0) fail("{}: SentencePiece encode failed ({})", path_, err);
  if (static_cast<size_t>(n) > ids.size()) {
    ids.resize(n);
    n = shim().encode(handle_, text.data(), text.size(), ids.data(), ids.size(), err, sizeof(err));
  }
  ids.resize(n);
  return ids;
}

std::string SpmProcessor::decode(const std::vector<int>& ids) const {
  std::string out(ids.size() * 16 + 16, '\0');
  char err[512] = {0};
  long n = shim().decode(handle_, ids.data(), ids.size(), out.data(), out.size(), err, sizeof(err));
  if (n < 0) fail("{}: SentencePiece decode failed ({})", path_, err);
  if (static_cast<size_t>(n) > out.size()) {
    out.resize(n);
    n = shim().decode(handle_, ids.data(), ids.size(), out.data(), out.size(), err, sizeof(err));
  }
  out.resize(n);
  return out;
}

}  // namespace adallava::text
