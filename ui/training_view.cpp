// TrainingView: the run's MinibatchLoss and EpochEnd events become QCustomPlot data,
// appended once per drain (addData, already sorted) and replotted queued.
#include "training_view.h"

#include "core_messages.h"
#include "lab_style.h"

#include <qcustomplot.h>

#include <QComboBox>
#include <QGridLayout>
#include <QTimer>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QListWidget>
#include <QPushButton>
#include <QSlider>
#include <QTextStream>

#include <cmath>
#include <cstdlib>

namespace gpulab {

struct TrainingView::Curves {
    int id = 0;
    QString label;
    QColor color;
    QCPGraph* raw = nullptr;
    QCPGraph* smooth = nullptr;
    QCPGraph* epochLoss = nullptr;
    QCPGraph* acc = nullptr;
    QCPGraph* secs = nullptr;
    QListWidgetItem* item = nullptr;
    bool visible = true;
    // a run whose loss diverged: where, and what the trainer said (drawn on the plot)
    bool diverged = false;
    double divergedX = 0;
    QCPItemStraightLine* divLine = nullptr;
    QCPItemText* divText = nullptr;
    QString divMessage;
    QString divBase;   // the box's text without the note on clipping
    double batchesPerEpoch = 0;
    // what the plots were built from (CSV, re-smoothing)
    struct Loss {
        int epoch, batch;
        double x, loss, smoothed;
    };
    struct Epoch {
        int epoch;
        double trainLoss, testAcc, seconds;
        qint64 images;
    };
    std::vector<Loss> losses;
    std::vector<Epoch> epochs;
    double ema = 0;
    int emaCount = 0;
    double lastX = -1;
};

namespace {

// The loss of a model that guesses uniformly among the 10 classes: where every run starts.
const double kGuessLoss = std::log(10.0);
// The loss axis never spans less than this: a flat line at 2.3026 stays flat on screen
// instead of being zoomed into noise.
constexpr double kMinLossRange = 1.0;

QCustomPlot* makePlot(QWidget* parent, const QString& title, const QString& xLabel,
                      const QString& yLabel)
{
    auto* plot = new QCustomPlot(parent);
    addPlotTitle(plot, title);
    plot->xAxis->setLabel(xLabel);
    plot->yAxis->setLabel(yLabel);
    stylePlot(plot);
    trackUserZoom(plot);
    plot->setMinimumSize(230, 200); // two abreast beside the control panel in a 1024 px window, in Chinese too
    return plot;
}

QIcon swatch(const QColor& c)
{
    QPixmap pm(16, 16);
    pm.fill(c);
    return QIcon(pm);
}

} // namespace

TrainingView::TrainingView(QWidget* parent) : LabView(parent)
{
    m_loss = makePlot(this, tr("Training loss"), tr("epoch"), tr("loss"));
    m_loss->setObjectName(QStringLiteral("lossPlot"));
    elideLegendToPlot(m_loss); // the runs' labels (a recording's file) within the plot
    // Under the plot, not inside it: every corner of the axis rect holds data at some point of
    // a run (the curves start along the guessing line at the top, a diverged run spikes up,
    // the raw losses reach the bottom), and a projector's font made the legend cover the top of
    // the curves and the guessing label.
    placeLegendBelow(m_loss, 2, 3, QMargins(4, 2, 4, 2));
    fitLegendBelowToWidth(m_loss); // as many entries a row as fit the plot's width
    // the guessing label above the curves, so that its white ground keeps it legible
    m_loss->addLayer(QStringLiteral("guessing"), m_loss->layer(QStringLiteral("main")), QCustomPlot::limAbove);
    {
        auto* guess = new QCPItemStraightLine(m_loss);
        guess->point1->setCoords(0, kGuessLoss);
        guess->point2->setCoords(1, kGuessLoss);
        guess->setPen(QPen(QColor(120, 120, 120), 1.5, Qt::DashLine));
        guess->setSelectable(false);
        auto* text = new QCPItemText(m_loss);
        text->setObjectName(QStringLiteral("guessLabel"));
        text->position->setTypeX(QCPItemPosition::ptAxisRectRatio);
        text->position->setTypeY(QCPItemPosition::ptPlotCoords);
        // at the right, where a run that learns has left the line; on white, so that
        // the raw losses' spikes do not hide it
        text->position->setCoords(0.99, kGuessLoss);
        text->setPositionAlignment(Qt::AlignRight | Qt::AlignBottom);
        text->setBrush(QBrush(QColor(255, 255, 255, 220)));
        text->setPadding(QMargins(3, 1, 3, 1));
        text->setText(tr("guessing: ln 10 = %1").arg(kGuessLoss, 0, 'f', 3));
        text->setColor(QColor(90, 90, 90));
        QFont f = text->font();
        f.setPointSizeF(f.pointSizeF() * 1.1);
        text->setFont(f);
        text->setSelectable(false);
        text->setLayer(QStringLiteral("guessing"));
        m_guessLabel = text;
        // on two lines, after its colon, where on one it is wider than the plot (projector mode
        // beside the open control panel): its start was cut at the plot's left
        connect(m_loss, &QCustomPlot::beforeReplot, this, [this] {
            // a plot resized since the last refresh: the range leaves room for the label's lines
            if (fitGuessLabel())
                QTimer::singleShot(0, this, [this] { refresh(); });
        });
    }
    m_acc = makePlot(this, tr("Test accuracy"), tr("epoch"), tr("accuracy"));
    m_acc->setObjectName(QStringLiteral("accuracyPlot"));
    m_time = makePlot(this, tr("Seconds per epoch"), tr("epoch"), tr("seconds"));
    m_time->setObjectName(QStringLiteral("secondsPlot"));
    for (QCustomPlot* p : {m_acc, m_time}) {
        QSharedPointer<QCPAxisTickerFixed> ticker(new QCPAxisTickerFixed);
        ticker->setTickStep(1.0);
        ticker->setScaleStrategy(QCPAxisTickerFixed::ssMultiples);
        p->xAxis->setTicker(ticker);
    }
    m_acc->yAxis->setRange(0, 1);

    // runs and smoothing
    auto* runsBox = new QGroupBox(tr("Runs since the app started (untick to hide)"), this);
    auto* rl = new QHBoxLayout(runsBox);
    m_runList = new QListWidget(runsBox);
    m_runList->setObjectName(QStringLiteral("runList"));
    m_runList->setMaximumHeight(96);
    wrapRunList(m_runList);
    auto* side = new QVBoxLayout;
    m_smoothingLabel = new QLabel(runsBox);
    m_smoothing = new QSlider(Qt::Horizontal, runsBox);
    m_smoothing->setObjectName(QStringLiteral("smoothingSlider"));
    m_smoothing->setRange(0, 99);
    m_smoothing->setValue(90);
    m_smoothing->setMinimumWidth(160);
    m_smoothing->setToolTip(tr("Exponential moving average of the minibatch losses"));
    auto* clear = new QPushButton(tr("Forget earlier runs"), runsBox);
    m_speedUnit = new QComboBox(runsBox);
    m_speedUnit->setObjectName(QStringLiteral("speedUnitCombo"));
    m_speedUnit->addItem(tr("Speed: seconds per epoch"));
    m_speedUnit->addItem(tr("Speed: images per second"));
    m_speedUnit->setToolTip(tr("Images per second compare runs on different numbers of training images; "
                               "both leave out the time a run was paused or waited for Step"));
    side->addWidget(m_smoothingLabel);
    side->addWidget(m_smoothing);
    side->addWidget(m_speedUnit);
    side->addWidget(clear);
    side->addStretch(1);
    rl->addWidget(m_runList, 1);
    rl->addLayout(side);

    auto* grid = new QGridLayout(this);
    grid->setContentsMargins(4, 4, 4, 4);
    grid->addWidget(m_loss, 0, 0, 2, 1);
    grid->addWidget(m_acc, 0, 1);
    grid->addWidget(m_time, 1, 1);
    grid->addWidget(runsBox, 2, 0, 1, 2);
    grid->setColumnStretch(0, 3);
    grid->setColumnStretch(1, 2);
    grid->setRowStretch(0, 1);
    grid->setRowStretch(1, 1);

    auto updateLabel = [this] {
        m_smoothingLabel->setText(tr("Smoothing: %1").arg(m_smoothing->value() / 100.0, 0, 'f', 2));
    };
    updateLabel();
    connect(m_smoothing, &QSlider::valueChanged, this, [this, updateLabel] {
        updateLabel();
        for (auto& [id, c] : m_runs)
            rebuildSmoothed(*c);
        m_loss->replot(QCustomPlot::rpQueuedReplot);
    });
    connect(m_runList, &QListWidget::itemChanged, this, [this](QListWidgetItem* item) {
        setRunVisible(item->data(Qt::UserRole).toInt(), item->checkState() == Qt::Checked);
    });
    connect(clear, &QPushButton::clicked, this, &TrainingView::clearEarlierRuns);
    connect(m_speedUnit, &QComboBox::currentIndexChanged, this, [this] {
        rebuildSpeed();
        refresh();
    });
    for (QCustomPlot* p : {m_loss, m_acc, m_time})
        connect(p, &QCustomPlot::mouseDoubleClick, this, [this] { refresh(); });
    refresh(); // the empty plots' ranges, before the first run
}

TrainingView::~TrainingView() = default;

TrainingView::Curves* TrainingView::curves(int runId) const
{
    auto it = m_runs.find(runId);
    return it == m_runs.end() ? nullptr : it->second.get();
}

void TrainingView::beginRun(const RunInfo& run)
{
    // the same run again (a replay scrubbed back): it starts over, in its place
    if (auto it = m_runs.find(run.id); it != m_runs.end()) {
        removeCurves(*it->second);
        m_runs.erase(it);
    }
    auto c = std::make_unique<Curves>();
    c->id = run.id;
    c->label = run.label;
    c->color = run.color;
    c->raw = m_loss->addGraph();
    c->raw->setPen(QPen(lighter(run.color, 0.65), 1));
    c->raw->removeFromLegend();
    c->raw->setAntialiased(false);
    c->smooth = m_loss->addGraph();
    c->smooth->setPen(QPen(run.color, 2.5));
    c->smooth->setName(run.shortLabel);
    c->epochLoss = m_loss->addGraph();
    c->epochLoss->setLineStyle(QCPGraph::lsNone);
    c->epochLoss->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDiamond, QPen(Qt::black, 1.2),
                                                  QBrush(run.color), 11));
    c->epochLoss->removeFromLegend();
    c->acc = m_acc->addGraph();
    c->secs = m_time->addGraph();
    for (QCPGraph* g : {c->acc, c->secs}) {
        g->setPen(QPen(run.color, 2.5));
        g->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDisc, run.color, 9));
        g->setName(run.shortLabel);
    }
    c->item = new QListWidgetItem(swatch(run.color), run.label);
    c->item->setData(Qt::UserRole, run.id);
    c->item->setFlags(c->item->flags() | Qt::ItemIsUserCheckable);
    c->item->setCheckState(Qt::Checked);
    m_runList->addItem(c->item);
    m_runList->scrollToItem(c->item);
    m_currentRun = run.id;
    m_maxEpochs = std::max(m_maxEpochs, run.config.epochs);
    for (QCustomPlot* p : {m_loss, m_acc, m_time})
        clearUserZoom(p);
    m_runs[run.id] = std::move(c);
}

