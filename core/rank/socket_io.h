// Whole-buffer sends and receives on a connected TCP socket, for the rendezvous store and
// the ranks' event streams: they retry after a signal and after a partial transfer, and say
// false when the peer closed the connection, an error occurred or the socket's timeout
// (SO_SNDTIMEO / SO_RCVTIMEO) ran out. Sends never raise SIGPIPE.
#pragma once

#include <cstddef>

namespace gpulab {

bool send_all(int fd, const void* data, size_t bytes);
bool recv_all(int fd, void* data, size_t bytes);

// A port on 127.0.0.1 that nothing listens on right now (the kernel's pick; 29500 when the
// kernel will not say). Another program may take it before it is used: a rendezvous that
// cannot listen on it says so.
int free_loopback_port();

} // namespace gpulab
