// Run recordings: a run's events and snapshots come back exactly; a prefix (what a crash
// leaves) reads as incomplete; every kind of bad file is refused with one coded error that
// names the file, and no cut or flipped byte crashes the reader or passes unnoticed.
#include "data/synthetic.h"
#include "record/recording.h"
#include "record/residual_coder.h"
#include "support/file_bytes.h"
#include "trace/event_columns.h"
#include "trace/event_stream.h"
#include "train/settings.h"
#include "train/trainer.h"

#include <QtTest>

#include <QTemporaryDir>

#include <zlib.h>

#include <bit>
#include <cstring>
#include <random>
#include <fstream>
#include <iterator>

using namespace gpulab;

namespace {

// Every field of every kind, but a snapshot's index (the recording numbers its own).
bool same_event(Event a, Event b)
{
    for (Event* e : {&a, &b})
        if (auto* s = e->get<ev::Snapshot>())
            s->index = -1;
    return a == b;
}

// Little-endian payload bytes, as recording.h lays them out.
struct Bytes {
    std::string b;
    template <class T>
    void put(T v) { b.append(reinterpret_cast<const char*>(&v), sizeof v); }
    void str(const std::string& s)
    {
        put<uint32_t>(static_cast<uint32_t>(s.size()));
        b += s;
    }
    void error(const Error& e)
    {
        str(e ? error_code_name(e.code) : "");
        put<uint32_t>(static_cast<uint32_t>(e.facts.size()));
        for (const auto& [k, v] : e.facts) {
            str(k);
            str(v);
        }
    }
};

// A whole file of the given format version and (type, payload) records, framed and
// compressed as recording.h describes, independently of the writer.
std::vector<uint8_t> file_of(uint32_t version, const std::vector<std::pair<uint8_t, std::string>>& records)
{
    std::vector<uint8_t> f = {'G', 'P', 'U', 'L', 'A', 'B', 'R', 'C'};
    f.insert(f.end(), reinterpret_cast<const uint8_t*>(&version), reinterpret_cast<const uint8_t*>(&version) + 4);
    const uint32_t c = static_cast<uint32_t>(crc32(0, f.data(), 12));
    f.insert(f.end(), reinterpret_cast<const uint8_t*>(&c), reinterpret_cast<const uint8_t*>(&c) + 4);
    std::string all;
    for (const auto& [type, payload] : records) {
        Bytes r;
        r.put<uint8_t>(type);
        r.put<uint32_t>(static_cast<uint32_t>(payload.size()));
        r.put<uint16_t>(static_cast<uint16_t>(crc32(0, reinterpret_cast<const Bytef*>(r.b.data()), 5)));
        uint32_t check = static_cast<uint32_t>(crc32(0, reinterpret_cast<const Bytef*>(r.b.data()), 5));
        check = static_cast<uint32_t>(crc32(check, reinterpret_cast<const Bytef*>(payload.data()), static_cast<uInt>(payload.size())));
        all += r.b + payload;
        all.append(reinterpret_cast<const char*>(&check), 4);
    }
    std::vector<uint8_t> z(compressBound(static_cast<uLong>(all.size())) + 16);
    uLongf zn = static_cast<uLongf>(z.size());
    compress(z.data(), &zn, reinterpret_cast<const Bytef*>(all.data()), static_cast<uLong>(all.size()));
    f.insert(f.end(), z.begin(), z.begin() + static_cast<std::ptrdiff_t>(zn));
    return f;
}

std::string header_record(const std::string& program)
{
    Bytes h;
    h.put<uint32_t>(2);
    h.str("program");
    h.str(program);
    h.str("devices");
    h.str("cpu-sim(0)\ncpu-sim(1)");
    return h.b;
}

std::string end_record(const std::string& status)
{
    Bytes e;
    e.str(status);
    e.error(Error{});
    return e.b;
}

bool same_bits(const Snapshot& a, const Snapshot& b)
{
    if (a.values.size() != b.values.size())
        return false;
    for (size_t i = 0; i < a.values.size(); ++i)
        if (a.values[i].size() != b.values[i].size() ||
            std::memcmp(a.values[i].data(), b.values[i].data(), a.values[i].size() * sizeof(float)) != 0)
            return false;
    return a.what == b.what && a.epoch == b.epoch && a.batch == b.batch && a.device == b.device &&
           a.tensor == b.tensor && a.names == b.names;
}

// An event record as version 2 wrote it (and version 3 without the fields added in 3):
// the kind, time and device, then the kind's fields in the order of its struct.
std::string event_v2(const Event& e, int snapshot, bool v3 = false)
{
    Bytes o;
    o.put<uint8_t>(static_cast<uint8_t>(e.kind()));
    o.put<double>(e.t_us);
    o.put<int32_t>(e.device);
    if (const auto* x = e.get<ev::RunBegin>()) {
        o.str(x->settings);
        o.put<int32_t>(x->devices);
        if (v3) {
            o.put<int32_t>(x->world);
            o.put<uint32_t>(static_cast<uint32_t>(x->device_ranks.size()));
            for (int r : x->device_ranks)
                o.put<int32_t>(r);
        }
    } else if (const auto* x = e.get<ev::RunEnd>()) {
        o.str(x->status);
        o.str(x->message);
        o.error(x->error);
    } else if (const auto* x = e.get<ev::Push>()) {
        o.str(x->op);
    } else if (const auto* x = e.get<ev::Op>()) {
        o.str(x->op);
        o.put<double>(x->t_end_us);
    } else if (const auto* x = e.get<ev::MemAlloc>()) {
        for (int64_t v : {x->bytes, x->in_use, x->reserved})
            o.put<int64_t>(v);
    } else if (const auto* x = e.get<ev::MemFree>()) {
        for (int64_t v : {x->bytes, x->in_use, x->reserved})
            o.put<int64_t>(v);
    } else if (const auto* x = e.get<ev::MemOom>()) {
        o.put<int64_t>(x->bytes);
        o.put<int64_t>(x->in_use);
    } else if (const auto* x = e.get<ev::AllreduceStep>()) {
        o.put<double>(x->t_end_us);
        for (int v : {x->epoch, x->batch, x->step, x->steps, x->src, x->dst, x->chunk})
            o.put<int32_t>(v);
        o.put<int64_t>(x->bytes);
        o.str(x->phase);
        if (v3) {
            o.put<uint8_t>(x->modelled ? 1 : 0);
            o.put<int64_t>(x->charged_bytes);
            o.put<uint8_t>(static_cast<uint8_t>(x->stage));
        }
    } else if (const auto* x = e.get<ev::MinibatchLoss>()) {
        o.put<int32_t>(x->epoch);
        o.put<int32_t>(x->batch);
        o.put<int32_t>(x->batches_in_epoch);
        o.put<int64_t>(x->images);
        o.put<double>(x->loss);
    } else if (const auto* x = e.get<ev::EpochEnd>()) {
        o.put<int32_t>(x->epoch);
        o.put<double>(x->train_loss);
        o.put<double>(x->test_accuracy);
        o.put<double>(x->seconds);
        o.put<int64_t>(x->images);
    } else if (const auto* x = e.get<ev::Error>()) {
        o.str(x->message);
        o.error(x->error);
    } else if (const auto* x = e.get<ev::Snapshot>()) {
        o.put<int32_t>(snapshot);
        o.put<uint8_t>(static_cast<uint8_t>(x->what));
        o.put<int32_t>(x->epoch);
        o.put<int32_t>(x->batch);
        o.str(x->tensor);
    } else if (const auto* x = e.get<ev::Log>()) {
        o.str(x->text);
    }
    return o.b;
}

// What every version's snapshot record starts with: kind, epoch, batch, device, tensor,
// the names and the number of value arrays.
void snapshot_prefix(Bytes& o, const Snapshot& s)
{
    o.put<uint8_t>(static_cast<uint8_t>(s.what));
    o.put<int32_t>(s.epoch);
    o.put<int32_t>(s.batch);
    o.put<int32_t>(s.device);
    o.str(s.tensor);
    o.put<uint32_t>(static_cast<uint32_t>(s.names.size()));
    for (const auto& n : s.names)
        o.str(n);
    o.put<uint32_t>(static_cast<uint32_t>(s.values.size()));
}

// A snapshot record of versions 2 and 3 without references: each float's bits zigzagged,
// stored as byte planes.
std::string snapshot_v2(const Snapshot& s)
{
    Bytes o;
    snapshot_prefix(o, s);
    std::vector<uint32_t> z;
    for (const auto& v : s.values) {
        o.put<uint32_t>(static_cast<uint32_t>(v.size()));
        for (float f : v) {
            const uint32_t r = std::bit_cast<uint32_t>(f);
            z.push_back(r << 1 ^ static_cast<uint32_t>(static_cast<int32_t>(r) >> 31));
        }
    }
    o.put<int32_t>(-1);
    o.put<int32_t>(-1);
    for (int plane = 0; plane < 4; ++plane)
        for (uint32_t v : z)
            o.put<uint8_t>(static_cast<uint8_t>(v >> (8 * plane)));
    return o.b;
}

// A snapshot record of versions 2 and 3 (byte planes) or 4 (the residual coder), stored
// against references r1 and r2 (indexes ref1, ref2; nullptr for none), predicted and coded as
// recording.h describes, independently of the writer.
std::string snapshot_with_refs(uint32_t version, const Snapshot& s, int32_t ref1, const Snapshot* r1, int32_t ref2,
                               const Snapshot* r2)
{
    Bytes o;
    snapshot_prefix(o, s);
    std::vector<uint32_t> z;
    std::vector<uint8_t> hints;
    auto zig = [](uint32_t r) { return r << 1 ^ static_cast<uint32_t>(static_cast<int32_t>(r) >> 31); };
    for (size_t i = 0; i < s.values.size(); ++i) {
        o.put<uint32_t>(static_cast<uint32_t>(s.values[i].size()));
        for (size_t k = 0; k < s.values[i].size(); ++k) {
            const uint32_t a = r1 ? std::bit_cast<uint32_t>(r1->values[i][k]) : 0u;
            const uint32_t b = r2 ? std::bit_cast<uint32_t>(r2->values[i][k]) : a;
            z.push_back(zig(std::bit_cast<uint32_t>(s.values[i][k]) - (2 * a - b)));
            hints.push_back(r2 ? static_cast<uint8_t>(std::bit_width(zig(a - b))) : kHintNoLine);
        }
    }
    o.put<int32_t>(ref1);
    o.put<int32_t>(ref2);
    if (version >= 4) {
        o.b += encode_residuals(z.data(), hints.data(), z.size());
    } else {
        for (int plane = 0; plane < 4; ++plane)
            for (uint32_t v : z)
                o.put<uint8_t>(static_cast<uint8_t>(v >> (8 * plane)));
    }
    return o.b;
}

// A header record with settings.
std::string header_with_settings(const std::string& settings)
{
    Bytes h;
    h.put<uint32_t>(3);
    h.str("program");
    h.str("gpulab-cli");
    h.str("settings");
    h.str(settings);
    h.str("devices");
    h.str("cpu-sim(0)\ncpu-sim(1)");
    return h.b;
}

// A short real run, recorded the way gpulab-cli records one.
struct Run {
    TrainConfig config;
    RunResult result;
    std::vector<Event> events;
    std::vector<std::shared_ptr<const Snapshot>> snapshots; // in the order recorded
};

Run record_run(const std::string& path, double lr = 0.2)
{
    Run r;
    r.config.devices = 2;
    r.config.batch_size = 64;
    r.config.lr = lr;
    r.config.epochs = 1;
    r.config.snapshot_interval = 2;
    auto data = std::make_shared<const FashionMnist>(make_synthetic_dataset(256, 64, 5));
    EventStream trace;
    Trainer t(r.config, data, trace);
    r.result = t.run();
    r.events = trace.all();
    RecordingWriter w(path, RecordingHeader::for_run(r.config, "tst_record", r.result.device_names));
    for (const Event& e : r.events) {
        std::shared_ptr<const Snapshot> s = trace.snapshot_of(e);
        if (s)
            r.snapshots.push_back(s);
        w.add(e, s.get());
    }
    w.finish(r.result.status, r.result.error);
    return r;
}

// The reader's verdict on bytes: "ok", "incomplete" or the error code's name.
std::string verdict(const std::vector<uint8_t>& b, Recording* out = nullptr)
{
    try {
        Recording r = parse_recording(b.data(), b.size(), "t.gpurec");
        const bool complete = r.complete;
        if (out)
            *out = std::move(r);
        return complete ? "ok" : "incomplete";
    } catch (const GpulabError& e) {
        return error_code_name(e.error.code);
    }
}

} // namespace

