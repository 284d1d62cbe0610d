// gpulab: the visual lab (Qt GUI). Without options it opens the window; with --run,
// --export-dir and --quit it runs presets headless and writes plots, data and
// screenshots (used by tests/screenshots.sh and the tests).
#include "control_panel.h"
#include "gpulab_version.h"
#include "core_messages.h"
#include "lab_settings.h"
#include "main_window.h"
#include "memory_view.h"
#include "presets.h"
#include "run_recorder.h"
#include "script_runner.h"
#include "train/settings.h"

#include <QApplication>
#include <QCommandLineParser>
#include <QLibraryInfo>
#include <QLocale>
#include <QTranslator>

#include <algorithm>
#include <cstdio>
#include <string_view>

using namespace gpulab;

namespace {

[[noreturn]] void usageError(const QString& message)
{
    std::fprintf(stderr, "gpulab: %s (see gpulab --help)\n", qPrintable(message));
    std::exit(2);
}

template <class T>
std::optional<T> number(const QCommandLineParser& p, const QCommandLineOption& o)
{
    if (!p.isSet(o))
        return std::nullopt;
    bool ok = false;
    const QString v = p.value(o);
    T x{};
    if constexpr (std::is_same_v<T, double>)
        x = v.toDouble(&ok);
    else
        x = static_cast<T>(v.toLongLong(&ok));
    if (!ok)
        usageError(QStringLiteral("--%1 needs a number (got '%2')").arg(o.names().constFirst(), v));
    return x;
}

} // namespace

