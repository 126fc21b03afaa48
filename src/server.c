/* SPDX-License-Identifier: MIT */
/*
 * server.c - forkless-server, the spawn server: a small program the library
 * starts (exec'd, so pristine) that creates the caller's children for it.
 *
 * Its socket is fd 3 (wire.h has the protocol); it has no other fd, an
 * empty environment and default signal state.  The main thread reads a
 * request and clones the child with CLONE_VM (this small address space:
 * nothing to copy), CLONE_PARENT (so that it is the caller's own child)
 * and CLONE_CHILD_CLEARTID, and answers at once (pid, pidfd): the child
 * keeps the reply socket and writes its own report there if it fails, and
 * the caller reads to EOF, which comes at the child's exec (job_run).  The
 * job's memory (stack, spec) is freed once the child's tid clears.  Where
 * clone3 is refused, and for an embryo's run, the main thread instead
 * waits, as a vfork parent does, until the tid clears, and then answers
 * with the report (in our memory); a child that takes longer than FAST_MS
 * (20 ms) is left to a worker thread, so that one that blocks before exec
 * stalls nobody else.  The child runs the library's child executor
 * (child.c) on the request's spec; its first step puts the request's fds
 * at the caller's numbers.  Embryos (fl__embryo_main) are cloned ahead of
 * their run and wait on a control socket.
 *
 * It ends when the caller's end of the socket closes (the caller exited,
 * exec'd, or let it go) and after refusing a request from anyone but its
 * parent with its own credentials; its embryos then end too.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "sys.h"
#include "warm.h"
#include "wire.h"

#define SOCK 3
#define STACK_SIZE (64 * 1024)
#define MSG_MAX (sizeof(struct fl__wreq) + FL__WIRE_INLINE_MAX)
#define FAST_MS 20 /* a child not at exec by then is waited for by a worker */

/* A child on its way to exec (a spawn or an embryo's run). */
struct job {
	struct job *next;
	pid_t pid;
	int pidfd;          /* until sent */
	int reply;          /* the caller's reply socket */
	int *fds;           /* the request's fds (ours), until the child has them */
	size_t nfds;
	void *stack;        /* its stack (a block of an embryo) */
	void *payload;      /* what spec points into */
	void *vecs;
	struct fl__spec spec;
	struct fl__report rep;
	struct fl__child_arg arg;
	int *src;           /* remap_src */
	struct emb *emb;    /* an embryo's run: freed with the job */
	int tid;            /* the child's tid until its mm is released (exec, exit) */
	int *tidp;          /* &tid, or the embryo's */
};

/* An embryo waiting for its run. */
struct emb {
	struct emb *next;
	pid_t pid;
	int pidfd;          /* until handed to the caller */
	int ctl;            /* our end of its control socket */
	int spare;          /* not handed out yet */
	void *stack;
	struct fl__embryo e;
};

static struct emb *embs;
static unsigned int want_spares, nspares;
static int epoch; /* of the reserve: each FL__W_RESERVE ends the spares before */
static pid_t caller;
static uid_t my_uid;
static gid_t my_gid;
static int no_clone3, no_clear_sighand; /* learned once; read and set with atomics */
static struct fl__rlimit64 own_limits[FL__RLIM_MAX]; /* ours: each child's to start with */
static uint32_t own_limits_known;

/* Stacks are kept for reuse: a fresh one costs an mmap, an munmap and
 * its page faults, and every change to this address space shoots down
 * the TLB of each child still sharing it. */
static pthread_mutex_t stack_lock = PTHREAD_MUTEX_INITIALIZER;
static void *stack_pool[64];
static int stack_n;