void TrainingView::consume(const std::vector<Event>& events, const RunInfo& run)
{
    Curves* c = curves(run.id);
    if (!c)
        return;
    const double alpha = m_smoothing->value() / 100.0;
    QVector<double> xs, raw, smooth;
    bool sorted = true;
    for (const Event& e : events) {
        if (const auto* loss = e.get<ev::MinibatchLoss>()) {
            const double nb = std::max(1.0, double(loss->batches_in_epoch));
            c->batchesPerEpoch = nb;
            const double x = (loss->epoch - 1) + (loss->batch + 1) / nb;
            c->ema = alpha * c->ema + (1 - alpha) * loss->loss;
            ++c->emaCount;
            const double debiased = c->ema / (1 - std::pow(alpha, c->emaCount));
            if (x < c->lastX)
                sorted = false; // async runs may report a minibatch late
            c->lastX = std::max(c->lastX, x);
            xs.push_back(x);
            raw.push_back(loss->loss);
            smooth.push_back(debiased);
            c->losses.push_back({loss->epoch, loss->batch, x, loss->loss, debiased});
            ++m_received;
        } else if (const auto* ep = e.get<ev::EpochEnd>()) {
            c->epochs.push_back({ep->epoch, ep->train_loss, ep->test_accuracy, ep->seconds, ep->images});
            c->epochLoss->addData(ep->epoch, ep->train_loss);
            c->acc->addData(ep->epoch, ep->test_accuracy);
            c->secs->addData(ep->epoch, speedInImages() ? (ep->seconds > 0 ? ep->images / ep->seconds : 0.0)
                                                        : ep->seconds);
            ++m_received;
        }
    }
    if (!xs.isEmpty()) {
        c->raw->addData(xs, raw, sorted);
        c->smooth->addData(xs, smooth, sorted);
    }
}

