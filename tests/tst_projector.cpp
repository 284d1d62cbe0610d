// Projector mode (View > Projector mode, F11): fonts 1.6x, lines at least 3 px, larger
// markers, a high-contrast palette, the panel on one line; toggling back restores the
// window, its fonts, palette, plots and layout exactly. Kept with the settings.
#include "allreduce_view.h"
#include "comm/link.h"
#include "control_panel.h"
#include "devices_view.h"
#include "lab_style.h"
#include "main_window.h"
#include "note_row.h"
#include "replay_panel.h"

#include <qcustomplot.h>

#include <QAction>
#include <QApplication>
#include <QComboBox>
#include <QSplitter>
#include <QTabBar>
#include <QTabWidget>
#include <QTemporaryDir>
#include <QToolButton>
#include <QScopeGuard>
#include <QTranslator>
#include <QLabel>
#include <QListWidget>
#include <QScrollArea>
#include <QtTest>

using namespace gpulab;

class TestProjector : public QObject {
    Q_OBJECT

    // A test's two rows: in English, and in Chinese ("chinese": install it with installChinese).
    static void inEnglishAndChinese()
    {
        QTest::addColumn<bool>("chinese");
        QTest::newRow("en") << false;
        QTest::newRow("zh_CN") << true;
    }

    // Installs the Chinese translation for one test (the caller removes it). False where the lab
    // was built without translations: the caller skips. One that does not load fails the test.
    static bool installChinese(QTranslator& zh)
    {
#ifdef GPULAB_HAVE_TRANSLATIONS
        if (zh.load(QLocale(QLocale::Chinese, QLocale::China), QStringLiteral("gpulab"), QStringLiteral("_"),
                    QStringLiteral(":/i18n")))
            QCoreApplication::installTranslator(&zh);
        else
            QTest::qFail("the Chinese translation did not load from :/i18n", __FILE__, __LINE__);
        return true;
#else
        Q_UNUSED(zh);
        return false;
#endif
    }

    // The widgets whose minimum width is widest, from the window down: says which forces it.
    static QString widestChain(QWidget* w)
    {
        QString out;
        while (w) {
            out += QStringLiteral("%1(%2) min %3 / ").arg(QString::fromLatin1(w->metaObject()->className()), w->objectName()).arg(w->minimumSizeHint().width());
            QWidget* widest = nullptr;
            for (QWidget* c : w->findChildren<QWidget*>(Qt::FindDirectChildrenOnly))
                if (!c->isWindow() && (!widest || c->minimumSizeHint().width() > widest->minimumSizeHint().width()))
                    widest = c;
            w = widest;
        }
        return out;
    }

    // Every view tab's whole label within the tab bar and the window, no scroll buttons: what
    // is wrong, or empty.
    static QString tabsCut(MainWindow& w, const QString& where)
    {
        QTabBar* tabs = w.findChild<QTabWidget*>(QStringLiteral("viewTabs"))->tabBar();
        QString out;
        for (QToolButton* scroll : tabs->findChildren<QToolButton*>())
            if (scroll->isVisible())
                out += QStringLiteral("scroll buttons shown; ");
        const QRect bar(tabs->mapTo(&w, QPoint(0, 0)), tabs->size());
        for (int i = 0; i < tabs->count(); ++i) {
            const QRect tab(tabs->mapTo(&w, tabs->tabRect(i).topLeft()), tabs->tabRect(i).size());
            if (!bar.contains(tab) || !w.rect().contains(tab) ||
                tabs->tabRect(i).width() < QFontMetrics(tabs->font()).horizontalAdvance(tabs->tabText(i)))
                out += QStringLiteral("'%1' at %2..%3 in a bar %4..%5; ")
                           .arg(tabs->tabText(i)).arg(tab.left()).arg(tab.right()).arg(bar.left()).arg(bar.right());
        }
        return out.isEmpty() ? out : where + QStringLiteral(": ") + out;
    }

private slots:
    // A 1024x768 window at a desk (the control panel open, nothing replayed) and in projector
    // mode, in English and in Chinese: every view tab's name whole, none scrolled away (the
    // hidden chooser of the recording shown kept its width in the tabs' corner, and Memory
    // and Engine scrolled off at the desk).
    void viewTabsWholeAt1024x768_data()
    {
        inEnglishAndChinese();
    }
    void viewTabsWholeAt1024x768()
    {
        QFETCH(bool, chinese);
        QTranslator zh;
        if (chinese && !installChinese(zh))
            QSKIP("built without translations");
        auto untranslate = qScopeGuard([&] { QCoreApplication::removeTranslator(&zh); });
        if (QTest::currentTestFailed())
            return;
        MainWindow w;
        w.show();
        w.setGeometry(0, 0, 1024, 768);
        QVERIFY(QTest::qWaitForWindowExposed(&w));
        QVERIFY2(w.minimumSizeHint().width() <= 1024, qPrintable(widestChain(&w)));
        QTRY_COMPARE(w.width(), 1024);
        QTest::qWait(50);
        QVERIFY(!w.panelCollapsed());
        QVERIFY(w.panel()->isVisible());
        QVERIFY(w.panel()->width() > 200); // the panel open beside the views
        QString cut = tabsCut(w, QStringLiteral("desk"));
        QVERIFY2(cut.isEmpty(), qPrintable(cut));

        w.setProjectorMode(true);
        w.showNormal();
        w.setGeometry(0, 0, 1024, 768);
        QTRY_COMPARE(w.width(), 1024);
        QTest::qWait(50);
        cut = tabsCut(w, QStringLiteral("projector"));
        QVERIFY2(cut.isEmpty(), qPrintable(cut));
        w.setProjectorMode(false);
    }

