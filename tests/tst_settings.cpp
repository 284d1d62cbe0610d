// The lab's settings between sessions: what a teacher set comes back in the next session;
// a damaged, foreign or newer settings file is set aside and replaced, never fatal.
#include "control_panel.h"
#include "lab_settings.h"
#include "lab_view.h"
#include "main_window.h"
#include "rank/rank_group.h"

#include <QComboBox>
#include <QFile>
#include <QLabel>
#include <QPushButton>
#include <QSignalSpy>
#include <QRegularExpression>
#include <QScopeGuard>
#include <QSettings>
#include <QTabWidget>
#include <QTemporaryDir>
#include <QTranslator>
#include <QtTest>

using namespace gpulab;

class TestSettings : public QObject {
    Q_OBJECT

    static QString currentView(MainWindow& w)
    {
        auto* tabs = w.findChild<QTabWidget*>(QStringLiteral("viewTabs"));
        auto* v = tabs ? qobject_cast<LabView*>(tabs->currentWidget()) : nullptr;
        return v ? v->viewId() : QString();
    }
    static QString preset(MainWindow& w)
    {
        return w.panel()->findChild<QComboBox*>(QStringLiteral("presetCombo"))->currentData().toString();
    }
    static void write(const QString& path, const QByteArray& bytes)
    {
        QFile f(path);
        QVERIFY(f.open(QIODevice::WriteOnly | QIODevice::Truncate));
        f.write(bytes);
    }

private slots:
    void presetViewLayoutAndLanguageComeBack()
    {
        QTemporaryDir dir;
        const QString path = dir.filePath(QStringLiteral("gpulab.conf"));
        QSize size;
        {
            MainWindow w;
            QVERIFY(w.restoreSettings(path)); // no file yet: the defaults
            QVERIFY(w.panel()->applyPreset(QStringLiteral("ring-4")));
            QVERIFY(w.showView(QStringLiteral("memory")));
            w.resize(1444, 888);
            w.setLanguage(QStringLiteral("zh_CN"));
            w.show();
            QVERIFY(QTest::qWaitForWindowExposed(&w));
            size = w.size();
            QVERIFY(size != MainWindow().size());
            w.close(); // saves
        }
        QVERIFY(QFile::exists(path));
        QCOMPARE(savedLanguage(path), QStringLiteral("zh_CN"));
        MainWindow w;
        QString note;
        QVERIFY2(w.restoreSettings(path, &note), qPrintable(note));
        QCOMPARE(preset(w), QStringLiteral("ring-4"));
        QCOMPARE(w.panel()->config().devices, 4);
        QCOMPARE(w.panel()->config().allreduce, AllreduceKind::Ring);
        QCOMPARE(currentView(w), QStringLiteral("memory"));
        QCOMPARE(w.size(), size);
    }

    void customSettingsComeBack()
    {
        QTemporaryDir dir;
        const QString path = dir.filePath(QStringLiteral("gpulab.conf"));
        TrainConfig c;
        {
            MainWindow w;
            QVERIFY(w.restoreSettings(path));
            c = w.panel()->config();
            c.devices = 3;
            c.ranks = 2;
            c.batch_size = 300;
            c.lr = 0.35;
            c.epochs = 2;
            c.mode = ExecMode::Bounded;
            c.inflight = 3;
            c.seed = 42;
            w.panel()->setConfig(c);
            w.panel()->setDataDir(dir.path()); // no dataset there: the panel says so, no matter
            QVERIFY(w.saveSettings());
        }
        MainWindow w;
        QVERIFY(w.restoreSettings(path));
        const TrainConfig r = w.panel()->config();
        QCOMPARE(preset(w), QString());
        QCOMPARE(r.devices, 3);
        QCOMPARE(r.ranks, ranks_available() ? 2 : 1); // without Gloo: 1 rank, the rest kept
        QCOMPARE(r.batch_size, int64_t(300));
        QCOMPARE(r.lr, 0.35);
        QCOMPARE(r.epochs, 2);
        QCOMPARE(r.mode, ExecMode::Bounded);
        QCOMPARE(r.inflight, 3);
        QCOMPARE(r.seed, uint64_t(42));
        QCOMPARE(w.panel()->dataDir(), dir.path());
    }

