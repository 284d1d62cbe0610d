// UI tests: drive the real MainWindow offscreen on the synthetic dataset: controls,
// runs that feed every view, pause / step / stop, refused settings, exports that decode,
// and the headless command line.
#include "allreduce_view.h"
#include "control_panel.h"
#include "core_messages.h"
#include "dataset_loader.h"
#include "devices_view.h"
#include "engine_view.h"
#include "main_window.h"
#include "memory_view.h"
#include "presets.h"
#include "replay_source.h"
#include "record/recording.h"
#include "training_view.h"
#include "data/fashion_mnist.h"
#include "data/synthetic.h"
#include "device/device_factory.h"
#include "model/lenet.h"
#include "trace/event_stream.h"
#include "trace/trace_export.h"
#include "train/settings.h"
#include "train/trainer.h"
#include "support/named_child.h"
#include "support/offscreen_environment.h"

#include <qcustomplot.h>

#include <atomic>

#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QImage>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QMessageBox>
#include <QProcess>
#include <QRegularExpression>
#include <QProgressBar>
#include <QPushButton>
#include <QSignalSpy>
#include <QSpinBox>
#include <QSvgRenderer>
#include <QTemporaryDir>
#include <QTimer>
#include <QTranslator>
#include <QtTest>

using namespace gpulab;

namespace {

// Generous: CI is a loaded 2-core machine.
constexpr int kRunTimeoutMs = 180000;
// The only time limits checked, both things a user at the lab would notice: the window
// freezing, and Stop not stopping. Far above what a loaded 2-core machine needs (a stop
// there takes tens of ms, the longest event-loop gap a few hundred), far below a run left
// going or a window blocked on the engine.
constexpr qint64 kFrozenMs = 3000;
constexpr qint64 kStopMs = 3000;

// Waits until spy has seen at least n signals.
bool waitCount(QSignalSpy& spy, int n, int timeoutMs)
{
    QElapsedTimer t;
    t.start();
    while (spy.count() < n && t.elapsed() < timeoutMs)
        spy.wait(static_cast<int>(std::max<qint64>(10, timeoutMs - t.elapsed())));
    return spy.count() >= n;
}

// Processes events until f() is true or the time is up.
template <class F>
bool waitUntil(F f, int timeoutMs)
{
    QElapsedTimer t;
    t.start();
    while (!f() && t.elapsed() < timeoutMs)
        QTest::qWait(20);
    return f();
}

} // namespace

class TestUi : public QObject {
    Q_OBJECT

    MainWindow* w = nullptr;

    template <class T>
    T* child(const char* name) { return namedChild<T>(w, name); }
    QPushButton* button(const char* name) { return child<QPushButton>(name); }

    // The synthetic data loaded (tests run alone start from the default folder).
    void ensureSyntheticData()
    {
        waitUntil([&] { return !w->loader()->loading(); }, 60000);
        if (w->loader()->data() && w->loader()->source() == DatasetLoader::Source::Synthetic)
            return;
        auto* source = child<QComboBox>("dataSourceCombo");
        source->setCurrentIndex(source->findData(int(DatasetLoader::Source::Synthetic)));
        waitUntil([&] { return !w->loader()->loading() && w->loader()->data(); }, 60000);
    }

    // What a user does: set the controls one by one.
    void setControls(int devices, int batch, int subset, int epochs, const char* mode = "sync",
                     const char* allreduce = "naive", int budgetMiB = 2048, double lr = 0.5,
                     int testSubset = 256)
    {
        ensureSyntheticData();
        child<QComboBox>("presetCombo")->setCurrentIndex(0);
        child<QSpinBox>("devicesSpin")->setValue(devices);
        child<QSpinBox>("batchSpin")->setValue(batch);
        child<QSpinBox>("subsetSpin")->setValue(subset);
        child<QSpinBox>("testSubsetSpin")->setValue(testSubset);
        child<QSpinBox>("epochsSpin")->setValue(epochs);
        child<QDoubleSpinBox>("lrSpin")->setValue(lr);
        child<QSpinBox>("budgetSpin")->setValue(budgetMiB);
        child<QSpinBox>("inflightSpin")->setValue(2);
        auto* m = child<QComboBox>("modeCombo");
        m->setCurrentIndex(QByteArray(mode) == "sync" ? 0 : QByteArray(mode) == "async" ? 1 : 2);
        child<QComboBox>("allreduceCombo")->setCurrentIndex(QByteArray(allreduce) == "ring" ? 1 : 0);
        child<QComboBox>("linkCombo")->setCurrentText(QStringLiteral("none"));
        child<QComboBox>("linkParamsCombo")->setCurrentText(QStringLiteral("lenet"));
        child<QCheckBox>("stepModeCheck")->setChecked(false);
    }

    // Clicks Start and waits for the run to end; returns its status.
    int runToEnd()
    {
        QSignalSpy finished(w, &MainWindow::runFinished);
        [&] { QVERIFY2(button("startButton")->isEnabled(), qPrintable(child<QLabel>("validationLabel")->text())); }();
        QTest::mouseClick(button("startButton"), Qt::LeftButton);
        if (!waitCount(finished, 1, kRunTimeoutMs))
            return -1;
        return finished.at(0).at(1).toInt();
    }

    void startAndWaitForMinibatches(int n)
    {
        QSignalSpy started(w, &MainWindow::runStarted);
        QTest::mouseClick(button("startButton"), Qt::LeftButton);
        QCOMPARE(started.count(), 1);
        const int id = w->currentRunId();
        waitUntil([&] { return w->trainingView()->minibatchCount(id) >= n || !w->controller()->busy(); },
                  kRunTimeoutMs);
        QVERIFY2(w->controller()->busy(), qPrintable(QStringLiteral("the run ended early: ") + w->statusMessage()));
        QVERIFY2(w->trainingView()->minibatchCount(id) >= n, "the run reported no minibatches");
    }

    // Clicks Start and waits for the end while a 10 ms timer measures the longest gap
    // between event-loop ticks. Returns the run's status.
    int runWatchingTheEventLoop(qint64* longestGapMs)
    {
        QElapsedTimer sinceLast;
        sinceLast.start();
        qint64 longest = 0;
        QTimer tick;
        tick.setInterval(10);
        connect(&tick, &QTimer::timeout, this, [&] {
            longest = std::max(longest, sinceLast.restart());
        });
        tick.start();
        const int status = runToEnd();
        tick.stop();
        *longestGapMs = longest;
        return status;
    }

    void expectOneQuietMessage(const QString& needle)
    {
        const QString status = w->statusMessage();
        QVERIFY2(status.count(needle) == 1, qPrintable(status));
        for (QWidget* top : QApplication::topLevelWidgets())
            QVERIFY(!(qobject_cast<QMessageBox*>(top) && top->isVisible()));
        QVERIFY(button("startButton")->isEnabled());
        QCOMPARE(w->controller()->state(), RunController::State::Idle);
        for (int64_t bytes : w->controller()->lastResult().bytes_in_use_after)
            QCOMPARE(bytes, int64_t(0));
    }

    // The running Trainer, caught by the controller's hook, for waiting on its front end's
    // state (paused, waiting for Step). Only read while a run is on: the controller frees it
    // on this thread when the run has ended.
    Trainer* m_trainer = nullptr;
    std::atomic<int> m_pushed{0};
    void watchTheFrontEnd()
    {
        m_trainer = nullptr;
        m_pushed = 0;
        w->controller()->setTrainerHook([this](Trainer& t) {
            m_trainer = &t;
            t.on_minibatch_pushed = [this](int, int64_t) { ++m_pushed; };
        });
    }
    // Processes events until the front end has blocked more than `waits` times (true), or
    // the run has ended or the time is up (false).
    bool waitForFrontEndBlock(int64_t waits, Trainer::Blocked how)
    {
        return waitUntil(
                   [&] {
                       if (w->controller()->state() == RunController::State::Idle || !m_trainer)
                           return true;
                       const Trainer::FrontEnd f = m_trainer->front_end();
                       return f.finished || (f.blocked == how && f.waits > waits);
                   },
                   kRunTimeoutMs)
               && w->controller()->state() != RunController::State::Idle && m_trainer
               && !m_trainer->front_end().finished;
    }

    void nextRunWorks()
    {
        w->controller()->setTrainerHook({});
        setControls(2, 64, 256, 1);
        QCOMPARE(runToEnd(), int(RunStatus::Completed));
    }

private slots:
    void initTestCase()
    {
        w = new MainWindow;
        w->resize(1400, 900);
        w->show();
        QVERIFY(QTest::qWaitForWindowExposed(w));
    }

    // What a class sees when the lab opens, before any run: the views draw the panel's
    // settings (the ring of 4 devices, a row per device), the plots fill their space, and
    // no empty legend box is drawn.
    void viewsBeforeTheFirstRunShowTheSettings()
    {
        QCOMPARE(w->currentRunId(), 0);
        child<QComboBox>("presetCombo")->setCurrentIndex(0);
        child<QSpinBox>("devicesSpin")->setValue(4);
        child<QComboBox>("allreduceCombo")->setCurrentIndex(1); // ring
        QCOMPARE(w->allreduceView()->shownDevices(), 4);
        QVERIFY(w->allreduceView()->shownRing());
        child<QComboBox>("allreduceCombo")->setCurrentIndex(0);
        child<QSpinBox>("devicesSpin")->setValue(3);
        QCOMPARE(w->allreduceView()->shownDevices(), 3);
        QVERIFY(!w->allreduceView()->shownRing());

        auto* engine = child<QCustomPlot>("enginePlot");
        auto rows = qSharedPointerDynamicCast<QCPAxisTickerText>(engine->axisRect()->axis(QCPAxis::atLeft)->ticker());
        QVERIFY(rows);
        QCOMPARE(rows->ticks().size(), 4); // the front end and 3 devices
        for (const char* view : {"engine", "allreduce", "training", "memory"}) {
            w->showView(QString::fromLatin1(view));
            QTest::qWait(50);
            for (QCustomPlot* p : w->findChildren<QCustomPlot*>()) {
                if (!p->isVisible())
                    continue;
                p->replot(QCustomPlot::rpImmediateRefresh);
                QVERIFY2(!p->legend->visible() || p->legend->itemCount() > 0, qPrintable(p->objectName()));
                // an empty legend under a plot once capped its width at the title's
                QVERIFY2(p->axisRect()->outerRect().width() > 0.8 * p->width(),
                         qPrintable(QStringLiteral("%1: %2 of %3 px").arg(p->objectName())
                                        .arg(p->axisRect()->outerRect().width()).arg(p->width())));
            }
        }
        w->showView(QStringLiteral("training"));
    }

    // The data: a folder without the files is explained in the panel, and the synthetic
    // stand-in is offered (and works).
    void missingDataIsExplainedAndSyntheticOffered()
    {
        QSignalSpy ready(w, &MainWindow::dataReady);
        child<QLineEdit>("dataDirEdit")->setText(QStringLiteral("/nonexistent/fashion-mnist"));
        QTest::mouseClick(button("loadDataButton"), Qt::LeftButton);
        QVERIFY(waitCount(ready, 1, 60000));
        // a load that was going at startup may report first: wait for the one we asked for
        QVERIFY(waitUntil([&] { return !w->loader()->loading(); }, 60000));
        QCOMPARE(w->loader()->data(), nullptr);
        const QString status = child<QLabel>("dataStatusLabel")->text();
        QVERIFY2(status.contains(QStringLiteral("/nonexistent/fashion-mnist")), qPrintable(status));
        QVERIFY(child<QPushButton>("useSyntheticButton")->isVisible());
        QVERIFY(!button("startButton")->isEnabled());
        QVERIFY(child<QLabel>("validationLabel")->isVisible());

        ready.clear();
        QTest::mouseClick(button("useSyntheticButton"), Qt::LeftButton);
        QVERIFY(waitUntil([&] { return w->loader()->data() != nullptr; }, 60000));
        QCOMPARE(w->loader()->source(), DatasetLoader::Source::Synthetic);
        QVERIFY(!child<QPushButton>("useSyntheticButton")->isVisible());
        setControls(2, 64, 640, 1);
        QVERIFY(button("startButton")->isEnabled());
    }