static void *stack_alloc(void)
{
	size_t guard = (size_t)sysconf(_SC_PAGESIZE);
	char *p = NULL;

	pthread_mutex_lock(&stack_lock);
	if (stack_n > 0)
		p = stack_pool[--stack_n];
	pthread_mutex_unlock(&stack_lock);
	if (p)
		return p;
	p = mmap(NULL, guard + STACK_SIZE, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	mprotect(p, guard, PROT_NONE);
	return p + guard;
}

/* Only once the child that ran on it released our mm (exec or exit). */
static void stack_free(void *p)
{
	size_t guard = (size_t)sysconf(_SC_PAGESIZE);

	if (!p)
		return;
	pthread_mutex_lock(&stack_lock);
	if (stack_n < 64) {
		stack_pool[stack_n++] = p;
		p = NULL;
	}
	pthread_mutex_unlock(&stack_lock);
	if (p)
		munmap((char *)p - guard, guard + STACK_SIZE);
}

/*
 * Clone fn(arg) as a child of the caller on stack: CLONE_VM, no CLONE_FILES
 * (its table starts as a copy of ours), every signal blocked until the
 * child executor sets its mask; with vfork, return once it exec'd or died;
 * with tid, *tid is its tid until its mm is released (0 then).  Returns
 * the pid, the pidfd in *pidfd.
 */
static long clone_child(void *stack, int (*fn)(void *), void *arg, int *pidfd, int cgroup,
			int vfork, int *tid)
{
	uint64_t all = ~0ULL, old;
	uint64_t flags = CLONE_VM | CLONE_PARENT | CLONE_PIDFD | (vfork ? CLONE_VFORK : 0) |
			 (tid ? CLONE_CHILD_CLEARTID : 0);
	long pid = -ENOSYS;

	*pidfd = -1;
	fl__sys4(__NR_rt_sigprocmask, SIG_BLOCK, &all, &old, 8);
#ifdef FL__HAVE_CLONE3_ASM
	if (!__atomic_load_n(&no_clone3, __ATOMIC_RELAXED)) {
		struct fl__clone_args a = {
			.flags = flags | (tid ? CLONE_PARENT_SETTID : 0) |
				 (__atomic_load_n(&no_clear_sighand, __ATOMIC_RELAXED)
					  ? 0 : FL__CLONE_CLEAR_SIGHAND),
			.pidfd = (uint64_t)(uintptr_t)pidfd,
			.child_tid = (uint64_t)(uintptr_t)tid,
			.parent_tid = (uint64_t)(uintptr_t)tid, /* set before it can run or die */
			/* must be 0 with CLONE_PARENT: the child gets ours, SIGCHLD */
			.exit_signal = 0,
			.stack = (uint64_t)(uintptr_t)stack,
			.stack_size = STACK_SIZE,
		};
		if (cgroup >= 0) {
			a.flags |= FL__CLONE_INTO_CGROUP;
			a.cgroup = (uint64_t)cgroup;
		}
		pid = fl__clone3_run(&a, cgroup >= 0 ? FL__CLONE_ARGS_SIZE_VER2
						     : FL__CLONE_ARGS_SIZE_VER0, fn, arg);
		if (pid == -EINVAL && (a.flags & FL__CLONE_CLEAR_SIGHAND) && cgroup < 0) {
			__atomic_store_n(&no_clear_sighand, 1, __ATOMIC_RELAXED); /* < 5.5 */
			a.flags &= ~FL__CLONE_CLEAR_SIGHAND;
			pid = fl__clone3_run(&a, FL__CLONE_ARGS_SIZE_VER0, fn, arg);
		}
		if (pid == -ENOSYS || pid == -EPERM)
			__atomic_store_n(&no_clone3, 1, __ATOMIC_RELAXED);
	}
#endif
	if (pid == -ENOSYS || pid == -EPERM || __atomic_load_n(&no_clone3, __ATOMIC_RELAXED)) {
		/* clone(2) has one parent slot, taken by the pidfd: the tid
		 * is stored by the child (CLONE_CHILD_SETTID) */
		pid = clone(fn, (char *)stack + STACK_SIZE,
			    (int)flags | (tid ? CLONE_CHILD_SETTID : 0) | SIGCHLD, arg, pidfd, NULL,
			    tid);
		if (pid < 0)
			pid = -errno;
	}
	fl__sys4(__NR_rt_sigprocmask, SIG_SETMASK, &old, NULL, 8);
	return pid;
}

/* The mode bits a child of ours starts with. */
static uint32_t clone_mode(void)
{
	return __atomic_load_n(&no_clone3, __ATOMIC_RELAXED) ||
			       __atomic_load_n(&no_clear_sighand, __ATOMIC_RELAXED)
		       ? 0 : FL__MODE_SIGHAND_CLEARED;
}

static __attribute__((noreturn)) void quit(void);

/* ---- messages ---------------------------------------------------------- */

struct msg {
	struct fl__wreq h;
	char *payload;
	size_t len;
	int *fds; /* the request's fds (after the reply socket and any memfd) */
	size_t nfds;
	int reply;
};

static void close_all(int *fds, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

/* Take the fds of a message's SCM_RIGHTS into *fds (grown), the sender's
 * credentials into *cr.  Returns how many fds. */
static size_t take_cmsgs(struct msghdr *m, int **fds, size_t *n, size_t *cap, struct ucred *cr,
			 int *has_cr)
{
	size_t got = 0;

	for (struct cmsghdr *h = CMSG_FIRSTHDR(m); h; h = CMSG_NXTHDR(m, h)) {
		if (h->cmsg_level != SOL_SOCKET)
			continue;
		if (h->cmsg_type == SCM_CREDENTIALS && h->cmsg_len >= CMSG_LEN(sizeof(*cr))) {
			memcpy(cr, CMSG_DATA(h), sizeof(*cr));
			*has_cr = 1;
		} else if (h->cmsg_type == SCM_RIGHTS) {
			size_t k = (h->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			if (*n + k > *cap) {
				size_t c = (*n + k) * 2;
				int *p = realloc(*fds, c * sizeof(int));
				if (!p) { /* close what does not fit */
					int *d = (int *)CMSG_DATA(h);
					for (size_t i = 0; i < k; i++)
						close(d[i]);
					continue;
				}
				*fds = p;
				*cap = c;
			}
			memcpy(*fds + *n, CMSG_DATA(h), k * sizeof(int));
			*n += k;
			got += k;
		}
	}
	return got;
}

static int cred_ok(const struct ucred *cr, int has)
{
	return has && cr->pid == caller && cr->uid == my_uid && cr->gid == my_gid;
}

/*
 * Receive one request (its FL__W_MORE messages too).  0: got one; 1: EOF;
 * -EPERM: a sender other than the caller or credentials other than ours;
 * other -errno: a malformed request (its fds closed, *m->reply set if it
 * had one).
 */
static int recv_request(struct msg *m)
{
	static char buf[MSG_MAX];
	union {
		char b[CMSG_SPACE(sizeof(int) * 253) + CMSG_SPACE(sizeof(struct ucred))];
		struct cmsghdr align;
	} u;
	struct iovec iov = { buf, sizeof(buf) };
	struct msghdr h = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.b,
			    .msg_controllen = sizeof(u.b) };
	struct ucred cr;
	int *fds = NULL, has_cr = 0, r = 0;
	size_t n = 0, cap = 0;

	memset(m, 0, sizeof(*m));
	m->reply = -1;
	ssize_t got = recvmsg(SOCK, &h, MSG_CMSG_CLOEXEC);
	if (got == 0)
		return 1;
	if (got < 0)
		return errno == EINTR || errno == EAGAIN ? -EAGAIN : 1;
	take_cmsgs(&h, &fds, &n, &cap, &cr, &has_cr);
	if (n > 0) {
		m->reply = fds[0];
		memmove(fds, fds + 1, (n - 1) * sizeof(int));
		n--;
	}
	if (!cred_ok(&cr, has_cr)) {
		close_all(fds, n);
		free(fds);
		return -EPERM; /* answered on its reply socket, if it had one */
	}
	if ((size_t)got < sizeof(m->h) || (h.msg_flags & (MSG_TRUNC | MSG_CTRUNC))) {
		r = -EINVAL;
		goto bad;
	}
	memcpy(&m->h, buf, sizeof(m->h));
	size_t inl = (size_t)got - sizeof(m->h); /* the payload of the first message */
	if (m->h.magic != FL__WIRE_MAGIC || m->h.spec_size != sizeof(struct fl__spec) ||
	    m->h.nfds > (1u << 20) || m->h.len > (64u << 20)) {
		r = -EINVAL;
		goto bad;
	}
	/* the rest of the fds */
	while (n < m->h.nfds) {
		struct fl__wreq more;
		iov = (struct iovec){ &more, sizeof(more) };
		h.msg_controllen = sizeof(u.b);
		h.msg_flags = 0;
		got = recvmsg(SOCK, &h, MSG_CMSG_CLOEXEC);
		if (got <= 0) {
			r = -EPIPE;
			goto bad;
		}
		has_cr = 0;
		size_t k = take_cmsgs(&h, &fds, &n, &cap, &cr, &has_cr);
		if (!cred_ok(&cr, has_cr)) {
			r = -EPERM;
			goto bad;
		}
		if (k == 0 || (size_t)got != sizeof(more) || more.type != FL__W_MORE) {
			r = -EINVAL;
			goto bad;
		}
	}
	if (n != m->h.nfds) {
		r = -EINVAL;
		goto bad;
	}
	/* the payload: inline or in a memfd */
	if (m->h.flags & FL__W_PAYLOAD_FD) {
		if (n < 1) {
			r = -EINVAL;
			goto bad;
		}
		m->payload = malloc(m->h.len ? m->h.len : 1);
		if (!m->payload || pread(fds[0], m->payload, m->h.len, 0) != (ssize_t)m->h.len) {
			r = m->payload ? -EINVAL : -ENOMEM;
			goto bad;
		}
		close(fds[0]);
		memmove(fds, fds + 1, (n - 1) * sizeof(int));
		n--;
	} else {
		if (inl != m->h.len) {
			r = -EINVAL;
			goto bad;
		}
		m->payload = malloc(inl ? inl : 1);
		if (!m->payload) {
			r = -ENOMEM;
			goto bad;
		}
		memcpy(m->payload, buf + sizeof(m->h), inl);
	}
	m->len = m->h.len;
	m->fds = fds;
	m->nfds = n;
	return 0;
bad:
	free(m->payload);
	m->payload = NULL;
	close_all(fds, n);
	free(fds);
	return r;
}

/* Answer on socket sock with fds[0..n-1] (closed here, as sock is unless
 * it is ours: the main socket). */
static void send_answer(int sock, const struct fl__wrep *w, int *fds, int n)
{
	union {
		char b[CMSG_SPACE(sizeof(int) * 2)];
		struct cmsghdr align;
	} u;
	struct iovec iov = { (void *)w, sizeof(*w) };
	struct msghdr h = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (n > 0) {
		memset(u.b, 0, sizeof(u.b));
		h.msg_control = u.b;
		h.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)n);
		struct cmsghdr *c = CMSG_FIRSTHDR(&h);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)n);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * (size_t)n);
	}
	if (sock >= 0)
		sendmsg(sock, &h, MSG_NOSIGNAL);
	for (int i = 0; i < n; i++)
		close(fds[i]);
	if (sock >= 0 && sock != SOCK)
		close(sock);
}

