// Engine: one time line with the front end's pushes and each device worker's ops (by
// kind: forward, backward, allreduce, SGD, other), and how many ops are queued, so the
// class sees the front end run ahead in async mode and wait in sync mode.
#pragma once

#include "lab_view.h"

#include <QHash>
#include <QStringList>

#include <vector>

class QCPAxisRect;
class QCPGraph;
class QCPAbstractPlottable;
class QComboBox;
class QCustomPlot;
class QLabel;

namespace gpulab {

class EngineView : public LabView {
    Q_OBJECT
public:
    explicit EngineView(QWidget* parent = nullptr);
    ~EngineView() override;

    QString viewId() const override { return QStringLiteral("engine"); }
    QString title() const override { return tr("Engine"); }
    void beginRun(const RunInfo& run) override;
    void previewSettings(const TrainConfig& config) override;
    void consume(const std::vector<Event>& events, const RunInfo& run) override;
    void endRun(const RunInfo& run, const RunResult& result) override;
    void refresh() override;
    QList<PlotItem> plots() const override;
    QList<CsvTable> csvTables() const override;
    int receivedCount() const override { return m_received; }

    // Seconds of the run shown while following it; 0 = the whole run.
    void setWindow(double seconds);

    // An earlier run's time line instead of the latest's (0: the latest). Only while idle.
    void showRun(int runId);
    int shownRun() const { return m_shownRun; }

    // ---- for tests ----
    int opsReceived() const { return static_cast<int>(m_ops.size()); }
    int pushesReceived() const { return static_cast<int>(m_pushes.size()); }
    // The rows' names, top to bottom: "front end", then "device 0", ... or, in a job of
    // several ranks, "front ends" and "rank 1 · device 2" (every rank's workers, by rank).
    QStringList rowNames() const;
    // The allreduce blocks' time was set by a link model (a modelled step was received, or
    // the run has a link): the legend and engine.csv say "modelled".
    bool allreduceModelled() const { return m_allreduceModelled; }
    QString allreduceLegendName() const;

    enum Category { Forward, Backward, Allreduce, Sgd, Other, CategoryCount };
    static Category categoryOf(const std::string& opName);

protected:
    void changeEvent(QEvent* event) override;

private:
    void setNote(bool gpu);
    void fitQueueRect();
    void fitTitle();
    void fitPlotLeast(); // the plot's least height: twelve lines of the view's font
    void setTitleRun(int runId);
    QString m_title; // the plot's title on one line (the run's number in it); empty before a run
    struct OpRec {
        double t0, t1;
        int device;
        int name;
    };
    struct PushRec {
        double t;
        int device;
        int name;
    };
    int intern(const std::string& name);
    double rowBase(int device) const;       // device -1 = the front end
    void setRows(int devices);              // the front end's row and one per device
    void growRows(int devices);             // a job's run begin: every rank's devices

    QCustomPlot* m_plot = nullptr;
    QCPAxisRect* m_timeline = nullptr;
    QCPAxisRect* m_queue = nullptr;
    QComboBox* m_windowBox = nullptr;
    QComboBox* m_runBox = nullptr;
    QLabel* m_note = nullptr;
public:
    // What the timeline draws: per device, its ops as (start, end, kind), in time order;
    // per target device, the times of the pushes.
    struct Span {
        double t0, t1;
        int category;
    };
    struct Timeline {
        int devices = 0;
        std::vector<std::vector<Span>> spans;    // [device]
        std::vector<std::vector<double>> pushes; // [target device]
    };

private:
    QCPAbstractPlottable* m_spans = nullptr;     // draws m_line
    QCPGraph* m_queued = nullptr;
    Timeline m_line;
    // earlier runs, kept to be shown again: their time line and queue
    struct SavedRun {
        int runId;
        QString label;
        Timeline line;
        QVector<double> queueKeys, queueValues;
        double tEnd;
    };
    std::vector<SavedRun> m_saved;
    int m_latestRun = 0;
    int m_shownRun = 0;               // 0: the latest
    QCPGraph* m_queuedOther = nullptr; // an earlier run's queue, while it is shown
    std::vector<OpRec> m_ops;
    std::vector<PushRec> m_pushes;
    QStringList m_names;
    QHash<QString, int> m_nameIds;
    qint64 m_depth = 0;
    double m_lastQueueKey = 0;
    double m_lastPushKey = 0;
    double m_tEnd = 0;
    double m_window = 2.0;
    int m_devices = 0;
    bool m_running = false;
    int m_received = 0;
    bool m_allreduceModelled = false;
    std::vector<int> m_deviceRanks; // a job of several ranks: the rank of each device
    QStringList m_rowNames;
    QCPGraph* m_allreduceSwatch = nullptr; // the legend's allreduce entry
};

} // namespace gpulab
