// Exports of the event stream: Chrome trace JSON (Perfetto, chrome://tracing) and CSV.
#pragma once

#include "trace/event.h"

#include <ostream>
#include <string>
#include <vector>

namespace gpulab {

// {"traceEvents":[...]}: ops as spans per device thread, front-end pushes as instants,
// memory and loss as counters, allreduce steps as spans on their own track.
void write_chrome_trace(const std::vector<Event>& events, std::ostream& out);

// One row per event: the columns of csv_header(), each kind's fields in the columns
// event_columns() puts them in (trace/event_columns.h); a column a kind lacks keeps its default.
void write_events_csv(const std::vector<Event>& events, std::ostream& out);
const char* csv_header();

// To a file: writes PATH.tmp and renames it over PATH, so a reader never sees half a
// file. Returns false and sets *error ("cannot write PATH: reason") on failure.
bool export_chrome_trace(const std::vector<Event>& events, const std::string& path,
                         std::string* error);
bool export_events_csv(const std::vector<Event>& events, const std::string& path,
                       std::string* error);

std::string json_escape(const std::string& s);

} // namespace gpulab
