// Engine tests: random op graphs on the threaded engine must equal the synchronous
// engine; MXNet's read/write rules hold; errors reach the wait point; cancel never hangs.
#include "device/device.h"
#include "engine/engine.h"
#include "trace/event_stream.h"

#include <QtTest>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <random>
#include <thread>

using namespace gpulab;

namespace {

// A graph: vars hold 64-bit values; each op mixes the values it reads into the ones it
// writes. The result depends on the order of conflicting ops only, which the engine must
// keep; the guards catch a reader and a writer (or two writers) running at once.
struct Graph {
    struct Op {
        int device;
        std::vector<int> reads, writes;
        uint64_t salt;
    };
    int vars = 0;
    std::vector<Op> ops;
    std::vector<int> wait_points; // op index after which the front end waits on a var
};

Graph random_graph(std::mt19937_64& rng, int devices)
{
    Graph g;
    g.vars = 2 + static_cast<int>(rng() % 10);
    const int nops = 5 + static_cast<int>(rng() % 60);
    for (int i = 0; i < nops; ++i) {
        Graph::Op op;
        op.device = static_cast<int>(rng() % devices);
        op.salt = rng();
        const int nr = static_cast<int>(rng() % 4), nw = static_cast<int>(rng() % 3);
        for (int k = 0; k < nr; ++k)
            op.reads.push_back(static_cast<int>(rng() % g.vars));
        for (int k = 0; k < nw; ++k) {
            int v = static_cast<int>(rng() % g.vars);
            if (std::find(op.writes.begin(), op.writes.end(), v) == op.writes.end())
                op.writes.push_back(v);
        }
        g.ops.push_back(op);
        if (rng() % 10 == 0)
            g.wait_points.push_back(i);
    }
    return g;
}

struct Guard {
    std::atomic<int> readers{0};
    std::atomic<int> writers{0};
};

// The final values, and the value of each var the front end waited on, read right after
// its wait_to_read (on the sync engine every push has already run, so those are the values
// every write pushed so far gives).
struct GraphRun {
    std::vector<uint64_t> values;
    std::vector<uint64_t> at_waits;
};

GraphRun run_graph(const Graph& g, EngineKind kind, int devices, std::atomic<int>& violations,
                   std::mt19937_64& jitter_rng)
{
    GraphRun run;
    auto engine = make_engine(kind, devices, nullptr);
    std::vector<uint64_t> values(static_cast<size_t>(g.vars));
    for (int i = 0; i < g.vars; ++i)
        values[static_cast<size_t>(i)] = 1000 + static_cast<uint64_t>(i);
    std::vector<Guard> guards(static_cast<size_t>(g.vars));
    std::vector<Var> vars;
    for (int i = 0; i < g.vars; ++i)
        vars.push_back(engine->new_var());
    size_t wp = 0;
    for (size_t i = 0; i < g.ops.size(); ++i) {
        const auto& o = g.ops[i];
        OpDesc d;
        d.device = o.device;
        d.name = "op" + std::to_string(i);
        for (int r : o.reads)
            d.reads.push_back(vars[static_cast<size_t>(r)]);
        for (int w : o.writes)
            d.writes.push_back(vars[static_cast<size_t>(w)]);
        const int sleep_us = static_cast<int>(jitter_rng() % 3) * 50;
        d.fn = [&, o, sleep_us] {
            for (int r : o.reads) {
                bool also_w = std::find(o.writes.begin(), o.writes.end(), r) != o.writes.end();
                if (!also_w) {
                    guards[static_cast<size_t>(r)].readers++;
                    if (guards[static_cast<size_t>(r)].writers.load() != 0)
                        violations++;
                }
            }
            for (int w : o.writes) {
                if (guards[static_cast<size_t>(w)].writers++ != 0 ||
                    guards[static_cast<size_t>(w)].readers.load() != 0)
                    violations++;
            }
            uint64_t h = o.salt;
            for (int r : o.reads)
                h = h * 6364136223846793005ULL + values[static_cast<size_t>(r)];
            if (sleep_us)
                std::this_thread::sleep_for(std::chrono::microseconds(sleep_us));
            for (int w : o.writes)
                values[static_cast<size_t>(w)] = values[static_cast<size_t>(w)] * 31 + h;
            for (int w : o.writes)
                guards[static_cast<size_t>(w)].writers--;
            for (int r : o.reads) {
                bool also_w = std::find(o.writes.begin(), o.writes.end(), r) != o.writes.end();
                if (!also_w)
                    guards[static_cast<size_t>(r)].readers--;
            }
        };
        engine->push(std::move(d));
        if (wp < g.wait_points.size() && g.wait_points[wp] == static_cast<int>(i)) {
            ++wp;
            if (!o.writes.empty()) {
                const int v = o.writes[0];
                engine->wait_to_read(vars[static_cast<size_t>(v)]);
                // After wait_to_read, the value must be final for every write pushed so far.
                run.at_waits.push_back(values[static_cast<size_t>(v)]);
            }
        }
    }
    engine->wait_all();
    run.values = std::move(values);
    return run;
}

// Stands for what an op's closure holds (tensors, buffers): it dies with the last copy of
// the closure. Its destructor notes whether the engine already counted every op as
// finished (pending() == 0) while this closure was still alive, then pauses before it
// counts itself released, so that a wait which returned too early is seen doing so.
struct ReleaseLog {
    Engine* engine = nullptr;
    std::chrono::milliseconds pause{20};
    std::atomic<int> released{0};
    std::atomic<int> released_after_finish{0};
};

struct ReleaseProbe {
    explicit ReleaseProbe(ReleaseLog* l) : log(l) {}
    ReleaseProbe(const ReleaseProbe&) = delete;
    ReleaseProbe& operator=(const ReleaseProbe&) = delete;
    ReleaseLog* log;
    ~ReleaseProbe()
    {
        if (log->engine->pending() == 0)
            log->released_after_finish++;
        std::this_thread::sleep_for(log->pause);
        log->released++;
    }
};

OpDesc probed_op(ReleaseLog& log, int device, std::vector<Var> reads, std::vector<Var> writes,
                 std::function<void()> work = [] {})
{
    OpDesc op;
    op.device = device;
    op.reads = std::move(reads);
    op.writes = std::move(writes);
    op.fn = [probe = std::make_shared<ReleaseProbe>(&log), work = std::move(work)] { work(); };
    return op;
}

void add_engine_kind_rows()
{
    QTest::addColumn<int>("kind");
    QTest::newRow("threaded") << int(EngineKind::Threaded);
    QTest::newRow("sync") << int(EngineKind::Sync);
}

// A device whose release of storage is slow, as a GPU's free can be.
struct SlowReleaseDevice final : Device {
    std::atomic<int> releases{0};
    SlowReleaseDevice() : Device(0, int64_t(1) << 20, nullptr) {}
    DeviceKind kind() const override { return DeviceKind::CpuSim; }
    std::string name() const override { return "slow-release(0)"; }
    void upload(void*, const void*, int64_t) override {}
    void download(void*, const void*, int64_t) override {}
    void copy_from(void*, const Device&, const void*, int64_t) override {}
    void* raw_allocate(int64_t bytes) override { return ::operator new(static_cast<size_t>(bytes)); }
    void raw_release(void* ptr, int64_t) override
    {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        ::operator delete(ptr);
        releases++;
    }
};

} // namespace

