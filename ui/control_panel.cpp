// ControlPanel: builds the form, maps it to a TrainConfig both ways, and keeps Start
// disabled (with the reason shown) while the settings or the data cannot run.
#include "control_panel.h"

#include "core_messages.h"
#include "data/fashion_mnist.h"
#include "device/device_factory.h"
#include "presets.h"
#include "train/settings.h"
#include "whole_combo_box.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QEvent>
#include <QFileDialog>
#include <QFormLayout>
#include <QGridLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QSpinBox>
#include <QStandardItemModel>
#include <QVBoxLayout>

namespace gpulab {

ControlPanel::ControlPanel(QWidget* parent) : QWidget(parent)
{
    buildUi();
    applyPreset(QStringLiteral("book-2"));
    updateEnabled();
}

void ControlPanel::buildUi()
{
    auto* top = new QVBoxLayout(this);
    top->setContentsMargins(8, 6, 8, 6);
    top->setSpacing(5);

    // ---- presets ----
    auto* presetBox = new QGroupBox(tr("Preset"), this);
    auto* pv = new QVBoxLayout(presetBox);
    m_preset = new WholeComboBox(true, presetBox);
    m_preset->setObjectName(QStringLiteral("presetCombo"));
    m_preset->addItem(tr("Custom settings"), QString());
    for (const Preset& p : presets())
        m_preset->addItem(p.title(), p.id);
    m_lesson = new QLabel(presetBox);
    m_lesson->setObjectName(QStringLiteral("lessonLabel"));
    m_lesson->setWordWrap(true);
    m_lesson->setStyleSheet(QStringLiteral("color: #444; font-style: italic;"));
    // room for the longest lesson (three lines) whether or not one is shown, so that the
    // controls below never move when a preset is chosen or left
    m_lesson->setMinimumHeight(3 * m_lesson->fontMetrics().lineSpacing() + 4);
    m_lesson->setAlignment(Qt::AlignLeft | Qt::AlignTop);
    pv->addWidget(m_preset);
    pv->addWidget(m_lesson);
    top->addWidget(presetBox);

    // ---- data ----
    auto* dataBox = new QGroupBox(tr("Data"), this);
    auto* dv = new QVBoxLayout(dataBox);
    m_source = new WholeComboBox(false, dataBox);
    m_source->setObjectName(QStringLiteral("dataSourceCombo"));
    m_source->addItem(tr("Fashion-MNIST files"), int(DatasetLoader::Source::FashionMnist));
    m_source->addItem(tr("Synthetic (no files needed)"), int(DatasetLoader::Source::Synthetic));
    auto* dirRow = new QHBoxLayout;
    m_dir = new QLineEdit(QString::fromStdString(default_fashion_mnist_dir()), dataBox);
    m_dir->setObjectName(QStringLiteral("dataDirEdit"));
    m_dir->setMinimumWidth(m_dir->fontMetrics().horizontalAdvance(m_dir->text()) / 2);
    m_dir->setCursorPosition(0); // a long path shows its beginning, not its last letters
    m_dir->setToolTip(tr("Folder with train-images-idx3-ubyte.gz and the three other IDX files"));
    m_browse = new QPushButton(tr("…"), dataBox);
    m_browse->setToolTip(tr("Choose the Fashion-MNIST folder"));
    m_browse->setFixedWidth(32);
    m_load = new QPushButton(tr("Load"), dataBox);
    m_load->setObjectName(QStringLiteral("loadDataButton"));
    dirRow->addWidget(m_dir, 1);
    dirRow->addWidget(m_browse);
    dirRow->addWidget(m_load);
    m_dataStatus = new QLabel(dataBox);
    m_dataStatus->setObjectName(QStringLiteral("dataStatusLabel"));
    m_dataStatus->setWordWrap(true);
    m_dataStatus->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_useSynthetic = new QPushButton(tr("Use synthetic data instead"), dataBox);
    m_useSynthetic->setObjectName(QStringLiteral("useSyntheticButton"));
    m_useSynthetic->setVisible(false);
    dv->addWidget(m_source);
    dv->addLayout(dirRow);
    dv->addWidget(m_dataStatus);
    dv->addWidget(m_useSynthetic);
    top->addWidget(dataBox);

    // ---- settings ----
    auto* runBox = new QGroupBox(tr("Settings"), this);
    auto* form = new QFormLayout(runBox);
    form->setFieldGrowthPolicy(QFormLayout::AllNonFixedFieldsGrow);
    form->setRowWrapPolicy(QFormLayout::WrapLongRows);

    m_backend = new WholeComboBox(false, runBox);
    m_backend->setObjectName(QStringLiteral("backendCombo"));
    m_backend->addItem(tr("Simulated CPU"), int(Backend::Cpu));
    m_backend->addItem(tr("CUDA GPU"), int(Backend::Cuda));
    Error whyNot;
    m_cudaUsable = cuda_usable(&whyNot);
    m_backendNote = new QLabel(runBox);
    m_backendNote->setWordWrap(true);
    m_backendNote->setStyleSheet(QStringLiteral("color: #666;"));
    if (!m_cudaUsable) {
        if (auto* model = qobject_cast<QStandardItemModel*>(m_backend->model()))
            model->item(1)->setEnabled(false);
        const QString why = coreMessage(whyNot);
        m_backend->setItemData(1, tr("Not available: %1").arg(why), Qt::ToolTipRole);
        m_backend->setToolTip(tr("CUDA is not available here: %1").arg(why));
        m_backendNote->setText(tr("CUDA: %1").arg(why));
    } else {
        m_backendNote->setText(tr("CUDA: GPUs found: %1").arg(cuda_device_count()));
    }
    form->addRow(tr("Backend"), m_backend);
    form->addRow(QString(), m_backendNote);

    m_devices = new QSpinBox(runBox);
    m_devices->setObjectName(QStringLiteral("devicesSpin"));
    m_devices->setRange(1, 8);
    // Ranks beside the devices: a job of ranks x devices
    m_ranks = new QSpinBox(runBox);
    m_ranks->setObjectName(QStringLiteral("ranksSpin"));
    m_ranks->setRange(1, 8);
    const QString ranksHelp =
        tr("Ranks: separate processes on this machine, each with the devices on the left, joined over TCP "
           "loopback with Gloo exactly as separate machines would be. Rank 0 is the lab; the others run "
           "gpulab-cli train. 1 = one process, as usual. Simulated CPU devices only.");
    m_ranks->setToolTip(ranksHelp);
    auto* ranksLabel = new QLabel(tr("Ranks"), runBox);
    ranksLabel->setToolTip(ranksHelp);
    ranksLabel->setBuddy(m_ranks);
    auto* devicesRow = new QHBoxLayout;
    devicesRow->setContentsMargins(0, 0, 0, 0);
    devicesRow->addWidget(m_devices, 1);
    devicesRow->addSpacing(8);
    devicesRow->addWidget(ranksLabel);
    devicesRow->addWidget(m_ranks, 1);
    form->addRow(tr("Devices"), devicesRow);

    m_batch = new QSpinBox(runBox);
    m_batch->setObjectName(QStringLiteral("batchSpin"));
    m_batch->setRange(1, 65536);
    m_batch->setSingleStep(32);
    form->addRow(tr("Batch size"), m_batch);

    m_lr = new QDoubleSpinBox(runBox);
    m_lr->setObjectName(QStringLiteral("lrSpin"));
    m_lr->setDecimals(3);
    m_lr->setRange(0.0, 1000.0); // high enough to show a class what divergence looks like
    m_lr->setSingleStep(0.05);
    form->addRow(tr("Learning rate"), m_lr);

    m_epochs = new QSpinBox(runBox);
    m_epochs->setObjectName(QStringLiteral("epochsSpin"));
    m_epochs->setRange(1, 100);
    form->addRow(tr("Epochs"), m_epochs);

    auto* modeRow = new QHBoxLayout;
    m_mode = new WholeComboBox(false, runBox);
    m_mode->setObjectName(QStringLiteral("modeCombo"));
    m_mode->addItem(tr("sync (wait every minibatch)"), int(ExecMode::Sync));
    m_mode->addItem(tr("async (never wait)"), int(ExecMode::Async));
    m_mode->addItem(tr("bounded async"), int(ExecMode::Bounded));
    m_inflight = new QSpinBox(runBox);
    m_inflight->setObjectName(QStringLiteral("inflightSpin"));
    m_inflight->setRange(0, 64);
    m_inflight->setPrefix(tr("k = "));
    m_inflight->setToolTip(tr("Bounded async: at most k minibatches in flight"));
    modeRow->addWidget(m_mode, 1);
    modeRow->addWidget(m_inflight);
    form->addRow(tr("Execution"), modeRow);

    m_allreduce = new WholeComboBox(false, runBox);
    m_allreduce->setObjectName(QStringLiteral("allreduceCombo"));
    m_allreduce->addItem(tr("naive (the book's: via device 0)"), int(AllreduceKind::Naive));
    m_allreduce->addItem(tr("ring"), int(AllreduceKind::Ring));
    form->addRow(tr("Allreduce"), m_allreduce);

    // the modelled link between the simulated devices, and "as if the model were bigger"
    m_link = new QComboBox(runBox);
    m_link->setObjectName(QStringLiteral("linkCombo"));
    m_link->setEditable(true);
    m_link->setInsertPolicy(QComboBox::NoInsert);
    for (const std::string& name : link_names()) {
        // the command line's word, with the panel's own words as its tooltip (and in the note)
        m_link->addItem(QString::fromStdString(name));
        m_link->setItemData(m_link->count() - 1, settingValueWords("link", name), Qt::ToolTipRole);
    }
    m_link->setToolTip(tr("The modelled interconnect between the simulated devices: each allreduce transfer "
                          "lasts at least latency + bytes / bandwidth. Type custom:LAT_US,GB_PER_S for your "
                          "own, e.g. custom:2000,0.05"));
    form->addRow(tr("Link"), m_link);
    m_linkParams = new QComboBox(runBox);
    m_linkParams->setObjectName(QStringLiteral("linkParamsCombo"));
    m_linkParams->setEditable(true);
    m_linkParams->setInsertPolicy(QComboBox::NoInsert);
    for (const ModelSize& m : model_sizes()) {
        m_linkParams->addItem(QString::fromLatin1(m.name));
        m_linkParams->setItemData(m_linkParams->count() - 1, settingValueWords("link_params", m.name), Qt::ToolTipRole);
    }
    m_linkParams->setToolTip(tr("As if the model were bigger: the link charges each transfer as if the gradients "
                                "had this many parameters (resnet50 = 25.6 M, gpt2-small = 124 M, or a count "
                                "such as 50M). The training stays LeNet's; such steps are labelled modelled."));
    form->addRow(tr("Link charges as"), m_linkParams);
    m_linkNote = new QLabel(runBox);
    m_linkNote->setObjectName(QStringLiteral("linkNote"));
    m_linkNote->setWordWrap(true);
    m_linkNote->setStyleSheet(QStringLiteral("color: #666;"));
    form->addRow(QString(), m_linkNote);

    m_subset = new QSpinBox(runBox);
    m_subset->setObjectName(QStringLiteral("subsetSpin"));
    m_subset->setRange(0, 60000);
    m_subset->setSingleStep(1000);
    m_subset->setSpecialValueText(tr("all"));
    m_subset->setToolTip(tr("Train on the first N images only, for a quick demo (0 = all)"));
    form->addRow(tr("Training images"), m_subset);

    m_testSubset = new QSpinBox(runBox);
    m_testSubset->setObjectName(QStringLiteral("testSubsetSpin"));
    m_testSubset->setRange(0, 10000);
    m_testSubset->setSingleStep(1000);
    m_testSubset->setSpecialValueText(tr("all"));
    m_testSubset->setToolTip(tr("Evaluate on the first N test images only (0 = all)"));
    form->addRow(tr("Test images"), m_testSubset);

    m_budget = new QSpinBox(runBox);
    m_budget->setObjectName(QStringLiteral("budgetSpin"));
    m_budget->setRange(1, 1 << 20);
    m_budget->setSingleStep(64);
    m_budget->setSuffix(tr(" MiB"));
    m_budget->setToolTip(tr("Memory of each simulated device; an allocation beyond it fails"));
    form->addRow(tr("Memory per device"), m_budget);

    m_seed = new QSpinBox(runBox);
    m_seed->setObjectName(QStringLiteral("seedSpin"));
    m_seed->setRange(0, 1 << 30);
    form->addRow(tr("Seed"), m_seed);
    top->addWidget(runBox);

    // Ranges from the settings table (the views show at most 8 devices); check() explains
    // whatever the table's cross-setting rules refuse, and k = 0, which the box allows so
    // that a class sees why bounded mode needs at least one minibatch in flight.
    auto range = [](QSpinBox* box, const char* name, double cap, double scale = 1) {
        const SettingSpec* spec = find_setting(name);
        box->setRange(static_cast<int>(spec->min / scale), static_cast<int>(std::min(spec->max / scale, cap)));
    };
    range(m_devices, "devices", 8);
    range(m_ranks, "ranks", 8);
    range(m_batch, "batch_size", 65536);
    range(m_epochs, "epochs", 1000);
    range(m_subset, "subset", 60000);
    range(m_testSubset, "test_subset", 10000);
    range(m_budget, "memory_budget", 1 << 20, double(1 << 20));
    range(m_seed, "seed", 1 << 30);

    m_problem = new QLabel(this);
    m_problem->setObjectName(QStringLiteral("validationLabel"));
    m_problem->setWordWrap(true);
    m_problem->setStyleSheet(QStringLiteral("color: #b00020; font-weight: bold;"));
    top->addWidget(m_problem);

    // ---- buttons ----
    auto* buttons = new QGridLayout;
    QFont big = font();
    big.setPointSizeF(big.pointSizeF() * 1.15);
    big.setBold(true);
    m_start = new QPushButton(tr("Start"), this);
    m_start->setObjectName(QStringLiteral("startButton"));
    m_pause = new QPushButton(tr("Pause"), this);
    m_pause->setObjectName(QStringLiteral("pauseButton"));
    m_step = new QPushButton(tr("Step"), this);
    m_step->setObjectName(QStringLiteral("stepButton"));
    m_stop = new QPushButton(tr("Stop"), this);
    m_stop->setObjectName(QStringLiteral("stopButton"));
    for (QPushButton* b : {m_start, m_pause, m_step, m_stop}) {
        b->setFont(big);
        b->setMinimumHeight(36);
    }
    m_start->setToolTip(tr("Start a run with these settings"));
    m_stop->setToolTip(tr("Stop the run (what is queued on the devices is dropped)"));
    buttons->addWidget(m_start, 0, 0);
    buttons->addWidget(m_pause, 0, 1);
    buttons->addWidget(m_step, 1, 0);
    buttons->addWidget(m_stop, 1, 1);
    top->addLayout(buttons);
    m_stepMode = new QCheckBox(tr("Step through allreduce"), this);
    m_stepMode->setObjectName(QStringLiteral("stepModeCheck"));
    m_stepMode->setToolTip(tr("The run waits before every allreduce step until Step is pressed"));
    top->addWidget(m_stepMode);

    // ---- progress ----
    m_progress = new QProgressBar(this);
    m_progress->setObjectName(QStringLiteral("progressBar"));
    m_progress->setRange(0, 1000);
    m_progress->setValue(0);
    m_progress->setTextVisible(true);
    m_progress->setFormat(QStringLiteral("%p%"));
    m_progressText = new QLabel(tr("Ready"), this);
    m_progressText->setObjectName(QStringLiteral("progressLabel"));
    m_progressText->setWordWrap(true);
    top->addWidget(m_progress);
    top->addWidget(m_progressText);
    top->addStretch(1);

    // ---- wiring ----
    connect(m_preset, &QComboBox::activated, this, &ControlPanel::onPresetChosen);
    connect(m_preset, &QComboBox::currentIndexChanged, this, [this] {
        if (m_preset->currentData().toString().isEmpty()) // however it was set: no preset's lesson stays
            m_lesson->setText(customText());
    });
    for (QSpinBox* s : {m_devices, m_ranks, m_batch, m_epochs, m_inflight, m_subset, m_testSubset, m_budget, m_seed})
        connect(s, &QSpinBox::valueChanged, this, &ControlPanel::onSettingChanged);
    connect(m_lr, &QDoubleSpinBox::valueChanged, this, &ControlPanel::onSettingChanged);
    for (QComboBox* c : {m_backend, m_mode, m_allreduce})
        connect(c, &QComboBox::currentIndexChanged, this, &ControlPanel::onSettingChanged);
    for (QComboBox* c : {m_link, m_linkParams})
        connect(c, &QComboBox::currentTextChanged, this, &ControlPanel::onSettingChanged);
    connect(m_start, &QPushButton::clicked, this, &ControlPanel::startClicked);
    connect(m_pause, &QPushButton::clicked, this, &ControlPanel::pauseClicked);
    connect(m_step, &QPushButton::clicked, this, &ControlPanel::stepClicked);
    connect(m_stop, &QPushButton::clicked, this, &ControlPanel::stopClicked);
    connect(m_stepMode, &QCheckBox::toggled, this, [this](bool on) {
        updateEnabled();
        emit stepModeToggled(on);
    });
    connect(m_source, &QComboBox::currentIndexChanged, this, [this] {
        const bool files = dataSource() == DatasetLoader::Source::FashionMnist;
        m_dir->setEnabled(files);
        m_browse->setEnabled(files);
        emit loadDataRequested();
    });
    connect(m_load, &QPushButton::clicked, this, &ControlPanel::loadDataRequested);
    connect(m_dir, &QLineEdit::returnPressed, this, &ControlPanel::loadDataRequested);
    connect(m_browse, &QPushButton::clicked, this, [this] {
        const QString d = QFileDialog::getExistingDirectory(this, tr("Fashion-MNIST folder"), m_dir->text());
        if (!d.isEmpty()) {
            setDataDir(d);
            emit loadDataRequested();
        }
    });
    connect(m_useSynthetic, &QPushButton::clicked, this,
            [this] { setDataSource(DatasetLoader::Source::Synthetic); });
}

TrainConfig ControlPanel::config() const
{
    TrainConfig c = m_base; // threads per device, data placement, engine: no widget
    c.backend = static_cast<Backend>(m_backend->currentData().toInt());
    c.devices = m_devices->value();
    c.ranks = m_ranks->value();
    c.batch_size = m_batch->value();
    c.lr = m_lr->value();
    c.epochs = m_epochs->value();
    c.mode = static_cast<ExecMode>(m_mode->currentData().toInt());
    c.inflight = m_inflight->value();
    c.allreduce = static_cast<AllreduceKind>(m_allreduce->currentData().toInt());
    // text that cannot be read keeps the last good value; problem() says what is wrong
    try {
        c.link = parse_link(m_link->currentText().trimmed().toStdString());
    } catch (const std::invalid_argument&) {
    }
    try {
        c.link_params = c.link.none() ? 0 : parse_link_params(m_linkParams->currentText().trimmed().toStdString());
    } catch (const std::invalid_argument&) {
    }
    c.train_subset = m_subset->value();
    c.test_subset = m_testSubset->value();
    c.memory_budget = static_cast<int64_t>(m_budget->value()) << 20;
    c.seed = static_cast<uint64_t>(m_seed->value());
    c.step_mode = m_stepMode->isChecked();
    return c;
}

void ControlPanel::setConfig(const TrainConfig& c)
{
    m_applying = true;
    m_base = c;
    auto pick = [](QComboBox* box, int value) {
        const int i = box->findData(value);
        if (i >= 0)
            box->setCurrentIndex(i);
    };
    pick(m_backend, int(c.backend == Backend::Auto ? Backend::Cpu : c.backend));
    m_devices->setValue(c.devices);
    m_ranks->setValue(c.ranks);
    m_batch->setValue(static_cast<int>(c.batch_size));
    m_lr->setValue(c.lr);
    m_epochs->setValue(c.epochs);
    pick(m_mode, int(c.mode));
    m_inflight->setValue(c.inflight);
    pick(m_allreduce, int(c.allreduce));
    m_link->setCurrentText(QString::fromStdString(c.link.name));
    m_linkParams->setCurrentText(QString::fromStdString(link_params_text(c.link_params)));
    m_subset->setValue(static_cast<int>(c.train_subset));
    m_testSubset->setValue(static_cast<int>(c.test_subset));
    m_budget->setValue(static_cast<int>(c.memory_budget >> 20));
    m_seed->setValue(static_cast<int>(c.seed));
    m_applying = false;
    onSettingChanged();
}

bool ControlPanel::applyPreset(const QString& id)
{
    const Preset* p = findPreset(id);
    if (!p)
        return false;
    setConfig(p->config);
    setStepMode(p->stepMode);
    m_preset->setCurrentIndex(m_preset->findData(id));
    m_lesson->setText(p->lesson());
    return true;
}

void ControlPanel::onPresetChosen(int index)
{
    const QString id = m_preset->itemData(index).toString();
    if (id.isEmpty()) {
        m_lesson->setText(customText());
        return;
    }
    applyPreset(id);
}

void ControlPanel::onSettingChanged()
{
    if (m_applying)
        return;
    // An edit that leaves the preset's values makes the settings custom.
    const QString id = m_preset->currentData().toString();
    if (const Preset* p = findPreset(id)) {
        const TrainConfig a = p->config, b = config();
        const bool same = a.backend == b.backend && a.devices == b.devices && a.ranks == b.ranks &&
                          a.batch_size == b.batch_size && qFuzzyCompare(a.lr, b.lr) &&
                          a.epochs == b.epochs && a.mode == b.mode &&
                          (a.mode != ExecMode::Bounded || a.inflight == b.inflight) &&
                          a.allreduce == b.allreduce && a.link.name == b.link.name &&
                          a.link_params == b.link_params && a.memory_budget == b.memory_budget &&
                          a.seed == b.seed && a.train_subset == b.train_subset &&
                          a.test_subset == b.test_subset;
        if (!same) {
            m_preset->setCurrentIndex(0);
            m_lesson->setText(customText());
        }
    }
    updateEnabled();
    emit settingsChanged();
}

void ControlPanel::updateLinkNote()
{
    // what the chosen link stands for, or why its text cannot be read (then Start stays off)
    m_linkProblem.clear();
    LinkModel link;
    try {
        link = parse_link(m_link->currentText().trimmed().toStdString());
    } catch (const std::invalid_argument&) {
        m_linkProblem = tr("Link: choose a named link or type custom:LAT_US,GB_PER_S with a latency >= 0 µs "
                           "and a bandwidth > 0 GB/s, e.g. custom:2000,0.05");
    }
    int64_t params = 0;
    if (m_linkProblem.isEmpty() && !link.none()) {
        try {
            params = parse_link_params(m_linkParams->currentText().trimmed().toStdString());
        } catch (const std::invalid_argument&) {
            m_linkProblem = tr("Link charges as: choose lenet, resnet50, gpt2-small or type a parameter count "
                               "such as 50M");
        }
    }
    QString note;
    if (!m_linkProblem.isEmpty())
        note = QString();
    else if (link.none())
        note = tr("No link model: transfers cost what a memcpy costs.");
    else {
        note = tr("α = %1 µs, β = %2 GB/s per direction (a model)")
                   .arg(link.latency_us, 0, 'g', 4)
                   .arg(link.gb_per_s, 0, 'g', 4);
        const QString words = settingValueWords("link", link.name);
        if (!words.isEmpty() && !link.name.starts_with("custom:"))
            note = words + QStringLiteral(": ") + note;
        if (params > 0)
            note += QStringLiteral("; ") +
                    tr("each gradient charged as %1 MB, not LeNet's 0.52 MB (modelled)").arg(4.0 * double(params) / 1e6, 0, 'f', 1);
    }
    m_linkNote->setText(note);
    m_linkNote->setVisible(!note.isEmpty());
}

QString ControlPanel::customText() const
{
    return tr("Your own settings: choose a preset above to start from one of the lessons.");
}

bool ControlPanel::stepMode() const
{
    return m_stepMode->isChecked();
}

void ControlPanel::setStepMode(bool on)
{
    m_stepMode->setChecked(on);
}

QString ControlPanel::problem() const
{
    if (m_dataLoading)
        return tr("Loading the data…");
    if (!m_dataReady)
        return m_dataText.isEmpty() ? tr("No data loaded: choose a folder or the synthetic data")
                                    : tr("No data: %1").arg(m_dataText);
    if (!m_linkProblem.isEmpty())
        return m_linkProblem;
    const TrainConfig c = config();
    if (c.backend == Backend::Cuda && !m_cudaUsable)
        return tr("The CUDA backend is not available here; choose Simulated CPU");
    return coreMessage(check_first(c));
}

DatasetLoader::Source ControlPanel::dataSource() const
{
    return static_cast<DatasetLoader::Source>(m_source->currentData().toInt());
}

QString ControlPanel::dataDir() const
{
    return m_dir->text();
}

void ControlPanel::setDataSource(DatasetLoader::Source s)
{
    m_source->setCurrentIndex(m_source->findData(int(s))); // emits loadDataRequested on change
}

void ControlPanel::setDataDir(const QString& dir)
{
    m_dir->setText(dir);
    m_dir->setCursorPosition(0);
}

void ControlPanel::setDataState(bool loading, bool ready, const QString& text, bool offerSynthetic)
{
    m_dataLoading = loading;
    m_dataReady = ready;
    m_dataText = text;
    if (loading) {
        m_dataStatus->setStyleSheet(QStringLiteral("color: #444;"));
        m_dataStatus->setText(text.isEmpty() ? tr("Loading…") : text);
    } else if (ready) {
        m_dataStatus->setStyleSheet(QStringLiteral("color: #1b5e20;"));
        m_dataStatus->setText(text);
    } else {
        m_dataStatus->setStyleSheet(QStringLiteral("color: #b00020;"));
        m_dataStatus->setText(text);
    }
    m_useSynthetic->setVisible(offerSynthetic);
    updateEnabled();
}

void ControlPanel::setRunState(RunController::State s)
{
    m_state = s;
    updateEnabled();
}

void ControlPanel::setProgress(int permille, const QString& text)
{
    m_progress->setValue(std::clamp(permille, 0, 1000));
    m_progressText->setText(text);
}

void ControlPanel::updateEnabled()
{
    using S = RunController::State;
    const bool idle = m_state == S::Idle;
    updateLinkNote();
    const QString why = problem();
    m_problem->setText(idle ? why : QString());
    m_problem->setVisible(idle && !why.isEmpty());

    for (QWidget* w : {static_cast<QWidget*>(m_preset), static_cast<QWidget*>(m_backend),
                       static_cast<QWidget*>(m_devices), static_cast<QWidget*>(m_ranks),
                       static_cast<QWidget*>(m_batch),
                       static_cast<QWidget*>(m_lr), static_cast<QWidget*>(m_epochs),
                       static_cast<QWidget*>(m_mode), static_cast<QWidget*>(m_allreduce),
                       static_cast<QWidget*>(m_link),
                       static_cast<QWidget*>(m_subset), static_cast<QWidget*>(m_testSubset),
                       static_cast<QWidget*>(m_budget), static_cast<QWidget*>(m_seed),
                       static_cast<QWidget*>(m_source), static_cast<QWidget*>(m_load),
                       static_cast<QWidget*>(m_useSynthetic)})
        w->setEnabled(idle);
    const bool files = dataSource() == DatasetLoader::Source::FashionMnist;
    m_dir->setEnabled(idle && files);
    m_browse->setEnabled(idle && files);
    m_inflight->setEnabled(idle && m_mode->currentData().toInt() == int(ExecMode::Bounded));
    m_linkParams->setEnabled(idle && m_link->currentText().trimmed() != QLatin1String("none"));

    m_start->setEnabled(idle && why.isEmpty());
    // A job of several ranks does not pause: the other ranks would wait in their allreduce
    // until it gave up. The disabled buttons say why.
    const bool ranked = m_ranks->value() > 1;
    m_pause->setToolTip(ranked ? tr("A job of several ranks cannot pause: the other ranks would wait in their allreduce "
                                    "until they gave up. Choose 1 rank to pause and step")
                               : tr("Pause at the next minibatch boundary, or resume"));
    m_step->setToolTip(ranked ? tr("A job of several ranks cannot step one minibatch at a time: the other ranks would "
                                   "wait in their allreduce until they gave up. Choose 1 rank to step")
                              : tr("While paused: run one minibatch. With \"step through allreduce\": one allreduce step"));
    m_pause->setEnabled(!ranked && (m_state == S::Running || m_state == S::Paused));
    m_pause->setText(m_state == S::Paused ? tr("Resume") : tr("Pause"));
    m_step->setEnabled(!ranked && (m_state == S::Paused || (m_state == S::Running && m_stepMode->isChecked())));
    m_stop->setEnabled(m_state == S::Running || m_state == S::Paused);
}

} // namespace gpulab