    // The book's 2-device run replayed to its end, then projector mode at 1024x768 showing `view`.
    static void replayBookInProjector(MainWindow& w, const QString& view)
    {
        w.resize(1600, 1000);
        w.show();
        QVERIFY(QTest::qWaitForWindowExposed(&w));
        QString error;
        QVERIFY2(w.openRecordings({QStringLiteral(":/recordings/book-2-devices.gpurec")}, &error), qPrintable(error));
        w.replayToEnd();
        w.setProjectorMode(true);
        w.showNormal();
        w.setGeometry(0, 0, 1024, 768);
        w.showView(view);
        QTRY_COMPARE(w.width(), 1024);
        QTest::qWait(100);
    }

    // Projector mode at 1024x768, the book's 2-device run replayed: the loss plot's legend
    // covers no point of any curve (it sat over the top of the curves, along the guessing
    // line) and the guessing label is whole inside the plot, clear of the legend.
    void lossLegendHidesNoDataAt1024x768()
    {
        MainWindow w;
        replayBookInProjector(w, QStringLiteral("training"));
        if (QTest::currentTestFailed())
            return;
        auto* loss = w.findChild<QCustomPlot*>(QStringLiteral("lossPlot"));
        QVERIFY(loss);
        loss->replot(); // the range follows the plot's size at the next refresh: one more
        w.replayToEnd();
        loss->replot();
        QVERIFY(loss->legend->visible());
        const QRectF legend = loss->legend->outerRect();
        int points = 0;
        for (int g = 0; g < loss->graphCount(); ++g) {
            QCPGraph* graph = loss->graph(g);
            if (!graph->visible())
                continue;
            for (auto it = graph->data()->constBegin(); it != graph->data()->constEnd(); ++it) {
                const QPointF at = graph->coordsToPixels(it->key, it->value);
                ++points;
                QVERIFY2(!legend.contains(at),
                         qPrintable(QStringLiteral("%1's point (%2, %3) at %4,%5 under the legend %6,%7 %8x%9")
                                        .arg(graph->name()).arg(it->key).arg(it->value).arg(at.x()).arg(at.y())
                                        .arg(legend.left()).arg(legend.top()).arg(legend.width()).arg(legend.height())));
            }
        }
        QVERIFY(points > 100);
        QCPItemText* guess = nullptr;
        for (int i = 0; i < loss->itemCount(); ++i)
            if (auto* t = qobject_cast<QCPItemText*>(loss->item(i)); t && t->objectName() == QStringLiteral("guessLabel"))
                guess = t;
        QVERIFY(guess && guess->visible());
        const QRectF label = QRectF(guess->topLeft->pixelPosition(), guess->bottomRight->pixelPosition()).normalized();
        const QRectF plotArea = loss->axisRect()->rect();
        QVERIFY2(plotArea.contains(label) && !label.intersects(legend),
                 qPrintable(QStringLiteral("label %1,%2 %3x%4, plot %5,%6 %7x%8, legend %9,%10")
                                .arg(label.left()).arg(label.top()).arg(label.width()).arg(label.height())
                                .arg(plotArea.left()).arg(plotArea.top()).arg(plotArea.width()).arg(plotArea.height())
                                .arg(legend.left()).arg(legend.top())));
        w.setProjectorMode(false);
    }

