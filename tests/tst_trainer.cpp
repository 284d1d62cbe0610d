// Trainer tests: the book's maths (1 device == 2 devices), identical copies after every
// synchronous step, strategies agree, memory and failure paths, steering.
#include "support/sync_peak_prediction.h"

#include "data/batcher.h"
#include "data/fashion_mnist.h"
#include "data/idx.h"
#include "data/synthetic.h"
#include "device/cpu_device.h"
#include "kernels/kernels.h"
#include "model/lenet.h"
#include "trace/event_stream.h"
#include "train/settings.h"
#include "train/trainer.h"

#include <QtTest>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <map>
#include <random>
#include <regex>
#include <thread>

using namespace gpulab;

namespace {

std::shared_ptr<const FashionMnist> synthetic()
{
    static auto data = std::make_shared<const FashionMnist>(make_synthetic_dataset(4096, 512, 3));
    return data;
}

TrainConfig small_config(int devices)
{
    TrainConfig c;
    c.devices = devices;
    c.batch_size = 64;
    c.lr = 0.5;
    c.epochs = 1;
    c.train_subset = 640;
    c.test_subset = 256;
    c.seed = 5;
    c.engine = EngineKind::Threaded;
    return c;
}

struct Recorded {
    RunResult result;
    std::vector<double> losses;
    std::vector<Event> events;
};

Recorded run(const TrainConfig& c, std::shared_ptr<const FashionMnist> data = synthetic(),
             std::function<void(Trainer&)> setup = {})
{
    EventStream trace;
    Trainer t(c, std::move(data), trace);
    if (setup)
        setup(t);
    Recorded r;
    r.result = t.run();
    r.events = trace.all();
    for (const auto& e : r.events)
        if (const auto* loss = e.get<ev::MinibatchLoss>())
            r.losses.push_back(loss->loss);
    return r;
}

// Waits on the front end's state end only when it is reached; the timeout only bounds a
// failure (a front end that never blocks, or never ends).
constexpr std::chrono::milliseconds kStateTimeout{120000};

// The front end blocked for the (waits+1)-th time, or the run ended.
std::function<bool(const Trainer::FrontEnd&)> blocked_or_finished(int64_t waits)
{
    return [waits](const Trainer::FrontEnd& f) {
        return f.finished || (f.blocked != Trainer::Blocked::No && f.waits > waits);
    };
}

// Runs t.run() on its own thread; stops and joins it when the test leaves early (a failed
// check), so a failure is reported instead of std::terminate on a joinable thread.
struct FrontThread {
    Trainer& trainer;
    RunResult result;
    std::thread thread;
    explicit FrontThread(Trainer& t) : trainer(t), thread([this] { result = trainer.run(); }) {}
    ~FrontThread()
    {
        if (thread.joinable()) {
            trainer.cancel();
            thread.join();
        }
    }
    RunResult join()
    {
        thread.join();
        return result;
    }
};

bool all_zero(const std::vector<int64_t>& v)
{
    for (auto x : v)
        if (x != 0)
            return false;
    return !v.empty();
}

double max_rel_diff(const std::vector<float>& a, const std::vector<float>& b)
{
    double worst = 0, scale = 0;
    for (size_t i = 0; i < a.size(); ++i)
        scale = std::max(scale, double(std::fabs(b[i])));
    for (size_t i = 0; i < a.size(); ++i)
        worst = std::max(worst, std::fabs(double(a[i]) - double(b[i])) / scale);
    return worst;
}

// max over elements of |a-b| - (tol + eps*|ref|): <= 0 when every element is within.
double worst_excess(const std::vector<float>& a, const std::vector<float>& ref, double tol,
                    double eps)
{
    double worst = -1e30;
    for (size_t i = 0; i < a.size(); ++i)
        worst = std::max(worst, std::fabs(double(a[i]) - double(ref[i])) -
                                    (tol + eps * std::fabs(double(ref[i]))));
    return worst;
}

std::shared_ptr<const FashionMnist> real_data()
{
    static std::shared_ptr<const FashionMnist> data = [] {
        try {
            return std::make_shared<const FashionMnist>(load_fashion_mnist(default_fashion_mnist_dir()));
        } catch (const DataError&) {
            return std::shared_ptr<const FashionMnist>();
        }
    }();
    return data;
}

void defer_readbacks(const std::vector<Device*>& devices)
{
    for (Device* d : devices)
        dynamic_cast<CpuDevice&>(*d).set_deferred_readbacks(true);
}

} // namespace

class TestTrainer : public QObject {
    Q_OBJECT

private slots:
    void recordedLossesOnRealData()
    {
        auto data = real_data();
        if (!data)
            QSKIP("Fashion-MNIST not installed (apt-get install dataset-fashion-mnist)");
        TrainConfig c;
        c.devices = 1;
        c.batch_size = 256;
        c.lr = 0.2;
        c.epochs = 1;
        c.train_subset = 256 * 6;
        c.test_subset = 512;
        c.seed = 1;
        Recorded r = run(c, data);
        QCOMPARE(r.result.status, RunStatus::Completed);
        // Recorded from this implementation on 2026-11-27 (CPU reference kernels); the
        // first loss is log(10) = 2.3026, as in the book with weights normal(0, 0.01).
        QString got;
        for (double l : r.losses)
            got += QString::number(l, 'f', 6) + " ";
        qInfo("losses: %s", qPrintable(got));
        const std::vector<double> expect = {2.302582, 2.302931, 2.302641, 2.302715, 2.302939, 2.302708};
        QCOMPARE(r.losses.size(), expect.size());
        for (size_t i = 0; i < expect.size(); ++i)
            QVERIFY2(std::fabs(r.losses[i] - expect[i]) < 1e-5,
                     qPrintable(QString("minibatch %1: %2 vs recorded %3")
                                    .arg(i).arg(r.losses[i], 0, 'f', 6).arg(expect[i], 0, 'f', 6)));
        QVERIFY(std::fabs(r.losses[0] - std::log(10.0)) < 1e-3);
    }

