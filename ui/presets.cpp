// The presets: the three runs of the book's multi-GPU chapter (train(num_gpus,
// batch_size, lr), four epochs) and the asynchronous-computation lessons.
#include "presets.h"

#include <QCoreApplication>

namespace gpulab {

namespace {

TrainConfig book(int devices, int64_t batch)
{
    TrainConfig c;
    c.devices = devices;
    c.batch_size = batch;
    c.lr = 0.2;
    c.epochs = 4;
    c.mode = ExecMode::Sync;
    c.allreduce = AllreduceKind::Naive;
    c.seed = 1;
    return c;
}

QList<Preset> makePresets()
{
    QList<Preset> p;
    p.append({QStringLiteral("book-1"), QT_TRANSLATE_NOOP("Presets", "Book: 1 device, batch 256, lr 0.2"),
              QT_TRANSLATE_NOOP("Presets", "The baseline: one device trains the whole minibatch."), book(1, 256)});
    p.append({QStringLiteral("book-2"), QT_TRANSLATE_NOOP("Presets", "Book: 2 devices, batch 256, lr 0.2"),
              QT_TRANSLATE_NOOP("Presets", "Same batch split over two devices: each does half the work, plus an allreduce."),
              book(2, 256)});
    p.append({QStringLiteral("book-2-512"), QT_TRANSLATE_NOOP("Presets", "Book: 2 devices, batch 512, lr 0.2"),
              QT_TRANSLATE_NOOP("Presets", "The batch grows with the devices: each device keeps a full share of work."),
              book(2, 512)});
    {
        // Measured on a 2-core machine with the real Fashion-MNIST (gpulab-cli train, seed 1
        // to 3): batch 16 leaves the 2.303 plateau after 330-410 minibatches (2-5 s) and
        // reaches 0.78 test accuracy in three epochs of 10,000 images (15-25 s). With the
        // book's batch 256 and lr 0.2 the loss stays at 2.303 for the whole first epoch.
        TrainConfig c = book(2, 16);
        c.epochs = 3;
        c.train_subset = 10000;
        c.test_subset = 2000;
        p.append({QStringLiteral("quick"), QT_TRANSLATE_NOOP("Presets", "Learns in half a minute: batch 16, lr 0.2, 10,000 images"),
                  QT_TRANSLATE_NOOP("Presets", "2 devices, batch 16, lr 0.2, 3 epochs on the first 10,000 images: many small "
                                               "SGD steps, so the loss leaves 2.303 (guessing) within seconds."),
                  c});
        // lr 10 stays noisy but bounded; lr 14 to 50 blow up within ten minibatches.
        c.lr = 20;
        c.epochs = 1;
        p.append({QStringLiteral("diverge"), QT_TRANSLATE_NOOP("Presets", "Diverges: the quick run with lr 20"),
                  QT_TRANSLATE_NOOP("Presets", "Batch 16, lr 20 (100 times the quick run's): each step overshoots, the loss "
                                               "climbs from 2.3 and blows up within ten minibatches."),
                  c});
    }
    {
        TrainConfig c = book(2, 256);
        c.memory_budget = int64_t(256) << 20;
        c.epochs = 1;
        p.append({QStringLiteral("sync-256mib"), QT_TRANSLATE_NOOP("Presets", "Sync, 256 MiB per device"),
                  QT_TRANSLATE_NOOP("Presets", "One wait per minibatch: memory stays flat, well under the budget."), c});
        c.mode = ExecMode::Async;
        p.append({QStringLiteral("async-oom"), QT_TRANSLATE_NOOP("Presets", "Async, 256 MiB per device: runs out of memory"),
                  QT_TRANSLATE_NOOP("Presets", "The front end queues the whole epoch; every queued minibatch holds memory."),
                  c});
        {
            // Measured (gpulab-cli, 2 devices, batch 256, 10,000 images, 3 epochs, a loaded
            // 2-core machine): sync 4.3 / 4.3 / 4.0 s per epoch; async 5.0 / 3.5 / 3.3 s, 2.2 GB
            // resident against 0.5 GB, 556,000 page faults against 123,000, all in epoch 1.
            TrainConfig a = c;
            a.epochs = 3;
            a.train_subset = 10000;
            a.memory_budget = int64_t(4) << 30;
            p.append({QStringLiteral("async-fits"), QT_TRANSLATE_NOOP("Presets", "Async with memory to spare: 10,000 images, 4 GiB"),
                      QT_TRANSLATE_NOOP("Presets", "Async is slowest in epoch 1: every queued minibatch takes fresh memory "
                                                   "(page faults). Later epochs reuse those blocks and run faster."),
                      a});
        }
        c.mode = ExecMode::Bounded;
        c.inflight = 2;
        p.append({QStringLiteral("bounded-2"), QT_TRANSLATE_NOOP("Presets", "Bounded async (k = 2), 256 MiB per device"),
                  QT_TRANSLATE_NOOP("Presets", "At most two minibatches in flight: the front end stays ahead, memory stays bounded."),
                  c});
    }
    {
        TrainConfig c = book(4, 256);
        c.allreduce = AllreduceKind::Ring;
        p.append({QStringLiteral("ring-4"), QT_TRANSLATE_NOOP("Presets", "Ring allreduce, 4 devices"),
                  QT_TRANSLATE_NOOP("Presets", "Every device sends and receives the same amount; no device is the hub."), c});
        TrainConfig s = c;
        s.epochs = 1;
        s.train_subset = 2560;
        s.test_subset = 1000;
        p.append({QStringLiteral("step-ring-4"), QT_TRANSLATE_NOOP("Presets", "Step through a ring allreduce, 4 devices"),
                  QT_TRANSLATE_NOOP("Presets", "Press Step to move the chunks one allreduce step at a time."), s, true});
    }
    {
        // The book's finding on a slow link: the allreduce costs the same whatever the batch,
        // so a small batch's few milliseconds of compute per device cannot pay for it, and a
        // larger batch can. 1gbe: each naive allreduce of LeNet's 516 kB is at least
        // 2 x (50 us + 4.13 ms) = 8.4 ms. Same 10,240 images, so seconds per epoch compare.
        TrainConfig c = book(1, 128);
        c.link = parse_link("1gbe");
        c.epochs = 2;
        c.train_subset = 10240;
        c.test_subset = 2000;
        p.append({QStringLiteral("link-1"), QT_TRANSLATE_NOOP("Presets", "Slow link (1 GbE): 1 device, batch 128"),
                  QT_TRANSLATE_NOOP("Presets", "The baseline for the slow-link runs: one device, nothing crosses the "
                                               "link. Compare its seconds per epoch with the next two."),
                  c});
        c.devices = 2;
        p.append({QStringLiteral("link-2"), QT_TRANSLATE_NOOP("Presets", "Slow link (1 GbE): 2 devices, batch 128"),
                  QT_TRANSLATE_NOOP("Presets", "Half the compute each, plus an allreduce of at least 8.4 ms over the "
                                               "modelled link per minibatch: no faster than one device."),
                  c});
        c.batch_size = 1024;
        p.append({QStringLiteral("link-2-1024"), QT_TRANSLATE_NOOP("Presets", "Slow link (1 GbE): 2 devices, batch 1024"),
                  QT_TRANSLATE_NOOP("Presets", "The same allreduce, eight times fewer of them per epoch: the larger "
                                               "batch wins the time back."),
                  c});
        // "As if the model were bigger": LeNet trains, the link charges ResNet-50's 102 MB
        TrainConfig r = book(2, 256);
        r.allreduce = AllreduceKind::Ring;
        r.link = parse_link("10gbe");
        r.link_params = parse_link_params("resnet50");
        r.epochs = 1;
        r.train_subset = 2560;
        r.test_subset = 1000;
        p.append({QStringLiteral("resnet50-10gbe"),
                  QT_TRANSLATE_NOOP("Presets", "As if ResNet-50: ring over 10 GbE, 2 devices (modelled)"),
                  QT_TRANSLATE_NOOP("Presets", "The link charges ResNet-50's 25.6 M parameters (102 MB) while LeNet "
                                               "trains: bandwidth-bound, about 82 ms per allreduce. See the Allreduce view."),
                  r});
    }
    {
        TrainConfig c = book(8, 1024);
        c.lr = 0.4;
        c.epochs = 2;
        p.append({QStringLiteral("eight"), QT_TRANSLATE_NOOP("Presets", "8 devices, batch 1024, lr 0.4"),
                  QT_TRANSLATE_NOOP("Presets", "All eight simulated devices at full speed."), c});
    }
    return p;
}

} // namespace

QString Preset::title() const
{
    return QCoreApplication::translate("Presets", titleSource);
}

QString Preset::lesson() const
{
    return QCoreApplication::translate("Presets", lessonSource);
}

const QList<Preset>& presets()
{
    static const QList<Preset> list = makePresets();
    return list;
}

const Preset* findPreset(const QString& id)
{
    for (const Preset& p : presets())
        if (p.id == id)
            return &p;
    return nullptr;
}

QStringList presetIds()
{
    QStringList ids;
    for (const Preset& p : presets())
        ids << p.id;
    return ids;
}

} // namespace gpulab
