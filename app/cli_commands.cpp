// gpulab-cli train / devices / help. Bad settings get one line and exit code 2; a run
// that fails (out of memory, diverged) prints why and exits 1.
#include "cli_commands.h"

#include "cli_args.h"

#include "data/fashion_mnist.h"
#include "data/idx.h"
#include "data/synthetic.h"
#include "device/device_factory.h"
#include "trace/event_stream.h"
#include "trace/op_summary.h"
#include "trace/trace_export.h"
#include "record/recording.h"
#include "rank/kv_store.h"
#include "rank/nccl_rank.h"
#include "rank/nccl_rank_plan.h"
#include "rank/rank_events.h"
#include "rank/rank_group.h"
#include "train/settings.h"
#include "train/trainer.h"

#include <algorithm>
#include <cstdlib>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>
#include <unistd.h>

namespace gpulab::cli {

namespace {

int default_devices()
{
    const unsigned hc = std::thread::hardware_concurrency();
    return static_cast<int>(std::clamp(hc, 1u, 8u));
}

std::string join_names(const std::vector<std::string>& names)
{
    std::string s = "[";
    for (size_t i = 0; i < names.size(); ++i)
        s += (i ? ", " : "") + names[i];
    return s + "]";
}

// The device names as a JSON array (names are plain ASCII such as cpu-sim(0); quotes and
// backslashes are escaped all the same).
std::string json_names(const std::vector<std::string>& names)
{
    std::string s = "[";
    for (size_t i = 0; i < names.size(); ++i) {
        s += i ? ",\"" : "\"";
        for (char ch : names[i]) {
            if (ch == '"' || ch == '\\')
                s += '\\';
            s += ch;
        }
        s += '"';
    }
    return s + "]";
}

// The CLI's defaults: the table's, with one device per core.
TrainConfig cli_defaults()
{
    TrainConfig c;
    c.devices = default_devices();
    return c;
}

// Every setting of the table given on the command line, parsed by the table.
TrainConfig config_from(const Args& a)
{
    TrainConfig c = cli_defaults();
    for (const SettingSpec& s : run_settings())
        if (s.in_cli && a.has(s.flag))
            s.set(c, a.str(s.flag, ""));
    return c;
}

void write_exports_of(const std::vector<Event>& events, const std::string& trace_path,
                      const std::string& csv_path, FILE* out)
{
    if (trace_path.empty() && csv_path.empty())
        return;
    std::string err;
    if (!trace_path.empty()) {
        if (export_chrome_trace(events, trace_path, &err))
            std::fprintf(out, "trace written to %s (open in https://ui.perfetto.dev or chrome://tracing)\n",
                         trace_path.c_str());
        else
            std::fprintf(stderr, "gpulab-cli: %s\n", err.c_str());
    }
    if (!csv_path.empty()) {
        if (export_events_csv(events, csv_path, &err))
            std::fprintf(out, "events written to %s\n", csv_path.c_str());
        else
            std::fprintf(stderr, "gpulab-cli: %s\n", err.c_str());
    }
}

void write_exports(const EventStream& trace, const std::string& trace_path,
                   const std::string& csv_path, FILE* out)
{
    write_exports_of(trace.all(), trace_path, csv_path, out);
}

// The lines train prints for the run's events, and replay prints again from a recording:
// "training: ...", "note: ...", "epoch 1: loss ..., on [devices]".
std::string run_line(const Event& e, const std::string& devices)
{
    char buf[512];
    if (const auto* x = e.get<ev::EpochEnd>()) {
        // Three significant digits: a GPU epoch takes hundredths of a second.
        std::snprintf(buf, sizeof buf,
                      x->seconds >= 100 ? "epoch %d: loss %.3f, test acc %.3f, %.0f sec/epoch on %s\n"
                                        : "epoch %d: loss %.3f, test acc %.3f, %.3g sec/epoch on %s\n",
                      x->epoch, x->train_loss, x->test_accuracy, x->seconds, devices.c_str());
        return buf;
    }
    if (const auto* x = e.get<ev::RunBegin>())
        return "training: " + x->settings + "\n";
    if (const auto* x = e.get<ev::Log>())
        return "note: " + x->text + "\n";
    return {};
}

// The rank options of train: --world, --rank, --master, --token, --timeout, --rendezvous,
// else GPULAB_WORLD, GPULAB_RANK, GPULAB_MASTER, GPULAB_TOKEN, else torchrun's WORLD_SIZE,
// RANK, MASTER_ADDR and MASTER_PORT, else OpenMPI's OMPI_COMM_WORLD_SIZE and _RANK.
// Returns false when this is not a job of ranks.
bool rank_options_from(const Args& a, RankOptions* o)
{
    auto env = [](const char* name) -> std::string {
        const char* v = std::getenv(name);
        return v ? v : "";
    };
    auto first_of = [&](const std::string& flag, std::initializer_list<const char*> names) -> std::string {
        if (a.has(flag))
            return a.str(flag, "");
        for (const char* n : names)
            if (std::string v = env(n); !v.empty())
                return v;
        return "";
    };
    auto whole = [](const std::string& what, const std::string& v, long long lo, long long hi) {
        try {
            size_t used = 0;
            const long long x = std::stoll(v, &used);
            if (used == v.size() && x >= lo && x <= hi)
                return static_cast<int>(x);
        } catch (...) {
        }
        throw Usage(what + " needs a whole number from " + std::to_string(lo) + " to " + std::to_string(hi) +
                    " (got '" + v + "')");
    };
    const std::string world = first_of("--world", {"GPULAB_WORLD", "WORLD_SIZE", "OMPI_COMM_WORLD_SIZE"});
    if (world.empty())
        return false;
    o->world = whole("--world", world, 1, 1024);
    const std::string rank = first_of("--rank", {"GPULAB_RANK", "RANK", "OMPI_COMM_WORLD_RANK"});
    o->rank = rank.empty() ? 0 : whole("--rank", rank, 0, 1023);
    std::string master = first_of("--master", {"GPULAB_MASTER"});
    if (master.empty() && !env("MASTER_ADDR").empty())
        master = env("MASTER_ADDR") + ":" + (env("MASTER_PORT").empty() ? "29500" : env("MASTER_PORT"));
    o->master = master.empty() ? "127.0.0.1:29500" : master;
    std::string host;
    int port = 0;
    if (!split_host_port(o->master, &host, &port))
        throw Usage("--master needs HOST:PORT, such as 127.0.0.1:29500 (got '" + o->master + "')");
    o->token = first_of("--token", {"GPULAB_TOKEN"});
    const double timeout = a.real("--timeout", 60);
    if (!(timeout >= 1 && timeout <= 86400))
        throw Usage("--timeout needs seconds from 1 to 86400");
    o->timeout = std::chrono::milliseconds(static_cast<long long>(timeout * 1000));
    o->rendezvous = a.str("--rendezvous", "");
    if (!o->rendezvous.empty() && o->rendezvous.rfind("file:", 0) != 0)
        throw Usage("--rendezvous needs file:DIR, a folder every rank can read and write (got '" + o->rendezvous + "')");
    if (o->rendezvous == "file:")
        throw Usage("--rendezvous file:DIR needs a folder");
    o->advertise = first_of("--advertise", {"GPULAB_ADVERTISE"});
    if (a.has("--advertise") || !o->advertise.empty()) {
        if (is_wildcard_host(o->advertise) || o->advertise.find_first_of(" \t/") != std::string::npos)
            throw Usage("--advertise needs this machine's address as the other ranks reach it, such as "
                        "192.168.1.11 (got '" + o->advertise + "'; a wildcard such as 0.0.0.0 is not one)");
    }
    return o->world > 1 || a.has("--rank");
}

// The table's settings sweep takes as train does, for its help: "--backend, --allreduce, ...
// as for train", wrapped.
std::string sweep_also()
{
    std::vector<std::string> items;
    for (const std::string& name : sweep_table_settings())
        if (name != "lr") // shown with its own line: the sweep scales it
            items.push_back(find_setting(name)->flag);
    items.push_back("--data");
    items.push_back("--synthetic");
    std::string out;
    size_t column = std::string("sweep options (sync mode; also ").size();
    for (size_t i = 0; i < items.size(); ++i) {
        const std::string item = items[i] + (i + 1 < items.size() ? "," : " as for train");
        if (i > 0) {
            if (column + 1 + item.size() > 86) {
                out += "\n";
                column = 0;
            } else {
                out += ' ';
                ++column;
            }
        }
        out += item;
        column += item.size();
    }
    return out;
}

} // namespace

int cmd_help()
{
    std::printf(
        "gpulab-cli: the book's data-parallel LeNet training on Fashion-MNIST, headless.\n"
        "\n"
        "usage:\n"
        "  gpulab-cli train [options]   train and print loss, test accuracy, sec/epoch\n"
        "  gpulab-cli sweep [options]   the scaling sweep: images/s and where the time goes for\n"
        "                               every device count x batch size\n"
        "  gpulab-cli devices           list the devices gpulab can use (GPUs, or why none)\n"
        "  gpulab-cli verify [options]  check every op, allreduce and a few training steps on\n"
        "                               every usable backend against the CPU reference\n"
        "  gpulab-cli replay FILE [--trace OUT] [--csv OUT]\n"
        "                               print a recording's header and epoch lines as\n"
        "                               recorded; convert it to a Chrome trace or CSV\n"
        "  gpulab-cli launch --nproc N [--master HOST:PORT] [--timeout S] -- [train] <train options>\n"
        "                               a job of N ranks on this machine, one process each\n"
        "  gpulab-cli --version         the version (and the git description of the build)\n"
        "\n"
        "train options:\n"
        "%s"
        "  --data DIR             Fashion-MNIST directory (default %s)\n"
        "  --synthetic [N]        use N generated images instead of Fashion-MNIST (demos;\n"
        "                         without N, 20000: as many as the lab's synthetic set)\n"
        "  --synthetic-test M     ... and M test images (default N/6)\n"
        "  --synthetic-seed S     ... made from seed S (default --seed); the lab's synthetic\n"
        "                         data is --synthetic --synthetic-test 2000 --synthetic-seed 7\n"
        "  --trace FILE           write a Chrome trace (Perfetto, chrome://tracing)\n"
        "  --csv FILE             write every event as CSV\n"
        "  --record FILE          record the run (events and snapshots) as it goes, for\n"
        "                         gpulab-cli replay; the README describes the format\n"
        "  --op-summary           after the run, where each device's time went, per op\n"
        "  --json                 one JSON object per epoch on stdout; every message on stderr\n"
        "  --quiet                no progress line\n"
        "\n"
        "train as one rank of a job of several (Gloo; also GPULAB_WORLD, GPULAB_RANK,\n"
        "GPULAB_MASTER, GPULAB_TOKEN, torchrun's WORLD_SIZE, RANK, MASTER_ADDR, MASTER_PORT and\n"
        "OpenMPI's OMPI_COMM_WORLD_SIZE, OMPI_COMM_WORLD_RANK):\n"
        "  --world N              ranks in the job; --batch-size is split over all their devices\n"
        "  --rank R               this process's rank, 0 to N-1; rank 0 serves the rendezvous\n"
        "  --master HOST:PORT     where rank 0 serves it (default 127.0.0.1:29500)\n"
        "  --token T              the job's token (rank 0 makes and prints one when not given)\n"
        "  --timeout S            seconds to wait for the rendezvous and each collective (60)\n"
        "  --rendezvous file:DIR  meet in a shared folder (Gloo's FileStore) instead\n"
        "  --advertise HOST       this machine's address as the other ranks reach it (also\n"
        "                         GPULAB_ADVERTISE; default: --master's host on rank 0, else\n"
        "                         the address of the host name or of the first network interface)\n"
        "  --verbose              ranks other than 0 print their lines too\n"
        "with --backend cuda the ranks sum gradients with NCCL, each on GPUs of its own: a rank\n"
        "with local index L (GPULAB_LOCAL_RANK, LOCAL_RANK, OMPI_COMM_WORLD_LOCAL_RANK, else the\n"
        "rank mod the GPU count) uses GPUs L x --devices onwards\n"
        "\n"
        "sweep options (sync mode; also %s):\n"
        "  --devices N,N,...      device counts (default 1,2,4)\n"
        "  --batch-size B,B,...   batch sizes (default 256,512,1024)\n"
        "  --minibatches M        minibatches timed per combination (default 30), after\n"
        "  --warmup W             untimed warm-up minibatches (default 2)\n"
        "  --lr-scale S           linear: lr = --lr x batch / 256; none: --lr for all (default linear)\n"
        "  --lr X                 the learning rate at batch 256 (default 0.2)\n"
        "  --csv FILE             write the table as CSV, one row per combination\n"
        "\n"
        "verify options:\n"
        "  --backend B            all | cpu | cuda (default all: every usable backend)\n"
        "  --devices N            logical CUDA devices for the multi-device checks\n"
        "                         (default: 2, or one per GPU when there are more)\n"
        "  --seed S               seed of the random inputs (default 1)\n"
        "verify prints OK or FAIL per check with the worst difference |a-b| (allowed:\n"
        "tol + eps*|reference|) and exits 1 when any check fails.\n"
        "\n"
        "exit codes: 0 done, 1 the run failed (out of memory, diverged), 2 bad settings or\n"
        "data, 130 interrupted. launch: the code of the first rank that failed. replay: 0 a\n"
        "complete recording, 1 an incomplete one (the run was cut short: what it holds is\n"
        "shown), 2 not a readable recording.\n",
        settings_help(cli_defaults()).c_str(), default_fashion_mnist_dir().c_str(), sweep_also().c_str());
    return 0;
}

int cmd_devices(const std::vector<std::string>& args)
{
    if (!args.empty() && args[0] != "--help") {
        std::fprintf(stderr, "gpulab-cli devices: takes no arguments\n");
        return 2;
    }
    std::printf("cpu-sim: simulated devices on %u CPU cores (default budget 2.00 GiB each)\n",
                std::thread::hardware_concurrency());
    std::string why;
    if (cuda_usable(&why)) {
        const auto gpus = cuda_gpus();
        std::printf("cuda: %zu GPU(s); %s\n", gpus.size(), cuda_versions().c_str());
        for (const GpuInfo& g : gpus)
            std::printf("  GPU %d: %s, compute capability %d.%d, %s memory (%s free), %d SMs\n", g.index,
                        g.name.c_str(), g.major, g.minor, format_bytes(g.total_bytes).c_str(),
                        format_bytes(g.free_bytes).c_str(), g.multiprocessors);
        std::string no_nccl;
        if (nccl_available(&no_nccl))
            std::printf("  allreduce: naive, ring; nccl with up to %zu device(s) (one per GPU)\n", gpus.size());
        else
            std::printf("  allreduce: naive, ring (%s)\n", no_nccl.c_str());
    } else {
        std::printf("cuda: not usable: %s\n", why.c_str());
    }
    return 0;
}

int cmd_train(const std::vector<std::string>& argv)
{
    TrainConfig cfg;
    std::string data_dir, trace_path, csv_path, record_path;
    bool quiet = false;
    bool op_summary = false;
    bool json = false;
    FILE* out = stdout; // messages; stderr with --json, so stdout holds only the JSON lines
    long long synthetic = 0;
    long long synthetic_test = -1;  // -1: synthetic / 6
    long long synthetic_seed = -1;  // -1: the run's --seed
    RankOptions rank_opts;
    bool ranked = false;  // one rank of a job of several
    bool verbose = false; // a rank other than 0 prints its lines too
    GpuRankPlan gpu_rank;  // a GPU rank's GPUs
    try {
        std::vector<std::string> with_value = {"--data",  "--trace", "--csv",   "--record",  "--world",
                                               "--rank",  "--master", "--token", "--timeout", "--rendezvous",
                                               "--advertise", "--synthetic-test", "--synthetic-seed"};
        for (const SettingSpec& spec : run_settings())
            if (spec.in_cli)
                with_value.push_back(spec.flag);
        Args a(argv, with_value, {"--quiet", "--help", "--op-summary", "--json", "--verbose"}, {"--synthetic"});
        if (a.has("--help"))
            return cmd_help();
        cfg = config_from(a);
        data_dir = a.str("--data", default_fashion_mnist_dir());
        synthetic = synthetic_images(a);
        if (a.has("--synthetic-test") || a.has("--synthetic-seed")) {
            if (synthetic == 0)
                throw Usage("--synthetic-test and --synthetic-seed go with --synthetic");
            synthetic_test = a.integer("--synthetic-test", std::max(1LL, synthetic / 6));
            if (synthetic_test < 1 || synthetic_test > 1000000)
                throw Usage("--synthetic-test needs a number of test images from 1 to 1000000");
            synthetic_seed = a.integer("--synthetic-seed", -1);
            if (a.has("--synthetic-seed") && synthetic_seed < 0)
                throw Usage("--synthetic-seed needs a whole number from 0");
        }
        trace_path = a.str("--trace", "");
        csv_path = a.str("--csv", "");
        record_path = a.str("--record", "");
        quiet = a.has("--quiet") || !isatty(STDERR_FILENO);
        op_summary = a.has("--op-summary");
        json = a.has("--json");
        out = json ? stderr : stdout;
        if (cfg.backend == Backend::Auto) {
            std::string why;
            if (cuda_usable(&why)) {
                cfg.backend = Backend::Cuda;
                std::fprintf(out, "backend auto: using CUDA\n");
            } else {
                cfg.backend = Backend::Cpu;
                std::fprintf(out, "backend auto: using simulated CPU devices (CUDA: %s)\n", why.c_str());
            }
        }
        if (cfg.backend == Backend::Cuda) {
            std::string why;
            if (!cuda_usable(&why))
                throw Usage("--backend cuda: " + why + "; use --backend cpu");
        }
        if (std::string err = validate(cfg); !err.empty())
            throw Usage(err);
        ranked = rank_options_from(a, &rank_opts);
        verbose = a.has("--verbose");
        if (ranked) {
            if (!ranks_available())
                throw GpulabError(Error(ErrorCode::RanksNotBuilt));
            if (cfg.backend == Backend::Cuda) {
                const auto [local, from] = local_rank_from_environment();
                const GpuRankAsk ask{rank_opts.rank, cfg.devices, cuda_device_count(), nccl_available(),
                                     local, from, nccl_shares_gpus_from_environment()};
                if (Error e = plan_gpu_rank(ask, &gpu_rank))
                    throw GpulabError(e);
            }
            if (cfg.batch_size < static_cast<int64_t>(cfg.devices) * rank_opts.world)
                throw Usage("--batch-size " + std::to_string(cfg.batch_size) + " is smaller than the " +
                            std::to_string(cfg.devices * rank_opts.world) +
                            " devices of the job (--devices x --world); every device needs an image");
        }
    } catch (const std::invalid_argument& e) {
        std::fprintf(stderr, "gpulab-cli train: %s\n", e.what());
        return 2;
    } catch (const Usage& e) {
        std::fprintf(stderr, "gpulab-cli train: %s\n", e.what());
        return 2;
    } catch (const GpulabError& e) {
        std::fprintf(stderr, "gpulab-cli train: %s\n", english(e.error).c_str());
        return 2;
    }

    if (ranked && rank_opts.rank != 0 && !(trace_path.empty() && csv_path.empty() && record_path.empty())) {
        // Rank 0 writes the files; a shared folder would otherwise get one writer per rank.
        if (verbose)
            std::fprintf(out, "rank %d: --trace, --csv and --record are rank 0's; this rank writes none\n",
                         rank_opts.rank);
        trace_path.clear();
        csv_path.clear();
        record_path.clear();
    }
    std::shared_ptr<FashionMnist> data;
    try {
        if (synthetic > 0)
            data = std::make_shared<FashionMnist>(make_synthetic_dataset(
                synthetic, synthetic_test > 0 ? synthetic_test : std::max(1LL, synthetic / 6),
                synthetic_seed >= 0 ? static_cast<uint64_t>(synthetic_seed) : cfg.seed));
        else
            data = std::make_shared<FashionMnist>(load_fashion_mnist(data_dir));
    } catch (const DataError& e) {
        std::fprintf(stderr, "gpulab-cli train: %s\n", e.what());
        return 2;
    }

    if (!record_path.empty()) {
        // Fail now, not after the run: the file is created here and written as the run goes.
        try {
            RecordingWriter probe(record_path, RecordingHeader::for_run(cfg, "gpulab-cli", {}));
        } catch (const GpulabError& e) {
            std::fprintf(stderr, "gpulab-cli train: %s\n", english(e.error).c_str());
            return 2;
        }
    }

    // A job of ranks: join it (rank 0 serves the rendezvous) before the run starts.
    std::unique_ptr<RankGroup> group;
    const bool show = !ranked || rank_opts.rank == 0 || verbose; // prints its run's lines
    const std::string who = ranked ? "gpulab-cli train (rank " + std::to_string(rank_opts.rank) + ")" : "gpulab-cli train";
    if (ranked) {
        if (rank_opts.rank == 0 && rank_opts.token.empty()) {
            rank_opts.token = random_token();
            std::fprintf(out, "rank 0: the job's token is %s; start every other rank with --token %s\n",
                         rank_opts.token.c_str(), rank_opts.token.c_str());
        }
        if (rank_opts.rank == 0)
            std::fprintf(out, "rank 0: waiting for %d rank(s) at %s\n", rank_opts.world,
                         rank_opts.rendezvous.empty() ? rank_opts.master.c_str() : rank_opts.rendezvous.c_str());
        std::fflush(out);
        try {
            group = join_ranks(rank_opts, rank_settings_text(cfg, *data), [&](const Error& e) {
                std::fprintf(stderr, "%s: refused a rank: %s\n", who.c_str(), english(e).c_str());
            });
            if (cfg.backend == Backend::Cuda)
                group = join_nccl_ranks(std::move(group), gpu_rank.first_gpu, rank_opts.timeout);
        } catch (const GpulabError& e) {
            std::fprintf(stderr, "%s: %s\n", who.c_str(), english(e.error).c_str());
            return 1;
        }
        if (show)
            std::fprintf(out, "rank %d of %d: %d device(s) here, %d in the job\n", rank_opts.rank, rank_opts.world,
                         cfg.devices, cfg.devices * rank_opts.world);
        std::string master_host;
        int master_port = 0;
        split_host_port(rank_opts.master, &master_host, &master_port);
        if (show && rank_opts.advertise.empty() &&
            (!rank_opts.rendezvous.empty() || (rank_opts.rank == 0 && is_wildcard_host(master_host)))) {
            std::string how;
            machine_address(&how);
            std::fprintf(out, "rank %d: the other ranks reach this one at %s (%s; --advertise HOST says otherwise)\n",
                         rank_opts.rank, group->host().c_str(), how.c_str());
        }
        if (show && cfg.backend == Backend::Cuda)
            std::fprintf(out, "rank %d: from GPU %d on (rank %d on this machine: %s); NCCL sums the ranks' gradients\n",
                         rank_opts.rank, gpu_rank.first_gpu, gpu_rank.local, gpu_rank.local_from.c_str());
    }

    // The trainer's events; rank 0 of a job also merges every rank's into job_events, and
    // prints, records and exports those (rank_events.h).
    EventStream run_events, job_events;
    const bool merging = ranked && rank_opts.rank == 0;
    EventStream& trace = merging ? job_events : run_events;
    std::unique_ptr<RankEvents> relay;
    if (group) {
        try {
            relay = std::make_unique<RankEvents>(*group, run_events, job_events, cfg.devices,
                                                 RecordingHeader::for_run(cfg, "gpulab-cli", {}));
        } catch (const GpulabError& e) {
            std::fprintf(stderr, "%s: the ranks' event streams: %s\n", who.c_str(), english(e.error).c_str());
            group->report_failure(english(e.error));
            return 1;
        }
    }
    Trainer trainer(cfg, data, run_events);
    trainer.set_ranks(group.get());
    // The devices' own names, once the run has made them (the epoch lines and the recording
    // use them).
    std::mutex names_mutex;
    std::vector<std::string> made_names;
    trainer.on_devices_made = [&](const std::vector<Device*>& devs) {
        std::string published;
        {
            std::lock_guard lock(names_mutex);
            for (Device* d : devs) {
                made_names.push_back(d->name());
                if (!published.empty())
                    published += '\n';
                published += d->name();
            }
        }
        // Every rank's device names, for rank 0's lines and recording. Set before this rank's
        // first collective, so rank 0 finds them all once a minibatch has been summed.
        if (group && rank_opts.rank != 0) {
            try {
                group->store_set("gpulab-devices-" + std::to_string(rank_opts.rank), published);
            } catch (const GpulabError&) { // the rendezvous is gone: the run will say so
            }
        }
    };
    // Rank 0 of a job: the job's devices, every rank's, numbered globally ("rank R: NAME").
    // Another rank's names come from the rendezvous; until they do, "rank R: device d".
    std::vector<std::string> other_names(merging ? size_t(rank_opts.world) : 0);
    std::vector<bool> other_known(other_names.size(), false);
    auto job_names = [&](const std::vector<std::string>& mine, bool* complete) {
        std::vector<std::string> job;
        bool all = !mine.empty();
        for (int r = 0; r < rank_opts.world; ++r) {
            std::vector<std::string> names;
            if (r == 0) {
                names = mine;
            } else if (other_known[size_t(r)]) {
                std::string text = other_names[size_t(r)];
                for (size_t at = 0; at <= text.size();) {
                    const size_t nl = std::min(text.find('\n', at), text.size());
                    names.push_back(text.substr(at, nl - at));
                    at = nl + 1;
                }
            }
            if (static_cast<int>(names.size()) != cfg.devices) {
                all = false;
                names.clear();
                for (int d = 0; d < cfg.devices; ++d)
                    names.push_back("device " + std::to_string(d));
            }
            for (const std::string& n : names)
                job.push_back("rank " + std::to_string(r) + ": " + n);
        }
        if (complete)
            *complete = all;
        return job;
    };
    // Asks the rendezvous (without waiting) for the names not known yet; true when all are.
    auto learn_names = [&] {
        bool all = true;
        if (!group)
            return all;
        for (int r = 1; r < rank_opts.world; ++r)
            if (!other_known[size_t(r)]) {
                if (auto v = group->store_try_get("gpulab-devices-" + std::to_string(r))) {
                    other_names[size_t(r)] = *v;
                    other_known[size_t(r)] = true;
                } else {
                    all = false;
                }
            }
        return all;
    };
    std::unique_ptr<RecordingWriter> recorder;
    size_t record_cursor = 0;
    std::vector<Event> to_record;
    // Writes what is new to the recording (opened once the devices are named) and flushes
    // it, so that the file holds at least what has been printed.
    auto record = [&](bool at_end) {
        if (record_path.empty())
            return;
        if (!recorder) {
            std::vector<std::string> names;
            {
                std::lock_guard lock(names_mutex);
                names = made_names;
            }
            if (names.empty() && !at_end)
                return;
            if (merging) { // every rank's devices, numbered globally: rank r's d is r x devices + d
                // opened once every rank's names are known (after the first minibatch)
                if (!learn_names() && !at_end)
                    return;
                names = job_names(names, nullptr);
            }
            // rank 0 of a job records the job: its settings say the job's devices; and every
            // recording says how many images the run had (a subset of 0 means Fashion-MNIST's
            // 60,000 and 10,000, not what --synthetic made)
            TrainConfig recorded = cfg;
            if (merging)
                recorded.devices = cfg.devices * rank_opts.world;
            recorded.train_subset = recorded.train_subset > 0 ? std::min(recorded.train_subset, data->train.count)
                                                              : data->train.count;
            recorded.test_subset = recorded.test_subset > 0 ? std::min(recorded.test_subset, data->test.count)
                                                            : data->test.count;
            recorder = std::make_unique<RecordingWriter>(record_path,
                                                         RecordingHeader::for_run(recorded, "gpulab-cli", names));
        }
        to_record.clear();
        trace.drain(record_cursor, to_record);
        for (const Event& e : to_record)
            recorder->add(e, trace.snapshot_of(e).get());
        recorder->flush();
    };
    install_signal_handlers();

    RunResult result;
    std::atomic<bool> finished{false};
    std::thread front([&] {
        result = trainer.run();
        finished = true;
    });

    // Drain the event stream: per-epoch lines in the book's manner, a progress line.
    size_t cursor = 0;
    std::vector<Event> news;
    std::string devices = "[]";
    std::vector<std::string> device_list;
    bool devices_known = false; // every device's name is in device_list
    // The epoch lines' devices: this process's, or on rank 0 of a job every rank's.
    auto refresh_devices = [&](const std::vector<std::string>& mine) {
        if (mine.empty())
            return;
        if (!merging) {
            device_list = mine;
            devices_known = true;
        } else {
            device_list = job_names(mine, &devices_known);
            if (!devices_known && learn_names())
                device_list = job_names(mine, &devices_known);
        }
        devices = join_names(device_list);
    };
    bool progress_shown = false;
    double last_loss = 0;
    auto epoch_start = std::chrono::steady_clock::now();
    bool interrupted = false;
    auto drain = [&] {
        // Take what is to be printed first, then record (which drains at least as far) and
        // flush, then print: a line on the screen is always in the file, even if the
        // process is killed the next moment.
        news.clear();
        trace.drain(cursor, news);
        try {
            record(false);
        } catch (const GpulabError& e) {
            std::fprintf(stderr, "gpulab-cli train: %s; recording stopped\n", english(e.error).c_str());
            record_path.clear();
        }
        for (const auto& e : news) {
            if (!show)
                continue;
            if (const auto* loss = e.get<ev::MinibatchLoss>()) {
                last_loss = loss->loss;
                if (loss->batch == 0)
                    epoch_start = std::chrono::steady_clock::now();
                if (!quiet) {
                    const double secs = std::chrono::duration<double>(
                                            std::chrono::steady_clock::now() - epoch_start)
                                            .count();
                    const double imgs = (loss->batch + 1) * static_cast<double>(loss->images);
                    std::fprintf(stderr, "\r  epoch %d  [%d/%d]  loss %.3f  %.0f img/s   ",
                                 loss->epoch, loss->batch + 1, loss->batches_in_epoch, last_loss,
                                 secs > 0 ? imgs / secs : 0.0);
                    progress_shown = true;
                }
            } else if (const auto* epoch = e.get<ev::EpochEnd>()) {
                if (progress_shown)
                    std::fprintf(stderr, "\r%60s\r", "");
                progress_shown = false;
                if (json) {
                    std::printf("{\"epoch\":%d,\"loss\":%.6g,\"test_acc\":%.6g,\"seconds\":%.6g,"
                                "\"devices\":%d,\"batch_size\":%lld,\"lr\":%.6g,\"mode\":\"%s\",\"device_names\":%s}\n",
                                epoch->epoch, epoch->train_loss, epoch->test_accuracy, epoch->seconds,
                                static_cast<int>(device_list.size()),
                                static_cast<long long>(cfg.batch_size), cfg.lr, exec_mode_name(cfg.mode),
                                json_names(device_list).c_str());
                    std::fflush(stdout);
                    continue;
                }
                std::fputs(run_line(e, devices).c_str(), stdout);
                std::fflush(stdout);
            } else if (e.is<ev::RunBegin>() || e.is<ev::Log>()) {
                std::fputs(run_line(e, devices).c_str(), out);
                std::fflush(out);
            }
        }
    };
    // A job whose other rank failed: this run normally stops at once (its collective fails).
    // One blocked in a collective with a rank that went silent (stopped, its machine or
    // network down; the rendezvous notices within kSilence) gives up 5 s later instead of at
    // the collective's timeout: it says why, writes what it has and exits 1.
    std::optional<std::pair<int, std::string>> other_failed;
    auto failure_polled = std::chrono::steady_clock::now();
    auto failure_seen = failure_polled;
    auto give_up = [&] {
        const Error lost(ErrorCode::RankLost, {{"rank", std::to_string(other_failed->first)}, {"why", other_failed->second}});
        std::fprintf(stderr, "%s: %s\n", who.c_str(), english(lost).c_str());
        run_events.record(Event{.data = ev::Error{.message = english(lost), .error = lost}});
        run_events.record(Event{.data = ev::RunEnd{.status = run_status_name(RunStatus::Failed),
                                                   .message = english(lost),
                                                   .error = lost}});
        if (relay)
            relay->finish(std::chrono::seconds(2));
        news.clear();
        try {
            record(true);
            if (recorder) {
                recorder->finish(RunStatus::Failed, lost);
                std::fprintf(out, "recording written to %s\n", record_path.c_str());
            }
        } catch (const GpulabError& e) {
            std::fprintf(stderr, "gpulab-cli train: %s\n", english(e.error).c_str());
        }
        write_exports(trace, trace_path, csv_path, out);
        std::fflush(stdout);
        std::fflush(stderr);
        std::_Exit(1); // the run's thread is blocked in the collective: it cannot be joined
    };
    while (!finished) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        if (cli_signal() && !interrupted) {
            interrupted = true;
            trainer.cancel();
        }
        if (group && !finished) {
            const auto now = std::chrono::steady_clock::now();
            if (!other_failed && now - failure_polled >= std::chrono::seconds(1)) {
                failure_polled = now;
                if (auto f = group->failure(); f && f->first != rank_opts.rank) {
                    other_failed = f;
                    failure_seen = std::chrono::steady_clock::now();
                }
            }
            if (other_failed && !finished && now - failure_seen > std::chrono::seconds(5))
                give_up();
        }
        if (!devices_known) {
            std::vector<std::string> mine;
            {
                std::lock_guard lock(names_mutex);
                mine = made_names;
            }
            refresh_devices(mine);
        }
        drain();
    }
    front.join();
    if (group) {
        // A rank that failed leaves the collectives at once, so the others stop now; then
        // every rank's last events reach rank 0 before it writes anything.
        if (result.status != RunStatus::Completed)
            group->leave();
        if (relay)
            for (int r : relay->finish(std::chrono::seconds(15)))
                std::fprintf(stderr, "%s: rank %d's last events did not arrive within 15 s\n", who.c_str(), r);
        // Rank 0's last events (its last epoch) reach the job's stream only as the relay
        // finishes, unless its pump, every 50 ms, happened to move them before the loop's last
        // drain: print them before the summary, so that the order does not depend on that.
        if (!result.device_names.empty())
            refresh_devices(result.device_names);
        drain();
        double train_s = 0;
        for (const EpochStats& st : result.epochs)
            train_s += st.seconds;
        if (show && train_s > 0)
            std::fprintf(out, "rank %d: %.2f s of %.2f s training in the ranks' allreduce (%.1f%%, waits for the other ranks included)\n",
                         rank_opts.rank, group->allreduce_seconds(), train_s,
                         100.0 * group->allreduce_seconds() / train_s);
        group->finish();
    }
    if (!result.device_names.empty())
        refresh_devices(result.device_names);
    drain();
    if (progress_shown)
        std::fprintf(stderr, "\n");
    if (!record_path.empty()) {
        try {
            record(true);
            recorder->finish(result.status, result.error);
            if (recorder->failed())
                std::fprintf(stderr, "gpulab-cli train: cannot write the recording %s (%s)\n", record_path.c_str(),
                             recorder->error().c_str());
            else
                std::fprintf(out, "recording written to %s (%.1f MiB)\n", record_path.c_str(),
                            static_cast<double>(recorder->file_bytes()) / (1 << 20));
        } catch (const GpulabError& e) {
            std::fprintf(stderr, "gpulab-cli train: %s\n", english(e.error).c_str());
        }
    }
    restore_signal_handlers();

