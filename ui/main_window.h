// The lab's main window: the control panel, the five views as tabs, the drain timer
// that feeds them from a run source (the running trainer, or recordings replayed), and
// menus for export. The headless script (script_runner.h) drives it from outside.
#pragma once

#include "lab_view.h"
#include "run_controller.h"
#include "run_source.h"

#include <QElapsedTimer>
#include <QFont>
#include <QPalette>
#include <QMainWindow>
#include <QRect>
#include <QSize>
#include <QStringList>

#include <memory>
#include <optional>
#include <vector>

class QComboBox;
class QLabel;
class QMenu;
class QProgressBar;
class QSplitter;
class QStackedWidget;
class QTabWidget;
class QTimer;
class QToolButton;

namespace gpulab {

class AllreduceView;
class ControlPanel;
class DatasetLoader;
class DevicesView;
class EngineView;
class MemoryView;
class ReplayLoader;
class ReplayPanel;
class ReplaySession;
class ReplaySource;
class RunRecorder;
class SweepWindow;
class TrainingView;

class MainWindow : public QMainWindow {
    Q_OBJECT
public:
    explicit MainWindow(QWidget* parent = nullptr);
    ~MainWindow() override;

    // ---- parts (tests drive them) ----
    ControlPanel* panel() const { return m_panel; }
    RunController* controller() const { return m_controller; }
    DatasetLoader* loader() const { return m_loader; }
    TrainingView* trainingView() const { return m_training; }
    DevicesView* devicesView() const { return m_devices; }
    AllreduceView* allreduceView() const { return m_allreduce; }
    MemoryView* memoryView() const { return m_memory; }
    EngineView* engineView() const { return m_engine; }
    QList<LabView*> views() const { return m_views; }
    bool showView(const QString& id);
    // Run → Scaling sweep: the sweep's window (made on first use) shown and raised.
    SweepWindow* openSweep();
    SweepWindow* sweepWindow() const { return m_sweep; }
    bool savedProjectorMode() const { return m_savedProjector; } // the settings' choice

    // ---- running ----
    bool startRun(QString* error = nullptr);   // what Start does
    int currentRunId() const { return m_current.id; }
    QString statusMessage() const;             // the message area's text
    void loadData();                           // what the Load button does

    // ---- export ----
    // Every view's plots (PNG, PDF, SVG) and CSV tables, the run's Chrome trace
    // (trace.json) and its events (events.csv), into dir.
    bool exportAll(const QString& dir, QStringList* written, QString* error);
    bool exportTrace(const QString& path, QString* error);
    // A grab of the window with each view shown in turn: screen_<view>.png.
    bool saveScreenshots(const QString& dir, QStringList* written, QString* error);

    // ---- the UI thread's cost per drain tick (since the last Start) ----
    struct TickStats {
        int ticks = 0;           // ticks that found events
        qint64 events = 0;
        double totalMs = 0, maxMs = 0;        // drain + views' update, wall clock
        double cpuTotalMs = 0, cpuMaxMs = 0;  // the same, CPU time of the UI thread
        int replots = 0;
        double replotTotalMs = 0, replotMaxMs = 0; // the queued replots that followed
        double replotCpuTotalMs = 0, replotCpuMaxMs = 0;
        int paints = 0;                       // the window's repaints (cards, labels, plots' blits)
        double paintCpuTotalMs = 0, paintCpuMaxMs = 0;
        double runWallMs = 0, uiCpuMs = 0;    // the whole run: how busy the UI thread was
    };
    const TickStats& tickStats() const { return m_stats; }
    QString tickSummary() const;       // everything, for the log and the tooltip
    QString shortTickSummary() const;  // for the status bar

    // ---- projector mode (View > Projector mode, F11) ----
    // Full screen, every font 1.6x, lines at least 3 px, larger markers, a high-contrast
    // palette; off restores the window, its fonts, palette and layout exactly as they were.
    void setProjectorMode(bool on);
    bool projectorMode() const { return m_projector; }
    // The control panel as one line (its run's summary and the run buttons) or in full.
    void setPanelCollapsed(bool collapsed);
    bool panelCollapsed() const;

    // ---- settings kept between sessions (lab_settings.cpp) ----
    // Reads the file at path and keeps path: closing the window saves there. Returns false
    // when the file could not be trusted: it is set aside as <path>.damaged, *note says so,
    // and what could not be read keeps its default.
    bool restoreSettings(const QString& path, QString* note = nullptr);
    bool saveSettings(QString* error = nullptr) const;
    QString settingsPath() const { return m_settingsPath; }
    void setLanguage(const QString& code) { m_language = code; } // what the lab runs in
    QString language() const { return m_language; }

