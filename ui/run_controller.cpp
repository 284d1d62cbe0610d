// RunController: Trainer::run() on a std::thread; the thread only *notifies* the UI
// thread (a queued call) when it ends, and the UI joins it there.
#include "run_controller.h"

#include "core_messages.h"
#include "data/fashion_mnist.h"
#include "device/device.h"
#include "train/settings.h"
#include "trace/event_stream.h"
#include "train/trainer.h"

#include <QMetaObject>

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace gpulab {

RunController::RunController(QObject* parent) : QObject(parent) {}

RunController::~RunController()
{
    if (m_trainer)
        m_trainer->cancel();
    joinThread();
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

void RunController::onThreadDone()
{
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
    std::lock_guard lock(m_namesMutex);
    return m_deviceNames;
}

void RunController::drain(std::vector<Event>& out)
{
    if (m_stream)
        m_stream->drain(m_cursor, out);
}

} // namespace gpulab
