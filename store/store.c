/* LMDB state store: one environment per task, named DBs "rows", "meta" and
 * "expiry".
 *
 * The expiry index. "expiry" is an MDB_DUPSORT DB: key = expire_at as 8
 * bytes big-endian with the sign bit flipped (so byte order is numeric
 * order), data = the row key. A purge walks it from the first entry while
 * expire_at <= purge_upto, so its cost is what expires, not the store size.
 * Why duplicates rather than one key "expire_at || row key": row keys may be
 * up to the LMDB key limit (511 bytes), and a composite index key would be 8
 * bytes longer than that; a duplicate's data has the same limit as a key.
 *
 * Locking. LMDB allows mdb_env_set_mapsize() only while no transaction is
 * active in the process. Reads hold resize_lock shared from begin to end;
 * growing the map takes it exclusively after the writer aborted its own txn.
 * Ordinary commits never touch resize_lock, so readers never block the writer
 * except during a resize. write_mu serialises writers (commit, clear and the
 * adoption of a map grown by another process), so no write txn is open while
 * the map is remapped. Lock order: write_mu, then resize_lock.
 *
 * resize_lock prefers writers, so a stream of overlapping reads cannot starve
 * a resize. The price: a thread must not nest snapshots (begin a second read
 * while holding one), nor hold a snapshot while it commits to the same store,
 * or a pending resize deadlocks it. */
#include "store/store.h"

#include <errno.h>
#include <lmdb.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/err.h"

#define ED_STORE_DEFAULT_MAP ((size_t)64 << 20)
#define ED_STORE_DEFAULT_MAP_MAX ((size_t)1 << 40)
#define ED_STORE_MAX_READERS 512
#define ED_STORE_RESIZED_RETRIES 8

struct ed_store {
  MDB_env *env;
  MDB_dbi rows;
  MDB_dbi meta;
  MDB_dbi expiry;
  char *dir;
  size_t map_max;
  size_t max_key;
  _Atomic size_t map_size; /* mirrors the env's map size; read without locks */
  pthread_rwlock_t resize_lock;
  pthread_mutex_t write_mu;
};

__attribute__((format(printf, 3, 4))) static void set_err(char *err, size_t errlen, const char *fmt,
                                                          ...) {
  if (!err || errlen == 0)
    return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err, errlen, fmt, ap);
  va_end(ap);
}

static int mkdir_p(const char *dir) {
  char path[4096];
  size_t n = strlen(dir);
  if (n == 0 || n >= sizeof path)
    return ENAMETOOLONG;
  memcpy(path, dir, n + 1);
  for (char *p = path + 1; *p; p++) {
    if (*p != '/')
      continue;
    *p = '\0';
    if (mkdir(path, 0755) != 0 && errno != EEXIST)
      return errno;
    *p = '/';
  }
  if (mkdir(path, 0755) != 0 && errno != EEXIST)
    return errno;
  struct stat st;
  if (stat(path, &st) != 0)
    return errno;
  return S_ISDIR(st.st_mode) ? 0 : ENOTDIR;
}

static size_t env_map_size(MDB_env *env) {
  MDB_envinfo info;
  return mdb_env_info(env, &info) == MDB_SUCCESS ? info.me_mapsize : 0;
}

static void put_le64(uint8_t *p, uint64_t v) {
  for (int i = 0; i < 8; i++)
    p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le64(const uint8_t *p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; i++)
    v |= (uint64_t)p[i] << (8 * i);
  return v;
}

/* expire_at as an index key: big-endian, sign bit flipped. */
static void put_exp(uint8_t *p, int64_t v) {
  uint64_t u = (uint64_t)v ^ ((uint64_t)1 << 63);
  for (int i = 0; i < 8; i++)
    p[i] = (uint8_t)(u >> (56 - 8 * i));
}

static int64_t get_exp(const uint8_t *p) {
  uint64_t u = 0;
  for (int i = 0; i < 8; i++)
    u = u << 8 | p[i];
  return (int64_t)(u ^ ((uint64_t)1 << 63));
}

