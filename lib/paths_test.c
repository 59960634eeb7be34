#include "buf.h"
#include "paths.h"
#include "unit.h"

#include <stdlib.h>

TEST(paths_from_environment)
{
	setenv("ESTAFETTE_ROOT", "/tmp/inst/", 1);
	CHECK_STR(paths_root(), "/tmp/inst");
	CHECK_STR(paths_config(), "/tmp/inst/etc/estafette");
	CHECK_STR(paths_queue(), "/tmp/inst/var/spool/estafette");
	CHECK_STR(paths_state(), "/tmp/inst/var/lib/estafette");
	CHECK_STR(paths_run(), "/tmp/inst/var/run/estafette");
	CHECK_STR(paths_libexec(), "/tmp/inst/libexec/estafette");
}

TEST(paths_flag_overrides_environment)
{
	setenv("ESTAFETTE_ROOT", "/tmp/inst", 1);
	CHECK_STR(paths_config(), "/tmp/inst/etc/estafette");
	paths_set_root("/srv/mail");
	CHECK_STR(paths_config(), "/srv/mail/etc/estafette");
}

TEST(paths_default_is_prefix)
{
	unsetenv("ESTAFETTE_ROOT");
	CHECK_STR(paths_root(), ESTAFETTE_PREFIX);
}

TEST(paths_root_slash)
{
	paths_set_root("/");
	CHECK_STR(paths_config(), "/etc/estafette");
	struct buf b = BUF_INIT;
	paths_join(&b, "/a/", "b");
	CHECK_BUF(b, "/a/b");
	buf_free(&b);
}
