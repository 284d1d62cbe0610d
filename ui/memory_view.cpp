// MemoryView: MemAlloc/MemFree/MemOom events become one step graph per device, appended
// per drain; the sync and the async slot each keep the last run of their kind.
#include "memory_view.h"

#include "core_messages.h"
#include "lab_style.h"
#include "note_row.h"

#include <qcustomplot.h>

#include <QCheckBox>
#include <QComboBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QListWidget>
#include <QTextStream>
#include <QVBoxLayout>

#include <limits>

namespace gpulab {

namespace {
constexpr double kMiB = 1024.0 * 1024.0;
}

QString MemoryView::modeName(ExecMode m)
{
    switch (m) {
    case ExecMode::Sync: return tr("sync");
    case ExecMode::Async: return tr("async");
    case ExecMode::Bounded: return tr("bounded");
    }
    return {};
}

MemoryView::MemoryView(QWidget* parent) : LabView(parent)
{
    auto* v = new QVBoxLayout(this);
    v->setContentsMargins(4, 4, 4, 4);
    m_message = new QLabel(this);
    m_message->setObjectName(QStringLiteral("memoryMessage"));
    m_message->setWordWrap(true);
    m_message->setTextInteractionFlags(Qt::TextSelectableByMouse);
    QFont f = m_message->font();
    f.setPointSizeF(f.pointSizeF() * 1.15);
    m_message->setFont(f);
    m_message->setText(tr("Run once in sync mode and once in async or bounded mode: the two are overlaid here."));
    // the note above the controls where beside them it would be a narrow column (projector
    // mode with the control panel open on a 1024x768 screen, where it also widened the window)
    auto* noteRow = new NoteRow(m_message, this);
    noteRow->setObjectName(QStringLiteral("memoryNoteRow"));
    QHBoxLayout* row = noteRow->controls();
    m_envelopeBox = new QCheckBox(tr("Peak and low per minibatch"), this);
    m_envelopeBox->setObjectName(QStringLiteral("memoryEnvelope"));
    m_envelopeBox->setToolTip(tr("Draw each minibatch's highest and lowest bytes in use (dashed) instead of every "
                                 "allocation: legible over a long run"));
    row->addWidget(m_envelopeBox);
    connect(m_envelopeBox, &QCheckBox::toggled, this, &MemoryView::setEnvelope);
    row->addWidget(new QLabel(tr("Time axis:"), this));
    m_timeAxis = new QComboBox(this);
    m_timeAxis->setObjectName(QStringLiteral("memoryTimeAxis"));
    m_timeAxis->addItem(tr("linear"));
    m_timeAxis->addItem(tr("logarithmic"));
    m_timeAxis->setToolTip(tr("Logarithmic time shows a run that fails in a fraction of a second next to a long one"));
    row->addWidget(m_timeAxis);
    v->addWidget(noteRow);
    connect(m_timeAxis, &QComboBox::currentIndexChanged, this, [this](int i) { setLogTime(i == 1); });
    m_plot = new QCustomPlot(this);
    m_plot->setObjectName(QStringLiteral("memoryPlot"));
    addPlotTitle(m_plot, tr("Memory in use per device"));
    m_plot->xAxis->setLabel(tr("seconds since Start"));
    m_plot->yAxis->setLabel(tr("MiB in use"));
    stylePlot(m_plot);
    trackUserZoom(m_plot);
    // the runs' legend under the plot: inside, it covered the out-of-memory marker and the
    // budget's note, which both sit high on the plot
    placeLegendBelow(m_plot, 2, 1, QMargins(4, 2, 4, 2));
    // its entries (a run's settings, a recording's file) elided to the plot's width, which
    // they no longer set: in projector mode they made the window wider than a 1024 screen
    elideLegendToPlot(m_plot);
    m_plot->setMinimumWidth(160);
    connect(m_plot, &QCustomPlot::mouseDoubleClick, this, [this] { refresh(); });
    v->addWidget(m_plot, 1);
    // notes about the plot that belong on screen, not on an exported slide
    m_budgetNote = new QLabel(this);
    m_budgetNote->setObjectName(QStringLiteral("memoryBudgetNote"));
    m_budgetNote->setStyleSheet(QStringLiteral("color: #555;"));
    v->addWidget(m_budgetNote);
    m_runList = new QListWidget(this);
    m_runList->setObjectName(QStringLiteral("memoryRunList"));
    m_runList->setMaximumHeight(84);
    wrapRunList(m_runList);
    m_runList->setToolTip(tr("Tick the runs to compare; the last run of each mode is shown"));
    v->addWidget(m_runList);
    connect(m_runList, &QListWidget::itemChanged, this, [this](QListWidgetItem* item) {
        setRunShown(item->data(Qt::UserRole).toInt(), item->checkState() == Qt::Checked);
    });
}

MemoryView::~MemoryView() = default;

void MemoryView::removeSlot(Slot& s)
{
    for (QCPGraph* g : s.graphs)
        m_plot->removeGraph(g);
    for (QCPGraph* g : s.peaks)
        m_plot->removeGraph(g);
    for (QCPGraph* g : s.lows)
        m_plot->removeGraph(g);
    if (s.oom)
        m_plot->removeGraph(s.oom);
    for (QCPAbstractItem* item : {static_cast<QCPAbstractItem*>(s.oomText),
                                  static_cast<QCPAbstractItem*>(s.budgetLine),
                                  static_cast<QCPAbstractItem*>(s.budgetText)})
        if (item)
            m_plot->removeItem(item);
    delete s.item;
}

void MemoryView::initSlot(Slot& s, const RunInfo& run)
{
    const bool async = run.config.mode != ExecMode::Sync;
    s.runId = run.id;
    s.execMode = run.config.mode;
    s.async = async;
    s.label = run.label;
    s.mode = modeName(run.config.mode);
    s.modeId = QString::fromLatin1(exec_mode_name(run.config.mode));
    s.budget = run.config.memory_budget;
    const int n = run.config.devices;
    // the run's colour, as in the Training view; its devices in lighter shades
    const QColor base = run.color.isValid() ? run.color : runColor(run.id);
    for (int d = 0; d < n; ++d) {
        QCPGraph* g = m_plot->addGraph();
        g->setLineStyle(QCPGraph::lsStepLeft);
        g->setAntialiased(false);
        QColor c = d == 0 ? base : lighter(base, 0.15 + 0.45 * d / std::max(1, n - 1));
        // device 0 drawn thicker; the others thin (a thin pen is also much cheaper to draw)
        g->setPen(QPen(c, d == 0 ? 2.0 : 1.0));
        if (d == 0)
            g->setName(run.shortLabel +
                       (n > 1 ? tr("  (device 0 darkest)") : QString()));
        else
            g->removeFromLegend();
        s.graphs.push_back(g);
        // the envelope: the peak solid, the low dashed, in the device's colour
        QCPGraph* peak = m_plot->addGraph();
        peak->setPen(QPen(c, d == 0 ? 2.0 : 1.0));
        peak->setName(run.shortLabel + tr("  peak and low per minibatch"));
        if (d != 0)
            peak->removeFromLegend();
        QCPGraph* low = m_plot->addGraph();
        low->setPen(QPen(c, d == 0 ? 2.0 : 1.0, Qt::DashLine));
        low->removeFromLegend();
        s.peaks.push_back(peak);
        s.lows.push_back(low);
    }
    s.cur.assign(size_t(n), 0.0);
    s.curMax.assign(size_t(n), 0.0);
    s.curMin.assign(size_t(n), 0.0);
    s.lastKey.assign(size_t(n), 0.0);
    s.buckets.assign(size_t(n), Bucket{});
    s.committedKey.assign(size_t(n), std::numeric_limits<double>::lowest());
    s.provisional.assign(size_t(n), 0);
    s.oom = m_plot->addGraph();
    s.oom->setLineStyle(QCPGraph::lsNone);
    s.oom->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCrossCircle, QPen(Qt::black, 2.5),
                                           QBrush(QColor(255, 230, 0)), 22));
    s.oom->removeFromLegend();
    s.budgetLine = new QCPItemStraightLine(m_plot);
    s.budgetLine->setPen(QPen(base, 1.5, Qt::DashLine));
    s.budgetLine->point1->setCoords(0, s.budget / kMiB);
    s.budgetLine->point2->setCoords(1, s.budget / kMiB);
    s.budgetText = new QCPItemText(m_plot);
    s.budgetText->setPositionAlignment(Qt::AlignRight | Qt::AlignBottom);
    s.budgetText->position->setTypeX(QCPItemPosition::ptAxisRectRatio);
    s.budgetText->position->setTypeY(QCPItemPosition::ptPlotCoords);
    s.budgetText->position->setCoords(0.99, s.budget / kMiB);
    QFont f;
    f.setPointSize(11);
    s.budgetText->setFont(f);
    s.budgetText->setColor(base);
    s.budgetText->setText(tr("budget %1 per device (%2 run)").arg(formatBytes(s.budget), s.mode));
}

