// Colours, plot styling and formatting shared by every view.
#include "lab_style.h"

#include <QListWidget>

#include <qcustomplot.h>

#include <algorithm>
#include <functional>
#include <cmath>

namespace gpulab {

QColor deviceColor(int device)
{
    // Tableau 10, without the grey: readable on a projector and for most colour-blind eyes.
    static const QColor colors[] = {
        QColor(31, 119, 180), QColor(255, 127, 14), QColor(44, 160, 44),  QColor(214, 39, 40),
        QColor(148, 103, 189), QColor(140, 86, 75), QColor(227, 119, 194), QColor(188, 189, 34),
    };
    return colors[std::max(device, 0) % 8];
}

QColor runColor(int runId)
{
    static const QColor colors[] = {
        QColor(31, 119, 180), QColor(214, 39, 40),  QColor(44, 160, 44), QColor(148, 103, 189),
        QColor(255, 127, 14), QColor(23, 190, 207), QColor(140, 86, 75), QColor(227, 119, 194),
    };
    return colors[std::max(runId - 1, 0) % 8];
}

QColor lighter(const QColor& c, double towardWhite)
{
    const double t = std::clamp(towardWhite, 0.0, 1.0);
    auto mix = [t](int v) { return static_cast<int>(std::lround(v + (255 - v) * t)); };
    return QColor(mix(c.red()), mix(c.green()), mix(c.blue()));
}

QRgb divergingColor(float v, float scale)
{
    float x = scale > 0 ? v / scale : 0.0f;
    x = std::clamp(x, -1.0f, 1.0f);
    // white at 0, (33,102,172) at -1, (178,24,43) at +1 (ColorBrewer RdBu ends)
    const float a = std::fabs(x);
    const int r0 = x < 0 ? 33 : 178, g0 = x < 0 ? 102 : 24, b0 = x < 0 ? 172 : 43;
    auto mix = [a](int end) { return static_cast<int>(255 + (end - 255) * a); };
    return qRgb(mix(r0), mix(g0), mix(b0));
}

void styleAxisRect(QCPAxisRect* rect)
{
    QFont label;
    label.setPointSize(12);
    QFont ticks;
    ticks.setPointSize(11);
    for (QCPAxis* axis : rect->axes()) {
        axis->setLabelFont(label);
        axis->setTickLabelFont(ticks);
        axis->setBasePen(QPen(QColor(60, 60, 60), 1));
        axis->setTickPen(QPen(QColor(60, 60, 60), 1));
        axis->setSubTickPen(QPen(QColor(90, 90, 90), 1));
        axis->grid()->setPen(QPen(QColor(215, 215, 215), 1, Qt::DotLine));
        axis->setLabelColor(QColor(30, 30, 30));
        axis->setTickLabelColor(QColor(30, 30, 30));
    }
}

void styleLegend(QCPLegend* legend)
{
    QFont f;
    f.setPointSize(11);
    legend->setFont(f);
    legend->setBrush(QBrush(QColor(255, 255, 255, 235)));
    legend->setBorderPen(QPen(QColor(170, 170, 170)));
    legend->setIconSize(24, 12);
}

void stylePlot(QCustomPlot* plot)
{
    plot->setBackground(Qt::white);
    plot->setNoAntialiasingOnDrag(true);
    plot->setPlottingHints(QCP::phCacheLabels | QCP::phFastPolylines);
    plot->setAntialiasedElements(QCP::aeNone);
    plot->setNotAntialiasedElements(QCP::aeNone);
    plot->setInteractions(QCP::iRangeDrag | QCP::iRangeZoom);
    for (QCPAxisRect* r : plot->axisRects())
        styleAxisRect(r);
    styleLegend(plot->legend);
    QObject::connect(plot, &QCustomPlot::beforeReplot, plot, [plot] { fitTickCounts(plot); });
}

void fitTickCounts(QCustomPlot* plot)
{
    for (QCPAxisRect* r : plot->axisRects()) {
        for (QCPAxis* a : {r->axis(QCPAxis::atLeft), r->axis(QCPAxis::atBottom)}) {
            if (!a || !a->visible() || !a->tickLabels() || !a->ticker())
                continue;
            // the count the view asked for: the ticker's, unless it is what this last set
            int wanted = a->ticker()->tickCount();
            if (wanted == a->property("fittedTickCount").toInt() && a->property("wantedTickCount").isValid())
                wanted = a->property("wantedTickCount").toInt();
            // a label's room: up the side, its height and a half; across, the widest label
            // and two characters' gap
            const QFontMetrics fm(a->tickLabelFont());
            int each = fm.height() * 3 / 2;
            if (a->orientation() == Qt::Horizontal) {
                int widest = fm.horizontalAdvance(QStringLiteral("0.88"));
                for (const QString& l : a->tickVectorLabels())
                    widest = std::max(widest, fm.horizontalAdvance(l));
                each = widest + 2 * fm.averageCharWidth();
            }
            const int length = a->orientation() == Qt::Horizontal ? r->width() : r->height();
            const int count = std::clamp(length / std::max(1, each), 2, std::max(2, wanted));
            a->setProperty("wantedTickCount", wanted);
            a->setProperty("fittedTickCount", count);
            if (a->ticker()->tickCount() != count)
                a->ticker()->setTickCount(count);
        }
    }
}

void addPlotTitle(QCustomPlot* plot, const QString& title)
{
    plot->plotLayout()->insertRow(0);
    QFont f;
    f.setPointSize(13);
    f.setBold(true);
    auto* text = new QCPTextElement(plot, title, f);
    text->setMargins(QMargins(4, 6, 4, 0));
    plot->plotLayout()->addElement(0, 0, text);
    // at every replot, so at every new size or font, and after a view sets another title
    QObject::connect(plot, &QCustomPlot::beforeReplot, plot, [plot] { fitPlotTitle(plot); });
}

void fitPlotTitle(QCustomPlot* plot)
{
    auto* t = plot->plotLayout()->elementCount() > 0 ? qobject_cast<QCPTextElement*>(plot->plotLayout()->element(0, 0))
                                                     : nullptr;
    if (!t)
        return;
    // the title as the view set it: what is shown, unless that is what this last made of it
    QString title = t->text();
    if (title == plot->property("fittedTitle").toString())
        title = plot->property("plotTitle").toString();
    const QFontMetrics fm(t->font());
    const int room = plot->width() - t->margins().left() - t->margins().right() - 8;
    // each line too wide in two, again while one is (a narrow plot, a large font)
    QStringList lines = title.split(QLatin1Char('\n'));
    for (qsizetype n = 0; n < lines.size() && lines.size() < 8;) {
        const QString line = lines[n];
        if (fm.horizontalAdvance(line) <= room || line.size() < 2) {
            ++n;
            continue;
        }
        // at the space nearest the middle; a title without one (Chinese) in its middle
        qsizetype at = -1;
        for (qsizetype i = line.indexOf(QLatin1Char(' ')); i > 0; i = line.indexOf(QLatin1Char(' '), i + 1))
            if (at < 0 || std::abs(i - line.size() / 2) < std::abs(at - line.size() / 2))
                at = i;
        const QString first = at > 0 ? line.left(at).trimmed() : line.left(line.size() / 2);
        const QString second = at > 0 ? line.mid(at + 1).trimmed() : line.mid(line.size() / 2);
        lines[n] = first;
        lines.insert(n + 1, second);
    }
    const QString fitted = lines.join(QLatin1Char('\n'));
    plot->setProperty("plotTitle", title);
    plot->setProperty("fittedTitle", fitted);
    if (t->text() != fitted)
        t->setText(fitted);
}

void placeLegendBelow(QCustomPlot* plot, int row, int wrap, const QMargins& margins)
{
    QCPLegend* legend = plot->legend;
    plot->axisRect()->insetLayout()->take(legend);
    plot->plotLayout()->addElement(row, 0, legend);
    plot->plotLayout()->setRowStretchFactor(row, 0.001);
    legend->setFillOrder(QCPLegend::foColumnsFirst);
    legend->setWrap(wrap);
    legend->setMargins(margins);
    plot->setProperty("legendRow", row);
    updateLegend(plot);
}

void updateLegend(QCustomPlot* plot)
{
    QCPLegend* legend = plot->legend;
    const bool want = legend->itemCount() > 0;
    const QVariant row = plot->property("legendRow"); // set by placeLegendBelow
    if (row.isValid()) {
        const bool placed = legend->layout() != nullptr;
        if (want && !placed)
            plot->plotLayout()->addElement(row.toInt(), 0, legend);
        else if (!want && placed)
            plot->plotLayout()->take(legend); // the plot stays its owner; the row stays, empty
    }
    legend->setVisible(want);
}

void fitLegendBelowToWidth(QCustomPlot* plot)
{
    QCPLegend* legend = plot->legend;
    const int most = std::max(1, legend->wrap());
    plot->setProperty("legendMostColumns", most);
    const auto fit = [plot, legend, most] {
        // entries a row: the most that, columns first, fit the plot's width at the current font
        const int n = legend->itemCount();
        if (n == 0)
            return; // entries come with the run; its replot fits them
        const QMargins m = legend->margins();
        const int avail = plot->width() - m.left() - m.right() - 2;
        int cols = std::min(most, std::max(1, n));
        for (; cols > 1; --cols) {
            int total = (cols - 1) * legend->columnSpacing();
            for (int c = 0; c < cols; ++c) {
                int widest = 0;
                for (int i = c; i < n; i += cols)
                    if (QCPAbstractLegendItem* it = legend->item(i))
                        widest = std::max(widest, static_cast<QCPLayoutElement*>(it)->minimumOuterSizeHint().width());
                total += widest;
            }
            if (total <= avail)
                break;
        }
        if (legend->wrap() != cols) {
            legend->setWrap(cols);
            legend->setFillOrder(legend->fillOrder(), true); // the entries rearranged to it
        }
    };
    // the legend's entries, their font (projector mode) and the plot's width all change: the
    // wrap follows before every replot, so the legend never sets the plot's minimum width
    QObject::connect(plot, &QCustomPlot::beforeReplot, plot, fit);
    plot->setMinimumWidth(std::max(plot->minimumWidth(), 160));
    fit();
}

void elideLegendToPlot(QCustomPlot* plot)
{
    // before every replot: each entry's name, elided in the middle (its number and its file
    // stay) to what the axis rect leaves beside the icon, at the legend's current font
    QObject::connect(plot, &QCustomPlot::beforeReplot, plot, [plot] {
        QCPLegend* legend = plot->legend;
        const QCPAxisRect* rect = plot->axisRect();
        const int width = rect && rect->width() > 0 ? rect->width() : plot->width();
        const QMargins inset(12, 12, 12, 12); // the inset layout's margins and a border
        const int avail = width - inset.left() - inset.right() - legend->margins().left() - legend->margins().right() -
                          legend->iconSize().width() - legend->iconTextPadding();
        for (int i = 0; i < legend->itemCount(); ++i) {
            auto* item = qobject_cast<QCPPlottableLegendItem*>(legend->item(i));
            if (!item)
                continue;
            QCPAbstractPlottable* p = item->plottable();
            // a name the view set since (not the one elided here) is the full name anew
            if (p->name() != p->property("legendShown").toString())
                p->setProperty("legendFull", p->name());
            const QString full = p->property("legendFull").toString();
            const QString shown = QFontMetrics(item->font()).elidedText(full, Qt::ElideMiddle, std::max(avail, 40));
            p->setProperty("legendShown", shown);
            if (p->name() != shown)
                p->setName(shown);
        }
    });
}

void trackUserZoom(QCustomPlot* plot)
{
    QObject::connect(plot, &QCustomPlot::mouseWheel, plot,
                     [plot](QWheelEvent*) { plot->setProperty("userZoomed", true); });
    QObject::connect(plot, &QCustomPlot::mouseMove, plot, [plot](QMouseEvent* e) {
        if (e->buttons() & Qt::LeftButton)
            plot->setProperty("userZoomed", true);
    });
    QObject::connect(plot, &QCustomPlot::mouseDoubleClick, plot, [plot](QMouseEvent*) {
        plot->setProperty("userZoomed", false); // the view rescales on its next refresh
    });
    plot->setToolTip(QObject::tr("Drag to pan, wheel to zoom, double-click to follow the data again"));
}

bool userZoomed(const QCustomPlot* plot)
{
    return plot->property("userZoomed").toBool();
}

void clearUserZoom(QCustomPlot* plot)
{
    plot->setProperty("userZoomed", false);
}

QString formatBytes(qint64 bytes)
{
    const double b = static_cast<double>(bytes);
    if (std::llabs(bytes) < 1024)
        return QStringLiteral("%1 B").arg(bytes);
    if (std::fabs(b) < 1024.0 * 1024)
        return QStringLiteral("%1 KiB").arg(b / 1024, 0, 'f', 1);
    if (std::fabs(b) < 1024.0 * 1024 * 1024)
        return QStringLiteral("%1 MiB").arg(b / (1024.0 * 1024), 0, 'f', 1);
    return QStringLiteral("%1 GiB").arg(b / (1024.0 * 1024 * 1024), 0, 'f', 2);
}

QString formatDuration(double seconds)
{
    if (!std::isfinite(seconds) || seconds < 0)
        return QStringLiteral("?");
    if (seconds < 10)
        return QStringLiteral("%1 s").arg(seconds, 0, 'f', 1);
    if (seconds < 60)
        return QStringLiteral("%1 s").arg(static_cast<int>(std::lround(seconds)));
    const int s = static_cast<int>(std::lround(seconds));
    if (s < 3600)
        return QStringLiteral("%1:%2").arg(s / 60).arg(s % 60, 2, 10, QChar('0'));
    return QStringLiteral("%1:%2:%3")
        .arg(s / 3600)
        .arg((s / 60) % 60, 2, 10, QChar('0'))
        .arg(s % 60, 2, 10, QChar('0'));
}

// ---- projector mode ----------------------------------------------------------------------

namespace {

// One styled value of one element: the element's own value is kept beside it (prjOrig_*),
// with what we set (prjSet_*), so that off restores it and a later change by a view is seen.
void scaleProperty(QObject* o, const char* name, const std::function<QVariant(const QVariant&)>& scale)
{
    const QVariant cur = o->property(name);
    if (!cur.isValid())
        return;
    const QByteArray orig = QByteArray("prjOrig_") + name, set = QByteArray("prjSet_") + name;
    const QVariant applied = o->property(set.constData());
    if (applied.isValid() && applied == cur)
        return; // already ours
    o->setProperty(orig.constData(), cur);
    const QVariant v = scale(cur);
    o->setProperty(name, v);
    o->setProperty(set.constData(), o->property(name));
}

void restoreProperty(QObject* o, const char* name)
{
    const QByteArray orig = QByteArray("prjOrig_") + name, set = QByteArray("prjSet_") + name;
    const QVariant saved = o->property(orig.constData());
    if (!saved.isValid())
        return;
    if (o->property(name) == o->property(set.constData()))
        o->setProperty(name, saved);
    o->setProperty(orig.constData(), QVariant());
    o->setProperty(set.constData(), QVariant());
}

QVariant biggerFont(const QVariant& v)
{
    QFont f = v.value<QFont>();
    if (f.pointSizeF() > 0)
        f.setPointSizeF(f.pointSizeF() * kProjectorFontScale);
    else if (f.pixelSize() > 0)
        f.setPixelSize(static_cast<int>(std::lround(f.pixelSize() * kProjectorFontScale)));
    return f;
}

QVariant thickLine(const QVariant& v)
{
    QPen p = v.value<QPen>();
    if (p.style() != Qt::NoPen)
        p.setWidthF(std::max(kProjectorMinLine, std::max(1.0, p.widthF()) * kProjectorFontScale));
    return p;
}

QVariant blackAxisPen(const QVariant& v)
{
    QPen p = v.value<QPen>();
    if (p.style() != Qt::NoPen) {
        p.setColor(Qt::black);
        p.setWidthF(2);
    }
    return p;
}

QVariant darkGridPen(const QVariant& v)
{
    QPen p = v.value<QPen>();
    if (p.style() != Qt::NoPen) {
        p.setColor(QColor(150, 150, 150));
        p.setWidthF(1.5);
    }
    return p;
}

QVariant blackColor(const QVariant&)
{
    return QColor(Qt::black);
}

QVariant biggerIcon(const QVariant& v)
{
    return v.toSize() * kProjectorFontScale;
}

// Everything of the plot a projector changes, in one walk; apply or restore.
void walkPlot(QCustomPlot* plot, bool on)
{
    auto font = [on](QObject* o, const char* name) { on ? scaleProperty(o, name, biggerFont) : restoreProperty(o, name); };
    auto prop = [on](QObject* o, const char* name, QVariant (*f)(const QVariant&)) {
        on ? scaleProperty(o, name, f) : restoreProperty(o, name);
    };
    for (QCPAxisRect* r : plot->axisRects()) {
        for (QCPAxis* a : r->axes()) {
            font(a, "labelFont");
            font(a, "tickLabelFont");
            prop(a, "basePen", blackAxisPen);
            prop(a, "tickPen", blackAxisPen);
            prop(a, "subTickPen", blackAxisPen);
            prop(a, "labelColor", blackColor);
            prop(a, "tickLabelColor", blackColor);
            prop(a->grid(), "pen", darkGridPen);
        }
    }
    font(plot->legend, "font");
    font(plot->legend, "selectedFont");
    prop(plot->legend, "iconSize", biggerIcon);
    for (int i = 0; i < plot->plotLayout()->elementCount(); ++i)
        if (auto* t = qobject_cast<QCPTextElement*>(plot->plotLayout()->elementAt(i)))
            font(t, "font");
    for (int i = 0; i < plot->plottableCount(); ++i) {
        QCPAbstractPlottable* p = plot->plottable(i);
        prop(p, "pen", thickLine);
        if (auto* g = qobject_cast<QCPGraph*>(p)) {
            // QCPScatterStyle is no QVariant type: keep its size in plain properties
            QCPScatterStyle sc = g->scatterStyle();
            const QVariant orig = g->property("prjOrigScatter");
            if (on && !sc.isNone() && !orig.isValid()) {
                g->setProperty("prjOrigScatter", sc.size());
                sc.setSize(sc.size() * 1.8);
                g->setScatterStyle(sc);
            } else if (!on && orig.isValid()) {
                sc.setSize(orig.toDouble());
                g->setScatterStyle(sc);
                g->setProperty("prjOrigScatter", QVariant());
            }
        }
    }
    for (int i = 0; i < plot->itemCount(); ++i) {
        QCPAbstractItem* it = plot->item(i);
        font(it, "font");
        prop(it, "pen", thickLine);
    }
}

} // namespace

void setPlotProjector(QCustomPlot* plot, bool on)
{
    plot->setProperty("prjOn", on);
    if (on && !plot->property("prjHooked").toBool()) {
        // what a view adds or restyles while the mode is on is scaled before it is drawn
        plot->setProperty("prjHooked", true);
        QObject::connect(plot, &QCustomPlot::beforeReplot, plot, [plot] {
            if (plot->property("prjOn").toBool())
                walkPlot(plot, true);
        });
    }
    walkPlot(plot, on);
    plot->replot(QCustomPlot::rpQueuedReplot);
}

bool plotProjector(const QCustomPlot* plot)
{
    return plot->property("prjOn").toBool();
}

QPalette projectorPalette()
{
    QPalette p;
    p.setColor(QPalette::Window, Qt::white);
    p.setColor(QPalette::WindowText, Qt::black);
    p.setColor(QPalette::Base, Qt::white);
    p.setColor(QPalette::AlternateBase, QColor(235, 235, 235));
    p.setColor(QPalette::Text, Qt::black);
    p.setColor(QPalette::Button, QColor(225, 225, 225));
    p.setColor(QPalette::ButtonText, Qt::black);
    p.setColor(QPalette::BrightText, Qt::white);
    p.setColor(QPalette::Highlight, QColor(0, 60, 190));
    p.setColor(QPalette::HighlightedText, Qt::white);
    p.setColor(QPalette::ToolTipBase, Qt::white);
    p.setColor(QPalette::ToolTipText, Qt::black);
    p.setColor(QPalette::PlaceholderText, QColor(80, 80, 80));
    p.setColor(QPalette::Disabled, QPalette::WindowText, QColor(90, 90, 90));
    p.setColor(QPalette::Disabled, QPalette::Text, QColor(90, 90, 90));
    p.setColor(QPalette::Disabled, QPalette::ButtonText, QColor(90, 90, 90));
    return p;
}

namespace {
double g_paintedFontScale = 1.0;
}

double paintedPointSize(double pt)
{
    return pt * g_paintedFontScale;
}

void setPaintedFontScale(double scale)
{
    g_paintedFontScale = scale;
}

void wrapRunList(QListWidget* list)
{
    list->setWordWrap(true);
    list->setTextElideMode(Qt::ElideNone);
    list->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    list->setResizeMode(QListView::Adjust); // wrap again at a new width
    list->setVerticalScrollMode(QAbstractItemView::ScrollPerPixel); // an entry taller than the list
}

} // namespace gpulab
