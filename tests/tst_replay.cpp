// Replay tests: a recording played in the lab feeds every view as the live run did.
// Headless, the exports after a replay equal the live run's byte for byte; in the window,
// the controls (play/pause, speed, scrub, epoch, allreduce step) move the views, several
// recordings overlay, an incomplete one says so, a bad one changes nothing, and a live run
// leaves replay mode. The examples shipped with the lab open and read completely.
#include "allreduce_view.h"
#include "control_panel.h"
#include "core_messages.h"
#include "main_window.h"
#include "memory_view.h"
#include "replay_panel.h"
#include "replay_source.h"
#include "record/recording.h"
#include "script_runner.h"
#include "training_view.h"
#include "support/offscreen_environment.h"

#include <qcustomplot.h>

#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QFormLayout>
#include <QLabel>
#include <QMenu>
#include <QProcess>
#include <QProgressBar>
#include <QPushButton>
#include <QSignalSpy>
#include <QStackedWidget>
#include <QTemporaryDir>
#include <QToolButton>
#include <QtTest>

using namespace gpulab;

namespace {

constexpr int kRunTimeoutMs = 180000; // a loaded 2-core machine

QByteArray readAll(const QString& path)
{
    QFile f(path);
    return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray("(cannot read ") + path.toUtf8() + ')';
}

} // namespace

class TestReplay : public QObject {
    Q_OBJECT

    QTemporaryDir m_dir;
    QString m_recording;   // a completed 3-epoch, 2-device run recorded by the lab
    QString m_liveExport;  // what that live run exported
    QString m_other;       // a 1-device run, to overlay

    QString path(const QString& name) const { return QDir(m_dir.path()).filePath(name); }

    // gpulab with args; its exit code (-1 when it did not end), stderr in *err
    int gpulab(const QStringList& args, QByteArray* err = nullptr)
    {
#ifdef GPULAB_APP
        QProcess p;
        p.setProcessEnvironment(offscreenEnvironment());
        p.start(QStringLiteral(GPULAB_APP), args);
        if (!p.waitForFinished(kRunTimeoutMs))
            return -1;
        if (err)
            *err = p.readAllStandardError();
        return p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1;
#else
        Q_UNUSED(args);
        Q_UNUSED(err);
        return -1;
#endif
    }

private slots:
    void initTestCase()
    {
#ifndef GPULAB_APP
        QSKIP("the gpulab executable is not built");
#endif
        QVERIFY(m_dir.isValid());
        m_recording = path(QStringLiteral("live.gpurec"));
        m_liveExport = path(QStringLiteral("live"));
        const QStringList small{QStringLiteral("--synthetic"), QStringLiteral("--subset"), QStringLiteral("384"),
                                QStringLiteral("--test-subset"), QStringLiteral("128"), QStringLiteral("--batch-size"),
                                QStringLiteral("64"), QStringLiteral("--run"), QStringLiteral("--quit")};
        QByteArray err;
        QCOMPARE(gpulab(QStringList{QStringLiteral("--preset"), QStringLiteral("book-2"), QStringLiteral("--epochs"),
                                    QStringLiteral("3")} +
                            small +
                            QStringList{QStringLiteral("--record"), m_recording, QStringLiteral("--export-dir"),
                                        m_liveExport},
                        &err),
                 0);
        m_other = path(QStringLiteral("one.gpurec"));
        QCOMPARE(gpulab(QStringList{QStringLiteral("--preset"), QStringLiteral("book-1"), QStringLiteral("--epochs"),
                                    QStringLiteral("2")} +
                            small + QStringList{QStringLiteral("--record"), m_other},
                        &err),
                 0);
    }

