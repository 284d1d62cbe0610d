// The async dependency engine (MXNet's ThreadedEngine model): the front end pushes ops
// that name the variables they read and write; a worker per device runs each op once
// every earlier conflicting op has completed. A synchronous engine with the same
// interface runs every push at once, for debugging and as a test oracle.
#pragma once

#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace gpulab {

class EventStream;
struct VarState;

// A variable: the engine's unit of dependency. Cheap to copy (a shared handle).
using Var = std::shared_ptr<VarState>;

// ---- ops ----------------------------------------------------------------------------
struct OpDesc {
    int device = 0;                // which worker runs it
    std::string name;              // shown in the trace ("conv1_fwd", "ring_rs 2")
    std::vector<Var> reads;        // variables the op reads
    std::vector<Var> writes;       // variables the op writes (may also be read)
    std::function<void()> fn;      // the work; may throw
    bool trace = true;             // emit Push/Op events
};

// Thrown at a wait point after cancel().
class Cancelled : public std::runtime_error {
public:
    Cancelled() : std::runtime_error("run cancelled") {}
};

enum class EngineKind { Threaded, Sync };

// "sync" when GPULAB_ENGINE=sync (or naive), otherwise threaded.
EngineKind engine_kind_from_env();
const char* engine_kind_name(EngineKind k);

// ---- engine -------------------------------------------------------------------------
class Engine {
public:
    virtual ~Engine() = default;

    Var new_var();

    // An op *completes* once its fn has returned or thrown and its closure has been
    // destroyed, with everything it captured (tensors, so their buffers are back on their
    // device). A dropped op completes when its closure has been destroyed. So when a wait
    // below returns (or throws), nothing of the ops it waited for is left on a worker, and
    // a device or anything else their closures referred to may be destroyed at once.

    // Queues op and returns at once. After an error or a cancel, ops are dropped (their
    // closures destroyed before push returns).
    virtual void push(OpDesc op) = 0;

    // Blocks until every write to var pushed so far has completed. Rethrows the first
    // error of any op (or Cancelled) once it has been raised, after every op pushed so far
    // has completed or been dropped.
    virtual void wait_to_read(const Var& var) = 0;

    // Blocks until every op pushed so far has completed or been dropped; rethrows.
    virtual void wait_all() = 0;

    // Ops not yet started are dropped; running ops finish; waits throw Cancelled.
    virtual void cancel() = 0;

    // Forgets a kept error or cancel (after wait_all), so the engine can be reused.
    virtual void reset() = 0;

    // Number of ops pushed and not yet completed or dropped (the synchronous engine: the
    // op its push is running, if any).
    virtual size_t pending() const = 0;

    virtual int num_devices() const = 0;
    virtual EngineKind kind() const = 0;
};

std::unique_ptr<Engine> make_engine(EngineKind kind, int num_devices, EventStream* trace);

} // namespace gpulab
