// gpulab-cli launch: a job of N ranks on this machine, one process each. The launcher picks
// the rendezvous address (127.0.0.1 and a free port unless --master says otherwise) and a
// random token, starts `gpulab-cli train ... --world N --rank R` (with GPULAB_LOCAL_RANK=R: a GPU
// rank's index on this machine, nccl_rank_plan.h), prefixes every line a rank
// prints with "[rank R] ", and exits with the code of the first rank that failed, naming it.
// Ctrl-C (SIGINT/SIGTERM) goes to every rank; the launcher then exits 130.
#include "cli_commands.h"

#include "cli_args.h"

#include "rank/kv_store.h"
#include "rank/rank_group.h"
#include "rank/socket_io.h"

#include <arpa/inet.h>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <string>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

namespace gpulab::cli {

namespace {

using Clock = std::chrono::steady_clock;

struct RankProc {
    int rank = 0;
    pid_t pid = -1;
    int fd = -1;         // its stdout and stderr
    std::string partial; // a line not yet ended
    bool running = true;
    int code = 0;        // exit code; 128 + signal when killed
};

void print_lines(RankProc& p, const char* data, size_t n, bool flush)
{
    p.partial.append(data, n);
    size_t at = 0;
    for (;;) {
        const size_t nl = p.partial.find_first_of("\n\r", at);
        if (nl == std::string::npos)
            break;
        if (nl > at)
            std::printf("[rank %d] %s\n", p.rank, p.partial.substr(at, nl - at).c_str());
        at = nl + 1;
    }
    p.partial.erase(0, at);
    if (flush && !p.partial.empty()) {
        std::printf("[rank %d] %s\n", p.rank, p.partial.c_str());
        p.partial.clear();
    }
    std::fflush(stdout);
}

} // namespace

int cmd_launch(const std::vector<std::string>& argv)
{
    // launch options, then "--", then train's
    std::vector<std::string> own, train;
    bool after = false;
    for (const std::string& a : argv) {
        if (!after && a == "--") {
            after = true;
            continue;
        }
        (after ? train : own).push_back(a);
    }
    // "-- train --devices 1 ..." reads like the command each rank runs: the word is optional
    if (!train.empty() && train.front() == "train")
        train.erase(train.begin());
    int nproc = 0;
    std::string master;
    double timeout = 60;
    try {
        Args a(own, {"--nproc", "--master", "--timeout"}, {"--help"});
        if (a.has("--help"))
            return cmd_help();
        if (!after)
            throw Usage("give the train options after '--': gpulab-cli launch --nproc N -- --devices 1 ...");
        const long long n = a.integer("--nproc", 0);
        if (n < 1 || n > 64)
            throw Usage("--nproc needs a number of ranks from 1 to 64");
        nproc = static_cast<int>(n);
        master = a.str("--master", "");
        timeout = a.real("--timeout", 60);
        if (!(timeout >= 1 && timeout <= 86400))
            throw Usage("--timeout needs seconds from 1 to 86400");
        std::string host;
        int port = 0;
        if (!master.empty() && !split_host_port(master, &host, &port))
            throw Usage("--master needs HOST:PORT, such as 127.0.0.1:29500 (got '" + master + "')");
        for (const std::string& t : train)
            if (t == "--world" || t == "--rank" || t == "--master" || t == "--token" || t.rfind("--world=", 0) == 0 ||
                t.rfind("--rank=", 0) == 0)
                throw Usage("launch sets " + t + " for every rank itself; leave it out of the train options");
        std::string why;
        if (!ranks_available(&why))
            throw Usage("ranks in separate processes are not available: " + why);
    } catch (const Usage& e) {
        std::fprintf(stderr, "gpulab-cli launch: %s\n", e.what());
        return 2;
    }
    if (master.empty())
        master = "127.0.0.1:" + std::to_string(free_loopback_port());
    const std::string token = random_token();
    std::printf("launch: %d rank(s), rendezvous at %s\n", nproc, master.c_str());
    std::fflush(stdout);

    char self[4096];
    const ssize_t len = ::readlink("/proc/self/exe", self, sizeof self - 1);
    if (len <= 0) {
        std::fprintf(stderr, "gpulab-cli launch: cannot find its own program (/proc/self/exe)\n");
        return 1;
    }
    self[len] = 0;

    install_signal_handlers();
    std::vector<RankProc> procs(static_cast<size_t>(nproc));
    for (int r = 0; r < nproc; ++r) {
        int fds[2];
        if (::pipe2(fds, O_CLOEXEC) != 0) {
            std::fprintf(stderr, "gpulab-cli launch: cannot make a pipe (%s)\n", std::strerror(errno));
            return 1;
        }
        std::vector<std::string> args = {self, "train"};
        args.insert(args.end(), train.begin(), train.end());
        for (const char* s : {"--world", "--rank", "--master", "--token", "--timeout"})
            args.push_back(s), args.push_back(std::string(s) == "--world"  ? std::to_string(nproc)
                                              : std::string(s) == "--rank" ? std::to_string(r)
                                              : std::string(s) == "--master" ? master
                                              : std::string(s) == "--token"  ? token
                                                                             : std::to_string(timeout));
        const pid_t pid = ::fork();
        if (pid == 0) {
            ::prctl(PR_SET_PDEATHSIG, SIGTERM); // the launcher gone: stop
            ::dup2(fds[1], STDOUT_FILENO);
            ::dup2(fds[1], STDERR_FILENO);
            std::signal(SIGINT, SIG_DFL);
            std::signal(SIGTERM, SIG_DFL);
            ::setenv("GPULAB_LOCAL_RANK", std::to_string(r).c_str(), 1); // one thread here: safe
            std::vector<char*> cargs;
            for (auto& s : args)
                cargs.push_back(s.data());
            cargs.push_back(nullptr);
            ::execv(self, cargs.data());
            std::fprintf(stderr, "cannot start %s (%s)\n", self, std::strerror(errno));
            _exit(127);
        }
        ::close(fds[1]);
        procs[static_cast<size_t>(r)].rank = r;
        procs[static_cast<size_t>(r)].pid = pid;
        procs[static_cast<size_t>(r)].fd = fds[0];
    }

    int first_failed = -1;
    bool interrupted = false;
    Clock::time_point failed_at{};
    int running = nproc;
    bool killed_rest = false;
    while (running > 0) {
        if (cli_signal() && !interrupted) {
            interrupted = true;
            for (auto& p : procs)
                if (p.running)
                    ::kill(p.pid, SIGINT);
        }
        // A rank failed and another is still running 40 s later (it should have stopped
        // within 30 s on its own): stop it.
        if (first_failed >= 0 && !killed_rest && Clock::now() - failed_at > std::chrono::seconds(40)) {
            killed_rest = true;
            for (auto& p : procs)
                if (p.running)
                    ::kill(p.pid, SIGKILL);
        }
        std::vector<pollfd> pf;
        for (auto& p : procs)
            if (p.fd >= 0)
                pf.push_back({p.fd, POLLIN, 0});
        if (!pf.empty())
            ::poll(pf.data(), pf.size(), 100);
        else
            ::usleep(100 * 1000);
        for (auto& p : procs) {
            if (p.fd < 0)
                continue;
            for (const pollfd& q : pf) {
                if (q.fd != p.fd || !(q.revents & (POLLIN | POLLHUP | POLLERR)))
                    continue;
                char buf[8192];
                const ssize_t n = ::read(p.fd, buf, sizeof buf);
                if (n > 0) {
                    print_lines(p, buf, static_cast<size_t>(n), false);
                } else if (n == 0 || errno != EINTR) {
                    print_lines(p, "", 0, true);
                    ::close(p.fd);
                    p.fd = -1;
                }
            }
        }
        for (auto& p : procs) {
            if (!p.running)
                continue;
            int status = 0;
            if (::waitpid(p.pid, &status, WNOHANG) != p.pid)
                continue;
            p.running = false;
            --running;
            p.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
            if (p.code != 0 && first_failed < 0) {
                first_failed = p.rank;
                failed_at = Clock::now();
            }
        }
    }
    for (auto& p : procs) { // what is left in the pipes
        if (p.fd < 0)
            continue;
        char buf[8192];
        ssize_t n;
        while ((n = ::read(p.fd, buf, sizeof buf)) > 0)
            print_lines(p, buf, static_cast<size_t>(n), false);
        print_lines(p, "", 0, true);
        ::close(p.fd);
    }
    restore_signal_handlers();
    if (interrupted) {
        std::fprintf(stderr, "gpulab-cli launch: interrupted; every rank was stopped\n");
        return 130;
    }
    if (first_failed >= 0) {
        const RankProc& p = procs[static_cast<size_t>(first_failed)];
        if (p.code > 128)
            std::fprintf(stderr, "gpulab-cli launch: rank %d failed first (killed by signal %d)\n", p.rank,
                         p.code - 128);
        else
            std::fprintf(stderr, "gpulab-cli launch: rank %d failed first (exit code %d)\n", p.rank, p.code);
        return p.code;
    }
    return 0;
}

} // namespace gpulab::cli
