// Ranks in separate processes: the rendezvous store's refusals, and gpulab-cli train/launch
// on loopback — the same losses as one process with as many devices, and faults (a killed
// rank, an unreachable master, a port in use, a wrong token, Ctrl-C) that end with a clear
// message instead of a hang. Bounds on time are generous: they catch hangs, not slowness.
#include "rank/kv_store.h"
#include "rank/rank_group.h"

#include <QtTest>
#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QProcess>
#include <QTemporaryDir>

#include <csignal>
#include <cmath>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

using namespace gpulab;

namespace {

using namespace std::chrono_literals;

struct Outcome {
    int code = -1;
    QString out;
    qint64 ms = 0;
};

// Runs gpulab-cli with args (stdout and stderr merged).
Outcome cli(const QStringList& args, int timeout_ms = 300000)
{
    QProcess p;
    p.setProcessChannelMode(QProcess::MergedChannels);
    QElapsedTimer t;
    t.start();
    p.start(GPULAB_CLI, args);
    Outcome o;
    if (!p.waitForFinished(timeout_ms)) {
        p.kill();
        p.waitForFinished();
        o.out = "timed out: " + QString::fromUtf8(p.readAll());
        return o;
    }
    o.ms = t.elapsed();
    o.code = p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -2;
    o.out = QString::fromUtf8(p.readAll());
    return o;
}

// Reads a running program's output until it holds needle or the program ends.
QByteArray readUntil(QProcess& p, const char* needle, QByteArray& out)
{
    p.waitForStarted();
    while (!out.contains(needle) && p.state() == QProcess::Running) {
        p.waitForReadyRead(200);
        out += p.readAll();
    }
    out += p.readAll();
    return out;
}

// The minibatch losses of a --csv file, in order.
std::vector<double> losses(const QString& csv)
{
    QFile f(csv);
    std::vector<double> v;
    if (!f.open(QIODevice::ReadOnly))
        return v;
    const QList<QByteArray> head = f.readLine().trimmed().split(',');
    const int kind = head.indexOf("kind"), value = head.indexOf("value");
    while (!f.atEnd()) {
        const QList<QByteArray> row = f.readLine().split(',');
        if (row.size() > value && row[kind] == "minibatch_loss")
            v.push_back(row[value].toDouble());
    }
    return v;
}

int freePort()
{
    KvServer s("127.0.0.1", 0, {});
    return s.port(); // closed again when s goes
}

const QStringList kSameMaths = {"--subset", "14400", "--test-subset", "480", "--batch-size", "240", "--lr", "0.9",
                                "--seed", "3", "--epochs", "1", "--quiet"};

// The children of a process (Linux: /proc/PID/task/*/children).
QList<qint64> childPids(qint64 pid)
{
    QList<qint64> out;
    const QDir tasks(QString("/proc/%1/task").arg(pid));
    for (const QString& t : tasks.entryList(QDir::Dirs | QDir::NoDotAndDotDot)) {
        QFile f(tasks.filePath(t) + "/children");
        if (f.open(QIODevice::ReadOnly))
            for (const QByteArray& c : f.readAll().simplified().split(' '))
                if (!c.isEmpty())
                    out.push_back(c.toLongLong());
    }
    return out;
}

QByteArray cmdline(qint64 pid)
{
    QFile f(QString("/proc/%1/cmdline").arg(pid));
    return f.open(QIODevice::ReadOnly) ? f.readAll().replace('\0', ' ') : QByteArray();
}

} // namespace

