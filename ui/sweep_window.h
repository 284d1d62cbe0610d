// Run → Scaling sweep: the book's conclusion measured here. Every combination of device
// count and batch size trains a few minibatches (core/train/sweep.h); the window plots
// images/s against the device count, one line per batch size, and where the devices' time
// went (compute, allreduce, waiting) per combination. Both plots and the table export as
// every other plot does (PNG, PDF, SVG, CSV).
#pragma once

#include "lab_view.h"
#include "train/sweep.h"

#include <QDialog>

#include <atomic>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

class QComboBox;
class QCustomPlot;
class QLabel;
class QLineEdit;
class QPushButton;
class QSpinBox;
class QTableWidget;

namespace gpulab {

struct FashionMnist;

class SweepWindow : public QDialog {
    Q_OBJECT
public:
    explicit SweepWindow(QWidget* parent = nullptr);
    ~SweepWindow() override; // cancels a sweep that is going and waits for it

    // Where the data and the other settings (backend, allreduce, lr at batch 256, seed,
    // threads, budget) come from when Start is pressed; the window owner sets both.
    void setSources(std::function<std::shared_ptr<const FashionMnist>()> data,
                    std::function<TrainConfig()> base);
    // Start is refused (with this reason) while the function says so, e.g. a run is going.
    void setBusyCheck(std::function<QString()> whyNot);

    // ---- what Start reads; tests and the command line fill them ----
    void setDevices(const QString& list);     // "1,2,4"
    void setBatchSizes(const QString& list);  // "256,512,1024"
    void setMinibatches(int n);
    void setLrScale(LrScale s);

    bool start(QString* error = nullptr);     // what Start does
    void stop();
    bool running() const { return m_running; }
    const std::vector<SweepPoint>& points() const { return m_points; }
    QString statusText() const;

    // ---- export ----
    QList<PlotItem> plots() const;
    QList<CsvTable> csvTables() const;
    bool exportTo(const QString& dir, QStringList* written, QString* error);

signals:
    void pointMeasured(int index);
    void finished(bool completed);  // false: stopped or nothing could run

private:
    void onPoint(const SweepPoint& p);
    void onDone(bool cancelled);
    void redraw();
    void setRunning(bool on);
    void exportInteractive();

    QLineEdit* m_devices = nullptr;
    QLineEdit* m_batches = nullptr;
    QSpinBox* m_minibatches = nullptr;
    QComboBox* m_lrScale = nullptr;
    QPushButton* m_startButton = nullptr;
    QPushButton* m_stopButton = nullptr;
    QPushButton* m_exportButton = nullptr;
    QLabel* m_status = nullptr;
    QCustomPlot* m_speedPlot = nullptr;
    QCustomPlot* m_sharePlot = nullptr;
    QTableWidget* m_table = nullptr;

    std::function<std::shared_ptr<const FashionMnist>()> m_data;
    std::function<TrainConfig()> m_base;
    std::function<QString()> m_whyNot;
    SweepConfig m_config;
    std::vector<SweepPoint> m_points;
    std::unique_ptr<Sweep> m_sweep;
    std::thread m_thread;
    std::atomic<bool> m_running{false};
    int m_total = 0;
};

} // namespace gpulab
