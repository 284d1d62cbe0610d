// Joining a job of ranks, and the collectives between them over Gloo (when it was found at
// configure time; otherwise join_ranks says that this build has no ranks).
#include "rank/rank_group.h"

#include "data/fashion_mnist.h"
#include "model/lenet.h"
#include "rank/kv_store.h"
#include "train/train_config.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fcntl.h>
#include <optional>
#include <random>
#include <sstream>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

#ifdef GPULAB_HAVE_GLOO
#include <gloo/allreduce.h>
#include <gloo/broadcast.h>
#include <gloo/math.h>
#include <gloo/rendezvous/context.h>
#include <gloo/rendezvous/file_store.h>
#include <gloo/rendezvous/prefix_store.h>
#include <gloo/rendezvous/store.h>
#include <gloo/transport/context.h>
#include <gloo/transport/device.h>
#include <gloo/transport/pair.h>
#include <gloo/transport/tcp/device.h>

#include <cerrno>
#include <condition_variable>
#include <mutex>
#include <system_error>
#endif

namespace gpulab {

namespace {

using Clock = std::chrono::steady_clock;

// FNV-1a over bytes
uint64_t fnv(uint64_t h, const void* p, size_t n)
{
    const auto* b = static_cast<const unsigned char*>(p);
    for (size_t i = 0; i < n; ++i) {
        h ^= b[i];
        h *= 1099511628211ull;
    }
    return h;
}

std::string hex(uint64_t v)
{
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
    return buf;
}

std::string text_of(double v)
{
    std::ostringstream o;
    o.precision(17);
    o << v;
    return o.str();
}

} // namespace

std::string random_token()
{
    std::random_device rd;
    const uint64_t v = (static_cast<uint64_t>(rd()) << 32) ^ rd();
    return hex(v);
}

std::string rank_settings_text(const TrainConfig& c, const FashionMnist& data)
{
    const int64_t train_count = c.train_subset > 0 ? std::min(c.train_subset, data.train.count) : data.train.count;
    const int64_t test_count = c.test_subset > 0 ? std::min(c.test_subset, data.test.count) : data.test.count;
    uint64_t h = 1469598103934665603ull;
    h = fnv(h, data.train.images.data(), static_cast<size_t>(train_count * kImagePixels) * sizeof(float));
    h = fnv(h, data.train.labels.data(), static_cast<size_t>(train_count) * sizeof(data.train.labels[0]));
    h = fnv(h, data.test.images.data(), static_cast<size_t>(test_count * kImagePixels) * sizeof(float));
    h = fnv(h, data.test.labels.data(), static_cast<size_t>(test_count) * sizeof(data.test.labels[0]));
    std::ostringstream o;
    o << "backend=" << backend_name(c.backend) << "\n"
      << "model=lenet\n"
      << "batch_size=" << c.batch_size << "\n"
      << "lr=" << text_of(c.lr) << "\n"
      << "seed=" << c.seed << "\n"
      << "mode=" << exec_mode_name(c.mode) << "\n"
      << "inflight=" << c.inflight << "\n"
      << "epochs=" << c.epochs << "\n"
      << "devices=" << c.devices << "\n"
      << "train_images=" << train_count << "\n"
      << "test_images=" << test_count << "\n"
      << "dataset=" << hex(h) << "\n";
    return o.str();
}

void RankGroup::store_set(const std::string&, const std::string&)
{
    throw GpulabError(other_error("this group of ranks has no rendezvous store"));
}

std::string RankGroup::store_get(const std::string&)
{
    throw GpulabError(other_error("this group of ranks has no rendezvous store"));
}

#ifndef GPULAB_HAVE_GLOO

bool ranks_available(std::string* why)
{
    if (why)
        *why = "built without Gloo (libgloo-dev)";
    return false;
}

std::unique_ptr<RankGroup> join_ranks(const RankOptions&, const std::string&, std::function<void(const Error&)>)
{
    throw GpulabError(Error(ErrorCode::RanksNotBuilt));
}

#else

bool ranks_available(std::string*)
{
    return true;
}

namespace {

// A wait while joining is cut into slices this long, so that a stop is heard between them.
constexpr std::chrono::milliseconds kSlice{100};

using StopFn = std::function<bool()>;

[[noreturn]] void throw_join_timeout(std::chrono::milliseconds timeout)
{
    const auto secs = std::chrono::duration_cast<std::chrono::seconds>(timeout).count();
    throw GpulabError(Error(ErrorCode::RankJoinTimeout, {{"seconds", std::to_string(secs)}}));
}

// The first failure the rendezvous knows of, {rank, why}, without waiting; nothing when none.
using FailedFn = std::function<std::optional<std::pair<int, std::string>>()>;

// Calls `ready(slice)` (true when what it waits for is there, having waited at most `slice`)
// until it is true; throws Stopped once `stop` says so, RankLost naming the rank once
// `failed` (when given) knows of a failure, RankJoinTimeout after `timeout`.
template <class Ready>
void wait_in_slices(Ready ready, std::chrono::milliseconds timeout, const StopFn& stop, const FailedFn& failed = {})
{
    const auto deadline = Clock::now() + timeout;
    for (;;) {
        if (stop && stop())
            throw GpulabError(Error(ErrorCode::Stopped));
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        if (ready(std::clamp(left, std::chrono::milliseconds(0), kSlice)))
            return;
        if (failed)
            if (const auto f = failed())
                throw GpulabError(Error(ErrorCode::RankLost, {{"rank", std::to_string(f->first)}, {"why", f->second}}));
        if (Clock::now() >= deadline)
            throw_join_timeout(timeout);
    }
}

// Where a rank meets the others and learns who failed: the TCP store or a shared folder.
class Meeting {
public:
    virtual ~Meeting() = default;
    virtual gloo::rendezvous::Store& store() = 0;
    // This rank's address for the others: Gloo listens there and publishes it.
    virtual std::string local_address() = 0;
    // Rank 0: where its event listener listens (RankGroup::events_host).
    virtual std::string events_host() = 0;
    virtual std::string master_host() { return {}; }
    virtual std::optional<std::pair<int, std::string>> first_failure(std::chrono::milliseconds t) = 0;
    // A key's value if it is set now, without waiting (RankGroup::store_try_get).
    virtual std::optional<std::vector<char>> try_get(const std::string& key) = 0;
    virtual void fail(int rank, const std::string& why) = 0;
    virtual void finish(std::chrono::milliseconds) {}
};

// Gloo's Store over our TCP store (keys under "gloo/"). Its waits go in slices, so that a
// stop is heard while the other ranks are awaited, and so is a rank the store knows failed
// (one that reported a failure, or whose connection closed without a goodbye, perhaps
// before it published what is awaited): the wait ends naming it.
class TcpStore : public gloo::rendezvous::Store {
public:
    TcpStore(KvClient& c, std::chrono::milliseconds timeout, StopFn stop)
        : m_client(c), m_timeout(timeout), m_stop(std::move(stop)),
          m_failed([&c] { return c.first_failure(std::chrono::milliseconds(0)); })
    {
    }
    void set(const std::string& key, const std::vector<char>& data) override { m_client.set("gloo/" + key, data); }
    std::vector<char> get(const std::string& key) override
    {
        std::optional<std::vector<char>> v;
        wait_in_slices([&](std::chrono::milliseconds slice) { return (v = m_client.get("gloo/" + key, slice)).has_value(); },
                       m_timeout, m_stop, m_failed);
        return *v;
    }
    void wait(const std::vector<std::string>& keys) override { wait(keys, m_timeout); }
    void wait(const std::vector<std::string>& keys, const std::chrono::milliseconds& timeout) override
    {
        std::vector<std::string> k;
        for (const auto& key : keys)
            k.push_back("gloo/" + key);
        wait_in_slices([&](std::chrono::milliseconds slice) { return m_client.wait(k, slice); }, timeout, m_stop,
                       m_failed);
    }

private:
    KvClient& m_client;
    std::chrono::milliseconds m_timeout;
    StopFn m_stop;
    FailedFn m_failed;
};

class TcpMeeting : public Meeting {
public:
    TcpMeeting(const RankOptions& o, const std::string& settings, std::function<void(const Error&)> on_refusal)
    {
        std::string host;
        int port = 0;
        if (!split_host_port(o.master, &host, &port))
            throw GpulabError(Error(ErrorCode::RankCannotListen, {{"address", o.master}, {"why", "not HOST:PORT"}}));
        if (o.rank == 0) {
            m_server = std::make_unique<KvServer>(host, port, RankJob{o.token, o.world, settings});
            m_server->on_refusal = std::move(on_refusal);
        }
        m_client = std::make_unique<KvClient>(host, port, o.timeout, o.stop_requested);
        if (Error refused = m_client->hello(o.token, o.rank, o.world, settings))
            throw GpulabError(refused);
        m_store = std::make_unique<TcpStore>(*m_client, o.timeout, o.stop_requested);
        m_stop = o.stop_requested;
        m_master_host = host;
        // Rank 0 listens where --master says, also for its collectives; where that is a
        // wildcard, they need one address to publish: the advertised one, else the machine's.
        // The others: the address they reach rank 0 from (the kernel picks the interface).
        if (!o.advertise.empty())
            m_address = o.advertise;
        else if (o.rank == 0)
            m_address = is_wildcard_host(host) ? machine_address() : host;
        else
            m_address = m_client->local_address();
    }
    gloo::rendezvous::Store& store() override { return *m_store; }
    std::string local_address() override { return m_address; }
    std::string events_host() override { return m_master_host; }
    std::string master_host() override { return m_master_host; }
    std::optional<std::pair<int, std::string>> first_failure(std::chrono::milliseconds t) override
    {
        return m_client->first_failure(t);
    }
    std::optional<std::vector<char>> try_get(const std::string& key) override
    {
        return m_client->get("gloo/" + key, std::chrono::milliseconds(0)); // as TcpStore names it
    }
    void fail(int, const std::string& why) override
    {
        try {
            m_client->fail(0, why);
        } catch (const GpulabError&) {
        }
    }
    void finish(std::chrono::milliseconds t) override
    {
        try {
            m_client->goodbye();
        } catch (const GpulabError&) {
        }
        if (m_server)
            m_server->wait_for_goodbyes(t, m_stop); // a stop ends it
    }

private:
    std::unique_ptr<KvServer> m_server;
    std::unique_ptr<KvClient> m_client;
    std::unique_ptr<TcpStore> m_store;
    StopFn m_stop;
    std::string m_master_host;
    std::string m_address;
};

// Gloo's FileStore, and a look at whether keys are there that does not wait (its wait()
// takes a timeout of 0 as "no timeout" and sleeps until the keys come). Its waits look every
// 10 ms, as Gloo's own, and hear a stop between looks.
class FolderStore : public gloo::rendezvous::FileStore {
public:
    FolderStore(const std::string& dir, std::chrono::milliseconds timeout, StopFn stop)
        : FileStore(dir), m_timeout(timeout), m_stop(std::move(stop))
    {
    }
    bool has(const std::vector<std::string>& keys) { return check(keys); }
    void wait(const std::vector<std::string>& keys) override { wait(keys, m_timeout); }
    void wait(const std::vector<std::string>& keys, const std::chrono::milliseconds& timeout) override
    {
        wait_in_slices(
            [&](std::chrono::milliseconds) {
                if (check(keys))
                    return true;
                std::this_thread::sleep_for(std::chrono::milliseconds(10));
                return false;
            },
            timeout, m_stop);
    }

private:
    std::chrono::milliseconds m_timeout;
    StopFn m_stop;
};

// Gloo's FileStore on a folder every rank can read and write. Each rank checks in with its
// token and settings ("hello-R"); rank 0 answers each ("verdict-R"). A rank claims its
// number with a file created exclusively, so two processes cannot both be rank R.
class FileMeeting : public Meeting {
public:
    FileMeeting(const RankOptions& o, const std::string& dir, const std::string& settings,
                std::function<void(const Error&)> on_refusal)
        : m_dir(dir), m_rank(o.rank), m_world(o.world), m_timeout(o.timeout), m_stop(o.stop_requested),
          m_files(dir, o.timeout, o.stop_requested), m_address(o.advertise.empty() ? machine_address() : o.advertise)
    {
        struct stat st{};
        if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
            throw GpulabError(Error(ErrorCode::RankCannotListen, {{"address", "file:" + dir}, {"why", "not a folder"}}));
        const std::string r = std::to_string(o.rank);
        if (o.rank < 0 || o.rank >= o.world)
            throw GpulabError(Error(ErrorCode::RankOutOfRange,
                                    {{"rank", r}, {"last", std::to_string(o.world - 1)}, {"world", std::to_string(o.world)}}));
        const std::string claim = dir + "/gpulab-rank-" + r;
        const int fd = ::open(claim.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0644);
        if (fd < 0)
            throw GpulabError(Error(ErrorCode::RankTaken, {{"rank", r}}));
        ::close(fd);
        m_files.set("hello-" + r, bytes(o.token + "\n" + std::to_string(o.world) + "\n" + settings));
        if (o.rank == 0) {
            const RankJob job{o.token, o.world, settings};
            for (int other = 0; other < o.world; ++other) {
                const std::string key = "hello-" + std::to_string(other);
                wait_key(key);
                const std::vector<char> v = m_files.get(key);
                const std::string text(v.begin(), v.end());
                const auto nl1 = text.find('\n');
                const auto nl2 = nl1 == std::string::npos ? nl1 : text.find('\n', nl1 + 1);
                Error verdict;
                if (nl2 == std::string::npos) {
                    verdict = Error(ErrorCode::RankBadToken, {{"rank", std::to_string(other)}});
                } else {
                    int world = 0;
                    try {
                        world = std::stoi(text.substr(nl1 + 1, nl2 - nl1 - 1));
                    } catch (...) {
                    }
                    verdict = admit_rank(job, text.substr(0, nl1), other, world, text.substr(nl2 + 1));
                }
                std::string out = verdict ? error_code_name(verdict.code) : "ok";
                for (const auto& [k, val] : verdict.facts)
                    out += "\n" + k + "\n" + val;
                m_files.set("verdict-" + std::to_string(other), bytes(out));
                if (verdict && on_refusal)
                    on_refusal(verdict);
            }
        }
        const std::string key = "verdict-" + r;
        wait_key(key);
        const std::vector<char> v = m_files.get(key);
        std::vector<std::string> parts;
        std::string cur;
        for (char ch : v) {
            if (ch == '\n') {
                parts.push_back(cur);
                cur.clear();
            } else {
                cur += ch;
            }
        }
        parts.push_back(cur);
        if (parts[0] != "ok") {
            Error e(error_code_from_name(parts[0]));
            if (e.code == ErrorCode::None)
                e.code = ErrorCode::Other;
            for (size_t i = 1; i + 1 < parts.size(); i += 2)
                e.facts.push_back({parts[i], parts[i + 1]});
            throw GpulabError(e);
        }
    }
    gloo::rendezvous::Store& store() override { return m_files; }
    std::string local_address() override { return m_address; }
    std::string events_host() override { return m_address; }
    std::optional<std::pair<int, std::string>> first_failure(std::chrono::milliseconds t) override
    {
        try {
            if (t.count() <= 0) {
                if (!m_files.has({"gpulab-failed"}))
                    return std::nullopt;
            } else {
                m_files.wait({"gpulab-failed"}, t);
            }
            const std::vector<char> v = m_files.get("gpulab-failed");
            const std::string s(v.begin(), v.end());
            const auto nl = s.find('\n');
            return std::make_pair(std::stoi(s.substr(0, nl)), nl == std::string::npos ? std::string() : s.substr(nl + 1));
        } catch (const std::exception&) {
            return std::nullopt;
        }
    }
    std::optional<std::vector<char>> try_get(const std::string& key) override
    {
        if (!m_files.has({key}))
            return std::nullopt;
        return m_files.get(key);
    }
    void fail(int rank, const std::string& why) override
    {
        try {
            m_files.set("gpulab-failed", bytes(std::to_string(rank) + "\n" + why));
        } catch (const std::exception&) {
        }
    }
    // Says goodbye ("bye-R"), then waits until every rank has, or a failure is known, at most
    // `t` and no longer once a stop is asked: nobody serves this rendezvous, so no rank may
    // leave (closing its connections, or letting the folder go) while another still needs it.
    void finish(std::chrono::milliseconds t) override
    {
        try {
            m_files.set("bye-" + std::to_string(m_rank), bytes("bye"));
            std::vector<std::string> all;
            for (int r = 0; r < m_world; ++r)
                all.push_back("bye-" + std::to_string(r));
            const auto deadline = Clock::now() + t;
            while (!m_files.has(all) && !m_files.has({"gpulab-failed"})) {
                if (Clock::now() >= deadline || (m_stop && m_stop()))
                    return;
                std::this_thread::sleep_for(std::chrono::milliseconds(10)); // as Gloo's FileStore looks
            }
        } catch (const std::exception&) { // the folder is gone: nobody is left to wait for
        }
    }

private:
    static std::vector<char> bytes(const std::string& s) { return {s.begin(), s.end()}; }
    void wait_key(const std::string& key)
    {
        try {
            m_files.wait({key}, m_timeout);
        } catch (const GpulabError&) { // stopped, or the time is up
            throw;
        } catch (const std::exception&) {
            throw_join_timeout(m_timeout);
        }
    }
    std::string m_dir;
    int m_rank, m_world;
    std::chrono::milliseconds m_timeout;
    StopFn m_stop;
    FolderStore m_files;
    std::string m_address;
};

// Gloo's context, its pairs connected as Gloo's rendezvous::Context::connectFullMesh does
// (the same keys, in the same order), except that a stop, or a failure the rendezvous knows
// of, is heard while a pair connects. Gloo's pair connect waits for the other side without
// asking anything: a peer that published its address and then vanished before connecting to
// this rank held it for 5 times the job's timeout. Here a watcher thread, joined before
// connect() returns, asks `stop` and then `failed` every slice while a pair connects; once
// one says so it closes the pairs (Gloo's Pair::close, which wakes the connect), and
// connect() throws Stopped, or std::runtime_error for a failure (the group names the rank).
class MeshContext : public gloo::Context {
public:
    MeshContext(int rank, int size) : gloo::Context(rank, size) {}

