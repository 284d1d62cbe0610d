// The lab running a job of several local ranks: rank 0 in the lab, the others gpulab-cli
// processes joined over loopback. Its losses are those of one process with as many
// devices, every view and export shows every rank, a rank killed mid-run ends the run
// naming it, and Stop (or the window closing) leaves no process behind.
#include "allreduce_view.h"
#include "control_panel.h"
#include "dataset_loader.h"
#include "devices_view.h"
#include "memory_view.h"
#include "main_window.h"
#include "replay_panel.h"
#include "rank/rank_group.h"
#include "record/recording.h"
#include "trace/event_stream.h"
#include "training_view.h"
#include "train/settings.h"
#include "support/named_child.h"
#include "support/offscreen_environment.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFile>
#include <QFormLayout>
#include <QLabel>
#include <QListWidget>
#include <QProcess>
#include <QPushButton>
#include <QSignalSpy>
#include <QRegularExpression>
#include <QSpinBox>
#include <QTabWidget>
#include <QTemporaryDir>
#include <QtTest>

#include <cerrno>
#include <cmath>
#include <csignal>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

using namespace gpulab;

namespace {

// Generous: CI is a loaded 2-core machine; no speed is checked.
constexpr int kRunTimeoutMs = 300000;

template <class F>
bool waitUntil(F f, int timeoutMs)
{
    QElapsedTimer t;
    t.start();
    while (!f() && t.elapsed() < timeoutMs)
        QTest::qWait(20);
    return f();
}

bool processGone(qint64 pid)
{
    return ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH;
}

// Whether something accepts a connection at 127.0.0.1:port.
bool canConnect(int port)
{
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    ::close(fd);
    return ok;
}

} // namespace

class TestLabRanks : public QObject {
    Q_OBJECT

    MainWindow* w = nullptr;

    template <class T>
    T* child(const char* name) { return namedChild<T>(w, name); }

    // The book's lesson at batch 240, lr 0.9 (as tst_ranks' same-maths check), on the
    // synthetic data: ranks x devices.
    void setControls(int ranks, int devices, int subset, int epochs)
    {
        child<QComboBox>("presetCombo")->setCurrentIndex(0);
        child<QSpinBox>("ranksSpin")->setValue(ranks);
        child<QSpinBox>("devicesSpin")->setValue(devices);
        child<QSpinBox>("batchSpin")->setValue(240);
        child<QDoubleSpinBox>("lrSpin")->setValue(0.9);
        child<QSpinBox>("subsetSpin")->setValue(subset);
        child<QSpinBox>("testSubsetSpin")->setValue(480);
        child<QSpinBox>("epochsSpin")->setValue(epochs);
        child<QSpinBox>("seedSpin")->setValue(3);
        child<QComboBox>("modeCombo")->setCurrentIndex(0);
        child<QComboBox>("allreduceCombo")->setCurrentIndex(0);
        child<QComboBox>("linkCombo")->setCurrentText(QStringLiteral("none"));
        child<QCheckBox>("stepModeCheck")->setChecked(false);
    }

    // Start; returns the run's id.
    int start()
    {
        auto* startButton = child<QPushButton>("startButton");
        if (!startButton->isEnabled())
            qWarning("Start is disabled: %s", qPrintable(child<QLabel>("validationLabel")->text()));
        QSignalSpy started(w, &MainWindow::runStarted);
        QTest::mouseClick(startButton, Qt::LeftButton);
        return started.count() == 1 ? w->currentRunId() : -1;
    }

    int waitForEnd(QSignalSpy& finished)
    {
        if (finished.isEmpty() && !finished.wait(kRunTimeoutMs))
            return -1;
        return finished.at(0).at(1).toInt();
    }

    std::vector<double> losses() const
    {
        std::vector<double> out;
        for (const Event& e : w->controller()->stream()->all())
            if (const auto* l = e.get<ev::MinibatchLoss>())
                out.push_back(l->loss);
        return out;
    }

private slots:
    void initTestCase()
    {
        if (!ranks_available())
            QSKIP("built without Gloo: no ranks");
        qputenv("GPULAB_CLI", GPULAB_CLI);
        w = new MainWindow;
        w->resize(1400, 900);
        w->show();
        auto* source = child<QComboBox>("dataSourceCombo");
        source->setCurrentIndex(source->findData(int(DatasetLoader::Source::Synthetic)));
        QVERIFY(waitUntil([&] { return !w->loader()->loading() && w->loader()->data(); }, 60000));
    }
    void cleanupTestCase() { delete w; }

