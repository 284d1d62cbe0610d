// Ranks in separate processes: the rendezvous store's refusals, GPU ranks' CPU side (where they
// run, their refusals, NCCL's id through the store), and gpulab-cli train/launch
// on loopback — the same losses as one process with as many devices, and faults (a killed
// rank, an unreachable master, a port in use, a wrong token, Ctrl-C) that end with a clear
// message instead of a hang. Bounds on time are generous: they catch hangs, not slowness.
#include "data/synthetic.h"
#include "device/device_factory.h"
#include "rank/kv_store.h"
#include "rank/nccl_rank_plan.h"
#include "rank/rank_events.h"
#include "rank/rank_group.h"
#include "record/recording.h"
#include "train/train_config.h"

#include <QtTest>
#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QProcess>
#include <QTemporaryDir>

#include <csignal>
#include <cmath>
#include <atomic>
#include <condition_variable>
#include <future>
#include <map>
#include <mutex>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

#ifdef GPULAB_TEST_GLOO_ADDRESS
#include <gloo/transport/tcp/address.h>
#endif

using namespace gpulab;

namespace {

using namespace std::chrono_literals;

struct Outcome {
    int code = -1;
    QString out;
    qint64 ms = 0;
};

// A stop that must not wait for the ranks' --timeout is checked against half of it, never
// against a fixed time a slow machine could outrun: these jobs pass --timeout kJobTimeoutS,
// and a stop that waited for it fails the check (or the wait for the processes) however fast
// the machine is.
constexpr int kJobTimeoutS = 300;
constexpr qint64 kStopBoundMs = kJobTimeoutS * 1000 / 2;
const QString kJobTimeout = QString::number(kJobTimeoutS);

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

// A group of ranks without collectives: its rendezvous keys in a shared map. Enough for the
// ranks' event streams, which need only the keys, the token and the address.
struct KeysOnlyGroup : RankGroup {
    struct Keys {
        std::mutex mutex;
        std::condition_variable cv;
        std::map<std::string, std::string> kv;
    };
    KeysOnlyGroup(int r, int w, std::string t, std::shared_ptr<Keys> k) : m_r(r), m_w(w), m_t(std::move(t)), m_k(std::move(k)) {}
    int rank() const override { return m_r; }
    int world() const override { return m_w; }
    void allreduce_sum(float*, size_t) override {}
    void broadcast_from_rank0(float*, size_t) override {}
    void report_failure(const std::string&) override {}
    void finish() override {}
    double allreduce_seconds() const override { return 0; }
    void store_set(const std::string& key, const std::string& value) override
    {
        std::lock_guard lock(m_k->mutex);
        m_k->kv[key] = value;
        m_k->cv.notify_all();
    }
    std::string store_get(const std::string& key) override
    {
        std::unique_lock lock(m_k->mutex);
        if (!m_k->cv.wait_for(lock, 20s, [&] { return m_k->kv.count(key) > 0; }))
            throw GpulabError(Error(ErrorCode::RankJoinTimeout, {{"seconds", "20"}}));
        return m_k->kv[key];
    }
    std::string token() const override { return m_t; }
    std::chrono::milliseconds timeout() const override { return 20s; }
    int m_r, m_w;
    std::string m_t;
    std::shared_ptr<Keys> m_k;
};

// Connects to "HOST:PORT" and says hello as `rank` with `token`; the byte rank 0 answers
// (1 admitted, 0 refused; -1 nothing).
int helloAs(const std::string& addr, uint32_t rank, const std::string& token)
{
    const auto colon = addr.rfind(':');
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(std::stoi(addr.substr(colon + 1))));
    ::inet_pton(AF_INET, addr.substr(0, colon).c_str(), &a.sin_addr);
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
        ::close(fd);
        return -1;
    }
    const uint32_t len = static_cast<uint32_t>(token.size());
    ::send(fd, "GPULABEV", 8, MSG_NOSIGNAL);
    ::send(fd, &rank, 4, MSG_NOSIGNAL);
    ::send(fd, &len, 4, MSG_NOSIGNAL);
    ::send(fd, token.data(), len, MSG_NOSIGNAL);
    uint8_t verdict = 0;
    const ssize_t got = ::recv(fd, &verdict, 1, 0);
    ::close(fd);
    return got == 1 ? verdict : -1;
}

// Whether this machine lets a process listen on `host` (Linux: every 127.x.y.z is loopback).
bool canListenOn(const std::string& host)
{
    try {
        KvServer s(host, 0, {});
        return true;
    } catch (const GpulabError&) {
        return false;
    }
}