    void connect(gloo::rendezvous::Store& store, const std::shared_ptr<gloo::transport::Device>& dev,
                 const StopFn& stop, const std::function<bool()>& failed)
    {
        // the host of every rank, to number the ranks on one machine (as Gloo does)
        char name[256] = {};
        if (::gethostname(name, sizeof name - 1) != 0)
            throw std::system_error(errno, std::system_category(), "gethostname");
        const std::string host(name);
        store.set("rank_" + std::to_string(rank), std::vector<char>(host.begin(), host.end()));
        int local_rank = 0;
        for (int i = 0; i < rank; ++i) {
            const std::vector<char> other = store.get("rank_" + std::to_string(i));
            local_rank += std::string(other.begin(), other.end()) == host;
        }

        std::shared_ptr<gloo::transport::Context> tc = dev->createContext(rank, size);
        tc->setTimeout(getTimeout());
        std::vector<char> mine;
        std::vector<gloo::transport::Pair*> pairs;
        for (int i = 0; i < size; ++i) {
            if (i == rank)
                continue;
            auto& pair = tc->createPair(i);
            pair->setLocalRank(local_rank);
            const std::vector<char> a = pair->address().bytes();
            mine.insert(mine.end(), a.begin(), a.end());
            pairs.push_back(pair.get());
        }
        store.set(std::to_string(rank), mine);

        Watch watch(pairs, stop, failed); // joined before tc goes
        for (int i = 0; i < size; ++i) {
            if (i == rank)
                continue;
            store.wait({std::to_string(i)}, getTimeout()); // our stores hear a stop themselves
            std::vector<char> all = store.get(std::to_string(i));
            // the peer's list holds an address for every rank but itself
            const size_t each = all.size() / static_cast<size_t>(size - 1);
            const size_t at = static_cast<size_t>(rank > i ? rank - 1 : rank) * each;
            if (each == 0 || all.size() % static_cast<size_t>(size - 1) != 0)
                throw std::runtime_error("rank " + std::to_string(i) + " published an address list of " +
                                         std::to_string(all.size()) + " bytes");
            const std::vector<char> peer(all.begin() + static_cast<std::ptrdiff_t>(at),
                                         all.begin() + static_cast<std::ptrdiff_t>(at + each));
            watch.connecting(true);
            try {
                tc->getPair(i)->connect(peer);
            } catch (const std::exception&) {
                watch.connecting(false);
                watch.throw_if_ended();
                throw;
            }
            watch.connecting(false);
            watch.throw_if_ended(); // the pair was closed, not connected
        }
        watch.finish();
        device_ = dev;
        transportContext_ = std::move(tc);
    }

private:
    // Asks `stop`, then `failed`, every slice while a pair connects; once one says so, closes
    // every pair and keeps doing so (a pair closed just before its connect began may open a
    // new socket) until the connect has returned.
    class Watch {
    public:
        Watch(std::vector<gloo::transport::Pair*> pairs, const StopFn& stop, const std::function<bool()>& failed)
            : m_pairs(std::move(pairs)), m_stop(stop), m_failed(failed), m_thread([this] { run(); })
        {
        }
        ~Watch() { finish(); }
        Watch(const Watch&) = delete;
        Watch& operator=(const Watch&) = delete;
        void connecting(bool now)
        {
            std::lock_guard lock(m_mutex);
            m_connecting = now;
            m_cv.notify_all();
        }
        // Throws what ended the connect, if anything did.
        void throw_if_ended()
        {
            std::lock_guard lock(m_mutex);
            if (m_ended == Ended::Stopped)
                throw GpulabError(Error(ErrorCode::Stopped));
            if (m_ended == Ended::Failed)
                throw std::runtime_error("another rank failed while the ranks connected");
        }
        void finish()
        {
            {
                std::lock_guard lock(m_mutex);
                m_done = true;
            }
            m_cv.notify_all();
            if (m_thread.joinable())
                m_thread.join();
        }

