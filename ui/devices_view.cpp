// DevicesView: Params snapshots (ev::Snapshot, SnapshotWhat::Params) and memory events become
// painted device cards; a complete set of snapshots is compared element by element.
#include "devices_view.h"

#include "lab_style.h"
#include "note_row.h"
#include "model/lenet.h"
#include "trace/event_stream.h"

#include <QGridLayout>
#include <QHash>
#include <QLabel>
#include <QPainter>
#include <QScrollArea>
#include <QTextStream>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>

namespace gpulab {

namespace {

// Colour scale for a weight tensor: ~2.5 standard deviations, so typical weights show.
float rmsScale(const std::vector<float>& v)
{
    if (v.empty())
        return 1.0f;
    double s = 0;
    for (float x : v)
        s += double(x) * x;
    const double rms = std::sqrt(s / double(v.size()));
    return rms > 0 ? static_cast<float>(2.5 * rms) : 1e-6f;
}

float maxAbs(const std::vector<float>& v)
{
    float m = 0;
    for (float x : v)
        m = std::max(m, std::fabs(x));
    return m > 0 ? m : 1e-6f;
}

int paramIndex(const Snapshot& s, const char* name)
{
    for (size_t i = 0; i < s.names.size(); ++i)
        if (s.names[i] == name)
            return static_cast<int>(i);
    return -1;
}

} // namespace

constexpr int kCardMinWidth = 230;

// The diverging colour bar shown above the cards.
class ColorLegend : public QWidget {
    Q_OBJECT
public:
    using QWidget::QWidget;
    QSize sizeHint() const override { return {260, 34}; }

protected:
    void paintEvent(QPaintEvent*) override
    {
        QPainter p(this);
        const QRect bar(40, 4, width() - 80, 12);
        for (int x = 0; x < bar.width(); ++x) {
            const float v = 2.0f * x / std::max(1, bar.width() - 1) - 1.0f;
            p.setPen(QColor(divergingColor(v, 1.0f)));
            p.drawLine(bar.left() + x, bar.top(), bar.left() + x, bar.bottom());
        }
        p.setPen(QColor(120, 120, 120));
        p.drawRect(bar.adjusted(0, 0, -1, -1));
        QFont f = font();
        f.setPointSizeF(paintedPointSize(9));
        p.setFont(f);
        p.setPen(Qt::black);
        p.drawText(QRect(0, 0, 38, 20), Qt::AlignRight | Qt::AlignVCenter, tr("−"));
        p.drawText(QRect(width() - 38, 0, 38, 20), Qt::AlignLeft | Qt::AlignVCenter, tr("+"));
        p.drawText(QRect(bar.left(), bar.bottom() + 1, bar.width(), 16), Qt::AlignCenter, tr("0"));
    }
};


// One device: painted in one go, so it exports to PNG, PDF and SVG alike.
class DeviceCard : public QWidget {
    Q_OBJECT
public:
    explicit DeviceCard(int device, QWidget* parent) : QWidget(parent), m_device(device)
    {
        setMinimumSize(kCardMinWidth, 330);
        setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Expanding);
        setAttribute(Qt::WA_OpaquePaintEvent);
    }
    void setMemory(qint64 inUse, qint64 peak, qint64 budget)
    {
        m_inUse = inUse;
        m_peak = peak;
        m_budget = budget;
    }
    // true when it is a new snapshot (the card must be repainted in full)
    bool setSnapshot(std::shared_ptr<const Snapshot> s)
    {
        if (s == m_snap)
            return false;
        m_snap = std::move(s);
        m_heat.clear();
        return true;
    }
    void setScales(const std::vector<float>& scales)
    {
        if (scales != m_scales)
            m_heat.clear();
        m_scales = scales;
    }
    // Only the memory bar changed: repaint just that strip.
    void updateMemoryBar() { update(QRect(0, 36, width(), 26)); }
    void setDiff(double d) { m_diff = d; }
    void setName(const QString& n) { m_name = n; }
    void setOutOfMemory(bool oom) { m_oom = oom; }
    void setEnded(bool ended) { m_ended = ended; }
    // What the last paint wrote wider than its room (elided): empty when every word was whole.
    const QStringList& clipped() const { return m_clipped; }

protected:
    void paintEvent(QPaintEvent*) override;

private:
    // The first of the wordings that fits `room` at `fm`, longest first; the last one elided
    // (and noted in m_clipped) where none does.
    QString fitting(const QFontMetrics& fm, const QStringList& wordings, int room) const;
    void caption(QPainter& p, const QRect& r, const QStringList& wordings) const;
    void drawBars(QPainter& p, const QRect& r, const std::vector<float>& v, float scale) const;
    void drawHeat(QPainter& p, const QRect& r, const std::vector<float>& v, int rows, int cols,
                  bool transpose, float scale) const;

