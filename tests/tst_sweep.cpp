// The scaling sweep's unit: the lr each combination uses, the checks on a sweep's settings,
// the measurement from a run's events (on hand-made events, so every number is known), and
// a real short sweep on synthetic data whose rows agree with themselves.
#include "data/synthetic.h"
#include "trace/event.h"
#include "train/sweep.h"

#include <QtTest>

#include <memory>

using namespace gpulab;

namespace {

Event op(int device, double t0, double t1, const char* name)
{
    return Event{.t_us = t0, .device = device, .data = ev::Op{.op = name, .t_end_us = t1}};
}

Event loss(int batch, double t)
{
    return Event{.t_us = t, .data = ev::MinibatchLoss{.epoch = 1, .batch = batch, .loss = 1.0}};
}

} // namespace

class TestSweep : public QObject {
    Q_OBJECT

private slots:
    void lrFollowsTheBatch()
    {
        SweepConfig c;
        c.base.lr = 0.2;
        QCOMPARE(c.lr_for(256), 0.2);
        QCOMPARE(c.lr_for(1024), 0.8);
        QCOMPARE(c.lr_for(128), 0.1);
        c.lr_scale = LrScale::None;
        QCOMPARE(c.lr_for(1024), 0.2);
        const TrainConfig t = c.combination(4, 512);
        QCOMPARE(t.devices, 4);
        QCOMPARE(t.batch_size, int64_t(512));
        QCOMPARE(t.mode, ExecMode::Sync);
        QCOMPARE(t.epochs, 1);
        QCOMPARE(t.train_subset, int64_t(512) * (c.minibatches + c.warmup));
        QCOMPARE(parse_lr_scale("linear"), LrScale::Linear);
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, parse_lr_scale("sqrt"));
    }

    void numberLists()
    {
        QCOMPARE(parse_number_list("--devices", "1,2,4"), (std::vector<int64_t>{1, 2, 4}));
        QCOMPARE(parse_number_list("--devices", "2,2,1"), (std::vector<int64_t>{2, 1}));
        for (const char* bad : {"", "1,,2", "1,x", "0,1", "-1", "1.5", "2,"})
            QVERIFY_THROWS_EXCEPTION(std::invalid_argument, parse_number_list("--devices", bad));
    }

    void validation()
    {
        SweepConfig c;
        QCOMPARE(validate(c, 60000), std::string());
        c.minibatches = 1;
        QVERIFY(validate(c, 60000).find("minibatches") != std::string::npos);
        c.minibatches = 30;
        c.devices = {1, 2, 4};
        c.batch_sizes = {2, 256};
        const std::string err = validate(c, 60000);
        QVERIFY2(err.find("smaller than the number of devices") != std::string::npos, err.c_str());
        QVERIFY2(err.find("4 devices, batch 2") != std::string::npos, err.c_str());
        c.batch_sizes = {1024};
        QVERIFY(validate(c, 20000).find("training images") != std::string::npos);
        c.devices.clear();
        QVERIFY(!validate(c, 60000).empty());
    }

    void measureFromEvents()
    {
        // 2 devices; warm-up 1: minibatch 0 ends at 1000 us, minibatches 1 and 2 at 2000 and
        // 3000, so the window is 1000..3000 us (2 minibatches of 1 ms, batch 100).
        std::vector<Event> ev{op(0, 0, 900, "conv1_fwd"), op(1, 0, 900, "conv1_fwd"), loss(0, 1000)};
        // device 0: 1200 us compute, 400 us allreduce in the window; device 1: 800 + 400
        ev.push_back(op(0, 900, 1500, "conv2_bwd")); // 500 us inside the window
        ev.push_back(op(0, 1500, 1700, "reduce 0: 1->0"));
        ev.push_back(op(0, 1700, 2000, "sgd"));
        ev.push_back(loss(1, 2000));
        ev.push_back(op(0, 2000, 2400, "conv1_fwd"));
        ev.push_back(op(0, 2400, 2600, "broadcast 0: 0->1"));
        ev.push_back(op(1, 1000, 1400, "conv1_fwd"));
        ev.push_back(op(1, 1500, 1700, "reduce 0: 1->0"));
        ev.push_back(op(1, 2000, 2400, "conv1_fwd"));
        ev.push_back(op(1, 2600, 2800, "ring 1"));
        ev.push_back(loss(2, 3000));
        ev.push_back(op(0, 3100, 9000, "acc_fwd")); // the test set, after the window
        const SweepPoint p = measure_sweep_point(ev, 2, 100, 0.1, 1);
        QCOMPARE(p.status, RunStatus::Completed);
        QCOMPARE(p.minibatches, 2);
        QCOMPARE(p.minibatch_ms, 1.0);
        QCOMPARE(p.images_per_s, 100000.0);
        // compute: (500+300+400)/2000 = 0.6 and (400+400)/2000 = 0.4; allreduce 0.2 and 0.2
        QVERIFY(qAbs(p.compute_share - 0.5) < 1e-12);
        QVERIFY(qAbs(p.allreduce_share - 0.2) < 1e-12);
        QVERIFY(qAbs(p.waiting_share - 0.3) < 1e-12);

        const SweepPoint few = measure_sweep_point({loss(0, 1000)}, 1, 100, 0.1, 1);
        QCOMPARE(few.status, RunStatus::Failed);
        QVERIFY(few.message.find("too few") != std::string::npos);
    }

    void shortSweepOnSyntheticData()
    {
        auto data = std::make_shared<FashionMnist>(make_synthetic_dataset(2000, 200, 1));
        SweepConfig c;
        c.devices = {1, 2};
        c.batch_sizes = {64, 128};
        c.minibatches = 3;
        c.warmup = 1;
        QCOMPARE(validate(c, data->train.count), std::string());
        Sweep sweep(c, data);
        int seen = 0;
        const auto points = sweep.run([&](const SweepPoint&) { ++seen; });
        QCOMPARE(seen, 4);
        QCOMPARE(points.size(), size_t(4));
        for (const SweepPoint& p : points) {
            QVERIFY2(p.status == RunStatus::Completed, p.message.c_str());
            QCOMPARE(p.minibatches, 3);
            QCOMPARE(p.lr, 0.2 * static_cast<double>(p.batch_size) / 256);
            QVERIFY(p.minibatch_ms > 0);
            QVERIFY(qAbs(p.images_per_s * p.minibatch_ms / 1000 - static_cast<double>(p.batch_size)) < 1e-6 * p.batch_size);
            for (double s : {p.compute_share, p.allreduce_share, p.waiting_share})
                QVERIFY(s >= 0 && s <= 1);
            QVERIFY(qAbs(p.compute_share + p.allreduce_share + p.waiting_share - 1) < 1e-9);
            QVERIFY(p.compute_share > 0);
            if (p.devices == 1)
                QCOMPARE(p.allreduce_share, 0.0); // one device: nothing to reduce
            else
                QVERIFY(p.allreduce_share > 0);
        }
        QCOMPARE(points[1].devices, 1);
        QCOMPARE(points[1].batch_size, int64_t(128));
        QCOMPARE(points[2].devices, 2);
        const std::string csv = sweep_csv(points);
        QVERIFY(csv.rfind("devices,batch_size,lr,images_per_s,minibatch_ms,compute_share,allreduce_share,waiting_share,link,link_params\n", 0) == 0);
        QCOMPARE(std::count(csv.begin(), csv.end(), '\n'), 5L);
        QVERIFY(csv.find("\n2,128,0.1,") != std::string::npos);
    }

    void cancelStopsTheSweep()
    {
        auto data = std::make_shared<FashionMnist>(make_synthetic_dataset(2000, 200, 1));
        SweepConfig c;
        c.devices = {1, 2};
        c.batch_sizes = {64};
        c.minibatches = 3;
        Sweep sweep(c, data);
        const auto points = sweep.run([&](const SweepPoint&) { sweep.cancel(); });
        QCOMPARE(points.size(), size_t(1));
        QVERIFY(sweep.cancelled());
    }
};

QTEST_GUILESS_MAIN(TestSweep)
#include "tst_sweep.moc"
