// Writes small, valid recordings of the current format into a folder: the seeds of the
// recording reader's fuzz corpus (tests/fuzz/corpus/recording). Every event kind (a run of
// two ranks, a modelled step across them), snapshots stored with no reference, as a copy
// and on a line through two earlier ones (the parameters and a gradient), a failed run's
// end, and a flushed prefix (what a killed run leaves).
//   recording_seeds DIR
#include "record/recording.h"

#include <cstdio>
#include <string>

using namespace gpulab;

namespace {

Snapshot params(int epoch, int batch, int device, float shift)
{
    Snapshot s;
    s.what = SnapshotWhat::Params;
    s.epoch = epoch;
    s.batch = batch;
    s.device = device;
    s.tensor = "all";
    s.names = {"W1", "b1"};
    s.values = {std::vector<float>(12), std::vector<float>(3)};
    for (size_t i = 0; i < s.values[0].size(); ++i)
        s.values[0][i] = 0.1f * float(i) - 0.5f + shift;
    s.values[1] = {-0.0f, 1e-40f, 2.5f + shift};
    return s;
}

void write(const std::string& path, RunStatus status, bool finish)
{
    RecordingWriter w(path, RecordingHeader::for_run(TrainConfig{}, "recording_seeds", {"cpu-sim(0)", "cpu-sim(1)"}));
    const Error oom(ErrorCode::OutOfMemory, {{"device", "cpu-sim(0)"}, {"bytes", "4096"}});
    double t = 1;
    auto add = [&](int device, Event::Data d, const Snapshot* s = nullptr) {
        w.add(Event{.t_us = t++, .device = device, .data = std::move(d)}, s);
    };
    add(-1, ev::RunBegin{.settings = "2 x cpu-sim, batch 8", .devices = 2, .world = 2, .device_ranks = {0, 1}});
    add(-1, ev::Log{.text = "a note"});
    add(0, ev::Push{.op = "conv1_fwd"});
    add(0, ev::Op{.op = "conv1_fwd", .t_end_us = t + 5});
    add(1, ev::MemAlloc{.bytes = 64, .in_use = 128, .reserved = 256});
    add(1, ev::MemFree{.bytes = 64, .in_use = 64, .reserved = 256});
    const Snapshot p0 = params(0, -1, 0, 0), p1 = params(0, -1, 1, 0), p2 = params(1, 0, 0, 0.01f),
                   p3 = params(1, 1, 0, 0.03f);
    for (const Snapshot* s : {&p0, &p1, &p2, &p3})
        add(s->device, ev::Snapshot{.what = s->what, .epoch = s->epoch, .batch = s->batch, .tensor = s->tensor}, s);
    // a gradient three times: coded with no reference, against one, on a line through two
    for (int i = 0; i < 3; ++i) {
        Snapshot b;
        b.what = SnapshotWhat::GradBefore;
        b.epoch = 1;
        b.batch = i;
        b.tensor = "b1";
        b.values = {std::vector<float>(64)};
        for (size_t k = 0; k < b.values[0].size(); ++k)
            b.values[0][k] = 0.01f * float(k % 7) - 0.03f + 0.001f * float(i * i) * float(k % 3);
        add(0, ev::Snapshot{.what = b.what, .epoch = 1, .batch = i, .tensor = "b1"}, &b);
    }
    Snapshot g;
    g.what = SnapshotWhat::GradAfter;
    g.epoch = 1;
    g.tensor = "b1";
    g.values = {{0.25f, -0.125f, 0.0f}};
    add(0, ev::Snapshot{.what = g.what, .epoch = 1, .tensor = "b1"}, &g);
    add(-1, ev::AllreduceStep{.t_end_us = t + 2, .epoch = 1, .step = 0, .steps = 2, .src = 1, .dst = 0,
                              .chunk = -1, .bytes = 60, .phase = "reduce"});
    add(-1, ev::AllreduceStep{.t_end_us = t + 2, .epoch = 1, .step = 1, .steps = 2, .src = 0, .dst = 1,
                              .chunk = -1, .bytes = 60, .phase = "broadcast", .modelled = true,
                              .charged_bytes = 6000, .stage = AllreduceStage::AcrossRanks});
    add(-1, ev::MinibatchLoss{.epoch = 1, .batch = 0, .batches_in_epoch = 2, .images = 8, .loss = 2.25});
    add(-1, ev::EpochEnd{.epoch = 1, .train_loss = 2.2, .test_accuracy = 0.125, .seconds = 0.5, .images = 16});
    if (status == RunStatus::Failed) {
        add(0, ev::MemOom{.bytes = 4096, .in_use = 64});
        add(-1, ev::Error{.message = "out of memory", .error = oom});
    }
    add(-1, ev::RunEnd{.status = run_status_name(status), .error = status == RunStatus::Failed ? oom : Error{}});
    w.flush();
    if (finish)
        w.finish(status, status == RunStatus::Failed ? oom : Error{});
}

} // namespace

int main(int argc, char** argv)
{
    if (argc != 2) {
        std::fprintf(stderr, "usage: recording_seeds DIR\n");
        return 2;
    }
    const std::string dir = argv[1];
    try {
        write(dir + "/seed-completed.gpurec", RunStatus::Completed, true);
        write(dir + "/seed-failed.gpurec", RunStatus::Failed, true);
        write(dir + "/seed-prefix.gpurec", RunStatus::Completed, false);
    } catch (const GpulabError& e) {
        std::fprintf(stderr, "recording_seeds: %s\n", e.what());
        return 1;
    }
    return 0;
}