    int m_device;
    QString m_name;
    qint64 m_inUse = 0, m_peak = 0, m_budget = 0;
    bool m_oom = false;
    bool m_ended = false;
    std::shared_ptr<const Snapshot> m_snap;
    std::vector<float> m_scales; // per parameter, shared by every card
    double m_diff = -1;
    mutable QHash<const void*, QImage> m_heat; // heatmaps of m_snap, made once per snapshot
    mutable QStringList m_clipped;
};

QString DeviceCard::fitting(const QFontMetrics& fm, const QStringList& wordings, int room) const
{
    for (const QString& s : wordings)
        if (fm.horizontalAdvance(s) <= room)
            return s;
    m_clipped << wordings.last();
    return fm.elidedText(wordings.last(), Qt::ElideRight, room);
}

void DeviceCard::caption(QPainter& p, const QRect& r, const QStringList& wordings) const
{
    QFont f = font();
    f.setPointSizeF(paintedPointSize(10));
    p.setFont(f);
    p.setPen(QColor(50, 50, 50));
    p.drawText(r, Qt::AlignLeft | Qt::AlignVCenter, fitting(QFontMetrics(f), wordings, r.width()));
}

void DeviceCard::drawBars(QPainter& p, const QRect& r, const std::vector<float>& v, float scale) const
{
    p.fillRect(r, QColor(248, 248, 248));
    const int n = static_cast<int>(v.size());
    if (n == 0)
        return;
    const double w = double(r.width()) / n;
    const double mid = r.top() + r.height() / 2.0;
    const double half = r.height() / 2.0 - 1;
    for (int i = 0; i < n; ++i) {
        const double h = std::clamp(double(v[size_t(i)]) / scale, -1.0, 1.0) * half;
        const QRectF bar(r.left() + i * w + (w > 4 ? 1 : 0), h >= 0 ? mid - h : mid,
                         std::max(1.0, w - (w > 4 ? 2 : 0)), std::fabs(h));
        p.fillRect(bar, h >= 0 ? QColor(178, 24, 43) : QColor(33, 102, 172));
    }
    p.setPen(QPen(QColor(90, 90, 90), 1));
    p.drawLine(QPointF(r.left(), mid), QPointF(r.right(), mid));
}

void DeviceCard::drawHeat(QPainter& p, const QRect& r, const std::vector<float>& v, int rows,
                          int cols, bool transpose, float scale) const
{
    // (rows, cols) row-major; transpose shows cols as image rows.
    QImage& img = m_heat[v.data()];
    if (img.isNull()) {
        const int iw = transpose ? rows : cols, ih = transpose ? cols : rows;
        img = QImage(iw, ih, QImage::Format_RGB32);
        for (int y = 0; y < ih; ++y) {
            auto* line = reinterpret_cast<QRgb*>(img.scanLine(y));
            for (int x = 0; x < iw; ++x) {
                const int i = transpose ? x * cols + y : y * cols + x;
                line[x] = divergingColor(v[size_t(i)], scale);
            }
        }
    }
    p.drawImage(r, img);
    p.setPen(QColor(160, 160, 160));
    p.drawRect(r.adjusted(0, 0, -1, -1));
}

