/* sync_order_shim.so: preloaded into named by test_plugin_sync_order.sh, it
 * records, in one ordered log, what the plugin does with its durable state and
 * with its control socket, so that check_sync_order.py can tell whether each
 * acknowledged UPDATE's bytes were on disk before its answer left.
 *
 * It knows nothing of the plugin's code: only paths and ports.
 *   SYNC_SHIM_LOG           the log file (appended; one event per line)
 *   SYNC_SHIM_STATE_DIR     files opened under this directory are "state"
 *   SYNC_SHIM_CONTROL_PORT  sockets bound to this port, and connections
 *                           accepted on them, are "control"
 * Lines: "SEQ KIND FD DETAIL", SEQ a counter taken under one lock, so the
 * order of lines is the order of events:
 *   open FD PATH flags=HEX   a state file opened (O_DSYNC/O_SYNC noted)
 *   write FD LEN             bytes written to a state file (after the call)
 *   sync FD                  fsync/fdatasync of a state file returned 0
 *   recv FD ID OPCODE        a DNS message read from a control socket
 *   send FD ID OPCODE RCODE  a DNS message about to be sent on one (the
 *                            event is taken before the call: from then on
 *                            the client may have it)
 *   close FD
 * On TCP connections the 2-octet length framing is followed, so that a
 * message read or sent in several calls is one event, where it starts.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

/* As glibc's open decides whether a mode argument follows. */
#define NEEDS_MODE(flags) (((flags)&O_CREAT) || ((flags)&O_TMPFILE) == O_TMPFILE)

enum { kMaxFd = 65536 };
enum { kState = 1, kControl = 2, kListen = 4, kDurable = 8, kStream = 16 };

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned char kind[kMaxFd];
static unsigned long long seq;
static int log_fd = -1;
static const char* state_dir;
static size_t state_dir_len;
static int control_port;

#define REAL(name) ((__typeof__(&name))real_fn(#name))

static void* real_fn(const char* name) {
    void* f = dlsym(RTLD_NEXT, name);
    if (!f) {
        fprintf(stderr, "sync_order_shim: no %s in the next library\n", name);
        abort();
    }
    return f;
}

