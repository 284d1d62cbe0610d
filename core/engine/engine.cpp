// Both engines. The threaded one keeps, per variable, its last writer and the readers
// since; a pushed op counts the unfinished ops it must follow and becomes ready at zero.
#include "engine/engine.h"

#include "trace/event_stream.h"

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <exception>
#include <mutex>
#include <string_view>
#include <thread>

namespace gpulab {

struct OpRecord;

struct VarState {
    // Guarded by the engine's mutex.
    std::shared_ptr<OpRecord> last_write;
    std::vector<std::shared_ptr<OpRecord>> reads_since_write;
};

struct OpRecord {
    OpDesc desc;
    int pending_deps = 0;
    bool done = false;
    std::vector<std::shared_ptr<OpRecord>> dependents;
};

EngineKind engine_kind_from_env()
{
    const char* v = std::getenv("GPULAB_ENGINE");
    if (v && (std::string_view(v) == "sync" || std::string_view(v) == "naive"))
        return EngineKind::Sync;
    return EngineKind::Threaded;
}

const char* engine_kind_name(EngineKind k)
{
    return k == EngineKind::Sync ? "sync" : "threaded";
}

Var Engine::new_var()
{
    return std::make_shared<VarState>();
}

namespace {

void emit_push(EventStream* trace, const OpDesc& op)
{
    if (!trace || !op.trace)
        return;
    trace->record(Event{.device = op.device, .data = ev::Push{.op = op.name}});
}

// Runs op.fn, traces it; returns the exception it threw, if any.
std::exception_ptr run_op(EventStream* trace, OpDesc& op)
{
    double t0 = trace ? trace->now_us() : 0;
    std::exception_ptr err;
    try {
        op.fn();
    } catch (...) {
        err = std::current_exception();
    }
    if (trace && op.trace) {
        trace->record(Event{.t_us = t0, .device = op.device,
                            .data = ev::Op{.op = op.name, .t_end_us = trace->now_us()}});
    }
    return err;
}

// Destroys op's closure with everything it captured (tensors, so their buffers go back to
// their device) and its variable handles. An op counts as finished only after this, so a
// wait that has returned leaves nothing of its ops on a worker. Never call it under an
// engine lock: releasing a buffer calls into its device, which may trace, allocate or push.
void release(OpDesc& op)
{
    OpDesc gone = std::move(op);
    op = OpDesc{};
}

void check_device(int device, int n)
{
    if (device < 0 || device >= n)
        throw std::invalid_argument("engine: op for device " + std::to_string(device) +
                                    " but the engine has " + std::to_string(n) + " devices");
}

// ---- synchronous engine -------------------------------------------------------------
class SyncEngine final : public Engine {
public:
    SyncEngine(int n, EventStream* trace) : m_n(n), m_trace(trace) {}

    void push(OpDesc op) override
    {
        check_device(op.device, m_n);
        if (m_error || m_cancelled) {
            release(op); // dropped
            return;
        }
        emit_push(m_trace, op);
        ++m_pending; // counted while it runs and while its closure is destroyed
        std::exception_ptr err = run_op(m_trace, op);
        release(op);
        --m_pending;
        if (err && !m_error)
            m_error = err;
    }
    void wait_to_read(const Var&) override { rethrow(); }
    void wait_all() override { rethrow(); }
    void cancel() override { m_cancelled = true; }
    void reset() override
    {
        m_error = nullptr;
        m_cancelled = false;
    }
    size_t pending() const override { return m_pending; }
    int num_devices() const override { return m_n; }
    EngineKind kind() const override { return EngineKind::Sync; }

private:
    void rethrow()
    {
        if (m_error)
            std::rethrow_exception(m_error);
        if (m_cancelled)
            throw Cancelled();
    }
    int m_n;
    EventStream* m_trace;
    std::exception_ptr m_error;
    bool m_cancelled = false;
    std::atomic<size_t> m_pending{0}; // 1 while a push runs its op (more if that op pushes)
};

// ---- threaded engine ----------------------------------------------------------------
class ThreadedEngine final : public Engine {
public:
    ThreadedEngine(int n, EventStream* trace) : m_n(n), m_trace(trace), m_cv_work(n), m_queues(n)
    {
        m_workers.reserve(n);
        for (int d = 0; d < n; ++d)
            m_workers.emplace_back([this, d] { worker(d); });
    }

    ~ThreadedEngine() override
    {
        cancel();       // drop what is queued; running ops finish
        wait_drained(); // every record completes, so no closure or cycle outlives us
        {
            std::lock_guard lock(m_mutex);
            m_stop = true;
        }
        notify_workers();
        for (auto& t : m_workers)
            t.join();
    }

