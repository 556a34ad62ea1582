/* eddy: a materialized-view database for Kafka. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "common/log.h"
#include "server/cli.h"
#include "server/main_int.h"

static void usage(FILE *f) {
  fprintf(f,
          "usage: eddy <command> [args]\n\n"
          "  serve CONFIG.yaml [--loadgen RATE]  run the server (views, queries)\n"
          "  dev-kafka [--partitions N] [--topic T ...]\n"
          "                                      run a development Kafka (mock cluster)\n"
          "  loadgen --bootstrap SERVERS [...]   produce page-view records\n"
          "  reset --config CONFIG.yaml --view VIEW\n"
          "                                      drop a view's state and rewind its group\n"
          "                                      (servers stopped): serve rebuilds it\n\n"
          "%s\n"
          "Run 'eddy <command> --help' for a command's options.\n",
          ed_cli_usage_text);
}

int main(int argc, char **argv) {
  ed_log_init_from_env();
  if (argc < 2) {
    usage(stderr);
    return 2;
  }
  const char *cmd = argv[1];
  if (strcmp(cmd, "serve") == 0) return ed_serve_main(argc - 1, argv + 1);
  if (strcmp(cmd, "dev-kafka") == 0) return ed_devkafka_main(argc - 1, argv + 1);
  if (strcmp(cmd, "loadgen") == 0) return ed_loadgen_main(argc - 1, argv + 1);
  if (strcmp(cmd, "reset") == 0) return ed_reset_main(argc - 1, argv + 1);
  if (ed_cli_is_command(cmd)) return ed_cli_main(argc - 1, argv + 1);
  if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
    usage(stdout);
    return 0;
  }
  fprintf(stderr, "eddy: unknown command '%s'\n", cmd);
  usage(stderr);
  return 2;
}
