// The ranks' TCP key-value store. A message is a 4-byte length and that many bytes: a list
// of fields, each a 4-byte length and its bytes; the first field names the operation.
#include "rank/kv_store.h"

#include "rank/socket_io.h"

#include <arpa/inet.h>
#include <cerrno>
#include <algorithm>
#include <cstring>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sstream>
#include <sys/socket.h>
#include <unistd.h>

namespace gpulab {

namespace {

using Clock = std::chrono::steady_clock;
using Fields = std::vector<std::string>;

// Larger messages are refused: keys and Gloo's addresses are small.
constexpr uint32_t kMaxMessage = 1u << 20;

void put_u32(std::vector<char>& out, uint32_t v)
{
    for (int i = 0; i < 4; ++i)
        out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

uint32_t get_u32(const char* p)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i)
        v |= static_cast<uint32_t>(static_cast<unsigned char>(p[i])) << (8 * i);
    return v;
}

std::vector<char> encode(const Fields& f)
{
    std::vector<char> body;
    for (const std::string& s : f) {
        put_u32(body, static_cast<uint32_t>(s.size()));
        body.insert(body.end(), s.begin(), s.end());
    }
    std::vector<char> msg;
    put_u32(msg, static_cast<uint32_t>(body.size()));
    msg.insert(msg.end(), body.begin(), body.end());
    return msg;
}

bool decode(const std::vector<char>& body, Fields* out)
{
    size_t at = 0;
    while (at < body.size()) {
        if (body.size() - at < 4)
            return false;
        const uint32_t n = get_u32(body.data() + at);
        at += 4;
        if (n > body.size() - at)
            return false;
        out->emplace_back(body.data() + at, n);
        at += n;
    }
    return true;
}

// One message's body; false on a closed connection or a message over the limit.
bool recv_message(int fd, std::vector<char>* body)
{
    char len[4];
    if (!recv_all(fd, len, 4))
        return false;
    const uint32_t n = get_u32(len);
    if (n > kMaxMessage)
        return false;
    body->resize(n);
    return n == 0 || recv_all(fd, body->data(), n);
}

std::string errno_text(int e)
{
    return std::strerror(e);
}

std::vector<char> bytes(const std::string& s)
{
    return {s.begin(), s.end()};
}

// "name=value" lines -> map
std::map<std::string, std::string> settings_map(const std::string& text)
{
    std::map<std::string, std::string> m;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        const auto eq = line.find('=');
        if (eq != std::string::npos)
            m[line.substr(0, eq)] = line.substr(eq + 1);
    }
    return m;
}

std::string address_text(const sockaddr* sa)
{
    char host[NI_MAXHOST] = {};
    if (getnameinfo(sa, sa->sa_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in), host, sizeof host,
                    nullptr, 0, NI_NUMERICHOST) != 0)
        return {};
    return host;
}

} // namespace

bool split_host_port(const std::string& s, std::string* host, int* port)
{
    const auto colon = s.rfind(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 >= s.size())
        return false;
    std::string h = s.substr(0, colon);
    if (h.size() > 2 && h.front() == '[' && h.back() == ']') // [::1]:29500
        h = h.substr(1, h.size() - 2);
    const std::string p = s.substr(colon + 1);
    if (p.size() > 5 || p.find_first_not_of("0123456789") != std::string::npos)
        return false;
    const int v = std::stoi(p);
    if (v < 1 || v > 65535)
        return false;
    *host = h;
    *port = v;
    return true;
}

bool is_wildcard_host(const std::string& host)
{
    return host.empty() || host == "0.0.0.0" || host == "::" || host == "[::]" || host == "*";
}

namespace {

bool is_loopback(const sockaddr* sa)
{
    if (sa->sa_family == AF_INET)
        return (ntohl(reinterpret_cast<const sockaddr_in*>(sa)->sin_addr.s_addr) >> 24) == 127;
    if (sa->sa_family == AF_INET6)
        return IN6_IS_ADDR_LOOPBACK(&reinterpret_cast<const sockaddr_in6*>(sa)->sin6_addr);
    return false;
}

} // namespace

