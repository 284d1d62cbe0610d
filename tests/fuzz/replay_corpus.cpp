// Replays the fuzzing corpora and the saved crashers (CI runs this in the normal and in the
// sanitizer builds): `replay_corpus idx DIR...` through the IDX reader (each file parses or
// throws DataError), `replay_corpus recording DIR...` through the recording reader (each
// file reads or throws GpulabError).
#include "data/idx.h"
#include "record/recording.h"

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

namespace {

// true: parsed; false: refused as it should be; exits on a wrong parse
bool idx(const std::vector<uint8_t>& bytes, const std::string& name)
{
    try {
        auto a = gpulab::parse_idx(bytes, name);
        size_t n = 1;
        for (int64_t d : a.dims)
            n *= static_cast<size_t>(d);
        if (n != a.data.size()) {
            std::fprintf(stderr, "%s: parsed size mismatch\n", name.c_str());
            std::exit(1);
        }
        return true;
    } catch (const gpulab::DataError&) {
        return false;
    }
}

bool recording(const std::vector<uint8_t>& bytes, const std::string& name)
{
    try {
        const gpulab::Recording r = gpulab::parse_recording(bytes.data(), bytes.size(), name);
        for (const gpulab::Event& e : r.events)
            if (const auto* s = e.get<gpulab::ev::Snapshot>();
                s && s->index >= 0 && static_cast<size_t>(s->index) >= r.snapshots.size()) {
                std::fprintf(stderr, "%s: an event names a snapshot the recording lacks\n", name.c_str());
                std::exit(1);
            }
        return true;
    } catch (const gpulab::GpulabError&) {
        return false;
    }
}

} // namespace

int main(int argc, char** argv)
{
    if (argc < 3 || (std::strcmp(argv[1], "idx") != 0 && std::strcmp(argv[1], "recording") != 0)) {
        std::fprintf(stderr, "usage: replay_corpus idx|recording DIR...\n");
        return 2;
    }
    const bool is_idx = std::strcmp(argv[1], "idx") == 0;
    int files = 0, parsed = 0;
    for (int i = 2; i < argc; ++i) {
        for (const auto& entry : std::filesystem::recursive_directory_iterator(argv[i])) {
            if (!entry.is_regular_file())
                continue;
            std::ifstream f(entry.path(), std::ios::binary);
            std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
            ++files;
            if (is_idx ? idx(bytes, entry.path().string()) : recording(bytes, entry.path().string()))
                ++parsed;
        }
    }
    std::printf("replayed %d files: %d read, %d refused with a clear error\n", files, parsed, files - parsed);
    return files > 0 ? 0 : 1;
}
