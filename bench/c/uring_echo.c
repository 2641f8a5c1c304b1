/*
 * uring_echo: the completion floor of airsock's benchmarks, written here over
 * liburing. One ring (SINGLE_ISSUER|DEFER_TASKRUN, else COOP_TASKRUN),
 * multishot accept, multishot recv into a provided buffer ring, and each
 * received buffer sent back from where it landed; one
 * io_uring_submit_and_wait per turn submits the sends and waits for the next
 * completions. A connection has at most one send in flight (a second could
 * overtake a short first one): one sendmsg of up to MAXIOV of its queued
 * buffers; the rest wait in its queue, and a buffer goes back to the ring
 * once its bytes are all sent.
 *
 *   uring_echo PORT [ADDR]      prints "listening on ADDR:PORT", serves until SIGINT/SIGTERM
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <liburing.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#define ENTRIES 4096
#define NBUFS 2048 /* provided buffers, a power of two */
#define BUFSZ 16384
#define MAXIOV 16 /* queued buffers one sendmsg takes */
#define BGID 1

enum { OP_ACCEPT = 1, OP_RECV, OP_SEND };
#define UD(op, fd) (((unsigned long long)(op) << 32) | (unsigned)(fd))

struct conn {
	int head, tail;   /* queue of buffers to send, linked through next[]; -1: empty */
	unsigned off;     /* bytes of the head buffer already sent */
	int inflight;     /* a sendmsg is submitted: iov and msg belong to the kernel */
	int closing;      /* the recv ended: close once the queue is empty */
	struct iovec iov[MAXIOV];
	struct msghdr msg;
};

static struct io_uring ring;
static struct io_uring_buf_ring *br;
static char *bufs;
static int next[NBUFS];
static unsigned len[NBUFS];
static struct conn *conns;
static size_t nconns;
static volatile sig_atomic_t stopping;

static void on_signal(int sig) { (void)sig; stopping = 1; }
static void die(const char *what, int err) { fprintf(stderr, "%s: %s\n", what, strerror(err)); exit(1); }

static struct io_uring_sqe *sqe(void) {
	struct io_uring_sqe *s = io_uring_get_sqe(&ring);
	if (!s) { /* full: hand what is prepared to the kernel first */
		io_uring_submit(&ring);
		s = io_uring_get_sqe(&ring);
	}
	return s;
}

static void arm_recv(int fd) {
	struct io_uring_sqe *s = sqe();
	io_uring_prep_recv_multishot(s, fd, NULL, 0, 0);
	s->flags |= IOSQE_BUFFER_SELECT;
	s->buf_group = BGID;
	io_uring_sqe_set_data64(s, UD(OP_RECV, fd));
}

static void give_back(int bid) {
	io_uring_buf_ring_add(br, bufs + (size_t)bid * BUFSZ, BUFSZ, (unsigned short)bid, io_uring_buf_ring_mask(NBUFS), 0);
	io_uring_buf_ring_advance(br, 1);
}

static void send_queued(int fd) {
	struct conn *c = &conns[fd];
	int n = 0;
	unsigned off = c->off;
	for (int bid = c->head; bid >= 0 && n < MAXIOV; bid = next[bid], off = 0) {
		c->iov[n].iov_base = bufs + (size_t)bid * BUFSZ + off;
		c->iov[n].iov_len = len[bid] - off;
		n++;
	}
	c->msg = (struct msghdr){.msg_iov = c->iov, .msg_iovlen = (size_t)n};
	struct io_uring_sqe *s = sqe();
	io_uring_prep_sendmsg(s, fd, &c->msg, 0);
	io_uring_sqe_set_data64(s, UD(OP_SEND, fd));
	c->inflight = 1;
}

static void finish_close(int fd) {
	struct conn *c = &conns[fd];
	while (c->head >= 0) {
		int bid = c->head;
		c->head = next[bid];
		give_back(bid);
	}
	*c = (struct conn){.head = -1, .tail = -1};
	close(fd);
}

