// gpulab-cli: headless entry point (train, sweep, devices, verify). No Qt.
#include "cli_commands.h"
#include "gpulab_version.h"

#include <cstdio>
#include <exception>
#include <string>
#include <vector>

int main(int argc, char** argv)
{
    using namespace gpulab::cli;
    std::vector<std::string> args(argv + 1, argv + argc);
    if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help")
        return cmd_help();
    if (args[0] == "--version" || args[0] == "-v" || args[0] == "version") {
        std::printf("gpulab-cli %s\n", GPULAB_VERSION_FULL);
        return 0;
    }
    const std::string cmd = args[0];
    args.erase(args.begin());
    try {
        if (cmd == "train")
            return cmd_train(args);
        if (cmd == "devices")
            return cmd_devices(args);
        if (cmd == "verify")
            return cmd_verify(args);
        if (cmd == "replay")
            return cmd_replay(args);
        if (cmd == "launch")
            return cmd_launch(args);
        if (cmd == "sweep")
            return cmd_sweep(args);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "gpulab-cli: %s\n", e.what());
        return 1;
    }
    std::fprintf(stderr, "gpulab-cli: unknown command '%s' (try gpulab-cli --help)\n", cmd.c_str());
    return 2;
}
