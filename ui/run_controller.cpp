// RunController: Trainer::run() on a std::thread; the thread only *notifies* the UI
// thread (a queued call) when it ends, and the UI joins it there.
#include "run_controller.h"

#include "core_messages.h"
#include "data/fashion_mnist.h"
#include "device/device.h"
#include "rank/rank_events.h"
#include "rank/rank_group.h"
#include "rank/socket_io.h"
#include "record/recording.h"
#include "train/settings.h"
#include "trace/event_stream.h"
#include "train/trainer.h"

#include <QCoreApplication>
#include <QDir>
#include <QFileInfo>
#include <QMetaObject>
#include <QProcess>
#include <QProcessEnvironment>
#include <QStandardPaths>
#include <QTimer>

#include <atomic>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace gpulab {

namespace {

// How long the lab's ranks wait to join, and in each collective (gpulab-cli's default).
constexpr int kRankTimeoutS = 60;
// Lines of a rank's output kept to say why it failed.
constexpr int kTailLines = 6;

} // namespace

// What the run's thread of a job shares with the controller (under mutex).
struct RunController::Job {
    std::mutex mutex;
    RunController* owner = nullptr;  // null once the controller is going away
    Trainer* trainer = nullptr;      // while rank 0's trainer runs
    bool cancel = false;             // Stop came
    bool joined = false;             // every rank joined and streams its events
    // Set before the ranks have joined (Stop, or a rank that ended): the join gives up within
    // a tenth of a second (RankOptions::stop_requested) and the run ends as `stopStatus`
    // with `stopError`.
    std::atomic<bool> stopJoin{false};
    RunStatus stopStatus = RunStatus::Cancelled;
    Error stopError;
    std::vector<std::string> names;  // every rank's devices, once rank 0's are made
    RunResult result;                // when the thread has ended
};

// One of ranks 1..N-1: a gpulab-cli train process.
struct RunController::RankProc {
    int rank = 0;
    QProcess* proc = nullptr;
    QStringList tail;                // its last lines
    QString partial;
    bool running = false;
};

RunController::RunController(QObject* parent) : QObject(parent) {}

RunController::~RunController()
{
    if (m_job) {
        // every other rank ends now; rank 0's thread stops its join, or its run, and is joined
        m_stopping = true;
        for (auto& rp : m_ranks)
            rp->proc->disconnect(this); // nothing reaches the window from here on
        {
            std::lock_guard lock(m_job->mutex);
            m_job->owner = nullptr;
            m_job->cancel = true;
            m_job->stopError = Error(ErrorCode::Stopped);
            m_job->stopJoin = true;
            if (m_job->trainer)
                m_job->trainer->cancel();
        }
        endRanks(true);
        for (auto& rp : m_ranks)
            if (rp->proc->state() != QProcess::NotRunning)
                rp->proc->waitForFinished(2000);
    }
    if (m_trainer)
        m_trainer->cancel();
    joinThread();
}

QString RunController::cliProgram()
{
    const QString env = QProcessEnvironment::systemEnvironment().value(QStringLiteral("GPULAB_CLI"));
    if (!env.isEmpty())
        return QFileInfo(env).isExecutable() ? env : QString();
    const QString beside = QDir(QCoreApplication::applicationDirPath()).filePath(QStringLiteral("gpulab-cli"));
    if (QFileInfo(beside).isExecutable())
        return beside;
    return QStandardPaths::findExecutable(QStringLiteral("gpulab-cli"));
}

QList<qint64> RunController::rankPids() const
{
    QList<qint64> pids;
    for (const auto& rp : m_ranks)
        if (rp->running && rp->proc->processId() > 0)
            pids << rp->proc->processId();
    return pids;
}

void RunController::joinThread()
{
    if (m_thread.joinable())
        m_thread.join();
}

void RunController::setState(State s)
{
    if (m_state == s)
        return;
    m_state = s;
    emit stateChanged(s);
}

