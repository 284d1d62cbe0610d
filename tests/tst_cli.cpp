// gpulab-cli as a user meets it: impossible settings get one line and exit 2, a failed
// run exits 1 with the reason, an interrupted run leaves a valid trace and exits 130.
#include <QtTest>

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QRegularExpression>
#include <QTemporaryDir>

#include <csignal>

namespace {

struct Outcome {
    int code = -1;
    QString out, err;
};

Outcome cli(const QStringList& args, int timeout_ms = 120000, const QProcessEnvironment& env = {})
{
    QProcess p;
    if (!env.isEmpty())
        p.setProcessEnvironment(env);
    p.start(GPULAB_CLI, args);
    Outcome o;
    if (!p.waitForFinished(timeout_ms)) {
        p.kill();
        p.waitForFinished();
        o.err = "timed out";
        return o;
    }
    o.code = p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -2;
    o.out = QString::fromUtf8(p.readAllStandardOutput());
    o.err = QString::fromUtf8(p.readAllStandardError());
    return o;
}

// Reads a running program's output until it contains needle or the program ends: a wait on
// what the program says, never on the clock.
QByteArray readUntil(QProcess& p, const char* needle)
{
    QByteArray out;
    while (!out.contains(needle) && p.state() == QProcess::Running) {
        p.waitForReadyRead(200);
        out += p.readAllStandardOutput();
    }
    return out + p.readAllStandardOutput(); // what an ended program left unread
}

} // namespace

class TestCli : public QObject {
    Q_OBJECT

private slots:
    void help()
    {
        Outcome o = cli({"--help"});
        QCOMPARE(o.code, 0);
        QVERIFY(o.out.contains("--devices N"));
        QVERIFY(o.out.contains("--memory-budget"));
        // sweep's help names every table setting it takes, as parse does
        const int sweep = o.out.indexOf("sweep options");
        QVERIFY(sweep > 0);
        const QString sweepHelp = o.out.mid(sweep, o.out.indexOf("verify options") - sweep);
        for (const char* flag : {"--backend", "--allreduce", "--seed", "--memory-budget", "--threads-per-device",
                                 "--link,", "--link-params", "--data", "--synthetic", "--lr X"})
            QVERIFY2(sweepHelp.contains(QLatin1String(flag)), flag);
    }

    void impossibleSettings_data()
    {
        QTest::addColumn<QStringList>("args");
        QTest::addColumn<QString>("needle");
        QTest::newRow("0 devices") << QStringList{"--devices", "0"} << "devices must be";
        QTest::newRow("batch < devices")
            << QStringList{"--devices", "4", "--batch-size", "2"} << "smaller than the number of devices";
        QTest::newRow("lr nan") << QStringList{"--lr", "nan"} << "learning rate";
        QTest::newRow("lr negative") << QStringList{"--lr", "-0.5"} << "learning rate";
        QTest::newRow("lr text") << QStringList{"--lr", "fast"} << "--lr needs a number";
        QTest::newRow("mode") << QStringList{"--mode", "turbo"} << "unknown mode 'turbo'";
        QTest::newRow("allreduce") << QStringList{"--allreduce", "tree"} << "unknown allreduce";
        QTest::newRow("budget") << QStringList{"--memory-budget", "lots"} << "cannot read 'lots'";
        QTest::newRow("epochs") << QStringList{"--epochs", "two"} << "--epochs needs a whole number";
        QTest::newRow("unknown option") << QStringList{"--gpus", "2"} << "unknown option '--gpus'";
        QTest::newRow("missing value") << QStringList{"--devices"} << "--devices needs a value";
        QTest::newRow("no data dir")
            << QStringList{"--data", "/nonexistent/fashion"} << "dataset-fashion-mnist";
        QTest::newRow("synthetic 0") << QStringList{"--synthetic", "0"} << "--synthetic needs a number of training images";
        QTest::newRow("advertise a wildcard")
            << QStringList{"--world", "2", "--advertise", "0.0.0.0"} << "--advertise needs this machine's address";
        QTest::newRow("bounded k=0")
            << QStringList{"--mode", "bounded", "--inflight", "0"} << "--inflight";
    }
    void impossibleSettings()
    {
        QFETCH(QStringList, args);
        QFETCH(QString, needle);
        Outcome o = cli(QStringList{"train"} + args);
        QCOMPARE(o.code, 2);
        QVERIFY2(o.err.contains(needle), qPrintable(o.err));
        QCOMPARE(o.err.trimmed().count('\n'), 0); // one line
    }