/* Answer on the reply socket and close it; fd (if >= 0) goes with it and
 * is closed here: we keep no pidfd, so that the caller's is the only open
 * file of it (an epoll set forgets a closed fd only with its file). */
static void reply(int sock, int result, pid_t pid, const struct fl__report *rep, int fd)
{
	struct fl__wrep w = { .result = result, .pid = pid, .has_pidfd = fd >= 0 };

	if (rep)
		w.rep = *rep;
	send_answer(sock, &w, &fd, fd >= 0);
}

/* Tell the caller of a new spare and give it the spare's pidfd (ours goes):
 * a notice on the main socket, read whenever the library looks at the
 * reserve. */
static void notice_spare(struct emb *m)
{
	struct fl__wrep w = { .result = epoch, .pid = m->pid, .has_pidfd = 1 };

	send_answer(SOCK, &w, &m->pidfd, 1);
	m->pidfd = -1;
}

/* ---- embryos ----------------------------------------------------------- */

static struct emb *emb_find(pid_t pid)
{
	for (struct emb *m = embs; m; m = m->next)
		if (m->pid == pid)
			return m;
	return NULL;
}

static void emb_unlink(struct emb *m)
{
	for (struct emb **p = &embs; *p; p = &(*p)->next)
		if (*p == m) {
			*p = m->next;
			return;
		}
}

