// Event stream and exports: concurrent producers lose nothing, a consumer drains each
// event once, the Chrome trace is valid JSON with the documented tracks, CSV has its header.
#include "trace/event_columns.h"
#include "trace/event_stream.h"
#include "trace/op_summary.h"
#include "trace/trace_export.h"

#include <QtTest>

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>

#include <atomic>
#include <cmath>
#include <map>
#include <sstream>
#include <thread>

using namespace gpulab;

namespace {

// One event of every kind, each field a value no other field has.
std::vector<Event> one_of_each_kind()
{
    const Error oom(ErrorCode::OutOfMemory, {{"device", "cpu-sim(1)"}, {"bytes", "99"}});
    return {
        {.t_us = 1.5,
         .data = ev::RunBegin{.settings = "2 x cpu-sim; batch 256", .devices = 3, .world = 2, .device_ranks = {0, 0, 1}}},
        {.t_us = 2.5, .data = ev::RunEnd{.status = "failed", .message = "out of memory", .error = oom}},
        {.t_us = 3.5, .device = 1, .data = ev::Push{.op = "conv1_fwd"}},
        {.t_us = 4.5, .device = 1, .data = ev::Op{.op = "conv1_bwd", .t_end_us = 9.25}},
        {.t_us = 5.5, .device = 0, .data = ev::MemAlloc{.bytes = 4096, .in_use = 8192, .reserved = 1048576}},
        {.t_us = 6.5, .device = 1, .data = ev::MemFree{.bytes = 2048, .in_use = 6144, .reserved = 524288}},
        {.t_us = 7.5, .device = 2, .data = ev::MemOom{.bytes = 77777, .in_use = 33333}},
        {.t_us = 8.5,
         .data = ev::AllreduceStep{.t_end_us = 10.75,
                                   .epoch = 3,
                                   .batch = 17,
                                   .step = 4,
                                   .steps = 6,
                                   .src = 2,
                                   .dst = 0,
                                   .chunk = 1,
                                   .bytes = 123456,
                                   .phase = "reduce-scatter",
                                   .modelled = true,
                                   .charged_bytes = 6172800,
                                   .stage = AllreduceStage::AcrossRanks}},
        {.t_us = 11.5,
         .data = ev::MinibatchLoss{.epoch = 2, .batch = 7, .batches_in_epoch = 235, .images = 256, .loss = 1.25}},
        {.t_us = 12.5,
         .data = ev::EpochEnd{.epoch = 4, .train_loss = 0.5, .test_accuracy = 0.875, .seconds = 12.125, .images = 60000}},
        {.t_us = 13.5, .device = 1, .data = ev::Error{.message = "device lost", .error = oom}},
        {.t_us = 14.5,
         .device = 1,
         .data = ev::Snapshot{.index = 5, .what = SnapshotWhat::GradAfter, .epoch = 2, .batch = 9, .tensor = "b1"}},
        {.t_us = 15.5, .data = ev::Log{.text = "training data on each device"}},
    };
}

// The CSV's rows as column name -> text.
std::vector<std::map<QString, QString>> csv_rows(const std::vector<Event>& evs)
{
    std::ostringstream out;
    write_events_csv(evs, out);
    const QStringList lines = QString::fromStdString(out.str()).split('\n', Qt::SkipEmptyParts);
    const QStringList head = lines[0].split(',');
    std::vector<std::map<QString, QString>> rows;
    for (int i = 1; i < lines.size(); ++i) {
        const QStringList cells = lines[i].split(','); // the samples hold no comma or quote
        std::map<QString, QString> row;
        for (int k = 0; k < head.size() && k < cells.size(); ++k)
            row[head[k]] = cells[k];
        rows.push_back(row);
    }
    return rows;
}

} // namespace

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
                    if (std::get<ev::MinibatchLoss>(e.data).batch != seen[static_cast<size_t>(e.device)])
                        return;
                    ++seen[static_cast<size_t>(e.device)];
                }
            }
        });
        std::vector<std::thread> ts;
        for (int p = 0; p < producers; ++p)
            ts.emplace_back([&s, p] {
                for (int i = 0; i < per; ++i) {
                    s.record(Event{.device = p, .data = ev::MinibatchLoss{.batch = i}});
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
        QCOMPARE(ev[1].kind(), EventKind::Snapshot);
        QCOMPARE(ev[1].get<ev::Snapshot>()->index, 1);
        QCOMPARE(ev[1].get<ev::Snapshot>()->tensor, std::string("b1"));
        QCOMPARE(ev[1].device, 1);
        QVERIFY(s.snapshot_of(ev[1]) == s.snapshot(1));
        QVERIFY(s.snapshot_of(Event{}) == nullptr);
        QCOMPARE(s.snapshot(1)->values[0][1], 2.0f);
        QVERIFY(s.snapshot(5) == nullptr);
    }

    void chromeTraceIsValidJson()
    {
        std::vector<Event> evs;
        evs.push_back({.t_us = 1, .data = ev::RunBegin{.settings = "2 x cpu-sim, \"quoted\" \\ back\nslash\t\x01"}});
        evs.push_back({.t_us = 2, .device = 1, .data = ev::Push{.op = "conv1_fwd"}});
        evs.push_back({.t_us = 3, .device = 1, .data = ev::Op{.op = "conv1_fwd", .t_end_us = 10}});
        evs.push_back({.t_us = 4, .device = 0, .data = ev::MemAlloc{.in_use = 1234}});
        evs.push_back({.t_us = 4, .device = 0, .data = ev::MemOom{.in_use = 1234}});
        evs.push_back({.t_us = 5,
                       .data = ev::AllreduceStep{
                           .t_end_us = 6, .step = 0, .src = 0, .dst = 1, .bytes = 4096, .phase = "reduce"}});
        evs.push_back({.data = ev::MinibatchLoss{.loss = 2.3}});

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
        // a plain step (no link model, within one process) keeps its name and arguments, and
        // a single process's run begin its name and text
        for (const auto& v : arr) {
            const auto o = v.toObject();
            if (o.value("pid").toInt() == 3 && o.value("ph").toString() == "X") {
                QCOMPARE(o.value("name").toString(), QString("reduce 0"));
                QVERIFY(!o.value("args").toObject().contains("modelled"));
                QVERIFY(!o.value("args").toObject().contains("stage"));
            }
            if (o.value("name").toString() == "run_begin")
                QCOMPARE(o.value("args").toObject().keys(), QStringList({"name", "text"}));
        }
        QCOMPARE(counters, 2); // memory and loss
        QCOMPARE(instants, 3); // run begin, push, OOM
        QVERIFY(quoted_name_survived);
    }

    void csvHasHeaderAndQuotes()
    {
        std::vector<Event> evs{{.data = ev::Error{.message = "out of memory, \"badly\""}}};
        std::ostringstream out;
        write_events_csv(evs, out);
        const QStringList lines = QString::fromStdString(out.str()).split('\n', Qt::SkipEmptyParts);
        QCOMPARE(lines.size(), 2);
        QCOMPARE(lines[0], QString(csv_header()));
        QVERIFY(lines[1].endsWith("\"out of memory, \"\"badly\"\"\",0,0,,0,"));
        QCOMPARE(lines[0].split(',').size(), 22);
    }

    // The columns of events.csv and of gpulab-cli --csv, and where each kind's fields go:
    // the columns events had before they were typed, kept for whoever reads those files,
    // then the columns of the fields added since.
    void csvColumnsKeepTheirMeaning()
    {
        QCOMPARE(QString(csv_header()), QString("t_us,t_end_us,kind,device,epoch,batch,step,src,dst,chunk,bytes,"
                                                "in_use,value,value2,value3,name,text,"
                                                "modelled,charged_bytes,stage,world,ranks"));
        const std::vector<Event> evs = one_of_each_kind();
        const auto rows = csv_rows(evs);
        QCOMPARE(rows.size(), evs.size());
        using Row = std::map<QString, QString>;
        // the columns each row sets; every other keeps its default
        const Row defaults{{"t_end_us", "0.000"}, {"device", "-1"}, {"epoch", "0"}, {"batch", "0"},
                           {"step", "-1"},        {"src", "-1"},    {"dst", "-1"},   {"chunk", "-1"},
                           {"bytes", "0"},        {"in_use", "0"},  {"value", "0"},  {"value2", "0"},
                           {"value3", "0"},       {"name", ""},     {"text", ""},
                           {"modelled", "0"},     {"charged_bytes", "0"}, {"stage", ""}, {"world", "0"},
                           {"ranks", ""}};
        const std::vector<Row> expected{
            {{"kind", "run_begin"}, {"t_us", "1.500"}, {"name", "2 x cpu-sim; batch 256"}, {"value", "3"},
             {"world", "2"}, {"ranks", "0;0;1"}},
            {{"kind", "run_end"}, {"name", "failed"}, {"text", "out of memory"}},
            {{"kind", "push"}, {"device", "1"}, {"name", "conv1_fwd"}},
            {{"kind", "op"}, {"device", "1"}, {"name", "conv1_bwd"}, {"t_end_us", "9.250"}},
            {{"kind", "mem_alloc"}, {"device", "0"}, {"bytes", "4096"}, {"in_use", "8192"}, {"value", "1.04858e+06"}},
            {{"kind", "mem_free"}, {"device", "1"}, {"bytes", "2048"}, {"in_use", "6144"}, {"value", "524288"}},
            {{"kind", "mem_oom"}, {"device", "2"}, {"bytes", "77777"}, {"in_use", "33333"}},
            {{"kind", "allreduce_step"}, {"t_end_us", "10.750"}, {"epoch", "3"}, {"batch", "17"}, {"step", "4"},
             {"value", "6"}, {"src", "2"}, {"dst", "0"}, {"chunk", "1"}, {"bytes", "123456"}, {"name", "reduce-scatter"},
             {"modelled", "1"}, {"charged_bytes", "6172800"}, {"stage", "across-ranks"}},
            {{"kind", "minibatch_loss"}, {"epoch", "2"}, {"batch", "7"}, {"value", "1.25"}, {"value2", "256"},
             {"value3", "235"}},
            {{"kind", "epoch_end"}, {"epoch", "4"}, {"value", "0.5"}, {"value2", "0.875"}, {"value3", "12.125"},
             {"bytes", "60000"}},
            {{"kind", "error"}, {"device", "1"}, {"text", "device lost"}},
            {{"kind", "snapshot"}, {"device", "1"}, {"epoch", "2"}, {"batch", "9"}, {"name", "b1"}, {"value", "2"}},
            {{"kind", "log"}, {"text", "training data on each device"}},
        };
        for (size_t i = 0; i < rows.size(); ++i) {
            Row want = defaults;
            want["t_us"] = QString::asprintf("%.3f", evs[i].t_us);
            for (const auto& [k, v] : expected[i])
                want[k] = v;
            for (const auto& [k, v] : want)
                QVERIFY2(rows[i].at(k) == v, qPrintable(QString("%1: column %2 is %3, expected %4")
                                                             .arg(want["kind"], k, rows[i].at(k), v)));
        }
    }

    // Where the Chrome trace puts each kind: the keys Perfetto and scripts read.
    void chromeTraceKeysPerKind()
    {
        std::ostringstream out;
        write_chrome_trace(one_of_each_kind(), out);
        QJsonParseError err;
        const auto doc = QJsonDocument::fromJson(QByteArray::fromStdString(out.str()), &err);
        QVERIFY2(err.error == QJsonParseError::NoError, qPrintable(err.errorString()));
        std::map<QString, QJsonObject> by_name;
        for (const auto& v : doc.object().value("traceEvents").toArray()) {
            const QJsonObject o = v.toObject();
            if (o.value("ph").toString() != "M")
                by_name[o.value("name").toString()] = o;
        }
        auto keys = [](const QJsonObject& o) {
            QStringList k = o.keys();
            k.sort();
            return k.join(',');
        };
        QCOMPARE(by_name.size(), size_t(12)); // every kind but the snapshot
        const QJsonObject op = by_name.at("conv1_bwd");
        QCOMPARE(keys(op), QString("dur,name,ph,pid,tid,ts"));
        QCOMPARE(op.value("dur").toDouble(), 4.75);
        QCOMPARE(op.value("tid").toInt(), 2);
        const QJsonObject push = by_name.at("push conv1_fwd");
        QCOMPARE(keys(push), QString("args,name,ph,pid,s,tid,ts"));
        QCOMPARE(push.value("args").toObject().value("device").toInt(), 1);
        QCOMPARE(keys(by_name.at("device 0 bytes").value("args").toObject()), QString("in_use"));
        QCOMPARE(by_name.at("device 0 bytes").value("args").toObject().value("in_use").toInt(), 8192);
        QCOMPARE(by_name.at("device 1 bytes").value("args").toObject().value("in_use").toInt(), 6144);
        const QJsonObject oom = by_name.at("out of memory on device 2").value("args").toObject();
        QCOMPARE(keys(oom), QString("in_use,requested"));
        QCOMPARE(oom.value("requested").toInt(), 77777);
        const QJsonObject step = by_name.at("reduce-scatter 4 (modelled)");
        QCOMPARE(keys(step), QString("args,dur,name,ph,pid,tid,ts"));
        QCOMPARE(step.value("tid").toInt(), 1); // into device 0
        QCOMPARE(step.value("dur").toDouble(), 2.25);
        const QJsonObject step_args = step.value("args").toObject();
        QCOMPARE(keys(step_args), QString("batch,bytes,charged_bytes,chunk,dst,epoch,modelled,src,stage"));
        QCOMPARE(step_args.value("modelled").toBool(), true);
        QCOMPARE(step_args.value("charged_bytes").toInt(), 6172800);
        QCOMPARE(step_args.value("stage").toString(), QString("across-ranks"));
        QCOMPARE(step_args.value("bytes").toInt(), 123456);
        QCOMPARE(step_args.value("src").toInt(), 2);
        QCOMPARE(step_args.value("chunk").toInt(), 1);
        QCOMPARE(step_args.value("epoch").toInt(), 3);
        QCOMPARE(step_args.value("batch").toInt(), 17);
        QCOMPARE(by_name.at("loss").value("args").toObject().value("loss").toDouble(), 1.25);
        QCOMPARE(by_name.at("test accuracy").value("args").toObject().value("acc").toDouble(), 0.875);
        for (const char* kind : {"run_end", "error", "log"})
            QCOMPARE(keys(by_name.at(kind).value("args").toObject()), QString("name,text"));
        // a job of several ranks says which rank owns each device
        QCOMPARE(keys(by_name.at("run_begin").value("args").toObject()), QString("name,ranks,text,world"));
        QCOMPARE(by_name.at("run_begin").value("args").toObject().value("world").toInt(), 2);
        QCOMPARE(by_name.at("run_begin").value("args").toObject().value("ranks").toString(), QString("0;0;1"));
        QCOMPARE(by_name.at("run_begin").value("args").toObject().value("name").toString(),
                 QString("2 x cpu-sim; batch 256"));
        QCOMPARE(by_name.at("run_end").value("args").toObject().value("text").toString(), QString("out of memory"));
        QCOMPARE(by_name.at("log").value("args").toObject().value("text").toString(),
                 QString("training data on each device"));
    }

    // The flat columns give every kind back whole (version 1 recordings are read this way).
    void columnsGiveEveryKindBack()
    {
        for (const Event& e : one_of_each_kind()) {
            const Event back = event_from_columns(e.kind(), event_columns(e));
            QVERIFY2(back == e, event_kind_name(e.kind()));
        }
        EventColumns c;
        c.value = 3; // not a snapshot kind
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, event_from_columns(EventKind::Snapshot, c));
        c.value = std::nan("");
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, event_from_columns(EventKind::RunBegin, c));
        c.value = 1e300;
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, event_from_columns(EventKind::MemAlloc, c));
        c.value2 = 2.5; // half an image
        c.value = 0;
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, event_from_columns(EventKind::MinibatchLoss, c));
        // the added columns: a default reads as the field's default; a bad one is refused
        EventColumns plain;
        const Event begin = event_from_columns(EventKind::RunBegin, plain);
        QCOMPARE(begin.get<ev::RunBegin>()->world, 1);
        QVERIFY(begin.get<ev::RunBegin>()->device_ranks.empty());
        QCOMPARE(begin.get<ev::RunBegin>()->rank_of(5), 0);
        const Event step = event_from_columns(EventKind::AllreduceStep, plain);
        QCOMPARE(step.get<ev::AllreduceStep>()->modelled, false);
        QVERIFY(step.get<ev::AllreduceStep>()->stage == AllreduceStage::WithinRank);
        for (const char* ranks : {"0;2", "0;;1", "x", "0;-1"}) {
            EventColumns bad;
            bad.world = 2;
            bad.ranks = ranks;
            QVERIFY_THROWS_EXCEPTION(std::invalid_argument, event_from_columns(EventKind::RunBegin, bad));
        }
        EventColumns ranked;
        ranked.world = 2;
        ranked.ranks = "0;1;1";
        QCOMPARE(event_from_columns(EventKind::RunBegin, ranked).get<ev::RunBegin>()->rank_of(2), 1);
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
            ev.push_back({.t_us = t0, .device = device, .data = ev::Op{.op = name, .t_end_us = t1}});
        };
        op(0, "conv", 100, 400);  // 300
        op(0, "conv", 500, 600);  // 100
        op(0, "sgd", 600, 610);   // 10
        op(1, "conv", 120, 320);  // 200
        ev.push_back({.t_us = 50, .device = 0, .data = ev::Push{.op = "conv"}}); // not an op: not counted
        for (int b = 0; b < 2; ++b)
            ev.push_back({.data = ev::MinibatchLoss{.batch = b}});
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
