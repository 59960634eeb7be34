# listener: binds TCP ports and runs a service program per connection (listener(8)).
PROGRAMS += listener
listener_SRCS := listener/main.c listener/serve.c listener/spawn.c listener/env.c \
	listener/sock.c listener/limits.c listener/children.c listener/table.c