class TestEngine : public QObject {
    Q_OBJECT

private slots:
    void randomGraphsMatchSyncEngine()
    {
        std::mt19937_64 rng(20261127);
        std::mt19937_64 jitter(7);
        std::atomic<int> violations{0};
        int graphs = 0, ops = 0, waits = 0;
        for (int i = 0; i < 250; ++i) {
            const int devices = 4 + static_cast<int>(rng() % 3);
            Graph g = random_graph(rng, devices);
            const GraphRun expect = run_graph(g, EngineKind::Sync, devices, violations, jitter);
            const GraphRun got = run_graph(g, EngineKind::Threaded, devices, violations, jitter);
            QCOMPARE(got.values, expect.values);
            QCOMPARE(got.at_waits, expect.at_waits);
            ++graphs;
            ops += static_cast<int>(g.ops.size());
            waits += static_cast<int>(expect.at_waits.size());
        }
        QCOMPARE(violations.load(), 0);
        QVERIFY(waits > 100); // the wait points are exercised, not just present
        qInfo("%d random graphs, %d ops, %d values read after wait_to_read, identical on both engines", graphs, ops,
              waits);
    }

    void readsRunTogether()
    {
        // Two readers of one var on different devices must be able to overlap: each
        // waits for the other to have started. The bound only ends a failure (readers run
        // one after the other); a loaded machine may take seconds to schedule the other
        // worker, so it is generous.
        auto engine = make_engine(EngineKind::Threaded, 2, nullptr);
        Var v = engine->new_var();
        std::atomic<int> started{0};
        std::atomic<bool> overlapped{true};
        for (int d = 0; d < 2; ++d) {
            OpDesc op;
            op.device = d;
            op.reads = {v};
            op.fn = [&] {
                started++;
                auto t0 = std::chrono::steady_clock::now();
                while (started.load() < 2) {
                    if (std::chrono::steady_clock::now() - t0 > std::chrono::seconds(120)) {
                        overlapped = false;
                        return;
                    }
                    std::this_thread::yield();
                }
            };
            engine->push(std::move(op));
        }
        engine->wait_all();
        QVERIFY(overlapped);
    }

