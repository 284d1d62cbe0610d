// gpulab-cli's signal handling (cli_args.h).
#include "cli_args.h"

#include <csignal>
#include <unistd.h>

namespace gpulab::cli {

namespace {
std::atomic<int> g_signal{0};

extern "C" void on_signal(int sig)
{
    if (g_signal != 0)
        _exit(130);
    g_signal = sig;
}
} // namespace

std::atomic<int>& cli_signal()
{
    return g_signal;
}

void install_signal_handlers()
{
    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);
}

void restore_signal_handlers()
{
    std::signal(SIGINT, SIG_DFL);
    std::signal(SIGTERM, SIG_DFL);
}

} // namespace gpulab::cli