    // 2 ranks x 1 device: the per-minibatch losses of 1 rank x 2 devices within 5e-5
    // relative; every view and export shows both ranks' devices.
    void jobHasTheLossesOfOneProcess()
    {
        setControls(1, 2, 240 * 12, 1);
        QSignalSpy one(w, &MainWindow::runFinished);
        QVERIFY(start() > 0);
        QCOMPARE(waitForEnd(one), int(RunStatus::Completed));
        const std::vector<double> a = losses();
        QCOMPARE(a.size(), size_t(12));

        setControls(2, 1, 240 * 12, 1);
        QSignalSpy job(w, &MainWindow::runFinished);
        QVERIFY(start() > 0);
        QCOMPARE(w->controller()->rankPids().size(), 1);
        QVERIFY2(waitForEnd(job) == int(RunStatus::Completed), qPrintable(w->statusMessage()));
        const std::vector<double> b = losses();
        QCOMPARE(b.size(), a.size());
        double worst = 0;
        for (size_t i = 0; i < a.size(); ++i)
            worst = std::max(worst, std::abs(a[i] - b[i]) / std::abs(a[i]));
        qInfo("worst relative difference over %zu minibatches: %.3g", a.size(), worst);
        QVERIFY2(worst <= 5e-5, qPrintable(QStringLiteral("worst relative difference %1").arg(worst)));

        // the Devices view groups the job's devices by rank
        QCOMPARE(w->devicesView()->cardCount(), 2);
        QCOMPARE(w->devicesView()->rankHeaders().size(), 2);
        // the exports hold the job: both ranks' devices, the run begin says 2 ranks
        QTemporaryDir dir;
        QStringList written;
        QString error;
        QVERIFY2(w->exportAll(dir.path(), &written, &error), qPrintable(error));
        QFile devices(dir.filePath(QStringLiteral("devices.csv")));
        QVERIFY(devices.open(QIODevice::ReadOnly));
        const QStringList rows = QString::fromUtf8(devices.readAll()).split(QLatin1Char('\n'), Qt::SkipEmptyParts);
        QCOMPARE(rows.size(), 3); // header, device 0 (rank 0), device 1 (rank 1)
        // the Memory view's run list says what each run was: one process with 2 devices, a
        // job of 2 ranks with 1 device each
        auto* runList = namedChild<QListWidget>(w->memoryView(), "memoryRunList");
        QVERIFY(runList->count() >= 2);
        const QString oneText = runList->item(runList->count() - 2)->text();
        const QString jobText = runList->item(runList->count() - 1)->text();
        QVERIFY2(oneText.contains(QStringLiteral("(sync): 2 x cpu-sim,")), qPrintable(oneText));
        QVERIFY2(jobText.contains(QStringLiteral("(sync): 2 ranks x 1 x cpu-sim,")), qPrintable(jobText));
        bool begin = false;
        for (const Event& e : w->controller()->stream()->all())
            if (const auto* x = e.get<ev::RunBegin>()) {
                QCOMPARE(x->world, 2);
                QCOMPARE(x->devices, 2);
                QCOMPARE(x->device_ranks, (std::vector<int>{0, 1}));
                begin = true;
            }
        QVERIFY(begin);
        // the recording of the job names every rank's device
        const QString saved = dir.filePath(QStringLiteral("job.gpurec"));
        QVERIFY2(w->saveRun(saved, &error), qPrintable(error));
        const Recording rec = read_recording(saved.toStdString());
        QVERIFY(rec.complete);
        QCOMPARE(rec.header.devices, (std::vector<std::string>{"rank 0: cpu-sim(0)", "rank 1: cpu-sim(0)"}));
        QVERIFY2(rec.header.settings.find("devices=2 ") != std::string::npos, rec.header.settings.c_str());
        QVERIFY(rec.header.settings.find("ranks=") == std::string::npos);
        int losses = 0;
        for (const Event& e : rec.events)
            losses += e.is<ev::MinibatchLoss>() ? 1 : 0;
        QCOMPARE(losses, 12);
        QVERIFY(w->controller()->rankPids().isEmpty());
        // replayed, the job reads as it did live in the Memory view's run list
        QVERIFY2(w->openRecordings({saved}, &error), qPrintable(error));
        const QString replayed = runList->item(runList->count() - 1)->text();
        QVERIFY2(replayed.contains(QStringLiteral("(sync): 2 ranks x 1 x cpu-sim,")), qPrintable(replayed));
        // and its recorded settings, read-only, say 1 device and 2 ranks
        auto* form = qobject_cast<QFormLayout*>(
            w->replayPanel()->findChild<QWidget*>(QStringLiteral("replaySettings"))->findChild<QWidget*>()->layout());
        QVERIFY(form);
        QStringList settings;
        for (int i = 0; i < form->rowCount(); ++i) {
            const QLayoutItem* label = form->itemAt(i, QFormLayout::LabelRole);
            const QLayoutItem* value = form->itemAt(i, QFormLayout::FieldRole);
            if (label && value && label->widget() && value->widget())
                settings << qobject_cast<QLabel*>(label->widget())->text() + QLatin1Char('=') +
                            qobject_cast<QLabel*>(value->widget())->text();
        }
        QVERIFY2(settings.contains(QStringLiteral("devices=1")) && settings.contains(QStringLiteral("ranks=2")),
                 qPrintable(settings.join(QLatin1Char('|'))));
    }

