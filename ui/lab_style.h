// The lab's shared look: device and run colours, a diverging colour map for weights,
// plot fonts sized for a classroom projector, and number formatting.
#pragma once

#include <QColor>
#include <QMargins>
#include <QPalette>
#include <QString>

class QCustomPlot;
class QCPAxisRect;
class QCPLegend;
class QListWidget;

namespace gpulab {

// ---- colours --------------------------------------------------------------------------
QColor deviceColor(int device);          // eight distinct hues, then repeats
QColor runColor(int runId);              // a distinct hue per run (1-based)
QColor lighter(const QColor& c, double towardWhite); // opaque blend toward white, 0..1
// Blue (negative) - white (0) - red (positive); v / scale clamped to [-1, 1].
QRgb divergingColor(float v, float scale);

// ---- plots ----------------------------------------------------------------------------
// Fonts, margins and interactions every plot of the lab shares.
void stylePlot(QCustomPlot* plot);
// Fewer ticks on an axis too short for the count asked (projector mode's large labels on a
// small plot): each tick label keeps a clear gap to the next. stylePlot's plots do it at every
// replot; never more ticks than asked.
void fitTickCounts(QCustomPlot* plot);
void styleAxisRect(QCPAxisRect* rect);
void styleLegend(QCPLegend* legend);
// A bold title row above the plot's main axis rect; returns nothing, keeps the plot's
// layout (title row 0, axis rect row 1).
void addPlotTitle(QCustomPlot* plot, const QString& title);
// Each line of the title that is wider than the plot (projector mode beside the open control
// panel) goes on two, broken at the space nearest its middle, or in its middle where it has none
// (Chinese); whole again where it fits. addPlotTitle's plots do it at every replot.
void fitPlotTitle(QCustomPlot* plot);

// Shows the plot's legend only while it has entries (an empty one draws as a small empty
// box): call it after adding or removing them.
void updateLegend(QCustomPlot* plot);
// The plot's legend in its own row under the plot (row `row` of the plot layout), entries
// side by side, `wrap` to a row. An empty legend there would also cap the plot's width at
// its own (QCustomPlot gives a layout column the smallest maximum width of its elements),
// so updateLegend keeps it out of the layout while it has no entries.
void placeLegendBelow(QCustomPlot* plot, int row, int wrap, const QMargins& margins);
// The legend placed below the plot takes as many entries a row (at most its wrap) as fit the
// plot's width, fewer when the plot is narrow or its font large (projector mode), so that
// its entries never make the plot, and the window, wider than the screen.
void fitLegendBelowToWidth(QCustomPlot* plot);
// The legend inside the plot: each entry's name elided in the middle to the plot's width,
// so that long names (a recording's settings and file) never run out of the plot.
void elideLegendToPlot(QCustomPlot* plot);

// Auto-ranging stops once the user drags or zooms a plot; a double click resumes it.
void trackUserZoom(QCustomPlot* plot);
bool userZoomed(const QCustomPlot* plot);
void clearUserZoom(QCustomPlot* plot);

// ---- projector mode ---------------------------------------------------------------------
// Fonts grow by this factor, lines are at least kProjectorMinLine px.
constexpr double kProjectorFontScale = 1.6;
constexpr double kProjectorMinLine = 3.0;
// Scales a plot for a projector: every font ×1.6, lines at least 3 px, markers larger, black
// axes; off puts back exactly what each element had (what a view changed meanwhile stays).
// While on, what a view adds or restyles later is scaled at its next replot.
void setPlotProjector(QCustomPlot* plot, bool on);
bool plotProjector(const QCustomPlot* plot);
// A palette with black text on white and a strong blue selection, for a projector.
QPalette projectorPalette();

// A list of runs whose entries wrap at its width rather than run past it (projector mode's
// larger font beside the open control panel cut "#1: 2 x cpu-sim, bat..." with a sideways
// scroll bar).
void wrapRunList(QListWidget* list);
// Text a view paints itself (device cards, the allreduce drawing) is sized in points here:
// pt while projector mode is off, pt × kProjectorFontScale while it is on.
double paintedPointSize(double pt);
void setPaintedFontScale(double scale); // the main window's projector mode sets it

// ---- numbers --------------------------------------------------------------------------
QString formatBytes(qint64 bytes);       // "12.3 MiB"
QString formatDuration(double seconds);  // "1:05", "12 s", "0.4 s"

} // namespace gpulab
