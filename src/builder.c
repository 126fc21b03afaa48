/* SPDX-License-Identifier: MIT */
/*
 * builder.c - the process builder front end: fl_pidfd_open(0, FL_PIDFD_EMPTY),
 * fl_pidfd_config(), fl_pidfd_spawn_run(), and waiting/killing on its handle.
 *
 * A builder handle is a memfd (O_CLOEXEC), an embryo handle the embryo's
 * pidfd; both live in the handle table (handle.c), which checks identity
 * and owner on every call.  After a successful run the child's pidfd is
 * dup3()'d onto the builder handle's number, if that number still is the
 * handle.  h->lock guards a handle's state and configuration; a run reads
 * the configuration without it (B_RUNNING keeps it unchanged).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "handle.h"
#include "internal.h"
#include "sys.h"

enum { B_CONFIG, B_RUNNING, B_STARTED, B_SPENT };

/* An embryo handle's state: the process exists from fl_pidfd_open on, in
 * the spawn server (launch_server.c), as a child of ours. */
struct emb {
	unsigned int gen;    /* the server start it belongs to */
	pid_t pid;
	int pidfd;           /* the library's own, to reap and kill by */
	uint32_t eager;      /* FL__SET_* the embryo applied at config time */
	bool started, async, known;
	int dead;            /* errno: killed with its creating thread (ESRCH), or gone
			      * with its server (EPERM: credentials changed; ESRCH) */
	int reply;           /* FL_SPAWN_ASYNC: the server's answer comes here */
	int result;          /* pid or -errno, once known */
	struct fl_error err;
	pid_t creator;       /* the thread it dies with */
	struct emb *tnext, **tprev; /* unstarted embryos, for their threads' exit */
};

/* Unstarted embryos, each killed when its creating thread exits. */
static pthread_mutex_t thr_lock = PTHREAD_MUTEX_INITIALIZER;
static struct emb *thr_list;
static pthread_key_t thr_key;

/* A builder or embryo handle; h->lock guards the rest. */
struct builder {
	struct fl__handle h;
	int state;
	struct fl__config cfg;
	struct emb *emb; /* embryo handles */
};

static void emb_release(struct emb *m);
static void thr_key_init(void);

/* The last reference is gone (handle.c).  Not ours: a fork child's copy of
 * its creator's entry, whose fds and embryo are the creator's. */
static void builder_free(struct fl__handle *h, bool ours)
{
	struct builder *b = (struct builder *)h;

	if (!ours) {
		b->cfg.execfd = b->cfg.cwd_fd = b->cfg.ctty_fd = b->cfg.cgroup_fd = -1;
		b->cfg.tmpl_fd = -1;
		b->cfg.tmpl = NULL; /* a copy: the creator frees its own */
		b->emb = NULL;
	}
	if (b->emb)
		emb_release(b->emb);
	fl__config_free(&b->cfg);
	free(b);
}

/*
 * The builder or embryo handle fd, with a reference.  Errors: -EBADF not
 * open, -EBADFD created by another process, -EBUSY a pidfd (a started
 * process), -EINVAL any other fd (a template handle too).
 */
static int get_builder(int fd, struct builder **ret)
{
	struct fl__handle *h;
	int r = fl__handle_get(fd, &h);

	if (r == 0 && !(h->kind & (FL__H_BUILDER | FL__H_EMBRYO))) {
		fl__handle_put(h);
		return -EINVAL;
	}
	if (r == 0) {
		*ret = (struct builder *)h;
		return 0;
	}
	if (r != -ENOENT)
		return r;
	if (fcntl(fd, F_GETFD) < 0)
		return -EBADF;
	return fl__fd_is_pidfd(fd, NULL) ? -EBUSY : -EINVAL;
}

static int open_empty(void)
{
	struct builder *b = calloc(1, sizeof(*b));
	int fd, r;

	if (!b)
		return -ENOMEM;
	fl__config_init(&b->cfg);
	fd = memfd_create("forkless-builder", MFD_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		free(b);
		return r;
	}
	b->state = B_CONFIG;
	r = fl__handle_add(fd, &b->h, FL__H_BUILDER, 0, builder_free);
	if (r < 0) {
		close(fd);
		free(b);
		return r;
	}
	return fd;
}

