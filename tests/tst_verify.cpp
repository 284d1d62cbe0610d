// tst_verify: the verification that `gpulab-cli verify` runs, on the CPU backend (every op
// of the simulated devices' table against the reference, allreduce, training runs), and
// what it says where CUDA is absent. Plain C++ (tests/support/plain_test.h): runs without Qt.
#include "support/plain_test.h"
#include "support/pushed_allreduce.h"
#include "support/scoped_env.h"

#include "device/device_factory.h"
#include "verify/verify.h"

#include <cmath>
#include <cstdlib>
#include <stdexcept>

using namespace gpulab;

namespace {

void require_all_ok(const std::vector<VerifyCheck>& checks)
{
    PT_VERIFY(!checks.empty());
    for (const auto& c : checks) {
        std::printf("  %s %s %s %s: worst %.3g %s\n", c.ok ? "OK  " : "FAIL", c.backend.c_str(), c.group.c_str(),
                    c.name.c_str(), c.worst, c.note.c_str());
        PT_VERIFY2(c.ok, c.group + " " + c.name + ": " + c.note);
    }
}

} // namespace

PT_TEST(compare_values_uses_tol_plus_eps_times_ref)
{
    PT_VERIFY(compare_values({1.0f, 2.0f}, {1.0f, 2.0f}, 0, 0).ok);
    PT_VERIFY(compare_values({1.0f + 1e-3f}, {1.0f}, 0, 2e-3).ok);   // eps*|ref|
    PT_VERIFY(!compare_values({1.0f + 1e-3f}, {1.0f}, 0, 5e-4).ok);
    PT_VERIFY(compare_values({1e-5f}, {0.0f}, 2e-5, 0).ok);           // tol
    PT_VERIFY(!compare_values({NAN}, {0.0f}, 1, 1).ok);               // NaN always fails
    PT_VERIFY(!compare_values({1.0f}, {1.0f, 2.0f}, 1, 1).ok);        // sizes
    const VerifyCheck c = compare_values({0.0f, 0.5f, 3.0f}, {0.0f, 0.25f, 3.0f}, 0, 0);
    PT_VERIFY(!c.ok);
    PT_VERIFY(std::fabs(c.worst - 0.25) < 1e-12);
    PT_COMPARE(c.values, int64_t(3));
}

PT_TEST(cpu_kernels_match_the_reference)
{
    auto devs = make_devices(DeviceKind::CpuSim, 1, kDefaultMemoryBudget, 1, nullptr);
    require_all_ok(verify_kernels(*devs.front()));
}

PT_TEST(cpu_transfers_memory_and_allreduce)
{
    auto devs = make_devices(DeviceKind::CpuSim, 4, kDefaultMemoryBudget, 1, nullptr);
    std::vector<Device*> all;
    for (auto& d : devs)
        all.push_back(d.get());
    require_all_ok(verify_transfers(all));
    require_all_ok(verify_memory(DeviceKind::CpuSim));
    for (EngineKind e : {EngineKind::Threaded, EngineKind::Sync})
        for (AllreduceKind k : {AllreduceKind::Naive, AllreduceKind::Ring})
            require_all_ok({verify_allreduce(all, k, e, 10007)});
}

// The training comparison can say "wrong": a reference that does not learn fails it, and so
// does a run whose learning rate is 5% off, though its losses on the plateau agree within
// the loss tolerance (each parameter's change is compared, not only the loss).
PT_TEST(training_comparison_fails_a_run_that_does_not_learn_or_differs)
{
    const FashionMnist data = verify_dataset();
    TrainConfig ref = verify_train_config(Backend::Cpu, 1, AllreduceKind::Naive);
    const VerifyCheck same = verify_training("1 device = itself", ref, ref, data, 1e-5, 1e-3);
    std::printf("  %s\n", same.note.c_str());
    PT_VERIFY2(same.ok, same.note);

    TrainConfig stuck = ref;
    stuck.lr = 0.01;
    const VerifyCheck flat = verify_training("a reference that does not learn", stuck, stuck, data, 1e-5, 1e-3);
    std::printf("  %s\n", flat.note.c_str());
    PT_VERIFY(!flat.ok);
    PT_VERIFY2(flat.note.find("the reference run did not learn") != std::string::npos, flat.note);

    TrainConfig off = ref;
    off.lr = ref.lr * 1.05;
    const VerifyCheck diff = verify_training("lr 5% off", off, ref, data, 1e-5, 1e-3);
    std::printf("  %s\n", diff.note.c_str());
    PT_VERIFY(!diff.ok);
    PT_VERIFY2(diff.note.find("changed differently") != std::string::npos, diff.note);
    PT_VERIFY2(diff.note.find("losses") == std::string::npos, diff.note); // the losses alone would pass
}

