# courierd: the queue scheduler (courierd(8)).
PROGRAMS += courierd
courierd_SRCS := courierd/main.c courierd/conf.c courierd/sched.c courierd/route.c \
	courierd/alias.c courierd/bounce.c courierd/trigger.c
