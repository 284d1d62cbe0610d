// Naive and ring allreduce on any device kind: a transfer is a copy into a scratch
// buffer on the receiver (copy_from) followed by an add, or a copy straight into place.
// Between CUDA devices whose memory the receiver can read (logical devices on one GPU, or
// GPUs with peer access) a transfer is one kernel instead, which reads the sender's chunk
// where it lies and adds it in place (or copies it): no receive buffer and one pass over
// memory fewer. GPULAB_CUDA_FUSED_REDUCE=0 goes back to copy + add. GPULAB_CUDA_FUSED_EXCHANGE=1
// (off by default) makes a ring of two such devices one kernel per device (push_exchange).
#include "comm/allreduce.h"

#include "comm/link.h"
#include "kernels/kernels.h"
#include "trace/event_stream.h"

#ifdef GPULAB_HAVE_NCCL
#include "comm/nccl_allreduce.h"
#endif
#ifdef GPULAB_HAVE_CUDA
#include "device/cuda_device.h"
#endif

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <stdexcept>
#include <string>

namespace gpulab {

const char* allreduce_name(AllreduceKind k)
{
    switch (k) {
    case AllreduceKind::Naive: return "naive";
    case AllreduceKind::Ring: return "ring";
    case AllreduceKind::Nccl: return "nccl";
    }
    return "?";
}

AllreduceKind parse_allreduce(const std::string& s)
{
    if (s == "naive")
        return AllreduceKind::Naive;
    if (s == "ring")
        return AllreduceKind::Ring;
    if (s == "nccl")
        return AllreduceKind::Nccl;
    throw std::invalid_argument("unknown allreduce strategy '" + s +
                                "' (choose naive, ring or nccl)");
}

int allreduce_steps(AllreduceKind k, int n)
{
    if (n <= 1)
        return 0;
    return k == AllreduceKind::Nccl ? 1 : 2 * (n - 1);
}

bool nccl_available(std::string* why_not)
{
#ifdef GPULAB_HAVE_NCCL
    (void)why_not;
    return true;
#else
    if (why_not)
        *why_not = "this build of gpulab has no NCCL (configure with CUDA and NCCL installed)";
    return false;
#endif
}

namespace {

// The receiver when it can read src_dev's memory directly and the fused transfer is on;
// nullptr otherwise. Read when the transfer is pushed.
#ifdef GPULAB_HAVE_CUDA
CudaDevice* direct_reader(Device& dst_dev, const Device& src_dev)
{
    const char* v = std::getenv("GPULAB_CUDA_FUSED_REDUCE");
    if ((v && std::string(v) == "0") || &dst_dev == &src_dev)
        return nullptr;
    auto* cuda = dynamic_cast<CudaDevice*>(&dst_dev);
    return cuda && cuda->can_read_directly(src_dev) ? cuda : nullptr;
}
#else
struct NoDirectReader {
    void reduce_from(float*, const Device&, const float*, int64_t, bool) {}
};
NoDirectReader* direct_reader(Device&, const Device&)
{
    return nullptr;
}
#endif

// The step event of one transfer, src -> dst, from from_us to to_us.
void record_step(EventStream* trace, double from_us, double to_us, int epoch, int batch, const AllreduceStepInfo& info,
                 int src_dev, int dst_dev, int chunk, int64_t bytes, LinkClock* link)
{
    trace->record(Event{.t_us = from_us,
                        .data = ev::AllreduceStep{.t_end_us = to_us,
                                                  .epoch = epoch,
                                                  .batch = batch,
                                                  .step = info.step,
                                                  .steps = info.steps,
                                                  .src = src_dev,
                                                  .dst = dst_dev,
                                                  .chunk = chunk,
                                                  .bytes = bytes,
                                                  .phase = info.phase,
                                                  .modelled = link != nullptr,
                                                  .charged_bytes = link ? link->charged_bytes(bytes) : 0}});
}

// One transfer, run on dst's device: dst (+)= src. reads/writes are the vars that order
// it (the chunk's own var, or every chunk var for a whole-buffer transfer).
void push_transfer(const AllreduceContext& ctx, const AllreduceStepInfo& info, int src_dev,
                   int dst_dev, int chunk, const Tensor& src, const Tensor& dst,
                   std::vector<Var> reads, std::vector<Var> writes, bool accumulate)
{
    Engine& e = *ctx.engine;
    Device& dd = dst.device();
    const Kernels* k = &kernels_for(dd);
    auto* direct = direct_reader(dd, src.device());
    Tensor tmp;
    if (accumulate && &src.device() != &dd && !direct) {
        tmp = make_tensor(e, dd, src.shape); // receive buffer
        writes.push_back(tmp.var);
    }
    OpDesc op;
    op.device = dd.index();
    op.name = info.phase + " " + std::to_string(info.step) + ": " + std::to_string(src_dev) +
              "->" + std::to_string(dst_dev);
    // its time comes from the link model (and its bytes too, when scaled): said where it shows
    if (ctx.link && !ctx.link->model().none())
        op.name += " (modelled)";
    op.reads = std::move(reads);
    op.writes = std::move(writes);
    EventStream* trace = ctx.trace;
    const int epoch = ctx.epoch, batch = ctx.batch;
    LinkClock* link = ctx.link && !ctx.link->model().none() ? ctx.link : nullptr;
    op.fn = [=, &dd] {
        const double t0 = trace ? trace->now_us() : 0;
        const int64_t count = src.numel();
        auto work = [&] {
            if (direct) {
                direct->reduce_from(dst.f(), src.device(), src.f(), count, accumulate);
            } else if (!accumulate) {
                dd.copy_from(dst.f(), src.device(), src.f(), count * 4);
            } else if (tmp.defined()) {
                dd.copy_from(tmp.f(), src.device(), src.f(), count * 4);
                k->add(count, tmp.f(), dst.f());
            } else {
                k->add(count, src.f(), dst.f());
            }
        };
        auto record = [&](double from_us, double to_us) {
            record_step(trace, from_us, to_us, epoch, batch, info, src_dev, dst_dev, chunk, count * 4, link);
        };
        if (link) {
            // The transfer holds the link from when both its sides are free; the copy happens
            // within that time (a copy engine moves the data while the link carries it) and
            // the worker then waits until the link would have carried it. The step is shown
            // from the link's start: time queued behind other transfers on a shared side
            // (naive's device 0) belongs to those, as in the model's alpha + B/beta.
            const double tb = trace ? trace->now_us() : 0; // read before `now`: never a late start
            const auto now = std::chrono::steady_clock::now();
            const LinkClock::Booking b = link->book(src_dev, dst_dev, count * 4);
            if (trace)
                dd.run_timed(work);
            else
                work();
            link->wait_until(b.end);
            if (trace)
                record(tb + std::chrono::duration<double, std::micro>(b.start - now).count(), trace->now_us());
            return;
        }
        if (!trace) {
            work();
            return;
        }
        // The step ends when its data has landed; it lasted what the device spent on it (a
        // GPU times its stream, so queued work before the step does not count).
        const double busy = dd.run_timed(work);
        const double t1 = trace->now_us();
        record(std::max(t0, t1 - busy), t1);
    };
    e.push(std::move(op));
}

// The fused exchange of a ring of two (push_allreduce's header says when it applies).
#ifdef GPULAB_HAVE_CUDA
bool fused_exchange_applies(const AllreduceContext& ctx, const std::vector<std::vector<Tensor>>& bufs)
{
    bool on = ctx.fused_exchange == 1;
    if (ctx.fused_exchange < 0) {
        const char* v = std::getenv("GPULAB_CUDA_FUSED_EXCHANGE");
        on = v && std::string(v) == "1";
    }
    if (!on || bufs.size() != 2 || (ctx.link && !ctx.link->model().none()))
        return false;
    Device& a = bufs[0].front().device();
    Device& b = bufs[1].front().device();
    auto* ca = dynamic_cast<CudaDevice*>(&a);
    auto* cb = dynamic_cast<CudaDevice*>(&b);
    return &a != &b && ca && cb && ca->can_read_directly(b) && cb->can_read_directly(a);
}

// Chunk `chunk` of the ring's reduce-scatter step, sent by src_dev and received by dst_dev,
// and of its all-gather step, sent back: one kernel on dst's device writes the sum into both
// buffers. Both steps' events carry that kernel's span.
void push_exchange(const AllreduceContext& ctx, int steps, int src_dev, int dst_dev, int chunk, const Tensor& theirs,
                   const Tensor& mine)
{
    Device& dd = mine.device();
    auto* cuda = dynamic_cast<CudaDevice*>(&dd);
    OpDesc op;
    op.device = dd.index();
    op.name = "reduce-scatter 0 + all-gather 1: " + std::to_string(src_dev) + "->" + std::to_string(dst_dev) + "->"
              + std::to_string(src_dev);
    op.writes = {mine.var, theirs.var};
    EventStream* trace = ctx.trace;
    const int epoch = ctx.epoch, batch = ctx.batch;
    op.fn = [=, &dd] {
        const int64_t count = mine.numel();
        auto work = [&] { cuda->exchange_sum(mine.f(), theirs.device(), theirs.f(), count); };
        if (!trace) {
            work();
            return;
        }
        const double t0 = trace->now_us();
        const double busy = dd.run_timed(work);
        const double t1 = trace->now_us();
        const double from = std::max(t0, t1 - busy);
        record_step(trace, from, t1, epoch, batch, AllreduceStepInfo{0, steps, "reduce-scatter"}, src_dev, dst_dev,
                    chunk, count * 4, nullptr);
        record_step(trace, from, t1, epoch, batch, AllreduceStepInfo{1, steps, "all-gather"}, dst_dev, src_dev, chunk,
                    count * 4, nullptr);
    };
    ctx.engine->push(std::move(op));
}
#else
bool fused_exchange_applies(const AllreduceContext&, const std::vector<std::vector<Tensor>>&)
{
    return false;
}
void push_exchange(const AllreduceContext&, int, int, int, int, const Tensor&, const Tensor&) {}
#endif

// Device d's whole gradient as one tensor, and every chunk var that covers it.
Tensor whole(const std::vector<Tensor>& chunks, std::vector<Var>& vars)
{
    int64_t count = 0;
    for (const auto& c : chunks) {
        count += c.numel();
        vars.push_back(c.var);
    }
    return chunks.front().view(0, {count}, nullptr);
}

bool push_naive(const AllreduceContext& ctx, const std::vector<std::vector<Tensor>>& bufs)
{
    const int n = static_cast<int>(bufs.size());
    const int steps = allreduce_steps(AllreduceKind::Naive, n);
    int step = 0;
    auto push_whole = [&](const char* phase, int s, int d, bool acc) {
        AllreduceStepInfo info{step++, steps, phase};
        if (ctx.before_step && !ctx.before_step(info))
            return false;
        std::vector<Var> rv, wv;
        Tensor src = whole(bufs[s], rv), dst = whole(bufs[d], wv);
        push_transfer(ctx, info, s, d, -1, src, dst, std::move(rv), std::move(wv), acc);
        return true;
    };
    for (int s = 1; s < n; ++s)
        if (!push_whole("reduce", s, 0, true))
            return false;
    for (int d = 1; d < n; ++d)
        if (!push_whole("broadcast", 0, d, false))
            return false;
    return true;
}

bool push_ring(const AllreduceContext& ctx, const std::vector<std::vector<Tensor>>& bufs)
{
    const int n = static_cast<int>(bufs.size());
    for (const auto& b : bufs)
        if (static_cast<int>(b.size()) != n)
            throw std::invalid_argument("ring allreduce needs one chunk per device");
    const int steps = allreduce_steps(AllreduceKind::Ring, n);
    if (fused_exchange_applies(ctx, bufs)) { // n == 2: chunk i goes from device i to the other
        if (ctx.before_step && !ctx.before_step(AllreduceStepInfo{0, steps, "reduce-scatter"}))
            return false;
        for (int i = 0; i < n; ++i)
            push_exchange(ctx, steps, i, 1 - i, i, bufs[i][i], bufs[1 - i][i]);
        return true;
    }
    for (int k = 0; k < n - 1; ++k) {
        AllreduceStepInfo info{k, steps, "reduce-scatter"};
        if (ctx.before_step && !ctx.before_step(info))
            return false;
        for (int i = 0; i < n; ++i) {
            const int dst = (i + 1) % n, c = ((i - k) % n + n) % n;
            push_transfer(ctx, info, i, dst, c, bufs[i][c], bufs[dst][c], {bufs[i][c].var},
                          {bufs[dst][c].var}, true);
        }
    }
    for (int k = 0; k < n - 1; ++k) {
        AllreduceStepInfo info{n - 1 + k, steps, "all-gather"};
        if (ctx.before_step && !ctx.before_step(info))
            return false;
        for (int i = 0; i < n; ++i) {
            const int dst = (i + 1) % n, c = ((i + 1 - k) % n + n) % n;
            push_transfer(ctx, info, i, dst, c, bufs[i][c], bufs[dst][c], {bufs[i][c].var},
                          {bufs[dst][c].var}, false);
        }
    }
    return true;
}

} // namespace

bool push_allreduce(AllreduceKind kind, const AllreduceContext& ctx,
                    const std::vector<std::vector<Tensor>>& bufs)
{
    if (bufs.empty())
        throw std::invalid_argument("allreduce over zero devices");
    if (bufs.size() == 1)
        return true;
    switch (kind) {
    case AllreduceKind::Naive: return push_naive(ctx, bufs);
    case AllreduceKind::Ring: return push_ring(ctx, bufs);
    case AllreduceKind::Nccl:
#ifdef GPULAB_HAVE_NCCL
        return push_nccl_allreduce(ctx, bufs);
#else
        throw std::invalid_argument(
            "NCCL allreduce needs the CUDA backend with NCCL and one physical GPU per device; "
            "this build has no NCCL");
#endif
    }
    return true;
}

std::vector<Tensor> split_chunks(Engine& engine, const Tensor& whole, int chunks)
{
    const int64_t count = whole.numel();
    const int64_t base = count / chunks, extra = count % chunks;
    std::vector<Tensor> out;
    int64_t off = 0;
    for (int c = 0; c < chunks; ++c) {
        const int64_t len = base + (c < extra ? 1 : 0);
        out.push_back(whole.view(off, {len}, engine.new_var()));
        off += len;
    }
    return out;
}

std::vector<float> reference_allreduce(const std::vector<std::vector<float>>& parts)
{
    std::vector<float> sum(parts.at(0).size(), 0.0f);
    for (const auto& p : parts)
        for (size_t i = 0; i < sum.size(); ++i)
            sum[i] += p[i];
    return sum;
}

} // namespace gpulab
