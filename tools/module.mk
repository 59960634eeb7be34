PROGRAMS += makemap
makemap_SRCS := tools/makemap.c
