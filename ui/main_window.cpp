// MainWindow: wires the panel, the run controller, the dataset loader and the views.
// A 30 Hz timer drains the run's event stream in one go and hands the batch to every
// view; only the visible view replots (queued), so the UI never waits on the engine.
#include "main_window.h"

#include "allreduce_view.h"
#include "control_panel.h"
#include "core_messages.h"
#include "dataset_loader.h"
#include "devices_view.h"
#include "engine_view.h"
#include "lab_style.h"
#include "memory_view.h"
#include "model/lenet.h"
#include "plot_export.h"
#include "presets.h"
#include "replay_panel.h"
#include "replay_source.h"
#include "run_recorder.h"
#include "sweep_window.h"
#include "trace/event_stream.h"
#include "trace/trace_export.h"
#include "training_view.h"
#include "train/settings.h"
#include "data/fashion_mnist.h"

#include <qcustomplot.h>

#include <QAction>
#include <QActionGroup>
#include <QApplication>
#include <QCloseEvent>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QLabel>
#include <QLocale>
#include <QMenu>
#include <QMenuBar>
#include <QMessageBox>
#include <QScreen>
#include <QScrollArea>
#include <QSplitter>
#include <QStackedWidget>
#include <QStatusBar>
#include <QTabWidget>
#include <QToolButton>
#include <QVBoxLayout>
#include <QComboBox>
#include <QHBoxLayout>
#include <QIcon>
#include <QPixmap>
#include <QProgressBar>
#include <QPushButton>
#include <QTimer>

#include <cmath>
#include <cstdio>
#include <ctime>

// The .qrc lives in a static library: its initializer must be referenced by name.
static void initResources()
{
    Q_INIT_RESOURCE(gpulab);
}

namespace gpulab {

namespace {

// CPU time of the calling thread, ms: on a machine whose cores are all busy training,
// wall-clock time also counts the time the scheduler gave to the workers.
double threadCpuMs()
{
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

constexpr int kTickMs = 33;                         // ~30 Hz
// The recording chooser's width in characters: beside the view tabs, and on its own row.
constexpr qsizetype kChooserChars = 16;
constexpr qsizetype kChooserRowChars = 40;
constexpr qint64 kSnapshotBudget = qint64(192) << 20; // parameter snapshots kept per run
} // namespace

MainWindow::MainWindow(QWidget* parent) : QMainWindow(parent)
{
    initResources();
    setWindowTitle(tr("gpulab: data-parallel training lab"));
    setWindowIcon(QIcon(QStringLiteral(":/gpulab/gpulab.svg")));
    m_controller = new RunController(this);
    m_live = std::make_unique<LiveSource>(m_controller);
    m_source = m_live.get();
    m_loader = new DatasetLoader(this);

    m_panel = new ControlPanel;
    auto* panelScroll = new QScrollArea;
    m_panelScroll = panelScroll;
    panelScroll->setWidget(m_panel);
    panelScroll->setWidgetResizable(true);
    panelScroll->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    panelScroll->setMinimumWidth(m_panel->sizeHint().width() + 24);
    panelScroll->setMaximumWidth(460);

    m_tabs = new QTabWidget;
    m_tabs->setObjectName(QStringLiteral("viewTabs"));
    QFont tabFont = m_tabs->font();
    tabFont.setPointSizeF(tabFont.pointSizeF() * 1.15);
    tabFont.setBold(true);
    m_tabs->tabBar()->setFont(tabFont);
    m_training = new TrainingView;
    m_devices = new DevicesView;
    m_allreduce = new AllreduceView;
    m_memory = new MemoryView;
    m_engine = new EngineView;
    m_views = {m_training, m_devices, m_allreduce, m_memory, m_engine};
    for (LabView* v : m_views)
        m_tabs->addTab(v, v->title());
    // Several recordings replayed: which one the Devices, Allreduce and Engine views show,
    // said (and chosen) beside the tabs, in every view.
    m_recordingChooser = new QWidget;
    m_recordingChooser->setObjectName(QStringLiteral("recordingChooser"));
    auto* rc = new QHBoxLayout(m_recordingChooser);
    rc->setContentsMargins(6, 0, 4, 0);
    m_recordingChooserLabel = new QLabel;
    m_recordingChooserLabel->setObjectName(QStringLiteral("recordingChooserLabel"));
    QFont chooserFont = m_recordingChooserLabel->font();
    chooserFont.setBold(true);
    m_recordingChooserLabel->setFont(chooserFont);
    m_recordingCombo = new QComboBox;
    m_recordingCombo->setObjectName(QStringLiteral("recordingCombo"));
    // never wider than leaves the tabs their room (a projector's 1024 pixels): long names elide
    m_recordingCombo->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
    m_recordingCombo->setMinimumContentsLength(kChooserChars);
    m_recordingCombo->setToolTip(tr("The recording the Devices, Allreduce and Engine views show; the Training and "
                                    "Memory views overlay every recording open"));
    rc->addWidget(m_recordingChooserLabel);
    rc->addWidget(m_recordingCombo);
    connect(m_recordingCombo, &QComboBox::activated, this, [this](int i) { setShownRecording(i); });
    // Where the tabs leave it too little room (a projector's large font on 1024 pixels), the
    // chooser goes on a row of its own above them, so that every tab's name stays whole.
    m_recordingChooserRow = new QWidget;
    m_recordingChooserRow->setObjectName(QStringLiteral("recordingChooserRow"));
    auto* chooserRow = new QHBoxLayout(m_recordingChooserRow);
    chooserRow->setContentsMargins(0, 2, 0, 2);
    chooserRow->addStretch(1);
    // it waits here, hidden, until several recordings are replayed (placeRecordingChooser)
    chooserRow->addWidget(m_recordingChooser);
    m_recordingChooser->hide();
    m_recordingChooserRow->hide();
    auto* tabsBox = new QWidget;
    auto* tabsLayout = new QVBoxLayout(tabsBox);
    tabsLayout->setContentsMargins(0, 0, 0, 0);
    tabsLayout->setSpacing(0);
    tabsLayout->addWidget(m_recordingChooserRow);
    tabsLayout->addWidget(m_tabs, 1);
    m_tabs->installEventFilter(this); // its width decides where the chooser goes

    // While recordings replay, their panel takes the control panel's place.
    m_replayPanel = new ReplayPanel;
    auto* replayScroll = new QScrollArea;
    replayScroll->setWidget(m_replayPanel);
    replayScroll->setWidgetResizable(true);
    replayScroll->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    m_left = new QStackedWidget;
    m_left->addWidget(panelScroll);
    m_left->addWidget(replayScroll);
    m_left->setMinimumWidth(panelScroll->minimumWidth());
    m_left->setMaximumWidth(460);
    connect(m_replayPanel, &ReplayPanel::playToggled, this, [this] {
        if (m_replay)
            replayPlay(!m_replay->playing());
    });
    connect(m_replayPanel, &ReplayPanel::speedChosen, this, &MainWindow::replaySetSpeed);
    connect(m_replayPanel, &ReplayPanel::seekRequested, this, &MainWindow::replaySeek);
    connect(m_replayPanel, &ReplayPanel::epochRequested, this, [this](int epoch) {
        if (!replayJumpToEpoch(epoch))
            showMessage(tr("The recording has no epoch %1").arg(epoch), true);
    });
    connect(m_replayPanel, &ReplayPanel::stepRequested, this, &MainWindow::replayStep);
    connect(m_replayPanel, &ReplayPanel::leaveRequested, this, &MainWindow::leaveReplay);

    auto* split = new QSplitter(Qt::Horizontal);
    split->addWidget(m_left);
    split->addWidget(tabsBox);
    split->setStretchFactor(0, 0);
    split->setStretchFactor(1, 1);
    split->setChildrenCollapsible(false);
    m_split = split;

    // The panel collapsed to one line: what will run, and the run's buttons.
    m_panelBar = new QWidget;
    m_panelBar->setObjectName(QStringLiteral("panelBar"));
    auto* bar = new QHBoxLayout(m_panelBar);
    bar->setContentsMargins(6, 2, 6, 2);
    auto* expand = new QToolButton;
    expand->setObjectName(QStringLiteral("expandPanelButton"));
    expand->setText(tr("Show the controls"));
    expand->setToolButtonStyle(Qt::ToolButtonTextBesideIcon);
    expand->setArrowType(Qt::RightArrow);
    connect(expand, &QToolButton::clicked, this, [this] { setPanelCollapsed(false); });
    m_panelSummary = new QLabel;
    m_panelSummary->setObjectName(QStringLiteral("panelSummary"));
    m_panelSummary->setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Preferred);
    bar->addWidget(expand);
    bar->addWidget(m_panelSummary, 1);
    const std::pair<QString, void (ControlPanel::*)()> runButtons[] = {
        {tr("Start"), &ControlPanel::startClicked},
        {tr("Pause"), &ControlPanel::pauseClicked},
        {tr("Step"), &ControlPanel::stepClicked},
        {tr("Stop"), &ControlPanel::stopClicked}};
    for (const auto& [text, signal] : runButtons) {
        auto* b = new QPushButton(text);
        connect(b, &QPushButton::clicked, m_panel, signal);
        bar->addWidget(b);
    }
    m_panelBar->hide();
    auto* central = new QWidget;
    auto* centralLayout = new QVBoxLayout(central);
    centralLayout->setContentsMargins(0, 0, 0, 0);
    centralLayout->setSpacing(0);
    centralLayout->addWidget(m_panelBar);
    centralLayout->addWidget(split, 1);
    setCentralWidget(central);

