// The control panel: the run's settings, the data source, the book's presets, the
// Start / Pause / Step / Stop buttons and the progress bar. Settings that cannot work
// are explained next to the controls and keep Start disabled.
#pragma once

#include "dataset_loader.h"
#include "run_controller.h"
#include "train/train_config.h"

#include <QWidget>

class QCheckBox;
class QComboBox;
class QDoubleSpinBox;
class QLabel;
class QLineEdit;
class QProgressBar;
class QPushButton;
class QSpinBox;

namespace gpulab {

class ControlPanel : public QWidget {
    Q_OBJECT
public:
    explicit ControlPanel(QWidget* parent = nullptr);

    // ---- settings ----
    TrainConfig config() const;            // what the controls say now
    void setConfig(const TrainConfig& c);  // fills the controls
    bool applyPreset(const QString& id);   // false when unknown
    bool stepMode() const;
    void setStepMode(bool on);
    // Empty when Start can go; otherwise the one line shown under the controls.
    QString problem() const;

    // ---- data ----
    DatasetLoader::Source dataSource() const;
    QString dataDir() const;
    void setDataSource(DatasetLoader::Source s);
    void setDataDir(const QString& dir);
    void setDataState(bool loading, bool ready, const QString& text, bool offerSynthetic);

    // ---- run state ----
    void setRunState(RunController::State s);
    void setProgress(int permille, const QString& text);

signals:
    void startClicked();
    void pauseClicked();   // Pause or Resume, by state
    void stepClicked();
    void stopClicked();
    void stepModeToggled(bool on);
    void loadDataRequested();
    void settingsChanged();

private:
    void buildUi();
    void updateEnabled();
    void onSettingChanged();
    void onPresetChosen(int index);
    QString customText() const;  // the lesson line when no preset is chosen
    void updateLinkNote();

    // settings
    QComboBox* m_preset = nullptr;
    QLabel* m_lesson = nullptr;
    QComboBox* m_backend = nullptr;
    QLabel* m_backendNote = nullptr;
    QSpinBox* m_devices = nullptr;
    QSpinBox* m_ranks = nullptr;
    QSpinBox* m_batch = nullptr;
    QDoubleSpinBox* m_lr = nullptr;
    QSpinBox* m_epochs = nullptr;
    QComboBox* m_mode = nullptr;
    QSpinBox* m_inflight = nullptr;
    QComboBox* m_allreduce = nullptr;
    QComboBox* m_link = nullptr;        // a named link, or custom:LAT_US,GB_PER_S typed in
    QComboBox* m_linkParams = nullptr;  // "as if the model were bigger"
    QLabel* m_linkNote = nullptr;       // the chosen link's figures, or what is wrong with it
    QString m_linkProblem;              // the link text cannot be read: why (keeps Start off)
    QSpinBox* m_subset = nullptr;
    QSpinBox* m_testSubset = nullptr;
    QSpinBox* m_budget = nullptr;
    QSpinBox* m_seed = nullptr;
    QCheckBox* m_stepMode = nullptr;
    QLabel* m_problem = nullptr;
    // data
    QComboBox* m_source = nullptr;
    QLineEdit* m_dir = nullptr;
    QPushButton* m_browse = nullptr;
    QPushButton* m_load = nullptr;
    QLabel* m_dataStatus = nullptr;
    QPushButton* m_useSynthetic = nullptr;
    // run
    QPushButton* m_start = nullptr;
    QPushButton* m_pause = nullptr;
    QPushButton* m_step = nullptr;
    QPushButton* m_stop = nullptr;
    QProgressBar* m_progress = nullptr;
    QLabel* m_progressText = nullptr;

    RunController::State m_state = RunController::State::Idle;
    bool m_dataReady = false;
    bool m_dataLoading = false;
    QString m_dataText;
    bool m_cudaUsable = false;
    bool m_applying = false;  // filling controls from a preset: not a user edit
    TrainConfig m_base;       // the last setConfig: settings without a widget keep its values
};

} // namespace gpulab