class TestRanks : public QObject {
    Q_OBJECT
private slots:
    // ---- the rendezvous store (no Gloo needed) ----
    void storeRefusesWithReasons()
    {
        const RankJob job{"secret", 2, "lr=0.9\nbatch_size=240\n"};
        KvServer server("127.0.0.1", 0, job);
        std::vector<Error> refused;
        std::mutex m;
        server.on_refusal = [&](const Error& e) {
            std::lock_guard lock(m);
            refused.push_back(e);
        };
        auto join = [&](const std::string& token, int rank, int world, const std::string& settings) {
            KvClient c("127.0.0.1", server.port(), 5000ms);
            return c.hello(token, rank, world, settings);
        };
        Error e = join("guess", 1, 2, job.settings);
        QCOMPARE(e.code, ErrorCode::RankBadToken);
        e = join("secret", 2, 2, job.settings);
        QCOMPARE(e.code, ErrorCode::RankOutOfRange);
        QCOMPARE(e.fact("last"), std::string("1"));
        e = join("secret", 1, 3, job.settings);
        QCOMPARE(e.code, ErrorCode::RankWorldDiffers);
        e = join("secret", 1, 2, "lr=0.5\nbatch_size=240\n");
        QCOMPARE(e.code, ErrorCode::RankSettingDiffers);
        QCOMPARE(e.fact("setting"), std::string("lr"));
        QCOMPARE(e.fact("value"), std::string("0.5"));
        QCOMPARE(e.fact("value0"), std::string("0.9"));
        QVERIFY(english(e).find("lr is 0.5 but rank 0's is 0.9") != std::string::npos);

        KvClient one("127.0.0.1", server.port(), 5000ms);
        QCOMPARE(one.hello("secret", 1, 2, job.settings).code, ErrorCode::None);
        e = join("secret", 1, 2, job.settings);
        QCOMPARE(e.code, ErrorCode::RankTaken);
        {
            std::lock_guard lock(m);
            QCOMPARE(refused.size(), size_t(5));
        }

        // the store's operations
        QVERIFY(!one.get("k", 100ms));
        QVERIFY(!one.wait({"k"}, 100ms));
        one.set("k", {'v', '1'});
        auto v = one.get("k", 100ms);
        QVERIFY(v);
        QCOMPARE(std::string(v->begin(), v->end()), std::string("v1"));
        QVERIFY(one.wait({"k"}, 100ms));
    }

    void storeNamesTheRankThatDropped()
    {
        const RankJob job{"t", 3, ""};
        KvServer server("127.0.0.1", 0, job);
        KvClient zero("127.0.0.1", server.port(), 5000ms);
        QCOMPARE(zero.hello("t", 0, 3, "").code, ErrorCode::None);
        {
            KvClient two("127.0.0.1", server.port(), 5000ms);
            QCOMPARE(two.hello("t", 2, 3, "").code, ErrorCode::None);
        } // rank 2's connection drops without a goodbye
        auto f = zero.first_failure(10000ms);
        QVERIFY(f);
        QCOMPARE(f->first, 2);
        // a rank that says goodbye is not a failure; one that reports one is kept only if first
        KvClient one("127.0.0.1", server.port(), 5000ms);
        QCOMPARE(one.hello("t", 1, 3, "").code, ErrorCode::None);
        one.fail(1, "diverged");
        f = zero.first_failure(1000ms);
        QVERIFY(f);
        QCOMPARE(f->first, 2);
    }

    void storePortInUseAndUnreachable()
    {
        KvServer first("127.0.0.1", 0, {});
        try {
            KvServer second("127.0.0.1", first.port(), {});
            QFAIL("a second server on the same port");
        } catch (const GpulabError& e) {
            QCOMPARE(e.error.code, ErrorCode::RankPortInUse);
        }
        const int nobody = freePort();
        QElapsedTimer t;
        t.start();
        try {
            KvClient c("127.0.0.1", nobody, 1500ms);
            QFAIL("connected to a port nobody serves");
        } catch (const GpulabError& e) {
            QCOMPARE(e.error.code, ErrorCode::RankMasterUnreachable);
        }
        QVERIFY2(t.elapsed() < 60000, "gave up long after its timeout");
    }

    void foreignServerIsNotRankZero()
    {
        // something listens on the master's port, accepts and hangs up: not a hang, not "lost"
        const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        QCOMPARE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
        QCOMPARE(::listen(fd, 4), 0);
        socklen_t len = sizeof a;
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
        std::thread hangup([fd] {
            const int c = ::accept(fd, nullptr, nullptr);
            if (c >= 0)
                ::close(c);
        });
        try {
            KvClient c("127.0.0.1", ntohs(a.sin_port), 5000ms);
            const Error e = c.hello("t", 1, 2, "");
            QFAIL(qPrintable(QString("admitted by a server that hung up: %1").arg(static_cast<int>(e.code))));
        } catch (const GpulabError& e) {
            QCOMPARE(e.error.code, ErrorCode::RankMasterUnreachable);
        }
        hangup.join();
        ::close(fd);
    }

