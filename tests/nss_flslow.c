/* SPDX-License-Identifier: MIT */
/*
 * nss_flslow.c - an NSS module whose group lookup blocks until released,
 * for the test that a slow name lookup stalls no other handle
 * (test_embed.c).  Group "flslow" (gid 4242): on entry it writes a byte to
 * $FLSLOW_MOD_ENTER_FD, then reads one from $FLSLOW_MOD_RELEASE_FD.
 */
#include <errno.h>
#include <grp.h>
#include <nss.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum nss_status _nss_flslow_getgrnam_r(const char *name, struct group *g, char *buf, size_t len,
				       int *errnop);

enum nss_status _nss_flslow_getgrnam_r(const char *name, struct group *g, char *buf, size_t len,
				       int *errnop)
{
	const char *e = getenv("FLSLOW_MOD_ENTER_FD"), *r = getenv("FLSLOW_MOD_RELEASE_FD");
	char c = 'x';

	if (strcmp(name, "flslow") || !e || !r)
		return NSS_STATUS_NOTFOUND;
	if (len < 16) {
		*errnop = ERANGE;
		return NSS_STATUS_TRYAGAIN;
	}
	if (write(atoi(e), &c, 1) != 1 || read(atoi(r), &c, 1) != 1) /* read: a cancellation point */
		return NSS_STATUS_UNAVAIL;
	strcpy(buf, "flslow");
	g->gr_name = buf;
	g->gr_passwd = buf + 6; /* "" */
	g->gr_gid = 4242;
	g->gr_mem = (char **)(buf + 8);
	g->gr_mem[0] = NULL;
	return NSS_STATUS_SUCCESS;
}
