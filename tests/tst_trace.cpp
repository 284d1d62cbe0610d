// Event stream and exports: concurrent producers lose nothing, a consumer drains each
// event once, the Chrome trace is valid JSON with the documented tracks, CSV has its header.
#include "trace/event_stream.h"
#include "trace/op_summary.h"
#include "trace/trace_export.h"

#include <QtTest>

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>

#include <atomic>
#include <sstream>
#include <thread>

using namespace gpulab;

class TestTrace : public QObject {
    Q_OBJECT

private slots:
    void concurrentProducersOneConsumer()
    {
        EventStream s;
        constexpr int producers = 4, per = 20000;
        std::atomic<bool> done{false};
        std::vector<int> seen(producers, 0);
        size_t cursor = 0;
        std::thread consumer([&] {
            std::vector<Event> batch;
            while (!done || cursor < s.size()) {
                batch.clear();
                s.drain(cursor, batch);
                for (const auto& e : batch) {
                    // per producer, events arrive in the order they were emitted
                    if (e.batch != seen[static_cast<size_t>(e.device)])
                        return;
                    ++seen[static_cast<size_t>(e.device)];
                }
            }
        });
        std::vector<std::thread> ts;
        for (int p = 0; p < producers; ++p)
            ts.emplace_back([&s, p] {
                for (int i = 0; i < per; ++i) {
                    Event e;
                    e.kind = EventKind::Log;
                    e.device = p;
                    e.batch = i;
                    s.record(e);
                }
            });
        for (auto& t : ts)
            t.join();
        done = true;
        consumer.join();
        for (int p = 0; p < producers; ++p)
            QCOMPARE(seen[static_cast<size_t>(p)], per);
        QCOMPARE(s.size(), size_t(producers * per));
    }

    void timestampsAreFilledAndMonotonicPerProducer()
    {
        EventStream s;
        for (int i = 0; i < 100; ++i)
            s.record(Event{});
        double last = 0;
        for (const auto& e : s.all()) {
            QVERIFY(e.t_us > 0);
            QVERIFY(e.t_us >= last);
            last = e.t_us;
        }
    }

    void snapshotsAreIndexed()
    {
        EventStream s;
        Snapshot a;
        a.device = 1;
        a.tensor = "b1";
        a.values = {{1.0f, 2.0f}};
        s.record_snapshot(a);
        s.record_snapshot(a);
        const auto ev = s.all();
        QCOMPARE(int(ev.size()), 2);
        QCOMPARE(ev[1].kind, EventKind::Snapshot);
        QCOMPARE(ev[1].snapshot, 1);
        QCOMPARE(s.snapshot(1)->values[0][1], 2.0f);
        QVERIFY(s.snapshot(5) == nullptr);
    }

    void chromeTraceIsValidJson()
    {
        std::vector<Event> evs;
        Event e;
        e.kind = EventKind::RunBegin;
        e.t_us = 1;
        e.name = "2 x cpu-sim, \"quoted\" \\ back\nslash\t\x01";
        evs.push_back(e);
        e = Event{};
        e.kind = EventKind::Push;
        e.t_us = 2;
        e.device = 1;
        e.name = "conv1_fwd";
        evs.push_back(e);
        e.kind = EventKind::Op;
        e.t_us = 3;
        e.t_end_us = 10;
        evs.push_back(e);
        e = Event{};
        e.kind = EventKind::MemAlloc;
        e.t_us = 4;
        e.device = 0;
        e.in_use = 1234;
        evs.push_back(e);
        e.kind = EventKind::MemOom;
        evs.push_back(e);
        e = Event{};
        e.kind = EventKind::AllreduceStep;
        e.t_us = 5;
        e.t_end_us = 6;
        e.src = 0;
        e.dst = 1;
        e.step = 0;
        e.bytes = 4096;
        e.name = "reduce";
        evs.push_back(e);
        e = Event{};
        e.kind = EventKind::MinibatchLoss;
        e.value = 2.3;
        evs.push_back(e);

        std::ostringstream out;
        write_chrome_trace(evs, out);
        QJsonParseError err;
        const auto doc = QJsonDocument::fromJson(QByteArray::fromStdString(out.str()), &err);
        QVERIFY2(err.error == QJsonParseError::NoError, qPrintable(err.errorString()));
        const QJsonArray arr = doc.object().value("traceEvents").toArray();
        QVERIFY(!arr.isEmpty());
        int spans = 0, counters = 0, instants = 0;
        bool quoted_name_survived = false;
        for (const auto& v : arr) {
            const auto o = v.toObject();
            const QString ph = o.value("ph").toString();
            spans += ph == "X";
            counters += ph == "C";
            instants += ph == "i";
            if (o.value("args").toObject().value("name").toString().contains("\"quoted\""))
                quoted_name_survived = true;
        }
        QCOMPARE(spans, 2);    // the op and the allreduce step
        QCOMPARE(counters, 2); // memory and loss
        QCOMPARE(instants, 3); // run begin, push, OOM
        QVERIFY(quoted_name_survived);
    }

