// The ranks' events to rank 0 (rank_events.h). The connection's opening, before the rank's
// recording: the rank sends "GPULABEV", u32 rank, u32 token length, the token; rank 0
// answers u8 1 (admitted) or u8 0, u32 length, a message in English, and closes. Then 8
// times: rank 0 sends its clock (f64 microseconds), the rank answers with its own. From there
// on the rank sends a recording (RecordingWriter onto the socket) until its run ends.
#include "rank/rank_events.h"

#include "rank/kv_store.h"
#include "rank/rank_group.h"
#include "rank/socket_io.h"

#include <arpa/inet.h>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <optional>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace gpulab {

namespace {

using Clock = std::chrono::steady_clock;
constexpr char kHello[8] = {'G', 'P', 'U', 'L', 'A', 'B', 'E', 'V'};
constexpr int kPings = 8;
constexpr uint32_t kMaxToken = 256;

void set_timeouts(int fd, std::chrono::milliseconds t)
{
    timeval tv{};
    tv.tv_sec = static_cast<time_t>(t.count() / 1000);
    tv.tv_usec = static_cast<suseconds_t>((t.count() % 1000) * 1000);
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

void no_delay(int fd)
{
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

// "HOST:PORT" with the host possibly an IPv6 literal in brackets.
bool split(const std::string& s, std::string* host, std::string* port)
{
    const auto colon = s.rfind(':');
    if (colon == std::string::npos || colon == 0)
        return false;
    *host = s.substr(0, colon);
    *port = s.substr(colon + 1);
    if (host->size() >= 2 && host->front() == '[' && host->back() == ']')
        *host = host->substr(1, host->size() - 2);
    return !port->empty();
}

std::string join_host(const std::string& host, int port)
{
    return (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

// Listens on host (any free port); -1 and *why on failure.
int listen_on(const std::string& host, int* port, std::string* why)
{
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    addrinfo* res = nullptr;
    if (const int rc = ::getaddrinfo(host.c_str(), "0", &hints, &res); rc != 0) {
        *why = ::gai_strerror(rc);
        return -1;
    }
    int fd = -1;
    for (addrinfo* a = res; a && fd < 0; a = a->ai_next) {
        fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0)
            continue;
        if (::bind(fd, a->ai_addr, a->ai_addrlen) != 0 || ::listen(fd, 64) != 0) {
            *why = std::strerror(errno);
            ::close(fd);
            fd = -1;
        }
    }
    ::freeaddrinfo(res);
    if (fd < 0)
        return -1;
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
    *port = ss.ss_family == AF_INET6 ? ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port)
                                     : ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
    return fd;
}

// Connects to host:port, trying again until the deadline; -1 when it could not.
int connect_to(const std::string& host, const std::string& port, Clock::time_point deadline, std::string* why)
{
    for (;;) {
        addrinfo hints{};
        hints.ai_family = AF_UNSPEC;
        hints.ai_socktype = SOCK_STREAM;
        hints.ai_flags = AI_NUMERICSERV;
        addrinfo* res = nullptr;
        if (const int rc = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &res); rc != 0) {
            *why = ::gai_strerror(rc);
        } else {
            for (addrinfo* a = res; a; a = a->ai_next) {
                const int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
                if (fd < 0)
                    continue;
                if (::connect(fd, a->ai_addr, a->ai_addrlen) == 0) {
                    ::freeaddrinfo(res);
                    return fd;
                }
                *why = std::strerror(errno);
                ::close(fd);
            }
            ::freeaddrinfo(res);
        }
        if (Clock::now() >= deadline)
            return -1;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
}

std::string seconds_text(std::chrono::milliseconds t)
{
    return std::to_string(std::max<long long>(1, std::chrono::duration_cast<std::chrono::seconds>(t).count()));
}

} // namespace

// One other rank's connection, at rank 0.
struct RankEvents::Peer {
    int rank = -1;
    int fd = -1;
    double offset_us = 0; // its clock minus rank 0's
    std::thread thread;
    bool ended = false;   // its stream ended (under m_mutex)
};

RankEvents::RankEvents(RankGroup& group, EventStream& local, EventStream& job, int devices_per_rank,
                       const RecordingHeader& header)
    : m_group(group), m_local(local), m_job(job), m_devices(devices_per_rank), m_rank(group.rank()),
      m_world(group.world())
{
    // A write to a closed connection is an error to handle, not a signal that ends the process.
    struct sigaction sa{};
    if (::sigaction(SIGPIPE, nullptr, &sa) == 0 && sa.sa_handler == SIG_DFL)
        ::signal(SIGPIPE, SIG_IGN);
    const auto timeout = group.timeout();
    const auto deadline = Clock::now() + timeout;

    if (m_rank == 0) {
        // exactly where asked: a wildcard only when --master is one (then the others
        // connect to the host they reach the rendezvous by)
        const std::string host = group.events_host();
        int port = 0;
        std::string why;
        const int lfd = listen_on(host, &port, &why);
        if (lfd < 0)
            throw GpulabError(Error(ErrorCode::RankCannotListen, {{"address", host + ":0"}, {"why", why}}));
        group.store_set("gpulab-events", join_host(host, port));
        int connected = 0;
        auto give_up = [&](const Error& why) {
            ::close(lfd);
            for (auto& p : m_peers)
                ::close(p->fd);
            throw GpulabError(why);
        };
        auto polled = Clock::now();
        while (connected < m_world - 1) {
            if (group.stop_requested()) // asked between waits of a tenth of a second
                give_up(Error(ErrorCode::Stopped));
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
            pollfd pfd{lfd, POLLIN, 0};
            const int rc = left.count() > 0 ? ::poll(&pfd, 1, static_cast<int>(std::min<long long>(left.count(), 100))) : 0;
            if (rc == 0 && left.count() > 0 && Clock::now() - polled < std::chrono::seconds(1))
                continue; // the rendezvous is asked about failures once a second
            if (rc <= 0) {
                polled = Clock::now();
                // a rank that failed before connecting its stream never will: say so now
                std::optional<std::pair<int, std::string>> failed;
                if (left.count() > 0)
                    failed = group.failure();
                if (left.count() > 0 && !failed)
                    continue;
                if (failed)
                    give_up(Error(ErrorCode::RankLost, {{"rank", std::to_string(failed->first)}, {"why", failed->second}}));
                give_up(Error(ErrorCode::RankJoinTimeout, {{"seconds", seconds_text(timeout)}}));
            }
            const int fd = ::accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC);
            if (fd < 0)
                continue;
            no_delay(fd);
            set_timeouts(fd, std::chrono::milliseconds(5000)); // a silent stranger cannot hold us
            char hello[8];
            uint32_t rank = 0, len = 0;
            std::string token;
            bool ok = recv_all(fd, hello, 8) && std::memcmp(hello, kHello, 8) == 0 && recv_all(fd, &rank, 4) &&
                      recv_all(fd, &len, 4) && len <= kMaxToken;
            if (ok) {
                token.resize(len);
                ok = len == 0 || recv_all(fd, token.data(), len);
            }
            if (!ok) {
                ::close(fd);
                continue;
            }
            std::string refusal;
            if (token != group.token())
                refusal = "rank " + std::to_string(rank) + "'s event stream was refused: it has not the job's token";
            else if (rank < 1 || static_cast<int>(rank) >= m_world)
                refusal = "an event stream from rank " + std::to_string(rank) + " was refused: ranks are 1 to " +
                          std::to_string(m_world - 1);
            else
                for (auto& p : m_peers)
                    if (p->rank == static_cast<int>(rank))
                        refusal = "rank " + std::to_string(rank) + "'s event stream is already connected";
            if (!refusal.empty()) {
                const uint8_t no = 0;
                const uint32_t n = static_cast<uint32_t>(refusal.size());
                send_all(fd, &no, 1) && send_all(fd, &n, 4) && send_all(fd, refusal.data(), n);
                ::close(fd);
                m_local.record(Event{.data = ev::Log{.text = refusal}});
                continue;
            }
            const uint8_t yes = 1;
            bool pinged = send_all(fd, &yes, 1);
            double best_rtt = 1e300, offset = 0;
            for (int i = 0; i < kPings && pinged; ++i) {
                const double t0 = m_local.now_us();
                double tr = 0;
                pinged = send_all(fd, &t0, 8) && recv_all(fd, &tr, 8);
                const double t1 = m_local.now_us();
                if (pinged && t1 - t0 < best_rtt) {
                    best_rtt = t1 - t0;
                    offset = tr - (t0 + t1) / 2;
                }
            }
            if (!pinged) {
                ::close(fd);
                continue;
            }
            set_timeouts(fd, std::chrono::milliseconds(0)); // from here on it streams at its pace
            auto p = std::make_unique<Peer>();
            p->rank = static_cast<int>(rank);
            p->fd = fd;
            p->offset_us = offset;
            m_peers.push_back(std::move(p));
            ++connected;
        }
        ::close(lfd);
        for (auto& p : m_peers)
            p->thread = std::thread([this, peer = p.get()] { receive(*peer); });
        m_thread = std::thread([this] {
            while (!m_stop) {
                pump(false);
                std::unique_lock lock(m_mutex);
                m_cv.wait_for(lock, std::chrono::milliseconds(50), [&] { return m_stop.load(); });
            }
        });
        return;
    }

    // Every other rank: connect to rank 0's address as the rendezvous gives it.
    const std::string addr = group.store_get("gpulab-events");
    std::string host, port, why;
    if (!split(addr, &host, &port))
        throw GpulabError(Error(ErrorCode::RankMasterLost, {{"master", addr}}));
    if (is_wildcard_host(host)) { // rank 0 listens on every interface: use the one we reach it by
        host = group.master_host();
        if (host.empty())
            throw GpulabError(Error(ErrorCode::RankMasterUnreachable,
                                    {{"master", addr},
                                     {"seconds", "0"},
                                     {"why", "rank 0 published a wildcard address for its events"}}));
    }
    const std::string where = (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" + port;
    const int fd = connect_to(host, port, deadline, &why);
    if (fd < 0)
        throw GpulabError(Error(ErrorCode::RankMasterUnreachable,
                                {{"master", where}, {"seconds", seconds_text(timeout)}, {"why", why}}));
    no_delay(fd);
    set_timeouts(fd, timeout);
    const std::string token = group.token();
    const uint32_t rank = static_cast<uint32_t>(m_rank), len = static_cast<uint32_t>(token.size());
    uint8_t verdict = 0;
    bool ok = send_all(fd, kHello, 8) && send_all(fd, &rank, 4) && send_all(fd, &len, 4) &&
              send_all(fd, token.data(), len) && recv_all(fd, &verdict, 1);
    if (ok && verdict != 1) {
        uint32_t n = 0;
        std::string msg;
        if (recv_all(fd, &n, 4) && n <= 4096) {
            msg.resize(n);
            recv_all(fd, msg.data(), n);
        }
        ::close(fd);
        throw GpulabError(Error(ErrorCode::RankLost, {{"rank", "0"}, {"why", msg}}));
    }
    for (int i = 0; i < kPings && ok; ++i) {
        double t0 = 0;
        ok = recv_all(fd, &t0, 8);
        const double mine = m_local.now_us();
        ok = ok && send_all(fd, &mine, 8);
    }
    if (!ok) {
        ::close(fd);
        throw GpulabError(Error(ErrorCode::RankMasterLost, {{"master", addr}}));
    }
    // Writes give up after 10 s instead of blocking on a rank 0 that no longer reads.
    set_timeouts(fd, std::chrono::milliseconds(10000));
    m_fd = fd;
    const int wfd = ::dup(fd);
    std::FILE* stream = wfd >= 0 ? ::fdopen(wfd, "wb") : nullptr;
    if (!stream) {
        if (wfd >= 0)
            ::close(wfd);
        throw GpulabError(Error(ErrorCode::RankMasterLost, {{"master", addr}}));
    }
    m_writer = std::make_unique<RecordingWriter>(stream, "rank " + std::to_string(m_rank) + "'s events", header);
    m_thread = std::thread([this] { send_loop(); });
}

RankEvents::~RankEvents()
{
    if (!m_finished)
        finish(std::chrono::milliseconds(0));
}

double RankEvents::clock_offset_us(int rank) const
{
    for (const auto& p : m_peers)
        if (p->rank == rank)
            return p->offset_us;
    return 0;
}

// ---- other ranks: send -----------------------------------------------------------------

void RankEvents::send_some(bool final)
{
    if (!m_writer || m_writer->failed())
        return;
    std::vector<Event> news;
    m_local.drain(m_send_cursor, news);
    for (const Event& e : news)
        m_writer->add(e, m_local.snapshot_of(e).get());
    if (final) {
        RunStatus status = RunStatus::Completed;
        Error error;
        for (auto it = news.rbegin(); it != news.rend(); ++it)
            if (const auto* end = it->get<ev::RunEnd>()) {
                status = end->status == run_status_name(RunStatus::Failed)      ? RunStatus::Failed
                         : end->status == run_status_name(RunStatus::Cancelled) ? RunStatus::Cancelled
                                                                                 : RunStatus::Completed;
                error = end->error;
                break;
            }
        m_writer->finish(status, error);
    } else if (!news.empty()) {
        m_writer->flush();
    }
}

void RankEvents::send_loop()
{
    while (!m_stop) {
        send_some(false);
        std::unique_lock lock(m_mutex);
        m_cv.wait_for(lock, std::chrono::milliseconds(100), [&] { return m_stop.load(); });
    }
}

// ---- rank 0: receive and merge ---------------------------------------------------------

void RankEvents::receive(Peer& p)
{
    RecordingStreamReader reader("rank " + std::to_string(p.rank) + "'s events");
    const std::string who = "rank " + std::to_string(p.rank) + ": ";
    auto shift = [&](double t) { return std::max(0.001, t - p.offset_us); };
    auto device = [&](int d) { return d >= 0 ? global_device(p.rank, d) : d; };
    std::vector<uint8_t> buf(1 << 16);
    for (;;) {
        const ssize_t k = ::recv(p.fd, buf.data(), buf.size(), 0);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            break;
        std::vector<Event> got;
        std::vector<std::shared_ptr<const Snapshot>> snaps;
        try {
            reader.feed(buf.data(), static_cast<size_t>(k));
        } catch (const GpulabError& e) {
            std::lock_guard lock(m_mutex);
            m_pending.push_back(Event{.data = ev::Log{.text = who + "its event stream stopped: " + english(e.error)}});
            m_pending_snaps.push_back(nullptr);
            break;
        }
        for (Event& e : reader.take_events()) {
            // the job's run begins and ends on rank 0, and its losses are rank 0's
            if (e.is<ev::RunBegin>() || e.is<ev::RunEnd>() || e.is<ev::MinibatchLoss>() || e.is<ev::EpochEnd>())
                continue;
            e.t_us = shift(e.t_us);
            e.device = device(e.device);
            std::shared_ptr<const Snapshot> snap;
            if (auto* op = e.get<ev::Op>()) {
                op->t_end_us = shift(op->t_end_us);
            } else if (auto* step = e.get<ev::AllreduceStep>()) {
                step->t_end_us = shift(step->t_end_us);
                step->src = device(step->src);
                step->dst = device(step->dst);
            } else if (auto* log = e.get<ev::Log>()) {
                log->text = who + log->text;
            } else if (auto* err = e.get<ev::Error>()) {
                err->message = who + err->message;
            } else if (auto* s = e.get<ev::Snapshot>()) {
                if (auto original = reader.snapshot(s->index)) {
                    auto copy = std::make_shared<Snapshot>(*original);
                    copy->device = device(copy->device);
                    snap = std::move(copy);
                } else {
                    continue;
                }
            }
            got.push_back(std::move(e));
            snaps.push_back(std::move(snap));
        }
        if (!got.empty()) {
            std::lock_guard lock(m_mutex);
            for (size_t i = 0; i < got.size(); ++i) {
                m_pending.push_back(std::move(got[i]));
                m_pending_snaps.push_back(std::move(snaps[i]));
            }
        }
    }
    std::lock_guard lock(m_mutex);
    p.ended = true;
    m_cv.notify_all();
}

void RankEvents::pump(bool final)
{
    std::lock_guard pump_lock(m_pump_mutex);
    std::vector<Event> news;
    m_local.drain(m_local_cursor, news);
    for (Event& e : news) {
        if (e.is<ev::RunEnd>()) {
            m_held.push_back(std::move(e)); // the job ends after every rank's last event
            continue;
        }
        if (auto* begin = e.get<ev::RunBegin>()) {
            begin->devices = m_devices * m_world;
            begin->world = m_world;
            begin->device_ranks.clear();
            for (int r = 0; r < m_world; ++r)
                begin->device_ranks.insert(begin->device_ranks.end(), size_t(m_devices), r);
            m_job.record(std::move(e));
            std::lock_guard lock(m_mutex);
            m_begun = true;
            continue;
        }
        if (e.is<ev::Snapshot>()) {
            if (auto s = m_local.snapshot_of(e))
                m_job.record_snapshot(*s);
            continue;
        }
        m_job.record(std::move(e));
    }
    std::vector<Event> received;
    std::vector<std::shared_ptr<const Snapshot>> snaps;
    {
        std::lock_guard lock(m_mutex);
        if (m_begun || final) {
            received.swap(m_pending);
            snaps.swap(m_pending_snaps);
        }
    }
    for (size_t i = 0; i < received.size(); ++i) {
        if (snaps[i])
            m_job.record_snapshot(*snaps[i]);
        else
            m_job.record(std::move(received[i]));
    }
    if (final) {
        for (Event& e : m_held)
            m_job.record(std::move(e));
        m_held.clear();
    }
}

std::vector<int> RankEvents::finish(std::chrono::milliseconds timeout)
{
    std::vector<int> late;
    if (m_finished)
        return late;
    m_finished = true;
    if (m_rank != 0) {
        {
            std::lock_guard lock(m_mutex);
            m_stop = true;
            m_cv.notify_all();
        }
        if (m_thread.joinable())
            m_thread.join();
        send_some(true);
        m_writer.reset(); // closes its stream
        if (m_fd >= 0)
            ::close(m_fd);
        m_fd = -1;
        return late;
    }
    {
        std::unique_lock lock(m_mutex);
        m_cv.wait_for(lock, timeout, [&] {
            for (auto& p : m_peers)
                if (!p->ended)
                    return false;
            return true;
        });
        for (auto& p : m_peers)
            if (!p->ended) {
                late.push_back(p->rank);
                ::shutdown(p->fd, SHUT_RDWR); // its receiver stops
            }
        m_stop = true;
        m_cv.notify_all();
    }
    for (auto& p : m_peers) {
        if (p->thread.joinable())
            p->thread.join();
        ::close(p->fd);
        p->fd = -1;
    }
    if (m_thread.joinable())
        m_thread.join();
    for (int r : late)
        m_local.record(Event{.data = ev::Log{.text = "rank " + std::to_string(r) +
                                                     "'s events did not end in time; the job's stream stops without its last events"}});
    pump(true);
    return late;
}

} // namespace gpulab
