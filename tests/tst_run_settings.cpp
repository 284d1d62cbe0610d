// The settings table and the one validation: every setting round-trips through its text,
// defaults are allowed, each refusal names its setting and says what would work, and
// core's errors fill their templates from their facts.
#include "data/fashion_mnist.h"
#include "data/idx.h"
#include "error/error.h"
#include "train/settings.h"

#include <QtTest>

#include <QTemporaryDir>

#include <set>

using namespace gpulab;

class TestRunSettings : public QObject {
    Q_OBJECT

private slots:
    void tableIsWellFormed()
    {
        std::set<std::string> names, flags;
        for (const SettingSpec& s : run_settings()) {
            QVERIFY2(names.insert(s.name).second, s.name);
            QVERIFY2(flags.insert(s.flag).second, s.flag);
            QVERIFY(std::string(s.flag).rfind("--", 0) == 0);
            QVERIFY(s.get && s.set);
            QVERIFY(std::string(s.help).size() > 5);
            QVERIFY(std::string(s.label).size() > 2);
            if (s.type == SettingType::Choice)
                QVERIFY(!s.choices.empty());
            else
                QVERIFY2(s.number && s.min <= s.max, s.name);
            QCOMPARE(find_setting(s.name), &s);
            QCOMPARE(find_setting(s.flag), &s);
        }
        QVERIFY(find_setting("--threads-per-device"));
        QVERIFY(find_setting("backend"));
        QVERIFY(!find_setting("--gpus"));
    }

    void defaultsRun()
    {
        QVERIFY(check(TrainConfig{}).empty());
    }

    void textRoundTrip()
    {
        TrainConfig c;
        c.backend = Backend::Auto;
        c.devices = 3;
        c.batch_size = 96;
        c.lr = 0.125;
        c.epochs = 2;
        c.mode = ExecMode::Bounded;
        c.inflight = 5;
        c.allreduce = AllreduceKind::Ring;
        c.seed = 12345678901ull;
        c.train_subset = 3000;
        c.test_subset = 700;
        c.memory_budget = int64_t(384) << 20;
        c.threads_per_device = 2;
        c.data = DataPlacement::Host;
        c.engine = EngineKind::Sync;
        c.snapshot_interval = 7;
        c.link = parse_link("custom:2000,0.05");
        c.link_params = 50000000;
        const std::string text = settings_to_text(c);
        TrainConfig d;
        apply_settings_text(d, text);
        QCOMPARE(settings_to_text(d), text);
        QCOMPARE(d.seed, c.seed);
        QCOMPARE(d.memory_budget, c.memory_budget);
        QCOMPARE(d.lr, c.lr);
        QCOMPARE(d.engine, EngineKind::Sync);
        QVERIFY(text.find("memory_budget=384MiB") != std::string::npos);
        // each setting alone, by name, changes only itself
        for (const SettingSpec& s : run_settings()) {
            TrainConfig e;
            apply_settings_text(e, std::string(s.name) + "=" + s.get(c));
            QCOMPARE(s.get(e), s.get(c));
        }
    }

    void badTextIsRefusedWithItsCode_data()
    {
        QTest::addColumn<QString>("flag");
        QTest::addColumn<QString>("value");
        QTest::addColumn<int>("code");
        QTest::newRow("lr text") << "--lr" << "fast" << int(ErrorCode::SettingNotNumber);
        QTest::newRow("epochs text") << "--epochs" << "two" << int(ErrorCode::SettingNotWholeNumber);
        QTest::newRow("devices 1.5") << "--devices" << "1.5" << int(ErrorCode::SettingNotWholeNumber);
        QTest::newRow("mode") << "--mode" << "turbo" << int(ErrorCode::SettingUnknownChoice);
        QTest::newRow("backend") << "--backend" << "tpu" << int(ErrorCode::SettingUnknownChoice);
        QTest::newRow("budget") << "--memory-budget" << "lots" << int(ErrorCode::SettingBadSize);
        QTest::newRow("link") << "--link" << "token-ring" << int(ErrorCode::SettingUnknownChoice);
        QTest::newRow("link custom") << "--link" << "custom:5" << int(ErrorCode::SettingUnknownChoice);
        QTest::newRow("seed negative") << "--seed" << "-3" << int(ErrorCode::SettingOutOfRange);
    }
    void badTextIsRefusedWithItsCode()
    {
        QFETCH(QString, flag);
        QFETCH(QString, value);
        QFETCH(int, code);
        const SettingSpec* s = find_setting(flag.toStdString());
        QVERIFY(s);
        TrainConfig c;
        try {
            s->set(c, value.toStdString());
            QFAIL("accepted");
        } catch (const GpulabError& e) {
            QCOMPARE(int(e.error.code), code);
            QVERIFY2(english(e.error).find(flag.toStdString()) != std::string::npos, e.what());
            QVERIFY2(english(e.error).find(value.toStdString()) != std::string::npos, e.what());
            QVERIFY(english(e.error).find('{') == std::string::npos); // every fact filled
        }
    }

