#include "io/state_dict_pickle.h"

#include <cstring>
#include <limits>
#include <map>
#include <memory>

#include <ATen/ATen.h>

#include "common/error.h"

namespace adallava::io::detail {

namespace {

struct Value;
using ValuePtr = std::shared_ptr<Value>;

// One unpickled object. Containers are held by pointer so memoized objects stay shared, as
// pickle's APPEND/SETITEM semantics require.
struct Value {
  enum class Kind { None, Bool, Int, Float, String, Tuple, List, Dict, Global, Storage, Tensor };
  Kind kind = Kind::None;
  int64_t integer = 0;
  double real = 0;
  std::string text;         // String; Global module; Storage key
  std::string global_name;  // Global
  std::vector<ValuePtr> items;
  std::vector<std::pair<ValuePtr, ValuePtr>> entries;
  at::Tensor tensor;  // Tensor; Storage (1-D)
};

const char* kind_name(Value::Kind k) {
  switch (k) {
    case Value::Kind::None:
      return "None";
    case Value::Kind::Bool:
      return "bool";
    case Value::Kind::Int:
      return "int";
    case Value::Kind::Float:
      return "float";
    case Value::Kind::String:
      return "str";
    case Value::Kind::Tuple:
      return "tuple";
    case Value::Kind::List:
      return "list";
    case Value::Kind::Dict:
      return "dict";
    case Value::Kind::Global:
      return "global";
    case Value::Kind::Storage:
      return "storage";
    case Value::Kind::Tensor:
      return "tensor";
  }
  return "?";
}

ValuePtr make(Value::Kind kind) {
  auto v = std::make_shared<Value>();
  v->kind = kind;
  return v;
}

// Legacy typed storage classes name the element type of a storage.
bool storage_dtype(const std::string& class_name, at::ScalarType* out) {
  static const std::map<std::string, at::ScalarType> kTypes = {
      {"FloatStorage", at::kFloat},  {"DoubleStorage", at::kDouble},
      {"HalfStorage", at::kHalf},    {"BFloat16Storage", at::kBFloat16},
      {"LongStorage", at::kLong},    {"IntStorage", at::kInt},
      {"ShortStorage", at::kShort},  {"CharStorage", at::kChar},
      {"ByteStorage", at::kByte},    {"BoolStorage", at::kBool},
      {"UntypedStorage", at::kByte},
  };
  auto it = kTypes.find(class_name);
  if (it == kTypes.end()) return false;
  *out = it->second;
  return true;
}

class Unpickler {
 public:
  Unpickler(const uint8_t* data, size_t size, const StorageLoader& load_storage,
            const std::string& context)
      : data_(data), size_(size), load_storage_(load_storage), context_(context) {}

  ValuePtr run() {
    while (true) {
      op_pos_ = pos_;
      const uint8_t op = read_u8();
      if (op == '.') break;  // STOP
      execute(op);
    }
    if (stack_.size() != 1 || !marks_.empty()) {
      fail("{}: malformed pickle: {} objects left on the stack at STOP", context_, stack_.size());
    }
    return stack_.back();
  }

 private:
  [[noreturn]] void bad(const std::string& what) const {
    fail("{}: malformed pickle at byte {}: {}", context_, op_pos_, what);
  }

  const uint8_t* take(size_t n) {
    if (n > size_ - pos_) {
      fail("{}: pickle data truncated at byte {} (needed {} more bytes)", context_, pos_, n);
    }
    const uint8_t* p = data_ + pos_;
    pos_ += n;
    return p;
  }
  uint8_t read_u8() { return *take(1); }
  uint64_t read_le(size_t n) {
    const uint8_t* p = take(n);
    uint64_t v = 0;
    for (size_t i = n; i-- > 0;) v = (v << 8) | p[i];
    return v;
  }
  std::string read_string(size_t n) {
    const uint8_t* p = take(n);
    return std::string(reinterpret_cast<const char*>(p), n);
  }
  std::string read_line() {
    const size_t start = pos_;
    while (pos_ < size_ && data_[pos_] != '\n') ++pos_;
    if (pos_ >= size_) fail("{}: pickle data truncated in a GLOBAL name", context_);
    std::string line(reinterpret_cast<const char*>(data_ + start), pos_ - start);
    ++pos_;
    return line;
  }