    // Projector mode at 1024x768, the book's 2-device run replayed: the Engine view's queue plot
    // is tall enough for its axis label upright and its tick labels one clear of the next (it
    // was a few pixels high, the label ran past it and the ticks overlapped).
    void engineQueuePlotLegibleAt1024x768()
    {
        MainWindow w;
        replayBookInProjector(w, QStringLiteral("engine"));
        if (QTest::currentTestFailed())
            return;
        auto* plot = w.findChild<QCustomPlot*>(QStringLiteral("enginePlot"));
        QVERIFY(plot);
        w.replayToEnd();
        plot->replot();
        auto* queue = qobject_cast<QCPAxisRect*>(plot->plotLayout()->element(2, 0));
        QVERIFY(queue);
        QCPAxis* y = queue->axis(QCPAxis::atLeft);
        // upright, the label's length is its longest line's (it may be on two)
        const int labelLength = QFontMetrics(y->labelFont()).boundingRect(QRect(), Qt::TextDontClip, y->label()).width();
        QVERIFY2(queue->rect().height() >= labelLength,
                 qPrintable(QStringLiteral("queue plot %1 px high, its label %2 px long").arg(queue->rect().height()).arg(labelLength)));
        const QVector<double> ticks = y->tickVector();
        QVERIFY(ticks.size() >= 2);
        const int tickHeight = QFontMetrics(y->tickLabelFont()).height();
        for (int i = 1; i < ticks.size(); ++i) {
            const double gap = std::abs(y->coordToPixel(ticks[i]) - y->coordToPixel(ticks[i - 1]));
            QVERIFY2(gap >= tickHeight, qPrintable(QStringLiteral("ticks %1 and %2 are %3 px apart, a label is %4 px high")
                                                       .arg(ticks[i - 1]).arg(ticks[i]).arg(gap).arg(tickHeight)));
        }
        w.setProjectorMode(false);
    }

    // Projector mode at 1024x768 with the controls opened ("Show the controls"), the book's
    // 2-device run replayed, in English and in Chinese: the window stays within the screen
    // (the Memory view's note beside its controls made it 1071 wide in English), no view asks
    // for more height than it has, and the Engine view's plot has the room its layout needs
    // (its note, a narrow column beside the controls, took ~150 px of it: the legend and the
    // time line were squashed) and its title is not wider than it.
    void everyViewFitsWithTheControlsOpenAt1024x768_data()
    {
        inEnglishAndChinese();
    }
    void everyViewFitsWithTheControlsOpenAt1024x768()
    {
        QFETCH(bool, chinese);
        QTranslator zh;
        if (chinese && !installChinese(zh))
            QSKIP("built without translations");
        auto untranslate = qScopeGuard([&] { QCoreApplication::removeTranslator(&zh); });
        if (QTest::currentTestFailed())
            return;
        MainWindow w;
        auto leave = qScopeGuard([&] { w.setProjectorMode(false); }); // the fonts back, whatever fails
        replayBookInProjector(w, QStringLiteral("engine"));
        if (QTest::currentTestFailed())
            return;
        w.setPanelCollapsed(false); // "Show the controls"
        w.setGeometry(0, 0, 1024, 768);
        QTest::qWait(100);
        QVERIFY(w.replayPanel()->isVisible());
        QVERIFY2(w.minimumSizeHint().width() <= 1024 && w.minimumSizeHint().height() <= 768,
                 qPrintable(QStringLiteral("least %1x%2: %3").arg(w.minimumSizeHint().width())
                                .arg(w.minimumSizeHint().height()).arg(widestChain(&w))));
        QTRY_COMPARE(w.size(), QSize(1024, 768));
        for (LabView* v : w.views()) {
            w.showView(v->viewId());
            QTest::qWait(50);
            QVERIFY2(v->minimumSizeHint().height() <= v->height(),
                     qPrintable(QStringLiteral("%1 needs %2 px, has %3").arg(v->viewId()).arg(v->minimumSizeHint().height()).arg(v->height())));
            QVERIFY2(w.minimumSizeHint().width() <= 1024 && w.width() == 1024,
                     qPrintable(QStringLiteral("with %1 shown: %2 wide, least %3: %4").arg(v->viewId()).arg(w.width())
                                    .arg(w.minimumSizeHint().width()).arg(widestChain(&w))));
        }
        w.showView(QStringLiteral("engine"));
        auto* plot = w.findChild<QCustomPlot*>(QStringLiteral("enginePlot"));
        QVERIFY(plot);
        plot->replot();
        const QSize least = plot->plotLayout()->minimumOuterSizeHint();
        QVERIFY2(least.height() <= plot->height() && least.width() <= plot->width(),
                 qPrintable(QStringLiteral("the plot's layout needs %1x%2, it is %3x%4")
                                .arg(least.width()).arg(least.height()).arg(plot->width()).arg(plot->height())));
        // the notes above the controls (the Devices view's summary above its colour scale), no
        // narrow column beside them
        for (const char* name : {"engineNoteRow", "memoryNoteRow", "devicesNoteRow"}) {
            auto* row = w.findChild<NoteRow*>(QLatin1String(name));
            QVERIFY(row);
            QVERIFY2(row->stacked(), name);
        }
    }

