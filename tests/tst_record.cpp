// Run recordings: a run's events and snapshots come back exactly; a prefix (what a crash
// leaves) reads as incomplete; every kind of bad file is refused with one coded error that
// names the file, and no cut or flipped byte crashes the reader or passes unnoticed.
#include "data/synthetic.h"
#include "record/recording.h"
#include "support/file_bytes.h"
#include "trace/event_stream.h"
#include "train/settings.h"
#include "train/trainer.h"

#include <QtTest>

#include <QTemporaryDir>

#include <zlib.h>

#include <cstring>
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
            // a well-formed header of format 2: a newer gpulab's
            QByteArray h("GPULABRC\x02\0\0\0", 12);
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
