/*
 * epoll_echo: the readiness floor of airsock's benchmarks, written here.
 * Level-triggered epoll; per readable event one read(2) and one write(2) of
 * what was read; only output the kernel refused is kept, and only then is
 * EPOLLOUT asked for (and reading paused) until it is sent.
 *
 *   epoll_echo PORT [ADDR]      prints "listening on ADDR:PORT", serves until SIGINT/SIGTERM
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define READ_SIZE (64 * 1024)

struct pending { char *buf; size_t off, len; }; /* output the kernel did not take */

static struct pending *pend; /* indexed by descriptor */
static size_t npend;
static char rbuf[READ_SIZE];
static volatile sig_atomic_t stopping;

static void on_signal(int sig) { (void)sig; stopping = 1; }

static void die(const char *what) { perror(what); exit(1); }

static void set_interest(int ep, int fd, unsigned events) {
	struct epoll_event ev = {.events = events, .data.fd = fd};
	if (epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev) < 0)
		die("epoll_ctl");
}

static void drop(int fd) {
	if ((size_t)fd < npend) {
		free(pend[fd].buf);
		pend[fd] = (struct pending){0};
	}
	close(fd); /* also leaves the epoll set */
}

/* keep stores what write(2) did not take, and waits for EPOLLOUT. */
static int keep(int ep, int fd, const char *p, size_t n) {
	struct pending *q = &pend[fd];
	q->buf = malloc(n);
	if (!q->buf)
		return -1;
	memcpy(q->buf, p, n);
	q->off = 0, q->len = n;
	set_interest(ep, fd, EPOLLOUT);
	return 0;
}

static void on_writable(int ep, int fd) {
	struct pending *q = &pend[fd];
	ssize_t w = write(fd, q->buf + q->off, q->len - q->off);
	if (w < 0) {
		if (errno != EAGAIN && errno != EINTR)
			drop(fd);
		return;
	}
	q->off += (size_t)w;
	if (q->off == q->len) {
		free(q->buf);
		*q = (struct pending){0};
		set_interest(ep, fd, EPOLLIN);
	}
}

static void on_readable(int ep, int fd) {
	ssize_t r = read(fd, rbuf, sizeof rbuf);
	if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
		drop(fd);
		return;
	}
	if (r < 0)
		return;
	ssize_t w = write(fd, rbuf, (size_t)r);
	if (w < 0) {
		if (errno != EAGAIN && errno != EINTR) {
			drop(fd);
			return;
		}
		w = 0;
	}
	if (w < r && keep(ep, fd, rbuf + w, (size_t)(r - w)) < 0)
		drop(fd);
}

static void on_accept(int ep, int lfd) {
	for (int i = 0; i < 64; i++) { /* a bounded batch, as the Go loop does */
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		if ((size_t)fd >= npend) {
			size_t n = npend ? npend : 1024;
			while (n <= (size_t)fd)
				n *= 2;
			struct pending *p = realloc(pend, n * sizeof *p);
			if (!p)
				die("realloc");
			memset(p + npend, 0, (n - npend) * sizeof *p);
			pend = p;
			npend = n;
		}
		struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};
		if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0)
			drop(fd);
	}
}

int main(int argc, char **argv) {
	if (argc < 2) {
		fprintf(stderr, "usage: %s PORT [ADDR]\n", argv[0]);
		return 2;
	}
	struct sigaction sa = {.sa_handler = on_signal}; /* no SA_RESTART: epoll_wait returns EINTR */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((unsigned short)atoi(argv[1]))};
	if (inet_pton(AF_INET, argc > 2 ? argv[2] : "127.0.0.1", &sin.sin_addr) != 1)
		die("inet_pton");
	int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1;
	if (lfd < 0 || setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
	    bind(lfd, (struct sockaddr *)&sin, sizeof sin) < 0 || listen(lfd, 4096) < 0)
		die("listen");
	socklen_t sl = sizeof sin;
	getsockname(lfd, (struct sockaddr *)&sin, &sl);
	char host[INET_ADDRSTRLEN];
	printf("listening on %s:%d\n", inet_ntop(AF_INET, &sin.sin_addr, host, sizeof host), ntohs(sin.sin_port));
	fflush(stdout);

	int ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = {.events = EPOLLIN, .data.fd = lfd};
	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev) < 0)
		die("epoll");
	struct epoll_event evs[256];
	while (!stopping) {
		int n = epoll_wait(ep, evs, 256, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			die("epoll_wait");
		}
		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;
			if (fd == lfd) {
				on_accept(ep, lfd);
				continue;
			}
			if (evs[i].events & EPOLLOUT)
				on_writable(ep, fd);
			else if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
				on_readable(ep, fd);
		}
	}
	return 0;
}