/* ---- embryo handles ----------------------------------------------------- */

static void thr_unlink(struct emb *m)
{
	int cs;

	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cs);
	pthread_mutex_lock(&thr_lock);
	if (m->tprev) {
		*m->tprev = m->tnext;
		if (m->tnext)
			m->tnext->tprev = m->tprev;
		m->tprev = NULL;
	}
	pthread_mutex_unlock(&thr_lock);
	pthread_setcancelstate(cs, NULL);
}

/* A thread that made embryos exits: those not run die with it, as they
 * did when they were its CLONE_VM siblings (the handles then say ESRCH). */
static void thr_exit(void *unused)
{
	pid_t me = (pid_t)fl__sys0(__NR_gettid);

	(void)unused;
	pthread_mutex_lock(&thr_lock);
	for (struct emb *m = thr_list, *next; m; m = next) {
		next = m->tnext;
		if (m->creator != me)
			continue;
		fl__kill_child(m->pidfd, SIGKILL);
		__atomic_store_n(&m->dead, ESRCH, __ATOMIC_RELEASE);
		*m->tprev = m->tnext;
		if (m->tnext)
			m->tnext->tprev = m->tprev;
		m->tprev = NULL;
	}
	pthread_mutex_unlock(&thr_lock);
}

/* The server of generation gen is gone (credentials changed, or it died):
 * its embryos end with it; each is reaped through a copy of our pidfd (by
 * reap, perhaps later), and its handle says so from now on. */
void fl__embryos_gone(unsigned int gen, int why, void (*reap)(int pidfd))
{
	int cs;

	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cs);
	pthread_mutex_lock(&thr_lock);
	for (struct emb *m = thr_list; m; m = m->tnext) {
		if (m->gen != gen || m->dead)
			continue;
		__atomic_store_n(&m->dead, why, __ATOMIC_RELEASE);
		int fd = fcntl(m->pidfd, F_DUPFD_CLOEXEC, 3);
		if (fd >= 0)
			reap(fd);
	}
	pthread_mutex_unlock(&thr_lock);
	pthread_setcancelstate(cs, NULL);
}

static void reap_pidfd(int pidfd)
{
	siginfo_t si;

	while (waitid((idtype_t)P_PIDFD, (id_t)pidfd, &si, WEXITED | __WALL) < 0 &&
	       errno == EINTR)
		;
}

/*
 * The handle is gone (or the program exits): an embryo never run is
 * killed and reaped through our own pidfd (never by pid: a program that
 * reaped it already cannot make us reap a stranger).  A started one is the
 * program's child like any other.
 */
static void emb_release(struct emb *m)
{
	thr_unlink(m);
	if (!m->started) {
		fl__kill_child(m->pidfd, SIGKILL);
		reap_pidfd(m->pidfd);
	}
	if (m->reply >= 0)
		close(m->reply);
	if (m->pidfd >= 0)
		close(m->pidfd);
	free(m);
}

static int open_embryo(void)
{
	struct builder *b = calloc(1, sizeof(*b));
	struct emb *m = calloc(1, sizeof(*m));
	int fd = -1, r;
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	if (!b || !m) {
		r = -ENOMEM;
		goto out_free;
	}
	pthread_once(&once, thr_key_init);
	m->reply = -1;
	fl__config_init(&b->cfg);
	if ((r = fl__server_emb_open(-1, &m->gen, &m->pid, &fd, &m->pidfd)) < 0)
		goto out_free;
	b->emb = m;
	b->state = B_CONFIG;
	r = fl__handle_add(fd, &b->h, FL__H_EMBRYO, m->pid, builder_free);
	if (r < 0) {
		b->emb = NULL;
		fl__kill_child(fd, SIGKILL);
		reap_pidfd(fd);
		close(fd);
		close(m->pidfd);
		goto out_free;
	}
	/* it dies with this thread unless run before */
	m->creator = (pid_t)fl__sys0(__NR_gettid);
	pthread_setspecific(thr_key, (void *)1);
	pthread_mutex_lock(&thr_lock);
	m->tnext = thr_list;
	if (thr_list)
		thr_list->tprev = &m->tnext;
	m->tprev = &thr_list;
	thr_list = m;
	pthread_mutex_unlock(&thr_lock);
	return fd;

out_free:
	free(m);
	free(b);
	return r;
}

