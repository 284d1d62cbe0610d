// Parsing and checking of run settings: one clear line for whatever cannot work.
#include "train/train_config.h"

#include "model/lenet.h"
#include "train/settings.h"

#include <cctype>
#include <cmath>
#include <sstream>
#include <stdexcept>

namespace gpulab {

const char* exec_mode_name(ExecMode m)
{
    switch (m) {
    case ExecMode::Sync: return "sync";
    case ExecMode::Async: return "async";
    case ExecMode::Bounded: return "bounded";
    }
    return "?";
}

ExecMode parse_exec_mode(const std::string& s)
{
    if (s == "sync")
        return ExecMode::Sync;
    if (s == "async")
        return ExecMode::Async;
    if (s == "bounded")
        return ExecMode::Bounded;
    throw std::invalid_argument("unknown mode '" + s + "' (choose sync, async or bounded)");
}

const char* backend_name(Backend b)
{
    switch (b) {
    case Backend::Cpu: return "cpu";
    case Backend::Cuda: return "cuda";
    case Backend::Auto: return "auto";
    }
    return "?";
}

Backend parse_backend(const std::string& s)
{
    if (s == "cpu")
        return Backend::Cpu;
    if (s == "cuda")
        return Backend::Cuda;
    if (s == "auto")
        return Backend::Auto;
    throw std::invalid_argument("unknown backend '" + s + "' (choose auto, cpu or cuda)");
}

const char* data_placement_name(DataPlacement p)
{
    switch (p) {
    case DataPlacement::Host: return "host";
    case DataPlacement::Device: return "device";
    case DataPlacement::Auto: return "auto";
    }
    return "?";
}

DataPlacement parse_data_placement(const std::string& s)
{
    if (s == "host" || s == "off")
        return DataPlacement::Host;
    if (s == "device" || s == "on")
        return DataPlacement::Device;
    if (s == "auto")
        return DataPlacement::Auto;
    throw std::invalid_argument("unknown data placement '" + s + "' (choose auto, device or host)");
}

int64_t parse_bytes(const std::string& text)
{
    size_t i = 0;
    while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.'))
        ++i;
    std::string num = text.substr(0, i), unit = text.substr(i);
    for (auto& ch : unit)
        ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    double mult = 0;
    if (unit.empty() || unit == "b")
        mult = 1;
    else if (unit == "k" || unit == "kib" || unit == "kb")
        mult = 1024.0;
    else if (unit == "m" || unit == "mib" || unit == "mb")
        mult = 1024.0 * 1024;
    else if (unit == "g" || unit == "gib" || unit == "gb")
        mult = 1024.0 * 1024 * 1024;
    double v = 0;
    try {
        size_t used = 0;
        v = num.empty() ? -1 : std::stod(num, &used);
        if (used != num.size())
            v = -1;
    } catch (...) {
        v = -1;
    }
    if (mult == 0 || v < 0 || !std::isfinite(v * mult) || v * mult > 9.0e18)
        throw std::invalid_argument("cannot read '" + text +
                                    "' as a size (examples: 268435456, 256MiB, 2GiB)");
    return static_cast<int64_t>(v * mult);
}

const std::vector<ModelSize>& model_sizes()
{
    // ResNet-50: torchvision's resnet50 (He et al. 2015), 25,557,032 parameters; GPT-2 small:
    // the 124M model of Radford et al. 2019 as Hugging Face's "gpt2", 124,439,808 parameters.
    static const std::vector<ModelSize> sizes = {
        {"lenet", 0, "LeNet"},
        {"resnet50", 25557032, "ResNet-50"},
        {"gpt2-small", 124439808, "GPT-2 small"},
    };
    return sizes;
}

std::string link_params_text(int64_t params)
{
    for (const ModelSize& m : model_sizes())
        if (m.params == params)
            return m.name;
    return std::to_string(params);
}

int64_t parse_link_params(const std::string& s)
{
    for (const ModelSize& m : model_sizes())
        if (s == m.name)
            return m.params;
    double v = -1, mult = 1;
    try {
        size_t used = 0;
        v = std::stod(s, &used);
        const std::string unit = s.substr(used);
        if (unit == "K" || unit == "k")
            mult = 1e3;
        else if (unit == "M")
            mult = 1e6;
        else if (unit == "G")
            mult = 1e9;
        else if (!unit.empty())
            v = -1;
    } catch (...) {
        v = -1;
    }
    if (!(v >= 0) || !std::isfinite(v * mult) || v * mult > 1e15 || s.empty() || !std::isdigit((unsigned char)s[0]))
        throw std::invalid_argument("cannot read '" + s + "' as a model size: lenet, resnet50, gpt2-small, or a "
                                    "parameter count such as 50000000 or 50M");
    return static_cast<int64_t>(std::llround(v * mult));
}

double TrainConfig::link_bytes_scale() const
{
    return link_params > 0 ? static_cast<double>(link_params) / static_cast<double>(lenet_flat_count()) : 1.0;
}

std::string TrainConfig::describe() const
{
    std::ostringstream o;
    if (ranks > 1)
        o << ranks << " ranks x ";
    o << devices << " x " << (backend == Backend::Cuda ? "cuda" : "cpu-sim") << ", batch "
      << batch_size << ", lr " << lr << ", " << exec_mode_name(mode);
    if (mode == ExecMode::Bounded)
        o << " (k=" << inflight << ")";
    o << ", " << allreduce_name(allreduce) << " allreduce";
    if (!link.none()) {
        o << ", link " << link.name;
        if (link_params > 0)
            o << " charging " << link_params_text(link_params) << "'s gradients (modelled)";
    }
    o << ", seed " << seed;
    if (train_subset > 0)
        o << ", " << train_subset << " images";
    return o.str();
}

std::string validate(const TrainConfig& c)
{
    const Error e = check_first(c);
    return e ? english(e) : std::string();
}

const char* run_status_name(RunStatus s)
{
    switch (s) {
    case RunStatus::Completed: return "completed";
    case RunStatus::Cancelled: return "cancelled";
    case RunStatus::Failed: return "failed";
    }
    return "?";
}

} // namespace gpulab
