#include "train/distributed/data_parallel.h"

#include <chrono>
#include <cmath>
#include <limits>
#include <map>
#include <mutex>
#include <unordered_set>

#include <torch/csrc/autograd/function.h>
#include <torch/csrc/autograd/function_hook.h>
#include <torch/csrc/autograd/variable.h>

#include "common/error.h"

namespace adallava::train {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// A bucket's flat buffer holds its members' gradients back to back, then one "has a gradient"
// flag per member: summed over ranks the flags tell which parameters got a gradient anywhere,
// so a parameter unused by every rank keeps an undefined .grad exactly as in one process.
struct Bucket {
  std::vector<int64_t> members;  // indices into Impl::synced
  std::vector<int64_t> offsets;
  int64_t grad_numel = 0;
  torch::Tensor buffer;
  int64_t waiting = 0;  // members whose gradient has not arrived in this round
  bool launched = false;
  PendingCollective reduce;
};

// Groups tensors (in the given order) into runs of one dtype of about `cap_bytes` each; a cap
// of 0 gives one tensor per group.
std::vector<std::vector<int64_t>> group_by_dtype(const std::vector<torch::Tensor>& tensors,
                                                 const std::vector<int64_t>& order,
                                                 double cap_bytes) {
  std::vector<std::vector<int64_t>> groups;
  std::vector<double> group_bytes;
  std::map<torch::Dtype, size_t> open_group;  // the group still taking tensors of a dtype
  for (int64_t index : order) {
    const torch::Tensor& t = tensors[index];
    auto open = open_group.find(t.scalar_type());
    if (open == open_group.end()) {
      open = open_group.emplace(t.scalar_type(), groups.size()).first;
      groups.emplace_back();
      group_bytes.push_back(0);
    }
    const size_t group = open->second;
    groups[group].push_back(index);
    group_bytes[group] += static_cast<double>(t.numel() * t.element_size());
    if (group_bytes[group] >= cap_bytes) open_group.erase(open);
  }
  return groups;
}

std::vector<torch::Tensor> unique_tensors(const std::vector<torch::Tensor>& tensors) {
  std::vector<torch::Tensor> unique;
  std::unordered_set<const void*> seen;
  for (const auto& t : tensors) {
    ADALLAVA_CHECK(t.defined(), "DataParallel: undefined parameter tensor");
    ADALLAVA_CHECK(t.device().is_cpu(),
                   "DataParallel: parameter on {}; the Gloo backend here reduces CPU tensors",
                   t.device().str());
    if (seen.insert(t.unsafeGetTensorImpl()).second) unique.push_back(t);
  }
  return unique;
}

}  // namespace

struct DataParallel::Impl {
  std::vector<torch::Tensor> all;     // every parameter, for the broadcast
  std::vector<torch::Tensor> synced;  // those requiring grad
  std::vector<int64_t> bucket_of;
  std::vector<int64_t> slot_of;
  std::vector<char> arrived;
  std::vector<Bucket> buckets;
  size_t next_launch = 0;  // buckets launch strictly in index order on every rank
  DataParallelOptions options;
  std::vector<std::shared_ptr<torch::autograd::Node>> accumulators;
  std::vector<uintptr_t> hook_keys;
  std::mutex mutex;

  void fill_slot(int64_t index) {
    Bucket& bucket = buckets[bucket_of[index]];
    const int64_t slot = slot_of[index];
    const torch::Tensor& param = synced[index];
    const torch::Tensor& grad = param.grad();
    const int64_t numel = param.numel();
    auto target = bucket.buffer.narrow(0, bucket.offsets[slot], numel);
    if (grad.defined()) {
      ADALLAVA_CHECK(grad.layout() == torch::kStrided,
                     "DataParallel: sparse gradients are not supported");
      target.copy_(grad.reshape({-1}));
    } else {
      target.zero_();
    }
    bucket.buffer[bucket.grad_numel + slot].fill_(grad.defined() ? 1 : 0);
    arrived[index] = 1;
    --bucket.waiting;
  }

  void launch_ready(Communicator& communicator, GradientSyncStats& stats, bool force) {
    while (next_launch < buckets.size()) {
      Bucket& bucket = buckets[next_launch];
      if (!force && bucket.waiting > 0) return;
      if (force) {
        for (int64_t index : bucket.members) {
          if (!arrived[index]) fill_slot(index);
        }
      }
      bucket.reduce = communicator.all_reduce_sum_async(
          bucket.buffer, "all-reduce of gradient bucket " + std::to_string(next_launch));
      bucket.launched = true;
      stats.collectives += 1;
      if (!force) stats.launched_during_backward += 1;
      stats.bytes_reduced += bucket.buffer.numel() * bucket.buffer.element_size();
      ++next_launch;
    }
  }