/* Gone (EOF on its socket: it exited, its stack is free) or never run. */
static void emb_free(struct emb *m)
{
	if (m->ctl >= 0)
		close(m->ctl);
	if (m->pidfd >= 0)
		close(m->pidfd);
	stack_free(m->stack);
	free(m);
}

static long emb_new(struct emb **ret)
{
	struct emb *m = calloc(1, sizeof(*m));
	int sv[2];
	long pid;

	if (!m)
		return -ENOMEM;
	m->ctl = m->pidfd = -1;
	if (!(m->stack = stack_alloc())) {
		free(m);
		return -ENOMEM;
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		pid = -errno;
		emb_free(m);
		return pid;
	}
	m->ctl = sv[0];
	m->e.ctl = sv[1]; /* the same number in its copy of our table */
	pid = clone_child(m->stack, fl__embryo_main, &m->e, &m->pidfd, -1, 0, &m->e.tid);
	close(sv[1]);
	if (pid < 0) {
		emb_free(m);
		return pid;
	}
	m->pid = (pid_t)pid;
	/* clone(2) fallback: the embryo stores its tid as it starts; if it
	 * has not yet, store it here (one that already exited: see released) */
	int zero = 0;
	__atomic_compare_exchange_n(&m->e.tid, &zero, (int)pid, 0, __ATOMIC_ACQ_REL,
				    __ATOMIC_RELAXED);
	m->next = embs;
	embs = m;
	*ret = m;
	return pid;
}

/* End an embryo that will not run: it exits; EOF on ctl then frees it. */
static void emb_end(struct emb *m)
{
	char cmd = 0;

	if (m->spare && nspares)
		nspares--;
	m->spare = 0;
	send(m->ctl, &cmd, 1, MSG_NOSIGNAL); /* an unknown command: it exits */
}

static void spares_fill(void)
{
	while (nspares < want_spares) {
		struct emb *m;
		if (emb_new(&m) < 0)
			return;
		m->spare = 1;
		nspares++;
		notice_spare(m);
	}
}

/* Send the embryo one command with fds; for an op, wait for it to finish. */
static int emb_send(struct emb *m, char cmd, const int *fds, size_t n)
{
	union {
		char b[CMSG_SPACE(sizeof(int) * FL__WIRE_FDS_MAX)];
		struct cmsghdr align;
	} u;
	struct iovec iov = { &cmd, 1 };
	struct msghdr h = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (n) {
		memset(u.b, 0, sizeof(u.b));
		h.msg_control = u.b;
		h.msg_controllen = CMSG_SPACE(sizeof(int) * n);
		struct cmsghdr *c = CMSG_FIRSTHDR(&h);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * n);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * n);
	}
	if (sendmsg(m->ctl, &h, MSG_NOSIGNAL) < 0)
		return -ESRCH; /* it died */
	return 0;
}

static int emb_op(struct emb *m, const struct msg *q)
{
	char ack;

	m->e.op = q->h.op;
	m->e.op_arg = (long)q->h.arg;
	m->e.op_arg2 = (long)q->h.arg2;
	m->e.op_ptr = q->payload;
	if (q->h.op == FL__OP_CHDIR && (q->len == 0 || q->payload[q->len - 1]))
		return -EINVAL;
	if (q->h.op == FL__OP_AFFINITY && (size_t)q->h.arg > q->len)
		return -EINVAL;
	if (q->h.op == FL__OP_MEMPOLICY && (size_t)(q->h.arg2 + 7) / 8 > q->len)
		return -EINVAL;
	if (emb_send(m, FL__EMB_OP, q->fds, q->nfds > 1 ? 1 : q->nfds) < 0)
		return -ESRCH;
	ssize_t k;
	while ((k = recv(m->ctl, &ack, 1, 0)) < 0 && errno == EINTR)
		;
	if (k <= 0)
		return -ESRCH; /* killed meanwhile */
	return (int)m->e.op_result;
}

/* ---- runs: worker threads ---------------------------------------------- */

/* A limit of /proc/PID/limits at q: "unlimited" or a number. */
static int limit_value(const char *q, uint64_t *v)
{
	char *end;

	if (!strncmp(q, "unlimited", 9)) {
		*v = ~0ULL;
		return 0;
	}
	*v = strtoull(q, &end, 10);
	return end > q && (*end == ' ' || *end == '\n') ? 0 : -EIO;
}

/*
 * The caller's rlimits that the request left to us (FL__W_LIMITS): rlimits
 * belong to the process, so /proc/CALLER/limits (readable by anyone who
 * sees the process) has them, and reading it here spares the caller a
 * prlimit64 per limit.  The kernel's format: a header line, then one line
 * per limit in RLIMIT_* order, the soft limit at column 26, the hard one
 * at column 47.  Read now: what the caller has as the request is served.
 */