    void unknownCommand()
    {
        Outcome o = cli({"fly"});
        QCOMPARE(o.code, 2);
        QVERIFY(o.err.contains("unknown command 'fly'"));
    }

    void asyncOutOfMemoryBoundedCompletes()
    {
        const QStringList common{"train", "--synthetic", "3072", "--devices", "1", "--epochs", "1",
                                 "--memory-budget", "256MiB", "--quiet"};
        QTemporaryDir dir;
        const QString trace = dir.filePath("oom.json");
        Outcome a = cli(common + QStringList{"--mode", "async", "--trace", trace});
        QCOMPARE(a.code, 1);
        QFile t(trace); // what was recorded up to the failure is kept
        QVERIFY(t.open(QIODevice::ReadOnly));
        QVERIFY(t.readAll().contains("out of memory on device 0"));
        QVERIFY2(a.err.contains("out of memory on cpu-sim(0)"), qPrintable(a.err));
        QVERIFY(a.err.contains("sync or bounded mode"));
        QVERIFY(!a.err.contains("still holds"));
        Outcome b = cli(common + QStringList{"--mode", "bounded", "--inflight", "2"});
        QCOMPARE(b.code, 0);
        QVERIFY2(b.out.contains("epoch 1: loss"), qPrintable(b.out));
    }

    void divergingLearningRate()
    {
        Outcome o = cli({"train", "--synthetic", "1024", "--devices", "2", "--epochs", "1",
                         "--lr", "1e9", "--batch-size", "64", "--quiet"});
        QCOMPARE(o.code, 1);
        QVERIFY2(o.err.contains("lower the learning rate"), qPrintable(o.err));
    }

    void exportsTraceAndCsv()
    {
        QTemporaryDir dir;
        const QString trace = dir.filePath("run.json"), csv = dir.filePath("run.csv");
        Outcome o = cli({"train", "--synthetic", "512", "--devices", "2", "--epochs", "1",
                         "--batch-size", "64", "--allreduce", "ring", "--trace", trace, "--csv",
                         csv, "--quiet"});
        QCOMPARE(o.code, 0);
        QVERIFY(o.out.contains("on [cpu-sim(0), cpu-sim(1)]"));
        QFile t(trace);
        QVERIFY(t.open(QIODevice::ReadOnly));
        QVERIFY(QJsonDocument::fromJson(t.readAll()).isObject());
        QFile c(csv);
        QVERIFY(c.open(QIODevice::ReadOnly));
        QVERIFY(c.readLine().startsWith("t_us,t_end_us,kind,device"));
    }

    void interruptedRunKeepsValidTrace_data()
    {
        QTest::addColumn<int>("sig");
        QTest::newRow("SIGINT") << int(SIGINT);
        QTest::newRow("SIGTERM") << int(SIGTERM);
    }
    void interruptedRunKeepsValidTrace()
    {
        // Bounded mode: an unbounded async run may run out of the default budget on a slow
        // machine before the signal arrives. The signal is sent once the first epoch line is
        // out (the run is surely under way, with events to trace) and four epochs remain, so
        // no fixed wait makes the outcome depend on the machine's speed.
        QFETCH(int, sig);
        QTemporaryDir dir;
        const QString trace = dir.filePath("run.json");
        QProcess p;
        p.start(GPULAB_CLI, {"train", "--synthetic", "10000", "--devices", "2", "--epochs", "5",
                             "--batch-size", "64", "--mode", "bounded", "--inflight", "2",
                             "--trace", trace, "--quiet"});
        QVERIFY(p.waitForStarted());
        QByteArray out = readUntil(p, "epoch 1:");
        QVERIFY2(out.contains("epoch 1:"), (out + p.readAllStandardError()).constData());
        QVERIFY2(!out.contains("epoch 5:"), out.constData());
        QCOMPARE(p.state(), QProcess::Running);
        ::kill(static_cast<pid_t>(p.processId()), sig);
        // it finishes the minibatch in flight and writes the trace: seconds on a slow machine;
        // the bound only ends a run that never stops
        QVERIFY(p.waitForFinished(120000));
        QCOMPARE(p.exitStatus(), QProcess::NormalExit);
        QCOMPARE(p.exitCode(), 130);
        out += p.readAllStandardOutput();
        QVERIFY2(!out.contains("epoch 5:"), out.constData()); // stopped, not finished
        QFile t(trace);
        QVERIFY(t.open(QIODevice::ReadOnly));
        QJsonParseError err;
        const auto doc = QJsonDocument::fromJson(t.readAll(), &err);
        QVERIFY2(err.error == QJsonParseError::NoError, qPrintable(err.errorString()));
        QVERIFY(doc.object().value("traceEvents").toArray().size() > 10);
    }

