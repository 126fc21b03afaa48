/* SPDX-License-Identifier: MIT */
/*
 * warm.h - the warm agent (warm.c, libforkless-warm.so) and the spawn
 * server's loop built into it (server.c with FL__WARM).
 *
 * The library starts a warm template's program through the server launcher
 * with LD_PRELOAD naming the agent and FL__WARM_ENV=3 (the socket); the
 * agent takes over in __libc_start_main, says on the socket whether it can
 * serve (struct fl__wrep: result 0, or -FL_WARM_* why not, and then it
 * exits), and runs the server's loop, which spawns by copying this
 * process.  Each copy applies its request and goes on into the program.
 */
#ifndef FL_WARM_H
#define FL_WARM_H

#include "spec.h"

#define FL__WARM_ENV "FORKLESS_WARM_FD"
#define FL__WARM_SOCK 3

/* A copy of this process, the caller's child (CLONE_PARENT), with its
 * pidfd: 0 in the copy, its pid here, or -errno. */
long fl__warm_clone(int *pidfd);
/* In the copy, once the child executor returned the report fd: the
 * request's argv and environment installed, on into the program. */
__attribute__((noreturn)) void fl__warm_child(const struct fl__spec *s, int errfd);
/* The server's loop (server.c); returns never: copies leave through
 * fl__warm_child. */
void fl__warm_serve(void);

#endif /* FL_WARM_H */
