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

    // Starts loading in the background (a load already going is finished first).
    void load(Source source, const QString& dir);

    bool loading() const { return m_loading; }
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
    quint64 m_generation = 0;
};

} // namespace gpulab