    // `gpulab --replay FILE --export-dir DIR --quit` writes what the live run wrote: the
    // same files, the training CSVs, memory.csv, the events and the trace byte for byte
    // (the Memory view thins the allocations in 5 ms buckets whose points do not depend on
    // how the events were split into drains).
    void headlessReplayExportsWhatTheLiveRunExported()
    {
        const QString out = path(QStringLiteral("replayed"));
        QByteArray err;
        QCOMPARE(gpulab({QStringLiteral("--replay"), m_recording, QStringLiteral("--export-dir"), out,
                         QStringLiteral("--quit")},
                        &err),
                 0);
        for (const char* name : {"training_loss.csv", "training_epochs.csv", "memory.csv", "events.csv", "trace.json"}) {
            const QByteArray live = readAll(QDir(m_liveExport).filePath(QLatin1String(name)));
            const QByteArray replayed = readAll(QDir(out).filePath(QLatin1String(name)));
            QVERIFY2(live.size() > 40, name);
            QVERIFY2(live == replayed, name);
        }
        // the same files, screenshots included
        QStringList liveFiles = QDir(m_liveExport).entryList(QDir::Files);
        QStringList replayedFiles = QDir(out).entryList(QDir::Files);
        QCOMPARE(replayedFiles, liveFiles);
        // 3 epochs were recorded and replayed (the header line and three rows)
        QCOMPARE(readAll(QDir(out).filePath(QStringLiteral("training_epochs.csv"))).count('\n'), 4);

        // played on the clock at 16x (fed in the timer's batches) instead of at once: the same
        const QString played = path(QStringLiteral("played"));
        QCOMPARE(gpulab({QStringLiteral("--replay"), m_recording, QStringLiteral("--replay-speed"), QStringLiteral("16"),
                         QStringLiteral("--export-dir"), played, QStringLiteral("--quit")},
                        &err),
                 0);
        QVERIFY2(err.contains("replay of run 1 ended"), err.constData());
        for (const char* name : {"training_loss.csv", "training_epochs.csv", "memory.csv", "events.csv"})
            QVERIFY2(readAll(QDir(m_liveExport).filePath(QLatin1String(name))) ==
                         readAll(QDir(played).filePath(QLatin1String(name))),
                     name);
        QCOMPARE(gpulab({QStringLiteral("--replay"), m_recording, QStringLiteral("--replay-speed"), QStringLiteral("32")},
                        &err),
                 2);
    }

    // A killed run replays what it holds, says it is incomplete and exits 1; a file that is
    // not a recording is one message and exit 2, with nothing written.
    void headlessIncompleteAndBadFiles()
    {
        const QByteArray whole = readAll(m_recording);
        const QString half = path(QStringLiteral("half.gpurec"));
        {
            QFile f(half);
            QVERIFY(f.open(QIODevice::WriteOnly));
            f.write(whole.left(whole.size() * 2 / 3));
        }
        QByteArray err;
        const QString out = path(QStringLiteral("half"));
        QCOMPARE(gpulab({QStringLiteral("--replay"), half, QStringLiteral("--export-dir"), out, QStringLiteral("--quit")},
                        &err),
                 1);
        QVERIFY2(err.contains("the recording is incomplete"), err.constData());
        QVERIFY(QFile::exists(QDir(out).filePath(QStringLiteral("training_loss.csv"))));

        const QString json = path(QStringLiteral("not-a-recording.json"));
        {
            QFile f(json);
            QVERIFY(f.open(QIODevice::WriteOnly));
            f.write("{\"a\": [1, 2, 3]}\n");
        }
        const QString none = path(QStringLiteral("none"));
        QCOMPARE(gpulab({QStringLiteral("--replay"), json, QStringLiteral("--export-dir"), none, QStringLiteral("--quit")},
                        &err),
                 2);
        QVERIFY2(err.contains("not-a-recording.json") && err.contains("JSON"), err.constData());
        QVERIFY(!QDir(none).exists());
        // --replay is not for runs
        QCOMPARE(gpulab({QStringLiteral("--replay"), m_recording, QStringLiteral("--run")}, &err), 2);
    }