    // Live, every rank's steps reach the lab later than rank 0's: the Allreduce view draws a
    // minibatch once every rank's steps are in, both ranks' devices and both network hops,
    // never rank 0's alone.
    void allreduceViewDrawsEveryRankLive()
    {
        setControls(2, 2, 240 * 40, 1);
        QSignalSpy finished(w, &MainWindow::runFinished);
        QVERIFY(start() > 0);
        AllreduceView* view = w->allreduceView();
        int samples = 0;
        QStringList wrong;
        while (finished.isEmpty() && waitUntil([&] { return !finished.isEmpty(); }, 25) == false) {
            const auto& steps = view->currentSteps();
            if (steps.empty() || !w->controller()->busy())
                continue;
            ++samples;
            bool rank0 = false, rank1 = false;
            for (const auto& t : steps) {
                rank0 = rank0 || t.src < 2 || (t.dst >= 0 && t.dst < 2);
                rank1 = rank1 || t.src >= 2 || t.dst >= 2;
            }
            const auto& across = view->acrossSteps();
            const bool sameMinibatch = !across.empty() && across.front().epoch == steps.front().epoch &&
                                       across.front().batch == steps.front().batch;
            if (!rank0 || !rank1 || across.size() != 2 || !sameMinibatch)
                wrong << QStringLiteral("minibatch %1: ranks %2%3, %4 hops")
                             .arg(steps.front().batch)
                             .arg(rank0 ? QStringLiteral("0") : QString())
                             .arg(rank1 ? QStringLiteral("1") : QString())
                             .arg(across.size());
        }
        QCOMPARE(waitForEnd(finished), int(RunStatus::Completed));
        qInfo("%d samples of the live drawing", samples);
        QVERIFY(samples >= 3);
        QVERIFY2(wrong.isEmpty(), qPrintable(wrong.mid(0, 5).join(QStringLiteral("; "))));
    }

