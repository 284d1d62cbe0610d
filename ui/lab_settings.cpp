// The lab's settings between sessions: what is kept, how a damaged file is set aside.
#include "lab_settings.h"

#include "control_panel.h"
#include "lab_view.h"
#include "main_window.h"
#include "presets.h"
#include "rank/rank_group.h"
#include "train/settings.h"

#include <QComboBox>
#include <QCoreApplication>
#include <QDoubleSpinBox>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QSettings>
#include <QSpinBox>
#include <QSplitter>
#include <QStandardPaths>
#include <QStringList>
#include <QTabWidget>

#include <functional>
#include <stdexcept>
#include <utility>

namespace gpulab {

namespace {

// Why a file cannot be read at all (not INI, not ours, another version), or empty when its
// values can be. The words are MainWindow's: they end up in its messages.
QString distrust(const QSettings& s)
{
    if (s.status() != QSettings::NoError)
        return QCoreApplication::translate("gpulab::MainWindow", "it is not a settings file (INI) that can be read");
    const QString version = s.value(QStringLiteral("version")).toString();
    bool ok = false;
    const int v = version.toInt(&ok);
    if (version.isEmpty())
        return QCoreApplication::translate("gpulab::MainWindow", "it is not gpulab's: it has no version");
    if (ok && v > kSettingsVersion)
        return QCoreApplication::translate("gpulab::MainWindow",
                                           "it comes from a newer gpulab (version %1; this one reads version %2)")
            .arg(v)
            .arg(kSettingsVersion);
    if (!ok || v != kSettingsVersion)
        return QCoreApplication::translate("gpulab::MainWindow",
                                           "its version \"%1\" is not one this gpulab reads (%2)")
            .arg(version)
            .arg(kSettingsVersion);
    return {};
}

// A run setting in the file that does not read, or that its control cannot hold as it is.
struct BadValue {
    QString key;     // "run/devices"
    QString value;   // as written in the file
    QString allowed; // what the control takes: "1 to 8", "one of naive, ring"
};

// Whether this build runs jobs of several ranks; a test may answer for it.
std::function<bool()>& ranksAvailableOverride()
{
    static std::function<bool()> f;
    return f;
}

bool labRanksAvailable()
{
    return ranksAvailableOverride() ? ranksAvailableOverride()() : ranks_available();
}

const char* sourceName(DatasetLoader::Source s)
{
    return s == DatasetLoader::Source::Synthetic ? "synthetic" : "fashion-mnist";
}

} // namespace

void setLabRanksAvailableForTesting(std::function<bool()> available)
{
    ranksAvailableOverride() = std::move(available);
}

QString labSettingsPath()
{
    const QString env = qEnvironmentVariable("GPULAB_SETTINGS");
    if (!env.isEmpty())
        return env;
    return QDir(QStandardPaths::writableLocation(QStandardPaths::GenericConfigLocation))
        .filePath(QStringLiteral("gpulab/gpulab.conf"));
}

QString savedLanguage(const QString& path)
{
    if (!QFileInfo::exists(path))
        return {};
    QSettings s(path, QSettings::IniFormat);
    if (!distrust(s).isEmpty())
        return {};
    const QString lang = s.value(QStringLiteral("ui/language")).toString();
    return lang == QLatin1String("en") || lang == QLatin1String("zh_CN") ? lang : QString();
}

bool MainWindow::restoreSettings(const QString& path, QString* note)
{
    m_settingsPath = path;
    if (!QFileInfo::exists(path))
        return true; // the first start: the defaults, saved when the window closes
    QString damage;    // why the file is set aside (empty: it is kept)
    QString fallback;  // what starts from the defaults then (the rest was read)
    QString ranksNote; // the saved ranks could not be kept: why
    {
        QSettings s(path, QSettings::IniFormat);
        damage = distrust(s);
        if (!damage.isEmpty())
            fallback = tr("the lab starts with its defaults");
        else {
            // ---- the run's settings: a preset, or the controls one by one ----
            // Each value must read and fit its control as it is: a value the panel would clamp
            // or round into another one damages the file. A combination that cannot run (a batch
            // smaller than the devices, k = 0 in bounded mode...) comes back as it was: the panel
            // explains it under the controls and Start stays off until the teacher changes it.
            const QString preset = s.value(QStringLiteral("run/preset")).toString();
            bool restored = false;
            if (!preset.isEmpty() && findPreset(preset))
                restored = m_panel->applyPreset(preset);
            if (!restored && s.contains(QStringLiteral("run/devices"))) {
                TrainConfig c = m_panel->config();
                try {
                    auto text = [&](const QString& k) {
                        // INI reads an unquoted "custom:200,1" as a list: join it back
                        const QVariant v = s.value(k);
                        return v.typeId() == QMetaType::QStringList ? v.toStringList().join(QLatin1Char(','))
                                                                    : v.toString();
                    };
                    // a whole number that its spin box holds (memory_budget: bytes, the box MiB)
                    auto integer = [&](const char* key, const char* box, long long fallback, long long unit = 1) {
                        const QString k = QLatin1String(key);
                        if (!s.contains(k))
                            return fallback;
                        bool ok = false;
                        const long long v = s.value(k).toLongLong(&ok);
                        if (!ok)
                            throw BadValue{k, text(k), tr("a whole number")};
                        const auto* b = m_panel->findChild<QSpinBox*>(QLatin1String(box));
                        Q_ASSERT(b);
                        if (b && (v % unit != 0 || v / unit < b->minimum() || v / unit > b->maximum())) {
                            if (unit == 1)
                                throw BadValue{k, text(k), tr("%1 to %2").arg(b->minimum()).arg(b->maximum())};
                            throw BadValue{k, text(k), tr("%1 to %2 MiB, in bytes (a multiple of %3)")
                                                           .arg(b->minimum())
                                                           .arg(b->maximum())
                                                           .arg(unit)};
                        }
                        return v;
                    };
                    // a word its combo box offers
                    auto choice = [&](const char* key, const char* box, auto parse, auto nameOf, auto fallback) {
                        using T = decltype(fallback);
                        const QString k = QLatin1String(key);
                        if (!s.contains(k))
                            return fallback;
                        const auto* b = m_panel->findChild<QComboBox*>(QLatin1String(box));
                        Q_ASSERT(b);
                        QStringList words;
                        for (int i = 0; b && i < b->count(); ++i)
                            words << QString::fromLatin1(nameOf(static_cast<T>(b->itemData(i).toInt())));
                        const QString allowed = tr("one of %1").arg(words.join(QStringLiteral(", ")));
                        T v = fallback;
                        try {
                            v = parse(text(k).trimmed().toStdString());
                        } catch (const std::invalid_argument&) {
                            throw BadValue{k, text(k), allowed};
                        }
                        if (b && b->findData(int(v)) < 0)
                            throw BadValue{k, text(k), allowed};
                        return v;
                    };
                    c.backend = choice("run/backend", "backendCombo", parse_backend, backend_name, c.backend);
                    c.devices = static_cast<int>(integer("run/devices", "devicesSpin", c.devices));
                    c.ranks = static_cast<int>(integer("run/ranks", "ranksSpin", c.ranks));
                    c.batch_size = integer("run/batch_size", "batchSpin", c.batch_size);
                    if (const QString k = QStringLiteral("run/lr"); s.contains(k)) {
                        bool ok = false;
                        const double v = s.value(k).toDouble(&ok);
                        if (!ok)
                            throw BadValue{k, text(k), tr("a number")};
                        // the box rounds to its decimals as QDoubleSpinBox does (NaN fails the range)
                        const auto* b = m_panel->findChild<QDoubleSpinBox*>(QStringLiteral("lrSpin"));
                        Q_ASSERT(b);
                        if (b && !(v >= b->minimum() && v <= b->maximum() &&
                                   QString::number(v, 'f', b->decimals()).toDouble() == v))
                            throw BadValue{k, text(k), tr("%1 to %2, with at most %3 decimals")
                                                           .arg(b->minimum())
                                                           .arg(b->maximum())
                                                           .arg(b->decimals())};
                        c.lr = v;
                    }
                    c.epochs = static_cast<int>(integer("run/epochs", "epochsSpin", c.epochs));
                    c.mode = choice("run/mode", "modeCombo", parse_exec_mode, exec_mode_name, c.mode);
                    c.inflight = static_cast<int>(integer("run/inflight", "inflightSpin", c.inflight));
                    c.allreduce = choice("run/allreduce", "allreduceCombo", parse_allreduce, allreduce_name, c.allreduce);
                    if (const QString k = QStringLiteral("run/link"); s.contains(k)) {
                        try {
                            c.link = parse_link(text(k).trimmed().toStdString()); // the box takes any link that reads
                        } catch (const std::invalid_argument&) {
                            QStringList names;
                            for (const std::string& n : link_names())
                                names << QString::fromStdString(n);
                            throw BadValue{k, text(k), tr("one of %1, or custom:LAT_US,GB_PER_S")
                                                           .arg(names.join(QStringLiteral(", ")))};
                        }
                    }
                    if (const QString k = QStringLiteral("run/link_params"); s.contains(k)) {
                        try {
                            c.link_params = parse_link_params(text(k).trimmed().toStdString());
                        } catch (const std::invalid_argument&) {
                            throw BadValue{k, text(k), tr("lenet, resnet50, gpt2-small or a parameter count such as 50M")};
                        }
                    }
                    c.seed = static_cast<uint64_t>(integer("run/seed", "seedSpin", static_cast<long long>(c.seed)));
                    c.train_subset = integer("run/subset", "subsetSpin", c.train_subset);
                    c.test_subset = integer("run/test_subset", "testSubsetSpin", c.test_subset);
                    c.memory_budget = integer("run/memory_budget", "budgetSpin", c.memory_budget, 1 << 20);
                    // A job of ranks saved by a build with Gloo, read by one without: the
                    // rest of the settings still hold, with 1 rank.
                    const int savedRanks = c.ranks;
                    if (c.ranks > 1 && !labRanksAvailable())
                        c.ranks = 1;
                    m_panel->setConfig(c);
                    m_panel->setStepMode(s.value(QStringLiteral("run/step_mode")).toBool());
                    if (c.ranks != savedRanks)
                        ranksNote = tr("The saved settings ask for a job of %1 ranks, but this build of the lab has "
                                       "no ranks (it was built without Gloo), so it starts with 1 rank and keeps "
                                       "the other settings.")
                                        .arg(savedRanks);
                } catch (const BadValue& bad) {
                    // a value we cannot use: keep the defaults
                    damage = tr("%1 = \"%2\": the panel takes %3").arg(bad.key, bad.value, bad.allowed);
                    fallback = tr("the run settings start from their defaults");
                }
            }
            // ---- data ----
            const QString source = s.value(QStringLiteral("data/source")).toString();
            const QString dir = s.value(QStringLiteral("data/dir")).toString();
            bool reload = false;
            if (source == QLatin1String("synthetic") && m_panel->dataSource() != DatasetLoader::Source::Synthetic) {
                m_panel->setDataSource(DatasetLoader::Source::Synthetic);
                reload = true;
            } else if (source == QLatin1String("fashion-mnist") && !dir.isEmpty() && dir != m_panel->dataDir()) {
                m_panel->setDataDir(dir);
                reload = true;
            }
            if (!dir.isEmpty())
                m_panel->setDataDir(dir);
            if (reload)
                loadData();
            // ---- the window ----
            if (s.contains(QStringLiteral("window/geometry")) &&
                !restoreGeometry(s.value(QStringLiteral("window/geometry")).toByteArray()) && damage.isEmpty()) {
                damage = tr("window/geometry is not a window geometry");
                fallback = tr("the window starts at its default size");
            }
            if (s.contains(QStringLiteral("window/state")))
                restoreState(s.value(QStringLiteral("window/state")).toByteArray());
            if (m_split && s.contains(QStringLiteral("window/splitter")))
                m_split->restoreState(s.value(QStringLiteral("window/splitter")).toByteArray());
            setPanelCollapsed(s.value(QStringLiteral("window/panel_collapsed")).toBool());
            m_savedProjector = s.value(QStringLiteral("window/projector")).toBool();
            const QString view = s.value(QStringLiteral("window/view")).toString();
            if (!view.isEmpty())
                showView(view);
        }
    }
    if (!damage.isEmpty()) {
        // Set it aside (a teacher may want to look at it) and start from what was read, the
        // defaults for the rest; the next save writes a fresh file.
        const QString aside = path + QStringLiteral(".damaged");
        QFile::remove(aside);
        QFile::rename(path, aside);
        if (note)
            *note = tr("The settings file %1 could not be read (%2); it was set aside as %3 and %4.")
                        .arg(path, damage, aside, fallback);
        showMessage(tr("The settings file could not be read (%1); %2 (the old file is kept as %3).")
                        .arg(damage, fallback, aside),
                    true);
    } else if (!ranksNote.isEmpty()) {
        showMessage(ranksNote, false);
    }
    return damage.isEmpty();
}

bool MainWindow::saveSettings(QString* error) const
{
    if (m_settingsPath.isEmpty())
        return true;
    QDir().mkpath(QFileInfo(m_settingsPath).absolutePath());
    QSettings s(m_settingsPath, QSettings::IniFormat);
    s.clear();
    s.setValue(QStringLiteral("version"), kSettingsVersion);
    const TrainConfig c = m_panel->config();
    const auto* preset = m_panel->findChild<QComboBox*>(QStringLiteral("presetCombo"));
    s.setValue(QStringLiteral("run/preset"), preset ? preset->currentData().toString() : QString());
    s.setValue(QStringLiteral("run/backend"), QString::fromLatin1(backend_name(c.backend)));
    s.setValue(QStringLiteral("run/devices"), c.devices);
    s.setValue(QStringLiteral("run/ranks"), c.ranks);
    s.setValue(QStringLiteral("run/batch_size"), static_cast<qlonglong>(c.batch_size));
    s.setValue(QStringLiteral("run/lr"), c.lr);
    s.setValue(QStringLiteral("run/epochs"), c.epochs);
    s.setValue(QStringLiteral("run/mode"), QString::fromLatin1(exec_mode_name(c.mode)));
    s.setValue(QStringLiteral("run/inflight"), c.inflight);
    s.setValue(QStringLiteral("run/allreduce"), QString::fromLatin1(allreduce_name(c.allreduce)));
    s.setValue(QStringLiteral("run/link"), QString::fromStdString(c.link.name));
    s.setValue(QStringLiteral("run/link_params"), QString::fromStdString(link_params_text(c.link_params)));
    s.setValue(QStringLiteral("run/seed"), static_cast<qulonglong>(c.seed));
    s.setValue(QStringLiteral("run/subset"), static_cast<qlonglong>(c.train_subset));
    s.setValue(QStringLiteral("run/test_subset"), static_cast<qlonglong>(c.test_subset));
    s.setValue(QStringLiteral("run/memory_budget"), static_cast<qlonglong>(c.memory_budget));
    s.setValue(QStringLiteral("run/step_mode"), m_panel->stepMode());
    s.setValue(QStringLiteral("data/source"), QString::fromLatin1(sourceName(m_panel->dataSource())));
    s.setValue(QStringLiteral("data/dir"), m_panel->dataDir());
    s.setValue(QStringLiteral("window/geometry"), m_projector ? m_normalGeometry : saveGeometry());
    s.setValue(QStringLiteral("window/projector"), m_projector);
    s.setValue(QStringLiteral("window/panel_collapsed"), m_projector ? m_normalCollapsed : panelCollapsed());
    s.setValue(QStringLiteral("window/state"), saveState());
    if (m_split)
        s.setValue(QStringLiteral("window/splitter"), m_projector ? m_normalSplit : m_split->saveState());
    if (auto* v = qobject_cast<LabView*>(m_tabs->currentWidget()))
        s.setValue(QStringLiteral("window/view"), v->viewId());
    if (!m_language.isEmpty())
        s.setValue(QStringLiteral("ui/language"), m_language);
    s.sync();
    if (s.status() != QSettings::NoError) {
        if (error)
            *error = tr("cannot write the settings to %1").arg(m_settingsPath);
        return false;
    }
    return true;
}

} // namespace gpulab