bool RunController::start(const TrainConfig& config, std::shared_ptr<const FashionMnist> data,
                          QString* error)
{
    if (busy()) {
        if (error)
            *error = tr("a run is still going: stop it first");
        return false;
    }
    if (const Error why = check_first(config)) {
        if (error)
            *error = coreMessage(why);
        return false;
    }
    if (!data) {
        if (error)
            *error = tr("no dataset loaded yet");
        return false;
    }
    joinThread();
    m_config = config;
    m_config.step_mode = m_stepMode;
    m_stream = std::make_shared<EventStream>();
    m_cursor = 0;
    m_job.reset();
    for (auto& rp : m_ranks) // the last job's processes, all ended
        rp->proc->deleteLater();
    m_ranks.clear();
    m_rankNote.clear();
    if (m_config.ranks > 1)
        return startJob(std::move(data), error);
    m_trainer = std::make_unique<Trainer>(m_config, std::move(data), *m_stream);
    {
        std::lock_guard lock(m_namesMutex);
        m_deviceNames.clear();
    }
    m_trainer->on_devices_made = [this](const std::vector<Device*>& devs) {
        std::lock_guard lock(m_namesMutex);
        for (Device* d : devs)
            m_deviceNames.push_back(d->name());
    };
    if (m_trainerHook)
        m_trainerHook(*m_trainer);
    m_result = RunResult{};
    Trainer* trainer = m_trainer.get();
    std::shared_ptr<EventStream> stream = m_stream;
    setState(State::Running);
    m_thread = std::thread([this, trainer, stream] {
        // The run's threads (this front end and the engine's workers it starts, which
        // inherit it) yield to the UI thread when every core is busy, so the window
        // stays responsive; with a core to spare it changes nothing.
        setpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid)), kRunNice);
        RunResult r;
        try {
            r = trainer->run();
        } catch (const std::exception& e) {
            // run() throws only for a configuration it refuses; report it like a failure.
            r.status = RunStatus::Failed;
            r.error = other_error(e.what());
            r.message = e.what();
            stream->record(Event{
                .data = ev::RunEnd{.status = run_status_name(r.status), .message = r.message, .error = r.error}});
        }
        {
            std::lock_guard lock(m_resultMutex);
            m_pending = std::move(r);
        }
        // If the controller is being destroyed, its destructor is joining us and this
        // queued call is discarded with the object.
        QMetaObject::invokeMethod(this, [this] { onThreadDone(); }, Qt::QueuedConnection);
    });
    return true;
}

