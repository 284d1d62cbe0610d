// libFuzzer target for the recording reader: any bytes must either read into a recording
// whose events name only snapshots it holds, or throw GpulabError; never crash, hang, leak
// or allocate what a length field asks for.
#include "record/recording.h"

#include <cstdint>
#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    try {
        const gpulab::Recording r = gpulab::parse_recording(data, size, "fuzz.gpurec");
        for (const gpulab::Event& e : r.events)
            if (const auto* s = e.get<gpulab::ev::Snapshot>();
                s && s->index >= 0 && static_cast<size_t>(s->index) >= r.snapshots.size())
                std::abort(); // an event must only name a snapshot the recording holds
    } catch (const gpulab::GpulabError&) {
    }
    return 0;
}
