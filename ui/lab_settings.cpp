// The lab's settings between sessions: what is kept, how a damaged file is set aside.
#include "lab_settings.h"

#include "control_panel.h"
#include "lab_view.h"
#include "main_window.h"
#include "presets.h"
#include "rank/rank_group.h"
#include "train/settings.h"

#include <QComboBox>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QSettings>
#include <QSplitter>
#include <QStandardPaths>
#include <QTabWidget>

#include <functional>
#include <stdexcept>
#include <utility>

namespace gpulab {

namespace {

// A file we can read values from: readable INI, our version. Anything else is damaged.
bool trustworthy(const QSettings& s)
{
    if (s.status() != QSettings::NoError)
        return false;
    bool ok = false;
    const int version = s.value(QStringLiteral("version")).toInt(&ok);
    return ok && version == kSettingsVersion;
}

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
    if (!trustworthy(s))
        return {};
    const QString lang = s.value(QStringLiteral("ui/language")).toString();
    return lang == QLatin1String("en") || lang == QLatin1String("zh_CN") ? lang : QString();
}

bool MainWindow::restoreSettings(const QString& path, QString* note)
{
    m_settingsPath = path;
    if (!QFileInfo::exists(path))
        return true; // the first start: the defaults, saved when the window closes
    bool damaged = false;
    QString ranksNote; // the saved ranks could not be kept: why
    {
        QSettings s(path, QSettings::IniFormat);
        damaged = !trustworthy(s);
        if (!damaged) {
            // ---- the run's settings: a preset, or the controls one by one ----
            const QString preset = s.value(QStringLiteral("run/preset")).toString();
            bool restored = false;
            if (!preset.isEmpty() && findPreset(preset))
                restored = m_panel->applyPreset(preset);
            if (!restored && s.contains(QStringLiteral("run/devices"))) {
                TrainConfig c = m_panel->config();
                try {
                    auto integer = [&](const char* key, long long fallback) {
                        const QString k = QLatin1String(key);
                        if (!s.contains(k))
                            return fallback;
                        bool ok = false;
                        const long long v = s.value(k).toLongLong(&ok);
                        if (!ok)
                            throw std::invalid_argument(key);
                        return v;
                    };
                    auto name = [&](const char* key, const char* fallback) {
                        // INI reads an unquoted "custom:200,1" as a list: join it back
                        const QVariant v = s.value(QLatin1String(key), QLatin1String(fallback));
                        return (v.typeId() == QMetaType::QStringList ? v.toStringList().join(QLatin1Char(','))
                                                                     : v.toString())
                            .toStdString();
                    };
                    c.backend = parse_backend(name("run/backend", backend_name(c.backend)));
                    c.devices = static_cast<int>(integer("run/devices", c.devices));
                    c.ranks = static_cast<int>(integer("run/ranks", c.ranks));
                    c.batch_size = integer("run/batch_size", c.batch_size);
                    bool ok = true;
                    if (s.contains(QStringLiteral("run/lr")))
                        c.lr = s.value(QStringLiteral("run/lr")).toDouble(&ok);
                    if (!ok)
                        throw std::invalid_argument("run/lr");
                    c.epochs = static_cast<int>(integer("run/epochs", c.epochs));
                    c.mode = parse_exec_mode(name("run/mode", exec_mode_name(c.mode)));
                    c.inflight = static_cast<int>(integer("run/inflight", c.inflight));
                    c.allreduce = parse_allreduce(name("run/allreduce", allreduce_name(c.allreduce)));
                    c.link = parse_link(name("run/link", c.link.name.c_str()));
                    c.link_params = parse_link_params(name("run/link_params", link_params_text(c.link_params).c_str()));
                    c.seed = static_cast<uint64_t>(integer("run/seed", static_cast<long long>(c.seed)));
                    c.train_subset = integer("run/subset", c.train_subset);
                    c.test_subset = integer("run/test_subset", c.test_subset);
                    c.memory_budget = integer("run/memory_budget", c.memory_budget);
                    // A job of ranks saved by a build with Gloo, read by one without: the
                    // rest of the settings still hold, with 1 rank. (Ranks out of range are
                    // a damaged file whatever the build.)
                    const int savedRanks = c.ranks;
                    const SettingSpec* ranksSpec = find_setting("ranks");
                    if (c.ranks > 1 && ranksSpec && c.ranks <= ranksSpec->max && !labRanksAvailable())
                        c.ranks = 1;
                    if (validate(c).empty()) {
                        m_panel->setConfig(c);
                        m_panel->setStepMode(s.value(QStringLiteral("run/step_mode")).toBool());
                        if (c.ranks != savedRanks)
                            ranksNote = tr("The saved settings ask for a job of %1 ranks, but this build of the lab has "
                                           "no ranks (it was built without Gloo), so it starts with 1 rank and keeps "
                                           "the other settings.")
                                            .arg(savedRanks);
                    } else {
                        damaged = true;
                    }
                } catch (const std::invalid_argument&) {
                    damaged = true; // a value we cannot read: keep the defaults
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
                !restoreGeometry(s.value(QStringLiteral("window/geometry")).toByteArray()))
                damaged = true;
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
    if (damaged) {
        // Set it aside (a teacher may want to look at it) and start from what was read; the
        // next save writes a fresh file.
        const QString aside = path + QStringLiteral(".damaged");
        QFile::remove(aside);
        QFile::rename(path, aside);
        if (note)
            *note = tr("The settings file %1 could not be read; it was set aside as %2 and the lab "
                       "starts with its defaults.")
                        .arg(path, aside);
        showMessage(tr("The settings file could not be read; the lab starts with its defaults (the old file "
                       "is kept as %1).")
                        .arg(aside),
                    true);
    } else if (!ranksNote.isEmpty()) {
        showMessage(ranksNote, false);
    }
    return !damaged;
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