// The IPv4 addresses something listens on at `port` (/proc/net/tcp: "0100007F:1F90" is
// 127.0.0.1:8080; state 0A is LISTEN).
QStringList listenersOn(int port)
{
    QStringList out;
    QFile f("/proc/net/tcp");
    if (!f.open(QIODevice::ReadOnly))
        return out;
    f.readLine();
    while (!f.atEnd()) {
        const QList<QByteArray> cols = f.readLine().simplified().split(' ');
        if (cols.size() < 4 || cols[3] != "0A")
            continue;
        const QList<QByteArray> hostPort = cols[1].split(':');
        if (hostPort.size() != 2 || hostPort[1].toInt(nullptr, 16) != port)
            continue;
        const uint32_t a = hostPort[0].toUInt(nullptr, 16); // in network order, read as little-endian
        out << QString("%1.%2.%3.%4").arg(a & 0xff).arg((a >> 8) & 0xff).arg((a >> 16) & 0xff).arg(a >> 24);
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

    // NCCL's unique id is 128 opaque bytes (zeros, newlines, 0xff...): one rank puts it in the
    // store, another, waiting for it on its own connection, gets every byte back.
    void storeCarriesTheNcclIdIntact()
    {
        const RankJob job{"t", 2, "backend=cuda\n"};
        KvServer server("127.0.0.1", 0, job);
        std::vector<char> id(kNcclIdBytes);
        for (size_t i = 0; i < id.size(); ++i)
            id[i] = static_cast<char>((i * 151 + 7) % 256); // every byte value 0..255 is a multiple away
        id[0] = 0;
        id[1] = '\n';
        id[127] = static_cast<char>(0xff);
        std::optional<std::vector<char>> got;
        std::thread reader([&] {
            KvClient c("127.0.0.1", server.port(), 5000ms);
            if (!c.hello("t", 1, 2, job.settings))
                got = c.get("gloo/gpulab-nccl-unique-id", 10000ms);
        });
        KvClient writer("127.0.0.1", server.port(), 5000ms);
        QCOMPARE(writer.hello("t", 0, 2, job.settings).code, ErrorCode::None);
        std::this_thread::sleep_for(100ms); // the reader is waiting by now (or soon: get waits)
        writer.set("gloo/gpulab-nccl-unique-id", id);
        reader.join();
        QVERIFY(got);
        QCOMPARE(got->size(), kNcclIdBytes);
        QVERIFY(*got == id);
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

    // ---- GPU ranks, before any GPU (no Gloo, no GPU needed) ----
    void gpuRankPlacesAndRefuses()
    {
        GpuRankPlan plan;
        // torchrun's LOCAL_RANK; one device per rank: the rank's own GPU
        QCOMPARE(plan_gpu_rank({.rank = 3, .devices = 1, .gpus = 2, .local_text = "1", .local_from = "LOCAL_RANK"}, &plan)
                     .code,
                 ErrorCode::None);
        QCOMPARE(plan.first_gpu, 1);
        QCOMPARE(plan.local_from, std::string("LOCAL_RANK"));
        // no local index given: the rank modulo the GPUs
        QCOMPARE(plan_gpu_rank({.rank = 5, .devices = 1, .gpus = 4}, &plan).code, ErrorCode::None);
        QCOMPARE(plan.local, 1);
        QCOMPARE(plan.first_gpu, 1);
        QCOMPARE(plan.local_from, std::string("rank mod GPUs"));
        // two devices per rank: GPUs 2 and 3 for the second rank of a machine
        QCOMPARE(plan_gpu_rank({.rank = 1, .devices = 2, .gpus = 4, .local_text = "1", .local_from = "GPULAB_LOCAL_RANK"},
                               &plan)
                     .code,
                 ErrorCode::None);
        QCOMPARE(plan.first_gpu, 2);

        // the refusals, word for word
        Error e = plan_gpu_rank({.rank = 0, .gpus = 2, .nccl_built = false}, &plan);
        QCOMPARE(english(e), std::string("GPU ranks need NCCL, and this gpulab was built without it; install NCCL and "
                                         "build again, or use --backend cpu"));
        e = plan_gpu_rank({.rank = 1, .devices = 1, .gpus = 1, .local_text = "1", .local_from = "GPULAB_LOCAL_RANK"}, &plan);
        QCOMPARE(english(e), std::string("rank 1 is rank 1 on this machine (GPULAB_LOCAL_RANK) and would use GPU 1, but "
                                         "this machine has 1 GPU(s); a GPU rank needs GPUs of its own: start fewer ranks "
                                         "here, or give each fewer --devices"));
        e = plan_gpu_rank({.rank = 1, .devices = 2, .gpus = 3, .local_text = "1", .local_from = "LOCAL_RANK"}, &plan);
        QCOMPARE(e.code, ErrorCode::RankTooFewGpus);
        QCOMPARE(e.fact("needs"), std::string("GPUs 2 to 3"));
        e = plan_gpu_rank({.rank = 0, .devices = 1, .gpus = 0}, &plan); // no GPU at all
        QCOMPARE(e.code, ErrorCode::RankTooFewGpus);
        QCOMPARE(e.fact("gpus"), std::string("0"));
        e = plan_gpu_rank({.rank = 0, .gpus = 2, .local_text = "one", .local_from = "OMPI_COMM_WORLD_LOCAL_RANK"}, &plan);
        QCOMPARE(english(e), std::string("OMPI_COMM_WORLD_LOCAL_RANK is 'one', not a rank's index on this machine (0 or "
                                         "more); unset it or give each rank its own"));
        e = plan_gpu_rank({.rank = 0, .gpus = 2, .local_text = "-1", .local_from = "LOCAL_RANK"}, &plan);
        QCOMPARE(e.code, ErrorCode::RankLocalIndexBad);
        // NCCL_MULTI_RANK_GPU_ENABLE=1 (NCCL 2.30 and later): ranks may share a GPU
        QCOMPARE(plan_gpu_rank({.rank = 1, .devices = 1, .gpus = 1, .local_text = "1", .local_from = "GPULAB_LOCAL_RANK",
                                .share_gpus = true},
                               &plan)
                     .code,
                 ErrorCode::None);
        QCOMPARE(plan.first_gpu, 0);
        QCOMPARE(plan_gpu_rank({.rank = 0, .devices = 1, .gpus = 0, .share_gpus = true}, &plan).code,
                 ErrorCode::RankTooFewGpus);
    }

    // A CPU rank and a GPU rank in one job: the rendezvous refuses the one that differs.
    void gpuRankMixedWithCpuRankIsRefused()
    {
        const FashionMnist data = make_synthetic_dataset(600, 100, 1);
        TrainConfig gpu, cpu;
        gpu.backend = Backend::Cuda;
        cpu.backend = Backend::Cpu;
        const RankJob job{"t", 2, rank_settings_text(gpu, data)};
        const Error e = admit_rank(job, "t", 1, 2, rank_settings_text(cpu, data));
        QCOMPARE(english(e), std::string("rank 1 was refused: its backend is cpu but rank 0's is cuda; every rank must "
                                         "train with the same settings"));
        QCOMPARE(admit_rank(job, "t", 1, 2, rank_settings_text(gpu, data)).code, ErrorCode::None);
    }

    // Where CUDA cannot run, a GPU rank stops at once with why (before any rendezvous: it
    // would wait for rank 0 until --timeout).
    void gpuRankWithoutAGpuIsRefused()
    {
        std::string why;
        if (cuda_usable(&why))
            QSKIP("CUDA is usable here: the GPU checks run GPU ranks");
        const Outcome o = cli({"train", "--backend", "cuda", "--world", "2", "--rank", "1", "--master",
                               QString("127.0.0.1:%1").arg(freePort()), "--timeout", kJobTimeout, "--synthetic", "600"});
        QCOMPARE(o.code, 2);
        QCOMPARE(o.out.trimmed(), QString::fromStdString("gpulab-cli train: --backend cuda: " + why + "; use --backend cpu"));
        QVERIFY2(o.ms < kStopBoundMs, qPrintable(QString("took %1 ms").arg(o.ms)));
    }

    // ---- gpulab-cli over Gloo ----
    void init()
    {
        const QString name = QTest::currentTestFunction();
        if (name.startsWith("store") || name == "hostPort" || name == "foreignServerIsNotRankZero" ||
            name == "eventStreamsMergeOnRankZero" || name == "streamedRecordingReadsAsTheFile" ||
            name == "eventStreamsStopWhenAsked" ||
            name.startsWith("gpuRank"))
            return;
        if (!ranks_available())
            QSKIP("this build has no Gloo (libgloo-dev): no ranks in separate processes");
    }

    void twoRanksMatchTwoDevices() { sameMaths(2, 1); }

    // Rank 0 prints its last epoch line before its summary of the time in the ranks'
    // allreduce, every time. (The last epoch reached the job's stream only as the event relay
    // finished unless its pump had moved it first: 2 of 8 such jobs printed it after the
    // summary. A race, so several jobs.)
    void lastEpochLineBeforeTheSummary()
    {
        for (int i = 0; i < 6; ++i) {
            const Outcome o = cli({"launch", "--nproc", "2", "--", "--devices", "1", "--synthetic", "1200", "--subset",
                                   "480", "--test-subset", "96", "--batch-size", "48", "--lr", "0.2", "--epochs", "1"});
            QVERIFY2(o.code == 0, qPrintable(o.out));
            const qsizetype epoch = o.out.indexOf("[rank 0] epoch 1:");
            const qsizetype summary = o.out.indexOf("training in the ranks' allreduce");
            QVERIFY2(epoch >= 0 && summary >= 0, qPrintable(o.out));
            QVERIFY2(epoch < summary, qPrintable(o.out));
        }
    }

    // Rank 0 listens exactly where it is asked, and the addresses the ranks publish are ones
    // another machine could reach: with --master on a loopback alias other than 127.0.0.1,
    // the rendezvous, the event listener and rank 0's collectives are on that alias; with
    // --master 0.0.0.0 the rendezvous and the event listener are on every interface (rank 1
    // reaches both by yet another alias, connecting to the events at the host it knows from
    // --master) while the collectives take one real address (the advertised one, else the
    // machine's); with a file rendezvous, the advertised address.
    void rankZeroListensWhereAsked_data()
    {
        QTest::addColumn<QString>("master0");   // rank 0's --master host ("" for a file rendezvous)
        QTest::addColumn<QString>("master1");   // rank 1's
        QTest::addColumn<QString>("advertise"); // both ranks' --advertise
        QTest::addColumn<QString>("events");    // where rank 0's event listener must be
        QTest::addColumn<QString>("gloo");      // rank 0's collectives' address ("machine": machine_address())
        QTest::newRow("alias") << "127.0.0.2" << "127.0.0.2" << "" << "127.0.0.2" << "127.0.0.2";
        QTest::newRow("wildcard") << "0.0.0.0" << "127.0.0.3" << "" << "0.0.0.0" << "machine";
        QTest::newRow("wildcard, advertised") << "0.0.0.0" << "127.0.0.3" << "127.0.0.4" << "0.0.0.0" << "127.0.0.4";
        QTest::newRow("file, advertised") << "" << "" << "127.0.0.2" << "127.0.0.2" << "127.0.0.2";
    }
    void rankZeroListensWhereAsked()
    {
        QFETCH(QString, master0);
        QFETCH(QString, master1);
        QFETCH(QString, advertise);
        QFETCH(QString, events);
        QFETCH(QString, gloo);
        for (const char* alias : {"127.0.0.2", "127.0.0.3", "127.0.0.4"})
            if (!canListenOn(alias))
                QSKIP("this kernel does not let a process listen on loopback aliases such as 127.0.0.2");
        const int port = freePort();
        QTemporaryDir dir;
        auto options = [&](int r) {
            RankOptions o;
            o.world = 2;
            o.rank = r;
            o.token = "t";
            o.timeout = 30000ms;
            o.advertise = advertise.toStdString();
            if (master0.isEmpty())
                o.rendezvous = "file:" + dir.path().toStdString();
            else
                o.master = (r == 0 ? master0 : master1).toStdString() + ":" + std::to_string(port);
            return o;
        };
        std::unique_ptr<RankGroup> g[2];
        std::string failed[2];
        std::thread one([&] {
            try {
                g[1] = join_ranks(options(1), "");
            } catch (const GpulabError& e) {
                failed[1] = english(e.error);
            }
        });
        try {
            g[0] = join_ranks(options(0), "");
        } catch (const GpulabError& e) {
            failed[0] = english(e.error);
        }
        one.join();
        QVERIFY2(failed[0].empty() && failed[1].empty(), (failed[0] + " / " + failed[1]).c_str());
        if (!master0.isEmpty()) // the rendezvous: only where asked
            QCOMPARE(listenersOn(port), QStringList{master0});
        QCOMPARE(QString::fromStdString(g[0]->events_host()), events);
        // looks at the rendezvous that must not wait (the CLI polls them while it trains): no
        // failure yet, a key not set, a key set by the other rank
        QElapsedTimer looked;
        looked.start();
        QVERIFY(!g[0]->failure() && !g[1]->failure());
        QVERIFY(!g[0]->store_try_get("gpulab-test-none"));
        g[1]->store_set("gpulab-test-key", "value");
        QCOMPARE(g[0]->store_try_get("gpulab-test-key").value_or("(none)"), std::string("value"));
        QVERIFY2(looked.elapsed() < 10000, "a look at the rendezvous waited");
        QCOMPARE(QString::fromStdString(g[0]->host()), gloo == "machine" ? QString::fromStdString(machine_address()) : gloo);
        // the event streams connect: rank 0 publishes its listener's address, rank 1 reaches it
        EventStream local[2], job[2];
        std::unique_ptr<RankEvents> relay[2];
        std::thread zero([&] {
            try {
                relay[0] = std::make_unique<RankEvents>(*g[0], local[0], job[0], 1, RecordingHeader{});
            } catch (const GpulabError& e) {
                failed[0] = english(e.error);
            }
        });
        const std::string published = g[1]->store_get("gpulab-events");
        QVERIFY2(published.rfind(events.toStdString() + ":", 0) == 0, published.c_str());
        try {
            relay[1] = std::make_unique<RankEvents>(*g[1], local[1], job[1], 1, RecordingHeader{});
        } catch (const GpulabError& e) {
            failed[1] = english(e.error);
        }
        zero.join();
        QVERIFY2(failed[0].empty() && failed[1].empty(), (failed[0] + " / " + failed[1]).c_str());
        local[1].record(Event{.data = ev::Log{.text = "from rank 1"}});
        relay[1]->finish(10s);
        QVERIFY(relay[0]->finish(10s).empty());
        bool heard = false;
        for (const Event& e : job[0].all())
            if (const auto* l = e.get<ev::Log>())
                heard = heard || l->text == "rank 1: from rank 1";
        QVERIFY(heard);
        std::thread bye([&] { g[1]->finish(); });
        g[0]->finish();
        bye.join();
    }

    void threeRanksOfTwoMatchSixDevices() { sameMaths(3, 2); }

    void killedRankStopsTheOthers()
    {
        QProcess p;
        p.setProcessChannelMode(QProcess::MergedChannels);
        p.start(GPULAB_CLI, {"launch", "--nproc", "3", "--", "--devices", "1", "--synthetic", "6000",
                             "--batch-size", "60", "--epochs", "100", "--timeout", kJobTimeout, "--quiet", "--verbose"});
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
        QVERIFY(p.waitForFinished(2 * kStopBoundMs));
        out += p.readAll();
        qInfo("the ranks stopped %lld ms after rank 2 was killed", static_cast<long long>(t.elapsed()));
        QVERIFY2(t.elapsed() < kStopBoundMs, "the ranks waited for the timeout to stop after one was killed");
        QCOMPARE(p.exitCode(), 128 + SIGKILL);
        QVERIFY2(out.contains("rank 2 failed first (killed by signal 9)"), out.constData());
        // the others stopped on their own, naming rank 2, with exit 1
        for (const char* r : {"[rank 0]", "[rank 1]"}) {
            const QByteArray line = QByteArray(r) + " gpulab-cli train (rank " + QByteArray(r).mid(6, 1) +
                                    "): rank 2 stopped";
            QVERIFY2(out.contains(line), out.constData());
        }
    }

    // Two ranks' event streams in one process (no Gloo): rank 0 refuses a stranger without the
    // token and a rank number out of range, admits rank 1, and its job stream holds rank 0's
    // run begin (the job's devices) first, rank 1's device events on global devices 2 and 3
    // with its logs named, not rank 1's own losses or run begin/end, and rank 0's run end last.
    void eventStreamsMergeOnRankZero()
    {
        auto keys = std::make_shared<KeysOnlyGroup::Keys>();
        KeysOnlyGroup g0(0, 2, "tok", keys), g1(1, 2, "tok", keys);
        EventStream local0, job0, local1, job1;
        local0.record(Event{.data = ev::RunBegin{.settings = "s", .devices = 2}});
        std::unique_ptr<RankEvents> zero;
        std::thread t0([&] { zero = std::make_unique<RankEvents>(g0, local0, job0, 2, RecordingHeader{}); });
        const std::string addr = g1.store_get("gpulab-events");
        QVERIFY2(addr.rfind("127.0.0.1:", 0) == 0, addr.c_str());
        QCOMPARE(helloAs(addr, 1, "wrong"), 0);
        QCOMPARE(helloAs(addr, 2, "tok"), 0);
        local1.record(Event{.data = ev::RunBegin{.settings = "s1", .devices = 2}});
        RankEvents one(g1, local1, job1, 2, RecordingHeader{});
        t0.join();
        QVERIFY(zero);
        QVERIFY(std::abs(zero->clock_offset_us(1)) < 60e6); // both clocks started this minute
        local1.record(Event{.device = 1, .data = ev::Op{.op = "conv1_fwd", .t_end_us = local1.now_us() + 5}});
        local1.record(Event{.data = ev::AllreduceStep{.steps = 1, .src = 0, .dst = 1, .bytes = 8, .phase = "reduce"}});
        local1.record(Event{.data = ev::MinibatchLoss{.epoch = 1, .loss = 2.3}});
        local1.record(Event{.data = ev::Log{.text = "hello from one"}});
        local1.record(Event{.data = ev::RunEnd{.status = "completed"}});
        local0.record(Event{.device = 0, .data = ev::Op{.op = "conv1_fwd", .t_end_us = local0.now_us() + 5}});
        local0.record(Event{.data = ev::MinibatchLoss{.epoch = 1, .loss = 2.3}});
        local0.record(Event{.data = ev::RunEnd{.status = "completed"}});
        one.finish(10s);
        QVERIFY(zero->finish(10s).empty());
        QCOMPARE(job1.size(), size_t(0));
        const std::vector<Event> all = job0.all();
        QVERIFY(all.size() >= 7);
        const auto* begin = all.front().get<ev::RunBegin>();
        QVERIFY(begin);
        QCOMPARE(begin->devices, 4);
        QCOMPARE(begin->world, 2);
        QCOMPARE(begin->device_ranks, (std::vector<int>{0, 0, 1, 1}));
        QVERIFY(all.back().is<ev::RunEnd>());
        int ops_on_3 = 0, losses = 0, steps = 0, begins = 0, ends = 0;
        bool log = false;
        for (const Event& e : all) {
            if (const auto* op = e.get<ev::Op>(); op && e.device == 3) {
                ++ops_on_3;
                QVERIFY(e.t_us > 0 && op->t_end_us >= e.t_us);
            }
            if (const auto* st = e.get<ev::AllreduceStep>()) {
                ++steps;
                QCOMPARE(st->src, 2);
                QCOMPARE(st->dst, 3);
            }
            losses += e.is<ev::MinibatchLoss>();
            begins += e.is<ev::RunBegin>();
            ends += e.is<ev::RunEnd>();
            if (const auto* l = e.get<ev::Log>())
                log = log || l->text == "rank 1: hello from one";
        }
        QCOMPARE(ops_on_3, 1);
        QCOMPARE(steps, 1);
        QCOMPARE(losses, 1);
        QCOMPARE(begins, 1);
        QCOMPARE(ends, 1);
        QVERIFY(log);
    }

    // Rank 0 waiting for the other ranks' event streams gives up with Stopped once asked,
    // not at its timeout (RankJoinTimeout).
    void eventStreamsStopWhenAsked()
    {
        struct Stopped : KeysOnlyGroup {
            using KeysOnlyGroup::KeysOnlyGroup;
            bool stop_requested() const override { return true; }
        };
        Stopped zero(0, 2, "tok", std::make_shared<KeysOnlyGroup::Keys>());
        EventStream local, job;
        try {
            RankEvents relay(zero, local, job, 1, RecordingHeader{});
            QFAIL("rank 0's event streams connected without rank 1");
        } catch (const GpulabError& e) {
            QCOMPARE(error_code_name(e.error.code), error_code_name(ErrorCode::Stopped));
        }
    }

    // A join waiting for the other ranks gives up with Stopped once asked (the lab's Stop),
    // long before its timeout: at rank 0's TCP rendezvous and at a folder's.
    void joinStopsWhenAsked_data()
    {
        QTest::addColumn<bool>("file");
        QTest::newRow("tcp") << false;
        QTest::newRow("file") << true;
    }
    void joinStopsWhenAsked()
    {
        QFETCH(bool, file);
        QTemporaryDir dir;
        RankOptions o;
        o.world = 2;
        o.rank = 0;
        o.master = "127.0.0.1:" + std::to_string(freePort());
        o.token = "tok";
        o.timeout = 120s; // far beyond what this test waits for the stop
        if (file)
            o.rendezvous = "file:" + dir.path().toStdString();
        std::atomic<bool> stop{false}, asked{false};
        o.stop_requested = [&] {
            asked = true;
            return stop.load();
        };
        std::promise<ErrorCode> outcome;
        std::future<ErrorCode> ended = outcome.get_future();
        std::thread t([&] {
            try {
                join_ranks(o, "settings");
                outcome.set_value(ErrorCode::None);
            } catch (const GpulabError& e) {
                outcome.set_value(e.error.code);
            }
        });
        QTRY_VERIFY_WITH_TIMEOUT(asked.load(), 60000); // it waits for rank 1, asking
        stop = true;
        const bool stopped = ended.wait_for(60s) == std::future_status::ready;
        t.join(); // at its timeout at the latest
        QVERIFY2(stopped, "the join went on waiting after it was asked to stop");
        QCOMPARE(error_code_name(ended.get()), error_code_name(ErrorCode::Stopped));
    }

    // Rank 1 joins, publishes the address of its Gloo connection to rank 0 and vanishes
    // before connecting: rank 0 waits in Gloo's connect for a peer that will never come (for
    // 5 times the timeout, as Gloo waits). A stop ends that wait long before the timeout, and
    // so does the rendezvous learning that rank 1 is gone (its connection to the store
    // closed without a goodbye): then the join names rank 1.
    void joinEndsWhileTheRanksConnect_data()
    {
        QTest::addColumn<bool>("stopAsked");
        QTest::newRow("stop") << true;
        QTest::newRow("rank 1 gone") << false;
    }
    void joinEndsWhileTheRanksConnect()
    {
#ifndef GPULAB_TEST_GLOO_ADDRESS
        QSKIP("Gloo's headers and library were not found for this test");
#else
        QFETCH(bool, stopAsked);
        const int port = freePort();
        RankOptions o;
        o.world = 2;
        o.rank = 0;
        o.master = "127.0.0.1:" + std::to_string(port); // rank 0's address for Gloo too
        o.token = "tok";
        o.timeout = 60s;
        std::atomic<bool> stop{false};
        std::mutex asked_mutex;
        std::thread::id join_thread;
        auto last_asked = std::chrono::steady_clock::now(); // by the joining thread
        o.stop_requested = [&] {
            std::lock_guard lock(asked_mutex);
            if (std::this_thread::get_id() == join_thread)
                last_asked = std::chrono::steady_clock::now();
            return stop.load();
        };
        std::promise<Error> outcome;
        std::future<Error> ended = outcome.get_future();
        std::thread t([&] {
            {
                std::lock_guard lock(asked_mutex);
                join_thread = std::this_thread::get_id();
            }
            try {
                join_ranks(o, "settings");
                outcome.set_value(Error());
            } catch (const GpulabError& e) {
                outcome.set_value(e.error);
            }
        });
        // rank 1, by hand: it joins, publishes its host and the address of its connection to
        // rank 0 (127.0.0.2 sorts after rank 0's 127.0.0.1, so rank 0 is the side that waits
        // to be connected to), and never connects
        auto one = std::make_unique<KvClient>("127.0.0.1", port, 60s);
        const Error refused = one->hello("tok", 1, 2, "settings");
        QVERIFY2(!refused, english(refused).c_str());
        const std::string host = "elsewhere";
        one->set("gloo/rank_1", std::vector<char>(host.begin(), host.end()));
        sockaddr_in gone{};
        gone.sin_family = AF_INET;
        gone.sin_port = htons(1);
        ::inet_pton(AF_INET, "127.0.0.2", &gone.sin_addr);
        one->set("gloo/1", gloo::transport::tcp::Address(reinterpret_cast<const sockaddr*>(&gone), sizeof gone).bytes());
        // rank 0 publishes its own, reads rank 1's and connects; its waits in the rendezvous
        // ask for a stop every tenth of a second, Gloo's connect does not ask: rank 1 goes
        // once the joining thread has not asked for a second. (A machine that held the join
        // that long before it connected makes this check weaker, never wrong.)
        QVERIFY(one->wait({"gloo/0"}, 60s));
        const auto quiet_since = [&] {
            std::lock_guard lock(asked_mutex);
            return std::chrono::steady_clock::now() - last_asked;
        };
        QTRY_VERIFY_WITH_TIMEOUT(quiet_since() > 1s, 60000);
        QElapsedTimer since;
        since.start();
        if (stopAsked)
            stop = true;
        else
            one.reset(); // its connection to the store closes without a goodbye
        const bool over = ended.wait_for(o.timeout / 2) == std::future_status::ready;
        t.join(); // at Gloo's connect timeout at the latest
        qInfo("the join ended %lld ms after rank 1 %s", static_cast<long long>(since.elapsed()),
              stopAsked ? "was given up (Stop)" : "went");
        QVERIFY2(over, "the join went on waiting for rank 1's connection");
        const Error e = ended.get();
        if (stopAsked) {
            QCOMPARE(error_code_name(e.code), error_code_name(ErrorCode::Stopped));
        } else {
            QCOMPARE(error_code_name(e.code), error_code_name(ErrorCode::RankLost));
            QCOMPARE(english(e), std::string("rank 1 stopped (its process ended or its connection was lost); every rank "
                                             "of the job stops"));
        }
#endif
    }

    // Rank 1 joins the TCP rendezvous and its connection closes (its process ended) before it
    // publishes its address: the store marks it failed, and rank 0's join, waiting for that
    // address, ends naming rank 1 instead of waiting out the timeout.
    void joinEndsWhenARankDiesBeforePublishing()
    {
        const int port = freePort();
        RankOptions o;
        o.world = 2;
        o.rank = 0;
        o.master = "127.0.0.1:" + std::to_string(port);
        o.token = "tok";
        o.timeout = 60s;
        std::promise<Error> outcome;
        std::future<Error> ended = outcome.get_future();
        std::thread t([&] {
            try {
                join_ranks(o, "settings");
                outcome.set_value(Error());
            } catch (const GpulabError& e) {
                outcome.set_value(e.error);
            }
        });
        auto one = std::make_unique<KvClient>("127.0.0.1", port, 60s);
        const Error refused = one->hello("tok", 1, 2, "settings");
        QVERIFY2(!refused, english(refused).c_str());
        QVERIFY(one->wait({"gloo/0"}, 60s)); // rank 0 has published its own and waits for rank 1's
        QElapsedTimer since;
        since.start();
        one.reset(); // its connection to the store closes without a goodbye
        const bool over = ended.wait_for(o.timeout / 2) == std::future_status::ready;
        t.join(); // at the timeout at the latest
        qInfo("the join ended %lld ms after rank 1 went", static_cast<long long>(since.elapsed()));
        QVERIFY2(over, "the join went on waiting for the address of a rank the rendezvous knew was gone");
        const Error e = ended.get();
        QCOMPARE(error_code_name(e.code), error_code_name(ErrorCode::RankLost));
        QCOMPARE(english(e), std::string("rank 1 stopped (its process ended or its connection was lost); every rank "
                                         "of the job stops"));
    }

    // Ranks that met in a folder leave it together: a rank's finish() says goodbye and waits
    // until every rank has (nobody serves a folder, so a rank gone early could close its
    // connections, or let the folder go, while another still reads it), ending sooner when a
    // failure is known or a stop asked; RankOptions::goodbye_wait bounds it.
    void fileRendezvousWaitsForEveryGoodbye()
    {
        std::atomic<bool> stop{false};
        // a job of 2 ranks in a fresh folder, joined and met in one allreduce; empty, or why not
        auto job = [&](QTemporaryDir& dir, std::unique_ptr<RankGroup> (&g)[2]) {
            std::string failed[2];
            auto rank = [&](int r) {
                RankOptions o;
                o.world = 2;
                o.rank = r;
                o.token = "t";
                o.timeout = 60s;
                o.goodbye_wait = 120s; // far beyond what this test waits
                o.rendezvous = "file:" + dir.path().toStdString();
                o.stop_requested = [&stop] { return stop.load(); };
                try {
                    g[r] = join_ranks(o, "settings");
                    float one = 1;
                    g[r]->allreduce_sum(&one, 1);
                } catch (const GpulabError& e) {
                    failed[r] = english(e.error);
                }
            };
            std::thread other(rank, 1);
            rank(0);
            other.join();
            return failed[0] + failed[1];
        };
        // rank 0 leaves first: its finish() returns only after rank 1's goodbye
        {
            QTemporaryDir dir;
            std::unique_ptr<RankGroup> g[2];
            const std::string failed = job(dir, g);
            QVERIFY2(failed.empty(), failed.c_str());
            std::mutex m;
            std::condition_variable cv;
            bool zero_left = false, one_said_goodbye = false, zero_left_after_one = false;
            std::thread zero([&] {
                g[0]->finish();
                std::lock_guard lock(m);
                zero_left = true;
                zero_left_after_one = one_said_goodbye;
                cv.notify_all();
            });
            bool left_early = false;
            {
                // rank 1 takes its time (a machine slower than this only makes the check weaker)
                std::unique_lock lock(m);
                left_early = cv.wait_for(lock, 2s, [&] { return zero_left; });
                one_said_goodbye = true;
            }
            g[1]->finish();
            zero.join();
            QVERIFY2(!left_early && zero_left_after_one, "rank 0 left the folder before rank 1 said goodbye");
        }
        // a stop ends the wait for a goodbye that does not come, and so does a failure
        for (const bool failure : {false, true}) {
            QTemporaryDir dir;
            std::unique_ptr<RankGroup> g[2];
            stop = false;
            const std::string failed = job(dir, g);
            QVERIFY2(failed.empty(), failed.c_str());
            std::promise<void> left;
            std::future<void> zero_left = left.get_future();
            std::thread zero([&] {
                g[0]->finish();
                left.set_value();
            });
            if (failure)
                g[1]->report_failure("out of memory");
            else
                stop = true;
            const bool ended = zero_left.wait_for(60s) == std::future_status::ready;
            zero.join(); // at goodbye_wait at the latest
            QVERIFY2(ended, failure ? "rank 0 waited for a goodbye after rank 1 failed"
                                    : "rank 0 waited for a goodbye after it was asked to stop");
            stop = true;
            g[1]->finish();
        }
    }

    // Rank 0 of a job met at its TCP rendezvous waits at the end for the others' goodbyes
    // (RankOptions::goodbye_wait at most); a stop ends that wait at once, not at its end.
    void tcpGoodbyeWaitHearsStop()
    {
        const int port = freePort();
        std::atomic<bool> stop{false};
        constexpr auto kGoodbyeWait = 30s;
        std::unique_ptr<RankGroup> g[2];
        std::string failed[2];
        auto rank = [&](int r) {
            RankOptions o;
            o.world = 2;
            o.rank = r;
            o.master = "127.0.0.1:" + std::to_string(port);
            o.token = "t";
            o.timeout = 60s;
            o.goodbye_wait = kGoodbyeWait;
            o.stop_requested = [&stop] { return stop.load(); };
            try {
                g[r] = join_ranks(o, "settings");
                float one = 1;
                g[r]->allreduce_sum(&one, 1);
            } catch (const GpulabError& e) {
                failed[r] = english(e.error);
            }
        };
        std::thread other(rank, 1);
        rank(0);
        other.join();
        QVERIFY2(failed[0].empty() && failed[1].empty(), (failed[0] + failed[1]).c_str());
        // rank 1 stays (its heartbeats go on) and never says goodbye: rank 0 waits for it
        std::promise<void> left;
        std::future<void> zero_left = left.get_future();
        std::thread zero([&] {
            g[0]->finish();
            left.set_value();
        });
        // rank 0 is waiting by now, or soon (a machine slower than this only makes the check weaker)
        const bool early = zero_left.wait_for(1s) == std::future_status::ready;
        QElapsedTimer since;
        since.start();
        stop = true;
        const bool ended = zero_left.wait_for(kGoodbyeWait / 2) == std::future_status::ready;
        zero.join(); // at goodbye_wait at the latest
        qInfo("rank 0's goodbye wait ended %lld ms after the stop", static_cast<long long>(since.elapsed()));
        QVERIFY2(!early, "rank 0 left before rank 1 said goodbye, with no stop asked");
        QVERIFY2(ended, "rank 0 went on waiting for rank 1's goodbye after it was asked to stop");
        g[1]->finish();
    }

    // A 2-rank job with --record, --trace and --csv on rank 0: the files hold both ranks'
    // devices (numbered 0 and 1) and the steps across ranks; the recording replays. (Its
    // options after "--" start with the word "train", which launch allows.)
    void rankZeroRecordsTheWholeJob()
    {
        QTemporaryDir dir;
        const QString rec = dir.filePath("job.gpurec"), trace = dir.filePath("job.json"), csv = dir.filePath("job.csv");
        Outcome o = cli({"launch", "--nproc", "2", "--", "train", "--devices", "1", "--synthetic", "1200", "--test-subset", "120",
                         "--batch-size", "240", "--epochs", "1", "--quiet", "--record", rec, "--trace", trace, "--csv", csv});
        QVERIFY2(o.code == 0, qPrintable(o.out));
        // rank 0's epoch line names every device of the job, as one process names its own
        const int at = o.out.indexOf("[rank 0] epoch 1: loss");
        QVERIFY2(at >= 0, qPrintable(o.out));
        const QString epochLine = o.out.mid(at + 9, o.out.indexOf('\n', at) - at - 9);
        QVERIFY2(epochLine.endsWith(" on [rank 0: cpu-sim(0), rank 1: cpu-sim(0)]"), qPrintable(epochLine));
        const Recording r = read_recording(rec.toStdString());
        QVERIFY(r.complete);
        QCOMPARE(r.header.devices.size(), size_t(2));
        QVERIFY2(r.header.settings.find("devices=2") != std::string::npos, r.header.settings.c_str());
        // the settings say how many images the job had (--synthetic made them, not Fashion-MNIST)
        QVERIFY2(r.header.settings.find(" subset=1200 ") != std::string::npos &&
                     r.header.settings.find(" test_subset=120 ") != std::string::npos,
                 r.header.settings.c_str());
        QVERIFY(r.events.front().is<ev::RunBegin>());
        QCOMPARE(r.events.front().get<ev::RunBegin>()->devices, 2);
        QCOMPARE(r.events.front().get<ev::RunBegin>()->world, 2);
        QCOMPARE(r.events.front().get<ev::RunBegin>()->device_ranks, (std::vector<int>{0, 1}));
        QVERIFY(r.events.back().is<ev::RunEnd>());
        int ops[2] = {0, 0}, across[2] = {0, 0}, losses = 0;
        for (const Event& e : r.events) {
            if (e.is<ev::Op>() && (e.device == 0 || e.device == 1))
                ++ops[e.device];
            if (const auto* st = e.get<ev::AllreduceStep>();
                st && st->stage == AllreduceStage::AcrossRanks && (st->src == 0 || st->src == 1)) {
                QCOMPARE(st->phase, std::string("gloo"));
                QVERIFY(!st->modelled);
                ++across[st->src];
                QVERIFY(st->bytes > 0);
                QVERIFY(st->t_end_us >= e.t_us);
            }
            losses += e.is<ev::MinibatchLoss>();
        }
        QVERIFY(ops[0] > 0 && ops[1] > 0);
        QCOMPARE(losses, 5); // the job's minibatches, once
        QCOMPARE(across[0], 5);
        QCOMPARE(across[1], 5);
        QFile t(trace);
        QVERIFY(t.open(QIODevice::ReadOnly));
        const QByteArray json = t.readAll();
        QVERIFY2(json.contains("\"device 0\"") && json.contains("\"device 1\""), "the trace lacks a rank's device");
        QVERIFY2(json.contains("gloo"), "the trace has no step across ranks");
        QFile c(csv);
        QVERIFY(c.open(QIODevice::ReadOnly));
        QVERIFY(c.readAll().contains(",op,1,"));
        o = cli({"replay", rec});
        QVERIFY2(o.code == 0, qPrintable(o.out));
        QVERIFY2(o.out.contains("devices: [rank 0: cpu-sim(0), rank 1: cpu-sim(0)]"), qPrintable(o.out));
        QVERIFY2(o.out.contains(epochLine + "\n"), qPrintable(o.out)); // replay prints what train printed
        QVERIFY2(o.out.contains("run completed"), qPrintable(o.out));
    }

    // Every rank diverges at once (the lr is the job's): each stops with exit 1 and says so,
    // and the launcher names the first; never a hang, and no rank waits for the timeout.
    void divergedRanksStop()
    {
        const Outcome o = cli({"launch", "--nproc", "2", "--", "--devices", "1", "--synthetic", "2400", "--batch-size",
                               "240", "--epochs", "5", "--lr", "1e9", "--timeout", kJobTimeout, "--quiet"},
                              2 * kStopBoundMs);
        qInfo("the job of 2 ranks started, diverged and stopped in %lld ms", static_cast<long long>(o.ms));
        QCOMPARE(o.code, 1);
        QVERIFY2(o.ms < kStopBoundMs, "a rank waited for the timeout to stop");
        QVERIFY2(o.out.contains("failed first (exit code 1)"), qPrintable(o.out));
        for (const char* r : {"[rank 0] gpulab-cli train (rank 0): ", "[rank 1] gpulab-cli train (rank 1): "}) {
            const int at = o.out.indexOf(r);
            QVERIFY2(at >= 0, qPrintable(o.out));
            const QString line = o.out.mid(at, o.out.indexOf('\n', at) - at);
            QVERIFY2(line.contains("training diverged") || line.contains("stopped"), qPrintable(line));
        }
        // a rank's device is named by its number in the job (rank 1's device 0 is device 1)
        if (o.out.contains("[rank 1] gpulab-cli train (rank 1): the loss"))
            QVERIFY2(o.out.contains("(device 1)"), qPrintable(o.out));
    }

    // Rank 1 runs out of memory (its own --memory-budget: not a setting the ranks share):
    // rank 0 stops (without waiting for the timeout) with exit 1, naming rank 1 and why; its recording holds rank 1's
    // error on global device 1.
    void outOfMemoryRankStopsTheOthers()
    {
        QTemporaryDir dir;
        const QString rec = dir.filePath("job.gpurec");
        const QString master = QString("127.0.0.1:%1").arg(freePort());
        const QStringList common = {"train", "--world", "2", "--master", master, "--token", "t", "--timeout", kJobTimeout,
                                    "--synthetic", "2400", "--batch-size", "240", "--devices", "1", "--epochs", "5",
                                    "--quiet"};
        QProcess zero;
        zero.setProcessChannelMode(QProcess::MergedChannels);
        zero.start(GPULAB_CLI, common + QStringList{"--rank", "0", "--record", rec});
        QByteArray out0;
        readUntil(zero, "waiting for 2 rank(s)", out0);
        QElapsedTimer t;
        t.start();
        const Outcome o = cli(common + QStringList{"--rank", "1", "--memory-budget", "1MiB"}, 2 * kStopBoundMs);
        QCOMPARE(o.code, 1);
        QVERIFY2(o.out.contains("out of memory"), qPrintable(o.out));
        QVERIFY(zero.waitForFinished(2 * kStopBoundMs));
        out0 += zero.readAll();
        qInfo("rank 1 joined, ran out of memory, and rank 0 stopped in %lld ms", static_cast<long long>(t.elapsed()));
        QVERIFY2(t.elapsed() < kStopBoundMs, "rank 0 waited for the timeout to stop");
        QCOMPARE(zero.exitCode(), 1);
        QVERIFY2(out0.contains("gpulab-cli train (rank 0): rank 1 stopped (out of memory"), out0.constData());
        const Recording r = read_recording(rec.toStdString());
        bool named = false;
        for (const Event& e : r.events)
            if (const auto* err = e.get<ev::Error>())
                named = named || (e.device == 1 && err->message.rfind("rank 1: out of memory", 0) == 0) ||
                        (e.device == -1 && err->message.rfind("rank 1: out of memory", 0) == 0);
        QVERIFY2(named, "rank 0's recording has no error from rank 1");
    }

    // A rank that goes silent without its process ending (stopped: as if its machine or
    // network went down, no connection is closed): the rendezvous notices within 10 s, and
    // the other rank, blocked in a collective with it, stops within 30 s with exit 1, naming
    // it. First a silent rank 1 (rank 0 notices), then a silent rank 0 (its store is lost).
    void silentRankStopsTheOthers_data()
    {
        QTest::addColumn<int>("silent");
        QTest::newRow("rank 1 silent") << 1;
        QTest::newRow("rank 0 silent") << 0;
    }
    void silentRankStopsTheOthers()
    {
        QFETCH(int, silent);
        const QString master = QString("127.0.0.1:%1").arg(freePort());
        const QStringList common = {"train", "--world", "2", "--master", master, "--token", "t", "--timeout", "120",
                                    "--synthetic", "6000", "--batch-size", "60", "--devices", "1", "--epochs", "100",
                                    "--quiet", "--verbose"};
        QProcess ranks[2];
        QByteArray out[2];
        for (int r = 0; r < 2; ++r) {
            ranks[r].setProcessChannelMode(QProcess::MergedChannels);
            ranks[r].start(GPULAB_CLI, common + QStringList{"--rank", QString::number(r)});
        }
        for (int r = 0; r < 2; ++r) {
            readUntil(ranks[r], "training:", out[r]);
            QVERIFY2(out[r].contains("training:"), out[r].constData());
        }
        QTest::qWait(1000); // inside the minibatches' collectives
        ::kill(static_cast<pid_t>(ranks[silent].processId()), SIGSTOP);
        QElapsedTimer t;
        t.start();
        QProcess& other = ranks[1 - silent];
        const bool ended = other.waitForFinished(60000);
        out[1 - silent] += other.readAll();
        ::kill(static_cast<pid_t>(ranks[silent].processId()), SIGKILL);
        ranks[silent].waitForFinished(10000);
        QVERIFY2(ended, out[1 - silent].constData());
        qInfo("rank %d stopped %lld ms after rank %d went silent", 1 - silent, static_cast<long long>(t.elapsed()), silent);
        QVERIFY2(t.elapsed() < 30000, qPrintable(QString("stopped after %1 ms").arg(t.elapsed())));
        QCOMPARE(other.exitCode(), 1);
        const QByteArray named = "gpulab-cli train (rank " + QByteArray::number(1 - silent) + "): rank " +
                                 QByteArray::number(silent) + " stopped";
        QVERIFY2(out[1 - silent].contains(named), out[1 - silent].constData());
    }

    // What a rank streams is a recording: RecordingWriter onto an open stream, read back by
    // RecordingStreamReader however the bytes are cut (here one at a time), gives the events
    // and snapshots read_recording gives.
    void streamedRecordingReadsAsTheFile()
    {
        QTemporaryDir dir;
        const QString path = dir.filePath("s.gpurec");
        {
            std::FILE* f = std::fopen(path.toLocal8Bit().constData(), "wb");
            QVERIFY(f);
            RecordingHeader h;
            h.program = "test";
            h.devices = {"a", "b"};
            RecordingWriter w(f, "the stream", h);
            w.add(Event{.t_us = 1, .data = ev::RunBegin{.settings = "s", .devices = 2}});
            Snapshot snap{.what = SnapshotWhat::Params, .epoch = 1, .batch = 2, .device = 1, .tensor = "all",
                          .names = {"W"}, .values = {{1.5f, -2.0f, 3.25f}}};
            w.add(Event{.t_us = 2, .device = 1, .data = ev::Snapshot{.index = 0, .epoch = 1, .batch = 2, .tensor = "all"}},
                  &snap);
            w.add(Event{.t_us = 3, .device = 1, .data = ev::Op{.op = "x", .t_end_us = 4}});
            w.add(Event{.t_us = 5, .data = ev::RunEnd{.status = "completed"}});
            w.finish(RunStatus::Completed, {});
            QVERIFY(!w.failed());
        }
        const Recording file = read_recording(path.toStdString());
        QFile f(path);
        QVERIFY(f.open(QIODevice::ReadOnly));
        const QByteArray bytes = f.readAll();
        RecordingStreamReader r("the stream");
        std::vector<Event> events;
        for (char c : bytes) {
            r.feed(reinterpret_cast<const uint8_t*>(&c), 1);
            for (Event& e : r.take_events())
                events.push_back(std::move(e));
        }
        QVERIFY(r.has_header());
        QCOMPARE(r.header().devices, file.header.devices);
        QVERIFY(r.ended());
        QCOMPARE(r.status(), std::string("completed"));
        QCOMPARE(events.size(), file.events.size());
        QVERIFY(events == file.events);
        const auto* s = events[1].get<ev::Snapshot>();
        QVERIFY(s);
        QVERIFY(r.snapshot(s->index));
        QCOMPARE(r.snapshot(s->index)->values, file.snapshots.at(size_t(s->index))->values);
        // a damaged byte is refused, as in a file
        RecordingStreamReader bad("bad");
        QByteArray broken = bytes;
        broken[40] = char(broken[40] ^ 0x55);
        bool refused = false;
        try {
            bad.feed(reinterpret_cast<const uint8_t*>(broken.constData()), size_t(broken.size()));
        } catch (const GpulabError&) {
            refused = true;
        }
        QVERIFY(refused);
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
        // rank 0 waits for the right rank 1 while four other processes come and go: its
        // timeout must outlast them on a slow machine
        const QStringList common = {"train", "--world", "2", "--master", master, "--timeout", kJobTimeout,
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

    // Two ranks meet in a folder (long enough, a few seconds, for each to poll the rendezvous
    // for failures while it trains, which must not wait) and print the same epoch line.
    void fileRendezvous()
    {
        QTemporaryDir dir;
        QStringList common = {"train", "--world", "2", "--rendezvous", "file:" + dir.path(), "--token", "t",
                              "--timeout", "60", "--synthetic", "3000", "--devices", "1", "--epochs", "2",
                              "--quiet", "--verbose"};
        // the ranks reach each other at the address they advertise (else the machine's own)
        if (canListenOn("127.0.0.2"))
            common << "--advertise" << "127.0.0.2";
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

    // NCCL's id through the ranks' own rendezvous, TCP and file: rank 0's 128 bytes reach
    // rank 1 intact, and an id of another size is refused.
    void ncclIdTravelsThroughTheRendezvous()
    {
        std::vector<char> id(kNcclIdBytes);
        for (size_t i = 0; i < id.size(); ++i)
            id[i] = static_cast<char>(255 - i * 2);
        QTemporaryDir dir;
        for (const std::string& rendezvous : {std::string(), "file:" + dir.path().toStdString()}) {
            const int port = freePort();
            std::vector<char> got[2];
            std::string failed[2];
            float summed[2] = {0, 0};
            auto rank = [&](int r) {
                try {
                    RankOptions o;
                    o.world = 2;
                    o.rank = r;
                    o.master = "127.0.0.1:" + std::to_string(port);
                    o.token = "t";
                    o.timeout = 30000ms;
                    o.rendezvous = rendezvous;
                    auto g = join_ranks(o, "backend=cuda\n");
                    got[r] = share_nccl_id(*g, r == 0 ? id : std::vector<char>());
                    // Rank 0 finds the id at once and, with a file rendezvous, nothing else
                    // holds it: leaving now could close its connections while rank 1 is
                    // still making its own (seen on a slow machine: "Connection closed by
                    // peer"). A run meets in a collective first (rank 0's parameters go to every
                    // rank); so do these ranks.
                    float one = 1;
                    g->allreduce_sum(&one, 1);
                    summed[r] = one;
                    g->finish();
                } catch (const GpulabError& e) {
                    failed[r] = english(e.error);
                }
            };
            std::thread one(rank, 1);
            rank(0);
            one.join();
            QVERIFY2(failed[0].empty() && failed[1].empty(), (failed[0] + " / " + failed[1]).c_str());
            QVERIFY(got[0] == id);
            QVERIFY(got[1] == id);
            QCOMPARE(summed[0], 2.0f);
            QCOMPARE(summed[1], 2.0f);
        }
        // rank 0 with an id of the wrong size: refused before it reaches the store
        RankOptions o;
        o.world = 1;
        o.master = "127.0.0.1:" + std::to_string(freePort());
        o.token = "t";
        auto g = join_ranks(o, "");
        try {
            share_nccl_id(*g, std::vector<char>(127));
            QFAIL("an id of 127 bytes was shared");
        } catch (const GpulabError& e) {
            QCOMPARE(english(e.error), std::string("the NCCL id in the rendezvous store has 127 bytes, not 128; every "
                                                   "rank must run the same gpulab"));
        }
        g->finish();
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