    private:
        enum class Ended { No, Stopped, Failed };
        void run()
        {
            std::unique_lock lock(m_mutex);
            while (!m_done) {
                m_cv.wait_for(lock, kSlice);
                if (m_done || !m_connecting)
                    continue;
                if (m_ended == Ended::No) {
                    lock.unlock();
                    Ended ended = Ended::No;
                    if (m_stop && m_stop())
                        ended = Ended::Stopped;
                    else if (m_failed && m_failed())
                        ended = Ended::Failed;
                    lock.lock();
                    if (ended == Ended::No || m_done)
                        continue;
                    m_ended = ended;
                }
                if (!m_connecting)
                    continue;
                // under the lock: the connect goes on until connecting(false), and the pairs
                // outlive this thread; Pair::close takes only the pair's own lock
                for (gloo::transport::Pair* p : m_pairs)
                    p->close();
            }
        }
        std::vector<gloo::transport::Pair*> m_pairs;
        StopFn m_stop;
        std::function<bool()> m_failed;
        std::mutex m_mutex;
        std::condition_variable m_cv;
        bool m_connecting = false, m_done = false;
        Ended m_ended = Ended::No;
        std::thread m_thread; // last: it starts with everything above made
    };
};

class GlooGroup : public RankGroup {
public:
    GlooGroup(const RankOptions& o, std::unique_ptr<Meeting> meeting)
        : m_rank(o.rank), m_world(o.world), m_timeout(o.timeout), m_goodbye_wait(o.goodbye_wait), m_token(o.token),
          m_stop(o.stop_requested), m_meeting(std::move(meeting))
    {
        gloo::transport::tcp::attr attr;
        attr.hostname = m_meeting->local_address();
        auto dev = gloo::transport::tcp::CreateDevice(attr);
        auto ctx = std::make_shared<MeshContext>(o.rank, o.world);
        ctx->setTimeout(o.timeout);
        try {
            ctx->connect(m_meeting->store(), dev, m_stop,
                         [this] { return m_meeting->first_failure(std::chrono::milliseconds(0)).has_value(); });
        } catch (const GpulabError&) {
            throw;
        } catch (const std::exception& e) {
            throw GpulabError(lost(e.what()));
        }
        m_ctx = ctx;
    }
    int rank() const override { return m_rank; }
    int world() const override { return m_world; }
    void allreduce_sum(float* data, size_t count) override
    {
        const auto t0 = Clock::now();
        if (!m_ctx)
            throw GpulabError(lost("this rank has left the job"));
        try {
            gloo::AllreduceOptions opts(m_ctx);
            opts.setOutput(data, count);
            opts.setReduceFunction(
                static_cast<void (*)(void*, const void*, const void*, size_t)>(&gloo::sum<float>));
            opts.setTag(m_tag++);
            gloo::allreduce(opts);
        } catch (const std::exception& e) {
            throw GpulabError(lost(e.what()));
        }
        m_allreduce_s += std::chrono::duration<double>(Clock::now() - t0).count();
    }
    void broadcast_from_rank0(float* data, size_t count) override
    {
        if (!m_ctx)
            throw GpulabError(lost("this rank has left the job"));
        try {
            gloo::BroadcastOptions opts(m_ctx);
            opts.setOutput(data, count);
            opts.setRoot(0);
            opts.setTag(m_tag++);
            gloo::broadcast(opts);
        } catch (const std::exception& e) {
            throw GpulabError(lost(e.what()));
        }
    }
    void report_failure(const std::string& why) override { m_meeting->fail(m_rank, why); }
    void finish() override { m_meeting->finish(m_goodbye_wait); }
    double allreduce_seconds() const override { return m_allreduce_s; }
    void store_set(const std::string& key, const std::string& value) override
    {
        try {
            m_meeting->store().set(key, std::vector<char>(value.begin(), value.end()));
        } catch (const GpulabError&) {
            throw;
        } catch (const std::exception& e) {
            throw GpulabError(lost(e.what()));
        }
    }
    std::string store_get(const std::string& key) override
    {
        try {
            m_meeting->store().wait({key}, m_timeout);
            const std::vector<char> v = m_meeting->store().get(key);
            return {v.begin(), v.end()};
        } catch (const GpulabError&) {
            throw;
        } catch (const std::exception&) {
            const auto secs = std::chrono::duration_cast<std::chrono::seconds>(m_timeout).count();
            throw GpulabError(Error(ErrorCode::RankJoinTimeout, {{"seconds", std::to_string(secs)}}));
        }
    }
    std::optional<std::string> store_try_get(const std::string& key) override
    {
        try {
            if (auto v = m_meeting->try_get(key))
                return std::string(v->begin(), v->end());
        } catch (const std::exception&) { // the rendezvous is gone
        }
        return std::nullopt;
    }
    std::string host() const override { return m_meeting->local_address(); }
    std::string events_host() const override { return m_meeting->events_host(); }
    std::string master_host() const override { return m_meeting->master_host(); }
    std::string token() const override { return m_token; }
    std::chrono::milliseconds timeout() const override { return m_timeout; }
    bool stop_requested() const override { return m_stop && m_stop(); }
    void leave() override { m_ctx.reset(); }
    std::optional<std::pair<int, std::string>> failure() override
    {
        return m_meeting->first_failure(std::chrono::milliseconds(0));
    }

private:
    // Another rank is gone: name the first that failed, as the rendezvous knows it.
    Error lost(const std::string& what)
    {
        auto f = m_meeting->first_failure(std::chrono::milliseconds(5000));
        if (f)
            return Error(ErrorCode::RankLost, {{"rank", std::to_string(f->first)}, {"why", f->second}});
        return Error(ErrorCode::RankLost, {{"rank", "?"}, {"why", what}});
    }
    int m_rank, m_world;
    std::chrono::milliseconds m_timeout, m_goodbye_wait;
    std::string m_token;
    StopFn m_stop;
    std::unique_ptr<Meeting> m_meeting;
    std::shared_ptr<gloo::Context> m_ctx;
    uint32_t m_tag = 1;
    double m_allreduce_s = 0;
};

} // namespace

std::unique_ptr<RankGroup> join_ranks(const RankOptions& o, const std::string& settings,
                                      std::function<void(const Error&)> on_refusal)
{
    std::unique_ptr<Meeting> meeting;
    if (o.rendezvous.rfind("file:", 0) == 0)
        meeting = std::make_unique<FileMeeting>(o, o.rendezvous.substr(5), settings, std::move(on_refusal));
    else
        meeting = std::make_unique<TcpMeeting>(o, settings, std::move(on_refusal));
    return std::make_unique<GlooGroup>(o, std::move(meeting));
}

#endif

} // namespace gpulab
