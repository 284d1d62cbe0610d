// Every run setting, described once: its name, its command-line flag, its type, default,
// allowed range or choices, help text and the key its label is translated by. gpulab-cli's
// parser and help, gpulab's command line, the lab's panel (ranges and checks), the presets
// and the recordings are all driven by this table; check() is the one validation.
// Adding a setting: one entry here (and its widget in the panel).
#pragma once

#include "error/error.h"
#include "train/train_config.h"

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gpulab {

enum class SettingType { Int, Real, Bytes, Choice };

struct SettingSpec {
    const char* name;      // "batch_size": the key in presets, recordings and translations
    const char* flag;      // "--batch-size"
    const char* metavar;   // "B", shown in the help
    SettingType type;
    const char* label;     // "batch size": how messages name it (translation source, "Settings")
    const char* help;      // one line for --help (English; the lab's tooltips translate it)
    double min = 0, max = 0;          // Int, Real, Bytes: the allowed range, inclusive
    std::vector<std::string> choices{}; // Choice: the accepted words
    bool in_lab = true;               // gpulab's command line and the panel offer it
    // gpulab-cli train takes it, and a run's settings text (recordings) holds it. The lab's
    // ranks are not: a rank of gpulab-cli is --world/--rank, and a job's recording holds the
    // job, its devices every rank's.
    bool in_cli = true;
    // The value as text (what a recording or preset stores, what --help shows as default)
    std::function<std::string(const TrainConfig&)> get{};
    // Parses text and stores it; throws GpulabError (SettingNot*, SettingUnknownChoice,
    // SettingBadSize). Ranges are check()'s business, so a panel can show them as it edits.
    std::function<void(TrainConfig&, const std::string&)> set{};
    // Applies to this configuration (inflight: bounded mode only); null = always.
    std::function<bool(const TrainConfig&)> applies{};
    // The value as a number, for range checks (Int, Real, Bytes)
    std::function<double(const TrainConfig&)> number{};
};

const std::vector<SettingSpec>& run_settings();
const SettingSpec* find_setting(std::string_view name_or_flag); // null when unknown

// Everything wrong with c, first problem first; empty when it can run. Each Error names the
// setting (fact "setting") and says what would work (range, choices, the other setting).
std::vector<Error> check(const TrainConfig& c);
// The first problem, or Error{} (code None) when c can run.
Error check_first(const TrainConfig& c);

// "devices=2 batch_size=256 lr=0.2 ...": every setting that gpulab-cli takes (in_cli), in
// table order.
std::string settings_to_text(const TrainConfig& c);
// Applies "name=value" pairs (spaces between them) to c; throws GpulabError on an unknown
// name (SettingUnknownChoice with setting "setting") or a bad value.
void apply_settings_text(TrainConfig& c, const std::string& text);
// The table's help lines ("  --batch-size B  ... (default 256)"), defaults taken from d:
// gpulab-cli's settings, or with lab_only the lab's.
std::string settings_help(const TrainConfig& d, bool lab_only = false);
// A number as the table writes it: integers without a fraction, reals with up to 6 digits.
std::string format_number(double v, SettingType t);

} // namespace gpulab