    write_exports(trace, trace_path, csv_path, out);
    if (op_summary)
        std::fprintf(out, "%s", format_op_summary(summarize_ops(trace.all())).c_str());
    for (size_t d = 0; d < result.bytes_in_use_after.size(); ++d)
        if (result.bytes_in_use_after[d] != 0)
            std::fprintf(stderr, "gpulab-cli: warning: device %zu still holds %lld bytes\n", d,
                         static_cast<long long>(result.bytes_in_use_after[d]));
    switch (result.status) {
    case RunStatus::Completed: return 0;
    case RunStatus::Cancelled:
        std::fprintf(stderr, "%s: interrupted; what was recorded is kept\n", who.c_str());
        return 130;
    case RunStatus::Failed:
        std::fprintf(stderr, "%s: %s\n", who.c_str(), result.message.c_str());
        return 1;
    }
    return 1;
}

} // namespace gpulab::cli

namespace gpulab::cli {

int cmd_replay(const std::vector<std::string>& argv)
{
    std::string file, trace_path, csv_path;
    try {
        std::vector<std::string> rest;
        for (const std::string& a : argv) {
            if (a.rfind("--", 0) != 0 && file.empty() && (rest.empty() || rest.back().rfind("--", 0) != 0 ||
                                                          rest.back() == "--help")) {
                file = a;
                continue;
            }
            rest.push_back(a);
        }
        Args a(rest, {"--trace", "--csv"}, {"--help"});
        if (a.has("--help"))
            return cmd_help();
        if (file.empty())
            throw Usage("replay needs a recording file (gpulab-cli replay FILE [--trace OUT] [--csv OUT])");
        trace_path = a.str("--trace", "");
        csv_path = a.str("--csv", "");
    } catch (const Usage& e) {
        std::fprintf(stderr, "gpulab-cli replay: %s\n", e.what());
        return 2;
    }
    Recording r;
    try {
        r = read_recording(file);
    } catch (const GpulabError& e) {
        std::fprintf(stderr, "gpulab-cli replay: %s\n", english(e.error).c_str());
        return 2;
    }
    const RecordingHeader& h = r.header;
    const std::string devices = join_names(h.devices);
    std::printf("recording: %s (format %u, %s %s)\n", file.c_str(), h.format, h.program.c_str(),
                h.gpulab_version.c_str());
    std::printf("recorded: %s on %s%s%s\n", h.date.c_str(), h.machine.c_str(), h.cpu.empty() ? "" : ", ",
                h.cpu.c_str());
    std::printf("devices: %s\n", devices.c_str());
    std::printf("settings: %s\n", h.settings.c_str());
    int last_epoch = 0;
    for (const Event& e : r.events) {
        std::fputs(run_line(e, devices).c_str(), stdout);
        if (const auto* epoch = e.get<ev::EpochEnd>())
            last_epoch = epoch->epoch;
    }
    if (r.complete) {
        if (r.error && r.status != "completed")
            std::printf("run %s: %s\n", r.status.c_str(), english(r.error).c_str());
        else
            std::printf("run %s\n", r.status.c_str());
    }
    std::printf("%zu events, %zu snapshots\n", r.events.size(), r.snapshots.size());
    std::fflush(stdout);
    write_exports_of(r.events, trace_path, csv_path, stdout);
    if (!r.complete) {
        const std::string where = last_epoch > 0 ? "epoch " + std::to_string(last_epoch) : std::string("its start");
        std::fprintf(stderr,
                     "gpulab-cli replay: %s: the recording is incomplete: it ends after %s (the run was cut short, "
                     "e.g. killed or crashed); what it holds is shown above\n",
                     file.c_str(), where.c_str());
        return 1;
    }
    return 0;
}

} // namespace gpulab::cli