    // File → Open recording reads on a thread of its own: the call returns at once, the
    // status bar shows the progress and Cancel, and the replay starts once the file is read.
    // A bad file is one message and the lab as it was; so is Cancel.
    void opensInTheBackground()
    {
        MainWindow w;
        w.show();
        auto* bar = w.findChild<QProgressBar*>(QStringLiteral("recordingLoadProgress"));
        auto* cancel = w.findChild<QToolButton*>(QStringLiteral("recordingLoadCancel"));
        QVERIFY(bar && cancel);
        QVERIFY(!bar->isVisible() && !cancel->isVisible());

        w.openRecordingsInBackground({m_recording});
        QVERIFY(w.loadingRecordings());
        QVERIFY(!w.replaying()); // nothing changes before the whole file is read
        QVERIFY(bar->isVisible() && cancel->isVisible());
        QVERIFY(w.statusMessage().contains(QStringLiteral("live.gpurec")));
        QTRY_VERIFY_WITH_TIMEOUT(w.replaying(), 60000);
        QVERIFY(!w.loadingRecordings());
        QVERIFY(!bar->isVisible() && !cancel->isVisible());
        QCOMPARE(bar->value(), 1000); // the progress reached the file's end
        QVERIFY2(w.statusMessage().startsWith(QStringLiteral("Replaying live.gpurec")), qPrintable(w.statusMessage()));
        w.replayToEnd();
        const int runs = w.trainingView()->runCount();
        QVERIFY(runs >= 1);

        // a bad file: one message; the replay open stays as it was
        const QString json = path(QStringLiteral("also-not-a-recording.json"));
        {
            QFile f(json);
            QVERIFY(f.open(QIODevice::WriteOnly));
            f.write("[1, 2, 3]\n");
        }
        w.openRecordingsInBackground({json});
        QTRY_VERIFY_WITH_TIMEOUT(!w.loadingRecordings(), 60000);
        QVERIFY2(w.statusMessage().contains(QStringLiteral("also-not-a-recording.json")) &&
                     w.statusMessage().contains(QStringLiteral("JSON")),
                 qPrintable(w.statusMessage()));
        QVERIFY(w.replaying());
        QCOMPARE(w.trainingView()->runCount(), runs);
        QVERIFY(!bar->isVisible());

        // Cancel: the reading stops and nothing changes
        w.leaveReplay();
        w.openRecordingsInBackground({m_recording, m_other});
        QVERIFY(w.loadingRecordings());
        cancel->click();
        QTRY_VERIFY_WITH_TIMEOUT(!w.loadingRecordings(), 60000);
        QVERIFY2(w.statusMessage().contains(QStringLiteral("cancelled")), qPrintable(w.statusMessage()));
        QVERIFY(!w.replaying());
        QCOMPARE(w.trainingView()->runCount(), runs);
        // nothing arrives later from the cancelled reading
        QTest::qWait(200);
        QVERIFY(!w.replaying());

        // opening again while a file is read replaces that reading
        w.openRecordingsInBackground({json});
        w.openRecordingsInBackground({m_other});
        QTRY_VERIFY_WITH_TIMEOUT(w.replaying(), 60000);
        QCOMPARE(w.replayPanel()->findChild<QLabel*>(QStringLiteral("replayFile"))->text(), QStringLiteral("one.gpurec"));
    }

    // `gpulab --replay FILE`: the data set is not read while the recording is (the lab read
    // both at once), but after it, in the background, ready for a live run; a data set that
    // is missing is still said in the panel.
    void dataSetWaitsForTheRecordings()
    {
        MainWindow w; // asks for the data set, as every start does
        QVERIFY(w.loader()->loading());
        w.panel()->setDataDir(path(QStringLiteral("no-fashion-mnist-here")));
        w.loadData(); // as a saved setting's folder would
        w.show();
        auto* script = new ScriptRunner(&w);
        ScriptOptions one;
        one.replay = {m_recording};
        script->run(one);
        QVERIFY(w.loadingRecordings());
        int turns = 0;
        while (w.loadingRecordings()) {
            QVERIFY2(!w.loader()->reading(), "the data set is being read with the recording");
            QVERIFY(w.loader()->loading()); // asked for, waiting
            QTest::qWait(1);
            QVERIFY(++turns < 60000);
        }
        QVERIFY(w.replaying());
        QTRY_VERIFY_WITH_TIMEOUT(!w.loader()->loading(), 60000); // then it was read
        QVERIFY(!w.loader()->data());
        QVERIFY2(w.loader()->error().contains(QStringLiteral("no-fashion-mnist-here")), qPrintable(w.loader()->error()));
        QVERIFY2(w.panel()->problem().contains(QStringLiteral("no-fashion-mnist-here")), qPrintable(w.panel()->problem()));
        w.leaveReplay();
        QVERIFY(w.panel()->isVisibleTo(&w));
        QString error;
        QVERIFY(!w.startRun(&error)); // Start says what is missing
        QVERIFY2(error.contains(QStringLiteral("no-fashion-mnist-here")), qPrintable(error));
    }

