// TrainingView: the run's MinibatchLoss and EpochEnd events become QCustomPlot data,
// appended once per drain (addData, already sorted) and replotted queued.
#include "training_view.h"

#include "lab_style.h"

#include <qcustomplot.h>

#include <QGridLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QListWidget>
#include <QPushButton>
#include <QSlider>
#include <QTextStream>

#include <cmath>

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

QCustomPlot* makePlot(QWidget* parent, const QString& title, const QString& xLabel,
                      const QString& yLabel)
{
    auto* plot = new QCustomPlot(parent);
    addPlotTitle(plot, title);
    plot->xAxis->setLabel(xLabel);
    plot->yAxis->setLabel(yLabel);
    stylePlot(plot);
    trackUserZoom(plot);
    plot->setMinimumSize(260, 200);
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
    m_loss->axisRect()->insetLayout()->setInsetAlignment(0, Qt::AlignTop | Qt::AlignRight);
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
    auto* side = new QVBoxLayout;
    m_smoothingLabel = new QLabel(runsBox);
    m_smoothing = new QSlider(Qt::Horizontal, runsBox);
    m_smoothing->setObjectName(QStringLiteral("smoothingSlider"));
    m_smoothing->setRange(0, 99);
    m_smoothing->setValue(90);
    m_smoothing->setMinimumWidth(160);
    m_smoothing->setToolTip(tr("Exponential moving average of the minibatch losses"));
    auto* clear = new QPushButton(tr("Forget earlier runs"), runsBox);
    side->addWidget(m_smoothingLabel);
    side->addWidget(m_smoothing);
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
        if (e.kind == EventKind::MinibatchLoss) {
            const double nb = std::max(1.0, e.value3);
            const double x = (e.epoch - 1) + (e.batch + 1) / nb;
            c->ema = alpha * c->ema + (1 - alpha) * e.value;
            ++c->emaCount;
            const double debiased = c->ema / (1 - std::pow(alpha, c->emaCount));
            if (x < c->lastX)
                sorted = false; // async runs may report a minibatch late
            c->lastX = std::max(c->lastX, x);
            xs.push_back(x);
            raw.push_back(e.value);
            smooth.push_back(debiased);
            c->losses.push_back({e.epoch, e.batch, x, e.value, debiased});
            ++m_received;
        } else if (e.kind == EventKind::EpochEnd) {
            c->epochs.push_back({e.epoch, e.value, e.value2, e.value3, e.bytes});
            c->epochLoss->addData(e.epoch, e.value);
            c->acc->addData(e.epoch, e.value2);
            c->secs->addData(e.epoch, e.value3);
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
        const QString what = result.status == RunStatus::Cancelled ? tr("stopped") : tr("failed");
        c->item->setText(tr("%1  (%2)").arg(c->label, what));
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

void TrainingView::refresh()
{
    if (!userZoomed(m_loss)) {
        double maxX = 1;
        bool found = false;
        QCPRange yr;
        for (auto& [id, c] : m_runs) {
            if (!c->visible)
                continue;
            bool ok = false;
            const QCPRange kr = c->raw->getKeyRange(ok);
            if (ok)
                maxX = std::max(maxX, std::ceil(kr.upper - 1e-9));
            for (QCPGraph* g : {c->raw, c->epochLoss}) {
                bool vok = false;
                const QCPRange r = g->getValueRange(vok);
                if (vok) {
                    yr = found ? QCPRange(std::min(yr.lower, r.lower), std::max(yr.upper, r.upper)) : r;
                    found = true;
                }
            }
        }
        maxX = std::max<double>(maxX, 1);
        m_loss->xAxis->setRange(0, maxX * 1.03);
        if (found)
            m_loss->yAxis->setRange(std::max(0.0, yr.lower - 0.05 * yr.size()),
                                    yr.upper + 0.05 * yr.size() + 1e-3);
        else
            m_loss->yAxis->setRange(0, 2.5);
    }
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
                maxY = std::max(maxY, p == m_acc ? e.testAcc : e.seconds);
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

int TrainingView::minibatchCount(int runId) const
{
    const Curves* c = curves(runId);
    return c ? static_cast<int>(c->losses.size()) : 0;
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
        Curves& c = *it->second;
        m_loss->removeGraph(c.raw);
        m_loss->removeGraph(c.smooth);
        m_loss->removeGraph(c.epochLoss);
        m_acc->removeGraph(c.acc);
        m_time->removeGraph(c.secs);
        delete c.item;
        it = m_runs.erase(it);
    }
    refresh();
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
                      for (const auto& l : c->losses)
                          out << id << ',' << l.epoch << ',' << l.batch << ',' << l.x << ','
                              << l.loss << ',' << l.smoothed << '\n';
              }});
    t.append({QStringLiteral("training_epochs"),
              QStringLiteral("run,epoch,train_loss,test_accuracy,seconds,images,settings"),
              [this](QTextStream& out) {
                  for (const auto& [id, c] : m_runs)
                      for (const auto& e : c->epochs)
                          out << id << ',' << e.epoch << ',' << e.trainLoss << ',' << e.testAcc
                              << ',' << e.seconds << ',' << e.images << ',' << csvText(c->label)
                              << '\n';
              }});
    return t;
}

} // namespace gpulab