    // What the open panel shows, cut on its right: a widget past the scroll area's viewport, a
    // label or a button whose text is wider than it, a combo box whose current text is. Empty
    // when every word is in view.
    static QString panelCut(QScrollArea* scroll)
    {
        QString out;
        const QRect view(scroll->viewport()->mapTo(scroll->window(), QPoint(0, 0)), scroll->viewport()->size());
        for (QWidget* c : scroll->widget()->findChildren<QWidget*>()) {
            if (!c->isVisible())
                continue;
            const QRect at(c->mapTo(scroll->window(), QPoint(0, 0)), c->size());
            QString text;
            int room = c->width();
            if (auto* l = qobject_cast<QLabel*>(c); l && !l->wordWrap())
                text = l->text();
            else if (auto* b = qobject_cast<QAbstractButton*>(c)) {
                text = b->text();
                room = c->width() - 12;
            } else if (auto* cb = qobject_cast<QComboBox*>(c)) {
                QStyleOptionComboBox opt;
                opt.initFrom(cb);
                opt.editable = cb->isEditable();
                text = cb->currentText();
                room = cb->style()->subControlRect(QStyle::CC_ComboBox, &opt, QStyle::SC_ComboBoxEditField, cb).width();
            }
            text.remove(QLatin1Char('&'));
            const int need = QFontMetrics(c->font()).horizontalAdvance(text);
            if (at.right() > view.right() || need > room)
                out += QStringLiteral("%1 '%2' at %3..%4 (%5 of text in %6) in a viewport %7..%8; ")
                           .arg(QString::fromLatin1(c->metaObject()->className()), text.left(30))
                           .arg(at.left()).arg(at.right()).arg(need).arg(room).arg(view.left()).arg(view.right());
        }
        return out;
    }

    // Every plot title of `view` within its plot: what is cut, or empty.
    static QString titlesCut(QWidget* view)
    {
        QString out;
        for (QCustomPlot* plot : view->findChildren<QCustomPlot*>()) {
            if (!plot->isVisible() || plot->plotLayout()->elementCount() == 0)
                continue;
            auto* t = qobject_cast<QCPTextElement*>(plot->plotLayout()->element(0, 0));
            if (!t)
                continue;
            const QFontMetrics fm(t->font());
            int longest = 0;
            for (const QString& line : t->text().split(QLatin1Char('\n')))
                longest = std::max(longest, fm.horizontalAdvance(line));
            if (longest + t->margins().left() + t->margins().right() > plot->width())
                out += QStringLiteral("%1's title '%2' %3 px wide in a plot %4 wide; ")
                           .arg(plot->objectName(), t->text()).arg(longest).arg(plot->width());
        }
        return out;
    }