int main(int argc, char** argv)
{
    // --help and --version print and leave: they need no display, so they work in a
    // terminal without one (a server, CI) as well.
    for (int i = 1; i < argc; ++i) {
        const std::string_view a = argv[i];
        if ((a == "--help" || a == "-h" || a == "--help-all" || a == "--version" || a == "-v") &&
            qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM") && qEnvironmentVariableIsEmpty("DISPLAY") &&
            qEnvironmentVariableIsEmpty("WAYLAND_DISPLAY"))
            qputenv("QT_QPA_PLATFORM", "offscreen");
    }
    QApplication app(argc, argv);
    QApplication::setApplicationName(QStringLiteral("gpulab"));
    QApplication::setApplicationVersion(QStringLiteral(GPULAB_VERSION_FULL));
    QApplication::setOrganizationName(QStringLiteral("gpulab"));
    QApplication::setDesktopFileName(QStringLiteral("gpulab"));

    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral(
        "A visual lab for data-parallel training (Dive into Deep Learning, \"Computational Performance\")."));
    parser.addHelpOption();
    parser.addVersionOption();
    QCommandLineOption preset(QStringLiteral("preset"),
                              QStringLiteral("Preset to apply (repeat to run several in turn): %1.")
                                  .arg(presetIds().join(QStringLiteral(", "))),
                              QStringLiteral("name"));
    QCommandLineOption run(QStringLiteral("run"), QStringLiteral("Start the run(s) at once."));
    QCommandLineOption exportDir(QStringLiteral("export-dir"),
                                 QStringLiteral("After the runs, write every plot (PNG, PDF, SVG), its data (CSV), "
                                                "the trace (trace.json, events.csv) and a screenshot of each view here."),
                                 QStringLiteral("dir"));
    QCommandLineOption record(QStringLiteral("record"),
                              QStringLiteral("With --run: record each run as it goes (gpulab-cli replay reads it); "
                                             "several presets write FILE-1, FILE-2, ... (run-1.gpurec, run-2.gpurec)."),
                              QStringLiteral("file"));
    QCommandLineOption replay(QStringLiteral("replay"),
                              QStringLiteral("Replay a recording in every view (repeat to overlay several in the Training "
                                             "and Memory views); with --export-dir, play it to its end at once and write the same files "
                                             "as a live run."),
                              QStringLiteral("file"));
    QCommandLineOption replaySpeed(QStringLiteral("replay-speed"),
                                   QStringLiteral("With --replay: play at this speed, 0.25 to 16 (with --quit, quit when "
                                                  "it has played to its end; without it, --export-dir and --quit play to "
                                                  "the end at once)."),
                                   QStringLiteral("x"));
    QCommandLineOption replayShow(QStringLiteral("replay-show"),
                                  QStringLiteral("With several --replay: which of them (1, 2, ...) the Devices, Allreduce "
                                                 "and Engine views show (default 1; Training and Memory overlay them all)."),
                                  QStringLiteral("n"));
    QCommandLineOption quit(QStringLiteral("quit"), QStringLiteral("Quit when done (exit 0: runs completed; 1: a run failed; 2: bad settings or data)."));
    // Every run setting of the table that the lab offers, parsed by the table.
    std::vector<std::pair<const SettingSpec*, QCommandLineOption>> settingOptions;
    for (const SettingSpec& spec : run_settings()) {
        if (!spec.in_lab)
            continue;
        QString help = QString::fromUtf8(spec.help);
        if (spec.name == std::string("devices"))
            help = QStringLiteral("Number of devices (the lab shows 1-8).");
        settingOptions.emplace_back(&spec, QCommandLineOption(QString::fromLatin1(spec.flag + 2), help,
                                                              QString::fromLatin1(spec.metavar)));
    }
    QCommandLineOption stepMode(QStringLiteral("step-mode"), QStringLiteral("Wait for Step before each allreduce step."));
    QCommandLineOption synthetic(QStringLiteral("synthetic"), QStringLiteral("Use the synthetic dataset (no files needed)."));
    QCommandLineOption data(QStringLiteral("data"), QStringLiteral("Fashion-MNIST folder."), QStringLiteral("dir"));
    QCommandLineOption view(QStringLiteral("view"), QStringLiteral("View to show: training, devices, allreduce, memory, engine."), QStringLiteral("name"));
    QCommandLineOption window(QStringLiteral("engine-window"), QStringLiteral("Seconds the Engine view shows (0 = the whole run)."), QStringLiteral("s"));
    QCommandLineOption memoryTime(QStringLiteral("memory-time"), QStringLiteral("Memory view's time axis: linear or log."), QStringLiteral("axis"));
    QCommandLineOption pressStep(QStringLiteral("press-step"), QStringLiteral("With --step-mode: press Step N times, export while the run waits, then stop it."), QStringLiteral("n"));
    QCommandLineOption size(QStringLiteral("size"), QStringLiteral("Window size, e.g. 1600x1000."), QStringLiteral("WxH"));
    QCommandLineOption lang(QStringLiteral("lang"), QStringLiteral("Language: en or zh_CN (default: the system's)."), QStringLiteral("code"));
    QCommandLineOption sweep(QStringLiteral("sweep"), QStringLiteral("Open Run > Scaling sweep; with --run start it, with --export-dir write its plots, sweep.csv and screen_sweep.png."));
    QCommandLineOption sweepDevices(QStringLiteral("sweep-devices"), QStringLiteral("Scaling sweep: device counts, e.g. 1,2,4."), QStringLiteral("list"));
    QCommandLineOption sweepBatches(QStringLiteral("sweep-batch-sizes"), QStringLiteral("Scaling sweep: batch sizes, e.g. 256,512,1024."), QStringLiteral("list"));
    QCommandLineOption sweepMinibatches(QStringLiteral("sweep-minibatches"), QStringLiteral("Scaling sweep: minibatches timed per combination."), QStringLiteral("n"));
    QCommandLineOption lrScale(QStringLiteral("lr-scale"), QStringLiteral("Scaling sweep: linear (lr grows with the batch) or none."), QStringLiteral("scale"));
    QCommandLineOption projector(QStringLiteral("projector"), QStringLiteral("Start in projector mode (full screen, large fonts, thick lines, high contrast; F11 toggles it)."));
    QCommandLineOption collapse(QStringLiteral("collapse-panel"), QStringLiteral("Start with the control panel on one line."));
    QCommandLineOption openPanel(QStringLiteral("open-panel"), QStringLiteral("Start with the control panel open, also in projector mode (which folds it to one line)."));
    QCommandLineOption envelope(QStringLiteral("memory-envelope"), QStringLiteral("Memory view: each minibatch's peak and low per device instead of every allocation."));
    parser.addOptions({projector, collapse, openPanel, envelope});
    parser.addOptions({sweep, sweepDevices, sweepBatches, sweepMinibatches, lrScale});
    parser.addOptions({preset, run, exportDir, record, replay, replaySpeed, replayShow, quit, stepMode, synthetic, data, view, window, memoryTime, pressStep,
                       size, lang});
    for (const auto& [spec, option] : settingOptions)
        parser.addOption(option);
    parser.process(app);

    // Settings are kept between sessions when the lab is used by hand; a script (--run,
    // --export-dir, --quit) neither reads nor writes them, so its output never depends on them.
    const bool keepSettings = !parser.isSet(run) && !parser.isSet(exportDir) && !parser.isSet(quit);
    const QString settingsPath = keepSettings ? labSettingsPath() : QString();

    // translations: the app's own (embedded) and Qt's
    QString language = parser.value(lang);
    if (language.isEmpty() && keepSettings)
        language = savedLanguage(settingsPath);
    const QLocale locale = !language.isEmpty() ? QLocale(language) : QLocale::system();
    QTranslator qtTr, appTr;
    if (locale.language() != QLocale::English) {
        if (qtTr.load(locale, QStringLiteral("qtbase"), QStringLiteral("_"),
                      QLibraryInfo::path(QLibraryInfo::TranslationsPath)))
            QApplication::installTranslator(&qtTr);
        // an installed copy (share/gpulab/translations beside bin/) first, else the embedded one
        const QString installed = QCoreApplication::applicationDirPath() + QStringLiteral("/../share/gpulab/translations");
        if (appTr.load(locale, QStringLiteral("gpulab"), QStringLiteral("_"), installed) ||
            appTr.load(locale, QStringLiteral("gpulab"), QStringLiteral("_"), QStringLiteral(":/i18n")))
            QApplication::installTranslator(&appTr);
    }

    ScriptOptions opts;
    opts.presets = parser.values(preset);
    for (const QString& id : opts.presets)
        if (!findPreset(id))
            usageError(QStringLiteral("unknown preset '%1' (choose one of: %2)")
                           .arg(id, presetIds().join(QStringLiteral(", "))));
    opts.run = parser.isSet(run);
    opts.exportDir = parser.value(exportDir);
    opts.quit = parser.isSet(quit);
    opts.synthetic = parser.isSet(synthetic);
    opts.dataDir = parser.value(data);
    opts.engineWindow = number<double>(parser, window);
    {
        // Checked now, so that a bad value stops before the window opens (exit 2).
        TrainConfig probe;
        for (const auto& [spec, option] : settingOptions) {
            if (!parser.isSet(option))
                continue;
            const std::string value = parser.value(option).toStdString();
            try {
                spec->set(probe, value);
            } catch (const GpulabError& e) {
                usageError(coreMessage(e.error));
            }
            opts.settings.emplace_back(spec->name, value);
        }
    }
    if (parser.isSet(stepMode))
        opts.stepMode = true;
    opts.view = parser.value(view);
    opts.pressStep = number<int>(parser, pressStep).value_or(0);
    if (parser.isSet(memoryTime)) {
        const QString axis = parser.value(memoryTime);
        if (axis != QLatin1String("linear") && axis != QLatin1String("log"))
            usageError(QStringLiteral("--memory-time is linear or log (got '%1')").arg(axis));
        opts.memoryLogTime = axis == QLatin1String("log");
    }

    opts.sweep = parser.isSet(sweep);
    opts.sweepDevices = parser.value(sweepDevices);
    opts.sweepBatchSizes = parser.value(sweepBatches);
    opts.sweepMinibatches = number<int>(parser, sweepMinibatches);
    if (parser.isSet(lrScale)) {
        const QString v = parser.value(lrScale);
        if (v != QLatin1String("linear") && v != QLatin1String("none"))
            usageError(QStringLiteral("--lr-scale is linear or none (got '%1')").arg(v));
        opts.sweepLinearLr = v == QLatin1String("linear");
    }
    if (!opts.sweep && (parser.isSet(sweepDevices) || parser.isSet(sweepBatches) || parser.isSet(sweepMinibatches) ||
                        parser.isSet(lrScale)))
        usageError(QStringLiteral("--sweep-devices, --sweep-batch-sizes, --sweep-minibatches and --lr-scale go with --sweep"));

    if (parser.isSet(collapse) && parser.isSet(openPanel))
        usageError(QStringLiteral("--collapse-panel and --open-panel ask for opposite things: choose one"));

    opts.recordPath = parser.value(record);
    if (!opts.recordPath.isEmpty()) {
        if (!opts.run || opts.sweep)
            usageError(QStringLiteral("--record goes with --run (and not with --sweep)"));
        // Each file is created now, so that a path that cannot be written stops before the
        // window opens (exit 2), not after the run.
        const int runs = std::max<int>(1, opts.presets.size());
        for (int i = 0; i < runs; ++i) {
            const QString why = RunRecorder::probe(recordingPathFor(opts.recordPath, i, runs));
            if (!why.isEmpty()) {
                std::fprintf(stderr, "gpulab: %s\n", qPrintable(why));
                return 2;
            }
        }
    }

    opts.replay = parser.values(replay);
    if (!opts.replay.isEmpty() && (opts.run || opts.sweep || !opts.presets.isEmpty() || !opts.settings.empty()))
        usageError(QStringLiteral("--replay plays recorded runs: it does not go with --run, --preset, --sweep or settings"));
    opts.replaySpeed = number<double>(parser, replaySpeed);
    if (opts.replaySpeed && (opts.replay.isEmpty() || *opts.replaySpeed < 0.25 || *opts.replaySpeed > 16))
        usageError(QStringLiteral("--replay-speed goes with --replay and is 0.25 to 16 (got '%1')").arg(parser.value(replaySpeed)));
    opts.replayShow = number<int>(parser, replayShow);
    if (opts.replayShow && (*opts.replayShow < 1 || *opts.replayShow > opts.replay.size()))
        usageError(QStringLiteral("--replay-show is the number of one of the --replay files, 1 to %1 (got '%2')")
                       .arg(opts.replay.size())
                       .arg(parser.value(replayShow)));

    MainWindow w;
    w.setLanguage(locale.language() == QLocale::Chinese ? QStringLiteral("zh_CN") : QStringLiteral("en"));
    QString settingsNote;
    if (keepSettings && !w.restoreSettings(settingsPath, &settingsNote))
        std::fprintf(stderr, "gpulab: %s\n", qPrintable(settingsNote));
    if (parser.isSet(size)) {
        const QStringList wh = parser.value(size).split(QLatin1Char('x'));
        if (wh.size() != 2 || wh[0].toInt() < 400 || wh[1].toInt() < 300)
            usageError(QStringLiteral("--size needs WIDTHxHEIGHT, e.g. 1600x1000"));
        w.resize(wh[0].toInt(), wh[1].toInt());
    }
    w.show();
    if (parser.isSet(envelope))
        w.memoryView()->setEnvelope(true);
    if (parser.isSet(collapse))
        w.setPanelCollapsed(true);
    if (parser.isSet(projector) || w.savedProjectorMode())
        w.setProjectorMode(true);
    if (parser.isSet(openPanel))
        w.setPanelCollapsed(false);
    const bool scripted = opts.run || opts.quit || !opts.exportDir.isEmpty() || opts.synthetic ||
                          !opts.dataDir.isEmpty() || !opts.presets.isEmpty() || !opts.settings.empty() ||
                          !opts.view.isEmpty() || opts.sweep || !opts.replay.isEmpty();
    if (scripted) {
        if ((!opts.run || opts.sweep) && opts.presets.size() == 1)
            w.panel()->applyPreset(opts.presets.first()); // just fill the panel (the sweep's base)
        auto* script = new ScriptRunner(&w);
        QObject::connect(script, &ScriptRunner::quitRequested, &app, [](int code) { QCoreApplication::exit(code); });
        script->run(opts);
    }
    return app.exec();
}