static int caller_limits(struct fl__spec *s)
{
	char path[64], buf[4096];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/limits", (int)caller);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	/* a caller that died is not ours any more: its pid may be another's */
	if (getppid() != caller)
		quit();
	if (n <= 0)
		return n < 0 ? -errno : -EIO;
	buf[n] = 0;
	char *line = strchr(buf, '\n'), *end;
	for (int i = 0; i < FL__RLIM_MAX; i++, line = end) {
		struct fl__rlimit64 l;
		if (!line || !(end = strchr(++line, '\n')) || end - line < 48 ||
		    limit_value(line + 26, &l.cur) < 0 || limit_value(line + 47, &l.max) < 0)
			return -EIO;
		if (!(s->rlimit_set & (1u << i))) {
			s->rlimits[i] = l;
			s->rlimit_set |= 1u << i;
		}
	}
	return 0;
}

static void job_free(struct job *j)
{
	if (j->pidfd >= 0)
		close(j->pidfd);
	if (j->reply >= 0)
		close(j->reply);
	close_all(j->fds, j->nfds);
	free(j->fds);
	if (j->emb)
		emb_free(j->emb);
	else
		stack_free(j->stack);
	free(j->payload);
	free(j->vecs);
	free(j->src);
	free(j);
}

/* A job for request q: its spec unpacked, pointing into q's payload, and
 * q's fds and reply socket: all the job's now. */
static int job_new(struct msg *q, struct job **ret)
{
	struct job *j = calloc(1, sizeof(*j));
	struct fl__wfd *map;
	size_t nmap;
	int r;

	if (!j)
		return -ENOMEM;
	j->pidfd = j->reply = -1;
	if ((r = fl__wire_unpack(q->payload, q->len, &j->spec, &map, &nmap, &j->vecs)) < 0 ||
	    nmap != q->nfds) {
		free(j->vecs);
		free(j);
		return r < 0 ? r : -EINVAL;
	}
	j->payload = q->payload;
	q->payload = NULL;
	j->fds = q->fds;
	j->nfds = q->nfds;
	q->fds = NULL;
	q->nfds = 0;
	j->reply = q->reply;
	q->reply = -1;
	if (!(j->src = malloc((nmap ? nmap : 1) * sizeof(int)))) {
		job_free(j);
		return -ENOMEM;
	}
	memcpy(j->src, j->fds, nmap * sizeof(int));
	if ((q->h.flags & FL__W_LIMITS) && (r = caller_limits(&j->spec)) < 0) {
		job_free(j);
		return r;
	}
	/* a child starts with our limits: set only those that differ */
	for (int i = 0; i < FL__RLIM_MAX; i++)
		if ((own_limits_known & (1u << i)) &&
		    !memcmp(&j->spec.rlimits[i], &own_limits[i], sizeof(own_limits[i])))
			j->spec.rlimit_set &= ~(1u << i);
	j->spec.remap = map;
	j->spec.remap_src = j->src;
	j->spec.nremap = nmap;
	/* what the library's launcher would have set: none of it applies here */
	j->spec.mode &= FL__MODE_INHERIT_FDS | FL__MODE_EXECFD_INHERIT;
	j->spec.mode |= FL__MODE_REMAP;
	j->spec.nfar = 0;
	j->spec.far_moved = 0;
	j->spec.errfd = j->spec.errfd_read = -1;
	j->rep = (struct fl__report){ 0, 0, -1, 0, 0 };
	j->arg = (struct fl__child_arg){ &j->spec, &j->rep, NULL };
	*ret = j;
	return 0;
}

/* Our number of the caller's fd, or -1. */
static int here(const struct job *j, int fd)
{
	for (size_t i = 0; fd >= 0 && i < j->spec.nremap; i++)
		if (j->spec.remap[i].fd == fd)
			return j->fds[i];
	return -1;
}

static long futex(int *addr, int op, int val, const struct timespec *ts)
{
	return fl__sys6(__NR_futex, (long)addr, op, val, (long)ts, 0, 0);
}

/* Start a spawn's child; its tid in j->tid until its mm is released. */
static void start_spawn(struct job *j)
{
	long pid;

	j->tidp = &j->tid;
	if (!(j->stack = stack_alloc())) {
		j->rep = (struct fl__report){ ENOMEM, FL_STAGE_CLONE, -1, FL_STAGE_CLONE, 0 };
		return;
	}
	int cg = (j->spec.set & FL__SET_CGROUP) ? here(j, j->spec.cgroup_fd) : -1;
	j->spec.mode |= clone_mode() | (cg >= 0 ? FL__MODE_IN_CGROUP : 0);
	pid = clone_child(j->stack, fl__child_main, &j->arg, &j->pidfd, cg, 0, &j->tid);
	if ((pid == -EINVAL || pid == -ENOSYS || pid == -EPERM) && cg >= 0) {
		/* no CLONE_INTO_CGROUP (< 5.7, clone3 refused): the child joins */
		j->spec.mode &= ~(FL__MODE_IN_CGROUP | FL__MODE_SIGHAND_CLEARED);
		j->spec.mode |= clone_mode();
		pid = clone_child(j->stack, fl__child_main, &j->arg, &j->pidfd, -1, 0, &j->tid);
	}
	if (pid < 0) {
		j->rep = (struct fl__report){ (int)-pid, FL_STAGE_CLONE, -1, FL_STAGE_CLONE, 0 };
		j->tid = 0;
		return;
	}
	j->pid = (pid_t)pid;
	/* clone(2) fallback: the child stores its tid as it starts; if it
	 * has not yet, store it here (if it was already cleared, the pidfd
	 * shows the exit: see released) */
	int zero = 0;
	__atomic_compare_exchange_n(&j->tid, &zero, (int)pid, 0, __ATOMIC_ACQ_REL,
				    __ATOMIC_RELAXED);
}