    void presetsFillThePanel()
    {
        auto* presets = child<QComboBox>("presetCombo");
        const int i = presets->findData(QStringLiteral("book-2-512"));
        QVERIFY(i > 0);
        presets->setCurrentIndex(i);
        emit presets->activated(i);
        QCOMPARE(child<QSpinBox>("devicesSpin")->value(), 2);
        QCOMPARE(child<QSpinBox>("batchSpin")->value(), 512);
        QCOMPARE(child<QDoubleSpinBox>("lrSpin")->value(), 0.2);
        QCOMPARE(child<QSpinBox>("epochsSpin")->value(), 4);
        // editing a value leaves the preset
        child<QSpinBox>("devicesSpin")->setValue(3);
        QCOMPARE(presets->currentIndex(), 0);
    }

    void impossibleSettingsAreRefused()
    {
        QSignalSpy started(w, &MainWindow::runStarted);
        auto* why = child<QLabel>("validationLabel");
        setControls(8, 4, 640, 1);
        QVERIFY(!button("startButton")->isEnabled());
        QVERIFY(why->isVisible());
        QVERIFY2(why->text().contains(QStringLiteral("smaller than the number of devices")), qPrintable(why->text()));
        QTest::mouseClick(button("startButton"), Qt::LeftButton);
        QCOMPARE(started.count(), 0);

        setControls(2, 64, 640, 1, "sync", "naive", 2048, 0.0);
        QVERIFY(!button("startButton")->isEnabled());
        QVERIFY2(why->text().contains(QStringLiteral("learning rate")), qPrintable(why->text()));

        setControls(2, 64, 640, 1, "bounded");
        child<QSpinBox>("inflightSpin")->setValue(0);
        QVERIFY(!button("startButton")->isEnabled());
        QVERIFY2(why->text().contains(QStringLiteral("bounded")), qPrintable(why->text()));

        // the CUDA backend can only be chosen where it works
        auto* backend = child<QComboBox>("backendCombo");
        std::string whyNot;
        if (!cuda_usable(&whyNot)) {
            QVERIFY(!backend->toolTip().isEmpty());
            QVERIFY(backend->toolTip().contains(QString::fromStdString(whyNot)));
        }

        setControls(2, 64, 640, 1);
        QVERIFY(button("startButton")->isEnabled());
        QVERIFY(!why->isVisible());
        QCOMPARE(started.count(), 0);
    }

    // A short sync run: every view receives data; the copies agree.
    void shortRunFeedsEveryView()
    {
        setControls(2, 64, 640, 2);
        QCOMPARE(runToEnd(), int(RunStatus::Completed));
        const int id = w->currentRunId();
        QCOMPARE(w->trainingView()->minibatchCount(id), 20);
        QCOMPARE(w->trainingView()->epochCount(id), 2);
        QCOMPARE(w->devicesView()->cardCount(), 2);
        QVERIFY(w->devicesView()->snapshotsReceived() >= 2);
        QCOMPARE(w->devicesView()->largestDifference(), 0.0);
        w->showView(QStringLiteral("devices")); // what the class sees on that tab
        QVERIFY2(child<QLabel>("agreementLabel")->text().contains(QStringLiteral("identical")),
                 qPrintable(child<QLabel>("agreementLabel")->text()));
        w->showView(QStringLiteral("training"));
        QCOMPARE(w->allreduceView()->stepsReceived(), 2 * 20); // naive, 2 devices: 2 steps
        QVERIFY(w->allreduceView()->gradientSnapshotsReceived() >= 4);
        QCOMPARE(w->memoryView()->slotRunId(true), id);
        QVERIFY(w->memoryView()->receivedCount() > 0);
        QVERIFY(!w->memoryView()->hasOutOfMemoryMark());
        QVERIFY(w->engineView()->opsReceived() > 0);
        QVERIFY(w->engineView()->pushesReceived() >= w->engineView()->opsReceived());
        // the legends under the plots came with the data (a view rebuilds when shown)
        w->showView(QStringLiteral("allreduce"));
        for (const char* name : {"enginePlot", "gradBeforePlot", "gradAfterPlot", "lossPlot"}) {
            auto* p = child<QCustomPlot>(name);
            QVERIFY2(p->legend->visible() && p->legend->layout() && p->legend->itemCount() > 0, name);
        }
        for (LabView* v : w->views())
            QVERIFY2(v->receivedCount() > 0, qPrintable(v->viewId()));
        QCOMPARE(child<QProgressBar>("progressBar")->value(), 1000);
        QVERIFY(w->tickStats().ticks > 0);
        QVERIFY(w->statusMessage().contains(QStringLiteral("completed")));
        QVERIFY(button("startButton")->isEnabled());
        QVERIFY(!button("stopButton")->isEnabled());
    }

    void ringAsyncRunFeedsTheAsyncSlot()
    {
        setControls(4, 64, 512, 1, "async", "ring");
        QCOMPARE(runToEnd(), int(RunStatus::Completed));
        const int id = w->currentRunId();
        QCOMPARE(w->trainingView()->minibatchCount(id), 8);
        QCOMPARE(w->devicesView()->cardCount(), 4);
        QCOMPARE(w->devicesView()->largestDifference(), 0.0);
        QCOMPARE(w->allreduceView()->stepsReceived(), 8 * 6 * 4); // 2(n-1) steps, n transfers each
        QCOMPARE(w->memoryView()->slotRunId(false), id);
        QVERIFY(w->memoryView()->slotRunId(true) > 0); // the earlier sync run stays overlaid
    }

    // A link typed into the panel (a bad one first: explained, Start off), charged "as if the
    // model were bigger": the Allreduce view gives each step's model time beside the
    // measured one, the ring formula with its numbers, algbw and busbw, all said "modelled".
    void linkModelShownBesideTheMeasurement()
    {
        setControls(2, 64, 256, 1, "sync", "ring");
        auto* link = child<QComboBox>("linkCombo");
        auto* params = child<QComboBox>("linkParamsCombo");
        link->setCurrentText(QStringLiteral("custom:5"));
        QVERIFY(!button("startButton")->isEnabled());
        QVERIFY2(child<QLabel>("validationLabel")->text().contains(QStringLiteral("custom:LAT_US,GB_PER_S")),
                 qPrintable(child<QLabel>("validationLabel")->text()));
        link->setCurrentText(QStringLiteral("custom:200,1"));
        params->setCurrentText(QStringLiteral("2M"));
        const TrainConfig c = w->findChild<ControlPanel*>()->config();
        QCOMPARE(c.link.name, std::string("custom:200,1"));
        QCOMPARE(c.link_params, int64_t(2000000));
        QVERIFY2(child<QLabel>("linkNote")->text().contains(QStringLiteral("8.0 MB")),
                 qPrintable(child<QLabel>("linkNote")->text()));
        QCOMPARE(runToEnd(), int(RunStatus::Completed));
        w->showView(QStringLiteral("allreduce"));
        AllreduceView* a = w->allreduceView();
        const QString text = a->modelText();
        for (const char* want : {"Link custom:200,1", "Charged as 2000000 (2.0 M parameters): S = 8.0 MB",
                                 "Ring: 2(n−1)·α + 2(n−1)/n·S/β = 2·200 µs + 2/2·8.0 MB / 1 GB/s",
                                 "Bandwidth-bound", "Measured (epoch", "× the model", "algbw = S/t", "busbw",
                                 "modelled bytes"})
            QVERIFY2(text.contains(QString::fromUtf8(want)), qPrintable(want + QStringLiteral(" not in: ") + text));
        // each step: one chunk (half of LeNet's flat buffer) charged x 2,000,000 / 129,120
        const std::vector<double> model = a->modelStepMs();
        QCOMPARE(int(model.size()), 2);
        const double chunk = double(lenet_flat_count() / 2) * 4 * (2000000.0 / double(lenet_flat_count()));
        for (double m : model)
            QVERIFY2(std::fabs(m - (200 + chunk / 1e3) / 1000) < 1e-3, qPrintable(QString::number(m)));
        // the whole allreduce lasted at least the model's 2 x (200 us + 4 ms)
        const QRegularExpression ratio(QStringLiteral(", ([0-9.]+)× the model"));
        const auto match = ratio.match(text);
        QVERIFY(match.hasMatch());
        QVERIFY2(match.captured(1).toDouble() >= 0.99, qPrintable(text));
        // each step says it is modelled: its tooltip, the step plot's legend, the last line
        QVERIFY2(a->stepToolTip(1).contains(QStringLiteral("Modelled: the link model set this step's time, charging 8.0 MB")),
                 qPrintable(a->stepToolTip(1)));
        QVERIFY(a->stepToolTip(2).contains(QStringLiteral("Link model: ")));
        QVERIFY(a->stepToolTip(3).isEmpty());
        QVERIFY2(a->finalLine().contains(QStringLiteral("(modelled)")), qPrintable(a->finalLine()));
        QCOMPARE(child<QCustomPlot>("stepsPlot")->plottable(0)->name(), QStringLiteral("reduce-scatter (modelled)"));
        // the Engine view's legend and the run's label say it is modelled
        auto* engine = child<QCustomPlot>("enginePlot");
        bool said = false;
        for (int i = 0; i < engine->legend->itemCount(); ++i)
            if (auto* item = qobject_cast<QCPPlottableLegendItem*>(engine->legend->item(i)))
                said = said || item->plottable()->name().contains(QStringLiteral("modelled"));
        QVERIFY(said);
        link->setCurrentText(QStringLiteral("none"));
        QVERIFY(!params->isEnabled());
        QCOMPARE(w->findChild<ControlPanel*>()->config().link_params, int64_t(0));
        // the slow-link presets carry their link
        QVERIFY(w->findChild<ControlPanel*>()->applyPreset(QStringLiteral("link-2")));
        QCOMPARE(link->currentText(), QStringLiteral("1gbe"));
        QVERIFY(w->findChild<ControlPanel*>()->applyPreset(QStringLiteral("resnet50-10gbe")));
        QCOMPARE(params->currentText(), QStringLiteral("resnet50"));
        w->showView(QStringLiteral("training"));
    }

    // "Modelled" comes from the steps themselves (ev::AllreduceStep::modelled), not only from
    // the settings: a step the link model timed is labelled in the Allreduce view (line,
    // legend, tooltip, CSV) and the Engine view (legend, CSV); one it did not time is not.
    void modelledStepsLabelledFromTheEvents()
    {
        auto feed = [](LabView& v, bool modelled) {
            RunInfo run;
            run.id = 90;
            run.config.devices = 2;
            run.config.allreduce = AllreduceKind::Naive;
            v.beginRun(run);
            std::vector<Event> events;
            for (int step = 0; step < 2; ++step)
                events.push_back(Event{.t_us = 1000.0 * step, .device = step == 0 ? 0 : 1,
                                       .data = ev::AllreduceStep{.t_end_us = 1000.0 * step + 600, .epoch = 1, .batch = 0,
                                                                 .step = step, .steps = 2, .src = step == 0 ? 1 : 0,
                                                                 .dst = step == 0 ? 0 : 1, .bytes = 1000,
                                                                 .phase = step == 0 ? "reduce" : "broadcast",
                                                                 .modelled = modelled,
                                                                 .charged_bytes = modelled ? 5000 : 0}});
            v.consume(events, run);
            v.endRun(run, RunResult{});
            v.refresh();
        };
        auto csvColumn = [](const LabView& v, const QString& table, const QString& column) {
            for (const CsvTable& t : v.csvTables())
                if (t.name == table) {
                    const int at = t.header.split(QLatin1Char(',')).indexOf(column);
                    QString text;
                    QTextStream out(&text);
                    t.rows(out);
                    out.flush();
                    QStringList values;
                    for (const QString& row : text.split(QLatin1Char('\n'), Qt::SkipEmptyParts))
                        values << row.split(QLatin1Char(',')).value(at);
                    return values;
                }
            return QStringList{};
        };
        for (bool modelled : {false, true}) {
            AllreduceView a;
            feed(a, modelled);
            QCOMPARE(a.finalLine().contains(QStringLiteral("(modelled)")), modelled);
            QCOMPARE(a.stepToolTip(1).contains(QStringLiteral("Modelled")), modelled);
            QCOMPARE(a.findChild<QCustomPlot*>(QStringLiteral("stepsPlot"))->plottable(0)->name(),
                     modelled ? QStringLiteral("reduce (modelled)") : QStringLiteral("reduce"));
            QCOMPARE(csvColumn(a, QStringLiteral("allreduce_steps"), QStringLiteral("modelled")),
                     QStringList(2, modelled ? QStringLiteral("1") : QStringLiteral("0")));
            QCOMPARE(csvColumn(a, QStringLiteral("allreduce_steps"), QStringLiteral("charged_bytes")),
                     QStringList(2, modelled ? QStringLiteral("5000") : QStringLiteral("1000")));
            EngineView e;
            feed(e, modelled);
            QCOMPARE(e.allreduceModelled(), modelled);
            QCOMPARE(e.allreduceLegendName(), modelled ? QStringLiteral("allreduce (modelled)") : QStringLiteral("allreduce"));
        }
    }

