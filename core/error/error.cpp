// The English templates of every error code, and their filling.
#include "error/error.h"

namespace gpulab {

namespace {

struct Entry {
    ErrorCode code;
    const char* name;
    const char* english;
};

// Keep in step with ui/core_messages.cpp (tst_ui checks that the two agree).
const Entry kEntries[] = {
    {ErrorCode::Other, "other", "{text}"},
    {ErrorCode::SettingNotNumber, "setting_not_number", "{flag} needs a number (got '{value}')"},
    {ErrorCode::SettingNotWholeNumber, "setting_not_whole_number", "{flag} needs a whole number (got '{value}')"},
    {ErrorCode::SettingBadSize, "setting_bad_size",
     "cannot read '{value}' as a size for {flag} (examples: 268435456, 256MiB, 2GiB)"},
    {ErrorCode::SettingUnknownChoice, "setting_unknown_choice", "unknown {label} '{value}' for {flag} (choose {choices})"},
    {ErrorCode::SettingOutOfRange, "setting_out_of_range", "{label} must be between {min} and {max} ({flag}, got {value})"},
    {ErrorCode::BatchBelowDevices, "batch_below_devices",
     "batch size {batch} is smaller than the number of devices ({devices}): every device needs at least one image per "
     "minibatch"},
    {ErrorCode::SubsetBelowDevices, "subset_below_devices",
     "training subset must be 0 (all) or at least the number of devices ({devices}) (--subset, got {subset})"},
    {ErrorCode::NcclNeedsCuda, "nccl_needs_cuda",
     "NCCL allreduce needs --backend cuda with one GPU per device; use naive or ring"},
    {ErrorCode::NcclUnavailable, "nccl_unavailable", "NCCL allreduce: {why}; use naive or ring"},
    {ErrorCode::NcclTooFewGpus, "nccl_too_few_gpus",
     "NCCL allreduce needs one GPU per device: {devices} devices but {gpus} GPU(s) here; use naive or ring, or "
     "--devices {gpus}"},
    {ErrorCode::LinkWithNccl, "link_with_nccl",
     "--link {link} models naive and ring allreduce's transfers; NCCL's are real: use --link none with --allreduce "
     "nccl, or naive or ring with a link"},
    {ErrorCode::LinkParamsWithoutLink, "link_params_without_link",
     "--link-params {params} scales what a link charges, and --link is none: choose a link (e.g. --link 10gbe) or "
     "--link-params lenet"},
    {ErrorCode::OutOfMemory, "out_of_memory",
     "out of memory on {device}: requested {requested} with {in_use} of {budget} in use. Use sync or bounded mode, a "
     "smaller batch, or a larger memory budget."},
    {ErrorCode::DatasetOutOfMemory, "dataset_out_of_memory",
     "out of memory on {device}: requested {requested} with {in_use} of {budget} in use, for the training set on the "
     "device. Keep it on the host (--data-on-device host) or give the device a larger memory budget."},
    {ErrorCode::LossNaN, "loss_nan",
     "the loss became NaN at epoch {epoch}, minibatch {batch} (device {device}): training diverged; lower the learning "
     "rate (now {lr})"},
    {ErrorCode::LossInfinite, "loss_infinite",
     "the loss became infinite at epoch {epoch}, minibatch {batch} (device {device}): training diverged; lower the "
     "learning rate (now {lr})"},
    {ErrorCode::LossHuge, "loss_huge",
     "the loss became huge ({loss} per image) at epoch {epoch}, minibatch {batch} (device {device}): training "
     "diverged; lower the learning rate (now {lr})"},
    {ErrorCode::Stopped, "stopped", "stopped by the user"},
    {ErrorCode::CudaNotBuilt, "cuda_not_built", "this build of gpulab has no CUDA backend (configure with a CUDA toolkit)"},
    {ErrorCode::CudaNoDriver, "cuda_no_driver",
     "no NVIDIA driver found (libcuda could not be loaded); install the NVIDIA driver to use GPUs"},
    {ErrorCode::CudaNoDevice, "cuda_no_device", "no CUDA device: the NVIDIA driver (CUDA {version}) sees no GPU"},
    {ErrorCode::CudaDriverTooOld, "cuda_driver_too_old",
     "the NVIDIA driver is too old: it supports CUDA {driver}, this build needs CUDA {needs}; update the driver"},
    {ErrorCode::CudaNotUsable, "cuda_not_usable", "CUDA is not usable: {why}"},
    {ErrorCode::DatasetDirMissing, "dataset_dir_missing",
     "Fashion-MNIST not found in {dir}: install the Debian package dataset-fashion-mnist (apt-get install "
     "dataset-fashion-mnist) or pass --data DIR with {files}"},
    {ErrorCode::DatasetMissing, "dataset_missing",
     "Fashion-MNIST file {file} not found: install the Debian package dataset-fashion-mnist (apt-get install "
     "dataset-fashion-mnist) or pass --data DIR with {files}"},
    {ErrorCode::DataCannotOpen, "data_cannot_open", "{file}: cannot open ({why})"},
    {ErrorCode::DataCannotStat, "data_cannot_stat", "{file}: cannot stat ({why})"},
    {ErrorCode::DataIsDirectory, "data_is_directory", "{file}: is a directory, not an IDX file"},
    {ErrorCode::DataNotRegular, "data_not_regular", "{file}: not a regular file"},
    {ErrorCode::DataTooLarge, "data_too_large",
     "{file}: file is {size_mib} MiB, larger than any IDX file gpulab can use ({max_mib} MiB)"},
    {ErrorCode::DataReadError, "data_read_error", "{file}: read error ({why})"},
    {ErrorCode::GzipCannotStart, "gzip_cannot_start", "{file}: cannot start zlib inflate ({why})"},
    {ErrorCode::GzipTooLarge, "gzip_too_large",
     "{file}: decompressed data is larger than {max_mib} MiB; this is not an IDX file gpulab can use"},
    {ErrorCode::GzipEndsEarly, "gzip_ends_early",
     "{file}: corrupt or truncated gzip data (stream ends early after {bytes} compressed bytes)"},
    {ErrorCode::GzipCorrupt, "gzip_corrupt", "{file}: corrupt or truncated gzip data ({why})"},
    {ErrorCode::GzipTrailing, "gzip_trailing", "{file}: {bytes} unexpected bytes after the gzip stream"},
    {ErrorCode::IdxTooShort, "idx_too_short",
     "{file}: not an IDX file ({bytes} bytes, too short for the 4-byte IDX magic)"},
    {ErrorCode::IdxBadMagic, "idx_bad_magic",
     "{file}: not an IDX file (bad magic {b0} {b1}, expected 0x00 0x00) and not gzip either"},
    {ErrorCode::IdxBadType, "idx_bad_type",
     "{file}: unsupported IDX element type {type} (only 0x08, unsigned byte, is supported)"},
    {ErrorCode::IdxBadDimCount, "idx_bad_dim_count", "{file}: unsupported IDX dimension count {dims} (expected 1 to 4)"},
    {ErrorCode::IdxHeaderTruncated, "idx_header_truncated",
     "{file}: truncated header: {dims} dimensions need {need} bytes, file has {have}"},
    {ErrorCode::IdxBadDim, "idx_bad_dim", "{file}: dimension {index} is {value} (must be positive)"},
    {ErrorCode::IdxTooManyElements, "idx_too_many_elements", "{file}: dimensions describe more than {max} elements"},
    {ErrorCode::IdxTruncated, "idx_truncated", "{file}: truncated: header says {want} bytes of data, file has {have}"},
    {ErrorCode::IdxTrailing, "idx_trailing", "{file}: {bytes} unexpected bytes after the data"},
    {ErrorCode::ImagesBadRank, "images_bad_rank", "{file}: images have {dims} dimensions, expected 3 (count x 28 x 28)"},
    {ErrorCode::ImagesBadSize, "images_bad_size", "{file}: images are {width}x{height}, expected 28x28"},
    {ErrorCode::LabelsBadRank, "labels_bad_rank", "{file}: labels have {dims} dimensions, expected 1"},
    {ErrorCode::LabelCountMismatch, "label_count_mismatch", "{images} images in {images_file} but {labels} labels in {labels_file}"},
    {ErrorCode::LabelOutOfRange, "label_out_of_range", "{file}: label {label} at index {index} is outside 0..9"},
    {ErrorCode::RecordingCannotOpen, "recording_cannot_open", "{file}: cannot open the recording ({why})"},
    {ErrorCode::RecordingCannotWrite, "recording_cannot_write", "{file}: cannot write the recording ({why})"},
    {ErrorCode::RecordingIsDirectory, "recording_is_directory", "{file}: is a directory, not a gpulab recording"},
    {ErrorCode::RecordingEmpty, "recording_empty", "{file}: the file is empty, not a gpulab recording"},
    {ErrorCode::RecordingForeign, "recording_foreign", "{file}: not a gpulab recording (it is a {kind} file)"},
    {ErrorCode::RecordingBadMagic, "recording_bad_magic",
     "{file}: not a gpulab recording (it does not start with GPULABRC)"},
    {ErrorCode::RecordingNewerVersion, "recording_newer_version",
     "{file}: recording format {version} is newer than this gpulab reads (up to {supported}); open it with a newer "
     "gpulab"},
    {ErrorCode::RecordingTruncatedHeader, "recording_truncated_header",
     "{file}: the recording is cut short inside its header ({bytes} bytes)"},
    {ErrorCode::RecordingDamaged, "recording_damaged",
     "{file}: the recording is damaged near byte {offset} (a checksum or the compressed data does not match)"},
    {ErrorCode::RecordingBadRecord, "recording_bad_record",
     "{file}: the recording is damaged near byte {offset} (a record claims {size} bytes; at most {max} are allowed)"},
    {ErrorCode::RecordingNoHeader, "recording_no_header", "{file}: the recording has no run header"},
    {ErrorCode::RecordingTooLarge, "recording_too_large",
     "{file}: the recording holds more than {max_mib} MiB of data; gpulab reads no more"},
    {ErrorCode::RanksNotBuilt, "ranks_not_built",
     "this gpulab was built without Gloo, so ranks in separate processes are not available; install libgloo-dev and build again"},
    {ErrorCode::RankPortInUse, "rank_port_in_use",
     "rank 0 cannot serve the rendezvous on {address}: the port is already in use; pick another with --master HOST:PORT"},
    {ErrorCode::RankCannotListen, "rank_cannot_listen",
     "rank 0 cannot serve the rendezvous on {address} ({why}); give an address of this machine with --master HOST:PORT"},
    {ErrorCode::RankMasterUnreachable, "rank_master_unreachable",
     "cannot reach rank 0 at {master} within {seconds} s ({why}); start rank 0 first and check the address and port"},
    {ErrorCode::RankMasterLost, "rank_master_lost",
     "lost the connection to rank 0 at {master}"},
    {ErrorCode::RankBadToken, "rank_bad_token",
     "rank {rank} was refused: its token is not the job's; give every rank the token rank 0 printed (--token)"},
    {ErrorCode::RankWorldDiffers, "rank_world_differs",
     "rank {rank} was refused: it counts {world} ranks but rank 0 counts {world0}; give every rank the same --world"},
    {ErrorCode::RankOutOfRange, "rank_out_of_range",
     "rank {rank} was refused: a job of {world} ranks numbers them 0 to {last}"},
    {ErrorCode::RankTaken, "rank_taken",
     "rank {rank} was refused: another process already joined as rank {rank}; give every process its own --rank"},
    {ErrorCode::RankSettingDiffers, "rank_setting_differs",
     "rank {rank} was refused: its {setting} is {value} but rank 0's is {value0}; every rank must train with the same settings"},
    {ErrorCode::RankJoinTimeout, "rank_join_timeout",
     "the ranks did not all join within {seconds} s; start every rank, or allow more time with --timeout"},
    {ErrorCode::RankLost, "rank_lost",
     "rank {rank} stopped ({why}); every rank of the job stops"},
    {ErrorCode::RankCudaNeedsNccl, "rank_cuda_needs_nccl",
     "GPU ranks need NCCL, and this gpulab was built without it; install NCCL and build again, or use --backend cpu"},
    {ErrorCode::RankLocalIndexBad, "rank_local_index_bad",
     "{variable} is '{value}', not a rank's index on this machine (0 or more); unset it or give each rank its own"},
    {ErrorCode::RankTooFewGpus, "rank_too_few_gpus",
     "rank {rank} is rank {local} on this machine ({from}) and would use {needs}, but this machine has {gpus} GPU(s); a GPU rank needs GPUs of its own: start fewer ranks here, or give each fewer --devices"},
    {ErrorCode::RankNcclIdBad, "rank_nccl_id_bad",
     "the NCCL id in the rendezvous store has {bytes} bytes, not 128; every rank must run the same gpulab"},
    {ErrorCode::RankNcclInitFailed, "rank_nccl_init_failed",
     "rank {rank} could not join the ranks' NCCL communicator on GPU {gpu}: {why}"},
    {ErrorCode::RankNcclInitTimeout, "rank_nccl_init_timeout",
     "the ranks' NCCL communicator was not ready within {seconds} s; start every rank, or allow more time with --timeout"},
    {ErrorCode::LabRanksNeedCpu, "lab_ranks_need_cpu",
     "the lab runs a job of {ranks} ranks on simulated CPU devices only; choose the simulated CPU backend, or 1 rank"},
    {ErrorCode::LabRanksNoStepMode, "lab_ranks_no_step_mode",
     "a job of {ranks} ranks cannot wait for Step before each allreduce step (the other ranks would wait in theirs); untick \"Step through allreduce\", or choose 1 rank"},
};

const Entry* entry(ErrorCode c)
{
    for (const Entry& e : kEntries)
        if (e.code == c)
            return &e;
    return nullptr;
}

} // namespace

std::string Error::fact(std::string_view name) const
{
    for (const auto& [k, v] : facts)
        if (k == name)
            return v;
    return {};
}

Error other_error(const std::string& text)
{
    return Error(ErrorCode::Other, {{"text", text}});
}

const char* error_code_name(ErrorCode c)
{
    const Entry* e = entry(c);
    return e ? e->name : "none";
}

ErrorCode error_code_from_name(std::string_view name)
{
    for (const Entry& e : kEntries)
        if (name == e.name)
            return e.code;
    return ErrorCode::None;
}

const char* error_template(ErrorCode c)
{
    const Entry* e = entry(c);
    return e ? e->english : "";
}

std::vector<ErrorCode> all_error_codes()
{
    std::vector<ErrorCode> codes;
    for (const Entry& e : kEntries)
        codes.push_back(e.code);
    return codes;
}

std::string fill_template(std::string_view tmpl, const Error& e)
{
    std::string out;
    size_t i = 0;
    while (i < tmpl.size()) {
        const size_t open = tmpl.find('{', i);
        if (open == std::string_view::npos) {
            out.append(tmpl.substr(i));
            break;
        }
        const size_t close = tmpl.find('}', open);
        if (close == std::string_view::npos) {
            out.append(tmpl.substr(i));
            break;
        }
        out.append(tmpl.substr(i, open - i));
        const std::string_view key = tmpl.substr(open + 1, close - open - 1);
        bool found = false;
        for (const auto& [k, v] : e.facts)
            if (k == key) {
                out += v;
                found = true;
                break;
            }
        if (!found)
            out.append(tmpl.substr(open, close - open + 1));
        i = close + 1;
    }
    return out;
}

std::string english(const Error& e)
{
    return fill_template(error_template(e.code), e);
}

} // namespace gpulab