    // `gpulab --replay FILE ... --quit` plays the recording (at once, or at --replay-speed),
    // exports and quits: it reads the data set neither with the recording nor after it, as a
    // replay that stays open does (above) for a live Start.
    void quittingReplayNeverReadsTheDataSet()
    {
        for (const bool played : {false, true}) {
            MainWindow w; // asks for the data set, as every start does
            QVERIFY(w.loader()->loading());
            w.show();
            auto* script = new ScriptRunner(&w);
            QSignalSpy quit(script, &ScriptRunner::quitRequested);
            ScriptOptions o;
            o.replay = {m_recording};
            o.exportDir = path(played ? QStringLiteral("quit-played") : QStringLiteral("quit-exported"));
            o.quit = true;
            if (played)
                o.replaySpeed = 16;
            script->run(o);
            QElapsedTimer clock;
            clock.start();
            while (quit.isEmpty()) {
                QVERIFY2(!w.loader()->reading(), "the data set is being read during a replay that quits");
                QVERIFY(clock.elapsed() < kRunTimeoutMs);
                QTest::qWait(1);
            }
            QCOMPARE(quit.first().first().toInt(), 0);
            QVERIFY(QFile::exists(QDir(o.exportDir).filePath(QStringLiteral("training_loss.csv"))));
            // a load would begin from the event loop once the reading has ended: let it have turns
            QTest::qWait(100);
            QVERIFY2(!w.loader()->reading() && !w.loader()->data(), "the data set was read after a replay that quits");
            QVERIFY(w.loader()->loading()); // asked for, and held
        }
    }

    // `gpulab --replay FILE ...` (the script behind the command line) reads as File → Open
    // recording does: when the script has begun, the window is up and says it is reading,
    // with the progress and Cancel, and nothing replays yet (the reading's end can only
    // arrive through the event loop, so this holds on any machine); then the replay plays,
    // several files together, the one chosen with --replay-show in the single views.
    // Cancel leaves the lab idle and usable; a bad file is the window's one message and
    // changes nothing; headless, the exports wait for the reading.
    void commandLineReplayReadsInTheBackground()
    {
        MainWindow w;
        w.show();
        auto* bar = w.findChild<QProgressBar*>(QStringLiteral("recordingLoadProgress"));
        auto* cancel = w.findChild<QToolButton*>(QStringLiteral("recordingLoadCancel"));
        QVERIFY(bar && cancel);
        auto* script = new ScriptRunner(&w);

        ScriptOptions two;
        two.replay = {m_recording, m_other};
        two.replayShow = 2;
        script->run(two);
        QVERIFY(script->active());
        QVERIFY(w.loadingRecordings());
        QVERIFY(!w.replaying());
        QVERIFY(bar->isVisible() && cancel->isVisible());
        QVERIFY2(w.statusMessage().contains(QStringLiteral("live.gpurec and 1 more")), qPrintable(w.statusMessage()));
        QTRY_VERIFY_WITH_TIMEOUT(w.replaying(), 60000);
        QVERIFY(!w.loadingRecordings() && !bar->isVisible());
        QCOMPARE(int(w.replaySession()->sources().size()), 2);
        QCOMPARE(w.shownRecording(), 1);
        QVERIFY(w.replaySession()->playing());
        QVERIFY(!script->active()); // in the window the script is done once the replay plays

        // Cancel while a command-line replay is read: the lab idle, the script over, and the
        // lab usable (a recording opens)
        w.leaveReplay();
        ScriptOptions one;
        one.replay = {m_recording};
        script->run(one);
        QVERIFY(w.loadingRecordings());
        cancel->click();
        QTRY_VERIFY_WITH_TIMEOUT(!w.loadingRecordings(), 60000);
        QVERIFY(!script->active());
        QVERIFY(!w.replaying());
        QVERIFY(!bar->isVisible() && !cancel->isVisible());
        QVERIFY2(w.statusMessage().contains(QStringLiteral("Opening live.gpurec was cancelled")),
                 qPrintable(w.statusMessage()));
        QTest::qWait(200); // nothing arrives later from the cancelled reading
        QVERIFY(!w.replaying());
        w.openRecordingsInBackground({m_other});
        QTRY_VERIFY_WITH_TIMEOUT(w.replaying(), 60000);

        // a bad file: the window's one message; the replay open stays, the script ends
        const QString bad = path(QStringLiteral("script-not-a-recording.json"));
        {
            QFile f(bad);
            QVERIFY(f.open(QIODevice::WriteOnly));
            f.write("{\"not\": \"a recording\"}\n");
        }
        ScriptOptions wrong;
        wrong.replay = {m_recording, bad};
        script->run(wrong);
        QVERIFY(w.loadingRecordings());
        QTRY_VERIFY_WITH_TIMEOUT(!w.loadingRecordings(), 60000);
        QVERIFY(!script->active());
        QVERIFY2(w.statusMessage().contains(QStringLiteral("script-not-a-recording.json")) &&
                     w.statusMessage().contains(QStringLiteral("JSON")),
                 qPrintable(w.statusMessage()));
        QVERIFY(w.replaying());
        QCOMPARE(int(w.replaySession()->sources().size()), 1);
        QCOMPARE(w.replayPanel()->findChild<QLabel*>(QStringLiteral("replayFile"))->text(), QStringLiteral("one.gpurec"));

        // headless (a fresh window, as a fresh process has): nothing is written while the
        // file is read; once read, the live run's files
        MainWindow fresh;
        fresh.show();
        auto* freshScript = new ScriptRunner(&fresh);
        const QString out = path(QStringLiteral("script-replayed"));
        ScriptOptions headless;
        headless.replay = {m_recording};
        headless.exportDir = out;
        freshScript->run(headless);
        QVERIFY(fresh.loadingRecordings());
        QVERIFY(!QDir(out).exists());
        QTRY_VERIFY_WITH_TIMEOUT(!freshScript->active(), 60000);
        QVERIFY(fresh.replaying());
        for (const char* name : {"training_loss.csv", "training_epochs.csv", "memory.csv"})
            QVERIFY2(readAll(QDir(m_liveExport).filePath(QLatin1String(name))) ==
                         readAll(QDir(out).filePath(QLatin1String(name))),
                     name);
    }

