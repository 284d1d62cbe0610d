// Saving plots and widgets as PNG, PDF or SVG (chosen by the file's suffix) and tables
// as CSV; every writer reports a message instead of failing silently.
#pragma once

#include "lab_view.h"

#include <QSize>
#include <QString>
#include <QStringList>

class QCustomPlot;
class QWidget;

namespace gpulab {

// The size plots are exported at: a 16:9 slide.
constexpr int kExportWidth = 1280;
constexpr int kExportHeight = 720;

// "png", "pdf" or "svg" from path's suffix; empty if none of those.
QString exportFormat(const QString& path);

bool savePlot(QCustomPlot* plot, const QString& path, QString* error,
              QSize size = QSize(kExportWidth, kExportHeight));
bool saveWidget(QWidget* widget, const QString& path, QString* error);
bool saveItem(const PlotItem& item, const QString& path, QString* error);
bool saveCsv(const CsvTable& table, const QString& path, QString* error);

// Every plot of a view in all three formats and every table as CSV, into dir. Appends
// the written paths to written; returns false (with error) at the first failure.
bool exportView(const LabView* view, const QString& dir, QStringList* written, QString* error);

} // namespace gpulab