    void checkNamesTheSettingAndWhatWorks_data()
    {
        QTest::addColumn<QString>("text");
        QTest::addColumn<QString>("setting");
        QTest::addColumn<int>("code");
        QTest::addColumn<QString>("needle");
        QTest::newRow("0 devices") << "devices=0" << "devices" << int(ErrorCode::SettingOutOfRange)
                                   << "devices must be between 1 and 64 (--devices, got 0)";
        QTest::newRow("batch < devices") << "devices=4 batch_size=2" << "batch_size" << int(ErrorCode::BatchBelowDevices)
                                         << "smaller than the number of devices (4)";
        QTest::newRow("lr nan") << "lr=nan" << "lr" << int(ErrorCode::SettingOutOfRange) << "learning rate";
        QTest::newRow("budget") << "memory_budget=1000" << "memory_budget" << int(ErrorCode::SettingOutOfRange)
                                << "between 1MiB and 1TiB";
        QTest::newRow("k=0 bounded") << "mode=bounded inflight=0" << "inflight" << int(ErrorCode::SettingOutOfRange)
                                     << "--inflight";
        QTest::newRow("subset < devices") << "devices=4 subset=3" << "subset" << int(ErrorCode::SubsetBelowDevices)
                                          << "at least the number of devices (4)";
        QTest::newRow("batch < ranks x devices") << "ranks=4 devices=2 batch_size=6" << "batch_size"
                                                 << int(ErrorCode::BatchBelowDevices)
                                                 << "smaller than the number of devices (8)";
        QTest::newRow("ranks on cuda") << "ranks=2 backend=cuda" << "ranks" << int(ErrorCode::LabRanksNeedCpu)
                                       << "simulated CPU devices only";
        QTest::newRow("ranks 9") << "ranks=9" << "ranks" << int(ErrorCode::SettingOutOfRange)
                                 << "ranks must be between 1 and 8 (--ranks, got 9)";
        QTest::newRow("nccl on cpu") << "allreduce=nccl backend=cpu" << "allreduce" << int(ErrorCode::NcclNeedsCuda)
                                     << "use naive or ring";
        QTest::newRow("threads") << "threads_per_device=0" << "threads_per_device" << int(ErrorCode::SettingOutOfRange)
                                 << "threads per device";
    }
    void checkNamesTheSettingAndWhatWorks()
    {
        QFETCH(QString, text);
        QFETCH(QString, setting);
        QFETCH(int, code);
        QFETCH(QString, needle);
        TrainConfig c;
        apply_settings_text(c, text.toStdString());
        const Error e = check_first(c);
        QCOMPARE(int(e.code), code);
        QCOMPARE(QString::fromStdString(e.fact("setting")), setting);
        const QString msg = QString::fromStdString(english(e));
        QVERIFY2(msg.contains(needle), qPrintable(msg));
        QCOMPARE(QString::fromStdString(validate(c)), msg);
    }

    void inflightOnlyMattersInBoundedMode()
    {
        TrainConfig c;
        c.inflight = 0;
        QVERIFY(check(c).empty());
        c.mode = ExecMode::Bounded;
        QCOMPARE(check(c).size(), size_t(1));
    }

    void everyCodeHasAFilledTemplate()
    {
        for (ErrorCode code : all_error_codes()) {
            QVERIFY2(std::string(error_template(code)).size() > 3, error_code_name(code));
            QVERIFY(std::string(error_code_name(code)) != "none");
        }
        const Error e(ErrorCode::OutOfMemory,
                      {{"device", "cpu-sim(1)"}, {"requested", "3.0 MiB"}, {"in_use", "20.0 MiB"}, {"budget", "24.0 MiB"}});
        QCOMPARE(QString::fromStdString(english(e)),
                 QStringLiteral("out of memory on cpu-sim(1): requested 3.0 MiB with 20.0 MiB of 24.0 MiB in use. "
                                "Use sync or bounded mode, a smaller batch, or a larger memory budget."));
    }

    void dataErrorsCarryCodeAndFile()
    {
        QTemporaryDir dir;
        try {
            load_fashion_mnist(dir.path().toStdString());
            QFAIL("loaded an empty folder");
        } catch (const DataError& e) {
            QCOMPARE(e.error.code, ErrorCode::DatasetMissing);
            QVERIFY(e.error.fact("file").find("train-images") != std::string::npos);
            QVERIFY(std::string(e.what()).find("dataset-fashion-mnist") != std::string::npos);
        }
        try {
            parse_idx({0x12, 0x34, 0x08, 0x01}, "x.idx");
            QFAIL("parsed bad magic");
        } catch (const DataError& e) {
            QCOMPARE(e.error.code, ErrorCode::IdxBadMagic);
            QCOMPARE(e.error.fact("file"), std::string("x.idx"));
            QCOMPARE(std::string(e.what()),
                     std::string("x.idx: not an IDX file (bad magic 0x12 0x34, expected 0x00 0x00) and not gzip either"));
        }
    }
};

QTEST_GUILESS_MAIN(TestRunSettings)
#include "tst_run_settings.moc"
