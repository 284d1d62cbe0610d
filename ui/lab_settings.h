// Settings the lab keeps between sessions (QSettings, an INI file): the last run settings
// or preset, the data source and folder, the window's layout and view, the language and
// projector mode. A file that is damaged, not ours, from a newer version, or holds a value
// that does not read or that its control cannot hold as it is, is set aside and replaced,
// never fatal; settings that read but cannot run together come back as they were, and the
// panel says why. MainWindow::restoreSettings / saveSettings are defined in lab_settings.cpp.
#pragma once

#include <QString>

#include <functional>

namespace gpulab {

constexpr int kSettingsVersion = 1;

// $GPULAB_SETTINGS when set, else <user config dir>/gpulab/gpulab.conf.
QString labSettingsPath();

// The language kept in the settings file ("en", "zh_CN"), or empty when there is none or the
// file cannot be trusted. Read before the window exists (the translators come first).
QString savedLanguage(const QString& path);

// A settings file's job of several ranks needs a build with Gloo (ranks_available()); without
// one the lab starts with 1 rank and keeps the rest. A test answers for the build with
// available (an empty function: the build answers again).
void setLabRanksAvailableForTesting(std::function<bool()> available);

} // namespace gpulab