  ValuePtr pop() {
    if (stack_.empty() || (!marks_.empty() && stack_.size() <= marks_.back())) {
      bad("stack underflow");
    }
    ValuePtr v = stack_.back();
    stack_.pop_back();
    return v;
  }
  ValuePtr& top() {
    if (stack_.empty() || (!marks_.empty() && stack_.size() <= marks_.back())) {
      bad("stack underflow");
    }
    return stack_.back();
  }
  // Objects pushed since the last MARK, which is removed.
  std::vector<ValuePtr> pop_to_mark() {
    if (marks_.empty()) bad("no MARK on the stack");
    const size_t mark = marks_.back();
    marks_.pop_back();
    std::vector<ValuePtr> items(stack_.begin() + static_cast<std::ptrdiff_t>(mark), stack_.end());
    stack_.resize(mark);
    return items;
  }
  void push(ValuePtr v) { stack_.push_back(std::move(v)); }

  void memo_put(uint64_t index) {
    if (index > (1u << 30)) bad("memo index too large");
    ValuePtr v = top();
    memo_[index] = std::move(v);
  }
  void memo_get(uint64_t index) {
    auto it = memo_.find(index);
    if (it == memo_.end()) bad(fmt::format("memo index {} was never stored", index));
    push(it->second);
  }

  void push_tuple(std::vector<ValuePtr> items) {
    auto t = make(Value::Kind::Tuple);
    t->items = std::move(items);
    push(std::move(t));
  }
  void push_int(int64_t v) {
    auto i = make(Value::Kind::Int);
    i->integer = v;
    push(std::move(i));
  }
  void push_string(std::string s) {
    auto v = make(Value::Kind::String);
    v->text = std::move(s);
    push(std::move(v));
  }

  void set_items(ValuePtr& dict, const std::vector<ValuePtr>& items) {
    if (dict->kind != Value::Kind::Dict) {
      bad(fmt::format("SETITEM(S) on a {}", kind_name(dict->kind)));
    }
    if (items.size() % 2 != 0) bad("SETITEMS with an odd number of objects");
    for (size_t i = 0; i < items.size(); i += 2) {
      dict->entries.emplace_back(items[i], items[i + 1]);
    }
  }

  void append(ValuePtr& list, const std::vector<ValuePtr>& items) {
    if (list->kind != Value::Kind::List)
      bad(fmt::format("APPEND(S) on a {}", kind_name(list->kind)));
    list->items.insert(list->items.end(), items.begin(), items.end());
  }

