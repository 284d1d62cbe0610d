// Allreduce: the devices as a star (naive) or a ring, each step drawn as its chunks
// moving between devices; time and bytes per step; bytes sent and received per device;
// and a chosen gradient (default b1) on every device before and after, as the book
// prints it.
#pragma once

#include "lab_view.h"
#include "comm/link.h"

#include <QRectF>

#include <map>
#include <memory>
#include <vector>

class QComboBox;
class QCPBars;
class QCustomPlot;
class QLabel;
class QPlainTextEdit;
class QScrollArea;

namespace gpulab {

struct Snapshot;
class TopologyWidget;

class AllreduceView : public LabView {
    Q_OBJECT
public:
    explicit AllreduceView(QWidget* parent = nullptr);
    ~AllreduceView() override;

    QString viewId() const override { return QStringLiteral("allreduce"); }
    QString title() const override { return tr("Allreduce"); }
    void beginRun(const RunInfo& run) override;
    void previewSettings(const TrainConfig& config) override;
    void consume(const std::vector<Event>& events, const RunInfo& run) override;
    void endRun(const RunInfo& run, const RunResult& result) override;
    void refresh() override;
    QList<PlotItem> plots() const override;
    QList<CsvTable> csvTables() const override;
    int receivedCount() const override { return m_received; }

    // The gradient to snapshot around the allreduce (TrainConfig::snapshot_grad).
    QString gradientName() const;
    // Step mode: say that the run waits for Step before the next step.
    void setStepMode(bool on);

    // ---- for tests: the shape drawn (the run's, or the settings' before the first run) ----
    int shownDevices() const { return m_devices; }
    bool shownRing() const { return m_ring; }

    // ---- for tests ----
    int stepsReceived() const { return static_cast<int>(m_all.size()); }
    int gradientSnapshotsReceived() const { return m_gradSnapshots; }
    // After a run: the line the drawing shows about its last allreduce (empty before).
    QString finalLine() const;
    // Under each device, the partial sum it holds after the step drawn ("c2 = d1+d2+d3").
    QStringList shownSums() const;
    // The (epoch, batch) of the latest allreduce received and of the gradients shown.
    std::pair<int, int> latestAllreduce() const
    {
        return m_current.empty() ? std::pair<int, int>{-1, -1}
                                 : std::pair<int, int>{m_current.front().epoch, m_current.front().batch};
    }
    std::pair<int, int> shownGradients() const { return m_shownGrad; }
    // The (epoch, batch) of the allreduce the drawing shows ((-1, -1): none yet). It changes
    // at refresh(), with the step plot, the bytes and the text under them.
    std::pair<int, int> drawnAllreduce() const;
    // An earlier run's last allreduce drawn beside this one's (0: none).
    void setCompareRun(int runId);
    int compareRun() const;
    QString compareLine() const; // the line the compared drawing shows; empty when none
    // The link model beside the measurement: the alpha-beta formula with its numbers, the
    // latest whole allreduce's measured time, algbw and busbw (the text under the step plot).
    QString modelText() const;
    // The model's time for each step of the latest allreduce, in ms (the step plot's outlines).
    std::vector<double> modelStepMs() const { return m_modelStepMs; }
    // Two cells abreast, scrolled, where three would squash them (a projector's large font
    // on a small screen); three abreast otherwise.
    bool compactLayout() const { return m_compact; }
    // Compact and narrower than kNarrowChars characters (beside the open control panel): the
    // drawing on a row of its own, the whole width, then the step plot under it.
    bool narrowLayout() const { return m_narrow; }
    static constexpr int kNarrowChars = 60;
    // The drawing's device circles at its last paint, in its own coordinates, and the one-line
    // words (its title, its note) it had to elide: for tests.
    QList<QRectF> drawnNodes() const;
    QStringList drawingClipped() const;