    m_stateLabel = new QLabel(tr("Ready"));
    m_stateLabel->setObjectName(QStringLiteral("stateLabel"));
    m_stateLabel->setMinimumWidth(120);
    m_messageLabel = new QLabel;
    m_messageLabel->setObjectName(QStringLiteral("messageLabel"));
    m_messageLabel->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_tickLabel = new QLabel;
    m_tickLabel->setObjectName(QStringLiteral("tickLabel"));
    m_tickHelp = (tr("CPU time the UI thread spends per drain tick (drain + views' update) and "
                               "per replot, mean and maximum since Start; \"wall\" is the same in "
                               "wall-clock time (mean/max), which also counts time the workers had the CPU"));
    m_tickLabel->setToolTip(m_tickHelp);
    statusBar()->addWidget(m_stateLabel);
    statusBar()->addWidget(m_messageLabel, 1);
    // a recording being read (openRecordingsInBackground): its progress, and Cancel
    m_loadBar = new QProgressBar;
    m_loadBar->setObjectName(QStringLiteral("recordingLoadProgress"));
    m_loadBar->setRange(0, 1000);
    m_loadBar->setFixedWidth(160);
    m_loadBar->setFormat(QStringLiteral("%p%"));
    m_loadBar->setVisible(false);
    m_loadCancel = new QToolButton;
    m_loadCancel->setObjectName(QStringLiteral("recordingLoadCancel"));
    m_loadCancel->setText(tr("Cancel"));
    m_loadCancel->setToolTip(tr("Stop reading the recording; the lab stays as it was"));
    m_loadCancel->setVisible(false);
    connect(m_loadCancel, &QToolButton::clicked, this, [this] {
        if (m_recLoader)
            m_recLoader->cancel(); // cancelled() follows, with its message
    });
    statusBar()->addPermanentWidget(m_loadBar);
    statusBar()->addPermanentWidget(m_loadCancel);
    statusBar()->addPermanentWidget(m_tickLabel);
    m_tickLabel->setVisible(false); // View > Show the UI's drawing cost

    m_timer = new QTimer(this);
    m_timer->setInterval(kTickMs);
    m_timer->setTimerType(Qt::PreciseTimer);
    connect(m_timer, &QTimer::timeout, this, &MainWindow::onTick);

    connect(m_panel, &ControlPanel::startClicked, this, [this] {
        QString error;
        if (!startRun(&error))
            showMessage(error, true);
    });
    connect(m_panel, &ControlPanel::pauseClicked, this, [this] {
        if (m_replay) { // F6 while replaying: play / pause the replay
            replayPlay(!m_replay->playing());
            return;
        }
        if (m_controller->state() == RunController::State::Paused)
            m_controller->resume();
        else
            m_controller->pause();
    });
    connect(m_panel, &ControlPanel::stepClicked, this, [this] {
        if (m_replay)
            replayStep(+1); // the one-line panel's Step while replaying
        else
            m_controller->step();
    });
    connect(m_panel, &ControlPanel::stopClicked, this, [this] {
        m_stopClock.start();
        m_controller->stop();
    });
    connect(m_panel, &ControlPanel::stepModeToggled, this, [this](bool on) {
        m_controller->setStepMode(on);
        m_allreduce->setStepMode(on);
    });
    connect(m_panel, &ControlPanel::loadDataRequested, this, &MainWindow::loadData);
    // Before the first run the views draw what the settings describe (devices, allreduce).
    auto preview = [this] {
        const TrainConfig c = m_panel->config();
        for (LabView* v : m_views)
            v->previewSettings(c);
    };
    connect(m_panel, &ControlPanel::settingsChanged, this, preview);
    connect(m_panel, &ControlPanel::settingsChanged, this, &MainWindow::updatePanelSummary);
    preview();
    connect(m_controller, &RunController::stateChanged, this, &MainWindow::onStateChanged);
    connect(m_controller, &RunController::finished, this, &MainWindow::onFinished);
    connect(m_loader, &DatasetLoader::loaded, this, [this] {
        m_panel->setDataState(false, true, m_loader->summary(), false);
        emit dataReady(true);
    });
    connect(m_loader, &DatasetLoader::failed, this, [this](const QString& message) {
        const bool files = m_loader->source() == DatasetLoader::Source::FashionMnist;
        m_panel->setDataState(false, false, message, files);
        emit dataReady(false);
    });
    connect(m_tabs, &QTabWidget::currentChanged, this, [this] {
        updateRecordingChooser();
        refreshVisible();
    });

    // the replots that follow a tick, timed for the tick figure
    for (LabView* v : m_views)
        for (QCustomPlot* p : v->findChildren<QCustomPlot*>()) {
            connect(p, &QCustomPlot::beforeReplot, this, [this] {
                m_replotClock.start();
                m_replotCpuStart = threadCpuMs();
            });
            connect(p, &QCustomPlot::afterReplot, this, [this] {
                if (!m_replotClock.isValid() || !feeding())
                    return;
                const double ms = m_replotClock.nsecsElapsed() / 1e6;
                const double cpu = threadCpuMs() - m_replotCpuStart;
                m_frameCostMs += ms;
                ++m_stats.replots;
                m_stats.replotTotalMs += ms;
                m_stats.replotMaxMs = std::max(m_stats.replotMaxMs, ms);
                m_stats.replotCpuTotalMs += cpu;
                m_stats.replotCpuMaxMs = std::max(m_stats.replotCpuMaxMs, cpu);
            });
        }

