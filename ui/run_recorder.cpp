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

void RunRecorder::pump(const EventStream& stream, const std::vector<std::string>& names, bool atEnd)
{
    if (!m_writer) {
        if (names.empty() && !atEnd)
            return;
        m_writer = std::make_unique<RecordingWriter>(m_path.toStdString(),
                                                     RecordingHeader::for_run(m_config, "gpulab", names));
    }
    m_news.clear();
    stream.drain(m_cursor, m_news);
    if (m_news.empty())
        return;
    for (const Event& e : m_news) {
        std::shared_ptr<const Snapshot> snap;
        if (e.kind == EventKind::Snapshot && e.snapshot >= 0)
            snap = stream.snapshot(static_cast<size_t>(e.snapshot));
        m_writer->add(e, snap.get());
    }
    m_writer->flush();
}

bool RunRecorder::finish(const EventStream& stream, const std::vector<std::string>& names, RunStatus status,
                         const Error& error)
{
    try {
        pump(stream, names, true);
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
