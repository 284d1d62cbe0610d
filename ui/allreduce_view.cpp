// AllreduceView: AllreduceStep events grouped per minibatch and step; GradBefore and
// GradAfter snapshots (ev::Snapshot, SnapshotWhat::GradBefore and GradAfter) shown per device.
#include "allreduce_view.h"

#include "lab_style.h"
#include "comm/allreduce.h"
#include "model/lenet.h"
#include "trace/event_stream.h"

#include <qcustomplot.h>

#include <QComboBox>
#include <QElapsedTimer>
#include <QGridLayout>
#include <QHelpEvent>
#include <QToolTip>
#include <QHBoxLayout>
#include <QLabel>
#include <QPainter>
#include <QPainterPath>
#include <QPlainTextEdit>
#include <QScrollArea>
#include <QTextStream>
#include <QTimer>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>

namespace gpulab {

namespace {
// A chunk keeps its colour at every step (not its sender's): dark tones, apart from the
// devices' Tableau colours.
QColor chunkColor(int chunk)
{
    static const QColor colors[] = {
        QColor(0, 128, 128), QColor(128, 0, 0), QColor(0, 0, 128), QColor(184, 134, 11),
        QColor(85, 107, 47), QColor(199, 21, 133), QColor(23, 150, 170), QColor(90, 90, 90),
    };
    if (chunk < 0)
        return QColor(60, 60, 60); // the whole buffer (naive)
    return colors[chunk % 8];
}
} // namespace

// ---- the devices as a star or a ring, with the current step's chunks in flight -------
class TopologyWidget : public QWidget {
    Q_OBJECT
public:
    explicit TopologyWidget(QWidget* parent) : QWidget(parent)
    {
        setMinimumSize(240, 280); // two fit side by side when an earlier run is compared
        setAttribute(Qt::WA_OpaquePaintEvent);
        m_anim.setInterval(33);
        connect(&m_anim, &QTimer::timeout, this, [this] {
            if (m_clock.elapsed() >= kAnimMs)
                m_anim.stop();
            update();
        });
    }
    void setLayoutKind(int devices, bool ring)
    {
        m_finalLine.clear();
        m_sums.clear();
        m_n = devices;
        m_ring = ring;
        m_step.clear();
        m_sent.assign(size_t(devices), 0);
        m_recv.assign(size_t(devices), 0);
        update();
    }
    // Under each device that received in the step shown: the partial sum it now holds.
    void setSums(const std::vector<QString>& sums)
    {
        m_sums = sums;
        update();
    }
    const std::vector<QString>& sums() const { return m_sums; }
    void setTraffic(const std::vector<qint64>& sent, const std::vector<qint64>& recv)
    {
        m_sent = sent;
        m_recv = recv;
    }
    // The transfers of one step; animated when steps come slowly (step mode), drawn
    // landed when they come faster than the eye can follow.
    void showStep(const std::vector<AllreduceView::Transfer>& step)
    {
        const bool slow = !m_sinceLast.isValid() || m_sinceLast.elapsed() > kAnimMs;
        m_sinceLast.start();
        m_step = step;
        if (slow) {
            m_clock.start();
            m_anim.start();
        } else {
            m_anim.stop();
        }
        update();
    }
    // The link model: each step's line gives the model's time beside the measured one.
    void setLink(const LinkModel& link, double scale)
    {
        m_link = link;
        m_scale = scale;
        update();
    }
    // A job of several ranks: which rank owns each device (empty: one process), and the
    // latest minibatch's steps across ranks (the network hop), drawn through the middle.
    void setRanks(const std::vector<int>& deviceRanks)
    {
        m_deviceRanks = deviceRanks;
        update();
    }
    void setAcross(const std::vector<AllreduceView::Transfer>& across)
    {
        m_across = across;
        update();
    }
    QString acrossLine() const
    {
        if (m_across.empty())
            return QString();
        double dur = 0;
        qint64 bytes = 0;
        for (const auto& t : m_across) {
            dur = std::max(dur, t.t1 - t.t0);
            bytes = std::max(bytes, t.bytes);
        }
        return tr("Across ranks (the network, %1): %2 ranks, %3 each, %4 ms measured")
            .arg(m_across.front().phase)
            .arg(m_across.size())
            .arg(formatBytes(bytes))
            .arg(dur * 1000, 0, 'f', 2);
    }
    void setWaiting(bool waiting)
    {
        m_waiting = waiting;
        update();
    }
    QString finalLine() const { return m_finalLine; }
    const std::vector<AllreduceView::Transfer>& step() const { return m_step; } // the step drawn
    // The last paint's device circles, and the one-line words it had to elide.
    const QList<QRectF>& nodes() const { return m_nodes; }
    const QStringList& clipped() const { return m_clipped; }
    // The run has ended: its last allreduce, landed, with one line saying it completed.
    void showFinal(const std::vector<AllreduceView::Transfer>& lastStep, const QString& line)
    {
        m_anim.stop();
        m_step = lastStep;
        m_finalLine = line;
        m_waiting = false;
        update();
    }

protected:
    void paintEvent(QPaintEvent*) override;

private:
    static constexpr int kAnimMs = 700;
    // Device d's centre: the hub in the middle of a star, or on a circle of radius
    // m_radius around the area's centre.
    // A star's device 0 sits in the middle; a job of several ranks puts every device on the
    // circle (each rank's an arc) and the network in the middle.
    bool hub() const { return !m_ring && !ranks(); }
    bool ranks() const { return int(m_deviceRanks.size()) == m_n && m_n > 0 &&
                                *std::max_element(m_deviceRanks.begin(), m_deviceRanks.end()) > 0; }
    int rankOf(int d) const { return ranks() && d >= 0 && d < m_n ? m_deviceRanks[size_t(d)] : 0; }
    QPointF pos(int d, const QRectF& area) const
    {
        const QPointF c = area.center();
        const double r = m_radius;
        if (hub() && d == 0)
            return c;
        const int k = hub() ? d - 1 : d;
        const int count = hub() ? std::max(1, m_n - 1) : m_n;
        const double a = -M_PI / 2 + 2 * M_PI * k / count;
        return c + QPointF(r * std::cos(a), r * std::sin(a));
    }
    double progress() const
    {
        if (!m_anim.isActive())
            return 1.0;
        return std::clamp(m_clock.elapsed() / double(kAnimMs), 0.0, 1.0);
    }