/* Start an embryo's run: it has our memory; its tid is the one to watch. */
static void start_embryo(struct job *j)
{
	struct emb *m = j->emb;
	int r = 0;

	j->tidp = &m->e.tid;
	j->pid = m->pid;
	/* ours, to see it exit (a file of its own: the caller's is the handle) */
	j->pidfd = (int)fl__sys2(__NR_pidfd_open, m->pid, 0);
	m->e.run_spec = &j->spec;
	m->e.nsrc = 0;
	m->e.arg = j->arg;
	j->spec.mode |= clone_mode();
	for (size_t i = 0; i < j->nfds && r == 0; i += FL__WIRE_FDS_MAX) {
		size_t k = j->nfds - i < FL__WIRE_FDS_MAX ? j->nfds - i : FL__WIRE_FDS_MAX;
		r = emb_send(m, FL__EMB_FDS, j->fds + i, k);
	}
	if (r == 0)
		r = emb_send(m, FL__EMB_RUN, NULL, 0);
	if (r < 0) { /* it died before its run: the caller reaps it */
		j->rep = (struct fl__report){ ESRCH, FL_STAGE_CLONE, -1, FL_STAGE_CLONE, 0 };
		j->tidp = &j->tid;
		j->tid = 0;
	}
}

/* Whether the child released our mm, waiting up to ms (-1: for ever).
 * Its tid clears then (exec or exit); one that died before clone(2)'s
 * child stored its tid (the fallback without clone3) has none to clear:
 * its pidfd says it exited.  (Not an embryo's socket: the child closes it
 * before exec, while it still runs on our memory.) */
static int released(struct job *j, int ms)
{
	for (;;) {
		int tid = __atomic_load_n(j->tidp, __ATOMIC_ACQUIRE);
		if (tid == 0)
			return 1;
		int step = ms < 0 || ms > 100 ? 100 : ms;
		struct timespec ts = { 0, (long)step * 1000 * 1000 };
		if (futex(j->tidp, FUTEX_WAIT, tid, &ts) != -ETIMEDOUT)
			continue;
		struct pollfd p = { j->pidfd, POLLIN, 0 };
		if (p.fd >= 0 && poll(&p, 1, 0) == 1 && (p.revents & POLLIN))
			return 1;
		if (ms >= 0 && (ms -= step) <= 0)
			return 0;
	}
}

/* The child exec'd or died: answer, and let everything of the job go. */
static void job_finish(struct job *j)
{
	/* the child has its copies now (or never will) */
	close_all(j->fds, j->nfds);
	j->nfds = 0;
	/* a spawn's pidfd goes to the caller; an embryo's handle is its own */
	reply(j->reply, 0, j->pid, &j->rep, j->emb ? -1 : j->pidfd);
	j->reply = -1;
	if (!j->emb)
		j->pidfd = -1; /* sent and closed */
	job_free(j);
}

static void job_submit(struct job *j);

/* Spawns answered at once whose children have not released our memory
 * yet (they run on the job's stack and read its spec): main thread only. */
static struct job *pending;

/* Free the pending jobs whose children exec'd or died. */
static void pending_sweep(void)
{
	for (struct job **p = &pending, *j; (j = *p);) {
		if (__atomic_load_n(j->tidp, __ATOMIC_ACQUIRE) == 0) {
			*p = j->next;
			job_free(j);
		} else {
			p = &j->next;
		}
	}
}

#ifdef FL__WARM
/*
 * A warm child: a copy of this process (no CLONE_VM: fork's way, by
 * warm.c), the caller's own (CLONE_PARENT).  It runs the child executor
 * on the spec up to where exec would come and then goes on into the
 * program (fl__warm_child never returns).  Answered at clone, as a spawn:
 * the child writes its report on the reply socket if it fails, and EOF
 * comes when it closes the socket, set up.  We keep nothing of it.
 */
static void warm_run(struct job *j)
{
	/* every disposition here is SIG_DFL (the agent refuses to serve
	 * otherwise, and sets none): what CLONE_CLEAR_SIGHAND would give */
	j->spec.mode |= FL__MODE_ERRPIPE | FL__MODE_NOEXEC | FL__MODE_SIGHAND_CLEARED;
	j->spec.errfd = j->reply;
	long pid = fl__warm_clone(&j->pidfd);
	if (pid == 0)
		fl__warm_child(&j->spec, fl__child_main(&j->arg));
	if (pid < 0) {
		j->rep = (struct fl__report){ (int)-pid, FL_STAGE_CLONE, -1, FL_STAGE_CLONE, 0 };
		reply(j->reply, 0, 0, &j->rep, -1);
	} else {
		struct fl__wrep w = { .pid = (pid_t)pid, .has_pidfd = 1, .started = 1 };
		w.rep = (struct fl__report){ 0, 0, -1, FL_STAGE_CLONE, 0 };
		send_answer(j->reply, &w, &j->pidfd, 1);
		j->pidfd = -1;
	}
	j->reply = -1;
	job_free(j);
}
#endif