    // ---- recording ----
    // Records the current run as it goes into path (gpulab --run --record). A file that
    // cannot be written stops the recording with a message; recordingFailed() says so.
    void recordCurrentRun(const QString& path);
    bool recordingFailed() const { return m_recordFailed; }
    void clearRecordingFailed() { m_recordFailed = false; }
    // Writes the latest finished run as a recording (File → Save run…); false, with the
    // reason, when there is none or the file cannot be written.
    bool saveRun(const QString& path, QString* error);
    bool hasFinishedRun() const { return m_lastFinished.stream != nullptr; }

    // ---- replay (File → Open recording, gpulab --replay) ----
    // Opens the recordings and plays the first in every view, the others overlaid in the
    // Training and Memory views, on one clock. False, with one message, when a file is not a readable
    // recording or a run is going: the lab then stays as it was.
    bool openRecordings(const QStringList& paths, QString* error);
    // The same, read on a thread of its own (File → Open recording, Help → Example runs,
    // gpulab --replay): the lab stays usable, the status bar shows the progress and a Cancel
    // button, and the replay starts once every file has been read. A bad file, or a run
    // started meanwhile, is one message and leaves the lab as it was. Opening again cancels
    // the reading before. Returns a number naming this reading, which recordingsRead()
    // carries when it ends; 0 when it is refused at once (a run is going, no file): *refused
    // then says why, as the status bar does, and no recordingsRead() follows.
    int openRecordingsInBackground(const QStringList& paths, QString* refused = nullptr);
    // How a reading begun by openRecordingsInBackground ended.
    enum class ReadOutcome {
        Opened,    // every file was read and the replay has started
        Failed,    // a file is not a readable recording, or a run was started meanwhile
        Cancelled, // Cancel, cancelLoadingRecordings(), or another opening replaced it
    };
    Q_ENUM(ReadOutcome)
    bool loadingRecordings() const { return m_recLoader != nullptr; }
    void cancelLoadingRecordings();
    bool replaying() const { return m_replay != nullptr; }
    ReplaySession* replaySession() const { return m_replay.get(); }
    ReplayPanel* replayPanel() const { return m_replayPanel; }
    void replayPlay(bool on);
    void replaySetSpeed(double speed);
    void replaySeek(double pos);            // recorded microseconds
    bool replayJumpToEpoch(int epoch);      // to its start; false when it is not recorded
    void replayStep(int direction);         // pause at the allreduce step before/after
    void replayToEnd();                     // everything, at once, as if the run just ended
    bool replayComplete() const;            // every recording open is complete
    // Several recordings: the one the Devices, Allreduce and Engine views show (0 the first,
    // the default; the Training and Memory views overlay them all). The views begin again
    // and are fed the chosen recording up to the playhead. The chooser is in the view tabs'
    // corner while several recordings are open.
    void setShownRecording(int index);
    int shownRecording() const { return m_shownRecording; }
    // Back to live runs: the control panel returns; the views keep what they show.
    void leaveReplay();

signals:
    void runStarted(int runId);
    void runFinished(int runId, int status);   // status: int(RunStatus)
    void replayFinished(int runId);            // a replay has fed its recording's end
    // A reading of openRecordingsInBackground has ended; message: what the status bar says
    // when it did not open (the file and what is wrong, or that it was cancelled).
    void recordingsRead(int reading, gpulab::MainWindow::ReadOutcome outcome, const QString& message);
    void eventsDispatched(int count);
    void dataReady(bool ok);

protected:
    void closeEvent(QCloseEvent* e) override;
    bool event(QEvent* e) override;
    bool eventFilter(QObject* watched, QEvent* e) override;

private:
    void buildMenus();
    void onTick();
    void onFinished();
    void onStateChanged(RunController::State s);
    void dispatch(const std::vector<Event>& events);
    void updateProgress(const std::vector<Event>& events);
    void showMessage(const QString& text, bool error);
    void refreshVisible();
    void maybeRefresh(); // refreshVisible, coalesced so that drawing stays a fraction of the UI's time
    bool feeding() const; // a run or a replay is feeding the views
    void tickReplay();
    void pumpReplay();      // what the recordings have fed, to the views
    void restartReplayViews();
    QList<LabView*> overlayViews() const;
    QList<LabView*> singleViews() const; // the views that show one recording: Devices, Allreduce, Engine
    void updateRecordingChooser();
    void placeRecordingChooser(); // beside the tabs where they keep their room, else above them
    void fitTabFont();            // projector mode: the tabs' names as large as leaves them all in view
    void updateReplayPanel();
    void openRecordingInteractive();
    // The second half of openRecordings: the recordings read, played in the views.
    void startReplay(std::vector<std::unique_ptr<ReplaySource>> sources);
    bool canOpenRecordings(QString* why) const;
    void endLoading();
    void buildExamplesMenu(QMenu* help);
    RunInfo makeRun(int id, const TrainConfig& c) const;
    void exportViewInteractive();
    void exportAllInteractive();
    void exportTraceInteractive();
    void saveRunInteractive();
    void installPlotMenus();
    int snapshotInterval(const TrainConfig& c) const;