    // The keys of a live run act on a replay: F6 (Pause/Resume) pauses and plays it, F10
    // (Step) pauses at the next allreduce step, whose transfers the Allreduce view then has.
    void keysPauseAndStepAReplay()
    {
        MainWindow w;
        w.show();
        w.activateWindow();
        QVERIFY(QTest::qWaitForWindowActive(&w));
        QString error;
        QVERIFY2(w.openRecordings({m_recording}, &error), qPrintable(error));
        ReplaySession* s = w.replaySession();
        QVERIFY(s->playing()); // a recording plays once open

        QTest::keyClick(&w, Qt::Key_F6);
        QVERIFY(!s->playing());
        const double paused = s->position();
        QTest::qWait(150);
        QCOMPARE(s->position(), paused); // paused: the playhead stays
        QTest::keyClick(&w, Qt::Key_F6);
        QVERIFY(s->playing());
        QTRY_VERIFY_WITH_TIMEOUT(s->position() > paused, 10000); // and moves on
        QTest::keyClick(&w, Qt::Key_F6);
        QVERIFY(!s->playing());

        // F10 from the start: each press, the end of the next allreduce step, paused there.
        // What the view received while it played above stays in its count (the play may have
        // passed the first steps on a slow machine): only what arrives from the start counts.
        const int receivedBefore = w.allreduceView()->receivedCount();
        w.replaySeek(0);
        const std::vector<double>& steps = s->primary().stepTimes();
        QVERIFY(steps.size() > 4);
        auto fed = [&](auto pred) {
            int n = 0;
            for (const Event& e : s->primary().events())
                n += pred(e) ? 1 : 0;
            return n;
        };
        double at = 0;
        for (int press = 0; press < 4; ++press) {
            QTest::keyClick(&w, Qt::Key_F10);
            QVERIFY(!s->playing());
            const double expected = *std::upper_bound(steps.begin(), steps.end(), at);
            QCOMPARE(s->position(), expected);
            at = expected;
            // every step that ended by then has reached the views, none after it
            const int stepsFed = fed([](const Event& e) { return e.is<ev::AllreduceStep>(); });
            QCOMPARE(stepsFed, int(std::upper_bound(steps.begin(), steps.end(), at) - steps.begin()));
            const int gradSnapshots = fed([](const Event& e) {
                const auto* snap = e.get<ev::Snapshot>();
                return snap && snap->what != SnapshotWhat::Params;
            });
            QCOMPARE(w.allreduceView()->receivedCount() - receivedBefore, stepsFed + gradSnapshots);
        }
        // F6 then plays on from that step
        QTest::keyClick(&w, Qt::Key_F6);
        QVERIFY(s->playing());
        QTRY_VERIFY_WITH_TIMEOUT(s->position() > at, 10000);
    }