    // An async run that outgrows its budget: marked on the Memory view, one message, no
    // dialog.
    void outOfMemoryIsMarkedWithOneMessage()
    {
        setControls(2, 256, 4096, 1, "async", "naive", 40);
        QCOMPARE(runToEnd(), int(RunStatus::Failed));
        QVERIFY(w->controller()->lastResult().out_of_memory);
        QVERIFY(w->memoryView()->hasOutOfMemoryMark());
        QVERIFY2(w->statusMessage().contains(QStringLiteral("out of memory")), qPrintable(w->statusMessage()));
        QVERIFY(child<QLabel>("memoryMessage")->text().contains(QStringLiteral("out of memory")));
        for (QWidget* top : QApplication::topLevelWidgets())
            QVERIFY(!(qobject_cast<QMessageBox*>(top) && top->isVisible()));
        QVERIFY(button("startButton")->isEnabled());
    }

    // The out-of-memory run stays on the Memory view when a bounded run follows: each mode
    // keeps its last run, labelled with its own mode, and earlier runs can be ticked back.
    void memoryComparesSyncAsyncAndBounded()
    {
        const int oomRun = w->currentRunId(); // the out-of-memory run just before
        QVERIFY(w->controller()->lastResult().out_of_memory);
        setControls(2, 256, 1024, 1, "bounded", "naive", 256);
        QCOMPARE(runToEnd(), int(RunStatus::Completed));
        const int bounded = w->currentRunId();
        MemoryView* m = w->memoryView();
        QVERIFY(m->runShown(oomRun));
        QVERIFY(m->runShown(bounded));
        QVERIFY(m->hasOutOfMemoryMark());
        QVERIFY2(m->runLabel(bounded).contains(QStringLiteral("bounded")), qPrintable(m->runLabel(bounded)));
        QVERIFY2(!m->runLabel(bounded).contains(QStringLiteral("async")), qPrintable(m->runLabel(bounded)));
        // a second bounded run hides the first; the list brings it back
        setControls(2, 256, 512, 1, "bounded", "naive", 256);
        QCOMPARE(runToEnd(), int(RunStatus::Completed));
        QVERIFY(!m->runShown(bounded));
        QVERIFY(m->runShown(oomRun));
        auto* list = child<QListWidget>("memoryRunList");
        QListWidgetItem* item = nullptr;
        for (int i = 0; i < list->count(); ++i)
            if (list->item(i)->data(Qt::UserRole).toInt() == bounded)
                item = list->item(i);
        QVERIFY(item);
        item->setCheckState(Qt::Checked); // as a teacher ticks it
        QVERIFY(m->runShown(bounded));
    }

    void pauseHoldsAndStepRunsOneMinibatch()
    {
        watchTheFrontEnd();
        setControls(1, 32, 6400, 1, "sync");
        startAndWaitForMinibatches(3);
        const int id = w->currentRunId();
        QTest::mouseClick(button("pauseButton"), Qt::LeftButton);
        QCOMPARE(w->controller()->state(), RunController::State::Paused);
        QCOMPARE(button("pauseButton")->text(), QStringLiteral("Resume"));
        QVERIFY(button("stepButton")->isEnabled());
        // the front end stops at the next minibatch boundary; the view shows every minibatch
        // pushed before it (sync: each one's loss is read before the next is pushed)
        QVERIFY2(waitForFrontEndBlock(0, Trainer::Blocked::Paused), "the run did not pause");
        const int k = m_pushed;
        QVERIFY(waitUntil([&] { return w->trainingView()->minibatchCount(id) >= k; }, 60000));
        QCOMPARE(w->trainingView()->minibatchCount(id), k);
        // a paused run claims no speed and no time left
        auto progressPaused = [&] {
            const QString progress = child<QLabel>("progressLabel")->text();
            return !progress.contains(QStringLiteral("images/s")) && progress.contains(QStringLiteral("paused"));
        };
        waitUntil(progressPaused, 10000);
        QVERIFY2(progressPaused(), qPrintable(child<QLabel>("progressLabel")->text()));
        const int64_t waits = m_trainer->front_end().waits;
        QTest::mouseClick(button("stepButton"), Qt::LeftButton);
        QVERIFY2(waitForFrontEndBlock(waits, Trainer::Blocked::Paused), "Step did not stop after one minibatch");
        QCOMPARE(int(m_pushed), k + 1);
        QVERIFY(waitUntil([&] { return w->trainingView()->minibatchCount(id) >= k + 1; }, 60000));
        QCOMPARE(w->trainingView()->minibatchCount(id), k + 1);
        QCOMPARE(w->controller()->state(), RunController::State::Paused);

        QTest::mouseClick(button("pauseButton"), Qt::LeftButton); // Resume
        QCOMPARE(w->controller()->state(), RunController::State::Running);
        QVERIFY(waitUntil([&] { return w->trainingView()->minibatchCount(id) >= k + 3; }, 60000));

        QSignalSpy finished(w, &MainWindow::runFinished);
        QTest::mouseClick(button("stopButton"), Qt::LeftButton);
        QVERIFY(waitCount(finished, 1, kRunTimeoutMs));
        QCOMPARE(finished.at(0).at(1).toInt(), int(RunStatus::Cancelled));
        w->controller()->setTrainerHook({});
    }

    void stepModeAdvancesOneAllreduceStep()
    {
        watchTheFrontEnd();
        setControls(2, 32, 320, 1, "sync");
        child<QCheckBox>("stepModeCheck")->setChecked(true);
        QSignalSpy started(w, &MainWindow::runStarted);
        QTest::mouseClick(button("startButton"), Qt::LeftButton);
        QCOMPARE(started.count(), 1);
        AllreduceView* ar = w->allreduceView();
        // the run waits before the first allreduce step, and before each next one once the
        // step before it has landed
        QVERIFY2(waitForFrontEndBlock(0, Trainer::Blocked::WaitingForStep), "the run did not wait for Step");
        QCOMPARE(ar->stepsReceived(), 0);
        QVERIFY(button("stepButton")->isEnabled());
        for (int s = 1; s <= 3; ++s) {
            const int64_t waits = m_trainer->front_end().waits;
            QTest::mouseClick(button("stepButton"), Qt::LeftButton);
            QVERIFY2(waitForFrontEndBlock(waits, Trainer::Blocked::WaitingForStep), "Step did not stop again");
            QVERIFY(waitUntil([&] { return ar->stepsReceived() >= s; }, 60000));
            QCOMPARE(ar->stepsReceived(), s);
        }
        // the gradient before the allreduce was captured for the stepped minibatch
        QVERIFY(waitUntil([&] { return ar->gradientSnapshotsReceived() >= 2; }, 60000));
        // leaving step mode lets the run finish
        QSignalSpy finished(w, &MainWindow::runFinished);
        child<QCheckBox>("stepModeCheck")->setChecked(false);
        QVERIFY(waitCount(finished, 1, kRunTimeoutMs));
        QCOMPARE(finished.at(0).at(1).toInt(), int(RunStatus::Completed));
        QCOMPARE(ar->stepsReceived(), 2 * 10);
        w->controller()->setTrainerHook({});
    }

    // ---- faults: the window keeps ticking, says what happened once, and the
    // next run works. ----

    void faultOutOfMemoryKeepsTheWindowResponsive()
    {
        setControls(2, 256, 4096, 1, "async", "naive", 40);
        qint64 gap = 0;
        QCOMPARE(runWatchingTheEventLoop(&gap), int(RunStatus::Failed));
        qInfo("out of memory: longest event-loop gap %lld ms", gap);
        QVERIFY2(gap < kFrozenMs, qPrintable(QStringLiteral("the window froze for %1 ms").arg(gap)));
        expectOneQuietMessage(QStringLiteral("out of memory on cpu-sim"));
        nextRunWorks();
    }

    void faultDivergingLearningRate()
    {
        setControls(2, 64, 2048, 1, "async", "naive", 2048, 1000.0);
        QVERIFY2(button("startButton")->isEnabled(), "lr 1000 must be allowed: a class should see divergence");
        qint64 gap = 0;
        QCOMPARE(runWatchingTheEventLoop(&gap), int(RunStatus::Failed));
        qInfo("divergence: longest event-loop gap %lld ms", gap);
        QVERIFY(w->controller()->lastResult().diverged);
        QVERIFY2(gap < kFrozenMs, qPrintable(QStringLiteral("the window froze for %1 ms").arg(gap)));
        expectOneQuietMessage(QStringLiteral("lower the learning rate"));
        // the Training view marks where: after the last loss it received, within the epoch,
        // with the message beside the marker
        TrainingView* t = w->trainingView();
        const int id = w->currentRunId();
        w->showView(QStringLiteral("training"));
        QVERIFY(t->runDiverged(id));
        QVERIFY2(t->divergedAt(id) > 0 && t->divergedAt(id) <= 1.0, qPrintable(QString::number(t->divergedAt(id))));
        {
            // at the minibatch the error names: 2048 images / 64 = 32 minibatches per epoch
            const Error& err = w->controller()->lastResult().error;
            const int batch = std::atoi(err.fact("batch").c_str());
            QVERIFY2(batch > 0, err.fact("batch").c_str());
            QCOMPARE(t->divergedAt(id), (std::atoi(err.fact("epoch").c_str()) - 1) + batch / 32.0);
        }
        QVERIFY2(t->divergedText(id).contains(QStringLiteral("lower the")) &&
                     t->divergedText(id).contains(QStringLiteral("diverged")),
                 qPrintable(t->divergedText(id)));
        // alone on the plot, its values do not stretch the loss axis: they are clipped a
        // little above the guessing line
        QList<int> hidden;
        for (int r = 1; r < id; ++r)
            if (t->runVisible(r)) {
                t->setRunVisible(r, false);
                hidden << r;
            }
        t->refresh();
        const QCPRange y = t->lossPlot()->yAxis->range();
        QVERIFY2(y.upper < 1.25 * std::log(10.0) * 1.1 + 1e-9 && y.contains(std::log(10.0)),
                 qPrintable(QStringLiteral("%1 .. %2").arg(y.lower).arg(y.upper)));
        for (int r : hidden)
            t->setRunVisible(r, true);
        nextRunWorks();
        QVERIFY(!t->runDiverged(w->currentRunId()));
    }