    void hostPort()
    {
        std::string h;
        int p = 0;
        QVERIFY(split_host_port("127.0.0.1:29500", &h, &p));
        QCOMPARE(h, std::string("127.0.0.1"));
        QCOMPARE(p, 29500);
        QVERIFY(split_host_port("[::1]:80", &h, &p));
        QCOMPARE(h, std::string("::1"));
        QVERIFY(!split_host_port("127.0.0.1", &h, &p));
        QVERIFY(!split_host_port("host:0", &h, &p));
        QVERIFY(!split_host_port("host:70000", &h, &p));
        QVERIFY(!split_host_port("host:8o", &h, &p));
    }

    // ---- gpulab-cli over Gloo ----
    void init()
    {
        const QString name = QTest::currentTestFunction();
        if (name.startsWith("store") || name == "hostPort" || name == "foreignServerIsNotRankZero")
            return;
        if (!ranks_available())
            QSKIP("this build has no Gloo (libgloo-dev): no ranks in separate processes");
    }

    void twoRanksMatchTwoDevices() { sameMaths(2, 1); }
    void threeRanksOfTwoMatchSixDevices() { sameMaths(3, 2); }

    void killedRankStopsTheOthers()
    {
        QProcess p;
        p.setProcessChannelMode(QProcess::MergedChannels);
        p.start(GPULAB_CLI, {"launch", "--nproc", "3", "--", "--devices", "1", "--synthetic", "6000",
                             "--batch-size", "60", "--epochs", "100", "--quiet", "--verbose"});
        QByteArray out;
        // every rank past the rendezvous and training (the three print in any order)
        for (const char* r : {"[rank 0] training:", "[rank 1] training:", "[rank 2] training:"}) {
            readUntil(p, r, out);
            QVERIFY2(out.contains(r), out.constData());
        }
        qint64 victim = 0;
        for (qint64 c : childPids(p.processId()))
            if (cmdline(c).contains("--rank 2 "))
                victim = c;
        QVERIFY2(victim > 0, "rank 2's process not found");
        QElapsedTimer t;
        t.start();
        ::kill(static_cast<pid_t>(victim), SIGKILL);
        QVERIFY(p.waitForFinished(120000));
        out += p.readAll();
        QVERIFY2(t.elapsed() < 60000, "the ranks took more than a minute to stop after one was killed");
        QCOMPARE(p.exitCode(), 128 + SIGKILL);
        QVERIFY2(out.contains("rank 2 failed first (killed by signal 9)"), out.constData());
        // the others stopped on their own, naming rank 2, with exit 1
        for (const char* r : {"[rank 0]", "[rank 1]"}) {
            const QByteArray line = QByteArray(r) + " gpulab-cli train (rank " + QByteArray(r).mid(6, 1) +
                                    "): rank 2 stopped";
            QVERIFY2(out.contains(line), out.constData());
        }
    }

    void unreachableMaster()
    {
        const Outcome o = cli({"train", "--world", "2", "--rank", "1", "--master",
                               QString("127.0.0.1:%1").arg(freePort()), "--timeout", "3", "--synthetic", "600",
                               "--devices", "1"});
        QCOMPARE(o.code, 1);
        QVERIFY2(o.out.contains("cannot reach rank 0 at 127.0.0.1:") && o.out.contains("within 3 s"), qPrintable(o.out));
        QVERIFY2(o.ms < 60000, "gave up long after --timeout");
    }

    void portInUse()
    {
        KvServer squatter("127.0.0.1", 0, {});
        const QString master = QString("127.0.0.1:%1").arg(squatter.port());
        const Outcome o = cli({"train", "--world", "2", "--rank", "0", "--master", master, "--timeout", "3",
                               "--synthetic", "600", "--devices", "1"});
        QCOMPARE(o.code, 1);
        QVERIFY2(o.out.contains("cannot serve the rendezvous on " + master + ": the port is already in use"),
                 qPrintable(o.out));
    }

