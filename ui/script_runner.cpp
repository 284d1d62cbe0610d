// ScriptRunner: presets run in turn (or a sweep, or recordings replayed), then every
// export, then the exit code; what the window does is asked through its public API.
#include "script_runner.h"

#include "control_panel.h"
#include "core_messages.h"
#include "dataset_loader.h"
#include "engine_view.h"
#include "main_window.h"
#include "memory_view.h"
#include "presets.h"
#include "replay_source.h"
#include "run_recorder.h"
#include "sweep_window.h"
#include "train/settings.h"

#include <QDir>
#include <QTimer>

#include <cstdio>

namespace gpulab {

namespace {
void say(const QString& s)
{
    std::fprintf(stderr, "gpulab: %s\n", qPrintable(s));
}
} // namespace

void ScriptRunner::requestQuit(int exitCode)
{
    emit quitRequested(exitCode);
}

ScriptRunner::ScriptRunner(MainWindow* window) : QObject(window), m_w(window)
{
    // A run has ended (and been drained, recorded and shown): the next one, or the end.
    connect(m_w, &MainWindow::recordingsRead, this, &ScriptRunner::replayRead);
    connect(m_w, &MainWindow::runFinished, this, [this] {
        if (!m_script || !m_script->replay.isEmpty())
            return;
        QTimer::singleShot(0, this, [this] {
            ++m_index;
            next();
        });
    });
}

void ScriptRunner::run(const ScriptOptions& opts)
{
    m_script = opts;
    m_reading = 0; // a reading of an earlier script is no longer this one's
    m_index = 0;
    m_failures = 0;
    m_exported = false;
    m_w->clearRecordingFailed();
    if (!opts.view.isEmpty() && !m_w->showView(opts.view))
        say(tr("unknown view '%1' (training, devices, allreduce, memory, engine)").arg(opts.view));
    if (opts.engineWindow)
        m_w->engineView()->setWindow(*opts.engineWindow);
    if (opts.memoryLogTime)
        m_w->memoryView()->setLogTime(true);
    if (!opts.replay.isEmpty()) {
        // a recording needs no data; it is read on a thread of its own while the window
        // shows the progress (and Cancel), and the replay goes on once it has been read.
        // The lab reads the data set after the recordings, for a live run; one that quits
        // when the replay has ended (and exported) never has one: it holds the data set to
        // the end (the window's own hold while it reads ends, this one does not)
        if (opts.quit && !m_holdingData) {
            m_w->loader()->hold();
            m_holdingData = true;
        }
        replay();
        return;
    }
    auto go = [this] {
        if (!m_w->loader()->data()) {
            say(tr("no data: %1").arg(m_w->loader()->error()));
            if (m_script->quit)
                requestQuit(2);
            return;
        }
        if (m_script->sweep)
            sweep();
        else
            next();
    };
    ControlPanel* panel = m_w->panel();
    bool reload = false;
    if (opts.synthetic && panel->dataSource() != DatasetLoader::Source::Synthetic) {
        QSignalBlocker block(panel);
        panel->setDataSource(DatasetLoader::Source::Synthetic);
        reload = true;
    }
    if (!opts.dataDir.isEmpty()) {
        panel->setDataDir(opts.dataDir);
        reload = true;
    }
    if (reload)
        m_w->loadData();
    if (m_w->loader()->loading()) {
        auto* once = new QObject(this);
        connect(m_w, &MainWindow::dataReady, once, [once, go](bool) {
            once->deleteLater();
            go();
        });
    } else {
        QTimer::singleShot(0, this, go);
    }
}

void ScriptRunner::replay()
{
    QString refused;
    m_reading = m_w->openRecordingsInBackground(m_script->replay, &refused);
    if (m_reading == 0) // refused at once (a run is going): said from the event loop, which quits
        QTimer::singleShot(0, this, [this, refused] { replayRead(0, MainWindow::ReadOutcome::Failed, refused); });
    // else replayRead() goes on when the files have been read
}

void ScriptRunner::replayRead(int reading, MainWindow::ReadOutcome outcome, const QString& message)
{
    if (!m_script || m_script->replay.isEmpty() || reading != m_reading)
        return; // another reading's (File → Open recording)
    m_reading = 0;
    const ScriptOptions& o = *m_script;
    if (outcome != MainWindow::ReadOutcome::Opened) {
        // a bad file (exit 2, nothing written), or the reading was cancelled (exit 1); the
        // window says the same and stays as it was, usable
        say(message);
        const bool quit = o.quit;
        m_script.reset();
        if (quit)
            requestQuit(outcome == MainWindow::ReadOutcome::Failed ? 2 : 1);
        return;
    }
    if (o.replayShow)
        m_w->setShownRecording(*o.replayShow - 1);
    const bool headless = !o.exportDir.isEmpty() || o.quit;
    if (o.replaySpeed) {
        // played at that speed, as a class would watch it; the rest once it has ended
        m_w->replaySetSpeed(*o.replaySpeed);
        if (headless)
            connect(m_w, &MainWindow::replayFinished, this, &ScriptRunner::replayEnded, Qt::SingleShotConnection);
        return;
    }
    if (!headless) {
        m_script.reset();
        return;
    }
    // Headless: play to the end at once, as if the run had just ended.
    m_w->replayToEnd();
    replayEnded();
}

void ScriptRunner::replayEnded()
{
    const ScriptOptions& o = *m_script;
    int code = 0;
    for (const auto& s : m_w->replaySession()->sources())
        if (!s->complete()) {
            say(s->epochsRecorded() > 0
                    ? tr("%1: the recording is incomplete: it ends after epoch %2 (the run was cut short, e.g. killed); "
                         "what it holds is replayed")
                          .arg(s->path())
                          .arg(s->epochsRecorded())
                    : tr("%1: the recording is incomplete: it ends before the first epoch did (the run was cut short, "
                         "e.g. killed); what it holds is replayed")
                          .arg(s->path()));
            code = 1;
        }
    if (!exportNow())
        code = 1;
    const bool quit = o.quit;
    m_script.reset();
    if (quit)
        requestQuit(code);
}

void ScriptRunner::sweep()
{
    const ScriptOptions& o = *m_script;
    SweepWindow* s = m_w->openSweep();
    if (!o.sweepDevices.isEmpty())
        s->setDevices(o.sweepDevices);
    if (!o.sweepBatchSizes.isEmpty())
        s->setBatchSizes(o.sweepBatchSizes);
    if (o.sweepMinibatches)
        s->setMinibatches(*o.sweepMinibatches);
    if (o.sweepLinearLr)
        s->setLrScale(*o.sweepLinearLr ? LrScale::Linear : LrScale::None);
    if (!o.run)
        return;
    connect(
        s, &SweepWindow::finished, this,
        [this, s](bool completed) {
            bool wrote = true;
            if (!m_script->exportDir.isEmpty()) {
                QStringList written;
                QString error;
                const QString shot = QDir(m_script->exportDir).filePath(QStringLiteral("screen_sweep.png"));
                wrote = s->exportTo(m_script->exportDir, &written, &error) && s->grab().save(shot);
                say(wrote ? tr("wrote %1 files to %2").arg(written.size() + 1).arg(m_script->exportDir)
                          : (error.isEmpty() ? tr("cannot write %1").arg(shot) : error));
            }
            if (m_script->quit)
                requestQuit(completed && wrote ? 0 : 1);
        },
        Qt::SingleShotConnection);
    QString error;
    if (!s->start(&error)) {
        say(error);
        if (o.quit)
            requestQuit(2);
    }
}

bool ScriptRunner::exportNow()
{
    const ScriptOptions& o = *m_script;
    m_exported = true;
    if (o.exportDir.isEmpty())
        return true;
    QStringList written;
    QString error;
    if (m_w->exportAll(o.exportDir, &written, &error) && m_w->saveScreenshots(o.exportDir, &written, &error)) {
        say(tr("wrote %1 files to %2").arg(written.size()).arg(o.exportDir));
        return true;
    }
    say(error);
    return false;
}

void ScriptRunner::pressSteps(int left)
{
    if (!m_script || !m_w->controller()->busy())
        return;
    if (left > 0) {
        m_w->controller()->step();
        QTimer::singleShot(600, this, [this, left] { pressSteps(left - 1); });
        return;
    }
    // the run now waits for the next Step: show it as the class sees it, then stop
    QTimer::singleShot(300, this, [this] {
        for (LabView* v : m_w->views())
            v->refresh();
        exportNow();
        m_w->controller()->stop();
    });
}

void ScriptRunner::next()
{
    const ScriptOptions& o = *m_script;
    RunController* controller = m_w->controller();
    ControlPanel* panel = m_w->panel();
    const int runs = o.run ? std::max<int>(1, o.presets.size()) : 0;
    if (m_index > 0 && controller->lastResult().status != RunStatus::Completed)
        ++m_failures;
    if (m_index < runs) {
        if (!o.presets.isEmpty()) {
            const QString id = o.presets[m_index];
            if (!panel->applyPreset(id)) {
                say(tr("unknown preset '%1' (choose one of: %2)").arg(id, presetIds().join(QStringLiteral(", "))));
                if (o.quit)
                    requestQuit(2);
                return;
            }
        }
        TrainConfig c = panel->config();
        try {
            for (const auto& [name, value] : o.settings)
                if (const SettingSpec* spec = find_setting(name))
                    spec->set(c, value);
        } catch (const GpulabError& e) {
            say(coreMessage(e.error));
            if (o.quit)
                requestQuit(2);
            return;
        }
        panel->setConfig(c);
        if (o.stepMode)
            panel->setStepMode(*o.stepMode);
        // a value the panel cannot hold (out of its range, finer than its steps) would run as
        // another one without a word: name each, with what the panel would have run
        QStringList unheld;
        const TrainConfig held = panel->config();
        for (const SettingSpec& spec : run_settings())
            if (spec.in_lab && spec.get && spec.get(held) != spec.get(c))
                unheld << tr("%1 %2 (the panel holds %3)")
                              .arg(QLatin1String(spec.flag), QString::fromStdString(spec.get(c)),
                                   QString::fromStdString(spec.get(held)));
        QString error;
        if (!unheld.isEmpty()) {
            error = tr("outside what the lab's panel offers: %1; gpulab-cli train takes the core's whole range")
                        .arg(unheld.join(QStringLiteral(", ")));
        } else if (!m_w->startRun(&error)) {
            // error says why
        } else {
            say(tr("run %1: %2").arg(m_w->currentRunId()).arg(QString::fromStdString(c.describe())));
            if (!o.recordPath.isEmpty())
                m_w->recordCurrentRun(recordingPathFor(o.recordPath, m_index, runs));
            if (o.pressStep > 0 && panel->stepMode())
                QTimer::singleShot(1500, this, [this, n = o.pressStep] { pressSteps(n); });
            return; // runFinished continues the script
        }
        say(error);
        if (o.quit)
            requestQuit(2);
        return;
    }
    int code = (m_failures > 0 && !m_exported) || m_w->recordingFailed() ? 1 : 0;
    if (!m_exported && !exportNow())
        code = 1;
    if (o.run)
        say(m_w->tickSummary());
    const bool quit = o.quit;
    m_script.reset();
    if (quit)
        requestQuit(code);
}

} // namespace gpulab