bool RunController::startJob(std::shared_ptr<const FashionMnist> data, QString* error)
{
    const int world = m_config.ranks;
    const QString cli = cliProgram();
    if (cli.isEmpty()) {
        const QString named = QProcessEnvironment::systemEnvironment().value(QStringLiteral("GPULAB_CLI"));
        if (error)
            *error = !named.isEmpty()
                         ? tr("cannot start the job's other ranks: GPULAB_CLI names %1, which is not a program; "
                              "set it to gpulab-cli, or unset it")
                               .arg(named)
                         : tr("cannot start the job's other ranks: gpulab-cli was found neither beside gpulab (%1) "
                              "nor on the PATH; build or install it (or set GPULAB_CLI), or choose 1 rank")
                               .arg(QCoreApplication::applicationDirPath());
        return false;
    }
    if (m_rankDataArgs.isEmpty()) {
        if (error)
            *error = tr("the other ranks cannot load this data; load Fashion-MNIST from a folder or the synthetic data");
        return false;
    }
    RankOptions o;
    o.world = world;
    o.rank = 0;
    o.master = "127.0.0.1:" + std::to_string(free_loopback_port());
    o.token = random_token();
    o.timeout = std::chrono::seconds(kRankTimeoutS);
    m_rankMaster = QString::fromStdString(o.master);
    // ranks 1..N-1: gpulab-cli train with every setting of the table that it takes
    QStringList args = {QStringLiteral("train"), QStringLiteral("--world"), QString::number(world),
                        QStringLiteral("--master"), QString::fromStdString(o.master), QStringLiteral("--token"),
                        QString::fromStdString(o.token), QStringLiteral("--timeout"), QString::number(kRankTimeoutS),
                        QStringLiteral("--quiet")};
    for (const SettingSpec& spec : run_settings())
        if (spec.in_cli)
            args << QString::fromLatin1(spec.flag) << QString::fromStdString(spec.get(m_config));
    args << m_rankDataArgs;
    m_stopping = false;
    for (int r = 1; r < world; ++r) {
        auto rp = std::make_unique<RankProc>();
        rp->rank = r;
        rp->proc = new QProcess(this);
        rp->proc->setProcessChannelMode(QProcess::MergedChannels);
        rp->proc->setProgram(cli);
        rp->proc->setArguments(args + QStringList{QStringLiteral("--rank"), QString::number(r)});
        const int index = r - 1;
        connect(rp->proc, &QProcess::readyReadStandardOutput, this, [this, index] { onRankOutput(index); });
        connect(rp->proc, &QProcess::finished, this, [this, index](int code, QProcess::ExitStatus status) {
            onRankEnded(index, code, status == QProcess::CrashExit);
        });
        connect(rp->proc, &QProcess::errorOccurred, this, [this, index](QProcess::ProcessError e) {
            if (e == QProcess::FailedToStart)
                onRankEnded(index, -1, false);
        });
        rp->running = true;
        m_ranks.push_back(std::move(rp));
    }
    for (auto& rp : m_ranks)
        rp->proc->start();

    auto job = std::make_shared<Job>();
    job->owner = this;
    m_job = job;
    o.stop_requested = [job] { return job->stopJoin.load(); };
    {
        std::lock_guard lock(m_namesMutex);
        m_deviceNames.clear();
    }
    m_result = RunResult{};
    m_threadDone = false;
    setState(State::Running);
    auto local = std::make_shared<EventStream>(); // rank 0's trainer writes here; the job's is m_stream
    m_thread = std::thread([job, local, stream = m_stream, data = std::move(data), cfg = m_config, o,
                            hook = m_trainerHook] {
        setpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid)), kRunNice);
        RunResult r;
        auto failed = [&r](const Error& e) {
            r.status = RunStatus::Failed;
            r.error = e;
            r.message = english(e);
        };
        // Stop, or a rank that ended, before the ranks had joined: the run ends as the
        // controller said (under job->mutex)
        auto stopped = [&r, &job] {
            r.status = job->stopStatus;
            r.error = job->stopError;
            r.message = english(job->stopError);
        };
        std::unique_ptr<RankGroup> group;
        std::unique_ptr<RankEvents> relay;
        try {
            group = join_ranks(o, rank_settings_text(cfg, *data));
            relay = std::make_unique<RankEvents>(*group, *local, *stream, cfg.devices,
                                                 RecordingHeader::for_run(cfg, "gpulab", {}));
        } catch (const GpulabError& e) {
            failed(e.error);
            {
                // Stopped, or what the stop caused (the other ranks were killed meanwhile)
                std::lock_guard lock(job->mutex);
                if (job->stopJoin)
                    stopped();
            }
            if (group)
                group->report_failure(r.message);
        }
        bool stopNow = false; // asked to stop the moment the ranks had joined
        {
            std::lock_guard lock(job->mutex);
            stopNow = relay && job->stopJoin;
            if (stopNow)
                stopped();
            job->joined = relay && !stopNow;
        }
        if (stopNow) {
            group->report_failure(r.message);
            relay.reset();
        }
        if (relay) {
            Trainer trainer(cfg, data, *local);
            trainer.set_ranks(group.get());
            trainer.on_devices_made = [job, world = o.world](const std::vector<Device*>& devs) {
                std::vector<std::string> names;
                for (int rank = 0; rank < world; ++rank)
                    for (size_t d = 0; d < devs.size(); ++d)
                        names.push_back("rank " + std::to_string(rank) + ": " +
                                        (rank == 0 ? devs[d]->name() : "cpu-sim(" + std::to_string(d) + ")"));
                std::lock_guard lock(job->mutex);
                job->names = std::move(names);
            };
            if (hook)
                hook(trainer);
            {
                std::lock_guard lock(job->mutex);
                job->trainer = &trainer;
                if (job->cancel)
                    trainer.cancel();
            }
            try {
                r = trainer.run();
            } catch (const std::exception& e) {
                failed(other_error(e.what()));
                local->record(Event{.data = ev::RunEnd{.status = run_status_name(r.status), .message = r.message,
                                                       .error = r.error}});
            }
            {
                std::lock_guard lock(job->mutex);
                job->trainer = nullptr;
            }
            // a rank that failed leaves the collectives at once, so the others stop now; then
            // every rank's last events reach the job's stream
            if (r.status != RunStatus::Completed)
                group->leave();
            relay->finish(std::chrono::seconds(15));
        } else {
            stream->record(Event{
                .data = ev::RunEnd{.status = run_status_name(r.status), .message = r.message, .error = r.error}});
        }
        if (group)
            group->finish();
        std::lock_guard lock(job->mutex);
        if (!job->names.empty())
            r.device_names = job->names;
        job->result = std::move(r);
        // a controller going away joins this thread and needs no news
        if (job->owner)
            QMetaObject::invokeMethod(job->owner, [owner = job->owner] { owner->onThreadDone(); },
                                      Qt::QueuedConnection);
    });
    return true;
}

