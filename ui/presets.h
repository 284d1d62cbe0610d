// The book's runs (and a few that show the chapter's other lessons) as named presets.
#pragma once

#include "train/train_config.h"

#include <QList>
#include <QString>

namespace gpulab {

struct Preset {
    QString id;           // for --preset: "book-1", "async-oom", ...
    QString title;        // shown in the panel
    QString lesson;       // one sentence: what to watch for
    TrainConfig config;
    bool stepMode = false;
};

const QList<Preset>& presets();
const Preset* findPreset(const QString& id); // null when unknown
QStringList presetIds();

} // namespace gpulab