    void learnsSyntheticData()
    {
        TrainConfig c = small_config(2);
        c.epochs = 3;
        c.train_subset = 0;
        c.batch_size = 32;
        // lr 0.2, not 0.5: at 0.5 the run is chaotic once the loss starts to fall, and the
        // AVX2 kernels' rounding sent it back to the plateau (2.206, 2.166, 2.307) where the
        // AVX-512 ones learned. At 0.2 seeds 5-7 all end below 0.01 with either instruction set.
        c.lr = 0.2;
        Recorded r = run(c);
        QCOMPARE(r.result.status, RunStatus::Completed);
        QCOMPARE(int(r.result.epochs.size()), 3);
        qInfo("synthetic: epoch losses %.3f %.3f %.3f, acc %.3f", r.result.epochs[0].train_loss,
              r.result.epochs[1].train_loss, r.result.epochs[2].train_loss,
              r.result.epochs[2].test_acc);
        QVERIFY(r.result.epochs[2].train_loss < 0.5 * r.result.epochs[0].train_loss);
        QVERIFY(r.result.epochs[2].test_acc > 0.9);
    }

    void twoDevicesMatchOneDevice_data()
    {
        QTest::addColumn<int>("devices");
        QTest::addColumn<int>("batch");
        QTest::newRow("2 devices") << 2 << 64;
        QTest::newRow("3 devices, uneven 7") << 3 << 7;
        QTest::newRow("4 devices, uneven 50") << 4 << 50;
    }
    void twoDevicesMatchOneDevice()
    {
        QFETCH(int, devices);
        QFETCH(int, batch);
        TrainConfig c1 = small_config(1);
        c1.batch_size = batch;
        c1.train_subset = batch * 8;
        TrainConfig cn = c1;
        cn.devices = devices;
        Recorded a = run(c1), b = run(cn);
        QCOMPARE(b.result.status, RunStatus::Completed);
        QCOMPARE(a.losses.size(), b.losses.size());
        double worst = 0;
        for (size_t i = 0; i < a.losses.size(); ++i)
            worst = std::max(worst, std::fabs(a.losses[i] - b.losses[i]) / std::fabs(a.losses[i]));
        // Summing a shard at a time changes the rounding of the gradient sums; where a
        // pre-activation sits at ReLU's kink that rounding can flip one mask bit (seen:
        // conv2's bias b2[18] at batch 50, 3e-6 apart). So: |a-b| <= 1e-5 + 1e-4 |ref|.
        const double pd = worst_excess(b.result.final_params[0], a.result.final_params[0], 1e-5, 1e-4);
        qInfo("worst relative loss difference %.3g; parameters: worst |a-b| - (tol + eps|ref|) = %.3g",
              worst, pd);
        QVERIFY(worst < 1e-5);
        QVERIFY(pd <= 0);
        QVERIFY(std::fabs(a.result.epochs[0].test_acc - b.result.epochs[0].test_acc) <= 2.0 / 256);
    }

    void copiesAreBitIdenticalAfterEverySyncStep_data()
    {
        QTest::addColumn<QString>("strategy");
        QTest::newRow("naive") << "naive";
        QTest::newRow("ring") << "ring";
    }
    void copiesAreBitIdenticalAfterEverySyncStep()
    {
        QFETCH(QString, strategy);
        TrainConfig c = small_config(3);
        c.allreduce = parse_allreduce(strategy.toStdString());
        c.snapshot_interval = 1;
        EventStream trace;
        Trainer t(c, synthetic(), trace);
        RunResult res = t.run();
        QCOMPARE(res.status, RunStatus::Completed);
        std::map<int, std::vector<std::shared_ptr<const Snapshot>>> per_batch;
        for (size_t i = 0; i < trace.snapshot_count(); ++i) {
            auto s = trace.snapshot(i);
            if (s->what == Snapshot::What::Params)
                per_batch[s->batch].push_back(s);
        }
        QCOMPARE(int(per_batch.size()), 11); // the initial copies (batch -1) and 10 steps
        for (auto& [batch, snaps] : per_batch) {
            QCOMPARE(int(snaps.size()), 3);
            for (size_t d = 1; d < snaps.size(); ++d)
                for (size_t p = 0; p < snaps[0]->values.size(); ++p)
                    QVERIFY2(std::memcmp(snaps[d]->values[p].data(), snaps[0]->values[p].data(),
                                         snaps[0]->values[p].size() * 4) == 0,
                             qPrintable(QString("batch %1: device %2 differs in %3")
                                            .arg(batch).arg(d)
                                            .arg(QString::fromStdString(snaps[0]->names[p]))));
        }
        // Gradient snapshots around the allreduce: after = sum of befores, on every device.
        std::map<int, std::vector<std::vector<float>>> before, after;
        for (size_t i = 0; i < trace.snapshot_count(); ++i) {
            auto s = trace.snapshot(i);
            if (s->what == Snapshot::What::GradBefore)
                before[s->batch].push_back(s->values[0]);
            if (s->what == Snapshot::What::GradAfter)
                after[s->batch].push_back(s->values[0]);
        }
        QCOMPARE(int(before.size()), 10);
        QCOMPARE(int(after.size()), 10);
        for (auto& [batch, parts] : before) {
            QCOMPARE(int(parts.size()), 3);
            QCOMPARE(int(after[batch].size()), 3); // every device's copy, after the allreduce
            const auto sum = reference_allreduce(parts);
            for (const auto& got : after[batch])
                QVERIFY(max_rel_diff(got, sum) < 1e-5);
        }
    }

    void strategiesAgree()
    {
        TrainConfig c = small_config(4);
        c.allreduce = AllreduceKind::Naive;
        Recorded naive = run(c);
        c.allreduce = AllreduceKind::Ring;
        Recorded ring = run(c);
        QCOMPARE(ring.result.status, RunStatus::Completed);
        const double d = max_rel_diff(ring.result.final_params[0], naive.result.final_params[0]);
        qInfo("naive vs ring: worst parameter difference %.3g relative", d);
        QVERIFY(d < 1e-5);
    }

    void repeatableAndEqualToSyncEngine()
    {
        TrainConfig c = small_config(3);
        c.allreduce = AllreduceKind::Ring;
        c.mode = ExecMode::Async;
        Recorded a = run(c), b = run(c);
        c.engine = EngineKind::Sync;
        Recorded s = run(c);
        QCOMPARE(a.result.final_params, b.result.final_params);
        QCOMPARE(a.result.final_params, s.result.final_params);
        QCOMPARE(a.losses, s.losses);
    }

