#include "run_recorder.h"

#include "core_messages.h"
#include "error/error.h"
#include "trace/event_stream.h"

#include <QFile>
#include <QFileInfo>

namespace gpulab {

QString recordingPathFor(const QString& path, int index, int runs)
{
    if (runs <= 1)
        return path;
    const QFileInfo f(path);
    const QString suffix = f.completeSuffix().isEmpty() ? QString() : QStringLiteral(".") + f.completeSuffix();
    const QString name = f.completeBaseName() + QStringLiteral("-%1").arg(index + 1) + suffix;
    return path.left(path.size() - f.fileName().size()) + name;
}

RunRecorder::RunRecorder(QString path, const TrainConfig& config) : m_path(std::move(path)), m_config(config) {}

RunRecorder::~RunRecorder()
{
    stopWriter();
}

void RunRecorder::stopWriter()
{
    {
        std::lock_guard lock(m_mutex);
        m_done = true;
    }
    m_wake.notify_one();
    if (m_thread.joinable())
        m_thread.join();
}

uint64_t RunRecorder::fileBytes() const
{
    return m_writer && !m_thread.joinable() ? m_writer->file_bytes() : 0;
}

void RunRecorder::writerLoop()
{
    for (;;) {
        Batch batch;
        {
            std::unique_lock lock(m_mutex);
            m_wake.wait(lock, [this] { return m_done || !m_queue.empty(); });
            if (m_queue.empty())
                return; // done, and everything handed over is written
            batch = std::move(m_queue.front());
            m_queue.pop_front();
        }
        for (const auto& [e, snap] : batch)
            m_writer->add(e, snap.get());
        m_writer->flush();
    }
}

void RunRecorder::pump(const EventStream& stream, const std::vector<std::string>& names, bool atEnd)
{
    if (!m_writer) {
        if (names.empty() && !atEnd)
            return;
        m_writer = std::make_unique<RecordingWriter>(m_path.toStdString(),
                                                     RecordingHeader::for_run(m_config, "gpulab", names));
        m_thread = std::thread([this] { writerLoop(); });
    }
    m_news.clear();
    stream.drain(m_cursor, m_news);
    if (m_news.empty())
        return;
    Batch batch;
    batch.reserve(m_news.size());
    for (Event& e : m_news) {
        std::shared_ptr<const Snapshot> snap = stream.snapshot_of(e);
        batch.emplace_back(std::move(e), std::move(snap));
    }
    {
        std::lock_guard lock(m_mutex);
        m_queue.push_back(std::move(batch));
    }
    m_wake.notify_one();
}

bool RunRecorder::finish(const EventStream& stream, const std::vector<std::string>& names, RunStatus status,
                         const Error& error)
{
    try {
        pump(stream, names, true);
        stopWriter(); // the writer thread writes what is queued, then ends
        m_writer->finish(status, error);
    } catch (const GpulabError& e) {
        m_error = coreMessage(e.error);
        return false;
    }
    if (m_writer->failed()) {
        m_error = coreMessage(Error(ErrorCode::RecordingCannotWrite,
                                    {{"file", m_path.toStdString()}, {"why", m_writer->error()}}));
        return false;
    }
    return true;
}

QString RunRecorder::probe(const QString& path)
{
    const bool existed = QFileInfo::exists(path);
    try {
        RecordingWriter probe(path.toStdString(), RecordingHeader::for_run(TrainConfig{}, "gpulab", {}));
    } catch (const GpulabError& e) {
        return coreMessage(e.error);
    }
    if (!existed)
        QFile::remove(path);
    return {};
}

bool RunRecorder::save(const QString& path, const TrainConfig& config, const EventStream& stream,
                       const RunResult& result, QString* error)
{
    RunRecorder r(path, config);
    if (r.finish(stream, result.device_names, result.status, result.error))
        return true;
    if (error)
        *error = r.error();
    return false;
}

} // namespace gpulab
