<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="zh_CN">
<context>
    <name>CoreMessages</name>
    <message>
        <source>{flag} needs a number (got &apos;{value}&apos;)</source>
        <translation>{flag} 需要一个数（得到的是“{value}”）</translation>
    </message>
    <message>
        <source>{flag} needs a whole number (got &apos;{value}&apos;)</source>
        <translation>{flag} 需要一个整数（得到的是“{value}”）</translation>
    </message>
    <message>
        <source>cannot read &apos;{value}&apos; as a size for {flag} (examples: 268435456, 256MiB, 2GiB)</source>
        <translation>无法把“{value}”读作 {flag} 的大小（例如：268435456、256MiB、2GiB）</translation>
    </message>
    <message>
        <source>unknown {label} &apos;{value}&apos; for {flag} (choose {choices})</source>
        <translation>{flag} 的{label}“{value}”未知（可选：{choices}）</translation>
    </message>
    <message>
        <source>{label} must be between {min} and {max} ({flag}, got {value})</source>
        <translation>{label}必须在 {min} 到 {max} 之间（{flag}，当前为 {value}）</translation>
    </message>
    <message>
        <source>batch size {batch} is smaller than the number of devices ({devices}): every device needs at least one image per minibatch</source>
        <translation>批量 {batch} 小于设备数（{devices}）：每个设备在每个小批量中至少需要一张图像</translation>
    </message>
    <message>
        <source>training subset must be 0 (all) or at least the number of devices ({devices}) (--subset, got {subset})</source>
        <translation>训练子集必须为 0（全部）或不少于设备数（{devices}）（--subset，当前为 {subset}）</translation>
    </message>
    <message>
        <source>NCCL allreduce needs --backend cuda with one GPU per device; use naive or ring</source>
        <translation>NCCL 全规约需要 --backend cuda，且每个设备一块 GPU；请改用 naive 或 ring</translation>
    </message>
    <message>
        <source>NCCL allreduce: {why}; use naive or ring</source>
        <translation>NCCL 全规约：{why}；请改用 naive 或 ring</translation>
    </message>
    <message>
        <source>NCCL allreduce needs one GPU per device: {devices} devices but {gpus} GPU(s) here; use naive or ring, or --devices {gpus}</source>
        <translation>NCCL 全规约需要每个设备一块 GPU：{devices} 个设备，但这里只有 {gpus} 块 GPU；请改用 naive 或 ring，或使用 --devices {gpus}</translation>
    </message>
    <message>
        <source>--link {link} models naive and ring allreduce&apos;s transfers; NCCL&apos;s are real: use --link none with --allreduce nccl, or naive or ring with a link</source>
        <translation>--link {link} 模拟的是 naive 和 ring 全规约的传输；NCCL 的传输是真实的：使用 --allreduce nccl 时请设 --link none，或者改用 naive 或 ring 搭配链路</translation>
    </message>
    <message>
        <source>--link-params {params} scales what a link charges, and --link is none: choose a link (e.g. --link 10gbe) or --link-params lenet</source>
        <translation>--link-params {params} 用来放大链路计费的梯度大小，但 --link 为 none：请选择一条链路（例如 --link 10gbe），或使用 --link-params lenet</translation>
    </message>
    <message>
        <source>out of memory on {device}: requested {requested} with {in_use} of {budget} in use. Use sync or bounded mode, a smaller batch, or a larger memory budget.</source>
        <translation>{device} 内存不足：申请 {requested} 时已用 {in_use}（预算 {budget}）。请改用同步或有界模式、更小的批量，或更大的内存预算。</translation>
    </message>
    <message>
        <source>out of memory on {device}: requested {requested} with {in_use} of {budget} in use, for the training set on the device. Keep it on the host (--data-on-device host) or give the device a larger memory budget.</source>
        <translation>{device} 内存不足：为放在设备上的训练集申请 {requested} 时已用 {in_use}（预算 {budget}）。请把训练集留在主机上（--data-on-device host），或给设备更大的内存预算。</translation>
    </message>
    <message>
        <source>the loss became NaN at epoch {epoch}, minibatch {batch} (device {device}): training diverged; lower the learning rate (now {lr})</source>
        <translation>损失在第 {epoch} 个迭代周期、第 {batch} 个小批量（设备 {device}）变为 NaN：训练发散；请降低学习率（当前为 {lr}）</translation>
    </message>
    <message>
        <source>the loss became infinite at epoch {epoch}, minibatch {batch} (device {device}): training diverged; lower the learning rate (now {lr})</source>
        <translation>损失在第 {epoch} 个迭代周期、第 {batch} 个小批量（设备 {device}）变为无穷大：训练发散；请降低学习率（当前为 {lr}）</translation>
    </message>
    <message>
        <source>the loss became huge ({loss} per image) at epoch {epoch}, minibatch {batch} (device {device}): training diverged; lower the learning rate (now {lr})</source>
        <translation>损失在第 {epoch} 个迭代周期、第 {batch} 个小批量（设备 {device}）变得极大（每张图像 {loss}）：训练发散；请降低学习率（当前为 {lr}）</translation>
    </message>
    <message>
        <source>stopped by the user</source>
        <translation>已被用户停止</translation>
    </message>
    <message>
        <source>this build of gpulab has no CUDA backend (configure with a CUDA toolkit)</source>
        <translation>此版本的 gpulab 没有 CUDA 后端（需在配置时提供 CUDA 工具包）</translation>
    </message>
    <message>
        <source>no NVIDIA driver found (libcuda could not be loaded); install the NVIDIA driver to use GPUs</source>
        <translation>未找到 NVIDIA 驱动（无法加载 libcuda）；请安装 NVIDIA 驱动以使用 GPU</translation>
    </message>
    <message>
        <source>no CUDA device: the NVIDIA driver (CUDA {version}) sees no GPU</source>
        <translation>没有 CUDA 设备：NVIDIA 驱动（CUDA {version}）找不到 GPU</translation>
    </message>
    <message>
        <source>the NVIDIA driver is too old: it supports CUDA {driver}, this build needs CUDA {needs}; update the driver</source>
        <translation>NVIDIA 驱动太旧：它支持 CUDA {driver}，此版本需要 CUDA {needs}；请更新驱动</translation>
    </message>
    <message>
        <source>CUDA is not usable: {why}</source>
        <translation>CUDA 不可用：{why}</translation>
    </message>
    <message>
        <source>Fashion-MNIST not found in {dir}: install the Debian package dataset-fashion-mnist (apt-get install dataset-fashion-mnist) or pass --data DIR with {files}</source>
        <translation>在 {dir} 中找不到 Fashion-MNIST：请安装 Debian 软件包 dataset-fashion-mnist（apt-get install dataset-fashion-mnist），或选择包含 {files} 的目录</translation>
    </message>
    <message>
        <source>Fashion-MNIST file {file} not found: install the Debian package dataset-fashion-mnist (apt-get install dataset-fashion-mnist) or pass --data DIR with {files}</source>
        <translation>找不到 Fashion-MNIST 文件 {file}：请安装 Debian 软件包 dataset-fashion-mnist（apt-get install dataset-fashion-mnist），或选择包含 {files} 的目录</translation>
    </message>
    <message>
        <source>{file}: cannot open ({why})</source>
        <translation>{file}：无法打开（{why}）</translation>
    </message>
    <message>
        <source>{file}: cannot stat ({why})</source>
        <translation>{file}：无法读取文件信息（{why}）</translation>
    </message>
    <message>
        <source>{file}: is a directory, not an IDX file</source>
        <translation>{file}：这是一个目录，不是 IDX 文件</translation>
    </message>
    <message>
        <source>{file}: not a regular file</source>
        <translation>{file}：不是普通文件</translation>
    </message>
    <message>
        <source>{file}: file is {size_mib} MiB, larger than any IDX file gpulab can use ({max_mib} MiB)</source>
        <translation>{file}：文件有 {size_mib} MiB，超过 gpulab 可用的任何 IDX 文件（{max_mib} MiB）</translation>
    </message>
    <message>
        <source>{file}: read error ({why})</source>
        <translation>{file}：读取出错（{why}）</translation>
    </message>
    <message>
        <source>{file}: cannot start zlib inflate ({why})</source>
        <translation>{file}：无法启动 zlib 解压（{why}）</translation>
    </message>
    <message>
        <source>{file}: decompressed data is larger than {max_mib} MiB; this is not an IDX file gpulab can use</source>
        <translation>{file}：解压后的数据超过 {max_mib} MiB；这不是 gpulab 可用的 IDX 文件</translation>
    </message>
    <message>
        <source>{file}: corrupt or truncated gzip data (stream ends early after {bytes} compressed bytes)</source>
        <translation>{file}：gzip 数据损坏或不完整（读完 {bytes} 个压缩字节后数据流提前结束）</translation>
    </message>
    <message>
        <source>{file}: corrupt or truncated gzip data ({why})</source>
        <translation>{file}：gzip 数据损坏或不完整（{why}）</translation>
    </message>
    <message>
        <source>{file}: {bytes} unexpected bytes after the gzip stream</source>
        <translation>{file}：gzip 数据流之后多出 {bytes} 个字节</translation>
    </message>
    <message>
        <source>{file}: not an IDX file ({bytes} bytes, too short for the 4-byte IDX magic)</source>
        <translation>{file}：不是 IDX 文件（只有 {bytes} 个字节，不够 4 字节的 IDX 标识）</translation>
    </message>
    <message>
        <source>{file}: not an IDX file (bad magic {b0} {b1}, expected 0x00 0x00) and not gzip either</source>
        <translation>{file}：不是 IDX 文件（标识为 {b0} {b1}，应为 0x00 0x00），也不是 gzip 文件</translation>
    </message>
    <message>
        <source>{file}: unsupported IDX element type {type} (only 0x08, unsigned byte, is supported)</source>
        <translation>{file}：不支持的 IDX 元素类型 {type}（只支持 0x08，即无符号字节）</translation>
    </message>
    <message>
        <source>{file}: unsupported IDX dimension count {dims} (expected 1 to 4)</source>
        <translation>{file}：不支持的 IDX 维数 {dims}（应为 1 到 4）</translation>
    </message>
    <message>
        <source>{file}: truncated header: {dims} dimensions need {need} bytes, file has {have}</source>
        <translation>{file}：文件头不完整：{dims} 个维度需要 {need} 个字节，文件只有 {have} 个</translation>
    </message>
    <message>
        <source>{file}: dimension {index} is {value} (must be positive)</source>
        <translation>{file}：第 {index} 维为 {value}（必须为正数）</translation>
    </message>
    <message>
        <source>{file}: dimensions describe more than {max} elements</source>
        <translation>{file}：各维度描述的元素超过 {max} 个</translation>
    </message>
    <message>
        <source>{file}: truncated: header says {want} bytes of data, file has {have}</source>
        <translation>{file}：数据不完整：文件头说有 {want} 个字节的数据，文件只有 {have} 个</translation>
    </message>
    <message>
        <source>{file}: {bytes} unexpected bytes after the data</source>
        <translation>{file}：数据之后多出 {bytes} 个字节</translation>
    </message>
    <message>
        <source>{file}: images have {dims} dimensions, expected 3 (count x 28 x 28)</source>
        <translation>{file}：图像有 {dims} 个维度，应为 3（数量 x 28 x 28）</translation>
    </message>
    <message>
        <source>{file}: images are {width}x{height}, expected 28x28</source>
        <translation>{file}：图像为 {width}x{height}，应为 28x28</translation>
    </message>
    <message>
        <source>{file}: labels have {dims} dimensions, expected 1</source>
        <translation>{file}：标签有 {dims} 个维度，应为 1</translation>
    </message>
    <message>
        <source>{images} images in {images_file} but {labels} labels in {labels_file}</source>
        <translation>{images_file} 中有 {images} 张图像，但 {labels_file} 中有 {labels} 个标签</translation>
    </message>
    <message>
        <source>{file}: label {label} at index {index} is outside 0..9</source>
        <translation>{file}：第 {index} 个标签为 {label}，不在 0..9 之内</translation>
    </message>
    <message>
        <source>{file}: cannot open the recording ({why})</source>
        <translation>{file}：无法打开录制文件（{why}）</translation>
    </message>
    <message>
        <source>{file}: cannot write the recording ({why})</source>
        <translation>{file}：无法写入录制文件（{why}）</translation>
    </message>
    <message>
        <source>{file}: is a directory, not a gpulab recording</source>
        <translation>{file}：这是一个目录，不是 gpulab 录制文件</translation>
    </message>
    <message>
        <source>{file}: the file is empty, not a gpulab recording</source>
        <translation>{file}：文件为空，不是 gpulab 录制文件</translation>
    </message>
    <message>
        <source>{file}: not a gpulab recording (it is a {kind} file)</source>
        <translation>{file}：不是 gpulab 录制文件（它是 {kind} 文件）</translation>
    </message>
    <message>
        <source>{file}: not a gpulab recording (it does not start with GPULABRC)</source>
        <translation>{file}：不是 gpulab 录制文件（开头不是 GPULABRC）</translation>
    </message>
    <message>
        <source>{file}: recording format {version} is newer than this gpulab reads (up to {supported}); open it with a newer gpulab</source>
        <translation>{file}：录制格式 {version} 比此版本 gpulab 能读的（最高 {supported}）更新；请用更新的 gpulab 打开</translation>
    </message>
    <message>
        <source>{file}: the recording is cut short inside its header ({bytes} bytes)</source>
        <translation>{file}：录制文件在文件头内就中断了（{bytes} 个字节）</translation>
    </message>
    <message>
        <source>{file}: the recording is damaged near byte {offset} (a checksum or the compressed data does not match)</source>
        <translation>{file}：录制文件在第 {offset} 个字节附近损坏（校验和或压缩数据不符）</translation>
    </message>
    <message>
        <source>{file}: the recording is damaged near byte {offset} (a record claims {size} bytes; at most {max} are allowed)</source>
        <translation>{file}：录制文件在第 {offset} 个字节附近损坏（一条记录声称有 {size} 个字节；最多允许 {max} 个）</translation>
    </message>
    <message>
        <source>{file}: the recording has no run header</source>
        <translation>{file}：录制文件没有运行信息头</translation>
    </message>
    <message>
        <source>{file}: the recording holds more than {max_mib} MiB of data; gpulab reads no more</source>
        <translation>{file}：录制文件的数据超过 {max_mib} MiB；gpulab 不再继续读取</translation>
    </message>
    <message>
        <source>this gpulab was built without Gloo, so ranks in separate processes are not available; install libgloo-dev and build again</source>
        <translation>此 gpulab 构建时没有 Gloo，无法在多个进程中运行多个 rank；请安装 libgloo-dev 后重新构建</translation>
    </message>
    <message>
        <source>rank 0 cannot serve the rendezvous on {address}: the port is already in use; pick another with --master HOST:PORT</source>
        <translation>rank 0 无法在 {address} 上提供会合服务：端口已被占用；请用 --master HOST:PORT 另选端口</translation>
    </message>
    <message>
        <source>rank 0 cannot serve the rendezvous on {address} ({why}); give an address of this machine with --master HOST:PORT</source>
        <translation>rank 0 无法在 {address} 上提供会合服务（{why}）；请用 --master HOST:PORT 指定本机的地址</translation>
    </message>
    <message>
        <source>cannot reach rank 0 at {master} within {seconds} s ({why}); start rank 0 first and check the address and port</source>
        <translation>{seconds} 秒内无法连接到位于 {master} 的 rank 0（{why}）；请先启动 rank 0，并检查地址和端口</translation>
    </message>
    <message>
        <source>lost the connection to rank 0 at {master}</source>
        <translation>与位于 {master} 的 rank 0 的连接已断开</translation>
    </message>
    <message>
        <source>rank {rank} was refused: its token is not the job's; give every rank the token rank 0 printed (--token)</source>
        <translation>rank {rank} 被拒绝：它的令牌与本作业的不同；请给每个 rank 使用 rank 0 打印的令牌（--token）</translation>
    </message>
    <message>
        <source>rank {rank} was refused: it counts {world} ranks but rank 0 counts {world0}; give every rank the same --world</source>
        <translation>rank {rank} 被拒绝：它认为共有 {world} 个 rank，而 rank 0 认为有 {world0} 个；请给每个 rank 相同的 --world</translation>
    </message>
    <message>
        <source>rank {rank} was refused: a job of {world} ranks numbers them 0 to {last}</source>
        <translation>rank {rank} 被拒绝：{world} 个 rank 的作业中编号为 0 到 {last}</translation>
    </message>
    <message>
        <source>rank {rank} was refused: another process already joined as rank {rank}; give every process its own --rank</source>
        <translation>rank {rank} 被拒绝：已有另一个进程以 rank {rank} 加入；请给每个进程不同的 --rank</translation>
    </message>
    <message>
        <source>rank {rank} was refused: its {setting} is {value} but rank 0's is {value0}; every rank must train with the same settings</source>
        <translation>rank {rank} 被拒绝：它的 {setting} 为 {value}，而 rank 0 的为 {value0}；所有 rank 必须使用相同的设置</translation>
    </message>
    <message>
        <source>the ranks did not all join within {seconds} s; start every rank, or allow more time with --timeout</source>
        <translation>{seconds} 秒内并非所有 rank 都已加入；请启动所有 rank，或用 --timeout 留出更多时间</translation>
    </message>
    <message>
        <source>rank {rank} stopped ({why}); every rank of the job stops</source>
        <translation>rank {rank} 已停止（{why}）；本作业的所有 rank 都将停止</translation>
    </message>
    <message>
        <source>GPU ranks need NCCL, and this gpulab was built without it; install NCCL and build again, or use --backend cpu</source>
        <translation>GPU rank 需要 NCCL，而本 gpulab 构建时没有 NCCL；请安装 NCCL 后重新构建，或使用 --backend cpu</translation>
    </message>
    <message>
        <source>{variable} is &apos;{value}&apos;, not a rank&apos;s index on this machine (0 or more); unset it or give each rank its own</source>
        <translation>{variable} 为“{value}”，不是本机上的 rank 序号（0 或更大）；请取消设置它，或给每个 rank 各自的序号</translation>
    </message>
    <message>
        <source>rank {rank} is rank {local} on this machine ({from}) and would use {needs}, but this machine has {gpus} GPU(s); a GPU rank needs GPUs of its own: start fewer ranks here, or give each fewer --devices</source>
        <translation>rank {rank} 是本机上的第 {local} 个 rank（{from}），将使用 {needs}，但本机只有 {gpus} 个 GPU；每个 GPU rank 需要独占的 GPU：请在本机少启动几个 rank，或减少每个 rank 的 --devices</translation>
    </message>
    <message>
        <source>the NCCL id in the rendezvous store has {bytes} bytes, not 128; every rank must run the same gpulab</source>
        <translation>会合存储中的 NCCL id 有 {bytes} 字节，而不是 128；所有 rank 必须运行同一个 gpulab</translation>
    </message>
    <message>
        <source>rank {rank} could not join the ranks&apos; NCCL communicator on GPU {gpu}: {why}</source>
        <translation>rank {rank} 无法在 GPU {gpu} 上加入各 rank 的 NCCL 通信器：{why}</translation>
    </message>
    <message>
        <source>the ranks&apos; NCCL communicator was not ready within {seconds} s; start every rank, or allow more time with --timeout</source>
        <translation>{seconds} 秒内各 rank 的 NCCL 通信器仍未就绪；请启动所有 rank，或用 --timeout 留出更多时间</translation>
    </message>
    <message>
        <source>the lab runs a job of {ranks} ranks on simulated CPU devices only; choose the simulated CPU backend, or 1 rank</source>
        <translation>实验室只在模拟 CPU 设备上运行 {ranks} 个 rank 的作业；请选择模拟 CPU 后端，或选 1 个 rank</translation>
    </message>
    <message>
        <source>a job of {ranks} ranks cannot wait for Step before each allreduce step (the other ranks would wait in theirs); untick &quot;Step through allreduce&quot;, or choose 1 rank</source>
        <translation>{ranks} 个 rank 的作业不能在每个 allreduce 步骤前等待“单步”（其他 rank 会一直在各自的 allreduce 中等待）；请取消勾选“单步执行 allreduce”，或选 1 个 rank</translation>
    </message>