void DeviceCard::paintEvent(QPaintEvent*)
{
    QPainter p(this);
    m_clipped.clear();
    p.fillRect(rect(), Qt::white);
    const QColor accent = deviceColor(m_device);
    p.setPen(QPen(accent, 2));
    p.drawRect(QRectF(1, 1, width() - 2, height() - 2));
    p.fillRect(QRect(2, 2, width() - 4, 6), accent);

    const int m = 10;
    const int w = width() - 2 * m;
    int y = 12;
    // rows grow with the painted text (projector mode)
    const int headH = static_cast<int>(std::lround(22 * paintedPointSize(1.0)));
    const int barH = static_cast<int>(std::lround(20 * paintedPointSize(1.0)));
    QFont head = font();
    head.setPointSizeF(paintedPointSize(12));
    head.setBold(true);
    // header: "Device 3 · cpu-sim(3)" and, right, how it compares with device 0; the
    // device's name goes first when the card is too narrow for both
    QFont noteFont = font();
    noteFont.setPointSizeF(paintedPointSize(10));
    QString note;
    if (m_diff >= 0 && m_device > 0)
        note = m_diff == 0 ? tr("= device 0") : tr("Δ %1").arg(m_diff, 0, 'g', 2);
    const int noteW = note.isEmpty() ? 0 : QFontMetrics(noteFont).horizontalAdvance(note) + 8;
    QString title = tr("Device %1").arg(m_device);
    if (!m_name.isEmpty() && QFontMetrics(head).horizontalAdvance(title + QStringLiteral("  ·  ") + m_name) <= w - noteW)
        title += QStringLiteral("  ·  ") + m_name;
    p.setFont(head);
    p.setPen(Qt::black);
    p.drawText(QRect(m, y, w - noteW, headH), Qt::AlignLeft | Qt::AlignVCenter,
               fitting(QFontMetrics(head), {title}, w - noteW));
    if (!note.isEmpty()) {
        p.setFont(noteFont);
        p.setPen(m_diff == 0 ? QColor(27, 94, 32) : (m_diff < 1e-4 ? QColor(160, 100, 0) : QColor(176, 0, 32)));
        p.drawText(QRect(m, y, w, headH), Qt::AlignRight | Qt::AlignVCenter, note);
    }
    y += headH + 4;

    // memory against the budget
    const QRect bar(m, y, w, barH);
    p.fillRect(bar, QColor(235, 235, 235));
    if (m_budget > 0) {
        const double frac = std::clamp(double(m_inUse) / double(m_budget), 0.0, 1.0);
        const double peak = std::clamp(double(m_peak) / double(m_budget), 0.0, 1.0);
        const QColor fill = m_oom ? QColor(214, 39, 40) : (frac > 0.8 ? QColor(255, 127, 14) : accent);
        p.fillRect(QRectF(bar.left(), bar.top(), bar.width() * frac, bar.height()), fill);
        // the peak: ticks at the bar's edges, clear of the text
        p.setPen(QPen(Qt::black, 2));
        const double px = bar.left() + bar.width() * peak;
        p.drawLine(QPointF(px, bar.top()), QPointF(px, bar.top() + 4));
        p.drawLine(QPointF(px, bar.bottom() - 4), QPointF(px, bar.bottom()));
    }
    p.setPen(QColor(120, 120, 120));
    p.drawRect(bar.adjusted(0, 0, -1, -1));
    QFont small = font();
    small.setPointSizeF(paintedPointSize(10));
    p.setFont(small);
    p.setPen(Qt::black);
    // the longest wording that fits beside the peak
    const QString peakText = tr("peak %1").arg(formatBytes(m_peak));
    const QFontMetrics sfm(small);
    const int room = bar.width() - 12 - sfm.horizontalAdvance(peakText) - 10;
    QStringList wordings;
    if (m_oom)
        wordings << tr("OUT OF MEMORY: more than %1 needed").arg(formatBytes(m_budget))
                 << tr("OUT OF MEMORY");
    else if (m_ended && m_inUse == 0)
        wordings << tr("all freed after the run, budget %1").arg(formatBytes(m_budget))
                 << tr("freed · budget %1").arg(formatBytes(m_budget)) << tr("freed");
    else
        wordings << tr("%1 of %2").arg(formatBytes(m_inUse), formatBytes(m_budget)) << formatBytes(m_inUse);
    const QString used = fitting(sfm, wordings, room);
    p.drawText(bar.adjusted(6, 0, -6, 0), Qt::AlignVCenter | Qt::AlignLeft, used);
    p.drawText(bar.adjusted(6, 0, -6, 0), Qt::AlignVCenter | Qt::AlignRight, peakText);
    y += barH + 6;

    if (!m_snap) {
        p.setPen(QColor(110, 110, 110));
        p.drawText(QRect(m, y, w, height() - y - m), Qt::AlignCenter | Qt::TextWordWrap,
                   m_ended ? tr("The run ended before its first parameter snapshot.")
                           : tr("The parameters appear here after the first minibatch's SGD step."));
        return;
    }
    const Snapshot& s = *m_snap;
    auto scaleOf = [&](int idx, const std::vector<float>& v) {
        return idx >= 0 && size_t(idx) < m_scales.size() ? m_scales[size_t(idx)] : rmsScale(v);
    };
    const int capH = static_cast<int>(std::lround(18 * paintedPointSize(1.0)));
    const int flexible = std::max(120, height() - y - m - 4 * capH - 3 * 6 - 4);

    // W1: 20 filters of 3x3, 10 per row
    const int iW1 = paramIndex(s, "W1");
    int tile = 0;
    {
        caption(p, QRect(m, y, w, capH), {tr("W1: 20 filters, 3×3"), tr("W1: 20 × 3×3")});
        y += capH;
        const int gap = 4;
        const int tilesH = static_cast<int>(flexible * 0.30);
        tile = std::max(6, std::min((w - 9 * gap) / 10, (tilesH - gap) / 2));
        if (iW1 >= 0) {
            const auto& v = s.values[size_t(iW1)];
            const float sc = scaleOf(iW1, v);
            for (int f = 0; f < 20 && size_t(f * 9 + 8) < v.size(); ++f) {
                const int tx = m + (f % 10) * (tile + gap), ty = y + (f / 10) * (tile + gap);
                const double cell = tile / 3.0;
                for (int k = 0; k < 9; ++k)
                    p.fillRect(QRectF(tx + (k % 3) * cell, ty + (k / 3) * cell, cell + 0.5, cell + 0.5),
                               QColor(divergingColor(v[size_t(f * 9 + k)], sc)));
                p.setPen(QColor(170, 170, 170));
                p.drawRect(QRect(tx, ty, tile, tile));
            }
        }
        y += 2 * tile + gap + 6;
    }
    // what the filters leave goes to the bars and heatmaps
    const int rest = std::max(60, flexible - (2 * tile + 4));
    // b1 and b2 side by side
    {
        const int half = (w - 12) / 2;
        const int iB1 = paramIndex(s, "b1"), iB2 = paramIndex(s, "b2");
        caption(p, QRect(m, y, half, capH), {tr("b1 (20)")});
        caption(p, QRect(m + half + 12, y, half, capH), {tr("b2 (50)")});
        y += capH;
        const int barsH = static_cast<int>(rest * 0.30);
        if (iB1 >= 0) {
            const auto& v = s.values[size_t(iB1)];
            drawBars(p, QRect(m, y, half, barsH), v, size_t(iB1) < m_scales.size() ? m_scales[size_t(iB1)] : maxAbs(v));
        }
        if (iB2 >= 0) {
            const auto& v = s.values[size_t(iB2)];
            drawBars(p, QRect(m + half + 12, y, half, barsH), v,
                     size_t(iB2) < m_scales.size() ? m_scales[size_t(iB2)] : maxAbs(v));
        }
        y += barsH + 6;
    }
    // W3 (800, 128) shown as 128 rows (hidden units) x 800 columns (inputs)
    {
        caption(p, QRect(m, y, w, capH), {tr("W3: 800 inputs × 128 hidden units"), tr("W3: 800 inputs × 128 units"),
                                           tr("W3: 800 × 128")});
        y += capH;
        const int h = static_cast<int>(rest * 0.44);
        const int i = paramIndex(s, "W3");
        if (i >= 0 && s.values[size_t(i)].size() == 800u * 128u)
            drawHeat(p, QRect(m, y, w, h), s.values[size_t(i)], 800, 128, true, scaleOf(i, s.values[size_t(i)]));
        y += h + 6;
    }
    // W4 (128, 10) shown as 10 rows (classes) x 128 columns
    {
        caption(p, QRect(m, y, w, capH), {tr("W4: 128 hidden units × 10 classes"), tr("W4: 128 units × 10 classes"),
                                           tr("W4: 128 × 10")});
        y += capH;
        const int h = std::max(10, static_cast<int>(rest * 0.26));
        const int i = paramIndex(s, "W4");
        if (i >= 0 && s.values[size_t(i)].size() == 128u * 10u)
            drawHeat(p, QRect(m, y, w, h), s.values[size_t(i)], 128, 10, true, scaleOf(i, s.values[size_t(i)]));
    }
}