/*
 * Run j.  A spawn is answered as soon as its child is cloned (pid, pidfd);
 * the child itself writes its report on the same socket if it fails, and
 * the caller's end sees EOF once the child exec'd or died (its copy is
 * close-on-exec, ours goes now): the caller wakes from the child's exec,
 * not from us, and we are free for the next request at once.  That needs
 * the tid the kernel sets before the child runs (clone3); with clone(2),
 * and for an embryo's run (its report is in our memory), we wait as a
 * vfork parent does (the caller reads to EOF either way), and a slow
 * child goes to a worker.
 */

static void job_run(struct job *j)
{
#ifdef FL__WARM
	warm_run(j);
	return;
#endif
	if (j->emb) {
		start_embryo(j);
	} else {
		bool at_clone = !__atomic_load_n(&no_clone3, __ATOMIC_RELAXED);
		if (at_clone) {
			j->spec.mode |= FL__MODE_ERRPIPE;
			j->spec.errfd = j->reply;
		}
		start_spawn(j);
		/* (clone3 refused just now: its clone(2) child still reports
		 * on the socket, and we answer after it too) */
		if (at_clone && j->pid > 0 && !__atomic_load_n(&no_clone3, __ATOMIC_RELAXED)) {
			close_all(j->fds, j->nfds); /* the child has its copies */
			j->nfds = 0;
			struct fl__wrep w = { .pid = j->pid, .has_pidfd = 1, .started = 1 };
			w.rep = (struct fl__report){ 0, 0, -1, FL_STAGE_CLONE, 0 };
			send_answer(j->reply, &w, &j->pidfd, 1);
			j->reply = j->pidfd = -1;
			j->next = pending;
			pending = j;
			return;
		}
	}
	if (released(j, FAST_MS))
		job_finish(j);
	else
		job_submit(j);
}

static pthread_mutex_t q_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t q_cond = PTHREAD_COND_INITIALIZER;
static struct job *q_head, *q_tail;
static int q_idle, q_workers;

static void *worker(void *unused)
{
	(void)unused;
	for (;;) {
		pthread_mutex_lock(&q_lock);
		while (!q_head) {
			q_idle++;
			pthread_cond_wait(&q_cond, &q_lock);
			q_idle--;
		}
		struct job *j = q_head;
		if (!(q_head = j->next))
			q_tail = NULL;
		pthread_mutex_unlock(&q_lock);
		released(j, -1);
		job_finish(j);
	}
	return NULL;
}

/* Hand j to an idle worker, or a new one; with none to be had, wait here. */
static void job_submit(struct job *j)
{
	int spawn = 0;

	j->next = NULL;
	pthread_mutex_lock(&q_lock);
	if (q_tail)
		q_tail->next = j;
	else
		q_head = j;
	q_tail = j;
	if (q_idle > 0) {
		pthread_cond_signal(&q_cond);
	} else if (q_workers < 256) {
		q_workers++;
		spawn = 1;
	}
	pthread_mutex_unlock(&q_lock);
	if (!spawn)
		return;
	pthread_t t;
	pthread_attr_t a;
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old); /* workers take no signals */
	pthread_attr_init(&a);
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&a, 128 * 1024);
	int r = pthread_create(&t, &a, worker, NULL);
	pthread_attr_destroy(&a);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r == 0)
		return;
	pthread_mutex_lock(&q_lock);
	q_workers--;
	struct job *mine = NULL;
	if (q_head == j && q_idle == 0) { /* nobody will take it: ours */
		mine = j;
		if (!(q_head = j->next))
			q_tail = NULL;
	}
	pthread_mutex_unlock(&q_lock);
	if (mine) {
		released(mine, -1);
		job_finish(mine);
	}
}

/* Run request q: a spawn, or embryo m's run (m then is the job's: its
 * socket and stack go with it). */
static void do_run(struct msg *q, struct emb *m)
{
	struct job *j;
	int r;

	if ((r = job_new(q, &j)) < 0) {
		reply(q->reply, r, 0, NULL, -1);
		q->reply = -1;
		return;
	}
	if (m) {
		emb_unlink(m);
		j->emb = m;
		if (j->spec.set & FL__SET_CGROUP)
			j->spec.mode &= ~FL__MODE_IN_CGROUP; /* it joins by cgroup.procs */
	}
	job_run(j);
}

/* ---- the loop ---------------------------------------------------------- */

/* Our end of every embryo's control socket closes with us: EOF, and each
 * exits (children on their way to exec go on: they are the caller's). */
static __attribute__((noreturn)) void quit(void)
{
	_exit(0);
}

/* The caller took spare pid (it has its pidfd): it is no spare now. */
static void take(pid_t pid)
{
	struct emb *m = emb_find(pid);

	if (m && m->spare) {
		m->spare = 0;
		nspares--;
	}
}