    void writeWaitsForEarlierReads()
    {
        auto engine = make_engine(EngineKind::Threaded, 3, nullptr);
        Var v = engine->new_var();
        std::atomic<int> reads_done{0};
        int seen_by_writer = -1;
        for (int d = 0; d < 2; ++d) {
            OpDesc op;
            op.device = d;
            op.reads = {v};
            op.fn = [&] {
                std::this_thread::sleep_for(std::chrono::milliseconds(30));
                reads_done++;
            };
            engine->push(std::move(op));
        }
        OpDesc w;
        w.device = 2;
        w.writes = {v};
        w.fn = [&] { seen_by_writer = reads_done.load(); };
        engine->push(std::move(w));
        engine->wait_to_read(v);
        QCOMPARE(seen_by_writer, 2);
    }

    void pushReturnsAtOnce()
    {
        // Every push returns while the op they all depend on is still running: the slow op
        // is released only after the last push (a push that blocked would never return; the
        // watchdog then releases it and the test fails instead of hanging).
        auto engine = make_engine(EngineKind::Threaded, 1, nullptr);
        Var v = engine->new_var();
        std::atomic<bool> release{false}, watchdog_fired{false}, done{false};
        OpDesc slow;
        slow.writes = {v};
        slow.fn = [&] {
            while (!release)
                std::this_thread::sleep_for(std::chrono::milliseconds(1));
        };
        std::thread watchdog([&] {
            const auto t0 = std::chrono::steady_clock::now();
            while (!done && std::chrono::steady_clock::now() - t0 < std::chrono::seconds(60))
                std::this_thread::sleep_for(std::chrono::milliseconds(5));
            if (!done) {
                watchdog_fired = true;
                release = true;
            }
        });
        engine->push(std::move(slow));
        for (int i = 0; i < 100; ++i) {
            OpDesc op;
            op.reads = {v};
            op.fn = [] {};
            engine->push(std::move(op));
        }
        const size_t queued = engine->pending();
        done = true;
        release = true;
        watchdog.join();
        engine->wait_all();
        QVERIFY2(!watchdog_fired, "push blocked until the slow op was released");
        QCOMPARE(queued, size_t(101)); // nothing ran ahead of the slow op
        QCOMPARE(engine->pending(), size_t(0));
    }