/* Keys an embryo applies itself at config time, and their FL__SET_ bits. */
static uint32_t eager_bits(const char *key)
{
	if (!key)
		return 0;
	if (!strcmp(key, "cwd"))
		return FL__SET_CWD;
	if (!strcmp(key, "affinity"))
		return FL__SET_AFFINITY;
	if (!strcmp(key, "mempolicy"))
		return FL__SET_MEMPOLICY;
	if (!strcmp(key, "numa_node"))
		return FL__SET_AFFINITY | FL__SET_MEMPOLICY;
	return 0;
}

/* Have the embryo apply what key set in c; 0 or -errno. */
static int emb_apply(struct emb *m, const struct fl__config *c, uint32_t bits)
{
	const struct fl__spec *s = &c->spec;
	int r = 0;

	if ((bits & FL__SET_CWD) && (s->set & FL__SET_CWD) && c->cwd_fd >= 0) {
		r = fl__server_emb_op(-1, m->gen, m->pid, FL__OP_FCHDIR, NULL, 0, 0, 0, c->cwd_fd);
	} else if ((bits & FL__SET_CWD) && (s->set & FL__SET_CWD)) {
		/* a relative path starts at our cwd, not the embryo's */
		int here = c->cwd[0] == '/' ? -1 : open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (c->cwd[0] != '/' && here < 0)
			return -errno;
		r = fl__server_emb_op(-1, m->gen, m->pid, FL__OP_CHDIR, c->cwd, strlen(c->cwd) + 1,
				      0, 0, here);
		if (here >= 0)
			close(here);
	}
	if (r == 0 && (bits & FL__SET_AFFINITY) && (s->set & FL__SET_AFFINITY))
		r = fl__server_emb_op(-1, m->gen, m->pid, FL__OP_AFFINITY, &c->affinity,
				      sizeof(c->affinity), sizeof(c->affinity), 0, -1);
	if (r == 0 && (bits & FL__SET_MEMPOLICY) && (s->set & FL__SET_MEMPOLICY))
		r = fl__server_emb_op(-1, m->gen, m->pid, FL__OP_MEMPOLICY,
				      s->mpol_maxnode ? c->nodes : NULL,
				      s->mpol_maxnode ? sizeof(c->nodes) : 0, s->mpol_mode,
				      (long)s->mpol_maxnode, -1);
	return r;
}

/* Whether the embryo can still run: not killed with its thread or gone
 * with its server. */
static int emb_alive(const struct emb *m)
{
	return -__atomic_load_n(&m->dead, __ATOMIC_ACQUIRE);
}

/*
 * Config of an embryo (lock held): keys that change the process (cwd,
 * affinity, memory policy) are done by the embryo now, so their error is
 * this call's and the work happens where the program will run.  Applied to
 * a copy first: on error nothing changes.  Once applied they cannot be
 * unset (-EBUSY): the embryo already is there.
 */
static int emb_config(struct builder *b, unsigned int cmd, const char *key, const void *value,
		      int aux)
{
	uint32_t bits = eager_bits(key);
	struct fl__config tmp;
	int r;

	if ((r = emb_alive(b->emb)) < 0)
		return r;
	if (!bits)
		return fl__config_apply(&b->cfg, cmd, key, value, aux);
	if (cmd == FL_CONFIG_UNSET)
		return (b->emb->eager & bits) ? -EBUSY : fl__config_apply(&b->cfg, cmd, key, value, aux);
	if ((r = fl__config_copy(&tmp, &b->cfg)) < 0)
		return r;
	r = fl__config_apply(&tmp, cmd, key, value, aux);
	if (r == 0)
		r = emb_apply(b->emb, &tmp, bits);
	if (r < 0) {
		fl__config_free(&tmp);
		return r;
	}
	fl__config_free(&b->cfg);
	b->cfg = tmp;
	b->emb->eager |= bits;
	return 0;
}

