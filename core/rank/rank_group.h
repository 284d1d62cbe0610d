// A job of several ranks, each a process with its own devices: how a rank joins one
// (RankOptions, join_ranks) and what the trainer asks of the others (RankGroup). Rank 0
// serves the rendezvous (kv_store.h); Gloo carries the collectives between CPU ranks. No Qt.
#pragma once

#include "error/error.h"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>

namespace gpulab {

class Device;
struct FashionMnist;
struct TrainConfig;

struct RankOptions {
    int world = 1;              // ranks in the job
    int rank = 0;               // this process's
    std::string master;         // HOST:PORT where rank 0 serves the rendezvous
    std::string token;          // the job's; rank 0 makes a random one when empty
    std::chrono::milliseconds timeout{60000}; // joining, and each collective
    std::string rendezvous;     // "" (TCP on master) or "file:DIR" (Gloo's FileStore)
    // The address the other ranks reach this process's machine by (never a wildcard). Empty:
    // with a TCP rendezvous, rank 0 takes --master's host (or, when that is a wildcard, the
    // machine's own address: machine_address()) and the others the address they reach rank 0
    // from; with a file rendezvous, every rank takes the machine's own address.
    std::string advertise;
    // Asked between the slices of every wait while joining (a tenth of a second each): once
    // it returns true, join_ranks and RankEvents' wait for the event streams give up with
    // ErrorCode::Stopped instead of waiting out the timeout (the lab's Stop). Empty: never.
    // While Gloo's connections are made it is asked from a thread of join_ranks' own (joined
    // before join_ranks returns), so it must be safe to call from another thread.
    std::function<bool()> stop_requested;
    // How long a rank leaving the job (RankGroup::finish) waits for the others' goodbyes: rank 0
    // of a TCP rendezvous (it serves the store), every rank of a folder's (a rank gone early
    // could close its connections, or let the folder be removed, while another still reads
    // it). A failure known to the rendezvous, or a stop, ends the wait sooner.
    std::chrono::milliseconds goodbye_wait{5000};
};

// True when this build can run ranks in separate processes (Gloo was found); otherwise why
// not in *why.
bool ranks_available(std::string* why = nullptr);

// A random token: 16 hex digits.
std::string random_token();

// What every rank must share with rank 0, "name=value" per line: the backend, the model, the
// global batch, lr, seed, mode, epochs, devices per rank, subsets and the training set's
// fingerprint.
std::string rank_settings_text(const TrainConfig& c, const FashionMnist& data);

class RankGroup {
public:
    virtual ~RankGroup() = default;
    virtual int rank() const = 0;
    virtual int world() const = 0;
    // Element-wise sum over every rank, in place. Throws GpulabError (RankLost naming the
    // rank that stopped first) when another rank is gone or the timeout passes.
    virtual void allreduce_sum(float* data, size_t count) = 0;
    // Rank 0's values to every rank, in place. Throws as allreduce_sum.
    virtual void broadcast_from_rank0(float* data, size_t count) = 0;
    // This rank failed (the error in English): the others are told who failed first.
    virtual void report_failure(const std::string& why) = 0;
    // This rank is done: it says goodbye, and rank 0 (with a folder's rendezvous, every rank)
    // waits for the others' (RankOptions::goodbye_wait at most).
    virtual void finish() = 0;
    // Seconds spent in allreduce_sum so far.
    virtual double allreduce_seconds() const = 0;

    // ---- what else the ranks exchange (rank_events.h) ----
    // A key of the rendezvous: set by one rank, read by the others (get waits up to the
    // job's timeout). Throw GpulabError when the rendezvous is gone or the time is up.
    virtual void store_set(const std::string& key, const std::string& value);
    virtual std::string store_get(const std::string& key);
    // The key's value if it is set now (no wait); nothing when it is not, or the rendezvous
    // is gone.
    virtual std::optional<std::string> store_try_get(const std::string& key)
    {
        (void)key;
        return std::nullopt;
    }
    // The address the other ranks reach this process's machine by: its collectives listen
    // there (never a wildcard).
    virtual std::string host() const { return "127.0.0.1"; }
    // Rank 0: where it listens for the other ranks' event streams (rank_events.h): exactly
    // the address asked for: --master's host with a TCP rendezvous (a wildcard such as
    // 0.0.0.0 when that was asked), the advertised address with a file rendezvous.
    virtual std::string events_host() const { return host(); }
    // The host this rank reaches rank 0's rendezvous by (--master's); it stands in for a
    // wildcard address that rank 0 publishes. Empty with a file rendezvous.
    virtual std::string master_host() const { return {}; }
    virtual std::string token() const { return {}; }
    virtual std::chrono::milliseconds timeout() const { return std::chrono::milliseconds(60000); }
    // RankOptions::stop_requested: true once whoever started the job wants it to stop.
    virtual bool stop_requested() const { return false; }
    // The run failed here: stop taking part in collectives now, so that the other ranks'
    // waits end at once instead of at the timeout.
    virtual void leave() {}
    // The job's first failure {rank, why} if one is known now (does not wait for one). A
    // rank silent for kSilence (kv_store.h) counts as failed; so does rank 0 when its store
    // is lost.
    virtual std::optional<std::pair<int, std::string>> failure() { return std::nullopt; }

    // ---- GPU ranks (nccl_rank.h) ----
    // The GPU of this rank's first device (its others follow it); -1 for CPU ranks.
    virtual int first_gpu() const { return -1; }
    // Sums `count` floats at `data` on `device` (this rank's first device) over every rank in
    // place, and `value` (host) with them. False where the ranks sum on the host
    // (allreduce_sum). Throws as allreduce_sum.
    virtual bool device_allreduce_sum(Device& device, float* data, size_t count, float* value)
    {
        (void)device, (void)data, (void)count, (void)value;
        return false;
    }
};

// Joins the job: rank 0 serves the rendezvous, every rank checks in with the token and its
// settings, then the ranks connect to one another. Throws GpulabError: RanksNotBuilt,
// RankPortInUse, RankCannotListen, RankMasterUnreachable, a refusal (RankBadToken,
// RankOutOfRange, RankTaken, RankWorldDiffers, RankSettingDiffers), RankJoinTimeout, RankLost
// (another rank failed, or is known gone, while the ranks connect), and Stopped once
// o.stop_requested() says so.
// `on_refusal` (rank 0) hears each rank the rendezvous turned away.
std::unique_ptr<RankGroup> join_ranks(const RankOptions& o, const std::string& settings,
                                      std::function<void(const Error&)> on_refusal = {});

} // namespace gpulab
