// Errors from core (a code and its facts, core/error/error.h) phrased in the UI's
// language: each code has its own template, translated in the "CoreMessages" context, and
// the facts fill it by name. Nothing is matched as text. Without a translation the English
// template is used, which is core's wording.
#pragma once

#include "error/error.h"

#include <QString>

namespace gpulab {

QString coreMessage(const Error& e);
// A setting's label (SettingSpec::label) in the UI's language.
QString settingLabel(const char* label);
// The UI's translation source for a code (null for Other): equal to error_template().
const char* uiTemplate(ErrorCode code);

} // namespace gpulab
