// The time plots (Memory, Engine, Training) zoom with the wheel and pan with a drag, keep the
// user's range through the lab's refreshes, and a double click brings back the view's own.
// The Memory view's envelope mode draws each minibatch's peak and low per device.
#include "control_panel.h"
#include "dataset_loader.h"
#include "lab_view.h"
#include "main_window.h"
#include "memory_view.h"

#include <qcustomplot.h>

#include <QCheckBox>
#include <QComboBox>
#include <QDir>
#include <QSignalSpy>
#include <QSpinBox>
#include <QTabWidget>
#include <QtTest>

using namespace gpulab;

class TestPlotZoom : public QObject {
    Q_OBJECT

private slots:
    void wheelZoomsDoubleClickResets()
    {
        MainWindow w;
        w.resize(1400, 900);
        w.show();
        QVERIFY(QTest::qWaitForWindowExposed(&w));
        QTRY_VERIFY_WITH_TIMEOUT(!w.loader()->loading(), 60000);
        auto* source = w.findChild<QComboBox*>(QStringLiteral("dataSourceCombo"));
        source->setCurrentIndex(source->findData(int(DatasetLoader::Source::Synthetic)));
        QTRY_VERIFY_WITH_TIMEOUT(!w.loader()->loading() && w.loader()->data(), 60000);
        TrainConfig c = w.panel()->config();
        c.devices = 2;
        c.batch_size = 64;
        c.epochs = 1;
        c.train_subset = 1024;
        c.test_subset = 256;
        w.panel()->setConfig(c);
        QVERIFY(w.showView(QStringLiteral("memory")));
        QSignalSpy finished(&w, &MainWindow::runFinished);
        QString error;
        QVERIFY2(w.startRun(&error), qPrintable(error));
        QVERIFY(finished.wait(180000));
        QCoreApplication::processEvents();

        for (const char* view : {"memory", "engine", "training"}) {
            QVERIFY(w.showView(QString::fromLatin1(view)));
            auto* tabs = w.findChild<QTabWidget*>(QStringLiteral("viewTabs"));
            auto* lab = qobject_cast<LabView*>(tabs->currentWidget());
            QVERIFY(lab);
            // No waits on the clock: each step calls the refresh the lab's timer would call.
            QCoreApplication::processEvents();
            lab->refresh();
            QCustomPlot* plot = tabs->currentWidget()->findChildren<QCustomPlot*>().first();
            QVERIFY(plot->interactions().testFlag(QCP::iRangeZoom));
            QVERIFY(plot->interactions().testFlag(QCP::iRangeDrag));
            const QCPRange own = plot->xAxis->range();
            const QPoint mid = plot->axisRect()->rect().center();
            QWheelEvent wheel(QPointF(mid), plot->mapToGlobal(QPointF(mid)), QPoint(), QPoint(0, 240), Qt::NoButton,
                              Qt::NoModifier, Qt::NoScrollPhase, false);
            QApplication::sendEvent(plot, &wheel);
            plot->replot();
            QVERIFY2(plot->xAxis->range().size() < own.size() * 0.9, view); // zoomed in
            lab->refresh(); // the lab's refreshes leave the user's range alone
            plot->replot();
            QVERIFY2(plot->xAxis->range().size() < own.size() * 0.9, view);
            QTest::mouseDClick(plot, Qt::LeftButton, Qt::NoModifier, mid);
            lab->refresh(); // the next refresh follows the data again
            QVERIFY2(qAbs(plot->xAxis->range().lower - own.lower) < 1e-9 * qMax(1.0, own.size()) &&
                         qAbs(plot->xAxis->range().upper - own.upper) < 1e-9 * qMax(1.0, own.size()),
                     view);
        }

        // The Memory view's envelope: one peak and one low per minibatch and device; the
        // highest peak is the highest step.
        auto* memory = w.memoryView();
        QVERIFY(w.showView(QStringLiteral("memory")));
        const int run = w.currentRunId();
        QCOMPARE(memory->envelopePoints(run, 0), 1024 / 64);
        QCOMPARE(memory->envelopePoints(run, 1), 1024 / 64);
        auto* plot = memory->findChild<QCustomPlot*>(QStringLiteral("memoryPlot"));
        auto visibleGraphs = [plot] {
            int n = 0;
            for (int i = 0; i < plot->graphCount(); ++i)
                n += plot->graph(i)->visible() && plot->graph(i)->dataCount() > 1;
            return n;
        };
        const int steps = visibleGraphs();
        QCOMPARE(steps, 2); // one step curve per device
        double stepPeak = 0;
        for (int i = 0; i < plot->graphCount(); ++i)
            if (plot->graph(i)->visible() && plot->graph(i)->dataCount() > 1) {
                bool ok = false;
                stepPeak = std::max(stepPeak, plot->graph(i)->getValueRange(ok).upper);
            }
        memory->findChild<QCheckBox*>(QStringLiteral("memoryEnvelope"))->click();
        QVERIFY(memory->envelope());
        QCOMPARE(visibleGraphs(), 4); // a peak and a low per device
        double envPeak = 0;
        for (int i = 0; i < plot->graphCount(); ++i)
            if (plot->graph(i)->visible() && plot->graph(i)->dataCount() > 1) {
                QCOMPARE(plot->graph(i)->dataCount(), 1024 / 64);
                bool ok = false;
                envPeak = std::max(envPeak, plot->graph(i)->getValueRange(ok).upper);
            }
        QCOMPARE(envPeak, stepPeak);
        if (const QString shots = qEnvironmentVariable("GPULAB_SHOTS_DIR"); !shots.isEmpty()) {
            plot->replot();
            w.grab().save(QDir(shots).filePath(QStringLiteral("memory_envelope.png")));
        }
        memory->setEnvelope(false);
        QCOMPARE(visibleGraphs(), steps);
    }
};

QTEST_MAIN(TestPlotZoom)
#include "tst_plot_zoom.moc"
