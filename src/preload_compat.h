/* SPDX-License-Identifier: MIT */
/*
 * preload_compat.h - which glibc symbol versions of posix_spawn and
 * posix_spawnp the shim defines, per architecture.  Read by preload.c and,
 * through the C preprocessor, by preload.map: so it holds only macros.
 *
 * glibc 2.15 made posix_spawn[p] return ENOEXEC for a file the kernel
 * cannot execute; the versions before it (kept as compat symbols) run such a
 * file with /bin/sh.  A program linked against those keeps calling them, so
 * the shim defines both: the old version with the shell fallback and 2.15
 * as the default.  Architectures whose glibc port is younger than 2.15 have
 * one version only; there the names stay unversioned.
 */
#ifndef FL_PRELOAD_COMPAT_H
#define FL_PRELOAD_COMPAT_H

#if defined(__x86_64__) && defined(__LP64__)
#define FL__SPAWN_OLD GLIBC_2.2.5
#define FL__SPAWN_OLD_STR "GLIBC_2.2.5"
#elif defined(__i386__)
#define FL__SPAWN_OLD GLIBC_2.2
#define FL__SPAWN_OLD_STR "GLIBC_2.2"
#endif
#define FL__SPAWN_NEW GLIBC_2.15

#endif
