// SweepWindow: runs the scaling sweep on its own thread and plots each point as it lands.
#include "sweep_window.h"

#include "data/fashion_mnist.h"
#include "lab_style.h"
#include "plot_export.h"

#include <qcustomplot.h>

#include <QComboBox>
#include <QDir>
#include <QFileDialog>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QMenu>
#include <QPushButton>
#include <QSpinBox>
#include <QSplitter>
#include <QTableWidget>
#include <QTextStream>
#include <QVBoxLayout>

#include <map>
#include <set>

namespace gpulab {

namespace {

QString number(double v, int decimals)
{
    return QLocale().toString(v, 'f', decimals);
}

const QColor kCompute(31, 119, 180), kAllreduce(255, 127, 14), kWaiting(170, 170, 170);

} // namespace

SweepWindow::SweepWindow(QWidget* parent) : QDialog(parent)
{
    setObjectName(QStringLiteral("sweepWindow"));
    setWindowTitle(tr("Scaling sweep"));
    setSizeGripEnabled(true);

    auto* form = new QHBoxLayout;
    auto* fields = new QFormLayout;
    m_devices = new QLineEdit(QStringLiteral("1,2,4"));
    m_devices->setObjectName(QStringLiteral("sweepDevices"));
    m_devices->setToolTip(tr("Device counts to try, separated by commas"));
    m_batches = new QLineEdit(QStringLiteral("256,512,1024"));
    m_batches->setObjectName(QStringLiteral("sweepBatchSizes"));
    m_batches->setToolTip(tr("Batch sizes to try, separated by commas"));
    fields->addRow(tr("Devices"), m_devices);
    fields->addRow(tr("Batch sizes"), m_batches);
    auto* fields2 = new QFormLayout;
    m_minibatches = new QSpinBox;
    m_minibatches->setRange(2, 10000);
    m_minibatches->setValue(30);
    m_minibatches->setToolTip(tr("Minibatches timed per combination, after two untimed ones"));
    m_lrScale = new QComboBox;
    m_lrScale->addItem(tr("grows with the batch (linear)"), int(LrScale::Linear));
    m_lrScale->addItem(tr("the same for every batch"), int(LrScale::None));
    m_lrScale->setToolTip(tr("Linear: lr = the panel's learning rate × batch / 256"));
    fields2->addRow(tr("Minibatches"), m_minibatches);
    fields2->addRow(tr("Learning rate"), m_lrScale);
    auto* buttons = new QVBoxLayout;
    m_startButton = new QPushButton(tr("Start"));
    m_startButton->setObjectName(QStringLiteral("sweepStart"));
    m_stopButton = new QPushButton(tr("Stop"));
    m_stopButton->setEnabled(false);
    m_exportButton = new QPushButton(tr("Export…"));
    m_exportButton->setToolTip(tr("Both plots (PNG, PDF, SVG) and the table (CSV) into a folder"));
    buttons->addWidget(m_startButton);
    buttons->addWidget(m_stopButton);
    buttons->addWidget(m_exportButton);
    form->addLayout(fields, 2);
    form->addLayout(fields2, 2);
    form->addLayout(buttons);

    m_status = new QLabel(tr("Every combination trains a few minibatches in sync mode, with the panel's "
                             "backend, allreduce and data."));
    m_status->setObjectName(QStringLiteral("sweepStatus"));
    m_status->setWordWrap(true);

    m_speedPlot = new QCustomPlot;
    m_speedPlot->setObjectName(QStringLiteral("sweepSpeedPlot"));
    addPlotTitle(m_speedPlot, tr("Images per second"));
    stylePlot(m_speedPlot);
    m_speedPlot->xAxis->setLabel(tr("devices"));
    m_speedPlot->yAxis->setLabel(tr("images/s"));
    placeLegendBelow(m_speedPlot, 2, 2, QMargins(4, 2, 4, 2));
    m_speedPlot->setMinimumHeight(220);

    m_sharePlot = new QCustomPlot;
    m_sharePlot->setObjectName(QStringLiteral("sweepSharePlot"));
    addPlotTitle(m_sharePlot, tr("Where the devices' time goes"));
    stylePlot(m_sharePlot);
    m_sharePlot->xAxis->setLabel(tr("devices × batch"));
    m_sharePlot->yAxis->setLabel(tr("% of each minibatch"));
    m_sharePlot->yAxis->setRange(0, 100);
    placeLegendBelow(m_sharePlot, 2, 3, QMargins(4, 2, 4, 2));
    m_sharePlot->setMinimumHeight(220);

    m_table = new QTableWidget(0, 8);
    m_table->setObjectName(QStringLiteral("sweepTable"));
    m_table->setHorizontalHeaderLabels({tr("devices"), tr("batch"), tr("lr"), tr("images/s"), tr("ms/minibatch"),
                                        tr("compute"), tr("allreduce"), tr("waiting")});
    m_table->verticalHeader()->setVisible(false);
    m_table->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_table->horizontalHeader()->setSectionResizeMode(QHeaderView::Stretch);

    auto* plotSplit = new QSplitter(Qt::Horizontal);
    plotSplit->addWidget(m_speedPlot);
    plotSplit->addWidget(m_sharePlot);
    plotSplit->setSizes({500, 500}); // half each
    auto* split = new QSplitter(Qt::Vertical);
    split->addWidget(plotSplit);
    split->addWidget(m_table);
    split->setStretchFactor(0, 3);
    split->setStretchFactor(1, 1);

    auto* v = new QVBoxLayout(this);
    v->addLayout(form);
    v->addWidget(m_status);
    v->addWidget(split, 1);

    connect(m_startButton, &QPushButton::clicked, this, [this] {
        QString error;
        if (!start(&error))
            m_status->setText(error);
    });
    connect(m_stopButton, &QPushButton::clicked, this, &SweepWindow::stop);
    connect(m_exportButton, &QPushButton::clicked, this, &SweepWindow::exportInteractive);

    // a right click on a plot saves it, as in the main window
    for (const PlotItem& item : plots()) {
        item.plot->setContextMenuPolicy(Qt::CustomContextMenu);
        connect(item.plot, &QWidget::customContextMenuRequested, this, [this, item](const QPoint& at) {
            QMenu menu(this);
            QAction* save = menu.addAction(tr("Save this plot as PNG, PDF or SVG…"));
            if (menu.exec(item.plot->mapToGlobal(at)) != save)
                return;
            const QString path = QFileDialog::getSaveFileName(
                this, tr("Save plot"), QDir::home().filePath(item.name + QStringLiteral(".png")),
                tr("PNG image (*.png);;PDF document (*.pdf);;SVG drawing (*.svg)"));
            if (path.isEmpty())
                return;
            QString error;
            m_status->setText(saveItem(item, path, &error) ? tr("Saved %1").arg(path) : error);
        });
    }
    resize(1100, 760);
    redraw();
}

SweepWindow::~SweepWindow()
{
    if (m_sweep)
        m_sweep->cancel();
    if (m_thread.joinable())
        m_thread.join();
}

void SweepWindow::setSources(std::function<std::shared_ptr<const FashionMnist>()> data,
                             std::function<TrainConfig()> base)
{
    m_data = std::move(data);
    m_base = std::move(base);
}

void SweepWindow::setBusyCheck(std::function<QString()> whyNot)
{
    m_whyNot = std::move(whyNot);
}

void SweepWindow::setDevices(const QString& list) { m_devices->setText(list); }
void SweepWindow::setBatchSizes(const QString& list) { m_batches->setText(list); }
void SweepWindow::setMinibatches(int n) { m_minibatches->setValue(n); }
void SweepWindow::setLrScale(LrScale s) { m_lrScale->setCurrentIndex(s == LrScale::Linear ? 0 : 1); }
QString SweepWindow::statusText() const { return m_status->text(); }

bool SweepWindow::start(QString* error)
{
    auto fail = [&](const QString& why) {
        if (error)
            *error = why;
        return false;
    };
    if (m_running)
        return fail(tr("The sweep is still going: stop it first."));
    if (m_whyNot)
        if (const QString why = m_whyNot(); !why.isEmpty())
            return fail(why);
    const std::shared_ptr<const FashionMnist> data = m_data ? m_data() : nullptr;
    if (!data)
        return fail(tr("The data has not loaded yet: load Fashion-MNIST or the synthetic data in the panel first."));
    SweepConfig c;
    if (m_base)
        c.base = m_base();
    try {
        c.devices.clear();
        for (int64_t n : parse_number_list("--devices", m_devices->text().trimmed().toStdString()))
            c.devices.push_back(static_cast<int>(std::min<int64_t>(n, 1 << 20)));
        c.batch_sizes = parse_number_list("--batch-size", m_batches->text().trimmed().toStdString());
    } catch (const std::invalid_argument&) {
        return fail(tr("Devices and batch sizes are whole numbers separated by commas, e.g. 1,2,4 and 256,512,1024."));
    }
    c.minibatches = m_minibatches->value();
    c.lr_scale = static_cast<LrScale>(m_lrScale->currentData().toInt());
    if (const std::string why = validate(c, data->train.count); !why.empty())
        return fail(QString::fromStdString(why));

    if (m_thread.joinable())
        m_thread.join();
    m_config = c;
    m_points.clear();
    // a link model times the allreduce: the plot says so
    if (auto* t = qobject_cast<QCPTextElement*>(m_speedPlot->plotLayout()->element(0, 0)))
        t->setText(c.base.link.none()
                       ? tr("Images per second")
                       : tr("Images per second (link %1%2: modelled)")
                             .arg(QString::fromStdString(c.base.link.name),
                                  c.base.link_params > 0
                                      ? QStringLiteral(", as ") + QString::fromStdString(link_params_text(c.base.link_params))
                                      : QString()));
    m_total = static_cast<int>(c.devices.size() * c.batch_sizes.size());
    m_sweep = std::make_unique<Sweep>(c, data);
    setRunning(true);
    m_status->setText(tr("Measuring %1 of %2…").arg(1).arg(m_total));
    redraw();
    Sweep* sweep = m_sweep.get();
    m_thread = std::thread([this, sweep] {
        sweep->run([this](const SweepPoint& p) {
            QMetaObject::invokeMethod(this, [this, p] { onPoint(p); }, Qt::QueuedConnection);
        });
        const bool cancelled = sweep->cancelled();
        QMetaObject::invokeMethod(this, [this, cancelled] { onDone(cancelled); }, Qt::QueuedConnection);
    });
    return true;
}

void SweepWindow::stop()
{
    if (m_sweep && m_running)
        m_sweep->cancel();
}

void SweepWindow::setRunning(bool on)
{
    m_running = on;
    m_startButton->setEnabled(!on);
    m_stopButton->setEnabled(on);
    m_devices->setEnabled(!on);
    m_batches->setEnabled(!on);
    m_minibatches->setEnabled(!on);
    m_lrScale->setEnabled(!on);
}

void SweepWindow::onPoint(const SweepPoint& p)
{
    m_points.push_back(p);
    const int n = static_cast<int>(m_points.size());
    if (n < m_total)
        m_status->setText(tr("Measuring %1 of %2…").arg(n + 1).arg(m_total));
    redraw();
    emit pointMeasured(n - 1);
}

void SweepWindow::onDone(bool cancelled)
{
    if (m_thread.joinable())
        m_thread.join();
    setRunning(false);
    // the last point drawn now, not at the next queued replot: a script grabs the window next
    m_speedPlot->replot();
    m_sharePlot->replot();
    int failed = 0;
    for (const SweepPoint& p : m_points)
        failed += p.status != RunStatus::Completed;
    if (cancelled)
        m_status->setText(tr("Stopped after %1 of %2 combinations.").arg(m_points.size()).arg(m_total));
    else if (failed > 0)
        m_status->setText(tr("Done; %1 combination(s) failed (see the table).").arg(failed));
    else
        m_status->setText(tr("Done: %1 combinations. A small model gains from more devices only when the "
                             "batch grows with them.").arg(m_total));
    emit finished(!cancelled && failed < static_cast<int>(m_points.size()));
}

void SweepWindow::redraw()
{
    // ---- images/s against devices, one line per batch size ----
    m_speedPlot->clearGraphs();
    std::map<int64_t, std::vector<const SweepPoint*>> byBatch;
    std::set<int> deviceCounts(m_config.devices.begin(), m_config.devices.end());
    for (const SweepPoint& p : m_points)
        if (p.status == RunStatus::Completed)
            byBatch[p.batch_size].push_back(&p);
    int line = 0;
    double top = 0;
    for (int64_t b : m_config.batch_sizes) {
        ++line;
        auto it = byBatch.find(b);
        if (it == byBatch.end())
            continue;
        QCPGraph* g = m_speedPlot->addGraph();
        const QColor color = runColor(line);
        g->setPen(QPen(color, 2.5));
        g->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDisc, color, color, 9));
        g->setName(tr("batch %1 (lr %2)").arg(b).arg(m_config.lr_for(b)));
        for (const SweepPoint* p : it->second) {
            g->addData(p->devices, p->images_per_s);
            top = std::max(top, p->images_per_s);
        }
    }
    auto ticker = QSharedPointer<QCPAxisTickerText>::create();
    for (int n : deviceCounts)
        ticker->addTick(n, QString::number(n));
    m_speedPlot->xAxis->setTicker(ticker);
    const int lo = deviceCounts.empty() ? 1 : *deviceCounts.begin();
    const int hi = deviceCounts.empty() ? 4 : *deviceCounts.rbegin();
    m_speedPlot->xAxis->setRange(lo - 0.5, hi + 0.5);
    m_speedPlot->yAxis->setRange(0, top > 0 ? top * 1.15 : 1000);
    updateLegend(m_speedPlot);
    m_speedPlot->replot(QCustomPlot::rpQueuedReplot);

    // ---- compute / allreduce / waiting per combination, stacked ----
    m_sharePlot->clearPlottables();
    auto* compute = new QCPBars(m_sharePlot->xAxis, m_sharePlot->yAxis);
    auto* allreduce = new QCPBars(m_sharePlot->xAxis, m_sharePlot->yAxis);
    auto* waiting = new QCPBars(m_sharePlot->xAxis, m_sharePlot->yAxis);
    const std::pair<QCPBars*, QColor> bars[] = {{compute, kCompute}, {allreduce, kAllreduce}, {waiting, kWaiting}};
    for (const auto& [b, color] : bars) {
        b->setBrush(color);
        b->setPen(QPen(color.darker(130), 1));
        b->setWidth(0.7);
    }
    compute->setName(tr("compute"));
    allreduce->setName(tr("allreduce"));
    waiting->setName(tr("waiting"));
    allreduce->moveAbove(compute);
    waiting->moveAbove(allreduce);
    auto shareTicker = QSharedPointer<QCPAxisTickerText>::create();
    int x = 0;
    for (const SweepPoint& p : m_points) {
        ++x;
        shareTicker->addTick(x, QStringLiteral("%1×%2").arg(p.devices).arg(p.batch_size));
        if (p.status != RunStatus::Completed)
            continue;
        compute->addData(x, 100 * p.compute_share);
        allreduce->addData(x, 100 * p.allreduce_share);
        waiting->addData(x, 100 * p.waiting_share);
    }
    m_sharePlot->xAxis->setTicker(shareTicker);
    m_sharePlot->xAxis->setRange(0.4, std::max(x, 1) + 0.6);
    m_sharePlot->xAxis->setTickLabelRotation(x > 6 ? -45 : 0);
    updateLegend(m_sharePlot);
    m_sharePlot->replot(QCustomPlot::rpQueuedReplot);

    // ---- the table ----
    m_table->setRowCount(static_cast<int>(m_points.size()));
    for (int r = 0; r < static_cast<int>(m_points.size()); ++r) {
        const SweepPoint& p = m_points[static_cast<size_t>(r)];
        QStringList cells{QString::number(p.devices), QString::number(p.batch_size), QString::number(p.lr, 'g', 6)};
        if (p.status == RunStatus::Completed)
            cells << number(p.images_per_s, 0) << number(p.minibatch_ms, 2)
                  << number(100 * p.compute_share, 1) + QStringLiteral(" %")
                  << number(100 * p.allreduce_share, 1) + QStringLiteral(" %")
                  << number(100 * p.waiting_share, 1) + QStringLiteral(" %");
        else
            cells << tr("failed: %1").arg(QString::fromStdString(p.message));
        for (int c = 0; c < 8; ++c) {
            auto* item = new QTableWidgetItem(c < cells.size() ? cells[c] : QString());
            if (c == 3 && p.status != RunStatus::Completed)
                item->setToolTip(cells[c]);
            item->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
            m_table->setItem(r, c, item);
        }
        if (p.status != RunStatus::Completed)
            m_table->setSpan(r, 3, 1, 5);
    }
}