    void errorIsKeptAndRethrown_data()
    {
        QTest::addColumn<int>("kind");
        QTest::newRow("threaded") << int(EngineKind::Threaded);
        QTest::newRow("sync") << int(EngineKind::Sync);
    }
    void errorIsKeptAndRethrown()
    {
        QFETCH(int, kind);
        auto engine = make_engine(EngineKind(kind), 4, nullptr);
        Var a = engine->new_var(), b = engine->new_var();
        std::atomic<int> ran_after{0};
        OpDesc bad;
        bad.device = 1;
        bad.writes = {a};
        bad.fn = [] { throw std::runtime_error("injected failure"); };
        engine->push(std::move(bad));
        for (int i = 0; i < 20; ++i) {
            OpDesc op;
            op.device = i % 4;
            op.reads = {a};
            op.writes = {b};
            op.fn = [&] { ran_after++; };
            engine->push(std::move(op));
        }
        bool thrown = false;
        try {
            engine->wait_all();
        } catch (const std::runtime_error& e) {
            thrown = QString(e.what()).contains("injected failure");
        }
        QVERIFY(thrown);
        QCOMPARE(ran_after.load(), 0); // dependents of the failed op never run
        QCOMPARE(engine->pending(), size_t(0));
        // The next wait still reports it; after reset the engine works again.
        QVERIFY_THROWS_EXCEPTION(std::runtime_error, engine->wait_to_read(b));
        engine->reset();
        int x = 0;
        OpDesc ok;
        ok.writes = {b};
        ok.fn = [&] { x = 42; };
        engine->push(std::move(ok));
        engine->wait_to_read(b);
        QCOMPARE(x, 42);
    }

    void cancelDropsQueuedOpsAndNeverHangs()
    {
        for (int round = 0; round < 100; ++round) {
            auto engine = make_engine(EngineKind::Threaded, 4, nullptr);
            std::vector<Var> vars;
            for (int i = 0; i < 4; ++i)
                vars.push_back(engine->new_var());
            std::atomic<int> ran{0};
            for (int i = 0; i < 400; ++i) {
                OpDesc op;
                op.device = i % 4;
                op.reads = {vars[static_cast<size_t>((i + 1) % 4)]};
                op.writes = {vars[static_cast<size_t>(i % 4)]};
                op.fn = [&] {
                    ran++;
                    std::this_thread::sleep_for(std::chrono::microseconds(20));
                };
                engine->push(std::move(op));
                if (i == round * 3)
                    engine->cancel();
            }
            QVERIFY_THROWS_EXCEPTION(Cancelled, engine->wait_all());
            QCOMPARE(engine->pending(), size_t(0));
            QVERIFY(ran.load() <= round * 3 + 1); // nothing pushed after the cancel ran
        }
    }

    void destroyWithQueuedOpsDoesNotHang()
    {
        // The first op holds the other 999 (they write the same var) until just before the
        // engine is destroyed; the destructor must drop them rather than run them all. They
        // take 1 ms each, so running every one would take a second.
        std::atomic<int> ran{0};
        std::atomic<bool> release{false};
        {
            auto engine = make_engine(EngineKind::Threaded, 2, nullptr);
            Var v = engine->new_var();
            OpDesc first;
            first.writes = {v};
            first.fn = [&] {
                while (!release)
                    std::this_thread::yield();
            };
            engine->push(std::move(first));
            for (int i = 1; i < 1000; ++i) {
                OpDesc op;
                op.device = i % 2;
                op.writes = {v};
                op.fn = [&] {
                    ran++;
                    std::this_thread::sleep_for(std::chrono::milliseconds(1));
                };
                engine->push(std::move(op));
            }
            release = true;
        }
        QVERIFY2(ran.load() < 999, qPrintable(QString("%1 queued ops ran").arg(ran.load())));
    }