static void on_accept(struct io_uring_cqe *cqe, int lfd) {
	if (!(cqe->flags & IORING_CQE_F_MORE)) { /* ended (e.g. EMFILE): arm it again */
		struct io_uring_sqe *s = sqe();
		io_uring_prep_multishot_accept(s, lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		io_uring_sqe_set_data64(s, UD(OP_ACCEPT, lfd));
	}
	int fd = cqe->res;
	if (fd < 0)
		return;
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if ((size_t)fd >= nconns) {
		size_t n = nconns ? nconns : 1024;
		while (n <= (size_t)fd)
			n *= 2;
		struct conn *p = realloc(conns, n * sizeof *p);
		if (!p)
			die("realloc", ENOMEM);
		for (size_t i = nconns; i < n; i++)
			p[i] = (struct conn){.head = -1, .tail = -1};
		conns = p;
		nconns = n;
	}
	arm_recv(fd);
}

static void on_recv(struct io_uring_cqe *cqe, int fd) {
	struct conn *c = &conns[fd];
	if (cqe->res > 0) {
		int bid = (int)(cqe->flags >> IORING_CQE_BUFFER_SHIFT);
		len[bid] = (unsigned)cqe->res;
		next[bid] = -1;
		if (c->tail >= 0)
			next[c->tail] = bid;
		else
			c->head = bid;
		c->tail = bid;
		if (!c->inflight)
			send_queued(fd);
	}
	if (cqe->flags & IORING_CQE_F_MORE)
		return;
	if (cqe->res == -ENOBUFS || cqe->res > 0) { /* out of buffers: they come back as sends end */
		arm_recv(fd);
		return;
	}
	c->closing = 1; /* EOF or an error */
	if (!c->inflight)
		finish_close(fd);
}

static void on_send(struct io_uring_cqe *cqe, int fd) {
	struct conn *c = &conns[fd];
	c->inflight = 0;
	if (cqe->res < 0) {
		/* A failed send closes at once, with the recv possibly still armed: its
		 * last completion then names a closed (or reused) descriptor. A
		 * benchmark's clients do not fail; a real server would cancel first. */
		c->closing = 1;
		finish_close(fd);
		return;
	}
	unsigned sent = (unsigned)cqe->res; /* consume it from the queue, buffer by buffer */
	while (c->head >= 0 && sent >= len[c->head] - c->off) {
		int bid = c->head;
		sent -= len[bid] - c->off;
		c->off = 0;
		c->head = next[bid];
		give_back(bid);
	}
	if (c->head < 0)
		c->tail = -1;
	else
		c->off += sent;
	if (c->head >= 0)
		send_queued(fd);
	else if (c->closing)
		finish_close(fd);
}

int main(int argc, char **argv) {
	if (argc < 2) {
		fprintf(stderr, "usage: %s PORT [ADDR]\n", argv[0]);
		return 2;
	}
	struct sigaction sa = {.sa_handler = on_signal};
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	struct io_uring_params p = {.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN};
	int err = io_uring_queue_init_params(ENTRIES, &ring, &p);
	if (err < 0) {
		p = (struct io_uring_params){.flags = IORING_SETUP_COOP_TASKRUN};
		if ((err = io_uring_queue_init_params(ENTRIES, &ring, &p)) < 0)
			die("io_uring_queue_init", -err);
	}
	bufs = mmap(NULL, (size_t)NBUFS * BUFSZ, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	br = mmap(NULL, NBUFS * sizeof(struct io_uring_buf), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (bufs == MAP_FAILED || br == MAP_FAILED)
		die("mmap", errno);
	io_uring_buf_ring_init(br);
	struct io_uring_buf_reg reg = {.ring_addr = (unsigned long)br, .ring_entries = NBUFS, .bgid = BGID};
	if ((err = io_uring_register_buf_ring(&ring, &reg, 0)) < 0)
		die("io_uring_register_buf_ring", -err);
	for (int i = 0; i < NBUFS; i++)
		io_uring_buf_ring_add(br, bufs + (size_t)i * BUFSZ, BUFSZ, (unsigned short)i, io_uring_buf_ring_mask(NBUFS), i);
	io_uring_buf_ring_advance(br, NBUFS);

	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((unsigned short)atoi(argv[1]))};
	if (inet_pton(AF_INET, argc > 2 ? argv[2] : "127.0.0.1", &sin.sin_addr) != 1)
		die("inet_pton", EINVAL);
	int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int one = 1;
	if (lfd < 0 || setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
	    bind(lfd, (struct sockaddr *)&sin, sizeof sin) < 0 || listen(lfd, 4096) < 0)
		die("listen", errno);
	socklen_t sl = sizeof sin;
	getsockname(lfd, (struct sockaddr *)&sin, &sl);
	char host[INET_ADDRSTRLEN];
	printf("listening on %s:%d (%s)\n", inet_ntop(AF_INET, &sin.sin_addr, host, sizeof host), ntohs(sin.sin_port),
	       p.flags & IORING_SETUP_DEFER_TASKRUN ? "SINGLE_ISSUER|DEFER_TASKRUN" : "COOP_TASKRUN");
	fflush(stdout);

	struct io_uring_sqe *s = sqe();
	io_uring_prep_multishot_accept(s, lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	io_uring_sqe_set_data64(s, UD(OP_ACCEPT, lfd));
	while (!stopping) {
		err = io_uring_submit_and_wait(&ring, 1);
		if (err < 0 && err != -EINTR && err != -ETIME)
			die("io_uring_submit_and_wait", -err);
		struct io_uring_cqe *cqe;
		unsigned head, n = 0;
		io_uring_for_each_cqe(&ring, head, cqe) {
			unsigned long long ud = io_uring_cqe_get_data64(cqe);
			int fd = (int)(unsigned)ud;
			switch (ud >> 32) {
			case OP_ACCEPT: on_accept(cqe, fd); break;
			case OP_RECV: on_recv(cqe, fd); break;
			case OP_SEND: on_send(cqe, fd); break;
			}
			n++;
		}
		io_uring_cq_advance(&ring, n);
	}
	return 0;
}