static int open_dbis(ed_store_t *s, char *err, size_t errlen) {
  MDB_txn *txn;
  int rc = mdb_txn_begin(s->env, NULL, 0, &txn);
  if (rc == MDB_SUCCESS) {
    rc = mdb_dbi_open(txn, "rows", MDB_CREATE, &s->rows);
    if (rc == MDB_SUCCESS)
      rc = mdb_dbi_open(txn, "meta", MDB_CREATE, &s->meta);
    if (rc == MDB_SUCCESS)
      rc = mdb_dbi_open(txn, "expiry", MDB_CREATE | MDB_DUPSORT, &s->expiry);
    if (rc == MDB_SUCCESS)
      rc = mdb_txn_commit(txn);
    else
      mdb_txn_abort(txn);
  }
  if (rc != MDB_SUCCESS) {
    set_err(err, errlen, "store %s: opening databases: %s", s->dir, mdb_strerror(rc));
    return ED_ESTORE;
  }
  return ED_OK;
}

int ed_store_open(const char *dir, const ed_store_opts_t *opts, ed_store_t **out, char *err,
                  size_t errlen) {
  if (!dir || !*dir || !out) {
    set_err(err, errlen, "store: no directory");
    return ED_EINVAL;
  }
  *out = NULL;
  size_t map = opts && opts->map_size ? opts->map_size : ED_STORE_DEFAULT_MAP;
  size_t max = opts && opts->map_size_max ? opts->map_size_max : ED_STORE_DEFAULT_MAP_MAX;
  if (max < map)
    max = map;
  int e = mkdir_p(dir);
  if (e != 0) {
    set_err(err, errlen, "store %s: mkdir: %s", dir, strerror(e));
    return ED_EIO;
  }

  ed_store_t *s = calloc(1, sizeof *s);
  char *dcopy = strdup(dir);
  if (!s || !dcopy) {
    free(s);
    free(dcopy);
    set_err(err, errlen, "store %s: out of memory", dir);
    return ED_ENOMEM;
  }
  s->dir = dcopy;
  s->map_max = max;

  pthread_rwlockattr_t attr;
  pthread_rwlockattr_init(&attr);
  pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
  e = pthread_rwlock_init(&s->resize_lock, &attr);
  pthread_rwlockattr_destroy(&attr);
  if (e != 0) {
    free(s->dir);
    free(s);
    set_err(err, errlen, "store %s: rwlock: %s", dir, strerror(e));
    return ED_ENOMEM;
  }
  e = pthread_mutex_init(&s->write_mu, NULL);
  if (e != 0) {
    pthread_rwlock_destroy(&s->resize_lock);
    free(s->dir);
    free(s);
    set_err(err, errlen, "store %s: mutex: %s", dir, strerror(e));
    return ED_ENOMEM;
  }

  unsigned flags = MDB_NOTLS;
  if (opts && opts->no_sync)
    flags |= MDB_NOSYNC | MDB_NOMETASYNC;
  int rc = mdb_env_create(&s->env);
  if (rc == MDB_SUCCESS)
    rc = mdb_env_set_maxdbs(s->env, 3);
  if (rc == MDB_SUCCESS)
    rc = mdb_env_set_maxreaders(s->env, ED_STORE_MAX_READERS);
  /* No size before open: an existing store then keeps the size it grew to
   * (LMDB would otherwise shrink the map to the data and the first commit
   * would have to grow it again). Raise it to @p map afterwards if smaller. */
  if (rc == MDB_SUCCESS)
    rc = mdb_env_open(s->env, dir, flags, 0644);
  if (rc == MDB_SUCCESS && env_map_size(s->env) < map)
    rc = mdb_env_set_mapsize(s->env, map);
  if (rc != MDB_SUCCESS) {
    set_err(err, errlen, "store %s: %s", dir, mdb_strerror(rc));
    ed_store_close(s);
    return ED_ESTORE;
  }
  int r = open_dbis(s, err, errlen);
  if (r != ED_OK) {
    ed_store_close(s);
    return r;
  }
  s->max_key = (size_t)mdb_env_get_maxkeysize(s->env);
  atomic_store(&s->map_size, env_map_size(s->env));
  *out = s;
  return ED_OK;
}

