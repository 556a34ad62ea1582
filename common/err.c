#include "common/err.h"

const char *ed_strerror(int code) {
  switch (code) {
#define ED__ERR_CASE(name, value, text) \
  case (value):                         \
    return (text);
    ED_ERRORS(ED__ERR_CASE)
#undef ED__ERR_CASE
  default:
    return "unknown error";
  }
}