    // Every plot axis of `view` whose tick labels run into one another: what crowds, or empty.
    static QString ticksCrowded(QWidget* view)
    {
        QString out;
        for (QCustomPlot* plot : view->findChildren<QCustomPlot*>()) {
            if (!plot->isVisible())
                continue;
            for (QCPAxisRect* r : plot->axisRects())
                for (QCPAxis* a : {r->axis(QCPAxis::atLeft), r->axis(QCPAxis::atBottom)}) {
                    if (!a || !a->visible() || !a->tickLabels())
                        continue;
                    const QFontMetrics fm(a->tickLabelFont());
                    const QVector<double> ticks = a->tickVector();
                    const QVector<QString> labels = a->tickVectorLabels();
                    for (int i = 1; i < ticks.size() && i < labels.size(); ++i) {
                        const double gap = std::abs(a->coordToPixel(ticks[i]) - a->coordToPixel(ticks[i - 1]));
                        const double need = a->orientation() == Qt::Vertical
                                                ? fm.height()
                                                : (fm.horizontalAdvance(labels[i - 1]) + fm.horizontalAdvance(labels[i])) / 2.0;
                        if (gap < need)
                            out += QStringLiteral("%1's %2 and %3 %4 px apart, need %5; ")
                                       .arg(plot->objectName(), labels[i - 1], labels[i]).arg(gap).arg(need);
                    }
                }
        }
        return out;
    }

    // Projector mode on a 1024x768 screen with the control panel open, nothing replayed, in
    // English and in Chinese: every view tab whole (Engine scrolled away behind arrows), and the
    // panel's words whole within it (its settings ran past its right edge).
    void panelReadableWhenOpenAt1024x768_data()
    {
        inEnglishAndChinese();
    }
    void panelReadableWhenOpenAt1024x768()
    {
        QFETCH(bool, chinese);
        QTranslator zh;
        if (chinese && !installChinese(zh))
            QSKIP("built without translations");
        auto untranslate = qScopeGuard([&] { QCoreApplication::removeTranslator(&zh); });
        if (QTest::currentTestFailed())
            return;
        MainWindow w;
        auto leave = qScopeGuard([&] { w.setProjectorMode(false); });
        w.resize(1600, 1000);
        w.show();
        QVERIFY(QTest::qWaitForWindowExposed(&w));
        w.setProjectorMode(true);
        w.showNormal();
        w.setPanelCollapsed(false); // "Show the controls"
        w.setGeometry(0, 0, 1024, 768);
        QTRY_COMPARE(w.size(), QSize(1024, 768));
        QTest::qWait(100);
        QVERIFY(w.panel()->isVisible());
        auto* scroll = qobject_cast<QScrollArea*>(w.panel()->parentWidget()->parentWidget());
        QVERIFY(scroll);
        const QString cut = tabsCut(w, QStringLiteral("the tabs")) + panelCut(scroll);
        QVERIFY2(cut.isEmpty(), qPrintable(cut));
    }

    // The book's 2-device run replayed in projector mode (its Training view shown), then the
    // panel opened ("Show the controls") on a 1024x768 screen.
    static void replayBookWithThePanelOpen(MainWindow& w)
    {
        replayBookInProjector(w, QStringLiteral("training"));
        if (QTest::currentTestFailed())
            return;
        w.setPanelCollapsed(false);
        w.setGeometry(0, 0, 1024, 768);
        QTRY_COMPARE(w.size(), QSize(1024, 768));
        QTest::qWait(100);
    }

    // The book's 2-device run replayed in projector mode on a 1024x768 screen, the panel open, in
    // English and in Chinese: the replay panel, in the control panel's place, has its words whole
    // within it (its speed row and its recorded settings ran past its right edge).
    void replayPanelReadableWhenOpenAt1024x768_data()
    {
        inEnglishAndChinese();
    }
    void replayPanelReadableWhenOpenAt1024x768()
    {
        QFETCH(bool, chinese);
        QTranslator zh;
        if (chinese && !installChinese(zh))
            QSKIP("built without translations");
        auto untranslate = qScopeGuard([&] { QCoreApplication::removeTranslator(&zh); });
        if (QTest::currentTestFailed())
            return;
        MainWindow w;
        auto leave = qScopeGuard([&] { w.setProjectorMode(false); });
        replayBookWithThePanelOpen(w);
        if (QTest::currentTestFailed())
            return;
        QVERIFY(w.replayPanel()->isVisible());
        auto* scroll = qobject_cast<QScrollArea*>(w.replayPanel()->parentWidget()->parentWidget());
        QVERIFY(scroll);
        const QString cut = panelCut(scroll);
        QVERIFY2(cut.isEmpty(), qPrintable(cut));
    }