// ---- the view ----------------------------------------------------------------------

DevicesView::DevicesView(QWidget* parent) : LabView(parent)
{
    auto* v = new QVBoxLayout(this);
    v->setContentsMargins(4, 4, 4, 4);
    m_summary = new QLabel(tr("Start a run to see each device's copy of the parameters."), this);
    m_summary->setObjectName(QStringLiteral("agreementLabel"));
    m_summary->setWordWrap(true);
    QFont f = m_summary->font();
    f.setPointSizeF(f.pointSizeF() * 1.2);
    m_summary->setFont(f);
    m_legend = new ColorLegend(this);
    m_legend->setFixedSize(260, 34);
    m_legend->setToolTip(tr("Colour of a weight: blue negative, white zero, red positive"));
    // the summary above the legend where beside it it would be a narrow column (projector mode
    // with the control panel open on a 1024x768 screen: five lines of a few words)
    auto* top = new NoteRow(m_summary, this);
    top->setObjectName(QStringLiteral("devicesNoteRow"));
    top->controls()->addWidget(m_legend);
    v->addWidget(top);
    m_scroll = new QScrollArea(this);
    m_scroll->setWidgetResizable(true);
    m_scroll->setFrameShape(QFrame::NoFrame);
    m_grid = new QWidget;
    m_grid->setObjectName(QStringLiteral("deviceCards"));
    m_grid->setAutoFillBackground(true);
    QPalette pal = m_grid->palette();
    pal.setColor(QPalette::Window, Qt::white);
    m_grid->setPalette(pal);
    m_gridLayout = new QGridLayout(m_grid);
    m_gridLayout->setContentsMargins(4, 4, 4, 4);
    m_gridLayout->setSpacing(8);
    m_scroll->setWidget(m_grid);
    v->addWidget(m_scroll, 1);
}