void MemoryView::beginRun(const RunInfo& run)
{
    // Runs are kept (the oldest dropped past a dozen); a new run hides the earlier ones of
    // its mode, so the last sync, async and bounded runs are what shows by default.
    // the same run again (a replay scrubbed back): it starts over, in its place
    if (auto it = m_runs.find(run.id); it != m_runs.end()) {
        removeSlot(*it->second);
        m_runs.erase(it);
    }
    while (m_runs.size() >= 12) {
        removeSlot(*m_runs.begin()->second);
        m_runs.erase(m_runs.begin());
    }
    auto slotPtr = std::make_unique<Slot>();
    Slot& s = *slotPtr;
    initSlot(s, run);
    applyVisibility(s); // the steps or the envelope, as the mode says
    s.item = new QListWidgetItem(run.label);
    s.item->setData(Qt::UserRole, run.id);
    s.item->setFlags(s.item->flags() | Qt::ItemIsUserCheckable);
    s.item->setForeground(s.graphs.empty() ? QColor(Qt::black) : s.graphs.front()->pen().color());
    s.item->setText(tr("#%1 (%2): %3").arg(run.id).arg(s.mode, QString::fromStdString(run.describe())));
    {
        QSignalBlocker block(m_runList);
        s.item->setCheckState(Qt::Checked);
        m_runList->addItem(s.item);
    }
    m_runList->scrollToItem(s.item);
    m_currentRun = run.id;
    m_runs[run.id] = std::move(slotPtr);
    QStringList others;
    for (auto& [id, o] : m_runs) {
        if (id == run.id)
            continue;
        if (o->execMode == run.config.mode && o->visible)
            setRunShown(id, false);
        if (o->visible)
            others << tr("#%1 (%2)").arg(id).arg(o->mode);
    }
    clearUserZoom(m_plot);
    if (!others.isEmpty())
        m_message->setText(tr("Run %1 (%2) is drawn over %3. Tick runs in the list below to compare others.")
                               .arg(run.id)
                               .arg(s.mode)
                               .arg(others.join(QStringLiteral(", "))));
    else
        m_message->setText(tr("Run %1 (%2). Run the other kind (%3) to overlay it here.")
                               .arg(run.id)
                               .arg(s.mode)
                               .arg(s.async ? tr("sync") : tr("async or bounded")));
    m_message->setStyleSheet(QString());
}

