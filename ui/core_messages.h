// Messages that come from core (plain English: core has no Qt) in the UI's language. The
// ones a class meets most are known by their shape: out of memory, a diverged loss, a
// missing dataset, CUDA not usable, a stopped run. Text of any other shape, or when no
// translation is installed, is shown as core wrote it.
#pragma once

#include <QString>

#include <string>

namespace gpulab {

QString coreMessage(const std::string& text);

} // namespace gpulab
