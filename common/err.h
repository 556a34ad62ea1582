/* eddy error codes: ED_OK (0) or a negative ED_E* value. One X-macro list
 * generates the enum and ed_strerror(). */
#ifndef ED_COMMON_ERR_H
#define ED_COMMON_ERR_H

#define ED_ERRORS(X)                                   \
  X(OK, 0, "success")                                  \
  X(ENOMEM, -1, "out of memory")                       \
  X(EINVAL, -2, "invalid argument")                    \
  X(ENOTFOUND, -3, "not found")                        \
  X(EIO, -4, "input/output error")                     \
  X(ESTORE, -5, "state store error")                   \
  X(EKAFKA, -6, "kafka error")                         \
  X(ECONFIG, -7, "bad configuration")                  \
  X(EUNAVAIL, -8, "unavailable")                       \
  X(EBADREC, -9, "bad record")                         \
  X(ETOOBIG, -10, "too large")                         \
  X(ESTATE, -11, "operation not valid in this state")

typedef enum {
#define ED__ERR_ENUM(name, code, text) ED_##name = (code),
  ED_ERRORS(ED__ERR_ENUM)
#undef ED__ERR_ENUM
} ed_err_t;

/* Static text for an ED_* code; "unknown error" for anything else. */
const char *ed_strerror(int code);

#endif
