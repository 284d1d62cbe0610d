// LiveSource: the run controller's stream, as a run source.
#include "run_source.h"

#include "run_controller.h"
#include "trace/event_stream.h"

namespace gpulab {

void LiveSource::drain(std::vector<Event>& out)
{
    m_controller->drain(out);
}

std::vector<Event> LiveSource::events() const
{
    auto s = m_controller->stream();
    return s ? s->all() : std::vector<Event>{};
}

std::shared_ptr<const EventStream> LiveSource::stream() const
{
    return m_controller->stream();
}

RunResult LiveSource::result() const
{
    return m_controller->lastResult();
}

std::vector<std::string> LiveSource::deviceNames() const
{
    return m_controller->deviceNames();
}

} // namespace gpulab