    int m_n = 1;
    LinkModel m_link;
    double m_scale = 1.0;
    double m_radius = 50;
    bool m_ring = false;
    bool m_waiting = false;
    QString m_finalLine; // set when the run has ended
    std::vector<AllreduceView::Transfer> m_step;
    std::vector<qint64> m_sent, m_recv;
    std::vector<QString> m_sums;
    std::vector<int> m_deviceRanks;
    std::vector<AllreduceView::Transfer> m_across;
    QTimer m_anim;
    QElapsedTimer m_clock, m_sinceLast;
    QList<QRectF> m_nodes;
    QStringList m_clipped;
};

void TopologyWidget::paintEvent(QPaintEvent*)
{
    QPainter p(this);
    p.setRenderHint(QPainter::Antialiasing);
    p.fillRect(rect(), Qt::white);
    QFont title = font();
    title.setPointSizeF(paintedPointSize(13));
    title.setBold(true);
    p.setFont(title);
    p.setPen(Qt::black);
    m_nodes.clear();
    m_clipped.clear();
    // a line of its own, elided (and said) where it is wider than the widget
    auto elideLine = [this](const QFontMetrics& fm, const QString& text, int room) {
        if (fm.horizontalAdvance(text) <= room)
            return text;
        m_clipped << text;
        return fm.elidedText(text, Qt::ElideRight, room);
    };
    const int titleH = QFontMetrics(title).height() + 4;
    p.drawText(QRect(8, 4, width() - 16, titleH), Qt::AlignLeft | Qt::AlignVCenter,
               elideLine(QFontMetrics(title), m_ring ? tr("Ring allreduce") : tr("Naive allreduce (the book's)"),
                       width() - 16));
    // The text block on top is measured, so the drawing below never runs into it.
    QFont f = font();
    f.setPointSizeF(paintedPointSize(11));
    p.setFont(f);
    p.setPen(QColor(80, 80, 80));
    const int textW = width() - 16;
    const int rankCount = ranks() ? *std::max_element(m_deviceRanks.begin(), m_deviceRanks.end()) + 1 : 1;
    const QString sub = ranks() ? tr("%1 ranks, %2 devices: each rank reduces within itself (%3), then the ranks "
                                     "across the network, through the middle")
                                      .arg(rankCount)
                                      .arg(m_n)
                                      .arg(m_ring ? tr("ring") : tr("naive"))
                        : m_n <= 1 ? tr("One device: nothing to reduce.")
                        : m_ring ? tr("%1 devices: reduce-scatter, then all-gather, one chunk each per step").arg(m_n)
                                 : tr("%1 devices: sum into device 0, then broadcast back").arg(m_n);
    const QRect subR = p.fontMetrics().boundingRect(QRect(8, 6 + titleH, textW, 400), Qt::AlignLeft | Qt::TextWordWrap, sub);
    p.drawText(subR, Qt::AlignLeft | Qt::TextWordWrap, sub);
    QString line;
    if (!m_finalLine.isEmpty()) {
        line = m_finalLine;
    } else if (!m_step.empty()) {
        const auto& t = m_step.front();
        double dur = 0;
        qint64 bytes = 0;
        for (const auto& s : m_step) {
            dur = std::max(dur, s.t1 - s.t0);
            bytes += s.bytes;
        }
        line = tr("Step %1 of %2: %3 (epoch %4, minibatch %5): transfers %8, %6 in all, %7 ms")
                   .arg(t.step + 1)
                   .arg(t.steps)
                   .arg(t.phase)
                   .arg(t.epoch)
                   .arg(t.batch + 1)
                   .arg(formatBytes(bytes))
                   .arg(dur * 1000, 0, 'f', 2)
                   .arg(m_step.size());
        bool modelled = false;
        for (const auto& s : m_step)
            modelled = modelled || s.modelled;
        if (!m_link.none() || modelled) {
            double model = 0;
            for (const auto& s : m_step)
                model = std::max(model, m_link.transfer_us(s.charged > 0 ? s.charged
                                                                         : std::llround(double(s.bytes) * m_scale)));
            line += QLatin1Char(' ') + (modelled ? tr("(model %1 ms, modelled)") : tr("(model %1 ms)"))
                                           .arg(model / 1000, 0, 'f', 2);
        }
    } else if (m_n <= 1) {
        line.clear();
    } else {
        line = tr("Waiting for the first allreduce…");
    }
    if (!acrossLine().isEmpty())
        line += (line.isEmpty() ? QString() : QStringLiteral("\n")) + acrossLine();
    // what each device that received in this step now holds: the partial sums
    QStringList held;
    for (size_t d = 0; d < m_sums.size(); ++d)
        if (!m_sums[d].isEmpty())
            held << tr("dev %1: %2").arg(d).arg(m_sums[d]);
    if (!held.isEmpty())
        line += QLatin1Char('\n') + tr("Now held: %1").arg(held.join(QStringLiteral(" · ")));
    // a star's hub has no room between three or more spokes for its bytes: said up here
    const bool hubInHeader = hub() && m_n >= 4 && !m_sent.empty() && (m_sent[0] > 0 || m_recv[0] > 0);
    if (hubInHeader)
        line += QLatin1Char('\n') + tr("Device 0 (the hub): ↑%1 ↓%2").arg(formatBytes(m_sent[0]), formatBytes(m_recv[0]));
    p.setPen(QColor(20, 20, 20));
    const QRect lineR = p.fontMetrics().boundingRect(QRect(8, subR.bottom() + 4, textW, 400),
                                                     Qt::AlignLeft | Qt::TextWordWrap, line);
    p.drawText(lineR, Qt::AlignLeft | Qt::TextWordWrap, line);
    QFont sf = font();
    sf.setPointSizeF(paintedPointSize(10));
    p.setFont(sf);
    if (m_waiting) {
        p.setPen(QColor(176, 0, 32));
        p.drawText(QRect(8, height() - 24, width() - 16, 22), Qt::AlignLeft | Qt::AlignVCenter,
                   elideLine(p.fontMetrics(), tr("Step mode: press Step for the next allreduce step"), width() - 16));
    } else {
        p.setPen(QColor(90, 90, 90));
        p.drawText(QRect(8, height() - 24, width() - 16, 22), Qt::AlignLeft | Qt::AlignVCenter,
                   elideLine(p.fontMetrics(), tr("↑ sent  ↓ received (latest allreduce)"), width() - 16));
    }

    const double top = lineR.bottom() + 8;
    // Sizes follow the space: a projector's full screen gets larger nodes and text.
    const double scale = std::clamp(std::min(width(), height()) / 420.0, 1.0, 2.0);
    QFont labelFont = font();
    labelFont.setPointSizeF(std::max(paintedPointSize(9.5), 9.5 * scale));
    const QFontMetricsF lfm(labelFont);
    // a node's label: sent above received, or both on one line where that leaves the drawing
    // more room (a short area, e.g. a projector's large text)
    double tw = lfm.horizontalAdvance(QStringLiteral("↑888.8 KiB")) + 8;
    double th = 2 * lfm.height() + 2;
    bool oneLine = false;
    // The drawing fills the space between the text on top and the note at the bottom: the
    // largest circle whose nodes and their labels (outside the circle, each in its own
    // direction) all stay inside it. A label above or below a node needs no room beside it.
    const QRectF area(8, top, std::max(40.0, width() - 16.0), std::max(40.0, height() - top - 28));
    double nodeR = std::clamp(std::min(area.width(), area.height()) * 0.08, 14.0, 44.0);
    auto fits = [&](double r) {
        m_radius = r;
        for (int d = 0; d < m_n; ++d) {
            if (hub() && d == 0)
                continue; // the hub, in the middle
            const QPointF c = pos(d, area);
            const QPointF dir = c - area.center();
            const double dl = std::hypot(dir.x(), dir.y());
            const QPointF u = dl > 1 ? dir / dl : QPointF(1, 0);
            if (!area.contains(QRectF(c.x() - nodeR, c.y() - nodeR, 2 * nodeR, 2 * nodeR)))
                return false;
            const double reach = nodeR + 6 + std::fabs(u.x()) * tw / 2 + std::fabs(u.y()) * th / 2;
            const QPointF lp = c + u * reach;
            if (!area.contains(QRectF(lp.x() - tw / 2, lp.y() - th / 2, tw, th)))
                return false;
        }
        return true;
    };
    auto largest = [&] {
        double lo = nodeR, hi = std::max(nodeR, std::min(area.width(), area.height()) / 2);
        for (int i = 0; i < 24; ++i) {
            const double mid = (lo + hi) / 2;
            (fits(mid) ? lo : hi) = mid;
        }
        return lo;
    };
    m_radius = largest();
    {
        const double twoLineR = m_radius, tw2 = tw, th2 = th;
        tw = lfm.horizontalAdvance(QStringLiteral("↑888.8 KiB ↓888.8 KiB")) + 8;
        th = lfm.height() + 2;
        m_radius = largest();
        oneLine = m_radius > twoLineR;
        if (!oneLine) {
            tw = tw2;
            th = th2;
            m_radius = twoLineR;
        }
    }
    // many devices on a small circle, or a short area: smaller nodes, so that neighbours
    // (and a star's hub and its one other device) do not overlap
    const int onCircle = hub() ? m_n - 1 : m_n;
    if (onCircle > 1 || (hub() && onCircle == 1)) {
        const double spacing = onCircle > 1 ? 2 * m_radius * std::sin(M_PI / onCircle) : 1e9;
        const double hubGap = hub() ? m_radius : ranks() ? m_radius * 0.8 : 1e9;
        const double fitR = std::min(spacing, hubGap) / 2 - 3;
        if (fitR < nodeR) {
            nodeR = std::max(9.0, fitR);
            m_radius = largest();
        }
    }
    // links
    p.setPen(QPen(QColor(200, 200, 200), 3));
    if (ranks()) {
        // each rank's own ring or star, and each rank's first device joined to the network
        std::map<int, std::vector<int>> byRank;
        for (int d = 0; d < m_n; ++d)
            byRank[rankOf(d)].push_back(d);
        // as wide as leaves the nodes on the circle clear of it
        const double netW = std::clamp(2 * (m_radius - nodeR) - 16, 40.0, 96.0);
        const QRectF net(area.center().x() - netW / 2, area.center().y() - 16, netW, 32);
        for (const auto& [r, devs] : byRank) {
            for (size_t i = 1; i < devs.size(); ++i)
                p.drawLine(pos(m_ring ? devs[i - 1] : devs.front(), area), pos(devs[i], area));
            if (m_ring && devs.size() > 2)
                p.drawLine(pos(devs.back(), area), pos(devs.front(), area));
        }
        QPen spoke(QColor(120, 120, 120), 2, Qt::DashLine);
        p.setPen(spoke);
        for (const auto& [r, devs] : byRank)
            p.drawLine(pos(devs.front(), area), net.center());
        // the network hop: a box in the middle, highlighted with the latest step across ranks
        const bool active = !m_across.empty();
        p.setPen(QPen(Qt::black, 1.5));
        p.setBrush(active ? QColor(255, 236, 179) : QColor(235, 235, 235));
        p.drawRoundedRect(net, 8, 8);
        QFont nf = font();
        nf.setPointSizeF(paintedPointSize(10));
        nf.setBold(true);
        p.setFont(nf);
        p.drawText(net, Qt::AlignCenter, tr("network"));
        p.setBrush(Qt::NoBrush);
        if (active) {
            p.setPen(QPen(QColor(176, 96, 0), 3));
            for (const auto& t : m_across)
                if (t.src >= 0 && t.src < m_n)
                    p.drawLine(pos(t.src, area), net.center());
        }
        p.setPen(QPen(QColor(200, 200, 200), 3));
    } else {
        for (int d = 0; d < m_n; ++d) {
            if (m_ring && m_n > 1)
                p.drawLine(pos(d, area), pos((d + 1) % m_n, area));
            else if (!m_ring && d > 0)
                p.drawLine(pos(0, area), pos(d, area));
        }
    }
    // the current step's transfers, each coloured by its chunk (the same colour at every step)
    const double prog = progress();
    QFont cf = font();
    cf.setPointSizeF(std::max(paintedPointSize(9.5), 9.5 * scale));
    cf.setBold(true);
    const QFontMetricsF cfm(cf);
    for (const auto& t : m_step) {
        if (t.src < 0 || t.dst < 0 || t.src >= m_n || t.dst >= m_n)
            continue;
        const QPointF a = pos(t.src, area), b = pos(t.dst, area);
        const QLineF l(a, b);
        const double len = l.length();
        if (len < 1)
            continue;
        const QPointF u = (b - a) / len;
        const QPointF n(-u.y(), u.x());
        const QPointF off = m_ring ? n * 0.0 : n * 6.0;
        const QPointF from = a + u * nodeR + off, to = b - u * (nodeR + 2) + off;
        const QColor col = chunkColor(t.chunk);
        p.setPen(QPen(col, 3));
        p.drawLine(from, to);
        QPainterPath head;
        head.moveTo(to);
        head.lineTo(to - u * 12 + n * 6);
        head.lineTo(to - u * 12 - n * 6);
        head.closeSubpath();
        p.fillPath(head, col);
        // the chunk on its way; parked mid-way once landed, so it hides no node
        const QPointF at = from + (to - from) * (m_anim.isActive() ? prog : 0.5);
        const QString name = t.chunk < 0 ? tr("all") : tr("c%1").arg(t.chunk);
        const double bw = cfm.horizontalAdvance(name) + 10, bh = cfm.height() + 4;
        const QRectF box(at.x() - bw / 2, at.y() - bh / 2, bw, bh);
        p.setPen(QPen(Qt::black, 1));
        p.setBrush(col);
        p.drawRoundedRect(box, 3, 3);
        p.setFont(cf);
        p.setPen(Qt::white);
        p.drawText(box, Qt::AlignCenter, name);
        p.setBrush(Qt::NoBrush);
    }
    // nodes
    QFont nf = font();
    nf.setPixelSize(std::max(10, int(nodeR * 0.9)));
    nf.setBold(true);
    for (int d = 0; d < m_n; ++d) {
        const QPointF c = pos(d, area);
        p.setPen(QPen(Qt::black, 1.5));
        p.setBrush(deviceColor(d));
        p.drawEllipse(c, nodeR, nodeR);
        m_nodes << QRectF(c.x() - nodeR, c.y() - nodeR, 2 * nodeR, 2 * nodeR);
        p.setFont(nf);
        p.setPen(Qt::white);
        p.drawText(QRectF(c.x() - nodeR, c.y() - nodeR, 2 * nodeR, 2 * nodeR), Qt::AlignCenter,
                   QString::number(d));
        if (size_t(d) >= m_sent.size() || (m_sent[size_t(d)] == 0 && m_recv[size_t(d)] == 0))
            continue;
        if (hubInHeader && d == 0)
            continue;
        // outside the circle, just clear of the node; the hub of a star between two spokes,
        // away from the chunks moving along them
        QPointF u;
        if (hub() && d == 0) {
            const int spokes = std::max(1, m_n - 1);
            const double a = -M_PI / 2 + M_PI / spokes;
            u = QPointF(std::cos(a), std::sin(a));
        } else {
            const QPointF dir = c - area.center();
            const double dl = std::hypot(dir.x(), dir.y());
            u = dl > 1 ? dir / dl : QPointF(1, 0);
        }
        const double reach = nodeR + 6 + std::fabs(u.x()) * tw / 2 + std::fabs(u.y()) * th / 2;
        const QPointF lp = c + u * reach;
        p.setFont(labelFont);
        p.setPen(QColor(30, 30, 30));
        p.drawText(QRectF(lp.x() - tw / 2, lp.y() - th / 2, tw, th), Qt::AlignCenter,
                   (oneLine ? tr("↑%1 ↓%2") : tr("↑%1\n↓%2"))
                       .arg(formatBytes(m_sent[size_t(d)]), formatBytes(m_recv[size_t(d)])));
    }
    p.setBrush(Qt::NoBrush);
}

// ---- the view ------------------------------------------------------------------------

namespace {

QCustomPlot* makePlot(QWidget* parent, const QString& title, const QString& x, const QString& y)
{
    auto* plot = new QCustomPlot(parent);
    addPlotTitle(plot, title);
    plot->xAxis->setLabel(x);
    plot->yAxis->setLabel(y);
    stylePlot(plot);
    plot->setMinimumSize(260, 200);
    return plot;
}

// Decimal units, as link bandwidths are given (1 GB = 10^9 bytes): "516.5 kB", "102.2 MB".
QString decimalBytes(double b)
{
    if (b >= 1e9)
        return AllreduceView::tr("%1 GB").arg(b / 1e9, 0, 'f', 2);
    if (b >= 1e6)
        return AllreduceView::tr("%1 MB").arg(b / 1e6, 0, 'f', 1);
    if (b >= 1e3)
        return AllreduceView::tr("%1 kB").arg(b / 1e3, 0, 'f', 1);
    return AllreduceView::tr("%1 B").arg(b, 0, 'f', 0);
}

// A time in the unit that reads best: "50 µs", "4.23 ms", "1.25 s".
QString niceTime(double us)
{
    if (us < 1000)
        return AllreduceView::tr("%1 µs").arg(us, 0, 'g', 3);
    if (us < 1e6)
        return AllreduceView::tr("%1 ms").arg(us / 1000, 0, 'f', 2);
    return AllreduceView::tr("%1 s").arg(us / 1e6, 0, 'f', 2);
}

QString bandwidth(double gbs)
{
    return AllreduceView::tr("%1 GB/s").arg(gbs, 0, 'g', 3);
}

bool firstHalf(const QString& phase)
{
    return phase == QLatin1String("reduce") || phase == QLatin1String("reduce-scatter");
}

} // namespace

AllreduceView::AllreduceView(QWidget* parent) : LabView(parent)
{
    m_topology = new TopologyWidget(this);
    m_topology->setObjectName(QStringLiteral("topology"));
    m_compareTopology = new TopologyWidget(this);
    m_compareTopology->setObjectName(QStringLiteral("compareTopology"));
    m_compareTopology->hide();
    auto* drawings = new QWidget(this);
    drawings->setObjectName(QStringLiteral("allreduceDrawings"));
    auto* dh = new QHBoxLayout(drawings);
    dh->setContentsMargins(0, 0, 0, 0);
    dh->addWidget(m_topology, 1);
    dh->addWidget(m_compareTopology, 1);

    m_steps = makePlot(this, tr("Time per step (latest allreduce)"), tr("step"), tr("ms"));
    m_steps->setObjectName(QStringLiteral("stepsPlot"));
    m_steps->installEventFilter(this); // each step's tooltip
    m_stepFirst = new QCPBars(m_steps->xAxis, m_steps->yAxis);
    m_stepSecond = new QCPBars(m_steps->xAxis, m_steps->yAxis);
    m_stepFirst->setBrush(QColor(31, 119, 180));
    m_stepFirst->setPen(QPen(QColor(20, 80, 130)));
    m_stepSecond->setBrush(QColor(255, 127, 14));
    m_stepSecond->setPen(QPen(QColor(180, 90, 10)));
    m_stepFirst->setWidth(0.7);
    m_stepSecond->setWidth(0.7);
    // the model's time per step: a dashed outline over each measured bar
    m_stepModel = new QCPBars(m_steps->xAxis, m_steps->yAxis);
    m_stepModel->setObjectName(QStringLiteral("stepModelBars"));
    m_stepModel->setBrush(Qt::NoBrush);
    m_stepModel->setPen(QPen(QColor(20, 20, 20), 2, Qt::DashLine));
    m_stepModel->setWidth(0.85);
    m_stepModel->setName(tr("link model"));
    // the network hop across ranks (a job of several ranks), after the steps within them
    m_stepAcross = new QCPBars(m_steps->xAxis, m_steps->yAxis);
    m_stepAcross->setObjectName(QStringLiteral("stepAcrossBars"));
    m_stepAcross->setBrush(QColor(176, 96, 0));
    m_stepAcross->setPen(QPen(QColor(120, 60, 0)));
    m_stepAcross->setWidth(0.7);
    m_stepAcross->setName(tr("across ranks (network)"));
    m_stepAcross->removeFromLegend();
    // under the plot, where it hides no bar (named by previewSettings / beginRun)
    placeLegendBelow(m_steps, 2, 2, QMargins(4, 2, 4, 2));

    m_traffic = makePlot(this, tr("Bytes per device (latest allreduce)"), tr("device"), tr("KiB"));
    m_traffic->setObjectName(QStringLiteral("trafficPlot"));
    m_sent = new QCPBars(m_traffic->xAxis, m_traffic->yAxis);
    m_receivedBars = new QCPBars(m_traffic->xAxis, m_traffic->yAxis);
    m_sent->setName(tr("sent"));
    m_receivedBars->setName(tr("received"));
    m_sent->setBrush(QColor(44, 160, 44));
    m_sent->setPen(QPen(QColor(30, 110, 30)));
    m_receivedBars->setBrush(QColor(148, 103, 189));
    m_receivedBars->setPen(QPen(QColor(100, 70, 130)));
    auto* group = new QCPBarsGroup(m_traffic);
    m_sent->setBarsGroup(group);
    m_receivedBars->setBarsGroup(group);
    m_sent->setWidth(0.35);
    m_receivedBars->setWidth(0.35);
    m_traffic->legend->setVisible(true);
    m_traffic->axisRect()->insetLayout()->setInsetAlignment(0, Qt::AlignTop | Qt::AlignRight);
    for (QCustomPlot* p : {m_steps, m_traffic}) {
        QSharedPointer<QCPAxisTickerFixed> ticker(new QCPAxisTickerFixed);
        ticker->setTickStep(1.0);
        ticker->setScaleStrategy(QCPAxisTickerFixed::ssMultiples);
        p->xAxis->setTicker(ticker);
    }

    m_before = makePlot(this, tr("Gradient before allreduce\n "), tr("element"), tr("gradient"));
    m_before->setObjectName(QStringLiteral("gradBeforePlot"));
    m_after = makePlot(this, tr("Gradient after allreduce\n "), tr("element"), tr("gradient"));
    m_after->setObjectName(QStringLiteral("gradAfterPlot"));
    for (QCustomPlot* p : {m_before, m_after}) {
        // the devices' legend in rows under the plot, where it hides no data; it appears
        // with the first gradients (rebuildGradients)
        placeLegendBelow(p, 2, 4, QMargins(4, 2, 4, 2));
    }

    auto* side = new QWidget(this);
    side->setObjectName(QStringLiteral("allreduceSide"));
    auto* sv = new QVBoxLayout(side);
    sv->setContentsMargins(0, 0, 0, 0);
    auto* row = new QHBoxLayout;
    row->addWidget(new QLabel(tr("Gradient shown:"), side));
    m_gradient = new QComboBox(side);
    m_gradient->setObjectName(QStringLiteral("gradientCombo"));
    for (const ParamSpec& p : lenet_params())
        m_gradient->addItem(QString::fromStdString(p.name));
    m_gradient->setCurrentText(QStringLiteral("b1"));
    m_gradient->setToolTip(tr("Which parameter's gradient is captured around the allreduce (from the next run on)"));
    row->addWidget(m_gradient);
    row->addStretch(1);
    sv->addLayout(row);
    auto* cmpRow = new QHBoxLayout;
    cmpRow->addWidget(new QLabel(tr("Beside it, the last allreduce of:"), side));
    m_compare = new QComboBox(side);
    m_compare->setObjectName(QStringLiteral("compareCombo"));
    m_compare->addItem(tr("none"), 0);
    m_compare->setToolTip(tr("Draw an earlier run's last allreduce beside this one: naive against ring, "
                             "2 devices against 4"));
    cmpRow->addWidget(m_compare, 1);
    sv->addLayout(cmpRow);
    connect(m_compare, &QComboBox::currentIndexChanged, this, [this] { onCompareChosen(); });
    m_gradNote = new QLabel(tr("As the book prints it, on every device:"), side);
    m_gradNote->setWordWrap(true);
    sv->addWidget(m_gradNote);
    m_book = new QPlainTextEdit(side);
    m_book->setObjectName(QStringLiteral("bookText"));
    m_book->setReadOnly(true);
    m_book->setLineWrapMode(QPlainTextEdit::WidgetWidth);
    QFont mono(QStringLiteral("monospace"));
    mono.setStyleHint(QFont::Monospace);
    mono.setPointSize(10);
    m_book->setFont(mono);
    sv->addWidget(m_book, 1);

    // under the step plot: the alpha-beta model of the whole allreduce beside its measurement
    m_stepsBox = new QWidget(this);
    auto* stv = new QVBoxLayout(m_stepsBox);
    stv->setContentsMargins(0, 0, 0, 0);
    stv->setSpacing(2);
    stv->addWidget(m_steps, 3);
    // scrolled where the cell is short, so the plot keeps its room
    m_modelScroll = new QScrollArea(m_stepsBox);
    m_modelScroll->setObjectName(QStringLiteral("allreduceModelScroll"));
    m_modelScroll->setWidgetResizable(true);
    m_modelScroll->setFrameShape(QFrame::NoFrame);
    m_modelScroll->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    m_modelScroll->setSizePolicy(QSizePolicy::Preferred, QSizePolicy::Ignored);
    m_modelText = new QLabel(m_modelScroll);
    m_modelText->setObjectName(QStringLiteral("allreduceModelText"));
    m_modelText->setWordWrap(true);
    m_modelText->setTextFormat(Qt::PlainText);
    m_modelText->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_modelText->setAlignment(Qt::AlignLeft | Qt::AlignTop);
    m_modelText->setContentsMargins(4, 3, 4, 3);
    // colours by palette, not a style sheet: a style sheet would keep projector mode's larger
    // application font from reaching the label
    QPalette pal = m_modelText->palette();
    pal.setColor(QPalette::Window, QColor(246, 246, 246));
    pal.setColor(QPalette::WindowText, QColor(34, 34, 34));
    m_modelText->setPalette(pal);
    m_modelText->setAutoFillBackground(true);
    m_modelScroll->setWidget(m_modelText);
    stv->addWidget(m_modelScroll, 2);

    // Everything sits in a scroll area: where the view is small for its font (projector mode
    // at 1024x768) the cells are laid out two abreast at legible sizes, the drawing, the step
    // plot and the formula filling the first screen, and the rest below it.
    m_drawings = drawings;
    m_side = side;
    m_page = new QScrollArea(this);
    m_page->setObjectName(QStringLiteral("allreducePage"));
    m_page->setWidgetResizable(false); // sized by fitLayout: a screen, or the compact cells' heights
    m_page->setFrameShape(QFrame::NoFrame);
    m_page->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    m_page->setVerticalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    m_content = new QWidget;
    m_content->setObjectName(QStringLiteral("allreduceContent"));
    m_page->setWidget(m_content);
    m_page->viewport()->installEventFilter(this);
    auto* outer = new QVBoxLayout(this);
    outer->setContentsMargins(0, 0, 0, 0);
    outer->addWidget(m_page);
    layoutCells(false, false);
    previewSettings(TrainConfig{});
}

bool AllreduceView::eventFilter(QObject* watched, QEvent* event)
{
    if (m_page && watched == m_page->viewport() && event->type() == QEvent::Resize)
        fitLayout();
    if (watched == m_steps && event->type() == QEvent::ToolTip) {
        // over a step's bars: what was measured, what the model gives, and whether it is modelled
        auto* help = static_cast<QHelpEvent*>(event);
        const int step = int(std::lround(m_steps->xAxis->pixelToCoord(help->pos().x())));
        const QString tip = stepToolTip(step);
        if (tip.isEmpty())
            QToolTip::hideText();
        else
            QToolTip::showText(help->globalPos(), tip, m_steps);
        return true;
    }
    return LabView::eventFilter(watched, event);
}

void AllreduceView::changeEvent(QEvent* event)
{
    LabView::changeEvent(event);
    if (event->type() == QEvent::FontChange)
        QTimer::singleShot(0, this, [this] { fitLayout(); });
}

void AllreduceView::fitLayout()
{
    // Three cells abreast need about 120 characters across and 30 lines down; less than
    // that (projector mode's large font on a 1024x768 screen) squashes the step plot and
    // its formula, so the cells go two abreast and scroll.
    // Narrower still (beside the open control panel), the drawing's half was a column of text
    // over devices a few pixels across: it takes the first screen's whole width then.
    const QFontMetrics fm(font());
    const bool compact = m_page->width() < 120 * fm.averageCharWidth() || m_page->height() < 30 * fm.lineSpacing();
    const bool narrow = compact && m_page->width() < kNarrowChars * fm.averageCharWidth();
    if (compact != m_compact || narrow != m_narrow)
        layoutCells(compact, narrow);
    const QSize room = m_page->viewport()->size();
    if (!m_compact) {
        m_content->resize(room);
        return;
    }
    auto* grid = static_cast<QGridLayout*>(m_content->layout());
    const QMargins gm = grid->contentsMargins();
    const int gap = grid->verticalSpacing();
    // the formula under the drawing and the step plot, whole (it has the width of both)
    const int textH = m_modelText->heightForWidth(room.width() - gm.left() - gm.right()) + 4;
    m_modelScroll->setFixedHeight(textH);
    const int line = fm.lineSpacing();
    const int rest = std::max(12 * line, room.height() * 3 / 4);
    if (m_narrow) {
        // the drawing, a screen; then the step plot, the formula, the bytes beside the book's
        // print-out and the gradients before and after
        const int first = std::max(12 * line, room.height() - gm.top() - gm.bottom());
        const int heights[] = {first, rest, textH, rest, rest};
        int total = gm.top() + gm.bottom() + 4 * gap;
        for (int r = 0; r < 5; ++r) {
            grid->setRowMinimumHeight(r, heights[r]);
            total += heights[r];
        }
        m_content->resize(room.width(), total);
        grid->activate();
        return;
    }
    // the first screen: the drawing and the step plot, the formula under them; then the bytes
    // and the book's print-out, then the gradients, each most of a screen high
    const int first = std::max(12 * line, room.height() - textH - gap - gm.top() - gm.bottom());
    grid->setRowMinimumHeight(0, first);
    grid->setRowMinimumHeight(1, textH);
    grid->setRowMinimumHeight(2, rest);
    grid->setRowMinimumHeight(3, rest);
    m_content->resize(room.width(), gm.top() + first + gap + textH + gap + rest + gap + rest + gm.bottom());
    grid->activate(); // now, not at the next event loop pass: an export may grab the view first
}

void AllreduceView::layoutCells(bool compact, bool narrow)
{
    m_compact = compact;
    m_narrow = compact && narrow;
    // one screen across; down, the whole view scrolls when compact
    m_page->setVerticalScrollBarPolicy(compact ? Qt::ScrollBarAlwaysOn : Qt::ScrollBarAlwaysOff);
    // narrower cells: the titles on two lines, the step plot's legend one entry a row
    if (auto* t = qobject_cast<QCPTextElement*>(m_steps->plotLayout()->element(0, 0)))
        t->setText(compact ? tr("Time per step\n(latest allreduce)") : tr("Time per step (latest allreduce)"));
    if (auto* t = qobject_cast<QCPTextElement*>(m_traffic->plotLayout()->element(0, 0)))
        t->setText(compact ? tr("Bytes per device\n(latest allreduce)") : tr("Bytes per device (latest allreduce)"));
    m_steps->legend->setWrap(compact ? 1 : 2);
    m_steps->legend->setFillOrder(QCPLegend::foColumnsFirst, true);
    delete m_content->layout();
    auto* grid = new QGridLayout(m_content);
    grid->setContentsMargins(4, 4, 4, 4);
    if (!compact) {
        m_modelScroll->setMinimumHeight(0);
        m_modelScroll->setMaximumHeight(QWIDGETSIZE_MAX);
        for (int r = 0; r < 4; ++r)
            grid->setRowMinimumHeight(r, 0);
        auto* stv = static_cast<QVBoxLayout*>(m_stepsBox->layout());
        if (stv->indexOf(m_modelScroll) < 0)
            stv->addWidget(m_modelScroll, 2);
        grid->addWidget(m_drawings, 0, 0);
        grid->addWidget(m_stepsBox, 0, 1);
        grid->addWidget(m_traffic, 0, 2);
        grid->addWidget(m_before, 1, 0);
        grid->addWidget(m_after, 1, 1);
        grid->addWidget(m_side, 1, 2);
        for (int c = 0; c < 3; ++c)
            grid->setColumnStretch(c, 1);
        grid->setRowStretch(0, 5); // the drawing, the steps with their model text, the bytes
        grid->setRowStretch(1, 4);
    } else if (m_narrow) {
        grid->addWidget(m_drawings, 0, 0, 1, 2);
        grid->addWidget(m_stepsBox, 1, 0, 1, 2);
        m_stepsBox->layout()->removeWidget(m_modelScroll);
        grid->addWidget(m_modelScroll, 2, 0, 1, 2);
        grid->addWidget(m_traffic, 3, 0);
        grid->addWidget(m_side, 3, 1);
        grid->addWidget(m_before, 4, 0);
        grid->addWidget(m_after, 4, 1);
        for (int c = 0; c < 2; ++c)
            grid->setColumnStretch(c, 1);
    } else {
        // the drawing beside the step plot, the formula under both; then the bytes beside
        // the book's print-out, then the gradients before and after
        grid->addWidget(m_drawings, 0, 0);
        grid->addWidget(m_stepsBox, 0, 1);
        m_stepsBox->layout()->removeWidget(m_modelScroll);
        grid->addWidget(m_modelScroll, 1, 0, 1, 2);
        grid->addWidget(m_traffic, 2, 0);
        grid->addWidget(m_side, 2, 1);
        grid->addWidget(m_before, 3, 0);
        grid->addWidget(m_after, 3, 1);
        for (int c = 0; c < 2; ++c)
            grid->setColumnStretch(c, 1);
    }
    for (QWidget* w : std::initializer_list<QWidget*>{m_drawings, m_stepsBox, m_modelScroll, m_traffic, m_side,
                       m_before, m_after})
        w->show();
}

AllreduceView::~AllreduceView() = default;

QString AllreduceView::gradientName() const
{
    return m_gradient->currentText();
}

void AllreduceView::setStepMode(bool on)
{
    m_topology->setWaiting(on);
}

void AllreduceView::setShape(int devices, bool ring)
{
    m_devices = devices;
    m_ring = ring;
    m_topology->setLayoutKind(m_devices, m_ring);
    m_stepFirst->setName(m_ring ? tr("reduce-scatter") : tr("reduce"));
    m_stepSecond->setName(m_ring ? tr("all-gather") : tr("broadcast"));
    m_steps->xAxis->setRange(0.3, std::max(allreduce_steps(m_ring ? AllreduceKind::Ring : AllreduceKind::Naive,
                                                           m_devices), 1) + 0.7);
    m_traffic->xAxis->setRange(-0.6, m_devices - 0.4);
}

void AllreduceView::previewSettings(const TrainConfig& config)
{
    if (m_hadRun)
        return; // the last run's picture stays until the next one starts
    setShape(config.devices, config.allreduce == AllreduceKind::Ring);
    setLink(config);
    for (QCustomPlot* p : {m_steps, m_traffic})
        p->replot(QCustomPlot::rpQueuedReplot);
}

void AllreduceView::setLink(const TrainConfig& config)
{
    m_link = config.link;
    m_linkParams = config.link.none() ? 0 : config.link_params;
    m_linkScale = config.link.none() ? 1.0 : config.link_bytes_scale();
    m_topology->setLink(m_link, m_linkScale);
    m_stepModel->setVisible(!m_link.none());
    m_stepModel->setName(m_linkParams > 0 ? tr("link model (scaled bytes)") : tr("link model"));
    if (m_link.none()) {
        if (m_steps->legend->hasItemWithPlottable(m_stepModel))
            m_steps->legend->removeItem(m_steps->legend->itemWithPlottable(m_stepModel));
    }
    else if (!m_steps->legend->hasItemWithPlottable(m_stepModel))
        m_stepModel->addToLegend();
    updateLegend(m_steps);
    rebuildModelText();
}

double AllreduceView::stepModelUs(qint64 bytes) const
{
    return m_link.transfer_us(std::llround(double(bytes) * m_linkScale));
}

double AllreduceView::acrossStepMs() const
{
    double ms = 0;
    for (const Transfer& t : m_across)
        ms = std::max(ms, (t.t1 - t.t0) * 1000);
    return ms;
}

QString AllreduceView::topologyAcrossLine() const
{
    return m_topology->acrossLine();
}

double AllreduceView::transferModelUs(const Transfer& t) const
{
    return t.charged > 0 ? m_link.transfer_us(t.charged) : stepModelUs(t.bytes);
}

bool AllreduceView::latestModelled() const
{
    for (const Transfer& t : m_current)
        if (t.modelled)
            return true;
    return false;
}

QString AllreduceView::stepToolTip(int step) const
{
    double t0 = 1e300, t1 = -1e300, dur = 0, model = 0;
    qint64 bytes = 0, charged = 0;
    int transfers = 0;
    bool modelled = false;
    QString phase;
    int steps = 0;
    for (const Transfer& t : m_current) {
        if (t.step + 1 != step)
            continue;
        ++transfers;
        phase = t.phase;
        steps = t.steps;
        t0 = std::min(t0, t.t0);
        t1 = std::max(t1, t.t1);
        dur = std::max(dur, t.t1 - t.t0);
        bytes += t.bytes;
        charged += t.charged > 0 ? t.charged : t.bytes;
        modelled = modelled || t.modelled;
        if (!m_link.none())
            model = std::max(model, transferModelUs(t));
    }
    if (transfers == 0)
        return QString();
    QString tip = tr("Step %1 of %2: %3, %4 transfers, %5 moved").arg(step).arg(steps).arg(phase).arg(transfers).arg(formatBytes(bytes));
    tip += QLatin1Char('\n') + tr("Measured: %1").arg(niceTime(dur * 1e6));
    if (!m_link.none())
        tip += QLatin1Char('\n') + tr("Link model: %1").arg(niceTime(model));
    if (modelled)
        tip += QLatin1Char('\n') + (charged > bytes ? tr("Modelled: the link model set this step's time, charging %1 "
                                                          "as if the model were bigger")
                                                           .arg(decimalBytes(double(charged)))
                                                     : tr("Modelled: the link model set this step's time"));
    return tip;
}

void AllreduceView::rebuildModelText()
{
    QStringList lines;
    // A job of several ranks numbers every rank's devices globally and reduces in two stages:
    // within each rank (the link model's formulas, whose n is a rank's own devices), then
    // across the ranks over the network (measured). The text says the job's count and both.
    int n = m_devices;
    const int rankCount =
        m_deviceRanks.empty() ? 1 : *std::max_element(m_deviceRanks.begin(), m_deviceRanks.end()) + 1;
    QString job;
    if (rankCount > 1) {
        const int perRank = int(std::count(m_deviceRanks.begin(), m_deviceRanks.end(), 0));
        job = perRank == 1 ? tr("A job of %1 ranks × 1 device: %2 devices in all.").arg(rankCount).arg(m_devices)
                           : tr("A job of %1 ranks × %2 devices: %3 devices in all.")
                                 .arg(rankCount)
                                 .arg(perRank)
                                 .arg(m_devices);
        if (perRank >= 2)
            job += QLatin1Char(' ') + tr("Its allreduce runs in two stages: 1. within each rank, among its %1 devices "
                                         "(the formulas below, n = %1); 2. across the %2 ranks, over the network "
                                         "(measured, the last line).")
                                          .arg(perRank)
                                          .arg(rankCount);
        n = perRank;
    }
    if (n < 2 && m_across.empty() && job.isEmpty()) {
        m_modelText->setText(tr("One device: no allreduce, nothing crosses a link."));
        return;
    }
    if (!job.isEmpty())
        lines << job;
    if (n < 2) {
        if (m_across.empty()) {
            m_modelText->setText(job);
            return;
        }
        m_modelText->setText((job.isEmpty() ? QString() : job + QLatin1Char('\n')) +
                             tr("One device per rank: nothing to reduce within a rank.") + QLatin1Char('\n') +
                             tr("Across ranks, the network hop (%1): measured %2 for %3 per rank, %4 ranks (epoch %5, "
                                "minibatch %6)")
                                 .arg(m_across.front().phase, niceTime(acrossStepMs() * 1000),
                                      decimalBytes(double(m_across.front().bytes)))
                                 .arg(m_across.size())
                                 .arg(m_across.front().epoch)
                                 .arg(m_across.front().batch + 1));
        if (m_compact)
            fitLayout();
        return;
    }
    // S: one device's whole gradient, as moved and as charged (the latest allreduce's
    // transfers, or LeNet's flat buffer before the first one)
    double moved = double(lenet_flat_count()) * 4;
    if (!m_current.empty()) {
        const int step0 = m_current.front().step;
        double sum = 0;
        for (const Transfer& t : m_current)
            if (t.step == step0)
                sum += double(t.bytes);
        if (sum > 0)
            moved = m_ring ? sum : double(m_current.front().bytes);
    }
    const double charged = moved * m_linkScale;
    double modelUs = 0;
    if (m_link.none()) {
        lines << tr("No link model: the simulated devices share this machine's memory, so a transfer "
                    "costs a memcpy. Choose a link to see what communication costs.");
    } else {
        QString link = tr("Link %1: α = %2, β = %3 per direction.")
                           .arg(QString::fromStdString(m_link.name), niceTime(m_link.latency_us),
                                bandwidth(m_link.gb_per_s));
        if (m_linkParams > 0) {
            QString title = QString::fromStdString(link_params_text(m_linkParams));
            for (const ModelSize& m : model_sizes())
                if (m.params == m_linkParams)
                    title = QString::fromLatin1(m.title);
            link += QLatin1Char(' ') +
                    tr("Charged as %1 (%2 M parameters): S = %3 per device, %4× LeNet's %5 (modelled; "
                       "the training is LeNet's).")
                        .arg(title)
                        .arg(double(m_linkParams) / 1e6, 0, 'f', 1)
                        .arg(decimalBytes(charged), QString::number(m_linkScale, 'f', m_linkScale < 10 ? 2 : 0),
                             decimalBytes(moved));
        }
        lines << link;
        const double a = m_link.latency_us, betaBytesPerUs = m_link.gb_per_s * 1e3;
        if (m_ring) {
            modelUs = ring_allreduce_model_us(m_link, n, charged);
            lines << tr("Ring: 2(n−1)·α + 2(n−1)/n·S/β = %1·%2 + %3·%4 / %5 = %6 + %7 = %8")
                         .arg(2 * (n - 1))
                         .arg(niceTime(a))
                         .arg(QStringLiteral("%1/%2").arg(2 * (n - 1)).arg(n))
                         .arg(decimalBytes(charged))
                         .arg(bandwidth(m_link.gb_per_s))
                         .arg(niceTime(2.0 * (n - 1) * a))
                         .arg(niceTime(2.0 * (n - 1) / n * charged / betaBytesPerUs))
                         .arg(niceTime(modelUs));
        } else {
            modelUs = naive_allreduce_model_us(m_link, n, charged);
            lines << tr("Naive, every copy through device 0's link: 2(n−1)·(α + S/β) = %1·(%2 + %3 / %4) = "
                        "%5 + %6 = %7")
                         .arg(2 * (n - 1))
                         .arg(niceTime(a))
                         .arg(decimalBytes(charged))
                         .arg(bandwidth(m_link.gb_per_s))
                         .arg(niceTime(2.0 * (n - 1) * a))
                         .arg(niceTime(2.0 * (n - 1) * charged / betaBytesPerUs))
                         .arg(niceTime(modelUs));
        }
        if (!m_ring && n >= 3)
            lines << tr("The broadcasts run on different workers but share device 0's link: one after another.");
        const double latencyShare = 2.0 * (n - 1) * a / std::max(modelUs, 1e-9);
        lines << (latencyShare >= 0.5 ? tr("Latency-bound: α is %1% of the model's time.")
                                      : tr("Bandwidth-bound: S/β is %1% of the model's time."))
                     .arg(int(std::lround(100 * (latencyShare >= 0.5 ? latencyShare : 1 - latencyShare))));
    }
    // the latest whole allreduce, measured: from its first step's start to its last step's end
    const bool whole = !m_current.empty() && [&] {
        int last = 0;
        for (const Transfer& t : m_current)
            last = std::max(last, t.step);
        return last + 1 == m_current.front().steps;
    }();
    if (whole) {
        // a job's ranks run their allreduce within the rank each on its own, not at the same
        // moment: the slowest rank's own span, not one from the first rank's start to the last's end
        std::map<int, std::pair<double, double>> span; // rank -> (first start, last end)
        for (const Transfer& t : m_current) {
            const int dev = t.src >= 0 ? t.src : t.dst;
            const int rank = dev >= 0 && dev < int(m_deviceRanks.size()) ? m_deviceRanks[size_t(dev)] : 0;
            auto [it, fresh] = span.try_emplace(rank, t.t0, t.t1);
            if (!fresh) {
                it->second.first = std::min(it->second.first, t.t0);
                it->second.second = std::max(it->second.second, t.t1);
            }
        }
        double t0 = 0, t1 = 0;
        for (const auto& [rank, s] : span)
            if (s.second - s.first > t1 - t0) {
                t0 = s.first;
                t1 = s.second;
            }
        const double sec = t1 - t0;
        QString m = tr("Measured (epoch %1, minibatch %2): %3")
                        .arg(m_current.front().epoch)
                        .arg(m_current.front().batch + 1)
                        .arg(niceTime(sec * 1e6));
        // One process: the steps' own time beside it (the step plot's bars added up), so that a
        // span much longer than the bars reads as waiting between the steps (for a worker, the
        // other devices, the machine).
        if (span.size() == 1) {
            double own = 0;
            for (double s : stepSeconds())
                own += s;
            if (sec > 0 && own < 0.5 * sec) // more than half of it waiting
                m += tr(" (the steps themselves %1; the rest waits between them)").arg(niceTime(own * 1e6));
        }
        if (modelUs > 0)
            m += tr(", %1× the model").arg(sec * 1e6 / modelUs, 0, 'f', 2);
        lines << m + QStringLiteral(" · ") + tr("algbw = S/t = %1, busbw = algbw·2(n−1)/n = %2 (as nccl-tests)%3")
                     .arg(bandwidth(allreduce_algbw_gb_s(charged, sec)),
                          bandwidth(allreduce_busbw_gb_s(charged, sec, n)),
                          m_linkParams > 0 ? tr(", modelled bytes") : QString());
    }
    if (!m_across.empty())
        lines << tr("Across ranks, the network hop (%1): measured %2 for %3 per rank, %4 ranks (epoch %5, "
                    "minibatch %6)")
                     .arg(m_across.front().phase, niceTime(acrossStepMs() * 1000), decimalBytes(double(m_across.front().bytes)))
                     .arg(m_across.size())
                     .arg(m_across.front().epoch)
                     .arg(m_across.front().batch + 1);
    m_modelText->setText(lines.join(QLatin1Char('\n')));
    if (m_compact)
        fitLayout();
}

QString AllreduceView::modelText() const
{
    return m_modelText->text();
}

void AllreduceView::beginRun(const RunInfo& run)
{
    m_hadRun = true;
    setShape(run.config.devices, run.config.allreduce == AllreduceKind::Ring);
    m_all.clear();
    m_current.clear();
    m_across.clear();
    m_deviceRanks.clear();
    m_jobPending.clear();
    m_topology->setRanks({});
    m_topology->setAcross({});
    m_stepAcross->data()->clear();
    if (m_steps->legend->hasItemWithPlottable(m_stepAcross))
        m_steps->legend->removeItem(m_steps->legend->itemWithPlottable(m_stepAcross));
    m_stepModel->data()->clear();
    m_modelStepMs.clear();
    setLink(run.config);
    m_grads.clear();
    m_shownGrad = {-1, -1};
    m_gradTensor = QString::fromStdString(run.config.snapshot_grad);
    m_topology->setWaiting(run.config.step_mode);
    m_stepFirst->data()->clear();
    m_stepSecond->data()->clear();
    m_sent->data()->clear();
    m_receivedBars->data()->clear();
    m_before->clearGraphs();
    m_after->clearGraphs();
    updateLegend(m_before);
    updateLegend(m_after);
    m_book->clear();
    m_drawPending = false;
    m_acrossPending = false;
    m_stepsDirty = true;
    m_gradsDirty = true;
}

int AllreduceView::jobRanks() const
{
    int ranks = 1;
    for (int r : m_deviceRanks)
        ranks = std::max(ranks, r + 1);
    return ranks;
}

void AllreduceView::drawJobMinibatch(std::vector<Transfer> steps)
{
    std::vector<Transfer> within, across;
    for (Transfer& t : steps)
        (t.across ? across : within).push_back(std::move(t));
    auto byStep = [](const Transfer& a, const Transfer& b) { return a.step < b.step; };
    std::stable_sort(within.begin(), within.end(), byStep);
    if (!across.empty()) {
        m_across = std::move(across);
        m_acrossPending = true;
    }
    if (within.empty())
        return;
    m_current = std::move(within);
    // drawn at the next refresh, as a single process's latest step
    m_drawStep = m_current.back().step;
    m_drawPending = true;
    m_stepsDirty = true;
}

void AllreduceView::endRun(const RunInfo& run, const RunResult& result)
{
    // a job's last minibatch that not every rank finished (a stopped or failed run) is drawn
    // as far as it came
    if (!m_jobPending.empty()) {
        drawJobMinibatch(std::move(m_jobPending.rbegin()->second));
        m_jobPending.clear();
    }
    m_topology->setWaiting(false);
    if (m_acrossPending)
        m_topology->setAcross(m_across);
    m_acrossPending = false;
    m_drawPending = false; // the last allreduce is drawn whole, below
    if (m_current.empty())
        return;
    showFinal(m_topology, m_current, m_devices, m_ring,
              result.status == RunStatus::Completed ? tr("Run completed. ") : QString());
    // kept, to be drawn beside a later run's (naive against ring, 2 devices against 4); a
    // run that ends again (a replay played once more) is kept once
    std::erase_if(m_history, [&](const auto& h) { return h.runId == run.id; });
    m_history.push_back({run.id, run.shortLabel, m_devices, m_ring, m_current});
    while (m_history.size() > 12)
        m_history.erase(m_history.begin());
    {
        QSignalBlocker block(m_compare);
        const int chosen = m_compare->currentData().toInt();
        m_compare->clear();
        m_compare->addItem(tr("none"), 0);
        for (auto it = m_history.rbegin(); it != m_history.rend(); ++it)
            m_compare->addItem(it->label, it->runId);
        const int i = m_compare->findData(chosen);
        m_compare->setCurrentIndex(i >= 0 ? i : 0);
    }
    m_stepsDirty = true;
    m_gradsDirty = true;
}

void AllreduceView::showFinal(TopologyWidget* w, const std::vector<Transfer>& all, int devices, bool ring,
                              const QString& prefix)
{
    // The last allreduce of a run, whole: its last step drawn landed (steps of one
    // allreduce may be reported out of order, so the last is looked for, not assumed).
    int last = 0;
    qint64 bytes = 0;
    std::vector<qint64> sent(size_t(devices), 0), recv(size_t(devices), 0);
    for (const Transfer& t : all) {
        last = std::max(last, t.step);
        bytes += t.bytes;
        if (t.src >= 0 && t.src < devices)
            sent[size_t(t.src)] += t.bytes;
        if (t.dst >= 0 && t.dst < devices)
            recv[size_t(t.dst)] += t.bytes;
    }
    std::vector<Transfer> step;
    for (const Transfer& t : all)
        if (t.step == last)
            step.push_back(t);
    const Transfer& f = all.front();
    const bool whole = last + 1 == f.steps;
    QString line;
    bool modelled = false;
    for (const Transfer& t : all)
        modelled = modelled || t.modelled;
    if (whole)
        line = (modelled ? tr("Last allreduce (epoch %1, minibatch %2): all %3 steps done, %4 moved (modelled)")
                         : tr("Last allreduce (epoch %1, minibatch %2): all %3 steps done, %4 moved"))
                   .arg(f.epoch)
                   .arg(f.batch + 1)
                   .arg(f.steps)
                   .arg(formatBytes(bytes));
    else
        line = tr("Last allreduce (epoch %1, minibatch %2): stopped after step %3 of %4")
                   .arg(f.epoch)
                   .arg(f.batch + 1)
                   .arg(last + 1)
                   .arg(f.steps);
    if (w != m_topology)
        w->setLayoutKind(devices, ring);
    w->setTraffic(sent, recv);
    w->showFinal(step, prefix + line);
    w->setSums(partialSums(all, devices, ring, last));
}

void AllreduceView::setCompareRun(int runId)
{
    const int i = m_compare->findData(runId);
    m_compare->setCurrentIndex(i >= 0 ? i : 0);
}

int AllreduceView::compareRun() const
{
    return m_compareTopology->isHidden() ? 0 : m_compare->currentData().toInt();
}

QString AllreduceView::compareLine() const
{
    return m_compareTopology->isHidden() ? QString() : m_compareTopology->finalLine();
}

void AllreduceView::onCompareChosen()
{
    const int id = m_compare->currentData().toInt();
    const RunAllreduce* r = nullptr;
    for (const auto& h : m_history)
        if (h.runId == id)
            r = &h;
    if (!r || r->last.empty()) {
        m_compareTopology->hide();
        return;
    }
    showFinal(m_compareTopology, r->last, r->devices, r->ring, r->label + QLatin1Char('\n'));
    m_compareTopology->show();
}

std::vector<QString> AllreduceView::partialSums(const std::vector<Transfer>& all, int n, bool ring, int upTo)
{
    // held[d][c]: the devices whose gradients device d's chunk c sums (a bit per device),
    // replayed step by step from the transfers of the latest allreduce: a reduce step adds
    // the sender's chunk into the receiver's, a broadcast or all-gather step copies it.
    std::vector<QString> out(size_t(std::max(n, 0)));
    if (all.empty() || n < 1 || n > 64)
        return out;
    const int chunks = ring ? n : 1;
    std::vector<std::vector<quint64>> held(static_cast<size_t>(n), std::vector<quint64>(static_cast<size_t>(chunks), 0));
    for (int d = 0; d < n; ++d)
        for (int c = 0; c < chunks; ++c)
            held[size_t(d)][size_t(c)] = quint64(1) << d;
    std::vector<const Transfer*> ts;
    for (const Transfer& t : all)
        if (t.step <= upTo)
            ts.push_back(&t);
    std::stable_sort(ts.begin(), ts.end(), [](const Transfer* a, const Transfer* b) { return a->step < b->step; });
    auto name = [&](int chunk, quint64 bits) {
        QStringList parts;
        for (int d = 0; d < n; ++d)
            if (bits & (quint64(1) << d))
                parts << QStringLiteral("d%1").arg(d);
        const QString what = parts.size() <= 4 ? parts.join(QLatin1Char('+'))
                                               : parts.front() + QStringLiteral("+…+") + parts.back();
        return (chunk < 0 ? tr("sum") : tr("c%1").arg(chunk)) + QStringLiteral(" = ") + what;
    };
    for (size_t i = 0; i < ts.size();) {
        const int step = ts[i]->step;
        const auto before = held;
        for (; i < ts.size() && ts[i]->step == step; ++i) {
            const Transfer& t = *ts[i];
            const int c = t.chunk < 0 ? 0 : t.chunk;
            if (t.src < 0 || t.src >= n || t.dst < 0 || t.dst >= n || c >= chunks)
                continue;
            quint64& h = held[size_t(t.dst)][size_t(c)];
            h = firstHalf(t.phase) ? (h | before[size_t(t.src)][size_t(c)]) : before[size_t(t.src)][size_t(c)];
            if (step == upTo)
                out[size_t(t.dst)] = name(t.chunk, h);
        }
    }
    return out;
}

std::pair<int, int> AllreduceView::drawnAllreduce() const
{
    const auto& step = m_topology->step();
    return step.empty() ? std::pair<int, int>{-1, -1} : std::pair<int, int>{step.front().epoch, step.front().batch};
}

QList<QRectF> AllreduceView::drawnNodes() const
{
    return m_topology->nodes();
}

QStringList AllreduceView::drawingClipped() const
{
    return m_topology->clipped();
}

QStringList AllreduceView::shownSums() const
{
    QStringList l;
    for (const QString& s : m_topology->sums())
        l << s;
    return l;
}

QString AllreduceView::finalLine() const
{
    return m_topology->finalLine();
}

void AllreduceView::consume(const std::vector<Event>& events, const RunInfo& run)
{
    std::vector<Transfer> latestStep;
    for (const Event& e : events) {
        if (const auto* begin = e.get<ev::RunBegin>()) {
            // a job of several ranks: every rank's devices, numbered globally
            m_deviceRanks = begin->device_ranks;
            if (begin->devices > 0 && begin->devices != m_devices)
                setShape(begin->devices, m_ring);
            m_topology->setRanks(m_deviceRanks);
            continue;
        }
        if (const auto* step = e.get<ev::AllreduceStep>()) {
            Transfer t{step->epoch, step->batch,      step->step,         step->steps,
                       step->src,   step->dst,        step->chunk,        step->bytes,
                       e.t_us / 1e6, step->t_end_us / 1e6, QString::fromStdString(step->phase),
                       step->modelled, step->modelled ? step->charged_bytes : 0,
                       step->stage == AllreduceStage::AcrossRanks};
            // A job's ranks are merged in time order: a late step of an earlier minibatch (another
            // rank's) goes to the CSV but not over the latest allreduce drawn
            const std::pair<int, int> at{t.epoch, t.batch};
            if (jobRanks() > 1) {
                // a job: held until every rank's steps of its minibatch are in (below)
                m_all.push_back(t);
                ++m_received;
                m_stepsDirty = true;
                const bool drawnLater = !m_current.empty() &&
                                        at <= std::pair<int, int>{m_current.front().epoch, m_current.front().batch};
                if (!drawnLater)
                    m_jobPending[at].push_back(t);
                continue;
            }
            if (t.across) {
                // the network hop: beside the allreduces within the ranks, not one of their steps
                if (!m_across.empty() && at < std::pair<int, int>{m_across.front().epoch, m_across.front().batch}) {
                    m_all.push_back(t);
                    ++m_received;
                    continue;
                }
                if (!m_across.empty() && (m_across.front().epoch != t.epoch || m_across.front().batch != t.batch))
                    m_across.clear();
                m_across.push_back(t);
                m_all.push_back(t);
                m_acrossPending = true;
                m_stepsDirty = true;
                ++m_received;
                continue;
            }
            if (!m_current.empty() && at < std::pair<int, int>{m_current.front().epoch, m_current.front().batch}) {
                m_all.push_back(t); // an earlier minibatch's, from a rank whose events came later
                m_stepsDirty = true;
                ++m_received;
                continue;
            }
            if (!m_current.empty() &&
                (m_current.front().epoch != t.epoch || m_current.front().batch != t.batch))
                m_current.clear(); // a new minibatch's allreduce
            m_current.push_back(t);
            m_all.push_back(t);
            if (!latestStep.empty() && latestStep.front().step != t.step)
                latestStep.clear();
            if (!latestStep.empty() && (latestStep.front().epoch != t.epoch || latestStep.front().batch != t.batch))
                latestStep.clear();
            latestStep.push_back(t);
            m_stepsDirty = true;
            ++m_received;
        } else if (const auto* snap = e.get<ev::Snapshot>();
                   snap && snap->what != SnapshotWhat::Params && run.stream) {
            auto s = run.stream->snapshot_of(e);
            if (!s || e.device < 0 || e.device >= m_devices)
                continue;
            GradSet& g = m_grads[{snap->epoch, snap->batch}];
            auto& slot = snap->what == SnapshotWhat::GradBefore ? g.before : g.after;
            slot.resize(size_t(m_devices));
            slot[size_t(e.device)] = std::move(s);
            while (m_grads.size() > 3)
                m_grads.erase(m_grads.begin());
            m_gradsDirty = true;
            ++m_gradSnapshots;
            ++m_received;
        }
    }
    if (jobRanks() > 1 && !m_jobPending.empty()) {
        // the latest minibatch that every rank has finished (its steps across ranks all in)
        const int ranks = jobRanks();
        for (auto it = m_jobPending.rbegin(); it != m_jobPending.rend(); ++it) {
            const auto across = std::count_if(it->second.begin(), it->second.end(),
                                              [](const Transfer& t) { return t.across; });
            if (across < ranks)
                continue;
            const auto key = it->first;
            std::vector<Transfer> steps = std::move(it->second);
            m_jobPending.erase(m_jobPending.begin(), m_jobPending.upper_bound(key));
            drawJobMinibatch(std::move(steps));
            break;
        }
        while (m_jobPending.size() > 16) // a rank that never finishes one: keep the newest
            m_jobPending.erase(m_jobPending.begin());
    }
    if (!latestStep.empty()) {
        // drawn at the next refresh, with the text and the plots that describe it: drawn now,
        // the drawing ran ahead of them by the minibatches a busy UI drains between refreshes
        m_drawStep = latestStep.front().step;
        m_drawPending = true;
    }
}

void AllreduceView::drawLatestStep()
{
    if (m_acrossPending) // a job's network hop, with the steps within the ranks
        m_topology->setAcross(m_across);
    m_acrossPending = false;
    if (!m_drawPending)
        return;
    m_drawPending = false;
    // a step's transfers may land across two drains: show all of that step we have
    std::vector<Transfer> step;
    for (const auto& t : m_current)
        if (t.step == m_drawStep)
            step.push_back(t);
    if (step.empty())
        return;
    m_topology->showStep(step);
    m_topology->setSums(partialSums(m_current, m_devices, m_ring, m_drawStep));
}

std::vector<double> AllreduceView::stepSeconds() const
{
    const int steps = m_current.empty() ? 0 : m_current.front().steps;
    std::vector<double> sec(size_t(std::max(steps, 1)), 0.0);
    for (const auto& t : m_current)
        if (t.step >= 0 && t.step < int(sec.size()))
            sec[size_t(t.step)] = std::max(sec[size_t(t.step)], t.t1 - t.t0);
    return sec;
}

void AllreduceView::rebuildStepPlots()
{
    const int steps = m_current.empty() ? 0 : m_current.front().steps;
    std::vector<double> dur = stepSeconds();
    for (double& d : dur)
        d *= 1000; // ms
    std::vector<qint64> sent(size_t(m_devices), 0), recv(size_t(m_devices), 0);
    std::vector<bool> first(dur.size(), true);
    for (const auto& t : m_current) {
        if (t.step < 0 || t.step >= int(dur.size()))
            continue;
        first[size_t(t.step)] = firstHalf(t.phase);
        if (t.src >= 0 && t.src < m_devices)
            sent[size_t(t.src)] += t.bytes;
        if (t.dst >= 0 && t.dst < m_devices)
            recv[size_t(t.dst)] += t.bytes;
    }
    // the link model's time per step: its slowest transfer (a ring step's run side by side)
    std::vector<double> model(dur.size(), 0.0);
    if (!m_link.none())
        for (const auto& t : m_current)
            if (t.step >= 0 && t.step < int(model.size()))
                model[size_t(t.step)] = std::max(model[size_t(t.step)], transferModelUs(t) / 1000);
    QVector<double> k1, v1, k2, v2, km, vm;
    double maxDur = 0;
    m_modelStepMs.clear();
    for (int s = 0; s < steps; ++s) {
        (first[size_t(s)] ? k1 : k2).push_back(s + 1);
        (first[size_t(s)] ? v1 : v2).push_back(dur[size_t(s)]);
        maxDur = std::max({maxDur, dur[size_t(s)], model[size_t(s)]});
        if (!m_link.none()) {
            km.push_back(s + 1);
            vm.push_back(model[size_t(s)]);
            m_modelStepMs.push_back(model[size_t(s)]);
        }
    }
    m_stepFirst->setData(k1, v1, true);
    m_stepSecond->setData(k2, v2, true);
    // the network hop, measured: the slowest rank's step across ranks, after the steps within
    const double acrossMs = acrossStepMs();
    if (acrossMs > 0) {
        m_stepAcross->setData(QVector<double>{double(steps + 1)}, QVector<double>{acrossMs}, true);
        maxDur = std::max(maxDur, acrossMs);
        if (!m_steps->legend->hasItemWithPlottable(m_stepAcross))
            m_stepAcross->addToLegend();
    } else {
        m_stepAcross->data()->clear();
        if (m_steps->legend->hasItemWithPlottable(m_stepAcross))
            m_steps->legend->removeItem(m_steps->legend->itemWithPlottable(m_stepAcross));
    }
    // the measured bars of modelled steps say so in the legend: their time is the link model's
    const QString firstName = m_ring ? tr("reduce-scatter") : tr("reduce");
    const QString secondName = m_ring ? tr("all-gather") : tr("broadcast");
    const bool modelled = latestModelled();
    m_stepFirst->setName(modelled ? tr("%1 (modelled)").arg(firstName) : firstName);
    m_stepSecond->setName(modelled ? tr("%1 (modelled)").arg(secondName) : secondName);
    m_stepModel->setData(km, vm, true);
    rebuildModelText();
    m_steps->xAxis->setRange(0.3, std::max(steps, 1) + (acrossMs > 0 ? 1 : 0) + 0.7);
    m_steps->yAxis->setRange(0, maxDur > 0 ? maxDur * 1.25 : 1.0);

    QVector<double> kd, vs, vr;
    double maxKb = 0;
    for (int d = 0; d < m_devices; ++d) {
        kd.push_back(d);
        vs.push_back(sent[size_t(d)] / 1024.0);
        vr.push_back(recv[size_t(d)] / 1024.0);
        maxKb = std::max({maxKb, vs.back(), vr.back()});
    }
    m_sent->setData(kd, vs, true);
    m_receivedBars->setData(kd, vr, true);
    m_traffic->xAxis->setRange(-0.6, m_devices - 0.4);
    m_traffic->yAxis->setRange(0, maxKb > 0 ? maxKb * 1.25 : 1.0);
    m_topology->setTraffic(sent, recv);
}

void AllreduceView::rebuildGradients()
{
    // The newest minibatch with both stages complete, else the newest with anything.
    const GradSet* show = nullptr;
    std::pair<int, int> key{-1, -1};
    for (auto it = m_grads.rbegin(); it != m_grads.rend(); ++it) {
        auto complete = [&](const std::vector<std::shared_ptr<const Snapshot>>& v) {
            if (int(v.size()) != m_devices)
                return false;
            for (const auto& s : v)
                if (!s)
                    return false;
            return true;
        };
        if (complete(it->second.before) && complete(it->second.after)) {
            show = &it->second;
            key = it->first;
            break;
        }
        if (!show) {
            show = &it->second;
            key = it->first;
        }
    }
    if (!show)
        return;
    m_shownGrad = key;
    const QString name = m_gradTensor;
    QString book;
    QTextStream out(&book);
    auto fill = [&](QCustomPlot* plot, const std::vector<std::shared_ptr<const Snapshot>>& v,
                    QString title, const char* bookTitle) {
        plot->clearGraphs();
        bool any = false;
        for (const auto& s : v)
            any = any || (s && !s->values.empty());
        if (!any) {
            // step mode: the "after" picture comes with the allreduce's last step
            if (auto* t = qobject_cast<QCPTextElement*>(plot->plotLayout()->element(0, 0)))
                t->setText(title.section(QLatin1Char('\n'), 0, 0) + QLatin1Char('\n') +
                           tr("(when the allreduce has finished)"));
            updateLegend(plot);
            plot->xAxis->setRange(m_before->xAxis->range());
            plot->yAxis->setRange(m_before->yAxis->range());
            return;
        }
        if (auto* t = qobject_cast<QCPTextElement*>(plot->plotLayout()->element(0, 0)))
            t->setText(title);
        out << bookTitle << '\n';
        for (size_t d = 0; d < v.size(); ++d) {
            if (!v[d] || v[d]->values.empty())
                continue;
            const auto& vals = v[d]->values.front();
            QVector<double> k(int(vals.size())), y(int(vals.size()));
            for (size_t i = 0; i < vals.size(); ++i) {
                k[int(i)] = double(i);
                y[int(i)] = vals[i];
            }
            QCPGraph* g = plot->addGraph();
            g->setData(k, y, true);
            const QColor c = deviceColor(int(d));
            // later devices dashed, so identical copies after the allreduce stay visible
            g->setPen(QPen(c, d == 0 ? 3.0 : 2.0, d == 0 ? Qt::SolidLine : Qt::DashLine));
            if (vals.size() <= 64)
                g->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDisc, c, d == 0 ? 7 : 5));
            g->setName(tr("dev %1").arg(d));
            out << "[";
            const size_t shown = std::min<size_t>(vals.size(), 20);
            for (size_t i = 0; i < shown; ++i)
                out << (i ? " " : "") << QString::number(vals[i], 'f', 4);
            if (vals.size() > shown)
                out << " …";
            out << "]\n<NDArray " << vals.size() << " @device(" << d << ")>\n";
        }
        updateLegend(plot);
        plot->rescaleAxes();
        const QCPRange r = plot->yAxis->range();
        const double pad = std::max(1e-9, r.size() * 0.1);
        plot->yAxis->setRange(r.lower - pad, r.upper + pad);
        plot->xAxis->setRange(plot->xAxis->range().lower - 0.5, plot->xAxis->range().upper + 0.5);
    };
    const QString where = tr("epoch %1, minibatch %2").arg(key.first).arg(key.second + 1);
    fill(m_before, show->before, tr("%1 gradient before allreduce\n%2").arg(name, where), "before allreduce:");
    fill(m_after, show->after, tr("%1 gradient after allreduce\n%2").arg(name, where), "after allreduce:");
    out.flush();
    m_book->setPlainText(book);
}