QList<PlotItem> SweepWindow::plots() const
{
    return {{QStringLiteral("sweep_images_per_s"), m_speedPlot, nullptr},
            {QStringLiteral("sweep_time_shares"), m_sharePlot, nullptr}};
}

QList<CsvTable> SweepWindow::csvTables() const
{
    const std::string csv = sweep_csv(m_points);
    const auto eol = csv.find('\n');
    const QString header = QString::fromStdString(csv.substr(0, eol));
    const QString rows = QString::fromStdString(csv.substr(eol + 1));
    return {{QStringLiteral("sweep"), header, [rows](QTextStream& out) { out << rows; }}};
}

bool SweepWindow::exportTo(const QString& dir, QStringList* written, QString* error)
{
    if (!QDir().mkpath(dir)) {
        if (error)
            *error = tr("Cannot create the folder %1").arg(dir);
        return false;
    }
    for (const PlotItem& item : plots())
        for (const char* ext : {"png", "pdf", "svg"}) {
            const QString path = QDir(dir).filePath(item.name + QLatin1Char('.') + QLatin1String(ext));
            if (!saveItem(item, path, error))
                return false;
            if (written)
                written->append(path);
        }
    for (const CsvTable& t : csvTables()) {
        const QString path = QDir(dir).filePath(t.name + QStringLiteral(".csv"));
        if (!saveCsv(t, path, error))
            return false;
        if (written)
            written->append(path);
    }
    return true;
}

void SweepWindow::exportInteractive()
{
    const QString dir = QFileDialog::getExistingDirectory(this, tr("Export the sweep to a folder"), QDir::homePath());
    if (dir.isEmpty())
        return;
    QStringList written;
    QString error;
    if (exportTo(dir, &written, &error))
        m_status->setText(tr("Wrote %1 files to %2").arg(written.size()).arg(dir));
    else
        m_status->setText(error);
}

} // namespace gpulab