void TrainingView::endRun(const RunInfo& run, const RunResult& result)
{
    Curves* c = curves(run.id);
    if (!c)
        return;
    if (result.status != RunStatus::Completed) {
        const QString what = result.status == RunStatus::Cancelled ? tr("stopped")
                             : result.diverged                     ? tr("diverged")
                                                                   : tr("failed");
        c->item->setText(tr("%1  (%2)").arg(c->label, what));
    }
    if (!result.diverged)
        return;
    // The minibatch whose loss blew up reports no loss: without the error's facts, it is
    // taken to be the one after the last that did (losses are counted in order).
    c->diverged = true;
    const double step = c->batchesPerEpoch > 0 ? 1.0 / c->batchesPerEpoch : 0.0;
    c->divergedX = c->losses.empty() ? step : c->lastX + step;
    // the error names the minibatch (1-based) when the trainer said which
    const int epoch = std::atoi(result.error.fact("epoch").c_str());
    const int batch = std::atoi(result.error.fact("batch").c_str());
    if (epoch > 0 && batch > 0 && c->batchesPerEpoch > 0)
        c->divergedX = (epoch - 1) + batch / c->batchesPerEpoch;
    c->divMessage = coreMessage(result.error);
    const QColor red(176, 0, 32);
    c->divLine = new QCPItemStraightLine(m_loss);
    c->divLine->point1->setCoords(c->divergedX, 0);
    c->divLine->point2->setCoords(c->divergedX, 1);
    c->divLine->setPen(QPen(red, 2, Qt::DashLine));
    c->divLine->setSelectable(false);
    c->divText = new QCPItemText(m_loss);
    c->divText->setObjectName(QStringLiteral("divergedLabel"));
    c->divText->position->setTypeX(QCPItemPosition::ptPlotCoords);
    c->divText->position->setTypeY(QCPItemPosition::ptAxisRectRatio);
    c->divText->setColor(red);
    c->divText->setPen(QPen(red, 1));
    c->divText->setBrush(QBrush(QColor(255, 255, 255, 235)));
    c->divText->setPadding(QMargins(6, 4, 6, 4));
    c->divText->setTextAlignment(Qt::AlignLeft);
    QFont f = c->divText->font();
    f.setBold(true);
    c->divText->setFont(f);
    c->divText->setSelectable(false);
    // the message in lines that fit beside the marker (by width: Chinese has no spaces to
    // break at, so a line may also break between two characters)
    const QFontMetricsF fm(f);
    const double maxW = std::max(240.0, 0.45 * m_loss->axisRect()->width());
    QStringList lines;
    QString line;
    int lastSpace = -1;
    for (const QChar ch : c->divMessage) {
        line += ch;
        if (ch == QLatin1Char(' '))
            lastSpace = line.size() - 1;
        if (fm.horizontalAdvance(line) <= maxW)
            continue;
        if (lastSpace > 0) {
            lines << line.left(lastSpace);
            line = line.mid(lastSpace + 1);
        } else {
            lines << line.left(line.size() - 1);
            line = QString(ch);
        }
        lastSpace = line.lastIndexOf(QLatin1Char(' '));
    }
    if (!line.trimmed().isEmpty())
        lines << line;
    c->divBase = tr("✕ run #%1 diverged here").arg(run.id) + QLatin1Char('\n') + lines.join(QLatin1Char('\n'));
    c->divText->setText(c->divBase);
    c->divLine->setVisible(c->visible);
    c->divText->setVisible(c->visible);
    refresh();
}

