// The scaling sweep: one short sync run per (devices, batch size), measured from its events.
#include "train/sweep.h"

#include "data/fashion_mnist.h"
#include "trace/event_stream.h"
#include "train/trainer.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <limits>
#include <sstream>
#include <stdexcept>

namespace gpulab {

const char* lr_scale_name(LrScale s)
{
    return s == LrScale::Linear ? "linear" : "none";
}

LrScale parse_lr_scale(const std::string& s)
{
    if (s == "linear")
        return LrScale::Linear;
    if (s == "none")
        return LrScale::None;
    throw std::invalid_argument("unknown lr scaling '" + s + "' (choose linear or none)");
}

double SweepConfig::lr_for(int64_t batch_size) const
{
    if (lr_scale == LrScale::None)
        return base.lr;
    return base.lr * static_cast<double>(batch_size) / static_cast<double>(kLrBaseBatch);
}

TrainConfig SweepConfig::combination(int n, int64_t batch_size) const
{
    TrainConfig c = base;
    c.devices = n;
    c.batch_size = batch_size;
    c.lr = lr_for(batch_size);
    c.mode = ExecMode::Sync;
    c.epochs = 1;
    c.train_subset = batch_size * (minibatches + warmup);
    c.test_subset = std::min<int64_t>(batch_size, 1000); // evaluated once, not timed
    c.snapshot_interval = 0;
    c.step_mode = false;
    return c;
}

std::string validate(const SweepConfig& c, int64_t train_images)
{
    std::ostringstream o;
    if (c.devices.empty())
        return "the sweep needs at least one device count (e.g. --devices 1,2,4)";
    if (c.batch_sizes.empty())
        return "the sweep needs at least one batch size (e.g. --batch-size 256,512,1024)";
    if (c.minibatches < 2 || c.minibatches > 100000) {
        o << "minibatches per combination must be between 2 and 100000 (got " << c.minibatches << ")";
        return o.str();
    }
    if (c.warmup < 0 || c.warmup > 100) {
        o << "warm-up minibatches must be between 0 and 100 (got " << c.warmup << ")";
        return o.str();
    }
    for (int n : c.devices)
        for (int64_t b : c.batch_sizes) {
            const TrainConfig t = c.combination(n, b);
            if (std::string err = validate(t); !err.empty())
                return n == c.devices.front() && b == c.batch_sizes.front()
                           ? err
                           : err + " (in the combination " + std::to_string(n) + " devices, batch " +
                                 std::to_string(b) + ")";
            if (t.train_subset > train_images) {
                o << "batch " << b << " x " << c.minibatches + c.warmup << " minibatches needs "
                  << t.train_subset << " training images, but there are " << train_images
                  << ": use fewer minibatches or smaller batches";
                return o.str();
            }
        }
    return {};
}

std::vector<int64_t> parse_number_list(const std::string& option, const std::string& s)
{
    std::vector<int64_t> out;
    size_t start = 0;
    while (start <= s.size()) {
        const size_t comma = s.find(',', start);
        const std::string item = s.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
        size_t used = 0;
        long long v = 0;
        bool ok = !item.empty();
        if (ok) {
            try {
                v = std::stoll(item, &used);
            } catch (...) {
                ok = false;
            }
        }
        if (!ok || used != item.size() || v < 1)
            throw std::invalid_argument(option + " needs positive whole numbers separated by commas, e.g. " +
                                        (option == "--devices" ? "1,2,4" : "256,512,1024") + " (got '" + s + "')");
        if (std::find(out.begin(), out.end(), v) == out.end())
            out.push_back(v);
        if (comma == std::string::npos)
            break;
        start = comma + 1;
    }
    return out;
}

bool is_allreduce_op(const std::string& n)
{
    for (const char* p : {"reduce", "broadcast", "all-gather", "ring", "nccl"})
        if (n.rfind(p, 0) == 0)
            return true;
    return false;
}

SweepPoint measure_sweep_point(const std::vector<Event>& events, int devices, int64_t batch_size,
                               double lr, int warmup)
{
    SweepPoint p;
    p.devices = devices;
    p.batch_size = batch_size;
    p.lr = lr;
    // Ends of the minibatches (sync mode: a minibatch's loss is recorded once all its
    // devices are done, just before the front end's wait ends).
    std::vector<double> ends;
    double first_op = std::numeric_limits<double>::infinity();
    for (const Event& e : events) {
        if (const auto* loss = e.get<ev::MinibatchLoss>(); loss && loss->epoch == 1) {
            if (static_cast<size_t>(loss->batch) >= ends.size())
                ends.resize(static_cast<size_t>(loss->batch) + 1, -1);
            ends[static_cast<size_t>(loss->batch)] = e.t_us;
        } else if (e.is<ev::Op>()) {
            first_op = std::min(first_op, e.t_us);
        }
    }
    const int n_ends = static_cast<int>(ends.size());
    const int timed = n_ends - warmup;
    if (timed < 1 || (warmup == 0 && !std::isfinite(first_op)) ||
        std::any_of(ends.begin(), ends.end(), [](double t) { return t < 0; })) {
        p.status = RunStatus::Failed;
        p.message = "the run recorded " + std::to_string(n_ends) + " minibatches, too few to time " +
                    "(warm-up " + std::to_string(warmup) + ")";
        return p;
    }
    const double t0 = warmup > 0 ? ends[static_cast<size_t>(warmup - 1)] : first_op;
    const double t1 = ends.back();
    const double window = t1 - t0;
    if (!(window > 0)) {
        p.status = RunStatus::Failed;
        p.message = "the timed minibatches took no measurable time";
        return p;
    }
    p.minibatches = timed;
    p.minibatch_ms = window / 1000.0 / timed;
    p.images_per_s = static_cast<double>(batch_size) * timed / (window / 1e6);

    std::vector<double> compute(static_cast<size_t>(devices), 0.0), allreduce(static_cast<size_t>(devices), 0.0);
    for (const Event& e : events) {
        const auto* op = e.get<ev::Op>();
        if (!op || e.device < 0 || e.device >= devices)
            continue;
        const double a = std::max(e.t_us, t0), b = std::min(op->t_end_us, t1);
        if (b <= a)
            continue;
        (is_allreduce_op(op->op) ? allreduce : compute)[static_cast<size_t>(e.device)] += b - a;
    }
    double c = 0, r = 0;
    for (int d = 0; d < devices; ++d) {
        // A device's ops run one at a time on its worker, so its busy time fits the window;
        // clamp float rounding at the edges.
        const double busy = compute[static_cast<size_t>(d)] + allreduce[static_cast<size_t>(d)];
        const double scale = busy > window ? window / busy : 1.0;
        c += compute[static_cast<size_t>(d)] * scale / window;
        r += allreduce[static_cast<size_t>(d)] * scale / window;
    }
    p.compute_share = c / devices;
    p.allreduce_share = r / devices;
    p.waiting_share = std::max(0.0, 1.0 - p.compute_share - p.allreduce_share);
    return p;
}

Sweep::Sweep(SweepConfig config, std::shared_ptr<const FashionMnist> data)
    : m_cfg(std::move(config)), m_data(std::move(data))
{
}

Sweep::~Sweep() = default;

void Sweep::cancel()
{
    m_cancel = true;
    std::lock_guard lock(m_mutex);
    if (m_current)
        m_current->cancel();
}

std::vector<SweepPoint> Sweep::run(const std::function<void(const SweepPoint&)>& on_point)
{
    std::vector<SweepPoint> points;
    for (int n : m_cfg.devices) {
        for (int64_t b : m_cfg.batch_sizes) {
            if (m_cancel)
                return points;
            const TrainConfig tc = m_cfg.combination(n, b);
            EventStream trace;
            Trainer trainer(tc, m_data, trace);
            {
                std::lock_guard lock(m_mutex);
                m_current = &trainer;
            }
            RunResult res;
            try {
                if (m_cancel)
                    trainer.cancel();
                res = trainer.run();
            } catch (const std::exception& e) { // a configuration the trainer refuses
                res.status = RunStatus::Failed;
                res.message = e.what();
            }
            {
                std::lock_guard lock(m_mutex);
                m_current = nullptr;
            }
            if (res.status == RunStatus::Cancelled)
                return points;
            SweepPoint p;
            if (res.status == RunStatus::Failed) {
                p.devices = n;
                p.batch_size = b;
                p.lr = tc.lr;
                p.status = RunStatus::Failed;
                p.message = res.message;
            } else {
                p = measure_sweep_point(trace.all(), n, b, tc.lr, m_cfg.warmup);
            }
            p.link = tc.link.name;
            p.link_params = tc.link.none() ? 0 : tc.link_params;
            points.push_back(p);
            if (on_point)
                on_point(p);
        }
    }
    return points;
}

namespace {

std::string fixed(double v, int digits)
{
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f", digits, v);
    return buf;
}

// lr as the user would write it: 0.2, 0.4, 0.8, 0.05 (up to 6 significant digits)
std::string short_number(double v)
{
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.6g", v);
    return buf;
}

} // namespace

std::string sweep_csv(const std::vector<SweepPoint>& points)
{
    std::string s = "devices,batch_size,lr,images_per_s,minibatch_ms,compute_share,allreduce_share,waiting_share,"
                    "link,link_params\n";
    for (const SweepPoint& p : points) {
        if (p.status != RunStatus::Completed)
            continue;
        s += std::to_string(p.devices) + ',' + std::to_string(p.batch_size) + ',' + short_number(p.lr) + ',' +
             fixed(p.images_per_s, 1) + ',' + fixed(p.minibatch_ms, 3) + ',' + fixed(p.compute_share, 4) + ',' +
             fixed(p.allreduce_share, 4) + ',' + fixed(p.waiting_share, 4) + ',' +
             (p.link.find(',') == std::string::npos ? p.link : '"' + p.link + '"') + ',' +
             std::to_string(p.link_params) + '\n';
    }
    return s;
}

bool write_sweep_csv(const std::vector<SweepPoint>& points, const std::string& path, std::string* err)
{
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    if (f)
        f << sweep_csv(points);
    if (!f) {
        if (err)
            *err = "cannot write " + path + ": check that its folder exists and is writable";
        return false;
    }
    return true;
}

std::string format_sweep_table(const std::vector<SweepPoint>& points)
{
    std::string s = "devices  batch      lr    images/s  ms/minibatch  compute  allreduce  waiting\n";
    char buf[256];
    for (const SweepPoint& p : points) {
        if (p.status != RunStatus::Completed) {
            std::snprintf(buf, sizeof buf, "%7d  %5lld  %6s  failed: %s\n", p.devices,
                          static_cast<long long>(p.batch_size), short_number(p.lr).c_str(), p.message.c_str());
        } else {
            std::snprintf(buf, sizeof buf, "%7d  %5lld  %6s  %10.0f  %12.2f  %6.1f%%  %8.1f%%  %6.1f%%\n", p.devices,
                          static_cast<long long>(p.batch_size), short_number(p.lr).c_str(), p.images_per_s,
                          p.minibatch_ms, 100 * p.compute_share, 100 * p.allreduce_share, 100 * p.waiting_share);
        }
        s += buf;
    }
    return s;
}

} // namespace gpulab