    void push(OpDesc desc) override
    {
        check_device(desc.device, m_n);
        emit_push(m_trace, desc);
        auto op = std::make_shared<OpRecord>();
        op->desc = std::move(desc);
        std::unique_lock lock(m_mutex);
        if (m_error || m_cancelled)
            return; // the run is stopping: drop it (its closure is released here)
        ++m_pending;
        auto depend_on = [&](const std::shared_ptr<OpRecord>& before) {
            if (before && !before->done && before != op) {
                before->dependents.push_back(op);
                ++op->pending_deps;
            }
        };
        for (const Var& v : op->desc.reads) {
            depend_on(v->last_write);
        }
        for (const Var& v : op->desc.writes) {
            depend_on(v->last_write);
            for (auto& r : v->reads_since_write)
                depend_on(r);
        }
        // Record this op on its variables. A variable both read and written is a write.
        for (const Var& v : op->desc.reads) {
            bool also_written = false;
            for (const Var& w : op->desc.writes)
                also_written |= (w == v);
            if (also_written)
                continue;
            auto& rs = v->reads_since_write;
            std::erase_if(rs, [](const std::shared_ptr<OpRecord>& r) { return r->done; });
            rs.push_back(op);
        }
        for (const Var& v : op->desc.writes) {
            v->last_write = op;
            v->reads_since_write.clear();
        }
        if (op->pending_deps == 0)
            make_ready(op);
    }

    void wait_to_read(const Var& var) override
    {
        std::unique_lock lock(m_mutex);
        ++m_var_waiters;
        m_cv_done.wait(lock, [&] {
            return m_error || m_cancelled || !var->last_write || var->last_write->done;
        });
        --m_var_waiters;
        rethrow_locked(lock);
    }

    void wait_all() override
    {
        std::unique_lock lock(m_mutex);
        m_cv_done.wait(lock, [&] { return m_pending == 0; });
        rethrow_locked(lock);
    }

    void cancel() override
    {
        {
            std::lock_guard lock(m_mutex);
            m_cancelled = true;
        }
        notify_workers();
        m_cv_done.notify_all();
    }

    void reset() override
    {
        wait_drained();
        std::lock_guard lock(m_mutex);
        m_error = nullptr;
        m_cancelled = false;
    }

    size_t pending() const override
    {
        std::lock_guard lock(m_mutex);
        return m_pending;
    }
    int num_devices() const override { return m_n; }
    EngineKind kind() const override { return EngineKind::Threaded; }

private:
    void wait_drained()
    {
        std::unique_lock lock(m_mutex);
        m_cv_done.wait(lock, [&] { return m_pending == 0; });
    }

    void rethrow_locked(std::unique_lock<std::mutex>& lock)
    {
        if (m_error) {
            auto err = m_error;
            // Let dropped ops drain so no closure outlives the wait that reports them.
            m_cv_done.wait(lock, [&] { return m_pending == 0; });
            std::rethrow_exception(err);
        }
        if (m_cancelled) {
            m_cv_done.wait(lock, [&] { return m_pending == 0; });
            throw Cancelled();
        }
    }

    void make_ready(const std::shared_ptr<OpRecord>& op) // m_mutex held
    {
        m_queues[op->desc.device].push_back(op);
        m_cv_work[op->desc.device].notify_one(); // only that device's worker takes it
    }

    void notify_workers()
    {
        for (auto& cv : m_cv_work)
            cv.notify_all();
    }

    // Marks op done and readies its dependents; its closure has been released already.
    // m_mutex held. Dropping deps here destroys no record: a dependent is still held by
    // a queue (ready) or by another unfinished op it waits for.
    void complete(const std::shared_ptr<OpRecord>& op)
    {
        op->done = true;
        auto deps = std::move(op->dependents);
        for (auto& d : deps)
            if (--d->pending_deps == 0)
                make_ready(d);
        --m_pending;
        // Wake the front end only when a wait can be over: wait_all at zero; wait_to_read
        // waits on particular ops, so it is woken by every completion while it waits.
        if (m_pending == 0 || m_var_waiters > 0)
            m_cv_done.notify_all();
    }

    void worker(int device)
    {
        std::unique_lock lock(m_mutex);
        for (;;) {
            m_cv_work[device].wait(lock, [&] { return m_stop || !m_queues[device].empty(); });
            if (m_queues[device].empty()) {
                if (m_stop)
                    return;
                continue;
            }
            auto op = std::move(m_queues[device].front());
            m_queues[device].pop_front();
            const bool dropped = m_error || m_cancelled;
            lock.unlock();
            std::exception_ptr err;
            if (!dropped)
                err = run_op(m_trace, op->desc);
            // Before the op counts as finished, outside the lock (only this worker touches
            // a dequeued op's desc).
            release(op->desc);
            lock.lock();
            if (err && !m_error) {
                m_error = err;
                notify_workers();
                m_cv_done.notify_all();
            }
            complete(op);
        }
    }

    int m_n;
    EventStream* m_trace;
    mutable std::mutex m_mutex;
    std::vector<std::condition_variable> m_cv_work; // one per device worker
    std::condition_variable m_cv_done;
    int m_var_waiters = 0; // threads inside wait_to_read
    std::vector<std::deque<std::shared_ptr<OpRecord>>> m_queues;
    std::vector<std::thread> m_workers;
    size_t m_pending = 0;
    std::exception_ptr m_error;
    bool m_cancelled = false;
    bool m_stop = false;
};

} // namespace

std::unique_ptr<Engine> make_engine(EngineKind kind, int num_devices, EventStream* trace)
{
    if (num_devices < 1)
        throw std::invalid_argument("engine: need at least one device");
    if (kind == EngineKind::Sync)
        return std::make_unique<SyncEngine>(num_devices, trace);
    return std::make_unique<ThreadedEngine>(num_devices, trace);
}

} // namespace gpulab