void TrainingView::placeDivergenceMarkers()
{
    // Each diverged run's box hangs from the top of the plot beside its marker, on the side
    // with more room; boxes of several diverged runs are stacked.
    // Boxes sit low on the left, where a run that learns has not yet come down (the runs
    // start at the guessing line, high on the plot, and its label is at the right).
    const QCPRange xr = m_loss->xAxis->range();
    const QCPRange yr = m_loss->yAxis->range();
    double y = 0.45;
    for (auto& [id, c] : m_runs) {
        if (!c->divText)
            continue;
        c->divLine->setVisible(c->visible);
        c->divText->setVisible(c->visible);
        if (!c->visible)
            continue;
        const bool right = c->divergedX < xr.center();
        c->divText->position->setCoords(c->divergedX, y);
        c->divText->setPositionAlignment((right ? Qt::AlignLeft : Qt::AlignRight) | Qt::AlignTop);
        bool ok = false;
        const QCPRange vr = c->raw->getValueRange(ok);
        const bool clipped = ok && vr.upper > yr.upper;
        c->divText->setText(clipped ? c->divBase + QLatin1Char('\n') +
                                          tr("(its losses up to %1 are cut off at the top)").arg(vr.upper, 0, 'f', 1)
                                    : c->divBase);
        y += 0.22;
    }
}

