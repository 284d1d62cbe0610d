// Memory: bytes in use per device over time, the budget drawn, and the out-of-memory point
// marked; every run since the app started is kept, the last of each mode (sync, async,
// bounded) shown, and any of them can be ticked to compare.
#pragma once

#include "lab_view.h"

#include <QVector>

#include <map>
#include <memory>
#include <vector>

class QCPGraph;
class QListWidget;
class QListWidgetItem;
class QCheckBox;
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
    int slotRunId(bool sync) const;   // the latest run shown in sync / async or bounded mode; 0 if none
    bool runShown(int runId) const;
    void setRunShown(int runId, bool shown);
    QString runLabel(int runId) const; // its legend label
    // Envelope mode: per device, the peak and the low of each minibatch instead of every
    // allocation (legible over a long run, where the steps merge into a solid block).
    void setEnvelope(bool on);
    bool envelope() const { return m_envelope; }
    int envelopePoints(int runId, int device) const; // minibatches drawn; -1 if unknown

private:
    // Memory events of one device within kBucketSeconds, reduced to three points.
    static constexpr double kBucketSeconds = 0.005;
    struct Bucket {
        double start = 0, firstV = 0, maxT = 0, maxV = 0, lastT = 0, lastV = 0;
        int count = 0;
    };
    static void flushBucket(Bucket& b, QVector<double>& keys, QVector<double>& values);

    // One run's curves.
    struct Slot {
        int runId = 0;
        ExecMode execMode = ExecMode::Sync;
        bool visible = true;
        QListWidgetItem* item = nullptr;
        QString label;
        bool async = false;
        qint64 budget = 0;
        std::vector<QCPGraph*> graphs;  // per device
        std::vector<QCPGraph*> peaks, lows; // per device: each minibatch's highest and lowest
        std::vector<double> cur, curMax, curMin; // per device: in use now, in this minibatch
        QCPGraph* oom = nullptr;        // the failed allocation, as a marker
        QCPItemText* oomText = nullptr;
        QCPItemStraightLine* budgetLine = nullptr;
        QCPItemText* budgetText = nullptr;
        std::vector<double> lastKey;    // per device, keeps keys sorted
        std::vector<Bucket> buckets;    // per device
        // per device: the key of the last point drawn for good, and whether the open
        // bucket's points are drawn after it (provisionally: taken back at the next drain,
        // so that the points do not depend on how the events were split into drains)
        std::vector<double> committedKey;
        std::vector<char> provisional;
        double oomT = -1;
        int oomDevice = -1;
        QString mode;                   // "sync", "async", "bounded" in the UI's language
        QString modeId;                 // the same, untranslated (CSV)
    };
    static QString modeName(ExecMode m);
    void initSlot(Slot& s, const RunInfo& run);
    void removeSlot(Slot& s);
    void applyVisibility(Slot& s);
    Slot* slot(int runId) const;

    QCustomPlot* m_plot = nullptr;
    QLabel* m_message = nullptr;
    QLabel* m_budgetNote = nullptr;
    QComboBox* m_timeAxis = nullptr;
    bool m_logTime = false;
    bool m_envelope = false;
    QCheckBox* m_envelopeBox = nullptr;
    QListWidget* m_runList = nullptr;
    std::map<int, std::unique_ptr<Slot>> m_runs;
    int m_currentRun = 0;
    double m_maxT = 0;
    int m_received = 0;
};

} // namespace gpulab
