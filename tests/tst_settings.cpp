// The lab's settings between sessions: what a teacher set comes back in the next session;
// a damaged, foreign or newer settings file is set aside and replaced, never fatal.
#include "control_panel.h"
#include "lab_settings.h"
#include "lab_view.h"
#include "main_window.h"

#include <QComboBox>
#include <QFile>
#include <QSettings>
#include <QTabWidget>
#include <QTemporaryDir>
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
        QCOMPARE(r.ranks, 2);
        QCOMPARE(r.batch_size, int64_t(300));
        QCOMPARE(r.lr, 0.35);
        QCOMPARE(r.epochs, 2);
        QCOMPARE(r.mode, ExecMode::Bounded);
        QCOMPARE(r.inflight, 3);
        QCOMPARE(r.seed, uint64_t(42));
        QCOMPARE(w.panel()->dataDir(), dir.path());
    }

    void damagedFileIsSetAsideAndReplaced_data()
    {
        QTest::addColumn<QByteArray>("bytes");
        QTest::newRow("garbage") << QByteArray("\x00\xff\x13[[[=\n\xfe\xfe garbage", 20);
        QTest::newRow("not ours") << QByteArray("[General]\nfoo=bar\n");
        QTest::newRow("newer version") << QByteArray("[General]\nversion=99\n");
        QTest::newRow("bad value") << QByteArray("[General]\nversion=1\n[run]\ndevices=banana\nbatch_size=256\n");
        QTest::newRow("impossible value") << QByteArray("[General]\nversion=1\n[run]\ndevices=0\n");
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