    // In the window: the panel, the controls, scrubbing back and forth, epochs, steps.
    void controlsMoveTheViews()
    {
        MainWindow w;
        w.show();
        auto* left = w.findChild<QStackedWidget*>();
        QVERIFY(left);
        QWidget* panelPage = left->currentWidget();

        // a bad file: one message, the lab as it was
        QString error;
        QVERIFY(!w.openRecordings({path(QStringLiteral("not-a-recording.json"))}, &error));
        QVERIFY2(error.contains(QStringLiteral("JSON")), qPrintable(error));
        QVERIFY(!w.replaying());
        QCOMPARE(left->currentWidget(), panelPage);
        QCOMPARE(w.trainingView()->runCount(), 0);

        QVERIFY2(w.openRecordings({m_recording}, &error), qPrintable(error));
        QVERIFY(w.replaying());
        QVERIFY(left->currentWidget() != panelPage);
        ReplayPanel* rp = w.replayPanel();
        QCOMPARE(rp->findChild<QLabel*>(QStringLiteral("replayFile"))->text(), QStringLiteral("live.gpurec"));
        QVERIFY(!rp->findChild<QLabel*>(QStringLiteral("replayMachine"))->text().isEmpty());
        QVERIFY(rp->findChild<QLabel*>(QStringLiteral("replayDate"))->text().startsWith(QStringLiteral("20")));
        // the recorded choices in the control panel's words, the command line's word beside them
        QStringList shown;
        for (const QLabel* l : rp->findChild<QWidget*>(QStringLiteral("replaySettings"))->findChildren<QLabel*>())
            shown << l->text();
        QVERIFY2(shown.contains(QStringLiteral("sync (wait every minibatch) \u00b7 sync")), qPrintable(shown.join(u'|')));
        QVERIFY2(shown.contains(QStringLiteral("naive (the book's: via device 0) \u00b7 naive")), qPrintable(shown.join(u'|')));
        QVERIFY(!rp->findChild<QLabel*>(QStringLiteral("replayNotice"))->isVisibleTo(rp));
        ReplaySession* s = w.replaySession();
        QVERIFY(s->playing());
        QVERIFY(s->duration() > 0);
        const int run = w.currentRunId();

        // pause: nothing moves
        w.replayPlay(false);
        const double at = s->position();
        QTest::qWait(150);
        QCOMPARE(s->position(), at);

        // to the end: every epoch; back to the start of epoch 2: one epoch, then forward again
        QSignalSpy ended(&w, &MainWindow::replayFinished);
        w.replayToEnd();
        QCOMPARE(ended.count(), 1);
        QCOMPARE(w.trainingView()->epochCount(run), 3);
        const int losses = w.trainingView()->minibatchCount(run);
        QVERIFY(losses > 0);
        QVERIFY(w.replayJumpToEpoch(2));
        QCOMPARE(w.trainingView()->epochCount(run), 1);
        QCOMPARE(w.trainingView()->runCount(), 1); // begun again, not a second run
        QVERIFY(w.trainingView()->minibatchCount(run) < losses);
        QVERIFY(!w.replayJumpToEpoch(9));
        w.replaySeek(s->duration());
        QCOMPARE(w.trainingView()->epochCount(run), 3);
        QCOMPARE(w.trainingView()->minibatchCount(run), losses);
        QCOMPARE(ended.count(), 2);

        // allreduce steps: one at a time, paused, forward and back
        w.replaySeek(0);
        QCOMPARE(w.trainingView()->minibatchCount(run), 0);
        w.replayStep(+1);
        QVERIFY(!s->playing());
        const double first = s->position();
        QVERIFY(first > 0);
        w.replayStep(+1);
        QVERIFY(s->position() > first);
        w.replayStep(-1);
        QCOMPARE(s->position(), first);

        // speed: 0.25x to 16x, and no further
        w.replaySetSpeed(16);
        QCOMPARE(s->speed(), 16.0);
        w.replaySetSpeed(100);
        QCOMPARE(s->speed(), 16.0);
        w.replaySetSpeed(0.25);
        QCOMPARE(s->speed(), 0.25);
        // playing at 16x reaches the end by itself
        w.replaySetSpeed(16);
        w.replayPlay(true);
        QTRY_VERIFY_WITH_TIMEOUT(s->atEnd(), 60000);
        QTRY_COMPARE_WITH_TIMEOUT(w.trainingView()->epochCount(run), 3, 5000);

        // the panel on one line (projector mode): the replay panel goes, its summary stays
        w.setPanelCollapsed(true);
        QVERIFY(!left->isVisible());
        QVERIFY(w.findChild<QLabel*>(QStringLiteral("panelSummary"))->text().contains(QStringLiteral("live.gpurec")));
        w.setPanelCollapsed(false);
        QVERIFY(left->isVisible());

        // a live run again: replay mode is left, the control panel is back
        w.leaveReplay();
        QVERIFY(!w.replaying());
        QCOMPARE(left->currentWidget(), panelPage);
        QCOMPARE(w.trainingView()->epochCount(run), 3); // what was shown stays
    }