    void faultInjectedIntoOneDeviceWorker()
    {
        w->controller()->setTrainerHook([](Trainer& t) {
            t.inject_in_loss_op = [](int device, int, int64_t batch) {
                if (device == 2 && batch == 3)
                    throw std::runtime_error("injected fault in device 2's worker");
            };
        });
        setControls(4, 64, 2048, 1, "bounded", "ring");
        qint64 gap = 0;
        QCOMPARE(runWatchingTheEventLoop(&gap), int(RunStatus::Failed));
        qInfo("injected fault: longest event-loop gap %lld ms", gap);
        QVERIFY2(gap < kFrozenMs, qPrintable(QStringLiteral("the window froze for %1 ms").arg(gap)));
        expectOneQuietMessage(QStringLiteral("injected fault in device 2's worker"));

        // Nothing lost: the failed run still exports what it recorded up to the fault.
        QTemporaryDir dir;
        QStringList written;
        QString error;
        QVERIFY2(w->exportAll(dir.path(), &written, &error), qPrintable(error));
        QFile trace(dir.filePath(QStringLiteral("trace.json")));
        QVERIFY(trace.open(QIODevice::ReadOnly));
        const QByteArray json = trace.readAll();
        QVERIFY(QJsonDocument::fromJson(json).isObject());
        QVERIFY(json.contains("injected fault in device 2"));
        QVERIFY(QImage(dir.filePath(QStringLiteral("training_loss.png"))).width() > 0);
        nextRunWorks();
    }

    // Stop in the middle of an epoch is back to ready at once (not at the epoch's end), and Start works
    // again, several times in a row.
    void stopMidEpochIsQuickAndStartWorksAgain()
    {
        for (int round = 0; round < 3; ++round) {
            // bounded, not async: an unbounded async epoch may (rightly) run out of memory
            // on a slow machine before the first minibatch is done
            setControls(2, 128, 0, 5, round == 1 ? "bounded" : "sync", round == 2 ? "ring" : "naive");
            startAndWaitForMinibatches(2);
            const int id = w->currentRunId();
            QSignalSpy finished(w, &MainWindow::runFinished);
            QElapsedTimer clock;
            clock.start();
            QTest::mouseClick(button("stopButton"), Qt::LeftButton);
            QVERIFY(waitCount(finished, 1, 10000));
            const qint64 ms = clock.elapsed();
            qInfo("round %d: stop -> ready in %lld ms", round, ms);
            QVERIFY2(ms < kStopMs, qPrintable(QStringLiteral("stop took %1 ms").arg(ms)));
            QCOMPARE(finished.at(0).at(0).toInt(), id);
            QCOMPARE(finished.at(0).at(1).toInt(), int(RunStatus::Cancelled));
            QCOMPARE(w->controller()->state(), RunController::State::Idle);
            QVERIFY(button("startButton")->isEnabled());
            QVERIFY(w->trainingView()->minibatchCount(id) < 5 * 157);
        }
    }

    // When a run ends, every view shows the same, final minibatch: the allreduce drawing
    // its last allreduce as completed, the gradients around it, and the devices' copies.
    void viewsEndInTheFinalState()
    {
        setControls(2, 64, 640, 2, "sync", "ring"); // 10 minibatches per epoch, snapshots every 5
        QCOMPARE(runToEnd(), int(RunStatus::Completed));
        for (LabView* v : w->views())
            v->refresh();
        const auto last = std::pair<int, int>{2, 9};
        QCOMPARE(w->allreduceView()->latestAllreduce(), last);
        QCOMPARE(w->allreduceView()->shownGradients(), last);
        QCOMPARE(w->devicesView()->comparedMinibatch(), last);
        const QString line = w->allreduceView()->finalLine();
        QVERIFY2(line.contains(QStringLiteral("epoch 2, minibatch 10")) && line.contains(QStringLiteral("all 2 steps")),
                 qPrintable(line));
        // after the ring's last step (all-gather) each device holds the whole sum of the chunk it got
        const QStringList sums = w->allreduceView()->shownSums();
        QCOMPARE(sums.size(), 2);
        QCOMPARE(sums.at(0), QStringLiteral("c0 = d0+d1"));
        QCOMPARE(sums.at(1), QStringLiteral("c1 = d0+d1"));
        // the loss plot keeps the guessing line in view and never zooms into noise
        const QCPRange y = w->trainingView()->lossPlot()->yAxis->range();
        QVERIFY2(y.contains(std::log(10.0)) && y.size() >= 1.0 - 1e-9,
                 qPrintable(QStringLiteral("%1 .. %2").arg(y.lower).arg(y.upper)));
        // images per second beside seconds per epoch
        TrainingView* t = w->trainingView();
        t->setSpeedInImages(true);
        const QCPGraph* g = t->speedPlot()->graph(t->speedPlot()->graphCount() - 1);
        QCOMPARE(g->data()->size(), 2);
        QVERIFY(g->data()->constBegin()->value > 1.0);
        t->setSpeedInImages(false);
        QVERIFY(g->data()->constBegin()->value > 0.0);
    }

    // The Allreduce view's drawing and the text under its step plot describe the same
    // minibatch: a busy window drains every tick but redraws less often (maybeRefresh), and
    // the drawing followed every drain while the text waited for the refresh, minibatches behind.
    void allreduceDrawingAndTextShowOneMinibatch()
    {
        AllreduceView v;
        v.resize(1500, 900);
        v.show();
        QVERIFY(QTest::qWaitForWindowExposed(&v));
        RunInfo run;
        run.id = 1;
        run.config.devices = 2; // naive: device 1 into device 0, then back
        v.beginRun(run);
        auto minibatch = [](int batch) {
            std::vector<Event> out;
            const double t = 1000.0 * (batch + 1);
            for (int step = 0; step < 2; ++step)
                out.push_back(Event{.t_us = t + 100 * step, .device = 0,
                                    .data = ev::AllreduceStep{.t_end_us = t + 100 * step + 80, .epoch = 1,
                                                              .batch = batch, .step = step, .steps = 2,
                                                              .src = step == 0 ? 1 : 0, .dst = step == 0 ? 0 : 1,
                                                              .bytes = 516480,
                                                              .phase = step == 0 ? "reduce" : "broadcast"}});
            return out;
        };
        auto described = [&v] {
            const QRegularExpressionMatch m =
                QRegularExpression(QStringLiteral("Measured \\(epoch (\\d+), minibatch (\\d+)\\)")).match(v.modelText());
            return m.hasMatch() ? std::pair<int, int>{m.captured(1).toInt(), m.captured(2).toInt() - 1}
                                : std::pair<int, int>{-1, -1};
        };
        v.consume(minibatch(0), run);
        v.refresh();
        QCOMPARE(v.drawnAllreduce(), (std::pair<int, int>{1, 0}));
        QCOMPARE(described(), (std::pair<int, int>{1, 0}));
        // two more minibatches drained before the next refresh
        v.consume(minibatch(1), run);
        v.consume(minibatch(2), run);
        QCOMPARE(v.drawnAllreduce(), described());
        v.refresh();
        QCOMPARE(v.drawnAllreduce(), (std::pair<int, int>{1, 2}));
        QCOMPARE(described(), (std::pair<int, int>{1, 2}));
        QCOMPARE(v.shownSums(), (QStringList{QString(), QStringLiteral("sum = d0+d1")})); // the broadcast reached device 1
    }

    // The measured allreduce spans its first step's start to its last step's end; where the
    // steps themselves take under half of that, the text says so (a loaded machine showed
    // "6.23 ms" beside step bars of 0.08 and 0.05 ms, with nothing to say the rest was waiting).
    void allreduceMeasuredSaysWhatWasWaiting()
    {
        auto measured = [](double gapUs) {
            AllreduceView v;
            RunInfo run;
            run.id = 1;
            run.config.devices = 2;
            v.beginRun(run);
            std::vector<Event> events;
            for (int step = 0; step < 2; ++step) {
                const double t0 = step * (80 + gapUs);
                events.push_back(Event{.t_us = t0, .device = 0,
                                       .data = ev::AllreduceStep{.t_end_us = t0 + 80, .epoch = 1, .batch = 0,
                                                                 .step = step, .steps = 2, .src = step == 0 ? 1 : 0,
                                                                 .dst = step == 0 ? 0 : 1, .bytes = 516480,
                                                                 .phase = step == 0 ? "reduce" : "broadcast"}});
            }
            v.consume(events, run);
            v.refresh();
            return v.modelText();
        };
        const QString waited = measured(6000); // 6.16 ms, the steps 160 us
        QVERIFY2(waited.contains(QStringLiteral("Measured (epoch 1, minibatch 1): 6.16 ms (the steps themselves 160 µs; "
                                                "the rest waits between them)")),
                 qPrintable(waited));
        const QString busy = measured(20); // 180 us, the steps 160 us
        QVERIFY2(busy.contains(QStringLiteral("Measured (epoch 1, minibatch 1): 180 µs")) &&
                     !busy.contains(QStringLiteral("the steps themselves")),
                 qPrintable(busy));
    }

    // Naive against ring: an earlier run's last allreduce drawn beside the latest one.
    void allreduceComparesTwoRuns()
    {
        setControls(4, 64, 256, 1, "sync", "naive");
        QCOMPARE(runToEnd(), int(RunStatus::Completed));
        const int naive = w->currentRunId();
        setControls(4, 64, 256, 1, "sync", "ring");
        QCOMPARE(runToEnd(), int(RunStatus::Completed));
        AllreduceView* a = w->allreduceView();
        QCOMPARE(a->compareRun(), 0);
        w->showView(QStringLiteral("allreduce"));
        a->setCompareRun(naive);
        QCOMPARE(a->compareRun(), naive);
        QVERIFY(child<QWidget>("compareTopology")->isVisible());
        QVERIFY2(a->compareLine().contains(QStringLiteral("#%1").arg(naive)) &&
                     a->compareLine().contains(QStringLiteral("all 6 steps")),
                 qPrintable(a->compareLine()));
        QVERIFY(a->shownRing()); // the latest run's drawing stays the ring
        a->setCompareRun(0);
        QCOMPARE(a->compareRun(), 0);
        // the Engine view shows the earlier run's time line on request, then the latest again
        EngineView* e = w->engineView();
        w->showView(QStringLiteral("engine"));
        QCOMPARE(e->shownRun(), 0);
        auto* runs = child<QComboBox>("engineRunCombo");
        QVERIFY(runs->isEnabled() && runs->findData(naive) > 0);
        e->showRun(naive);
        QCOMPARE(e->shownRun(), naive);
        e->showRun(0);
        QCOMPARE(e->shownRun(), 0);
        w->showView(QStringLiteral("training"));
    }

    // Choosing a preset, or leaving it by editing a value (the image count too), makes the
    // settings custom without moving the controls.
    void presetChangesKeepTheLayoutStill()
    {
        auto* presets = child<QComboBox>("presetCombo");
        auto* devices = child<QSpinBox>("devicesSpin");
        auto* panel = w->panel();
        presets->setCurrentIndex(0);
        emit presets->activated(0);
        QCoreApplication::processEvents();
        const int y0 = devices->mapTo(panel, QPoint(0, 0)).y();
        const int i = presets->findData(QStringLiteral("book-2"));
        presets->setCurrentIndex(i);
        emit presets->activated(i);
        QCoreApplication::processEvents();
        QCOMPARE(devices->mapTo(panel, QPoint(0, 0)).y(), y0);
        child<QSpinBox>("subsetSpin")->setValue(5000);
        QCOMPARE(presets->currentIndex(), 0);
        QCoreApplication::processEvents();
        QCOMPARE(devices->mapTo(panel, QPoint(0, 0)).y(), y0);
    }

    void earlierRunsStayOverlaidAndCanBeHidden()
    {
        TrainingView* t = w->trainingView();
        QVERIFY(t->runCount() >= 5);
        const int first = 1;
        QVERIFY(t->runVisible(first));
        t->setRunVisible(first, false);
        QVERIFY(!t->runVisible(first));
        auto* list = child<QListWidget>("runList");
        QCOMPARE(list->item(0)->checkState(), Qt::Unchecked);
        list->item(0)->setCheckState(Qt::Checked); // as a user would tick it again
        QVERIFY(t->runVisible(first));
    }