    // An op counts as finished only once its closure, and all it captured, is destroyed:
    // code that destroys a device right after wait_all must find none of its buffers
    // still being released by a worker.
    void waitAllReturnsAfterEveryClosureIsDestroyed_data() { add_engine_kind_rows(); }
    void waitAllReturnsAfterEveryClosureIsDestroyed()
    {
        QFETCH(int, kind);
        ReleaseLog log; // outlives the engine, whose workers may still use it
        auto engine = make_engine(EngineKind(kind), 3, nullptr);
        log.engine = engine.get();
        Var a = engine->new_var(), b = engine->new_var();
        const int n = 12;
        for (int i = 0; i < n; ++i) {
            // A chain through a, and independent ops beside it.
            if (i % 2 == 0)
                engine->push(probed_op(log, i % 3, {a}, {a}));
            else
                engine->push(probed_op(log, i % 3, {}, {engine->new_var()}));
        }
        engine->push(probed_op(log, 2, {a}, {b}));
        engine->wait_all();
        const int released_at_return = log.released.load();
        engine.reset(); // joins the workers: every closure is gone now
        QCOMPARE(log.released_after_finish.load(), 0);
        QCOMPARE(released_at_return, n + 1);
    }

    void waitToReadReturnsAfterTheWritersClosuresAreDestroyed_data() { add_engine_kind_rows(); }
    void waitToReadReturnsAfterTheWritersClosuresAreDestroyed()
    {
        QFETCH(int, kind);
        ReleaseLog log;
        auto engine = make_engine(EngineKind(kind), 3, nullptr);
        log.engine = engine.get();
        Var v = engine->new_var();
        const int n = 4;
        for (int i = 0; i < n; ++i)
            engine->push(probed_op(log, i % 3, {}, {v}));
        engine->wait_to_read(v);
        const int released_at_return = log.released.load();
        engine.reset();
        QCOMPARE(released_at_return, n);
        QCOMPARE(log.released_after_finish.load(), 0);
    }

    // The same when the run stops: a wait that throws has seen every dropped op's closure
    // destroyed.
    void droppedOpsAreDestroyedBeforeTheWaitThrows_data()
    {
        QTest::addColumn<bool>("cancel");
        QTest::newRow("error") << false;
        QTest::newRow("cancel") << true;
    }
    void droppedOpsAreDestroyedBeforeTheWaitThrows()
    {
        QFETCH(bool, cancel);
        ReleaseLog log;
        log.pause = std::chrono::milliseconds(5);
        auto engine = make_engine(EngineKind::Threaded, 4, nullptr);
        log.engine = engine.get();
        Var a = engine->new_var(), b = engine->new_var();
        std::atomic<bool> go{false};
        engine->push(probed_op(log, 1, {}, {a}, [&] {
            while (!go)
                std::this_thread::yield();
            if (!cancel)
                throw std::runtime_error("injected failure");
        }));
        const int n = 20;
        for (int i = 0; i < n; ++i)
            engine->push(probed_op(log, i % 4, {a}, {b}));
        if (cancel)
            engine->cancel();
        go = true;
        bool thrown = false;
        try {
            engine->wait_all();
        } catch (const Cancelled&) {
            thrown = cancel;
        } catch (const std::runtime_error& e) {
            thrown = !cancel && QString(e.what()).contains("injected failure");
        }
        const int released_at_return = log.released.load();
        engine.reset();
        QVERIFY(thrown);
        QCOMPARE(log.released_after_finish.load(), 0);
        QCOMPARE(released_at_return, n + 1);
    }

