// The settings table (settings.h) and the one validation of a run's settings.
#include "train/settings.h"

#include "device/device_factory.h"
#include "rank/rank_group.h"

#include <algorithm>
#include <cmath>
#include <type_traits>
#include <cstdio>
#include <limits>
#include <sstream>

namespace gpulab {

namespace {

using Facts = std::vector<std::pair<std::string, std::string>>;

[[noreturn]] void fail(ErrorCode code, Facts facts)
{
    throw GpulabError(Error(code, std::move(facts)));
}

long long whole(const SettingSpec& s, const std::string& v)
{
    try {
        size_t used = 0;
        const long long x = std::stoll(v, &used);
        if (used == v.size())
            return x;
    } catch (...) {
    }
    fail(ErrorCode::SettingNotWholeNumber, {{"setting", s.name}, {"flag", s.flag}, {"value", v}});
}

double real(const SettingSpec& s, const std::string& v)
{
    try {
        size_t used = 0;
        const double x = std::stod(v, &used);
        if (used == v.size())
            return x;
    } catch (...) {
    }
    fail(ErrorCode::SettingNotNumber, {{"setting", s.name}, {"flag", s.flag}, {"value", v}});
}

int to_int(long long x)
{
    // out-of-range values saturate, so that check() reports them instead of a wrapped value
    return static_cast<int>(std::clamp<long long>(x, std::numeric_limits<int>::min(),
                                                  std::numeric_limits<int>::max()));
}

std::string join_choices(const std::vector<std::string>& c)
{
    std::string s;
    for (size_t i = 0; i < c.size(); ++i)
        s += (i == 0 ? "" : (i + 1 == c.size() ? " or " : ", ")) + c[i];
    return s;
}

[[noreturn]] void unknown_choice(const SettingSpec& s, const std::string& v)
{
    fail(ErrorCode::SettingUnknownChoice, {{"setting", s.name},
                                           {"label", s.label},
                                           {"flag", s.flag},
                                           {"value", v},
                                           {"choices", join_choices(s.choices)}});
}

std::string bytes_text(int64_t b)
{
    constexpr int64_t MiB = int64_t(1) << 20, GiB = int64_t(1) << 30, TiB = int64_t(1) << 40;
    if (b > 0 && b % TiB == 0)
        return std::to_string(b / TiB) + "TiB";
    if (b > 0 && b % GiB == 0)
        return std::to_string(b / GiB) + "GiB";
    if (b > 0 && b % MiB == 0)
        return std::to_string(b / MiB) + "MiB";
    return std::to_string(b);
}

std::vector<SettingSpec> make_table()
{
    std::vector<SettingSpec> t;
    auto add = [&t](SettingSpec s) { t.push_back(std::move(s)); };
    auto choice = [](const char* name, const char* flag, const char* metavar, const char* label,
                     const char* help, std::vector<std::string> choices,
                     std::function<std::string(const TrainConfig&)> get,
                     std::function<void(TrainConfig&, const std::string&)> set) {
        SettingSpec s{name, flag, metavar, SettingType::Choice, label, help};
        s.choices = std::move(choices);
        s.get = std::move(get);
        s.set = std::move(set);
        return s;
    };
    // Int fields: one helper for the int and int64 members.
    auto integer = [](const char* name, const char* flag, const char* metavar, const char* label,
                      const char* help, double min, double max, auto member) {
        SettingSpec s{name, flag, metavar, SettingType::Int, label, help, min, max};
        s.get = [member](const TrainConfig& c) { return std::to_string(c.*member); };
        s.number = [member](const TrainConfig& c) { return static_cast<double>(c.*member); };
        s.set = [member, name, flag](TrainConfig& c, const std::string& v) {
            SettingSpec self{name, flag, "", SettingType::Int, "", ""};
            const long long x = whole(self, v);
            using T = std::remove_reference_t<decltype(c.*member)>;
            if constexpr (std::is_same_v<T, int>)
                c.*member = to_int(x);
            else
                c.*member = static_cast<T>(x);
        };
        return s;
    };

    add(choice("backend", "--backend", "B", "backend", "auto | cpu | cuda", {"cpu", "cuda", "auto"},
               [](const TrainConfig& c) { return std::string(backend_name(c.backend)); },
               [](TrainConfig& c, const std::string& v) {
                   if (v != "cpu" && v != "cuda" && v != "auto")
                       unknown_choice(*find_setting("backend"), v);
                   c.backend = parse_backend(v);
               }));
    add(integer("devices", "--devices", "N", "devices", "logical devices, one per core unless given", 1, 64,
                &TrainConfig::devices));
    {
        SettingSpec s = integer("ranks", "--ranks", "N", "ranks",
                                "a job of N ranks: separate processes on this machine, each with --devices devices, "
                                "joined over loopback with Gloo as separate machines would be (simulated CPU devices)",
                                1, 8, &TrainConfig::ranks);
        s.in_cli = false; // gpulab-cli: --world and --rank, one process each
        add(std::move(s));
    }
    add(integer("batch_size", "--batch-size", "B", "batch size", "minibatch size, split over the devices", 1, 65536,
                &TrainConfig::batch_size));
    {
        SettingSpec s{"lr", "--lr", "X", SettingType::Real, "learning rate", "learning rate, w -= lr * grad / batch",
                      1e-6, 1e9};
        s.get = [](const TrainConfig& c) { return format_number(c.lr, SettingType::Real); };
        s.number = [](const TrainConfig& c) { return c.lr; };
        s.set = [](TrainConfig& c, const std::string& v) { c.lr = real(*find_setting("lr"), v); };
        add(std::move(s));
    }
    add(integer("epochs", "--epochs", "E", "epochs", "passes over the training set", 1, 1000, &TrainConfig::epochs));
    add(choice("mode", "--mode", "M", "mode", "sync | async | bounded", {"sync", "async", "bounded"},
               [](const TrainConfig& c) { return std::string(exec_mode_name(c.mode)); },
               [](TrainConfig& c, const std::string& v) {
                   if (v != "sync" && v != "async" && v != "bounded")
                       unknown_choice(*find_setting("mode"), v);
                   c.mode = parse_exec_mode(v);
               }));
    {
        SettingSpec s = integer("inflight", "--inflight", "K", "bounded mode's minibatches in flight",
                                "bounded mode: minibatches in flight at most", 1, 64, &TrainConfig::inflight);
        s.applies = [](const TrainConfig& c) { return c.mode == ExecMode::Bounded; };
        add(std::move(s));
    }
    add(choice("allreduce", "--allreduce", "S", "allreduce", "naive | ring | nccl (cuda, one GPU per device)",
               {"naive", "ring", "nccl"}, [](const TrainConfig& c) { return std::string(allreduce_name(c.allreduce)); },
               [](TrainConfig& c, const std::string& v) {
                   if (v != "naive" && v != "ring" && v != "nccl")
                       unknown_choice(*find_setting("allreduce"), v);
                   c.allreduce = parse_allreduce(v);
               }));
    {
        SettingSpec s = choice("link", "--link", "L", "link",
                               "the modelled link between simulated devices: none | pcie3 | pcie4 | pcie5 | nvlink3 | "
                               "nvlink4 | ib-hdr | ib-ndr | 100gbe | 25gbe | 10gbe | 1gbe | custom:LAT_US,GB_PER_S; "
                               "each allreduce transfer takes at least latency + bytes / bandwidth",
                               link_names(), [](const TrainConfig& c) { return c.link.name; },
                               [](TrainConfig& c, const std::string& v) {
                                   try {
                                       c.link = parse_link(v);
                                   } catch (const std::invalid_argument&) {
                                       fail(ErrorCode::SettingUnknownChoice,
                                            {{"setting", "link"},
                                             {"label", "link"},
                                             {"flag", "--link"},
                                             {"value", v},
                                             {"choices", link_choices_text()}});
                                   }
                               });
        add(std::move(s));
    }
    {
        std::vector<std::string> names;
        for (const ModelSize& m : model_sizes())
            names.push_back(m.name);
        SettingSpec s = choice("link_params", "--link-params", "P", "gradient size the link charges for",
                               "as if the model were bigger: the link charges each transfer as if the gradients "
                               "had P parameters (lenet = the model's own | resnet50 = 25.6M | gpt2-small = 124M "
                               "| a count such as 50M); training stays LeNet's, such steps are labelled modelled",
                               names, [](const TrainConfig& c) { return link_params_text(c.link_params); },
                               [](TrainConfig& c, const std::string& v) {
                                   try {
                                       c.link_params = parse_link_params(v);
                                   } catch (const std::invalid_argument&) {
                                       fail(ErrorCode::SettingUnknownChoice,
                                            {{"setting", "link_params"},
                                             {"label", "gradient size the link charges for"},
                                             {"flag", "--link-params"},
                                             {"value", v},
                                             {"choices", "lenet, resnet50, gpt2-small or a parameter count such "
                                                         "as 50M (K, M, G: thousands, millions, billions)"}});
                                   }
                               });
        s.min = 0;
        s.max = 1e12;
        s.number = [](const TrainConfig& c) { return static_cast<double>(c.link_params); };
        add(std::move(s));
    }
    {
        SettingSpec s{"seed", "--seed", "S", SettingType::Int, "seed", "initialisation and shuffling seed", 0,
                      9007199254740992.0};
        s.get = [](const TrainConfig& c) { return std::to_string(c.seed); };
        s.number = [](const TrainConfig& c) { return static_cast<double>(c.seed); };
        s.set = [](TrainConfig& c, const std::string& v) {
            const long long x = whole(*find_setting("seed"), v);
            if (x < 0)
                fail(ErrorCode::SettingOutOfRange, {{"setting", "seed"}, {"label", "seed"}, {"flag", "--seed"},
                                                    {"value", v}, {"min", "0"}, {"max", "9007199254740992"}});
            c.seed = static_cast<uint64_t>(x);
        };
        add(std::move(s));
    }
    add(integer("subset", "--subset", "N", "training images", "train on the first N images only (0 = all 60000)", 0,
                10000000, &TrainConfig::train_subset));
    add(integer("test_subset", "--test-subset", "N", "test images",
                "evaluate on the first N test images (0 = all 10000)", 0, 10000000, &TrainConfig::test_subset));
    {
        SettingSpec s{"memory_budget", "--memory-budget", "BYTES", SettingType::Bytes, "memory budget",
                      "memory per device, e.g. 256MiB", double(int64_t(1) << 20), double(int64_t(1) << 40)};
        s.get = [](const TrainConfig& c) { return bytes_text(c.memory_budget); };
        s.number = [](const TrainConfig& c) { return static_cast<double>(c.memory_budget); };
        s.set = [](TrainConfig& c, const std::string& v) {
            try {
                c.memory_budget = parse_bytes(v);
            } catch (const std::invalid_argument&) {
                fail(ErrorCode::SettingBadSize, {{"setting", "memory_budget"}, {"flag", "--memory-budget"}, {"value", v}});
            }
        };
        add(std::move(s));
    }
    add(integer("threads_per_device", "--threads-per-device", "T", "threads per device",
                "compute threads per simulated device", 1, 64, &TrainConfig::threads_per_device));
    add(choice("data_on_device", "--data-on-device", "P", "data placement",
               "auto | device | host: upload the training set to every device once, or copy each minibatch from the "
               "host (auto: device for CUDA when it takes <= 1/4 of the budget)",
               {"auto", "device", "host"},
               [](const TrainConfig& c) { return std::string(data_placement_name(c.data)); },
               [](TrainConfig& c, const std::string& v) {
                   if (v != "auto" && v != "device" && v != "host" && v != "on" && v != "off")
                       unknown_choice(*find_setting("data_on_device"), v);
                   c.data = parse_data_placement(v);
               }));
    add(choice("engine", "--engine", "E", "engine", "threaded | sync (debugging oracle; or GPULAB_ENGINE=sync)",
               {"threaded", "sync"}, [](const TrainConfig& c) { return std::string(engine_kind_name(c.engine)); },
               [](TrainConfig& c, const std::string& v) {
                   if (v != "threaded" && v != "sync")
                       unknown_choice(*find_setting("engine"), v);
                   c.engine = v == "sync" ? EngineKind::Sync : EngineKind::Threaded;
               }));
    {
        SettingSpec s = integer("snapshot_every", "--snapshot-every", "N", "snapshot interval",
                                "record parameter snapshots every N minibatches (0 = never)", 0, 1000000,
                                &TrainConfig::snapshot_interval);
        s.in_lab = false; // the lab picks its own interval from the run's length
        add(std::move(s));
    }
    return t;
}

Error range_error(const SettingSpec& s, const TrainConfig& c)
{
    auto bound = [&](double v) {
        return s.type == SettingType::Bytes ? bytes_text(static_cast<int64_t>(v)) : format_number(v, s.type);
    };
    return Error(ErrorCode::SettingOutOfRange, {{"setting", s.name},
                                                {"label", s.label},
                                                {"flag", s.flag},
                                                {"value", s.get(c)},
                                                {"min", bound(s.min)},
                                                {"max", bound(s.max)}});
}

} // namespace

const std::vector<SettingSpec>& run_settings()
{
    static const std::vector<SettingSpec> table = make_table();
    return table;
}

const SettingSpec* find_setting(std::string_view key)
{
    for (const SettingSpec& s : run_settings())
        if (key == s.name || key == s.flag)
            return &s;
    return nullptr;
}

std::string format_number(double v, SettingType t)
{
    char buf[64];
    if (t == SettingType::Int || t == SettingType::Bytes)
        std::snprintf(buf, sizeof buf, "%.0f", v);
    else if (std::fabs(v) < 1e15 && v == std::floor(v))
        std::snprintf(buf, sizeof buf, "%.0f", v);
    else
        std::snprintf(buf, sizeof buf, "%g", v);
    return buf;
}

std::vector<Error> check(const TrainConfig& c)
{
    std::vector<Error> out;
    for (const SettingSpec& s : run_settings()) {
        if (!s.number || (s.applies && !s.applies(c)))
            continue;
        const double v = s.number(c);
        if (!(v >= s.min && v <= s.max)) // NaN fails both
            out.push_back(range_error(s, c));
    }
    // a job of ranks: every device of every rank takes a share of the batch
    const int64_t job_devices = static_cast<int64_t>(c.devices) * std::max(1, c.ranks);
    if (c.devices >= 1 && c.batch_size >= 1 && c.batch_size < job_devices)
        out.push_back(Error(ErrorCode::BatchBelowDevices, {{"setting", "batch_size"},
                                                           {"batch", std::to_string(c.batch_size)},
                                                           {"devices", std::to_string(job_devices)}}));
    if (c.devices >= 1 && c.train_subset > 0 && c.train_subset < job_devices)
        out.push_back(Error(ErrorCode::SubsetBelowDevices, {{"setting", "subset"},
                                                            {"subset", std::to_string(c.train_subset)},
                                                            {"devices", std::to_string(job_devices)}}));
    if (c.ranks > 1) {
        if (c.backend != Backend::Cpu)
            out.push_back(Error(ErrorCode::LabRanksNeedCpu, {{"setting", "ranks"}, {"ranks", std::to_string(c.ranks)}}));
        else if (!ranks_available())
            out.push_back(Error(ErrorCode::RanksNotBuilt, {{"setting", "ranks"}}));
        if (c.step_mode)
            out.push_back(Error(ErrorCode::LabRanksNoStepMode, {{"setting", "ranks"}, {"ranks", std::to_string(c.ranks)}}));
    }
    if (c.allreduce == AllreduceKind::Nccl && !c.link.none())
        out.push_back(Error(ErrorCode::LinkWithNccl, {{"setting", "link"}, {"link", c.link.name}}));
    if (c.link_params > 0 && c.link.none())
        out.push_back(Error(ErrorCode::LinkParamsWithoutLink,
                            {{"setting", "link_params"}, {"params", link_params_text(c.link_params)}}));
    if (c.allreduce == AllreduceKind::Nccl) {
        std::string why;
        if (c.backend != Backend::Cuda)
            out.push_back(Error(ErrorCode::NcclNeedsCuda, {{"setting", "allreduce"}}));
        else if (!nccl_available(&why))
            out.push_back(Error(ErrorCode::NcclUnavailable, {{"setting", "allreduce"}, {"why", why}}));
        else if (cuda_usable() && c.devices > cuda_device_count())
            out.push_back(Error(ErrorCode::NcclTooFewGpus, {{"setting", "allreduce"},
                                                            {"devices", std::to_string(c.devices)},
                                                            {"gpus", std::to_string(cuda_device_count())}}));
    }
    return out;
}

Error check_first(const TrainConfig& c)
{
    std::vector<Error> all = check(c);
    return all.empty() ? Error{} : all.front();
}

std::string settings_to_text(const TrainConfig& c)
{
    std::string s;
    for (const SettingSpec& spec : run_settings()) {
        if (!spec.in_cli)
            continue;
        if (!s.empty())
            s += ' ';
        s += spec.name;
        s += '=';
        s += spec.get(c);
    }
    return s;
}

void apply_settings_text(TrainConfig& c, const std::string& text)
{
    std::istringstream in(text);
    std::string pair;
    while (in >> pair) {
        const size_t eq = pair.find('=');
        const std::string name = pair.substr(0, eq);
        const SettingSpec* s = eq == std::string::npos ? nullptr : find_setting(name);
        if (!s || name.rfind("--", 0) == 0)
            fail(ErrorCode::SettingUnknownChoice, {{"setting", "setting"},
                                                   {"label", "setting"},
                                                   {"flag", "name=value"},
                                                   {"value", name},
                                                   {"choices", "one of the settings table's names"}});
        s->set(c, pair.substr(eq + 1));
    }
}

std::string settings_help(const TrainConfig& d, bool lab_only)
{
    std::string out;
    for (const SettingSpec& s : run_settings()) {
        if (lab_only ? !s.in_lab : !s.in_cli)
            continue;
        std::string left = std::string(s.flag) + " " + s.metavar;
        char buf[64];
        std::snprintf(buf, sizeof buf, "  %-22s ", left.c_str());
        out += buf;
        // the help and its default, wrapped at 88 columns under the help's column
        const std::string text = std::string(s.help) + " (default " + s.get(d) + ")";
        size_t col = 25, i = 0;
        while (i < text.size()) {
            size_t end = text.find(' ', i);
            if (end == std::string::npos)
                end = text.size();
            const std::string word = text.substr(i, end - i);
            if (col + word.size() > 88 && col > 25) {
                if (!out.empty() && out.back() == ' ')
                    out.pop_back();
                out += '\n';
                out.append(25, ' ');
                col = 25;
            }
            out += word;
            col += word.size();
            if (end < text.size()) {
                out += ' ';
                ++col;
            }
            i = end + 1;
        }
        out += "\n";
    }
    return out;
}

} // namespace gpulab
