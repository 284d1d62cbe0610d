// coreMessage (core_messages.h): each known message is a pattern over core's wording and a
// template with the same facts in %1..%n; translations live in the "CoreMessages" context.
#include "core_messages.h"

#include <QCoreApplication>
#include <QRegularExpression>

namespace gpulab {

namespace {

struct Known {
    QRegularExpression pattern; // core's wording; its captures fill %1..%n
    const char* english;        // the template, in core's words: what translators see
};

const std::vector<Known>& known()
{
    static const std::vector<Known> all = {
        {QRegularExpression(QStringLiteral(
             R"(^out of memory on (\S+): requested (.+?) with (.+?) of (.+?) in use\. Use sync or bounded mode, a smaller batch, or a larger memory budget\.$)")),
         QT_TRANSLATE_NOOP("CoreMessages", "out of memory on %1: requested %2 with %3 of %4 in use. Use sync or bounded "
                                           "mode, a smaller batch, or a larger memory budget.")},
        {QRegularExpression(QStringLiteral(
             R"(^the loss became NaN at epoch (\d+), minibatch (\d+) \(device (\d+)\): training diverged; lower the learning rate \(now (.+)\)$)")),
         QT_TRANSLATE_NOOP("CoreMessages", "the loss became NaN at epoch %1, minibatch %2 (device %3): training "
                                           "diverged; lower the learning rate (now %4)")},
        {QRegularExpression(QStringLiteral(
             R"(^the loss became infinite at epoch (\d+), minibatch (\d+) \(device (\d+)\): training diverged; lower the learning rate \(now (.+)\)$)")),
         QT_TRANSLATE_NOOP("CoreMessages", "the loss became infinite at epoch %1, minibatch %2 (device %3): training "
                                           "diverged; lower the learning rate (now %4)")},
        {QRegularExpression(QStringLiteral(
             R"(^the loss became huge \((.+?) per image\) at epoch (\d+), minibatch (\d+) \(device (\d+)\): training diverged; lower the learning rate \(now (.+)\)$)")),
         QT_TRANSLATE_NOOP("CoreMessages", "the loss became huge (%1 per image) at epoch %2, minibatch %3 (device %4): "
                                           "training diverged; lower the learning rate (now %5)")},
        {QRegularExpression(QStringLiteral(
             R"(^Fashion-MNIST file (.+?) not found: install the Debian package dataset-fashion-mnist \(apt-get install dataset-fashion-mnist\) or pass --data DIR with (.+)$)")),
         QT_TRANSLATE_NOOP("CoreMessages", "Fashion-MNIST file %1 not found: install the Debian package "
                                           "dataset-fashion-mnist (apt-get install dataset-fashion-mnist) or pass "
                                           "--data DIR with %2")},
        {QRegularExpression(QStringLiteral(R"(^this build of gpulab has no CUDA backend \(configure with a CUDA toolkit\)$)")),
         QT_TRANSLATE_NOOP("CoreMessages", "this build of gpulab has no CUDA backend (configure with a CUDA toolkit)")},
        {QRegularExpression(QStringLiteral(
             R"(^no NVIDIA driver found \(libcuda could not be loaded\); install the NVIDIA driver to use GPUs$)")),
         QT_TRANSLATE_NOOP("CoreMessages",
                           "no NVIDIA driver found (libcuda could not be loaded); install the NVIDIA driver to use GPUs")},
        {QRegularExpression(QStringLiteral(R"(^no CUDA device: the NVIDIA driver \(CUDA (.+)\) sees no GPU$)")),
         QT_TRANSLATE_NOOP("CoreMessages", "no CUDA device: the NVIDIA driver (CUDA %1) sees no GPU")},
        {QRegularExpression(QStringLiteral(
             R"(^the NVIDIA driver is too old: it supports CUDA (.+), this build needs CUDA (.+); update the driver$)")),
         QT_TRANSLATE_NOOP("CoreMessages",
                           "the NVIDIA driver is too old: it supports CUDA %1, this build needs CUDA %2; update the driver")},
        {QRegularExpression(QStringLiteral(
             R"(^batch size (\d+) is smaller than the number of devices \((\d+)\): every device needs at least one image per minibatch$)")),
         QT_TRANSLATE_NOOP("CoreMessages", "batch size %1 is smaller than the number of devices (%2): every device "
                                           "needs at least one image per minibatch")},
        {QRegularExpression(QStringLiteral(
             R"(^training subset must be 0 \(all\) or at least the number of devices \(got (\d+)\)$)")),
         QT_TRANSLATE_NOOP("CoreMessages", "training subset must be 0 (all) or at least the number of devices (got %1)")},
        {QRegularExpression(QStringLiteral(R"(^stopped by the user$)")),
         QT_TRANSLATE_NOOP("CoreMessages", "stopped by the user")},
    };
    return all;
}

} // namespace

QString coreMessage(const std::string& text)
{
    const QString s = QString::fromStdString(text);
    for (const Known& k : known()) {
        const QRegularExpressionMatch m = k.pattern.match(s);
        if (!m.hasMatch())
            continue;
        const QString english = QString::fromLatin1(k.english);
        const QString translated = QCoreApplication::translate("CoreMessages", k.english);
        if (translated == english)
            return s; // no translation installed: core's own words
        QString out = translated;
        for (int i = 1; i <= m.lastCapturedIndex(); ++i)
            out = out.arg(m.captured(i));
        return out;
    }
    return s;
}

} // namespace gpulab