void RunController::onRankOutput(int index)
{
    if (index >= int(m_ranks.size()))
        return;
    RankProc& rp = *m_ranks[static_cast<size_t>(index)];
    rp.partial += QString::fromLocal8Bit(rp.proc->readAllStandardOutput());
    QStringList lines = rp.partial.split(QLatin1Char('\n'));
    rp.partial = lines.takeLast();
    for (const QString& line : lines) {
        const QString l = line.trimmed();
        if (l.isEmpty())
            continue;
        rp.tail << l;
        if (rp.tail.size() > kTailLines)
            rp.tail.removeFirst();
    }
}

void RunController::onRankEnded(int index, int exitCode, bool crashed)
{
    if (!m_job || index >= int(m_ranks.size()))
        return;
    RankProc& rp = *m_ranks[static_cast<size_t>(index)];
    if (!rp.running)
        return;
    onRankOutput(index);
    if (!rp.partial.trimmed().isEmpty())
        rp.tail << rp.partial.trimmed();
    rp.partial.clear();
    rp.running = false;
    const bool completed = m_threadDone && m_result.status == RunStatus::Completed;
    if (!m_stopping && !completed && (crashed || exitCode != 0)) {
        // the first rank that ended on its own is why the job fails
        QString how = exitCode == -1 && !crashed
                          ? tr("rank %1 could not be started (%2)").arg(rp.rank).arg(rp.proc->errorString())
                      : crashed ? tr("rank %1 was killed or crashed").arg(rp.rank)
                                : tr("rank %1 ended with exit code %2").arg(rp.rank).arg(exitCode);
        if (!rp.tail.isEmpty())
            how += tr("; its last lines: %1").arg(rp.tail.join(QStringLiteral(" / ")));
        m_rankNote = how;
        m_stopping = true;
        if (!m_threadDone) // rank 0 may still wait for the ranks to join: it need not
            stopJoining(RunStatus::Failed,
                        Error(ErrorCode::RankLost, {{"rank", std::to_string(rp.rank)},
                                                    {"why", tr("its process ended").toStdString()}}));
        // otherwise rank 0's collectives fail at once (the rank's connections closed) and
        // the run ends naming it; the other ranks learn it from the rendezvous
    }
    finishJobIfDone();
}

