// offscreenEnvironment(): the environment for a gpulab executable that a Qt suite starts
// (the suite's own, drawing offscreen), so that it runs with no display.
#pragma once

#include <QProcessEnvironment>
#include <QString>

inline QProcessEnvironment offscreenEnvironment()
{
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert(QStringLiteral("QT_QPA_PLATFORM"), QStringLiteral("offscreen"));
    return env;
}