    // The book's 2-device run replayed in projector mode on a 1024x768 screen, the panel open,
    // in English and in Chinese: every plot's title whole in its plot (the Training view's
    // "Seconds per epoch" was cut at both ends), every axis's tick labels apart, the loss plot's
    // guessing label whole (its start was cut at the plot's left), the device cards' words
    // whole (W3's and W4's captions ran past the card), and the Allreduce drawing's devices
    // legible and apart (two abreast, under a column of text, they were 22 px across and
    // overlapped).
    void viewsReadableWithThePanelOpenAt1024x768_data()
    {
        inEnglishAndChinese();
    }
    void viewsReadableWithThePanelOpenAt1024x768()
    {
        QFETCH(bool, chinese);
        QTranslator zh;
        if (chinese && !installChinese(zh))
            QSKIP("built without translations");
        auto untranslate = qScopeGuard([&] { QCoreApplication::removeTranslator(&zh); });
        if (QTest::currentTestFailed())
            return;
        MainWindow w;
        auto leave = qScopeGuard([&] { w.setProjectorMode(false); });
        replayBookWithThePanelOpen(w);
        if (QTest::currentTestFailed())
            return;
        for (LabView* v : w.views()) {
            w.showView(v->viewId());
            QTest::qWait(50);
            for (QCustomPlot* p : v->findChildren<QCustomPlot*>())
                p->replot();
            const QString titles = titlesCut(v) + ticksCrowded(v);
            QVERIFY2(titles.isEmpty(), qPrintable(v->viewId() + QStringLiteral(": ") + titles));
        }
        // the guessing label whole within the loss plot's axis rect (once the plot has followed
        // its new size: the label's lines, then the range that leaves them room)
        w.showView(QStringLiteral("training"));
        auto* loss = w.findChild<QCustomPlot*>(QStringLiteral("lossPlot"));
        QVERIFY(loss);
        loss->replot();
        QCPItemText* guess = nullptr;
        for (int i = 0; i < loss->itemCount(); ++i)
            if (auto* t = qobject_cast<QCPItemText*>(loss->item(i)); t && t->objectName() == QStringLiteral("guessLabel"))
                guess = t;
        QVERIFY(guess);
        auto labelRect = [&] {
            return QRectF(guess->topLeft->pixelPosition(), guess->bottomRight->pixelPosition()).normalized();
        };
        const QRectF plotArea = loss->axisRect()->rect();
        auto where = [&] {
            const QRectF l = labelRect();
            return QStringLiteral("'%1' at %2..%3, %4..%5 in a plot %6..%7, %8..%9").arg(guess->text())
                .arg(l.left()).arg(l.right()).arg(l.top()).arg(l.bottom())
                .arg(plotArea.left()).arg(plotArea.right()).arg(plotArea.top()).arg(plotArea.bottom());
        };
        QTRY_VERIFY2_WITH_TIMEOUT(plotArea.contains(labelRect()), qPrintable(where()), 5000);
        // the lists of runs wrap an entry at their width: nothing to scroll sideways to read it
        for (const char* name : {"runList", "memoryRunList"}) {
            w.showView(QLatin1String(name) == QLatin1String("runList") ? QStringLiteral("training")
                                                                        : QStringLiteral("memory"));
            auto* runs = w.findChild<QListWidget*>(QLatin1String(name));
            QVERIFY(runs && runs->count() > 0);
            auto entry = [&] { return runs->visualItemRect(runs->item(0)); };
            QTRY_VERIFY2(entry().right() < runs->viewport()->width(),
                         qPrintable(QStringLiteral("%1: the entry reaches x = %2, the list is %3 wide")
                                        .arg(QLatin1String(name)).arg(entry().right()).arg(runs->viewport()->width())));
        }
        w.showView(QStringLiteral("training"));

        w.showView(QStringLiteral("devices"));
        auto* devices = w.findChild<DevicesView*>();
        QVERIFY(devices && devices->cardCount() == 2);
        devices->grab(); // the cards painted at this size
        QVERIFY2(devices->clippedTexts().isEmpty(),
                 qPrintable(QStringLiteral("elided: ") + devices->clippedTexts().join(QStringLiteral(" | "))));

        w.showView(QStringLiteral("allreduce"));
        auto* allreduce = w.findChild<AllreduceView*>();
        QVERIFY(allreduce);
        QTRY_VERIFY(allreduce->narrowLayout());
        allreduce->grab();
        const QList<QRectF> nodes = allreduce->drawnNodes();
        QCOMPARE(nodes.size(), 2);
        // a device's number legible: its circle at least a line of the projector's text across
        const int line = QFontMetrics(allreduce->font()).height();
        for (const QRectF& n : nodes)
            QVERIFY2(n.width() >= line, qPrintable(QStringLiteral("a device %1 px across, a line %2").arg(n.width()).arg(line)));
        // apart, with a line's room between them for the chunk in flight
        const QPointF d = nodes[0].center() - nodes[1].center();
        QVERIFY2(std::hypot(d.x(), d.y()) >= (nodes[0].width() + nodes[1].width()) / 2 + line,
                 qPrintable(QStringLiteral("devices at %1,%2 and %3,%4, %5 px across: no room between them")
                                .arg(nodes[0].center().x()).arg(nodes[0].center().y()).arg(nodes[1].center().x())
                                .arg(nodes[1].center().y()).arg(nodes[0].width())));
        QVERIFY2(allreduce->drawingClipped().isEmpty(), qPrintable(allreduce->drawingClipped().join(QStringLiteral(" | "))));
    }

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