void TrainingView::rebuildSmoothed(Curves& c)
{
    const double alpha = m_smoothing->value() / 100.0;
    QVector<double> xs, ys;
    xs.reserve(static_cast<int>(c.losses.size()));
    ys.reserve(static_cast<int>(c.losses.size()));
    double ema = 0;
    int n = 0;
    for (auto& l : c.losses) {
        ema = alpha * ema + (1 - alpha) * l.loss;
        ++n;
        l.smoothed = ema / (1 - std::pow(alpha, n));
        xs.push_back(l.x);
        ys.push_back(l.smoothed);
    }
    c.ema = ema;
    c.emaCount = n;
    c.smooth->setData(xs, ys);
}

// The guessing label on two lines, after its colon, where on one it is wider than the loss plot
// (projector mode beside the open control panel: its start was cut at the plot's left). True
// when its text changed.
bool TrainingView::fitGuessLabel()
{
    const QString one = tr("guessing: ln 10 = %1").arg(kGuessLoss, 0, 'f', 3);
    QString fitted = one;
    const qsizetype colon = std::max(one.indexOf(QLatin1Char(':')), one.indexOf(QChar(0xFF1A)));
    if (colon > 0 && QFontMetrics(m_guessLabel->font()).horizontalAdvance(one) + 12 > m_loss->axisRect()->width())
        fitted = one.left(colon + 1) + QLatin1Char('\n') + one.mid(colon + 1).trimmed();
    if (m_guessLabel->text() == fitted)
        return false;
    m_guessLabel->setText(fitted);
    return true;
}