    void eventsDescribeTheRun()
    {
        TrainConfig c = small_config(3);
        c.allreduce = AllreduceKind::Ring;
        Recorded r = run(c);
        int losses = 0, epochs = 0, steps = 0, ops = 0, pushes = 0, allocs = 0, frees = 0;
        for (const auto& e : r.events) {
            switch (e.kind()) {
            case EventKind::MinibatchLoss: ++losses; break;
            case EventKind::EpochEnd: ++epochs; break;
            case EventKind::AllreduceStep: {
                const auto& step = std::get<ev::AllreduceStep>(e.data);
                ++steps;
                QVERIFY(step.src >= 0 && step.dst == (step.src + 1) % 3);
                QVERIFY(step.bytes > 0);
                break;
            }
            case EventKind::Op: ++ops; break;
            case EventKind::Push: ++pushes; break;
            case EventKind::MemAlloc: ++allocs; break;
            case EventKind::MemFree: ++frees; break;
            default: break;
            }
        }
        QCOMPARE(losses, 10);
        QCOMPARE(epochs, 1);
        QCOMPARE(steps, 10 * 2 * (3 - 1) * 3); // 2(n-1) steps of n transfers per minibatch
        QCOMPARE(ops, pushes);
        QCOMPARE(allocs, frees);
        QCOMPARE(r.events.front().kind(), EventKind::RunBegin);
        QCOMPARE(r.events.back().kind(), EventKind::RunEnd);
    }

    // Sync mode's peak memory on each device is, exactly, the prediction from the shapes:
    // parameters + gradients + the conv workspace + one shard's activations (and their
    // gradients) + the allreduce's receive buffers.
    void syncPeakMemoryEqualsThePrediction_data()
    {
        QTest::addColumn<int>("devices");
        QTest::addColumn<int>("batch");
        QTest::addColumn<QString>("allreduce");
        QTest::newRow("1 device, 64") << 1 << 64 << "naive";
        QTest::newRow("2 devices, 64, naive") << 2 << 64 << "naive";
        QTest::newRow("3 devices, 64 (22/21/21), ring") << 3 << 64 << "ring";
        QTest::newRow("4 devices, 100, naive") << 4 << 100 << "naive";
    }
    void syncPeakMemoryEqualsThePrediction()
    {
        QFETCH(int, devices);
        QFETCH(int, batch);
        QFETCH(QString, allreduce);
        TrainConfig c = small_config(devices);
        c.batch_size = batch;
        c.train_subset = batch * 5;
        c.test_subset = batch; // evaluation holds less than training: not the peak
        c.allreduce = parse_allreduce(allreduce.toStdString());
        c.mode = ExecMode::Sync;
        Recorded r = run(c);
        QCOMPARE(r.result.status, RunStatus::Completed);
        const auto shards = split_even(batch, devices);
        for (int d = 0; d < devices; ++d) {
            CpuDevice probe(d, int64_t(1) << 30, nullptr, c.threads_per_device);
            const Prediction p = predict_sync_peak(kernels_for(probe), shards[size_t(d)].second, devices, d, c.allreduce);
            qInfo("device %d: predicted %lld bytes, measured %lld", d, static_cast<long long>(p.total()),
                  static_cast<long long>(r.result.peak_bytes[size_t(d)]));
            QCOMPARE(r.result.peak_bytes[size_t(d)], p.total());
        }
    }

    // Bounded mode keeps K minibatches in flight: no more (it waits for the oldest), and
    // no fewer (it pushes K before it waits). The devices are held inside the first
    // minibatch's loss op, so nothing completes until the front end has blocked.
    void boundedModeKeepsExactlyKInFlight_data()
    {
        QTest::addColumn<int>("k");
        QTest::newRow("1") << 1;
        QTest::newRow("2") << 2;
        QTest::newRow("3") << 3;
        QTest::newRow("5") << 5;
    }
    void boundedModeKeepsExactlyKInFlight()
    {
        QFETCH(int, k);
        TrainConfig c = small_config(2);
        c.mode = ExecMode::Bounded;
        c.inflight = k;
        EventStream trace;
        Trainer t(c, synthetic(), trace);
        std::atomic<bool> release{false};
        std::atomic<int> pushed{0};
        t.on_minibatch_pushed = [&](int, int64_t) { ++pushed; };
        t.inject_in_loss_op = [&](int, int, int64_t) {
            while (!release)
                std::this_thread::sleep_for(std::chrono::milliseconds(1));
        };
        FrontThread front(t);
        struct Release { // on a failed check: let the devices go before front's destructor joins
            std::atomic<bool>& r;
            ~Release() { r = true; }
        } release_on_exit{release};
        QVERIFY(t.wait_front_end(blocked_or_finished(0), kStateTimeout));
        QCOMPARE(t.front_end().blocked, Trainer::Blocked::InFlightLimit);
        QCOMPARE(pushed.load(), k);
        release = true;
        const RunResult res = front.join();
        QCOMPARE(res.status, RunStatus::Completed);
        QCOMPARE(pushed.load(), 10);
    }

    // The mode changes when the front end waits, never what is computed: the same losses
    // and parameters, bit for bit, on the CPU.
    void asyncBoundedAndSyncGiveTheSameRun()
    {
        TrainConfig c = small_config(3); // a run that learns: 288 steps
        c.allreduce = AllreduceKind::Ring;
        c.batch_size = 16;
        c.lr = 0.3;
        c.train_subset = 1536;
        c.epochs = 3;
        c.mode = ExecMode::Sync;
        const Recorded sync = run(c);
        c.mode = ExecMode::Async;
        const Recorded async = run(c);
        c.mode = ExecMode::Bounded;
        c.inflight = 2;
        const Recorded bounded = run(c);
        for (const Recorded* r : {&sync, &async, &bounded})
            QCOMPARE(r->result.status, RunStatus::Completed);
        QCOMPARE(sync.losses.size(), size_t(3 * 96));
        QCOMPARE(async.losses, sync.losses);
        QCOMPARE(bounded.losses, sync.losses);
        QCOMPARE(async.result.final_params, sync.result.final_params);
        QCOMPARE(bounded.result.final_params, sync.result.final_params);
        qInfo("epoch losses %.4f %.4f %.4f", sync.result.epochs[0].train_loss, sync.result.epochs[1].train_loss,
              sync.result.epochs[2].train_loss);
        QVERIFY(sync.result.epochs.back().train_loss < 0.7 * sync.result.epochs.front().train_loss); // it learns
    }

