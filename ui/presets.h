// The book's runs (and a few that show the chapter's other lessons) as named presets.
#pragma once

#include "train/train_config.h"

#include <QList>
#include <QString>

namespace gpulab {

struct Preset {
    QString id;                   // for --preset: "book-1", "async-oom", ...
    const char* titleSource;      // shown in the panel (English; translated when shown)
    const char* lessonSource;     // one sentence: what to watch for
    TrainConfig config;
    bool stepMode = false;

    // In the language installed when called: the list is made once, maybe before the
    // translator is installed (gpulab's --help lists the preset ids).
    QString title() const;
    QString lesson() const;
};

const QList<Preset>& presets();
const Preset* findPreset(const QString& id); // null when unknown
QStringList presetIds();

} // namespace gpulab