void ed_store_close(ed_store_t *s) {
  if (!s)
    return;
  if (s->env)
    mdb_env_close(s->env);
  pthread_mutex_destroy(&s->write_mu);
  pthread_rwlock_destroy(&s->resize_lock);
  free(s->dir);
  free(s);
}

const char *ed_store_dir(const ed_store_t *s) { return s->dir; }

size_t ed_store_map_size(ed_store_t *s) { return atomic_load(&s->map_size); }

/* Remaps to @p size (0: adopt the size another process set). The caller
 * holds write_mu and has no txn open; this waits for all reads to end. */
static int remap(ed_store_t *s, size_t size, char *err, size_t errlen) {
  pthread_rwlock_wrlock(&s->resize_lock);
  int rc = mdb_env_set_mapsize(s->env, size);
  if (rc == MDB_SUCCESS)
    atomic_store(&s->map_size, env_map_size(s->env));
  pthread_rwlock_unlock(&s->resize_lock);
  if (rc != MDB_SUCCESS) {
    set_err(err, errlen, "store %s: resizing map: %s", s->dir, mdb_strerror(rc));
    return ED_ESTORE;
  }
  return ED_OK;
}

static int grow(ed_store_t *s, char *err, size_t errlen) {
  size_t cur = atomic_load(&s->map_size);
  if (cur >= s->map_max) {
    set_err(err, errlen, "store %s: map full at %zu bytes (map_size_max)", s->dir, cur);
    return ED_ETOOBIG;
  }
  size_t next = cur > s->map_max / 2 ? s->map_max : cur * 2;
  long page = sysconf(_SC_PAGESIZE);
  if (page > 0 && next % (size_t)page && next > (size_t)page)
    next -= next % (size_t)page; /* LMDB wants whole pages */
  if (next <= cur) {
    set_err(err, errlen, "store %s: map full at %zu bytes (map_size_max)", s->dir, cur);
    return ED_ETOOBIG;
  }
  return remap(s, next, err, errlen);
}

static int check_batch(const ed_store_t *s, const ed_store_put_t *puts, size_t nputs,
                       const ed_store_meta_put_t *metas, size_t nmetas, char *err, size_t errlen) {
  if ((nputs && !puts) || (nmetas && !metas)) {
    set_err(err, errlen, "store %s: NULL batch", s->dir);
    return ED_EINVAL;
  }
  for (size_t i = 0; i < nputs; i++) {
    if (!puts[i].key || puts[i].klen == 0 || puts[i].klen > s->max_key) {
      set_err(err, errlen, "store %s: put %zu: key length %zu not in 1..%zu", s->dir, i,
              puts[i].klen, s->max_key);
      return ED_EINVAL;
    }
    if (!puts[i].val && puts[i].vlen) {
      set_err(err, errlen, "store %s: put %zu: NULL value with length %zu", s->dir, i,
              puts[i].vlen);
      return ED_EINVAL;
    }
  }
  for (size_t i = 0; i < nmetas; i++) {
    size_t n = metas[i].name ? strlen(metas[i].name) + 1 : 0;
    if (n < 2 || n > s->max_key) {
      set_err(err, errlen, "store %s: meta %zu: bad name", s->dir, i);
      return ED_EINVAL;
    }
  }
  return ED_OK;
}

/* Deletes every row whose expire_at <= @p upto and its index entry, counting
 * them in *n. Returns an MDB_* code. */
