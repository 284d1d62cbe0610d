// Training: loss per minibatch (raw and smoothed) and per epoch, test accuracy and
// seconds per epoch; every run since the app started stays overlaid and can be hidden.
#pragma once

#include "lab_view.h"

#include <map>
#include <memory>

class QCPGraph;
class QCPItemText;
class QCustomPlot;
class QLabel;
class QListWidget;
class QListWidgetItem;
class QSlider;
class QComboBox;

namespace gpulab {

class TrainingView : public LabView {
    Q_OBJECT
public:
    explicit TrainingView(QWidget* parent = nullptr);
    ~TrainingView() override;

    QString viewId() const override { return QStringLiteral("training"); }
    QString title() const override { return tr("Training"); }
    void beginRun(const RunInfo& run) override;
    void consume(const std::vector<Event>& events, const RunInfo& run) override;
    void endRun(const RunInfo& run, const RunResult& result) override;
    void refresh() override;
    QList<PlotItem> plots() const override;
    QList<CsvTable> csvTables() const override;
    int receivedCount() const override { return m_received; }

    // ---- for tests ----
    int runCount() const { return static_cast<int>(m_runs.size()); }
    int minibatchCount(int runId) const;   // losses received for that run
    int epochCount(int runId) const;
    void setRunVisible(int runId, bool visible);
    bool runVisible(int runId) const;
    void setSmoothing(double alpha);       // 0 (raw) .. 0.99
    // A run whose loss diverged: the marker's x (epochs) and the text shown beside it.
    bool runDiverged(int runId) const;
    double divergedAt(int runId) const;
    QString divergedText(int runId) const;
    QCustomPlot* lossPlot() const { return m_loss; }
    // The speed plot: seconds per epoch (false) or images per second (true).
    void setSpeedInImages(bool on);
    bool speedInImages() const;
    QCustomPlot* speedPlot() const { return m_time; }

private:
    struct Curves;
    Curves* curves(int runId) const;
    void rebuildSmoothed(Curves& c);
    void clearEarlierRuns();
    void removeCurves(Curves& c); // its graphs, markers and list entry
    void placeDivergenceMarkers();
    void rebuildSpeed();
    bool fitGuessLabel(); // true when its text changed

    QCustomPlot* m_loss = nullptr;
    QCustomPlot* m_acc = nullptr;
    QCustomPlot* m_time = nullptr;
    QSlider* m_smoothing = nullptr;
    QLabel* m_smoothingLabel = nullptr;
    QCPItemText* m_guessLabel = nullptr;
    QComboBox* m_speedUnit = nullptr;
    QListWidget* m_runList = nullptr;
    std::map<int, std::unique_ptr<Curves>> m_runs;
    int m_currentRun = 0;
    int m_maxEpochs = 1;
    int m_received = 0;
};

} // namespace gpulab