    // The modelled link and what it charges for come back like the other run settings: a
    // named link and a custom one.
    void linkChoicesComeBack_data()
    {
        QTest::addColumn<QString>("link");
        QTest::addColumn<QString>("params");
        QTest::newRow("named") << QStringLiteral("pcie4") << QStringLiteral("resnet50");
        QTest::newRow("custom") << QStringLiteral("custom:200,1") << QStringLiteral("50000000");
    }
    void linkChoicesComeBack()
    {
        QFETCH(QString, link);
        QFETCH(QString, params);
        QTemporaryDir dir;
        const QString path = dir.filePath(QStringLiteral("gpulab.conf"));
        {
            MainWindow w;
            QVERIFY(w.restoreSettings(path));
            TrainConfig c = w.panel()->config();
            c.devices = 2;
            c.link = parse_link(link.toStdString());
            c.link_params = parse_link_params(params.toStdString());
            w.panel()->setConfig(c);
            QCOMPARE(w.panel()->config().link.name, link.toStdString());
            QVERIFY(w.saveSettings());
        }
        MainWindow w;
        QString note;
        QVERIFY2(w.restoreSettings(path, &note), qPrintable(note));
        const TrainConfig r = w.panel()->config();
        QCOMPARE(r.devices, 2);
        QCOMPARE(QString::fromStdString(r.link.name), link);
        QCOMPARE(r.link_params, parse_link_params(params.toStdString()));
        QCOMPARE(w.panel()->findChild<QComboBox*>(QStringLiteral("linkCombo"))->currentText(), link);
    }

    // A custom link written by hand, without the quotes QSettings writes around a comma
    void handWrittenCustomLinkReads()
    {
        QTemporaryDir dir;
        const QString path = dir.filePath(QStringLiteral("gpulab.conf"));
        write(path, "[General]\nversion=1\n[run]\ndevices=2\nlink=custom:200,1\nlink_params=gpt2-small\n");
        MainWindow w;
        QString note;
        QVERIFY2(w.restoreSettings(path, &note), qPrintable(note));
        QCOMPARE(w.panel()->config().link.name, std::string("custom:200,1"));
        QCOMPARE(w.panel()->config().link_params, parse_link_params("gpt2-small"));
    }

    // A job of ranks saved by a build with Gloo, read by one without: 1 rank, every other
    // setting kept, and the message bar says why; the file is not set aside.
    void ranksWithoutGlooStartWithOneRank()
    {
        setLabRanksAvailableForTesting([] { return false; });
        auto restore = qScopeGuard([] { setLabRanksAvailableForTesting({}); });
        QTemporaryDir dir;
        const QString path = dir.filePath(QStringLiteral("gpulab.conf"));
        write(path, "[General]\nversion=1\n[run]\nbackend=cpu\ndevices=3\nranks=2\nbatch_size=300\nlr=0.35\n"
                    "epochs=2\nmode=bounded\ninflight=3\nallreduce=ring\nlink=pcie4\nseed=42\n");
        MainWindow w;
        QString note;
        QVERIFY2(w.restoreSettings(path, &note), qPrintable(note));
        QVERIFY(QFile::exists(path));
        QVERIFY(!QFile::exists(path + QStringLiteral(".damaged")));
        const TrainConfig r = w.panel()->config();
        QCOMPARE(r.ranks, 1);
        QCOMPARE(r.devices, 3);
        QCOMPARE(r.batch_size, int64_t(300));
        QCOMPARE(r.lr, 0.35);
        QCOMPARE(r.epochs, 2);
        QCOMPARE(r.mode, ExecMode::Bounded);
        QCOMPARE(r.inflight, 3);
        QCOMPARE(r.allreduce, AllreduceKind::Ring);
        QCOMPARE(r.link.name, std::string("pcie4"));
        QCOMPARE(r.seed, uint64_t(42));
        const QString message = w.statusMessage();
        QVERIFY2(message.contains(QStringLiteral("2 ranks")) && message.contains(QStringLiteral("without Gloo")) &&
                     message.contains(QStringLiteral("1 rank")),
                 qPrintable(message));
        // ranks out of range are a damaged file, Gloo or not
        const QString impossible = dir.filePath(QStringLiteral("impossible.conf"));
        write(impossible, "[General]\nversion=1\n[run]\ndevices=2\nranks=99\n");
        MainWindow damaged;
        QVERIFY(!damaged.restoreSettings(impossible));
        QVERIFY(QFile::exists(impossible + QStringLiteral(".damaged")));
#ifdef GPULAB_HAVE_TRANSLATIONS
        // in 简体中文 too
        QTranslator zh;
        QVERIFY(zh.load(QLocale(QLocale::Chinese, QLocale::China), QStringLiteral("gpulab"), QStringLiteral("_"),
                        QStringLiteral(":/i18n")));
        QCoreApplication::installTranslator(&zh);
        auto untranslate = qScopeGuard([&] { QCoreApplication::removeTranslator(&zh); });
        MainWindow zhWindow;
        QVERIFY(zhWindow.restoreSettings(path));
        const QString zhMessage = zhWindow.statusMessage();
        static const QRegularExpression han(QStringLiteral("[\\x{4e00}-\\x{9fff}]"));
        QVERIFY2(zhMessage.contains(han) && zhMessage.contains(QStringLiteral("Gloo")) &&
                     zhMessage.contains(QLatin1Char('2')),
                 qPrintable(zhMessage));
#endif
    }