static int purge(ed_store_t *s, MDB_txn *txn, int64_t upto, uint64_t *n) {
  MDB_cursor *cur;
  int rc = mdb_cursor_open(txn, s->expiry, &cur);
  if (rc != MDB_SUCCESS)
    return rc;
  for (;;) {
    MDB_val k, v;
    /* Re-seek the first entry each time: one descent per expired row, and no
     * reliance on cursor positioning after a delete. */
    rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
    if (rc == MDB_NOTFOUND) {
      rc = MDB_SUCCESS;
      break;
    }
    if (rc != MDB_SUCCESS)
      break;
    if (k.mv_size != 8) {
      rc = MDB_CORRUPTED;
      break;
    }
    if (get_exp(k.mv_data) > upto)
      break;
    /* Copy the row key: v points into a page the delete below may spill. */
    uint8_t kb[512];
    if (v.mv_size == 0 || v.mv_size > sizeof kb) {
      rc = MDB_CORRUPTED;
      break;
    }
    memcpy(kb, v.mv_data, v.mv_size);
    MDB_val rk = {v.mv_size, kb};
    rc = mdb_del(txn, s->rows, &rk, NULL);
    if (rc == MDB_NOTFOUND)
      rc = MDB_SUCCESS; /* row already gone: drop the stale entry */
    else if (rc == MDB_SUCCESS)
      (*n)++;
    if (rc == MDB_SUCCESS)
      rc = mdb_cursor_del(cur, 0);
    if (rc != MDB_SUCCESS)
      break;
  }
  mdb_cursor_close(cur);
  return rc;
}

/* Applies the batch in @p txn, then the purge. Returns an MDB_* code. */
static int apply(ed_store_t *s, MDB_txn *txn, int clear, const ed_store_put_t *puts, size_t nputs,
                 const ed_store_meta_put_t *metas, size_t nmetas, int64_t purge_upto,
                 uint64_t *purged) {
  int rc = MDB_SUCCESS;
  if (clear) {
    rc = mdb_drop(txn, s->rows, 0);
    if (rc == MDB_SUCCESS)
      rc = mdb_drop(txn, s->meta, 0);
    if (rc == MDB_SUCCESS)
      rc = mdb_drop(txn, s->expiry, 0);
  }
  for (size_t i = 0; i < nputs && rc == MDB_SUCCESS; i++) {
    MDB_val k = {puts[i].klen, (void *)puts[i].key};
    uint8_t eb[8];
    MDB_val ek = {sizeof eb, eb};
    put_exp(eb, puts[i].expire_at);
    if (puts[i].val) {
      MDB_val v = {puts[i].vlen, (void *)puts[i].val};
      rc = mdb_put(txn, s->rows, &k, &v, 0);
      if (rc == MDB_SUCCESS && puts[i].expire_at != 0)
        rc = mdb_put(txn, s->expiry, &ek, &k, 0); /* an existing pair is kept */
    } else {
      rc = mdb_del(txn, s->rows, &k, NULL);
      if (rc == MDB_NOTFOUND)
        rc = MDB_SUCCESS;
      if (rc == MDB_SUCCESS && puts[i].expire_at != 0) {
        rc = mdb_del(txn, s->expiry, &ek, &k);
        if (rc == MDB_NOTFOUND)
          rc = MDB_SUCCESS;
      }
    }
  }
  for (size_t i = 0; i < nmetas && rc == MDB_SUCCESS; i++) {
    uint8_t b[8];
    put_le64(b, (uint64_t)metas[i].value);
    MDB_val k = {strlen(metas[i].name) + 1, (void *)metas[i].name};
    MDB_val v = {sizeof b, b};
    rc = mdb_put(txn, s->meta, &k, &v, 0);
  }
  if (rc == MDB_SUCCESS && purge_upto != INT64_MIN)
    rc = purge(s, txn, purge_upto, purged);
  return rc;
}