std::string machine_address(std::string* how)
{
    char name[256] = {};
    if (::gethostname(name, sizeof name - 1) == 0 && name[0]) {
        addrinfo hints{};
        hints.ai_family = AF_INET;
        hints.ai_socktype = SOCK_STREAM;
        addrinfo* res = nullptr;
        if (::getaddrinfo(name, nullptr, &hints, &res) == 0) {
            std::string found;
            for (addrinfo* a = res; a && found.empty(); a = a->ai_next)
                if (!is_loopback(a->ai_addr))
                    found = address_text(a->ai_addr);
            ::freeaddrinfo(res);
            if (!found.empty()) {
                if (how)
                    *how = std::string("the address of its host name ") + name;
                return found;
            }
        }
    }
    ifaddrs* list = nullptr;
    if (::getifaddrs(&list) == 0) {
        std::string found, iface;
        for (ifaddrs* i = list; i && found.empty(); i = i->ifa_next)
            if (i->ifa_addr && i->ifa_addr->sa_family == AF_INET && (i->ifa_flags & IFF_UP) &&
                !(i->ifa_flags & IFF_LOOPBACK) && !is_loopback(i->ifa_addr)) {
                found = address_text(i->ifa_addr);
                iface = i->ifa_name ? i->ifa_name : "";
            }
        ::freeifaddrs(list);
        if (!found.empty()) {
            if (how)
                *how = "the address of its network interface " + iface;
            return found;
        }
    }
    if (how)
        *how = "loopback: this machine has no other address, so only ranks on it can join";
    return "127.0.0.1";
}

// ---------------------------------------------------------------- server

struct KvServer::Conn {
    int fd = -1;
    int rank = -1; // once admitted
    bool goodbye = false;
    // under m_mutex: when its last message came, and whether it is inside a get/wait (then
    // its process is waiting for us, not silent)
    Clock::time_point last = Clock::now();
    bool waiting = false;
    bool closed = false;
};

KvServer::KvServer(const std::string& host, int port, RankJob job) : m_job(std::move(job))
{
    const std::string where = host + ":" + std::to_string(port);
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    addrinfo* res = nullptr;
    const std::string service = std::to_string(port);
    if (int rc = getaddrinfo(host.c_str(), service.c_str(), &hints, &res); rc != 0)
        throw GpulabError(Error(ErrorCode::RankCannotListen, {{"address", where}, {"why", gai_strerror(rc)}}));
    int last_errno = 0;
    for (addrinfo* a = res; a; a = a->ai_next) {
        int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0) {
            last_errno = errno;
            continue;
        }
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (::bind(fd, a->ai_addr, a->ai_addrlen) == 0 && ::listen(fd, 64) == 0) {
            m_listen = fd;
            break;
        }
        last_errno = errno;
        ::close(fd);
    }
    freeaddrinfo(res);
    if (m_listen < 0) {
        if (last_errno == EADDRINUSE)
            throw GpulabError(Error(ErrorCode::RankPortInUse, {{"address", where}}));
        throw GpulabError(Error(ErrorCode::RankCannotListen, {{"address", where}, {"why", errno_text(last_errno)}}));
    }
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    getsockname(m_listen, reinterpret_cast<sockaddr*>(&ss), &len);
    m_port = ntohs(ss.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port
                                            : reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
    m_accept = std::thread([this] { accept_loop(); });
}

KvServer::~KvServer()
{
    m_stop = true;
    ::shutdown(m_listen, SHUT_RDWR);
    {
        std::lock_guard lock(m_mutex);
        for (auto& c : m_conns)
            ::shutdown(c->fd, SHUT_RDWR);
        m_cv.notify_all();
    }
    if (m_accept.joinable())
        m_accept.join();
    for (auto& t : m_threads)
        t.join();
    for (auto& c : m_conns)
        ::close(c->fd);
    ::close(m_listen);
}

void KvServer::accept_loop()
{
    while (!m_stop) {
        pollfd p{m_listen, POLLIN, 0};
        if (::poll(&p, 1, 200) <= 0) {
            check_silence();
            continue;
        }
        const int fd = ::accept4(m_listen, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd < 0)
            continue;
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        auto c = std::make_shared<Conn>();
        c->fd = fd;
        std::lock_guard lock(m_mutex);
        if (m_stop) {
            ::close(fd);
            break;
        }
        m_conns.push_back(c);
        m_threads.emplace_back([this, c] { serve(c); });
    }
}

Error admit_rank(const RankJob& job, const std::string& token, int rank, int world, const std::string& settings)
{
    const std::string r = std::to_string(rank);
    if (token != job.token)
        return Error(ErrorCode::RankBadToken, {{"rank", r}});
    if (world != job.world)
        return Error(ErrorCode::RankWorldDiffers,
                     {{"rank", r}, {"world", std::to_string(world)}, {"world0", std::to_string(job.world)}});
    if (rank < 0 || rank >= job.world)
        return Error(ErrorCode::RankOutOfRange,
                     {{"rank", r}, {"last", std::to_string(job.world - 1)}, {"world", std::to_string(job.world)}});
    const auto mine = settings_map(job.settings);
    const auto theirs = settings_map(settings);
    for (const auto& [name, value0] : mine) {
        auto it = theirs.find(name);
        const std::string value = it == theirs.end() ? "(none)" : it->second;
        if (value != value0)
            return Error(ErrorCode::RankSettingDiffers,
                         {{"rank", r}, {"setting", name}, {"value", value}, {"value0", value0}});
    }
    return {};
}

