// DatasetLoader: load_fashion_mnist / make_synthetic_dataset on a std::thread; the
// result crosses back to the UI thread through a queued call.
#include "dataset_loader.h"

#include "core_messages.h"
#include "data/fashion_mnist.h"
#include "data/synthetic.h"

#include <QFileInfo>
#include <QLocale>
#include <QMetaObject>
#include <QTimer>

namespace gpulab {

DatasetLoader::DatasetLoader(QObject* parent) : QObject(parent) {}

DatasetLoader::~DatasetLoader()
{
    if (m_thread.joinable())
        m_thread.join();
}

void DatasetLoader::load(Source source, const QString& dir)
{
    if (m_thread.joinable())
        m_thread.join(); // a load still going finishes first (a few seconds at most)
    m_source = source;
    m_dir = dir;
    m_loading = true;
    m_begun = false;
    m_error.clear();
    m_data.reset();
    const quint64 generation = ++m_generation;
    QMetaObject::invokeMethod(this, [this, generation] { begin(generation); }, Qt::QueuedConnection);
}

void DatasetLoader::hold()
{
    ++m_holds;
}

void DatasetLoader::release()
{
    if (m_holds == 0 || --m_holds > 0)
        return; // none held, or another hold still stands
    // on a timer, not a posted call: what the release's caller does next in this turn of the
    // event loop comes first (a headless replay exports and quits, and never reads the data)
    const quint64 generation = m_generation;
    QTimer::singleShot(0, this, [this, generation] { begin(generation); });
}

void DatasetLoader::begin(quint64 generation)
{
    if (generation != m_generation || m_begun || m_holds > 0 || !m_loading)
        return; // replaced by a newer load, begun already, or held
    m_begun = true;
    const Source source = m_source;
    const std::string path = m_dir.toStdString();
    m_thread = std::thread([this, source, path, generation] {
        std::shared_ptr<const FashionMnist> data;
        QString error;
        try {
            if (source == Source::Synthetic)
                data = std::make_shared<const FashionMnist>(
                    make_synthetic_dataset(kSyntheticTrain, kSyntheticTest, kSyntheticSeed));
            else
                data = std::make_shared<const FashionMnist>(load_fashion_mnist(path));
        } catch (const GpulabError& e) {
            error = coreMessage(e.error);
        } catch (const std::exception& e) {
            error = coreMessage(other_error(e.what()));
        }
        {
            std::lock_guard lock(m_mutex);
            m_pending = std::move(data);
            m_pendingError = error;
        }
        QMetaObject::invokeMethod(this, [this, generation] { onDone(generation); },
                                  Qt::QueuedConnection);
    });
}

QStringList DatasetLoader::cliArgs() const
{
    if (m_source == Source::Synthetic)
        return {QStringLiteral("--synthetic"), QString::number(kSyntheticTrain), QStringLiteral("--synthetic-test"),
                QString::number(kSyntheticTest), QStringLiteral("--synthetic-seed"), QString::number(kSyntheticSeed)};
    return {QStringLiteral("--data"), QFileInfo(m_dir).absoluteFilePath()};
}

void DatasetLoader::onDone(quint64 generation)
{
    if (generation != m_generation)
        return; // a newer load replaced this one
    if (m_thread.joinable())
        m_thread.join();
    {
        std::lock_guard lock(m_mutex);
        m_data = std::move(m_pending);
        m_error = m_pendingError;
    }
    m_loading = false;
    if (m_data)
        emit loaded();
    else
        emit failed(m_error);
}

QString DatasetLoader::summary() const
{
    if (!m_data)
        return {};
    const QLocale loc;
    const QString name = m_source == Source::Synthetic ? tr("Synthetic data") : tr("Fashion-MNIST");
    return tr("%1: %2 training, %3 test images")
        .arg(name, loc.toString(static_cast<qlonglong>(m_data->train.count)),
             loc.toString(static_cast<qlonglong>(m_data->test.count)));
}

} // namespace gpulab