void MemoryView::consume(const std::vector<Event>& events, const RunInfo& run)
{
    Slot* sp = slot(run.id);
    if (!sp)
        return;
    Slot& s = *sp;
    const int n = static_cast<int>(s.graphs.size());
    std::vector<QVector<double>> keys(static_cast<size_t>(n)), values(static_cast<size_t>(n));
    bool memory = false;
    for (const Event& e : events)
        if (e.is<ev::MemAlloc>() || e.is<ev::MemFree>()) {
            memory = true;
            break;
        }
    // the open buckets' points drawn at the last drain: taken back, the buckets go on
    for (int d = 0; memory && d < n; ++d)
        if (s.provisional[size_t(d)]) {
            s.graphs[size_t(d)]->data()->removeAfter(s.committedKey[size_t(d)]);
            s.provisional[size_t(d)] = 0;
        }
    for (const Event& e : events) {
        if (e.is<ev::MinibatchLoss>()) {
            // a minibatch ended: its peak and low per device, then the next one starts here
            const double t = e.t_us / 1e6;
            for (int d = 0; d < n; ++d) {
                s.peaks[size_t(d)]->addData(t, s.curMax[size_t(d)]);
                s.lows[size_t(d)]->addData(t, s.curMin[size_t(d)]);
                s.curMax[size_t(d)] = s.curMin[size_t(d)] = s.cur[size_t(d)];
            }
            continue;
        }
        const auto* alloc = e.get<ev::MemAlloc>();
        const auto* freed = e.get<ev::MemFree>();
        const auto* oom = e.get<ev::MemOom>();
        if (!alloc && !freed && !oom)
            continue;
        if (e.device < 0 || e.device >= n)
            continue;
        ++m_received;
        const double t = std::max(e.t_us / 1e6, s.lastKey[size_t(e.device)]);
        if (oom) {
            // mark where the request would have taken the device
            s.oom->addData(t, (oom->in_use + oom->bytes) / kMiB);
            if (!s.oomText) {
                s.oomT = t;
                s.oomDevice = e.device;
                s.oomText = new QCPItemText(m_plot);
                s.oomText->setPositionAlignment(Qt::AlignRight | Qt::AlignTop);
                s.oomText->position->setCoords(t, (oom->in_use + oom->bytes) / kMiB);
                QFont f;
                f.setPointSize(12);
                f.setBold(true);
                s.oomText->setFont(f);
                s.oomText->setColor(QColor(176, 0, 32));
                s.oomText->setBrush(QBrush(QColor(255, 255, 255, 230)));
                s.oomText->setPadding(QMargins(6, 4, 6, 4));
                s.oomText->setPen(QPen(QColor(176, 0, 32)));
                s.oomText->setText(tr("out of memory on device %1\nasked for %2 with %3 in use")
                                       .arg(e.device)
                                       .arg(formatBytes(oom->bytes), formatBytes(oom->in_use)));
            }
            continue;
        }
        // A full epoch makes hundreds of thousands of allocations per device: within
        // each 5 ms, keep the first, the highest and the last point (peaks stay exact).
        Bucket& b = s.buckets[size_t(e.device)];
        const double v = (alloc ? alloc->in_use : freed->in_use) / kMiB;
        s.cur[size_t(e.device)] = v;
        s.curMax[size_t(e.device)] = std::max(s.curMax[size_t(e.device)], v);
        s.curMin[size_t(e.device)] = std::min(s.curMin[size_t(e.device)], v);
        if (b.count > 0 && t - b.start >= kBucketSeconds)
            flushBucket(b, keys[size_t(e.device)], values[size_t(e.device)]);
        if (b.count == 0) {
            b.start = t;
            b.firstV = v;
            b.maxT = t;
            b.maxV = v;
        } else if (v > b.maxV) {
            b.maxT = t;
            b.maxV = v;
        }
        b.lastT = t;
        b.lastV = v;
        ++b.count;
        s.lastKey[size_t(e.device)] = t;
        m_maxT = std::max(m_maxT, t);
    }
    // What arrived in this drain is drawn now, not with the next one: the closed buckets for
    // good, the open one provisionally (its points as if it closed now). The next drain takes
    // those back and fills the bucket on, so the curve (and memory.csv) is the same however
    // the events were split into drains: a live run's ticks or a replay's.
    for (int d = 0; memory && d < n; ++d) {
        QVector<double>& k = keys[size_t(d)];
        QVector<double>& v = values[size_t(d)];
        if (!k.isEmpty())
            s.committedKey[size_t(d)] = k.back();
        Bucket open = s.buckets[size_t(d)];
        if (open.count > 0) {
            flushBucket(open, k, v);
            s.provisional[size_t(d)] = 1;
        }
        if (!k.isEmpty())
            s.graphs[size_t(d)]->addData(k, v, true);
    }
}

