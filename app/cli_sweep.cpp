// gpulab-cli sweep: the scaling sweep (core/train/sweep.h) as a table, and as CSV with --csv.
#include "cli_commands.h"

#include "cli_args.h"

#include "data/fashion_mnist.h"
#include "data/idx.h"
#include "data/synthetic.h"
#include "device/device_factory.h"
#include "train/settings.h"
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

// The run settings a sweep takes from the settings table, as train does: parsed and checked
// by the table. Every combination runs in sync mode for one epoch over its own subset, so the
// table's mode, epochs, subsets and the like do not apply.
const std::vector<std::string>& sweep_table_settings()
{
    static const std::vector<std::string> names = {"backend",       "allreduce",          "seed",
                                                   "memory_budget", "threads_per_device", "link",
                                                   "link_params",   "lr"};
    return names;
}

namespace {

[[noreturn]] void refuse(const Error& e)
{
    throw std::invalid_argument(english(e));
}

// A list-valued axis of the sweep (--devices 1,2,4, --batch-size 256,512): each value is
// read and range-checked by the table's setting of that name.
std::vector<int64_t> table_list(const char* name, const std::string& text, const TrainConfig& base)
{
    const SettingSpec* spec = find_setting(name);
    std::vector<int64_t> values = parse_number_list(spec->flag, text);
    for (int64_t v : values) {
        TrainConfig t = base;
        try {
            spec->set(t, std::to_string(v));
        } catch (const GpulabError& e) {
            refuse(e.error);
        }
        for (const Error& e : check(t))
            if (e.fact("setting") == name && e.code == ErrorCode::SettingOutOfRange)
                refuse(e);
    }
    return values;
}

} // namespace

int cmd_sweep(const std::vector<std::string>& argv)
{
    std::vector<std::string> with_value = {"--devices", "--batch-size", "--minibatches", "--lr-scale", "--csv",
                                           "--data",    "--warmup"};
    for (const std::string& name : sweep_table_settings())
        with_value.push_back(find_setting(name)->flag);
    SweepConfig sc;
    std::string csv_path, data_dir = default_fashion_mnist_dir();
    long long synthetic = 0;
    try {
        const Args a(argv, with_value, {"--help"}, {"--synthetic"});
        if (a.has("--help"))
            return cmd_help();
        auto has = [&](const char* n) { return a.has(n); };
        auto opt = [&](const char* n) { return a.str(n, ""); };
        // the per-run settings, read as the table reads them for train
        for (const std::string& name : sweep_table_settings()) {
            const SettingSpec* spec = find_setting(name);
            if (a.has(spec->flag)) {
                try {
                    spec->set(sc.base, a.str(spec->flag, ""));
                } catch (const GpulabError& e) {
                    refuse(e.error);
                }
            }
        }
        if (has("--devices")) {
            sc.devices.clear();
            for (int64_t n : table_list("devices", opt("--devices"), sc.base))
                sc.devices.push_back(static_cast<int>(n));
        }
        if (has("--batch-size"))
            sc.batch_sizes = table_list("batch_size", opt("--batch-size"), sc.base);
        if (has("--minibatches"))
            sc.minibatches = static_cast<int>(std::clamp(a.integer("--minibatches", 0), -1LL, 1LL << 30));
        if (has("--warmup"))
            sc.warmup = static_cast<int>(std::clamp(a.integer("--warmup", 0), -1LL, 1LL << 30));
        if (has("--lr-scale"))
            sc.lr_scale = parse_lr_scale(opt("--lr-scale"));
        if (has("--data"))
            data_dir = opt("--data");
        synthetic = synthetic_images(a);
        csv_path = opt("--csv");
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
    } catch (const Usage& e) {
        std::fprintf(stderr, "gpulab-cli sweep: %s\n", e.what());
        return 2;
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
                "(after %d warm-up), sync mode, %s allreduce%s, lr %s (lr %g at batch %lld)\n",
                sc.devices.size(), sc.batch_sizes.size(), sc.minibatches, sc.warmup,
                allreduce_name(sc.base.allreduce),
                sc.base.link.none()
                    ? ""
                    : (", link " + sc.base.link.name +
                       (sc.base.link_params > 0 ? " charging " + link_params_text(sc.base.link_params) +
                                                      "'s gradients" : std::string()) +
                       " (modelled)").c_str(),
                sc.lr_scale == LrScale::Linear ? "scaled linearly with the batch" : "fixed",
                sc.base.lr, static_cast<long long>(SweepConfig::kLrBaseBatch));
    std::fflush(stdout);

    Sweep sweep(sc, data);
    install_signal_handlers();
    std::atomic<bool> done{false};
    std::thread watcher([&] {
        while (!done) {
            if (cli_signal()) {
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
    restore_signal_handlers();

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