    void asyncRunHitsBudgetBoundedCompletes()
    {
        TrainConfig c = small_config(1);
        c.batch_size = 256;
        c.train_subset = 4096;
        c.memory_budget = int64_t(256) << 20;
        c.mode = ExecMode::Async;
        Recorded a = run(c);
        QCOMPARE(a.result.status, RunStatus::Failed);
        QVERIFY(a.result.out_of_memory);
        QVERIFY2(QString::fromStdString(a.result.message).contains("out of memory on cpu-sim(0)"),
                 a.result.message.c_str());
        // it says how much was asked for and how much was in use, of the budget
        QVERIFY2(std::regex_search(a.result.message,
                                   std::regex(R"(requested [0-9.]+ (B|KiB|MiB|GiB) with [0-9.]+ (B|KiB|MiB|GiB) of 256\.0 MiB in use)")),
                 a.result.message.c_str());
        QVERIFY(all_zero(a.result.bytes_in_use_after));
        QVERIFY(a.result.peak_bytes[0] <= c.memory_budget);
        bool oom_event = false;
        for (const auto& e : a.events)
            oom_event |= e.is<ev::MemOom>();
        QVERIFY(oom_event);

        c.mode = ExecMode::Bounded; // the next run in the same process works
        c.inflight = 2;
        Recorded b = run(c);
        QCOMPARE(b.result.status, RunStatus::Completed);
        QVERIFY(all_zero(b.result.bytes_in_use_after));
        qInfo("peak bytes: async %lld (failed), bounded-2 %lld",
              static_cast<long long>(a.result.peak_bytes[0]),
              static_cast<long long>(b.result.peak_bytes[0]));
    }

    void cancelAtRandomPoints()
    {
        // 100 cancels in a row: 90 at a minibatch boundary, 10 from another thread.
        std::mt19937 rng(11);
        for (int i = 0; i < 90; ++i) {
            TrainConfig c = small_config(1 + static_cast<int>(rng() % 4));
            c.mode = ExecMode(rng() % 3);
            const int at = static_cast<int>(rng() % 9);
            Recorded r = run(c, synthetic(), [at](Trainer& t) {
                t.on_minibatch_pushed = [&t, at](int, int64_t b) {
                    if (b == at)
                        t.cancel();
                };
            });
            QCOMPARE(r.result.status, RunStatus::Cancelled);
            QVERIFY(all_zero(r.result.bytes_in_use_after));
        }
        // From another thread, at arbitrary times.
        for (int i = 0; i < 10; ++i) {
            TrainConfig c = small_config(2);
            c.mode = ExecMode::Async;
            EventStream trace;
            Trainer t(c, synthetic(), trace);
            std::thread killer([&t, delay = rng() % 40] {
                std::this_thread::sleep_for(std::chrono::milliseconds(delay));
                t.cancel();
            });
            RunResult res = t.run();
            killer.join();
            QVERIFY(res.status == RunStatus::Cancelled || res.status == RunStatus::Completed);
            QVERIFY(all_zero(res.bytes_in_use_after));
        }
    }

    void pauseStepResume()
    {
        TrainConfig c = small_config(2);
        EventStream trace;
        Trainer t(c, synthetic(), trace);
        std::atomic<int> pushed{0};
        t.on_minibatch_pushed = [&](int, int64_t b) {
            pushed = static_cast<int>(b) + 1;
            if (b == 2)
                t.pause();
        };
        FrontThread front(t);
        // Wait for the front end to block (or end, which a broken pause does), not for a time.
        QVERIFY(t.wait_front_end(blocked_or_finished(0), kStateTimeout));
        QCOMPARE(t.front_end().blocked, Trainer::Blocked::Paused);
        QCOMPARE(pushed.load(), 3); // paused after the third: it blocks before the fourth
        const int64_t waits = t.front_end().waits;
        t.step();
        QVERIFY(t.wait_front_end(blocked_or_finished(waits), kStateTimeout));
        QCOMPARE(t.front_end().blocked, Trainer::Blocked::Paused);
        QCOMPARE(pushed.load(), 4); // one minibatch, then blocked again
        t.resume();
        const RunResult res = front.join();
        QCOMPARE(res.status, RunStatus::Completed);
        QCOMPARE(pushed.load(), 10);
    }

    // Losses read back the way a GPU reads them (the host copy lands later, Device::
    // download_then): every minibatch's loss still arrives, in order, with the same values.
    void deferredReadbacksLoseNoLoss_data()
    {
        QTest::addColumn<int>("mode");
        QTest::newRow("sync") << int(ExecMode::Sync);
        QTest::newRow("async") << int(ExecMode::Async);
        QTest::newRow("bounded") << int(ExecMode::Bounded);
    }
    void deferredReadbacksLoseNoLoss()
    {
        QFETCH(int, mode);
        TrainConfig c = small_config(2);
        c.mode = static_cast<ExecMode>(mode);
        c.epochs = 2;
        const Recorded at_once = run(c);
        const Recorded deferred = run(c, synthetic(), [](Trainer& t) { t.on_devices_made = defer_readbacks; });
        QCOMPARE(at_once.result.status, RunStatus::Completed);
        QCOMPARE(deferred.result.status, RunStatus::Completed);
        QCOMPARE(deferred.losses.size(), size_t(20));
        QCOMPARE(deferred.losses, at_once.losses);
        for (int e = 0; e < 2; ++e) {
            QCOMPARE(deferred.result.epochs[size_t(e)].images, int64_t(640));
            QCOMPARE(deferred.result.epochs[size_t(e)].train_loss, at_once.result.epochs[size_t(e)].train_loss);
        }
        QCOMPARE(deferred.result.final_params, at_once.result.final_params);
        QVERIFY(all_zero(deferred.result.bytes_in_use_after));
    }