class TestRecord : public QObject {
    Q_OBJECT

    QTemporaryDir m_dir;
    std::string m_path;
    Run m_run;
    std::vector<uint8_t> m_bytes;

    std::string path(const char* name) const { return m_dir.filePath(QString::fromLatin1(name)).toStdString(); }

private slots:
    void initTestCase()
    {
        m_path = path("run.gpurec");
        m_run = record_run(m_path);
        QCOMPARE(m_run.result.status, RunStatus::Completed);
        QVERIFY(!m_run.snapshots.empty());
        m_bytes = read_bytes(m_path);
        QVERIFY(m_bytes.size() > 100);
    }

    void everythingComesBack()
    {
        const Recording r = read_recording(m_path);
        QVERIFY(r.complete);
        QCOMPARE(r.status, std::string("completed"));
        QCOMPARE(r.header.format, kRecordingFormat);
        QCOMPARE(r.header.program, std::string("tst_record"));
        QCOMPARE(r.header.devices, m_run.result.device_names);
        QCOMPARE(r.header.settings, settings_to_text(m_run.config));
        QVERIFY(r.header.date.size() == 20 && r.header.date.back() == 'Z');
        TrainConfig back;
        apply_settings_text(back, r.header.settings);
        QCOMPARE(settings_to_text(back), settings_to_text(m_run.config));
        QCOMPARE(r.events.size(), m_run.events.size());
        for (size_t i = 0; i < r.events.size(); ++i)
            QVERIFY2(same_event(r.events[i], m_run.events[i]), qPrintable(QString::number(i)));
        QCOMPARE(r.snapshots.size(), m_run.snapshots.size());
        size_t k = 0;
        for (const Event& e : r.events) {
            const auto* snap = e.get<ev::Snapshot>();
            if (!snap)
                continue;
            QCOMPARE(snap->index, int(k)); // the recording's own numbering
            const Snapshot& a = *r.snapshots[k];
            const Snapshot& b = *m_run.snapshots[k];
            QCOMPARE(a.what, b.what);
            QCOMPARE(a.epoch, b.epoch);
            QCOMPARE(a.batch, b.batch);
            QCOMPARE(a.device, b.device);
            QCOMPARE(a.tensor, b.tensor);
            QCOMPARE(a.names, b.names);
            QVERIFY(a.values == b.values);
            ++k;
        }
    }