    void exportsDecode()
    {
        setControls(2, 64, 384, 1);
        QCOMPARE(runToEnd(), int(RunStatus::Completed));
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        QStringList written;
        QString error;
        QVERIFY2(w->exportAll(dir.path(), &written, &error), qPrintable(error));
        QVERIFY2(w->saveScreenshots(dir.path(), &written, &error), qPrintable(error));
        int png = 0, pdf = 0, svg = 0, csv = 0;
        for (const QString& path : written) {
            QFile f(path);
            QVERIFY2(f.open(QIODevice::ReadOnly), qPrintable(path));
            QVERIFY2(f.size() > 0, qPrintable(path));
            if (path.endsWith(QLatin1String(".png"))) {
                const QImage img(path);
                QVERIFY2(!img.isNull() && img.width() >= 300 && img.height() >= 200, qPrintable(path));
                ++png;
            } else if (path.endsWith(QLatin1String(".pdf"))) {
                QVERIFY2(f.read(5) == "%PDF-", qPrintable(path));
                ++pdf;
            } else if (path.endsWith(QLatin1String(".svg"))) {
                QSvgRenderer r(path);
                QVERIFY2(r.isValid(), qPrintable(path));
                ++svg;
            } else if (path.endsWith(QLatin1String(".csv"))) {
                ++csv;
            }
        }
        // every plot in three formats, plus one screenshot per view
        int plots = 0;
        for (LabView* v : w->views())
            plots += v->plots().size();
        QCOMPARE(pdf, plots);
        QCOMPARE(svg, plots);
        QCOMPARE(png, plots + w->views().size());

        // the documented CSV columns (README, "Exports")
        const QMap<QString, QString> headers{
            {QStringLiteral("training_loss.csv"), QStringLiteral("run,epoch,batch,x_epoch,loss,smoothed_loss")},
            {QStringLiteral("training_epochs.csv"), QStringLiteral("run,epoch,train_loss,test_accuracy,seconds,images,settings")},
            {QStringLiteral("devices.csv"), QStringLiteral("device,in_use_bytes,peak_bytes,budget_bytes,snapshot_epoch,snapshot_batch,max_abs_diff_vs_device0")},
            {QStringLiteral("devices_params.csv"), QStringLiteral("device,epoch,batch,param,index,value")},
            {QStringLiteral("allreduce_steps.csv"), QStringLiteral("epoch,batch,step,steps,phase,src,dst,chunk,bytes,start_ms,end_ms,link,charged_bytes,model_ms,modelled,stage")},
            {QStringLiteral("allreduce_traffic.csv"), QStringLiteral("device,bytes_sent,bytes_received")},
            {QStringLiteral("allreduce_gradients.csv"), QStringLiteral("epoch,batch,tensor,stage,device,index,value")},
            {QStringLiteral("memory.csv"), QStringLiteral("run,mode,device,t_s,in_use_bytes,event")},
            {QStringLiteral("engine.csv"), QStringLiteral("kind,device,name,category,start_s,end_s,modelled")},
            {QStringLiteral("events.csv"), QString::fromLatin1(csv_header())},
        };
        QCOMPARE(csv, int(headers.size()));
        for (auto it = headers.begin(); it != headers.end(); ++it) {
            QFile f(QDir(dir.path()).filePath(it.key()));
            QVERIFY2(f.open(QIODevice::ReadOnly | QIODevice::Text), qPrintable(it.key()));
            QCOMPARE(QString::fromUtf8(f.readLine()).trimmed(), it.value());
            QVERIFY2(!f.readLine().isEmpty(), qPrintable(it.key() + QStringLiteral(" has no rows")));
        }
        QFile loss(QDir(dir.path()).filePath(QStringLiteral("training_loss.csv")));
        QVERIFY(loss.open(QIODevice::ReadOnly | QIODevice::Text));
        QVERIFY(loss.readAll().count('\n') > 6);

        // the run as a Chrome trace
        QFile trace(QDir(dir.path()).filePath(QStringLiteral("trace.json")));
        QVERIFY(trace.open(QIODevice::ReadOnly));
        QJsonParseError perr;
        const QJsonDocument doc = QJsonDocument::fromJson(trace.readAll(), &perr);
        QVERIFY2(perr.error == QJsonParseError::NoError, qPrintable(perr.errorString()));
        QVERIFY(doc.object().value(QStringLiteral("traceEvents")).toArray().size() > 100);
    }

    // The figure that matters: the UI thread's cost per tick with 8 devices at full
    // speed (printed, not asserted: speed is measured, not asserted).
    void eightDevicesTickCost()
    {
        setControls(8, 256, 4096, 1, "async");
        w->showView(QStringLiteral("engine"));
        QCOMPARE(runToEnd(), int(RunStatus::Completed));
        const auto& s = w->tickStats();
        QVERIFY(s.ticks > 0);
        qInfo("8 devices: %s (%d ticks, %lld events)", qPrintable(w->tickSummary()), s.ticks, s.events);
        w->showView(QStringLiteral("training"));
    }

    // 简体中文: the translation is built in and covers the window's words.
    void chineseTranslationIsEmbedded()
    {
#ifndef GPULAB_HAVE_TRANSLATIONS
        QSKIP("built without lrelease (qt6-l10n-tools): English only");
#else
        QTranslator zh;
        QVERIFY(zh.load(QLocale(QLocale::Chinese, QLocale::China), QStringLiteral("gpulab"), QStringLiteral("_"),
                        QStringLiteral(":/i18n")));
        QCOMPARE(zh.translate("gpulab::ControlPanel", "Start"), QString::fromUtf8("开始"));
        QCOMPARE(zh.translate("gpulab::TrainingView", "Training"), QString::fromUtf8("训练"));
        QCOMPARE(zh.translate("gpulab::MemoryView", "Memory"), QString::fromUtf8("内存"));
        QCOMPARE(zh.translate("Presets", "Book: 2 devices, batch 256, lr 0.2"),
                 QString::fromUtf8("书中示例：2 个设备，批量 256，学习率 0.2"));
        // The preset list is made once, in whatever language was installed then (gpulab's
        // --help reads it before the translator is installed); titles follow the language
        // installed when they are shown.
        const Preset* oom = findPreset(QStringLiteral("async-oom"));
        QVERIFY(oom);
        QCOMPARE(oom->title(), QStringLiteral("Async, 256 MiB per device: runs out of memory"));
        QCoreApplication::installTranslator(&zh);
        const QString title = oom->title(), lesson = oom->lesson();
        ControlPanel panel;
        auto* combo = panel.findChild<QComboBox*>(QStringLiteral("presetCombo"));
        const QString shown = combo ? combo->itemText(combo->findData(QStringLiteral("async-oom"))) : QString();
        QCoreApplication::removeTranslator(&zh);
        QCOMPARE(title, QString::fromUtf8("异步，每设备 256 MiB：内存耗尽"));
        QVERIFY2(lesson.contains(QString::fromUtf8("前端")), qPrintable(lesson));
        QCOMPARE(shown, title);
#endif
    }

    // Core's errors are codes with facts; the lab phrases each from its code, in the UI's
    // language, and without a translation in core's own English words.
    // Recorded settings (the replay panel) in the control panel's words with the command
    // line's beside them: the links, what the link charges, data placement and the engine
    // too, in English and in 简体中文; every choice of those settings has words.
    void settingValuesInThePanelsWords()
    {
        QCOMPARE(settingValueText("link", "nvlink4"), QStringLiteral("NVLink 4 (H100) · nvlink4"));
        QCOMPARE(settingValueText("link", "custom:200,1"), QStringLiteral("custom: 200 µs, 1 GB/s · custom:200,1"));
        QCOMPARE(settingValueText("link_params", "resnet50"), QStringLiteral("as if ResNet-50 (25.6 M parameters) · resnet50"));
        QCOMPARE(settingValueText("engine", "threaded"), QStringLiteral("threaded (a worker per device) · threaded"));
        QCOMPARE(settingValueText("data_on_device", "auto"), QStringLiteral("automatic (on the GPU when it fits) · auto"));
        QCOMPARE(settingValueText("batch_size", "256"), QStringLiteral("256"));
        QCOMPARE(settingValueText("link_params", "50000000"), QStringLiteral("50000000"));
        for (const char* setting : {"backend", "mode", "allreduce", "link", "link_params", "data_on_device", "engine"}) {
            const SettingSpec* spec = find_setting(setting);
            QVERIFY(spec);
            for (const std::string& choice : spec->choices)
                QVERIFY2(!settingValueWords(setting, choice).isEmpty(), (std::string(setting) + "=" + choice).c_str());
        }
#ifdef GPULAB_HAVE_TRANSLATIONS
        QTranslator zh;
        QVERIFY(zh.load(QLocale(QLocale::Chinese, QLocale::China), QStringLiteral("gpulab"), QStringLiteral("_"),
                        QStringLiteral(":/i18n")));
        QCoreApplication::installTranslator(&zh);
        QStringList untranslated;
        for (const char* setting : {"backend", "mode", "allreduce", "link", "link_params", "data_on_device", "engine"})
            for (const std::string& choice : find_setting(setting)->choices) {
                const QString words = settingValueWords(setting, choice);
                // Chinese words say it in Chinese (product names such as "PCIe 4.0 x16" stay as they are)
                static const QRegularExpression han(QStringLiteral("[\\x{4e00}-\\x{9fff}]"));
                if (!words.contains(han) && !QStringList{QStringLiteral("pcie3"), QStringLiteral("pcie4"),
                                                         QStringLiteral("pcie5"), QStringLiteral("cuda")}
                                                    .contains(QString::fromStdString(choice)))
                    untranslated << QString::fromStdString(std::string(setting) + "=" + choice) + QStringLiteral(": ") + words;
            }
        const QString custom = settingValueText("link", "custom:200,1");
        QCoreApplication::removeTranslator(&zh);
        QVERIFY2(untranslated.isEmpty(), qPrintable(untranslated.join(QStringLiteral("; "))));
        QVERIFY2(custom.contains(QStringLiteral("自定义")) && custom.endsWith(QStringLiteral(" · custom:200,1")),
                 qPrintable(custom));
#endif
    }

    void coreMessagesFollowTheLanguage()
    {
#ifndef GPULAB_HAVE_TRANSLATIONS
        QSKIP("built without lrelease (qt6-l10n-tools): English only");
#else
        auto data = std::make_shared<const FashionMnist>(make_synthetic_dataset(2048, 128, 3));
        auto failure = [&](double lr, ExecMode mode, int64_t budget) {
            TrainConfig c;
            c.devices = 2;
            c.batch_size = 64;
            c.lr = lr;
            c.epochs = 1;
            c.mode = mode;
            c.memory_budget = budget;
            EventStream trace;
            return Trainer(c, data, trace).run();
        };
        const RunResult oom = failure(0.2, ExecMode::Async, int64_t(24) << 20);
        const RunResult diverged = failure(1000, ExecMode::Sync, kDefaultMemoryBudget);
        QCOMPARE(oom.error.code, ErrorCode::OutOfMemory);
        QVERIFY(diverged.error.code == ErrorCode::LossNaN || diverged.error.code == ErrorCode::LossInfinite ||
                diverged.error.code == ErrorCode::LossHuge);
        QCOMPARE(oom.error.fact("budget"), std::string("24.0 MiB"));
        Error no_cuda;
        const bool cuda = cuda_usable(&no_cuda);
        const Error unknown = other_error("something without a code");
        TrainConfig tooSmall;
        tooSmall.devices = 8;
        tooSmall.batch_size = 4;
        const Error invalid = check_first(tooSmall);
        QCOMPARE(invalid.code, ErrorCode::BatchBelowDevices);
        TrainConfig badLr;
        badLr.lr = -1;
        const Error range = check_first(badLr);
        QCOMPARE(range.code, ErrorCode::SettingOutOfRange);
        QCOMPARE(range.fact("setting"), std::string("lr"));

        // No translation installed: core's words, unchanged.
        QCOMPARE(coreMessage(oom.error), QString::fromStdString(oom.message));
        QCOMPARE(coreMessage(diverged.error), QString::fromStdString(diverged.message));
        QCOMPARE(coreMessage(range), QString::fromStdString(english(range)));

        QTranslator zh;
        QVERIFY(zh.load(QLocale(QLocale::Chinese, QLocale::China), QStringLiteral("gpulab"), QStringLiteral("_"),
                        QStringLiteral(":/i18n")));
        QCoreApplication::installTranslator(&zh);
        const QString oomZh = coreMessage(oom.error), divergedZh = coreMessage(diverged.error);
        const QString noCudaZh = coreMessage(no_cuda), unknownZh = coreMessage(unknown),
                      invalidZh = coreMessage(invalid), rangeZh = coreMessage(range);
        QCoreApplication::removeTranslator(&zh);
        QVERIFY2(oomZh.contains(QString::fromUtf8("内存不足")), qPrintable(oomZh));
        QVERIFY2(oomZh.contains(QStringLiteral("cpu-sim(")), qPrintable(oomZh)); // the facts stay
        QVERIFY2(oomZh.contains(QStringLiteral("24.0 MiB")), qPrintable(oomZh));
        QVERIFY2(divergedZh.contains(QString::fromUtf8("训练发散")), qPrintable(divergedZh));
        QVERIFY2(divergedZh.contains(QStringLiteral("1000")), qPrintable(divergedZh));
        QVERIFY(!divergedZh.contains(QLatin1Char('{')));
        if (!cuda)
            QVERIFY2(noCudaZh != QString::fromStdString(english(no_cuda)), qPrintable(noCudaZh));
        QCOMPARE(unknownZh, QStringLiteral("something without a code"));
        QVERIFY2(invalidZh.contains(QString::fromUtf8("小于设备数（8）")), qPrintable(invalidZh));
        // the setting's name is translated too
        QVERIFY2(rangeZh.contains(QString::fromUtf8("学习率")) && rangeZh.contains(QStringLiteral("--lr")),
                 qPrintable(rangeZh));
#endif
    }