void MemoryView::flushBucket(Bucket& b, QVector<double>& keys, QVector<double>& values)
{
    if (b.count == 0)
        return;
    if (b.start < b.maxT) {
        keys.push_back(b.start);
        values.push_back(b.firstV);
    }
    if (b.maxT < b.lastT) {
        keys.push_back(b.maxT);
        values.push_back(b.maxV);
    }
    keys.push_back(b.lastT);
    values.push_back(b.lastV);
    b.count = 0;
}

void MemoryView::endRun(const RunInfo& run, const RunResult& result)
{
    Slot* s = slot(run.id);
    if (!s)
        return;
    if (result.status != RunStatus::Completed)
        s->item->setText(s->item->text() + QStringLiteral("  (") +
                         (result.out_of_memory ? tr("out of memory")
                          : result.status == RunStatus::Cancelled ? tr("stopped") : tr("failed")) +
                         QLatin1Char(')'));
    if (result.status == RunStatus::Failed) {
        m_message->setText(tr("Run %1 failed: %2").arg(run.id).arg(coreMessage(result.error)));
        m_message->setStyleSheet(QStringLiteral("color: #b00020;"));
    } else {
        qint64 peak = 0;
        for (qint64 p : result.peak_bytes)
            peak = std::max(peak, p);
        m_message->setText(m_message->text() + QLatin1Char(' ') +
                           tr("Run %1 peaked at %2 on one device.").arg(run.id).arg(formatBytes(peak)));
    }
}

