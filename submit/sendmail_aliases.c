/* sendmail -bi (newaliases): compile ROOT/etc/estafette/aliases into the map
 * aliases.cdb that courierd reads. The parser and the atomic compile are
 * lib/aliases (the format is its, documented in courierd(8)); this is only the
 * command. It runs as the invoking user, so only who may write the
 * configuration directory can replace the map. */
#include "sendmail.h"
#include "aliases.h"
#include "config.h"

#include <errno.h>
#include <stdio.h>

int sm_newaliases(void)
{
	struct buf src = BUF_INIT, dest = BUF_INIT, err = BUF_INIT;
	config_path(&src, "aliases");
	config_path(&dest, "aliases.cdb");
	errno = 0;
	long n = aliases_compile(buf_cstr(&src), buf_cstr(&dest), &err);
	if (n < 0) {
		int e = errno;
		int code = e == ENOENT ? SM_EX_CONFIG
			 : (e == EACCES || e == EPERM || e == EROFS || e == ENOSPC || e == EDQUOT ||
			    e == EIO) ? SM_EX_CANTCREAT
			 : SM_EX_DATAERR;
		sm_die(code, "%s", buf_cstr(&err));
	}
	printf("%s: %ld alias%s\n", buf_cstr(&src), n, n == 1 ? "" : "es");
	buf_free(&src);
	buf_free(&dest);
	buf_free(&err);
	return fflush(stdout) == 0 ? SM_EX_OK : SM_EX_TEMPFAIL;
}