  void start_round() {
    std::fill(arrived.begin(), arrived.end(), 0);
    for (auto& bucket : buckets) {
      bucket.waiting = static_cast<int64_t>(bucket.members.size());
      bucket.launched = false;
    }
    next_launch = 0;
  }
};

// Runs after AccumulateGrad has written a leaf's .grad, the point where DDP's reducer marks a
// parameter ready (a tensor hook would see the incoming gradient before accumulation).
struct GradientReadyHook : torch::autograd::FunctionPostHook {
  GradientReadyHook(DataParallel* owner, int64_t index) : owner(owner), index(index) {}
  torch::autograd::variable_list operator()(const torch::autograd::variable_list& outputs,
                                            const torch::autograd::variable_list&) override {
    owner->gradient_ready(index);
    return outputs;
  }
  DataParallel* owner;
  int64_t index;
};

DataParallel::DataParallel(std::shared_ptr<Communicator> communicator,
                           std::vector<torch::Tensor> parameters, DataParallelOptions options)
    : communicator_(std::move(communicator)), impl_(std::make_unique<Impl>()) {
  ADALLAVA_CHECK(communicator_ != nullptr, "DataParallel: no communicator");
  ADALLAVA_CHECK(options.bucket_cap_mb >= 0, "DataParallel: bucket size {} MB is negative",
                 options.bucket_cap_mb);
  Impl& impl = *impl_;
  impl.options = options;
  impl.all = unique_tensors(parameters);
  for (const auto& p : impl.all) {
    if (p.requires_grad()) impl.synced.push_back(p);
  }
  const int64_t count = static_cast<int64_t>(impl.synced.size());
  impl.bucket_of.assign(count, 0);
  impl.slot_of.assign(count, 0);
  impl.arrived.assign(count, 0);
  if (world_size() == 1) return;  // nothing to synchronise: no buckets, no hooks

  // Backward produces gradients roughly in reverse registration order; filling buckets in that
  // order lets the first buckets complete (and start reducing) early.
  std::vector<int64_t> order(count);
  for (int64_t i = 0; i < count; ++i) order[i] = count - 1 - i;
  for (auto& members : group_by_dtype(impl.synced, order, options.bucket_cap_mb * 1024 * 1024)) {
    Bucket bucket;
    bucket.members = members;
    for (size_t slot = 0; slot < members.size(); ++slot) {
      impl.bucket_of[members[slot]] = static_cast<int64_t>(impl.buckets.size());
      impl.slot_of[members[slot]] = static_cast<int64_t>(slot);
      bucket.offsets.push_back(bucket.grad_numel);
      bucket.grad_numel += impl.synced[members[slot]].numel();
    }
    bucket.buffer = torch::zeros({bucket.grad_numel + static_cast<int64_t>(members.size())},
                                 impl.synced[members.front()].options().requires_grad(false));
    impl.buckets.push_back(std::move(bucket));
  }
  impl.start_round();

  if (options.overlap_with_backward) {
    for (int64_t i = 0; i < count; ++i) {
      auto accumulator = torch::autograd::impl::grad_accumulator(impl.synced[i]);
      ADALLAVA_CHECK(accumulator != nullptr,
                     "DataParallel: parameter {} is not a leaf tensor requiring grad", i);
      impl.hook_keys.push_back(
          accumulator->add_post_hook(std::make_unique<GradientReadyHook>(this, i)));
      // Holding the accumulator keeps the hook alive: the tensor itself only holds it weakly.
      impl.accumulators.push_back(std::move(accumulator));
    }
  }
}

DataParallel::~DataParallel() {
  for (size_t i = 0; i < impl_->accumulators.size(); ++i) {
    impl_->accumulators[i]->del_post_hook(impl_->hook_keys[i]);
  }
}

void DataParallel::gradient_ready(int64_t index) {
  if (!sync_enabled_) return;  // an accumulation micro-step: stay local
  const auto start = Clock::now();
  torch::NoGradGuard no_grad;
  Impl& impl = *impl_;
  std::lock_guard<std::mutex> lock(impl.mutex);
  ADALLAVA_CHECK(!impl.arrived[index],
                 "DataParallel: a second backward pass reached parameter {} before "
                 "synchronize_gradients(); wrap accumulation micro-steps in no_sync()",
                 index);
  impl.fill_slot(index);
  impl.launch_ready(*communicator_, stats_, /*force=*/false);
  stats_.hook_seconds += seconds_since(start);
}

