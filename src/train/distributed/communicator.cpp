#include "train/distributed/communicator.h"

// The installed c10d headers only declare ProcessGroupGloo when the build says Gloo is in; the
// Debian libtorch_cpu is built with it (and links libgloo), so declaring it here is truthful.
// Defined after the precompiled torch header, and only in this file, so other targets are
// unaffected.
#ifndef USE_C10D_GLOO
#define USE_C10D_GLOO
#endif
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include <cstdlib>

#include <c10/util/Exception.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/error.h"
#include "config/train_config.h"

namespace adallava::train {

struct Communicator::Backend {
  c10::intrusive_ptr<c10d::TCPStore> store;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> group;
};

namespace {

// c10 errors carry a C++ backtrace after the message; users need the first line.
std::string reason_of(const std::exception& e) {
  std::string message;
  if (const auto* c10_error = dynamic_cast<const c10::Error*>(&e)) {
    message = c10_error->what_without_backtrace();
  } else {
    message = e.what();
  }
  const auto end = message.find('\n');
  if (end != std::string::npos) message.resize(end);
  return message;
}

double seconds(std::chrono::milliseconds duration) {
  return duration.count() / 1000.0;
}

void check_backend(const std::string& backend) {
  if (backend == "gloo") return;
  ADALLAVA_CHECK(backend != "nccl",
                 "distributed.backend 'nccl': this LibTorch build is CPU-only and has no NCCL; "
                 "use distributed.backend=gloo (NCCL needs a CUDA build of LibTorch)");
  fail("distributed.backend '{}' is not supported (this build offers 'gloo')", backend);
}

bool is_loopback(const std::string& host) {
  return host == "127.0.0.1" || host == "localhost" || host == "::1";
}

// The address Gloo listens on must be reachable by every other rank: loopback for a one-machine
// job; otherwise the interface in GLOO_SOCKET_IFNAME (as PyTorch), else this host's name.
std::shared_ptr<::gloo::transport::Device> gloo_device(const DistributedEnv& env) {
  if (const char* interface = std::getenv("GLOO_SOCKET_IFNAME"); interface && *interface) {
    return c10d::ProcessGroupGloo::createDeviceForInterface(interface);
  }
  if (is_loopback(env.master_addr)) {
    return c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1");
  }
  return c10d::ProcessGroupGloo::createDefaultDevice();
}

c10::intrusive_ptr<c10d::TCPStore> open_store(const DistributedEnv& env,
                                              const ProcessGroupOptions& options) {
  c10d::TCPStoreOptions store_options;
  store_options.port = static_cast<std::uint16_t>(env.master_port);
  store_options.isServer = env.rank == 0;
  store_options.numWorkers = env.world_size;
  // Arrival is checked below with per-rank keys, so a missing peer can be named.
  store_options.waitWorkers = false;
  store_options.timeout = options.timeout;
  try {
    return c10::make_intrusive<c10d::TCPStore>(env.master_addr, store_options);
  } catch (const std::exception& e) {
    if (env.rank == 0) {
      fail("rank 0 could not host the rendezvous store on port {} (MASTER_PORT): {}",
           env.master_port, reason_of(e));
    }
    fail(
        "{} could not reach the rendezvous store at {}:{} (MASTER_ADDR:MASTER_PORT) within {} s: "
        "{}; is rank 0 running with the same MASTER_ADDR/MASTER_PORT?",
        env.describe(), env.master_addr, env.master_port, seconds(options.timeout), reason_of(e));
  }
}

std::string joined_key(int rank) {
  return fmt::format("adallava/joined/{}", rank);
}

// Every rank announces itself and waits for all others; on time-out the message lists the ranks
// that never arrived.
void wait_for_all_ranks(c10d::Store& store, const DistributedEnv& env,
                        std::chrono::milliseconds timeout) {
  std::vector<std::string> keys;
  for (int rank = 0; rank < env.world_size; ++rank) keys.push_back(joined_key(rank));
  try {
    store.set(joined_key(env.rank), std::vector<uint8_t>{1});
    store.wait(keys, timeout);
    return;
  } catch (const std::exception& e) {
    std::vector<int> missing;
    try {
      for (int rank = 0; rank < env.world_size; ++rank) {
        if (!store.check({joined_key(rank)})) missing.push_back(rank);
      }
    } catch (const std::exception&) {
      // The store itself is gone (rank 0 died): report the original failure.
    }
    if (!missing.empty()) {
      fail(
          "{}: rank(s) {} did not join the job within {} s (distributed.timeout_seconds; "
          "rendezvous at {}:{}); was every rank started with the same WORLD_SIZE, MASTER_ADDR "
          "and MASTER_PORT?",
          env.describe(), fmt::join(missing, ", "), seconds(timeout), env.master_addr,
          env.master_port);
    }
    fail("{}: rendezvous at {}:{} failed: {}", env.describe(), env.master_addr, env.master_port,
         reason_of(e));
  }
}

}  // namespace

ProcessGroupOptions process_group_options(const config::DistributedConfig& config) {
  ProcessGroupOptions options;
  options.backend = config.backend;
  options.timeout = std::chrono::seconds(config.timeout_seconds);
  return options;
}

void PendingCollective::wait() {
  if (!wait_) return;
  auto wait = std::move(wait_);
  wait_ = nullptr;
  wait();
}

Communicator::Communicator(DistributedEnv env, ProcessGroupOptions options)
    : env_(std::move(env)), options_(std::move(options)) {}

Communicator::~Communicator() {
  // A broken backend was already released on purpose (see broken()).
}

std::shared_ptr<Communicator> Communicator::single_process() {
  return std::shared_ptr<Communicator>(new Communicator(DistributedEnv{}, ProcessGroupOptions{}));
}

std::shared_ptr<Communicator> Communicator::connect(const DistributedEnv& env,
                                                    const ProcessGroupOptions& options) {
  check_backend(options.backend);
  ADALLAVA_CHECK(options.timeout.count() > 0, "distributed.timeout_seconds must be positive");
  std::shared_ptr<Communicator> self(new Communicator(env, options));
  if (!env.distributed()) return self;

  auto backend = std::make_unique<Backend>();
  backend->store = open_store(env, options);
  wait_for_all_ranks(*backend->store, env, options.timeout);
  try {
    auto gloo_options = c10d::ProcessGroupGloo::Options::create(options.timeout);
    gloo_options->devices.push_back(gloo_device(env));
    gloo_options->threads = std::max(1, options.backend_threads);
    backend->group = c10::make_intrusive<c10d::ProcessGroupGloo>(
        c10::static_intrusive_pointer_cast<c10d::Store>(backend->store), env.rank, env.world_size,
        gloo_options);
  } catch (const std::exception& e) {
    fail("{}: connecting the Gloo process group (rendezvous {}:{}) failed within {} s: {}",
         env.describe(), env.master_addr, env.master_port, seconds(options.timeout), reason_of(e));
  }
  self->backend_ = std::move(backend);
  spdlog::debug("[distributed] {} joined (gloo, rendezvous {}:{}, timeout {} s)", env.describe(),
                env.master_addr, env.master_port, seconds(options.timeout));
  return self;
}

void Communicator::check_usable(const std::string& what) const {
  ADALLAVA_CHECK(!broken_,
                 "distributed {} refused on {}: an earlier collective failed, the process group "
                 "is unusable",
                 what, env_.describe());
}

void Communicator::fail_collective(const std::string& what, const std::string& reason) {
  if (!broken_) {
    broken_ = true;
    // Deliberately leaked: tearing Gloo down would wait for the queued collectives.
    (void)backend_.release();
  }
  fail(
      "distributed {} failed on {} (time-out {} s): {}; another rank probably died or stalled, "
      "see its log",
      what, env_.describe(), seconds(options_.timeout), reason);
}

PendingCollective Communicator::all_reduce_sum_async(const torch::Tensor& tensor,
                                                     const std::string& what) {
  if (!env_.distributed()) return {};
  check_usable(what);
  std::vector<at::Tensor> tensors{tensor};
  c10::intrusive_ptr<c10d::Work> work;
  try {
    work = backend_->group->allreduce(tensors, c10d::AllreduceOptions{});
  } catch (const std::exception& e) {
    fail_collective(what, reason_of(e));
  }
  return PendingCollective([this, work, what] {
    try {
      work->wait();
    } catch (const std::exception& e) {
      fail_collective(what, reason_of(e));
    }
  });
}

void Communicator::all_reduce_sum(const torch::Tensor& tensor, const std::string& what) {
  all_reduce_sum_async(tensor, what).wait();
}

void Communicator::all_reduce_max(const torch::Tensor& tensor, const std::string& what) {
  if (!env_.distributed()) return;
  check_usable(what);
  std::vector<at::Tensor> tensors{tensor};
  c10d::AllreduceOptions options;
  options.reduceOp = c10d::ReduceOp::MAX;
  try {
    backend_->group->allreduce(tensors, options)->wait();
  } catch (const std::exception& e) {
    fail_collective(what, reason_of(e));
  }
}

void Communicator::broadcast(const torch::Tensor& tensor, int root, const std::string& what) {
  if (!env_.distributed()) return;
  check_usable(what);
  ADALLAVA_CHECK(root >= 0 && root < env_.world_size,
                 "broadcast of {}: root rank {} not in [0, {})", what, root, env_.world_size);
  std::vector<at::Tensor> tensors{tensor};
  c10d::BroadcastOptions options;
  options.rootRank = root;
  try {
    backend_->group->broadcast(tensors, options)->wait();
  } catch (const std::exception& e) {
    fail_collective(what, reason_of(e));
  }
}

void Communicator::barrier(const std::string& what) {
  if (!env_.distributed()) return;
  check_usable(what);
  try {
    backend_->group->barrier(c10d::BarrierOptions{})->wait();
  } catch (const std::exception& e) {
    fail_collective(what, reason_of(e));
  }
}

std::vector<torch::Tensor> Communicator::all_gather(const torch::Tensor& tensor,
                                                    const std::string& what) {
  if (!env_.distributed()) return {tensor.clone()};
  check_usable(what);
  const torch::Tensor input = tensor.contiguous();
  std::vector<std::vector<at::Tensor>> outputs(1);
  for (int rank = 0; rank < env_.world_size; ++rank) outputs[0].push_back(torch::empty_like(input));
  std::vector<at::Tensor> inputs{input};
  try {
    backend_->group->allgather(outputs, inputs, c10d::AllgatherOptions{})->wait();
  } catch (const std::exception& e) {
    fail_collective(what, reason_of(e));
  }
  return outputs[0];
}

}  // namespace adallava::train