    // The order that crashed ("pure virtual method called"): the engine made first, the
    // device after it, so the device is destroyed first, right after wait_all. Every
    // buffer the ops held must be back by then.
    void deviceMadeAfterTheEngineIsIdleAfterWaitAll_data() { add_engine_kind_rows(); }
    void deviceMadeAfterTheEngineIsIdleAfterWaitAll()
    {
        QFETCH(int, kind);
        auto engine = make_engine(EngineKind(kind), 2, nullptr);
        int64_t in_use_at_return = -1;
        int releases_at_return = -1;
        const int n = 6;
        {
            SlowReleaseDevice dev;
            Var v = engine->new_var();
            for (int i = 0; i < n; ++i) {
                OpDesc op;
                op.device = i % 2;
                op.writes = {i % 2 ? v : engine->new_var()};
                op.fn = [buf = dev.allocate(256)] { static_cast<float*>(buf->data())[0] = 1.f; };
                engine->push(std::move(op));
            }
            engine->wait_all();
            in_use_at_return = dev.bytes_in_use();
            releases_at_return = dev.releases.load();
        }
        QCOMPARE(in_use_at_return, int64_t(0));
        QCOMPARE(releases_at_return, n);
    }

    void traceRecordsPushesAndOps()
    {
        EventStream trace;
        auto engine = make_engine(EngineKind::Threaded, 2, &trace);
        Var v = engine->new_var();
        for (int i = 0; i < 6; ++i) {
            OpDesc op;
            op.device = i % 2;
            op.name = "op" + std::to_string(i);
            op.writes = {v};
            op.fn = [] {};
            engine->push(std::move(op));
        }
        engine->wait_all();
        int pushes = 0, ops = 0;
        for (const auto& e : trace.all()) {
            if (e.is<ev::Push>())
                ++pushes;
            if (const auto* op = e.get<ev::Op>()) {
                ++ops;
                QVERIFY(op->t_end_us >= e.t_us);
                QVERIFY(e.device == 0 || e.device == 1);
            }
        }
        QCOMPARE(pushes, 6);
        QCOMPARE(ops, 6);
    }

    void envSelectsSyncEngine()
    {
        qputenv("GPULAB_ENGINE", "sync");
        QCOMPARE(engine_kind_from_env(), EngineKind::Sync);
        qputenv("GPULAB_ENGINE", "threaded");
        QCOMPARE(engine_kind_from_env(), EngineKind::Threaded);
        qunsetenv("GPULAB_ENGINE");
        QCOMPARE(engine_kind_from_env(), EngineKind::Threaded);
    }

    void badDeviceIsRejected()
    {
        auto engine = make_engine(EngineKind::Threaded, 2, nullptr);
        OpDesc op;
        op.device = 5;
        op.fn = [] {};
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, engine->push(std::move(op)));
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, make_engine(EngineKind::Sync, 0, nullptr));
    }

    // A device whose allocator fails with a device error (not a full budget): the bytes it
    // reserved come back, and the next allocation works.
    void allocatorErrorGivesTheBudgetBack()
    {
        struct FaultyDevice final : Device {
            bool fail = false;
            FaultyDevice() : Device(0, 1000, nullptr) {}
            DeviceKind kind() const override { return DeviceKind::CpuSim; }
            std::string name() const override { return "faulty(0)"; }
            void upload(void*, const void*, int64_t) override {}
            void download(void*, const void*, int64_t) override {}
            void copy_from(void*, const Device&, const void*, int64_t) override {}
            void* raw_allocate(int64_t bytes) override
            {
                if (fail)
                    throw std::runtime_error("device lost");
                return ::operator new(static_cast<size_t>(bytes));
            }
            void raw_release(void* ptr, int64_t) override { ::operator delete(ptr); }
        } dev;
        auto kept = dev.allocate(100);
        dev.fail = true;
        QVERIFY_THROWS_EXCEPTION(std::runtime_error, dev.allocate(300));
        QCOMPARE(dev.bytes_in_use(), int64_t(100));
        dev.fail = false;
        auto more = dev.allocate(900); // fits only if the failed 300 were given back
        QCOMPARE(dev.bytes_in_use(), int64_t(1000));
        QVERIFY_THROWS_EXCEPTION(OutOfMemory, dev.allocate(1));
        kept.reset();
        more.reset();
        QCOMPARE(dev.bytes_in_use(), int64_t(0));
    }
};

QTEST_APPLESS_MAIN(TestEngine)
#include "tst_engine.moc"