</context>
<context>
    <name>Settings</name>
    <message>
        <source>backend</source>
        <translation>后端</translation>
    </message>
    <message>
        <source>devices</source>
        <translation>设备数</translation>
    </message>
    <message>
        <source>batch size</source>
        <translation>批量</translation>
    </message>
    <message>
        <source>learning rate</source>
        <translation>学习率</translation>
    </message>
    <message>
        <source>epochs</source>
        <translation>迭代周期数</translation>
    </message>
    <message>
        <source>mode</source>
        <translation>执行模式</translation>
    </message>
    <message>
        <source>bounded mode&apos;s minibatches in flight</source>
        <translation>有界模式下同时在途的小批量数</translation>
    </message>
    <message>
        <source>allreduce</source>
        <translation>全规约方式</translation>
    </message>
    <message>
        <source>link</source>
        <translation>互连链路</translation>
    </message>
    <message>
        <source>seed</source>
        <translation>随机种子</translation>
    </message>
    <message>
        <source>training images</source>
        <translation>训练图像数</translation>
    </message>
    <message>
        <source>test images</source>
        <translation>测试图像数</translation>
    </message>
    <message>
        <source>memory budget</source>
        <translation>内存预算</translation>
    </message>
    <message>
        <source>threads per device</source>
        <translation>每设备线程数</translation>
    </message>
    <message>
        <source>data placement</source>
        <translation>数据位置</translation>
    </message>
    <message>
        <source>engine</source>
        <translation>引擎</translation>
    </message>
    <message>
        <source>snapshot interval</source>
        <translation>快照间隔</translation>
    </message>
    <message>
        <source>setting</source>
        <translation>设置</translation>
    </message>
    <message>
        <source>gradient size the link charges for</source>
        <translation>链路计费的梯度大小</translation>
    </message>
    <message>
        <source>lenet, resnet50, gpt2-small or a parameter count such as 50M (K, M, G: thousands, millions, billions)</source>
        <translation>lenet、resnet50、gpt2-small，或一个参数个数，例如 50M（K、M、G：千、百万、十亿）</translation>
    </message>
    <message>
        <source>none, pcie3, pcie4, pcie5, nvlink3, nvlink4, ib-hdr, ib-ndr, 100gbe, 25gbe, 10gbe, 1gbe, or custom:LAT_US,GB_PER_S with a latency &gt;= 0 microseconds and a bandwidth &gt; 0 GB/s per direction, e.g. custom:2000,0.05</source>
        <translation>none、pcie3、pcie4、pcie5、nvlink3、nvlink4、ib-hdr、ib-ndr、100gbe、25gbe、10gbe、1gbe，或 custom:LAT_US,GB_PER_S（延迟 &gt;= 0 微秒，每个方向带宽 &gt; 0 GB/s），例如 custom:2000,0.05</translation>
    </message>
    <message>
        <source>one of the settings table&apos;s names</source>
        <translation>设置表中的某个名称</translation>
    </message>
    <message>
        <source>ranks</source>
        <translation>rank 数</translation>
    </message>