void TrainingView::refresh()
{
    if (!userZoomed(m_loss)) {
        double maxX = 0, divergedMaxX = 0;
        // the runs that did not diverge set the range; a diverged run's values count only
        // up to a little above it (they are clipped at the top, beside their marker)
        bool found = false, foundDiverged = false;
        QCPRange yr, dr;
        for (auto& [id, c] : m_runs) {
            if (!c->visible)
                continue;
            bool ok = false;
            const QCPRange kr = c->raw->getKeyRange(ok);
            if (ok && !c->diverged)
                maxX = std::max(maxX, std::ceil(kr.upper - 1e-9));
            if (c->diverged) // its few minibatches fill the plot when it is shown alone
                divergedMaxX = std::max(divergedMaxX, 3.0 * c->divergedX);
            for (QCPGraph* g : {c->raw, c->epochLoss}) {
                bool vok = false;
                const QCPRange r = g->getValueRange(vok);
                if (!vok)
                    continue;
                QCPRange& into = c->diverged ? dr : yr;
                bool& any = c->diverged ? foundDiverged : found;
                into = any ? QCPRange(std::min(into.lower, r.lower), std::max(into.upper, r.upper)) : r;
                any = true;
            }
        }
        if (maxX <= 0)
            maxX = divergedMaxX > 0 ? divergedMaxX / 1.03 : 1.0;
        m_loss->xAxis->setRange(0, maxX * 1.03);
        // the guessing line is always in view: every run starts there
        double lower = kGuessLoss, upper = kGuessLoss;
        if (found) {
            lower = std::min(lower, yr.lower);
            upper = std::max(upper, yr.upper);
        }
        if (foundDiverged) {
            lower = std::min(lower, dr.lower);
            upper = std::max(upper, std::min(dr.upper, 1.25 * upper));
        }
        const double pad = 0.05 * (upper - lower);
        lower = std::max(0.0, lower - pad);
        upper += pad;
        if (upper - lower < kMinLossRange) {
            const double grow = kMinLossRange - (upper - lower);
            const double down = std::min(lower, 0.75 * grow);
            lower -= down;
            upper += grow - down;
        }
        // room above the guessing line for its label, which would otherwise be cut at the
        // top of the plot (the curves' highest point is about the line itself)
        fitGuessLabel();
        const int height = m_loss->axisRect()->height();
        const int labelH = QFontMetrics(m_guessLabel->font()).boundingRect(QRect(), 0, m_guessLabel->text()).height();
        const double room = (labelH + 8.0) / std::max(1, height); // its lines (two where it is narrow)
        if (height > 0 && room < 0.5 && (upper - kGuessLoss) < room * (upper - lower))
            upper = (kGuessLoss - room * lower) / (1 - room);
        m_loss->yAxis->setRange(lower, upper);
    }
    placeDivergenceMarkers();
    for (QCustomPlot* p : {m_acc, m_time}) {
        if (userZoomed(p))
            continue;
        int maxEpoch = 1;
        double maxY = 0;
        for (auto& [id, c] : m_runs) {
            if (!c->visible)
                continue;
            for (const auto& e : c->epochs) {
                maxEpoch = std::max(maxEpoch, e.epoch);
                maxY = std::max(maxY, p == m_acc       ? e.testAcc
                                      : speedInImages() ? (e.seconds > 0 ? e.images / e.seconds : 0.0)
                                                        : e.seconds);
            }
        }
        p->xAxis->setRange(0.5, maxEpoch + 0.5);
        if (p == m_acc)
            p->yAxis->setRange(0, 1.0);
        else
            p->yAxis->setRange(0, maxY > 0 ? maxY * 1.15 : 1.0);
    }
    updateLegend(m_loss);
    for (QCustomPlot* p : {m_loss, m_acc, m_time})
        p->replot(QCustomPlot::rpQueuedReplot);
}

bool TrainingView::speedInImages() const
{
    return m_speedUnit->currentIndex() == 1;
}

void TrainingView::setSpeedInImages(bool on)
{
    m_speedUnit->setCurrentIndex(on ? 1 : 0);
}

void TrainingView::rebuildSpeed()
{
    const bool images = speedInImages();
    if (auto* t = qobject_cast<QCPTextElement*>(m_time->plotLayout()->element(0, 0)))
        t->setText(images ? tr("Images per second") : tr("Seconds per epoch"));
    m_time->yAxis->setLabel(images ? tr("images/s") : tr("seconds"));
    for (auto& [id, c] : m_runs) {
        QVector<double> k, v;
        for (const auto& e : c->epochs) {
            k.push_back(e.epoch);
            v.push_back(images ? (e.seconds > 0 ? e.images / e.seconds : 0.0) : e.seconds);
        }
        c->secs->setData(k, v, true);
    }
}