DevicesView::~DevicesView() = default;

void DevicesView::makeCards(int n)
{
    for (DeviceCard* c : m_cards)
        delete c;
    m_cards.clear();
    for (int d = 0; d < n; ++d)
        m_cards.push_back(new DeviceCard(d, m_grid));
    m_columns = 0;
    layoutCards();
    m_latest.assign(size_t(n), nullptr);
    m_inUse.assign(size_t(n), 0);
    m_peak.assign(size_t(n), 0);
    for (DeviceCard* c : m_cards)
        c->setMemory(0, 0, m_budget);
}

void DevicesView::beginRun(const RunInfo& run)
{
    m_deviceRanks.clear();
    m_world = 1;
    m_budget = run.config.memory_budget;
    makeCards(run.config.devices);
    m_maxDiff = -1;
    m_diffBatch = -1;
    m_runLabel = run.label;
    for (DeviceCard* c : m_cards)
        c->setMemory(0, 0, m_budget);
    m_summary->setText(tr("Waiting for the first parameter snapshot of run %1 (taken after a minibatch's SGD step)…").arg(run.id));
    m_dirty = true;
    m_fullRepaint = true;
}

void DevicesView::layoutCards()
{
    // As many columns as fit (at most 4), so 8 devices show as two rows of four.
    const int n = static_cast<int>(m_cards.size());
    if (n == 0)
        return;
    const int avail = std::max(kCardMinWidth, width() - 32);
    const int cols = std::clamp(avail / (kCardMinWidth + 8), 1, std::min(n, 4));
    const bool grouped = m_world > 1 && int(m_deviceRanks.size()) == n;
    if (cols == m_columns && grouped == !m_rankHeaders.empty())
        return;
    m_columns = cols;
    for (DeviceCard* c : m_cards)
        m_gridLayout->removeWidget(c);
    for (QLabel* h : m_rankHeaders)
        delete h;
    m_rankHeaders.clear();
    if (!grouped) {
        for (int d = 0; d < n; ++d)
            m_gridLayout->addWidget(m_cards[size_t(d)], d / cols, d % cols);
        return;
    }
    // A job of several ranks: each rank's cards under a header of its own, in rank order
    int row = 0;
    for (int r = 0; r < m_world; ++r) {
        std::vector<int> mine;
        for (int d = 0; d < n; ++d)
            if (m_deviceRanks[size_t(d)] == r)
                mine.push_back(d);
        if (mine.empty())
            continue;
        auto* h = new QLabel(mine.size() == 1 ? tr("Rank %1 · device %2").arg(r).arg(mine.front())
                                              : tr("Rank %1 · devices %2–%3").arg(r).arg(mine.front()).arg(mine.back()),
                             m_grid);
        h->setObjectName(QStringLiteral("rankHeader"));
        QFont f = h->font();
        f.setBold(true);
        f.setPointSizeF(f.pointSizeF() * 1.15);
        h->setFont(f);
        h->show();
        m_rankHeaders.push_back(h);
        m_gridLayout->addWidget(h, row++, 0, 1, cols);
        for (size_t i = 0; i < mine.size(); ++i)
            m_gridLayout->addWidget(m_cards[size_t(mine[i])], row + int(i) / cols, int(i) % cols);
        row += (int(mine.size()) + cols - 1) / cols;
    }
}

