// ReplayPanel: widgets only; the window does the replaying.
#include "replay_panel.h"

#include "core_messages.h"
#include "lab_style.h"
#include "replay_source.h"
#include "whole_combo_box.h"
#include "train/settings.h"

#include <QComboBox>
#include <QCoreApplication>
#include <QEvent>
#include <QFileInfo>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QLocale>
#include <QPushButton>
#include <QSlider>
#include <QSpinBox>
#include <QStyle>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>

namespace gpulab {

namespace {
constexpr int kSliderSteps = 10000;

QLabel* valueLabel()
{
    auto* l = new QLabel;
    l->setWordWrap(true);
    l->setTextInteractionFlags(Qt::TextSelectableByMouse);
    return l;
}

// A recorded choice in the words the control panel uses for it (translated), with the
// command line's word beside it: "sync (wait every minibatch) · sync". Other values as recorded.
QString recordedValue(const std::string& setting, const std::string& value)
{
    return settingValueText(setting, value);
}

// "1:05.3" for a playhead in microseconds
QString clock(double us)
{
    const double s = std::max(0.0, us / 1e6);
    const int m = static_cast<int>(s / 60);
    return QStringLiteral("%1:%2").arg(m).arg(s - 60 * m, 4, 'f', 1, QLatin1Char('0'));
}
} // namespace

const QList<double>& ReplayPanel::speeds()
{
    static const QList<double> s{0.25, 0.5, 1, 2, 4, 8, 16};
    return s;
}

ReplayPanel::ReplayPanel(QWidget* parent) : QWidget(parent)
{
    setObjectName(QStringLiteral("replayPanel"));
    auto* top = new QVBoxLayout(this);
    auto* title = new QLabel(tr("Replaying a recording"));
    QFont f = title->font();
    f.setBold(true);
    f.setPointSizeF(f.pointSizeF() * 1.2);
    title->setFont(f);
    top->addWidget(title);
    m_notice = new QLabel;
    m_notice->setObjectName(QStringLiteral("replayNotice"));
    m_notice->setWordWrap(true);
    m_notice->setStyleSheet(QStringLiteral("color: #9a4a00; font-weight: bold;"));
    m_notice->hide();
    top->addWidget(m_notice);

    // ---- controls ----
    auto* controls = new QGroupBox(tr("Playback"));
    auto* cl = new QVBoxLayout(controls);
    auto* row = new QHBoxLayout;
    m_play = new QPushButton;
    m_play->setObjectName(QStringLiteral("replayPlayButton"));
    connect(m_play, &QPushButton::clicked, this, &ReplayPanel::playToggled);
    m_speed = new WholeComboBox;
    m_speed->setObjectName(QStringLiteral("replaySpeed"));
    for (double s : speeds())
        m_speed->addItem(QStringLiteral("%1×").arg(QLocale().toString(s)), s);
    m_speed->setCurrentIndex(speeds().indexOf(1.0));
    m_speed->setToolTip(tr("How fast the recording plays, against the time it took when it was recorded"));
    connect(m_speed, &QComboBox::activated, this, [this](int i) { emit speedChosen(speeds().value(i, 1.0)); });
    row->addWidget(m_play, 1);
    row->addWidget(new QLabel(tr("Speed")));
    row->addWidget(m_speed);
    cl->addLayout(row);
    m_slider = new QSlider(Qt::Horizontal);
    m_slider->setObjectName(QStringLiteral("replaySlider"));
    m_slider->setRange(0, kSliderSteps);
    m_slider->setTracking(false); // scrub on release: going back rebuilds the views from the start
    m_slider->setToolTip(tr("Drag to move through the run; going back replays it from the start up to there"));
    connect(m_slider, &QSlider::valueChanged, this,
            [this](int v) { emit seekRequested(m_duration * v / kSliderSteps); });
    cl->addWidget(m_slider);
    m_time = new QLabel;
    m_time->setObjectName(QStringLiteral("replayTime"));
    m_time->setAlignment(Qt::AlignCenter);
    cl->addWidget(m_time);
    m_progress = new QLabel;
    m_progress->setObjectName(QStringLiteral("replayProgress"));
    m_progress->setAlignment(Qt::AlignCenter);
    cl->addWidget(m_progress);
    auto* epochRow = new QHBoxLayout;
    epochRow->addWidget(new QLabel(tr("Epoch")));
    m_epoch = new QSpinBox;
    m_epoch->setObjectName(QStringLiteral("replayEpoch"));
    m_epoch->setRange(1, 1);
    epochRow->addWidget(m_epoch);
    m_goEpoch = new QPushButton(tr("Jump to its start"));
    m_goEpoch->setObjectName(QStringLiteral("replayJumpEpoch"));
    connect(m_goEpoch, &QPushButton::clicked, this, [this] { emit epochRequested(m_epoch->value()); });
    epochRow->addWidget(m_goEpoch, 1);
    cl->addLayout(epochRow);
    auto* stepRow = new QHBoxLayout;
    m_stepBack = new QPushButton(tr("◀ Allreduce step"));
    m_stepBack->setObjectName(QStringLiteral("replayStepBack"));
    m_stepBack->setToolTip(tr("Pause and go back to the allreduce step before"));
    connect(m_stepBack, &QPushButton::clicked, this, [this] { emit stepRequested(-1); });
    m_stepNext = new QPushButton(tr("Allreduce step ▶"));
    m_stepNext->setObjectName(QStringLiteral("replayStepNext"));
    m_stepNext->setToolTip(tr("Pause and go on to the next allreduce step"));
    connect(m_stepNext, &QPushButton::clicked, this, [this] { emit stepRequested(+1); });
    stepRow->addWidget(m_stepBack);
    stepRow->addWidget(m_stepNext);
    cl->addLayout(stepRow);
    top->addWidget(controls);

    // ---- whose recording ----
    auto* who = new QGroupBox(tr("Recording"));
    auto* wl = new QFormLayout(who);
    wl->setFieldGrowthPolicy(QFormLayout::AllNonFixedFieldsGrow);
    wl->setRowWrapPolicy(QFormLayout::WrapLongRows); // a value under its label where beside it does not fit
    m_file = valueLabel();
    m_file->setObjectName(QStringLiteral("replayFile"));
    m_machine = valueLabel();
    m_machine->setObjectName(QStringLiteral("replayMachine"));
    m_date = valueLabel();
    m_date->setObjectName(QStringLiteral("replayDate"));
    m_program = valueLabel();
    m_devices = valueLabel();
    wl->addRow(tr("File"), m_file);
    wl->addRow(tr("Machine"), m_machine);
    wl->addRow(tr("Date"), m_date);
    wl->addRow(tr("Recorded by"), m_program);
    wl->addRow(tr("Devices"), m_devices);
    top->addWidget(who);

    m_overlays = new QLabel;
    m_overlays->setObjectName(QStringLiteral("replayOverlays"));
    m_overlays->setWordWrap(true);
    m_overlays->setTextFormat(Qt::RichText);
    top->addWidget(m_overlays);

    auto* settings = new QGroupBox(tr("Recorded settings (read-only)"));
    settings->setObjectName(QStringLiteral("replaySettings"));
    auto* sl = new QVBoxLayout(settings);
    m_settings = new QWidget;
    auto* settingsForm = new QFormLayout(m_settings);
    settingsForm->setFieldGrowthPolicy(QFormLayout::AllNonFixedFieldsGrow);
    settingsForm->setRowWrapPolicy(QFormLayout::WrapLongRows);
    sl->addWidget(m_settings);
    top->addWidget(settings);

    auto* leave = new QPushButton(tr("Back to live runs"));
    leave->setObjectName(QStringLiteral("replayLeaveButton"));
    leave->setToolTip(tr("Leave the replay: the control panel comes back (Start does the same)"));
    connect(leave, &QPushButton::clicked, this, &ReplayPanel::leaveRequested);
    top->addWidget(leave);
    top->addStretch(1);
    setPosition(0, 0, false, 1);
}

void ReplayPanel::setRecordings(const std::vector<const ReplaySource*>& sources, const std::vector<QColor>& colors)
{
    if (sources.empty())
        return;
    const ReplaySource& r = *sources.front();
    const RecordingHeader& h = r.header();
    m_file->setText(QFileInfo(r.path()).fileName());
    m_file->setToolTip(r.path());
    m_machine->setText(h.cpu.empty() ? QString::fromStdString(h.machine)
                                     : tr("%1 (%2)").arg(QString::fromStdString(h.machine), QString::fromStdString(h.cpu)));
    m_date->setText(QString::fromStdString(h.date));
    m_program->setText(QStringLiteral("%1 %2").arg(QString::fromStdString(h.program), QString::fromStdString(h.gpulab_version)));
    QStringList devices;
    for (const std::string& d : h.devices)
        devices << QString::fromStdString(d);
    m_devices->setText(devices.join(QLatin1Char('\n')));

    QStringList notes;
    if (!r.complete())
        notes << (r.epochsRecorded() > 0
                      ? tr("This recording is incomplete: it ends after epoch %1 (the run was cut short, e.g. killed). "
                           "What it holds is shown.")
                            .arg(r.epochsRecorded())
                      : tr("This recording is incomplete: it ends before the first epoch did (the run was cut short, "
                           "e.g. killed). What it holds is shown."));
    if (!r.settingsProblem().isEmpty())
        notes << tr("Some recorded settings could not be read (%1); they show their defaults.").arg(r.settingsProblem());
    m_notice->setText(notes.join(QLatin1Char('\n')));
    m_notice->setVisible(!notes.isEmpty());

    // the settings, read-only: one row per setting of the table that applies; a job's as it
    // was run (each rank's devices, its ranks)
    auto* form = static_cast<QFormLayout*>(m_settings->layout());
    while (form->rowCount() > 0)
        form->removeRow(0);
    const TrainConfig c = r.jobConfig();
    for (const SettingSpec& spec : run_settings()) {
        if (spec.applies && !spec.applies(c))
            continue;
        auto* v = valueLabel();
        v->setText(recordedValue(spec.name, spec.get(c)));
        form->addRow(settingLabel(spec.label), v);
    }

    QStringList lines;
    for (size_t i = 1; i < sources.size(); ++i) {
        const ReplaySource& o = *sources[i];
        const QColor col = i < colors.size() ? colors[i] : QColor(Qt::black);
        lines << tr("<span style=\"color:%1\">■</span> %2 (%3, %4)%5")
                     .arg(col.name(), QFileInfo(o.path()).fileName().toHtmlEscaped(),
                          QString::fromStdString(o.header().machine).toHtmlEscaped(),
                          QString::fromStdString(o.jobConfig().describe()).toHtmlEscaped(),
                          o.complete() ? QString() : tr(", incomplete"));
    }
    m_overlays->setText(lines.isEmpty() ? QString()
                                        : tr("<b>Overlaid in the Training and Memory views:</b><br>%1").arg(lines.join(QStringLiteral("<br>"))));
    m_overlays->setVisible(!lines.isEmpty());

    const int epochs = std::max(1, r.epochsRecorded() + (r.complete() ? 0 : 1));
    m_epoch->setRange(1, std::max(epochs, r.config().epochs));
    m_epoch->setValue(1);
    const bool steps = !r.stepTimes().empty();
    m_stepBack->setEnabled(steps);
    m_stepNext->setEnabled(steps);
}

void ReplayPanel::setProgress(const QString& text)
{
    m_progress->setText(text);
}

void ReplayPanel::setPosition(double pos, double duration, bool playing, double speed)
{
    m_duration = duration;
    m_play->setText(playing ? tr("Pause") : tr("Play"));
    m_play->setIcon(style()->standardIcon(playing ? QStyle::SP_MediaPause : QStyle::SP_MediaPlay));
    if (!m_slider->isSliderDown()) {
        QSignalBlocker block(m_slider);
        m_slider->setValue(duration > 0 ? static_cast<int>(std::lround(kSliderSteps * pos / duration)) : 0);
    }
    const int i = speeds().indexOf(speed);
    if (i >= 0 && i != m_speed->currentIndex())
        m_speed->setCurrentIndex(i);
    m_time->setText(tr("%1 of %2 (recorded time)").arg(clock(pos), clock(duration)));
}

} // namespace gpulab