    // At 1024x768 in projector mode the Allreduce view's cells go two abreast: the step plot
    // keeps a legible size and the link model's formula is whole on the first screen; back
    // at a desk's size they are three abreast again.
    void allreduceLegibleAt1024x768()
    {
        MainWindow w;
        w.resize(1600, 1000);
        w.show();
        QVERIFY(QTest::qWaitForWindowExposed(&w));
        auto* view = w.findChild<AllreduceView*>();
        QVERIFY(view);
        TrainConfig c;
        c.devices = 2;
        c.allreduce = AllreduceKind::Ring;
        c.link = parse_link("10gbe");
        c.link_params = 25557032; // ResNet-50: the formula's longest text
        view->previewSettings(c);
        w.showView(QStringLiteral("allreduce"));
        QTest::qWait(50);
        QVERIFY(!view->compactLayout());

        w.setProjectorMode(true);
        // the projector's screen, 1024x768 (the offscreen platform's own screen is smaller)
        w.showNormal();
        w.setGeometry(0, 0, 1024, 768);
        QTRY_VERIFY(view->isVisible() && w.width() == 1024);
        QTest::qWait(50);
        QVERIFY(view->compactLayout());
        auto* steps = view->findChild<QCustomPlot*>(QStringLiteral("stepsPlot"));
        auto* text = view->findChild<QLabel*>(QStringLiteral("allreduceModelText"));
        auto* textBox = view->findChild<QScrollArea*>(QStringLiteral("allreduceModelScroll"));
        auto* page = view->findChild<QScrollArea*>(QStringLiteral("allreducePage"));
        QVERIFY(steps && text && textBox && page);
        QVERIFY(text->text().contains(QStringLiteral("ResNet-50")));
        const QFontMetrics fm(text->font());
        // the step plot: at least 40 characters wide and 12 lines high of the projector's font
        QVERIFY2(steps->width() >= 40 * fm.averageCharWidth(), qPrintable(QStringLiteral("%1 of %2 in %3, char %4").arg(steps->width()).arg(view->width()).arg(w.width()).arg(fm.averageCharWidth())));
        QVERIFY2(steps->height() >= 12 * fm.lineSpacing(), qPrintable(QString::number(steps->height())));
        // the formula: whole (no line scrolled away inside its box) and on the first screen
        QVERIFY(textBox->height() >= text->heightForWidth(textBox->viewport()->width()));
        const QRect onPage(textBox->mapTo(page->viewport(), QPoint(0, 0)), textBox->size());
        QVERIFY2(page->viewport()->rect().contains(onPage),
                 qPrintable(QStringLiteral("formula at %1,%2 %3x%4 in %5x%6")
                                .arg(onPage.x()).arg(onPage.y()).arg(onPage.width()).arg(onPage.height())
                                .arg(page->viewport()->width()).arg(page->viewport()->height())));
        // the step plot beside the drawing, the formula under both, all on the first screen
        const QRect plotOnPage(steps->mapTo(page->viewport(), QPoint(0, 0)), steps->size());
        QVERIFY(page->viewport()->rect().contains(plotOnPage));
        QVERIFY(plotOnPage.bottom() <= onPage.top());

        w.setProjectorMode(false);
        w.resize(1600, 1000);
        QTRY_VERIFY(!view->compactLayout());
        QTRY_COMPARE(textBox->parentWidget(), steps->parentWidget()); // back under the step plot
    }

