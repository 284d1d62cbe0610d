// Loads the dataset once, off the UI thread: the real Fashion-MNIST from a folder, or the
// synthetic stand-in when the files are missing. Reports through signals.
#pragma once

#include <QObject>
#include <QString>
#include <QStringList>

#include <memory>
#include <mutex>
#include <thread>

namespace gpulab {

struct FashionMnist;

class DatasetLoader : public QObject {
    Q_OBJECT
public:
    enum class Source { FashionMnist, Synthetic };
    Q_ENUM(Source)

    // Size of the synthetic stand-in (train, test).
    static constexpr qint64 kSyntheticTrain = 20000;
    static constexpr qint64 kSyntheticTest = 2000;
    static constexpr quint64 kSyntheticSeed = 7;

    explicit DatasetLoader(QObject* parent = nullptr);
    ~DatasetLoader() override;

    // Loads in the background, from the next turn of the event loop: a load asked for again
    // before then replaces it (the lab's defaults, then its saved settings or command line,
    // read once); a load already going is finished first.
    void load(Source source, const QString& dir);
    // While held, a load asked for waits, loading() true, until every hold is released:
    // the lab reads recordings first, and the data set after them, in the background; a
    // headless replay that quits when it has exported holds it to the end and never reads it.
    // Holds count: each hold() is ended by one release() (a release() with none held does nothing).
    void hold();
    void release();
    bool held() const { return m_holds > 0; }

    bool loading() const { return m_loading; }   // asked for, and not yet loaded or failed
    bool reading() const { return m_thread.joinable(); } // its thread has begun and is not yet joined
    std::shared_ptr<const FashionMnist> data() const { return m_data; }
    Source source() const { return m_source; }
    QString error() const { return m_error; }   // why the last load failed
    QString summary() const;                     // "Fashion-MNIST: 60,000 train, 10,000 test"
    // The gpulab-cli train options that load the same data (the other ranks of a job):
    // --data DIR, or --synthetic with the stand-in's sizes and seed.
    QStringList cliArgs() const;

signals:
    void loaded();                 // data() is ready
    void failed(const QString& message);

private:
    void begin(quint64 generation);
    void onDone(quint64 generation);

    std::thread m_thread;
    std::mutex m_mutex;
    std::shared_ptr<const FashionMnist> m_pending;
    QString m_pendingError;
    std::shared_ptr<const FashionMnist> m_data;
    Source m_source = Source::FashionMnist;
    QString m_dir;                 // the folder of the last load (Fashion-MNIST)
    QString m_error;
    bool m_loading = false;
    bool m_begun = false;          // the thread of the latest load has been started
    int m_holds = 0;
    quint64 m_generation = 0;
};

} // namespace gpulab
