// gpulab-cli's subcommands. Each returns the process exit code:
// 0 success, 1 the run failed (out of memory, diverged, error), 2 bad arguments or data,
// 130 interrupted (SIGINT/SIGTERM).
#pragma once

#include <string>
#include <vector>

namespace gpulab::cli {

int cmd_train(const std::vector<std::string>& args);
int cmd_devices(const std::vector<std::string>& args);
int cmd_verify(const std::vector<std::string>& args); // cli_verify.cpp
int cmd_sweep(const std::vector<std::string>& args);  // cli_sweep.cpp
int cmd_replay(const std::vector<std::string>& args);
int cmd_launch(const std::vector<std::string>& args); // cli_launch.cpp
int cmd_help();
// The settings-table names (core/train/settings.h) that sweep reads for every run
const std::vector<std::string>& sweep_table_settings(); // cli_sweep.cpp

} // namespace gpulab::cli