    // The training set uploaded to every device once and gathered there gives the very same
    // run as copying each minibatch from the host; its bytes show in the device's memory.
    void dataOnDeviceMatchesHostCopies()
    {
        for (ExecMode mode : {ExecMode::Sync, ExecMode::Bounded}) {
            TrainConfig c = small_config(2);
            c.mode = mode;
            c.epochs = 2;
            c.data = DataPlacement::Host;
            const Recorded host = run(c);
            c.data = DataPlacement::Device;
            const Recorded dev = run(c);
            QCOMPARE(host.result.status, RunStatus::Completed);
            QCOMPARE(dev.result.status, RunStatus::Completed);
            QVERIFY(!host.result.data_on_device);
            QVERIFY(dev.result.data_on_device);
            QCOMPARE(dev.losses, host.losses);
            QCOMPARE(dev.result.final_params, host.result.final_params);
            QCOMPARE(dev.result.epochs.back().test_acc, host.result.epochs.back().test_acc);
            const int64_t dataset = 640 * (784 + 1) * 4;
            for (size_t d = 0; d < 2; ++d)
                QVERIFY2(dev.result.peak_bytes[d] >= host.result.peak_bytes[d] + dataset,
                         qPrintable(QString("peak %1 vs %2").arg(dev.result.peak_bytes[d]).arg(host.result.peak_bytes[d])));
            QVERIFY(all_zero(dev.result.bytes_in_use_after));
        }
        // A training set that does not fit says what to do about it.
        TrainConfig small = small_config(1);
        small.data = DataPlacement::Device;
        small.memory_budget = 1 << 20; // the 640 images take 2 MB
        const Recorded oom = run(small);
        QCOMPARE(oom.result.status, RunStatus::Failed);
        QVERIFY(oom.result.out_of_memory);
        QVERIFY2(QString::fromStdString(oom.result.message).contains("--data-on-device host"),
                 oom.result.message.c_str());
        QVERIFY(all_zero(oom.result.bytes_in_use_after));
        // Auto keeps simulated devices on host copies (their memory is the host's anyway).
        TrainConfig c = small_config(1);
        QCOMPARE(c.data, DataPlacement::Auto);
        QVERIFY(!run(c).result.data_on_device);
    }

    void deferredReadbacksStillCatchDivergence()
    {
        TrainConfig c = small_config(2);
        c.mode = ExecMode::Async;
        c.lr = 1000;
        Recorded r = run(c, synthetic(), [](Trainer& t) { t.on_devices_made = defer_readbacks; });
        QCOMPARE(r.result.status, RunStatus::Failed);
        QVERIFY2(r.result.diverged, r.result.message.c_str());
        QVERIFY(all_zero(r.result.bytes_in_use_after));
    }

    // Paused while running ahead: the losses of every minibatch pushed so far are shown,
    // not held back until the next read-back.
    void deferredReadbacksShowEveryLossWhenPaused()
    {
        TrainConfig c = small_config(2);
        c.mode = ExecMode::Async;
        EventStream trace;
        Trainer t(c, synthetic(), trace);
        t.on_devices_made = defer_readbacks;
        t.on_minibatch_pushed = [&](int, int64_t b) {
            if (b == 3)
                t.pause();
        };
        auto losses = [&] {
            int n = 0;
            for (const auto& e : trace.all())
                n += e.is<ev::MinibatchLoss>();
            return n;
        };
        FrontThread front(t);
        QVERIFY(t.wait_front_end(blocked_or_finished(0), kStateTimeout));
        QCOMPARE(t.front_end().blocked, Trainer::Blocked::Paused); // 4 minibatches pushed, no more
        QTRY_COMPARE_WITH_TIMEOUT(losses(), 4, 60000); // the read-backs land while it is paused
        t.resume();
        const RunResult res = front.join();
        QCOMPARE(res.status, RunStatus::Completed);
        QCOMPARE(losses(), 10);
    }

    void stepModeWaitsBeforeEachAllreduceStep()
    {
        TrainConfig c = small_config(3);
        c.train_subset = 128; // 2 minibatches
        c.step_mode = true;
        EventStream trace;
        Trainer t(c, synthetic(), trace);
        FrontThread front(t);
        auto count_steps = [&] {
            int n = 0;
            for (const auto& e : trace.all())
                n += e.is<ev::AllreduceStep>();
            return n;
        };
        // Blocked before the first step; each block comes after the previous step landed.
        QVERIFY(t.wait_front_end(blocked_or_finished(0), kStateTimeout));
        QCOMPARE(t.front_end().blocked, Trainer::Blocked::WaitingForStep);
        QCOMPARE(count_steps(), 0);
        const int64_t waits = t.front_end().waits;
        t.step();
        QVERIFY(t.wait_front_end(blocked_or_finished(waits), kStateTimeout));
        QCOMPARE(t.front_end().blocked, Trainer::Blocked::WaitingForStep);
        QCOMPARE(count_steps(), 1); // naive: one transfer per step
        t.set_step_mode(false);
        const RunResult res = front.join();
        QCOMPARE(res.status, RunStatus::Completed);
        QCOMPARE(count_steps(), 2 * 4);
    }

    void stopWhileWaitingForStep()
    {
        TrainConfig c = small_config(2);
        c.step_mode = true;
        EventStream trace;
        Trainer t(c, synthetic(), trace);
        FrontThread front(t);
        QVERIFY(t.wait_front_end(blocked_or_finished(0), kStateTimeout));
        QCOMPARE(t.front_end().blocked, Trainer::Blocked::WaitingForStep);
        t.cancel();
        // The stop ends the wait (a lost wake-up would leave the front end blocked for good).
        QVERIFY(t.wait_front_end([](const Trainer::FrontEnd& f) { return f.finished; }, kStateTimeout));
        const RunResult res = front.join();
        QCOMPARE(res.status, RunStatus::Cancelled);
        QVERIFY(all_zero(res.bytes_in_use_after));
    }

    void injectedErrorStopsRunCleanly()
    {
        TrainConfig c = small_config(3);
        c.mode = ExecMode::Async;
        Recorded r = run(c, synthetic(), [](Trainer& t) {
            t.inject_in_loss_op = [](int d, int, int64_t b) {
                if (d == 1 && b == 3)
                    throw std::runtime_error("injected device fault");
            };
        });
        QCOMPARE(r.result.status, RunStatus::Failed);
        QVERIFY(QString::fromStdString(r.result.message).contains("injected device fault"));
        QVERIFY(all_zero(r.result.bytes_in_use_after));
        // The next run in the same process works.
        Recorded ok = run(small_config(3));
        QCOMPARE(ok.result.status, RunStatus::Completed);
    }

    void hugeLearningRateIsCaught()
    {
        TrainConfig c = small_config(2);
        c.lr = 1e9;
        Recorded r = run(c);
        QCOMPARE(r.result.status, RunStatus::Failed);
        QVERIFY(r.result.diverged);
        QVERIFY2(QString::fromStdString(r.result.message).contains("lower the learning rate"),
                 r.result.message.c_str());
        QVERIFY(all_zero(r.result.bytes_in_use_after));
        // Detected within one minibatch: no loss after the first non-finite one is reported.
        for (double l : r.losses)
            QVERIFY(std::isfinite(l));
        Recorded ok = run(small_config(2));
        QCOMPARE(ok.result.status, RunStatus::Completed);
    }