void AllreduceView::refresh()
{
    drawLatestStep(); // the drawing, the step plot, the bytes and the text: one minibatch
    if (m_stepsDirty) {
        m_stepsDirty = false;
        rebuildStepPlots();
        m_steps->replot(QCustomPlot::rpQueuedReplot);
        m_traffic->replot(QCustomPlot::rpQueuedReplot);
    }
    if (m_gradsDirty) {
        m_gradsDirty = false;
        rebuildGradients();
        m_before->replot(QCustomPlot::rpQueuedReplot);
        m_after->replot(QCustomPlot::rpQueuedReplot);
    }
    m_topology->update();
}

QList<PlotItem> AllreduceView::plots() const
{
    return {{QStringLiteral("allreduce_topology"), nullptr, m_topology},
            {QStringLiteral("allreduce_steps"), m_steps, nullptr},
            {QStringLiteral("allreduce_traffic"), m_traffic, nullptr},
            {QStringLiteral("allreduce_grad_before"), m_before, nullptr},
            {QStringLiteral("allreduce_grad_after"), m_after, nullptr}};
}

QList<CsvTable> AllreduceView::csvTables() const
{
    QList<CsvTable> t;
    t.append({QStringLiteral("allreduce_steps"),
              QStringLiteral("epoch,batch,step,steps,phase,src,dst,chunk,bytes,start_ms,end_ms,link,"
                             "charged_bytes,model_ms,modelled,stage"),
              [this](QTextStream& out) {
                  // charged_bytes: what the link model charged (bytes, or scaled "as if the
                  // model were bigger"); model_ms: alpha + charged / beta; modelled: 1 when
                  // a link model set the step's time (as recorded with the step)
                  const bool linked = !m_link.none();
                  QString link = QString::fromStdString(m_link.name);
                  if (link.contains(QLatin1Char(',')))
                      link = QLatin1Char('"') + link + QLatin1Char('"'); // custom:LAT,BW
                  for (const auto& s : m_all)
                      out << s.epoch << ',' << s.batch << ',' << s.step << ',' << s.steps << ','
                          << s.phase << ',' << s.src << ',' << s.dst << ',' << s.chunk << ','
                          << s.bytes << ',' << s.t0 * 1000 << ',' << s.t1 * 1000 << ',' << link << ','
                          << (s.charged > 0 ? s.charged : linked ? std::llround(double(s.bytes) * m_linkScale) : s.bytes)
                          << ',' << (linked && !s.across ? transferModelUs(s) / 1000 : 0.0) << ',' << (s.modelled ? 1 : 0)
                          << ',' << (s.across ? "across-ranks" : "within-rank") << '\n';
              }});
    t.append({QStringLiteral("allreduce_traffic"), QStringLiteral("device,bytes_sent,bytes_received"),
              [this](QTextStream& out) {
                  std::vector<qint64> sent(size_t(m_devices), 0), recv(size_t(m_devices), 0);
                  for (const auto& s : m_current) {
                      if (s.src >= 0 && s.src < m_devices)
                          sent[size_t(s.src)] += s.bytes;
                      if (s.dst >= 0 && s.dst < m_devices)
                          recv[size_t(s.dst)] += s.bytes;
                  }
                  for (int d = 0; d < m_devices; ++d)
                      out << d << ',' << sent[size_t(d)] << ',' << recv[size_t(d)] << '\n';
              }});
    t.append({QStringLiteral("allreduce_gradients"),
              QStringLiteral("epoch,batch,tensor,stage,device,index,value"), [this](QTextStream& out) {
                  auto it = m_grads.find(m_shownGrad);
                  if (it == m_grads.end())
                      return;
                  for (int stage = 0; stage < 2; ++stage) {
                      const auto& v = stage == 0 ? it->second.before : it->second.after;
                      for (size_t d = 0; d < v.size(); ++d) {
                          if (!v[d] || v[d]->values.empty())
                              continue;
                          const auto& vals = v[d]->values.front();
                          for (size_t i = 0; i < vals.size(); ++i)
                              out << it->first.first << ',' << it->first.second << ',' << m_gradTensor
                                  << ',' << (stage == 0 ? "before" : "after") << ',' << d << ','
                                  << i << ',' << vals[i] << '\n';
                      }
                  }
              }});
    return t;
}

} // namespace gpulab

#include "allreduce_view.moc"