    // Every code core knows has the lab's template, equal to core's English, and (when
    // translations are built) a Chinese translation that keeps every fact.
    void everyErrorCodeIsPhrased()
    {
        for (ErrorCode code : all_error_codes()) {
            if (code == ErrorCode::Other)
                continue;
            const char* ui = uiTemplate(code);
            QVERIFY2(ui, error_code_name(code));
            QCOMPARE(QString::fromUtf8(ui), QString::fromUtf8(error_template(code)));
        }
#ifdef GPULAB_HAVE_TRANSLATIONS
        QTranslator zh;
        QVERIFY(zh.load(QLocale(QLocale::Chinese, QLocale::China), QStringLiteral("gpulab"), QStringLiteral("_"),
                        QStringLiteral(":/i18n")));
        QCoreApplication::installTranslator(&zh);
        QStringList problems;
        static const QRegularExpression fact(QStringLiteral("\\{[a-z_0-9]+\\}"));
        for (ErrorCode code : all_error_codes()) {
            if (code == ErrorCode::Other)
                continue;
            const QString en = QString::fromUtf8(error_template(code));
            const QString tr = QCoreApplication::translate("CoreMessages", error_template(code));
            if (tr == en)
                problems << QStringLiteral("%1: not translated").arg(QString::fromUtf8(error_code_name(code)));
            for (auto it = fact.globalMatch(en); it.hasNext();) {
                const QString f = it.next().captured(0);
                if (!tr.contains(f))
                    problems << QStringLiteral("%1: translation lacks %2").arg(QString::fromUtf8(error_code_name(code)), f);
            }
        }
        for (const SettingSpec& s : run_settings())
            if (settingLabel(s.label) == QString::fromUtf8(s.label))
                problems << QStringLiteral("setting %1: label not translated").arg(QString::fromUtf8(s.name));
        QCoreApplication::removeTranslator(&zh);
        QVERIFY2(problems.isEmpty(), qPrintable(problems.join(QLatin1Char('\n'))));
#endif
    }

    // Every refusal the settings check can give, across bad combinations of the settings that
    // interact, has a code of its own (never Other, whose words are core's English) and a
    // Chinese phrase that differs from the English one.
    void settingsRefusalsAreTranslated()
    {
        QStringList problems;
        QSet<int> seen;
        std::vector<std::pair<Error, std::string>> refusals;
        for (const char* devices : {"1", "2", "8"})
            for (const char* batch : {"1", "64"})
                for (const char* subset : {"0", "1"})
                    for (const char* allreduce : {"naive", "nccl"})
                        for (const char* link : {"none", "10gbe"})
                            for (const char* params : {"lenet", "resnet50"})
                                for (const char* lr : {"-1", "0.1"}) {
                                    TrainConfig c;
                                    const std::string text = std::string("devices=") + devices + " batch_size=" + batch +
                                                             " subset=" + subset + " allreduce=" + allreduce +
                                                             " link=" + link + " link_params=" + params + " lr=" + lr;
                                    apply_settings_text(c, text);
                                    for (const Error& e : check(c))
                                        if (!seen.contains(int(e.code))) {
                                            seen.insert(int(e.code));
                                            refusals.emplace_back(e, text);
                                        }
                                }
        for (ErrorCode want : {ErrorCode::BatchBelowDevices, ErrorCode::SubsetBelowDevices, ErrorCode::LinkWithNccl,
                               ErrorCode::LinkParamsWithoutLink, ErrorCode::NcclNeedsCuda, ErrorCode::SettingOutOfRange})
            if (!seen.contains(int(want)))
                problems << QStringLiteral("%1: never refused").arg(QString::fromUtf8(error_code_name(want)));
        for (const auto& [e, text] : refusals)
            if (e.code == ErrorCode::Other)
                problems << QStringLiteral("%1: refused without a code: %2")
                                .arg(QString::fromStdString(text), QString::fromStdString(english(e)));
#ifdef GPULAB_HAVE_TRANSLATIONS
        QTranslator zh;
        QVERIFY(zh.load(QLocale(QLocale::Chinese, QLocale::China), QStringLiteral("gpulab"), QStringLiteral("_"),
                        QStringLiteral(":/i18n")));
        QCoreApplication::installTranslator(&zh);
        for (const auto& [e, text] : refusals) {
            const QString zhText = coreMessage(e), en = QString::fromStdString(english(e));
            if (zhText == en || zhText.contains(QLatin1Char('{')))
                problems << QStringLiteral("%1: %2").arg(QString::fromUtf8(error_code_name(e.code)), zhText);
        }
        QCoreApplication::removeTranslator(&zh);
#endif
        QVERIFY2(problems.isEmpty(), qPrintable(problems.join(QLatin1Char('\n'))));
        // the two link refusals keep their facts in Chinese
        TrainConfig c;
        apply_settings_text(c, "link=none link_params=resnet50");
        const Error params = check_first(c);
        QCOMPARE(params.code, ErrorCode::LinkParamsWithoutLink);
        QVERIFY2(english(params).find("--link-params resnet50") != std::string::npos, english(params).c_str());
#ifdef GPULAB_HAVE_TRANSLATIONS
        // choices that core words as prose are translated whole (a rewording in core fails here)
        auto refusal = [](const char* text) {
            TrainConfig t;
            try {
                apply_settings_text(t, text);
            } catch (const GpulabError& e) {
                return e.error;
            }
            return Error{};
        };
        const Error badLink = refusal("link=token-ring"), badParams = refusal("link_params=huge"),
                    badName = refusal("colour=blue");
        QCOMPARE(badLink.code, ErrorCode::SettingUnknownChoice);
        QCOMPARE(badParams.code, ErrorCode::SettingUnknownChoice);
        QCOMPARE(badName.code, ErrorCode::SettingUnknownChoice);
        QTranslator zh2;
        QVERIFY(zh2.load(QLocale(QLocale::Chinese, QLocale::China), QStringLiteral("gpulab"), QStringLiteral("_"),
                         QStringLiteral(":/i18n")));
        QCoreApplication::installTranslator(&zh2);
        const QString linkZh = coreMessage(badLink), paramsZh = coreMessage(badParams), nameZh = coreMessage(badName);
        QCoreApplication::removeTranslator(&zh2);
        QVERIFY2(linkZh.contains(QString::fromUtf8("微秒")) && linkZh.contains(QStringLiteral("token-ring")),
                 qPrintable(linkZh));
        QVERIFY2(paramsZh.contains(QString::fromUtf8("参数个数")) && !paramsZh.contains(QStringLiteral("such as")),
                 qPrintable(paramsZh));
        QVERIFY2(nameZh.contains(QString::fromUtf8("设置表")), qPrintable(nameZh));
#endif
    }

    // gpulab --preset ... --run --export-dir DIR --quit
    void headlessCommandLine()
    {
#ifndef GPULAB_APP
        QSKIP("the gpulab executable is not built");
#else
        QTemporaryDir dir;
        QProcess p;
        const QProcessEnvironment env = offscreenEnvironment();
        p.setProcessEnvironment(env);
        p.start(QStringLiteral(GPULAB_APP),
                {QStringLiteral("--preset"), QStringLiteral("book-2"), QStringLiteral("--synthetic"),
                 QStringLiteral("--subset"), QStringLiteral("256"), QStringLiteral("--test-subset"),
                 QStringLiteral("128"), QStringLiteral("--epochs"), QStringLiteral("1"),
                 QStringLiteral("--batch-size"), QStringLiteral("64"), QStringLiteral("--run"),
                 QStringLiteral("--export-dir"), dir.path(), QStringLiteral("--quit")});
        QVERIFY(p.waitForFinished(kRunTimeoutMs));
        const QByteArray err = p.readAllStandardError();
        QVERIFY2(p.exitStatus() == QProcess::NormalExit && p.exitCode() == 0, err.constData());
        for (const char* f : {"training_loss.png", "training_loss.pdf", "training_loss.svg", "training_loss.csv",
                              "memory.png", "engine.svg", "trace.json", "events.csv", "screen_training.png",
                              "screen_devices.png", "screen_allreduce.png", "screen_memory.png", "screen_engine.png"})
            QVERIFY2(QFile::exists(QDir(dir.path()).filePath(QString::fromLatin1(f))), f);
        QVERIFY(!QImage(QDir(dir.path()).filePath(QStringLiteral("screen_devices.png"))).isNull());

        // a bad setting: one line, exit code 2
        QProcess bad;
        bad.setProcessEnvironment(env);
        bad.start(QStringLiteral(GPULAB_APP), {QStringLiteral("--synthetic"), QStringLiteral("--devices"),
                                               QStringLiteral("4"), QStringLiteral("--batch-size"),
                                               QStringLiteral("2"), QStringLiteral("--run"), QStringLiteral("--quit")});
        QVERIFY(bad.waitForFinished(kRunTimeoutMs));
        QCOMPARE(bad.exitCode(), 2);
        QVERIFY(bad.readAllStandardError().contains("smaller than the number of devices"));
        // values the panel cannot hold: named, each with what it would have run instead of it
        // (a learning rate finer than its steps ran as 0; a batch past its range was blamed on
        // the devices)
        QProcess unheld;
        unheld.setProcessEnvironment(env);
        unheld.start(QStringLiteral(GPULAB_APP), {QStringLiteral("--synthetic"), QStringLiteral("--lr"),
                                                  QStringLiteral("0.0001"), QStringLiteral("--batch-size"),
                                                  QStringLiteral("100000"), QStringLiteral("--run"), QStringLiteral("--quit")});
        QVERIFY(unheld.waitForFinished(kRunTimeoutMs));
        QCOMPARE(unheld.exitCode(), 2);
        const QByteArray unheldErr = unheld.readAllStandardError();
        QVERIFY2(unheldErr.contains("--batch-size 100000 (the panel holds 65536)") &&
                     unheldErr.contains("--lr 0.0001 (the panel holds 0)"),
                 unheldErr.constData());
        // a run that fails says why on the terminal, where a headless run has nothing else
        QProcess diverges;
        diverges.setProcessEnvironment(env);
        diverges.start(QStringLiteral(GPULAB_APP),
                       {QStringLiteral("--synthetic"), QStringLiteral("--subset"), QStringLiteral("512"),
                        QStringLiteral("--test-subset"), QStringLiteral("128"), QStringLiteral("--epochs"),
                        QStringLiteral("5"), QStringLiteral("--lr"), QStringLiteral("1000"), QStringLiteral("--run"),
                        QStringLiteral("--quit")});
        QVERIFY(diverges.waitForFinished(kRunTimeoutMs));
        const QByteArray divergesErr = diverges.readAllStandardError();
        QVERIFY2(diverges.exitCode() == 1 && divergesErr.contains("run 1 failed: ") &&
                     divergesErr.contains("lower the learning rate"),
                 divergesErr.constData());
        // --replay-show names one of the --replay files
        QProcess badShow;
        badShow.setProcessEnvironment(env);
        badShow.start(QStringLiteral(GPULAB_APP), {QStringLiteral("--replay"), QStringLiteral("x.gpurec"),
                                                   QStringLiteral("--replay-show"), QStringLiteral("2"), QStringLiteral("--quit")});
        QVERIFY(badShow.waitForFinished(kRunTimeoutMs));
        QCOMPARE(badShow.exitCode(), 2);
        QVERIFY(badShow.readAllStandardError().contains("--replay-show is the number of one of the --replay files, 1 to 1"));

        // every setting of the table the lab offers is an option of gpulab's (here with
        // gpulab-cli's values for a short run), and what has no widget reaches the run
        QStringList all{QStringLiteral("--synthetic"), QStringLiteral("--run"), QStringLiteral("--quit")};
        TrainConfig small;
        small.devices = 2;
        small.batch_size = 64;
        small.epochs = 1;
        small.train_subset = 256;
        small.test_subset = 128;
        small.threads_per_device = 2;
        small.engine = EngineKind::Sync;
        int offered = 0;
        for (const SettingSpec& s : run_settings()) {
            if (!s.in_lab)
                continue;
            all << QString::fromLatin1(s.flag) << QString::fromStdString(s.get(small));
            ++offered;
        }
        QVERIFY(all.contains(QStringLiteral("--backend")) && all.contains(QStringLiteral("--threads-per-device")));
        QVERIFY(offered >= 15);
        QProcess every;
        every.setProcessEnvironment(env);
        every.start(QStringLiteral(GPULAB_APP), all);
        QVERIFY(every.waitForFinished(kRunTimeoutMs));
        const QByteArray everyErr = every.readAllStandardError();
        QVERIFY2(every.exitStatus() == QProcess::NormalExit && every.exitCode() == 0, everyErr.constData());
        QVERIFY2(everyErr.contains("run 1 completed"), everyErr.constData());
#endif
    }