    void aFailedRunKeepsItsError()
    {
        const std::string p = path("diverged.gpurec");
        const Run run = record_run(p, 1000);
        QCOMPARE(run.result.status, RunStatus::Failed);
        const Recording r = read_recording(p);
        QVERIFY(r.complete);
        QCOMPARE(r.status, std::string("failed"));
        QCOMPARE(r.error.code, run.result.error.code);
        QCOMPARE(r.error.facts, run.result.error.facts);
    }

    // What a crash leaves: the writer flushed, the process never finished the file.
    void aFlushedPrefixReadsAsIncomplete()
    {
        const std::string p = path("prefix.gpurec");
        RecordingWriter w(p, RecordingHeader::for_run(m_run.config, "tst_record", {"cpu-sim(0)"}));
        const size_t half = m_run.events.size() / 2;
        size_t snapshots = 0;
        for (size_t i = 0; i < half; ++i) {
            const Event& e = m_run.events[i];
            const Snapshot* s = nullptr;
            if (e.is<ev::Snapshot>())
                s = m_run.snapshots[snapshots++].get();
            w.add(e, s);
        }
        w.flush();
        const std::vector<uint8_t> now = read_bytes(p); // the file as a kill -9 would leave it
        Recording r;
        QCOMPARE(verdict(now, &r), std::string("incomplete"));
        QCOMPARE(r.events.size(), half);
        QCOMPARE(r.snapshots.size(), snapshots);
        QVERIFY(same_event(r.events.back(), m_run.events[half - 1]));
    }

    // Every cut of the file: refused with a code, or read as an incomplete prefix of it;
    // complete only when nothing was cut.
    void everyTruncation()
    {
        const Recording full = read_recording(m_path);
        const size_t step = std::max<size_t>(1, m_bytes.size() / 400);
        size_t incomplete = 0;
        for (size_t n = 0; n < m_bytes.size(); n += (n < 64 ? 1 : step)) {
            std::vector<uint8_t> cut(m_bytes.begin(), m_bytes.begin() + static_cast<std::ptrdiff_t>(n));
            Recording r;
            const std::string v = verdict(cut, &r);
            QVERIFY2(v != "ok", qPrintable(QString::number(n)));
            if (v == "incomplete") {
                ++incomplete;
                QVERIFY(r.events.size() <= full.events.size());
                for (size_t i = 0; i < r.events.size(); i += 97)
                    QVERIFY(same_event(r.events[i], full.events[i]));
            } else {
                QVERIFY2(v == "recording_empty" || v == "recording_truncated_header", v.c_str());
            }
        }
        QVERIFY(incomplete > 50);
    }