    // A job's recording (2 ranks x 1 device; config() counts both ranks' devices) shows its
    // settings as the job was run: devices 1, ranks 2, in the panel, its summary and the
    // overlay's line. Made from the lab's 2-device recording, its run begin saying 2 ranks, as
    // a job's does.
    void jobRecordingShowsItsRanks()
    {
        const Recording rec = read_recording(m_recording.toStdString());
        QVERIFY(rec.complete);
        const QString job = path(QStringLiteral("job.gpurec"));
        {
            RecordingHeader h = rec.header;
            h.devices = {"rank 0: cpu-sim(0)", "rank 1: cpu-sim(0)"};
            RecordingWriter out(job.toStdString(), h);
            int begins = 0;
            for (Event e : rec.events) {
                if (auto* b = e.get<ev::RunBegin>()) {
                    QCOMPARE(b->devices, 2);
                    b->world = 2;
                    b->device_ranks = {0, 1};
                    ++begins;
                }
                const auto* snap = e.get<ev::Snapshot>();
                out.add(e, snap ? rec.snapshots.at(size_t(snap->index)).get() : nullptr);
            }
            QCOMPARE(begins, 1);
            out.finish(RunStatus::Completed, Error{});
        }
        ReplaySource src(job);
        QCOMPARE(src.ranks(), 2);
        QCOMPARE(src.config().devices, 2);

        MainWindow w;
        w.show();
        QString error;
        QVERIFY2(w.openRecordings({job, m_other}, &error), qPrintable(error));
        auto* form = qobject_cast<QFormLayout*>(
            w.replayPanel()->findChild<QWidget*>(QStringLiteral("replaySettings"))->findChild<QWidget*>()->layout());
        QVERIFY(form);
        QMap<QString, QString> shown;
        for (int i = 0; i < form->rowCount(); ++i) {
            auto* label = form->itemAt(i, QFormLayout::LabelRole);
            auto* value = form->itemAt(i, QFormLayout::FieldRole);
            if (label && value && label->widget() && value->widget())
                shown[qobject_cast<QLabel*>(label->widget())->text()] = qobject_cast<QLabel*>(value->widget())->text();
        }
        QCOMPARE(shown.value(settingLabel("devices")), QStringLiteral("1"));
        QCOMPARE(shown.value(settingLabel("ranks")), QStringLiteral("2"));
        QCOMPARE(shown.value(settingLabel("batch size")), QStringLiteral("64"));
        w.setPanelCollapsed(true);
        const QString summary = w.findChild<QLabel*>(QStringLiteral("panelSummary"))->text();
        QVERIFY2(summary.contains(QStringLiteral("job.gpurec: 2 ranks x 1 x cpu-sim,")), qPrintable(summary));
        w.setPanelCollapsed(false);
        // the other way round: the job overlaid on the 1-device run
        QVERIFY2(w.openRecordings({m_other, job}, &error), qPrintable(error));
        const QString overlays = w.replayPanel()->findChild<QLabel*>(QStringLiteral("replayOverlays"))->text();
        QVERIFY2(overlays.contains(QStringLiteral("2 ranks x 1 x cpu-sim,")), qPrintable(overlays));
    }