    // Two recordings replayed in projector mode on a 1024x768 screen: no view asks for more
    // than the screen's width (the Engine view's legend in one row and the Memory view's
    // entries, a recording's settings and file, each did at the projector's font, though the
    // tab was not shown), the Training loss plot's legend stays within its plot, and every
    // view tab's name is whole in view beside the chooser of the recording shown.
    void replayOfTwoFitsAt1024x768()
    {
        MainWindow w;
        w.resize(1600, 1000);
        w.show();
        QVERIFY(QTest::qWaitForWindowExposed(&w));
        QString error;
        const QString dir = QStringLiteral(":/recordings/");
        QVERIFY2(w.openRecordings({dir + QStringLiteral("gpu-book-2-devices.gpurec"),
                                   dir + QStringLiteral("ring-4-devices.gpurec")}, &error),
                 qPrintable(error));
        w.replayToEnd();
        w.setProjectorMode(true);
        w.showNormal();
        w.setGeometry(0, 0, 1024, 768);
        QTest::qWait(100);
        QVERIFY2(w.minimumSizeHint().width() <= 1024, qPrintable(widestChain(&w)));
        QTRY_COMPARE(w.width(), 1024);

        // the loss plot's legend: within its plot, its labels elided rather than cut off
        auto* loss = w.findChild<QCustomPlot*>(QStringLiteral("lossPlot"));
        QVERIFY(loss);
        loss->replot();
        QVERIFY(loss->legend->visible());
        const QRect legend = loss->legend->outerRect();
        QVERIFY2(legend.left() >= 0 && legend.right() <= loss->width(),
                 qPrintable(QStringLiteral("legend %1..%2 in a plot %3 wide").arg(legend.left()).arg(legend.right()).arg(loss->width())));

        // every view tab's whole label is visible, whichever view is shown (the chooser of
        // the recording the single views show says other words on the overlay views): no
        // tab scrolled away or under the chooser, no label elided, no scroll buttons
        auto* tabWidget = w.findChild<QTabWidget*>(QStringLiteral("viewTabs"));
        auto* chooser = w.findChild<QWidget*>(QStringLiteral("recordingChooser"));
        auto* combo = w.findChild<QComboBox*>(QStringLiteral("recordingCombo"));
        QVERIFY(tabWidget && chooser && combo);
        QTabBar* tabs = tabWidget->tabBar();
        for (int shown = 0; shown < tabs->count(); ++shown) {
            tabWidget->setCurrentIndex(shown);
            QTest::qWait(50);
            QVERIFY(chooser->isVisible() && combo->isVisible());
            for (QToolButton* scroll : tabs->findChildren<QToolButton*>())
                QVERIFY2(!scroll->isVisible(), qPrintable(QStringLiteral("scroll buttons with %1 shown").arg(tabs->tabText(shown))));
            const QRect chooserRect(chooser->mapTo(&w, QPoint(0, 0)), chooser->size());
            for (int i = 0; i < tabs->count(); ++i) {
                const QRect tab(tabs->mapTo(&w, tabs->tabRect(i).topLeft()), tabs->tabRect(i).size());
                const QRect bar(tabs->mapTo(&w, QPoint(0, 0)), tabs->size());
                const QString where = QStringLiteral("'%1' at %2..%3 (bar %4..%5, chooser %6..%7, %8 shown)")
                                          .arg(tabs->tabText(i)).arg(tab.left()).arg(tab.right()).arg(bar.left())
                                          .arg(bar.right()).arg(chooserRect.left()).arg(chooserRect.right())
                                          .arg(tabs->tabText(shown));
                QVERIFY2(bar.contains(tab) && w.rect().contains(tab), qPrintable(where));
                QVERIFY2(!tab.intersects(chooserRect), qPrintable(where));
                QVERIFY2(tabs->tabRect(i).width() >= QFontMetrics(tabs->font()).horizontalAdvance(tabs->tabText(i)),
                         qPrintable(where));
            }
        }

        // back at the desk's size and fonts, the chooser is beside the tabs again
        w.setProjectorMode(false);
        QTRY_COMPARE(w.width(), 1600);
        QTRY_COMPARE(tabWidget->cornerWidget(Qt::TopRightCorner), chooser);
        QVERIFY(chooser->isVisible());
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