    // Every bit flipped somewhere in the file: refused, or (a flip zlib cannot see, in
    // padding) the same recording.
    void bitFlips()
    {
        const Recording full = read_recording(m_path);
        const size_t step = std::max<size_t>(1, m_bytes.size() / 300);
        int refused = 0;
        for (size_t at = 0; at < m_bytes.size(); at += (at < 64 ? 1 : step)) {
            for (int bit : {0, 3, 7}) {
                std::vector<uint8_t> b = m_bytes;
                b[at] ^= static_cast<uint8_t>(1 << bit);
                Recording r;
                const std::string v = verdict(b, &r);
                if (v == "ok") {
                    QCOMPARE(r.events.size(), full.events.size());
                    for (size_t i = 0; i < r.events.size(); ++i)
                        QVERIFY(same_event(r.events[i], full.events[i]));
                } else {
                    QVERIFY2(v != "incomplete", qPrintable(QStringLiteral("flip at %1 read as incomplete").arg(at)));
                    ++refused;
                }
            }
        }
        QVERIFY(refused > 500);
        // every bit of the stream's last bytes (the last block's end, the checksum), and every
        // cut of the checksum: the end record is there, so never read as an incomplete run
        for (size_t at = m_bytes.size() - 16; at < m_bytes.size(); ++at) {
            for (int bit = 0; bit < 8; ++bit) {
                std::vector<uint8_t> b = m_bytes;
                b[at] ^= static_cast<uint8_t>(1 << bit);
                const std::string v = verdict(b);
                QVERIFY2(v != "incomplete", qPrintable(QStringLiteral("flip of bit %1 at %2 from the end read as incomplete")
                                                           .arg(bit)
                                                           .arg(m_bytes.size() - at)));
            }
            if (m_bytes.size() - at > 4)
                continue; // a cut before the checksum may cut the end record: incomplete is right
            const std::vector<uint8_t> cut(m_bytes.begin(), m_bytes.begin() + std::ptrdiff_t(at));
            QVERIFY2(verdict(cut) == "recording_damaged",
                     qPrintable(QStringLiteral("cut %1 bytes from the end: %2")
                                    .arg(m_bytes.size() - at)
                                    .arg(QString::fromStdString(verdict(cut)))));
        }
    }

    void badFiles_data()
    {
        QTest::addColumn<QByteArray>("bytes");
        QTest::addColumn<QString>("code");
        QTest::newRow("empty") << QByteArray() << "recording_empty";
        QTest::newRow("json") << QByteArray("  {\"traceEvents\": []}\n") << "recording_foreign";
        QTest::newRow("json array") << QByteArray("[1,2,3]") << "recording_foreign";
        QTest::newRow("png") << QByteArray("\x89PNG\r\n\x1a\n\0\0\0\rIHDR", 16) << "recording_foreign";
        QTest::newRow("wrong magic") << QByteArray("GPULABXX\x01\0\0\0\0\0\0\0", 16) << "recording_bad_magic";
        QTest::newRow("text") << QByteArray("epoch 1: loss 0.9\n") << "recording_bad_magic";
        QTest::newRow("zeros") << QByteArray(4096, '\0') << "recording_bad_magic";
        QTest::newRow("magic only") << QByteArray("GPULABRC") << "recording_truncated_header";
        QTest::newRow("half magic") << QByteArray("GPULA") << "recording_truncated_header";
        {
            // a well-formed header of the next format: a newer gpulab's
            QByteArray h("GPULABRC\0\0\0\0", 12);
            const uint32_t next = kRecordingFormat + 1;
            std::memcpy(h.data() + 8, &next, 4);
            const uint32_t c = static_cast<uint32_t>(crc32(0, reinterpret_cast<const Bytef*>(h.constData()), 12));
            h.append(reinterpret_cast<const char*>(&c), 4);
            QTest::newRow("newer version") << h << "recording_newer_version";
            QByteArray damaged = h;
            damaged[12] = static_cast<char>(damaged[12] ^ 1);
            QTest::newRow("header crc") << damaged << "recording_damaged";
            QByteArray v1("GPULABRC\x01\0\0\0", 12);
            const uint32_t c1 = static_cast<uint32_t>(crc32(0, reinterpret_cast<const Bytef*>(v1.constData()), 12));
            v1.append(reinterpret_cast<const char*>(&c1), 4);
            QTest::newRow("header, no records") << v1 << "recording_truncated_header";
            QTest::newRow("header, garbage") << v1 + QByteArray(100, 'x') << "recording_damaged";
        }
        {
            QByteArray text(2000, 'a');
            QTest::newRow("zlib of text") << qCompress(text) << "recording_bad_magic";
        }
    }
    void badFiles()
    {
        QFETCH(QByteArray, bytes);
        QFETCH(QString, code);
        const std::string p = path("bad.gpurec");
        QVERIFY(write_bytes(p, std::vector<uint8_t>(bytes.begin(), bytes.end())));
        try {
            read_recording(p);
            QFAIL("accepted");
        } catch (const GpulabError& e) {
            QCOMPARE(QString::fromLatin1(error_code_name(e.error.code)), code);
            QCOMPARE(e.error.fact("file"), p);
            const std::string msg = english(e.error);
            QVERIFY2(msg.find(p) == 0 && msg.find('{') == std::string::npos && msg.find('\n') == std::string::npos,
                     msg.c_str());
        }
    }

    void gzipOfTextIsNamed()
    {
        const std::string p = path("text.gz");
        gzFile gz = gzopen(p.c_str(), "wb");
        QVERIFY(gz);
        const char text[] = "epoch 1: loss 0.912, test acc 0.651\n";
        gzwrite(gz, text, sizeof text - 1);
        gzclose(gz);
        try {
            read_recording(p);
            QFAIL("accepted");
        } catch (const GpulabError& e) {
            QCOMPARE(e.error.code, ErrorCode::RecordingForeign);
            QCOMPARE(e.error.fact("kind"), std::string("gzip"));
        }
    }

    void directoryAndMissingFile()
    {
        try {
            read_recording(m_dir.path().toStdString());
            QFAIL("read a directory");
        } catch (const GpulabError& e) {
            QCOMPARE(e.error.code, ErrorCode::RecordingIsDirectory);
        }
        try {
            read_recording(path("nothing-here.gpurec"));
            QFAIL("read a missing file");
        } catch (const GpulabError& e) {
            QCOMPARE(e.error.code, ErrorCode::RecordingCannotOpen);
            QVERIFY(!e.error.fact("why").empty());
        }
        try {
            RecordingWriter w(m_dir.path().toStdString(), RecordingHeader{});
            QFAIL("wrote over a directory");
        } catch (const GpulabError& e) {
            QCOMPARE(e.error.code, ErrorCode::RecordingCannotWrite);
        }
    }

    // A 1 GiB file of zeros (sparse: no disk used where the file system allows) is refused
    // from its first bytes.
    void hugeFileOfZeros()
    {
        const std::string p = path("zeros.gpurec");
        {
            std::ofstream f(p, std::ios::binary);
        }
        QVERIFY(::truncate(p.c_str(), off_t(1) << 30) == 0);
        try {
            read_recording(p);
            QFAIL("accepted");
        } catch (const GpulabError& e) {
            QCOMPARE(e.error.code, ErrorCode::RecordingBadMagic);
        }
    }