    // Settings without a widget (threads per device, data placement, engine) keep the
    // values they were given.
    void panelKeepsSettingsWithoutWidgets()
    {
        ControlPanel panel;
        TrainConfig c = panel.config();
        c.threads_per_device = 3;
        c.engine = EngineKind::Sync;
        c.data = DataPlacement::Host;
        c.devices = 3;
        panel.setConfig(c);
        const TrainConfig d = panel.config();
        QCOMPARE(d.threads_per_device, 3);
        QCOMPARE(d.engine, EngineKind::Sync);
        QCOMPARE(d.data, DataPlacement::Host);
        QCOMPARE(d.devices, 3);
    }

    // A run that fails (async, out of memory): exit 1, and the exports are still written,
    // with the failure in them.
    void headlessFailedRunExitsOneWithItsExports()
    {
#ifndef GPULAB_APP
        QSKIP("the gpulab executable is not built");
#else
        QTemporaryDir dir;
        QProcess p;
        const QProcessEnvironment env = offscreenEnvironment();
        p.setProcessEnvironment(env);
        p.start(QStringLiteral(GPULAB_APP),
                {QStringLiteral("--synthetic"), QStringLiteral("--devices"), QStringLiteral("1"),
                 QStringLiteral("--batch-size"), QStringLiteral("256"), QStringLiteral("--subset"), QStringLiteral("3072"),
                 QStringLiteral("--test-subset"), QStringLiteral("256"), QStringLiteral("--epochs"), QStringLiteral("1"),
                 QStringLiteral("--mode"), QStringLiteral("async"), QStringLiteral("--memory-budget"),
                 QStringLiteral("256MiB"), QStringLiteral("--run"), QStringLiteral("--export-dir"), dir.path(),
                 QStringLiteral("--quit")});
        QVERIFY(p.waitForFinished(kRunTimeoutMs));
        const QByteArray err = p.readAllStandardError();
        QCOMPARE(p.exitStatus(), QProcess::NormalExit);
        QVERIFY2(p.exitCode() == 1, err.constData());
        for (const char* f : {"training_loss.png", "training_loss.csv", "memory.png", "memory.csv", "events.csv",
                              "screen_memory.png"})
            QVERIFY2(QFile::exists(QDir(dir.path()).filePath(QString::fromLatin1(f))), f);
        QFile trace(QDir(dir.path()).filePath(QStringLiteral("trace.json")));
        QVERIFY(trace.open(QIODevice::ReadOnly));
        const QByteArray json = trace.readAll();
        QVERIFY(QJsonDocument::fromJson(json).isObject());
        QVERIFY(json.contains("out of memory"));
#endif
    }

    // gpulab --run --record writes a recording as the run goes that gpulab-cli replay
    // plays (exit 0, its epoch line); several presets write one file per run; a path that
    // cannot be written is one line and exit 2, before any run.
    void headlessRunIsRecordedAndReplays()
    {
#if !defined(GPULAB_APP) || !defined(GPULAB_CLI)
        QSKIP("the gpulab and gpulab-cli executables are not built");
#else
        QTemporaryDir dir;
        const QProcessEnvironment env = offscreenEnvironment();
        const QStringList small{QStringLiteral("--synthetic"), QStringLiteral("--subset"), QStringLiteral("256"),
                                QStringLiteral("--test-subset"), QStringLiteral("128"), QStringLiteral("--epochs"),
                                QStringLiteral("2"), QStringLiteral("--batch-size"), QStringLiteral("64"),
                                QStringLiteral("--run"), QStringLiteral("--quit")};
        auto replay = [&](const QString& file, QByteArray* out) {
            QProcess r;
            r.start(QStringLiteral(GPULAB_CLI), {QStringLiteral("replay"), file});
            if (!r.waitForFinished(kRunTimeoutMs))
                return -1;
            *out = r.readAllStandardOutput() + r.readAllStandardError();
            return r.exitStatus() == QProcess::NormalExit ? r.exitCode() : -1;
        };

        const QString file = QDir(dir.path()).filePath(QStringLiteral("lab.gpurec"));
        QProcess p;
        p.setProcessEnvironment(env);
        p.start(QStringLiteral(GPULAB_APP),
                QStringList{QStringLiteral("--preset"), QStringLiteral("book-2")} + small +
                    QStringList{QStringLiteral("--record"), file});
        QVERIFY(p.waitForFinished(kRunTimeoutMs));
        const QByteArray err = p.readAllStandardError();
        QVERIFY2(p.exitStatus() == QProcess::NormalExit && p.exitCode() == 0, err.constData());
        QVERIFY2(err.contains("recording written to"), err.constData());
        QByteArray out;
        QCOMPARE(replay(file, &out), 0);
        QVERIFY2(out.contains(", gpulab "), out.constData()); // "(format 1, gpulab 0.x)": the lab's
        QVERIFY2(out.contains("\nepoch 1: loss ") && out.contains("\nepoch 2: loss "), out.constData());
        QVERIFY2(out.contains("run completed"), out.constData());
        QVERIFY2(out.contains("cpu-sim"), out.constData()); // the header names the devices
        const Recording rec = read_recording(file.toStdString());
        QCOMPARE(rec.header.program, std::string("gpulab"));
        QVERIFY(rec.complete);
        QCOMPARE(rec.header.devices.size(), size_t(2));

        // two presets: run-1 and run-2, each a complete recording of its own run
        const QString two = QDir(dir.path()).filePath(QStringLiteral("run.gpurec"));
        QProcess q;
        q.setProcessEnvironment(env);
        q.start(QStringLiteral(GPULAB_APP),
                QStringList{QStringLiteral("--preset"), QStringLiteral("book-1"), QStringLiteral("--preset"),
                            QStringLiteral("book-2")} +
                    small + QStringList{QStringLiteral("--record"), two});
        QVERIFY(q.waitForFinished(kRunTimeoutMs));
        const QByteArray qerr = q.readAllStandardError();
        QVERIFY2(q.exitStatus() == QProcess::NormalExit && q.exitCode() == 0, qerr.constData());
        QVERIFY(!QFile::exists(two));
        const Recording one = read_recording(QDir(dir.path()).filePath(QStringLiteral("run-1.gpurec")).toStdString());
        const Recording second = read_recording(QDir(dir.path()).filePath(QStringLiteral("run-2.gpurec")).toStdString());
        QVERIFY(one.complete && second.complete);
        QCOMPARE(one.header.devices.size(), size_t(1));
        QCOMPARE(second.header.devices.size(), size_t(2));

        // a path that cannot be written: one clear line, exit 2, no run
        QProcess bad;
        bad.setProcessEnvironment(env);
        bad.start(QStringLiteral(GPULAB_APP),
                  small + QStringList{QStringLiteral("--record"), QStringLiteral("/nonexistent-dir/x.gpurec")});
        QVERIFY(bad.waitForFinished(kRunTimeoutMs));
        const QByteArray badErr = bad.readAllStandardError();
        QCOMPARE(bad.exitStatus(), QProcess::NormalExit);
        QVERIFY2(bad.exitCode() == 2, badErr.constData());
        QVERIFY2(badErr.contains("/nonexistent-dir/x.gpurec") && badErr.contains("cannot write the recording"),
                 badErr.constData());
        QVERIFY2(!badErr.contains("run 1"), badErr.constData());
        // a directory is refused the same way
        QProcess isDir;
        isDir.setProcessEnvironment(env);
        isDir.start(QStringLiteral(GPULAB_APP), small + QStringList{QStringLiteral("--record"), dir.path()});
        QVERIFY(isDir.waitForFinished(kRunTimeoutMs));
        QCOMPARE(isDir.exitCode(), 2);
#endif
    }

    // File → Save run writes the latest finished run as a recording gpulab-cli replay reads.
    void saveRunWritesTheLatestFinishedRun()
    {
        w->controller()->setTrainerHook({});
        setControls(2, 64, 256, 1);
        QCOMPARE(runToEnd(), int(RunStatus::Completed));
        QVERIFY(w->hasFinishedRun());
        QTemporaryDir dir;
        const QString file = QDir(dir.path()).filePath(QStringLiteral("saved.gpurec"));
        QString error;
        QVERIFY2(w->saveRun(file, &error), qPrintable(error));
        const Recording rec = read_recording(file.toStdString());
        QVERIFY(rec.complete);
        QCOMPARE(rec.status, std::string("completed"));
        QCOMPARE(rec.header.devices.size(), size_t(2));
        const std::vector<Event> live = w->controller()->stream()->all();
        QCOMPARE(rec.events.size(), live.size());
        int epochs = 0;
        for (const Event& e : rec.events)
            epochs += e.is<ev::EpochEnd>();
        QCOMPARE(epochs, 1);
        // a folder is refused with the reason, nothing crashes
        QVERIFY(!w->saveRun(dir.path(), &error));
        QVERIFY2(error.contains(dir.path()), qPrintable(error));
#ifdef GPULAB_CLI
        QProcess r;
        r.start(QStringLiteral(GPULAB_CLI), {QStringLiteral("replay"), file});
        QVERIFY(r.waitForFinished(kRunTimeoutMs));
        const QByteArray out = r.readAllStandardOutput();
        QCOMPARE(r.exitCode(), 0);
        QVERIFY2(out.contains("\nepoch 1: loss "), out.constData());
#endif
    }