    // A job's Allreduce view samples the run at its refresh, as one process's does: the
    // drawing changes with the text under it, never at each minibatch drained between
    // refreshes. Hidden (another view shown, never refreshed) it keeps its empty drawing
    // while minibatches come in; shown, it draws the latest, the one its text describes.
    void allreduceDrawingSampledAtRefresh()
    {
        auto* tabs = w->findChild<QTabWidget*>(QStringLiteral("viewTabs"));
        AllreduceView* view = w->allreduceView();
        QVERIFY(tabs && view);
        tabs->setCurrentWidget(w->trainingView());
        setControls(2, 2, 240 * 40, 1);
        QSignalSpy finished(w, &MainWindow::runFinished);
        QVERIFY(start() > 0);
        const std::pair<int, int> none{-1, -1};
        QCOMPARE(view->drawnAllreduce(), none);
        auto described = [view] {
            const QRegularExpressionMatch m = QRegularExpression(QStringLiteral("Measured \\(epoch (\\d+), minibatch (\\d+)\\)"))
                                                  .match(view->modelText());
            return m.hasMatch() ? std::pair<int, int>{m.captured(1).toInt(), m.captured(2).toInt() - 1} : std::pair<int, int>{-1, -1};
        };
        // hidden: three minibatches of the job are in, none drawn
        QVERIFY(waitUntil(
            [&] {
                const auto& steps = view->currentSteps();
                return !finished.isEmpty() || (!steps.empty() && steps.front().batch >= 2);
            },
            kRunTimeoutMs));
        QVERIFY2(finished.isEmpty(), "the run ended before its third minibatch was seen");
        QCOMPARE(view->drawnAllreduce(), none);
        // shown: drawn at once, the minibatch its text describes
        tabs->setCurrentWidget(view);
        QVERIFY(view->drawnAllreduce() != none);
        QCOMPARE(view->drawnAllreduce(), described());
        // and after every drain of the rest of the run, refreshed or not
        int ticks = 0;
        QStringList wrong;
        const QMetaObject::Connection c = connect(w, &MainWindow::eventsDispatched, this, [&] {
            ++ticks;
            const auto drawn = view->drawnAllreduce(), text = described();
            if (drawn != text)
                wrong << QStringLiteral("drawn %1/%2, described %3/%4").arg(drawn.first).arg(drawn.second).arg(text.first).arg(text.second);
        });
        const int status = waitForEnd(finished);
        disconnect(c);
        QCOMPARE(status, int(RunStatus::Completed));
        qInfo("%d drains checked", ticks);
        QVERIFY2(wrong.isEmpty(), qPrintable(wrong.mid(0, 5).join(QStringLiteral("; "))));
    }

    // Rank 1 killed mid-run: the lab's run fails naming rank 1, and the lab carries on.
    void killedRankEndsTheRun()
    {
        setControls(2, 1, 0, 50);
        QSignalSpy finished(w, &MainWindow::runFinished);
        const int id = start();
        QVERIFY(id > 0);
        QVERIFY(waitUntil([&] { return w->trainingView()->minibatchCount(id) >= 3 || !w->controller()->busy(); },
                          kRunTimeoutMs));
        const QList<qint64> pids = w->controller()->rankPids();
        QCOMPARE(pids.size(), 1);
        QVERIFY(::kill(static_cast<pid_t>(pids[0]), SIGKILL) == 0);
        QCOMPARE(waitForEnd(finished), int(RunStatus::Failed));
        const QString message = w->statusMessage();
        QVERIFY2(message.contains(QStringLiteral("rank 1")), qPrintable(message));
        QVERIFY2(message.contains(QStringLiteral("killed")), qPrintable(message));
        QVERIFY(!w->controller()->busy());
        QVERIFY(processGone(pids[0]));
        QVERIFY(child<QPushButton>("startButton")->isEnabled()); // the lab is alive and ready
    }

    // Stop ends every rank: no process is left.
    void stopLeavesNoProcess()
    {
        setControls(3, 1, 0, 50);
        QSignalSpy finished(w, &MainWindow::runFinished);
        const int id = start();
        QVERIFY(id > 0);
        QVERIFY(waitUntil([&] { return w->trainingView()->minibatchCount(id) >= 2 || !w->controller()->busy(); },
                          kRunTimeoutMs));
        QVERIFY2(w->controller()->busy(), qPrintable(w->statusMessage()));
        const QList<qint64> pids = w->controller()->rankPids();
        QCOMPARE(pids.size(), 2);
        QTest::mouseClick(child<QPushButton>("stopButton"), Qt::LeftButton);
        QCOMPARE(waitForEnd(finished), int(RunStatus::Cancelled));
        for (qint64 pid : pids)
            QVERIFY2(processGone(pid), qPrintable(QString::number(pid)));
        QVERIFY(w->controller()->rankPids().isEmpty());
    }

