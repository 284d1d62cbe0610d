// Fashion-MNIST loader: four IDX files, checked against each other, decoded once into
// float pixels in [0,1] and int32 labels.
#include "data/fashion_mnist.h"

#include "data/idx.h"

#include <algorithm>
#include <filesystem>
#include <system_error>

namespace gpulab {

namespace {

namespace fs = std::filesystem;

constexpr const char* kTrainImages = "train-images-idx3-ubyte.gz";
constexpr const char* kTrainLabels = "train-labels-idx1-ubyte.gz";
constexpr const char* kTestImages = "t10k-images-idx3-ubyte.gz";
constexpr const char* kTestLabels = "t10k-labels-idx1-ubyte.gz";

// The files a Fashion-MNIST folder holds, for the how-to-get-it advice.
std::string the_files()
{
    return std::string(kTrainImages) + ", " + kTrainLabels + ", " + kTestImages + ", " + kTestLabels;
}

std::string join(const std::string& dir, const char* file)
{
    return (fs::path(dir) / file).string();
}

// A missing file gets the how-to-get-it advice; other problems come from read_idx.
IdxArray read_part(const std::string& dir, const char* file)
{
    const std::string path = join(dir, file);
    std::error_code ec;
    if (!fs::exists(path, ec) && !ec) // other failures (permissions...) read_idx reports
        throw DataError(Error(ErrorCode::DatasetMissing, {{"file", path}, {"files", the_files()}}));
    return read_idx(path);
}

Dataset load_split(const std::string& dir, const char* images_file, const char* labels_file)
{
    const std::string ipath = join(dir, images_file);
    const std::string lpath = join(dir, labels_file);
    IdxArray images = read_part(dir, images_file);
    if (images.dims.size() != 3)
        throw DataError(Error(ErrorCode::ImagesBadRank, {{"file", ipath}, {"dims", std::to_string(images.dims.size())}}));
    if (images.dims[1] != kImageSide || images.dims[2] != kImageSide)
        throw DataError(Error(ErrorCode::ImagesBadSize, {{"file", ipath},
                                                     {"width", std::to_string(images.dims[1])},
                                                     {"height", std::to_string(images.dims[2])}}));
    const IdxArray labels = read_part(dir, labels_file);
    if (labels.dims.size() != 1)
        throw DataError(Error(ErrorCode::LabelsBadRank, {{"file", lpath}, {"dims", std::to_string(labels.dims.size())}}));
    if (labels.dims[0] != images.dims[0])
        throw DataError(Error(ErrorCode::LabelCountMismatch, {{"images", std::to_string(images.dims[0])},
                                                          {"images_file", ipath},
                                                          {"labels", std::to_string(labels.dims[0])},
                                                          {"labels_file", lpath}}));

    Dataset d;
    d.count = images.dims[0];
    d.labels.resize(size_t(d.count));
    for (int64_t i = 0; i < d.count; ++i) {
        const uint8_t l = labels.data[size_t(i)];
        if (l >= kNumClasses)
            throw DataError(Error(ErrorCode::LabelOutOfRange, {{"file", lpath}, {"label", std::to_string(l)}, {"index", std::to_string(i)}}));
        d.labels[size_t(i)] = l;
    }
    d.images.resize(images.data.size());
    std::transform(images.data.begin(), images.data.end(), d.images.begin(),
                   [](uint8_t v) { return float(v) / 255.0f; });
    return d;
}

} // namespace

std::string default_fashion_mnist_dir()
{
    return "/usr/share/datasets/fashion-mnist";
}

FashionMnist load_fashion_mnist(const std::string& dir)
{
    std::error_code ec;
    if (dir.empty() || !fs::is_directory(dir, ec))
        throw DataError(Error(ErrorCode::DatasetDirMissing, {{"dir", dir.empty() ? "\"\"" : dir}, {"files", the_files()}}));
    FashionMnist f;
    f.train = load_split(dir, kTrainImages, kTrainLabels);
    f.test = load_split(dir, kTestImages, kTestLabels);
    return f;
}

Dataset take_first(const Dataset& d, int64_t n)
{
    const int64_t k = std::clamp<int64_t>(n, 0, d.count);
    Dataset out;
    out.count = k;
    out.images.assign(d.images.begin(), d.images.begin() + std::ptrdiff_t(k * kImagePixels));
    out.labels.assign(d.labels.begin(), d.labels.begin() + std::ptrdiff_t(k));
    return out;
}

} // namespace gpulab