  void execute(uint8_t op) {
    switch (op) {
      case 0x80:  // PROTO
        if (read_u8() > 5) bad("unsupported pickle protocol");
        break;
      case 0x95:  // FRAME: framing only matters for streaming readers
        take(8);
        break;
      case '(':  // MARK
        marks_.push_back(stack_.size());
        break;
      case '0':  // POP
        pop();
        break;
      case '1':  // POP_MARK
        pop_to_mark();
        break;
      case '2':  // DUP
        push(top());
        break;
      case 'N':
        push(make(Value::Kind::None));
        break;
      case 0x88:    // NEWTRUE
      case 0x89: {  // NEWFALSE
        auto b = make(Value::Kind::Bool);
        b->integer = op == 0x88;
        push(std::move(b));
        break;
      }
      case 'J':  // BININT
        push_int(static_cast<int32_t>(read_le(4)));
        break;
      case 'K':  // BININT1
        push_int(read_u8());
        break;
      case 'M':  // BININT2
        push_int(static_cast<int64_t>(read_le(2)));
        break;
      case 0x8a: {  // LONG1: little-endian two's complement of n bytes
        const size_t n = read_u8();
        if (n > 8) bad("integer wider than 64 bits");
        uint64_t v = n == 0 ? 0 : read_le(n);
        if (n > 0 && n < 8 && (v >> (8 * n - 1)) & 1) v |= ~uint64_t{0} << (8 * n);
        push_int(static_cast<int64_t>(v));
        break;
      }
      case 'G': {  // BINFLOAT, big-endian
        const uint8_t* p = take(8);
        uint64_t bits = 0;
        for (int i = 0; i < 8; ++i) bits = (bits << 8) | p[i];
        auto f = make(Value::Kind::Float);
        std::memcpy(&f->real, &bits, sizeof(bits));
        push(std::move(f));
        break;
      }
      case 'X':  // BINUNICODE
      case 'B':  // BINBYTES
      case 'T':  // BINSTRING
        push_string(read_string(read_le(4)));
        break;
      case 0x8d:  // BINUNICODE8
      case 0x8e:  // BINBYTES8
        push_string(read_string(read_le(8)));
        break;
      case 0x8c:  // SHORT_BINUNICODE
      case 'C':   // SHORT_BINBYTES
      case 'U':   // SHORT_BINSTRING
        push_string(read_string(read_u8()));
        break;
      case ')':
        push_tuple({});
        break;
      case 't':
        push_tuple(pop_to_mark());
        break;
      case 0x85:
      case 0x86:
      case 0x87: {  // TUPLE1..3
        std::vector<ValuePtr> items(op - 0x84);
        for (size_t i = items.size(); i-- > 0;) items[i] = pop();
        push_tuple(std::move(items));
        break;
      }
      case ']':
        push(make(Value::Kind::List));
        break;
      case 'l': {
        auto list = make(Value::Kind::List);
        list->items = pop_to_mark();
        push(std::move(list));
        break;
      }
      case 'a': {
        ValuePtr item = pop();
        append(top(), {item});
        break;
      }
      case 'e': {
        auto items = pop_to_mark();
        append(top(), items);
        break;
      }
      case '}':
        push(make(Value::Kind::Dict));
        break;
      case 'd': {
        auto items = pop_to_mark();
        auto dict = make(Value::Kind::Dict);
        set_items(dict, items);
        push(std::move(dict));
        break;
      }
      case 's': {
        ValuePtr value = pop();
        ValuePtr key = pop();
        set_items(top(), {key, value});
        break;
      }
      case 'u': {
        auto items = pop_to_mark();
        set_items(top(), items);
        break;
      }
      case 'q':  // BINPUT
        memo_put(read_u8());
        break;
      case 'r':  // LONG_BINPUT
        memo_put(read_le(4));
        break;
      case 0x94:  // MEMOIZE
        memo_put(memo_.size());
        break;
      case 'h':  // BINGET
        memo_get(read_u8());
        break;
      case 'j':  // LONG_BINGET
        memo_get(read_le(4));
        break;
      case 'c': {  // GLOBAL
        auto g = make(Value::Kind::Global);
        g->text = read_line();
        g->global_name = read_line();
        push(std::move(g));
        break;
      }
      case 0x93: {  // STACK_GLOBAL
        ValuePtr name = pop();
        ValuePtr module = pop();
        if (name->kind != Value::Kind::String || module->kind != Value::Kind::String) {
          bad("STACK_GLOBAL needs two strings");
        }
        auto g = make(Value::Kind::Global);
        g->text = module->text;
        g->global_name = name->text;
        push(std::move(g));
        break;
      }
      case 'Q':  // BINPERSID
        push(persistent_load(pop()));
        break;
      case 'R': {  // REDUCE
        ValuePtr args = pop();
        ValuePtr callable = pop();
        push(call(callable, args));
        break;
      }
      case 'b': {  // BUILD: object state (e.g. a state dict's _metadata) carries no weights
        pop();
        top();
        break;
      }
      default:
        bad(fmt::format("unsupported pickle opcode 0x{:02x}", op));
    }
  }

