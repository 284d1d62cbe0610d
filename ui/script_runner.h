// The headless script behind `gpulab --preset ... --run --export-dir DIR --quit` and
// `gpulab --replay FILE --export-dir DIR --quit`: it drives the window from outside,
// through the window's public functions and its signals (run finished); the window
// never calls back into it.
#pragma once

#include "main_window.h"

#include <QObject>
#include <QString>
#include <QStringList>

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace gpulab {

// What `gpulab` was asked to do from the command line (see app/gpulab_main.cpp).
struct ScriptOptions {
    QStringList presets;             // run each in turn (empty: the panel's settings)
    bool run = false;
    QString exportDir;               // plots, CSV, trace and screenshots after the runs
    bool quit = false;
    bool synthetic = false;
    QString dataDir;
    // Settings from the command line, as (table name, text), applied over each preset in
    // order through the settings table (train/settings.h).
    std::vector<std::pair<std::string, std::string>> settings;
    std::optional<bool> stepMode;
    std::optional<double> engineWindow;
    bool memoryLogTime = false;
    int pressStep = 0;               // step mode: press Step this often, export while the
                                     // run waits, then stop it
    QString view;                    // the tab to show
    // Record each run as it goes (record/recording.h). With several presets, one file per
    // run: FILE's stem gets -1, -2, ... (run.gpurec -> run-1.gpurec, run-2.gpurec).
    QString recordPath;
    // Run → Scaling sweep instead of runs: opened; with run, started; with exportDir, its
    // plots, sweep.csv and screen_sweep.png written when it ends. Empty lists: the window's.
    bool sweep = false;
    QString sweepDevices, sweepBatchSizes;
    std::optional<int> sweepMinibatches;
    std::optional<bool> sweepLinearLr;
    // Recordings to replay instead of runs (the first in every view, the others overlaid);
    // with exportDir they are played to their end at once and exported.
    QStringList replay;
    // Play them at this speed (0.25 to 16) instead; with quit, quit (and export) when the
    // first has played to its end. The UI's tick figures go to stderr then.
    std::optional<double> replaySpeed;
    // Which of them (from 1) the Devices, Allreduce and Engine views show; the first by default.
    std::optional<int> replayShow;
};

class ScriptRunner : public QObject {
    Q_OBJECT
public:
    explicit ScriptRunner(MainWindow* window);

    // Runs opts (after the data has loaded); when opts.quit, asks to quit once done.
    void run(const ScriptOptions& opts);
    bool active() const { return m_script.has_value(); }

signals:
    // The script with quit has ended: gpulab exits with this code (0, 1 or 2: see the
    // README); the application connects it to QCoreApplication::exit.
    void quitRequested(int exitCode);

private:
    void next();
    void pressSteps(int left);
    void sweep();
    void replay();
    void replayRead(int reading, MainWindow::ReadOutcome outcome, const QString& message);
    void replayEnded();
    bool exportNow();
    void requestQuit(int exitCode);

    MainWindow* m_w;
    std::optional<ScriptOptions> m_script;
    int m_index = 0;
    int m_reading = 0; // the recordings being read for --replay (openRecordingsInBackground)
    int m_failures = 0;
    bool m_exported = false;
    bool m_holdingData = false; // a replay that quits holds the data set (never read)
};

} // namespace gpulab
