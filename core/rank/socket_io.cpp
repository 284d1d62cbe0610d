#include "rank/socket_io.h"

#include <cerrno>
#include <sys/socket.h>
#include <sys/types.h>

namespace gpulab {

bool send_all(int fd, const void* data, size_t bytes)
{
    const char* c = static_cast<const char*>(data);
    size_t at = 0;
    while (at < bytes) {
        const ssize_t k = ::send(fd, c + at, bytes - at, MSG_NOSIGNAL);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return false;
        at += static_cast<size_t>(k);
    }
    return true;
}

bool recv_all(int fd, void* data, size_t bytes)
{
    char* c = static_cast<char*>(data);
    size_t at = 0;
    while (at < bytes) {
        const ssize_t k = ::recv(fd, c + at, bytes - at, 0);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return false;
        at += static_cast<size_t>(k);
    }
    return true;
}

} // namespace gpulab
