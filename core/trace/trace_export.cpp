// Chrome trace JSON and CSV writers. pid 1: engine (tid 0 front end, tid d+1 device d);
// pid 2: memory counters; pid 3: allreduce steps (tid = receiving device); pid 4: metrics.
#include "trace/trace_export.h"

#include "trace/event_columns.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <set>

namespace gpulab {

std::string json_escape(const std::string& s)
{
    std::string o;
    o.reserve(s.size() + 2);
    for (unsigned char ch : s) {
        switch (ch) {
        case '"': o += "\\\""; break;
        case '\\': o += "\\\\"; break;
        case '\n': o += "\\n"; break;
        case '\r': o += "\\r"; break;
        case '\t': o += "\\t"; break;
        default:
            if (ch < 0x20) {
                char buf[8];
                std::snprintf(buf, sizeof buf, "\\u%04x", ch);
                o += buf;
            } else {
                o += static_cast<char>(ch);
            }
        }
    }
    return o;
}

namespace {

std::string num(double v)
{
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.3f", v);
    return buf;
}

void meta(std::ostream& out, bool& first, int pid, int tid, const char* what, const std::string& name)
{
    out << (first ? "\n" : ",\n") << R"({"ph":"M","pid":)" << pid << R"(,"tid":)" << tid
        << R"(,"name":")" << what << R"(","args":{"name":")" << json_escape(name) << "\"}}";
    first = false;
}

} // namespace

void write_chrome_trace(const std::vector<Event>& events, std::ostream& out)
{
    out << "{\"displayTimeUnit\":\"ms\",\"traceEvents\":[";
    bool first = true;
    std::set<int> devices;
    for (const auto& e : events)
        if (e.device >= 0)
            devices.insert(e.device);
    meta(out, first, 1, 0, "process_name", "engine");
    meta(out, first, 1, 0, "thread_name", "front end");
    meta(out, first, 2, 0, "process_name", "memory");
    meta(out, first, 3, 0, "process_name", "allreduce");
    meta(out, first, 4, 0, "process_name", "metrics");
    for (int d : devices) {
        meta(out, first, 1, d + 1, "thread_name", "device " + std::to_string(d));
        meta(out, first, 3, d + 1, "thread_name", "into device " + std::to_string(d));
    }
    auto sep = [&] {
        out << (first ? "\n" : ",\n");
        first = false;
    };
    for (const auto& e : events) {
        if (const auto* op = e.get<ev::Op>()) {
            sep();
            out << R"({"ph":"X","pid":1,"tid":)" << e.device + 1 << R"(,"ts":)" << num(e.t_us)
                << R"(,"dur":)" << num(op->t_end_us - e.t_us) << R"(,"name":")"
                << json_escape(op->op) << "\"}";
        } else if (const auto* push = e.get<ev::Push>()) {
            sep();
            out << R"({"ph":"i","s":"t","pid":1,"tid":0,"ts":)" << num(e.t_us)
                << R"(,"name":"push )" << json_escape(push->op) << R"(","args":{"device":)"
                << e.device << "}}";
        } else if (e.is<ev::MemAlloc>() || e.is<ev::MemFree>()) {
            const auto* alloc = e.get<ev::MemAlloc>();
            const int64_t in_use = alloc ? alloc->in_use : e.get<ev::MemFree>()->in_use;
            sep();
            out << R"({"ph":"C","pid":2,"tid":0,"ts":)" << num(e.t_us)
                << R"(,"name":"device )" << e.device << R"( bytes","args":{"in_use":)"
                << in_use << "}}";
        } else if (const auto* oom = e.get<ev::MemOom>()) {
            sep();
            out << R"({"ph":"i","s":"g","pid":2,"tid":0,"ts":)" << num(e.t_us)
                << R"(,"name":"out of memory on device )" << e.device
                << R"(","args":{"requested":)" << oom->bytes << R"(,"in_use":)" << oom->in_use << "}}";
        } else if (const auto* step = e.get<ev::AllreduceStep>()) {
            sep();
            out << R"({"ph":"X","pid":3,"tid":)" << step->dst + 1 << R"(,"ts":)" << num(e.t_us)
                << R"(,"dur":)" << num(step->t_end_us - e.t_us) << R"(,"name":")"
                << json_escape(step->phase) << " " << step->step << (step->modelled ? " (modelled)" : "")
                << R"(","args":{"src":)" << step->src << R"(,"dst":)" << step->dst << R"(,"chunk":)"
                << step->chunk << R"(,"bytes":)" << step->bytes << R"(,"epoch":)" << step->epoch
                << R"(,"batch":)" << step->batch;
            // added fields: written where they differ from a plain step within one process
            if (step->modelled)
                out << R"(,"modelled":true,"charged_bytes":)" << step->charged_bytes;
            if (step->stage != AllreduceStage::WithinRank)
                out << R"(,"stage":")" << allreduce_stage_name(step->stage) << '"';
            out << "}}";
        } else if (const auto* loss = e.get<ev::MinibatchLoss>()) {
            sep();
            out << R"({"ph":"C","pid":4,"tid":0,"ts":)" << num(e.t_us)
                << R"(,"name":"loss","args":{"loss":)" << num(loss->loss) << "}}";
        } else if (const auto* epoch = e.get<ev::EpochEnd>()) {
            sep();
            out << R"({"ph":"C","pid":4,"tid":0,"ts":)" << num(e.t_us)
                << R"(,"name":"test accuracy","args":{"acc":)" << num(epoch->test_accuracy) << "}}";
        } else if (!e.is<ev::Snapshot>()) {
            // RunBegin, RunEnd, Error, Log: instants with the name and text columns of the CSV
            const EventColumns c = event_columns(e);
            sep();
            out << R"({"ph":"i","s":"g","pid":1,"tid":0,"ts":)" << num(e.t_us) << R"(,"name":")"
                << event_kind_name(e.kind()) << R"(","args":{"name":")" << json_escape(c.name)
                << R"(","text":")" << json_escape(c.text) << '"';
            if (const auto* begin = e.get<ev::RunBegin>(); begin && (begin->world != 1 || !begin->device_ranks.empty()))
                out << R"(,"world":)" << begin->world << R"(,"ranks":")" << c.ranks << '"';
            out << "}}";
        }
    }
    out << "\n]}\n";
}

