/* libvc_bench_nodelay.so: an LD_PRELOAD shim for a what-if measurement, never for production.
 * It sets TCP_NODELAY on every socket the process accepts, which is what civetweb's
 * `tcp_nodelay=1` option would do. The gateway benchmark runs a second gateway with it to
 * show, in the same run, what Nagle's algorithm costs the gateway's two-write responses
 * (headers with mg_printf, then the body with mg_write) against a client's delayed ACKs. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <netinet/in.h>
#include <stddef.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

typedef int (*accept_fn)(int, struct sockaddr *, socklen_t *);
typedef int (*accept4_fn)(int, struct sockaddr *, socklen_t *, int);

static void nodelay(int fd)
{
    int one = 1;
    if (fd >= 0)
        (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

int accept(int s, struct sockaddr *addr, socklen_t *len)
{
    accept_fn real = (accept_fn)dlsym(RTLD_NEXT, "accept");
    int fd = real != NULL ? real(s, addr, len) : -1;
    nodelay(fd);
    return fd;
}

int accept4(int s, struct sockaddr *addr, socklen_t *len, int flags)
{
    accept4_fn real = (accept4_fn)dlsym(RTLD_NEXT, "accept4");
    int fd = real != NULL ? real(s, addr, len, flags) : -1;
    nodelay(fd);
    return fd;
}
