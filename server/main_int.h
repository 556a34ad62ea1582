/* The eddy binary's subcommands. */
#ifndef ED_SERVER_MAIN_INT_H
#define ED_SERVER_MAIN_INT_H

int ed_serve_main(int argc, char **argv);
int ed_devkafka_main(int argc, char **argv);
int ed_loadgen_main(int argc, char **argv);
int ed_reset_main(int argc, char **argv);

/* SIGINT and SIGTERM call @p handler; SIGPIPE is ignored. */
void ed__install_signals(void (*handler)(int));

#endif
