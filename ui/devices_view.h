// Devices: one card per device with its memory against the budget and its copy of the
// parameters (W1's filters as images, b1 and b2 as bars, W3 and W4 as heatmaps), and
// whether all copies agree (the largest difference between any two copies).
#pragma once

#include "lab_view.h"

#include <memory>
#include <vector>

class QGridLayout;
class QLabel;
class QScrollArea;

namespace gpulab {

struct Snapshot;
class DeviceCard;

class DevicesView : public LabView {
    Q_OBJECT
public:
    explicit DevicesView(QWidget* parent = nullptr);
    ~DevicesView() override;

    QString viewId() const override { return QStringLiteral("devices"); }
    QString title() const override { return tr("Devices"); }
    void beginRun(const RunInfo& run) override;
    void consume(const std::vector<Event>& events, const RunInfo& run) override;
    void endRun(const RunInfo& run, const RunResult& result) override;
    void refresh() override;
    QList<PlotItem> plots() const override;
    QList<CsvTable> csvTables() const override;
    int receivedCount() const override { return m_received; }

    // ---- for tests ----
    int cardCount() const { return static_cast<int>(m_cards.size()); }
    // What the cards' last paint wrote elided, wider than its room (a caption, the memory
    // bar's words): empty when every word was whole.
    QStringList clippedTexts() const;
    // A job of several ranks: one header per rank above its cards ("Rank 1 · devices 2–3");
    // empty for a single process.
    QStringList rankHeaders() const;
    // The grid row of device d's card (the headers take rows of their own).
    int cardRow(int device) const;
    int snapshotsReceived() const { return m_snapshots; }
    // Largest difference between any two copies of the last complete set; -1 if none yet.
    double largestDifference() const { return m_maxDiff; }
    // (epoch, batch) of the parameters compared last; batch -1 before any.
    std::pair<int, int> comparedMinibatch() const { return {m_diffEpoch, m_diffBatch}; }

protected:
    void resizeEvent(QResizeEvent* e) override;

private:
    void checkAgreement();
    void layoutCards();
    void makeCards(int n);
    void updateSummary();

    QLabel* m_summary = nullptr;
    QWidget* m_legend = nullptr;
    QScrollArea* m_scroll = nullptr;
    QWidget* m_grid = nullptr;
    QGridLayout* m_gridLayout = nullptr;
    std::vector<DeviceCard*> m_cards;
    std::vector<std::shared_ptr<const Snapshot>> m_latest; // per device
    std::vector<qint64> m_inUse, m_peak;
    qint64 m_budget = 0;
    double m_maxDiff = -1;
    int m_diffEpoch = 0, m_diffBatch = -1;
    int m_snapshots = 0;
    int m_received = 0;
    bool m_dirty = false;
    bool m_fullRepaint = false;
    QString m_runLabel;
    int m_columns = 0;
    // the job's ranks (ev::RunBegin): which rank owns each device; empty or one rank: no headers
    std::vector<int> m_deviceRanks;
    int m_world = 1;
    std::vector<QLabel*> m_rankHeaders;
};

} // namespace gpulab
