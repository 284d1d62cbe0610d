// named_child.h: a window's child widget found by its object name, for the UI suites. A
// missing one ends the suite at once: a renamed widget must fail a test, never pass it by
// finding nothing to check.
#pragma once

#include <QObject>
#include <QString>
#include <QtGlobal>

template <class T>
T* namedChild(const QObject* parent, const char* name)
{
    T* c = parent->findChild<T*>(QString::fromLatin1(name));
    if (!c)
        qFatal("no widget named %s", name);
    return c;
}