    // Settings that cannot run together, as the panel can hold them when the window closes:
    // they come back as they were with the rest of the file, the panel explains why under the
    // controls, Start refuses, and the file is kept (and saved back as it was).
    void invalidCombinationComesBackAsItWas_data()
    {
        QTest::addColumn<QByteArray>("run");
        QTest::addColumn<QString>("why"); // in the panel's explanation
        QTest::newRow("batch below devices")
            << QByteArray("devices=4\nbatch_size=2\nlr=0.2\nmode=sync\ninflight=2\n")
            << QStringLiteral("smaller than the number of devices");
        QTest::newRow("bounded, k = 0") << QByteArray("devices=2\nbatch_size=256\nlr=0.2\nmode=bounded\ninflight=0\n")
                                        << QStringLiteral("bounded");
        QTest::newRow("learning rate 0") << QByteArray("devices=2\nbatch_size=256\nlr=0\nmode=async\ninflight=2\n")
                                         << QStringLiteral("learning rate");
    }
    void invalidCombinationComesBackAsItWas()
    {
        QFETCH(QByteArray, run);
        QFETCH(QString, why);
        QTemporaryDir dir;
        const QString path = dir.filePath(QStringLiteral("gpulab.conf"));
        write(path, "[General]\nversion=1\n[run]\nbackend=cpu\nepochs=3\nseed=7\nsubset=640\nmemory_budget=536870912\n" +
                        run + "[data]\nsource=synthetic\ndir=" + dir.path().toUtf8() +
                        "\n[window]\nview=memory\n[ui]\nlanguage=en\n");
        QSettings written(path, QSettings::IniFormat);
        MainWindow w;
        QString note;
        QVERIFY2(w.restoreSettings(path, &note), qPrintable(note));
        QVERIFY(QFile::exists(path));
        QVERIFY(!QFile::exists(path + QStringLiteral(".damaged")));
        QVERIFY(!w.statusMessage().contains(QStringLiteral("could not be read")));
        QCOMPARE(savedLanguage(path), QStringLiteral("en"));
        // every value as it was
        const TrainConfig r = w.panel()->config();
        QCOMPARE(r.devices, written.value(QStringLiteral("run/devices")).toInt());
        QCOMPARE(r.batch_size, written.value(QStringLiteral("run/batch_size")).toLongLong());
        QCOMPARE(r.lr, written.value(QStringLiteral("run/lr")).toDouble());
        QCOMPARE(QString::fromLatin1(exec_mode_name(r.mode)), written.value(QStringLiteral("run/mode")).toString());
        QCOMPARE(r.inflight, written.value(QStringLiteral("run/inflight")).toInt());
        QCOMPARE(r.epochs, 3);
        QCOMPARE(r.seed, uint64_t(7));
        QCOMPARE(r.train_subset, int64_t(640));
        QCOMPARE(r.memory_budget, int64_t(512) << 20);
        QCOMPARE(w.panel()->dataSource(), DatasetLoader::Source::Synthetic);
        QCOMPARE(w.panel()->dataDir(), dir.path());
        QCOMPARE(currentView(w), QStringLiteral("memory"));
        QVERIFY(!validate(r).empty());
        // the panel's usual explanation, once the data is in; Start refuses
        w.show();
        QVERIFY(QTest::qWaitForWindowExposed(&w));
        auto* label = w.panel()->findChild<QLabel*>(QStringLiteral("validationLabel"));
        auto* start = w.panel()->findChild<QPushButton*>(QStringLiteral("startButton"));
        QVERIFY(label && start);
        QTRY_VERIFY_WITH_TIMEOUT(label->isVisible() && label->text().contains(why), 60000);
        QCOMPARE(label->text(), w.panel()->problem());
        QVERIFY(!start->isEnabled());
        QSignalSpy started(&w, &MainWindow::runStarted);
        QTest::mouseClick(start, Qt::LeftButton);
        QCOMPARE(started.count(), 0);
        // closing saves it as it is; the next start reads it back the same
        w.close();
        MainWindow again;
        QVERIFY2(again.restoreSettings(path, &note), qPrintable(note));
        QVERIFY(!QFile::exists(path + QStringLiteral(".damaged")));
        const TrainConfig a = again.panel()->config();
        QCOMPARE(a.devices, r.devices);
        QCOMPARE(a.batch_size, r.batch_size);
        QCOMPARE(a.lr, r.lr);
        QCOMPARE(a.mode, r.mode);
        QCOMPARE(a.inflight, r.inflight);
        QCOMPARE(validate(a), validate(r));
    }