/* The outcome of the run in rep: reaped through the handle on failure
 * (the caller may have reaped it already, and the pid be another's). */
static int emb_outcome(int fd, struct emb *m, int r, const struct fl__report *rep,
		       struct fl_error *e)
{
	if (r < 0) {
		e->err = -r, e->stage = FL_STAGE_CLONE, e->index = -1;
		return r;
	}
	return fl__outcome_reap(rep, m->pid, -1, NULL, fd, e);
}

/* Run embryo handle fd: synchronously, or released with FL_SPAWN_ASYNC.
 * The request carries everything the run reads (strings, actions, fds):
 * nothing of the caller's is read after this returns. */
static int emb_run(int fd, struct builder *b, struct fl_spawn_args *a, struct fl_error *e)
{
	struct emb *m = b->emb;
	struct fl__spec spec;
	struct fl__report rep;
	int *keep = NULL, r;

	if ((r = emb_alive(m)) < 0) {
		e->err = -r, e->stage = FL_STAGE_CONFIG;
		return r;
	}
	if ((r = fl__prepare(&b->cfg, a, &spec, &keep, e)) < 0)
		return r;
	spec.set &= ~m->eager; /* already done, by the embryo itself */
	thr_unlink(m); /* the server has it now: its thread's exit no longer matters */
	r = fl__server_emb_run(-1, m->gen, m->pid, &spec, m->eager, &m->reply);
	free(keep);
	m->started = true; /* even if the request failed: it may have arrived */
	/* from now on the program reaps it, through its handle */
	close(m->pidfd);
	m->pidfd = -1;
	if (r < 0) {
		m->reply = -1;
		e->err = -r, e->stage = r == -EPERM ? FL_STAGE_CONFIG : FL_STAGE_CLONE;
		e->index = -1;
		return r;
	}
	m->async = a->flags & FL_SPAWN_ASYNC;
	if (m->async)
		return m->pid;
	r = fl__server_emb_result(m->reply, 0, &rep);
	m->reply = -1;
	m->result = emb_outcome(fd, m, r, &rep, e);
	m->known = true;
	return m->result;
}

/* Whether pidfd fd's process has exited (a zombie counts). */
static bool exited(int fd)
{
	struct pollfd p = { fd, POLLIN, 0 };

	return poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

FL__EXPORT int fl_pidfd_spawn_result(int fd, struct fl_error *ret_error)
{
	FL__KEEP_ERRNO;
	struct builder *b;
	struct fl_error e = { 0, FL_STAGE_NONE, -1 };
	int cs, r;

	r = get_builder(fd, &b);
	if (r == -EBUSY)
		r = -EINVAL; /* a plain pidfd */
	if (r < 0)
		return r;
	cs = fl__handle_lock(&b->h);
	struct emb *m = b->emb;
	struct fl__report rep;
	if (!m || !m->async) {
		r = -EINVAL;
	} else if (!m->known && (r = fl__server_emb_result(m->reply, 1, &rep)) == 0 &&
		   !exited(fd)) {
		r = -EINPROGRESS;
	} else {
		/* a child that exited has an outcome: the server's answer is on
		 * its way (it wakes when the child's mm goes, then writes) */
		if (!m->known && r == 0)
			r = fl__server_emb_result(m->reply, 0, &rep);
		if (!m->known) {
			m->reply = -1;
			m->result = emb_outcome(fd, m, r, &rep, &m->err);
			m->known = true;
		}
		r = m->result;
		e = m->err;
	}
	fl__handle_unlock(&b->h, cs);
	fl__handle_put(&b->h);
	if (r < 0 && r != -EINPROGRESS && ret_error && e.err)
		*ret_error = e;
	return r;
}

FL__EXPORT int fl_pidfd_open(pid_t pid, unsigned int flags)
{
	FL__KEEP_ERRNO;
	int cs, r = -EINVAL;

	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cs);
	if (pid == 0 && flags == FL_PIDFD_EMPTY)
		r = open_empty();
	else if (pid == 0 && flags == (FL_PIDFD_EMPTY | FL_PIDFD_EMBRYO))
		r = open_embryo();
	else if (pid > 0 && flags == 0)
		r = (int)fl__sys2(__NR_pidfd_open, pid, 0); /* pidfds are always O_CLOEXEC */
	pthread_setcancelstate(cs, NULL);
	return r;
}