    buildMenus();
    installPlotMenus();
    resize(1500, 950);
    loadData();
}

MainWindow::~MainWindow() = default;

void MainWindow::buildMenus()
{
    QMenu* file = menuBar()->addMenu(tr("&File"));
    QAction* open = file->addAction(tr("Open recording…"));
    open->setObjectName(QStringLiteral("openRecordingAction"));
    open->setShortcut(QKeySequence::Open);
    open->setToolTip(tr("Play a recorded run in every view; choose several to overlay them"));
    connect(open, &QAction::triggered, this, &MainWindow::openRecordingInteractive);
    file->addSeparator();
    QAction* exportView = file->addAction(tr("Export this view's plots and data…"));
    exportView->setShortcut(QKeySequence(tr("Ctrl+E")));
    connect(exportView, &QAction::triggered, this, &MainWindow::exportViewInteractive);
    QAction* exportAllAct = file->addAction(tr("Export everything to a folder…"));
    exportAllAct->setShortcut(QKeySequence(tr("Ctrl+Shift+E")));
    connect(exportAllAct, &QAction::triggered, this, &MainWindow::exportAllInteractive);
    QAction* trace = file->addAction(tr("Export the run as a Chrome trace (JSON)…"));
    connect(trace, &QAction::triggered, this, &MainWindow::exportTraceInteractive);
    m_saveRunAction = file->addAction(tr("Save run…"));
    m_saveRunAction->setToolTip(tr("Save the latest finished run as a recording (gpulab-cli replay reads it)"));
    m_saveRunAction->setEnabled(false);
    connect(m_saveRunAction, &QAction::triggered, this, &MainWindow::saveRunInteractive);
    file->addSeparator();
    QAction* quit = file->addAction(tr("&Quit"));
    quit->setShortcut(QKeySequence::Quit);
    connect(quit, &QAction::triggered, this, &QWidget::close);

    QMenu* run = menuBar()->addMenu(tr("&Run"));
    QAction* start = run->addAction(tr("Start"));
    start->setShortcut(QKeySequence(tr("F5")));
    connect(start, &QAction::triggered, this, [this] {
        QString error;
        if (!startRun(&error))
            showMessage(error, true);
    });
    QAction* pause = run->addAction(tr("Pause / Resume"));
    pause->setShortcut(QKeySequence(tr("F6"))); // not Space: it would fire while typing a folder name
    connect(pause, &QAction::triggered, m_panel, &ControlPanel::pauseClicked);
    QAction* step = run->addAction(tr("Step"));
    step->setShortcut(QKeySequence(tr("F10")));
    connect(step, &QAction::triggered, this, [this] {
        if (m_replay)
            replayStep(+1); // F10 while replaying: the next allreduce step
        else
            m_controller->step();
    });
    QAction* stop = run->addAction(tr("Stop"));
    stop->setShortcut(QKeySequence(tr("Shift+F5")));
    connect(stop, &QAction::triggered, m_panel, &ControlPanel::stopClicked);
    run->addSeparator();
    QAction* sweep = run->addAction(tr("Scaling sweep…"));
    sweep->setObjectName(QStringLiteral("scalingSweepAction"));
    connect(sweep, &QAction::triggered, this, &MainWindow::openSweep);

    QMenu* view = menuBar()->addMenu(tr("&View"));
    for (int i = 0; i < m_views.size(); ++i) {
        QAction* a = view->addAction(m_views[i]->title());
        a->setShortcut(QKeySequence(QStringLiteral("Ctrl+%1").arg(i + 1)));
        connect(a, &QAction::triggered, this, [this, i] { m_tabs->setCurrentIndex(i); });
    }
    view->addSeparator();
    // for developers: the UI thread's cost per tick, beside the messages it would cut off
    QAction* tick = view->addAction(tr("Show the UI's drawing cost in the status bar"));
    tick->setObjectName(QStringLiteral("showTickAction"));
    tick->setCheckable(true);
    connect(tick, &QAction::toggled, m_tickLabel, &QLabel::setVisible);
    view->addSeparator();
    m_projectorAction = view->addAction(tr("Projector mode"));
    m_projectorAction->setObjectName(QStringLiteral("projectorAction"));
    m_projectorAction->setCheckable(true);
    m_projectorAction->setShortcut(QKeySequence(tr("F11")));
    connect(m_projectorAction, &QAction::triggered, this, &MainWindow::setProjectorMode);
    m_collapseAction = view->addAction(tr("Control panel on one line"));
    m_collapseAction->setObjectName(QStringLiteral("collapsePanelAction"));
    m_collapseAction->setCheckable(true);
    m_collapseAction->setShortcut(QKeySequence(tr("Ctrl+Shift+C")));
    connect(m_collapseAction, &QAction::triggered, this, &MainWindow::setPanelCollapsed);
    view->addSeparator();
    // The language is kept with the settings and applies from the next start (Qt's widgets
    // and the views' texts are made once).
    QMenu* language = view->addMenu(tr("Language"));
    language->setObjectName(QStringLiteral("languageMenu"));
    auto* languages = new QActionGroup(language);
    for (const auto& [code, name] : {std::pair{QStringLiteral("en"), QStringLiteral("English")},
                                     std::pair{QStringLiteral("zh_CN"), QStringLiteral("简体中文")}}) {
        QAction* a = language->addAction(name);
        a->setObjectName(QStringLiteral("language_") + code);
        a->setCheckable(true);
        a->setData(code);
        languages->addAction(a);
        connect(a, &QAction::triggered, this, [this, code = code] {
            if (code == m_language)
                return;
            m_language = code;
            QString error;
            if (m_settingsPath.isEmpty())
                showMessage(tr("The language is kept only when the lab is started without a script."), true);
            else if (!saveSettings(&error))
                showMessage(error, true);
            else
                showMessage(tr("The lab will start in this language next time."), false);
        });
    }
    connect(language, &QMenu::aboutToShow, this, [this, language] {
        for (QAction* a : language->actions())
            a->setChecked(a->data().toString() == m_language);
    });

    QMenu* help = menuBar()->addMenu(tr("&Help"));
    buildExamplesMenu(help);
    QAction* about = help->addAction(tr("About gpulab"));
    connect(about, &QAction::triggered, this, [this] {
        QMessageBox::about(this, tr("About gpulab"),
                           tr("<h3>gpulab %1</h3><p>A visual lab for data-parallel training, after "
                              "<i>Dive into Deep Learning</i>, \"Computational Performance\": "
                              "asynchronous computation and multi-GPU training from scratch.</p>"
                              "<p>The book's LeNet trains on Fashion-MNIST on simulated devices "
                              "(or CUDA GPUs); every op, allreduce step and allocation is shown.</p>")
                               .arg(QApplication::applicationVersion()));
    });
}

void MainWindow::installPlotMenus()
{
    // Right click on any plot: save just that plot.
    for (LabView* v : m_views) {
        for (const PlotItem& item : v->plots()) {
            QWidget* w = item.plot ? static_cast<QWidget*>(item.plot) : item.widget;
            w->setContextMenuPolicy(Qt::CustomContextMenu);
            connect(w, &QWidget::customContextMenuRequested, this, [this, item, w](const QPoint& at) {
                QMenu menu(this);
                QAction* save = menu.addAction(tr("Save this plot as PNG, PDF or SVG…"));
                if (menu.exec(w->mapToGlobal(at)) != save)
                    return;
                const QString path = QFileDialog::getSaveFileName(
                    this, tr("Save plot"), QDir(dialogDir()).filePath(item.name + QStringLiteral(".png")),
                    tr("PNG image (*.png);;PDF document (*.pdf);;SVG drawing (*.svg)"));
                if (path.isEmpty())
                    return;
                m_lastDir = QFileInfo(path).absolutePath();
                QString error;
                if (saveItem(item, path, &error))
                    showMessage(tr("Saved %1").arg(path), false);
                else
                    showMessage(error, true);
            });
        }
    }
}

// ---- projector mode ----------------------------------------------------------------

void MainWindow::updatePanelSummary()
{
    if (!m_panelSummary)
        return;
    if (m_replay) {
        const ReplaySource& p = m_replay->primary();
        m_panelSummary->setText(tr("Replaying %1: %2")
                                    .arg(QFileInfo(p.path()).fileName(), QString::fromStdString(p.jobConfig().describe())));
        return;
    }
    m_panelSummary->setText(QString::fromStdString(m_panel->config().describe()));
}

bool MainWindow::panelCollapsed() const
{
    return m_panelBar && m_panelBar->isVisibleTo(const_cast<MainWindow*>(this));
}

void MainWindow::setPanelCollapsed(bool collapsed)
{
    updatePanelSummary();
    m_left->setVisible(!collapsed); // the control panel, or the replay panel
    m_panelBar->setVisible(collapsed);
    if (m_collapseAction)
        m_collapseAction->setChecked(collapsed);
}

void MainWindow::applyProjectorToWidgets(QWidget* root, bool on)
{
    // Widgets that set their own font (the tabs, titles) do not follow the application's:
    // scale those one by one, and put back exactly the font each had.
    QList<QWidget*> widgets = root->findChildren<QWidget*>();
    widgets.prepend(root);
    for (QWidget* w : widgets) {
        if (on && w->testAttribute(Qt::WA_SetFont) && !w->property("prjFont").isValid()) {
            w->setProperty("prjFont", w->font());
            QFont f = w->font();
            if (f.pointSizeF() > 0)
                f.setPointSizeF(f.pointSizeF() * kProjectorFontScale);
            else if (f.pixelSize() > 0)
                f.setPixelSize(static_cast<int>(std::lround(f.pixelSize() * kProjectorFontScale)));
            w->setFont(f);
        } else if (!on && w->property("prjFont").isValid()) {
            w->setFont(w->property("prjFont").value<QFont>());
            w->setProperty("prjFont", QVariant());
        }
    }
    for (QCustomPlot* p : root->findChildren<QCustomPlot*>())
        setPlotProjector(p, on);
}

void MainWindow::setProjectorMode(bool on)
{
    if (m_projectorAction)
        m_projectorAction->setChecked(on);
    if (on == m_projector)
        return;
    if (on) {
        m_normalGeometry = saveGeometry();
        m_normalRect = geometry();
        m_normalWindowState = windowState();
        m_normalSplit = m_split->saveState();
        m_normalCollapsed = panelCollapsed();
        m_normalFont = QApplication::font();
        m_normalPalette = QApplication::palette();
        // the widgets with their own fonts first, while they still have them
        applyProjectorToWidgets(this, true);
        if (m_sweep)
            applyProjectorToWidgets(m_sweep, true);
        QFont f = m_normalFont;
        f.setPointSizeF(f.pointSizeF() * kProjectorFontScale);
        QApplication::setFont(f);
        setPaintedFontScale(kProjectorFontScale);
        QApplication::setPalette(projectorPalette());
        m_projector = true;
        // the views get the room: the panel becomes one line (its button brings it back)
        setPanelCollapsed(true);
        fitTabFont();
        updateRecordingChooser();
        // the screen's size first: where no window manager takes the window to full screen
        // (a bare X server) the state alone would not resize it
        if (QScreen* sc = screen())
            setGeometry(sc->geometry());
        showFullScreen();
    } else {
        m_projector = false;
        QApplication::setPalette(m_normalPalette);
        QApplication::setFont(m_normalFont);
        setPaintedFontScale(1.0);
        applyProjectorToWidgets(this, false);
        if (m_sweep)
            applyProjectorToWidgets(m_sweep, false);
        updateRecordingChooser(); // with the desk's fonts: the words, and where it fits
        setWindowState(m_normalWindowState);
        if (!(m_normalWindowState & (Qt::WindowMaximized | Qt::WindowFullScreen)))
            setGeometry(m_normalRect);
        setPanelCollapsed(m_normalCollapsed);
        // lay the window out at its own size again before the splitter takes back its sizes
        QCoreApplication::sendPostedEvents(nullptr, QEvent::LayoutRequest);
        layout()->activate();
        m_split->restoreState(m_normalSplit);
    }
}

SweepWindow* MainWindow::openSweep()
{
    if (!m_sweep) {
        m_sweep = new SweepWindow(this);
        m_sweep->setSources([this] { return m_loader->data(); }, [this] { return m_panel->config(); });
        m_sweep->setBusyCheck([this] {
            return m_controller->busy() ? tr("A run is going: stop it before the sweep, so that they do not share the "
                                             "processor.")
                                        : QString();
        });
    }
    if (m_projector)
        applyProjectorToWidgets(m_sweep, true);
    m_sweep->show();
    m_sweep->raise();
    m_sweep->activateWindow();
    return m_sweep;
}

bool MainWindow::showView(const QString& id)
{
    for (int i = 0; i < m_views.size(); ++i)
        if (m_views[i]->viewId() == id) {
            m_tabs->setCurrentIndex(i);
            return true;
        }
    return false;
}

void MainWindow::loadData()
{
    if (m_controller->busy())
        return;
    m_panel->setDataState(true, false,
                          m_panel->dataSource() == DatasetLoader::Source::Synthetic
                              ? tr("Making the synthetic data…")
                              : tr("Loading Fashion-MNIST from %1…").arg(m_panel->dataDir()),
                          false);
    m_loader->load(m_panel->dataSource(), m_panel->dataDir());
}

int MainWindow::snapshotInterval(const TrainConfig& c) const
{
    // Parameter snapshots stay in the run's event stream: keep them within a budget.
    qint64 count = 60000;
    if (auto data = m_loader->data())
        count = data->train.count;
    if (c.train_subset > 0)
        count = std::min<qint64>(count, c.train_subset);
    const qint64 perEpoch = (count + c.batch_size - 1) / std::max<int64_t>(1, c.batch_size);
    const qint64 total = std::max<qint64>(1, perEpoch * c.epochs);
    const qint64 perSnapshot = lenet_param_count() * 4 * std::max(1, c.devices);
    const qint64 most = std::max<qint64>(1, kSnapshotBudget / perSnapshot);
    const qint64 least = c.step_mode ? 1 : 5;
    return static_cast<int>(std::max(least, (total + most - 1) / most));
}

RunInfo MainWindow::makeRun(int id, const TrainConfig& c) const
{
    RunInfo run;
    run.id = id;
    run.config = c;
    run.label = tr("#%1: %2").arg(run.id).arg(QString::fromStdString(c.describe()));
    run.shortLabel = tr("#%1 · %2 dev · batch %3 · lr %4 · %5")
                         .arg(run.id)
                         .arg(c.ranks > 1 ? tr("%1 ranks × %2").arg(c.ranks).arg(c.devices) : QString::number(c.devices))
                         .arg(c.batch_size)
                         .arg(c.lr)
                         .arg(c.mode == ExecMode::Sync    ? tr("sync")
                              : c.mode == ExecMode::Async ? tr("async")
                                                          : tr("bounded"));
    if (c.mode == ExecMode::Bounded)
        run.shortLabel += QStringLiteral(" k=%1").arg(c.inflight);
    if (c.allreduce != AllreduceKind::Naive)
        run.shortLabel += QStringLiteral(" · ") + QString::fromLatin1(allreduce_name(c.allreduce));
    if (!c.link.none()) // short, for the legends; the Allreduce and Engine views say "modelled"
        run.shortLabel += tr(" · link %1%2")
                              .arg(QString::fromStdString(c.link.name),
                                   c.link_params > 0 ? tr(" as %1").arg(QString::fromStdString(link_params_text(c.link_params)))
                                                     : QString());
    if (c.train_subset > 0) // runs on different subsets must not read the same
        run.shortLabel += tr(" · %1 images").arg(QLocale().toString(qlonglong(c.train_subset)));
    run.color = runColor(run.id);
    if (c.ranks > 1) {
        // the views, exports and recordings see the job: every rank's devices, numbered
        // globally (as a job's recording says them)
        run.config.devices = c.devices * c.ranks;
        run.config.ranks = 1;
        run.ranks = c.ranks;
    }
    return run;
}

bool MainWindow::startRun(QString* error)
{
    if (m_replay && !m_controller->busy())
        leaveReplay(); // a live run again: out of replay mode first
    if (m_controller->busy()) {
        if (error)
            *error = tr("A run is still going: stop it first.");
        return false;
    }
    if (m_sweep && m_sweep->running()) {
        if (error)
            *error = tr("The scaling sweep is going: stop it first.");
        return false;
    }
    if (const QString why = m_panel->problem(); !why.isEmpty()) {
        if (error)
            *error = why;
        return false;
    }
    TrainConfig c = m_panel->config();
    c.snapshot_grad = m_allreduce->gradientName().toStdString();
    c.step_mode = m_panel->stepMode();
    c.snapshot_interval = snapshotInterval(c);
    m_controller->setStepMode(c.step_mode);
    m_controller->setRankDataArgs(m_loader->cliArgs()); // a job's other ranks load the same data

    RunInfo run = makeRun(m_nextRunId, c);
    const RunInfo previous = m_current;
    m_current = run; // before start(): its state change names the run
    if (!m_controller->start(c, m_loader->data(), error)) {
        m_current = previous;
        return false;
    }
    ++m_nextRunId;
    run.stream = m_controller->stream();
    m_current.stream = run.stream;
    m_stats = TickStats{};
    m_runClock.start();
    m_runCpuStart = threadCpuMs();
    m_lastRefreshAt = -1;
    m_frameCostMs = 0;
    m_refreshPending = false;
    m_errorShown = false;
    m_epoch = m_batch = m_batches = 0;
    m_images = 0;
    m_rate.clear();
    m_progressText.clear();
    m_progressPermille = 0;
    for (LabView* v : m_views)
        v->beginRun(run);
    m_panel->setProgress(0, tr("Starting run %1…").arg(run.id));
    showMessage(tr("Run %1: %2").arg(run.id).arg(QString::fromStdString(c.describe())), false);
    m_timer->start();
    refreshVisible();
    emit runStarted(run.id);
    return true;
}

void MainWindow::onTick()
{
    QElapsedTimer clock;
    clock.start();
    const double cpu0 = threadCpuMs();
    m_buffer.clear();
    if (m_replay) {
        tickReplay(); // leaves what it fed in m_buffer
    } else {
        m_source->drain(m_buffer);
        if (!m_buffer.empty())
            dispatch(m_buffer);
    }
    if (m_buffer.empty()) {
        if (m_refreshPending)
            maybeRefresh();
        return;
    }
    if (m_recorder) {
        // written here, as the UI drains the run: the run's threads never wait for the disk
        try {
            m_recorder->pump(*m_controller->stream(), m_controller->deviceNames(), false);
        } catch (const GpulabError& e) {
            showMessage(tr("%1; recording stopped").arg(coreMessage(e.error)), true);
            std::fprintf(stderr, "gpulab: %s; recording stopped\n", qPrintable(coreMessage(e.error)));
            m_recorder.reset();
            m_recordFailed = true;
        }
    }
    maybeRefresh();
    const double ms = clock.nsecsElapsed() / 1e6;
    const double cpu = threadCpuMs() - cpu0;
    ++m_stats.ticks;
    m_stats.events += static_cast<qint64>(m_buffer.size());
    m_stats.totalMs += ms;
    m_stats.maxMs = std::max(m_stats.maxMs, ms);
    m_stats.cpuTotalMs += cpu;
    m_stats.cpuMaxMs = std::max(m_stats.cpuMaxMs, cpu);
    if (m_stats.ticks % 15 == 1)
        m_tickLabel->setText(shortTickSummary());
    emit eventsDispatched(static_cast<int>(m_buffer.size()));
}

void MainWindow::dispatch(const std::vector<Event>& events)
{
    // while another recording is shown in the single views, they are fed that one's events
    const QList<LabView*> skip = m_replay && m_shownRecording != 0 ? singleViews() : QList<LabView*>{};
    for (LabView* v : m_views)
        if (!skip.contains(v))
            v->consume(events, m_current);
    updateProgress(events);
    for (const Event& e : events) {
        const auto* end = e.get<ev::RunEnd>();
        if (end && end->status == "failed" && !m_errorShown) {
            m_errorShown = true;
            showMessage(tr("Run %1 failed: %2").arg(m_current.id).arg(coreMessage(end->error)), true);
        }
    }
}

void MainWindow::maybeRefresh()
{
    // A view whose drawing took longer than a tick is refreshed less often: the data is
    // taken in at every tick, only the drawing is coalesced, and the event loop keeps
    // time for the user's input.
    const qint64 now = m_runClock.isValid() ? m_runClock.elapsed() : 0;
    const double interval = std::max<double>(kTickMs, 3.0 * m_frameCostMs);
    if (m_lastRefreshAt >= 0 && now - m_lastRefreshAt < interval) {
        m_refreshPending = true;
        return;
    }
    m_refreshPending = false;
    m_lastRefreshAt = now;
    m_frameCostMs = 0;
    refreshVisible();
}

void MainWindow::refreshVisible()
{
    if (auto* v = qobject_cast<LabView*>(m_tabs->currentWidget()))
        v->refresh();
}

void MainWindow::updateProgress(const std::vector<Event>& events)
{
    bool changed = false;
    double now = 0;
    for (const Event& e : events) {
        if (const auto* loss = e.get<ev::MinibatchLoss>()) {
            if (loss->epoch > m_epoch || (loss->epoch == m_epoch && loss->batch + 1 > m_batch)) {
                m_epoch = loss->epoch;
                m_batch = loss->batch + 1;
            }
            m_batches = loss->batches_in_epoch;
            m_images += static_cast<qint64>(loss->images);
            now = e.t_us / 1e6;
            changed = true;
        }
    }
    if (!changed)
        return;
    m_rate.emplace_back(now, m_images);
    while (m_rate.size() > 2 && now - m_rate.front().first > 5.0)
        m_rate.erase(m_rate.begin());
    double rate = 0;
    if (m_rate.size() >= 2 && m_rate.back().first > m_rate.front().first)
        rate = (m_rate.back().second - m_rate.front().second) / (m_rate.back().first - m_rate.front().first);
    const int epochs = m_current.config.epochs;
    const qint64 total = qint64(std::max(1, m_batches)) * epochs;
    const qint64 done = qint64(m_epoch - 1) * m_batches + m_batch;
    const int permille = static_cast<int>(1000 * done / total);
    const double perBatch = m_images / double(std::max<qint64>(1, done));
    const double left = rate > 0 ? (total - done) * perBatch / rate : -1;
    const QLocale loc;
    m_progressPermille = permille;
    m_progressText = tr("Epoch %1 of %2 · minibatch %3 of %4").arg(m_epoch).arg(epochs).arg(m_batch).arg(m_batches);
    QString text = m_progressText;
    // the speed counts training time only: none while paused, and none while the run waits
    // for Step before every allreduce step (the time left would be the class's, not the run's)
    if (rate > 0 && !m_current.config.step_mode && m_controller->state() == RunController::State::Running)
        text += tr(" · %1 images/s · %2 left").arg(loc.toString(qRound(rate))).arg(formatDuration(left));
    else if (m_controller->state() == RunController::State::Paused)
        text += tr(" · paused");
    m_panel->setProgress(permille, text);
}

void MainWindow::onStateChanged(RunController::State s)
{
    m_panel->setRunState(s);
    if (s != RunController::State::Running)
        m_rate.clear(); // a pause is not training time: the speed is measured afresh after it
    if (s == RunController::State::Paused && !m_progressText.isEmpty())
        m_panel->setProgress(m_progressPermille, m_progressText + tr(" · paused"));
    switch (s) {
    case RunController::State::Idle: m_stateLabel->setText(tr("Ready")); break;
    case RunController::State::Running: m_stateLabel->setText(tr("Running run %1").arg(m_current.id)); break;
    case RunController::State::Paused: m_stateLabel->setText(tr("Paused")); break;
    case RunController::State::Stopping: m_stateLabel->setText(tr("Stopping…")); break;
    }
}

void MainWindow::onFinished()
{
    m_buffer.clear();
    m_source->drain(m_buffer);
    if (!m_buffer.empty())
        dispatch(m_buffer);
    m_timer->stop();
    m_stats.runWallMs = m_runClock.elapsed();
    m_stats.uiCpuMs = threadCpuMs() - m_runCpuStart;
    m_refreshPending = false;
    const RunResult& r = m_controller->lastResult();
    if (m_recorder) {
        if (m_recorder->finish(*m_controller->stream(), r.device_names, r.status, r.error)) {
            std::fprintf(stderr, "gpulab: recording written to %s (%.1f MiB)\n", qPrintable(m_recorder->path()),
                         static_cast<double>(m_recorder->fileBytes()) / (1 << 20));
        } else {
            std::fprintf(stderr, "gpulab: %s\n", qPrintable(m_recorder->error()));
            m_recordFailed = true;
        }
        m_recorder.reset();
    }
    m_lastFinished = m_current;
    m_lastFinishedResult = r;
    m_saveRunAction->setEnabled(m_lastFinished.stream != nullptr);
    for (LabView* v : m_views)
        v->endRun(m_current, r);
    refreshVisible();
    m_tickLabel->setText(shortTickSummary());
    m_tickLabel->setToolTip(m_tickHelp + QStringLiteral("\n\n") + tickSummary());
    switch (r.status) {
    case RunStatus::Completed: {
        QString text = tr("Run %1 completed").arg(m_current.id);
        if (!r.epochs.empty())
            text += tr(": test accuracy %1 after epoch %3, %2 s per epoch")
                        .arg(r.epochs.back().test_acc, 0, 'f', 3)
                        .arg(r.epochs.back().seconds, 0, 'f', 1)
                        .arg(r.epochs.back().epoch);
        showMessage(text, false);
        m_panel->setProgress(1000, tr("Done"));
        break;
    }
    case RunStatus::Cancelled: {
        const QString took = m_stopClock.isValid() ? tr(" in %1 ms").arg(m_stopClock.elapsed()) : QString();
        showMessage(tr("Run %1 stopped%2").arg(m_current.id).arg(took), false);
        m_panel->setProgress(0, tr("Stopped"));
        break;
    }
    case RunStatus::Failed:
        if (!m_controller->rankNote().isEmpty()) // a job's rank that failed: how it ended, its last lines
            showMessage(tr("Run %1 failed: %2 (%3)")
                            .arg(m_current.id)
                            .arg(coreMessage(r.error), m_controller->rankNote()),
                        true);
        else if (!m_errorShown)
            showMessage(tr("Run %1 failed: %2").arg(m_current.id).arg(coreMessage(r.error)), true);
        m_errorShown = true;
        m_panel->setProgress(0, tr("Failed"));
        break;
    }
    m_stopClock.invalidate();
    // headless (--quit), the terminal is all there is: a failed run says why there too
    QString why;
    if (r.status == RunStatus::Failed) {
        why = QStringLiteral(": ") + coreMessage(r.error);
        if (!m_controller->rankNote().isEmpty())
            why += QStringLiteral(" (") + m_controller->rankNote() + QLatin1Char(')');
    }
    std::fprintf(stderr, "gpulab: run %d %s%s; ui %s\n", m_current.id, run_status_name(r.status), qPrintable(why),
                 qPrintable(tickSummary()));
    emit runFinished(m_current.id, static_cast<int>(r.status));
}

QString MainWindow::shortTickSummary() const
{
    const TickStats& s = m_stats;
    if (s.ticks == 0)
        return tr("UI tick: idle");
    return tr("UI tick %1 ms (max %2) · replot %3 ms · paint %4 ms")
        .arg(s.cpuTotalMs / s.ticks, 0, 'f', 2)
        .arg(s.cpuMaxMs, 0, 'f', 1)
        .arg(s.replots ? s.replotCpuTotalMs / s.replots : 0.0, 0, 'f', 1)
        .arg(s.paints ? s.paintCpuTotalMs / s.paints : 0.0, 0, 'f', 1);
}

QString MainWindow::tickSummary() const
{
    const TickStats& s = m_stats;
    if (s.ticks == 0)
        return tr("UI tick: idle");
    // CPU time of the UI thread; "wall" adds the time the scheduler gave the workers
    QString text = tr("UI tick %1 ms (max %2; wall %3/%4) · replot %5 ms (max %6) · paint %7 ms (max %8) · %9 events/tick")
                       .arg(s.cpuTotalMs / s.ticks, 0, 'f', 2)
                       .arg(s.cpuMaxMs, 0, 'f', 1)
                       .arg(s.totalMs / s.ticks, 0, 'f', 1)
                       .arg(s.maxMs, 0, 'f', 1)
                       .arg(s.replots ? s.replotCpuTotalMs / s.replots : 0.0, 0, 'f', 2)
                       .arg(s.replotCpuMaxMs, 0, 'f', 1)
                       .arg(s.paints ? s.paintCpuTotalMs / s.paints : 0.0, 0, 'f', 2)
                       .arg(s.paintCpuMaxMs, 0, 'f', 1)
                       .arg(double(s.events) / s.ticks, 0, 'f', 0);
    if (s.runWallMs > 0)
        text += tr(" · UI thread busy %1%").arg(100.0 * s.uiCpuMs / s.runWallMs, 0, 'f', 0);
    return text;
}

void MainWindow::showMessage(const QString& text, bool error)
{
    m_messageLabel->setText(text);
    m_messageLabel->setToolTip(text);
    m_messageLabel->setStyleSheet(error ? QStringLiteral("color: #b00020; font-weight: bold;") : QString());
}

QString MainWindow::statusMessage() const
{
    return m_messageLabel->text();
}

bool MainWindow::eventFilter(QObject* watched, QEvent* e)
{
    if (watched == m_tabs && e->type() == QEvent::Resize) {
        fitTabFont();
        if (m_replay && m_replayRuns.size() > 1)
            placeRecordingChooser();
    }
    return QMainWindow::eventFilter(watched, e);
}

bool MainWindow::event(QEvent* e)
{
    // Every widget of the window is painted while the window handles UpdateRequest.
    if (e->type() != QEvent::UpdateRequest || !feeding())
        return QMainWindow::event(e);
    QElapsedTimer clock;
    clock.start();
    const double cpu0 = threadCpuMs();
    const bool r = QMainWindow::event(e);
    const double cpu = threadCpuMs() - cpu0;
    m_frameCostMs += clock.nsecsElapsed() / 1e6;
    ++m_stats.paints;
    m_stats.paintCpuTotalMs += cpu;
    m_stats.paintCpuMaxMs = std::max(m_stats.paintCpuMaxMs, cpu);
    return r;
}

void MainWindow::closeEvent(QCloseEvent* e)
{
    m_controller->stop(); // the controller's destructor joins the run's thread
    QString error;
    if (!saveSettings(&error))
        std::fprintf(stderr, "gpulab: %s\n", qPrintable(error));
    e->accept();
}

// ---- export ------------------------------------------------------------------------

bool MainWindow::exportTrace(const QString& path, QString* error)
{
    if (!m_replay && !m_controller->stream()) {
        if (error)
            *error = tr("no run to export yet");
        return false;
    }
    std::string err;
    if (!export_chrome_trace(m_source->events(), path.toStdString(), &err)) {
        if (error)
            *error = QString::fromStdString(err);
        return false;
    }
    return true;
}

bool MainWindow::exportAll(const QString& dir, QStringList* written, QString* error)
{
    if (!QDir().mkpath(dir)) {
        if (error)
            *error = tr("cannot create the folder %1").arg(dir);
        return false;
    }
    for (LabView* v : m_views) {
        v->refresh();
        if (!exportView(v, dir, written, error))
            return false;
    }
    if (m_replay || m_controller->stream()) {
        const QString trace = QDir(dir).filePath(QStringLiteral("trace.json"));
        if (!exportTrace(trace, error))
            return false;
        if (written)
            written->append(trace);
        const QString events = QDir(dir).filePath(QStringLiteral("events.csv"));
        std::string err;
        if (!export_events_csv(m_source->events(), events.toStdString(), &err)) {
            if (error)
                *error = QString::fromStdString(err);
            return false;
        }
        if (written)
            written->append(events);
    }
    return true;
}

bool MainWindow::saveScreenshots(const QString& dir, QStringList* written, QString* error)
{
    if (!QDir().mkpath(dir)) {
        if (error)
            *error = tr("cannot create the folder %1").arg(dir);
        return false;
    }
    const int before = m_tabs->currentIndex();
    for (int i = 0; i < m_views.size(); ++i) {
        m_tabs->setCurrentIndex(i);
        m_views[i]->refresh();
        QCoreApplication::processEvents();
        for (QCustomPlot* p : m_views[i]->findChildren<QCustomPlot*>())
            p->replot(QCustomPlot::rpImmediateRefresh);
        QCoreApplication::processEvents();
        const QString path = QDir(dir).filePath(QStringLiteral("screen_%1.png").arg(m_views[i]->viewId()));
        if (!grab().save(path, "PNG")) {
            if (error)
                *error = tr("cannot write %1").arg(path);
            return false;
        }
        if (written)
            written->append(path);
    }
    m_tabs->setCurrentIndex(before);
    return true;
}

QString MainWindow::dialogDir() const
{
    return m_lastDir.isEmpty() || !QDir(m_lastDir).exists() ? QDir::homePath() : m_lastDir;
}

void MainWindow::exportViewInteractive()
{
    auto* v = qobject_cast<LabView*>(m_tabs->currentWidget());
    if (!v)
        return;
    const QString dir = QFileDialog::getExistingDirectory(this, tr("Export %1 to folder").arg(v->title()),
                                                          dialogDir());
    if (dir.isEmpty())
        return;
    m_lastDir = dir;
    QStringList written;
    QString error;
    v->refresh();
    if (exportView(v, dir, &written, &error))
        showMessage(tr("Wrote %1 files to %2").arg(written.size()).arg(dir), false);
    else
        showMessage(error, true);
}

void MainWindow::exportAllInteractive()
{
    const QString dir = QFileDialog::getExistingDirectory(this, tr("Export everything to folder"), dialogDir());
    if (dir.isEmpty())
        return;
    m_lastDir = dir;
    QStringList written;
    QString error;
    if (exportAll(dir, &written, &error))
        showMessage(tr("Wrote %1 files to %2").arg(written.size()).arg(dir), false);
    else
        showMessage(error, true);
}

void MainWindow::exportTraceInteractive()
{
    const QString path = QFileDialog::getSaveFileName(this, tr("Export Chrome trace"),
                                                      QDir(dialogDir()).filePath(QStringLiteral("gpulab-trace.json")),
                                                      tr("Chrome trace (*.json)"));
    if (path.isEmpty())
        return;
    m_lastDir = QFileInfo(path).absolutePath();
    QString error;
    if (exportTrace(path, &error))
        showMessage(tr("Wrote %1: open it in ui.perfetto.dev or chrome://tracing").arg(path), false);
    else
        showMessage(error, true);
}

void MainWindow::saveRunInteractive()
{
    if (!m_lastFinished.stream) {
        showMessage(tr("No finished run to save yet: start a run and let it end first"), true);
        return;
    }
    const QString path = QFileDialog::getSaveFileName(
        this, tr("Save run"), QDir(dialogDir()).filePath(QStringLiteral("gpulab-run-%1.gpurec").arg(m_lastFinished.id)),
        tr("gpulab recordings (*.gpurec)"));
    if (path.isEmpty())
        return;
    m_lastDir = QFileInfo(path).absolutePath();
    QString error;
    if (saveRun(path, &error))
        showMessage(tr("Saved run %1 to %2 (gpulab-cli replay plays it)").arg(m_lastFinished.id).arg(path), false);
    else
        showMessage(error, true);
}

bool MainWindow::saveRun(const QString& path, QString* error)
{
    if (!m_lastFinished.stream) {
        if (error)
            *error = tr("No finished run to save yet: start a run and let it end first");
        return false;
    }
    return RunRecorder::save(path, m_lastFinished.config, *m_lastFinished.stream, m_lastFinishedResult, error);
}

// ---- recording ---------------------------------------------------------------------

void MainWindow::recordCurrentRun(const QString& path)
{
    if (!m_controller->busy())
        return;
    m_recorder = std::make_unique<RunRecorder>(path, m_current.config); // a job's: every rank's devices
}

// ---- replay ------------------------------------------------------------------------

bool MainWindow::feeding() const
{
    return m_controller->busy() || (m_replay && m_replay->playing());
}

bool MainWindow::canOpenRecordings(QString* why) const
{
    if (m_controller->busy())
        *why = tr("A run is going: stop it before opening a recording.");
    else if (m_sweep && m_sweep->running())
        *why = tr("The scaling sweep is going: stop it before opening a recording.");
    else
        return true;
    return false;
}

bool MainWindow::openRecordings(const QStringList& paths, QString* error)
{
    auto fail = [error](const QString& why) {
        if (error)
            *error = why;
        return false;
    };
    if (paths.isEmpty())
        return fail(tr("No recording chosen"));
    QString why;
    if (!canOpenRecordings(&why))
        return fail(why);
    cancelLoadingRecordings();
    // Every file is read before anything changes, so that a bad one leaves the lab as it was.
    std::vector<std::unique_ptr<ReplaySource>> sources;
    for (const QString& path : paths) {
        try {
            sources.push_back(std::make_unique<ReplaySource>(path));
        } catch (const GpulabError& e) {
            return fail(coreMessage(e.error));
        } catch (const std::bad_alloc&) {
            return fail(tr("%1: not enough memory to read this recording").arg(path));
        }
    }
    startReplay(std::move(sources));
    return true;
}

int MainWindow::openRecordingsInBackground(const QStringList& paths, QString* refused)
{
    QString why;
    if (paths.isEmpty())
        why = tr("No recording chosen");
    else
        canOpenRecordings(&why); // why stays empty when they can be opened
    if (!why.isEmpty()) {
        showMessage(why, true);
        if (refused)
            *refused = why;
        return 0;
    }
    cancelLoadingRecordings();
    // the data set waits until the recordings have been read (they need none), then loads in
    // the background for a live run: `gpulab --replay FILE` no longer reads both at once
    m_loader->hold();
    m_recLoader = new ReplayLoader(paths, this);
    m_recReading = ++m_lastReading;
    m_recNames = QFileInfo(paths.front()).fileName() +
                 (paths.size() > 1 ? tr(" and %1 more").arg(paths.size() - 1) : QString());
    // every outcome: the loader ended and gone, then the replay (if any), then the signal
    auto ended = [this](ReadOutcome outcome, const QString& message) {
        const int reading = m_recReading;
        endLoading();
        if (outcome != ReadOutcome::Opened)
            showMessage(message, outcome == ReadOutcome::Failed);
        emit recordingsRead(reading, outcome, message);
    };
    connect(m_recLoader, &ReplayLoader::progress, this, [this](int permille, const QString& file) {
        m_loadBar->setValue(permille);
        m_loadBar->setToolTip(file); // the file being read
    });
    connect(m_recLoader, &ReplayLoader::finished, this, [this, ended] {
        const bool cancelled = m_recLoader->cancelRequested(); // Cancel came as it ended
        std::vector<std::unique_ptr<ReplaySource>> sources = m_recLoader->takeSources();
        if (cancelled) {
            ended(ReadOutcome::Cancelled, tr("Opening %1 was cancelled").arg(m_recNames));
            return;
        }
        QString why;
        if (!canOpenRecordings(&why)) { // a run was started while the files were read
            ended(ReadOutcome::Failed, why);
            return;
        }
        const int reading = m_recReading;
        endLoading();
        startReplay(std::move(sources));
        emit recordingsRead(reading, ReadOutcome::Opened, QString());
    });
    connect(m_recLoader, &ReplayLoader::failed, this,
            [ended](const QString& error) { ended(ReadOutcome::Failed, error); });
    connect(m_recLoader, &ReplayLoader::cancelled, this,
            [this, ended] { ended(ReadOutcome::Cancelled, tr("Opening %1 was cancelled").arg(m_recNames)); });
    m_loadBar->setValue(0);
    m_loadBar->setVisible(true);
    m_loadCancel->setVisible(true);
    showMessage(tr("Reading %1… (the lab stays usable; Cancel stops it)").arg(m_recNames), false);
    m_recLoader->start();
    return m_recReading;
}

void MainWindow::cancelLoadingRecordings()
{
    if (!m_recLoader)
        return;
    // its reports are dropped with it; the thread is waited for (it stops at the next piece)
    const int reading = m_recReading;
    const QString message = tr("Opening %1 was cancelled").arg(m_recNames);
    delete m_recLoader;
    m_recLoader = nullptr;
    endLoading();
    emit recordingsRead(reading, ReadOutcome::Cancelled, message);
}

void MainWindow::endLoading()
{
    if (m_recLoader) {
        m_recLoader->deleteLater();
        m_recLoader = nullptr;
    }
    m_recReading = 0;
    m_loader->release(); // the data set, if it waited for the recordings
    m_loadBar->setVisible(false);
    m_loadCancel->setVisible(false);
}

void MainWindow::startReplay(std::vector<std::unique_ptr<ReplaySource>> sources)
{
    const qsizetype count = qsizetype(sources.size());
    leaveReplay();
    m_replay = std::make_unique<ReplaySession>(std::move(sources));
    m_replayRuns.clear();
    for (const auto& s : m_replay->sources()) {
        // a job's recording reads as the job did live: its ranks, each rank's devices
        RunInfo run = makeRun(m_nextRunId++, s->jobConfig());
        // the legend names the recording; the label (and with it the exports) is the run's own
        run.shortLabel += QStringLiteral(" · ") + QFileInfo(s->path()).fileName();
        run.stream = s->stream();
        m_replayRuns.push_back(run);
    }
    m_current = m_replayRuns.front();
    m_source = &m_replay->primary();
    std::vector<const ReplaySource*> shown;
    std::vector<QColor> colors;
    for (size_t i = 0; i < m_replay->sources().size(); ++i) {
        shown.push_back(m_replay->sources()[i].get());
        colors.push_back(m_replayRuns[i].color);
    }
    m_replayPanel->setRecordings(shown, colors);
    m_shownRecording = 0;
    {
        QSignalBlocker block(m_recordingCombo);
        m_recordingCombo->clear();
        for (size_t i = 0; i < m_replayRuns.size(); ++i) {
            QPixmap swatch(12, 12);
            swatch.fill(m_replayRuns[i].color);
            const ReplaySource& s = *m_replay->sources()[i];
            m_recordingCombo->addItem(QIcon(swatch),
                                      tr("#%1 · %2 (%3)")
                                          .arg(m_replayRuns[i].id)
                                          .arg(QFileInfo(s.path()).fileName(), QString::fromStdString(s.header().machine)));
            m_recordingCombo->setItemData(int(i), QString::fromStdString(s.jobConfig().describe()), Qt::ToolTipRole);
        }
    }
    updateRecordingChooser();
    m_left->setCurrentIndex(1);
    updatePanelSummary();
    m_stats = TickStats{};
    m_runClock.start();
    m_runCpuStart = threadCpuMs();
    m_lastRefreshAt = -1;
    m_frameCostMs = 0;
    m_refreshPending = false;
    m_errorShown = false;
    restartReplayViews();
    const ReplaySource& p = m_replay->primary();
    const QString who = tr("%1 (recorded on %2, %3)")
                            .arg(QFileInfo(p.path()).fileName(), QString::fromStdString(p.header().machine),
                                 QString::fromStdString(p.header().date));
    if (!p.complete())
        showMessage(tr("Replaying %1: the recording is incomplete (the run was cut short)").arg(who), true);
    else
        showMessage(count > 1 ? tr("Replaying %1, with %2 more overlaid").arg(who).arg(count - 1)
                              : tr("Replaying %1").arg(who),
                    false);
    m_stateLabel->setText(tr("Replaying"));
    m_timer->start();
    replayPlay(true);
}

QList<LabView*> MainWindow::overlayViews() const
{
    // the views that draw several runs at once; the others show one recording (the chosen one)
    return {m_training, m_memory};
}

QList<LabView*> MainWindow::singleViews() const
{
    QList<LabView*> l;
    const QList<LabView*> overlay = overlayViews();
    for (LabView* v : m_views)
        if (!overlay.contains(v))
            l << v;
    return l;
}

void MainWindow::updateRecordingChooser()
{
    const bool several = m_replay && m_replayRuns.size() > 1;
    if (!several) {
        // out of the tabs' corner too: a hidden corner widget still takes its width from the
        // tab bar (Qt lays the corner out whether or not it is shown), which made the tabs
        // scroll at a 1024 px window with the control panel open
        if (m_tabs->cornerWidget(Qt::TopRightCorner) == m_recordingChooser) {
            m_tabs->setCornerWidget(nullptr, Qt::TopRightCorner);
            m_recordingChooserRow->layout()->addWidget(m_recordingChooser);
        }
        m_recordingChooser->setVisible(false);
        m_recordingChooserRow->setVisible(false);
        return;
    }
    const bool single = singleViews().contains(qobject_cast<LabView*>(m_tabs->currentWidget()));
    // a projector's large font on a small screen leaves the tabs' corner little room
    m_recordingChooserLabel->setText(m_projector ? (single ? tr("Shows:") : tr("Others show:"))
                                     : single    ? tr("This view shows:")
                                                 : tr("Devices · Allreduce · Engine show:"));
    m_recordingChooserLabel->setToolTip(tr("The Training and Memory views overlay all %1 recordings; the Devices, "
                                           "Allreduce and Engine views show the one chosen here")
                                            .arg(m_replayRuns.size()));
    m_recordingCombo->setCurrentIndex(m_shownRecording);
    placeRecordingChooser();
}

// Projector mode beside the open control panel on a 1024-pixel screen: at the projector's
// size the tabs' names were wider than the room, and the last ones scrolled away behind arrows.
// Their font steps down until every tab is in view, never below the desk's tab font; back at
// full size wherever that fits (the panel on one line). Leaving the mode puts the desk's font
// back (applyProjectorToWidgets).
void MainWindow::fitTabFont()
{
    QTabBar* bar = m_tabs->tabBar();
    const QVariant desk = bar->property("prjFont"); // the desk's font, kept while the mode is on
    if (!m_projector || !desk.isValid())
        return;
    const QFont deskFont = desk.value<QFont>();
    if (deskFont.pointSizeF() <= 0)
        return;
    const QWidget* corner = m_tabs->cornerWidget(Qt::TopRightCorner);
    const int room = m_tabs->width() - (corner && corner->isVisible() ? corner->width() : 0) - 8;
    QFont f = deskFont;
    const double least = deskFont.pointSizeF();
    for (double pt = deskFont.pointSizeF() * kProjectorFontScale;; pt -= 0.5) {
        f.setPointSizeF(std::max(pt, least));
        if (bar->font() != f)
            bar->setFont(f);
        if (bar->sizeHint().width() <= room || pt <= least)
            break;
    }
}

void MainWindow::placeRecordingChooser()
{
    const bool several = m_replay && m_replayRuns.size() > 1;
    // Beside the tabs when every tab keeps its whole width there (the tab bar's size hint is
    // all its tabs unscrolled), else on its own row, where the names are whole too. On the
    // row the chooser is wider, so it comes back beside the tabs only where it fits at that
    // width: no flicking between the two at a width in between.
    const int slack = 8; // the tab widget's frame and the chooser's margins
    const bool beside = m_tabs->tabBar()->sizeHint().width() + m_recordingChooser->sizeHint().width() + slack <=
                        m_tabs->width();
    const bool isBeside = m_tabs->cornerWidget(Qt::TopRightCorner) == m_recordingChooser;
    if (beside != isBeside) {
        if (beside) {
            m_recordingChooserRow->layout()->removeWidget(m_recordingChooser);
            m_tabs->setCornerWidget(m_recordingChooser, Qt::TopRightCorner);
        } else {
            m_tabs->setCornerWidget(nullptr, Qt::TopRightCorner);
            m_recordingChooserRow->layout()->addWidget(m_recordingChooser);
        }
    }
    // on the row, room for the whole of most names (a very long one still elides)
    qsizetype chars = kChooserChars;
    if (!beside)
        for (int i = 0; i < m_recordingCombo->count(); ++i)
            chars = std::clamp(m_recordingCombo->itemText(i).size(), chars, kChooserRowChars);
    if (m_recordingCombo->minimumContentsLength() != chars)
        m_recordingCombo->setMinimumContentsLength(int(chars));
    m_recordingChooserRow->setVisible(several && !beside);
    m_recordingChooser->setVisible(several); // moving it hid it
}

void MainWindow::setShownRecording(int index)
{
    if (!m_replay || index < 0 || index >= int(m_replayRuns.size()))
        return;
    if (index != m_shownRecording) {
        m_shownRecording = index;
        // every view begins again and is fed up to the playhead: the single views the chosen
        // recording, the overlays all of them
        const double pos = m_replay->position();
        for (const auto& s : m_replay->sources()) {
            s->rewind();
            s->feedTo(pos);
        }
        restartReplayViews();
        m_buffer.clear();
        pumpReplay();
        updateReplayPanel();
        m_lastRefreshAt = -1;
        refreshVisible();
        const ReplaySource& s = *m_replay->sources()[size_t(index)];
        showMessage(tr("Devices, Allreduce and Engine now show %1 (recorded on %2)")
                        .arg(QFileInfo(s.path()).fileName(), QString::fromStdString(s.header().machine)),
                    false);
    }
    updateRecordingChooser();
}

void MainWindow::restartReplayViews()
{
    // overlays first (the views that overlay runs), the recording every view plays last; the
    // single views begin the recording chosen for them
    const QList<LabView*> single = singleViews();
    const size_t shown = size_t(std::clamp<int>(m_shownRecording, 0, int(m_replayRuns.size()) - 1));
    for (size_t i = 1; i < m_replayRuns.size(); ++i)
        for (LabView* v : overlayViews())
            v->beginRun(m_replayRuns[i]);
    for (LabView* v : m_views)
        v->beginRun(single.contains(v) ? m_replayRuns[shown] : m_replayRuns.front());
    m_replayEnded.assign(m_replayRuns.size(), false);
    m_epoch = m_batch = m_batches = 0;
    m_images = 0;
    m_rate.clear();
    m_progressText.clear();
    m_progressPermille = 0;
}

void MainWindow::pumpReplay()
{
    // Left in m_buffer: what the first recording fed (the tick's figures count it).
    std::vector<Event> overlay;
    const auto& sources = m_replay->sources();
    const QList<LabView*> single = singleViews();
    const size_t shown = size_t(m_shownRecording);
    bool primaryEnded = false;
    for (size_t i = 0; i < sources.size(); ++i) {
        std::vector<Event>& out = i == 0 ? m_buffer : overlay;
        out.clear();
        sources[i]->drain(out);
        if (!out.empty()) {
            if (i == 0) {
                dispatch(out); // every view, but the single views when they show another
            } else {
                for (LabView* v : overlayViews())
                    v->consume(out, m_replayRuns[i]);
                if (i == shown)
                    for (LabView* v : single)
                        v->consume(out, m_replayRuns[i]);
            }
        }
        if (sources[i]->fedAll() && !m_replayEnded[i]) {
            m_replayEnded[i] = true;
            const RunResult r = sources[i]->result();
            for (LabView* v : overlayViews())
                v->endRun(m_replayRuns[i], r);
            if (i == shown)
                for (LabView* v : single)
                    v->endRun(m_replayRuns[i], r);
            if (i == 0)
                primaryEnded = true;
        }
    }
    if (primaryEnded) {
        m_stats.runWallMs = m_runClock.elapsed();
        m_stats.uiCpuMs = threadCpuMs() - m_runCpuStart;
        std::fprintf(stderr, "gpulab: replay of run %d ended; ui %s\n", m_current.id, qPrintable(tickSummary()));
        emit replayFinished(m_current.id);
    }
}

void MainWindow::tickReplay()
{
    m_replay->tick();
    pumpReplay();
    updateReplayPanel();
}

void MainWindow::updateReplayPanel()
{
    if (!m_replay)
        return;
    m_replayPanel->setPosition(m_replay->position(), m_replay->duration(), m_replay->playing(), m_replay->speed());
    m_replayPanel->setProgress(m_progressText);
    m_stateLabel->setText(m_replay->playing() ? tr("Replaying") : m_replay->atEnd() ? tr("Replayed") : tr("Replay paused"));
}

void MainWindow::replayPlay(bool on)
{
    if (!m_replay)
        return;
    if (on && m_replay->atEnd())
        replaySeek(0); // Play at the end plays again from the start
    m_replay->setPlaying(on);
    updateReplayPanel();
}

void MainWindow::replaySetSpeed(double speed)
{
    if (!m_replay)
        return;
    m_replay->setSpeed(speed);
    updateReplayPanel();
}

void MainWindow::replaySeek(double pos)
{
    if (!m_replay)
        return;
    if (m_replay->seek(pos))
        restartReplayViews();
    m_buffer.clear();
    pumpReplay();
    updateReplayPanel();
    m_lastRefreshAt = -1;
    refreshVisible();
}

bool MainWindow::replayJumpToEpoch(int epoch)
{
    if (!m_replay)
        return false;
    const double t = m_replay->primary().epochStart(epoch);
    if (t < 0)
        return false;
    replaySeek(t);
    return true;
}

void MainWindow::replayStep(int direction)
{
    if (!m_replay)
        return;
    // the allreduce steps of the recording the Allreduce view shows
    const std::vector<double>& steps = m_replay->sources()[size_t(m_shownRecording)]->stepTimes();
    if (steps.empty())
        return;
    m_replay->setPlaying(false);
    const double pos = m_replay->position();
    double to = pos;
    if (direction > 0) {
        auto it = std::upper_bound(steps.begin(), steps.end(), pos);
        to = it == steps.end() ? m_replay->duration() : *it;
    } else {
        auto it = std::lower_bound(steps.begin(), steps.end(), pos);
        to = it == steps.begin() ? 0.0 : *std::prev(it);
    }
    replaySeek(to);
}

void MainWindow::replayToEnd()
{
    if (!m_replay)
        return;
    m_replay->setPlaying(false);
    replaySeek(m_replay->duration());
    for (LabView* v : m_views)
        v->refresh();
}

bool MainWindow::replayComplete() const
{
    if (!m_replay)
        return false;
    for (const auto& s : m_replay->sources())
        if (!s->complete())
            return false;
    return true;
}

void MainWindow::leaveReplay()
{
    if (!m_replay)
        return;
    m_timer->stop();
    m_source = m_live.get();
    m_replay.reset();
    m_replayRuns.clear();
    m_replayEnded.clear();
    m_shownRecording = 0;
    updateRecordingChooser();
    m_current.stream = nullptr; // the views keep what they show; the snapshots are theirs now
    m_left->setCurrentIndex(0);
    updatePanelSummary();
    m_stateLabel->setText(tr("Ready"));
    showMessage(tr("Left the replay: Start runs live again"), false);
}

void MainWindow::openRecordingInteractive()
{
    const QStringList paths = QFileDialog::getOpenFileNames(
        this, tr("Open recording (choose several to overlay them)"), dialogDir(),
        tr("gpulab recordings (*.gpurec);;All files (*)"));
    if (paths.isEmpty())
        return;
    m_lastDir = QFileInfo(paths.front()).absolutePath();
    openRecordingsInBackground(paths);
}

void MainWindow::buildExamplesMenu(QMenu* help)
{
    // Small recordings made by the lab's own tools (resources/recordings/), embedded.
    QMenu* examples = help->addMenu(tr("Example runs"));
    examples->setObjectName(QStringLiteral("exampleRunsMenu"));
    const std::pair<const char*, const char*> known[] = {
        {"book-1-device.gpurec", QT_TR_NOOP("The book's run on 1 device (30,000 of the 60,000 images, 4 epochs)")},
        {"book-2-devices.gpurec", QT_TR_NOOP("The book's run on 2 devices (30,000 of the 60,000 images, 4 epochs)")},
        {"gpu-book-2-devices.gpurec",
         QT_TR_NOOP("The book's run on 2 devices sharing one NVIDIA H200 GPU (30,000 of the 60,000 images, 4 epochs)")},
        {"memory-sync.gpurec", QT_TR_NOOP("Memory, synchronous: one wait per minibatch (10,000 images, 1 epoch)")},
        {"memory-async.gpurec", QT_TR_NOOP("Memory, asynchronous: no waits (10,000 images, 1 epoch)")},
        {"ring-4-devices.gpurec", QT_TR_NOOP("Ring allreduce on 4 devices (5,120 images, 1 epoch)")},
    };
    const QDir dir(QStringLiteral(":/recordings"));
    const QStringList files = dir.entryList({QStringLiteral("*.gpurec")}, QDir::Files, QDir::Name);
    for (const QString& f : files) {
        QString title = f;
        for (const auto& [file, text] : known)
            if (f == QLatin1String(file))
                title = tr(text);
        QAction* a = examples->addAction(title);
        a->setData(dir.filePath(f));
        connect(a, &QAction::triggered, this, [this, path = dir.filePath(f)] { openRecordingsInBackground({path}); });
    }
    // the two memory runs side by side
    if (files.contains(QStringLiteral("memory-sync.gpurec")) && files.contains(QStringLiteral("memory-async.gpurec"))) {
        examples->addSeparator();
        QAction* pair = examples->addAction(tr("Memory: synchronous, with asynchronous overlaid"));
        connect(pair, &QAction::triggered, this, [this, dir] {
            openRecordingsInBackground({dir.filePath(QStringLiteral("memory-sync.gpurec")),
                                        dir.filePath(QStringLiteral("memory-async.gpurec"))});
        });
    }
    if (files.isEmpty())
        examples->addAction(tr("(none in this build)"))->setEnabled(false);
}

} // namespace gpulab
