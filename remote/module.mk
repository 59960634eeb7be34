# remote: the remote delivery module (remote(8)); its sources live in deliver/
# beside local delivery. (These lines may move into deliver/module.mk.)
PROGRAMS += remote
remote_SRCS := deliver/remote.c deliver/remote_conf.c deliver/remote_send.c