    void csvHasHeaderAndQuotes()
    {
        std::vector<Event> evs(1);
        evs[0].kind = EventKind::Error;
        evs[0].text = "out of memory, \"badly\"";
        std::ostringstream out;
        write_events_csv(evs, out);
        const QStringList lines = QString::fromStdString(out.str()).split('\n', Qt::SkipEmptyParts);
        QCOMPARE(lines.size(), 2);
        QCOMPARE(lines[0], QString(csv_header()));
        QVERIFY(lines[1].endsWith("\"out of memory, \"\"badly\"\"\""));
        QCOMPARE(lines[0].split(',').size(), 17);
    }

    void exportToFileIsAtomicAndReportsErrors()
    {
        QTemporaryDir dir;
        const std::string path = (dir.path() + "/t.json").toStdString();
        std::string err;
        QVERIFY(export_chrome_trace({}, path, &err));
        QFile f(QString::fromStdString(path));
        QVERIFY(f.open(QIODevice::ReadOnly));
        QVERIFY(QJsonDocument::fromJson(f.readAll()).isObject());
        QVERIFY(!QFile::exists(QString::fromStdString(path + ".tmp")));
        QVERIFY(!export_events_csv({}, "/nonexistent-dir/x.csv", &err));
        QVERIFY2(QString::fromStdString(err).contains("cannot write /nonexistent-dir/x.csv"),
                 err.c_str());
    }

    void opSummaryAddsUpEachDevicesOps()
    {
        std::vector<Event> ev;
        auto op = [&](int device, const char* name, double t0, double t1) {
            Event e;
            e.kind = EventKind::Op;
            e.device = device;
            e.name = name;
            e.t_us = t0;
            e.t_end_us = t1;
            ev.push_back(e);
        };
        op(0, "conv", 100, 400);  // 300
        op(0, "conv", 500, 600);  // 100
        op(0, "sgd", 600, 610);   // 10
        op(1, "conv", 120, 320);  // 200
        Event push;
        push.kind = EventKind::Push; // not an op: not counted
        push.device = 0;
        push.name = "conv";
        push.t_us = 50;
        ev.push_back(push);
        for (int b = 0; b < 2; ++b) {
            Event l;
            l.kind = EventKind::MinibatchLoss;
            ev.push_back(l);
        }
        const OpSummary s = summarize_ops(ev);
        QCOMPARE(s.minibatches, int64_t(2));
        QCOMPARE(s.span_us, 510.0); // 100 .. 610
        QCOMPARE(s.busy_us, (std::vector<double>{410.0, 200.0}));
        QCOMPARE(s.op_count, (std::vector<int64_t>{3, 1}));
        QCOMPARE(s.ops.size(), size_t(3));
        QCOMPARE(s.ops[0].name, std::string("conv")); // device 0's longest first
        QCOMPARE(s.ops[0].count, int64_t(2));
        QCOMPARE(s.ops[0].total_us, 400.0);
        QCOMPARE(s.ops[0].max_us, 300.0);
        QCOMPARE(s.ops[0].mean_us(), 200.0);
        QCOMPARE(s.ops[1].name, std::string("sgd"));
        QCOMPARE(s.ops[2].device, 1);
        const QString text = QString::fromStdString(format_op_summary(s, 1));
        QVERIFY2(text.contains("255.0 us per minibatch"), qPrintable(text)); // 510 us / 2 minibatches
        QVERIFY2(text.contains("(other ops)"), qPrintable(text));   // sgd, beyond the top 1
        QVERIFY2(text.contains("97.6%"), qPrintable(text));         // conv: 400 of 410 us
        QCOMPARE(summarize_ops({}).span_us, 0.0);
    }
};

QTEST_APPLESS_MAIN(TestTrace)
#include "tst_trace.moc"