    void explodingButFiniteLossIsCaught()
    {
        // lr 1000 drives the loss to ~1e10 without ever reaching Inf: still divergence.
        TrainConfig c = small_config(2);
        c.lr = 1000;
        Recorded r = run(c);
        QCOMPARE(r.result.status, RunStatus::Failed);
        QVERIFY(r.result.diverged);
        QVERIFY2(QString::fromStdString(r.result.message).contains("huge"), r.result.message.c_str());
        QVERIFY(all_zero(r.result.bytes_in_use_after));
    }

    void impossibleSettingsAreRefused_data()
    {
        QTest::addColumn<int>("devices");
        QTest::addColumn<int>("batch");
        QTest::addColumn<double>("lr");
        QTest::addColumn<QString>("needle");
        QTest::newRow("0 devices") << 0 << 256 << 0.2 << "devices must be";
        QTest::newRow("batch < devices") << 4 << 3 << 0.2 << "smaller than the number of devices";
        QTest::newRow("nan lr") << 1 << 256 << std::nan("") << "learning rate";
        QTest::newRow("inf lr") << 1 << 256 << HUGE_VAL << "learning rate";
        QTest::newRow("negative lr") << 1 << 256 << -0.1 << "learning rate";
    }
    void impossibleSettingsAreRefused()
    {
        QFETCH(int, devices);
        QFETCH(int, batch);
        QFETCH(double, lr);
        QFETCH(QString, needle);
        TrainConfig c = small_config(1);
        c.devices = devices;
        c.batch_size = batch;
        c.lr = lr;
        const QString msg = QString::fromStdString(validate(c));
        QVERIFY2(msg.contains(needle), qPrintable(msg));
        EventStream trace;
        Trainer t(c, synthetic(), trace);
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, t.run());
    }

    void eightDevicesOnTwoCoresFullEpoch()
    {
        // Under the sanitizers a full 60,000-image epoch is too slow: the same run on 2,048
        // synthetic images (8 minibatches, every device busy) keeps the threads' checks.
        const bool sanitizers = qEnvironmentVariableIsSet("GPULAB_SANITIZER_RUN");
        auto data = sanitizers ? nullptr : real_data();
        if (!data)
            data = std::make_shared<const FashionMnist>(make_synthetic_dataset(sanitizers ? 2048 : 60000, 1000, 9));
        TrainConfig c;
        c.devices = 8;
        c.batch_size = 256;
        c.lr = 0.2;
        c.epochs = 1;
        c.test_subset = 1000;
        c.mode = ExecMode::Bounded;
        c.inflight = 2;
        c.allreduce = AllreduceKind::Ring;
        Recorded r = run(c, data);
        QCOMPARE(r.result.status, RunStatus::Completed);
        QCOMPARE(int(r.result.device_names.size()), 8);
        QCOMPARE(r.result.epochs[0].images, data->train.count);
        QVERIFY(all_zero(r.result.bytes_in_use_after));
        qInfo("8 devices, one epoch of %lld images: %.1f s", static_cast<long long>(r.result.epochs[0].images),
              r.result.epochs[0].seconds);
        // and the next run in the same process works
        Recorded ok = run(small_config(2));
        QCOMPARE(ok.result.status, RunStatus::Completed);
    }

    // A link model: every allreduce transfer lasts at least latency + bytes / bandwidth (a
    // lower bound only: a slow machine only makes it longer); in naive allreduce device 0's
    // link carries every copy one after another; the maths stays the same.
    void linkModelChargesEveryTransfer_data()
    {
        QTest::addColumn<int>("strategy");
        QTest::newRow("naive") << int(AllreduceKind::Naive);
        QTest::newRow("ring") << int(AllreduceKind::Ring);
    }
    void linkModelChargesEveryTransfer()
    {
        QFETCH(int, strategy);
        TrainConfig c = small_config(3);
        c.allreduce = static_cast<AllreduceKind>(strategy);
        c.train_subset = 256; // 4 minibatches
        const Recorded plain = run(c);
        c.link = parse_link("custom:2000,0.05"); // 2 ms, 50 MB/s
        const Recorded linked = run(c);
        QCOMPARE(linked.result.status, RunStatus::Completed);
        // the link changes time, not maths
        QCOMPARE(linked.losses, plain.losses);
        QCOMPARE(linked.result.final_params, plain.result.final_params);

        std::map<int, std::pair<double, double>> span; // minibatch -> first start, last end
        std::map<int, double> model_sum;               // minibatch -> the transfers' model times
        int steps = 0;
        for (const auto& e : linked.events) {
            const auto* step = e.get<ev::AllreduceStep>();
            if (!step)
                continue;
            ++steps;
            const double model = 2000.0 + double(step->bytes) / 0.05e9 * 1e6;
            QVERIFY2(step->t_end_us - e.t_us >= model * (1 - 1e-9),
                     qPrintable(QString("transfer %1->%2 of %3 bytes lasted %4 us, the model says at least %5 us")
                                    .arg(step->src).arg(step->dst).arg(step->bytes).arg(step->t_end_us - e.t_us).arg(model)));
            const int mb = step->epoch * 100000 + step->batch;
            auto it = span.find(mb);
            if (it == span.end())
                span[mb] = {e.t_us, step->t_end_us};
            else
                it->second = {std::min(it->second.first, e.t_us), std::max(it->second.second, step->t_end_us)};
            model_sum[mb] += model;
        }
        QCOMPARE(steps, 4 * allreduce_steps(c.allreduce, 3) * (strategy == int(AllreduceKind::Ring) ? 3 : 1));
        if (c.allreduce == AllreduceKind::Naive) {
            // all 2(n-1) copies share device 0's link: the allreduce lasts at least their sum
            // (the broadcasts run on different workers, so without the sharing it would not)
            for (const auto& [mb, se] : span)
                QVERIFY2(se.second - se.first >= model_sum[mb] * (1 - 1e-9),
                         qPrintable(QString("naive allreduce took %1 us, its copies through device 0's link %2 us")
                                        .arg(se.second - se.first).arg(model_sum[mb])));
        }
    }

    void linkNoneIsTheDefaultAndChangesNothing()
    {
        TrainConfig c = small_config(2);
        QVERIFY(c.link.none());
        QCOMPARE(c.link.name, std::string("none"));
        const Recorded before = run(c);
        apply_settings_text(c, "link=none");
        QVERIFY(c.link.none());
        const Recorded after = run(c);
        QCOMPARE(after.losses, before.losses);
        QCOMPARE(after.result.final_params, before.result.final_params);
    }

    // custom:200,1 (200 us, 1 GB/s): every allreduce transfer of B bytes in the event stream
    // lasts at least 200 us + B / 1e9 s, in naive and ring allreduce. A lower bound only.
    void linkCustom200LowerBound_data()
    {
        QTest::addColumn<int>("strategy");
        QTest::newRow("naive") << int(AllreduceKind::Naive);
        QTest::newRow("ring") << int(AllreduceKind::Ring);
    }
    void linkCustom200LowerBound()
    {
        QFETCH(int, strategy);
        TrainConfig c = small_config(2);
        c.allreduce = static_cast<AllreduceKind>(strategy);
        c.train_subset = 64 * 5;
        apply_settings_text(c, "link=custom:200,1");
        const Recorded r = run(c);
        QCOMPARE(r.result.status, RunStatus::Completed);
        int transfers = 0;
        for (const auto& e : r.events) {
            const auto* step = e.get<ev::AllreduceStep>();
            if (!step)
                continue;
            ++transfers;
            const double bound_us = 200.0 + double(step->bytes) / 1e9 * 1e6;
            QVERIFY2(step->t_end_us - e.t_us >= bound_us * (1 - 1e-9),
                     qPrintable(QString("%1 bytes lasted %2 us, below 200 us + B/1 GB/s = %3 us")
                                    .arg(step->bytes).arg(step->t_end_us - e.t_us).arg(bound_us)));
        }
        QCOMPARE(transfers, 5 * allreduce_steps(c.allreduce, 2) * (strategy == int(AllreduceKind::Ring) ? 2 : 1));
    }

    // "As if the model were bigger": the link charges the scaled bytes (each transfer at least
    // alpha + B * scale / beta), the maths stays LeNet's, and the steps' ops say "modelled".
    void linkParamsScaleWhatTheLinkCharges()
    {
        TrainConfig c = small_config(2);
        c.train_subset = 64 * 3;
        const Recorded plain = run(c);
        apply_settings_text(c, "link=custom:0,2 link_params=" + std::to_string(lenet_flat_count() * 10));
        QCOMPARE(c.link_bytes_scale(), 10.0);
        QVERIFY(c.link_scaled());
        QVERIFY(c.describe().find("(modelled)") != std::string::npos);
        const Recorded r = run(c);
        QCOMPARE(r.result.status, RunStatus::Completed);
        QCOMPARE(r.losses, plain.losses);
        QCOMPARE(r.result.final_params, plain.result.final_params);
        int steps = 0, modelled_ops = 0;
        for (const auto& e : r.events) {
            if (const auto* op = e.get<ev::Op>(); op && op->op.find("(modelled)") != std::string::npos)
                ++modelled_ops;
            const auto* step = e.get<ev::AllreduceStep>();
            if (!step)
                continue;
            ++steps;
            // the step says so itself: modelled, charged ten times its bytes, within the process
            QVERIFY(step->modelled);
            QCOMPARE(step->charged_bytes, step->bytes * 10);
            QVERIFY(step->stage == AllreduceStage::WithinRank);
            const double bound_us = double(step->bytes) * 10 / 2e9 * 1e6; // 10x the bytes at 2 GB/s
            QVERIFY2(step->t_end_us - e.t_us >= bound_us * (1 - 1e-9),
                     qPrintable(QString("%1 bytes (charged x10) lasted %2 us, the model says at least %3 us")
                                    .arg(step->bytes).arg(step->t_end_us - e.t_us).arg(bound_us)));
        }
        QCOMPARE(steps, 3 * 2);
        QCOMPARE(modelled_ops, steps);
        for (const auto& e : plain.events) // without a link: not modelled, nothing charged
            if (const auto* step = e.get<ev::AllreduceStep>())
                QVERIFY(!step->modelled && step->charged_bytes == 0);
        // no link, no scaling: refused with a message naming both settings
        TrainConfig bad = small_config(2);
        apply_settings_text(bad, "link_params=resnet50");
        const std::string why = validate(bad);
        QVERIFY2(why.find("--link-params") != std::string::npos && why.find("--link") != std::string::npos, why.c_str());
    }

    void linkParamsParse()
    {
        QCOMPARE(parse_link_params("lenet"), int64_t(0));
        QCOMPARE(parse_link_params("resnet50"), int64_t(25557032));
        QCOMPARE(parse_link_params("gpt2-small"), int64_t(124439808));
        QCOMPARE(parse_link_params("50M"), int64_t(50000000));
        QCOMPARE(parse_link_params("1.5G"), int64_t(1500000000));
        QCOMPARE(parse_link_params("2000"), int64_t(2000));
        QCOMPARE(link_params_text(25557032), std::string("resnet50"));
        QCOMPARE(link_params_text(7), std::string("7"));
        for (const char* bad : {"", "big", "-5", "5X", "M", "nan", "inf", "1e30"})
            QVERIFY_THROWS_EXCEPTION(std::invalid_argument, parse_link_params(bad));
        TrainConfig c;
        try {
            find_setting("--link-params")->set(c, "huge");
            QFAIL("huge was accepted");
        } catch (const GpulabError& e) {
            const std::string text = english(e.error);
            QVERIFY2(text.find("--link-params") != std::string::npos && text.find("resnet50") != std::string::npos,
                     text.c_str());
        }
    }

    // The alpha-beta formulas the Allreduce view shows, and nccl-tests' algbw and busbw.
    void allreduceModelFormulas()
    {
        const LinkModel l = parse_link("custom:10,2"); // 10 us, 2 GB/s
        const double S = 4e6;                          // 4 MB: S/beta = 2000 us
        QCOMPARE(ring_allreduce_model_us(l, 4, S), 2 * 3 * 10.0 + 2.0 * 3 / 4 * 2000.0);
        QCOMPARE(naive_allreduce_model_us(l, 4, S), 2 * 3 * (10.0 + 2000.0));
        QCOMPARE(ring_allreduce_model_us(l, 2, S), naive_allreduce_model_us(l, 2, S) - 2000.0);
        QCOMPARE(ring_allreduce_model_us(l, 1, S), 0.0);
        QCOMPARE(naive_allreduce_model_us(parse_link("none"), 4, S), 0.0);
        QCOMPARE(allreduce_algbw_gb_s(4e6, 0.002), 2.0);
        QCOMPARE(allreduce_busbw_gb_s(4e6, 0.002, 4), 3.0);
        QCOMPARE(allreduce_busbw_gb_s(4e6, 0.002, 1), 0.0);
        QCOMPARE(allreduce_algbw_gb_s(4e6, 0), 0.0);
    }

    // Tolerant: on an idle machine, the mean of measured / model over every transfer stays
    // within 30% above 1 with custom:200,1 (the copy's start and the sleep's wake-up are the
    // excess). The copy happens within the modelled time, so a step lasts the model's time
    // or its copy's, whichever is longer: where the copy alone outlasts the model (a slow
    // machine, a sanitizer build: under TSan here it took 3.3x the model), the step is judged
    // against the copy as the same run without a link measures it. A machine busy with other
    // work oversleeps: the test tries three runs, and when none passes it measures how late
    // this machine wakes from a plain 700 us sleep; if that alone is over 10% late, or the
    // load average is above the core count, it skips saying so with the numbers. On a
    // machine that wakes on time it fails.
    void linkMeanWithin30PercentOfModel()
    {
        TrainConfig c = small_config(2);
        c.train_subset = 64 * 10;
        // the copy alone: each step's device time in the run without a link, by its size
        std::map<int64_t, std::pair<double, int>> copies;
        {
            const Recorded plain = run(c);
            QCOMPARE(plain.result.status, RunStatus::Completed);
            for (const auto& e : plain.events)
                if (const auto* step = e.get<ev::AllreduceStep>()) {
                    copies[step->bytes].first += step->t_end_us - e.t_us;
                    copies[step->bytes].second++;
                }
        }
        apply_settings_text(c, "link=custom:200,1");
        QStringList tries;
        double copy_share = 0;
        for (int attempt = 0; attempt < 3; ++attempt) {
            const Recorded r = run(c);
            QCOMPARE(r.result.status, RunStatus::Completed);
            double sum = 0, copy_sum = 0;
            int count = 0;
            for (const auto& e : r.events)
                if (const auto* step = e.get<ev::AllreduceStep>()) {
                    const double model = c.link.transfer_us(step->bytes);
                    const double took = step->t_end_us - e.t_us;
                    QVERIFY(took / model >= 1 - 1e-9); // the lower bound always holds
                    const auto copy = copies.find(step->bytes);
                    QVERIFY2(copy != copies.end(), "a step of a size the run without a link did not have");
                    const double copy_us = copy->second.first / copy->second.second;
                    sum += took / std::max(model, copy_us);
                    copy_sum += copy_us / model;
                    ++count;
                }
            QVERIFY(count > 0);
            const double mean = sum / count;
            copy_share = copy_sum / count;
            qInfo("link custom:200,1: mean measured/max(model, copy) %.3f over %d transfers; the copy alone took %.3f "
                  "of the model",
                  mean, count, copy_share);
            if (mean <= 1.3)
                return;
            tries << QString::number(mean, 'f', 3);
        }
        double late = 0;
        for (int i = 0; i < 20; ++i) {
            const auto t0 = std::chrono::steady_clock::now();
            std::this_thread::sleep_for(std::chrono::microseconds(700));
            late += std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count() / 700.0;
        }
        late /= 20;
        double load[1] = {0};
        const bool have_load = getloadavg(load, 1) == 1;
        const QString facts = QString("mean measured/max(model, copy) %1 in three runs (the copy alone %5 of the model); "
                                      "a plain 700 us sleep took %2x; load %3 on %4 cores")
                                  .arg(tries.join(", "))
                                  .arg(late, 0, 'f', 3)
                                  .arg(have_load ? load[0] : -1.0, 0, 'f', 2)
                                  .arg(std::thread::hardware_concurrency())
                                  .arg(copy_share, 0, 'f', 3);
        if (late > 1.10 || (have_load && load[0] > std::thread::hardware_concurrency()))
            QSKIP(qPrintable("this machine is loaded, the tolerant check cannot judge the model: " + facts));
        QFAIL(qPrintable("the link model's waits run long on an idle machine: " + facts));
    }

    void parsesLinks()
    {
        for (const std::string& name : link_names())
            QCOMPARE(parse_link(name).name, name);
        const LinkModel p4 = parse_link("pcie4");
        QCOMPARE(p4.gb_per_s, 31.5);
        QCOMPARE(parse_link("nvlink4").gb_per_s, 450.0);
        QCOMPARE(parse_link("10gbe").gb_per_s, 1.25);
        const LinkModel custom = parse_link("custom:200,1");
        QCOMPARE(custom.latency_us, 200.0);
        QCOMPARE(custom.gb_per_s, 1.0);
        QCOMPARE(custom.transfer_us(1000000), 200.0 + 1000.0);
        QCOMPARE(parse_link("none").transfer_us(1000000), 0.0);
        for (const char* bad : {"fast", "custom:", "custom:1", "custom:a,b", "custom:1,0", "custom:-1,5",
                                "custom:1,2,3", "custom:1,inf"})
            QVERIFY_THROWS_EXCEPTION(std::invalid_argument, parse_link(bad));
        // through the settings table: a clear message naming the setting and what works
        TrainConfig c;
        try {
            find_setting("--link")->set(c, "custom:5");
            QFAIL("custom:5 was accepted");
        } catch (const GpulabError& e) {
            const std::string text = english(e.error);
            QVERIFY2(text.find("--link") != std::string::npos, text.c_str());
            QVERIFY2(text.find("custom:LAT_US,GB_PER_S") != std::string::npos, text.c_str());
            QVERIFY2(text.find("pcie4") != std::string::npos, text.c_str());
        }
        find_setting("link")->set(c, "custom:2000,0.05");
        QCOMPARE(c.link.latency_us, 2000.0);
        QVERIFY(settings_to_text(c).find("link=custom:2000,0.05") != std::string::npos);
        QVERIFY(check(c).empty());
    }

    void parsesSizesAndNames()
    {
        QCOMPARE(parse_bytes("256MiB"), int64_t(256) << 20);
        QCOMPARE(parse_bytes("2GiB"), int64_t(2) << 30);
        QCOMPARE(parse_bytes("1000"), int64_t(1000));
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, parse_bytes("lots"));
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, parse_bytes("-5MiB"));
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, parse_exec_mode("fast"));
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, parse_allreduce("tree"));
        QCOMPARE(lenet_param_count(), int64_t(129068));
        QCOMPARE(lenet_param("b1").count, int64_t(20));
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, lenet_param("W9"));
    }
};

QTEST_APPLESS_MAIN(TestTrainer)
#include "tst_trainer.moc"
