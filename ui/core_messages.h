// Errors from core (a code and its facts, core/error/error.h) phrased in the UI's
// language: each code has its own template, translated in the "CoreMessages" context, and
// the facts fill it by name. Nothing is matched as text. Without a translation the English
// template is used, which is core's wording.
#pragma once

#include "error/error.h"

#include <QString>

#include <string>

namespace gpulab {

QString coreMessage(const Error& e);
// A setting's label (SettingSpec::label) in the UI's language.
QString settingLabel(const char* label);
// A setting's value (its command-line word, SettingSpec::get) in the control panel's own
// words, translated, with the word beside it: "ring · ring", "10 Gb Ethernet · 10gbe",
// "threaded: one worker per device · threaded". Values without words of their own (numbers)
// as they are; a custom link as its latency and bandwidth.
QString settingValueText(const std::string& setting, const std::string& value);
// The words alone (empty when the value has none): "10 Gb Ethernet".
QString settingValueWords(const std::string& setting, const std::string& value);
// The UI's translation source for a code (null for Other): equal to error_template().
const char* uiTemplate(ErrorCode code);

} // namespace gpulab
