// A job's events in one stream: every rank other than 0 streams its events to rank 0 over
// TCP, as a recording (record/recording.h: the same header, records and zlib stream as a
// file); rank 0 merges them with its own into the job's stream, every device numbered
// globally and every time on rank 0's clock. No Qt.
//
// Use (the CLI's train, and the lab when it runs rank 0):
//     auto group = join_ranks(opts, settings);
//     EventStream local, job;          // the trainer writes local; views/exports read job
//     RankEvents relay(*group, local, job, cfg.devices, header);
//     Trainer t(cfg, data, local); t.set_ranks(group.get()); t.run();
//     relay.finish(std::chrono::seconds(10)); // rank 0: every rank's last events are in job
// On rank 0 `job` holds: rank 0's RunBegin first (its devices = the job's), every rank's
// device events (rank r's device d is global device r * devices + d), the job's losses and
// epochs (rank 0's: the other ranks' copies are left out), the other ranks' logs and errors
// prefixed with their rank, and rank 0's RunEnd last. On the other ranks `job` stays empty.
//
// Connection: rank 0 listens on RankGroup::events_host() (--master's host, a wildcard only
// when --master is one; with a file rendezvous the advertised address) and publishes
// "HOST:PORT" under the rendezvous key "gpulab-events". A rank connects there, or, when HOST
// is a wildcard, to the host it reaches the rendezvous by (RankGroup::master_host()), and
// says hello with its rank and the job's token; rank 0 refuses a wrong token or rank and
// keeps waiting for the right one.
//
// Clocks: each process counts microseconds from its own start; machines' clocks are never
// compared. When a rank connects, rank 0 sends it 8 pings of its clock; the rank answers each
// with its own; from the ping with the shortest round trip, offset = t_rank - (t_send +
// t_back) / 2, and every time from that rank is moved by -offset. The error is at most half
// that round trip (tens of microseconds on loopback, well under a millisecond on a LAN);
// drift over a run (a few ppm) is not corrected.
#pragma once

#include "record/recording.h"
#include "trace/event_stream.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace gpulab {

class RankGroup;

class RankEvents {
public:
    // Connects the ranks' event streams: rank 0 waits (up to the group's timeout) until every
    // other rank has connected and its clock is measured; the others connect to it. `header`
    // is what a rank's stream says of it (RecordingHeader::for_run). Throws GpulabError
    // (RankCannotListen, RankJoinTimeout, RankMasterLost).
    RankEvents(RankGroup& group, EventStream& local, EventStream& job, int devices_per_rank,
               const RecordingHeader& header);
    ~RankEvents(); // finish(0) when not finished
    RankEvents(const RankEvents&) = delete;
    RankEvents& operator=(const RankEvents&) = delete;

    // Global device number of rank r's local device d.
    int global_device(int rank, int d) const { return rank * m_devices + d; }
    // The clock offset measured for rank r, microseconds (0 for rank 0 and until measured).
    double clock_offset_us(int rank) const;

    // The run is over on this rank. Rank 0: waits until every other rank's stream has ended
    // (its run ended, or its process or connection is gone), at most `timeout`, then puts
    // the last events and rank 0's RunEnd into the job. Other ranks: send what is left and
    // close the stream. Returns the ranks whose streams did not end in time (rank 0).
    std::vector<int> finish(std::chrono::milliseconds timeout);

private:
    struct Peer;
    void pump(bool final);          // rank 0: local and received events into the job
    void receive(Peer& p);          // rank 0: one rank's stream, on its own thread
    void send_loop();               // other ranks: local events to rank 0
    void send_some(bool final);

    RankGroup& m_group;
    EventStream& m_local;
    EventStream& m_job;
    int m_devices = 1;
    int m_rank = 0;
    int m_world = 1;
    std::atomic<bool> m_stop{false};
    bool m_finished = false;
    std::thread m_thread; // rank 0: the pump; others: the sender

    // rank 0
    std::mutex m_mutex;
    std::condition_variable m_cv;
    std::vector<std::unique_ptr<Peer>> m_peers;
    std::vector<Event> m_pending;                     // received, not yet in the job (under m_mutex)
    std::vector<std::shared_ptr<const Snapshot>> m_pending_snaps; // their snapshots, by event
    size_t m_local_cursor = 0;
    bool m_begun = false;                             // rank 0's RunBegin is in the job
    std::vector<Event> m_held;                        // rank 0's RunEnd, until the end
    std::mutex m_pump_mutex;

    // other ranks
    int m_fd = -1;
    std::unique_ptr<RecordingWriter> m_writer;
    size_t m_send_cursor = 0;
};

} // namespace gpulab