void MemoryView::refresh()
{
    std::vector<Slot*> shown;
    for (auto& [id, sp] : m_runs)
        if (sp->visible)
            shown.push_back(sp.get());
    if (!userZoomed(m_plot)) {
        double maxT = 0.1, maxY = 1;
        for (Slot* s : shown) {
            for (QCPGraph* g : s->graphs) {
                bool ok = false;
                const QCPRange k = g->getKeyRange(ok);
                if (ok)
                    maxT = std::max(maxT, k.upper);
                const QCPRange v = g->getValueRange(ok);
                if (ok)
                    maxY = std::max(maxY, v.upper);
            }
            if (s->oom && !s->oom->data()->isEmpty()) {
                maxT = std::max(maxT, s->oom->data()->constBegin()->key);
                maxY = std::max(maxY, s->oom->data()->constBegin()->value);
            }
        }
        // show the budget when the curves come near it (or ran into it)
        for (Slot* s : shown)
            if (s->budget / kMiB < maxY * 1.6)
                maxY = std::max(maxY, s->budget / kMiB);
        if (m_logTime)
            m_plot->xAxis->setRange(1e-3, std::max(0.01, maxT * 1.2));
        else
            m_plot->xAxis->setRange(0, maxT * 1.03);
        m_plot->yAxis->setRange(0, maxY * 1.12);
    }
    // The budget lines' notes: one note per budget, naming the runs that had it; a budget
    // far above the curves is named under the plot instead (it stays off exported slides).
    const double top = m_plot->yAxis->range().upper;
    QStringList offScale;
    std::map<qint64, std::vector<Slot*>> byBudget;
    for (Slot* s : shown)
        byBudget[s->budget].push_back(s);
    for (auto& [id, sp] : m_runs)
        if (sp->budgetText)
            sp->budgetText->setVisible(false);
    for (auto& [budget, group] : byBudget) {
        QString who;
        if (group.size() == 1) {
            who = tr("%1 run").arg(group.front()->mode);
        } else if (group.size() == shown.size()) {
            who = group.size() == 2 ? tr("both runs") : tr("all runs shown");
        } else {
            QStringList ids;
            for (Slot* s : group)
                ids << QStringLiteral("#%1").arg(s->runId);
            who = tr("runs %1").arg(ids.join(QStringLiteral(", ")));
        }
        Slot* s = group.back();
        const double b = budget / kMiB;
        if (b > top) {
            offScale << tr("budget %1 per device (%2) is above the plot").arg(formatBytes(budget), who);
            continue;
        }
        s->budgetText->setVisible(true);
        // under its line: above it, the legend (top left, as wide as the labels) may reach
        s->budgetText->setPositionAlignment(Qt::AlignRight | Qt::AlignTop);
        s->budgetText->position->setCoords(0.99, b);
        s->budgetText->setText(tr("budget %1 per device (%2)").arg(formatBytes(budget), who));
    }
    m_budgetNote->setText(offScale.join(QStringLiteral("; ")));
    // the out-of-memory note sits beside its marker, on the side that has room, and a
    // little below the budget line so that it never covers the budget's own note
    const QCPRange xr = m_plot->xAxis->range();
    const QCPRange yr = m_plot->yAxis->range();
    for (Slot* s : shown) {
        if (!s->oomText || !s->oom || s->oom->data()->isEmpty())
            continue;
        const bool leftHalf = m_logTime ? s->oomT < std::sqrt(xr.lower * xr.upper) : s->oomT < xr.center();
        s->oomText->setPositionAlignment((leftHalf ? Qt::AlignLeft : Qt::AlignRight) | Qt::AlignTop);
        const double nudge = m_logTime ? (leftHalf ? 1.08 : 1 / 1.08) : 1.0;
        const double y = std::min(s->oom->data()->constBegin()->value, s->budget / kMiB) - 0.05 * yr.size();
        s->oomText->position->setCoords(m_logTime ? s->oomT * nudge
                                                  : s->oomT + (leftHalf ? 1 : -1) * xr.size() * 0.015,
                                        y);
    }
    updateLegend(m_plot);
    m_plot->replot(QCustomPlot::rpQueuedReplot);
}

MemoryView::Slot* MemoryView::slot(int runId) const
{
    auto it = m_runs.find(runId);
    return it == m_runs.end() ? nullptr : it->second.get();
}