int TrainingView::minibatchCount(int runId) const
{
    const Curves* c = curves(runId);
    return c ? static_cast<int>(c->losses.size()) : 0;
}

bool TrainingView::runDiverged(int runId) const
{
    const Curves* c = curves(runId);
    return c && c->diverged;
}

double TrainingView::divergedAt(int runId) const
{
    const Curves* c = curves(runId);
    return c && c->diverged ? c->divergedX : -1;
}

QString TrainingView::divergedText(int runId) const
{
    const Curves* c = curves(runId);
    return c && c->divText ? c->divText->text() : QString();
}

int TrainingView::epochCount(int runId) const
{
    const Curves* c = curves(runId);
    return c ? static_cast<int>(c->epochs.size()) : 0;
}

void TrainingView::setRunVisible(int runId, bool visible)
{
    Curves* c = curves(runId);
    if (!c || c->visible == visible)
        return;
    c->visible = visible;
    for (QCPGraph* g : {c->raw, c->smooth, c->epochLoss, c->acc, c->secs})
        g->setVisible(visible);
    if (c->divLine) {
        c->divLine->setVisible(visible);
        c->divText->setVisible(visible);
    }
    if (visible)
        c->smooth->addToLegend();
    else
        c->smooth->removeFromLegend();
    const Qt::CheckState want = visible ? Qt::Checked : Qt::Unchecked;
    if (c->item->checkState() != want)
        c->item->setCheckState(want);
    refresh();
}

bool TrainingView::runVisible(int runId) const
{
    const Curves* c = curves(runId);
    return c && c->visible;
}

void TrainingView::setSmoothing(double alpha)
{
    m_smoothing->setValue(static_cast<int>(std::lround(alpha * 100)));
}

void TrainingView::clearEarlierRuns()
{
    for (auto it = m_runs.begin(); it != m_runs.end();) {
        if (it->first == m_currentRun) {
            ++it;
            continue;
        }
        removeCurves(*it->second);
        it = m_runs.erase(it);
    }
    refresh();
}

void TrainingView::removeCurves(Curves& c)
{
    m_loss->removeGraph(c.raw);
    m_loss->removeGraph(c.smooth);
    m_loss->removeGraph(c.epochLoss);
    m_acc->removeGraph(c.acc);
    m_time->removeGraph(c.secs);
    if (c.divLine) {
        m_loss->removeItem(c.divLine);
        m_loss->removeItem(c.divText);
    }
    delete c.item;
}

QList<PlotItem> TrainingView::plots() const
{
    return {{QStringLiteral("training_loss"), m_loss, nullptr},
            {QStringLiteral("training_accuracy"), m_acc, nullptr},
            {QStringLiteral("training_seconds"), m_time, nullptr}};
}

namespace {
QString csvText(const QString& s)
{
    QString q = s;
    q.replace(QLatin1Char('"'), QStringLiteral("\"\""));
    return QLatin1Char('"') + q + QLatin1Char('"');
}
} // namespace

QList<CsvTable> TrainingView::csvTables() const
{
    QList<CsvTable> t;
    t.append({QStringLiteral("training_loss"), QStringLiteral("run,epoch,batch,x_epoch,loss,smoothed_loss"),
              [this](QTextStream& out) {
                  for (const auto& [id, c] : m_runs)
                      if (c->visible) // what the plot shows: hidden runs are left out
                      for (const auto& l : c->losses)
                          out << id << ',' << l.epoch << ',' << l.batch << ',' << l.x << ','
                              << l.loss << ',' << l.smoothed << '\n';
              }});
    t.append({QStringLiteral("training_epochs"),
              QStringLiteral("run,epoch,train_loss,test_accuracy,seconds,images,settings"),
              [this](QTextStream& out) {
                  for (const auto& [id, c] : m_runs)
                      if (c->visible)
                      for (const auto& e : c->epochs)
                          out << id << ',' << e.epoch << ',' << e.trainLoss << ',' << e.testAcc
                              << ',' << e.seconds << ',' << e.images << ',' << csvText(c->label)
                              << '\n';
              }});
    return t;
}

} // namespace gpulab