static void handle(struct msg *q)
{
	struct emb *m = NULL;
	long r;

#ifdef FL__WARM
	if (q->h.type != FL__W_SPAWN) { /* a warm server only spawns */
		reply(q->reply, -EOPNOTSUPP, 0, NULL, -1);
		q->reply = -1;
		return;
	}
#endif
	switch (q->h.type) {
	case FL__W_SPAWN:
		do_run(q, NULL);
		return;
	case FL__W_EMB_TAKE: /* no answer */
		take(q->h.pid);
		spares_fill();
		return;
	case FL__W_EMB_OPEN: /* a new one: the spares are the caller's to take */
		if ((r = emb_new(&m)) < 0) {
			reply(q->reply, (int)r, 0, NULL, -1);
		} else {
			/* two open files of it: the handle, and the library's own
			 * (to kill and reap by once the handle is closed); exact,
			 * the caller has not heard of it yet to reap it */
			int fds[2] = { m->pidfd, (int)fl__sys2(__NR_pidfd_open, m->pid, 0) };
			struct fl__wrep w = { .result = 0, .pid = m->pid, .has_pidfd = 1 };
			send_answer(q->reply, &w, fds, fds[1] >= 0 ? 2 : 1);
			m->pidfd = -1;
		}
		q->reply = -1;
		return;
	case FL__W_EMB_OP:
		if (q->h.flags & FL__W_TAKEN)
			take(q->h.pid);
		m = emb_find(q->h.pid);
		reply(q->reply, m && !m->spare ? emb_op(m, q) : -ESRCH, 0, NULL, -1);
		q->reply = -1;
		spares_fill(); /* after the answer: the caller waits for it */
		return;
	case FL__W_EMB_RUN:
		if (q->h.flags & FL__W_TAKEN)
			take(q->h.pid);
		m = emb_find(q->h.pid);
		if (!m || m->spare) {
			reply(q->reply, -ESRCH, 0, NULL, -1);
			q->reply = -1;
			return;
		}
		do_run(q, m);
		spares_fill(); /* after the run started: it is waited for */
		return;
	case FL__W_RESERVE:
		if (q->h.op < 0 || q->h.op > FL_EMBRYO_RESERVE_MAX) {
			r = -EINVAL;
		} else {
			want_spares = (unsigned int)q->h.op;
			epoch++; /* the caller reaps every spare of an older one */
			for (m = embs; m; m = m->next)
				if (m->spare)
					emb_end(m);
			spares_fill();
			r = nspares == want_spares ? 0 : -EAGAIN;
		}
		reply(q->reply, (int)r, epoch, NULL, -1);
		q->reply = -1;
		return;
	}
	reply(q->reply, -EINVAL, 0, NULL, -1);
	q->reply = -1;
}

#ifdef FL__WARM
/* The warm server's loop (warm.c): returns only in a child, which goes on
 * into the program from fl__warm_child. */
void fl__warm_serve(void)
#else
int main(void)
#endif
{
	int one = 1;

	caller = getppid();
#ifndef FL__WARM
	/* a batch task's wakeup does not preempt the running one: a request
	 * never takes the caller's CPU from it (each child gets the caller's
	 * policy back, which the request carries); a warm server's children
	 * are copies of it, and keep their own */
	if (sched_getscheduler(0) == SCHED_OTHER) {
		struct sched_param sp = { 0 };
		sched_setscheduler(0, SCHED_BATCH, &sp);
	}
#endif
	for (int i = 0; i < FL__RLIM_MAX; i++)
		if (fl__sys4(__NR_prlimit64, 0, i, NULL, &own_limits[i]) == 0)
			own_limits_known |= 1u << i;
	my_uid = getuid();
	my_gid = getgid();
	/* no SIGPIPE disposition of ours: children would inherit an ignored
	 * one (CLONE_CLEAR_SIGHAND keeps SIG_IGN); every send says MSG_NOSIGNAL */
	if (setsockopt(SOCK, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) < 0)
		quit();
	for (;;) {
		size_t n = 1, i = 1;
		for (struct emb *m = embs; m; m = m->next)
			n++;
		struct pollfd *p = calloc(n, sizeof(*p));
		if (!p)
			quit();
		p[0] = (struct pollfd){ SOCK, POLLIN, 0 };
		for (struct emb *m = embs; m; m = m->next)
			p[i++] = (struct pollfd){ m->ctl, POLLIN, 0 };
		pending_sweep();
		if (poll(p, n, pending ? 5 : -1) < 0) {
			free(p);
			continue;
		}
		pending_sweep();
		/* embryos that died (EOF): their stacks are free; a spare that
		 * did (killed, or taken and let go before the caller said so)
		 * is replaced */
		i = 1;
		int lost = 0;
		for (struct emb *m = embs, *next; m; m = next, i++) {
			next = m->next;
			if (p[i].revents) {
				if (m->spare && nspares) {
					nspares--;
					lost = 1;
				}
				emb_unlink(m);
				emb_free(m);
			}
		}
		if (lost)
			spares_fill();
		short ev = p[0].revents;
		free(p);
		if (!ev)
			continue;
		struct msg q;
		int r = recv_request(&q);
		if (r == 1)
			quit(); /* the caller is gone, or let us go */
		if (r == -EPERM) {
			reply(q.reply, -EPERM, 0, NULL, -1);
			quit(); /* never again for anyone */
		}
		if (r < 0) {
			reply(q.reply, r, 0, NULL, -1);
			continue;
		}
		handle(&q);
		close_all(q.fds, q.nfds);
		free(q.fds);
		free(q.payload);
		if (q.reply >= 0)
			close(q.reply);
	}
}