__attribute__((constructor)) static void init(void) {
    const char* log = getenv("SYNC_SHIM_LOG");
    state_dir = getenv("SYNC_SHIM_STATE_DIR");
    const char* port = getenv("SYNC_SHIM_CONTROL_PORT");
    if (!log || !state_dir || !port) {
        fprintf(stderr,
                "sync_order_shim: set SYNC_SHIM_LOG, SYNC_SHIM_STATE_DIR and "
                "SYNC_SHIM_CONTROL_PORT\n");
        abort();
    }
    state_dir_len = strlen(state_dir);
    control_port = atoi(port);
    log_fd = REAL(open)(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (log_fd < 0) {
        perror("sync_order_shim: open SYNC_SHIM_LOG");
        abort();
    }
}

static int is(int fd, int k) {
    return fd >= 0 && fd < kMaxFd && (kind[fd] & k) != 0;
}

/* Appends one line; the caller holds the lock. */
static void emit(const char* fmt, ...) {
    char line[512];
    int n = snprintf(line, sizeof line, "%llu ", ++seq);
    va_list ap;
    va_start(ap, fmt);
    n += vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
    va_end(ap);
    if (n > (int)sizeof line - 2) {
        n = (int)sizeof line - 2;
    }
    line[n++] = '\n';
    ssize_t (*w)(int, const void*, size_t) = REAL(write);
    (void)w(log_fd, line, (size_t)n);
}

static void note_open(int fd, const char* path, int flags) {
    if (fd < 0 || fd >= kMaxFd || !path) {
        return;
    }
    pthread_mutex_lock(&lock);
    kind[fd] = 0;
    if (strncmp(path, state_dir, state_dir_len) == 0 &&
        (path[state_dir_len] == '/' || path[state_dir_len] == '\0')) {
        kind[fd] = kState | ((flags & (O_DSYNC | O_SYNC)) ? kDurable : 0);
        emit("open %d %s flags=%x", fd, path, (unsigned)flags);
    }
    pthread_mutex_unlock(&lock);
}

static void note_write(int fd, ssize_t n) {
    if (n > 0 && is(fd, kState)) {
        pthread_mutex_lock(&lock);
        emit("write %d %zd", fd, n);
        if (is(fd, kDurable)) {
            emit("sync %d", fd);
        }
        pthread_mutex_unlock(&lock);
    }
}

/* One DNS header, as a line; the caller holds the lock. */
static void emit_dns(int send, int fd, const unsigned char* p) {
    const unsigned id = (unsigned)p[0] << 8 | p[1];
    const unsigned opcode = (p[2] >> 3) & 0xf;
    const unsigned rcode = p[3] & 0xf;
    if (send) {
        emit("send %d %u %u %u", fd, id, opcode, rcode);
    } else {
        emit("recv %d %u %u", fd, id, opcode);
    }
}

/* Octets of the current TCP message still to come, per connection and
 * direction: a message's header is logged once, where it starts. */
static size_t stream_left[2][kMaxFd];

/* Walks N octets of a TCP connection's stream, logging each message that
 * starts in them (a header cut by a call boundary is not logged: the
 * checker then misses a message and says so). */
static void walk_stream(int send, int fd, const unsigned char* p, size_t n) {
    size_t* left = &stream_left[send][fd];
    while (n > 0) {
        if (*left == 0) {
            if (n < 6) {
                return;
            }
            emit_dns(send, fd, p + 2);
            *left = 2 + ((size_t)p[0] << 8 | p[1]);
        }
        const size_t take = n < *left ? n : *left;
        p += take;
        n -= take;
        *left -= take;
    }
}

/* A message read from (after the call) or about to be sent on (before the
 * call: the answer may reach the client from then on) a control socket.
 * For TCP, sends are walked after the call (note_sent) with what was sent. */
static void note_dns(const char* what, int fd, const unsigned char* p, size_t n) {
    if (!is(fd, kControl)) {
        return;
    }
    const int send = what[0] == 's';
    pthread_mutex_lock(&lock);
    if (!is(fd, kStream)) {
        if (n >= 4) {
            emit_dns(send, fd, p);
        }
    } else if (!send) {
        walk_stream(0, fd, p, n);
    } else if (stream_left[1][fd] == 0 && n >= 6) {
        emit_dns(1, fd, p + 2); /* a message starts to leave */
    }
    pthread_mutex_unlock(&lock);
}

/* After a send on a TCP connection: R octets of P left. */
static void note_sent(int fd, const unsigned char* p, ssize_t r) {
    if (r <= 0 || !is(fd, kStream)) {
        return;
    }
    pthread_mutex_lock(&lock);
    size_t* left = &stream_left[1][fd];
    size_t n = (size_t)r;
    if (*left == 0 && n >= 6) { /* logged before the call: skip its header here */
        *left = 2 + ((size_t)p[0] << 8 | p[1]);
        const size_t take = n < *left ? n : *left;
        p += take;
        n -= take;
        *left -= take;
    }
    walk_stream(1, fd, p, n);
    pthread_mutex_unlock(&lock);
}

/* note_dns over scattered octets (N of them in IOV). */
static void note_iov_dns(const char* what, int fd, const struct iovec* iov, size_t cnt, size_t n) {
    if (!is(fd, kControl) || n == 0) {
        return;
    }
    unsigned char* flat = malloc(n);
    if (!flat) {
        return;
    }
    size_t got = 0;
    for (size_t i = 0; i < cnt && got < n; ++i) {
        size_t take = iov[i].iov_len < n - got ? iov[i].iov_len : n - got;
        memcpy(flat + got, iov[i].iov_base, take);
        got += take;
    }
    note_dns(what, fd, flat, got);
    free(flat);
}

/* ---- files ---- */

/* In a variadic open: the mode, when the flags say one follows. */
#define TAKE_MODE(flags, mode)           \
    do {                                 \
        if (NEEDS_MODE(flags)) {         \
            va_list ap;                  \
            va_start(ap, flags);         \
            (mode) = va_arg(ap, mode_t); \
            va_end(ap);                  \
        }                                \
    } while (0)

static int opened(int fd, const char* path, int flags) {
    note_open(fd, path, flags);
    return fd;
}

int open(const char* path, int flags, ...) {
    mode_t mode = 0;
    TAKE_MODE(flags, mode);
    return opened(REAL(open)(path, flags, mode), path, flags);
}

int open64(const char* path, int flags, ...) {
    mode_t mode = 0;
    TAKE_MODE(flags, mode);
    return opened(REAL(open64)(path, flags, mode), path, flags);
}

int openat(int dirfd, const char* path, int flags, ...) {
    mode_t mode = 0;
    TAKE_MODE(flags, mode);
    return opened(REAL(openat)(dirfd, path, flags, mode), path, flags);
}

int openat64(int dirfd, const char* path, int flags, ...) {
    mode_t mode = 0;
    TAKE_MODE(flags, mode);
    return opened(REAL(openat64)(dirfd, path, flags, mode), path, flags);
}

ssize_t pwrite(int fd, const void* buf, size_t n, off_t off) {
    ssize_t r = REAL(pwrite)(fd, buf, n, off);
    note_write(fd, r);
    return r;
}

ssize_t pwrite64(int fd, const void* buf, size_t n, off64_t off) {
    ssize_t r = REAL(pwrite64)(fd, buf, n, off);
    note_write(fd, r);
    return r;
}

ssize_t writev(int fd, const struct iovec* iov, int cnt) {
    if (is(fd, kControl)) {
        size_t total = 0;
        for (int i = 0; i < cnt; ++i) {
            total += iov[i].iov_len;
        }
        note_iov_dns("send", fd, iov, (size_t)cnt, total);
    }
    ssize_t r = REAL(writev)(fd, iov, cnt);
    note_write(fd, r);
    return r;
}

ssize_t pwritev(int fd, const struct iovec* iov, int cnt, off_t off) {
    ssize_t r = REAL(pwritev)(fd, iov, cnt, off);
    note_write(fd, r);
    return r;
}

ssize_t write(int fd, const void* buf, size_t n) {
    note_dns("send", fd, buf, n);
    ssize_t r = REAL(write)(fd, buf, n);
    note_sent(fd, buf, r);
    note_write(fd, r);
    return r;
}

static void note_sync(int fd, int r) {
    if (r == 0 && is(fd, kState)) {
        pthread_mutex_lock(&lock);
        emit("sync %d", fd);
        pthread_mutex_unlock(&lock);
    }
}

int fdatasync(int fd) {
    int r = REAL(fdatasync)(fd);
    note_sync(fd, r);
    return r;
}

int fsync(int fd) {
    int r = REAL(fsync)(fd);
    note_sync(fd, r);
    return r;
}

int close(int fd) {
    if (fd >= 0 && fd < kMaxFd && kind[fd] != 0) {
        pthread_mutex_lock(&lock);
        if (kind[fd] & (kState | kControl)) {
            emit("close %d", fd);
        }
        kind[fd] = 0;
        pthread_mutex_unlock(&lock);
    }
    return REAL(close)(fd);
}

/* ---- the control socket ---- */

int bind(int fd, const struct sockaddr* addr, socklen_t len) {
    int r = REAL(bind)(fd, addr, len);
    int port = -1;
    if (addr && addr->sa_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
        port = ntohs(((const struct sockaddr_in*)addr)->sin_port);
    } else if (addr && addr->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
        port = ntohs(((const struct sockaddr_in6*)addr)->sin6_port);
    }
    if (r == 0 && port == control_port && fd >= 0 && fd < kMaxFd) {
        pthread_mutex_lock(&lock);
        kind[fd] = kControl | kListen;
        emit("bind %d %d", fd, port);
        pthread_mutex_unlock(&lock);
    }
    return r;
}

static void note_accept(int listener, int fd) {
    if (fd >= 0 && fd < kMaxFd && is(listener, kListen)) {
        pthread_mutex_lock(&lock);
        kind[fd] = kControl | kStream;
        stream_left[0][fd] = stream_left[1][fd] = 0;
        emit("accept %d", fd);
        pthread_mutex_unlock(&lock);
    }
}

int accept(int fd, struct sockaddr* addr, socklen_t* len) {
    int r = REAL(accept)(fd, addr, len);
    note_accept(fd, r);
    return r;
}

int accept4(int fd, struct sockaddr* addr, socklen_t* len, int flags) {
    int r = REAL(accept4)(fd, addr, len, flags);
    note_accept(fd, r);
    return r;
}

ssize_t recvfrom(int fd, void* buf, size_t n, int flags, struct sockaddr* addr, socklen_t* len) {
    ssize_t r = REAL(recvfrom)(fd, buf, n, flags, addr, len);
    if (r > 0 && !(flags & MSG_PEEK)) {
        note_dns("recv", fd, buf, (size_t)r);
    }
    return r;
}

ssize_t recv(int fd, void* buf, size_t n, int flags) {
    ssize_t r = REAL(recv)(fd, buf, n, flags);
    if (r > 0 && !(flags & MSG_PEEK)) {
        note_dns("recv", fd, buf, (size_t)r);
    }
    return r;
}

ssize_t read(int fd, void* buf, size_t n) {
    ssize_t r = REAL(read)(fd, buf, n);
    if (r > 0) {
        note_dns("recv", fd, buf, (size_t)r);
    }
    return r;
}

ssize_t recvmsg(int fd, struct msghdr* msg, int flags) {
    ssize_t r = REAL(recvmsg)(fd, msg, flags);
    if (r > 0 && !(flags & MSG_PEEK)) {
        note_iov_dns("recv", fd, msg->msg_iov, msg->msg_iovlen, (size_t)r);
    }
    return r;
}

int recvmmsg(int fd, struct mmsghdr* v, unsigned int cnt, int flags, struct timespec* t) {
    int r = REAL(recvmmsg)(fd, v, cnt, flags, t);
    for (int i = 0; i < r; ++i) {
        note_iov_dns("recv", fd, v[i].msg_hdr.msg_iov, v[i].msg_hdr.msg_iovlen, v[i].msg_len);
    }
    return r;
}

ssize_t sendto(int fd, const void* buf, size_t n, int flags, const struct sockaddr* addr,
               socklen_t len) {
    note_dns("send", fd, buf, n);
    ssize_t r = REAL(sendto)(fd, buf, n, flags, addr, len);
    note_sent(fd, buf, r);
    return r;
}

ssize_t send(int fd, const void* buf, size_t n, int flags) {
    note_dns("send", fd, buf, n);
    ssize_t r = REAL(send)(fd, buf, n, flags);
    note_sent(fd, buf, r);
    return r;
}

ssize_t sendmsg(int fd, const struct msghdr* msg, int flags) {
    size_t total = 0;
    for (size_t i = 0; i < msg->msg_iovlen; ++i) {
        total += msg->msg_iov[i].iov_len;
    }
    note_iov_dns("send", fd, msg->msg_iov, msg->msg_iovlen, total);
    return REAL(sendmsg)(fd, msg, flags);
}

int sendmmsg(int fd, struct mmsghdr* v, unsigned int cnt, int flags) {
    for (unsigned int i = 0; i < cnt; ++i) {
        size_t total = 0;
        for (size_t j = 0; j < v[i].msg_hdr.msg_iovlen; ++j) {
            total += v[i].msg_hdr.msg_iov[j].iov_len;
        }
        note_iov_dns("send", fd, v[i].msg_hdr.msg_iov, v[i].msg_hdr.msg_iovlen, total);
    }
    return REAL(sendmmsg)(fd, v, cnt, flags);
}
