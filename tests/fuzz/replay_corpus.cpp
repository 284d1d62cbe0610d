// Replays the fuzzing corpus and the saved crashers through the IDX reader (CI runs this
// in the normal and in the sanitizer builds): each file must parse or throw DataError.
#include "data/idx.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

int main(int argc, char** argv)
{
    if (argc < 2) {
        std::fprintf(stderr, "usage: replay_corpus DIR...\n");
        return 2;
    }
    int files = 0, parsed = 0;
    for (int i = 1; i < argc; ++i) {
        for (const auto& entry : std::filesystem::recursive_directory_iterator(argv[i])) {
            if (!entry.is_regular_file())
                continue;
            std::ifstream f(entry.path(), std::ios::binary);
            std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(f)),
                                       std::istreambuf_iterator<char>());
            ++files;
            try {
                auto a = gpulab::parse_idx(bytes, entry.path().string());
                size_t n = 1;
                for (int64_t d : a.dims)
                    n *= static_cast<size_t>(d);
                if (n != a.data.size()) {
                    std::fprintf(stderr, "%s: parsed size mismatch\n", entry.path().c_str());
                    return 1;
                }
                ++parsed;
            } catch (const gpulab::DataError&) {
            }
        }
    }
    std::printf("replayed %d files: %d parsed, %d rejected with DataError\n", files, parsed,
                files - parsed);
    return files > 0 ? 0 : 1;
}
