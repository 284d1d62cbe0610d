// Run recordings: every event and snapshot of a run, in order, behind a header that says
// whose run it is. Written as the run goes (a crash leaves a readable prefix, which reads
// back as incomplete); read back by a reader that trusts nothing in the file. No Qt.
//
// The format (version 4; all integers little-endian):
//   bytes 0-7    "GPULABRC"
//   bytes 8-11   u32 format version
//   bytes 12-15  u32 CRC-32 of bytes 0-11
//   bytes 16-    one zlib stream (RFC 1950) of records, flushed (Z_SYNC_FLUSH) as the run
//                goes and finished after the end record (which the writer stores in an
//                uncompressed last block)
//   record:      u8 type, u32 payload length (at most 64 MiB), u16 low half of the CRC-32
//                of those 5 bytes, the payload, u32 CRC-32 of type, length and payload
//   types:       1 header (first), 2 event, 3 snapshot (before the event that names it),
//                4 end (last: the run's status and error)
// Inside payloads: str = u32 length + UTF-8 bytes; f64 = IEEE double; an error = str code
// name (error_code_name) + u32 count + that many (str name, str value) facts.
//   header:      u32 count + (str key, str value) pairs: program, gpulab_version, settings
//                (settings_to_text), machine, cpu, devices (one per line), date (UTC, ISO 8601)
//   event:       u8 kind (0 run_begin, 1 run_end, 2 push, 3 op, 4 mem_alloc, 5 mem_free,
//                6 mem_oom, 7 allreduce_step, 8 minibatch_loss, 9 epoch_end, 10 error,
//                11 snapshot, 12 log), f64 t_us, i32 device, then the kind's fields in the
//                order of its struct in trace/event.h (int = i32, int64_t = i64, double =
//                f64, string = str, bool = u8 0/1, an error as above, an enum as u8), except:
//                snapshot = i32 index of its snapshot record in the file (-1: none), what,
//                epoch, batch, tensor; run_begin's device_ranks = u32 count (0, or one per
//                device) + that many i32 ranks, each in 0 .. world-1 (world >= 1);
//                allreduce_step's stage = u8 (0 within a rank, 1 across ranks)
//   snapshot:    u8 what (0 params, 1 gradient before allreduce, 2 after), i32 epoch,
//                batch, device, str tensor, u32 count + names, u32 count + that many u32
//                vector sizes, i32 ref1, i32 ref2, then the coded residuals to the record's
//                end. ref1, ref2: indexes of earlier snapshot records of the same what,
//                tensor, names and sizes (-1: none; ref2 only with ref1). Each float's 32
//                bits are predicted: 0 without references, ref1's bits with one, 2 * ref1 -
//                ref2 (mod 2^32) with two; the residual r = bits - prediction (mod 2^32) is
//                zigzagged (z = r << 1 ^ (r as i32 >> 31)) and coded by residual_coder.h:
//                u32 length L of a range coding (LZMA's binary range coder, 11-bit
//                probabilities adapting by 1/32, all starting at 1/2), its L bytes, then the
//                plain bits, packed least significant first. For each z in order: its bit
//                length k (0..32) as 6 bits, highest first, through a binary tree of
//                probabilities chosen by (hint, previous z's k / 4), where hint is the bit
//                length of zigzag(ref1 bits - ref2 bits) of the same float, or 33 without
//                two references; then, below z's leading one, up to two bits through a tree
//                chosen by k; then the k - 3 bits left (if any) as plain bits.
//                Exact: the reader gets back every bit.
//   end:         str status ("completed", "cancelled", "failed"), error
// Version 3 (still read): the same, but the residuals were stored as byte planes: the
// lowest byte of every z, then every second byte, the third, the highest.
// Version 2 (still read): as version 3, but run_begin ended after devices (world 1, no device
// ranks) and allreduce_step after phase (not modelled, charged 0, within a rank).
// Version 1 (still read): an event was u8 kind, f64 t_us, f64 t_end_us, i32 device, epoch,
// batch, step, src, dst, chunk, snapshot, i64 bytes, in_use, f64 value, value2, value3, str
// name, str text, error (the columns of trace/event_columns.h); a snapshot had no sizes
// list nor references, each vector was u32 n + n raw f32.
#pragma once

#include "error/error.h"
#include "trace/event.h"
#include "train/train_config.h"

#include <cstdint>
#include <cstdio>
#include <exception>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace gpulab {

constexpr uint32_t kRecordingFormat = 4; // read: 1 to 4
constexpr uint32_t kMaxRecordBytes = 64u << 20;          // one record's payload
constexpr uint64_t kMaxRecordingBytes = uint64_t(1) << 30; // all records, decompressed