const char* csv_header()
{
    return "t_us,t_end_us,kind,device,epoch,batch,step,src,dst,chunk,bytes,in_use,value,value2,"
           "value3,name,text,modelled,charged_bytes,stage,world,ranks";
}

namespace {
std::string csv_field(const std::string& s)
{
    if (s.find_first_of(",\"\n\r") == std::string::npos)
        return s;
    std::string o = "\"";
    for (char ch : s) {
        if (ch == '"')
            o += '"';
        o += ch;
    }
    return o + "\"";
}
} // namespace

void write_events_csv(const std::vector<Event>& events, std::ostream& out)
{
    out << csv_header() << "\n";
    for (const auto& e : events) {
        const EventColumns c = event_columns(e);
        out << num(c.t_us) << ',' << num(c.t_end_us) << ',' << event_kind_name(e.kind()) << ','
            << c.device << ',' << c.epoch << ',' << c.batch << ',' << c.step << ',' << c.src << ','
            << c.dst << ',' << c.chunk << ',' << c.bytes << ',' << c.in_use << ',' << c.value
            << ',' << c.value2 << ',' << c.value3 << ',' << csv_field(c.name) << ','
            << csv_field(c.text) << ',' << c.modelled << ',' << c.charged_bytes << ',' << c.stage << ','
            << c.world << ',' << c.ranks << "\n";
    }
}

namespace {
template <class Writer>
bool write_atomically(const std::string& path, std::string* error, Writer write)
{
    const std::string tmp = path + ".tmp";
    {
        std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
        if (!f) {
            if (error)
                *error = "cannot write " + path + ": " + std::strerror(errno);
            return false;
        }
        write(f);
        f.flush();
        if (!f) {
            if (error)
                *error = "cannot write " + path + ": write failed (disk full?)";
            std::remove(tmp.c_str());
            return false;
        }
    }
    if (std::rename(tmp.c_str(), path.c_str()) != 0) {
        if (error)
            *error = "cannot write " + path + ": " + std::strerror(errno);
        std::remove(tmp.c_str());
        return false;
    }
    return true;
}
} // namespace

bool export_chrome_trace(const std::vector<Event>& events, const std::string& path,
                         std::string* error)
{
    return write_atomically(path, error, [&](std::ostream& o) { write_chrome_trace(events, o); });
}

bool export_events_csv(const std::vector<Event>& events, const std::string& path,
                       std::string* error)
{
    return write_atomically(path, error, [&](std::ostream& o) { write_events_csv(events, o); });
}

} // namespace gpulab
