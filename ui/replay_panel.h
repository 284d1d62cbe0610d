// The left-hand panel while recordings are replayed: whose recording it is (file,
// machine, date), its settings read-only, the recordings overlaid on it, a notice when it
// is incomplete, and the controls: play/pause, speed, a time slider, jump to an epoch,
// step through allreduce steps, and the way back to live runs.
#pragma once

#include <QColor>
#include <QStringList>
#include <QWidget>

class QComboBox;
class QLabel;
class QPushButton;
class QSlider;
class QSpinBox;
class QVBoxLayout;

namespace gpulab {

class ReplaySource;

class ReplayPanel : public QWidget {
    Q_OBJECT
public:
    explicit ReplayPanel(QWidget* parent = nullptr);

    // Shows what the recordings are: the first is the one every view plays; the others
    // are overlaid (each named with its color).
    void setRecordings(const std::vector<const ReplaySource*>& sources, const std::vector<QColor>& colors);
    // The playhead (recorded microseconds), whether it plays, and the speed.
    void setPosition(double pos, double duration, bool playing, double speed);
    // Where the run is at the playhead: "Epoch 2 of 4 · minibatch 17 of 235".
    void setProgress(const QString& text);

    static const QList<double>& speeds(); // 0.25 .. 16

signals:
    void playToggled();
    void speedChosen(double speed);
    void seekRequested(double pos);      // recorded microseconds
    void epochRequested(int epoch);
    void stepRequested(int direction);   // -1: the allreduce step before, +1: the next
    void leaveRequested();

private:
    QLabel* m_notice = nullptr;
    QLabel* m_file = nullptr;
    QLabel* m_machine = nullptr;
    QLabel* m_date = nullptr;
    QLabel* m_program = nullptr;
    QLabel* m_devices = nullptr;
    QWidget* m_settings = nullptr;       // one read-only row per setting
    QLabel* m_overlays = nullptr;
    QPushButton* m_play = nullptr;
    QComboBox* m_speed = nullptr;
    QSlider* m_slider = nullptr;
    QLabel* m_time = nullptr;
    QLabel* m_progress = nullptr;
    QSpinBox* m_epoch = nullptr;
    QPushButton* m_goEpoch = nullptr;
    QPushButton* m_stepBack = nullptr;
    QPushButton* m_stepNext = nullptr;
    double m_duration = 0;
};

} // namespace gpulab