Error KvServer::admit(const std::string& token, int rank, int world, const std::string& settings)
{
    // m_mutex held
    if (Error e = admit_rank(m_job, token, rank, world, settings); e && e.code != ErrorCode::RankSettingDiffers)
        return e;
    else if (!e && !m_joined.count(rank))
        return {};
    else if (m_joined.count(rank))
        return Error(ErrorCode::RankTaken, {{"rank", std::to_string(rank)}});
    else
        return e;
}

void KvServer::mark_failed(int rank, const std::string& why)
{
    // m_mutex held
    if (!m_kv.count("gpulab/failed"))
        m_kv["gpulab/failed"] = bytes(std::to_string(rank) + "\n" + why);
    m_cv.notify_all();
}

// A rank that has joined and has not said goodbye sends at least a heartbeat every second
// (KvClient); one silent for kSilence while not waiting for the store (its machine switched
// off, its network gone, its process stopped) is marked failed and its connection closed.
void KvServer::check_silence()
{
    std::lock_guard lock(m_mutex);
    const auto now = Clock::now();
    for (auto& c : m_conns)
        if (c->rank >= 0 && !c->goodbye && !c->closed && !c->waiting && now - c->last > kSilence) {
            c->closed = true;
            mark_failed(c->rank, "it gave no sign of life for " +
                                     std::to_string(std::chrono::duration_cast<std::chrono::seconds>(kSilence).count()) +
                                     " s (its process stopped, or its machine or network is down)");
            ::shutdown(c->fd, SHUT_RDWR);
        }
}

void KvServer::serve(std::shared_ptr<Conn> c)
{
    std::vector<char> body;
    while (!m_stop && recv_message(c->fd, &body)) {
        Fields f;
        if (!decode(body, &f) || f.empty())
            break;
        const std::string& op = f[0];
        {
            std::lock_guard lock(m_mutex);
            c->last = Clock::now();
        }
        Fields reply;
        if (op == "hello" && f.size() == 5 && c->rank < 0) {
            int rank = -1, world = 0;
            try {
                rank = std::stoi(f[2]);
                world = std::stoi(f[3]);
            } catch (...) {
                break;
            }
            Error refused;
            {
                std::lock_guard lock(m_mutex);
                refused = admit(f[1], rank, world, f[4]);
                if (!refused) {
                    c->rank = rank;
                    m_joined[rank] = 1;
                }
            }
            if (refused) {
                if (on_refusal)
                    on_refusal(refused);
                reply = {"refused", error_code_name(refused.code)};
                for (const auto& [k, v] : refused.facts) {
                    reply.push_back(k);
                    reply.push_back(v);
                }
            } else {
                reply = {"ok"};
            }
        } else if (c->rank < 0) {
            break; // nothing but hello before joining
        } else if (op == "set" && f.size() == 3) {
            std::lock_guard lock(m_mutex);
            m_kv[f[1]] = bytes(f[2]);
            m_cv.notify_all();
            reply = {"ok"};
        } else if ((op == "get" || op == "wait") && f.size() >= 3) {
            long long ms = 0;
            try {
                ms = std::stoll(f[1]);
            } catch (...) {
                break;
            }
            std::unique_lock lock(m_mutex);
            c->waiting = true;
            auto all_there = [&] {
                for (size_t i = 2; i < f.size(); ++i)
                    if (!m_kv.count(f[i]))
                        return false;
                return true;
            };
            const bool there = m_cv.wait_for(lock, std::chrono::milliseconds(ms),
                                             [&] { return m_stop || all_there(); }) &&
                               all_there();
            c->waiting = false;
            c->last = Clock::now();
            if (!there)
                reply = {"timeout"};
            else if (op == "get")
                reply = {"value", std::string(m_kv[f[2]].begin(), m_kv[f[2]].end())};
            else
                reply = {"ok"};
        } else if (op == "fail" && f.size() == 2) {
            std::lock_guard lock(m_mutex);
            mark_failed(c->rank, f[1]);
            reply = {"ok"};
        } else if (op == "beat") {
            reply = {"ok"};
        } else if (op == "bye") {
            std::lock_guard lock(m_mutex);
            c->goodbye = true;
            m_joined[c->rank] = 2;
            m_cv.notify_all();
            reply = {"ok"};
        } else {
            break;
        }
        if (const std::vector<char> out = encode(reply); !send_all(c->fd, out.data(), out.size()))
            break;
    }
    std::lock_guard lock(m_mutex);
    if (c->rank >= 0 && !c->goodbye) {
        m_joined[c->rank] = 2;
        if (!m_stop)
            mark_failed(c->rank, "its process ended or its connection was lost");
    }
    m_cv.notify_all();
}

