// Memory: bytes in use per device over time, the last sync run and the last async (or
// bounded) run overlaid, the budget drawn, and the out-of-memory point marked.
#pragma once

#include "lab_view.h"

#include <QVector>

#include <vector>

class QCPGraph;
class QComboBox;
class QCPItemStraightLine;
class QCPItemText;
class QCPItemTracer;
class QCustomPlot;
class QLabel;

namespace gpulab {

class MemoryView : public LabView {
    Q_OBJECT
public:
    explicit MemoryView(QWidget* parent = nullptr);
    ~MemoryView() override;

    QString viewId() const override { return QStringLiteral("memory"); }
    QString title() const override { return tr("Memory"); }
    void beginRun(const RunInfo& run) override;
    void consume(const std::vector<Event>& events, const RunInfo& run) override;
    void endRun(const RunInfo& run, const RunResult& result) override;
    void refresh() override;
    QList<PlotItem> plots() const override;
    QList<CsvTable> csvTables() const override;
    int receivedCount() const override { return m_received; }

    // ---- for tests ----
    bool hasOutOfMemoryMark() const;
    void setLogTime(bool on);  // a logarithmic time axis: a quick async run next to a long sync one
    int slotRunId(bool sync) const;   // the run shown as sync / async; 0 if none

private:
    // Memory events of one device within kBucketSeconds, reduced to three points.
    static constexpr double kBucketSeconds = 0.005;
    struct Bucket {
        double start = 0, firstV = 0, maxT = 0, maxV = 0, lastT = 0, lastV = 0;
        int count = 0;
    };
    static void flushBucket(Bucket& b, QVector<double>& keys, QVector<double>& values);

    // The last run of one kind: sync, or async/bounded.
    struct Slot {
        int runId = 0;
        QString label;
        bool async = false;
        qint64 budget = 0;
        std::vector<QCPGraph*> graphs;  // per device
        QCPGraph* oom = nullptr;        // the failed allocation, as a marker
        QCPItemText* oomText = nullptr;
        QCPItemStraightLine* budgetLine = nullptr;
        QCPItemText* budgetText = nullptr;
        std::vector<double> lastKey;    // per device, keeps keys sorted
        std::vector<Bucket> buckets;    // per device
        double oomT = -1;
        int oomDevice = -1;
        QString mode;                   // "sync", "async", "bounded"
    };
    static QString modeName(ExecMode m);
    Slot& slotFor(bool async) { return async ? m_async : m_sync; }
    void resetSlot(Slot& s, const RunInfo& run, bool async);

    QCustomPlot* m_plot = nullptr;
    QLabel* m_message = nullptr;
    QLabel* m_budgetNote = nullptr;
    QComboBox* m_timeAxis = nullptr;
    bool m_logTime = false;
    Slot m_sync, m_async;
    bool m_currentAsync = false;
    double m_maxT = 0;
    int m_received = 0;
};

} // namespace gpulab
