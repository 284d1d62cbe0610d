// What went wrong, as data: a code and its facts (device, bytes, file, offset, setting,
// allowed range...). Core reports failures this way; each front end phrases them from the
// code in its own language (the CLI in English with english(), the lab through its
// translations), so rewording a message never breaks a translation. No Qt.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace gpulab {

// Every code has an English template in error.cpp with its facts as {name}. The lab keeps
// the same templates as translation sources (ui/core_messages.cpp); a test checks that the
// two agree.
enum class ErrorCode {
    None,
    Other,                   // text: a failure that has no code of its own
    // ---- settings (setting = its name in the settings table, flag = its option) ----
    SettingNotNumber,        // flag, value
    SettingNotWholeNumber,   // flag, value
    SettingBadSize,          // flag, value
    SettingUnknownChoice,    // setting, flag, value, choices
    SettingOutOfRange,       // setting, label, flag, value, min, max
    BatchBelowDevices,       // batch, devices
    SubsetBelowDevices,      // subset, devices
    NcclNeedsCuda,           //
    NcclUnavailable,         // why
    NcclTooFewGpus,          // devices, gpus
    LinkWithNccl,            // link (its name)
    LinkParamsWithoutLink,   // params (as --link-params reads it)
    // ---- a run ----
    OutOfMemory,             // device, requested, in_use, budget
    DatasetOutOfMemory,      // device, requested, in_use, budget
    LossNaN,                 // epoch, batch, device, lr
    LossInfinite,            // epoch, batch, device, lr
    LossHuge,                // loss, epoch, batch, device, lr
    Stopped,                 //
    // ---- CUDA ----
    CudaNotBuilt,            //
    CudaNoDriver,            //
    CudaNoDevice,            // version
    CudaDriverTooOld,        // driver, needs
    CudaNotUsable,           // why
    // ---- data files ----
    DatasetDirMissing,       // dir, files
    DatasetMissing,          // file, files
    DataCannotOpen,          // file, why (the system's words)
    DataCannotStat,          // file, why
    DataIsDirectory,         // file
    DataNotRegular,          // file
    DataTooLarge,            // file, size_mib, max_mib
    DataReadError,           // file, why
    GzipCannotStart,         // file, why
    GzipTooLarge,            // file, max_mib
    GzipEndsEarly,           // file, bytes
    GzipCorrupt,             // file, why (zlib's words)
    GzipTrailing,            // file, bytes
    IdxTooShort,             // file, bytes
    IdxBadMagic,             // file, b0, b1
    IdxBadType,              // file, type
    IdxBadDimCount,          // file, dims
    IdxHeaderTruncated,      // file, dims, need, have
    IdxBadDim,               // file, index, value
    IdxTooManyElements,      // file, max
    IdxTruncated,            // file, want, have
    IdxTrailing,             // file, bytes
    ImagesBadRank,           // file, dims
    ImagesBadSize,           // file, width, height
    LabelsBadRank,           // file, dims
    LabelCountMismatch,      // images, images_file, labels, labels_file
    LabelOutOfRange,         // file, label, index
    // ---- recordings ----
    RecordingCannotOpen,     // file, why
    RecordingCannotWrite,    // file, why
    RecordingIsDirectory,    // file
    RecordingEmpty,          // file
    RecordingForeign,        // file, kind ("JSON", "PNG", "gzip", ...)
    RecordingBadMagic,       // file
    RecordingNewerVersion,   // file, version, supported
    RecordingTruncatedHeader,// file, bytes
    RecordingDamaged,        // file, offset
    RecordingBadRecord,      // file, offset, size, max
    RecordingNoHeader,       // file
    RecordingTooLarge,       // file, max_mib
    // ---- ranks in separate processes ----
    RanksNotBuilt,            // 
    RankPortInUse,            // address
    RankCannotListen,         // address, why
    RankMasterUnreachable,    // master, seconds, why
    RankMasterLost,           // master
    RankBadToken,             // rank
    RankWorldDiffers,         // rank, world, world0
    RankOutOfRange,           // rank, last, world
    RankTaken,                // rank
    RankSettingDiffers,       // rank, setting, value, value0
    RankJoinTimeout,          // seconds
    RankLost,                 // rank, why
    RankCudaNeedsNccl,        // 
    RankLocalIndexBad,        // variable, value
    RankTooFewGpus,           // rank, local, from, needs, gpus
    RankNcclIdBad,            // bytes
    RankNcclInitFailed,       // rank, gpu, why
    RankNcclInitTimeout,      // seconds
    // ---- the lab's job of several ranks ----
    LabRanksNeedCpu,          // ranks
    LabRanksNoStepMode,       // ranks
};

struct Error {
    ErrorCode code = ErrorCode::None;
    std::vector<std::pair<std::string, std::string>> facts;

    Error() = default;
    Error(ErrorCode c, std::vector<std::pair<std::string, std::string>> f = {})
        : code(c), facts(std::move(f))
    {
    }
    explicit operator bool() const { return code != ErrorCode::None; }
    friend bool operator==(const Error&, const Error&) = default;
    std::string fact(std::string_view name) const; // "" when absent
};

Error other_error(const std::string& text);

const char* error_code_name(ErrorCode c);     // stable: "out_of_memory", "setting_out_of_range"
ErrorCode error_code_from_name(std::string_view name); // None when unknown
const char* error_template(ErrorCode c);      // English, facts as {name}
std::vector<ErrorCode> all_error_codes();     // None excluded
// template with each {name} replaced by the fact of that name (unknown names stay)
std::string fill_template(std::string_view tmpl, const Error& e);
std::string english(const Error& e);

// An exception that carries an Error; what() is its English text.
class GpulabError : public std::runtime_error {
public:
    explicit GpulabError(Error e) : std::runtime_error(english(e)), error(std::move(e)) {}
    Error error;
};

} // namespace gpulab
