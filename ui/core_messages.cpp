// coreMessage (core_messages.h): each error code's English template, as a translation
// source in the "CoreMessages" context, filled with the error's facts by name. The
// templates are core's (core/error/error.cpp); tst_ui checks that the two agree, so a
// message reworded in core fails a test instead of losing its translation.
#include "core_messages.h"

#include <QStringList>

#include <QCoreApplication>

namespace gpulab {

namespace {

struct Phrase {
    ErrorCode code;
    const char* source; // English, facts as {name}: what translators see
};

const Phrase kPhrases[] = {
    {ErrorCode::SettingNotNumber, QT_TRANSLATE_NOOP("CoreMessages", "{flag} needs a number (got '{value}')")},
    {ErrorCode::SettingNotWholeNumber, QT_TRANSLATE_NOOP("CoreMessages", "{flag} needs a whole number (got '{value}')")},
    {ErrorCode::SettingBadSize, QT_TRANSLATE_NOOP("CoreMessages", "cannot read '{value}' as a size for {flag} (examples: 268435456, 256MiB, 2GiB)")},
    {ErrorCode::SettingUnknownChoice, QT_TRANSLATE_NOOP("CoreMessages", "unknown {label} '{value}' for {flag} (choose {choices})")},
    {ErrorCode::SettingOutOfRange, QT_TRANSLATE_NOOP("CoreMessages", "{label} must be between {min} and {max} ({flag}, got {value})")},
    {ErrorCode::BatchBelowDevices, QT_TRANSLATE_NOOP("CoreMessages", "batch size {batch} is smaller than the number of devices ({devices}): every device needs at least one image per minibatch")},
    {ErrorCode::SubsetBelowDevices, QT_TRANSLATE_NOOP("CoreMessages", "training subset must be 0 (all) or at least the number of devices ({devices}) (--subset, got {subset})")},
    {ErrorCode::NcclNeedsCuda, QT_TRANSLATE_NOOP("CoreMessages", "NCCL allreduce needs --backend cuda with one GPU per device; use naive or ring")},
    {ErrorCode::NcclUnavailable, QT_TRANSLATE_NOOP("CoreMessages", "NCCL allreduce: {why}; use naive or ring")},
    {ErrorCode::NcclTooFewGpus, QT_TRANSLATE_NOOP("CoreMessages", "NCCL allreduce needs one GPU per device: {devices} devices but {gpus} GPU(s) here; use naive or ring, or --devices {gpus}")},
    {ErrorCode::LinkWithNccl, QT_TRANSLATE_NOOP("CoreMessages", "--link {link} models naive and ring allreduce's transfers; NCCL's are real: use --link none with --allreduce nccl, or naive or ring with a link")},
    {ErrorCode::LinkParamsWithoutLink, QT_TRANSLATE_NOOP("CoreMessages", "--link-params {params} scales what a link charges, and --link is none: choose a link (e.g. --link 10gbe) or --link-params lenet")},
    {ErrorCode::OutOfMemory, QT_TRANSLATE_NOOP("CoreMessages", "out of memory on {device}: requested {requested} with {in_use} of {budget} in use. Use sync or bounded mode, a smaller batch, or a larger memory budget.")},
    {ErrorCode::DatasetOutOfMemory, QT_TRANSLATE_NOOP("CoreMessages", "out of memory on {device}: requested {requested} with {in_use} of {budget} in use, for the training set on the device. Keep it on the host (--data-on-device host) or give the device a larger memory budget.")},
    {ErrorCode::LossNaN, QT_TRANSLATE_NOOP("CoreMessages", "the loss became NaN at epoch {epoch}, minibatch {batch} (device {device}): training diverged; lower the learning rate (now {lr})")},
    {ErrorCode::LossInfinite, QT_TRANSLATE_NOOP("CoreMessages", "the loss became infinite at epoch {epoch}, minibatch {batch} (device {device}): training diverged; lower the learning rate (now {lr})")},
    {ErrorCode::LossHuge, QT_TRANSLATE_NOOP("CoreMessages", "the loss became huge ({loss} per image) at epoch {epoch}, minibatch {batch} (device {device}): training diverged; lower the learning rate (now {lr})")},
    {ErrorCode::Stopped, QT_TRANSLATE_NOOP("CoreMessages", "stopped by the user")},
    {ErrorCode::CudaNotBuilt, QT_TRANSLATE_NOOP("CoreMessages", "this build of gpulab has no CUDA backend (configure with a CUDA toolkit)")},
    {ErrorCode::CudaNoDriver, QT_TRANSLATE_NOOP("CoreMessages", "no NVIDIA driver found (libcuda could not be loaded); install the NVIDIA driver to use GPUs")},
    {ErrorCode::CudaNoDevice, QT_TRANSLATE_NOOP("CoreMessages", "no CUDA device: the NVIDIA driver (CUDA {version}) sees no GPU")},
    {ErrorCode::CudaDriverTooOld, QT_TRANSLATE_NOOP("CoreMessages", "the NVIDIA driver is too old: it supports CUDA {driver}, this build needs CUDA {needs}; update the driver")},
    {ErrorCode::CudaNotUsable, QT_TRANSLATE_NOOP("CoreMessages", "CUDA is not usable: {why}")},
    {ErrorCode::DatasetDirMissing, QT_TRANSLATE_NOOP("CoreMessages", "Fashion-MNIST not found in {dir}: install the Debian package dataset-fashion-mnist (apt-get install dataset-fashion-mnist) or pass --data DIR with {files}")},
    {ErrorCode::DatasetMissing, QT_TRANSLATE_NOOP("CoreMessages", "Fashion-MNIST file {file} not found: install the Debian package dataset-fashion-mnist (apt-get install dataset-fashion-mnist) or pass --data DIR with {files}")},
    {ErrorCode::DataCannotOpen, QT_TRANSLATE_NOOP("CoreMessages", "{file}: cannot open ({why})")},
    {ErrorCode::DataCannotStat, QT_TRANSLATE_NOOP("CoreMessages", "{file}: cannot stat ({why})")},
    {ErrorCode::DataIsDirectory, QT_TRANSLATE_NOOP("CoreMessages", "{file}: is a directory, not an IDX file")},
    {ErrorCode::DataNotRegular, QT_TRANSLATE_NOOP("CoreMessages", "{file}: not a regular file")},
    {ErrorCode::DataTooLarge, QT_TRANSLATE_NOOP("CoreMessages", "{file}: file is {size_mib} MiB, larger than any IDX file gpulab can use ({max_mib} MiB)")},
    {ErrorCode::DataReadError, QT_TRANSLATE_NOOP("CoreMessages", "{file}: read error ({why})")},
    {ErrorCode::GzipCannotStart, QT_TRANSLATE_NOOP("CoreMessages", "{file}: cannot start zlib inflate ({why})")},
    {ErrorCode::GzipTooLarge, QT_TRANSLATE_NOOP("CoreMessages", "{file}: decompressed data is larger than {max_mib} MiB; this is not an IDX file gpulab can use")},
    {ErrorCode::GzipEndsEarly, QT_TRANSLATE_NOOP("CoreMessages", "{file}: corrupt or truncated gzip data (stream ends early after {bytes} compressed bytes)")},
    {ErrorCode::GzipCorrupt, QT_TRANSLATE_NOOP("CoreMessages", "{file}: corrupt or truncated gzip data ({why})")},
    {ErrorCode::GzipTrailing, QT_TRANSLATE_NOOP("CoreMessages", "{file}: {bytes} unexpected bytes after the gzip stream")},
    {ErrorCode::IdxTooShort, QT_TRANSLATE_NOOP("CoreMessages", "{file}: not an IDX file ({bytes} bytes, too short for the 4-byte IDX magic)")},
    {ErrorCode::IdxBadMagic, QT_TRANSLATE_NOOP("CoreMessages", "{file}: not an IDX file (bad magic {b0} {b1}, expected 0x00 0x00) and not gzip either")},
    {ErrorCode::IdxBadType, QT_TRANSLATE_NOOP("CoreMessages", "{file}: unsupported IDX element type {type} (only 0x08, unsigned byte, is supported)")},
    {ErrorCode::IdxBadDimCount, QT_TRANSLATE_NOOP("CoreMessages", "{file}: unsupported IDX dimension count {dims} (expected 1 to 4)")},
    {ErrorCode::IdxHeaderTruncated, QT_TRANSLATE_NOOP("CoreMessages", "{file}: truncated header: {dims} dimensions need {need} bytes, file has {have}")},
    {ErrorCode::IdxBadDim, QT_TRANSLATE_NOOP("CoreMessages", "{file}: dimension {index} is {value} (must be positive)")},
    {ErrorCode::IdxTooManyElements, QT_TRANSLATE_NOOP("CoreMessages", "{file}: dimensions describe more than {max} elements")},
    {ErrorCode::IdxTruncated, QT_TRANSLATE_NOOP("CoreMessages", "{file}: truncated: header says {want} bytes of data, file has {have}")},
    {ErrorCode::IdxTrailing, QT_TRANSLATE_NOOP("CoreMessages", "{file}: {bytes} unexpected bytes after the data")},
    {ErrorCode::ImagesBadRank, QT_TRANSLATE_NOOP("CoreMessages", "{file}: images have {dims} dimensions, expected 3 (count x 28 x 28)")},
    {ErrorCode::ImagesBadSize, QT_TRANSLATE_NOOP("CoreMessages", "{file}: images are {width}x{height}, expected 28x28")},
    {ErrorCode::LabelsBadRank, QT_TRANSLATE_NOOP("CoreMessages", "{file}: labels have {dims} dimensions, expected 1")},
    {ErrorCode::LabelCountMismatch, QT_TRANSLATE_NOOP("CoreMessages", "{images} images in {images_file} but {labels} labels in {labels_file}")},
    {ErrorCode::LabelOutOfRange, QT_TRANSLATE_NOOP("CoreMessages", "{file}: label {label} at index {index} is outside 0..9")},
    {ErrorCode::RecordingCannotOpen, QT_TRANSLATE_NOOP("CoreMessages", "{file}: cannot open the recording ({why})")},
    {ErrorCode::RecordingCannotWrite, QT_TRANSLATE_NOOP("CoreMessages", "{file}: cannot write the recording ({why})")},
    {ErrorCode::RecordingIsDirectory, QT_TRANSLATE_NOOP("CoreMessages", "{file}: is a directory, not a gpulab recording")},
    {ErrorCode::RecordingEmpty, QT_TRANSLATE_NOOP("CoreMessages", "{file}: the file is empty, not a gpulab recording")},
    {ErrorCode::RecordingForeign, QT_TRANSLATE_NOOP("CoreMessages", "{file}: not a gpulab recording (it is a {kind} file)")},
    {ErrorCode::RecordingBadMagic, QT_TRANSLATE_NOOP("CoreMessages", "{file}: not a gpulab recording (it does not start with GPULABRC)")},
    {ErrorCode::RecordingNewerVersion, QT_TRANSLATE_NOOP("CoreMessages", "{file}: recording format {version} is newer than this gpulab reads (up to {supported}); open it with a newer gpulab")},
    {ErrorCode::RecordingTruncatedHeader, QT_TRANSLATE_NOOP("CoreMessages", "{file}: the recording is cut short inside its header ({bytes} bytes)")},
    {ErrorCode::RecordingDamaged, QT_TRANSLATE_NOOP("CoreMessages", "{file}: the recording is damaged near byte {offset} (a checksum or the compressed data does not match)")},
    {ErrorCode::RecordingBadRecord, QT_TRANSLATE_NOOP("CoreMessages", "{file}: the recording is damaged near byte {offset} (a record claims {size} bytes; at most {max} are allowed)")},
    {ErrorCode::RecordingNoHeader, QT_TRANSLATE_NOOP("CoreMessages", "{file}: the recording has no run header")},
    {ErrorCode::RecordingTooLarge, QT_TRANSLATE_NOOP("CoreMessages", "{file}: the recording holds more than {max_mib} MiB of data; gpulab reads no more")},
    {ErrorCode::RanksNotBuilt, QT_TRANSLATE_NOOP("CoreMessages", "this gpulab was built without Gloo, so ranks in separate processes are not available; install libgloo-dev and build again")},
    {ErrorCode::RankPortInUse, QT_TRANSLATE_NOOP("CoreMessages", "rank 0 cannot serve the rendezvous on {address}: the port is already in use; pick another with --master HOST:PORT")},
    {ErrorCode::RankCannotListen, QT_TRANSLATE_NOOP("CoreMessages", "rank 0 cannot serve the rendezvous on {address} ({why}); give an address of this machine with --master HOST:PORT")},
    {ErrorCode::RankMasterUnreachable, QT_TRANSLATE_NOOP("CoreMessages", "cannot reach rank 0 at {master} within {seconds} s ({why}); start rank 0 first and check the address and port")},
    {ErrorCode::RankMasterLost, QT_TRANSLATE_NOOP("CoreMessages", "lost the connection to rank 0 at {master}")},
    {ErrorCode::RankBadToken, QT_TRANSLATE_NOOP("CoreMessages", "rank {rank} was refused: its token is not the job's; give every rank the token rank 0 printed (--token)")},
    {ErrorCode::RankWorldDiffers, QT_TRANSLATE_NOOP("CoreMessages", "rank {rank} was refused: it counts {world} ranks but rank 0 counts {world0}; give every rank the same --world")},
    {ErrorCode::RankOutOfRange, QT_TRANSLATE_NOOP("CoreMessages", "rank {rank} was refused: a job of {world} ranks numbers them 0 to {last}")},
    {ErrorCode::RankTaken, QT_TRANSLATE_NOOP("CoreMessages", "rank {rank} was refused: another process already joined as rank {rank}; give every process its own --rank")},
    {ErrorCode::RankSettingDiffers, QT_TRANSLATE_NOOP("CoreMessages", "rank {rank} was refused: its {setting} is {value} but rank 0's is {value0}; every rank must train with the same settings")},
    {ErrorCode::RankJoinTimeout, QT_TRANSLATE_NOOP("CoreMessages", "the ranks did not all join within {seconds} s; start every rank, or allow more time with --timeout")},
    {ErrorCode::RankLost, QT_TRANSLATE_NOOP("CoreMessages", "rank {rank} stopped ({why}); every rank of the job stops")},
    {ErrorCode::RankCudaNeedsNccl, QT_TRANSLATE_NOOP("CoreMessages", "GPU ranks need NCCL, and this gpulab was built without it; install NCCL and build again, or use --backend cpu")},
    {ErrorCode::RankLocalIndexBad, QT_TRANSLATE_NOOP("CoreMessages", "{variable} is '{value}', not a rank's index on this machine (0 or more); unset it or give each rank its own")},
    {ErrorCode::RankTooFewGpus, QT_TRANSLATE_NOOP("CoreMessages", "rank {rank} is rank {local} on this machine ({from}) and would use {needs}, but this machine has {gpus} GPU(s); a GPU rank needs GPUs of its own: start fewer ranks here, or give each fewer --devices")},
    {ErrorCode::RankNcclIdBad, QT_TRANSLATE_NOOP("CoreMessages", "the NCCL id in the rendezvous store has {bytes} bytes, not 128; every rank must run the same gpulab")},
    {ErrorCode::RankNcclInitFailed, QT_TRANSLATE_NOOP("CoreMessages", "rank {rank} could not join the ranks' NCCL communicator on GPU {gpu}: {why}")},
    {ErrorCode::RankNcclInitTimeout, QT_TRANSLATE_NOOP("CoreMessages", "the ranks' NCCL communicator was not ready within {seconds} s; start every rank, or allow more time with --timeout")},
    {ErrorCode::LabRanksNeedCpu, QT_TRANSLATE_NOOP("CoreMessages", "the lab runs a job of {ranks} ranks on simulated CPU devices only; choose the simulated CPU backend, or 1 rank")},
    {ErrorCode::LabRanksNoStepMode, QT_TRANSLATE_NOOP("CoreMessages", "a job of {ranks} ranks cannot wait for Step before each allreduce step (the other ranks would wait in theirs); untick \"Step through allreduce\", or choose 1 rank")},
};

// The settings' names as messages use them (SettingSpec::label).
[[maybe_unused]] const char* const kSettingLabels[] = {
    QT_TRANSLATE_NOOP("Settings", "backend"),
    QT_TRANSLATE_NOOP("Settings", "devices"),
    QT_TRANSLATE_NOOP("Settings", "ranks"),
    QT_TRANSLATE_NOOP("Settings", "batch size"),
    QT_TRANSLATE_NOOP("Settings", "learning rate"),
    QT_TRANSLATE_NOOP("Settings", "epochs"),
    QT_TRANSLATE_NOOP("Settings", "mode"),
    QT_TRANSLATE_NOOP("Settings", "bounded mode's minibatches in flight"),
    QT_TRANSLATE_NOOP("Settings", "allreduce"),
    QT_TRANSLATE_NOOP("Settings", "link"),
    QT_TRANSLATE_NOOP("Settings", "gradient size the link charges for"),
    QT_TRANSLATE_NOOP("Settings", "seed"),
    QT_TRANSLATE_NOOP("Settings", "training images"),
    QT_TRANSLATE_NOOP("Settings", "test images"),
    QT_TRANSLATE_NOOP("Settings", "memory budget"),
    QT_TRANSLATE_NOOP("Settings", "threads per device"),
    QT_TRANSLATE_NOOP("Settings", "data placement"),
    QT_TRANSLATE_NOOP("Settings", "engine"),
    QT_TRANSLATE_NOOP("Settings", "snapshot interval"),
    QT_TRANSLATE_NOOP("Settings", "setting"),
};

// The choices that core words as prose ({choices} of SettingUnknownChoice): translated as a
// whole; tst_ui checks that they still match what core says.
[[maybe_unused]] const char* const kChoiceTexts[] = {
    QT_TRANSLATE_NOOP("Settings", "lenet, resnet50, gpt2-small or a parameter count such as 50M (K, M, G: "
                                  "thousands, millions, billions)"),
    QT_TRANSLATE_NOOP("Settings", "none, pcie3, pcie4, pcie5, nvlink3, nvlink4, ib-hdr, ib-ndr, 100gbe, 25gbe, "
                                  "10gbe, 1gbe, or custom:LAT_US,GB_PER_S with a latency >= 0 microseconds and a "
                                  "bandwidth > 0 GB/s per direction, e.g. custom:2000,0.05"),
    QT_TRANSLATE_NOOP("Settings", "one of the settings table's names"),
};

} // namespace

const char* uiTemplate(ErrorCode code)
{
    for (const Phrase& p : kPhrases)
        if (p.code == code)
            return p.source;
    return nullptr;
}

QString settingLabel(const char* label)
{
    return QCoreApplication::translate("Settings", label);
}

QString settingValueWords(const std::string& setting, const std::string& value)
{
    // the control panel's words for each choice (its context, so that both translate alike)
    static const struct { const char* setting; const char* value; const char* words; } kWords[] = {
        {"backend", "cpu", QT_TRANSLATE_NOOP("gpulab::ControlPanel", "Simulated CPU")},
        {"backend", "cuda", QT_TRANSLATE_NOOP("gpulab::ControlPanel", "CUDA GPU")},
        {"backend", "auto", QT_TRANSLATE_NOOP("gpulab::ControlPanel", "automatic (a CUDA GPU when there is one)")},
        {"mode", "sync", QT_TRANSLATE_NOOP("gpulab::ControlPanel", "sync (wait every minibatch)")},
        {"mode", "async", QT_TRANSLATE_NOOP("gpulab::ControlPanel", "async (never wait)")},
        {"mode", "bounded", QT_TRANSLATE_NOOP("gpulab::ControlPanel", "bounded async")},
        {"allreduce", "naive", QT_TRANSLATE_NOOP("gpulab::ControlPanel", "naive (the book's: via device 0)")},
        {"allreduce", "ring", QT_TRANSLATE_NOOP("gpulab::ControlPanel", "ring")},
        {"allreduce", "nccl", QT_TRANSLATE_NOOP("gpulab::ControlPanel", "NCCL (one GPU per device)")},
        {"link", "none", QT_TRANSLATE_NOOP("gpulab::ControlPanel", "no link model (shared memory)")},
        {"link", "pcie3", QT_TRANSLATE_NOOP("gpulab::ControlPanel", "PCIe 3.0 x16")},
        {"link", "pcie4", QT_TRANSLATE_NOOP("gpulab::ControlPanel", "PCIe 4.0 x16")},
        {"link", "pcie5", QT_TRANSLATE_NOOP("gpulab::ControlPanel", "PCIe 5.0 x16")},
        {"link", "nvlink3", QT_TRANSLATE_NOOP("gpulab::ControlPanel", "NVLink 3 (A100)")},
        {"link", "nvlink4", QT_TRANSLATE_NOOP("gpulab::ControlPanel", "NVLink 4 (H100)")},
        {"link", "ib-hdr", QT_TRANSLATE_NOOP("gpulab::ControlPanel", "InfiniBand HDR (200 Gb/s)")},
        {"link", "ib-ndr", QT_TRANSLATE_NOOP("gpulab::ControlPanel", "InfiniBand NDR (400 Gb/s)")},
        {"link", "100gbe", QT_TRANSLATE_NOOP("gpulab::ControlPanel", "100 Gb Ethernet")},
        {"link", "25gbe", QT_TRANSLATE_NOOP("gpulab::ControlPanel", "25 Gb Ethernet")},
        {"link", "10gbe", QT_TRANSLATE_NOOP("gpulab::ControlPanel", "10 Gb Ethernet")},
        {"link", "1gbe", QT_TRANSLATE_NOOP("gpulab::ControlPanel", "1 Gb Ethernet")},
        {"link_params", "lenet", QT_TRANSLATE_NOOP("gpulab::ControlPanel", "LeNet's own gradients")},
        {"link_params", "resnet50", QT_TRANSLATE_NOOP("gpulab::ControlPanel", "as if ResNet-50 (25.6 M parameters)")},
        {"link_params", "gpt2-small", QT_TRANSLATE_NOOP("gpulab::ControlPanel", "as if GPT-2 small (124 M parameters)")},
        {"data_on_device", "auto", QT_TRANSLATE_NOOP("gpulab::ControlPanel", "automatic (on the GPU when it fits)")},
        {"data_on_device", "device", QT_TRANSLATE_NOOP("gpulab::ControlPanel", "on every device, uploaded once")},
        {"data_on_device", "host", QT_TRANSLATE_NOOP("gpulab::ControlPanel", "on the host, copied each minibatch")},
        {"engine", "threaded", QT_TRANSLATE_NOOP("gpulab::ControlPanel", "threaded (a worker per device)")},
        {"engine", "sync", QT_TRANSLATE_NOOP("gpulab::ControlPanel", "synchronous (each op at once; for debugging)")},
    };
    for (const auto& w : kWords)
        if (setting == w.setting && value == w.value)
            return QCoreApplication::translate("gpulab::ControlPanel", w.words);
    if (setting == "link" && value.rfind("custom:", 0) == 0) {
        const QStringList p = QString::fromStdString(value.substr(7)).split(QLatin1Char(','));
        if (p.size() == 2)
            return QCoreApplication::translate("gpulab::ControlPanel", "custom: %1 µs, %2 GB/s").arg(p[0], p[1]);
    }
    return QString();
}

QString settingValueText(const std::string& setting, const std::string& value)
{
    const QString words = settingValueWords(setting, value), raw = QString::fromStdString(value);
    return words.isEmpty() ? raw : QStringLiteral("%1 · %2").arg(words, raw);
}

QString coreMessage(const Error& e)
{
    if (!e)
        return QString();
    const char* source = uiTemplate(e.code);
    if (!source) // Other: core's own words
        return QString::fromStdString(english(e));
    QString text = QCoreApplication::translate("CoreMessages", source);
    QString out;
    int i = 0;
    while (i < text.size()) {
        const int open = text.indexOf(QLatin1Char('{'), i);
        const int close = open < 0 ? -1 : text.indexOf(QLatin1Char('}'), open);
        if (open < 0 || close < 0) {
            out += text.mid(i);
            break;
        }
        out += text.mid(i, open - i);
        const std::string key = text.mid(open + 1, close - open - 1).toStdString();
        bool found = false;
        for (const auto& [k, v] : e.facts)
            if (k == key) {
                // a setting's name is itself translated, and so are choices worded as prose
                out += key == "label" || key == "choices" ? settingLabel(v.c_str()) : QString::fromStdString(v);
                found = true;
                break;
            }
        if (!found)
            out += text.mid(open, close - open + 1);
        i = close + 1;
    }
    return out;
}

} // namespace gpulab