    // A corrupt data file: what is wrong with which file, exit 2.
    void corruptDataFileExitsTwo()
    {
        QTemporaryDir dir;
        for (const char* name : {"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz",
                                 "t10k-labels-idx1-ubyte.gz"}) {
            QFile f(dir.filePath(name));
            QVERIFY(f.open(QIODevice::WriteOnly));
            f.write(QByteArray("\x1f\x8b\x08\x00 this gzip stream stops here", 40));
        }
        Outcome o = cli({"train", "--data", dir.path(), "--epochs", "1", "--quiet"});
        QCOMPARE(o.code, 2);
        QVERIFY2(o.err.contains(dir.filePath("train-images-idx3-ubyte.gz")), qPrintable(o.err));
        QCOMPARE(o.err.trimmed().count('\n'), 0); // one line
    }

    // --backend cuda where CUDA is not usable: why, and exit 2 (a machine with CUDA runs it).
    void cudaWhereThereIsNoneExitsTwo()
    {
        const Outcome d = cli({"devices"});
        if (!d.out.contains("cuda: not usable"))
            QSKIP("CUDA is usable here");
        Outcome o = cli({"train", "--backend", "cuda", "--synthetic", "256", "--epochs", "1", "--quiet"});
        QCOMPARE(o.code, 2);
        QVERIFY2(o.err.contains("--backend cuda"), qPrintable(o.err));
        const QString why = d.out.mid(d.out.indexOf("cuda: not usable: ") + 18).trimmed();
        QVERIFY2(o.err.contains(why), qPrintable(o.err + " / " + why));
    }

    // --op-summary prints, per device, a table of ops with their count, times and share.
    void opSummaryPrintsItsTable()
    {
        Outcome o = cli({"train", "--synthetic", "512", "--devices", "2", "--epochs", "1", "--batch-size", "64",
                         "--op-summary", "--quiet"});
        QCOMPARE(o.code, 0);
        for (const char* needle : {"device 0: busy", "device 1: busy", "conv2_relu_fwd", "reduce 0: 1->0"})
            QVERIFY2(o.out.contains(needle), qPrintable(needle + QString(" missing from:\n") + o.out));
        const QRegularExpression header(R"(op\s+count\s+total ms\s+mean us\s+max us\s+share)");
        QCOMPARE(int(o.out.count(header)), 2);
        const QRegularExpression row(R"(\n  conv2_relu_fwd\s+10\s+[0-9.]+\s+[0-9.]+\s+[0-9.]+\s+[0-9.]+%)");
        QCOMPARE(int(o.out.count(row)), 2); // 8 minibatches and 2 evaluation passes, on each device
    }

    // gpulab-cli verify exits 1 when a check fails (a failure injected into one), 0 otherwise.
    void verifyExitsOneWhenACheckFails()
    {
        const Outcome ok = cli({"verify", "--backend", "cpu"}, 300000);
        QVERIFY2(ok.code == 0, qPrintable(ok.out + ok.err));
        QVERIFY2(ok.out.contains(" 0 FAIL"), qPrintable(ok.out));
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert("GPULAB_VERIFY_INJECT_FAILURE", "3 devices = 1 device");
        const Outcome bad = cli({"verify", "--backend", "cpu"}, 300000, env);
        QCOMPARE(bad.code, 1);
        const QRegularExpression line(R"(\nFAIL cpu\s+training\s+3 devices = 1 device .*failure injected)");
        QVERIFY2(bad.out.contains(line), qPrintable(bad.out));
        QVERIFY2(bad.out.contains(" 1 FAIL"), qPrintable(bad.out));
    }

