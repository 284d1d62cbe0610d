// gpulab-cli verify: every op, each allreduce strategy and a few training steps on every
// usable backend against the CPU reference; one line per check, exit 1 on any FAIL.
#include "cli_commands.h"

#include "device/device_factory.h"
#include "verify/verify.h"

#include <chrono>
#include <cstdio>
#include <string>

namespace gpulab::cli {

namespace {

int usage_error(const std::string& what)
{
    std::fprintf(stderr, "gpulab-cli verify: %s (see gpulab-cli --help)\n", what.c_str());
    return 2;
}

bool parse_int(const std::string& s, long long* out)
{
    try {
        size_t used = 0;
        *out = std::stoll(s, &used);
        return used == s.size();
    } catch (...) {
        return false;
    }
}

void print_check(const VerifyCheck& c)
{
    std::printf("%-4s %-4s %-9s %-62s worst %-9.3g", c.ok ? "OK" : "FAIL", c.backend.c_str(), c.group.c_str(),
                c.name.c_str(), c.worst);
    if (c.tol > 0 || c.eps > 0)
        std::printf(" (allowed %.0e + %.0e*|ref|)", c.tol, c.eps);
    else if (c.values > 0)
        std::printf(" (exact)");
    if (!c.note.empty())
        std::printf("  %s", c.note.c_str());
    std::printf("\n");
    std::fflush(stdout);
}

} // namespace

int cmd_verify(const std::vector<std::string>& args)
{
    VerifyOptions opt;
    std::string backend = "all";
    for (size_t i = 0; i < args.size(); ++i) {
        std::string name = args[i], value;
        if (name == "--help" || name == "-h")
            return cmd_help();
        if (auto eq = name.find('='); name.rfind("--", 0) == 0 && eq != std::string::npos) {
            value = name.substr(eq + 1);
            name = name.substr(0, eq);
        } else if (name == "--backend" || name == "--devices" || name == "--seed") {
            if (i + 1 >= args.size())
                return usage_error(name + " needs a value");
            value = args[++i];
        } else {
            return usage_error("unknown option '" + name + "'");
        }
        long long n = 0;
        if (name == "--backend") {
            if (value != "all" && value != "cpu" && value != "cuda" && value != "auto")
                return usage_error("unknown backend '" + value + "' (choose all, cpu or cuda)");
            backend = value == "auto" ? "all" : value;
        } else if (name == "--devices") {
            if (!parse_int(value, &n) || n < 1 || n > 64)
                return usage_error("--devices needs a whole number from 1 to 64 (got '" + value + "')");
            opt.cuda_devices = static_cast<int>(n);
        } else if (name == "--seed") {
            if (!parse_int(value, &n) || n < 0)
                return usage_error("--seed needs a whole number (got '" + value + "')");
            opt.seed = static_cast<uint64_t>(n);
        } else {
            return usage_error("unknown option '" + name + "'");
        }
    }
    opt.cpu = backend != "cuda";
    opt.cuda = backend != "cpu";
    std::string why;
    if (backend == "cuda" && !cuda_usable(&why)) {
        std::fprintf(stderr, "gpulab-cli verify: --backend cuda: CUDA is not usable here: %s\n", why.c_str());
        return 2;
    }
    opt.on_check = print_check;

    const auto t0 = std::chrono::steady_clock::now();
    const VerifyReport report = run_verify(opt);
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    for (const auto& s : report.skipped)
        std::printf("SKIP %s\n", s.c_str());
    const int failed = report.failures();
    const int total = static_cast<int>(report.checks.size());
    std::printf("verify: %d checks, %d OK, %d FAIL%s in %.1f s\n", total, total - failed, failed,
                report.skipped.empty() ? "" : " (some skipped, see SKIP lines)", secs);
    return failed == 0 ? 0 : 1;
}

} // namespace gpulab::cli
