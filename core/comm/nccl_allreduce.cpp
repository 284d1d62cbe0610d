// NCCL allreduce: communicators from ncclCommInitAll (one rank per GPU, all in this
// process), a grouped ncclAllReduce launched from one thread onto every device's own
// stream. Stream order alone sequences it after each device's backward pass and before its
// SGD step: no event and no host synchronisation is needed. The group, and making and
// destroying communicators, run under cuda_global_mutex(): no cudaFree or cudaMalloc of
// another thread can then stall the group half-launched (cuda_device.h says why).
#include "comm/nccl_allreduce.h"

#include "device/cuda_check.h"
#include "device/cuda_device.h"
#include "trace/event_stream.h"

#include <algorithm>
#include <memory>
#include <mutex>
#include <stdexcept>

namespace gpulab {

// The communicators of one set of devices, in rank order. Kept by each of those devices.
struct NcclComms {
    std::vector<const CudaDevice*> devices;
    std::vector<ncclComm_t> comms;
    ~NcclComms()
    {
        std::lock_guard lock(cuda_global_mutex());
        for (ncclComm_t c : comms)
            (void)ncclCommDestroy(c);
    }
};

namespace {

std::shared_ptr<NcclComms> comms_for(const std::vector<CudaDevice*>& devs)
{
    std::shared_ptr<NcclComms> have = devs.front()->nccl_comms();
    if (have && have->devices.size() == devs.size()
        && std::equal(devs.begin(), devs.end(), have->devices.begin()))
        return have;
    auto made = std::make_shared<NcclComms>();
    std::vector<int> gpus;
    for (const CudaDevice* d : devs) {
        made->devices.push_back(d);
        gpus.push_back(d->gpu());
    }
    made->comms.resize(devs.size());
    {
        std::lock_guard lock(cuda_global_mutex());
        GPULAB_CUDA_CHECK(ncclCommInitAll(made->comms.data(), static_cast<int>(devs.size()), gpus.data()));
    }
    for (CudaDevice* d : devs)
        d->set_nccl_comms(made);
    return made;
}

// A timing event on one GPU, destroyed at scope end.
struct TimingEvent {
    cudaEvent_t e = nullptr;
    explicit TimingEvent(int gpu)
    {
        GPULAB_CUDA_CHECK(cudaSetDevice(gpu));
        GPULAB_CUDA_CHECK(cudaEventCreate(&e));
    }
    ~TimingEvent() { (void)cudaEventDestroy(e); }
    TimingEvent(const TimingEvent&) = delete;
    TimingEvent& operator=(const TimingEvent&) = delete;
};

} // namespace

std::string nccl_unsupported_reason(const std::vector<const Device*>& devices)
{
    std::vector<int> owner; // GPU -> first device on it
    for (const Device* d : devices) {
        const auto* c = dynamic_cast<const CudaDevice*>(d);
        if (!c)
            return "NCCL allreduce needs CUDA devices (" + d->name() + " is not one); use naive or ring";
        if (static_cast<int>(owner.size()) <= c->gpu())
            owner.resize(static_cast<size_t>(c->gpu()) + 1, -1);
        int& first = owner[static_cast<size_t>(c->gpu())];
        if (first >= 0)
            return "NCCL allreduce needs one physical GPU per device, but devices " + std::to_string(first) + " and "
                   + std::to_string(d->index()) + " share GPU " + std::to_string(c->gpu())
                   + "; use naive or ring, or no more devices than GPUs";
        first = d->index();
    }
    return {};
}

bool push_nccl_allreduce(const AllreduceContext& ctx, const std::vector<std::vector<Tensor>>& bufs)
{
    if (bufs.empty())
        throw std::invalid_argument("allreduce over zero devices");
    std::vector<const Device*> generic;
    std::vector<CudaDevice*> devs;
    for (const auto& b : bufs) {
        if (b.empty())
            throw std::invalid_argument("NCCL allreduce: a device has no gradient chunks");
        generic.push_back(&b.front().device());
    }
    if (std::string why = nccl_unsupported_reason(generic); !why.empty())
        throw std::invalid_argument(why);
    for (const auto& b : bufs)
        devs.push_back(dynamic_cast<CudaDevice*>(&b.front().device()));

    const AllreduceStepInfo info{0, 1, "nccl"};
    if (ctx.before_step && !ctx.before_step(info))
        return false;

    // Each device's whole buffer (its chunks are consecutive views of one flat buffer).
    std::vector<float*> data;
    int64_t count = -1;
    std::vector<Var> vars;
    for (const auto& b : bufs) {
        int64_t c = 0;
        for (const auto& chunk : b) {
            c += chunk.numel();
            vars.push_back(chunk.var);
        }
        if (count >= 0 && c != count)
            throw std::invalid_argument("NCCL allreduce: the devices' buffers differ in size");
        count = c;
        data.push_back(b.front().f());
    }
    std::shared_ptr<NcclComms> comms = comms_for(devs);

    OpDesc op;
    op.device = devs.front()->index();
    op.name = "nccl allreduce";
    op.writes = vars;
    std::vector<Tensor> keep; // the buffers stay alive until the op has run
    for (const auto& b : bufs)
        keep.push_back(b.front());
    EventStream* trace = ctx.trace;
    const int epoch = ctx.epoch, batch = ctx.batch;
    op.fn = [comms, devs, data, count, keep, trace, epoch, batch] {
        const size_t n = devs.size();
        std::vector<std::unique_ptr<TimingEvent>> start, end;
        if (trace)
            for (const CudaDevice* d : devs) {
                start.push_back(std::make_unique<TimingEvent>(d->gpu()));
                end.push_back(std::make_unique<TimingEvent>(d->gpu()));
                GPULAB_CUDA_CHECK(cudaEventRecord(start.back()->e, d->stream()));
            }
        std::unique_lock group_lock(cuda_global_mutex()); // until ncclGroupEnd has returned
        GPULAB_CUDA_CHECK(ncclGroupStart());
        try {
            for (size_t i = 0; i < n; ++i)
                GPULAB_CUDA_CHECK(ncclAllReduce(data[i], data[i], static_cast<size_t>(count), ncclFloat, ncclSum,
                                                comms->comms[i], devs[i]->stream()));
        } catch (...) {
            // The group depth is per thread: left open, every later NCCL call on this thread
            // (the front end's, under the sync engine) would join this group and never launch.
            (void)ncclGroupEnd();
            throw;
        }
        GPULAB_CUDA_CHECK(ncclGroupEnd());
        group_lock.unlock();
        if (!trace) {
            devs.front()->activate();
            return;
        }
        // Every rank waits for the slowest to arrive; the one that waited least shows what
        // the collective itself took.
        double busy_us = -1;
        for (size_t i = 0; i < n; ++i) {
            GPULAB_CUDA_CHECK(cudaSetDevice(devs[i]->gpu()));
            GPULAB_CUDA_CHECK(cudaEventRecord(end[i]->e, devs[i]->stream()));
        }
        for (size_t i = 0; i < n; ++i) {
            devs[i]->synchronize();
            float ms = 0;
            GPULAB_CUDA_CHECK(cudaEventElapsedTime(&ms, start[i]->e, end[i]->e));
            busy_us = busy_us < 0 ? ms * 1000.0 : std::min(busy_us, ms * 1000.0);
        }
        devs.front()->activate();
        const double t1 = trace->now_us();
        for (size_t i = 0; i < n; ++i) {
            trace->record(Event{.t_us = t1 - std::max(0.0, busy_us),
                                .data = ev::AllreduceStep{.t_end_us = t1,
                                                          .epoch = epoch,
                                                          .batch = batch,
                                                          .step = 0,
                                                          .steps = 1,
                                                          .src = -1,
                                                          .dst = devs[i]->index(),
                                                          .chunk = -1,
                                                          .bytes = count * 4,
                                                          .phase = "nccl"}});
        }
    };
    ctx.engine->push(std::move(op));
    return true;
}

} // namespace gpulab
