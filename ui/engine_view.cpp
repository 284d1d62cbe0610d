// EngineView: Push and Op events as a timeline. Each device row has one step graph per
// op kind (busy = raised, filled down to the row's baseline), appended per drain.
#include "engine_view.h"

#include "lab_style.h"
#include "note_row.h"

#include <qcustomplot.h>

#include <QComboBox>
#include <QFontMetrics>

#include <algorithm>
#include <QHBoxLayout>
#include <QLabel>
#include <QTextStream>
#include <QVBoxLayout>

namespace gpulab {

namespace {

constexpr double kRowHeight = 0.8;
// Pushes are black: the devices' colours would read as the op kinds' (device 0 and
// forward are both blue, device 1 and backward both orange). Their height says the device.
const QColor kPushColor(30, 30, 30);
constexpr int CategoryCountLocal = 5; // EngineView::CategoryCount

QColor categoryColor(int c)
{
    switch (c) {
    case EngineView::Forward: return QColor(31, 119, 180);
    case EngineView::Backward: return QColor(255, 127, 14);
    case EngineView::Allreduce: return QColor(148, 103, 189);
    case EngineView::Sgd: return QColor(44, 160, 44);
    default: return QColor(150, 150, 150);
    }
}

QString categoryName(int c)
{
    switch (c) {
    case EngineView::Forward: return EngineView::tr("forward");
    case EngineView::Backward: return EngineView::tr("backward");
    case EngineView::Allreduce: return EngineView::tr("allreduce");
    case EngineView::Sgd: return EngineView::tr("SGD");
    default: return EngineView::tr("other");
    }
}

bool startsWith(const std::string& s, const char* prefix)
{
    return s.rfind(prefix, 0) == 0;
}

// Draws the timeline's spans and pushes as solid rectangles and ticks, merging what
// falls into one pixel: the cost stays bounded by the plot's width, however long the run.
class SpanPlottable : public QCPAbstractPlottable {
public:
    SpanPlottable(QCPAxis* key, QCPAxis* value, const EngineView::Timeline* line)
        : QCPAbstractPlottable(key, value), m_line(line)
    {
    }
    void setTimeline(const EngineView::Timeline* line) { m_line = line; }
    double selectTest(const QPointF&, bool, QVariant* = nullptr) const override { return -1; }
    QCPRange getKeyRange(bool& found, QCP::SignDomain = QCP::sdBoth) const override
    {
        found = false;
        QCPRange r;
        for (const auto& row : m_line->spans)
            if (!row.empty()) {
                r = found ? QCPRange(std::min(r.lower, row.front().t0), std::max(r.upper, row.back().t1))
                          : QCPRange(row.front().t0, row.back().t1);
                found = true;
            }
        return r;
    }
    QCPRange getValueRange(bool& found, QCP::SignDomain = QCP::sdBoth, const QCPRange& = QCPRange()) const override
    {
        found = true;
        return QCPRange(0, m_line->devices + 1);
    }

protected:
    void draw(QCPPainter* p) override
    {
        QCPAxis* kx = keyAxis();
        QCPAxis* vy = valueAxis();
        if (!kx || !vy)
            return;
        const QCPRange kr = kx->range();
        const int n = m_line->devices;
        p->setRenderHint(QPainter::Antialiasing, false);
        // rectangles gathered per kind and drawn with one call each: far cheaper than
        // one fillRect per span
        std::vector<QVector<QRectF>> rects(CategoryCountLocal);
        for (int d = 0; d < n; ++d) {
            const double base = n - 1 - d;
            const double yTop = vy->coordToPixel(base + kRowHeight), yBot = vy->coordToPixel(base);
            const double top = std::min(yTop, yBot), h = std::fabs(yBot - yTop);
            const auto& row = m_line->spans[size_t(d)];
            // the first span that ends inside the visible range (t1 is sorted too)
            auto it = std::lower_bound(row.begin(), row.end(), kr.lower,
                                       [](const EngineView::Span& s, double t) { return s.t1 < t; });
            double px0 = 0, px1 = -1;
            int cat = -1;
            auto flush = [&] {
                if (cat >= 0)
                    rects[size_t(cat)].push_back(QRectF(px0, top, std::max(1.0, px1 - px0), h));
                cat = -1;
            };
            auto addRect = [&](double a, double b, int c) {
                if (cat == c && a <= px1 + 0.5) {
                    px1 = std::max(px1, b); // same kind touching: one rectangle
                    return;
                }
                flush();
                px0 = a;
                px1 = b;
                cat = c;
            };
            // Spans thinner than a pixel are pooled per pixel column, which takes the colour
            // of the kind that had most of its time. (Merging them into the rectangle before
            // them gave a whole busy stretch that rectangle's colour: at whole-run zoom an
            // allreduce of a millisecond became a block of seconds.)
            double column = -1e300;
            double share[CategoryCountLocal] = {};
            auto flushColumn = [&] {
                int best = -1;
                for (int c = 0; c < CategoryCountLocal; ++c)
                    if (share[c] > 0 && (best < 0 || share[c] > share[best]))
                        best = c;
                if (best >= 0)
                    addRect(column, column + 1, best);
                std::fill(std::begin(share), std::end(share), 0.0);
            };
            for (; it != row.end() && it->t0 <= kr.upper; ++it) {
                const double x0 = kx->coordToPixel(it->t0), x1 = kx->coordToPixel(it->t1);
                if (x1 - x0 < 1.0) {
                    const double col = std::floor(x0);
                    if (col != column) {
                        flushColumn();
                        column = col;
                    }
                    if (it->category >= 0 && it->category < CategoryCountLocal)
                        share[it->category] += it->t1 - it->t0;
                    continue;
                }
                flushColumn();
                addRect(x0, x1, it->category);
            }
            flushColumn();
            flush();
        }
        p->setPen(Qt::NoPen);
        for (int c = 0; c < CategoryCountLocal; ++c) {
            if (rects[size_t(c)].isEmpty())
                continue;
            p->setBrush(categoryColor(c));
            p->drawRects(rects[size_t(c)].constData(), int(rects[size_t(c)].size()));
        }
        p->setBrush(Qt::NoBrush);
        // pushes: a tick per push in the front-end row, raised by target device
        const double feBase = n;
        for (int d = 0; d < n; ++d) {
            const double frac = n > 1 ? double(d) / (n - 1) : 0.5;
            const double yc = vy->coordToPixel(feBase + 0.12 + 0.56 * frac);
            const double half = std::max(3.0, std::fabs(vy->coordToPixel(0) - vy->coordToPixel(0.8)) / (2.5 * std::max(2, n)));
            p->setPen(QPen(kPushColor, 2));
            const auto& ts = m_line->pushes[size_t(d)];
            auto it = std::lower_bound(ts.begin(), ts.end(), kr.lower);
            double lastPx = -10;
            QVector<QLineF> ticks;
            for (; it != ts.end() && *it <= kr.upper; ++it) {
                const double x = kx->coordToPixel(*it);
                if (x - lastPx < 2.0)
                    continue; // one tick per two pixels is all the eye can tell apart
                ticks.push_back(QLineF(x, yc - half, x, yc + half));
                lastPx = x;
            }
            if (!ticks.isEmpty())
                p->drawLines(ticks.constData(), int(ticks.size()));
        }
        // the rows' baselines
        p->setPen(QPen(QColor(190, 190, 190), 1));
        const double xl = kx->coordToPixel(kr.lower), xr = kx->coordToPixel(kr.upper);
        for (int d = -1; d < n; ++d) {
            const double yb = vy->coordToPixel(d < 0 ? n : n - 1 - d);
            p->drawLine(QLineF(xl, yb, xr, yb));
        }
    }
    void drawLegendIcon(QCPPainter*, const QRectF&) const override {}

private:
    const EngineView::Timeline* m_line;
};

} // namespace

EngineView::Category EngineView::categoryOf(const std::string& n)
{
    if (n.find("_bwd") != std::string::npos || startsWith(n, "zero_grad"))
        return Backward;
    if (startsWith(n, "reduce") || startsWith(n, "broadcast") || startsWith(n, "all-gather") ||
        startsWith(n, "ring") || startsWith(n, "nccl"))
        return Allreduce;
    if (startsWith(n, "sgd"))
        return Sgd;
    if (n.find("_fwd") != std::string::npos || startsWith(n, "load_shard") ||
        startsWith(n, "softmax") || startsWith(n, "zero_loss"))
        return Forward;
    return Other;
}

EngineView::EngineView(QWidget* parent) : LabView(parent)
{
    auto* v = new QVBoxLayout(this);
    v->setContentsMargins(4, 4, 4, 4);
    m_note = new QLabel(this);
    setNote(false);
    m_note->setWordWrap(true);
    // the note above the controls where beside them it would be a narrow column, taking the
    // plot's height (projector mode with the control panel open on a 1024x768 screen)
    auto* noteRow = new NoteRow(m_note, this);
    noteRow->setObjectName(QStringLiteral("engineNoteRow"));
    QHBoxLayout* bar = noteRow->controls();
    bar->addWidget(new QLabel(tr("Show:"), this));
    m_windowBox = new QComboBox(this);
    m_windowBox->setObjectName(QStringLiteral("engineWindowCombo"));
    m_windowBox->addItem(tr("last 0.5 s"), 0.5);
    m_windowBox->addItem(tr("last 2 s"), 2.0);
    m_windowBox->addItem(tr("last 10 s"), 10.0);
    m_windowBox->addItem(tr("the whole run"), 0.0);
    m_windowBox->setCurrentIndex(1);
    bar->addWidget(m_windowBox);
    m_runBox = new QComboBox(this);
    m_runBox->setObjectName(QStringLiteral("engineRunCombo"));
    m_runBox->setToolTip(tr("Show an earlier run's time line: sync against async, naive against ring"));
    m_runBox->setSizeAdjustPolicy(QComboBox::AdjustToContents);
    m_runBox->setMaximumWidth(260);
    m_runBox->setEnabled(false);
    bar->addWidget(m_runBox);
    v->addWidget(noteRow);

    m_plot = new QCustomPlot(this);
    m_plot->setObjectName(QStringLiteral("enginePlot"));
    addPlotTitle(m_plot, tr("Front end and device workers"));
    m_timeline = m_plot->axisRect();
    m_queue = new QCPAxisRect(m_plot);
    m_plot->plotLayout()->addElement(2, 0, m_queue);
    m_plot->plotLayout()->setRowStretchFactor(1, 3.0);
    m_plot->plotLayout()->setRowStretchFactor(2, 1.0);
    auto* margins = new QCPMarginGroup(m_plot);
    m_timeline->setMarginGroup(QCP::msLeft | QCP::msRight, margins);
    m_queue->setMarginGroup(QCP::msLeft | QCP::msRight, margins);
    m_queue->axis(QCPAxis::atBottom)->setLabel(tr("seconds since Start"));
    m_queue->axis(QCPAxis::atLeft)->setLabel(tr("ops queued"));
    m_timeline->axis(QCPAxis::atBottom)->setTickLabels(false);
    connect(m_timeline->axis(QCPAxis::atBottom), qOverload<const QCPRange&>(&QCPAxis::rangeChanged),
            m_queue->axis(QCPAxis::atBottom), qOverload<const QCPRange&>(&QCPAxis::setRange));
    connect(m_queue->axis(QCPAxis::atBottom), qOverload<const QCPRange&>(&QCPAxis::rangeChanged),
            m_timeline->axis(QCPAxis::atBottom), qOverload<const QCPRange&>(&QCPAxis::setRange));
    for (QCPAxisRect* r : {m_timeline, m_queue}) {
        r->setRangeDrag(Qt::Horizontal);
        r->setRangeZoom(Qt::Horizontal);
    }
    stylePlot(m_plot);
    trackUserZoom(m_plot);
    connect(m_plot, &QCustomPlot::beforeReplot, this, [this] { // at the plot's new size
        fitTitle();
        fitQueueRect();
    });

    // the legend (op kinds) below the plot, in one row
    placeLegendBelow(m_plot, 3, 7, QMargins(6, 2, 6, 2)); // empty until a run begins
    fitLegendBelowToWidth(m_plot); // in two rows or more where one is too wide (projector mode)
    // A least height of its own: QCustomPlot's is its layout's at the last replot, which a
    // hidden view keeps from when its legend was in more rows on a narrow plot, and which
    // kept the window taller than a 1024x768 screen in projector mode
    fitPlotLeast();
    v->addWidget(m_plot, 1);

    connect(m_windowBox, &QComboBox::currentIndexChanged, this, [this] {
        m_window = m_windowBox->currentData().toDouble();
        clearUserZoom(m_plot);
        refresh();
    });
    connect(m_runBox, &QComboBox::activated, this, [this] { showRun(m_runBox->currentData().toInt()); });
    connect(m_plot, &QCustomPlot::mouseDoubleClick, this, [this] { refresh(); });
    previewSettings(TrainConfig{});
}

EngineView::~EngineView() = default;

void EngineView::previewSettings(const TrainConfig& config)
{
    if (m_queued)
        return; // a run has begun: its timeline stays
    setRows(config.devices);
    m_timeline->axis(QCPAxis::atBottom)->setRange(0, m_window > 0 ? m_window : 1.0);
    m_queue->axis(QCPAxis::atLeft)->setRange(0, 1.0);
    m_plot->replot(QCustomPlot::rpQueuedReplot);
}

void EngineView::setRows(int devices)
{
    m_devices = devices;
    QCPAxis* y = m_timeline->axis(QCPAxis::atLeft);
    QSharedPointer<QCPAxisTickerText> ticker(new QCPAxisTickerText);
    const bool ranks = int(m_deviceRanks.size()) == m_devices && m_devices > 0 &&
                       *std::max_element(m_deviceRanks.begin(), m_deviceRanks.end()) > 0;
    m_rowNames.clear();
    // every rank's front end pushes onto the one row (each push's height says its device)
    m_rowNames << (ranks ? tr("front ends") : tr("front end"));
    for (int d = 0; d < m_devices; ++d)
        m_rowNames << (ranks ? tr("rank %1 · device %2").arg(m_deviceRanks[size_t(d)]).arg(d) : tr("device %1").arg(d));
    ticker->addTick(rowBase(-1) + kRowHeight / 2, m_rowNames.front());
    for (int d = 0; d < m_devices; ++d)
        ticker->addTick(rowBase(d) + kRowHeight / 2, m_rowNames[d + 1]);
    y->setTicker(ticker);
    y->setSubTicks(false);
    y->setTickLength(0, 0);
    y->grid()->setVisible(false);
    y->setRange(-0.15, m_devices + 1);
}

void EngineView::growRows(int devices)
{
    // the job's devices, numbered globally (rank 0's first): rows for all of them; what was
    // drawn stays, as rows keep their device's place from the top
    setRows(devices);
    m_line.devices = devices;
    m_line.spans.resize(size_t(devices));
    m_line.pushes.resize(size_t(devices));
}

QStringList EngineView::rowNames() const
{
    return m_rowNames;
}

void EngineView::setWindow(double seconds)
{
    for (int i = 0; i < m_windowBox->count(); ++i)
        if (qFuzzyCompare(m_windowBox->itemData(i).toDouble() + 1, seconds + 1))
            m_windowBox->setCurrentIndex(i);
}

double EngineView::rowBase(int device) const
{
    // front end on top, then device 0, 1, ... downwards
    return device < 0 ? m_devices : m_devices - 1 - device;
}

int EngineView::intern(const std::string& name)
{
    const QString q = QString::fromStdString(name);
    auto it = m_nameIds.constFind(q);
    if (it != m_nameIds.constEnd())
        return it.value();
    m_names.append(q);
    m_nameIds.insert(q, m_names.size() - 1);
    return m_names.size() - 1;
}

// On a GPU a worker's op returns once its kernels are queued: the blocks are the host's
// time to queue them, and the waits for the GPU show as read-backs.
void EngineView::setNote(bool gpu)
{
    m_note->setText(gpu ? tr("Each row is one worker. Ticks in the front-end row are pushes (black, one line per target "
                             "device, device 0 lowest); the blocks are the time each worker took to queue an op's kernels on its GPU "
                             "(the GPU runs them later); waiting for the GPU shows as \"readbacks\" (other).")
                        : tr("Each row is one worker. Ticks in the front-end row are pushes (black, one line per target "
                             "device, device 0 lowest); the blocks are ops running on the devices; \"other\" is read-backs and "
                             "evaluation."));
}

void EngineView::beginRun(const RunInfo& run)
{
    setNote(run.config.backend == Backend::Cuda);
    m_shownRun = 0;
    m_latestRun = run.id;
    m_queuedOther = nullptr; // removed with the plottables below
    m_runBox->setEnabled(false);
    setTitleRun(run.id);
    m_plot->clearPlottables();
    m_allreduceSwatch = nullptr;
    m_plot->legend->clearItems();
    m_ops.clear();
    m_pushes.clear();
    m_names.clear();
    m_nameIds.clear();
    m_depth = 0;
    m_lastQueueKey = 0;
    m_lastPushKey = 0;
    m_tEnd = 0;
    m_running = true;
    m_deviceRanks.clear();
    setRows(run.config.devices);
    m_line = Timeline{};
    m_line.devices = m_devices;
    m_line.spans.assign(size_t(m_devices), {});
    m_line.pushes.assign(size_t(m_devices), {});
    clearUserZoom(m_plot);

    QCPAxis* x = m_timeline->axis(QCPAxis::atBottom);
    QCPAxis* y = m_timeline->axis(QCPAxis::atLeft);

    m_spans = new SpanPlottable(x, y, &m_line);
    m_spans->removeFromLegend();
    // legend entries for the op kinds and the pushes (empty graphs carry the swatches)
    m_allreduceModelled = !run.config.link.none();
    for (int c = 0; c < CategoryCount; ++c) {
        QCPGraph* g = m_plot->addGraph(x, y);
        g->setPen(QPen(categoryColor(c), 1));
        g->setBrush(QBrush(categoryColor(c)));
        g->setName(categoryName(c));
        // a link model sets the allreduce's time (and, scaled, its bytes): said in the legend,
        // briefly (one row holds every kind); the run's label names the link
        if (c == Allreduce) {
            m_allreduceSwatch = g;
            if (m_allreduceModelled)
                g->setName(tr("allreduce (modelled)"));
        }
    }
    QCPGraph* push = m_plot->addGraph(x, y);
    push->setPen(QPen(kPushColor, 2));
    push->setName(tr("push (one line per device)"));

    m_queued = m_plot->addGraph(m_queue->axis(QCPAxis::atBottom), m_queue->axis(QCPAxis::atLeft));
    m_queued->setLineStyle(QCPGraph::lsStepLeft);
    m_queued->setPen(QPen(QColor(60, 60, 60), 1));
    m_queued->setBrush(QBrush(QColor(210, 210, 210)));
    m_queued->setName(tr("ops queued"));
    m_queued->addData(0, 0);
    updateLegend(m_plot);
}

void EngineView::consume(const std::vector<Event>& events, const RunInfo& run)
{
    Q_UNUSED(run);
    if (!m_queued)
        return;
    QVector<double> qk, qv;
    for (const Event& e : events) {
        if (const auto* begin = e.get<ev::RunBegin>()) {
            m_deviceRanks = begin->device_ranks;
            if (begin->devices > m_devices || !m_deviceRanks.empty())
                growRows(std::max(begin->devices, m_devices));
            continue;
        }
        if (const auto* step = e.get<ev::AllreduceStep>(); step && step->modelled && !m_allreduceModelled) {
            // the steps say their time is the link model's (a recording made with a link)
            m_allreduceModelled = true;
            if (m_allreduceSwatch) {
                m_allreduceSwatch->setName(tr("allreduce (modelled)"));
                updateLegend(m_plot);
            }
        }
        if (const auto* push = e.get<ev::Push>()) {
            if (e.device < 0 || e.device >= m_devices)
                continue;
            const double t = std::max(e.t_us / 1e6, m_lastPushKey);
            m_lastPushKey = t;
            m_pushes.push_back({t, e.device, intern(push->op)});
            m_line.pushes[size_t(e.device)].push_back(t);
            ++m_depth;
            m_lastQueueKey = std::max(m_lastQueueKey, t);
            qk.push_back(m_lastQueueKey);
            qv.push_back(double(m_depth));
            m_tEnd = std::max(m_tEnd, t);
            ++m_received;
        } else if (const auto* op = e.get<ev::Op>()) {
            if (e.device < 0 || e.device >= m_devices)
                continue;
            auto& row = m_line.spans[size_t(e.device)];
            // one worker per device: its ops come in order; keep them sorted regardless
            const double last = row.empty() ? 0.0 : row.back().t1;
            const double t0 = std::max(e.t_us / 1e6, last);
            const double t1 = std::max(op->t_end_us / 1e6, t0);
            row.push_back({t0, t1, categoryOf(op->op)});
            m_ops.push_back({t0, t1, e.device, intern(op->op)});
            m_depth = std::max<qint64>(0, m_depth - 1);
            m_lastQueueKey = std::max(m_lastQueueKey, t1);
            qk.push_back(m_lastQueueKey);
            qv.push_back(double(m_depth));
            m_tEnd = std::max(m_tEnd, t1);
            ++m_received;
        }
    }
    // The queue's curve keeps one point per millisecond (the latest count in it): a
    // point per event made its filled outline the most expensive part of a replot.
    constexpr double kQueueStep = 1e-3;
    auto data = m_queued->data();
    QVector<double> ck, cv;
    double lastKey = data->isEmpty() ? -1.0 : (data->constEnd() - 1)->key;
    for (int i = 0; i < qk.size(); ++i) {
        if (qk[i] - lastKey < kQueueStep) {
            if (!cv.isEmpty())
                cv.back() = qv[i];
            else if (!data->isEmpty())
                (data->end() - 1)->value = qv[i];
            continue;
        }
        ck.push_back(qk[i]);
        cv.push_back(qv[i]);
        lastKey = qk[i];
    }
    if (!ck.isEmpty())
        m_queued->addData(ck, cv, true);
}

void EngineView::endRun(const RunInfo& run, const RunResult& result)
{
    Q_UNUSED(run);
    Q_UNUSED(result);
    m_running = false;
    // ops dropped by a stop or an error never run: the queue is empty now
    if (m_queued && m_depth > 0) {
        m_depth = 0;
        m_queued->addData(m_lastQueueKey, 0);
    }
    if (!m_queued)
        return;
    SavedRun saved{run.id, run.shortLabel, m_line, {}, {}, m_tEnd};
    for (auto it = m_queued->data()->constBegin(); it != m_queued->data()->constEnd(); ++it) {
        saved.queueKeys.push_back(it->key);
        saved.queueValues.push_back(it->value);
    }
    m_saved.push_back(std::move(saved));
    while (m_saved.size() > 8)
        m_saved.erase(m_saved.begin());
    m_runBox->clear();
    m_runBox->addItem(tr("Run: the latest (#%1)").arg(run.id), 0);
    for (auto it = m_saved.rbegin(); it != m_saved.rend(); ++it)
        if (it->runId != run.id)
            m_runBox->addItem(tr("Run: %1").arg(it->label), it->runId);
    m_runBox->setEnabled(m_runBox->count() > 1);
}

void EngineView::showRun(int runId)
{
    if (m_running || !m_queued || !m_spans)
        return;
    const SavedRun* r = nullptr;
    if (runId != 0 && runId != m_latestRun)
        for (const auto& s : m_saved)
            if (s.runId == runId)
                r = &s;
    auto* spans = static_cast<SpanPlottable*>(m_spans);
    if (m_queuedOther) {
        m_plot->removeGraph(m_queuedOther);
        m_queuedOther = nullptr;
    }
    if (!r) {
        m_shownRun = 0;
        spans->setTimeline(&m_line);
        setRows(m_line.devices);
        m_queued->setVisible(true);
    } else {
        m_shownRun = r->runId;
        spans->setTimeline(&r->line);
        setRows(r->line.devices);
        m_queued->setVisible(false);
        m_queuedOther = m_plot->addGraph(m_queue->axis(QCPAxis::atBottom), m_queue->axis(QCPAxis::atLeft));
        m_queuedOther->setLineStyle(QCPGraph::lsStepLeft);
        m_queuedOther->setPen(m_queued->pen());
        m_queuedOther->setBrush(m_queued->brush());
        m_queuedOther->removeFromLegend();
        m_queuedOther->setData(r->queueKeys, r->queueValues, true);
    }
    const int i = m_runBox->findData(m_shownRun);
    if (i >= 0)
        m_runBox->setCurrentIndex(i);
    setTitleRun(m_shownRun ? m_shownRun : m_latestRun);
    clearUserZoom(m_plot);
    refresh();
}

void EngineView::fitPlotLeast()
{
    m_plot->setMinimumHeight(12 * QFontMetrics(font()).lineSpacing());
}

void EngineView::changeEvent(QEvent* event)
{
    LabView::changeEvent(event);
    if (event->type() == QEvent::FontChange)
        fitPlotLeast(); // projector mode's larger font
}

void EngineView::setTitleRun(int runId)
{
    m_title = tr("Front end and device workers (run #%1)").arg(runId);
    fitTitle();
}

// The title on two lines, the run's number under the rest, where on one it is wider than the
// plot (projector mode beside the open control panel on a 1024x768 screen): on one it set the
// plot's least width, wider than the view, and was cut at both ends.
void EngineView::fitTitle()
{
    auto* t = qobject_cast<QCPTextElement*>(m_plot->plotLayout()->element(0, 0));
    if (!t || m_title.isEmpty())
        return;
    QString text = m_title;
    const qsizetype at = std::max(m_title.lastIndexOf(QLatin1String(" (")), m_title.lastIndexOf(QChar(0xFF08)));
    const QMargins m = t->margins();
    if (at > 0 && QFontMetrics(t->font()).horizontalAdvance(m_title) + m.left() + m.right() + 8 > m_plot->width())
        text = m_title.left(at).trimmed() + QLatin1Char('\n') + m_title.mid(at).trimmed();
    if (t->text() != text)
        t->setText(text);
}

// The queue's plot stays tall enough for its axis label written upright and for a few tick
// labels one above another: in projector mode at 1024x768 a quarter of the plot was a few
// pixels, the label ran past it and the ticks overlapped.
// Where the label on one line would take more than a quarter of the plot's height (projector
// mode beside the open control panel), it goes on two, broken at the space nearest its middle,
// and leaves the time line above it the room.
void EngineView::fitQueueRect()
{
    QCPAxis* y = m_queue->axis(QCPAxis::atLeft);
    const QFontMetrics label(y->labelFont());
    const QFontMetrics ticks(y->tickLabelFont());
    const QString one = tr("ops queued");
    QString text = one;
    if (label.horizontalAdvance(one) + 8 > m_plot->height() / 4) {
        qsizetype best = -1;
        for (qsizetype i = one.indexOf(QLatin1Char(' ')); i > 0; i = one.indexOf(QLatin1Char(' '), i + 1))
            if (best < 0 || std::abs(i - one.size() / 2) < std::abs(best - one.size() / 2))
                best = i;
        if (best > 0)
            text = one.left(best) + QLatin1Char('\n') + one.mid(best + 1);
    }
    if (y->label() != text)
        y->setLabel(text);
    int longest = 0;
    for (const QString& line : text.split(QLatin1Char('\n')))
        longest = std::max(longest, label.horizontalAdvance(line));
    const int needed = std::max(longest + 8, 4 * ticks.height());
    if (m_queue->minimumSize().height() != needed)
        m_queue->setMinimumSize(0, needed);
    y->ticker()->setTickCount(3);
}

void EngineView::refresh()
{
    fitQueueRect();
    if (!m_queued)
        return;
    if (!userZoomed(m_plot)) {
        QCPAxis* x = m_timeline->axis(QCPAxis::atBottom);
        double tEnd = m_tEnd;
        for (const auto& s : m_saved)
            if (m_shownRun != 0 && s.runId == m_shownRun)
                tEnd = s.tEnd;
        if (m_window > 0 && tEnd > m_window)
            x->setRange(tEnd - m_window, tEnd);
        else
            x->setRange(0, std::max(0.01, tEnd * 1.01));
        // the queue's height over what is shown
        bool ok = false;
        const QCPRange r = (m_queuedOther ? m_queuedOther : m_queued)->getValueRange(ok, QCP::sdBoth, x->range());
        m_queue->axis(QCPAxis::atLeft)->setRange(0, ok && r.upper > 0 ? r.upper * 1.15 : 1.0);
    }
    m_plot->replot(QCustomPlot::rpQueuedReplot);
}

QString EngineView::allreduceLegendName() const
{
    return m_allreduceSwatch ? m_allreduceSwatch->name() : QString();
}

QList<PlotItem> EngineView::plots() const
{
    return {{QStringLiteral("engine"), m_plot, nullptr}};
}

QList<CsvTable> EngineView::csvTables() const
{
    QList<CsvTable> t;
    // modelled: 1 on an allreduce op whose time a link model set
    t.append({QStringLiteral("engine"), QStringLiteral("kind,device,name,category,start_s,end_s,modelled"),
              [this](QTextStream& out) {
                  static const char* ids[] = {"forward", "backward", "allreduce", "sgd", "other"};
                  for (const auto& p : m_pushes)
                      out << "push," << p.device << ',' << m_names[p.name] << ",," << p.t << ','
                          << p.t << ",0\n";
                  for (const auto& o : m_ops) {
                      const Category c = categoryOf(m_names[o.name].toStdString());
                      out << "op," << o.device << ',' << m_names[o.name] << ',' << ids[c] << ',' << o.t0 << ','
                          << o.t1 << ',' << (c == Allreduce && m_allreduceModelled ? 1 : 0) << '\n';
                  }
              }});
    return t;
}

} // namespace gpulab