QStringList DevicesView::clippedTexts() const
{
    QStringList out;
    for (const DeviceCard* c : m_cards)
        if (c->isVisible())
            out << c->clipped();
    return out;
}

QStringList DevicesView::rankHeaders() const
{
    QStringList l;
    for (const QLabel* h : m_rankHeaders)
        l << h->text();
    return l;
}

int DevicesView::cardRow(int device) const
{
    if (device < 0 || device >= int(m_cards.size()))
        return -1;
    const int i = m_gridLayout->indexOf(m_cards[size_t(device)]);
    int row = -1, col, rs, cs;
    if (i >= 0)
        m_gridLayout->getItemPosition(i, &row, &col, &rs, &cs);
    return row;
}

void DevicesView::resizeEvent(QResizeEvent* e)
{
    LabView::resizeEvent(e);
    layoutCards();
}

void DevicesView::consume(const std::vector<Event>& events, const RunInfo& run)
{
    for (const Event& e : events)
        if (const auto* begin = e.get<ev::RunBegin>()) {
            // a job of several ranks: every rank's devices, numbered globally, grouped by rank
            m_world = std::max(1, begin->world);
            m_deviceRanks = begin->device_ranks;
            if (begin->devices > 0 && begin->devices != int(m_cards.size()))
                makeCards(begin->devices);
            m_columns = 0;
            layoutCards();
        }
    const int n = static_cast<int>(m_cards.size());
    bool newSnap = false;
    for (const Event& e : events) {
        const auto* alloc = e.get<ev::MemAlloc>();
        const auto* freed = e.get<ev::MemFree>();
        const auto* oom = e.get<ev::MemOom>();
        if (alloc || freed || oom) {
            if (e.device >= 0 && e.device < n) {
                const int64_t inUse = alloc ? alloc->in_use : freed ? freed->in_use : oom->in_use;
                m_inUse[size_t(e.device)] = inUse;
                m_peak[size_t(e.device)] = std::max<qint64>(m_peak[size_t(e.device)], inUse);
                if (oom)
                    m_cards[size_t(e.device)]->setOutOfMemory(true);
                m_dirty = true;
                ++m_received;
            }
        } else if (const auto* snap = e.get<ev::Snapshot>()) {
            if (snap->what == SnapshotWhat::Params && e.device >= 0 && e.device < n && run.stream) {
                if (auto s = run.stream->snapshot_of(e)) {
                    m_latest[size_t(e.device)] = std::move(s);
                    ++m_snapshots;
                    ++m_received;
                    newSnap = true;
                }
            }
        }
    }
    if (newSnap) {
        checkAgreement();
        m_dirty = true;
        m_fullRepaint = true; // the comparison with device 0 is in every card's header
    }
}