FL__EXPORT int fl_pidfd_config(int fd, unsigned int cmd, const char *key,
			       const void *value, int aux)
{
	FL__KEEP_ERRNO;
	struct builder *b;
	int cs, r;

	if ((r = get_builder(fd, &b)) < 0)
		return r;
	/* the handle's own lock: a slow name lookup here stalls no other handle */
	cs = fl__handle_lock(&b->h);
	if (b->state != B_CONFIG)
		r = -EBUSY;
	else
		r = b->emb ? emb_config(b, cmd, key, value, aux)
			   : fl__config_apply(&b->cfg, cmd, key, value, aux);
	fl__handle_unlock(&b->h, cs);
	fl__handle_put(&b->h);
	return r;
}

/*
 * The kernel's extensible-struct rule (copy_struct_from_user, as clone3
 * applies it): copy a caller's struct of any size >= ver0 into out
 * (out_size bytes, zero-filled beyond what the caller has); a larger size
 * is accepted if its extra bytes are zero (else -E2BIG, with out copied so
 * that its error pointer can still be used).  A size above a page is
 * -E2BIG and a size below ver0 -EINVAL, both before anything is read.
 */
int fl__copy_ext(void *out, size_t out_size, const void *in, size_t size, size_t ver0)
{
	memset(out, 0, out_size);
	if (!in && size == 0)
		return 1; /* no struct at all */
	if (size > fl__page_size())
		return -E2BIG;
	if (size < ver0)
		return -EINVAL;
	if (!in)
		return -EFAULT;
	memcpy(out, in, size < out_size ? size : out_size);
	for (size_t i = out_size; i < size; i++)
		if (((const unsigned char *)in)[i])
			return -E2BIG;
	return 0;
}

int fl__copy_spawn_args(struct fl_spawn_args *out, const struct fl_spawn_args *a, size_t size)
{
	int r = fl__copy_ext(out, sizeof(*out), a, size, FL_SPAWN_ARGS_SIZE_VER0);
	return r > 0 ? 0 : r;
}

/*
 * The handle becomes the child's pidfd, at the same number, if the number
 * still is the handle: one closed meanwhile (by another thread) may now be
 * anyone's fd, and is left alone; the pidfd is then the caller's at a
 * number of its own (*a->pidfd), or closed.  (h->lock held: a waiter sees
 * the new state and the new fd together.)
 */
static void become_pidfd(int fd, struct builder *b, int pidfd, const struct fl_spawn_args *a)
{
	if (fl__handle_replace(fd, &b->h, pidfd, O_CLOEXEC, false) == 0) {
		close(pidfd);
		if (a->pidfd)
			*a->pidfd = fd;
	} else if (a->pidfd) {
		*a->pidfd = pidfd;
	} else {
		close(pidfd);
	}
}

/*
 * The end of a run: the handle becomes the pidfd (pidfd >= 0), its state is
 * recorded, its waiters woken, the run's reference dropped.  A spent
 * builder's configuration is freed at once.
 */
static int run_finish(int fd, struct builder *b, int r, int pidfd, const struct fl_spawn_args *a)
{
	int cs = fl__handle_lock(&b->h);

	if (r >= 0 && pidfd >= 0)
		become_pidfd(fd, b, pidfd, a);
	b->state = r >= 0 ? B_STARTED : B_SPENT;
	if (r < 0 && !b->emb)
		fl__config_free(&b->cfg); /* spent: release its fds now (an embryo's may be in use) */
	pthread_cond_broadcast(&b->h.changed);
	fl__handle_unlock(&b->h, cs);
	fl__handle_put(&b->h);
	return r;
}

