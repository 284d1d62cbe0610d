// A recording played back as a run source: the file is read once (record/recording.h),
// then its events are fed, in their recorded order, up to a playhead in the recording's
// own time. ReplaySession moves the playhead (play, pause, speed, scrub) for one or
// several recordings at once.
#pragma once

#include "record/recording.h"
#include "run_source.h"

#include <QElapsedTimer>
#include <QObject>
#include <QString>
#include <QStringList>

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

namespace gpulab {

class ReplaySource : public RunSource {
public:
    // Reads path. Throws GpulabError (a Recording* code naming the file) when it is not a
    // readable recording; an incomplete one (the run was killed) is read up to where it ends.
    // progress as read_recording's (ReadCancelled when it says stop). Touches nothing of
    // the UI: may run on any thread (ReplayLoader reads on its own).
    explicit ReplaySource(const QString& path, const ReadProgress& progress = {});
    ~ReplaySource() override;

    // ---- what was recorded ----
    const QString& path() const { return m_path; }
    const RecordingHeader& header() const { return m_rec.header; }
    const TrainConfig& config() const { return m_config; }
    // The ranks of the job it recorded (its run begin's world; 1 for one process): config()
    // counts every rank's devices.
    int ranks() const { return m_ranks; }
    // The settings as the job was run: each rank's devices and the ranks (config() itself for
    // one process). What the replay panel shows and the run's description says.
    TrainConfig jobConfig() const;
    // Empty when the header's settings all applied; otherwise what could not be read.
    const QString& settingsProblem() const { return m_settingsProblem; }
    bool complete() const { return m_rec.complete; }
    int epochsRecorded() const { return m_lastEpoch; } // the last epoch that ended in it
    size_t eventCount() const { return m_rec.events.size(); }

    // ---- the playhead, in the recording's microseconds ----
    double duration() const { return m_key.empty() ? 0.0 : m_key.back(); }
    // Feeds every event up to t (never goes back: rewind() first).
    void feedTo(double t);
    void rewind();                          // nothing fed; the next drain starts afresh
    bool fedAll() const { return m_fed == m_rec.events.size(); }
    // When epoch n's first minibatch was recorded, less a hair (so that seeking there
    // shows epoch n-1 ended and n not begun); -1 when the recording has no such epoch.
    double epochStart(int epoch) const;
    // When each allreduce step ended, in order.
    const std::vector<double>& stepTimes() const { return m_steps; }

    // ---- RunSource ----
    void drain(std::vector<Event>& out) override;
    std::vector<Event> events() const override;
    std::shared_ptr<const EventStream> stream() const override;
    RunResult result() const override { return m_result; }
    std::vector<std::string> deviceNames() const override { return m_rec.header.devices; }

private:
    QString m_path;
    Recording m_rec;
    TrainConfig m_config;
    int m_ranks = 1;
    QString m_settingsProblem;
    std::shared_ptr<EventStream> m_snapshots; // the recording's snapshots, by their index
    std::vector<double> m_key;                // when event i is fed: the running latest time
    std::vector<double> m_epochStart;         // [epoch]
    std::vector<double> m_steps;
    RunResult m_result;
    int m_lastEpoch = 0;
    size_t m_fed = 0, m_drained = 0;
};

// Reads recordings on a thread of its own, so that the lab stays usable while a large one
// is read; reports progress, can be cancelled, and says what was wrong with a bad file.
// Its signals arrive on the thread that made it (the UI thread).
class ReplayLoader : public QObject {
    Q_OBJECT
public:
    explicit ReplayLoader(const QStringList& paths, QObject* parent = nullptr);
    ~ReplayLoader() override; // cancels, and waits for the reading thread
    const QStringList& paths() const { return m_paths; }
    void start();
    // Stops reading as soon as the reading thread sees it; cancelled() follows (unless the
    // reading had already ended: then finished() or failed() has been, or will be, sent).
    void cancel();
    bool cancelRequested() const { return m_cancel; }
    // After finished(): the recordings read, in the order of paths (taken once).
    std::vector<std::unique_ptr<ReplaySource>> takeSources();

signals:
    void progress(int permille, const QString& file); // file: the one being read
    void finished();
    void failed(const QString& error);                // one line: the file, what is wrong
    void cancelled();

private:
    void run();

    QStringList m_paths;
    std::thread m_thread;
    std::atomic<bool> m_cancel{false};
    std::atomic<int> m_lastPermille{-1};
    std::vector<std::unique_ptr<ReplaySource>> m_sources; // the reading thread's, until finished()
};

class ReplaySession {
public:
    explicit ReplaySession(std::vector<std::unique_ptr<ReplaySource>> sources);

    // The first recording plays in every view; the others are overlaid beside it.
    ReplaySource& primary() const { return *m_sources.front(); }
    const std::vector<std::unique_ptr<ReplaySource>>& sources() const { return m_sources; }

    double duration() const;                // the longest recording's
    double position() const { return m_pos; }
    bool atEnd() const { return m_pos >= duration(); }
    bool playing() const { return m_playing; }
    void setPlaying(bool on);
    double speed() const { return m_speed; }
    void setSpeed(double s);                // 0.25 .. 16

    // Moves the playhead on by the wall-clock time since the last tick, times the speed,
    // and feeds every recording up to it; playing stops at the end.
    void tick();
    // Moves the playhead to t. True when it went back: every recording was rewound and
    // fed again from its start, so the views must begin again before the next drain.
    bool seek(double t);

private:
    std::vector<std::unique_ptr<ReplaySource>> m_sources;
    double m_pos = 0;
    double m_speed = 1;
    bool m_playing = false;
    QElapsedTimer m_clock;
};

} // namespace gpulab
