#!/bin/sh
# The installed libeddy builds a program with pkg-config:
#   pkgconfig_test.sh <build dir> <cc> <pkg-config> [extra cflags...]
# installs the build's "client" component into a temporary prefix, compiles
# a tiny program with `pkg-config --cflags --libs eddy` (the extra flags: the
# sanitizers the library was built with) and runs it: eddy_client_new on an
# unreachable URL, a lookup that must fail with EDDY_ERR_TRANSPORT.
set -eu
build=$1 cc=$2 pkgconfig=$3
shift 3
tmp=$(mktemp -d "${TMPDIR:-/tmp}/eddy-pc-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
cmake --install "$build" --prefix "$tmp/prefix" --component client >"$tmp/install.log"
pc=$(find "$tmp/prefix" -name eddy.pc)
test -n "$pc" || { echo "eddy.pc not installed"; cat "$tmp/install.log"; exit 1; }
libdir=$(dirname "$(dirname "$pc")")
test -f "$tmp/prefix/include/eddy/client.h" || { echo "eddy/client.h not installed"; exit 1; }
test -f "$libdir/libeddy.a" || { echo "libeddy.a not installed"; exit 1; }
ls "$libdir"/libeddy.so* >/dev/null || { echo "libeddy.so not installed"; exit 1; }
# The library needs no internal eddy library: no undefined ed_* symbol.
if nm -D --undefined-only "$libdir/libeddy.so" | grep -q ' ed_'; then
  echo "libeddy.so needs internal symbols:"; nm -D --undefined-only "$libdir/libeddy.so" | grep ' ed_'
  exit 1
fi
cat >"$tmp/prog.c" <<'C'
#include <eddy/client.h>
#include <stdio.h>
#include <string.h>

int main(void) {
  char err[256];
  const char *seeds[] = {"http://127.0.0.1:1"};
  eddy_options_t o = {.timeout_ms = 1000, .retries = -1};
  eddy_client_t *c = eddy_client_new(seeds, 1, &o, err, sizeof err);
  if (c == NULL) {
    fprintf(stderr, "eddy_client_new: %s\n", err);
    return 1;
  }
  eddy_row_t *row = NULL;
  int rc = eddy_get(c, "counts", "alice", 5, NULL, &row);
  printf("eddy_get: %d (%s): %s\n", rc, eddy_err_str(rc), eddy_last_error(c));
  eddy_client_destroy(c);
  if (rc != EDDY_ERR_TRANSPORT || row != NULL || eddy_partition_for_key("kafka", 5, 10) != 0)
    return 1;
  return 0;
}
C
flags=$(PKG_CONFIG_PATH="$libdir/pkgconfig" "$pkgconfig" --cflags --libs eddy)
echo "pkg-config --cflags --libs eddy: $flags"
# shellcheck disable=SC2086
"$cc" -std=c11 -Wall -Werror "$@" -o "$tmp/prog" "$tmp/prog.c" $flags
LD_LIBRARY_PATH="$libdir" "$tmp/prog"
# The program runs the installed copy, not the build tree's.
LD_LIBRARY_PATH="$libdir" ldd "$tmp/prog" | grep -q "$libdir/libeddy.so" ||
  { echo "prog does not use the installed libeddy.so"; exit 1; }
echo ok