    // Several recordings: Training and Memory overlay them; Devices, Allreduce and Engine show
    // one, say which beside the tabs, and show another when it is chosen (a 2-device naive
    // run beside a 4-device ring, as a GPU run beside a CPU one).
    void severalRecordingsChooseTheOneShown()
    {
        const QString two = QStringLiteral(":/recordings/memory-sync.gpurec");
        const QString four = QStringLiteral(":/recordings/ring-4-devices.gpurec");
        if (!QFile::exists(two) || !QFile::exists(four))
            QSKIP("the example recordings are not in this build");
        MainWindow m;
        auto opsIn = [&m](const QString& path) { // in the whole recording (once fed to its end); -1: not
            int n = 0;
            for (const auto& s : m.replaySession()->sources())
                if (s->path() == path) {
                    if (!s->fedAll())
                        return -1;
                    for (const Event& e : s->events())
                        n += e.is<ev::Op>() && e.device >= 0;
                }
            return n;
        };
        m.resize(1600, 1000);
        m.show();
        QString error;
        QVERIFY2(m.openRecordings({two, four}, &error), qPrintable(error));
        m.replayToEnd();
        auto* allreduce = m.findChild<AllreduceView*>();
        auto* devices = m.findChild<DevicesView*>();
        auto* engine = m.findChild<EngineView*>();
        auto* chooser = m.findChild<QWidget*>(QStringLiteral("recordingChooser"));
        auto* combo = m.findChild<QComboBox*>(QStringLiteral("recordingCombo"));
        auto* label = m.findChild<QLabel*>(QStringLiteral("recordingChooserLabel"));
        QVERIFY(chooser && combo && label);
        QVERIFY(m.showView(QStringLiteral("allreduce")));
        QVERIFY(chooser->isVisible());
        QCOMPARE(label->text(), QStringLiteral("This view shows:"));
        QCOMPARE(combo->count(), 2);
        QVERIFY(combo->currentText().contains(QStringLiteral("memory-sync.gpurec")));
        QCOMPARE(m.shownRecording(), 0);
        QCOMPARE(allreduce->shownDevices(), 2);
        QVERIFY(!allreduce->shownRing());
        QCOMPARE(devices->cardCount(), 2);
        QCOMPARE(engine->opsReceived(), opsIn(two));

        // the second, chosen in the corner: the single views begin it again, up to the playhead
        combo->setCurrentIndex(1);
        emit combo->activated(1);
        QCOMPARE(m.shownRecording(), 1);
        QVERIFY(combo->currentText().contains(QStringLiteral("ring-4-devices.gpurec")));
        QCOMPARE(allreduce->shownDevices(), 4);
        QVERIFY(allreduce->shownRing());
        QVERIFY(allreduce->finalLine().contains(QStringLiteral("all 6 steps done")));
        QCOMPARE(devices->cardCount(), 4);
        QCOMPARE(engine->opsReceived(), opsIn(four));
        // the overlays still hold both; their tab says so
        QVERIFY(m.showView(QStringLiteral("training")));
        QCOMPARE(label->text(), QStringLiteral("Devices · Allreduce · Engine show:"));
        QVERIFY(label->toolTip().contains(QStringLiteral("overlay all 2 recordings")));
        // a projector's large font: the words shorten so that the tabs keep their room
        m.setProjectorMode(true);
        QCOMPARE(label->text(), QStringLiteral("Others show:"));
        m.setProjectorMode(false);
        QCOMPARE(label->text(), QStringLiteral("Devices · Allreduce · Engine show:"));
        QCOMPARE(m.findChild<TrainingView*>()->runCount(), 2);
        // stepping through allreduce steps goes by the shown recording's steps
        m.replaySeek(0);
        m.replayStep(+1);
        QVERIFY(allreduce->stepsReceived() >= 1 && allreduce->stepsReceived() <= 4); // the first step: one transfer per device at most
        QCOMPARE(allreduce->shownDevices(), 4);
        // back to the first
        m.setShownRecording(0);
        m.replayToEnd();
        QCOMPARE(allreduce->shownDevices(), 2);
        QCOMPARE(engine->opsReceived(), opsIn(two));
        m.leaveReplay();
        QVERIFY(!chooser->isVisible());
    }

    // A job of 2 ranks x 2 devices, written as rank 0's --record writes it (global device
    // numbers, the run begin naming each device's rank, steps within each rank and the
    // network hop across them) and replayed: Devices groups the cards by rank, Allreduce
    // draws the network as its own hop with its measured time and bytes, Engine has every
    // rank's workers.
    void multiRankRecordingShowsEveryRank()
    {
        QTemporaryDir dir;
        const QString file = QDir(dir.path()).filePath(QStringLiteral("job.gpurec"));
        TrainConfig c;
        c.devices = 2; // each rank's
        c.allreduce = AllreduceKind::Naive;
        c.epochs = 1;
        {
            RecordingWriter out(file.toStdString(),
                                RecordingHeader::for_run(c, "gpulab-cli", {"cpu-sim(0)", "cpu-sim(1)", "cpu-sim(2)", "cpu-sim(3)"}));
            out.add(Event{.t_us = 0, .data = ev::RunBegin{.settings = c.describe(), .devices = 4, .world = 2,
                                                          .device_ranks = {0, 0, 1, 1}}});
            double t = 10;
            for (int d = 0; d < 4; ++d) {
                out.add(Event{.t_us = t, .device = d, .data = ev::Push{.op = "conv1_fwd"}});
                out.add(Event{.t_us = t + 1, .device = d, .data = ev::Op{.op = "conv1_fwd", .t_end_us = t + 300}});
            }
            t = 400;
            for (int r = 0; r < 2; ++r) // within each rank: naive, its device 1 into its device 0 and back
                for (int step = 0; step < 2; ++step)
                    out.add(Event{.t_us = t + 100 * step, .device = 2 * r,
                                  .data = ev::AllreduceStep{.t_end_us = t + 100 * step + 80, .epoch = 1, .batch = 0,
                                                            .step = step, .steps = 2,
                                                            .src = step == 0 ? 2 * r + 1 : 2 * r,
                                                            .dst = step == 0 ? 2 * r : 2 * r + 1, .bytes = 516480,
                                                            .phase = step == 0 ? "reduce" : "broadcast"}});
            for (int r = 0; r < 2; ++r) // across the ranks: one step per rank, 1.5 ms and 1.25 ms
                out.add(Event{.t_us = 700, .device = 2 * r,
                              .data = ev::AllreduceStep{.t_end_us = 700.0 + (r == 0 ? 1500 : 1250), .epoch = 1,
                                                        .batch = 0, .step = 0, .steps = 1, .src = 2 * r, .dst = -1,
                                                        .bytes = 516484, .phase = "gloo",
                                                        .stage = AllreduceStage::AcrossRanks}});
            // rank 0's next minibatch, then a late step of rank 1's first (merged in time order):
            // the drawing keeps the latest minibatch
            for (int step = 0; step < 2; ++step)
                out.add(Event{.t_us = 2000.0 + 100 * step, .device = 0,
                              .data = ev::AllreduceStep{.t_end_us = 2080.0 + 100 * step, .epoch = 1, .batch = 1,
                                                        .step = step, .steps = 2, .src = step == 0 ? 1 : 0,
                                                        .dst = step == 0 ? 0 : 1, .bytes = 516480,
                                                        .phase = step == 0 ? "reduce" : "broadcast"}});
            out.add(Event{.t_us = 2150, .device = 2,
                          .data = ev::AllreduceStep{.t_end_us = 2200, .epoch = 1, .batch = 0, .step = 1, .steps = 2,
                                                    .src = 2, .dst = 3, .bytes = 516480, .phase = "broadcast"}});
            out.add(Event{.t_us = 2300, .data = ev::MinibatchLoss{.epoch = 1, .batch = 0, .batches_in_epoch = 1,
                                                                  .images = 256, .loss = 2.3}});
            out.add(Event{.t_us = 2400, .data = ev::EpochEnd{.epoch = 1, .train_loss = 2.3, .test_accuracy = 0.1,
                                                             .seconds = 0.0024, .images = 256}});
            out.add(Event{.t_us = 2500, .data = ev::RunEnd{.status = "completed", .message = {}, .error = {}}});
            out.finish(RunStatus::Completed, Error{});
        }
        MainWindow m;
        m.resize(1600, 1000);
        m.show();
        QString error;
        QVERIFY2(m.openRecordings({file}, &error), qPrintable(error));
        m.replayToEnd();
        auto* devices = m.findChild<DevicesView*>();
        QCOMPARE(devices->cardCount(), 4);
        QCOMPARE(devices->rankHeaders(), (QStringList{QStringLiteral("Rank 0 · devices 0–1"), QStringLiteral("Rank 1 · devices 2–3")}));
        // rank 1's cards below its header, below rank 0's cards
        QVERIFY(devices->cardRow(2) > devices->cardRow(1));
        QCOMPARE(devices->cardRow(2), devices->cardRow(3));

        auto* allreduce = m.findChild<AllreduceView*>();
        QCOMPARE(allreduce->shownDevices(), 4);
        QCOMPARE(allreduce->latestAllreduce(), (std::pair<int, int>{1, 1}));
        QVERIFY2(allreduce->finalLine().contains(QStringLiteral("(epoch 1, minibatch 2): all 2 steps done")),
                 qPrintable(allreduce->finalLine()));
        QCOMPARE(int(allreduce->acrossSteps().size()), 2);
        QVERIFY(std::fabs(allreduce->acrossStepMs() - 1.5) < 1e-6);
        QVERIFY2(allreduce->topologyAcrossLine().contains(QStringLiteral("Across ranks (the network, gloo): 2 ranks")),
                 qPrintable(allreduce->topologyAcrossLine()));
        QVERIFY2(allreduce->modelText().contains(QStringLiteral("Across ranks, the network hop (gloo): measured 1.50 ms for 516.5 kB")),
                 qPrintable(allreduce->modelText()));
        // the text counts the job's devices and says the two stages (the formulas' n is a rank's)
        QVERIFY2(allreduce->modelText().startsWith(QStringLiteral(
                     "A job of 2 ranks × 2 devices: 4 devices in all. Its allreduce runs in two stages: 1. within "
                     "each rank, among its 2 devices (the formulas below, n = 2); 2. across the 2 ranks")),
                 qPrintable(allreduce->modelText()));
        // the network hop is a bar of its own after the two steps within the ranks
        auto* across = qobject_cast<QCPBars*>(m.findChild<QCustomPlot*>(QStringLiteral("stepsPlot"))->plottable(3));
        QVERIFY(across && across->name().contains(QStringLiteral("across ranks")));
        QCOMPARE(across->data()->size(), 1);
        QCOMPARE(across->data()->constBegin()->key, 3.0);
        // and the CSV says each step's stage
        int acrossRows = 0;
        for (const CsvTable& t : allreduce->csvTables())
            if (t.name == QStringLiteral("allreduce_steps")) {
                QVERIFY(t.header.endsWith(QStringLiteral(",stage")));
                QString text;
                QTextStream out(&text);
                t.rows(out);
                out.flush();
                acrossRows = int(text.count(QStringLiteral(",across-ranks\n")));
                QCOMPARE(int(text.count(QStringLiteral(",within-rank\n"))), 7);
            }
        QCOMPARE(acrossRows, 2);

        auto* engine = m.findChild<EngineView*>();
        QCOMPARE(engine->rowNames(), (QStringList{QStringLiteral("front ends"), QStringLiteral("rank 0 · device 0"),
                                                  QStringLiteral("rank 0 · device 1"), QStringLiteral("rank 1 · device 2"),
                                                  QStringLiteral("rank 1 · device 3")}));
        QCOMPARE(engine->opsReceived(), 4);
        QCOMPARE(engine->pushesReceived(), 4);
        m.leaveReplay();
    }

    void cleanupTestCase()
    {
        delete w; // cancels and joins anything still running
        w = nullptr;
    }
};

QTEST_MAIN(TestUi)
#include "tst_ui.moc"