    // Snapshots come back bit for bit whatever they hold (NaN payloads, -0, denormals,
    // infinities, patterns whose difference wraps), stored against earlier ones or not; a
    // device's copy of the snapshot before it costs next to nothing.
    void snapshotsComeBackBitForBit()
    {
        std::mt19937 rng(7);
        auto bits = [](uint32_t u) { return std::bit_cast<float>(u); };
        Snapshot s0;
        s0.what = SnapshotWhat::Params;
        s0.tensor = "all";
        s0.names = {"W", "b"};
        s0.values = {std::vector<float>(3000), {bits(0x7fc12345), -0.0f, bits(1), INFINITY, bits(0xffffffff)}};
        for (float& f : s0.values[0])
            f = std::uniform_real_distribution<float>(-1, 1)(rng);
        Snapshot s1 = s0; // the other device, same parameters
        s1.device = 1;
        Snapshot s2 = s0; // a step later: small changes, and patterns that wrap around
        s2.batch = 10;
        for (float& f : s2.values[0])
            f += std::uniform_real_distribution<float>(-1e-3f, 1e-3f)(rng);
        s2.values[1] = {bits(0x00000001), 0.0f, bits(0xfffffffe), -INFINITY, bits(0x7f800001)};
        Snapshot s3 = s2;
        s3.batch = 20;
        for (float& f : s3.values[0])
            f -= std::uniform_real_distribution<float>(-1e-3f, 1e-3f)(rng);
        Snapshot grad; // another tensor in between
        grad.what = SnapshotWhat::GradBefore;
        grad.tensor = "b";
        grad.values = {{1.0f, 2.0f, bits(0x80000000)}};
        Snapshot resized = s3; // same names, other sizes: no reference fits
        resized.values[0].resize(10);
        const std::vector<Snapshot> all{s0, s1, grad, s2, s3, grad, resized, s3};

        auto write = [&](const std::string& p, size_t count) {
            RecordingWriter w(p, RecordingHeader::for_run(TrainConfig{}, "tst_record", {"cpu-sim(0)", "cpu-sim(1)"}));
            for (size_t i = 0; i < count; ++i) {
                const Snapshot& s = all[i];
                w.add(Event{.t_us = double(i + 1),
                            .device = s.device,
                            .data = ev::Snapshot{.index = int(i), .what = s.what, .epoch = s.epoch,
                                                 .batch = s.batch, .tensor = s.tensor}},
                      &s);
            }
            w.finish(RunStatus::Completed, Error{});
        };
        const std::string p = path("bits.gpurec");
        write(p, all.size());
        const Recording r = read_recording(p);
        QVERIFY(r.complete);
        QCOMPARE(r.snapshots.size(), all.size());
        for (size_t i = 0; i < all.size(); ++i)
            QVERIFY2(same_bits(*r.snapshots[i], all[i]), qPrintable(QString("snapshot %1").arg(i)));
        QCOMPARE(r.events.size(), all.size());
        for (size_t i = 0; i < all.size(); ++i)
            QCOMPARE(r.events[i].get<ev::Snapshot>()->index, int(i));

        // the copy on device 1: its 12 KiB of floats add under a tenth of that to the file
        const std::string one = path("one.gpurec"), two = path("two.gpurec");
        write(one, 1);
        write(two, 2);
        const auto grown = read_bytes(two).size() - read_bytes(one).size();
        QVERIFY2(grown < 3005 * 4 / 10, qPrintable(QString("the copy took %1 bytes").arg(grown)));
    }

    // Reading reports its progress up to the file's size, and stops when told to.
    void progressAndCancel()
    {
        std::vector<std::pair<uint64_t, uint64_t>> seen;
        const Recording r = read_recording(m_path, [&](uint64_t done, uint64_t total) {
            seen.emplace_back(done, total);
            return true;
        });
        QVERIFY(r.complete);
        QVERIFY(!seen.empty());
        for (size_t i = 0; i < seen.size(); ++i) {
            QCOMPARE(seen[i].second, uint64_t(m_bytes.size()));
            QVERIFY(seen[i].first <= seen[i].second);
            QVERIFY(i == 0 || seen[i].first > seen[i - 1].first);
        }
        QCOMPARE(seen.back().first, uint64_t(m_bytes.size()));
        int calls = 0;
        QVERIFY_THROWS_EXCEPTION(ReadCancelled, read_recording(m_path, [&](uint64_t, uint64_t) { return ++calls < 1; }));
        QCOMPARE(calls, 1); // stopped when told
        calls = 0;
        QVERIFY_THROWS_EXCEPTION(ReadCancelled, parse_recording(m_bytes.data(), m_bytes.size(), "t.gpurec",
                                                                [&](uint64_t, uint64_t) { return ++calls < 1; }));
    }

    // A file written in version 1 (events as the flat columns, snapshots as raw floats)
    // reads back as the same typed events and snapshots.
    void readsVersion1()
    {
        std::vector<std::pair<uint8_t, std::string>> records{{1, header_record("gpulab-cli")}};
        size_t snapshots = 0;
        for (const Event& e : m_run.events) {
            EventColumns c = event_columns(e);
            if (e.is<ev::Snapshot>()) {
                const Snapshot& s = *m_run.snapshots[snapshots];
                Bytes sp;
                snapshot_prefix(sp, s);
                for (const auto& v : s.values) {
                    sp.put<uint32_t>(static_cast<uint32_t>(v.size()));
                    sp.b.append(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(float));
                }
                records.push_back({3, sp.b});
                c.snapshot = int(snapshots++);
            }
            Bytes ep;
            ep.put<uint8_t>(static_cast<uint8_t>(e.kind()));
            ep.put<double>(c.t_us);
            ep.put<double>(c.t_end_us);
            for (int v : {c.device, c.epoch, c.batch, c.step, c.src, c.dst, c.chunk, c.snapshot})
                ep.put<int32_t>(v);
            ep.put<int64_t>(c.bytes);
            ep.put<int64_t>(c.in_use);
            ep.put<double>(c.value);
            ep.put<double>(c.value2);
            ep.put<double>(c.value3);
            ep.str(c.name);
            ep.str(c.text);
            ep.error(c.error);
            records.push_back({2, ep.b});
        }
        records.push_back({4, end_record("completed")});
        Recording r;
        QCOMPARE(verdict(file_of(1, records), &r), std::string("ok"));
        QCOMPARE(r.header.format, 1u);
        QCOMPARE(r.header.program, std::string("gpulab-cli"));
        QCOMPARE(r.header.devices.size(), size_t(2));
        QCOMPARE(r.events.size(), m_run.events.size());
        for (size_t i = 0; i < r.events.size(); ++i)
            QVERIFY2(same_event(r.events[i], m_run.events[i]), qPrintable(QString::number(i)));
        QCOMPARE(r.snapshots.size(), m_run.snapshots.size());
        for (size_t i = 0; i < r.snapshots.size(); ++i)
            QVERIFY(same_bits(*r.snapshots[i], *m_run.snapshots[i]));
    }

