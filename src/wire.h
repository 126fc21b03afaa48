/* SPDX-License-Identifier: MIT */
/*
 * wire.h - the spawn server's protocol (launch_server.c <-> server.c).
 *
 * One SOCK_SEQPACKET socketpair per server.  The caller sends one message
 * per request: struct fl__wreq, then the payload (a spec in wire form), with
 * SCM_RIGHTS fds: first the write end of a fresh reply socketpair, then the
 * request's own fds (a memfd with the payload if it is large, then the
 * caller fds the spec names, in fdmap order).  More than FL__WIRE_FDS_MAX
 * fds go on in FL__W_MORE messages sent right after, under the same lock.
 * The server answers once, on the reply socket: struct fl__wrep with the
 * child's pidfd (FL__W_SPAWN, FL__W_EMB_OPEN); a spawn's answer may come
 * as soon as the child is cloned (started), the child then writes its
 * report there itself if it fails, and EOF follows its exec.  Each spare
 * it makes is told by a notice on the main socket with the spare's pidfd;
 * the caller hands spares out itself and says so with its first request
 * about one (FL__W_TAKEN), or before a reserve changes (FL__W_EMB_TAKE, no
 * answer), so that taking one costs it no message of its own.
 * The kernel adds SCM_CREDENTIALS to every message (SO_PASSCRED on the
 * server's end); a request from anyone but the caller, with credentials
 * other than the server's, is refused and ends the server.
 * Both ends are built from one source tree: a version check suffices.
 */
#ifndef FL_WIRE_H
#define FL_WIRE_H

#include <stdint.h>

#include "spec.h"

#define FL__WIRE_MAGIC 0x464c5302u /* "FLS" 2 */
#define FL__WIRE_FDS_MAX 250       /* SCM_MAX_FD is 253 */
#define FL__WIRE_INLINE_MAX (60 * 1024) /* larger payloads travel in a memfd */

enum {
	FL__W_SPAWN = 1, /* run the spec now: reply after exec or failure */
	FL__W_EMB_OPEN,  /* an embryo: reply with its pidfd */
	FL__W_EMB_OP,    /* embryo pid does op (FL__OP_*) now */
	FL__W_EMB_RUN,   /* embryo pid runs the spec: reply after exec or failure */
	FL__W_RESERVE,   /* keep op spares ready */
	FL__W_MORE,      /* more fds of the request before */
	FL__W_EMB_TAKE,  /* the caller took spare pid (no reply socket, no answer) */
};

/* fl__wreq.flags */
#define FL__W_PAYLOAD_FD 0x1u /* the payload is in a memfd, the first request fd */
#define FL__W_LIMITS 0x2u     /* the server reads the caller's rlimits (/proc/PID/limits) */
#define FL__W_TAKEN 0x4u      /* EMB_RUN, EMB_OP: the embryo is a spare the caller took */

struct fl__wreq {
	uint32_t magic;
	uint32_t type;
	uint32_t spec_size; /* sizeof(struct fl__spec): one build on both ends */
	uint32_t flags;
	int32_t pid;        /* the embryo of EMB_OP, EMB_RUN */
	int32_t op;         /* EMB_OP: FL__OP_*; RESERVE: the number of spares */
	int64_t arg, arg2;  /* EMB_OP */
	uint32_t nfds;      /* request fds after the reply socket, in all messages */
	uint32_t len;       /* payload bytes (inline or in the memfd) */
};

struct fl__wrep {
	int32_t result; /* >= 0, or -errno of the request itself (no child ran);
			 * a spare's notice: the reserve's epoch */
	int32_t pid;    /* the child or embryo; FL__W_RESERVE: the new epoch */
	struct fl__report rep;
	uint32_t has_pidfd; /* the first fd of the reply is the child's pidfd */
	uint32_t started;   /* FL__W_SPAWN answered at clone: the child's own report
			     * (a struct fl__report) follows if it fails; EOF once
			     * it exec'd or died */
};

/*
 * A spec in wire form: the struct (pointers meaningless), then each
 * pointed-to object as a section (u64 length, bytes, padding to 8), in a
 * fixed order, then the fd map (struct fl__wfd[]).  fl__wire_pack returns
 * the size (buf NULL: only measure); fl__wire_unpack rebuilds s with
 * pointers into buf and *ret_mem (free it), checking every length, and
 * returns 0 or -EINVAL.
 */
size_t fl__wire_pack(void *buf, const struct fl__spec *s, const struct fl__wfd *map, size_t nmap);
int fl__wire_unpack(void *buf, size_t len, struct fl__spec *s, struct fl__wfd **map,
		    size_t *nmap, void **ret_mem);

#endif /* FL_WIRE_H */