void DataParallel::synchronize_gradients() {
  if (world_size() == 1) return;
  ADALLAVA_CHECK(sync_enabled_,
                 "DataParallel::synchronize_gradients() called inside no_sync(); the optimizer "
                 "step must follow a synchronising micro-step");
  const auto start = Clock::now();
  torch::NoGradGuard no_grad;
  Impl& impl = *impl_;
  std::lock_guard<std::mutex> lock(impl.mutex);
  // Buckets whose gradients never all arrived (unused parameters, or overlap off) go now, still
  // in index order so every rank issues the same sequence of collectives.
  impl.launch_ready(*communicator_, stats_, /*force=*/true);
  const bool average = impl.options.reduction == DataParallelOptions::Reduction::kMean;
  const double world = world_size();
  for (auto& bucket : impl.buckets) {
    const auto wait_start = Clock::now();
    bucket.reduce.wait();
    stats_.wait_seconds += seconds_since(wait_start);
    if (average) bucket.buffer.narrow(0, 0, bucket.grad_numel).div_(world);
    for (size_t slot = 0; slot < bucket.members.size(); ++slot) {
      torch::Tensor& param = impl.synced[bucket.members[slot]];
      const bool used_anywhere = bucket.buffer[bucket.grad_numel + slot].item<double>() > 0;
      if (!used_anywhere) continue;  // every rank's .grad is undefined: keep it so
      auto mean = bucket.buffer.narrow(0, bucket.offsets[slot], param.numel()).view(param.sizes());
      if (param.grad().defined()) {
        param.mutable_grad().copy_(mean);
      } else {
        param.mutable_grad() = mean.clone();
      }
    }
  }
  impl.start_round();
  stats_.synchronizations += 1;
  stats_.sync_seconds += seconds_since(start);
}

DataParallel::NoSyncGuard::NoSyncGuard(DataParallel* owner) : owner_(owner) {
  if (++owner_->no_sync_depth_ == 1) owner_->sync_enabled_ = false;
}

DataParallel::NoSyncGuard::NoSyncGuard(NoSyncGuard&& other) noexcept : owner_(other.owner_) {
  other.owner_ = nullptr;
}

DataParallel::NoSyncGuard& DataParallel::NoSyncGuard::operator=(NoSyncGuard&& other) noexcept {
  if (this != &other) {
    NoSyncGuard released(std::move(*this));  // ends this guard's scope
    owner_ = other.owner_;
    other.owner_ = nullptr;
  }
  return *this;
}

DataParallel::NoSyncGuard::~NoSyncGuard() {
  if (owner_ && --owner_->no_sync_depth_ == 0) owner_->sync_enabled_ = true;
  owner_ = nullptr;
}

DataParallel::NoSyncGuard DataParallel::no_sync() {
  return NoSyncGuard(this);
}

void DataParallel::broadcast_parameters() {
  broadcast_tensors(*communicator_, impl_->all, 0, "broadcast of the parameters from rank 0");
}

double DataParallel::all_reduce_sum(double value) {
  return all_reduce_sum(std::vector{value})[0];
}

std::vector<double> DataParallel::all_reduce_sum(const std::vector<double>& values) {
  if (world_size() == 1 || values.empty()) return values;
  auto tensor = torch::tensor(values, torch::kDouble);
  communicator_->all_reduce_sum(tensor, "all-reduce of logged scalars");
  return std::vector<double>(tensor.data_ptr<double>(), tensor.data_ptr<double>() + tensor.numel());
}

double DataParallel::all_reduce_mean(double value) {
  return all_reduce_sum(value) / world_size();
}

void DataParallel::barrier(const std::string& what) {
  communicator_->barrier(what);
}

int64_t DataParallel::num_buckets() const {
  return static_cast<int64_t>(impl_->buckets.size());
}

double global_token_mean(Communicator& communicator, double local_loss_sum, double local_tokens) {
  auto totals = torch::tensor({local_loss_sum, local_tokens}, torch::kDouble);
  communicator.all_reduce_sum(totals, "all-reduce of the loss and token counts");
  const double tokens = totals[1].item<double>();
  if (tokens <= 0) return std::numeric_limits<double>::quiet_NaN();
  return totals[0].item<double>() / tokens;
}

void broadcast_tensors(Communicator& communicator, const std::vector<torch::Tensor>& tensors,
                       int root, const std::string& what) {
  if (communicator.world_size() == 1 || tensors.empty()) return;
  torch::NoGradGuard no_grad;
  const auto unique = unique_tensors(tensors);
  std::vector<int64_t> order(unique.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int64_t>(i);
  // Messages of 64 MB keep the flattened copy small next to the model.
  const auto groups = group_by_dtype(unique, order, 64.0 * 1024 * 1024);
  for (size_t g = 0; g < groups.size(); ++g) {
    std::vector<torch::Tensor> flat;
    for (int64_t index : groups[g]) flat.push_back(unique[index].detach().reshape({-1}));
    auto buffer = torch::cat(flat);
    communicator.broadcast(
        buffer, root,
        what + " (part " + std::to_string(g + 1) + "/" + std::to_string(groups.size()) + ")");
    if (communicator.rank() == root) continue;
    int64_t offset = 0;
    for (int64_t index : groups[g]) {
      const torch::Tensor& t = unique[index];
      t.detach().copy_(buffer.narrow(0, offset, t.numel()).view(t.sizes()));
      offset += t.numel();
    }
  }
}

}  // namespace adallava::train