    // train --record writes the run as it goes; replay prints its header and the epoch
    // lines exactly as train printed them, and converts it to a trace and CSV.
    void recordAndReplay()
    {
        QTemporaryDir dir;
        const QString rec = dir.filePath("run.gpurec");
        Outcome t = cli({"train", "--synthetic", "512", "--devices", "2", "--epochs", "2", "--batch-size", "64",
                         "--snapshot-every", "4", "--record", rec, "--quiet"});
        QCOMPARE(t.code, 0);
        QVERIFY2(t.out.contains("recording written to"), qPrintable(t.out));
        const QString trace = dir.filePath("replay.json"), csv = dir.filePath("replay.csv");
        Outcome r = cli({"replay", rec, "--trace", trace, "--csv", csv});
        QCOMPARE(r.code, 0);
        auto runLines = [](const QString& out) {
            QStringList keep;
            for (const QString& l : out.split('\n'))
                if (l.startsWith("training: ") || l.startsWith("epoch "))
                    keep << l;
            return keep;
        };
        QCOMPARE(runLines(r.out).size(), 3);
        QCOMPARE(runLines(r.out), runLines(t.out));
        QVERIFY(r.out.contains("settings: backend=cpu devices=2 batch_size=64"));
        QVERIFY(r.out.contains("devices: [cpu-sim(0), cpu-sim(1)]"));
        QVERIFY(r.out.contains("run completed"));
        QFile tf(trace);
        QVERIFY(tf.open(QIODevice::ReadOnly));
        QVERIFY(QJsonDocument::fromJson(tf.readAll()).object().value("traceEvents").toArray().size() > 100);
        QFile cf(csv);
        QVERIFY(cf.open(QIODevice::ReadOnly));
        QVERIFY(cf.readLine().startsWith("t_us,t_end_us,kind,device"));
    }

    // What a crash leaves (SIGKILL: no chance to finish the file) replays as incomplete,
    // with every epoch line printed before the kill.
    void killedRunReplaysAsIncomplete()
    {
        QTemporaryDir dir;
        const QString rec = dir.filePath("killed.gpurec");
        QProcess p;
        p.start(GPULAB_CLI, {"train", "--synthetic", "10000", "--devices", "2", "--epochs", "5", "--batch-size",
                             "64", "--record", rec, "--quiet"});
        QVERIFY(p.waitForStarted());
        QByteArray out = readUntil(p, "epoch 1:");
        QVERIFY2(out.contains("epoch 1:"), (out + p.readAllStandardError()).constData());
        p.kill();
        QVERIFY(p.waitForFinished(30000));
        out += p.readAllStandardOutput();
        Outcome r = cli({"replay", rec});
        QCOMPARE(r.code, 1);
        QVERIFY2(r.err.contains("the recording is incomplete"), qPrintable(r.err));
        QCOMPARE(r.err.trimmed().count('\n'), 0);
        for (const QString& l : QString::fromUtf8(out).split('\n'))
            if (l.startsWith("epoch "))
                QVERIFY2(r.out.contains(l), qPrintable(l + " missing from\n" + r.out));
        QVERIFY(!r.out.contains("run completed"));
    }

    void replayRefusesWhatIsNotARecording()
    {
        QTemporaryDir dir;
        const QString json = dir.filePath("trace.json"), empty = dir.filePath("empty.gpurec");
        QFile j(json);
        QVERIFY(j.open(QIODevice::WriteOnly));
        j.write("{\"traceEvents\":[]}");
        j.close();
        QFile e(empty);
        QVERIFY(e.open(QIODevice::WriteOnly));
        e.close();
        const QList<QPair<QString, QString>> cases = {{dir.path(), "is a directory"},
                                                      {empty, "the file is empty"},
                                                      {json, "it is a JSON file"},
                                                      {dir.filePath("none.gpurec"), "cannot open the recording"}};
        for (const auto& [file, needle] : cases) {
            Outcome r = cli({"replay", file});
            QCOMPARE(r.code, 2);
            QVERIFY2(r.err.contains(needle) && r.err.contains(file), qPrintable(r.err));
            QCOMPARE(r.err.trimmed().count('\n'), 0);
        }
        Outcome w = cli({"train", "--synthetic", "256", "--record", dir.path(), "--quiet"});
        QCOMPARE(w.code, 2); // refused before the run
        QVERIFY2(w.err.contains("cannot write the recording"), qPrintable(w.err));
    }