    struct Transfer {
        int epoch, batch, step, steps, src, dst, chunk;
        qint64 bytes;
        double t0, t1; // seconds since the run started
        QString phase;
        bool modelled = false; // a link model set its time (ev::AllreduceStep::modelled)
        qint64 charged = 0;    // what the link model charged (0: not modelled)
        bool across = false;   // a step across ranks (the network), not within a rank
    };
    // ---- a job of several ranks ----
    // The allreduce drawn: its steps within the ranks (a live job's: every rank's).
    const std::vector<Transfer>& currentSteps() const { return m_current; }
    // The latest minibatch's steps across ranks (the network hop), one per rank.
    const std::vector<Transfer>& acrossSteps() const { return m_across; }
    // The step plot's bar for the network hop: measured ms of the latest (0: none).
    double acrossStepMs() const;
    QString topologyAcrossLine() const; // the drawing's line about the network hop
    // The tooltip of the step plot's step s (from 1) of the latest allreduce: its phase, the
    // time measured and the model's, and "modelled" when a link model set it. Empty: no such step.
    QString stepToolTip(int step) const;

protected:
    bool eventFilter(QObject* watched, QEvent* event) override;
    void changeEvent(QEvent* event) override;

private:
    void fitLayout();
    void layoutCells(bool compact, bool narrow);
    void setShape(int devices, bool ring);
    void setLink(const TrainConfig& config);
    void rebuildModelText();
    double stepModelUs(qint64 bytes) const; // one transfer of bytes, as the link charges it
    double transferModelUs(const Transfer& t) const; // what it charged when recorded, else as above
    bool latestModelled() const; // a step of the latest allreduce had its time set by the model
    void rebuildStepPlots();
    // The latest allreduce's time per step: its slowest transfer (a ring step's run side by side).
    std::vector<double> stepSeconds() const;
    void drawLatestStep(); // the step consume() saw last, drawn (refresh)
    void rebuildGradients();
    static std::vector<QString> partialSums(const std::vector<Transfer>& all, int devices, bool ring, int upTo);
    void showFinal(TopologyWidget* w, const std::vector<Transfer>& all, int devices, bool ring,
                   const QString& prefix);
    void onCompareChosen();

    TopologyWidget* m_topology = nullptr;
    TopologyWidget* m_compareTopology = nullptr; // an earlier run's, when one is chosen
    QComboBox* m_compare = nullptr;
    struct RunAllreduce {
        int runId;
        QString label;
        int devices;
        bool ring;
        std::vector<Transfer> last; // its last allreduce
    };
    std::vector<RunAllreduce> m_history;
    QCustomPlot* m_steps = nullptr;
    QCustomPlot* m_traffic = nullptr;
    QCustomPlot* m_before = nullptr;
    QCustomPlot* m_after = nullptr;
    QPlainTextEdit* m_book = nullptr;
    QComboBox* m_gradient = nullptr;
    QLabel* m_gradNote = nullptr;
    QCPBars* m_stepFirst = nullptr;   // reduce / reduce-scatter
    QCPBars* m_stepSecond = nullptr;  // broadcast / all-gather
    QCPBars* m_stepModel = nullptr;   // the link model's time per step: outlines
    QCPBars* m_stepAcross = nullptr;  // the network hop across ranks, after the steps within
    std::vector<Transfer> m_across;   // the latest minibatch's steps across ranks
    std::vector<int> m_deviceRanks;   // ev::RunBegin: the rank owning each global device
    // A job of several ranks streamed live: each rank's steps reach the lab later than rank
    // 0's, so a minibatch is held here until every rank's step across ranks has come (then
    // all its steps within the ranks have too) and drawn whole; the run's end draws the last.
    std::map<std::pair<int, int>, std::vector<Transfer>> m_jobPending;
    int jobRanks() const;             // ranks in m_deviceRanks (1: not a job)
    void drawJobMinibatch(std::vector<Transfer> steps);
    QLabel* m_modelText = nullptr;
    QScrollArea* m_modelScroll = nullptr;
    QScrollArea* m_page = nullptr; // the whole view, scrolled when compact
    QWidget* m_content = nullptr;
    QWidget* m_drawings = nullptr;
    QWidget* m_stepsBox = nullptr;
    QWidget* m_side = nullptr;
    bool m_compact = false;
    bool m_narrow = false;
    std::vector<double> m_modelStepMs;
    LinkModel m_link;
    double m_linkScale = 1.0;
    qint64 m_linkParams = 0;
    QCPBars* m_sent = nullptr;
    QCPBars* m_receivedBars = nullptr;

    std::vector<Transfer> m_all;       // every step of the run (CSV)
    std::vector<Transfer> m_current;   // the latest allreduce (one minibatch)
    int m_devices = 1;
    bool m_ring = false;
    bool m_hadRun = false; // previews stop once a run has begun
    bool m_stepsDirty = false;
    bool m_drawPending = false; // a newer step to draw at the next refresh
    bool m_acrossPending = false; // and a newer network hop (a job's)
    int m_drawStep = 0;         // its index in m_current's allreduce

    // gradient snapshots: (epoch, batch) -> stage (1 before, 2 after) -> per device
    struct GradSet {
        std::vector<std::shared_ptr<const Snapshot>> before, after;
    };
    std::map<std::pair<int, int>, GradSet> m_grads;
    std::pair<int, int> m_shownGrad{-1, -1};
    QString m_gradTensor;
    bool m_gradsDirty = false;
    int m_gradSnapshots = 0;
    int m_received = 0;
};

} // namespace gpulab
