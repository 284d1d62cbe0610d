// What every view of the lab implements: it is fed the drained events on the UI thread,
// refreshes (a queued replot) when shown, and lists its plots and CSV tables for export.
#pragma once

#include "trace/event.h"
#include "train/train_config.h"

#include <QColor>
#include <QList>
#include <QString>
#include <QWidget>

#include <functional>
#include <memory>
#include <vector>

class QCustomPlot;
class QTextStream;

namespace gpulab {

class EventStream;

// One training run as the views know it.
struct RunInfo {
    int id = 0;                                // 1, 2, ... since the app started
    TrainConfig config;                        // a job of ranks: devices = every rank's, ranks = 1
    int ranks = 1;                             // a job's ranks (config.devices counts all theirs)
    QString label;                             // "#2: 2 x cpu-sim, batch 256, ..."
    QString shortLabel;                        // "#2 · 2 dev · batch 256 · lr 0.2 · sync"
    QColor color;
    std::shared_ptr<const EventStream> stream; // the run's events and snapshots

    // The run's settings in one line, a job's as it was started: "2 ranks x 2 x cpu-sim, ...".
    std::string describe() const
    {
        TrainConfig c = config;
        if (ranks > 1) {
            c.devices /= ranks;
            c.ranks = ranks;
        }
        return c.describe();
    }
};

// A plot to export: a QCustomPlot (vector PDF/SVG) or any widget (rendered).
struct PlotItem {
    QString name;                 // file stem, e.g. "training_loss"
    QCustomPlot* plot = nullptr;
    QWidget* widget = nullptr;
};

// The data behind a plot: file stem, the CSV header line, and a writer for the rows.
struct CsvTable {
    QString name;
    QString header;
    std::function<void(QTextStream&)> rows;
};

class LabView : public QWidget {
    Q_OBJECT
public:
    using QWidget::QWidget;

    virtual QString viewId() const = 0;       // "training", "devices", ...
    virtual QString title() const = 0;        // the tab's text

    // ---- feeding (UI thread, from the drain timer) ----
    virtual void beginRun(const RunInfo& run) = 0;
    virtual void consume(const std::vector<Event>& events, const RunInfo& run) = 0;
    virtual void endRun(const RunInfo& run, const RunResult& result)
    {
        Q_UNUSED(run);
        Q_UNUSED(result);
    }
    // Before the first run: show what the panel's settings describe (the devices, the
    // allreduce's shape), so a view is not empty or wrong when the lab opens.
    virtual void previewSettings(const TrainConfig& config) { Q_UNUSED(config); }
    // Brings what is on screen up to date (queued replots). Called for the visible view
    // after each drain, and when a view is shown.
    virtual void refresh() = 0;

    // ---- export ----
    virtual QList<PlotItem> plots() const = 0;
    virtual QList<CsvTable> csvTables() const = 0;

    // ---- what a test (or a teacher) can check: how much each view has received ----
    virtual int receivedCount() const = 0;
};

} // namespace gpulab