    // --synthetic without a count makes as many images as the lab's synthetic set (20000, and
    // a sixth of that to test on), and a recording's settings say the counts the run had.
    void syntheticWithoutACount()
    {
        QTemporaryDir dir;
        const QString rec = dir.filePath("run.gpurec");
        Outcome o = cli({"train", "--synthetic", "--subset", "256", "--devices", "1", "--batch-size", "128",
                         "--epochs", "1", "--quiet", "--record", rec});
        QVERIFY2(o.code == 0, qPrintable(o.err + o.out));
        Outcome r = cli({"replay", rec});
        QCOMPARE(r.code, 0);
        QVERIFY2(r.out.contains(" subset=256 ") && r.out.contains(" test_subset=3333 "), qPrintable(r.out));
        // a count still works, and an option right after --synthetic is not taken for one
        o = cli({"train", "--synthetic", "300", "--devices", "1", "--batch-size", "100", "--epochs", "1", "--quiet",
                 "--record", rec});
        QVERIFY2(o.code == 0, qPrintable(o.err + o.out));
        r = cli({"replay", rec});
        QVERIFY2(r.out.contains(" subset=300 ") && r.out.contains(" test_subset=50 "), qPrintable(r.out));
    }

    void devicesCommand()
    {
        Outcome o = cli({"devices"});
        QCOMPARE(o.code, 0);
        QVERIFY(o.out.contains("cpu-sim"));
        QVERIFY(o.out.contains("cuda"));
    }

    void version()
    {
        Outcome o = cli({"--version"});
        QCOMPARE(o.code, 0);
        QVERIFY2(QRegularExpression("^gpulab-cli \\d+\\.\\d+\\.\\d+").match(o.out).hasMatch(), qPrintable(o.out));
    }

    // --json: stdout holds one JSON object per epoch and nothing else; messages on stderr;
    // no progress line where stderr is not a terminal.
    void trainJson()
    {
        Outcome o = cli({"train", "--synthetic", "512", "--devices", "2", "--epochs", "2",
                         "--batch-size", "64", "--json"});
        QCOMPARE(o.code, 0);
        const QStringList lines = o.out.split('\n', Qt::SkipEmptyParts);
        QCOMPARE(lines.size(), 2);
        for (int i = 0; i < lines.size(); ++i) {
            QJsonParseError err;
            const QJsonDocument doc = QJsonDocument::fromJson(lines[i].toUtf8(), &err);
            QVERIFY2(err.error == QJsonParseError::NoError && doc.isObject(), qPrintable(lines[i]));
            const QJsonObject e = doc.object();
            QCOMPARE(e.value("epoch").toInt(), i + 1);
            QVERIFY(e.value("loss").toDouble() > 0);
            QVERIFY(e.value("test_acc").toDouble() >= 0 && e.value("test_acc").toDouble() <= 1);
            QVERIFY(e.value("seconds").toDouble() > 0);
            QCOMPARE(e.value("batch_size").toInt(), 64);
            QCOMPARE(e.value("device_names").toArray().size(), 2);
            QCOMPARE(e.value("device_names").toArray().at(1).toString(), QString("cpu-sim(1)"));
        }
        QVERIFY2(o.err.contains("training: 2 x cpu-sim"), qPrintable(o.err));
        QVERIFY2(!o.err.contains("img/s"), qPrintable(o.err));
    }

