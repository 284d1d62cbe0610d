// Projector mode (View > Projector mode, F11): fonts 1.6x, lines at least 3 px, larger
// markers, a high-contrast palette, the panel on one line; toggling back restores the
// window, its fonts, palette, plots and layout exactly. Kept with the settings.
#include "control_panel.h"
#include "lab_style.h"
#include "main_window.h"

#include <qcustomplot.h>

#include <QAction>
#include <QApplication>
#include <QSplitter>
#include <QTabBar>
#include <QTabWidget>
#include <QTemporaryDir>
#include <QToolButton>
#include <QLabel>
#include <QtTest>

using namespace gpulab;

class TestProjector : public QObject {
    Q_OBJECT

private slots:
    void toggleScalesAndRestoresExactly()
    {
        MainWindow w;
        w.resize(1300, 850);
        w.show();
        QVERIFY(QTest::qWaitForWindowExposed(&w));
        QTabBar* tabs = w.findChild<QTabWidget*>(QStringLiteral("viewTabs"))->tabBar();
        QCustomPlot* plot = w.findChildren<QCustomPlot*>().first();
        QCPGraph* before = plot->addGraph();
        before->setPen(QPen(Qt::red, 1));
        before->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDisc, 6));
        plot->replot();

        const QRect geometry = w.geometry();
        const QFont appFont = QApplication::font();
        const QPalette palette = QApplication::palette();
        const QFont tabFont = tabs->font();
        const QFont axisFont = plot->xAxis->labelFont();
        const QFont tickFont = plot->yAxis->tickLabelFont();
        const QPen axisPen = plot->xAxis->basePen();
        QTest::qWait(50); // the layout settles
        const QList<int> split = w.findChild<QSplitter*>()->sizes();
        QVERIFY(!w.panelCollapsed());

        QAction* f11 = w.findChild<QAction*>(QStringLiteral("projectorAction"));
        QVERIFY(f11);
        QCOMPARE(f11->shortcut(), QKeySequence(Qt::Key_F11));
        f11->trigger();
        QVERIFY(w.projectorMode());
        QVERIFY(w.isFullScreen());
        QVERIFY(w.panelCollapsed());
        QVERIFY(QApplication::font().pointSizeF() >= appFont.pointSizeF() * 1.6 - 1e-9);
        QVERIFY(tabs->font().pointSizeF() >= tabFont.pointSizeF() * 1.6 - 1e-9);
        QVERIFY(plot->xAxis->labelFont().pointSizeF() >= axisFont.pointSizeF() * 1.6 - 1e-9);
        QVERIFY(plot->yAxis->tickLabelFont().pointSizeF() >= tickFont.pointSizeF() * 1.6 - 1e-9);
        QCOMPARE(QApplication::palette().color(QPalette::WindowText), QColor(Qt::black));
        QCOMPARE(QApplication::palette().color(QPalette::Window), QColor(Qt::white));
        QVERIFY(before->pen().widthF() >= 3);
        QVERIFY(before->scatterStyle().size() > 6);
        // what a view adds while the mode is on is scaled at its next replot
        QCPGraph* during = plot->addGraph();
        during->setPen(QPen(Qt::blue, 1));
        plot->replot();
        QVERIFY(during->pen().widthF() >= 3);

        f11->trigger();
        QVERIFY(!w.projectorMode());
        QVERIFY(!w.isFullScreen());
        QVERIFY(!w.panelCollapsed());
        QCOMPARE(w.geometry(), geometry);
        QCOMPARE(QApplication::font(), appFont);
        QCOMPARE(QApplication::palette(), palette);
        QCOMPARE(tabs->font(), tabFont);
        QCOMPARE(plot->xAxis->labelFont(), axisFont);
        QCOMPARE(plot->yAxis->tickLabelFont(), tickFont);
        QCOMPARE(plot->xAxis->basePen(), axisPen);
        QCOMPARE(before->pen(), QPen(Qt::red, 1));
        QCOMPARE(before->scatterStyle().size(), 6.0);
        QCOMPARE(during->pen(), QPen(Qt::blue, 1));
        QTest::qWait(50);
        QCOMPARE(w.findChild<QSplitter*>()->sizes(), split);
        QCOMPARE(w.geometry(), geometry);
    }

    void panelCollapsesToOneLine()
    {
        MainWindow w;
        w.resize(1300, 850);
        w.show();
        QVERIFY(QTest::qWaitForWindowExposed(&w));
        w.setPanelCollapsed(true);
        QWidget* bar = w.findChild<QWidget*>(QStringLiteral("panelBar"));
        QVERIFY(bar->isVisible());
        QVERIFY(!w.panel()->isVisible());
        QVERIFY(bar->height() < 80); // one line
        QVERIFY(w.findChild<QLabel*>(QStringLiteral("panelSummary"))->text().contains(QStringLiteral("batch")));
        w.findChild<QToolButton*>(QStringLiteral("expandPanelButton"))->click();
        QVERIFY(!bar->isVisible());
        QVERIFY(w.panel()->isVisible());
    }

    void keptWithTheSettings()
    {
        QTemporaryDir dir;
        const QString path = dir.filePath(QStringLiteral("gpulab.conf"));
        QRect normal;
        {
            MainWindow w;
            QVERIFY(w.restoreSettings(path));
            w.resize(1300, 850);
            w.show();
            QVERIFY(QTest::qWaitForWindowExposed(&w));
            normal = w.geometry();
            w.setProjectorMode(true);
            QVERIFY(w.saveSettings());
            w.setProjectorMode(false);
        }
        MainWindow w;
        QVERIFY(w.restoreSettings(path));
        QVERIFY(w.savedProjectorMode());
        QCOMPARE(w.size(), normal.size()); // the window's own size, not the full screen's
    }
};

QTEST_MAIN(TestProjector)
#include "tst_projector.moc"
