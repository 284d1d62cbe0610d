// The ranks' rendezvous: rank 0 serves a small key-value store over TCP (KvServer); every
// rank, rank 0 included, talks to it through a KvClient. The store admits a rank only with
// the job's token, a rank number in range that no other process holds, and the same settings
// as rank 0; each refusal is an Error naming what differs. After that it carries Gloo's
// rendezvous keys (set / get / wait with a timeout) and, for the rest of the job, who failed
// first: a rank that reports a failure, or whose connection drops without saying goodbye.
// Plain POSIX sockets; no Gloo, no Qt.
#pragma once

#include "error/error.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace gpulab {

// A rank that has joined sends a heartbeat every second; rank 0's store marks one silent
// this long failed, and a rank whose store is silent this long past its answer loses it.
constexpr std::chrono::milliseconds kSilence{10000};

// What the store checks a joining rank against.
struct RankJob {
    std::string token;
    int world = 1;
    // Rank 0's settings, "name=value" per line; a rank whose lines differ is refused.
    std::string settings;
};

// Whether a rank may join `job`: its token, world and settings against rank 0's (not whether
// another process holds the number already: the store knows that). Code None when it may.
Error admit_rank(const RankJob& job, const std::string& token, int rank, int world, const std::string& settings);

// "HOST:PORT" -> {host, port}; false when it is not that shape (port 1..65535).
bool split_host_port(const std::string& s, std::string* host, int* port);

// True for an address that means "every interface" (0.0.0.0, ::): a place to listen, not
// one another machine can be told to connect to.
bool is_wildcard_host(const std::string& host);

// An address of this machine that other machines can reach it by, for when nobody said
// which: the host name's own address unless it is a loopback one (Debian maps the host name
// to 127.0.1.1), else the first IPv4 address of an interface that is up and not loopback,
// else 127.0.0.1 (a machine without a network: only its own ranks can reach it). *how (if
// given) says which of those it was, in English.
std::string machine_address(std::string* how = nullptr);

class KvServer {
public:
    // Listens on host:port (only that address; port 0 picks a free one). Throws GpulabError:
    // RankPortInUse, RankCannotListen.
    KvServer(const std::string& host, int port, RankJob job);
    ~KvServer();
    KvServer(const KvServer&) = delete;
    KvServer& operator=(const KvServer&) = delete;

    int port() const { return m_port; }
    // Called (from a server thread) with each refusal, for rank 0 to print.
    std::function<void(const Error&)> on_refusal;
    // Waits until every rank has said goodbye or dropped, or a failure is known, at most
    // `timeout`; ends sooner once `stop` (when given; asked every tenth of a second) says so.
    void wait_for_goodbyes(std::chrono::milliseconds timeout, const std::function<bool()>& stop = {});

private:
    struct Conn;
    void accept_loop();
    void serve(std::shared_ptr<Conn> c);
    Error admit(const std::string& token, int rank, int world, const std::string& settings);
    void mark_failed(int rank, const std::string& why); // the first one is kept
    void check_silence();

    RankJob m_job;
    int m_listen = -1;
    int m_port = 0;
    std::atomic<bool> m_stop{false};
    std::thread m_accept;
    std::mutex m_mutex;
    std::condition_variable m_cv;
    std::map<std::string, std::vector<char>> m_kv;
    std::map<int, int> m_joined; // rank -> 1 joined, 2 said goodbye or dropped
    std::vector<std::shared_ptr<Conn>> m_conns;
    std::vector<std::thread> m_threads;
};

class KvClient {
public:
    // Connects to host:port, trying again until `timeout` has passed. Throws GpulabError
    // RankMasterUnreachable, or Stopped once `stop` (when given) says so between tries.
    KvClient(const std::string& host, int port, std::chrono::milliseconds timeout,
             const std::function<bool()>& stop = {});
    ~KvClient();
    KvClient(const KvClient&) = delete;
    KvClient& operator=(const KvClient&) = delete;

    // Joins the job; a refusal comes back as the store's Error (code None when admitted).
    Error hello(const std::string& token, int rank, int world, const std::string& settings);
    // The store's operations. Throw GpulabError RankMasterLost when the store is gone.
    void set(const std::string& key, const std::vector<char>& value);
    std::optional<std::vector<char>> get(const std::string& key, std::chrono::milliseconds timeout);
    bool wait(const std::vector<std::string>& keys, std::chrono::milliseconds timeout);
    // This rank failed (why: in English); the first failure of the job is kept.
    void fail(int rank, const std::string& why);
    void goodbye();
    // The job's first failure: {rank, why}, waiting up to `timeout` for one to be known.
    // Rank 0 itself when the store cannot be reached (rank 0 serves it).
    std::optional<std::pair<int, std::string>> first_failure(std::chrono::milliseconds timeout);
    // This end's address on the connection to the store: an address the other ranks can
    // reach this machine by.
    std::string local_address() const { return m_local; }

private:
    // One request and its answer, within `wait` (a get/wait's own time) + kSilence.
    std::vector<char> request(const std::vector<char>& msg, std::chrono::milliseconds wait = {});
    void start_heartbeat();
    void stop_heartbeat();
    std::string m_master;
    std::string m_local;
    std::chrono::milliseconds m_timeout;
    int m_fd = -1;
    bool m_lost = false; // under m_mutex
    std::mutex m_mutex;
    std::thread m_beat;  // heartbeats, once joined
    std::mutex m_beat_mutex;
    std::condition_variable m_beat_cv;
    bool m_beat_stop = false;
};

} // namespace gpulab
