// The lab's settings between sessions: what a teacher set comes back in the next session;
// a damaged, foreign or newer settings file is set aside and replaced, never fatal.
#include "control_panel.h"
#include "lab_settings.h"
#include "lab_view.h"
#include "main_window.h"
#include "rank/rank_group.h"

#include <QComboBox>
#include <QFile>
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

    void damagedFileIsSetAsideAndReplaced_data()
    {
        QTest::addColumn<QByteArray>("bytes");
        QTest::newRow("garbage") << QByteArray("\x00\xff\x13[[[=\n\xfe\xfe garbage", 20);
        QTest::newRow("not ours") << QByteArray("[General]\nfoo=bar\n");
        QTest::newRow("newer version") << QByteArray("[General]\nversion=99\n");
        QTest::newRow("bad value") << QByteArray("[General]\nversion=1\n[run]\ndevices=banana\nbatch_size=256\n");
        QTest::newRow("impossible value") << QByteArray("[General]\nversion=1\n[run]\ndevices=0\n");
        QTest::newRow("unknown link") << QByteArray("[General]\nversion=1\n[run]\ndevices=2\nlink=warp-drive\n");
        QTest::newRow("bad custom link") << QByteArray("[General]\nversion=1\n[run]\ndevices=2\nlink=custom:-5,1\n");
        QTest::newRow("bad link charge") << QByteArray("[General]\nversion=1\n[run]\ndevices=2\nlink=pcie4\nlink_params=lots\n");
        QTest::newRow("impossible ranks") << QByteArray("[General]\nversion=1\n[run]\ndevices=2\nranks=99\n");
        QTest::newRow("bad geometry") << QByteArray("[General]\nversion=1\n[window]\ngeometry=@ByteArray(xyz)\n");
    }
    void damagedFileIsSetAsideAndReplaced()
    {
        QFETCH(QByteArray, bytes);
        QTemporaryDir dir;
        const QString path = dir.filePath(QStringLiteral("gpulab.conf"));
        write(path, bytes);
        QCOMPARE(savedLanguage(path), QString());
        const TrainConfig defaults = MainWindow().panel()->config();
        MainWindow w;
        QString note;
        QVERIFY(!w.restoreSettings(path, &note));
        QVERIFY2(note.contains(QStringLiteral("set aside")), qPrintable(note));
        QVERIFY(QFile::exists(path + QStringLiteral(".damaged")));
        QVERIFY(!QFile::exists(path));
        QCOMPARE(w.panel()->config().devices, defaults.devices);
        QVERIFY(w.statusMessage().contains(QStringLiteral("could not be read")));
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