    void wrongTokenAndOtherSettingsAreRefused()
    {
        const QString master = QString("127.0.0.1:%1").arg(freePort());
        const QStringList common = {"train", "--world", "2", "--master", master, "--timeout", "20",
                                    "--synthetic", "600", "--devices", "1", "--epochs", "1", "--quiet"};
        QProcess zero;
        zero.setProcessChannelMode(QProcess::MergedChannels);
        zero.start(GPULAB_CLI, common + QStringList{"--rank", "0", "--token", "good"});
        QByteArray out0;
        readUntil(zero, "waiting for 2 rank(s)", out0);
        Outcome o = cli(common + QStringList{"--rank", "1", "--token", "bad"});
        QCOMPARE(o.code, 1);
        QVERIFY2(o.out.contains("rank 1 was refused: its token is not the job's"), qPrintable(o.out));
        o = cli(common + QStringList{"--rank", "1", "--token", "good", "--lr", "0.5"});
        QCOMPARE(o.code, 1);
        QVERIFY2(o.out.contains("rank 1 was refused: its lr is 0.5 but rank 0's is 0.2"), qPrintable(o.out));
        o = cli(common + QStringList{"--rank", "0", "--token", "good"});
        QCOMPARE(o.code, 1); // the port is rank 0's already
        // the right rank 1 still gets in, and the job runs
        o = cli(common + QStringList{"--rank", "1", "--token", "good"});
        QVERIFY2(o.code == 0, qPrintable(o.out));
        QVERIFY(zero.waitForFinished(120000));
        out0 += zero.readAll();
        QCOMPARE(zero.exitCode(), 0);
        QVERIFY2(out0.contains("refused a rank: rank 1 was refused: its token"), out0.constData());
        QVERIFY2(out0.contains("epoch 1: loss"), out0.constData());
    }

    void ctrlCStopsEveryRank()
    {
        QTemporaryDir dir;
        const QString trace = dir.filePath("job.json");
        QProcess p;
        p.setProcessChannelMode(QProcess::MergedChannels);
        p.start(GPULAB_CLI, {"launch", "--nproc", "2", "--", "--devices", "1", "--synthetic", "6000",
                             "--batch-size", "60", "--epochs", "100", "--quiet", "--verbose", "--trace", trace});
        QByteArray out;
        readUntil(p, "[rank 1] training:", out);
        readUntil(p, "[rank 0] training:", out);
        ::kill(static_cast<pid_t>(p.processId()), SIGINT);
        QVERIFY(p.waitForFinished(120000));
        out += p.readAll();
        QCOMPARE(p.exitCode(), 130);
        QVERIFY2(out.contains("interrupted; every rank was stopped"), out.constData());
        QVERIFY2(out.contains("[rank 0] trace written to"), out.constData());
        QVERIFY(QFile::exists(trace));
    }

    void ranksFromTheEnvironment()
    {
        // rank 0 from GPULAB_*, rank 1 from torchrun's variables (the token from GPULAB_TOKEN)
        const QString port = QString::number(freePort());
        const QStringList args = {"train", "--synthetic", "600", "--devices", "1", "--epochs", "1", "--quiet"};
        QProcessEnvironment e0 = QProcessEnvironment::systemEnvironment();
        e0.insert("GPULAB_WORLD", "2");
        e0.insert("GPULAB_RANK", "0");
        e0.insert("GPULAB_MASTER", "127.0.0.1:" + port);
        e0.insert("GPULAB_TOKEN", "shared");
        QProcessEnvironment e1 = QProcessEnvironment::systemEnvironment();
        e1.insert("WORLD_SIZE", "2");
        e1.insert("RANK", "1");
        e1.insert("MASTER_ADDR", "127.0.0.1");
        e1.insert("MASTER_PORT", port);
        e1.insert("GPULAB_TOKEN", "shared");
        QProcess zero, one;
        for (auto [p, env] : {std::pair{&zero, e0}, std::pair{&one, e1}}) {
            p->setProcessChannelMode(QProcess::MergedChannels);
            p->setProcessEnvironment(env);
            p->start(GPULAB_CLI, args);
        }
        QVERIFY(zero.waitForFinished(300000));
        QVERIFY(one.waitForFinished(300000));
        const QByteArray out0 = zero.readAll(), out1 = one.readAll();
        QVERIFY2(zero.exitCode() == 0, out0.constData());
        QVERIFY2(one.exitCode() == 0, out1.constData());
        QVERIFY2(out0.contains("rank 0 of 2") && out0.contains("epoch 1: loss"), out0.constData());
        QVERIFY2(!out1.contains("epoch 1: loss"), out1.constData());
    }

