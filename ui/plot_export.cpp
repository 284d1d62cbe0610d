// PNG/PDF/SVG export of QCustomPlots (vector where the format allows) and of plain
// widgets (rendered through QPainter), and CSV through QSaveFile.
#include "plot_export.h"

#include <qcustomplot.h>

#include <QDir>
#include <QFileInfo>
#include <QPageSize>
#include <QPainter>
#include <QPdfWriter>
#include <QSaveFile>
#include <QSvgGenerator>
#include <QTextStream>

namespace gpulab {

namespace {

bool fail(QString* error, const QString& message)
{
    if (error)
        *error = message;
    return false;
}

bool checkWritten(const QString& path, QString* error)
{
    QFileInfo fi(path);
    if (!fi.exists() || fi.size() == 0)
        return fail(error, QObject::tr("cannot write %1 (is the folder writable?)").arg(path));
    return true;
}

// A hidden page of a tab widget may never have been laid out: give it a size first.
void ensureLaidOut(QWidget* w)
{
    w->ensurePolished();
    if (w->layout())
        w->layout()->activate();
    if (w->width() < 50 || w->height() < 50)
        w->resize(w->sizeHint().expandedTo(QSize(640, 400)));
}

} // namespace

QString exportFormat(const QString& path)
{
    const QString s = QFileInfo(path).suffix().toLower();
    if (s == QLatin1String("png") || s == QLatin1String("pdf") || s == QLatin1String("svg"))
        return s;
    return {};
}

bool savePlot(QCustomPlot* plot, const QString& path, QString* error, QSize size)
{
    const QString fmt = exportFormat(path);
    const int w = size.width(), h = size.height();
    bool ok = false;
    if (fmt == QLatin1String("png")) {
        ok = plot->savePng(path, w, h, 1.5);
    } else if (fmt == QLatin1String("pdf")) {
        ok = plot->savePdf(path, w, h, QCP::epNoCosmetic, QStringLiteral("gpulab"));
    } else if (fmt == QLatin1String("svg")) {
        QSvgGenerator gen;
        gen.setFileName(path);
        gen.setSize(QSize(w, h));
        gen.setViewBox(QRect(0, 0, w, h));
        gen.setTitle(QFileInfo(path).completeBaseName());
        gen.setDescription(QStringLiteral("gpulab plot"));
        QCPPainter painter;
        if (painter.begin(&gen)) {
            plot->toPainter(&painter, w, h);
            painter.end();
            ok = true;
        }
    } else {
        return fail(error, QObject::tr("cannot export %1: use a .png, .pdf or .svg file name").arg(path));
    }
    if (!ok)
        return fail(error, QObject::tr("cannot write %1 (is the folder writable?)").arg(path));
    return checkWritten(path, error);
}

bool saveWidget(QWidget* widget, const QString& path, QString* error)
{
    ensureLaidOut(widget);
    const QString fmt = exportFormat(path);
    const QSize size = widget->size();
    if (fmt == QLatin1String("png")) {
        if (!widget->grab().save(path, "PNG"))
            return fail(error, QObject::tr("cannot write %1 (is the folder writable?)").arg(path));
    } else if (fmt == QLatin1String("pdf")) {
        QPdfWriter writer(path);
        writer.setCreator(QStringLiteral("gpulab"));
        writer.setResolution(72); // one widget pixel = one point
        writer.setPageSize(QPageSize(QSizeF(size), QPageSize::Point));
        writer.setPageMargins(QMarginsF(0, 0, 0, 0));
        QPainter painter;
        if (!painter.begin(&writer))
            return fail(error, QObject::tr("cannot write %1 (is the folder writable?)").arg(path));
        widget->render(&painter);
        painter.end();
    } else if (fmt == QLatin1String("svg")) {
        QSvgGenerator gen;
        gen.setFileName(path);
        gen.setSize(size);
        gen.setViewBox(QRect(QPoint(0, 0), size));
        gen.setTitle(QFileInfo(path).completeBaseName());
        QPainter painter;
        if (!painter.begin(&gen))
            return fail(error, QObject::tr("cannot write %1 (is the folder writable?)").arg(path));
        widget->render(&painter);
        painter.end();
    } else {
        return fail(error, QObject::tr("cannot export %1: use a .png, .pdf or .svg file name").arg(path));
    }
    return checkWritten(path, error);
}

bool saveItem(const PlotItem& item, const QString& path, QString* error)
{
    if (item.plot)
        return savePlot(item.plot, path, error);
    if (item.widget)
        return saveWidget(item.widget, path, error);
    return fail(error, QObject::tr("nothing to export for %1").arg(item.name));
}

bool saveCsv(const CsvTable& table, const QString& path, QString* error)
{
    QSaveFile file(path);
    if (!file.open(QIODevice::WriteOnly | QIODevice::Text))
        return fail(error, QObject::tr("cannot write %1: %2").arg(path, file.errorString()));
    {
        QTextStream out(&file);
        out << table.header << '\n';
        if (table.rows)
            table.rows(out);
        out.flush();
    }
    if (!file.commit())
        return fail(error, QObject::tr("cannot write %1: %2").arg(path, file.errorString()));
    return true;
}

bool exportView(const LabView* view, const QString& dir, QStringList* written, QString* error)
{
    if (!QDir().mkpath(dir))
        return fail(error, QObject::tr("cannot create the folder %1").arg(dir));
    const QDir d(dir);
    for (const PlotItem& item : view->plots()) {
        for (const char* ext : {"png", "pdf", "svg"}) {
            const QString path = d.filePath(item.name + QLatin1Char('.') + QLatin1String(ext));
            if (!saveItem(item, path, error))
                return false;
            if (written)
                written->append(path);
        }
    }
    for (const CsvTable& table : view->csvTables()) {
        const QString path = d.filePath(table.name + QStringLiteral(".csv"));
        if (!saveCsv(table, path, error))
            return false;
        if (written)
            written->append(path);
    }
    return true;
}

} // namespace gpulab
