// The book's data-parallel training loop, as a front end pushing ops on the engine:
// split_and_load, forward/backward per device, allreduce, the same SGD step everywhere.
#include "train/trainer.h"

#include "comm/link.h"

#include "data/batcher.h"
#include "data/fashion_mnist.h"
#include "device/device_factory.h"
#include "kernels/kernels.h"
#include "kernels/cpu_threads.h"
#include "model/lenet.h"
#include "rank/rank_group.h"
#include "trace/event_stream.h"
#include "train/settings.h"

#include <chrono>
#include <cmath>
#include <deque>
#include <sstream>

namespace gpulab {

namespace {

using Clock = std::chrono::steady_clock;

// Mean cross-entropy per image above which a run has diverged: log(10) = 2.3 at the start,
// and a model that assigns its label e^-100 is no longer learning, only overflowing.
constexpr double kDivergedLoss = 100.0;

double seconds_since(Clock::time_point t0)
{
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

// One op on device d that reads `reads` and hands a host copy of `t` to `use` (on the
// worker). Used for losses, counts and snapshots: the front end never waits for them.
void push_readback(Engine& e, int d, const char* name, const Tensor& t, std::vector<Var> reads,
                   std::function<void(std::vector<float>&)> use, int64_t offset = 0,
                   int64_t count = -1)
{
    if (count < 0)
        count = t.numel();
    OpDesc op;
    op.device = d;
    op.name = name;
    op.reads = std::move(reads);
    op.fn = [t, use = std::move(use), offset, count] {
        std::vector<float> host(static_cast<size_t>(count));
        t.device().download(host.data(), t.f() + offset, count * 4);
        use(host);
    };
    e.push(std::move(op));
}

// The loss read-back: an op on device d that asks for a host copy of the one float in
// `loss` without waiting for it; `use` runs once it has landed (Device::download_then).
// It writes `readbacks` so that a later op writing it runs after it.
void push_loss_readback(Engine& e, int d, const Tensor& loss, const Var& readbacks,
                        Device::ReadbackFn use)
{
    OpDesc op;
    op.device = d;
    op.name = "loss_readback";
    op.reads = {loss.var};
    op.writes = {readbacks};
    op.fn = [loss, use = std::move(use)] { loss.device().download_then(loss.f(), 1, use); };
    e.push(std::move(op));
}

// Copies host examples [indices] into fresh device tensors x (n,1,28,28) and y (n).
std::pair<Tensor, Tensor> push_load(Engine& e, Device& dev, const Dataset& data,
                                    const int64_t* indices, int64_t n)
{
    auto imgs = std::make_shared<std::vector<float>>(static_cast<size_t>(n * kImagePixels));
    auto labs = std::make_shared<std::vector<int32_t>>(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) {
        const int64_t src = indices[i];
        std::copy_n(data.images.data() + src * kImagePixels, kImagePixels,
                    imgs->data() + i * kImagePixels);
        (*labs)[static_cast<size_t>(i)] = data.labels[static_cast<size_t>(src)];
    }
    Tensor x = make_tensor(e, dev, {n, 1, kImageSide, kImageSide});
    Tensor y = make_tensor(e, dev, {n});
    OpDesc op;
    op.device = dev.index();
    op.name = "load_shard";
    op.writes = {x.var, y.var};
    op.fn = [x, y, imgs, labs] {
        x.device().upload(x.f(), imgs->data(), x.bytes());
        y.device().upload(y.i32(), labs->data(), y.bytes());
    };
    e.push(std::move(op));
    return {x, y};
}

// The training set did not fit on a device: the remedy is not the usual one.
class DatasetOutOfMemory : public OutOfMemory {
public:
    explicit DatasetOutOfMemory(const OutOfMemory& e) : OutOfMemory(e) {}
};

// The training set on one device (DataPlacement::Device): every image and label, uploaded
// once; a minibatch is then gathered there from its indices.
struct DeviceDataset {
    Tensor images; // (count, 1, 28, 28)
    Tensor labels; // (count)
};

DeviceDataset push_upload_dataset(Engine& e, Device& dev, const Dataset& data, int64_t count)
{
    DeviceDataset d{make_tensor(e, dev, {count, 1, kImageSide, kImageSide}), make_tensor(e, dev, {count})};
    OpDesc op;
    op.device = dev.index();
    op.name = "load_dataset";
    op.writes = {d.images.var, d.labels.var};
    op.fn = [d, &data] { // the dataset outlives the run (the trainer holds it)
        d.images.device().upload(d.images.f(), data.images.data(), d.images.bytes());
        d.labels.device().upload(d.labels.i32(), data.labels.data(), d.labels.bytes());
    };
    e.push(std::move(op));
    return d;
}

// Like push_load, from the dataset on the device: only the n indices travel.
std::pair<Tensor, Tensor> push_gather(Engine& e, Device& dev, const DeviceDataset& data, const int64_t* indices,
                                      int64_t n)
{
    auto idx = std::make_shared<std::vector<int32_t>>(indices, indices + n);
    Tensor index = make_tensor(e, dev, {n});
    Tensor x = make_tensor(e, dev, {n, 1, kImageSide, kImageSide});
    Tensor y = make_tensor(e, dev, {n});
    OpDesc op;
    op.device = dev.index();
    op.name = "load_shard";
    op.reads = {data.images.var, data.labels.var};
    op.writes = {x.var, y.var, index.var};
    op.fn = [x, y, index, idx, data] {
        Device& d = x.device();
        d.upload(index.i32(), idx->data(), index.bytes());
        const Kernels& k = kernels_for(d);
        const int n = static_cast<int>(index.numel());
        const int64_t rows = data.labels.numel();
        k.gather_rows(n, x.bytes() / n, index.i32(), rows, data.images.f(), x.f());
        k.gather_rows(n, 4, index.i32(), rows, data.labels.i32(), y.i32());
    };
    e.push(std::move(op));
    return {x, y};
}

// Sums one value per device; the last device to report calls done(total).
struct Meter {
    std::mutex mutex;
    int remaining;
    double total = 0;
    explicit Meter(int parts) : remaining(parts) {}
    bool add(double v, double* total_out)
    {
        std::lock_guard lock(mutex);
        total += v;
        *total_out = total;
        return --remaining == 0;
    }
};

// A running total that device workers add to.
struct Total {
    std::mutex mutex;
    double total = 0;
    void add(double v)
    {
        std::lock_guard lock(mutex);
        total += v;
    }
};

struct EpochMeter {
    std::mutex mutex;
    double loss_sum = 0;
    int64_t images = 0;

    // A minibatch of `images` images whose summed loss is `total`: counted for the epoch's
    // mean, and its MinibatchLoss event recorded.
    void minibatch(EventStream& trace, int epoch, int64_t batch, int64_t batches, int64_t images_in_batch,
                   double total)
    {
        {
            std::lock_guard lock(mutex);
            loss_sum += total;
            images += images_in_batch;
        }
        trace.record(Event{.data = ev::MinibatchLoss{.epoch = epoch,
                                                     .batch = static_cast<int>(batch),
                                                     .batches_in_epoch = static_cast<int>(batches),
                                                     .images = images_in_batch,
                                                     .loss = total / static_cast<double>(images_in_batch)}});
    }
};

} // namespace

// Everything one run holds, set up by set_up() and used by the steps after it.
struct Trainer::Run {
    std::vector<std::unique_ptr<Device>> devices; // outlive everything below
    std::unique_ptr<Engine> engine;
    std::vector<DeviceModel> models;
    int n = 0;                       // this process's devices
    int first = 0;                   // the global number of device 0 (ranks: rank x n)
    int global = 0;                  // devices of every rank
    std::unique_ptr<LinkClock> link; // null for no link model
    int64_t train_count = 0;
    int64_t test_count = 0;
    std::vector<Var> readback_vars;       // per device: written by its loss read-backs
    std::vector<DeviceDataset> on_device; // per device, when the training set is there
    std::unique_ptr<Batcher> batcher;
    int64_t global_batch = 0;             // minibatches since the run began
    const ParamSpec* snap_grad = nullptr; // the gradient snapshotted around the allreduce
    // ranks: the host buffer of the second stage (the gradient and the loss), one for the run;
    // the ranks' allreduce ops write every gradient, so they run one after another
    std::shared_ptr<std::vector<float>> rank_buffer;
};

// One epoch's state while its minibatches are pushed.
struct Trainer::EpochState {
    int epoch = 0;
    int64_t batches = 0;
    std::shared_ptr<EpochMeter> meter;
    std::deque<Var> inflight; // bounded mode: one marker per minibatch in flight
};

Trainer::Trainer(TrainConfig config, std::shared_ptr<const FashionMnist> data, EventStream& trace)
    : m_cfg(std::move(config)), m_data(std::move(data)), m_trace(trace)
{
    m_step_mode = m_cfg.step_mode;
}

Trainer::~Trainer() = default;

void Trainer::cancel()
{
    std::lock_guard lock(m_mutex);
    m_cancel = true;
    if (m_engine)
        m_engine->cancel();
    m_cv.notify_all();
}

void Trainer::pause()
{
    m_paused = true;
}

void Trainer::resume()
{
    std::lock_guard lock(m_mutex);
    m_paused = false;
    m_cv.notify_all();
}

void Trainer::step()
{
    std::lock_guard lock(m_mutex);
    ++m_step_tokens;
    m_cv.notify_all();
}

void Trainer::set_step_mode(bool on)
{
    std::lock_guard lock(m_mutex);
    m_step_mode = on;
    m_cv.notify_all();
}

Trainer::FrontEnd Trainer::front_end() const
{
    std::lock_guard lock(m_mutex);
    return m_front;
}

bool Trainer::wait_front_end(const std::function<bool(const FrontEnd&)>& pred, std::chrono::milliseconds timeout) const
{
    std::unique_lock lock(m_mutex);
    return m_state_cv.wait_for(lock, timeout, [&] { return pred(m_front); });
}

// Waits on m_cv until go(); while it waits, front_end() says why. m_mutex held.
bool Trainer::block_until(std::unique_lock<std::mutex>& lock, Blocked why, const std::function<bool()>& go)
{
    if (go())
        return true;
    m_front.blocked = why;
    ++m_front.waits;
    m_state_cv.notify_all();
    m_cv.wait(lock, go);
    m_front.blocked = Blocked::No;
    return true;
}

void Trainer::set_blocked(Blocked why)
{
    std::lock_guard lock(m_mutex);
    m_front.blocked = why;
    if (why != Blocked::No)
        ++m_front.waits;
    m_state_cv.notify_all();
}

void Trainer::set_finished()
{
    std::lock_guard lock(m_mutex);
    m_front.blocked = Blocked::No;
    m_front.finished = true;
    m_state_cv.notify_all();
}

bool Trainer::wait_at_boundary()
{
    std::unique_lock lock(m_mutex);
    const auto t0 = Clock::now();
    block_until(lock, Blocked::Paused, [&] { return m_cancel || !m_paused || m_step_tokens > 0; });
    m_waited_s += seconds_since(t0);
    if (m_cancel)
        return false;
    if (m_paused && m_step_tokens > 0)
        --m_step_tokens;
    return true;
}

bool Trainer::wait_allreduce_gate()
{
    std::unique_lock lock(m_mutex);
    block_until(lock, Blocked::WaitingForStep, [&] { return m_cancel || !m_step_mode || m_step_tokens > 0; });
    if (m_cancel)
        return false;
    if (m_step_mode && m_step_tokens > 0)
        --m_step_tokens;
    return true;
}

RunResult Trainer::run()
{
    if (const Error err = check_first(m_cfg))
        throw std::invalid_argument(english(err));
    if (!m_data)
        throw std::invalid_argument("no dataset given to the trainer");

    RunResult res;
    {
        std::string settings = m_cfg.describe();
        if (m_ranks)
            settings += ", rank " + std::to_string(m_ranks->rank()) + " of " + std::to_string(m_ranks->world()) +
                        " (" + std::to_string(m_ranks->world() * m_cfg.devices) + " devices in the job)";
        m_trace.record(Event{.data = ev::RunBegin{.settings = settings, .devices = m_cfg.devices, .world = 1, .device_ranks = {}}});
    }
    Run r;
    r.n = m_cfg.devices;
    if (!m_cfg.link.none())
        r.link = std::make_unique<LinkClock>(m_cfg.link, m_cfg.link_bytes_scale(), &m_cancel);
    try {
        DeviceKind kind = DeviceKind::CpuSim;
        if (m_cfg.backend == Backend::Cuda || (m_cfg.backend == Backend::Auto && cuda_usable()))
            kind = DeviceKind::Cuda;
        if (kind == DeviceKind::CpuSim)
            set_cpu_kernel_threads(m_cfg.threads_per_device);
        // GPU ranks: from the rank's own GPU on (nccl_rank_plan.h)
        const int first_gpu = m_ranks && m_ranks->first_gpu() >= 0 ? m_ranks->first_gpu() : 0;
        r.devices = make_devices(kind, r.n, m_cfg.memory_budget, m_cfg.threads_per_device, &m_trace, first_gpu);
        for (auto& d : r.devices)
            res.device_names.push_back(d->name());
        if (on_devices_made) {
            std::vector<Device*> devs;
            for (auto& d : r.devices)
                devs.push_back(d.get());
            on_devices_made(devs);
        }
        auto engine = make_engine(m_cfg.engine, r.n, &m_trace);
        {
            std::lock_guard lock(m_mutex);
            r.engine = std::move(engine);
            m_engine = r.engine.get();
            if (m_cancel)
                r.engine->cancel();
        }
        const int chunks = m_cfg.allreduce == AllreduceKind::Ring ? r.n : 1;
        for (auto& d : r.devices)
            r.models.push_back(make_device_model(*r.engine, *d, chunks));
        run_epochs(r, res);
    } catch (const Cancelled&) {
        res.status = RunStatus::Cancelled;
        res.error = Error(ErrorCode::Stopped);
    } catch (const OutOfMemory& e) {
        res.status = RunStatus::Failed;
        res.out_of_memory = true;
        res.error = e.error();
        if (dynamic_cast<const DatasetOutOfMemory*>(&e))
            res.error.code = ErrorCode::DatasetOutOfMemory;
    } catch (const NonFiniteLoss& e) {
        res.status = RunStatus::Failed;
        res.diverged = true;
        res.error = e.error;
    } catch (const GpulabError& e) {
        res.status = RunStatus::Failed;
        res.error = e.error;
    } catch (const std::exception& e) {
        res.status = RunStatus::Failed;
        res.error = other_error(e.what());
    }
    if (res.error)
        res.message = english(res.error);
    if (m_ranks) {
        if (res.status == RunStatus::Failed && m_cancel) { // stopped while another rank stopped
            res.status = RunStatus::Cancelled;
            res.error = Error(ErrorCode::Stopped);
            res.message = english(res.error);
        }
        // The others stop too, and name this rank.
        if (res.status == RunStatus::Cancelled)
            m_ranks->report_failure("stopped by the user");
        else if (res.status == RunStatus::Failed && res.error.code != ErrorCode::RankLost)
            m_ranks->report_failure(res.message);
    }
    // Teardown: the front end's handles, then the engine (drains: every closure and its
    // buffers are released), then we can read what each device still holds.
    r.models.clear();
    r.on_device.clear();
    {
        std::lock_guard lock(m_mutex);
        m_engine = nullptr;
    }
    r.engine.reset();
    for (auto& d : r.devices) {
        res.peak_bytes.push_back(d->peak_bytes_in_use());
        res.bytes_in_use_after.push_back(d->bytes_in_use());
    }
    if (res.status == RunStatus::Failed) {
        m_trace.record(Event{.data = ev::Error{.message = res.message, .error = res.error}});
    }
    m_trace.record(
        Event{.data = ev::RunEnd{.status = run_status_name(res.status), .message = res.message, .error = res.error}});
    set_finished();
    return res;
}

// ---- the run's named steps ----

// Set up: the same initial parameters on every device (get_params), the initial snapshot,
// the loss read-back bookkeeping, and the training set on the devices when asked.
void Trainer::set_up(Run& r, RunResult& res)
{
    Engine& eng = *r.engine;
    const TrainConfig& c = m_cfg;
    const Dataset& train = m_data->train;
    r.train_count = c.train_subset > 0 ? std::min(c.train_subset, train.count) : train.count;
    r.test_count = c.test_subset > 0 ? std::min(c.test_subset, m_data->test.count) : m_data->test.count;
    r.first = m_ranks ? m_ranks->rank() * r.n : 0;
    r.global = m_ranks ? m_ranks->world() * r.n : r.n;
    if (r.train_count < r.global)
        throw std::invalid_argument("the training set has fewer images than devices");

    {
        auto init = std::make_shared<std::vector<float>>(lenet_init(c.seed));
        if (m_ranks) // rank 0's parameters on every rank
            m_ranks->broadcast_from_rank0(init->data(), init->size());
        for (auto& m : r.models) {
            OpDesc op;
            op.device = m.device->index();
            op.name = "init_params";
            op.writes = {m.params.var};
            op.fn = [init, W = m.params] { W.device().upload(W.f(), init->data(), W.bytes()); };
            eng.push(std::move(op));
        }
    }
    r.snap_grad = &lenet_param(c.snapshot_grad);
    if (c.snapshot_interval > 0)
        push_param_snapshots(r, 0, -1);

    // Losses come back without making a device wait (Device::download_then): on a GPU the
    // worker goes on queueing the next minibatch while the copy lands. Every loss read-back
    // of device d writes readback_vars[d]; a "readbacks" op that writes it too runs after
    // them and waits until each has landed and been counted: after every minibatch in sync
    // mode (the front end waits for the devices), before a pause, and at the end of an epoch.
    for (int d = 0; d < r.n; ++d)
        r.readback_vars.push_back(eng.new_var());

    // The training set on every device, or a copy from the host per minibatch.
    const int64_t train_bytes = r.train_count * (kImagePixels + 1) * 4;
    res.data_on_device = c.data == DataPlacement::Device ||
                         (c.data == DataPlacement::Auto && r.models.front().device->kind() == DeviceKind::Cuda &&
                          train_bytes * 4 <= c.memory_budget);
    if (res.data_on_device) {
        try {
            for (auto& m : r.models)
                r.on_device.push_back(push_upload_dataset(eng, *m.device, train, r.train_count));
        } catch (const OutOfMemory& e) {
            throw DatasetOutOfMemory(e);
        }
        m_trace.record(Event{.data = ev::Log{.text = "training data on each device (" + format_bytes(train_bytes) +
                                                     "): a minibatch is gathered there, only its indices are copied"}});
    }
    r.batcher = std::make_unique<Batcher>(r.train_count, c.batch_size, c.seed);
}

void Trainer::push_finish_readbacks(Run& r)
{
    for (auto& m : r.models) {
        OpDesc op;
        op.device = m.device->index();
        op.name = "readbacks";
        op.trace = m.device->kind() == DeviceKind::Cuda; // there it is the wait for the GPU
        op.writes = {r.readback_vars[static_cast<size_t>(op.device)]};
        op.fn = [dev = m.device] { dev->finish_readbacks(); };
        r.engine->push(std::move(op));
    }
}

// Snapshots: host copies of every device's parameters (epoch 0, batch -1: the initial
// values), and of one gradient around the allreduce.
void Trainer::push_param_snapshots(Run& r, int epoch, int batch)
{
    EventStream* trace = &m_trace;
    for (auto& m : r.models) {
        const int d = m.device->index();
        push_readback(*r.engine, d, "snapshot_params", m.params, {m.params.var},
                      [=](std::vector<float>& v) {
                          Snapshot s;
                          s.what = Snapshot::What::Params;
                          s.epoch = epoch;
                          s.batch = batch;
                          s.device = d;
                          s.tensor = "all";
                          for (const auto& p : lenet_params()) {
                              s.names.push_back(p.name);
                              s.values.emplace_back(v.begin() + p.offset, v.begin() + p.offset + p.count);
                          }
                          trace->record_snapshot(std::move(s));
                      });
    }
}

void Trainer::push_grad_snapshots(Run& r, Snapshot::What what, int epoch, int batch)
{
    EventStream* trace = &m_trace;
    const ParamSpec& grad = *r.snap_grad;
    for (auto& m : r.models) {
        const int d = m.device->index();
        push_readback(
            *r.engine, d, "snapshot_grad", m.grads, m.grad_vars(),
            [=, name = grad.name](std::vector<float>& v) {
                Snapshot s;
                s.what = what;
                s.epoch = epoch;
                s.batch = batch;
                s.device = d;
                s.tensor = name;
                s.values.push_back(std::move(v));
                trace->record_snapshot(std::move(s));
            },
            grad.offset, grad.count);
    }
}

// One minibatch: wait at the boundary (pause, step, in-flight limit), then push its loads,
// forward and backward, loss read-backs, the allreduce, the SGD step and its snapshots.
void Trainer::push_minibatch(Run& r, RunResult& res, EpochState& ep, int64_t b)
{
    Engine& eng = *r.engine;
    const TrainConfig& c = m_cfg;
    const int epoch = ep.epoch;
    const int64_t nb = ep.batches;
    if (m_paused && c.mode != ExecMode::Sync)
        push_finish_readbacks(r); // the last losses show while paused
    if (!wait_at_boundary())
        throw Cancelled();
    if (c.mode == ExecMode::Bounded) {
        while (static_cast<int>(ep.inflight.size()) >= c.inflight) {
            set_blocked(Blocked::InFlightLimit);
            eng.wait_to_read(ep.inflight.front());
            set_blocked(Blocked::No);
            ep.inflight.pop_front();
        }
    }
    const std::vector<int64_t> idx = r.batcher->batch(b);
    const int64_t bs = static_cast<int64_t>(idx.size());
    const auto shards = split_even(bs, r.global); // every device of every rank
    auto meter = std::make_shared<Meter>(r.n);
    auto em = ep.meter;
    EventStream* trace = &m_trace;
    const bool ranks = m_ranks != nullptr; // then the ranks' sum is the minibatch's loss
    std::vector<Tensor> losses;
    for (int d = 0; d < r.n; ++d) {
        DeviceModel& m = r.models[static_cast<size_t>(d)];
        const auto [off, cnt] = shards[static_cast<size_t>(r.first + d)];
        Tensor loss;
        if (cnt > 0) {
            auto [x, y] = res.data_on_device
                              ? push_gather(eng, *m.device, r.on_device[static_cast<size_t>(d)], idx.data() + off, cnt)
                              : push_load(eng, *m.device, m_data->train, idx.data() + off, cnt);
            loss = push_forward_backward(eng, m, x, y, static_cast<int>(cnt));
        } else {
            push_zero_grads(eng, m);
            loss = make_tensor(eng, *m.device, {1});
            OpDesc z;
            z.device = d;
            z.name = "zero_loss";
            z.writes = {loss.var};
            z.fn = [loss] { kernels_for(loss.device()).fill(1, 0.0f, loss.f()); };
            eng.push(std::move(z));
        }
        auto inject = inject_in_loss_op;
        push_loss_readback(eng, d, loss, r.readback_vars[static_cast<size_t>(d)],
                           [=, lr = c.lr, cnt = cnt, first = r.first](std::vector<float>& v) { // (clang 14 cannot capture a binding)
                               if (inject)
                                   inject(d, epoch, b);
                               const double l = v[0];
                               const double mean = cnt > 0 ? l / static_cast<double>(cnt) : 0.0;
                               if (!std::isfinite(l) || mean > kDivergedLoss) {
                                   auto text = [](double v) {
                                       std::ostringstream o;
                                       o << v;
                                       return o.str();
                                   };
                                   Error err(std::isfinite(l) ? ErrorCode::LossHuge
                                             : std::isnan(l)  ? ErrorCode::LossNaN
                                                              : ErrorCode::LossInfinite,
                                             {{"epoch", std::to_string(epoch)},
                                              {"batch", std::to_string(b + 1)},
                                              {"device", std::to_string(first + d)}, // the job's number
                                              {"lr", text(lr)}});
                                   if (std::isfinite(l))
                                       err.facts.push_back({"loss", text(mean)});
                                   throw NonFiniteLoss(std::move(err));
                               }
                               double total = 0;
                               if (meter->add(l, &total) && !ranks)
                                   em->minibatch(*trace, epoch, static_cast<int64_t>(b), static_cast<int64_t>(nb),
                                                 static_cast<int64_t>(bs), total);
                           });
        losses.push_back(loss);
    }
    // every snapshot_interval minibatches, and the run's last one: every view then
    // ends on the same, final minibatch
    const bool last = epoch == c.epochs && b == nb - 1;
    const bool snap = c.snapshot_interval > 0 && (r.global_batch % c.snapshot_interval == 0 || last);
    if (snap)
        push_grad_snapshots(r, Snapshot::What::GradBefore, epoch, static_cast<int>(b));

    // allreduce: sum the gradients, every device gets the sum
    std::vector<std::vector<Tensor>> bufs;
    for (auto& m : r.models)
        bufs.push_back(m.grad_chunks);
    AllreduceContext ctx;
    ctx.engine = &eng;
    ctx.trace = &m_trace;
    ctx.epoch = epoch;
    ctx.batch = static_cast<int>(b);
    ctx.link = r.link.get();
    ctx.before_step = [this, &eng](const AllreduceStepInfo&) {
        if (!m_step_mode)
            return wait_allreduce_gate();
        const auto w0 = Clock::now();
        eng.wait_all(); // show the previous step landed before waiting
        const bool go = wait_allreduce_gate();
        m_waited_s += seconds_since(w0);
        return go;
    };
    if (!push_allreduce(c.allreduce, ctx, bufs))
        throw Cancelled();
    if (m_ranks)
        push_rank_allreduce(r, ep, losses, b, bs);
    if (snap)
        push_grad_snapshots(r, Snapshot::What::GradAfter, epoch, static_cast<int>(b));

    for (auto& m : r.models)
        push_sgd(eng, m, static_cast<float>(c.lr), bs);

    if (snap)
        push_param_snapshots(r, epoch, static_cast<int>(b));

    if (c.mode == ExecMode::Sync) {
        push_finish_readbacks(r);
        eng.wait_all();
    } else if (c.mode == ExecMode::Bounded) {
        // Marker: done once every device's SGD of this minibatch is done.
        OpDesc mk;
        mk.device = 0;
        mk.name = "minibatch_done";
        mk.trace = false;
        for (auto& m : r.models)
            mk.reads.push_back(m.params.var);
        Var done = eng.new_var();
        mk.writes = {done};
        mk.fn = [] {};
        eng.push(std::move(mk));
        ep.inflight.push_back(done);
    }
    if (on_minibatch_pushed)
        on_minibatch_pushed(epoch, b);
}

// Evaluate: evaluate_accuracy on the test set, split over the devices. Returns the share
// of test images classified right.
double Trainer::evaluate(Run& r)
{
    Engine& eng = *r.engine;
    const TrainConfig& c = m_cfg;
    const Dataset& test = m_data->test;
    auto correct = std::make_shared<Total>();
    for (int64_t start = 0; start < r.test_count; start += c.batch_size) {
        if (m_cancel)
            throw Cancelled();
        const int64_t bs = std::min<int64_t>(c.batch_size, r.test_count - start);
        std::vector<int64_t> idx(static_cast<size_t>(bs));
        for (int64_t i = 0; i < bs; ++i)
            idx[static_cast<size_t>(i)] = start + i;
        const auto shards = split_even(bs, r.global);
        for (int d = 0; d < r.n; ++d) {
            const auto [off, cnt] = shards[static_cast<size_t>(r.first + d)];
            if (cnt == 0)
                continue;
            DeviceModel& m = r.models[static_cast<size_t>(d)];
            auto [x, y] = push_load(eng, *m.device, test, idx.data() + off, cnt);
            Tensor k = push_evaluate(eng, m, x, y, static_cast<int>(cnt));
            push_readback(eng, d, "acc_readback", k, {k.var},
                          [correct](std::vector<float>& v) { correct->add(v[0]); });
        }
        eng.wait_all(); // evaluation is bounded to one batch in flight
    }
    if (m_ranks) { // every rank's count
        float total = static_cast<float>(correct->total);
        m_ranks->allreduce_sum(&total, 1);
        correct->total = total;
    }
    return r.test_count > 0 ? correct->total / static_cast<double>(r.test_count) : 0;
}

// The second stage of a job of ranks: after the devices' own allreduce every device of this
// rank holds the rank's sum; one op on device 0 takes it to the host with the rank's loss,
// sums both over every rank (Gloo), and puts the job's sum back on every device of the rank.
// GPU ranks sum device 0's gradient where it is (NCCL) and copy it to the rank's other devices.
// Rank 0 then records the minibatch's loss as one process would.
void Trainer::push_rank_allreduce(Run& r, EpochState& ep, const std::vector<Tensor>& losses, int64_t b, int64_t bs)
{
    OpDesc op;
    op.device = r.models.front().device->index();
    op.name = "rank_allreduce";
    for (auto& m : r.models)
        for (const Var& v : m.grad_vars())
            op.writes.push_back(v);
    for (const Tensor& l : losses)
        op.reads.push_back(l.var);
    std::vector<Tensor> grads;
    for (auto& m : r.models)
        grads.push_back(m.grads);
    if (!r.rank_buffer)
        r.rank_buffer = std::make_shared<std::vector<float>>(static_cast<size_t>(grads.front().numel()) + 1);
    op.fn = [ranks = m_ranks, grads, losses, em = ep.meter, trace = &m_trace, epoch = ep.epoch, b, bs,
             nb = ep.batches, buffer = r.rank_buffer] {
        const Tensor& g0 = grads.front();
        const int64_t count = g0.numel();
        double loss = 0;
        for (const Tensor& l : losses) {
            float v = 0;
            l.device().download(&v, l.f(), 4);
            loss += v;
        }
        // the step across ranks, as this rank saw it: from its device 0 (a local number, as
        // every event of a rank; rank 0 numbers them globally) to every rank
        const double t0 = trace->now_us();
        float summed = static_cast<float>(loss);
        const bool on_gpu = ranks->device_allreduce_sum(g0.device(), g0.f(), static_cast<size_t>(count), &summed);
        if (!on_gpu) {
            std::vector<float>& host = *buffer;
            g0.device().download(host.data(), g0.f(), count * 4);
            host.back() = summed;
            ranks->allreduce_sum(host.data(), host.size());
            summed = host.back();
        }
        trace->record(Event{.t_us = t0,
                            .data = ev::AllreduceStep{.t_end_us = trace->now_us(),
                                                      .epoch = epoch,
                                                      .batch = static_cast<int>(b),
                                                      .step = 0,
                                                      .steps = 1,
                                                      .src = 0,
                                                      .dst = -1,
                                                      .bytes = (count + 1) * static_cast<int64_t>(sizeof(float)),
                                                      .phase = on_gpu ? "nccl" : "gloo",
                                                      .stage = AllreduceStage::AcrossRanks}});
        if (on_gpu) {
            for (size_t i = 1; i < grads.size(); ++i)
                grads[i].device().copy_from(grads[i].f(), g0.device(), g0.f(), count * 4);
        } else {
            for (const Tensor& g : grads)
                g.device().upload(g.f(), buffer->data(), count * 4);
        }
        em->minibatch(*trace, epoch, static_cast<int64_t>(b), static_cast<int64_t>(nb), static_cast<int64_t>(bs),
                      static_cast<double>(summed));
    };
    r.engine->push(std::move(op));
}

// The book's train loop, in its named steps: set up; per epoch, one minibatch after
// another, then evaluate; at the end, every device's final parameters.
void Trainer::run_epochs(Run& r, RunResult& res)
{
    Engine& eng = *r.engine;
    const TrainConfig& c = m_cfg;
    set_up(r, res);
    for (int epoch = 1; epoch <= c.epochs; ++epoch) {
        r.batcher->start_epoch(epoch);
        EpochState ep;
        ep.epoch = epoch;
        ep.batches = r.batcher->num_batches();
        ep.meter = std::make_shared<EpochMeter>();
        const auto t0 = Clock::now();
        const double waited0 = m_waited_s;
        for (int64_t b = 0; b < ep.batches; ++b, ++r.global_batch)
            push_minibatch(r, res, ep, b);
        if (c.mode != ExecMode::Sync)
            push_finish_readbacks(r);
        eng.wait_all();
        EpochStats st;
        st.epoch = epoch;
        st.seconds = std::max(0.0, seconds_since(t0) - (m_waited_s - waited0));
        {
            std::lock_guard lock(ep.meter->mutex);
            st.images = ep.meter->images;
            st.train_loss = ep.meter->images > 0 ? ep.meter->loss_sum / static_cast<double>(ep.meter->images) : 0;
        }
        st.test_acc = evaluate(r);
        res.epochs.push_back(st);
        m_trace.record(Event{.data = ev::EpochEnd{.epoch = epoch,
                                                  .train_loss = st.train_loss,
                                                  .test_accuracy = st.test_acc,
                                                  .seconds = st.seconds,
                                                  .images = st.images}});
    }

    // Final parameters of every device, for checks (all copies must agree).
    res.final_params.assign(static_cast<size_t>(r.n), {});
    for (auto& m : r.models) {
        const int d = m.device->index();
        auto* slot = &res.final_params[static_cast<size_t>(d)];
        push_readback(eng, d, "final_params", m.params, {m.params.var},
                      [slot](std::vector<float>& v) { *slot = std::move(v); });
    }
    eng.wait_all();
}

} // namespace gpulab