    // sweep: a table row and a CSV row per combination, with the lr each one used.
    void sweepTableAndCsv()
    {
        QTemporaryDir dir;
        const QString csv = dir.filePath("sweep.csv");
        Outcome o = cli({"sweep", "--synthetic", "2000", "--devices", "1,2", "--batch-size", "64,128",
                         "--minibatches", "3", "--warmup", "1", "--csv", csv});
        QCOMPARE(o.code, 0);
        QVERIFY2(o.out.contains("devices  batch      lr    images/s  ms/minibatch  compute  allreduce  waiting"),
                 qPrintable(o.out));
        QFile f(csv);
        QVERIFY(f.open(QIODevice::ReadOnly));
        const QStringList lines = QString::fromUtf8(f.readAll()).split('\n', Qt::SkipEmptyParts);
        QCOMPARE(lines.size(), 5);
        QCOMPARE(lines[0], QString("devices,batch_size,lr,images_per_s,minibatch_ms,compute_share,allreduce_share,"
                                   "waiting_share,link,link_params"));
        QVERIFY(lines[1].startsWith("1,64,0.05,"));
        QVERIFY(lines[4].startsWith("2,128,0.1,"));
        for (int i = 1; i < 5; ++i) {
            const QStringList c = lines[i].split(',');
            QCOMPARE(c.size(), 10);
            QCOMPARE(c[8], QString("none")); // no link model
            QCOMPARE(c[9], QString("0"));
            // images/s and ms per minibatch describe the same time
            QVERIFY(qAbs(c[3].toDouble() * c[4].toDouble() / 1000 - c[1].toDouble()) < 0.01 * c[1].toDouble());
            QVERIFY(qAbs(c[5].toDouble() + c[6].toDouble() + c[7].toDouble() - 1) < 0.001);
        }
        Outcome none = cli({"sweep", "--synthetic", "2000", "--devices", "1", "--batch-size", "128",
                            "--minibatches", "2", "--lr-scale", "none", "--lr", "0.3"});
        QCOMPARE(none.code, 0);
        QVERIFY2(none.out.contains("      1    128     0.3  "), qPrintable(none.out));
        // a link model, charged as a bigger model: said in the first line and in the CSV
        const QString linked = dir.filePath("linked.csv");
        Outcome link = cli({"sweep", "--synthetic", "2000", "--devices", "2", "--batch-size", "128",
                            "--minibatches", "2", "--link", "custom:100,5", "--link-params", "2M", "--csv", linked});
        QCOMPARE(link.code, 0);
        QVERIFY2(link.out.contains("link custom:100,5 charging 2000000's gradients (modelled)"), qPrintable(link.out));
        QFile lf(linked);
        QVERIFY(lf.open(QIODevice::ReadOnly));
        const QStringList rows = QString::fromUtf8(lf.readAll()).split('\n', Qt::SkipEmptyParts);
        QCOMPARE(rows.size(), 2);
        QVERIFY2(rows[1].endsWith(",\"custom:100,5\",2000000"), qPrintable(rows[1]));
        Outcome bad = cli({"sweep", "--synthetic", "2000", "--link", "token-ring"});
        QCOMPARE(bad.code, 2);
        QVERIFY2(bad.err.contains("--link") && bad.err.contains("custom:LAT_US,GB_PER_S"), qPrintable(bad.err));
    }

    void sweepBadSettings_data()
    {
        QTest::addColumn<QStringList>("args");
        QTest::addColumn<QString>("needle");
        QTest::newRow("list") << QStringList{"--devices", "1,,2"} << "separated by commas";
        QTest::newRow("minibatches") << QStringList{"--minibatches", "1"} << "between 2 and";
        QTest::newRow("scale") << QStringList{"--lr-scale", "sqrt"} << "linear or none";
        QTest::newRow("batch < devices") << QStringList{"--devices", "4", "--batch-size", "2"}
                                         << "smaller than the number of devices";
        QTest::newRow("too few images") << QStringList{"--batch-size", "1024"} << "training images";
        QTest::newRow("unknown") << QStringList{"--epochs", "2"} << "unknown option '--epochs'";
        // the per-run settings and each value of the lists are checked by the settings table
        QTest::newRow("devices range") << QStringList{"--devices", "1,100"}
                                       << "devices must be between 1 and 64 (--devices, got 100)";
        QTest::newRow("batch range") << QStringList{"--batch-size", "64,70000"}
                                     << "batch size must be between 1 and 65536 (--batch-size, got 70000)";
        QTest::newRow("budget") << QStringList{"--memory-budget", "lots"} << "cannot read 'lots' as a size";
        QTest::newRow("threads") << QStringList{"--threads-per-device", "two"}
                                 << "--threads-per-device needs a whole number (got 'two')";
        QTest::newRow("backend") << QStringList{"--backend", "tpu"} << "unknown backend 'tpu' for --backend";
        QTest::newRow("lr") << QStringList{"--lr", "fast"} << "--lr needs a number (got 'fast')";
        QTest::newRow("params without link") << QStringList{"--link-params", "resnet50"}
                                             << "--link-params resnet50 scales what a link charges";
    }
    void sweepBadSettings()
    {
        QFETCH(QStringList, args);
        QFETCH(QString, needle);
        Outcome o = cli(QStringList{"sweep", "--synthetic", "3000"} + args);
        QCOMPARE(o.code, 2);
        QVERIFY2(o.err.contains(needle), qPrintable(o.err));
        QCOMPARE(o.err.trimmed().count('\n'), 0);
    }
};

QTEST_GUILESS_MAIN(TestCli)
#include "tst_cli.moc"
