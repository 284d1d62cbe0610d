// What gpulab-cli's commands share: their option parser (Args), its error (Usage), and the
// SIGINT/SIGTERM handler that asks a command to stop.
#pragma once

#include <algorithm>
#include <atomic>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace gpulab::cli {

// The first SIGINT/SIGTERM sets cli_signal() and the command stops what it runs; a second one
// leaves at once (exit 130).
std::atomic<int>& cli_signal();
void install_signal_handlers();
void restore_signal_handlers();

class Usage : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// --name value pairs and --flags, checked against what the command knows. An option in
// `optional_value` takes the next argument as its value unless there is none or it is
// another option (then its value is empty).
class Args {
public:
    Args(const std::vector<std::string>& args, const std::vector<std::string>& with_value,
         const std::vector<std::string>& flags, const std::vector<std::string>& optional_value = {})
    {
        for (size_t i = 0; i < args.size(); ++i) {
            const std::string& a = args[i];
            std::string name = a, value;
            bool has_inline = false;
            if (auto eq = a.find('='); a.rfind("--", 0) == 0 && eq != std::string::npos) {
                name = a.substr(0, eq);
                value = a.substr(eq + 1);
                has_inline = true;
            }
            if (std::find(optional_value.begin(), optional_value.end(), name) != optional_value.end()) {
                if (!has_inline && i + 1 < args.size() && args[i + 1].rfind("--", 0) != 0)
                    value = args[++i];
                m_values[name] = value;
            } else if (std::find(flags.begin(), flags.end(), name) != flags.end()) {
                m_values[name] = std::string(1, '1'); // (= "1" trips GCC 12's false -Wrestrict)
            } else if (std::find(with_value.begin(), with_value.end(), name) != with_value.end()) {
                if (!has_inline) {
                    if (i + 1 >= args.size())
                        throw Usage(name + " needs a value");
                    value = args[++i];
                }
                m_values[name] = value;
            } else {
                throw Usage("unknown option '" + a + "' (see gpulab-cli --help)");
            }
        }
    }
    bool has(const std::string& n) const { return m_values.count(n) > 0; }
    std::string str(const std::string& n, const std::string& def) const
    {
        auto it = m_values.find(n);
        return it == m_values.end() ? def : it->second;
    }
    long long integer(const std::string& n, long long def) const
    {
        if (!has(n))
            return def;
        const std::string v = str(n, "");
        try {
            size_t used = 0;
            long long x = std::stoll(v, &used);
            if (used == v.size())
                return x;
        } catch (...) {
        }
        throw Usage(n + " needs a whole number (got '" + v + "')");
    }
    double real(const std::string& n, double def) const
    {
        if (!has(n))
            return def;
        const std::string v = str(n, "");
        try {
            size_t used = 0;
            double x = std::stod(v, &used);
            if (used == v.size())
                return x;
        } catch (...) {
        }
        throw Usage(n + " needs a number (got '" + v + "')");
    }

private:
    std::map<std::string, std::string> m_values;
};

// --synthetic [N]: train on N generated images (and N/6 test images) instead of
// Fashion-MNIST; without N, on as many as the lab's synthetic set. 0 when not given.
constexpr long long kSyntheticImages = 20000;
inline long long synthetic_images(const Args& a)
{
    if (!a.has("--synthetic"))
        return 0;
    if (a.str("--synthetic", "").empty())
        return kSyntheticImages;
    const long long n = a.integer("--synthetic", 0);
    if (n < 1 || n > 1000000)
        throw Usage("--synthetic needs a number of training images from 1 to 1000000 (got " + std::to_string(n) +
                    "), or none for " + std::to_string(kSyntheticImages));
    return n;
}

} // namespace gpulab::cli
