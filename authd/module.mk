# authd: authentication service and its tools.
PROGRAMS += userdbpw
userdbpw_SRCS := authd/userdbpw.c
PROGRAMS += authd
authd_SRCS := authd/main.c authd/pool.c authd/session.c authd/exchange.c authd/protocol.c authd/failures.c \
	authd/backend.c authd/backend_userdb.c authd/udb.c \
	authd/backend_sql.c authd/backend_pgsql.c authd/backend_mysql.c
authd_SRCS += authd/backend_ldap.c authd/backend_system.c
PROGRAMS += userdb
userdb_SRCS := authd/userdb.c authd/udb.c
PROGRAMS += auth-exec
auth-exec_SRCS := authd/auth_exec.c