void DevicesView::checkAgreement()
{
    if (m_latest.empty() || !m_latest[0])
        return;
    const Snapshot& ref = *m_latest[0];
    for (const auto& s : m_latest)
        if (!s || s->epoch != ref.epoch || s->batch != ref.batch)
            return; // the set is not complete yet
    if (ref.epoch == m_diffEpoch && ref.batch == m_diffBatch)
        return;
    m_diffEpoch = ref.epoch;
    m_diffBatch = ref.batch;
    double largest = 0;
    std::vector<float> scales(ref.values.size());
    for (size_t p = 0; p < ref.values.size(); ++p) {
        const auto& r = ref.values[p];
        const bool bias = !ref.names.empty() && ref.names[p].size() > 0 && ref.names[p][0] == 'b';
        scales[p] = bias ? maxAbs(r) : rmsScale(r);
    }
    for (size_t d = 0; d < m_latest.size(); ++d) {
        double vsRef = 0;
        const Snapshot& s = *m_latest[d];
        for (size_t p = 0; p < ref.values.size() && p < s.values.size(); ++p) {
            const auto& a = ref.values[p];
            const auto& b = s.values[p];
            for (size_t i = 0; i < a.size() && i < b.size(); ++i)
                vsRef = std::max(vsRef, double(std::fabs(a[i] - b[i])));
        }
        m_cards[d]->setDiff(vsRef);
        largest = std::max(largest, vsRef);
    }
    // Any two copies differ by at most twice the largest difference to device 0; compute
    // the exact figure only when it matters (they differ at all).
    if (largest > 0) {
        largest = 0;
        for (size_t p = 0; p < ref.values.size(); ++p)
            for (size_t i = 0; i < ref.values[p].size(); ++i) {
                float lo = ref.values[p][i], hi = lo;
                for (const auto& s : m_latest) {
                    lo = std::min(lo, s->values[p][i]);
                    hi = std::max(hi, s->values[p][i]);
                }
                largest = std::max(largest, double(hi - lo));
            }
    }
    m_maxDiff = largest;
    for (DeviceCard* c : m_cards)
        c->setScales(scales);
}