    // A file written in version 2 (before the fields of version 3) reads back as the same
    // events and snapshots, the added fields at their defaults.
    void readsVersion2()
    {
        std::vector<std::pair<uint8_t, std::string>> records{{1, header_record("gpulab-cli")}};
        size_t snapshots = 0;
        for (const Event& e : m_run.events) {
            int index = -1;
            if (e.is<ev::Snapshot>()) {
                records.push_back({3, snapshot_v2(*m_run.snapshots[snapshots])});
                index = int(snapshots++);
            }
            records.push_back({2, event_v2(e, index)});
        }
        records.push_back({4, end_record("completed")});
        Recording r;
        QCOMPARE(verdict(file_of(2, records), &r), std::string("ok"));
        QCOMPARE(r.header.format, 2u);
        QCOMPARE(r.events.size(), m_run.events.size());
        for (size_t i = 0; i < r.events.size(); ++i)
            QVERIFY2(same_event(r.events[i], m_run.events[i]), qPrintable(QString::number(i)));
        QCOMPARE(r.snapshots.size(), m_run.snapshots.size());
        for (size_t i = 0; i < r.snapshots.size(); ++i)
            QVERIFY(same_bits(*r.snapshots[i], *m_run.snapshots[i]));
        // the run had no link: nothing is marked modelled, everything is rank 0's
        int steps = 0;
        for (const Event& e : r.events) {
            if (const auto* step = e.get<ev::AllreduceStep>()) {
                ++steps;
                QVERIFY(!step->modelled && step->charged_bytes == 0 && step->stage == AllreduceStage::WithinRank);
            }
            if (const auto* begin = e.get<ev::RunBegin>())
                QVERIFY(begin->world == 1 && begin->device_ranks.empty());
        }
        QVERIFY(steps > 0);
    }

    // Before version 3 a step did not say it was modelled; the recorded settings do, and the
    // reader marks the steps of a run with a link (charged at its --link-params scale).
    void version2StepsOfALinkedRunAreModelled()
    {
        TrainConfig c;
        apply_settings_text(c, "devices=2 link=10gbe link_params=resnet50");
        const double scale = c.link_bytes_scale();
        QVERIFY(scale > 10);
        const Event step{.t_us = 5, .data = ev::AllreduceStep{.t_end_us = 9, .epoch = 1, .step = 0, .steps = 2,
                                                              .src = 1, .dst = 0, .bytes = 1000, .phase = "reduce"}};
        for (const bool linked : {true, false}) {
            const std::string settings = linked ? settings_to_text(c) : "devices=2";
            const std::vector<std::pair<uint8_t, std::string>> records{
                {1, header_with_settings(settings)}, {2, event_v2(step, -1)}, {4, end_record("completed")}};
            Recording r;
            QCOMPARE(verdict(file_of(2, records), &r), std::string("ok"));
            QCOMPARE(r.events.size(), size_t(1));
            const auto* x = r.events[0].get<ev::AllreduceStep>();
            QVERIFY(x);
            QCOMPARE(x->modelled, linked);
            QCOMPARE(x->charged_bytes, linked ? int64_t(std::llround(1000 * scale)) : int64_t(0));
        }
    }

    // The fields added in version 3 come back as written, and a value out of their range
    // is a damaged record.
    void version3FieldsComeBack()
    {
        const std::vector<Event> evs{
            {.t_us = 1,
             .data = ev::RunBegin{.settings = "4 x cpu-sim", .devices = 4, .world = 2, .device_ranks = {0, 0, 1, 1}}},
            {.t_us = 2,
             .data = ev::AllreduceStep{.t_end_us = 3, .epoch = 1, .step = 0, .steps = 1, .src = 1, .dst = 3,
                                       .bytes = 1000, .phase = "reduce", .modelled = true, .charged_bytes = 123456,
                                       .stage = AllreduceStage::AcrossRanks}},
            {.t_us = 4, .data = ev::AllreduceStep{.t_end_us = 5, .src = 0, .dst = 1, .bytes = 8, .phase = "broadcast"}},
        };
        const std::string p = path("v3.gpurec");
        {
            RecordingWriter w(p, RecordingHeader::for_run(TrainConfig{}, "tst_record", {"a", "b", "c", "d"}));
            for (const Event& e : evs)
                w.add(e);
            w.finish(RunStatus::Completed, Error{});
        }
        const Recording r = read_recording(p);
        QCOMPARE(r.header.format, kRecordingFormat); // the fields are the same in version 4
        QCOMPARE(r.events.size(), evs.size());
        for (size_t i = 0; i < evs.size(); ++i)
            QVERIFY2(r.events[i] == evs[i], qPrintable(QString::number(i)));
        QCOMPARE(r.events[0].get<ev::RunBegin>()->rank_of(2), 1);

        // the same bytes by hand are read the same; then one field at a time out of range
        auto verdict_of = [&](const Event& e) {
            return verdict(file_of(3, {{1, header_record("t")}, {2, event_v2(e, -1, true)}, {4, end_record("completed")}}));
        };
        QCOMPARE(verdict_of(evs[0]), std::string("ok"));
        QCOMPARE(verdict_of(evs[1]), std::string("ok"));
        auto begin = [&](int world, std::vector<int> ranks) {
            Event e = evs[0];
            e.get<ev::RunBegin>()->world = world;
            e.get<ev::RunBegin>()->device_ranks = std::move(ranks);
            return verdict_of(e);
        };
        QCOMPARE(begin(1, {}), std::string("ok"));
        QCOMPARE(begin(0, {}), std::string("recording_damaged"));          // no ranks at all
        QCOMPARE(begin(2, {0, 0, 1, 2}), std::string("recording_damaged")); // rank 2 of 2
        QCOMPARE(begin(2, {0, -1, 1, 1}), std::string("recording_damaged"));
        QCOMPARE(begin(2, {0, 1}), std::string("recording_damaged"));       // not one per device
        Event step = evs[1];
        step.get<ev::AllreduceStep>()->charged_bytes = -1;
        QCOMPARE(verdict_of(step), std::string("recording_damaged"));
        // a stage or a flag byte that is not 0 or 1
        for (const size_t from_end : {size_t(1), size_t(10)}) {
            std::string payload = event_v2(evs[1], -1, true);
            payload[payload.size() - from_end] = 2;
            QCOMPARE(verdict(file_of(3, {{1, header_record("t")}, {2, payload}, {4, end_record("completed")}})),
                     std::string("recording_damaged"));
        }
        // version 3's fields in a version 2 file: bytes left over, damaged
        QCOMPARE(verdict(file_of(2, {{1, header_record("t")}, {2, event_v2(evs[1], -1, true)}, {4, end_record("completed")}})),
                 std::string("recording_damaged"));
    }