static int write_batch(ed_store_t *s, int clear, const ed_store_put_t *puts, size_t nputs,
                       const ed_store_meta_put_t *metas, size_t nmetas, int64_t purge_upto,
                       uint64_t *purged, char *err, size_t errlen) {
  if (purged)
    *purged = 0;
  int r = check_batch(s, puts, nputs, metas, nmetas, err, errlen);
  if (r != ED_OK)
    return r;
  pthread_mutex_lock(&s->write_mu);
  int resized = 0;
  for (;;) {
    MDB_txn *txn;
    uint64_t n = 0; /* counted afresh on each redo */
    int rc = mdb_txn_begin(s->env, NULL, 0, &txn);
    if (rc == MDB_SUCCESS) {
      rc = apply(s, txn, clear, puts, nputs, metas, nmetas, purge_upto, &n);
      if (rc == MDB_SUCCESS)
        rc = mdb_txn_commit(txn); /* frees txn even on failure */
      else
        mdb_txn_abort(txn);
    }
    if (rc == MDB_SUCCESS) {
      r = ED_OK;
      if (purged)
        *purged = n;
    } else if (rc == MDB_MAP_FULL) {
      r = grow(s, err, errlen);
      if (r == ED_OK)
        continue; /* redo the whole batch in the larger map */
    } else if (rc == MDB_MAP_RESIZED && resized++ < ED_STORE_RESIZED_RETRIES) {
      r = remap(s, 0, err, errlen);
      if (r == ED_OK)
        continue;
    } else {
      set_err(err, errlen, "store %s: commit: %s", s->dir, mdb_strerror(rc));
      r = ED_ESTORE;
    }
    break;
  }
  pthread_mutex_unlock(&s->write_mu);
  return r;
}

int ed_store_commit(ed_store_t *s, const ed_store_put_t *puts, size_t nputs,
                    const ed_store_meta_put_t *metas, size_t nmetas, char *err, size_t errlen) {
  return write_batch(s, 0, puts, nputs, metas, nmetas, INT64_MIN, NULL, err, errlen);
}

int ed_store_commit_ex(ed_store_t *s, const ed_store_put_t *puts, size_t nputs,
                       const ed_store_meta_put_t *metas, size_t nmetas, int64_t purge_upto,
                       uint64_t *purged, char *err, size_t errlen) {
  return write_batch(s, 0, puts, nputs, metas, nmetas, purge_upto, purged, err, errlen);
}

int ed_store_clear(ed_store_t *s, char *err, size_t errlen) {
  return write_batch(s, 1, NULL, 0, NULL, 0, INT64_MIN, NULL, err, errlen);
}

int ed_store_read_begin(ed_store_t *s, ed_store_read_t *r) {
  r->store = s;
  r->txn = NULL;
  for (int tries = 0;; tries++) {
    pthread_rwlock_rdlock(&s->resize_lock);
    MDB_txn *txn;
    int rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn);
    if (rc == MDB_SUCCESS) {
      r->txn = txn; /* resize_lock stays held until ed_store_read_end() */
      return ED_OK;
    }
    pthread_rwlock_unlock(&s->resize_lock);
    if (rc != MDB_MAP_RESIZED || tries >= ED_STORE_RESIZED_RETRIES)
      return ED_ESTORE;
    /* Another process grew the map: adopt its size (needs write_mu, see top).
     */
    pthread_mutex_lock(&s->write_mu);
    int e = remap(s, 0, NULL, 0);
    pthread_mutex_unlock(&s->write_mu);
    if (e != ED_OK)
      return e;
  }
}

static int read_val(ed_store_read_t *r, MDB_dbi dbi, const void *key, size_t klen, MDB_val *v) {
  if (!r->txn)
    return ED_ESTORE;
  if (!key || klen == 0 || klen > r->store->max_key)
    return ED_ENOTFOUND;
  MDB_val k = {klen, (void *)key};
  int rc = mdb_get(r->txn, dbi, &k, v);
  if (rc == MDB_NOTFOUND)
    return ED_ENOTFOUND;
  return rc == MDB_SUCCESS ? ED_OK : ED_ESTORE;
}

int ed_store_read_get(ed_store_read_t *r, const void *key, size_t klen, const void **val,
                      size_t *vlen) {
  MDB_val v;
  int rc = read_val(r, r->store->rows, key, klen, &v);
  if (rc != ED_OK)
    return rc;
  *val = v.mv_data;
  *vlen = v.mv_size;
  return ED_OK;
}