void MemoryView::applyVisibility(Slot& s)
{
    for (QCPGraph* g : s.graphs)
        g->setVisible(s.visible && !m_envelope);
    for (QCPGraph* g : s.peaks)
        g->setVisible(s.visible && m_envelope);
    for (QCPGraph* g : s.lows)
        g->setVisible(s.visible && m_envelope);
    if (!s.graphs.empty()) {
        if (s.visible && !m_envelope)
            s.graphs.front()->addToLegend();
        else
            s.graphs.front()->removeFromLegend();
    }
    if (!s.peaks.empty()) {
        if (s.visible && m_envelope)
            s.peaks.front()->addToLegend();
        else
            s.peaks.front()->removeFromLegend();
    }
    if (s.oom)
        s.oom->setVisible(s.visible);
    if (s.oomText)
        s.oomText->setVisible(s.visible);
    if (s.budgetLine)
        s.budgetLine->setVisible(s.visible);
    if (s.budgetText && !s.visible)
        s.budgetText->setVisible(false);
}

void MemoryView::setEnvelope(bool on)
{
    if (m_envelopeBox && m_envelopeBox->isChecked() != on) {
        m_envelopeBox->setChecked(on); // comes back here through toggled
        return;
    }
    m_envelope = on;
    for (auto& [id, s] : m_runs)
        applyVisibility(*s);
    updateLegend(m_plot);
    refresh();
}

int MemoryView::envelopePoints(int runId, int device) const
{
    const Slot* s = slot(runId);
    if (!s || device < 0 || device >= static_cast<int>(s->peaks.size()))
        return -1;
    return s->peaks[size_t(device)]->dataCount();
}

bool MemoryView::runShown(int runId) const
{
    const Slot* s = slot(runId);
    return s && s->visible;
}

void MemoryView::setRunShown(int runId, bool shown)
{
    Slot* s = slot(runId);
    if (!s || s->visible == shown)
        return;
    s->visible = shown;
    applyVisibility(*s);
    const Qt::CheckState want = shown ? Qt::Checked : Qt::Unchecked;
    if (s->item->checkState() != want) {
        QSignalBlocker block(m_runList);
        s->item->setCheckState(want);
    }
    clearUserZoom(m_plot);
    refresh();
}

QString MemoryView::runLabel(int runId) const
{
    const Slot* s = slot(runId);
    return s && !s->graphs.empty() ? s->graphs.front()->name() : QString();
}

void MemoryView::setLogTime(bool on)
{
    m_logTime = on;
    if (m_timeAxis->currentIndex() != (on ? 1 : 0))
        m_timeAxis->setCurrentIndex(on ? 1 : 0);
    if (on) {
        m_plot->xAxis->setScaleType(QCPAxis::stLogarithmic);
        m_plot->xAxis->setTicker(QSharedPointer<QCPAxisTickerLog>(new QCPAxisTickerLog));
    } else {
        m_plot->xAxis->setScaleType(QCPAxis::stLinear);
        m_plot->xAxis->setTicker(QSharedPointer<QCPAxisTicker>(new QCPAxisTicker));
    }
    clearUserZoom(m_plot);
    refresh();
}

bool MemoryView::hasOutOfMemoryMark() const
{
    for (const auto& [id, s] : m_runs)
        if (s->visible && s->oom && !s->oom->data()->isEmpty())
            return true;
    return false;
}

int MemoryView::slotRunId(bool sync) const
{
    for (auto it = m_runs.rbegin(); it != m_runs.rend(); ++it)
        if (it->second->visible && it->second->async != sync)
            return it->first;
    return 0;
}

QList<PlotItem> MemoryView::plots() const
{
    return {{QStringLiteral("memory"), m_plot, nullptr}};
}

QList<CsvTable> MemoryView::csvTables() const
{
    QList<CsvTable> t;
    t.append({QStringLiteral("memory"), QStringLiteral("run,mode,device,t_s,in_use_bytes,event"),
              [this](QTextStream& out) {
                  for (const auto& [id, sp] : m_runs) {
                      const Slot* s = sp.get();
                      if (!s->visible) // what the plot shows
                          continue;
                      const QString mode = s->modeId;
                      for (size_t d = 0; d < s->graphs.size(); ++d)
                          for (auto it = s->graphs[d]->data()->constBegin();
                               it != s->graphs[d]->data()->constEnd(); ++it)
                              out << s->runId << ',' << mode << ',' << d << ',' << it->key << ','
                                  << qint64(it->value * kMiB + 0.5) << ",in_use\n";
                      if (s->oom)
                          for (auto it = s->oom->data()->constBegin(); it != s->oom->data()->constEnd(); ++it)
                              out << s->runId << ',' << mode << ',' << s->oomDevice << ',' << it->key << ','
                                  << qint64(it->value * kMiB + 0.5) << ",out_of_memory\n";
                  }
              }});
    return t;
}

} // namespace gpulab