    // A snapshot may only be stored against an earlier snapshot of its own shape.
    void snapshotReferencesAreChecked()
    {
        auto snapshot = [](int32_t ref1, int32_t ref2, uint32_t size) {
            Bytes s;
            s.put<uint8_t>(0);
            s.put<int32_t>(1);
            s.put<int32_t>(0);
            s.put<int32_t>(0);
            s.str("all");
            s.put<uint32_t>(0); // names
            s.put<uint32_t>(1); // one vector
            s.put<uint32_t>(size);
            s.put<int32_t>(ref1);
            s.put<int32_t>(ref2);
            s.b.append(4 * size, '\x01');
            return std::pair<uint8_t, std::string>{3, s.b};
        };
        auto verdict_of = [&](std::vector<std::pair<uint8_t, std::string>> snaps) {
            snaps.insert(snaps.begin(), {1, header_record("t")});
            snaps.push_back({4, end_record("completed")});
            return verdict(file_of(2, snaps));
        };
        QCOMPARE(verdict_of({snapshot(-1, -1, 4), snapshot(0, -1, 4), snapshot(1, 0, 4)}), std::string("ok"));
        QCOMPARE(verdict_of({snapshot(0, -1, 4)}), std::string("recording_damaged"));            // itself
        QCOMPARE(verdict_of({snapshot(-1, -1, 4), snapshot(1, -1, 4)}), std::string("recording_damaged")); // later
        QCOMPARE(verdict_of({snapshot(-1, -1, 4), snapshot(0, -1, 5)}), std::string("recording_damaged")); // size
        QCOMPARE(verdict_of({snapshot(-1, -1, 4), snapshot(-1, 0, 4)}), std::string("recording_damaged")); // ref2 alone
        QCOMPARE(verdict_of({snapshot(-1, -1, 4), snapshot(-7, -1, 4)}), std::string("recording_damaged"));
        // sizes that claim more floats than the record holds
        QCOMPARE(verdict_of({snapshot(-1, -1, 4), [&] {
                                 auto s = snapshot(-1, -1, 4);
                                 s.second.resize(s.second.size() - 1);
                                 return s;
                             }()}),
                 std::string("recording_damaged"));
    }


    // Versions 3 and 4 by hand: snapshots stored with no reference, against one (a copy)
    // and on a line through two, come back bit for bit; so do special floats.
    void predictedSnapshotsOfVersions3And4()
    {
        auto bits = [](uint32_t u) { return std::bit_cast<float>(u); };
        Snapshot s0;
        s0.tensor = "all";
        s0.names = {"W", "b"};
        s0.values = {std::vector<float>(500), {bits(0x7fc12345), -0.0f, bits(1), INFINITY, bits(0xffffffff)}};
        std::mt19937 rng(3);
        for (float& f : s0.values[0])
            f = std::normal_distribution<float>(0, 0.01f)(rng);
        Snapshot s1 = s0, s2 = s0;
        s1.batch = 10;
        s2.batch = 20;
        for (size_t i = 0; i < s0.values[0].size(); ++i) {
            s1.values[0][i] = s0.values[0][i] + std::normal_distribution<float>(0, 1e-4f)(rng);
            s2.values[0][i] = s1.values[0][i] + std::normal_distribution<float>(0, 1e-4f)(rng);
        }
        s1.values[1] = {bits(0x00000001), 0.0f, bits(0xfffffffe), -INFINITY, bits(0x7f800001)};
        s2.values[1] = {bits(0x80000000), bits(0x7fffffff), bits(0x00800000), 1.0f, bits(0xff800000)};
        for (uint32_t version : {3u, 4u}) {
            const std::vector<uint8_t> f =
                file_of(version, {{1, header_record("t")},
                                  {3, snapshot_with_refs(version, s0, -1, nullptr, -1, nullptr)},
                                  {3, snapshot_with_refs(version, s1, 0, &s0, -1, nullptr)},
                                  {3, snapshot_with_refs(version, s2, 1, &s1, 0, &s0)},
                                  {3, snapshot_with_refs(version, s2, 2, &s2, -1, nullptr)},
                                  {4, end_record("completed")}});
            Recording r;
            QCOMPARE(verdict(f, &r), std::string("ok"));
            QCOMPARE(r.header.format, version);
            QCOMPARE(r.snapshots.size(), size_t(4));
            int i = 0;
            for (const Snapshot* want : {&s0, &s1, &s2, &s2})
                QVERIFY2(same_bits(*r.snapshots[size_t(i++)], *want), qPrintable(QStringLiteral("v%1 snapshot %2").arg(version).arg(i)));
        }
    }

