/* authconn: one authd connection reused for many requests (authconn.h). */
#include "authconn.h"
#include "buf.h"

#include <errno.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void authconn_close(struct authconn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

static int attempt(struct authconn *c, const char *request, int timeout_ms,
		   struct account *acct, struct buf *reason)
{
	if (c->fd < 0) {
		c->fd = authclient_connect(c->path);
		if (c->fd < 0) {
			if (reason) {
				buf_reset(reason);
				buf_printf(reason, "authd: cannot connect: %s", strerror(errno));
			}
			return AUTHCLIENT_TEMPFAIL;
		}
		c->opened_ms = now_ms();
	}
	int r = authclient_request_fd(c->fd, request, timeout_ms, acct, reason);
	if (r == AUTHCLIENT_TEMPFAIL)
		authconn_close(c); /* whatever went wrong, do not reuse it */
	return r;
}

int authconn_request(struct authconn *c, const char *request, int timeout_ms,
		     struct account *acct, struct buf *reason)
{
	if (c->fd >= 0 && now_ms() - c->opened_ms > AUTHCONN_MAX_AGE_MS)
		authconn_close(c);
	int kept = c->fd >= 0;
	int r = attempt(c, request, timeout_ms, acct, reason);
	if (r == AUTHCLIENT_TEMPFAIL && kept) /* perhaps authd had closed it */
		r = attempt(c, request, timeout_ms, acct, reason);
	return r;
}

int authconn_lookup(struct authconn *c, const char *service, const char *user,
		    struct account *acct, struct buf *reason)
{
	struct buf req = BUF_INIT;
	authclient_lookup_request(&req, service, user);
	int rc = authconn_request(c, buf_cstr(&req), AUTHCLIENT_TIMEOUT_MS, acct, reason);
	buf_free(&req);
	return rc;
}