    // Two recordings together: the first in every view, the second overlaid in the
    // Training view, the legend naming each file.
    void severalRecordingsOverlay()
    {
        MainWindow w;
        w.show();
        QString error;
        QVERIFY2(w.openRecordings({m_recording, m_other}, &error), qPrintable(error));
        w.replayToEnd();
        QCOMPARE(w.trainingView()->runCount(), 2);
        const int first = w.currentRunId();
        QCOMPARE(w.trainingView()->epochCount(first), 3);
        QCOMPARE(w.trainingView()->epochCount(first + 1), 2);
        QCustomPlot* loss = w.trainingView()->lossPlot();
        QStringList names;
        for (int i = 0; i < loss->graphCount(); ++i)
            if (loss->legend->hasItemWithPlottable(loss->graph(i)))
                names << loss->graph(i)->name();
        QCOMPARE(names.size(), 2);
        QVERIFY2(names.filter(QStringLiteral("live.gpurec")).size() == 1, qPrintable(names.join(';')));
        QVERIFY2(names.filter(QStringLiteral("one.gpurec")).size() == 1, qPrintable(names.join(';')));
        // the Memory view draws both (a sync run beside another sync run: the later one
        // hides the earlier one of its mode, as for live runs; ticked, both show)
        w.memoryView()->setRunShown(first + 1, true);
        QVERIFY(w.memoryView()->runShown(first));
        QVERIFY(w.memoryView()->runShown(first + 1));
        // scrubbing back keeps two runs, not four
        w.replaySeek(0);
        QCOMPARE(w.trainingView()->runCount(), 2);
        QVERIFY(w.replayPanel()->findChild<QLabel*>(QStringLiteral("replayOverlays"))->text().contains(
            QStringLiteral("one.gpurec")));
    }

    // An incomplete recording opens with its notice; Start leaves replay mode.
    void incompleteNoticeAndStartLeaves()
    {
        MainWindow w;
        w.show();
        QString error;
        QVERIFY2(w.openRecordings({path(QStringLiteral("half.gpurec"))}, &error), qPrintable(error));
        QLabel* notice = w.replayPanel()->findChild<QLabel*>(QStringLiteral("replayNotice"));
        QVERIFY(notice->isVisibleTo(w.replayPanel()));
        QVERIFY2(notice->text().contains(QStringLiteral("incomplete")), qPrintable(notice->text()));
        QVERIFY(w.statusMessage().contains(QStringLiteral("incomplete")));
        QVERIFY(!w.replayComplete());
        w.replayToEnd();
        QTRY_VERIFY_WITH_TIMEOUT(!w.loader()->loading(), 60000);
        w.startRun(&error); // may be refused (no data): it still leaves replay mode
        QVERIFY(!w.replaying());
        w.controller()->stop();
        QTRY_VERIFY_WITH_TIMEOUT(!w.controller()->busy(), 60000);
    }

    // Every example shipped with the lab (resources/recordings, embedded) reads completely,
    // plays to its end in the window, and is offered in Help > Example runs.
    void examplesOpenAndReadCompletely()
    {
        const QDir dir(QStringLiteral(":/recordings"));
        const QStringList files = dir.entryList({QStringLiteral("*.gpurec")}, QDir::Files, QDir::Name);
        const QStringList expected{QStringLiteral("book-1-device.gpurec"), QStringLiteral("book-2-devices.gpurec"),
                                   QStringLiteral("gpu-book-2-devices.gpurec"), QStringLiteral("memory-async.gpurec"), QStringLiteral("memory-sync.gpurec"),
                                   QStringLiteral("ring-4-devices.gpurec")};
        QCOMPARE(files, expected);
        MainWindow w;
        w.show();
        QMenu* menu = w.findChild<QMenu*>(QStringLiteral("exampleRunsMenu"));
        QVERIFY(menu);
        int offered = 0;
        for (QAction* a : menu->actions())
            if (a->data().toString().startsWith(QStringLiteral(":/recordings/")))
                ++offered;
        QCOMPARE(offered, files.size());
        for (const QString& f : files) {
            const QString p = dir.filePath(f);
            ReplaySource src(p); // throws on a damaged file: the test fails
            QVERIFY2(src.complete(), qPrintable(f));
            QVERIFY2(src.eventCount() > 100, qPrintable(f));
            QVERIFY2(src.result().status == RunStatus::Completed, qPrintable(f));
            QVERIFY2(src.settingsProblem().isEmpty(), qPrintable(src.settingsProblem()));
            QCOMPARE(src.epochsRecorded(), src.config().epochs);
            QCOMPARE(int(src.header().devices.size()), src.config().devices);
            QString error;
            QVERIFY2(w.openRecordings({p}, &error), qPrintable(error));
            w.replayToEnd();
            QCOMPARE(w.trainingView()->epochCount(w.currentRunId()), src.config().epochs);
        }
    }
};

QTEST_MAIN(TestReplay)
#include "tst_replay.moc"
