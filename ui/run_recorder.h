// Writes a run recording (record/recording.h, the format gpulab-cli replay reads) from a
// run's event stream. The UI thread pumps it as it drains the run's events: it takes what
// is new and hands it to the recorder's own writer thread, which compresses, writes and
// flushes it, so neither the run's threads nor the UI wait for zlib or the disk. Once the
// run has ended, finish() writes the rest and the end record. Also used to save a
// finished run in one go (File → Save run…).
#pragma once

#include "record/recording.h"
#include "train/train_config.h"

#include <QString>

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>
#include <string>
#include <vector>

namespace gpulab {

class EventStream;

// The file for run index (0-based) of runs: path itself for one run, else path's stem with
// -1, -2, ... (run.gpurec -> run-1.gpurec).
QString recordingPathFor(const QString& path, int index, int runs);

class RunRecorder {
public:
    RunRecorder(QString path, const TrainConfig& config);
    ~RunRecorder();  // without finish(): what was handed over is written, the file stays incomplete
    RunRecorder(const RunRecorder&) = delete;
    RunRecorder& operator=(const RunRecorder&) = delete;

    // Writes what the stream holds beyond what was written before and flushes it, so the
    // file is a readable prefix of the run. The file (and its header, which names the
    // devices) is opened once names is not empty, or at the end. Throws GpulabError when
    // the file cannot be created.
    void pump(const EventStream& stream, const std::vector<std::string>& names, bool atEnd);
    // Everything left, then the end record. False (error() says why) when the file could
    // not be written.
    bool finish(const EventStream& stream, const std::vector<std::string>& names,
                RunStatus status, const Error& error);

    const QString& path() const { return m_path; }
    QString error() const { return m_error; }
    uint64_t fileBytes() const; // after finish()

    // Creates path (and removes it again) to learn before a run whether it can be written;
    // an empty string when it can, else the reason in the lab's language.
    static QString probe(const QString& path);
    // One recording of a finished run, in one go.
    static bool save(const QString& path, const TrainConfig& config, const EventStream& stream,
                     const RunResult& result, QString* error);

private:
    using Batch = std::vector<std::pair<Event, std::shared_ptr<const Snapshot>>>;
    void writerLoop();
    void stopWriter();

    QString m_path;
    TrainConfig m_config;
    std::unique_ptr<RecordingWriter> m_writer;
    size_t m_cursor = 0;
    std::vector<Event> m_news;
    QString m_error;
    std::thread m_thread;          // compresses and writes what pump() hands over
    std::mutex m_mutex;
    std::condition_variable m_wake;
    std::deque<Batch> m_queue;
    bool m_done = false;
};

} // namespace gpulab