void KvServer::wait_for_goodbyes(std::chrono::milliseconds timeout, const std::function<bool()>& stop)
{
    const auto all_gone = [&] { // m_mutex held
        if (static_cast<int>(m_joined.size()) < m_job.world)
            return m_kv.count("gpulab/failed") > 0;
        for (const auto& [rank, state] : m_joined)
            if (state != 2)
                return false;
        return true;
    };
    const auto deadline = Clock::now() + timeout;
    std::unique_lock lock(m_mutex);
    // in slices of a tenth of a second, asking `stop` between them (without the lock: it is
    // the caller's)
    while (!all_gone() && Clock::now() < deadline) {
        if (stop) {
            lock.unlock();
            const bool stopped = stop();
            lock.lock();
            if (stopped)
                return;
        }
        m_cv.wait_until(lock, std::min(deadline, Clock::now() + std::chrono::milliseconds(100)));
    }
}

// ---------------------------------------------------------------- client

KvClient::KvClient(const std::string& host, int port, std::chrono::milliseconds timeout,
                   const std::function<bool()>& stop)
    : m_master(host + ":" + std::to_string(port)), m_timeout(timeout)
{
    const auto deadline = Clock::now() + timeout;
    std::string why = "no answer";
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    const std::string service = std::to_string(port);
    while (m_fd < 0) {
        addrinfo* res = nullptr;
        if (int rc = getaddrinfo(host.c_str(), service.c_str(), &hints, &res); rc != 0) {
            why = gai_strerror(rc);
        } else {
            for (addrinfo* a = res; a && m_fd < 0; a = a->ai_next) {
                int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, a->ai_protocol);
                if (fd < 0)
                    continue;
                int rc2 = ::connect(fd, a->ai_addr, a->ai_addrlen);
                if (rc2 < 0 && errno == EINPROGRESS) {
                    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
                    pollfd p{fd, POLLOUT, 0};
                    if (::poll(&p, 1, static_cast<int>(std::max<long long>(1, std::min<long long>(left.count(), 2000)))) == 1) {
                        int err = 0;
                        socklen_t len = sizeof err;
                        getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
                        rc2 = err == 0 ? 0 : -1;
                        errno = err;
                    } else {
                        errno = ETIMEDOUT;
                    }
                }
                if (rc2 == 0) {
                    const int flags = fcntl(fd, F_GETFL);
                    fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
                    int one = 1;
                    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    m_fd = fd;
                } else {
                    why = errno_text(errno);
                    ::close(fd);
                }
            }
            freeaddrinfo(res);
        }
        if (m_fd >= 0)
            break;
        if (stop && stop())
            throw GpulabError(Error(ErrorCode::Stopped));
        if (Clock::now() >= deadline) {
            const auto secs = std::chrono::duration_cast<std::chrono::seconds>(timeout).count();
            throw GpulabError(Error(ErrorCode::RankMasterUnreachable,
                                    {{"master", m_master}, {"seconds", std::to_string(secs)}, {"why", why}}));
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    if (getsockname(m_fd, reinterpret_cast<sockaddr*>(&ss), &len) == 0)
        m_local = address_text(reinterpret_cast<sockaddr*>(&ss));
}

KvClient::~KvClient()
{
    stop_heartbeat();
    if (m_fd >= 0)
        ::close(m_fd);
}

std::vector<char> KvClient::request(const std::vector<char>& msg, std::chrono::milliseconds wait)
{
    // The store answers at once, or after a get/wait's own time: a store silent for
    // kSilence longer (rank 0 stopped, its machine or network down) is lost.
    std::vector<char> body;
    if (m_lost || !send_all(m_fd, msg.data(), msg.size())) {
        m_lost = true;
        throw GpulabError(Error(ErrorCode::RankMasterLost, {{"master", m_master}}));
    }
    const auto deadline = Clock::now() + wait + kSilence;
    for (;;) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
        pollfd p{m_fd, POLLIN, 0};
        const int rc = left > 0 ? ::poll(&p, 1, static_cast<int>(std::min<long long>(left, 1000000))) : 0;
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc <= 0 || !recv_message(m_fd, &body)) {
            m_lost = true;
            throw GpulabError(Error(ErrorCode::RankMasterLost, {{"master", m_master}}));
        }
        return body;
    }
}