void RunController::endRanks(bool now)
{
    for (auto& rp : m_ranks)
        if (rp->running && rp->proc->state() != QProcess::NotRunning) {
            if (now)
                rp->proc->kill();
            else
                rp->proc->terminate(); // SIGTERM: gpulab-cli stops its run and exits
        }
}

bool RunController::stopJoining(RunStatus status, const Error& error)
{
    {
        std::lock_guard lock(m_job->mutex);
        if (m_job->joined)
            return false;
        if (m_job->stopJoin)
            return true;
        m_job->stopStatus = status;
        m_job->stopError = error;
        m_job->stopJoin = true; // the thread's join ends within a tenth of a second
    }
    m_stopping = true;
    endRanks(true); // nothing of theirs to keep yet
    return true;
}

void RunController::finishJobIfDone()
{
    if (!m_job || !m_threadDone || m_state == State::Idle)
        return;
    for (const auto& rp : m_ranks)
        if (rp->running)
            return;
    setState(State::Idle);
    emit finished();
}

void RunController::onThreadDone()
{
    if (m_job) {
        joinThread();
        {
            std::lock_guard lock(m_job->mutex);
            m_result = std::move(m_job->result);
        }
        m_threadDone = true;
        // rank 0 is done: the others end by themselves (they finish with it); those that
        // do not are asked to, then killed
        const bool completed = m_result.status == RunStatus::Completed;
        if (!completed) {
            m_stopping = true;
            endRanks(false);
        }
        QTimer::singleShot(completed ? 10000 : 3000, this, [this, job = m_job] {
            if (m_job != job)
                return;
            m_stopping = true;
            endRanks(false);
            QTimer::singleShot(3000, this, [this, job] {
                if (m_job == job)
                    endRanks(true);
            });
        });
        finishJobIfDone();
        return;
    }
    joinThread();
    {
        std::lock_guard lock(m_resultMutex);
        m_result = std::move(m_pending);
        m_pending = RunResult{};
    }
    m_trainer.reset();
    setState(State::Idle);
    emit finished();
}

void RunController::pause()
{
    if (m_state != State::Running || !m_trainer)
        return;
    m_trainer->pause();
    setState(State::Paused);
}

void RunController::resume()
{
    if (m_state != State::Paused || !m_trainer)
        return;
    m_trainer->resume();
    setState(State::Running);
}

void RunController::step()
{
    if (!m_trainer || (m_state != State::Paused && !(m_state == State::Running && m_stepMode)))
        return;
    m_trainer->step();
}

void RunController::stop()
{
    if (m_job && m_state != State::Idle && m_state != State::Stopping) {
        m_stopping = true;
        {
            std::lock_guard lock(m_job->mutex);
            m_job->cancel = true;
            if (m_job->trainer)
                m_job->trainer->cancel();
        }
        setState(State::Stopping);
        if (stopJoining(RunStatus::Cancelled, Error(ErrorCode::Stopped)))
            return;
        endRanks(false); // each stops its run and exits; rank 0's collectives end with them
        return;
    }
    if (!m_trainer || m_state == State::Idle || m_state == State::Stopping)
        return;
    m_trainer->cancel();
    setState(State::Stopping);
}

void RunController::setStepMode(bool on)
{
    m_stepMode = on;
    if (m_trainer)
        m_trainer->set_step_mode(on);
}

std::vector<std::string> RunController::deviceNames() const
{
    if (m_job) {
        std::lock_guard lock(m_job->mutex);
        return m_job->names;
    }
    std::lock_guard lock(m_namesMutex);
    return m_deviceNames;
}

void RunController::drain(std::vector<Event>& out)
{
    if (m_stream)
        m_stream->drain(m_cursor, out);
}

} // namespace gpulab