    void fileRendezvous()
    {
        QTemporaryDir dir;
        const QStringList common = {"train", "--world", "2", "--rendezvous", "file:" + dir.path(), "--token", "t",
                                    "--timeout", "60", "--synthetic", "600", "--devices", "1", "--epochs", "1",
                                    "--quiet", "--verbose"};
        QProcess zero, one;
        for (auto [p, r] : {std::pair{&zero, "0"}, std::pair{&one, "1"}}) {
            p->setProcessChannelMode(QProcess::MergedChannels);
            p->start(GPULAB_CLI, common + QStringList{"--rank", r});
        }
        QVERIFY(zero.waitForFinished(300000));
        QVERIFY(one.waitForFinished(300000));
        const QByteArray out0 = zero.readAll(), out1 = one.readAll();
        QVERIFY2(zero.exitCode() == 0, out0.constData());
        QVERIFY2(one.exitCode() == 0, out1.constData());
        // both print the job's epoch line (--verbose): the same loss and accuracy
        QByteArray line0 = out0.mid(out0.indexOf("epoch 1: loss"));
        line0 = line0.left(line0.indexOf(", ", line0.indexOf("test acc"))); // "epoch 1: loss L, test acc A"
        QVERIFY2(line0.startsWith("epoch 1: loss") && line0.contains("test acc"), out0.constData());
        QVERIFY2(out1.contains(line0), out1.constData());
        // a second rank 1 in the same folder is refused
        const Outcome o = cli(common + QStringList{"--rank", "1", "--timeout", "3"});
        QCOMPARE(o.code, 1);
        QVERIFY2(o.out.contains("another process already joined as rank 1"), qPrintable(o.out));
    }

private:
    // launch --nproc ranks -- --devices per_rank gives the per-minibatch losses of one process
    // with ranks x per_rank devices, within 5e-5 relative, over 60 minibatches.
    void sameMaths(int ranks, int per_rank)
    {
        QTemporaryDir dir;
        const QString job = dir.filePath("job.csv"), one = dir.filePath("one.csv");
        Outcome o = cli(QStringList{"launch", "--nproc", QString::number(ranks), "--", "--devices",
                                    QString::number(per_rank), "--csv", job} +
                        kSameMaths);
        QVERIFY2(o.code == 0, qPrintable(o.out));
        QVERIFY2(o.out.contains(QString("[rank 0] training: %1 x cpu-sim").arg(per_rank)), qPrintable(o.out));
        QVERIFY2(!o.out.contains("[rank 1] epoch"), "rank 1 printed its epoch lines without --verbose");
        o = cli(QStringList{"train", "--devices", QString::number(ranks * per_rank), "--csv", one} + kSameMaths);
        QVERIFY2(o.code == 0, qPrintable(o.out));
        const std::vector<double> a = losses(one), b = losses(job);
        QCOMPARE(a.size(), size_t(60));
        QCOMPARE(b.size(), a.size());
        double worst = 0;
        for (size_t i = 0; i < a.size(); ++i)
            worst = std::max(worst, std::abs(a[i] - b[i]) / std::abs(a[i]));
        qInfo("worst relative difference over %zu minibatches: %.3g", a.size(), worst);
        QVERIFY2(worst <= 5e-5, qPrintable(QString("worst relative difference %1").arg(worst)));
    }
};

QTEST_GUILESS_MAIN(TestRanks)
#include "tst_ranks.moc"