    // Stop while the ranks are still joining ends the job, rank 0's join included: its
    // rendezvous is closed by the time the run has ended (a join left to give up by itself
    // would serve it until its timeout), and the user is told the run was stopped.
    void stopWhileJoining()
    {
        setControls(2, 1, 0, 50);
        QSignalSpy finished(w, &MainWindow::runFinished);
        QVERIFY(start() > 0);
        const QList<qint64> pids = w->controller()->rankPids();
        QCOMPARE(pids.size(), 1);
        QVERIFY(::kill(static_cast<pid_t>(pids[0]), SIGSTOP) == 0); // rank 1 never joins
        const QStringList master = w->controller()->rankMaster().split(QLatin1Char(':'));
        QCOMPARE(master.size(), 2);
        const int port = master[1].toInt();
        // rank 0 serves the rendezvous and waits there for rank 1
        QVERIFY(waitUntil([&] { return canConnect(port); }, 60000));
        QVERIFY(w->controller()->busy());
        QTest::mouseClick(child<QPushButton>("stopButton"), Qt::LeftButton);
        QCOMPARE(waitForEnd(finished), int(RunStatus::Cancelled));
        QVERIFY2(!canConnect(port), "rank 0's rendezvous still listens: its join was left running");
        QVERIFY2(w->statusMessage().contains(QStringLiteral("stopped")), qPrintable(w->statusMessage()));
        qInfo("%s", qPrintable(w->statusMessage()));
        QVERIFY(processGone(pids[0]));
        QVERIFY(child<QPushButton>("startButton")->isEnabled());
    }

    // Closing the window in the middle of a job ends every rank.
    void closingTheWindowEndsEveryRank()
    {
        auto* other = new MainWindow;
        other->show();
        auto* source = other->findChild<QComboBox*>(QStringLiteral("dataSourceCombo"));
        source->setCurrentIndex(source->findData(int(DatasetLoader::Source::Synthetic)));
        QVERIFY(waitUntil([&] { return !other->loader()->loading() && other->loader()->data(); }, 60000));
        MainWindow* mine = w;
        w = other; // setControls and start drive this window
        setControls(2, 1, 0, 50);
        const int id = start();
        QVERIFY(id > 0);
        QVERIFY(waitUntil([&] { return other->trainingView()->minibatchCount(id) >= 2 || !other->controller()->busy(); },
                          kRunTimeoutMs));
        const QList<qint64> pids = other->controller()->rankPids();
        w = mine;
        QCOMPARE(pids.size(), 1);
        QElapsedTimer t;
        t.start();
        other->close();
        delete other;
        qInfo("closed the window in %lld ms", static_cast<long long>(t.elapsed()));
        QVERIFY2(processGone(pids[0]), qPrintable(QString::number(pids[0])));
    }

    // A rank that cannot run (here a program that fails at once) ends the run before the
    // ranks have joined, naming it; a gpulab-cli that is not there is refused at Start.
    void rankThatCannotRun()
    {
        setControls(2, 1, 0, 1);
        qputenv("GPULAB_CLI", "/bin/false");
        QSignalSpy finished(w, &MainWindow::runFinished);
        const int id = start();
        qputenv("GPULAB_CLI", GPULAB_CLI);
        QVERIFY(id > 0);
        QCOMPARE(waitForEnd(finished), int(RunStatus::Failed));
        QVERIFY2(w->statusMessage().contains(QStringLiteral("rank 1 ended with exit code 1")),
                 qPrintable(w->statusMessage()));
        qputenv("GPULAB_CLI", "/nonexistent/gpulab-cli");
        QString error;
        QVERIFY(!w->startRun(&error));
        qputenv("GPULAB_CLI", GPULAB_CLI);
        QVERIFY2(error.contains(QStringLiteral("GPULAB_CLI names /nonexistent/gpulab-cli")), qPrintable(error));
        QVERIFY(!w->controller()->busy());
    }