struct RecordingHeader {
    uint32_t format = kRecordingFormat;
    std::string program;          // "gpulab-cli", "gpulab"
    std::string gpulab_version;
    std::string settings;         // settings_to_text()
    std::string machine;          // host name
    std::string cpu;              // CPU model
    std::vector<std::string> devices;
    std::string date;             // "2026-11-30T12:00:00Z"

    // A header for a run of c on this machine, now.
    static RecordingHeader for_run(const TrainConfig& c, const std::string& program,
                                   const std::vector<std::string>& devices);
};

class RecordingWriter {
public:
    // Creates path and writes the file header and h. Throws GpulabError
    // (RecordingCannotWrite) when the file cannot be written.
    RecordingWriter(const std::string& path, const RecordingHeader& h);
    // The same recording onto a stream already open for writing (a socket's fdopen()), which
    // the writer then owns and closes; `name` names it in errors. A write that fails (the
    // other end gone) sets failed(), it does not throw.
    RecordingWriter(std::FILE* stream, const std::string& name, const RecordingHeader& h);
    ~RecordingWriter();
    RecordingWriter(const RecordingWriter&) = delete;
    RecordingWriter& operator=(const RecordingWriter&) = delete;

    // An event; for a Snapshot event, its snapshot (written first; the event's index is
    // rewritten to the recording's own count).
    void add(const Event& e, const Snapshot* snapshot = nullptr);
    // Everything added so far reaches the file, readable by read_recording().
    void flush();
    // The end record, then the end of the stream; the file is complete.
    void finish(RunStatus status, const Error& error);

    const std::string& path() const { return m_path; }
    uint64_t file_bytes() const { return m_file_bytes; }
    bool failed() const { return !m_error.empty(); }
    const std::string& error() const { return m_error; } // the first write failure

private:
    void start(const RecordingHeader& h);
    void record(uint8_t type, const std::string& payload);
    void deflate_out(int flush);
    void set_level(int level);

    std::string m_path;
    std::FILE* m_file = nullptr;
    struct Z;
    std::unique_ptr<Z> m_z;
    struct SnapshotRefs;
    std::unique_ptr<SnapshotRefs> m_refs; // what the next snapshot is predicted from
    std::string m_pending;        // records not yet handed to zlib
    uint64_t m_file_bytes = 0;
    int m_snapshots = 0;
    bool m_finished = false;
    std::string m_error;
};

struct Recording {
    RecordingHeader header;
    std::vector<Event> events;
    std::vector<std::shared_ptr<const Snapshot>> snapshots; // ev::Snapshot::index indexes these
    bool complete = false;        // the end record was read
    std::string status;           // the end record's status, when complete
    Error error;                  // the end record's error, when complete
};

// Reads a recording. Throws GpulabError with a Recording* code, naming the file and, where
// it applies, the byte: a directory, an empty file, another program's file, a wrong magic,
// a newer format, a damaged or cut header, a damaged record. A file that ends early (the
// run was killed) is returned with complete = false and every whole record before the end.
//
// progress, when given, is called after every piece read (about every 64 KiB of the file)
// with the bytes read so far and the file's size; when it returns false the reading stops
// and ReadCancelled is thrown. It runs on the reading thread.
struct ReadCancelled : std::exception {
    const char* what() const noexcept override { return "reading the recording was cancelled"; }
};
using ReadProgress = std::function<bool(uint64_t done, uint64_t total)>;
Recording read_recording(const std::string& path, const ReadProgress& progress = {});
Recording parse_recording(const uint8_t* data, size_t size, const std::string& name,
                          const ReadProgress& progress = {});

// A recording read as its bytes arrive (a rank's events streamed to rank 0), with the same
// checks as read_recording: feed the bytes in order, take what is whole so far.
class RecordingStreamReader {
public:
    explicit RecordingStreamReader(std::string name);
    ~RecordingStreamReader();
    RecordingStreamReader(const RecordingStreamReader&) = delete;
    RecordingStreamReader& operator=(const RecordingStreamReader&) = delete;

    // Throws GpulabError with a Recording* code, as read_recording.
    void feed(const uint8_t* data, size_t size);
    bool has_header() const;
    const RecordingHeader& header() const;
    // The events read since the last call, moved out.
    std::vector<Event> take_events();
    // The snapshot an event's ev::Snapshot::index names (nullptr for none).
    std::shared_ptr<const Snapshot> snapshot(int index) const;
    // The end record was read: then status and error hold the run's end.
    bool ended() const;
    const std::string& status() const;
    const Error& error() const;

private:
    struct Impl;
    std::unique_ptr<Impl> m;
};

} // namespace gpulab