    ControlPanel* m_panel = nullptr;
    QTabWidget* m_tabs = nullptr;
    QSplitter* m_split = nullptr;
    QWidget* m_panelScroll = nullptr;
    QWidget* m_panelBar = nullptr;       // the panel collapsed to one line
    QLabel* m_panelSummary = nullptr;
    QAction* m_projectorAction = nullptr;
    QAction* m_collapseAction = nullptr;
    // projector mode, and what it restores
    bool m_projector = false;
    bool m_savedProjector = false;       // from the settings, applied once shown
    QByteArray m_normalGeometry, m_normalSplit;
    QRect m_normalRect;
    Qt::WindowStates m_normalWindowState;
    bool m_normalCollapsed = false;
    QFont m_normalFont;
    QPalette m_normalPalette;
    void updatePanelSummary();
    void applyProjectorToWidgets(QWidget* root, bool on);
    QString m_settingsPath;      // empty: settings are not kept (scripts, tests)
    QString m_language;          // "en" or "zh_CN"
    TrainingView* m_training = nullptr;
    DevicesView* m_devices = nullptr;
    AllreduceView* m_allreduce = nullptr;
    MemoryView* m_memory = nullptr;
    EngineView* m_engine = nullptr;
    SweepWindow* m_sweep = nullptr;
    QList<LabView*> m_views;
    RunController* m_controller = nullptr;
    DatasetLoader* m_loader = nullptr;
    QTimer* m_timer = nullptr;
    QLabel* m_stateLabel = nullptr;
    QLabel* m_messageLabel = nullptr;
    QLabel* m_tickLabel = nullptr;
    QString m_tickHelp;
    QString m_lastDir;              // where the last save or export dialog was left
    QString dialogDir() const;      // that folder, or the home folder at first

    RunInfo m_current;
    int m_nextRunId = 1;
    std::vector<Event> m_buffer;
    TickStats m_stats;
    QElapsedTimer m_replotClock;
    double m_replotCpuStart = 0;
    QElapsedTimer m_runClock;       // since Start
    double m_runCpuStart = 0;       // the UI thread's CPU time at Start
    qint64 m_lastRefreshAt = -1;    // m_runClock time of the last refresh
    double m_frameCostMs = 0;       // wall time of the replots and repaint after it
    bool m_refreshPending = false;
    QElapsedTimer m_stopClock;
    bool m_errorShown = false;

    // progress of the current run
    int m_epoch = 0, m_batch = 0, m_batches = 0;
    qint64 m_images = 0;
    std::vector<std::pair<double, qint64>> m_rate; // (seconds, images so far), since the last pause
    QString m_progressText;          // "Epoch 1 of 4 · minibatch 3 of 40", without the speed
    int m_progressPermille = 0;

    // what feeds the views: the live run, or the first recording replayed
    std::unique_ptr<LiveSource> m_live;
    RunSource* m_source = nullptr;
    std::unique_ptr<ReplaySession> m_replay;
    std::vector<RunInfo> m_replayRuns;         // [i]: the session's recording i
    std::vector<bool> m_replayEnded;           // [i]: its end has been shown
    int m_shownRecording = 0;                  // in the single views (setShownRecording)
    QWidget* m_recordingChooser = nullptr;     // the view tabs' corner, while several replay
    QLabel* m_recordingChooserLabel = nullptr;
    QWidget* m_recordingChooserRow = nullptr;  // above the tabs: the chooser where it does not fit beside
    QComboBox* m_recordingCombo = nullptr;
    QStackedWidget* m_left = nullptr;          // the control panel, or the replay panel
    ReplayPanel* m_replayPanel = nullptr;
    ReplayLoader* m_recLoader = nullptr;       // recordings being read, if any
    int m_recReading = 0;                      // its number (openRecordingsInBackground)
    int m_lastReading = 0;
    QString m_recNames;                        // its files, as the status bar names them
    QProgressBar* m_loadBar = nullptr;         // its progress, in the status bar
    QToolButton* m_loadCancel = nullptr;

    std::unique_ptr<RunRecorder> m_recorder;   // the current run's recording, if asked for
    bool m_recordFailed = false;
    RunInfo m_lastFinished;                    // the latest finished run (File → Save run)
    RunResult m_lastFinishedResult;
    QAction* m_saveRunAction = nullptr;
};

} // namespace gpulab