</context>
<context>
    <name>Presets</name>
    <message>
        <source>Book: 1 device, batch 256, lr 0.2</source>
        <translation>书中示例：1 个设备，批量 256，学习率 0.2</translation>
    </message>
    <message>
        <source>The baseline: one device trains the whole minibatch.</source>
        <translation>基线：一个设备训练整个小批量。</translation>
    </message>
    <message>
        <source>Book: 2 devices, batch 256, lr 0.2</source>
        <translation>书中示例：2 个设备，批量 256，学习率 0.2</translation>
    </message>
    <message>
        <source>Same batch split over two devices: each does half the work, plus an allreduce.</source>
        <translation>同一批量分给两个设备：各做一半的工作，再加一次 allreduce。</translation>
    </message>
    <message>
        <source>Book: 2 devices, batch 512, lr 0.2</source>
        <translation>书中示例：2 个设备，批量 512，学习率 0.2</translation>
    </message>
    <message>
        <source>The batch grows with the devices: each device keeps a full share of work.</source>
        <translation>批量随设备数增大：每个设备仍有完整的一份工作。</translation>
    </message>
    <message>
        <source>Sync, 256 MiB per device</source>
        <translation>同步，每设备 256 MiB</translation>
    </message>
    <message>
        <source>One wait per minibatch: memory stays flat, well under the budget.</source>
        <translation>每个小批量等待一次：内存平稳，远低于预算。</translation>
    </message>
    <message>
        <source>Async, 256 MiB per device: runs out of memory</source>
        <translation>异步，每设备 256 MiB：内存耗尽</translation>
    </message>
    <message>
        <source>The front end queues the whole epoch; every queued minibatch holds memory.</source>
        <translation>前端把整个迭代周期都放进队列；每个排队的小批量都占用内存。</translation>
    </message>
    <message>
        <source>Bounded async (k = 2), 256 MiB per device</source>
        <translation>有界异步（k = 2），每设备 256 MiB</translation>
    </message>
    <message>
        <source>At most two minibatches in flight: the front end stays ahead, memory stays bounded.</source>
        <translation>最多两个小批量在途：前端保持领先，内存有界。</translation>
    </message>
    <message>
        <source>Ring allreduce, 4 devices</source>
        <translation>环形 allreduce，4 个设备</translation>
    </message>
    <message>
        <source>Every device sends and receives the same amount; no device is the hub.</source>
        <translation>每个设备收发的数据量相同；没有中心设备。</translation>
    </message>
    <message>
        <source>Step through a ring allreduce, 4 devices</source>
        <translation>单步执行环形 allreduce，4 个设备</translation>
    </message>
    <message>
        <source>Press Step to move the chunks one allreduce step at a time.</source>
        <translation>按“单步”让数据块每次前进一个 allreduce 步骤。</translation>
    </message>
    <message>
        <source>8 devices, batch 1024, lr 0.4</source>
        <translation>8 个设备，批量 1024，学习率 0.4</translation>
    </message>
    <message>
        <source>All eight simulated devices at full speed.</source>
        <translation>八个模拟设备全速运行。</translation>
    </message>
    <message>
        <source>Learns in half a minute: batch 16, lr 0.2, 10,000 images</source>
        <translation>半分钟内学会：批量 16，学习率 0.2，10,000 张图像</translation>
    </message>
    <message>
        <source>2 devices, batch 16, lr 0.2, 3 epochs on the first 10,000 images: many small SGD steps, so the loss leaves 2.303 (guessing) within seconds.</source>
        <translation>2 个设备，批量 16，学习率 0.2，在前 10,000 张图像上训练 3 个迭代周期：许多小的 SGD 步，损失几秒内就离开 2.303（随机猜测）。</translation>
    </message>
    <message>
        <source>Diverges: the quick run with lr 20</source>
        <translation>发散：快速运行改用学习率 20</translation>
    </message>
    <message>
        <source>Batch 16, lr 20 (100 times the quick run's): each step overshoots, the loss climbs from 2.3 and blows up within ten minibatches.</source>
        <translation>批量 16，学习率 20（快速运行的 100 倍）：每一步都走过头，损失从 2.3 上升，并在十个小批量内爆炸。</translation>
    </message>
    <message>
        <source>Async with memory to spare: 10,000 images, 4 GiB</source>
        <translation>内存充足的异步：10,000 张图像，4 GiB</translation>
    </message>
    <message>
        <source>Async is slowest in epoch 1: every queued minibatch takes fresh memory (page faults). Later epochs reuse those blocks and run faster.</source>
        <translation>异步在第 1 个迭代周期最慢：每个排队的小批量都要占用新的内存（缺页）。之后的迭代周期重用这些内存块，运行更快。</translation>
    </message>
    <message>
        <source>Slow link (1 GbE): 1 device, batch 128</source>
        <translation>慢速链路（1 GbE）：1 个设备，批量大小 128</translation>
    </message>
    <message>
        <source>The baseline for the slow-link runs: one device, nothing crosses the link. Compare its seconds per epoch with the next two.</source>
        <translation>慢速链路实验的基线：一个设备，链路上没有传输。把它每个迭代周期的秒数与后两个预设比较。</translation>
    </message>
    <message>
        <source>Slow link (1 GbE): 2 devices, batch 128</source>
        <translation>慢速链路（1 GbE）：2 个设备，批量大小 128</translation>
    </message>
    <message>
        <source>Half the compute each, plus an allreduce of at least 8.4 ms over the modelled link per minibatch: no faster than one device.</source>
        <translation>每个设备只算一半，但每个小批量都要在模型链路上做至少 8.4 毫秒的 allreduce：并不比一个设备快。</translation>
    </message>
    <message>
        <source>Slow link (1 GbE): 2 devices, batch 1024</source>
        <translation>慢速链路（1 GbE）：2 个设备，批量大小 1024</translation>
    </message>
    <message>
        <source>The same allreduce, eight times fewer of them per epoch: the larger batch wins the time back.</source>
        <translation>同样的 allreduce，每个迭代周期少了八倍：更大的批量把时间赢了回来。</translation>
    </message>
    <message>
        <source>As if ResNet-50: ring over 10 GbE, 2 devices (modelled)</source>
        <translation>假如是 ResNet-50：10 GbE 上的环形 allreduce，2 个设备（模型估算）</translation>
    </message>
    <message>
        <source>The link charges ResNet-50&apos;s 25.6 M parameters (102 MB) while LeNet trains: bandwidth-bound, about 82 ms per allreduce. See the Allreduce view.</source>
        <translation>训练的是 LeNet，链路却按 ResNet-50 的 25.6 M 个参数（102 MB）计费：受带宽限制，每次 allreduce 约 82 毫秒。请看 Allreduce 视图。</translation>
    </message>
</context>
<context>
    <name>QObject</name>
    <message>
        <source>Drag to pan, wheel to zoom, double-click to follow the data again</source>
        <translation>拖动以平移，滚轮缩放，双击恢复跟随数据</translation>
    </message>
    <message>
        <source>cannot write %1 (is the folder writable?)</source>
        <translation>无法写入 %1（文件夹可写吗？）</translation>
    </message>
    <message>
        <source>cannot export %1: use a .png, .pdf or .svg file name</source>
        <translation>无法导出 %1：请使用 .png、.pdf 或 .svg 文件名</translation>
    </message>
    <message>
        <source>nothing to export for %1</source>
        <translation>%1 没有可导出的内容</translation>
    </message>
    <message>
        <source>cannot write %1: %2</source>
        <translation>无法写入 %1：%2</translation>
    </message>
    <message>
        <source>cannot create the folder %1</source>
        <translation>无法创建文件夹 %1</translation>
    </message>
</context>
<context>
    <name>gpulab::AllreduceView</name>
    <message>
        <source>Time per step (latest allreduce)</source>
        <translation>每步耗时（最近一次 allreduce）</translation>
    </message>
    <message>
        <source>step</source>
        <translation>步骤</translation>
    </message>
    <message>
        <source>ms</source>
        <translation>毫秒</translation>
    </message>
    <message>
        <source>Bytes per device (latest allreduce)</source>
        <translation>每个设备的字节数（最近一次 allreduce）</translation>
    </message>
    <message>
        <source>device</source>
        <translation>设备</translation>
    </message>
    <message>
        <source>KiB</source>
        <translation>KiB</translation>
    </message>
    <message>
        <source>sent</source>
        <translation>发送</translation>
    </message>
    <message>
        <source>received</source>
        <translation>接收</translation>
    </message>
    <message>
        <source>Gradient before allreduce
 </source>
        <translation>allreduce 之前的梯度
 </translation>
    </message>
    <message>
        <source>element</source>
        <translation>元素</translation>
    </message>
    <message>
        <source>gradient</source>
        <translation>梯度</translation>
    </message>
    <message>
        <source>Gradient after allreduce
 </source>
        <translation>allreduce 之后的梯度
 </translation>
    </message>
    <message>
        <source>Gradient shown:</source>
        <translation>显示的梯度：</translation>
    </message>
    <message>
        <source>Which parameter's gradient is captured around the allreduce (from the next run on)</source>
        <translation>在 allreduce 前后记录哪个参数的梯度（从下一次运行起生效）</translation>
    </message>
    <message>
        <source>As the book prints it, on every device:</source>
        <translation>像书中那样打印每个设备上的值：</translation>
    </message>
    <message>
        <source>reduce-scatter</source>
        <translation>归约-分散</translation>
    </message>
    <message>
        <source>reduce</source>
        <translation>归约</translation>
    </message>
    <message>
        <source>all-gather</source>
        <translation>全收集</translation>
    </message>
    <message>
        <source>broadcast</source>
        <translation>广播</translation>
    </message>
    <message>
        <source>(when the allreduce has finished)</source>
        <translation>（allreduce 完成后显示）</translation>
    </message>
    <message>
        <source>dev %1</source>
        <translation>设备 %1</translation>
    </message>
    <message>
        <source>epoch %1, minibatch %2</source>
        <translation>第 %1 个迭代周期，第 %2 个小批量</translation>
    </message>
    <message>
        <source>%1 gradient before allreduce
%2</source>
        <translation>allreduce 之前 %1 的梯度
%2</translation>
    </message>
    <message>
        <source>%1 gradient after allreduce
%2</source>
        <translation>allreduce 之后 %1 的梯度
%2</translation>
    </message>
    <message>
        <source>Allreduce</source>
        <translation>Allreduce</translation>
    </message>
    <message>
        <source>Last allreduce (epoch %1, minibatch %2): all %3 steps done, %4 moved</source>
        <translation>最后一次全归约（第 %1 个迭代周期，第 %2 个小批量）：全部 %3 步已完成，共传输 %4</translation>
    </message>
    <message>
        <source>Last allreduce (epoch %1, minibatch %2): stopped after step %3 of %4</source>
        <translation>最后一次全归约（第 %1 个迭代周期，第 %2 个小批量）：在第 %3 步（共 %4 步）后停止</translation>
    </message>
    <message>
        <source>Run completed. </source>
        <translation>运行完成。</translation>
    </message>
    <message>
        <source>sum</source>
        <translation>和</translation>
    </message>
    <message>
        <source>c%1</source>
        <translation>c%1</translation>
    </message>
    <message>
        <source>none</source>
        <translation>无</translation>
    </message>
    <message>
        <source>Beside it, the last allreduce of:</source>
        <translation>并排显示此运行的最后一次全归约：</translation>
    </message>
    <message>
        <source>Draw an earlier run's last allreduce beside this one: naive against ring, 2 devices against 4</source>
        <translation>在旁边画出较早一次运行的最后一次全归约：朴素对比环形，2 个设备对比 4 个</translation>
    </message>
    <message>
        <source>%1 GB</source>
        <translation>%1 GB</translation>
    </message>
    <message>
        <source>%1 MB</source>
        <translation>%1 MB</translation>
    </message>
    <message>
        <source>%1 kB</source>
        <translation>%1 kB</translation>
    </message>
    <message>
        <source>%1 B</source>
        <translation>%1 B</translation>
    </message>
    <message>
        <source>%1 µs</source>
        <translation>%1 微秒</translation>
    </message>
    <message>
        <source>%1 ms</source>
        <translation>%1 毫秒</translation>
    </message>
    <message>
        <source>%1 s</source>
        <translation>%1 秒</translation>
    </message>
    <message>
        <source>%1 GB/s</source>
        <translation>%1 GB/s</translation>
    </message>
    <message>
        <source>link model</source>
        <translation>链路模型</translation>
    </message>
    <message>
        <source>link model (scaled bytes)</source>
        <translation>链路模型（放大的字节数）</translation>
    </message>
    <message>
        <source>The broadcasts run on different workers but share device 0&apos;s link: one after another.</source>
        <translation>各次广播在不同的工作线程上运行，但共用设备 0 的链路：一个接一个地传。</translation>
    </message>
    <message>
        <source>One device: no allreduce, nothing crosses a link.</source>
        <translation>单个设备：没有 allreduce，链路上没有传输。</translation>
    </message>
    <message>
        <source>No link model: the simulated devices share this machine&apos;s memory, so a transfer costs a memcpy. Choose a link to see what communication costs.</source>
        <translation>没有链路模型：模拟设备共享本机内存，一次传输只花一次 memcpy 的时间。选择一种链路，看看通信的代价。</translation>
    </message>
    <message>
        <source>Link %1: α = %2, β = %3 per direction.</source>
        <translation>链路 %1：α = %2，β = 每个方向 %3。</translation>
    </message>
    <message>
        <source>Charged as %1 (%2 M parameters): S = %3 per device, %4× LeNet&apos;s %5 (modelled; the training is LeNet&apos;s).</source>
        <translation>按 %1（%2 M 个参数）计费：每个设备 S = %3，是 LeNet 的 %5 的 %4 倍（模型估算；训练的仍是 LeNet）。</translation>
    </message>
    <message>
        <source>Ring: 2(n−1)·α + 2(n−1)/n·S/β = %1·%2 + %3·%4 / %5 = %6 + %7 = %8</source>
        <translation>环形：2(n−1)·α + 2(n−1)/n·S/β = %1·%2 + %3·%4 / %5 = %6 + %7 = %8</translation>
    </message>
    <message>
        <source>Naive, every copy through device 0&apos;s link: 2(n−1)·(α + S/β) = %1·(%2 + %3 / %4) = %5 + %6 = %7</source>
        <translation>朴素方式，每次复制都经过设备 0 的链路：2(n−1)·(α + S/β) = %1·(%2 + %3 / %4) = %5 + %6 = %7</translation>
    </message>
    <message>
        <source>Latency-bound: α is %1% of the model&apos;s time.</source>
        <translation>受延迟限制：α 占模型时间的 %1%。</translation>
    </message>
    <message>
        <source>Bandwidth-bound: S/β is %1% of the model&apos;s time.</source>
        <translation>受带宽限制：S/β 占模型时间的 %1%。</translation>
    </message>
    <message>
        <source>Measured (epoch %1, minibatch %2): %3</source>
        <translation>实测（第 %1 个迭代周期，第 %2 个小批量）：%3</translation>
    </message>
    <message>
        <source> (the steps themselves %1; the rest waits between them)</source>
        <translation>（各步骤本身共 %1，其余是步骤之间的等待）</translation>
    </message>
    <message>
        <source>, %1× the model</source>
        <translation>，为模型的 %1 倍</translation>
    </message>
    <message>
        <source>algbw = S/t = %1, busbw = algbw·2(n−1)/n = %2 (as nccl-tests)%3</source>
        <translation>algbw = S/t = %1，busbw = algbw·2(n−1)/n = %2（按 nccl-tests 的定义）%3</translation>
    </message>
    <message>
        <source>, modelled bytes</source>
        <translation>，按模型字节数</translation>
    </message>
    <message>
        <source>Time per step
(latest allreduce)</source>
        <translation>每步耗时
（最近一次 allreduce）</translation>
    </message>
    <message>
        <source>Bytes per device
(latest allreduce)</source>
        <translation>每个设备的字节数
（最近一次 allreduce）</translation>
    </message>
    <message>
        <source>Step %1 of %2: %3, %4 transfers, %5 moved</source>
        <translation>第 %1 步（共 %2 步）：%3，%4 次传输，共传输 %5</translation>
    </message>
    <message>
        <source>Measured: %1</source>
        <translation>实测：%1</translation>
    </message>
    <message>
        <source>Link model: %1</source>
        <translation>链路模型：%1</translation>
    </message>
    <message>
        <source>Modelled: the link model set this step&apos;s time, charging %1 as if the model were bigger</source>
        <translation>模型估算：此步耗时由链路模型给出，按“模型更大”计费 %1</translation>
    </message>
    <message>
        <source>Modelled: the link model set this step&apos;s time</source>
        <translation>模型估算：此步耗时由链路模型给出</translation>
    </message>
    <message>
        <source>%1 (modelled)</source>
        <translation>%1（模型估算）</translation>
    </message>
    <message>
        <source>Last allreduce (epoch %1, minibatch %2): all %3 steps done, %4 moved (modelled)</source>
        <translation>最后一次全归约（第 %1 个迭代周期，第 %2 个小批量）：全部 %3 步已完成，共传输 %4（模型估算）</translation>
    </message>
    <message>
        <source>across ranks (network)</source>
        <translation>跨 rank（网络）</translation>
    </message>
    <message>
        <source>Across ranks, the network hop (%1): measured %2 for %3 per rank, %4 ranks (epoch %5, minibatch %6)</source>
        <translation>跨 rank 的网络一跳（%1）：每个 rank %3，实测 %2，共 %4 个 rank（第 %5 个迭代周期，第 %6 个小批量）</translation>
    </message>
    <message>
        <source>One device per rank: nothing to reduce within a rank.</source>
        <translation>每个 rank 一个设备：rank 内无需归约。</translation>
    </message>
    <message>
        <source>A job of %1 ranks × 1 device: %2 devices in all.</source>
        <translation>一个由 %1 个 rank × 1 个设备组成的作业：共 %2 个设备。</translation>
    </message>
    <message>
        <source>A job of %1 ranks × %2 devices: %3 devices in all.</source>
        <translation>一个由 %1 个 rank × %2 个设备组成的作业：共 %3 个设备。</translation>
    </message>
    <message>
        <source>Its allreduce runs in two stages: 1. within each rank, among its %1 devices (the formulas below, n = %1); 2. across the %2 ranks, over the network (measured, the last line).</source>
        <translation>它的全规约分两个阶段：1. 在每个 rank 内部，于它的 %1 个设备之间进行（下面的公式，n = %1）；2. 在 %2 个 rank 之间，经由网络进行（实测，见最后一行）。</translation>
    </message>
</context>
<context>
    <name>gpulab::ColorLegend</name>
    <message>
        <source>−</source>
        <translation>−</translation>
    </message>
    <message>
        <source>+</source>
        <translation>+</translation>
    </message>
    <message>
        <source>0</source>
        <translation>0</translation>
    </message>
</context>
<context>
    <name>gpulab::ControlPanel</name>
    <message>
        <source>Preset</source>
        <translation>预设</translation>
    </message>
    <message>
        <source>Custom settings</source>
        <translation>自定义设置</translation>
    </message>
    <message>
        <source>Data</source>
        <translation>数据</translation>
    </message>
    <message>
        <source>Fashion-MNIST files</source>
        <translation>Fashion-MNIST 文件</translation>
    </message>
    <message>
        <source>Synthetic (no files needed)</source>
        <translation>合成数据（无需文件）</translation>
    </message>
    <message>
        <source>Folder with train-images-idx3-ubyte.gz and the three other IDX files</source>
        <translation>包含 train-images-idx3-ubyte.gz 及另外三个 IDX 文件的文件夹</translation>
    </message>
    <message>
        <source>…</source>
        <translation>…</translation>
    </message>
    <message>
        <source>Choose the Fashion-MNIST folder</source>
        <translation>选择 Fashion-MNIST 文件夹</translation>
    </message>
    <message>
        <source>Load</source>
        <translation>加载</translation>
    </message>
    <message>
        <source>Use synthetic data instead</source>
        <translation>改用合成数据</translation>
    </message>
    <message>
        <source>Settings</source>
        <translation>设置</translation>
    </message>
    <message>
        <source>Simulated CPU</source>
        <translation>模拟设备（CPU）</translation>
    </message>
    <message>
        <source>CUDA GPU</source>
        <translation>CUDA GPU</translation>
    </message>
    <message>
        <source>Not available: %1</source>
        <translation>不可用：%1</translation>
    </message>
    <message>
        <source>CUDA is not available here: %1</source>
        <translation>此处无法使用 CUDA：%1</translation>
    </message>
    <message>
        <source>CUDA: %1</source>
        <translation>CUDA：%1</translation>
    </message>
    <message>
        <source>Backend</source>
        <translation>后端</translation>
    </message>
    <message>
        <source>Devices</source>
        <translation>设备数</translation>
    </message>
    <message>
        <source>Batch size</source>
        <translation>批量大小</translation>
    </message>
    <message>
        <source>Learning rate</source>
        <translation>学习率</translation>
    </message>
    <message>
        <source>Epochs</source>
        <translation>迭代周期</translation>
    </message>
    <message>
        <source>sync (wait every minibatch)</source>
        <translation>同步（每个小批量等待）</translation>
    </message>
    <message>
        <source>async (never wait)</source>
        <translation>异步（从不等待）</translation>
    </message>
    <message>
        <source>bounded async</source>
        <translation>有界异步</translation>
    </message>
    <message>
        <source>k = </source>
        <translation>k = </translation>
    </message>
    <message>
        <source>Bounded async: at most k minibatches in flight</source>
        <translation>有界异步：最多 k 个小批量在途</translation>
    </message>
    <message>
        <source>Execution</source>
        <translation>执行方式</translation>
    </message>
    <message>
        <source>naive (the book's: via device 0)</source>
        <translation>朴素（书中做法：经由设备 0）</translation>
    </message>
    <message>
        <source>ring</source>
        <translation>环形</translation>
    </message>
    <message>
        <source>Allreduce</source>
        <translation>Allreduce</translation>
    </message>
    <message>
        <source>all</source>
        <translation>全部</translation>
    </message>
    <message>
        <source>Train on the first N images only, for a quick demo (0 = all)</source>
        <translation>只用前 N 张图像训练，便于快速演示（0 = 全部）</translation>
    </message>
    <message>
        <source>Training images</source>
        <translation>训练图像</translation>
    </message>
    <message>
        <source>Evaluate on the first N test images only (0 = all)</source>
        <translation>只用前 N 张测试图像评估（0 = 全部）</translation>
    </message>
    <message>
        <source>Test images</source>
        <translation>测试图像</translation>
    </message>
    <message>
        <source> MiB</source>
        <translation> MiB</translation>
    </message>
    <message>
        <source>Memory of each simulated device; an allocation beyond it fails</source>
        <translation>每个模拟设备的内存；超出后的分配会失败</translation>
    </message>
    <message>
        <source>Memory per device</source>
        <translation>每设备内存</translation>
    </message>
    <message>
        <source>Seed</source>
        <translation>随机种子</translation>
    </message>
    <message>
        <source>Start</source>
        <translation>开始</translation>
    </message>
    <message>
        <source>Pause</source>
        <translation>暂停</translation>
    </message>
    <message>
        <source>Step</source>
        <translation>单步</translation>
    </message>
    <message>
        <source>Stop</source>
        <translation>停止</translation>
    </message>
    <message>
        <source>Start a run with these settings</source>
        <translation>用这些设置开始一次运行</translation>
    </message>
    <message>
        <source>Pause at the next minibatch boundary, or resume</source>
        <translation>在下一个小批量边界暂停，或继续</translation>
    </message>
    <message>
        <source>While paused: run one minibatch. With "step through allreduce": one allreduce step</source>
        <translation>暂停时：运行一个小批量。勾选“单步执行 allreduce”时：执行一个 allreduce 步骤</translation>
    </message>
    <message>
        <source>A job of several ranks cannot pause: the other ranks would wait in their allreduce until they gave up. Choose 1 rank to pause and step</source>
        <translation>多个 rank 的作业不能暂停：其他 rank 会一直在各自的 allreduce 中等待，直到放弃。要暂停和单步，请选 1 个 rank</translation>
    </message>
    <message>
        <source>A job of several ranks cannot step one minibatch at a time: the other ranks would wait in their allreduce until they gave up. Choose 1 rank to step</source>
        <translation>多个 rank 的作业不能逐个小批量单步执行：其他 rank 会一直在各自的 allreduce 中等待，直到放弃。要单步，请选 1 个 rank</translation>
    </message>
    <message>
        <source>Stop the run (what is queued on the devices is dropped)</source>
        <translation>停止运行（设备上排队的操作将被丢弃）</translation>
    </message>
    <message>
        <source>Step through allreduce</source>
        <translation>单步执行 allreduce</translation>
    </message>
    <message>
        <source>The run waits before every allreduce step until Step is pressed</source>
        <translation>每个 allreduce 步骤之前等待，直到按下“单步”</translation>
    </message>
    <message>
        <source>Ready</source>
        <translation>就绪</translation>
    </message>
    <message>
        <source>Fashion-MNIST folder</source>
        <translation>Fashion-MNIST 文件夹</translation>
    </message>
    <message>
        <source>Loading the data…</source>
        <translation>正在加载数据…</translation>
    </message>
    <message>
        <source>No data loaded: choose a folder or the synthetic data</source>
        <translation>尚未加载数据：请选择文件夹或合成数据</translation>
    </message>
    <message>
        <source>No data: %1</source>
        <translation>没有数据：%1</translation>
    </message>
    <message>
        <source>The CUDA backend is not available here; choose Simulated CPU</source>
        <translation>此处无法使用 CUDA 后端；请选择模拟设备（CPU）</translation>
    </message>
    <message>
        <source>Loading…</source>
        <translation>正在加载…</translation>
    </message>
    <message>
        <source>Resume</source>
        <translation>继续</translation>
    </message>
    <message>
        <source>CUDA: GPUs found: %1</source>
        <translation>CUDA：找到 %1 个 GPU</translation>
    </message>
    <message>
        <source>Your own settings: choose a preset above to start from one of the lessons.</source>
        <translation>自定义设置：在上方选择一个预设，即可从某一课的设置开始。</translation>
    </message>
    <message>
        <source>The modelled interconnect between the simulated devices: each allreduce transfer lasts at least latency + bytes / bandwidth. Type custom:LAT_US,GB_PER_S for your own, e.g. custom:2000,0.05</source>
        <translation>模拟设备之间的互连模型：每次 allreduce 传输至少耗时 延迟 + 字节数 / 带宽。自定义请输入 custom:延迟微秒,每秒GB，例如 custom:2000,0.05</translation>
    </message>
    <message>
        <source>Link</source>
        <translation>链路</translation>
    </message>
    <message>
        <source>As if the model were bigger: the link charges each transfer as if the gradients had this many parameters (resnet50 = 25.6 M, gpt2-small = 124 M, or a count such as 50M). The training stays LeNet&apos;s; such steps are labelled modelled.</source>
        <translation>假如模型更大：链路按梯度有这么多参数来计算每次传输的时间（resnet50 = 25.6 M，gpt2-small = 124 M，或一个数量，例如 50M）。训练的仍是 LeNet；这样的步骤标为“模型估算”。</translation>
    </message>
    <message>
        <source>Link charges as</source>
        <translation>链路计费按</translation>
    </message>
    <message>
        <source>Link: choose a named link or type custom:LAT_US,GB_PER_S with a latency &gt;= 0 µs and a bandwidth &gt; 0 GB/s, e.g. custom:2000,0.05</source>
        <translation>链路：请选择一种已命名的链路，或输入 custom:延迟微秒,每秒GB（延迟 &gt;= 0 微秒，带宽 &gt; 0 GB/s），例如 custom:2000,0.05</translation>
    </message>
    <message>
        <source>Link charges as: choose lenet, resnet50, gpt2-small or type a parameter count such as 50M</source>
        <translation>链路计费按：请选择 lenet、resnet50、gpt2-small，或输入参数个数，例如 50M</translation>
    </message>
    <message>
        <source>No link model: transfers cost what a memcpy costs.</source>
        <translation>没有链路模型：传输只花 memcpy 的时间。</translation>
    </message>
    <message>
        <source>α = %1 µs, β = %2 GB/s per direction (a model)</source>
        <translation>α = %1 微秒，β = 每个方向 %2 GB/s（模型）</translation>
    </message>
    <message>
        <source>each gradient charged as %1 MB, not LeNet&apos;s 0.52 MB (modelled)</source>
        <translation>每份梯度按 %1 MB 计费，而不是 LeNet 的 0.52 MB（模型估算）</translation>
    </message>
    <message>
        <source>NCCL (one GPU per device)</source>
        <translation>NCCL（每个设备一块 GPU）</translation>
    </message>
    <message>
        <source>no link model (shared memory)</source>
        <translation>无链路模型（共享内存）</translation>
    </message>
    <message>
        <source>PCIe 3.0 x16</source>
        <translation>PCIe 3.0 x16</translation>
    </message>
    <message>
        <source>PCIe 4.0 x16</source>
        <translation>PCIe 4.0 x16</translation>
    </message>
    <message>
        <source>PCIe 5.0 x16</source>
        <translation>PCIe 5.0 x16</translation>
    </message>
    <message>
        <source>NVLink 3 (A100)</source>
        <translation>NVLink 3（A100 互连）</translation>
    </message>
    <message>
        <source>NVLink 4 (H100)</source>
        <translation>NVLink 4（H100 互连）</translation>
    </message>
    <message>
        <source>InfiniBand HDR (200 Gb/s)</source>
        <translation>InfiniBand HDR 网络（200 Gb/s）</translation>
    </message>
    <message>
        <source>InfiniBand NDR (400 Gb/s)</source>
        <translation>InfiniBand NDR 网络（400 Gb/s）</translation>
    </message>
    <message>
        <source>100 Gb Ethernet</source>
        <translation>100 Gb 以太网</translation>
    </message>
    <message>
        <source>25 Gb Ethernet</source>
        <translation>25 Gb 以太网</translation>
    </message>
    <message>
        <source>10 Gb Ethernet</source>
        <translation>10 Gb 以太网</translation>
    </message>
    <message>
        <source>1 Gb Ethernet</source>
        <translation>1 Gb 以太网</translation>
    </message>
    <message>
        <source>LeNet&apos;s own gradients</source>
        <translation>LeNet 自身的梯度</translation>
    </message>
    <message>
        <source>as if ResNet-50 (25.6 M parameters)</source>
        <translation>按 ResNet-50 计（2560 万参数）</translation>
    </message>
    <message>
        <source>as if GPT-2 small (124 M parameters)</source>
        <translation>按 GPT-2 small 计（1.24 亿参数）</translation>
    </message>
    <message>
        <source>automatic (on the GPU when it fits)</source>
        <translation>自动（放得下时放在 GPU 上）</translation>
    </message>
    <message>
        <source>on every device, uploaded once</source>
        <translation>在每个设备上，只上传一次</translation>
    </message>
    <message>
        <source>on the host, copied each minibatch</source>
        <translation>在主机上，每个小批量复制一次</translation>
    </message>
    <message>
        <source>threaded (a worker per device)</source>
        <translation>多线程（每个设备一个工作线程）</translation>
    </message>
    <message>
        <source>synchronous (each op at once; for debugging)</source>
        <translation>同步（每个操作立即执行；用于调试）</translation>
    </message>
    <message>
        <source>custom: %1 µs, %2 GB/s</source>
        <translation>自定义：%1 µs，%2 GB/s</translation>
    </message>
    <message>
        <source>automatic (a CUDA GPU when there is one)</source>
        <translation>自动（有 CUDA GPU 时使用 GPU）</translation>
    </message>
    <message>
        <source>Ranks</source>
        <translation>Rank 数</translation>
    </message>
    <message>
        <source>Ranks: separate processes on this machine, each with the devices on the left, joined over TCP loopback with Gloo exactly as separate machines would be. Rank 0 is the lab; the others run gpulab-cli train. 1 = one process, as usual. Simulated CPU devices only.</source>
        <translation>Rank：本机上各自独立的进程，每个都有左边设定的设备数，通过 TCP 回环用 Gloo 连接，与多台机器之间完全一样。rank 0 是实验室本身，其余运行 gpulab-cli train。1 = 一个进程，与平常相同。仅限模拟 CPU 设备。</translation>
    </message>
</context>
<context>
    <name>gpulab::DatasetLoader</name>
    <message>
        <source>Synthetic data</source>
        <translation>合成数据</translation>
    </message>
    <message>
        <source>Fashion-MNIST</source>
        <translation>Fashion-MNIST</translation>
    </message>
    <message>
        <source>%1: %2 training, %3 test images</source>
        <translation>%1：%2 张训练图像，%3 张测试图像</translation>
    </message>
</context>
<context>
    <name>gpulab::DeviceCard</name>
    <message>
        <source>= device 0</source>
        <translation>= 设备 0</translation>
    </message>
    <message>
        <source>Δ %1</source>
        <translation>Δ %1</translation>
    </message>
    <message>
        <source>Device %1</source>
        <translation>设备 %1</translation>
    </message>
    <message>
        <source>peak %1</source>
        <translation>峰值 %1</translation>
    </message>
    <message>
        <source>OUT OF MEMORY: more than %1 needed</source>
        <translation>内存不足：需要超过 %1</translation>
    </message>
    <message>
        <source>OUT OF MEMORY</source>
        <translation>内存不足</translation>
    </message>
    <message>
        <source>all freed after the run, budget %1</source>
        <translation>运行结束后已全部释放，预算 %1</translation>
    </message>
    <message>
        <source>freed · budget %1</source>
        <translation>已释放 · 预算 %1</translation>
    </message>
    <message>
        <source>freed</source>
        <translation>已释放</translation>
    </message>
    <message>
        <source>%1 of %2</source>
        <translation>%1 / %2</translation>
    </message>
    <message>
        <source>The run ended before its first parameter snapshot.</source>
        <translation>运行在第一次参数快照之前就结束了。</translation>
    </message>
    <message>
        <source>W1: 20 filters, 3×3</source>
        <translation>W1：20 个 3×3 卷积核</translation>
    </message>
    <message>
        <source>b1 (20)</source>
        <translation>b1 (20)</translation>
    </message>
    <message>
        <source>b2 (50)</source>
        <translation>b2 (50)</translation>
    </message>
    <message>
        <source>W3: 800 inputs × 128 hidden units</source>
        <translation>W3：800 个输入 × 128 个隐藏单元</translation>
    </message>
    <message>
        <source>W4: 128 hidden units × 10 classes</source>
        <translation>W4：128 个隐藏单元 × 10 个类别</translation>
    </message>
    <message>
        <source>W1: 20 × 3×3</source>
        <translation>W1：20 × 3×3</translation>
    </message>
    <message>
        <source>W3: 800 inputs × 128 units</source>
        <translation>W3：800 个输入 × 128 个单元</translation>
    </message>
    <message>
        <source>W3: 800 × 128</source>
        <translation>W3：800 × 128</translation>
    </message>
    <message>
        <source>W4: 128 units × 10 classes</source>
        <translation>W4：128 个单元 × 10 个类别</translation>
    </message>
    <message>
        <source>W4: 128 × 10</source>
        <translation>W4：128 × 10</translation>
    </message>
    <message>
        <source>The parameters appear here after the first minibatch's SGD step.</source>
        <translation>第一个小批量的 SGD 更新之后，参数会显示在这里。</translation>
    </message>
</context>
<context>
    <name>gpulab::DevicesView</name>
    <message>
        <source>Start a run to see each device's copy of the parameters.</source>
        <translation>开始一次运行，查看每个设备上的参数副本。</translation>
    </message>
    <message>
        <source>Colour of a weight: blue negative, white zero, red positive</source>
        <translation>权重的颜色：蓝色为负，白色为零，红色为正</translation>
    </message>
    <message>
        <source>one device: nothing to compare</source>
        <translation>只有一个设备：无需比较</translation>
    </message>
    <message>
        <source>&lt;span style='color:#1b5e20'&gt;&lt;b&gt;✔ all %1 copies are identical&lt;/b&gt;&lt;/span&gt; (largest difference between any two copies: 0)</source>
        <translation>&lt;span style='color:#1b5e20'&gt;&lt;b&gt;✔ 全部 %1 份副本完全相同&lt;/b&gt;&lt;/span&gt;（任意两份副本的最大差异：0）</translation>
    </message>
    <message>
        <source>&lt;span style='color:#b00020'&gt;&lt;b&gt;✘ the copies differ&lt;/b&gt;&lt;/span&gt;: largest difference between any two copies %1</source>
        <translation>&lt;span style='color:#b00020'&gt;&lt;b&gt;✘ 副本不一致&lt;/b&gt;&lt;/span&gt;：任意两份副本的最大差异 %1</translation>
    </message>
    <message>
        <source>Parameters after epoch %1, minibatch %2: %3</source>
        <translation>第 %1 个迭代周期、第 %2 个小批量之后的参数：%3</translation>
    </message>
    <message>
        <source>Run %1 ended before its first parameter snapshot.</source>
        <translation>运行 %1 在第一次参数快照之前就结束了。</translation>
    </message>
    <message>
        <source>Devices</source>
        <translation>设备</translation>
    </message>
    <message>
        <source>Waiting for the first parameter snapshot of run %1 (taken after a minibatch's SGD step)…</source>
        <translation>等待运行 %1 的第一次参数快照（在某个小批量的 SGD 更新之后记录）…</translation>
    </message>
    <message>
        <source>Initial parameters, copied to every device: %1</source>
        <translation>初始参数，已复制到每个设备：%1</translation>
    </message>
    <message>
        <source>Rank %1 · device %2</source>
        <translation>进程（rank）%1 · 设备 %2</translation>
    </message>
    <message>
        <source>Rank %1 · devices %2–%3</source>
        <translation>进程（rank）%1 · 设备 %2–%3</translation>
    </message>
</context>
<context>
    <name>gpulab::EngineView</name>
    <message>
        <source>forward</source>
        <translation>前向</translation>
    </message>
    <message>
        <source>backward</source>
        <translation>反向</translation>
    </message>
    <message>
        <source>allreduce</source>
        <translation>allreduce</translation>
    </message>
    <message>
        <source>SGD</source>
        <translation>SGD</translation>
    </message>
    <message>
        <source>other</source>
        <translation>其他</translation>
    </message>
    <message>
        <source>Each row is one worker. Ticks in the front-end row are pushes (black, one line per target device, device 0 lowest); the blocks are ops running on the devices; "other" is read-backs and evaluation.</source>
        <translation>每一行是一个工作线程。前端一行中的刻度是推送的操作（黑色，每个目标设备一行，设备 0 在最下）；色块是在设备上运行的操作；“其他”是读回与评估。</translation>
    </message>
    <message>
        <source>Each row is one worker. Ticks in the front-end row are pushes (black, one line per target device, device 0 lowest); the blocks are the time each worker took to queue an op&apos;s kernels on its GPU (the GPU runs them later); waiting for the GPU shows as &quot;readbacks&quot; (other).</source>
        <translation>每一行是一个工作线程。前端一行中的刻度是推送的操作（黑色，每个目标设备一行，设备 0 在最下）；色块是各工作线程把一个操作的内核排入其 GPU 队列所用的时间（GPU 稍后才执行它们）；等待 GPU 显示为“readbacks”（其他）。</translation>
    </message>
    <message>
        <source>Show:</source>
        <translation>显示：</translation>
    </message>
    <message>
        <source>last 0.5 s</source>
        <translation>最近 0.5 秒</translation>
    </message>
    <message>
        <source>last 2 s</source>
        <translation>最近 2 秒</translation>
    </message>
    <message>
        <source>last 10 s</source>
        <translation>最近 10 秒</translation>
    </message>
    <message>
        <source>the whole run</source>
        <translation>整次运行</translation>
    </message>
    <message>
        <source>Front end and device workers</source>
        <translation>前端与设备工作线程</translation>
    </message>
    <message>
        <source>seconds since Start</source>
        <translation>自开始以来的秒数</translation>
    </message>
    <message>
        <source>ops queued</source>
        <translation>排队的操作</translation>
    </message>
    <message>
        <source>front end</source>
        <translation>前端</translation>
    </message>
    <message>
        <source>device %1</source>
        <translation>设备 %1</translation>
    </message>
    <message>
        <source>push (one line per device)</source>
        <translation>推送（每个设备一行）</translation>
    </message>
    <message>
        <source>Engine</source>
        <translation>引擎</translation>
    </message>
    <message>
        <source>Show an earlier run's time line: sync against async, naive against ring</source>
        <translation>显示较早一次运行的时间线：同步对比异步，朴素对比环形</translation>
    </message>
    <message>
        <source>Run: the latest (#%1)</source>
        <translation>运行：最新（#%1）</translation>
    </message>
    <message>
        <source>Run: %1</source>
        <translation>运行：%1</translation>
    </message>
    <message>
        <source>Front end and device workers (run #%1)</source>
        <translation>前端与设备工作线程（运行 #%1）</translation>
    </message>
    <message>
        <source>allreduce (modelled)</source>
        <translation>allreduce（模型估算）</translation>
    </message>
    <message>
        <source>front ends</source>
        <translation>各前端</translation>
    </message>
    <message>
        <source>rank %1 · device %2</source>
        <translation>rank %1 · 设备 %2</translation>
    </message>
</context>
<context>
    <name>gpulab::MainWindow</name>
    <message>
        <source>gpulab: data-parallel training lab</source>
        <translation>gpulab：数据并行训练实验室</translation>
    </message>
    <message>
        <source>Ready</source>
        <translation>就绪</translation>
    </message>
    <message>
        <source>CPU time the UI thread spends per drain tick (drain + views' update) and per replot, mean and maximum since Start; "wall" is the same in wall-clock time (mean/max), which also counts time the workers had the CPU</source>
        <translation>自开始以来，界面线程每次定时读取事件（读取 + 更新视图）和每次重绘所用的 CPU 时间（平均值和最大值）；“wall”是相应的挂钟时间（平均/最大），其中也包括工作线程占用 CPU 的时间</translation>
    </message>
    <message>
        <source>&amp;File</source>
        <translation>文件(&amp;F)</translation>
    </message>
    <message>
        <source>Export this view's plots and data…</source>
        <translation>导出此视图的图表和数据…</translation>
    </message>
    <message>
        <source>Ctrl+E</source>
        <translation>Ctrl+E</translation>
    </message>
    <message>
        <source>Export everything to a folder…</source>
        <translation>全部导出到文件夹…</translation>
    </message>
    <message>
        <source>Ctrl+Shift+E</source>
        <translation>Ctrl+Shift+E</translation>
    </message>
    <message>
        <source>Export the run as a Chrome trace (JSON)…</source>
        <translation>将运行导出为 Chrome 跟踪（JSON）…</translation>
    </message>
    <message>
        <source>Save run…</source>
        <translation>保存运行…</translation>
    </message>
    <message>
        <source>Save the latest finished run as a recording (gpulab-cli replay reads it)</source>
        <translation>将最近结束的运行保存为录制文件（gpulab-cli replay 可读取）</translation>
    </message>
    <message>
        <source>%1; recording stopped</source>
        <translation>%1；录制已停止</translation>
    </message>
    <message>
        <source>No finished run to save yet: start a run and let it end first</source>
        <translation>还没有已结束的运行可保存：请先开始一次运行并等它结束</translation>
    </message>
    <message>
        <source>Save run</source>
        <translation>保存运行</translation>
    </message>
    <message>
        <source>gpulab recordings (*.gpurec)</source>
        <translation>gpulab 录制文件 (*.gpurec)</translation>
    </message>
    <message>
        <source>Saved run %1 to %2 (gpulab-cli replay plays it)</source>
        <translation>已将运行 %1 保存到 %2（可用 gpulab-cli replay 回放）</translation>
    </message>
    <message>
        <source>&amp;Quit</source>
        <translation>退出(&amp;Q)</translation>
    </message>
    <message>
        <source>&amp;Run</source>
        <translation>运行(&amp;R)</translation>
    </message>
    <message>
        <source>Start</source>
        <translation>开始</translation>
    </message>
    <message>
        <source>F5</source>
        <translation>F5</translation>
    </message>
    <message>
        <source>Pause / Resume</source>
        <translation>暂停 / 继续</translation>
    </message>
    <message>
        <source>Step</source>
        <translation>单步</translation>
    </message>
    <message>
        <source>F10</source>
        <translation>F10</translation>
    </message>
    <message>
        <source>Stop</source>
        <translation>停止</translation>
    </message>
    <message>
        <source>Shift+F5</source>
        <translation>Shift+F5</translation>
    </message>
    <message>
        <source>&amp;View</source>
        <translation>视图(&amp;V)</translation>
    </message>
    <message>
        <source>&amp;Help</source>
        <translation>帮助(&amp;H)</translation>
    </message>
    <message>
        <source>About gpulab</source>
        <translation>关于 gpulab</translation>
    </message>
    <message>
        <source>&lt;h3&gt;gpulab %1&lt;/h3&gt;&lt;p&gt;A visual lab for data-parallel training, after &lt;i&gt;Dive into Deep Learning&lt;/i&gt;, "Computational Performance": asynchronous computation and multi-GPU training from scratch.&lt;/p&gt;&lt;p&gt;The book's LeNet trains on Fashion-MNIST on simulated devices (or CUDA GPUs); every op, allreduce step and allocation is shown.&lt;/p&gt;</source>
        <translation>&lt;h3&gt;gpulab %1&lt;/h3&gt;&lt;p&gt;数据并行训练的可视化实验室，取材于《动手学深度学习》“计算性能”一章：异步计算与从零开始的多 GPU 训练。&lt;/p&gt;&lt;p&gt;书中的 LeNet 在模拟设备（或 CUDA GPU）上用 Fashion-MNIST 训练；每个操作、每个 allreduce 步骤和每次内存分配都会显示出来。&lt;/p&gt;</translation>
    </message>
    <message>
        <source>Save this plot as PNG, PDF or SVG…</source>
        <translation>将此图保存为 PNG、PDF 或 SVG…</translation>
    </message>
    <message>
        <source>Save plot</source>
        <translation>保存图表</translation>
    </message>
    <message>
        <source>PNG image (*.png);;PDF document (*.pdf);;SVG drawing (*.svg)</source>
        <translation>PNG 图像 (*.png);;PDF 文档 (*.pdf);;SVG 图形 (*.svg)</translation>
    </message>
    <message>
        <source>Saved %1</source>
        <translation>已保存 %1</translation>
    </message>
    <message>
        <source>Making the synthetic data…</source>
        <translation>正在生成合成数据…</translation>
    </message>
    <message>
        <source>Loading Fashion-MNIST from %1…</source>
        <translation>正在从 %1 加载 Fashion-MNIST…</translation>
    </message>
    <message>
        <source>A run is still going: stop it first.</source>
        <translation>仍有运行在进行：请先停止它。</translation>
    </message>
    <message>
        <source>#%1: %2</source>
        <translation>#%1: %2</translation>
    </message>
    <message>
        <source>#%1 · %2 dev · batch %3 · lr %4 · %5</source>
        <translation>#%1 · %2 个设备 · 批量 %3 · 学习率 %4 · %5</translation>
    </message>
    <message>
        <source>Starting run %1…</source>
        <translation>正在开始运行 %1…</translation>
    </message>
    <message>
        <source>Run %1: %2</source>
        <translation>运行 %1：%2</translation>
    </message>
    <message>
        <source>Run %1 failed: %2</source>
        <translation>运行 %1 失败：%2</translation>
    </message>
    <message>
        <source>Epoch %1 of %2 · minibatch %3 of %4</source>
        <translation>迭代周期 %1/%2 · 小批量 %3/%4</translation>
    </message>
    <message>
        <source> · %1 images/s · %2 left</source>
        <translation> · 每秒 %1 张图像 · 剩余 %2</translation>
    </message>
    <message>
        <source>Running run %1</source>
        <translation>正在运行 %1</translation>
    </message>
    <message>
        <source>Paused</source>
        <translation>已暂停</translation>
    </message>
    <message>
        <source>Stopping…</source>
        <translation>正在停止…</translation>
    </message>
    <message>
        <source>Run %1 completed</source>
        <translation>运行 %1 已完成</translation>
    </message>
    <message>
        <source>Done</source>
        <translation>完成</translation>
    </message>
    <message>
        <source> in %1 ms</source>
        <translation>，用时 %1 毫秒</translation>
    </message>
    <message>
        <source>Run %1 stopped%2</source>
        <translation>运行 %1 已停止%2</translation>
    </message>
    <message>
        <source>Stopped</source>
        <translation>已停止</translation>
    </message>
    <message>
        <source>Failed</source>
        <translation>失败</translation>
    </message>
    <message>
        <source>UI tick: idle</source>
        <translation>界面刷新：空闲</translation>
    </message>
    <message>
        <source>UI tick %1 ms (max %2) · replot %3 ms · paint %4 ms</source>
        <translation>界面刷新 %1 毫秒（最大 %2）· 重绘 %3 毫秒 · 绘制 %4 毫秒</translation>
    </message>
    <message>
        <source>UI tick %1 ms (max %2; wall %3/%4) · replot %5 ms (max %6) · paint %7 ms (max %8) · %9 events/tick</source>
        <translation>界面刷新 %1 毫秒（最大 %2；挂钟 %3/%4）· 重绘 %5 毫秒（最大 %6）· 绘制 %7 毫秒（最大 %8）· 每次 %9 个事件</translation>
    </message>
    <message>
        <source> · UI thread busy %1%</source>
        <translation> · 界面线程占用 %1%</translation>
    </message>
    <message>
        <source>no run to export yet</source>
        <translation>还没有可导出的运行</translation>
    </message>
    <message>
        <source>cannot create the folder %1</source>
        <translation>无法创建文件夹 %1</translation>
    </message>
    <message>
        <source>cannot write %1</source>
        <translation>无法写入 %1</translation>
    </message>
    <message>
        <source>Export %1 to folder</source>
        <translation>将 %1 导出到文件夹</translation>
    </message>
    <message>
        <source>Export everything to folder</source>
        <translation>全部导出到文件夹</translation>
    </message>
    <message>
        <source>Export Chrome trace</source>
        <translation>导出 Chrome 跟踪</translation>
    </message>
    <message>
        <source>Chrome trace (*.json)</source>
        <translation>Chrome 跟踪 (*.json)</translation>
    </message>
    <message>
        <source>Wrote %1: open it in ui.perfetto.dev or chrome://tracing</source>
        <translation>已写入 %1：可在 ui.perfetto.dev 或 chrome://tracing 中打开</translation>
    </message>
    <message>
        <source>: test accuracy %1 after epoch %3, %2 s per epoch</source>
        <translation>：第 %3 个迭代周期后测试准确率 %1，每个迭代周期 %2 秒</translation>
    </message>
    <message>
        <source>Wrote %1 files to %2</source>
        <translation>已将 %1 个文件写入 %2</translation>
    </message>
    <message>
        <source>sync</source>
        <translation>同步</translation>
    </message>
    <message>
        <source>async</source>
        <translation>异步</translation>
    </message>
    <message>
        <source>bounded</source>
        <translation>有界异步</translation>
    </message>
    <message>
        <source>F6</source>
        <translation>F6</translation>
    </message>
    <message>
        <source>Show the UI's drawing cost in the status bar</source>
        <translation>在状态栏显示界面的绘制开销</translation>
    </message>
    <message>
        <source> · %1 images</source>
        <translation> · %1 张图像</translation>
    </message>
    <message>
        <source> · paused</source>
        <translation> · 已暂停</translation>
    </message>
    <message>
        <source>Scaling sweep…</source>
        <translation>扩展性扫描…</translation>
    </message>
    <message>
        <source>A run is going: stop it before the sweep, so that they do not share the processor.</source>
        <translation>正在运行训练：请先停止它再进行扫描，以免两者争用处理器。</translation>
    </message>
    <message>
        <source>The scaling sweep is going: stop it first.</source>
        <translation>扩展性扫描正在进行：请先停止它。</translation>
    </message>
    <message>
        <source>Language</source>
        <translation>语言</translation>
    </message>
    <message>
        <source>The language is kept only when the lab is started without a script.</source>
        <translation>只有在不带脚本启动实验室时才会保存语言设置。</translation>
    </message>
    <message>
        <source>The lab will start in this language next time.</source>
        <translation>实验室下次启动时将使用此语言。</translation>
    </message>
    <message>
        <source>The settings file %1 could not be read (%2); it was set aside as %3 and %4.</source>
        <translation>无法读取设置文件 %1（%2）；它已被另存为 %3，并且%4。</translation>
    </message>
    <message>
        <source>the lab starts with its defaults</source>
        <translation>实验室以默认设置启动</translation>
    </message>
    <message>
        <source>the run settings start from their defaults</source>
        <translation>运行设置恢复为默认值</translation>
    </message>
    <message>
        <source>the window starts at its default size</source>
        <translation>窗口以默认大小启动</translation>
    </message>
    <message>
        <source>The saved settings ask for a job of %1 ranks, but this build of the lab has no ranks (it was built without Gloo), so it starts with 1 rank and keeps the other settings.</source>
        <translation>保存的设置要求 %1 个 rank 的作业，但此版本的实验室不支持多个 rank（构建时没有 Gloo），因此以 1 个 rank 启动，其他设置保持不变。</translation>
    </message>
    <message>
        <source>The settings file could not be read (%1); %2 (the old file is kept as %3).</source>
        <translation>无法读取设置文件（%1）；%2（旧文件保存为 %3）。</translation>
    </message>
    <message>
        <source>it is not a settings file (INI) that can be read</source>
        <translation>它不是可读取的设置文件（INI）</translation>
    </message>
    <message>
        <source>it is not gpulab&apos;s: it has no version</source>
        <translation>它不是 gpulab 的设置文件：没有版本号</translation>
    </message>
    <message>
        <source>it comes from a newer gpulab (version %1; this one reads version %2)</source>
        <translation>它来自更新版本的 gpulab（版本 %1；此版本读取版本 %2）</translation>
    </message>
    <message>
        <source>its version &quot;%1&quot; is not one this gpulab reads (%2)</source>
        <translation>其版本“%1”不是此 gpulab 能读取的版本（%2）</translation>
    </message>
    <message>
        <source>a whole number</source>
        <translation>整数</translation>
    </message>
    <message>
        <source>%1 to %2</source>
        <translation>%1 到 %2</translation>
    </message>
    <message>
        <source>%1 to %2 MiB, in bytes (a multiple of %3)</source>
        <translation>%1 到 %2 MiB，以字节表示（%3 的倍数）</translation>
    </message>
    <message>
        <source>one of %1</source>
        <translation>以下之一：%1</translation>
    </message>
    <message>
        <source>a number</source>
        <translation>数字</translation>
    </message>
    <message>
        <source>%1 to %2, with at most %3 decimals</source>
        <translation>%1 到 %2，最多 %3 位小数</translation>
    </message>
    <message>
        <source>one of %1, or custom:LAT_US,GB_PER_S</source>
        <translation>以下之一：%1，或 custom:LAT_US,GB_PER_S</translation>
    </message>
    <message>
        <source>lenet, resnet50, gpt2-small or a parameter count such as 50M</source>
        <translation>lenet、resnet50、gpt2-small 或参数数量，例如 50M</translation>
    </message>
    <message>
        <source>%1 = &quot;%2&quot;: the panel takes %3</source>
        <translation>%1 = “%2”：面板接受 %3</translation>
    </message>
    <message>
        <source>window/geometry is not a window geometry</source>
        <translation>window/geometry 不是有效的窗口几何信息</translation>
    </message>
    <message>
        <source>cannot write the settings to %1</source>
        <translation>无法将设置写入 %1</translation>
    </message>
    <message>
        <source>Show the controls</source>
        <translation>显示控制面板</translation>
    </message>
    <message>
        <source>Pause</source>
        <translation>暂停</translation>
    </message>
    <message>
        <source>Projector mode</source>
        <translation>投影模式</translation>
    </message>
    <message>
        <source>F11</source>
        <translation>F11</translation>
    </message>
    <message>
        <source>Control panel on one line</source>
        <translation>控制面板收为一行</translation>
    </message>
    <message>
        <source>Ctrl+Shift+C</source>
        <translation>Ctrl+Shift+C</translation>
    </message>
    <message>
        <source>The recording has no epoch %1</source>
        <translation>该记录中没有第 %1 个迭代周期</translation>
    </message>
    <message>
        <source>Open recording…</source>
        <translation>打开记录…</translation>
    </message>
    <message>
        <source>Play a recorded run in every view; choose several to overlay them</source>
        <translation>在每个视图中回放一次记录的运行；选择多个可叠加显示</translation>
    </message>
    <message>
        <source>No recording chosen</source>
        <translation>未选择记录</translation>
    </message>
    <message>
        <source>A run is going: stop it before opening a recording.</source>
        <translation>有运行正在进行：请先停止它，再打开记录。</translation>
    </message>
    <message>
        <source>The scaling sweep is going: stop it before opening a recording.</source>
        <translation>扩展性扫描正在进行：请先停止它，再打开记录。</translation>
    </message>
    <message>
        <source>%1: not enough memory to read this recording</source>
        <translation>%1：内存不足，无法读取此记录</translation>
    </message>
    <message>
        <source>%1 (recorded on %2, %3)</source>
        <translation>%1（记录于 %2，%3）</translation>
    </message>
    <message>
        <source>Replaying %1: the recording is incomplete (the run was cut short)</source>
        <translation>正在回放 %1：该记录不完整（运行被中途打断）</translation>
    </message>
    <message>
        <source>Replaying %1, with %2 more overlaid</source>
        <translation>正在回放 %1，另叠加 %2 个记录</translation>
    </message>
    <message>
        <source>Replaying %1</source>
        <translation>正在回放 %1</translation>
    </message>
    <message>
        <source>Replaying %1: %2</source>
        <translation>正在回放 %1：%2</translation>
    </message>
    <message>
        <source>Replaying</source>
        <translation>回放中</translation>
    </message>
    <message>
        <source>Replayed</source>
        <translation>回放完毕</translation>
    </message>
    <message>
        <source>Replay paused</source>
        <translation>回放已暂停</translation>
    </message>
    <message>
        <source>Left the replay: Start runs live again</source>
        <translation>已退出回放：“开始”将重新实时运行</translation>
    </message>
    <message>
        <source>Open recording (choose several to overlay them)</source>
        <translation>打开记录（选择多个可叠加显示）</translation>
    </message>
    <message>
        <source>gpulab recordings (*.gpurec);;All files (*)</source>
        <translation>gpulab 记录 (*.gpurec);;所有文件 (*)</translation>
    </message>
    <message>
        <source>Example runs</source>
        <translation>示例运行</translation>
    </message>
    <message>
        <source>The book's run on 2 devices sharing one NVIDIA H200 GPU (30,000 of the 60,000 images, 4 epochs)</source>
        <translation>书中的运行，2 个设备共用一块 NVIDIA H200 GPU（60,000 张图像中的 30,000 张，4 个迭代周期）</translation>
    </message>
    <message>
        <source>The book's run on 1 device (30,000 of the 60,000 images, 4 epochs)</source>
        <translation>书中的运行，1 个设备（60,000 张图像中的 30,000 张，4 个迭代周期）</translation>
    </message>
    <message>
        <source>The book's run on 2 devices (30,000 of the 60,000 images, 4 epochs)</source>
        <translation>书中的运行，2 个设备（60,000 张图像中的 30,000 张，4 个迭代周期）</translation>
    </message>
    <message>
        <source>Memory, synchronous: one wait per minibatch (10,000 images, 1 epoch)</source>
        <translation>内存，同步：每个小批量等待一次（10,000 张图像，1 个迭代周期）</translation>
    </message>
    <message>
        <source>Memory, asynchronous: no waits (10,000 images, 1 epoch)</source>
        <translation>内存，异步：不等待（10,000 张图像，1 个迭代周期）</translation>
    </message>
    <message>
        <source>Ring allreduce on 4 devices (5,120 images, 1 epoch)</source>
        <translation>4 个设备上的环形全规约（5,120 张图像，1 个迭代周期）</translation>
    </message>
    <message>
        <source>Memory: synchronous, with asynchronous overlaid</source>
        <translation>内存：同步，并叠加异步</translation>
    </message>
    <message>
        <source>(none in this build)</source>
        <translation>（此版本中没有）</translation>
    </message>
    <message>
        <source> · link %1%2</source>
        <translation> · 链路 %1%2</translation>
    </message>
    <message>
        <source> as %1</source>
        <translation>（按 %1 计费）</translation>
    </message>
    <message>
        <source>The recording the Devices, Allreduce and Engine views show; the Training and Memory views overlay every recording open</source>
        <translation>设备、Allreduce 和引擎视图显示的录制；训练和内存视图叠加显示所有已打开的录制</translation>
    </message>
    <message>
        <source>This view shows:</source>
        <translation>本视图显示：</translation>
    </message>
    <message>
        <source>#%1 · %2 (%3)</source>
        <translation>#%1 · %2（%3）</translation>
    </message>
    <message>
        <source>Devices, Allreduce and Engine now show %1 (recorded on %2)</source>
        <translation>设备、Allreduce 和引擎视图现在显示 %1（录制于 %2）</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>取消</translation>
    </message>
    <message>
        <source>Stop reading the recording; the lab stays as it was</source>
        <translation>停止读取该记录；实验室保持原样</translation>
    </message>
    <message>
        <source> and %1 more</source>
        <translation> 及另外 %1 个</translation>
    </message>
    <message>
        <source>Opening %1 was cancelled</source>
        <translation>已取消打开 %1</translation>
    </message>
    <message>
        <source>Reading %1… (the lab stays usable; Cancel stops it)</source>
        <translation>正在读取 %1…（实验室仍可使用；“取消”可停止读取）</translation>
    </message>
    <message>
        <source>Devices · Allreduce · Engine show:</source>
        <translation>设备 · Allreduce · 引擎视图显示：</translation>
    </message>
    <message>
        <source>The Training and Memory views overlay all %1 recordings; the Devices, Allreduce and Engine views show the one chosen here</source>
        <translation>训练和内存视图叠加显示全部 %1 个录制；设备、Allreduce 和引擎视图显示此处选中的录制</translation>
    </message>
    <message>
        <source>Shows:</source>
        <translation>显示：</translation>
    </message>
    <message>
        <source>Others show:</source>
        <translation>其他视图显示：</translation>
    </message>
    <message>
        <source>%1 ranks × %2</source>
        <translation>%1 个 rank × %2</translation>
    </message>
    <message>
        <source>Run %1 failed: %2 (%3)</source>
        <translation>运行 %1 失败：%2（%3）</translation>
    </message>
</context>
<context>
    <name>gpulab::MemoryView</name>
    <message>
        <source>Run once in sync mode and once in async or bounded mode: the two are overlaid here.</source>
        <translation>以同步方式运行一次，再以异步或有界异步方式运行一次：两者会叠加显示在这里。</translation>
    </message>
    <message>
        <source>Time axis:</source>
        <translation>时间轴：</translation>
    </message>
    <message>
        <source>linear</source>
        <translation>线性</translation>
    </message>
    <message>
        <source>logarithmic</source>
        <translation>对数</translation>
    </message>
    <message>
        <source>Logarithmic time shows a run that fails in a fraction of a second next to a long one</source>
        <translation>对数时间轴可以把不到一秒就失败的运行和长时间的运行放在一起比较</translation>
    </message>
    <message>
        <source>Memory in use per device</source>
        <translation>每个设备已用的内存</translation>
    </message>
    <message>
        <source>seconds since Start</source>
        <translation>自开始以来的秒数</translation>
    </message>
    <message>
        <source>MiB in use</source>
        <translation>已用 MiB</translation>
    </message>
    <message>
        <source>  (device 0 darkest)</source>
        <translation>（设备 0 颜色最深）</translation>
    </message>
    <message>
        <source>budget %1 per device (%2 run)</source>
        <translation>每设备预算 %1（%2运行）</translation>
    </message>
    <message>
        <source>Run %1 (%2) is drawn over run %3 (%4).</source>
        <translation>运行 %1（%2）叠加在运行 %3（%4）之上。</translation>
    </message>
    <message>
        <source>async</source>
        <translation>异步</translation>
    </message>
    <message>
        <source>sync</source>
        <translation>同步</translation>
    </message>
    <message>
        <source>Run %1 (%2). Run the other kind (%3) to overlay it here.</source>
        <translation>运行 %1（%2）。再运行另一种方式（%3）即可在此叠加比较。</translation>
    </message>
    <message>
        <source>async or bounded</source>
        <translation>异步或有界异步</translation>
    </message>
    <message>
        <source>out of memory on device %1
asked for %2 with %3 in use</source>
        <translation>设备 %1 内存不足
已用 %3 时又申请 %2</translation>
    </message>
    <message>
        <source>Run %1 failed: %2</source>
        <translation>运行 %1 失败：%2</translation>
    </message>
    <message>
        <source>Run %1 peaked at %2 on one device.</source>
        <translation>运行 %1 单个设备的峰值为 %2。</translation>
    </message>
    <message>
        <source>both runs</source>
        <translation>两次运行</translation>
    </message>
    <message>
        <source>%1 run</source>
        <translation>%1运行</translation>
    </message>
    <message>
        <source>budget %1 per device (%2), above the plot</source>
        <translation>每设备预算 %1（%2），在图的上方</translation>
    </message>
    <message>
        <source>budget %1 per device (%2)</source>
        <translation>每设备预算 %1（%2）</translation>
    </message>
    <message>
        <source>Memory</source>
        <translation>内存</translation>
    </message>
    <message>
        <source>bounded</source>
        <translation>有界异步</translation>
    </message>
    <message>
        <source>budget %1 per device (%2) is above the plot</source>
        <translation>每设备预算 %1（%2）在图的上方</translation>
    </message>
    <message>
        <source>Tick the runs to compare; the last run of each mode is shown</source>
        <translation>勾选要比较的运行；默认显示每种方式的最后一次运行</translation>
    </message>
    <message>
        <source>#%1 (%2): %3</source>
        <translation>#%1（%2）：%3</translation>
    </message>
    <message>
        <source>#%1 (%2)</source>
        <translation>#%1（%2）</translation>
    </message>
    <message>
        <source>Run %1 (%2) is drawn over %3. Tick runs in the list below to compare others.</source>
        <translation>运行 %1（%2）叠加在 %3 之上。在下方列表中勾选运行即可比较其他运行。</translation>
    </message>
    <message>
        <source>out of memory</source>
        <translation>内存不足</translation>
    </message>
    <message>
        <source>stopped</source>
        <translation>已停止</translation>
    </message>
    <message>
        <source>failed</source>
        <translation>失败</translation>
    </message>
    <message>
        <source>all runs shown</source>
        <translation>所有显示的运行</translation>
    </message>
    <message>
        <source>runs %1</source>
        <translation>运行 %1</translation>
    </message>
    <message>
        <source>Peak and low per minibatch</source>
        <translation>每个小批量的峰值与低谷</translation>
    </message>
    <message>
        <source>Draw each minibatch's highest and lowest bytes in use (dashed) instead of every allocation: legible over a long run</source>
        <translation>绘制每个小批量中占用字节的最高值与最低值（虚线），而不是每一次分配：长时间运行也清晰可读</translation>
    </message>
    <message>
        <source>  peak and low per minibatch</source>
        <translation>  每个小批量的峰值与低谷</translation>
    </message>
</context>
<context>
    <name>gpulab::ReplayLoader</name>
    <message>
        <source>%1: not enough memory to read this recording</source>
        <translation>%1：内存不足，无法读取此记录</translation>
    </message>
</context>
<context>
    <name>gpulab::ReplayPanel</name>
    <message>
        <source>Replaying a recording</source>
        <translation>正在回放记录</translation>
    </message>
    <message>
        <source>Playback</source>
        <translation>回放</translation>
    </message>
    <message>
        <source>How fast the recording plays, against the time it took when it was recorded</source>
        <translation>回放速度，相对于记录时实际所用的时间</translation>
    </message>
    <message>
        <source>Speed</source>
        <translation>速度</translation>
    </message>
    <message>
        <source>Drag to move through the run; going back replays it from the start up to there</source>
        <translation>拖动以在运行中前后移动；向回移动会从头重放到该处</translation>
    </message>
    <message>
        <source>Epoch</source>
        <translation>迭代周期</translation>
    </message>
    <message>
        <source>Jump to its start</source>
        <translation>跳到其开始处</translation>
    </message>
    <message>
        <source>◀ Allreduce step</source>
        <translation>◀ 全规约步骤</translation>
    </message>
    <message>
        <source>Pause and go back to the allreduce step before</source>
        <translation>暂停并回到上一个全规约步骤</translation>
    </message>
    <message>
        <source>Allreduce step ▶</source>
        <translation>全规约步骤 ▶</translation>
    </message>
    <message>
        <source>Pause and go on to the next allreduce step</source>
        <translation>暂停并前进到下一个全规约步骤</translation>
    </message>
    <message>
        <source>Recording</source>
        <translation>记录</translation>
    </message>
    <message>
        <source>File</source>
        <translation>文件</translation>
    </message>
    <message>
        <source>Machine</source>
        <translation>机器</translation>
    </message>
    <message>
        <source>Date</source>
        <translation>日期</translation>
    </message>
    <message>
        <source>Recorded by</source>
        <translation>记录程序</translation>
    </message>
    <message>
        <source>Devices</source>
        <translation>设备</translation>
    </message>
    <message>
        <source>Recorded settings (read-only)</source>
        <translation>记录的设置（只读）</translation>
    </message>
    <message>
        <source>Back to live runs</source>
        <translation>返回实时运行</translation>
    </message>
    <message>
        <source>Leave the replay: the control panel comes back (Start does the same)</source>
        <translation>退出回放：控制面板将恢复（“开始”也有同样效果）</translation>
    </message>
    <message>
        <source>%1 (%2)</source>
        <translation>%1（%2）</translation>
    </message>
    <message>
        <source>This recording is incomplete: it ends after epoch %1 (the run was cut short, e.g. killed). What it holds is shown.</source>
        <translation>该记录不完整：它在第 %1 个迭代周期之后结束（运行被中途打断，例如被终止）。显示的是其中已有的内容。</translation>
    </message>
    <message>
        <source>This recording is incomplete: it ends before the first epoch did (the run was cut short, e.g. killed). What it holds is shown.</source>
        <translation>该记录不完整：它在第一个迭代周期结束之前就结束了（运行被中途打断，例如被终止）。显示的是其中已有的内容。</translation>
    </message>
    <message>
        <source>Some recorded settings could not be read (%1); they show their defaults.</source>
        <translation>部分记录的设置无法读取（%1）；它们显示为默认值。</translation>
    </message>
    <message>
        <source>&lt;span style="color:%1"&gt;■&lt;/span&gt; %2 (%3, %4)%5</source>
        <translation>&lt;span style="color:%1"&gt;■&lt;/span&gt; %2（%3，%4）%5</translation>
    </message>
    <message>
        <source>, incomplete</source>
        <translation>，不完整</translation>
    </message>
    <message>
        <source>&lt;b&gt;Overlaid in the Training and Memory views:&lt;/b&gt;&lt;br&gt;%1</source>
        <translation>&lt;b&gt;在“训练”和“内存”视图中叠加：&lt;/b&gt;&lt;br&gt;%1</translation>
    </message>
    <message>
        <source>Pause</source>
        <translation>暂停</translation>
    </message>
    <message>
        <source>Play</source>
        <translation>播放</translation>
    </message>
    <message>
        <source>%1 of %2 (recorded time)</source>
        <translation>%1 / %2（记录时间）</translation>
    </message>
</context>
<context>
    <name>gpulab::RunController</name>
    <message>
        <source>a run is still going: stop it first</source>
        <translation>仍有运行在进行：请先停止它</translation>
    </message>
    <message>
        <source>no dataset loaded yet</source>
        <translation>尚未加载数据集</translation>
    </message>
    <message>
        <source>cannot start the job&apos;s other ranks: GPULAB_CLI names %1, which is not a program; set it to gpulab-cli, or unset it</source>
        <translation>无法启动作业的其他 rank：GPULAB_CLI 指向的 %1 不是可执行程序；请把它设为 gpulab-cli，或取消设置</translation>
    </message>
    <message>
        <source>cannot start the job&apos;s other ranks: gpulab-cli was found neither beside gpulab (%1) nor on the PATH; build or install it (or set GPULAB_CLI), or choose 1 rank</source>
        <translation>无法启动作业的其他 rank：在 gpulab 旁边（%1）和 PATH 中都找不到 gpulab-cli；请构建或安装它（或设置 GPULAB_CLI），或选 1 个 rank</translation>
    </message>
    <message>
        <source>the other ranks cannot load this data; load Fashion-MNIST from a folder or the synthetic data</source>
        <translation>其他 rank 无法加载这份数据；请从文件夹加载 Fashion-MNIST，或使用合成数据</translation>
    </message>
    <message>
        <source>rank %1 could not be started (%2)</source>
        <translation>rank %1 无法启动（%2）</translation>
    </message>
    <message>
        <source>rank %1 was killed or crashed</source>
        <translation>rank %1 被终止或崩溃</translation>
    </message>
    <message>
        <source>rank %1 ended with exit code %2</source>
        <translation>rank %1 以退出码 %2 结束</translation>
    </message>
    <message>
        <source>; its last lines: %1</source>
        <translation>；它最后的输出：%1</translation>
    </message>
    <message>
        <source>its process ended</source>
        <translation>它的进程已结束</translation>
    </message>
</context>
<context>
    <name>gpulab::ScriptRunner</name>
    <message>
        <source>%1: the recording is incomplete: it ends after epoch %2 (the run was cut short, e.g. killed); what it holds is replayed</source>
        <translation>%1：该记录不完整：它在第 %2 个迭代周期之后结束（运行被中途打断，例如被终止）；已回放其中已有的内容</translation>
    </message>
    <message>
        <source>%1: the recording is incomplete: it ends before the first epoch did (the run was cut short, e.g. killed); what it holds is replayed</source>
        <translation>%1：该记录不完整：它在第一个迭代周期结束之前就结束了（运行被中途打断，例如被终止）；已回放其中已有的内容</translation>
    </message>
    <message>
        <source>cannot write %1</source>
        <translation>无法写入 %1</translation>
    </message>
    <message>
        <source>unknown view '%1' (training, devices, allreduce, memory, engine)</source>
        <translation>未知视图“%1”（training、devices、allreduce、memory、engine）</translation>
    </message>
    <message>
        <source>no data: %1</source>
        <translation>没有数据：%1</translation>
    </message>
    <message>
        <source>wrote %1 files to %2</source>
        <translation>已将 %1 个文件写入 %2</translation>
    </message>
    <message>
        <source>unknown preset '%1' (choose one of: %2)</source>
        <translation>未知预设“%1”（可选：%2）</translation>
    </message>
    <message>
        <source>%1 %2 (the panel holds %3)</source>
        <translation>%1 %2（面板只能取 %3）</translation>
    </message>
    <message>
        <source>outside what the lab&apos;s panel offers: %1; gpulab-cli train takes the core&apos;s whole range</source>
        <translation>超出了实验室面板允许的范围：%1；gpulab-cli train 接受核心库的全部取值范围</translation>
    </message>
    <message>
        <source>run %1: %2</source>
        <translation>运行 %1：%2</translation>
    </message>
</context>
<context>
    <name>gpulab::SweepWindow</name>
    <message>
        <source>% of each minibatch</source>
        <translation>每个小批量时间的 %</translation>
    </message>
    <message>
        <source>Batch sizes to try, separated by commas</source>
        <translation>要尝试的批量大小，用逗号分隔</translation>
    </message>
    <message>
        <source>Batch sizes</source>
        <translation>批量大小</translation>
    </message>
    <message>
        <source>Both plots (PNG, PDF, SVG) and the table (CSV) into a folder</source>
        <translation>将两幅图（PNG、PDF、SVG）和表格（CSV）导出到一个文件夹</translation>
    </message>
    <message>
        <source>Cannot create the folder %1</source>
        <translation>无法创建文件夹 %1</translation>
    </message>
    <message>
        <source>Device counts to try, separated by commas</source>
        <translation>要尝试的设备数，用逗号分隔</translation>
    </message>
    <message>
        <source>Devices and batch sizes are whole numbers separated by commas, e.g. 1,2,4 and 256,512,1024.</source>
        <translation>设备数和批量大小是用逗号分隔的整数，例如 1,2,4 和 256,512,1024。</translation>
    </message>
    <message>
        <source>Devices</source>
        <translation>设备数</translation>
    </message>
    <message>
        <source>Done: %1 combinations. A small model gains from more devices only when the batch grows with them.</source>
        <translation>完成：%1 个组合。小模型只有在批量随设备数一起增大时，才能从更多设备中获益。</translation>
    </message>
    <message>
        <source>Done; %1 combination(s) failed (see the table).</source>
        <translation>完成；%1 个组合失败（见表格）。</translation>
    </message>
    <message>
        <source>Every combination trains a few minibatches in sync mode, with the panel's backend, allreduce and data.</source>
        <translation>每个组合以同步模式训练若干个小批量，使用控制面板中的后端、allreduce 和数据。</translation>
    </message>
    <message>
        <source>Export the sweep to a folder</source>
        <translation>将扫描结果导出到文件夹</translation>
    </message>
    <message>
        <source>Export…</source>
        <translation>导出…</translation>
    </message>
    <message>
        <source>Images per second</source>
        <translation>每秒图像数</translation>
    </message>
    <message>
        <source>Learning rate</source>
        <translation>学习率</translation>
    </message>
    <message>
        <source>Linear: lr = the panel's learning rate × batch / 256</source>
        <translation>线性：lr = 面板中的学习率 × 批量 / 256</translation>
    </message>
    <message>
        <source>Measuring %1 of %2…</source>
        <translation>正在测量第 %1 个，共 %2 个…</translation>
    </message>
    <message>
        <source>Minibatches timed per combination, after two untimed ones</source>
        <translation>每个组合计时的小批量数（在两个不计时的小批量之后）</translation>
    </message>
    <message>
        <source>Minibatches</source>
        <translation>小批量数</translation>
    </message>
    <message>
        <source>PNG image (*.png);;PDF document (*.pdf);;SVG drawing (*.svg)</source>
        <translation>PNG 图像 (*.png);;PDF 文档 (*.pdf);;SVG 图形 (*.svg)</translation>
    </message>
    <message>
        <source>Save plot</source>
        <translation>保存图</translation>
    </message>
    <message>
        <source>Save this plot as PNG, PDF or SVG…</source>
        <translation>将此图保存为 PNG、PDF 或 SVG…</translation>
    </message>
    <message>
        <source>Saved %1</source>
        <translation>已保存 %1</translation>
    </message>
    <message>
        <source>Scaling sweep</source>
        <translation>扩展性扫描</translation>
    </message>
    <message>
        <source>Start</source>
        <translation>开始</translation>
    </message>
    <message>
        <source>Stop</source>
        <translation>停止</translation>
    </message>
    <message>
        <source>Stopped after %1 of %2 combinations.</source>
        <translation>在 %2 个组合中的第 %1 个之后停止。</translation>
    </message>
    <message>
        <source>The data has not loaded yet: load Fashion-MNIST or the synthetic data in the panel first.</source>
        <translation>数据尚未加载：请先在控制面板中加载 Fashion-MNIST 或合成数据。</translation>
    </message>
    <message>
        <source>The sweep is still going: stop it first.</source>
        <translation>扫描仍在进行：请先停止它。</translation>
    </message>
    <message>
        <source>Where the devices' time goes</source>
        <translation>设备的时间花在哪里</translation>
    </message>
    <message>
        <source>Wrote %1 files to %2</source>
        <translation>已将 %1 个文件写入 %2</translation>
    </message>
    <message>
        <source>allreduce</source>
        <translation>allreduce</translation>
    </message>
    <message>
        <source>batch %1 (lr %2)</source>
        <translation>批量 %1（lr %2）</translation>
    </message>
    <message>
        <source>batch</source>
        <translation>批量</translation>
    </message>
    <message>
        <source>compute</source>
        <translation>计算</translation>
    </message>
    <message>
        <source>devices × batch</source>
        <translation>设备数 × 批量</translation>
    </message>
    <message>
        <source>devices</source>
        <translation>设备数</translation>
    </message>
    <message>
        <source>failed: %1</source>
        <translation>失败：%1</translation>
    </message>
    <message>
        <source>grows with the batch (linear)</source>
        <translation>随批量增大（线性）</translation>
    </message>
    <message>
        <source>images/s</source>
        <translation>图像/秒</translation>
    </message>
    <message>
        <source>lr</source>
        <translation>lr</translation>
    </message>
    <message>
        <source>ms/minibatch</source>
        <translation>毫秒/小批量</translation>
    </message>
    <message>
        <source>the same for every batch</source>
        <translation>所有批量相同</translation>
    </message>
    <message>
        <source>waiting</source>
        <translation>等待</translation>
    </message>
    <message>
        <source>Images per second (link %1%2: modelled)</source>
        <translation>每秒图像数（链路 %1%2：模型估算）</translation>
    </message>
</context>
<context>
    <name>gpulab::TopologyWidget</name>
    <message>
        <source>Ring allreduce</source>
        <translation>环形 allreduce</translation>
    </message>
    <message>
        <source>Naive allreduce (the book's)</source>
        <translation>朴素 allreduce（书中做法）</translation>
    </message>
    <message>
        <source>One device: nothing to reduce.</source>
        <translation>只有一个设备：无需归约。</translation>
    </message>
    <message>
        <source>Waiting for the first allreduce…</source>
        <translation>等待第一次 allreduce…</translation>
    </message>
    <message>
        <source>Step mode: press Step for the next allreduce step</source>
        <translation>单步模式：按“单步”执行下一个 allreduce 步骤</translation>
    </message>
    <message>
        <source>↑ sent  ↓ received (latest allreduce)</source>
        <translation>↑ 发送  ↓ 接收（最近一次 allreduce）</translation>
    </message>
    <message>
        <source>all</source>
        <translation>全部</translation>
    </message>
    <message>
        <source>c%1</source>
        <translation>块%1</translation>
    </message>
    <message>
        <source>↑%1
↓%2</source>
        <translation>↑%1
↓%2</translation>
    </message>
    <message>
        <source>↑%1 ↓%2</source>
        <translation>↑%1 ↓%2</translation>
    </message>
    <message>
        <source>%1 devices: reduce-scatter, then all-gather, one chunk each per step</source>
        <translation>%1 个设备：先归约-分散，再全收集，每步每个设备一个数据块</translation>
    </message>
    <message>
        <source>%1 devices: sum into device 0, then broadcast back</source>
        <translation>%1 个设备：先求和到设备 0，再广播回去</translation>
    </message>
    <message>
        <source>Step %1 of %2: %3 (epoch %4, minibatch %5): transfers %8, %6 in all, %7 ms</source>
        <translation>第 %1/%2 步：%3（第 %4 个迭代周期，第 %5 个小批量）：%8 次传输，共 %6，%7 毫秒</translation>
    </message>
    <message>
        <source>dev %1: %2</source>
        <translation>设备 %1：%2</translation>
    </message>
    <message>
        <source>Now held: %1</source>
        <translation>此时持有：%1</translation>
    </message>
    <message>
        <source>Device 0 (the hub): ↑%1 ↓%2</source>
        <translation>设备 0（中心）：↑%1 ↓%2</translation>
    </message>
    <message>
        <source>(model %1 ms, modelled)</source>
        <translation>（模型 %1 毫秒，模型估算）</translation>
    </message>
    <message>
        <source>(model %1 ms)</source>
        <translation>（模型 %1 毫秒）</translation>
    </message>
    <message>
        <source>Across ranks (the network, %1): %2 ranks, %3 each, %4 ms measured</source>
        <translation>跨进程（网络，%1）：%2 个 rank，各 %3，实测 %4 毫秒</translation>
    </message>
    <message>
        <source>network</source>
        <translation>网络</translation>
    </message>
    <message>
        <source>%1 ranks, %2 devices: each rank reduces within itself (%3), then the ranks across the network, through the middle</source>
        <translation>%1 个 rank，%2 个设备：每个 rank 先在内部归约（%3），再经中间的网络跨 rank 归约</translation>
    </message>
    <message>
        <source>ring</source>
        <translation>环形</translation>
    </message>
    <message>
        <source>naive</source>
        <translation>朴素</translation>
    </message>
</context>
<context>
    <name>gpulab::TrainingView</name>
    <message>
        <source>Training loss</source>
        <translation>训练损失</translation>
    </message>
    <message>
        <source>epoch</source>
        <translation>迭代周期</translation>
    </message>
    <message>
        <source>loss</source>
        <translation>损失</translation>
    </message>
    <message>
        <source>Test accuracy</source>
        <translation>测试准确率</translation>
    </message>
    <message>
        <source>accuracy</source>
        <translation>准确率</translation>
    </message>
    <message>
        <source>Seconds per epoch</source>
        <translation>每个迭代周期的秒数</translation>
    </message>
    <message>
        <source>seconds</source>
        <translation>秒</translation>
    </message>
    <message>
        <source>Runs since the app started (untick to hide)</source>
        <translation>本次启动以来的运行（取消勾选以隐藏）</translation>
    </message>
    <message>
        <source>Exponential moving average of the minibatch losses</source>
        <translation>小批量损失的指数移动平均</translation>
    </message>
    <message>
        <source>Forget earlier runs</source>
        <translation>清除之前的运行</translation>
    </message>
    <message>
        <source>Smoothing: %1</source>
        <translation>平滑：%1</translation>
    </message>
    <message>
        <source>stopped</source>
        <translation>已停止</translation>
    </message>
    <message>
        <source>failed</source>
        <translation>失败</translation>
    </message>
    <message>
        <source>%1  (%2)</source>
        <translation>%1（%2）</translation>
    </message>
    <message>
        <source>Training</source>
        <translation>训练</translation>
    </message>
    <message>
        <source>guessing: ln 10 = %1</source>
        <translation>随机猜测：ln 10 = %1</translation>
    </message>
    <message>
        <source>diverged</source>
        <translation>已发散</translation>
    </message>
    <message>
        <source>✕ run #%1 diverged here</source>
        <translation>✕ 运行 #%1 在此发散</translation>
    </message>
    <message>
        <source>(its losses up to %1 are cut off at the top)</source>
        <translation>（其损失最高达 %1，超出部分在顶部截断）</translation>
    </message>
    <message>
        <source>Speed: seconds per epoch</source>
        <translation>速度：每个迭代周期的秒数</translation>
    </message>
    <message>
        <source>Speed: images per second</source>
        <translation>速度：每秒图像数</translation>
    </message>
    <message>
        <source>Images per second compare runs on different numbers of training images; both leave out the time a run was paused or waited for Step</source>
        <translation>每秒图像数可比较训练图像数不同的运行；两者都不计暂停或等待“单步”的时间</translation>
    </message>
    <message>
        <source>Images per second</source>
        <translation>每秒图像数</translation>
    </message>
    <message>
        <source>images/s</source>
        <translation>图像/秒</translation>
    </message>
</context>
</TS>