static int spawn_run(int fd, struct fl_spawn_args *args, size_t size)
{
	struct fl_error scratch, *e = args && size >= FL_SPAWN_ARGS_SIZE_VER0 &&
					      size <= fl__page_size() && args->error
					      ? args->error : &scratch;
	struct fl_spawn_args a;
	struct builder *b;
	int pidfd = -1, cs, r;

	r = get_builder(fd, &b);
	if (r == 0) {
		cs = fl__handle_lock(&b->h);
		if (b->state != B_CONFIG)
			r = -EBUSY;
		else
			b->state = B_RUNNING; /* config and a second run now get -EBUSY */
		fl__handle_unlock(&b->h, cs);
		if (r < 0)
			fl__handle_put(&b->h);
	}
	e->err = 0;
	e->stage = FL_STAGE_NONE;
	e->index = -1;
	if (r < 0) {
		e->err = -r;
		e->stage = FL_STAGE_CONFIG;
		return r;
	}
	/* the configuration is read without the lock: B_RUNNING keeps it still */
	r = fl__copy_spawn_args(&a, args, size);
	if (r < 0) {
		e->err = -r;
		e->stage = FL_STAGE_CONFIG;
	} else if (b->emb) {
		if (b->cfg.tmpl) {
			r = -EINVAL; /* an embryo runs no template (yet) */
			e->err = EINVAL, e->stage = FL_STAGE_CONFIG;
		} else {
			r = emb_run(fd, b, &a, e);
		}
		if (r >= 0 && a.pidfd)
			*a.pidfd = fd; /* the handle already is the pidfd */
		if (!b->emb->async)
			fl__handle_remove(fd, &b->h); /* an ordinary pidfd now */
		/* an async run stays until collected */
		return run_finish(fd, b, r, -1, &a);
	} else if (b->cfg.tmpl) {
		r = fl__template_run(b->cfg.tmpl, -1, b->cfg.tmpl_fd, &b->cfg, &a, &pidfd, e);
	} else {
		r = fl__run(&b->cfg, &a, &pidfd, e);
	}
	return run_finish(fd, b, r, pidfd, &a);
}

FL__EXPORT int fl_pidfd_spawn_run(int fd, struct fl_spawn_args *args, size_t size)
{
	FL__KEEP_ERRNO;
	int cs, r;

	/* like posix_spawn: no cancellation inside (a run half done is a child
	 * nobody knows of) */
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cs);
	r = spawn_run(fd, args, size);
	pthread_setcancelstate(cs, NULL);
	return r;
}

static bool started_or_spent(struct fl__handle *h)
{
	int st = ((struct builder *)h)->state;
	return st == B_STARTED || st == B_SPENT;
}

/*
 * For wait: 1 if fd is a started process (a pidfd), 0 if a builder not
 * started (nohang), or -errno.  Waits for a builder to start unless nohang;
 * a cancellation point then.
 */
static int wait_started(int fd, int nohang)
{
	struct fl__handle *h;
	struct builder *b;
	int cs, r;

	r = fl__handle_get(fd, &h);
	if (r == -ENOENT)
		return 1; /* not a handle: let waitid(P_PIDFD) judge the fd */
	if (r < 0)
		return r;
	if (h->kind != FL__H_BUILDER) {
		fl__handle_put(h);
		/* an embryo is a real process from the start: waitid waits for
		 * start and exit */
		return h->kind == FL__H_EMBRYO ? 1 : -EINVAL;
	}
	b = (struct builder *)h;
	cs = fl__handle_lock(h);
	if (nohang)
		r = started_or_spent(h) ? 0 : -EAGAIN;
	else
		r = fl__handle_wait(fd, h, started_or_spent, cs);
	if (r == 0)
		r = b->state == B_STARTED ? 1 : -ECHILD;
	else if (r == -EAGAIN)
		r = 0; /* not started: nothing to report yet */
	fl__handle_unlock(h, cs);
	fl__handle_put(h);
	return r;
}

