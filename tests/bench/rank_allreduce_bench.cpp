// gpulab-rank-bench: Gloo's allreduce between ranks in separate processes on this machine,
// against the alpha-beta model of a ring allreduce, T = 2(N-1) * (alpha + (n/N) * beta),
// with alpha (one-way latency) and beta (seconds per byte) measured over loopback TCP
// between two processes first. Prints; asserts nothing.
//
//   gpulab-rank-bench [--ranks 2,4] [--reps 20]
#include "rank/kv_store.h"
#include "rank/rank_group.h"

#include <algorithm>
#include <arpa/inet.h>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

using namespace gpulab;
using Clock = std::chrono::steady_clock;

namespace {

double seconds_since(Clock::time_point t0)
{
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

double median(std::vector<double> v)
{
    std::sort(v.begin(), v.end());
    return v.empty() ? 0 : v[v.size() / 2];
}

bool full(int fd, char* p, size_t n, bool sending)
{
    size_t at = 0;
    while (at < n) {
        const ssize_t k = sending ? ::send(fd, p + at, n - at, MSG_NOSIGNAL) : ::recv(fd, p + at, n - at, 0);
        if (k <= 0)
            return false;
        at += size_t(k);
    }
    return true;
}

// alpha: half the median round trip of a 4-byte ping-pong; beta: seconds per byte of a
// one-way 64 MiB stream (its reply: 4 bytes). Two processes, loopback TCP, TCP_NODELAY.
void measure_loopback(double* alpha, double* beta)
{
    const int lfd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    ::bind(lfd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::listen(lfd, 1);
    ::getsockname(lfd, reinterpret_cast<sockaddr*>(&a), &len);
    const int one = 1;
    constexpr size_t kBulk = size_t(64) << 20;
    constexpr int kPings = 2000;
    const pid_t child = ::fork();
    if (child == 0) { // the echo end
        const int fd = ::accept(lfd, nullptr, nullptr);
        ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        char b[4];
        for (int i = 0; i < kPings; ++i)
            if (!full(fd, b, 4, false) || !full(fd, b, 4, true))
                ::_exit(1);
        std::vector<char> buf(kBulk);
        for (int rep = 0; rep < 3; ++rep)
            if (!full(fd, buf.data(), kBulk, false) || !full(fd, b, 4, true))
                ::_exit(1);
        ::_exit(0);
    }
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    char b[4] = {};
    std::vector<double> rtt;
    for (int i = 0; i < kPings; ++i) {
        const auto t0 = Clock::now();
        full(fd, b, 4, true);
        full(fd, b, 4, false);
        rtt.push_back(seconds_since(t0));
    }
    std::vector<char> buf(kBulk, 1);
    std::vector<double> bulk;
    for (int rep = 0; rep < 3; ++rep) {
        const auto t0 = Clock::now();
        full(fd, buf.data(), kBulk, true);
        full(fd, b, 4, false);
        bulk.push_back(seconds_since(t0));
    }
    ::close(fd);
    ::close(lfd);
    ::waitpid(child, nullptr, 0);
    *alpha = median(rtt) / 2;
    *beta = (*std::min_element(bulk.begin(), bulk.end()) - median(rtt)) / double(kBulk);
}

int free_port()
{
    KvServer s("127.0.0.1", 0, {});
    return s.port();
}

} // namespace

int main(int argc, char** argv)
{
    std::vector<int> worlds = {2, 4};
    int reps = 20;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string k = argv[i];
        if (k == "--ranks") {
            worlds.clear();
            for (const char* p = argv[i + 1]; *p;) {
                worlds.push_back(std::atoi(p));
                while (*p && *p != ',')
                    ++p;
                if (*p == ',')
                    ++p;
            }
        } else if (k == "--reps") {
            reps = std::max(3, std::atoi(argv[i + 1]));
        }
    }
    std::string why;
    if (!ranks_available(&why)) {
        std::printf("gpulab-rank-bench: %s\n", why.c_str());
        return 0;
    }
    double alpha = 0, beta = 0;
    measure_loopback(&alpha, &beta);
    std::printf("loopback TCP between two processes: alpha %.1f us (half the median round trip of 4 bytes), "
                "beta %.3f ns/byte (%.2f GB/s, one-way 64 MiB)\n",
                alpha * 1e6, beta * 1e9, 1e-9 / beta);
    // LeNet's gradient and the loss, as the ranks reduce them each minibatch: 129,121 floats
    const std::vector<size_t> sizes = {1, 256, 16384, 129121, 1u << 20};
    std::printf("%5s %12s %12s %12s %12s %8s\n", "ranks", "bytes", "gloo min us", "median us", "model us",
                "median/model");
    std::fflush(stdout);
    for (int world : worlds) {
        const std::string master = "127.0.0.1:" + std::to_string(free_port());
        std::vector<pid_t> kids;
        for (int r = 0; r < world; ++r) {
            const pid_t pid = ::fork();
            if (pid != 0) {
                kids.push_back(pid);
                continue;
            }
            try {
                RankOptions o;
                o.world = world;
                o.rank = r;
                o.master = master;
                o.token = "bench";
                auto group = join_ranks(o, "bench\n");
                for (size_t n : sizes) {
                    std::vector<float> v(n, 1.0f);
                    std::vector<double> t;
                    for (int i = 0; i < reps + 3; ++i) {
                        group->broadcast_from_rank0(v.data(), 1); // start together
                        const auto t0 = Clock::now();
                        group->allreduce_sum(v.data(), v.size());
                        if (i >= 3)
                            t.push_back(seconds_since(t0));
                    }
                    if (r == 0) {
                        const double bytes = double(n) * 4;
                        const double model = 2.0 * (world - 1) * (alpha + bytes / world * beta);
                        std::printf("%5d %12.0f %12.1f %12.1f %12.1f %8.2f\n", world, bytes,
                                    *std::min_element(t.begin(), t.end()) * 1e6, median(t) * 1e6, model * 1e6,
                                    median(t) / model);
                        std::fflush(stdout);
                    }
                }
                group->finish();
                ::_exit(0);
            } catch (const std::exception& e) {
                std::fprintf(stderr, "rank %d: %s\n", r, e.what());
                ::_exit(1);
            }
        }
        for (pid_t k : kids)
            ::waitpid(k, nullptr, 0);
    }
    return 0;
}
