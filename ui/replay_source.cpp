// ReplaySource and ReplaySession. Every read of an event's fields is in the section
// "what the events say" below, so that the rest does not depend on their layout.
#include "replay_source.h"

#include "trace/event_stream.h"
#include "train/settings.h"

#include "core_messages.h"

#include <QFile>
#include <QFileInfo>

#include <algorithm>

namespace gpulab {

namespace {

// ---- what the events say -------------------------------------------------------------

// When the event reached the stream: spans (ops, allreduce steps) are recorded as they end.
double reachedAt(const Event& e)
{
    if (const auto* op = e.get<ev::Op>())
        return std::max(e.t_us, op->t_end_us);
    if (const auto* step = e.get<ev::AllreduceStep>())
        return std::max(e.t_us, step->t_end_us);
    return e.t_us;
}

// The epoch of a minibatch's loss; 0 for any other event.
int minibatchEpoch(const Event& e)
{
    const auto* loss = e.get<ev::MinibatchLoss>();
    return loss ? loss->epoch : 0;
}

bool isAllreduceStep(const Event& e)
{
    return e.is<ev::AllreduceStep>();
}

// What the views are told at the end, rebuilt from the events and the end record.
RunResult resultOf(const Recording& r, int* lastEpoch)
{
    RunResult res;
    res.device_names = r.header.devices;
    res.peak_bytes.assign(r.header.devices.size(), 0);
    for (const Event& e : r.events) {
        if (const auto* ep = e.get<ev::EpochEnd>()) {
            res.epochs.push_back({ep->epoch, ep->train_loss, ep->test_accuracy, ep->seconds, ep->images});
            *lastEpoch = std::max(*lastEpoch, ep->epoch);
        } else if (const auto* alloc = e.get<ev::MemAlloc>()) {
            if (e.device >= 0 && size_t(e.device) < res.peak_bytes.size())
                res.peak_bytes[size_t(e.device)] = std::max<int64_t>(res.peak_bytes[size_t(e.device)], alloc->in_use);
        } else if (e.is<ev::MemOom>()) {
            res.out_of_memory = true;
        }
    }
    if (!r.complete) {
        // a killed run: it did not finish, and nothing says why
        res.status = RunStatus::Cancelled;
        return res;
    }
    res.status = r.status == "completed"   ? RunStatus::Completed
                 : r.status == "cancelled" ? RunStatus::Cancelled
                                           : RunStatus::Failed;
    res.error = r.error;
    res.message = r.error ? english(r.error) : std::string();
    res.diverged = r.error.code == ErrorCode::LossNaN;
    return res;
}

} // namespace

// ---- ReplaySource ----------------------------------------------------------------------

ReplaySource::ReplaySource(const QString& path, const ReadProgress& progress) : m_path(path)
{
    // throws GpulabError on a bad file
    if (path.startsWith(QLatin1String(":/"))) { // an example embedded in the lab
        QFile f(path);
        if (!f.open(QIODevice::ReadOnly))
            throw GpulabError(Error(ErrorCode::RecordingCannotOpen, {{"file", path.toStdString()}, {"why", "not found"}}));
        const QByteArray data = f.readAll();
        m_rec = parse_recording(reinterpret_cast<const uint8_t*>(data.constData()), size_t(data.size()),
                                path.toStdString(), progress);
    } else {
        m_rec = read_recording(path.toStdString(), progress);
    }
    try {
        apply_settings_text(m_config, m_rec.header.settings);
    } catch (const GpulabError& e) {
        // a newer lab's setting, say: the rest still applies, the panel says what was left
        m_settingsProblem = QString::fromStdString(english(e.error));
    }
    m_config.devices = std::max<int>(m_config.devices, 1);
    // The snapshots go into a stream of their own, in order, so that index i is the
    // recording's snapshot i: the views look them up there as they do in a live run's.
    m_snapshots = std::make_shared<EventStream>();
    for (auto& s : m_rec.snapshots) {
        m_snapshots->record_snapshot(s ? *s : Snapshot{});
        s.reset(); // held once
    }
    m_key.reserve(m_rec.events.size());
    double latest = 0;
    for (const Event& e : m_rec.events) {
        latest = std::max(latest, reachedAt(e));
        m_key.push_back(latest);
        const int epoch = minibatchEpoch(e);
        if (epoch > 0 && epoch < 100000) {
            if (m_epochStart.size() <= size_t(epoch))
                m_epochStart.resize(size_t(epoch) + 1, -1.0);
            if (m_epochStart[size_t(epoch)] < 0)
                m_epochStart[size_t(epoch)] = std::max(0.0, latest - 1.0);
        }
        if (isAllreduceStep(e))
            m_steps.push_back(latest);
        if (const auto* begin = e.get<ev::RunBegin>(); begin && m_ranks == 1 && begin->world > 1 &&
                                                       m_config.devices % begin->world == 0)
            m_ranks = begin->world;
    }
    m_result = resultOf(m_rec, &m_lastEpoch);
}

ReplaySource::~ReplaySource() = default;

TrainConfig ReplaySource::jobConfig() const
{
    TrainConfig c = m_config;
    if (m_ranks > 1) {
        c.devices /= m_ranks;
        c.ranks = m_ranks;
    }
    return c;
}

void ReplaySource::feedTo(double t)
{
    while (m_fed < m_key.size() && m_key[m_fed] <= t)
        ++m_fed;
}

void ReplaySource::rewind()
{
    m_fed = 0;
    m_drained = 0;
}

double ReplaySource::epochStart(int epoch) const
{
    if (epoch < 1 || size_t(epoch) >= m_epochStart.size())
        return -1;
    return m_epochStart[size_t(epoch)];
}

void ReplaySource::drain(std::vector<Event>& out)
{
    out.insert(out.end(), m_rec.events.begin() + std::ptrdiff_t(m_drained), m_rec.events.begin() + std::ptrdiff_t(m_fed));
    m_drained = m_fed;
}

std::vector<Event> ReplaySource::events() const
{
    return {m_rec.events.begin(), m_rec.events.begin() + std::ptrdiff_t(m_fed)};
}

std::shared_ptr<const EventStream> ReplaySource::stream() const
{
    return m_snapshots;
}

// ---- ReplayLoader ----------------------------------------------------------------------

ReplayLoader::ReplayLoader(const QStringList& paths, QObject* parent) : QObject(parent), m_paths(paths) {}

ReplayLoader::~ReplayLoader()
{
    cancel();
    if (m_thread.joinable())
        m_thread.join();
}

void ReplayLoader::start()
{
    if (!m_thread.joinable())
        m_thread = std::thread([this] { run(); });
}

void ReplayLoader::cancel()
{
    m_cancel = true;
}

std::vector<std::unique_ptr<ReplaySource>> ReplayLoader::takeSources()
{
    if (m_thread.joinable())
        m_thread.join(); // finished() is sent as the thread's last act
    return std::move(m_sources);
}

void ReplayLoader::run()
{
    // Every report goes to the UI thread as a queued call on this object: dropped if the
    // loader is gone by then (it waits for this thread before it goes).
    auto post = [this](auto fn) { QMetaObject::invokeMethod(this, std::move(fn), Qt::QueuedConnection); };
    // progress over all files, weighted by their sizes
    std::vector<double> weight;
    double total = 0;
    for (const QString& p : m_paths) {
        const QFileInfo fi(p);
        weight.push_back(std::max<double>(1.0, double(fi.size())));
        total += weight.back();
    }
    double before = 0;
    for (size_t i = 0; i < size_t(m_paths.size()); ++i) {
        const QString path = m_paths[qsizetype(i)];
        const QString file = QFileInfo(path).fileName();
        auto report = [&](uint64_t done, uint64_t size) {
            if (m_cancel)
                return false;
            const double part = size > 0 ? double(done) / double(size) : 1.0;
            const int permille = int(std::clamp((before + part * weight[i]) / total, 0.0, 1.0) * 1000);
            if (permille != m_lastPermille.exchange(permille))
                post([this, permille, file] { emit progress(permille, file); });
            return true;
        };
        try {
            m_sources.push_back(std::make_unique<ReplaySource>(path, report));
        } catch (const ReadCancelled&) {
            m_sources.clear();
            post([this] { emit cancelled(); });
            return;
        } catch (const GpulabError& e) {
            m_sources.clear();
            post([this, error = e.error] { emit failed(coreMessage(error)); });
            return;
        } catch (const std::bad_alloc&) {
            m_sources.clear();
            post([this, path] { emit failed(tr("%1: not enough memory to read this recording").arg(path)); });
            return;
        }
        before += weight[i];
    }
    if (m_cancel) {
        m_sources.clear();
        post([this] { emit cancelled(); });
        return;
    }
    post([this] { emit finished(); });
}

// ---- ReplaySession ---------------------------------------------------------------------

ReplaySession::ReplaySession(std::vector<std::unique_ptr<ReplaySource>> sources) : m_sources(std::move(sources)) {}

double ReplaySession::duration() const
{
    double d = 0;
    for (const auto& s : m_sources)
        d = std::max(d, s->duration());
    return d;
}

void ReplaySession::setPlaying(bool on)
{
    if (on && atEnd())
        seek(0); // Play at the end plays again from the start
    m_playing = on;
    if (on)
        m_clock.start();
}

void ReplaySession::setSpeed(double s)
{
    tick(); // the time played so far at the old speed
    m_speed = std::clamp(s, 0.25, 16.0);
}

void ReplaySession::tick()
{
    if (!m_playing)
        return;
    const double wall_us = m_clock.isValid() ? m_clock.nsecsElapsed() / 1e3 : 0.0;
    m_clock.start();
    m_pos = std::min(duration(), m_pos + wall_us * m_speed);
    for (const auto& s : m_sources)
        s->feedTo(m_pos);
    if (atEnd())
        m_playing = false;
}

bool ReplaySession::seek(double t)
{
    t = std::clamp(t, 0.0, duration());
    const bool back = t < m_pos;
    m_pos = t;
    if (m_playing)
        m_clock.start();
    for (const auto& s : m_sources) {
        if (back)
            s->rewind();
        s->feedTo(t);
    }
    return back;
}

} // namespace gpulab