  int64_t as_int(const ValuePtr& v, const char* what) const {
    if (v->kind != Value::Kind::Int)
      bad(fmt::format("{} is a {}, not an int", what, kind_name(v->kind)));
    return v->integer;
  }

  std::vector<int64_t> as_int_tuple(const ValuePtr& v, const char* what) const {
    if (v->kind != Value::Kind::Tuple) bad(fmt::format("{} is not a tuple", what));
    std::vector<int64_t> out;
    for (const auto& item : v->items) out.push_back(as_int(item, what));
    return out;
  }

  // ('storage', <torch.XStorage>, key, location, numel)
  ValuePtr persistent_load(const ValuePtr& pid) {
    if (pid->kind != Value::Kind::Tuple || pid->items.size() != 5 ||
        pid->items[0]->kind != Value::Kind::String || pid->items[0]->text != "storage") {
      bad("persistent id is not a ('storage', type, key, location, numel) tuple");
    }
    const ValuePtr& type = pid->items[1];
    at::ScalarType dtype;
    if (type->kind != Value::Kind::Global || type->text != "torch" ||
        !storage_dtype(type->global_name, &dtype)) {
      bad(fmt::format("unsupported storage type {}.{}", type->text, type->global_name));
    }
    if (pid->items[2]->kind != Value::Kind::String) bad("storage key is not a string");
    const std::string& key = pid->items[2]->text;
    const int64_t numel = as_int(pid->items[4], "storage size");
    if (numel < 0) bad("negative storage size");
    auto it = storages_.find(key);
    if (it == storages_.end()) {
      at::Tensor storage = load_storage_(key, dtype, numel);
      it = storages_.emplace(key, storage).first;
    }
    if (it->second.scalar_type() != dtype || it->second.numel() != numel) {
      bad(fmt::format("storage '{}' is used with two different types or sizes", key));
    }
    auto v = make(Value::Kind::Storage);
    v->text = key;
    v->tensor = it->second;
    return v;
  }

  ValuePtr rebuild_tensor(const std::vector<ValuePtr>& args) {
    if (args.size() < 4) bad("tensor rebuild with fewer than 4 arguments");
    if (args[0]->kind != Value::Kind::Storage) bad("tensor rebuild without a storage");
    const at::Tensor& storage = args[0]->tensor;
    const int64_t offset = as_int(args[1], "storage offset");
    const auto sizes = as_int_tuple(args[2], "tensor size");
    const auto strides = as_int_tuple(args[3], "tensor stride");
    if (sizes.size() != strides.size()) bad("tensor size and stride differ in length");
    if (offset < 0) bad("negative storage offset");
    // Highest element index the view touches must lie inside the storage.
    int64_t last = offset;
    bool empty = false;
    for (size_t d = 0; d < sizes.size(); ++d) {
      if (sizes[d] < 0 || strides[d] < 0) bad("negative tensor size or stride");
      if (sizes[d] == 0) empty = true;
      const int64_t limit = std::numeric_limits<int64_t>::max() / 2;
      if (sizes[d] > limit || strides[d] > limit ||
          (sizes[d] > 1 && strides[d] > (limit - last) / (sizes[d] - 1))) {
        bad("tensor size/stride overflow");
      }
      if (sizes[d] > 0) last += (sizes[d] - 1) * strides[d];
    }
    if (!empty && last >= storage.numel()) {
      bad(fmt::format(
          "tensor view (offset {}, last element {}) exceeds storage '{}' of {} elements", offset,
          last, args[0]->text, storage.numel()));
    }
    auto v = make(Value::Kind::Tensor);
    v->tensor =
        empty ? at::empty(sizes, storage.options()) : storage.as_strided(sizes, strides, offset);
    return v;
  }

