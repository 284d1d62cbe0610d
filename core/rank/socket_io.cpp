#include "rank/socket_io.h"

#include <arpa/inet.h>
#include <cerrno>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

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

int free_loopback_port()
{
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    int port = 29500;
    if (fd >= 0 && ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
        socklen_t len = sizeof a;
        if (::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0)
            port = ntohs(a.sin_port);
    }
    if (fd >= 0)
        ::close(fd);
    return port;
}

} // namespace gpulab