// The fused exchange of a ring of two (GPULAB_CUDA_FUSED_EXCHANGE=1) needs CUDA devices that
// read each other's memory: on simulated devices, switched on either way, the ring pushes its
// usual four ops by their usual names and records its four step events, as with it off.
PT_TEST(the_fused_exchange_leaves_a_ring_of_simulated_devices_as_it_was)
{
    auto devs = make_devices(DeviceKind::CpuSim, 2, kDefaultMemoryBudget, 1, nullptr);
    const std::vector<Device*> two = {devs[0].get(), devs[1].get()};
    const std::vector<std::string> ops = {"reduce-scatter 0: 0->1", "reduce-scatter 0: 1->0", "all-gather 1: 0->1",
                                          "all-gather 1: 1->0"};
    const std::vector<std::string> steps = {"0/2 reduce-scatter 0->1 chunk 0", "0/2 reduce-scatter 1->0 chunk 1",
                                            "1/2 all-gather 0->1 chunk 1", "1/2 all-gather 1->0 chunk 0"};
    const PushedAllreduce off = pushed_allreduce(two, AllreduceKind::Ring, EngineKind::Sync, 0, 1001);
    PT_VERIFY(off.ops == ops);
    PT_VERIFY(off.steps == steps);
    for (int setting : {-1, 1}) {
        ScopedEnv env("GPULAB_CUDA_FUSED_EXCHANGE", "1");
        for (EngineKind e : {EngineKind::Sync, EngineKind::Threaded}) {
            const PushedAllreduce on = pushed_allreduce(two, AllreduceKind::Ring, e, setting, 1001);
            std::string names;
            for (const auto& o : on.ops)
                names += o + "; ";
            PT_VERIFY2(on.ops == ops, names);
            if (e == EngineKind::Sync) // the threaded engine's workers record in their own order
                PT_VERIFY(on.steps == steps);
            PT_COMPARE(on.steps.size(), steps.size());
            PT_VERIFY(on.sums == off.sums);
        }
    }
    for (size_t i = 0; i < off.sums[0].size(); ++i)
        PT_COMPARE(off.sums[0][i], float(3 + 2 * (i % 1000)));
    PT_VERIFY(off.sums[1] == off.sums[0]);
}

PT_TEST(nccl_is_refused_off_cuda)
{
    auto devs = make_devices(DeviceKind::CpuSim, 2, kDefaultMemoryBudget, 1, nullptr);
    const VerifyCheck c = verify_allreduce({devs[0].get(), devs[1].get()}, AllreduceKind::Nccl, EngineKind::Sync, 16);
    PT_VERIFY(!c.ok);
    PT_VERIFY2(c.note.find("NCCL") != std::string::npos, c.note);
}

PT_TEST(run_verify_on_the_cpu_passes_and_says_why_cuda_was_skipped)
{
    VerifyOptions opt;
    opt.cuda = true;
    int seen = 0;
    opt.on_check = [&](const VerifyCheck&) { ++seen; };
    const VerifyReport r = run_verify(opt);
    require_all_ok(r.checks);
    PT_COMPARE(seen, int(r.checks.size()));
    std::string why;
    if (cuda_verdict(&why) == CudaVerdict::Skip) {
        PT_COMPARE(r.skipped.size(), size_t(1));
        PT_COMPARE(r.skipped.front(), "cuda: " + why);
        PT_VERIFY(!why.empty());
    }
    PT_COMPARE(r.failures(), 0);
}

// Where CUDA is not usable, GPULAB_REQUIRE_CUDA=1 turns verify's "skipped" into a failed
// check that says why (the GPU checks set it where nvidia-smi lists a GPU).
PT_TEST(required_cuda_that_is_not_usable_fails_verify)
{
    if (cuda_usable())
        PT_SKIP("CUDA is usable here");
    const char* before = std::getenv("GPULAB_REQUIRE_CUDA");
    const std::string saved = before ? before : "";
    setenv("GPULAB_REQUIRE_CUDA", "1", 1);
    std::string why;
    const CudaVerdict verdict = cuda_verdict(&why);
    VerifyOptions opt;
    opt.cpu = false;
    const VerifyReport r = run_verify(opt);
    if (before)
        setenv("GPULAB_REQUIRE_CUDA", saved.c_str(), 1);
    else
        unsetenv("GPULAB_REQUIRE_CUDA");
    PT_VERIFY(verdict == CudaVerdict::Fail);
    PT_VERIFY2(why.find("GPULAB_REQUIRE_CUDA=1") != std::string::npos, why);
    PT_VERIFY(r.skipped.empty());
    PT_COMPARE(r.failures(), 1);
    PT_COMPARE(r.checks.front().note, why);
    // Without it, this machine (no usable CUDA) skips only when there is no GPU at all.
    PT_VERIFY(cuda_verdict() != CudaVerdict::Run);
}

PT_TEST(asking_for_cuda_where_there_is_none_is_a_clear_error)
{
    std::string why;
    if (cuda_usable(&why))
        PT_SKIP("CUDA is usable here");
    PT_VERIFY(!why.empty());
    PT_COMPARE(cuda_device_count(), 0);
    PT_VERIFY(cuda_gpus().empty());
    try {
        make_devices(DeviceKind::Cuda, 1, kDefaultMemoryBudget, 1, nullptr);
        PT_VERIFY2(false, "make_devices(Cuda) did not throw");
    } catch (const std::runtime_error& e) {
        PT_VERIFY2(std::string(e.what()).find(why) != std::string::npos, e.what());
    }
}

PT_MAIN()