    // A run value its control cannot hold sets the file aside, and the run settings start from
    // their defaults; what did read (the data, the view) is kept, and the status bar says so,
    // in 简体中文 too.
    void badRunValueKeepsTheRest()
    {
        QTemporaryDir dir;
        const QString path = dir.filePath(QStringLiteral("gpulab.conf"));
        const QByteArray bytes = "[General]\nversion=1\n[run]\ndevices=9\nbatch_size=300\n[data]\nsource=synthetic\ndir=" +
                                 dir.path().toUtf8() + "\n[window]\nview=memory\n";
        write(path, bytes);
        const TrainConfig defaults = MainWindow().panel()->config();
        MainWindow w;
        QString note;
        QVERIFY(!w.restoreSettings(path, &note));
        QVERIFY(QFile::exists(path + QStringLiteral(".damaged")));
        QCOMPARE(w.panel()->config().devices, defaults.devices);
        QCOMPARE(w.panel()->config().batch_size, defaults.batch_size);
        QCOMPARE(w.panel()->dataSource(), DatasetLoader::Source::Synthetic);
        QCOMPARE(w.panel()->dataDir(), dir.path());
        QCOMPARE(currentView(w), QStringLiteral("memory"));
        for (const QString& said : {note, w.statusMessage()})
            QVERIFY2(said.contains(QStringLiteral("run/devices = \"9\"")) && said.contains(QStringLiteral("1 to 8")) &&
                         said.contains(QStringLiteral("run settings start from their defaults")),
                     qPrintable(said));
#ifdef GPULAB_HAVE_TRANSLATIONS
        QTranslator zh;
        QVERIFY(zh.load(QLocale(QLocale::Chinese, QLocale::China), QStringLiteral("gpulab"), QStringLiteral("_"),
                        QStringLiteral(":/i18n")));
        QCoreApplication::installTranslator(&zh);
        auto untranslate = qScopeGuard([&] { QCoreApplication::removeTranslator(&zh); });
        write(path, bytes);
        MainWindow zhWindow;
        QVERIFY(!zhWindow.restoreSettings(path));
        const QString zhMessage = zhWindow.statusMessage();
        static const QRegularExpression han(QStringLiteral("[\\x{4e00}-\\x{9fff}]"));
        QVERIFY2(zhMessage.contains(han) && zhMessage.contains(QStringLiteral("run/devices")) &&
                     !zhMessage.contains(QStringLiteral("could not be read")) &&
                     !zhMessage.contains(QStringLiteral("run settings")),
                 qPrintable(zhMessage));
#endif
    }

