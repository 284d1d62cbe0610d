// The lab's scaling sweep (Run → Scaling sweep) driven offscreen on the synthetic data: it
// refuses bad lists, measures every combination, plots and tabulates them, and exports
// the plots and the CSV as every other plot does.
#include "dataset_loader.h"
#include "main_window.h"
#include "sweep_window.h"

#include <qcustomplot.h>

#include <QAction>
#include <QComboBox>
#include <QSignalSpy>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QtTest>

using namespace gpulab;


class TestSweepUi : public QObject {
    Q_OBJECT
    MainWindow* w = nullptr;

private slots:
    void initTestCase()
    {
        w = new MainWindow;
        w->resize(1400, 900);
        w->show();
        QTRY_VERIFY_WITH_TIMEOUT(!w->loader()->loading(), 60000);
        auto* source = w->findChild<QComboBox*>(QStringLiteral("dataSourceCombo"));
        QVERIFY(source);
        source->setCurrentIndex(source->findData(int(DatasetLoader::Source::Synthetic)));
        QTRY_VERIFY_WITH_TIMEOUT(!w->loader()->loading() && w->loader()->data(), 60000);
    }
    void cleanupTestCase() { delete w; }

    void menuOpensTheWindow()
    {
        QAction* a = w->findChild<QAction*>(QStringLiteral("scalingSweepAction"));
        QVERIFY(a);
        a->trigger();
        QVERIFY(w->sweepWindow());
        QVERIFY(w->sweepWindow()->isVisible());
    }

    void badListsAreRefused()
    {
        SweepWindow* s = w->openSweep();
        QString error;
        s->setDevices(QStringLiteral("1,x"));
        QVERIFY(!s->start(&error));
        QVERIFY2(error.contains(QStringLiteral("separated by commas")), qPrintable(error));
        s->setDevices(QStringLiteral("1,4"));
        s->setBatchSizes(QStringLiteral("2"));
        QVERIFY(!s->start(&error));
        QVERIFY2(error.contains(QStringLiteral("smaller than the number of devices")), qPrintable(error));
        QVERIFY(!s->running());
    }

    void sweepPlotsTabulatesAndExports()
    {
        SweepWindow* s = w->openSweep();
        s->resize(1100, 760);
        s->setDevices(QStringLiteral("1,2"));
        s->setBatchSizes(QStringLiteral("64,128"));
        s->setMinibatches(3);
        s->setLrScale(LrScale::Linear);
        QSignalSpy done(s, &SweepWindow::finished);
        QString error;
        QVERIFY2(s->start(&error), qPrintable(error));
        QVERIFY(s->running());
        QString runError; // the lab refuses a run while the sweep has the processor
        QVERIFY(!w->startRun(&runError));
        QVERIFY(runError.contains(QStringLiteral("sweep")));
        QVERIFY(done.wait(180000));
        QCOMPARE(done.first().first().toBool(), true);
        QVERIFY(!s->running());
        QCOMPARE(s->points().size(), size_t(4));

        // images/s: one line per batch size, a point per device count, lr in the name
        auto* speed = s->findChild<QCustomPlot*>(QStringLiteral("sweepSpeedPlot"));
        QVERIFY(speed);
        QCOMPARE(speed->graphCount(), 2);
        QCOMPARE(speed->graph(0)->dataCount(), 2);
        QVERIFY2(speed->graph(1)->name().contains(QStringLiteral("batch 128 (lr 0.1)")),
                 qPrintable(speed->graph(1)->name()));
        QCOMPARE(speed->graph(1)->data()->at(1)->key, 2.0);
        QCOMPARE(speed->graph(1)->data()->at(1)->value, s->points()[3].images_per_s);
        // shares: three stacked bar sets with a bar per combination, adding up to 100 %
        auto* shares = s->findChild<QCustomPlot*>(QStringLiteral("sweepSharePlot"));
        QVERIFY(shares);
        QCOMPARE(shares->plottableCount(), 3);
        for (int x = 1; x <= 4; ++x) {
            double sum = 0;
            for (int b = 0; b < 3; ++b) {
                auto* bars = qobject_cast<QCPBars*>(shares->plottable(b));
                QVERIFY(bars);
                QCOMPARE(bars->dataCount(), 4);
                sum += bars->data()->at(x - 1)->value;
            }
            QVERIFY(qAbs(sum - 100) < 1e-6);
        }
        auto* table = s->findChild<QTableWidget*>(QStringLiteral("sweepTable"));
        QCOMPARE(table->rowCount(), 4);
        QCOMPARE(table->item(3, 0)->text(), QStringLiteral("2"));
        QCOMPARE(table->item(3, 1)->text(), QStringLiteral("128"));
        QCOMPARE(table->item(3, 2)->text(), QStringLiteral("0.1"));

        QTemporaryDir dir;
        QStringList written;
        QVERIFY2(s->exportTo(dir.path(), &written, &error), qPrintable(error));
        QCOMPARE(written.size(), 7);
        for (const QString& f : {QStringLiteral("sweep_images_per_s.png"), QStringLiteral("sweep_images_per_s.pdf"),
                                 QStringLiteral("sweep_images_per_s.svg"), QStringLiteral("sweep_time_shares.png")}) {
            QFileInfo fi(dir.filePath(f));
            QVERIFY2(fi.size() > 1000, qPrintable(f));
        }
        QImage png(dir.filePath(QStringLiteral("sweep_images_per_s.png")));
        QVERIFY(png.width() >= 1280 && png.width() * 9 == png.height() * 16); // a 16:9 slide
        QFile csv(dir.filePath(QStringLiteral("sweep.csv")));
        QVERIFY(csv.open(QIODevice::ReadOnly));
        const QStringList lines = QString::fromUtf8(csv.readAll()).split('\n', Qt::SkipEmptyParts);
        QCOMPARE(lines.size(), 5);
        QCOMPARE(lines[0], QStringLiteral("devices,batch_size,lr,images_per_s,minibatch_ms,compute_share,"
                                          "allreduce_share,waiting_share,link,link_params"));
        QVERIFY(lines[4].startsWith(QStringLiteral("2,128,0.1,")));

        // for a look at it: GPULAB_SHOTS_DIR=/some/folder keeps a screenshot of the window
        if (const QString shots = qEnvironmentVariable("GPULAB_SHOTS_DIR"); !shots.isEmpty()) {
            for (QCustomPlot* p : s->findChildren<QCustomPlot*>())
                p->replot(); // the queued replots, done now
            s->grab().save(QDir(shots).filePath(QStringLiteral("sweep_window.png")));
        }
    }

    void stopEndsTheSweep()
    {
        SweepWindow* s = w->openSweep();
        s->setDevices(QStringLiteral("1,2"));
        s->setBatchSizes(QStringLiteral("64,128,256"));
        s->setMinibatches(3);
        QSignalSpy done(s, &SweepWindow::finished);
        QSignalSpy point(s, &SweepWindow::pointMeasured);
        QString error;
        QVERIFY2(s->start(&error), qPrintable(error));
        QVERIFY(point.wait(120000));
        s->stop();
        QVERIFY(done.wait(120000));
        QCOMPARE(done.first().first().toBool(), false);
        QVERIFY(s->points().size() < 6);
        QVERIFY2(s->statusText().contains(QStringLiteral("Stopped")), qPrintable(s->statusText()));
    }
};

QTEST_MAIN(TestSweepUi)
#include "tst_sweep_ui.moc"