    // The panel refuses what a job cannot do, with the reason.
    void panelRefusesWhatAJobCannotDo()
    {
        setControls(2, 2, 0, 1);
        child<QSpinBox>("batchSpin")->setValue(3);
        QVERIFY(!child<QPushButton>("startButton")->isEnabled());
        QVERIFY2(child<QLabel>("validationLabel")->text().contains(QStringLiteral("(4)")),
                 qPrintable(child<QLabel>("validationLabel")->text()));
        child<QSpinBox>("batchSpin")->setValue(240);
        child<QCheckBox>("stepModeCheck")->setChecked(true);
        QVERIFY(!child<QPushButton>("startButton")->isEnabled());
        QVERIFY2(child<QLabel>("validationLabel")->text().contains(QStringLiteral("Step")),
                 qPrintable(child<QLabel>("validationLabel")->text()));
        child<QCheckBox>("stepModeCheck")->setChecked(false);
        QVERIFY(child<QPushButton>("startButton")->isEnabled());
        // Pause and Step stay off for a job, and their tooltips say why; with 1 rank they are
        // the usual ones
        for (const char* button : {"pauseButton", "stepButton"})
            QVERIFY2(child<QPushButton>(button)->toolTip().contains(QStringLiteral("A job of several ranks cannot")),
                     qPrintable(child<QPushButton>(button)->toolTip()));
        child<QSpinBox>("ranksSpin")->setValue(1);
        QVERIFY2(child<QPushButton>("pauseButton")->toolTip().startsWith(QStringLiteral("Pause at the next minibatch")),
                 qPrintable(child<QPushButton>("pauseButton")->toolTip()));
        QVERIFY2(child<QPushButton>("stepButton")->toolTip().startsWith(QStringLiteral("While paused")),
                 qPrintable(child<QPushButton>("stepButton")->toolTip()));
    }

    // Headless: gpulab --ranks 2 ... --run --export-dir D --quit finds gpulab-cli beside it
    // and exports the whole job.
    void headlessJob()
    {
        QTemporaryDir dir;
        QProcess p;
        QProcessEnvironment env = offscreenEnvironment();
        env.remove(QStringLiteral("GPULAB_CLI"));
        p.setProcessEnvironment(env);
        p.start(QStringLiteral(GPULAB_APP),
                {QStringLiteral("--ranks"), QStringLiteral("2"), QStringLiteral("--devices"), QStringLiteral("2"),
                 QStringLiteral("--synthetic"), QStringLiteral("--subset"), QStringLiteral("1024"),
                 QStringLiteral("--test-subset"), QStringLiteral("256"), QStringLiteral("--epochs"),
                 QStringLiteral("1"), QStringLiteral("--run"), QStringLiteral("--record"),
                 dir.filePath(QStringLiteral("job.gpurec")), QStringLiteral("--export-dir"), dir.path(),
                 QStringLiteral("--quit")});
        QVERIFY(p.waitForFinished(kRunTimeoutMs));
        const QByteArray err = p.readAllStandardError();
        QVERIFY2(p.exitStatus() == QProcess::NormalExit && p.exitCode() == 0, err.constData());
        QVERIFY2(err.contains("2 ranks x 2 x cpu-sim"), err.constData());
        QFile devices(dir.filePath(QStringLiteral("devices.csv")));
        QVERIFY(devices.open(QIODevice::ReadOnly));
        QCOMPARE(QString::fromUtf8(devices.readAll()).split(QLatin1Char('\n'), Qt::SkipEmptyParts).size(), 5);
        // the recording made as the job went holds the job: 4 devices, 2 a rank
        const Recording rec = read_recording(dir.filePath(QStringLiteral("job.gpurec")).toStdString());
        QVERIFY(rec.complete);
        QCOMPARE(rec.header.devices.size(), size_t(4));
        QCOMPARE(rec.header.devices[3], std::string("rank 1: cpu-sim(1)"));
        bool begin = false;
        for (const Event& e : rec.events)
            if (const auto* x = e.get<ev::RunBegin>()) {
                QCOMPARE(x->device_ranks, (std::vector<int>{0, 0, 1, 1}));
                begin = true;
            }
        QVERIFY(begin);
    }
};

QTEST_MAIN(TestLabRanks)
#include "tst_lab_ranks.moc"
