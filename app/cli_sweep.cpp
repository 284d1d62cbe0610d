// gpulab-cli sweep: the scaling sweep (core/train/sweep.h) as a table, and as CSV with --csv.
#include "cli_commands.h"

#include "data/fashion_mnist.h"
#include "data/idx.h"
#include "data/synthetic.h"
#include "device/device_factory.h"
#include "train/sweep.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <map>
#include <stdexcept>
#include <thread>
#include <unistd.h>

namespace gpulab::cli {

namespace {

std::atomic<int> g_sweep_signal{0};

extern "C" void on_sweep_signal(int sig)
{
    if (g_sweep_signal != 0)
        _exit(130);
    g_sweep_signal = sig;
}

long long whole(const std::string& name, const std::string& v)
{
    size_t used = 0;
    long long x = 0;
    try {
        x = std::stoll(v, &used);
    } catch (...) {
        used = 0;
    }
    if (used == 0 || used != v.size())
        throw std::invalid_argument(name + " needs a whole number (got '" + v + "')");
    return x;
}

} // namespace

int cmd_sweep(const std::vector<std::string>& argv)
{
    static const std::vector<std::string> with_value = {
        "--devices", "--batch-size", "--minibatches", "--lr-scale", "--lr", "--csv", "--backend",
        "--allreduce", "--seed", "--data", "--synthetic", "--threads-per-device", "--memory-budget",
        "--warmup"};
    std::map<std::string, std::string> opt;
    SweepConfig sc;
    std::string csv_path, data_dir = default_fashion_mnist_dir();
    long long synthetic = 0;
    try {
        for (size_t i = 0; i < argv.size(); ++i) {
            std::string name = argv[i], value;
            if (name == "--help")
                return cmd_help();
            const auto eq = name.find('=');
            const bool inline_value = name.rfind("--", 0) == 0 && eq != std::string::npos;
            if (inline_value) {
                value = name.substr(eq + 1);
                name = name.substr(0, eq);
            }
            if (std::find(with_value.begin(), with_value.end(), name) == with_value.end())
                throw std::invalid_argument("unknown option '" + argv[i] + "' (see gpulab-cli --help)");
            if (!inline_value) {
                if (i + 1 >= argv.size())
                    throw std::invalid_argument(name + " needs a value");
                value = argv[++i];
            }
            opt[name] = value;
        }
        auto has = [&](const char* n) { return opt.count(n) > 0; };
        if (has("--devices")) {
            sc.devices.clear();
            for (int64_t n : parse_number_list("--devices", opt["--devices"]))
                sc.devices.push_back(static_cast<int>(std::min<int64_t>(n, 1 << 20)));
        }
        if (has("--batch-size"))
            sc.batch_sizes = parse_number_list("--batch-size", opt["--batch-size"]);
        if (has("--minibatches"))
            sc.minibatches = static_cast<int>(std::clamp(whole("--minibatches", opt["--minibatches"]), -1LL, 1LL << 30));
        if (has("--warmup"))
            sc.warmup = static_cast<int>(std::clamp(whole("--warmup", opt["--warmup"]), -1LL, 1LL << 30));
        if (has("--lr-scale"))
            sc.lr_scale = parse_lr_scale(opt["--lr-scale"]);
        if (has("--lr")) {
            size_t used = 0;
            const std::string& v = opt["--lr"];
            try {
                sc.base.lr = std::stod(v, &used);
            } catch (...) {
                used = 0;
            }
            if (used == 0 || used != v.size())
                throw std::invalid_argument("--lr needs a number (got '" + v + "')");
        }
        if (has("--backend"))
            sc.base.backend = parse_backend(opt["--backend"]);
        if (has("--allreduce"))
            sc.base.allreduce = parse_allreduce(opt["--allreduce"]);
        if (has("--seed"))
            sc.base.seed = static_cast<uint64_t>(whole("--seed", opt["--seed"]));
        if (has("--threads-per-device"))
            sc.base.threads_per_device = static_cast<int>(std::clamp(whole("--threads-per-device", opt["--threads-per-device"]), -1LL, 1LL << 20));
        if (has("--memory-budget"))
            sc.base.memory_budget = parse_bytes(opt["--memory-budget"]);
        if (has("--data"))
            data_dir = opt["--data"];
        if (has("--synthetic")) {
            synthetic = whole("--synthetic", opt["--synthetic"]);
            if (synthetic < 1 || synthetic > 1000000)
                throw std::invalid_argument("--synthetic needs a number of training images from 1 to 1000000");
        }
        csv_path = opt.count("--csv") ? opt["--csv"] : "";
        if (sc.base.backend == Backend::Auto) {
            std::string why;
            sc.base.backend = cuda_usable(&why) ? Backend::Cuda : Backend::Cpu;
            std::fprintf(stderr, "backend auto: using %s\n",
                         sc.base.backend == Backend::Cuda ? "CUDA" : ("simulated CPU devices (CUDA: " + why + ")").c_str());
        } else if (sc.base.backend == Backend::Cuda) {
            std::string why;
            if (!cuda_usable(&why))
                throw std::invalid_argument("--backend cuda: " + why + "; use --backend cpu");
        }
    } catch (const std::invalid_argument& e) {
        std::fprintf(stderr, "gpulab-cli sweep: %s\n", e.what());
        return 2;
    }

    std::shared_ptr<FashionMnist> data;
    try {
        if (synthetic > 0)
            data = std::make_shared<FashionMnist>(
                make_synthetic_dataset(synthetic, std::max(1LL, synthetic / 6), sc.base.seed));
        else
            data = std::make_shared<FashionMnist>(load_fashion_mnist(data_dir));
    } catch (const DataError& e) {
        std::fprintf(stderr, "gpulab-cli sweep: %s\n", e.what());
        return 2;
    }
    if (std::string err = validate(sc, data->train.count); !err.empty()) {
        std::fprintf(stderr, "gpulab-cli sweep: %s\n", err.c_str());
        return 2;
    }

    std::printf("scaling sweep: %zu device count(s) x %zu batch size(s), %d timed minibatches each "
                "(after %d warm-up), sync mode, %s allreduce, lr %s (lr %g at batch %lld)\n",
                sc.devices.size(), sc.batch_sizes.size(), sc.minibatches, sc.warmup,
                allreduce_name(sc.base.allreduce),
                sc.lr_scale == LrScale::Linear ? "scaled linearly with the batch" : "fixed",
                sc.base.lr, static_cast<long long>(SweepConfig::kLrBaseBatch));
    std::fflush(stdout);

    Sweep sweep(sc, data);
    std::signal(SIGINT, on_sweep_signal);
    std::signal(SIGTERM, on_sweep_signal);
    std::atomic<bool> done{false};
    std::thread watcher([&] {
        while (!done) {
            if (g_sweep_signal) {
                sweep.cancel();
                return;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
    });
    const bool tty = isatty(STDERR_FILENO);
    size_t shown = 0;
    const size_t total = sc.devices.size() * sc.batch_sizes.size();
    const auto points = sweep.run([&](const SweepPoint& p) {
        ++shown;
        if (tty)
            std::fprintf(stderr, "\r  %zu/%zu: %d device(s), batch %lld done   ", shown, total, p.devices,
                         static_cast<long long>(p.batch_size));
    });
    done = true;
    watcher.join();
    if (tty && shown > 0)
        std::fprintf(stderr, "\r%60s\r", "");
    std::signal(SIGINT, SIG_DFL);
    std::signal(SIGTERM, SIG_DFL);

    std::printf("%s", format_sweep_table(points).c_str());
    std::printf("compute, allreduce and waiting: shares of each device's time over the timed minibatches "
                "(mean over the devices)\n");
    std::fflush(stdout);
    if (!csv_path.empty()) {
        std::string err;
        if (write_sweep_csv(points, csv_path, &err))
            std::fprintf(stderr, "sweep written to %s\n", csv_path.c_str());
        else {
            std::fprintf(stderr, "gpulab-cli sweep: %s\n", err.c_str());
            return 1;
        }
    }
    if (sweep.cancelled()) {
        std::fprintf(stderr, "gpulab-cli sweep: interrupted after %zu of %zu combinations\n", points.size(), total);
        return 130;
    }
    for (const SweepPoint& p : points)
        if (p.status != RunStatus::Completed)
            return 1;
    return 0;
}

} // namespace gpulab::cli