void DevicesView::updateSummary()
{
    if (m_maxDiff < 0)
        return;
    const int n = static_cast<int>(m_cards.size());
    QString agree;
    if (n == 1)
        agree = tr("one device: nothing to compare");
    else if (m_maxDiff == 0)
        agree = tr("<span style='color:#1b5e20'><b>✔ all %1 copies are identical</b></span> "
                   "(largest difference between any two copies: 0)").arg(n);
    else
        agree = tr("<span style='color:#b00020'><b>✘ the copies differ</b></span>: largest "
                   "difference between any two copies %1").arg(m_maxDiff, 0, 'g', 3);
    if (m_diffEpoch == 0) // the trainer's first snapshot: the values get_params copied
        m_summary->setText(tr("Initial parameters, copied to every device: %1").arg(agree));
    else
        m_summary->setText(tr("Parameters after epoch %1, minibatch %2: %3")
                               .arg(m_diffEpoch)
                               .arg(m_diffBatch + 1)
                               .arg(agree));
}

void DevicesView::endRun(const RunInfo& run, const RunResult& result)
{
    m_fullRepaint = true;
    if (m_maxDiff < 0)
        m_summary->setText(tr("Run %1 ended before its first parameter snapshot.").arg(run.id));
    for (size_t d = 0; d < result.device_names.size() && d < m_cards.size(); ++d)
        m_cards[d]->setName(QString::fromStdString(result.device_names[d]));
    for (size_t d = 0; d < result.peak_bytes.size() && d < m_peak.size(); ++d)
        m_peak[d] = std::max<qint64>(m_peak[d], result.peak_bytes[d]);
    for (DeviceCard* c : m_cards)
        c->setEnded(true);
    m_dirty = true;
}

void DevicesView::refresh()
{
    layoutCards();
    if (!m_dirty)
        return;
    m_dirty = false;
    for (size_t d = 0; d < m_cards.size(); ++d) {
        m_cards[d]->setMemory(m_inUse[d], m_peak[d], m_budget);
        const bool fresh = m_latest[d] && m_cards[d]->setSnapshot(m_latest[d]);
        if (fresh || m_fullRepaint)
            m_cards[d]->update();
        else
            m_cards[d]->updateMemoryBar();
    }
    m_fullRepaint = false;
    updateSummary();
}

QList<PlotItem> DevicesView::plots() const
{
    return {{QStringLiteral("devices"), nullptr, m_grid}};
}

QList<CsvTable> DevicesView::csvTables() const
{
    QList<CsvTable> t;
    t.append({QStringLiteral("devices"),
              QStringLiteral("device,in_use_bytes,peak_bytes,budget_bytes,snapshot_epoch,snapshot_batch,"
                             "max_abs_diff_vs_device0"),
              [this](QTextStream& out) {
                  for (size_t d = 0; d < m_cards.size(); ++d) {
                      const auto& s = m_latest[d];
                      out << d << ',' << m_inUse[d] << ',' << m_peak[d] << ',' << m_budget << ','
                          << (s ? s->epoch : 0) << ',' << (s ? s->batch : -1) << ',';
                      if (m_maxDiff >= 0 && s && m_latest[0]) {
                          double diff = 0;
                          for (size_t p = 0; p < s->values.size(); ++p)
                              for (size_t i = 0; i < s->values[p].size(); ++i)
                                  diff = std::max(diff, double(std::fabs(s->values[p][i] -
                                                                         m_latest[0]->values[p][i])));
                          out << diff;
                      }
                      out << '\n';
                  }
              }});
    t.append({QStringLiteral("devices_params"), QStringLiteral("device,epoch,batch,param,index,value"),
              [this](QTextStream& out) {
                  for (size_t d = 0; d < m_latest.size(); ++d) {
                      const auto& s = m_latest[d];
                      if (!s)
                          continue;
                      for (size_t p = 0; p < s->values.size(); ++p) {
                          const QString name = QString::fromStdString(s->names[p]);
                          for (size_t i = 0; i < s->values[p].size(); ++i)
                              out << d << ',' << s->epoch << ',' << s->batch << ',' << name << ','
                                  << i << ',' << s->values[p][i] << '\n';
                      }
                  }
              }});
    return t;
}

} // namespace gpulab

#include "devices_view.moc"