    // Version 4's coded residuals: a count the coded bytes cannot hold is refused before
    // anything is sized by it; coded bytes cut short, or not the coder's, are damaged.
    void codedResidualsAreChecked()
    {
        Snapshot s;
        s.tensor = "b1";
        s.what = SnapshotWhat::GradBefore;
        s.values = {std::vector<float>(1000, 0.0f)};
        const std::string good = snapshot_with_refs(4, s, -1, nullptr, -1, nullptr);
        auto verdict_of = [&](const std::string& snap) {
            return verdict(file_of(4, {{1, header_record("t")}, {3, snap}, {4, end_record("completed")}}));
        };
        QCOMPARE(verdict_of(good), std::string("ok"));
        // 1000 zeros code into a few bytes; a billion would need far more than are here
        std::string huge = good;
        Bytes prefix; // the vector's size follows the common start
        prefix.b.reserve(64);
        snapshot_prefix(prefix, s);
        uint32_t billion = 1000000000u;
        std::memcpy(huge.data() + prefix.b.size(), &billion, 4);
        QCOMPARE(verdict_of(huge), std::string("recording_damaged"));
        // cut: the coding runs past its bytes
        for (size_t cut : {size_t(1), size_t(3), good.size() - prefix.b.size() - 12}) {
            std::string s2 = good.substr(0, good.size() - cut);
            QCOMPARE(verdict_of(s2), std::string("recording_damaged"));
        }
        // a first coded byte that the coder never writes
        std::string bad = good;
        bad[prefix.b.size() + 4 + 8 + 4] = 1; // after the size, the references and the length
        QCOMPARE(verdict_of(bad), std::string("recording_damaged"));
        // the coder alone: every value comes back; one byte short does not decode
        std::vector<uint32_t> z{0, 1, 2, 3, 0xffffffffu, 0x80000000u, 12345, 0, 0, 7};
        std::vector<uint8_t> hints{kHintNoLine, 0, 32, 5, 33, 1, 2, 3, 4, 0};
        const std::string coded = encode_residuals(z.data(), hints.data(), z.size());
        std::vector<uint32_t> back(z.size());
        QVERIFY(decode_residuals(reinterpret_cast<const uint8_t*>(coded.data()), coded.size(), hints.data(), z.size(), back.data()));
        QVERIFY(back == z);
        QVERIFY(!decode_residuals(reinterpret_cast<const uint8_t*>(coded.data()), coded.size() - 1, hints.data(), z.size(), back.data()));
        QVERIFY(max_residuals_in(coded.size()) >= z.size());
    }

    // A run killed in the middle of writing a snapshot: what was flushed before it reads
    // back exactly, as incomplete; the cut snapshot is not there.
    void aCutInsideASnapshotReadsAsIncomplete()
    {
        const std::string p = path("cut-snapshot.gpurec");
        RecordingWriter w(p, RecordingHeader::for_run(m_run.config, "tst_record", {"cpu-sim(0)"}));
        std::vector<size_t> sizes; // the file's size after each snapshot's event was flushed
        size_t snapshots = 0;
        for (const Event& e : m_run.events) {
            const Snapshot* s = nullptr;
            if (e.is<ev::Snapshot>())
                s = m_run.snapshots[snapshots++].get();
            w.add(e, s);
            if (s) {
                w.flush();
                sizes.push_back(read_bytes(p).size());
            }
        }
        QVERIFY(sizes.size() >= 4);
        const std::vector<uint8_t> all = read_bytes(p);
        for (size_t k = 1; k + 1 < sizes.size(); k += std::max<size_t>(1, sizes.size() / 6)) {
            // halfway through snapshot k + 1's bytes (written between two flushes)
            const size_t cut = sizes[k] + (sizes[k + 1] - sizes[k]) / 2;
            Recording r;
            QCOMPARE(verdict(std::vector<uint8_t>(all.begin(), all.begin() + std::ptrdiff_t(cut)), &r), std::string("incomplete"));
            QVERIFY2(r.snapshots.size() == k + 1, qPrintable(QStringLiteral("cut %1: %2 snapshots").arg(cut).arg(r.snapshots.size())));
            for (size_t i = 0; i < r.snapshots.size(); ++i)
                QVERIFY(r.snapshots[i]->values == m_run.snapshots[i]->values);
        }
    }

    // A record that claims more than any record may hold is refused before anything is
    // allocated for it; one that claims less than the maximum but never arrives leaves
    // the recording incomplete, without a buffer of the claimed size.
    void lengthFieldsAreNotTrusted()
    {
        auto file_with_record = [](uint8_t type, uint32_t len, const std::string& payload) {
            std::vector<uint8_t> f = {'G', 'P', 'U', 'L', 'A', 'B', 'R', 'C', 1, 0, 0, 0};
            const uint32_t c = static_cast<uint32_t>(crc32(0, f.data(), 12));
            f.insert(f.end(), reinterpret_cast<const uint8_t*>(&c), reinterpret_cast<const uint8_t*>(&c) + 4);
            std::vector<uint8_t> rec = {type};
            rec.insert(rec.end(), reinterpret_cast<const uint8_t*>(&len), reinterpret_cast<const uint8_t*>(&len) + 4);
            const uint16_t h = static_cast<uint16_t>(crc32(0, rec.data(), 5));
            rec.insert(rec.end(), reinterpret_cast<const uint8_t*>(&h), reinterpret_cast<const uint8_t*>(&h) + 2);
            rec.insert(rec.end(), payload.begin(), payload.end());
            std::vector<uint8_t> z(compressBound(static_cast<uLong>(rec.size())) + 16);
            uLongf zn = static_cast<uLongf>(z.size());
            compress(z.data(), &zn, rec.data(), static_cast<uLong>(rec.size()));
            z.resize(zn);
            f.insert(f.end(), z.begin(), z.end());
            return f;
        };
        Recording r;
        QCOMPARE(verdict(file_with_record(1, 0xfffffff0u, "x"), &r), std::string("recording_bad_record"));
        // a header record of 60 MiB announced, 3 bytes present, the stream ends: damaged
        QCOMPARE(verdict(file_with_record(1, 60u << 20, "abc"), &r), std::string("recording_damaged"));
    }
};

QTEST_GUILESS_MAIN(TestRecord)
#include "tst_record.moc"