/* waitid()'s siginfo as a waitpid() status. */
static int status_of(const siginfo_t *si)
{
	switch (si->si_code) {
	case CLD_EXITED:
		return (si->si_status & 0xff) << 8;
	case CLD_KILLED:
		return si->si_status & 0x7f;
	case CLD_DUMPED:
		return (si->si_status & 0x7f) | 0x80;
	case CLD_STOPPED:
	case CLD_TRAPPED:
		return ((si->si_status & 0xff) << 8) | 0x7f;
	case CLD_CONTINUED:
		return 0xffff;
	}
	return 0;
}

FL__EXPORT int fl_pidfd_wait(int fd, int *ret_status, int flags)
{
	FL__KEEP_ERRNO;
	siginfo_t si;
	int r;

	if (flags & ~(WNOHANG | WSTOPPED | WCONTINUED | WNOWAIT | WEXITED))
		return -EINVAL;
	r = wait_started(fd, flags & WNOHANG);
	if (r <= 0)
		return r;
	memset(&si, 0, sizeof(si));
	/* libc's waitid: a cancellation point, as waitpid(2) is; nothing of
	 * the library is held here */
	r = waitid((idtype_t)P_PIDFD, (id_t)fd, &si, flags | WEXITED) < 0 ? -errno : 0;
	if (r == -EBADF && fcntl(fd, F_GETFD) >= 0)
		return -EINVAL; /* open, but not a pidfd */
	if (r < 0)
		return r;
	if (si.si_pid == 0)
		return 0; /* WNOHANG, nothing yet */
	if (ret_status)
		*ret_status = status_of(&si);
	return si.si_pid;
}

FL__EXPORT int fl_pidfd_kill(int fd, int sig)
{
	FL__KEEP_ERRNO;
	struct fl__handle *h;
	int cs, r;

	r = fl__handle_get(fd, &h);
	if (r == 0) {
		struct builder *b = (struct builder *)h;
		if (h->kind == FL__H_TEMPLATE) {
			r = -EBADF; /* not a pidfd */
		} else {
			cs = fl__handle_lock(h);
			/* a started embryo is an ordinary pidfd; anything else
			 * has no process to signal yet */
			r = b->emb && b->emb->started ? -ENOENT : -ESRCH;
			fl__handle_unlock(h, cs);
		}
		fl__handle_put(h);
	}
	if (r != -ENOENT)
		return r;
	r = (int)fl__sys4(__NR_pidfd_send_signal, fd, sig, NULL, 0);
	if (r != -ENOSYS)
		return r;
	/*
	 * pidfd_send_signal refused (seccomp, emulators): signal the pid the
	 * fdinfo names.  Exact for our own unreaped children (a zombie keeps
	 * its pid); for other processes the usual pid-reuse race applies.
	 */
	pid_t pid = 0;
	if (!fl__fd_is_pidfd(fd, &pid))
		return -EBADF; /* not open, or not a pidfd: what pidfd_send_signal says */
	if (pid <= 0)
		return pid == 0 ? -ESRCH : -ENOSYS;
	return kill(pid, sig) < 0 ? -errno : 0;
}

/* ---- for template.c ----------------------------------------------------- */

int fl__builder_config_copy(int fd, struct fl__config *ret)
{
	struct builder *b;
	int cs, r;

	if ((r = get_builder(fd, &b)) < 0)
		return r;
	cs = fl__handle_lock(&b->h);
	r = b->state == B_CONFIG ? fl__config_copy(ret, &b->cfg) : -EBUSY;
	fl__handle_unlock(&b->h, cs);
	fl__handle_put(&b->h);
	return r;
}

static void builder_atfork_child(void)
{
	pthread_mutex_init(&thr_lock, NULL);
	thr_list = NULL; /* the creator's embryos, not ours */
}

static void thr_key_init(void)
{
	pthread_key_create(&thr_key, thr_exit);
}

__attribute__((constructor)) static void builder_init(void)
{
	pthread_atfork(NULL, NULL, builder_atfork_child);
}

/* At exit, free what handles the program never ran (for leak checkers). */
__attribute__((destructor)) static void builder_cleanup(void)
{
	fl__handle_cleanup();
	fl__vfork_release_stack();
}