    void damagedFileIsSetAsideAndReplaced_data()
    {
        QTest::addColumn<QByteArray>("bytes");
        QTest::addColumn<QString>("why"); // what the note and the status bar name
        QTest::newRow("garbage") << QByteArray("\x00\xff\x13[[[=\n\xfe\xfe garbage", 20) << QString();
        QTest::newRow("not ours") << QByteArray("[General]\nfoo=bar\n") << QStringLiteral("no version");
        QTest::newRow("newer version") << QByteArray("[General]\nversion=99\n") << QStringLiteral("newer");
        QTest::newRow("bad value") << QByteArray("[General]\nversion=1\n[run]\ndevices=banana\nbatch_size=256\n")
                                   << QStringLiteral("run/devices");
        QTest::newRow("impossible value") << QByteArray("[General]\nversion=1\n[run]\ndevices=0\n")
                                          << QStringLiteral("run/devices");
        QTest::newRow("unknown link") << QByteArray("[General]\nversion=1\n[run]\ndevices=2\nlink=warp-drive\n")
                                      << QStringLiteral("run/link");
        QTest::newRow("bad custom link") << QByteArray("[General]\nversion=1\n[run]\ndevices=2\nlink=custom:-5,1\n")
                                         << QStringLiteral("run/link");
        QTest::newRow("bad link charge") << QByteArray("[General]\nversion=1\n[run]\ndevices=2\nlink=pcie4\nlink_params=lots\n")
                                         << QStringLiteral("run/link_params");
        QTest::newRow("impossible ranks") << QByteArray("[General]\nversion=1\n[run]\ndevices=2\nranks=99\n")
                                          << QStringLiteral("run/ranks");
        QTest::newRow("bad geometry") << QByteArray("[General]\nversion=1\n[window]\ngeometry=@ByteArray(xyz)\n")
                                      << QStringLiteral("window/geometry");
        // A value its control cannot hold as it is damages the file, rather than coming back
        // clamped or rounded into another value without a word.
        QTest::newRow("devices beyond the box") << QByteArray("[General]\nversion=1\n[run]\ndevices=9\n")
                                                << QStringLiteral("run/devices");
        QTest::newRow("batch 0") << QByteArray("[General]\nversion=1\n[run]\ndevices=2\nbatch_size=0\n")
                                 << QStringLiteral("run/batch_size");
        QTest::newRow("epochs beyond the box") << QByteArray("[General]\nversion=1\n[run]\ndevices=2\nepochs=1001\n")
                                               << QStringLiteral("run/epochs");
        QTest::newRow("negative lr") << QByteArray("[General]\nversion=1\n[run]\ndevices=2\nlr=-1\n")
                                     << QStringLiteral("run/lr");
        QTest::newRow("lr finer than the box") << QByteArray("[General]\nversion=1\n[run]\ndevices=2\nlr=0.0001\n")
                                               << QStringLiteral("run/lr");
        QTest::newRow("k beyond the box") << QByteArray("[General]\nversion=1\n[run]\ndevices=2\nmode=bounded\ninflight=65\n")
                                          << QStringLiteral("run/inflight");
        QTest::newRow("negative seed") << QByteArray("[General]\nversion=1\n[run]\ndevices=2\nseed=-1\n")
                                       << QStringLiteral("run/seed");
        QTest::newRow("budget not in MiB") << QByteArray("[General]\nversion=1\n[run]\ndevices=2\nmemory_budget=1000\n")
                                           << QStringLiteral("run/memory_budget");
        QTest::newRow("unknown mode") << QByteArray("[General]\nversion=1\n[run]\ndevices=2\nmode=turbo\n")
                                      << QStringLiteral("run/mode");
        QTest::newRow("allreduce the panel lacks") << QByteArray("[General]\nversion=1\n[run]\ndevices=2\nallreduce=nccl\n")
                                                   << QStringLiteral("run/allreduce");
        QTest::newRow("backend the panel lacks") << QByteArray("[General]\nversion=1\n[run]\ndevices=2\nbackend=auto\n")
                                                 << QStringLiteral("run/backend");
    }
    void damagedFileIsSetAsideAndReplaced()
    {
        QFETCH(QByteArray, bytes);
        QFETCH(QString, why);
        QTemporaryDir dir;
        const QString path = dir.filePath(QStringLiteral("gpulab.conf"));
        write(path, bytes);
        QCOMPARE(savedLanguage(path), QString());
        const TrainConfig defaults = MainWindow().panel()->config();
        MainWindow w;
        QString note;
        QVERIFY(!w.restoreSettings(path, &note));
        QVERIFY2(note.contains(QStringLiteral("set aside")) && note.contains(why), qPrintable(note));
        QVERIFY(QFile::exists(path + QStringLiteral(".damaged")));
        QVERIFY(!QFile::exists(path));
        QCOMPARE(w.panel()->config().devices, defaults.devices);
        QVERIFY(w.statusMessage().contains(QStringLiteral("could not be read")));
        QVERIFY2(w.statusMessage().contains(why), qPrintable(w.statusMessage()));
        // the next save writes a file that reads back
        w.setLanguage(QStringLiteral("en"));
        QVERIFY(w.saveSettings());
        QCOMPARE(savedLanguage(path), QStringLiteral("en"));
        MainWindow again;
        QVERIFY(again.restoreSettings(path));
    }
};

QTEST_MAIN(TestSettings)
#include "tst_settings.moc"