void KvClient::start_heartbeat()
{
    m_beat = std::thread([this] {
        std::unique_lock stop_lock(m_beat_mutex);
        while (!m_beat_stop) {
            m_beat_cv.wait_for(stop_lock, std::chrono::seconds(1), [&] { return m_beat_stop; });
            if (m_beat_stop)
                break;
            // busy in a get/wait: the store knows we are waiting
            std::unique_lock lock(m_mutex, std::try_to_lock);
            if (!lock.owns_lock())
                continue;
            try {
                request(encode({"beat"}), std::chrono::milliseconds(0));
            } catch (const GpulabError&) {
                break;
            }
        }
    });
}

Error KvClient::hello(const std::string& token, int rank, int world, const std::string& settings)
{
    std::lock_guard lock(m_mutex);
    Fields f;
    std::vector<char> body;
    try {
        body = request(encode({"hello", token, std::to_string(rank), std::to_string(world), settings}));
    } catch (const GpulabError&) { // something accepted the connection, but it is not rank 0's store
        const auto secs = std::chrono::duration_cast<std::chrono::seconds>(m_timeout).count();
        throw GpulabError(Error(ErrorCode::RankMasterUnreachable,
                                {{"master", m_master},
                                 {"seconds", std::to_string(secs)},
                                 {"why", "what answered there closed the connection without a word"}}));
    }
    if (!decode(body, &f) || f.empty())
        throw GpulabError(Error(ErrorCode::RankMasterLost, {{"master", m_master}}));
    if (f[0] == "ok") {
        start_heartbeat();
        return {};
    }
    Error e(f.size() >= 2 ? error_code_from_name(f[1]) : ErrorCode::Other);
    if (e.code == ErrorCode::None)
        e.code = ErrorCode::Other;
    for (size_t i = 2; i + 1 < f.size(); i += 2)
        e.facts.push_back({f[i], f[i + 1]});
    return e;
}

void KvClient::set(const std::string& key, const std::vector<char>& value)
{
    std::lock_guard lock(m_mutex);
    request(encode({"set", key, std::string(value.begin(), value.end())}));
}

std::optional<std::vector<char>> KvClient::get(const std::string& key, std::chrono::milliseconds timeout)
{
    std::lock_guard lock(m_mutex);
    Fields f;
    decode(request(encode({"get", std::to_string(timeout.count()), key}), timeout), &f);
    if (f.size() == 2 && f[0] == "value")
        return std::vector<char>(f[1].begin(), f[1].end());
    return std::nullopt;
}

bool KvClient::wait(const std::vector<std::string>& keys, std::chrono::milliseconds timeout)
{
    std::lock_guard lock(m_mutex);
    Fields req = {"wait", std::to_string(timeout.count())};
    req.insert(req.end(), keys.begin(), keys.end());
    Fields f;
    decode(request(encode(req), timeout), &f);
    return !f.empty() && f[0] == "ok";
}

void KvClient::fail(int /*rank*/, const std::string& why)
{
    std::lock_guard lock(m_mutex);
    request(encode({"fail", why}));
}

void KvClient::goodbye()
{
    stop_heartbeat();
    std::lock_guard lock(m_mutex);
    request(encode({"bye"}));
}

void KvClient::stop_heartbeat()
{
    {
        std::lock_guard lock(m_beat_mutex);
        m_beat_stop = true;
    }
    m_beat_cv.notify_all();
    if (m_beat.joinable())
        m_beat.join();
}

std::optional<std::pair<int, std::string>> KvClient::first_failure(std::chrono::milliseconds timeout)
{
    try {
        auto v = get("gpulab/failed", timeout);
        if (!v)
            return std::nullopt;
        const std::string s(v->begin(), v->end());
        const auto nl = s.find('\n');
        return std::make_pair(std::stoi(s.substr(0, nl)), nl == std::string::npos ? std::string() : s.substr(nl + 1));
    } catch (const GpulabError&) {
        return std::make_pair(0, std::string("its process ended or its connection was lost"));
    } catch (const std::exception&) {
        return std::nullopt;
    }
}

} // namespace gpulab