  ValuePtr call(const ValuePtr& callable, const ValuePtr& args, int depth = 0) {
    if (depth > 4) bad("tensor rebuild calls nested too deeply");
    if (callable->kind != Value::Kind::Global)
      bad(fmt::format("REDUCE on a {}", kind_name(callable->kind)));
    if (args->kind != Value::Kind::Tuple) bad("REDUCE arguments are not a tuple");
    const std::string& module = callable->text;
    const std::string& name = callable->global_name;
    const auto& a = args->items;
    if (module == "collections" && name == "OrderedDict") {
      auto dict = make(Value::Kind::Dict);
      if (a.size() == 1 && a[0]->kind == Value::Kind::List) {
        for (const auto& pair : a[0]->items) {
          if (pair->kind != Value::Kind::Tuple || pair->items.size() != 2)
            bad("OrderedDict item is not a pair");
          dict->entries.emplace_back(pair->items[0], pair->items[1]);
        }
      } else if (!a.empty()) {
        bad("unsupported OrderedDict arguments");
      }
      return dict;
    }
    if (module == "torch._utils" && (name == "_rebuild_tensor_v2" || name == "_rebuild_tensor")) {
      return rebuild_tensor(a);
    }
    if (module == "torch._utils" &&
        (name == "_rebuild_parameter" || name == "_rebuild_parameter_with_state")) {
      if (a.empty() || a[0]->kind != Value::Kind::Tensor) bad("parameter rebuild without a tensor");
      return a[0];
    }
    if (module == "torch._tensor" && name == "_rebuild_from_type_v2") {
      // (inner function, tensor subclass, inner args, state): the subclass adds no data.
      if (a.size() < 3) bad("_rebuild_from_type_v2 with fewer than 3 arguments");
      return call(a[0], a[2], depth + 1);
    }
    fail("{}: unsupported object {}.{} in the pickle (only state dicts of tensors can be loaded)",
         context_, module, name);
  }

  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
  size_t op_pos_ = 0;
  const StorageLoader& load_storage_;
  const std::string& context_;
  std::vector<ValuePtr> stack_;
  std::vector<size_t> marks_;
  std::map<uint64_t, ValuePtr> memo_;
  std::map<std::string, at::Tensor> storages_;
};

}  // namespace

std::vector<std::pair<std::string, at::Tensor>> unpickle_state_dict(
    const uint8_t* data, size_t size, const StorageLoader& load_storage,
    const std::string& context) {
  Unpickler unpickler(data, size, load_storage, context);
  ValuePtr root = unpickler.run();
  if (root->kind != Value::Kind::Dict) {
    fail("{}: checkpoint holds a {}, not a state dict", context, kind_name(root->kind));
  }
  std::map<std::string, size_t> position;
  std::vector<std::pair<std::string, at::Tensor>> out;
  for (const auto& [key, value] : root->entries) {
    if (key->kind != Value::Kind::String) {
      fail("{}: state dict key is a {}, not a string", context, kind_name(key->kind));
    }
    if (value->kind != Value::Kind::Tensor) {
      fail("{}: state dict entry '{}' is a {}, not a tensor", context, key->text,
           kind_name(value->kind));
    }
    // A view spanning its whole storage is used as is; any other view (a slice, a transpose, a
    // tensor sharing its storage) gets compact memory of its own.
    const at::Tensor& view = value->tensor;
    const bool whole_storage = view.is_contiguous() && view.storage_offset() == 0 &&
                               view.numel() * static_cast<int64_t>(view.element_size()) ==
                                   static_cast<int64_t>(view.storage().nbytes());
    at::Tensor tensor = whole_storage ? view : view.clone(at::MemoryFormat::Contiguous);
    auto [it, inserted] = position.emplace(key->text, out.size());
    if (inserted) {
      out.emplace_back(key->text, std::move(tensor));
    } else {
      out[it->second].second = std::move(tensor);  // later SETITEM wins, as in Python
    }
  }
  return out;
}

}  // namespace adallava::io::detail