int ed_store_read_meta(ed_store_read_t *r, const char *name, int64_t *value) {
  if (!name)
    return ED_ENOTFOUND;
  MDB_val v;
  int rc = read_val(r, r->store->meta, name, strlen(name) + 1, &v);
  if (rc != ED_OK)
    return rc;
  if (v.mv_size != 8)
    return ED_ESTORE;
  *value = (int64_t)get_le64(v.mv_data);
  return ED_OK;
}

void ed_store_read_end(ed_store_read_t *r) {
  if (!r || !r->txn)
    return;
  mdb_txn_abort(r->txn);
  r->txn = NULL;
  pthread_rwlock_unlock(&r->store->resize_lock);
}

/* ---- iterators ---- */

enum { ITER_NONE = 0, ITER_AT, ITER_END, ITER_ERR };

int ed_store_iter_seek(ed_store_read_t *r, ed_store_iter_t *it, const void *from, size_t flen) {
  it->r = r;
  it->cursor = NULL;
  it->state = ITER_NONE;
  if (!r || !r->txn)
    return ED_ESTORE;
  MDB_cursor *cur;
  if (mdb_cursor_open(r->txn, r->store->rows, &cur) != MDB_SUCCESS)
    return ED_ESTORE;
  MDB_val k, v;
  int rc;
  if (!from || flen == 0) {
    rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
  } else {
    /* LMDB rejects keys over its limit: seek to the longest usable prefix;
     * only a key equal to that prefix can sort before @p from. */
    size_t n = flen < r->store->max_key ? flen : r->store->max_key;
    k.mv_size = n;
    k.mv_data = (void *)from;
    rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    if (rc == MDB_SUCCESS && n < flen && k.mv_size == n && memcmp(k.mv_data, from, n) == 0)
      rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
  }
  if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND) {
    mdb_cursor_close(cur);
    return ED_ESTORE;
  }
  it->cursor = cur;
  it->state = rc == MDB_SUCCESS ? ITER_AT : ITER_END;
  return ED_OK;
}

int ed_store_iter_next(ed_store_iter_t *it, const void **key, size_t *klen, const void **val,
                       size_t *vlen) {
  if (it->state == ITER_END)
    return ED_ENOTFOUND;
  if (!it->cursor || it->state != ITER_AT)
    return ED_ESTORE;
  MDB_val k, v;
  int rc = mdb_cursor_get(it->cursor, &k, &v, MDB_GET_CURRENT);
  if (rc != MDB_SUCCESS) {
    it->state = rc == MDB_NOTFOUND ? ITER_END : ITER_ERR;
    return rc == MDB_NOTFOUND ? ED_ENOTFOUND : ED_ESTORE;
  }
  *key = k.mv_data;
  *klen = k.mv_size;
  *val = v.mv_data;
  *vlen = v.mv_size;
  MDB_val k2, v2;
  rc = mdb_cursor_get(it->cursor, &k2, &v2, MDB_NEXT);
  if (rc != MDB_SUCCESS)
    it->state = rc == MDB_NOTFOUND ? ITER_END : ITER_ERR; /* reported by the next call */
  return ED_OK;
}

void ed_store_iter_close(ed_store_iter_t *it) {
  if (!it)
    return;
  if (it->cursor)
    mdb_cursor_close(it->cursor); /* read-only cursor: valid before or after txn end */
  it->cursor = NULL;
  it->state = ITER_NONE;
}

int ed_store_meta_get(ed_store_t *s, const char *name, int64_t *value) {
  ed_store_read_t r;
  int rc = ed_store_read_begin(s, &r);
  if (rc == ED_OK)
    rc = ed_store_read_meta(&r, name, value);
  ed_store_read_end(&r);
  return rc;
}

int ed_store_row_count(ed_store_t *s, uint64_t *count) {
  ed_store_read_t r;
  int rc = ed_store_read_begin(s, &r);
  if (rc == ED_OK) {
    MDB_stat st;
    if (mdb_stat(r.txn, s->rows, &st) == MDB_SUCCESS)
      *count = st.ms_entries;
    else
      rc = ED_ESTORE;
  }
  ed_store_read_end(&r);
  return rc;
}
