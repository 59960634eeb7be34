# deliver: local delivery (deliver(8)): the root helper and the per-account program.
PROGRAMS += deliver-spawn
deliver-spawn_SRCS := deliver/spawn.c deliver/spawn_pool.c deliver/jobout.c
PROGRAMS += deliver
deliver_SRCS := deliver/deliver.c deliver/targets.c deliver/dotfile.c deliver/worker.c \
	deliver/jobout.c
# remote: the remote delivery module (remote(8)), run by courierd as estafette-remote.
PROGRAMS += remote
remote_SRCS := deliver/remote.c deliver/remote_conf.c deliver/remote_send.c
